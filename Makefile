# mail-logwatch: `make demo` and `make test` work on a fresh Debian with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test bench bench-quick clean venv debs

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# sample_logs/ is one day (2026-03-03, UTC) told by Postfix, Exim and Sendmail, with eight
# planted incidents; config.toml beside it is the site. git does not keep the files'
# modification times the year would otherwise come from, hence --year.
DETECT := $(BIN)/mail-logwatch detect --config sample_logs/config.toml --year 2026 --format text

demo: $(STAMP)
	@echo "== sample_logs/postfix/mail.log"
	@$(DETECT) sample_logs/postfix/mail.log
	@for f in exim/mainlog sendmail/maillog; do \
		echo "== the same day in sample_logs/$$f"; \
		$(DETECT) sample_logs/$$f | grep -vE '^    |^  rule |^  could also be: |^$$' ; done

# Debian tools the tests compare against (fail2ban-regex, pflogsumm, logwatch's postfix
# service), rotate logs with (logrotate), write journal files with
# (systemd-journal-remote), render the HTML report in (chromium, headless) or read its
# print-out with (pdftotext): installed when missing and run as root, else named; a
# no-op when present.
debs:
	@missing=""; \
	command -v fail2ban-regex >/dev/null || missing="$$missing fail2ban"; \
	{ command -v pflogsumm || test -x /usr/sbin/pflogsumm; } >/dev/null || missing="$$missing pflogsumm"; \
	test -f /usr/share/logwatch/scripts/services/postfix || missing="$$missing logwatch"; \
	{ command -v logrotate || test -x /usr/sbin/logrotate; } >/dev/null || missing="$$missing logrotate"; \
	{ test -x /lib/systemd/systemd-journal-remote || test -x /usr/lib/systemd/systemd-journal-remote; } \
		|| missing="$$missing systemd-journal-remote"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	else echo "make debs: not root; the tests need: apt-get install$$missing" >&2; fi

test: $(STAMP) debs
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/follow.py --seconds 300
	$(BIN)/python benchmarks/steady.py
	$(BIN)/python benchmarks/steady.py --rate 50 --pass-seconds 600 --hours 24 \
		--live-passes 60 --out steady-quiet.json

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
