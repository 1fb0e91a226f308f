"""`report`: pflogsumm's grand totals, figure by figure, against Debian's pflogsumm run on
the same file; the same sections from Exim and Sendmail; pflogsumm's options; the
security view and the coverage section on real logs."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from argparse import Namespace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from logwatch.commands.report import period
from logwatch.config import load_config
from logwatch.pipeline import ParseOptions
from logwatch.report.build import ReportOptions, build_report
from logwatch.report.render_html import render_html
from logwatch.report.render_text import render_text
from tests.conftest import ROOT

SAMPLE = ROOT / "sample_logs"
DATA = ROOT / "tests" / "data"
CONFIG = SAMPLE / "config.toml"
PFLOGSUMM = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"

#: pflogsumm's grand-total labels, and our keys
_LABELS = {"received": "received", "delivered": "delivered", "forwarded": "forwarded",
           "deferred": "deferred", "bounced": "bounced", "rejected": "rejected",
           "reject warnings": "reject_warnings", "held": "held", "discarded": "discarded",
           "bytes received": "bytes_received", "bytes delivered": "bytes_delivered",
           "senders": "senders", "sending hosts/domains": "sending_domains",
           "recipients": "recipients", "recipient hosts/domains": "recipient_domains"}
_LINE = re.compile(r"^\s*(\d+)([km ])\s+(" + "|".join(map(re.escape, _LABELS)) + r")\b"
                   r"(?:\s+\((\d+)([km ])\s*deferrals\))?")


def pflogsumm_totals(text: str) -> dict[str, tuple[int, str]]:
    """pflogsumm's Grand Totals as (number, unit) per our key: it prints k and m units
    (counts too, above 512k), which the comparison honours."""
    out: dict[str, tuple[int, str]] = {}
    for line in text.split("Per-")[0].splitlines():
        m = _LINE.match(line)
        if m:
            out[_LABELS[m.group(3)]] = (int(m.group(1)), m.group(2))
            if m.group(4):
                out["deferrals"] = (int(m.group(4)), m.group(5))
    out.setdefault("deferrals", (0, ""))   # printed only beside a deferred count
    return out


def in_units(value: int, unit: str) -> int:
    return value // {"m": 1 << 20, "k": 1 << 10}.get(unit, 1)


def run_pflogsumm(path: Path) -> dict[str, tuple[int, str]]:
    assert Path(PFLOGSUMM).exists(), "pflogsumm is missing: `make debs` installs it"
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    done = subprocess.run([PFLOGSUMM], input=data, capture_output=True, timeout=300,
                          check=True)
    return pflogsumm_totals(done.stdout.decode())


def report_of(*files: Path, cfg: Path | None = CONFIG, year: int | None = 2026,
              block_size: int = ParseOptions.block_size, syslog_names: tuple[str, ...] = (),
              **ropts: Any) -> dict[str, Any]:
    options = ParseOptions(year=year, tz="UTC", jobs=1, block_size=block_size,
                           syslog_names=syslog_names)
    rep, errors = build_report([str(f) for f in files], load_config(cfg), options,
                               ReportOptions(**ropts))
    assert not errors
    return rep


#: what `totals` has and pflogsumm has not: the messages that expired in the queue (it
#: counts them nowhere)
OURS_ONLY = {"expired"}


def assert_pflogsumm_parity(ours: dict[str, int], theirs: dict[str, tuple[int, str]]) -> None:
    assert set(theirs) == set(ours) - OURS_ONLY, (set(theirs) ^ (set(ours) - OURS_ONLY))
    for key, (value, unit) in theirs.items():
        assert in_units(ours[key], unit) == value, (key, ours[key], value, unit)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's kind of log (content filter, submission, bounces, attacks), 60k
    lines across a new year's midnight."""
    out = tmp_path_factory.mktemp("gen") / "mail.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    "60000", "--out", str(out), "--start", "2025-12-31T18:00:00",
                    "--quiet"], check=True, timeout=300)
    return out


def test_grand_totals_equal_pflogsumm_on_the_sample_day() -> None:
    path = SAMPLE / "postfix" / "mail.log"
    assert_pflogsumm_parity(report_of(path)["totals"], run_pflogsumm(path))


def test_grand_totals_equal_pflogsumm_on_the_benchmark_kind_of_log(generated: Path) -> None:
    rep = report_of(generated, year=2025)
    theirs = run_pflogsumm(generated)
    assert_pflogsumm_parity(rep["totals"], theirs)
    t, u = rep["totals"], rep["totals_unique"]
    assert t["received"] > 3000 and t["deferrals"] > t["deferred"] > 0
    # the content filter's second pass is counted by pflogsumm and not by totals_unique
    assert u["received"] < t["received"] and u["delivered"] < t["delivered"]
    assert u["bytes_received"] < t["bytes_received"]


@pytest.mark.parametrize("name", ["syslog-traditional.log.gz", "syslog-rfc3339.log.gz"])
def test_grand_totals_equal_pflogsumm_on_a_real_postfix(name: str) -> None:
    """Debian's Postfix 3.7 recorded (recordings/README.md), in both syslog formats
    pflogsumm reads."""
    path = ROOT / "recordings" / "postfix" / "run1-syslog" / name
    assert_pflogsumm_parity(report_of(path, cfg=None, year=2026)["totals"],
                            run_pflogsumm(path))


def _text_section(text: str, heading: str) -> list[str]:
    """The lines of a text report's section, up to the next heading."""
    lines = text.split(f"\n{heading}\n", 1)[1].splitlines()[1:]
    end = next((i for i, ln in enumerate(lines[1:]) if set(ln) == {"-"}), len(lines))
    return lines[:end]


def test_text_tables_under_a_summary_line_are_left_out_when_empty() -> None:
    """The auth failure and postscreen sections open with a line of figures; their
    tables have no title of their own, so an empty one printed a bare `none` (three
    under the auth heading) that did not say what there was none of. Before the day's
    first guesser (03:41) the sample day has no failure; the whole day has three."""
    path = SAMPLE / "postfix" / "mail.log"
    quiet = render_text(report_of(path, until=datetime(2026, 3, 3, 3, tzinfo=timezone.utc)))
    auth = _text_section(quiet, "Security: authentication failures")
    assert auth[0].startswith("  0 failures") and "  none" not in auth
    assert "  none" not in _text_section(quiet, "Security: postscreen")
    busy = _text_section(render_text(report_of(path)), "Security: authentication failures")
    assert sum(ln.startswith("  failures  ") for ln in busy) == 3


def test_limits_of_zero_leave_sections_out_as_pflogsumm_does() -> None:
    """`-h 0 -u 0 --detail 0` is how a pflogsumm user asks for the summary alone: it
    prints no host, user or detail section at all. Ours printed each with `none`, which
    reads as if there had been no rejects or senders (the sample day has 27 rejects)."""
    path = SAMPLE / "postfix" / "mail.log"
    theirs = subprocess.run([PFLOGSUMM, "-h", "0", "-u", "0", "--detail", "0", str(path)],
                            capture_output=True, check=True, timeout=60).stdout.decode()
    rep = report_of(path, top_hosts=0, top_users=0, details=0)
    assert rep["totals"]["rejected"] > 0 and rep["rejects"] is None
    assert rep["delivery_domains"] is None and rep["senders_by_count"] is None
    assert rep["problems"]["warning"] is None and rep["security"]["top_clients"] is None
    text = render_text(rep)
    for heading in ("Host/Domain Summary: Message Delivery", "Senders by message count",
                    "Message Reject Detail", "Message Deferral Detail", "Warnings"):
        assert heading in render_text(report_of(path)), heading
        assert f"\n{heading}\n" not in theirs and f"\n{heading}\n" not in text, heading
    assert "  none" not in text and "\n\n\n" not in text
    assert "Grand Totals" in text and "Per-Hour Traffic Summary" in text
    html = render_html(rep)
    assert "Senders by message count" not in html and "Top talkers" not in html


def test_exim_and_sendmail_tell_the_same_day_with_the_same_sections() -> None:
    """sample_logs/ is one day told by the three MTAs: the sections are the same, and
    counted once per message the day is nearly the same day."""
    postfix = report_of(SAMPLE / "postfix" / "mail.log")
    exim = report_of(SAMPLE / "exim" / "mainlog")
    sendmail = report_of(SAMPLE / "sendmail" / "maillog")
    for rep, mta in ((exim, "exim"), (sendmail, "sendmail")):
        assert rep.keys() == postfix.keys()
        assert list(rep["period"]["mtas"]) == [mta]
        u, p = rep["totals_unique"], postfix["totals_unique"]
        assert (u["rejected"], u["deferred"], u["bounced"]) == (p["rejected"], p["deferred"],
                                                                p["bounced"])
        assert abs(u["received"] - p["received"]) <= 4, (mta, u, p)
        assert abs(u["delivered"] - p["delivered"]) <= 2, (mta, u, p)
        assert {a["rule"] for a in rep["security"]["alerts"]["timeline"]} == \
            {a["rule"] for a in postfix["security"]["alerts"]["timeline"]}
        # logins: Sendmail's AUTH=server lines; Postfix's disconnect counters and the
        # users on the messages; Exim's users on the messages, one per process
        assert rep["security"]["auth"]["successes"] == postfix["security"]["auth"]["successes"]
    assert sendmail["security"]["tls"]["inbound"]["tls_sessions"] > 0
    # TLS from what each MTA logs: Exim has no connection lines (X= on <= and =>),
    # Sendmail's STARTTLS=client is outbound
    tls = {name: rep["security"]["tls"] for name, rep in (("postfix", postfix), ("exim", exim),
                                                           ("sendmail", sendmail))}
    assert len({t["outbound"]["smtp_deliveries"] for t in tls.values()}) == 1
    assert tls["exim"]["outbound"]["tls_connections"] == \
        tls["exim"]["outbound"]["smtp_deliveries"] > 100
    assert tls["exim"]["inbound"]["tls_messages"] == tls["sendmail"]["inbound"]["tls_messages"]
    assert tls["exim"]["inbound"]["tls_messages"] > 0.9 * tls["exim"]["inbound"]["messages"]
    # Exim's local deliveries name the user reached (`=> carol <carol@example.com>`):
    # counted under the address accepted, as Postfix's to= is
    assert all("@" in r["address"] for r in exim["recipients_by_count"])
    assert {"carol", "dave"}.isdisjoint(d["domain"] for d in exim["delivery_domains"])
    # the relay probe's transactions, all refused, are Sendmail from= lines with
    # nrcpts=0: no message, no sender
    assert "probe@relaycheck.test" not in {s["address"] for s in sendmail["senders_by_count"]}
    assert sendmail["totals_unique"]["received"] == exim["totals_unique"]["received"]
    logins = sum(1 for line in (SAMPLE / "sendmail" / "maillog").read_text().splitlines()
                 if "AUTH=server" in line)
    assert postfix["security"]["auth"]["successes"] == logins > 10


def test_the_security_view_names_the_planted_attacks() -> None:
    """sample_logs/README.md: a relay probe from 203.0.113.99, a burst of failures
    against `admin` from 203.0.113.45, a spray from 198.51.100.77."""
    sec = report_of(SAMPLE / "postfix" / "mail.log")["security"]
    probe = sec["relay_attempts"][0]
    assert (probe["client_ip"], probe["count"]) == ("203.0.113.99", 12)
    by_ip = {r["client_ip"]: r for r in sec["auth"]["by_ip"]}
    assert by_ip["203.0.113.45"]["distinct_sasl_username"] == 1
    assert by_ip["198.51.100.77"]["distinct_sasl_username"] == 15
    assert sum(h["failures"] for h in sec["auth"]["per_hour"]) == sec["auth"]["failures"]
    rules = [a["rule"] for a in sec["alerts"]["timeline"]]
    assert "open_relay" in rules and sec["alerts"]["open_relay"]
    firsts = [a["first_seen"] for a in sec["alerts"]["timeline"]]
    assert firsts == sorted(firsts)


def test_since_and_until_bound_every_section() -> None:
    path = SAMPLE / "postfix" / "mail.log"
    whole = report_of(path)
    since = datetime(2026, 3, 3, 15, tzinfo=timezone.utc)
    until = datetime(2026, 3, 3, 16, tzinfo=timezone.utc)
    part = report_of(path, since=since, until=until)
    hour15 = whole["per_hour"][15]
    assert part["totals"]["received"] == hour15["received"]
    assert part["totals"]["delivered"] == hour15["delivered"]
    assert [h["hour"] for h in part["per_hour"] if h["received"]] == [15]
    assert all(since.isoformat() <= a["last_seen"].replace("Z", "+00:00")
               for a in part["security"]["alerts"]["timeline"])


def test_day_options_take_the_sites_zone() -> None:
    args = Namespace(day="yesterday", since=None, until=None)
    since, until = period(args, "Europe/Berlin", today=date(2026, 3, 29))
    assert since.isoformat() == "2026-03-28T00:00:00+01:00"
    assert until.isoformat() == "2026-03-29T00:00:00+01:00"


def test_hours_are_bucketed_in_the_sites_zone() -> None:
    path = SAMPLE / "postfix" / "mail.log"
    utc = report_of(path)["per_hour"]
    tokyo = report_of(path, zone="Asia/Tokyo")["per_hour"]
    assert [h["received"] for h in tokyo] == [utc[(h - 9) % 24]["received"] for h in range(24)]


def test_top_limits_and_verp_mung(tmp_path: Path) -> None:
    path = SAMPLE / "postfix" / "mail.log"
    rep = report_of(path, top_hosts=3, top_users=2)
    assert len(rep["delivery_domains"]) == 3 and len(rep["senders_by_count"]) == 2
    # a VERP sender: one list, one address per recipient
    lines = [line for line in path.read_text().splitlines()
             if "news@lists.example.net" in line]
    assert lines, "the sample has a list sender"
    verp = tmp_path / "verp.log"
    text = path.read_text()
    for n, line in enumerate(lines):
        text = text.replace(line, line.replace("news@lists.example.net",
                                               f"bounces-{1000 + n}@lists.example.net"), 1)
    verp.write_text(text)
    plain = {r["address"] for r in report_of(verp)["senders_by_count"]}
    munged = {r["address"] for r in report_of(verp, verp=1)["senders_by_count"]}
    assert len([a for a in plain if a.startswith("bounces-")]) > 1
    assert [a for a in munged if a.startswith("bounces")] == ["bounces-ID@lists.example.net"]


def test_sessions_cut_by_the_ends_of_blocks_are_counted_once(generated: Path) -> None:
    """Read in 64 KiB blocks, hundreds of SMTP sessions have lines in two blocks; their
    spans are joined, and every section that counts sessions says what one block says."""
    whole = report_of(generated, year=2025)
    cut = report_of(generated, year=2025, block_size=64 << 10)
    assert cut["smtp_connections"] == whole["smtp_connections"]
    assert cut["security"]["tls"] == whole["security"]["tls"]
    assert cut["security"]["top_clients"] == whole["security"]["top_clients"]
    assert whole["smtp_connections"]["connections"] > 1000


def test_reject_classes_count_every_reject_whatever_the_detail_limit(generated: Path) -> None:
    whole = report_of(generated, year=2025)
    short = report_of(generated, year=2025, details=1)
    classes = {c["reject_class"]: c["count"] for c in short["reject_classes"]}
    assert short["reject_classes"] == whole["reject_classes"]
    assert sum(classes.values()) == whole["totals"]["rejected"] > 0
    assert {"rbl", "unknown_recipient", "relay_denied"} <= set(classes), classes
    # the limited detail list names one reason; the classes still cover all the rejects
    assert len(short["rejects"]) == 1 and len(classes) > 1
    counts = [c["count"] for c in whole["reject_classes"]]
    assert counts == sorted(counts, reverse=True)


def test_coverage_names_inputs_holes_and_unknown_lines(tmp_path: Path) -> None:
    """A rotated set with mail.log.2 missing shows a hole between mail.log.3 and .1."""
    lines = (SAMPLE / "postfix" / "mail.log").read_text().splitlines(keepends=True)
    third = len(lines) // 3
    (tmp_path / "mail.log.3").write_text("".join(lines[:third // 2]))
    (tmp_path / "mail.log.1").write_text("".join(lines[2 * third:]) +
                                         "Mar  3 23:59:00 mx1 postfix/smtpd[1]: "
                                         "something no parser knows\n")
    files = [tmp_path / "mail.log.1", tmp_path / "mail.log.3"]
    cov = report_of(*files)["coverage"]
    assert [f["source"] for f in cov["files"]] == [str(tmp_path / "mail.log.3"),
                                                   str(tmp_path / "mail.log.1")]
    for f in cov["files"]:
        assert f["sha256"] == hashlib.sha256(Path(f["source"]).read_bytes()).hexdigest()
        assert f["years"] == [2026]
    (hole,) = cov["holes_between_files"]
    assert hole["after"].endswith("mail.log.3") and hole["hours"] > 4
    (missing,) = cov["missing_rotations"]
    assert missing["first"] == missing["last"] == str(tmp_path / "mail.log.2")
    assert cov["unknown_lines"] == 1 and cov["unknown_shapes"][0]["daemon"] == "smtpd"


def test_text_report_reads_like_pflogsumm_and_escapes_the_log(tmp_path: Path) -> None:
    src = (SAMPLE / "postfix" / "mail.log").read_text()
    hostile = tmp_path / "mail.log"
    hostile.write_text(src.replace("alice@example.com", "\x1b[2Jalice@example.com"))
    text = render_text(report_of(hostile))
    assert "\x1b" not in text and "\\x1b[2Jalice@example.com" in text
    for heading in ("Grand Totals", "Per-Hour Traffic Summary",
                    "Host/Domain Summary: Message Delivery", "Senders by message count",
                    "Message Reject Detail", "Security: authentication failures",
                    "Security: mail relayed for strangers (open relay)",
                    "Security: foreign senders through local accounts",
                    "Coverage: what this report read"):
        assert heading in text
    # the incidents the text picks out, and the failures per hour (the spray at 04:20)
    relayed = text.split("Security: mail relayed for strangers (open relay)")[1]
    assert "open_relay" in relayed.split("Security: foreign senders")[0]
    auth = text.split("Security: authentication failures")[1].split("Security: relay")[0]
    assert re.search(r"^\s+15\s+0400-0500$", auth, re.M), auth
    first = render_text(report_of(hostile, problems_first=True))
    assert first.index("Message Reject Detail") < first.index("Per-Day Traffic Summary")


def test_the_command_line_writes_json_with_the_contract_keys(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--config", str(CONFIG),
                           "--year", "2026", "--format", "json", "--out", str(out),
                           "-h", "5", str(SAMPLE / "postfix" / "mail.log")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    rep = json.loads(out.read_text())
    assert set(rep["totals"]) == {
        "received", "delivered", "forwarded", "deferred", "deferrals", "bounced", "expired",
        "rejected", "reject_warnings", "held", "discarded", "bytes_received", "bytes_delivered",
        "senders", "sending_domains", "recipients", "recipient_domains"}
    assert len(rep["delivery_domains"]) == 5
    bad = subprocess.run([sys.executable, "-m", "logwatch", "report", "--since", "yesterday",
                          str(SAMPLE / "postfix" / "mail.log")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "--since 'yesterday': not an ISO date" in bad.stderr


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(generated: Path) -> None:
    import os
    import pty
    master, slave = pty.openpty()
    cmd = [sys.executable, "-m", "logwatch", "report", "--no-alerts", "-j", "1", "--year",
           "2025", "--out", os.devnull, str(generated)]
    done = subprocess.run(cmd, stderr=slave, stdout=subprocess.DEVNULL, cwd=ROOT, timeout=120)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert done.returncode == 0
    assert b"file 1/1" in shown and b"events" in shown and b"left" in shown, shown
    piped = subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=120)
    assert piped.returncode == 0 and b"events" not in piped.stderr


def test_instants_are_written_one_way_whatever_the_sites_zone() -> None:
    """The zone decides the buckets; every instant in the JSON is RFC 3339 UTC `Z`,
    as the alerts write them."""
    rep = report_of(SAMPLE / "postfix" / "mail.log", zone="Europe/Berlin")
    stamps = [rep["period"]["first"], rep["period"]["last"]]
    stamps += [r[k] for r in rep["security"]["auth"]["by_ip"] for k in ("first", "last")]
    stamps += [f[k] for f in rep["coverage"]["files"] for k in ("first", "last")]
    stamps += [a["first_seen"] for a in rep["security"]["alerts"]["timeline"]]
    assert stamps and all(s.endswith("Z") for s in stamps), stamps


def test_a_pipe_is_reported_without_a_digest_and_without_hanging(tmp_path: Path) -> None:
    """A FIFO (`<(zcat ...)`) is read once by the parser; nothing opens it again."""
    import os
    import threading
    fifo = tmp_path / "mail.fifo"
    os.mkfifo(fifo)
    data = (SAMPLE / "postfix" / "mail.log").read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--no-alerts",
                           "--year", "2026", "--format", "json", str(fifo)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    writer.join(5)
    assert done.returncode == 0, done.stderr
    rep = json.loads(done.stdout)
    (f,) = rep["coverage"]["files"]
    assert f["sha256"] is None and rep["totals"]["received"] == 191


def test_an_unwritable_out_is_said_before_reading(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--out",
                           str(tmp_path / "no" / "such" / "dir" / "r.txt"),
                           str(SAMPLE / "postfix" / "mail.log")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "--out" in done.stderr and "No such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_large_figures_are_not_written_in_exponent_form() -> None:
    from logwatch.report.render_text import _cell
    assert _cell(1234567.8) == "1234567.8" and _cell(2.0) == "2" and _cell(0.25) == "0.25"


def test_exim_local_deliveries_count_under_the_address_accepted(tmp_path: Path) -> None:
    """A user, a pipe and a file Exim delivered one message to (a .forward keeping a copy
    and piping one to procmail) are three deliveries to carol@example.com, not to
    `carol`, `|/usr/bin/procmail@example.com` and `/home/carol/mbox@example.com`."""
    log = tmp_path / "mainlog"
    log.write_text(
        "2026-03-03 10:00:00 1vAbcd-000001-AB <= alice@example.org H=mx.example.org "
        "[198.51.100.7] P=esmtps S=1234 id=x1@example.org\n"
        "2026-03-03 10:00:01 1vAbcd-000001-AB => |/usr/bin/procmail <carol@example.com> "
        "R=userforward T=address_pipe\n"
        "2026-03-03 10:00:01 1vAbcd-000001-AB => /home/carol/mbox <carol@example.com> "
        "R=userforward T=address_file\n"
        "2026-03-03 10:00:01 1vAbcd-000001-AB => carol <carol@example.com> R=localuser "
        "T=local_delivery\n"
        "2026-03-03 10:00:01 1vAbcd-000001-AB Completed\n")
    rep = report_of(log, alerts=False)
    assert [(r["address"], r["messages"]) for r in rep["recipients_by_count"]] == \
        [("carol@example.com", 3)]
    assert [d["domain"] for d in rep["delivery_domains"]] == ["example.com"]


def test_every_mta_names_the_clients_of_its_refusals() -> None:
    """Sendmail names the client of a refused recipient only on the transaction's
    `from=` line, after the refusals (sample_logs: the harvest of 192.0.2.150 at 23:45):
    the report's top clients count those refusals as the alerts do, for each MTA alike."""
    harvested = {}
    for log in (SAMPLE / "postfix" / "mail.log", SAMPLE / "exim" / "mainlog",
                SAMPLE / "sendmail" / "maillog"):
        clients = {c["client_ip"]: c for c in report_of(log)["security"]["top_clients"]}
        harvested[log.parent.name] = clients["192.0.2.150"]["rejects"]
    assert harvested == {"postfix": 12, "exim": 12, "sendmail": 12}


def test_exim_logins_with_no_client_address_do_not_stop_the_report() -> None:
    """Exim's test 3403: a local submission that authenticates (`P=local-esmtpa
    A=plain1:userx`, `authenticator failed for U=CALLER`) names no client address on any
    auth line; counting logins per client process then added text to nothing and the
    report died with a TypeError (an eximstats comparison found it)."""
    rep = report_of(ROOT / "tests" / "data" / "corpora" / "exim-testsuite" / "test" / "log"
                    / "3403", cfg=None, year=None)
    auth = rep["security"]["auth"]
    assert (auth["failures"], auth["successes"]) == (1, 1)
    # the test writes a newline escaped into the name it sets: shown as logged
    assert [(u["sasl_username"], u["count"]) for u in auth["by_username"]] == [("userx\\n", 1)]


def test_an_exim_hand_off_over_loopback_is_counted_as_postfix_s_content_filter() -> None:
    """Exim's test 0230: of its six messages one, 10HmbB, went to the Exim on 127.0.0.1
    and came back as 10HmbC (`C="250 OK id=10HmbC-..."`). pflogsumm's totals count
    lines (6 received, 5 delivered, the hand-off among them); each message once, 5 and
    4. A hand-off is no outbound SMTP delivery."""
    rep = report_of(ROOT / "tests" / "data" / "corpora" / "exim-testsuite" / "test" / "log"
                    / "0230", cfg=None, year=None)
    t, u = rep["totals"], rep["totals_unique"]
    assert (t["received"], t["delivered"]) == (6, 5)
    assert (u["received"], u["delivered"]) == (5, 4)
    assert rep["security"]["tls"]["outbound"]["smtp_deliveries"] == 0


def test_reject_detail_tells_temporary_refusals_by_their_code() -> None:
    """A 4xx refusal (greylisting, a rate limit) will be tried again; a 5xx is final.
    Exim logs no code: its `temporarily rejected` refusals carry the 451 it answered
    (crowdsec's Exim sample), and a final one shows none rather than a guess."""
    exim = report_of(ROOT / "tests" / "data" / "corpora" / "crowdsec-hub" / "exim-logs"
                     / "exim-logs.log", cfg=None, year=None)
    codes = {r["reject_class"]: r["reject_code"] for r in exim["rejects"]}
    assert codes["rate_limit"] == 451 and codes["unknown_recipient"] is None
    postfix = report_of(SAMPLE / "postfix" / "mail.log")
    codes = {r["reject_class"]: r["reject_code"] for r in postfix["rejects"]}
    assert (codes["relay_denied"], codes["unknown_recipient"]) == (454, 550)
    assert "  code  reason" in render_text(postfix)


def test_who_logged_in_from_where_and_who_hung_up_as_logwatch_tells_it() -> None:
    """What logwatch users read that the report did not show: the logins by username and
    client ("SASL authenticated messages": bob's one login from 192.0.2.200 is the
    guesser's success), the same from all three MTAs' logs of the day; and the lost
    connections by the command the client was at (six after AUTH: a guesser hanging up)."""
    logins = {}
    for mta, path in (("postfix", "postfix/mail.log"), ("exim", "exim/mainlog"),
                      ("sendmail", "sendmail/maillog")):
        rep = report_of(SAMPLE / path, alerts=False)
        logins[mta] = {(r["sasl_username"], r["client_ip"]): (r["logins"], r["messages"])
                       for r in rep["security"]["auth"]["logins_by_username"]}
    assert logins["postfix"][("bob", "192.0.2.200")] == (1, 1)
    assert logins["postfix"][("alice", "2001:db8:7c::25")] == (5, 150)
    assert logins["postfix"] == logins["exim"] == logins["sendmail"]
    postfix = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)
    assert [(r["daemon"], r["reason"], r["count"]) for r in
            postfix["problems"]["lost_connection"]] == [("smtpd", "AUTH", 6),
                                                        ("smtpd", "CONNECT", 1)]
    text = render_text(postfix)
    assert "Security: logins by username and client" in text
    assert "Lost connections (by the command the client was at)" in text


_STAMPS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def _unstamped(value: Any) -> Any:
    """A report with its instants cut to the second, and what is derived from them (an
    alert's id hashes its instants) left out: the same traffic through journald and
    rsyslog is stamped a fraction of a millisecond apart, and BSD syslog to the second."""
    if isinstance(value, dict):
        return {k: _unstamped(v) for k, v in value.items()
                if k not in ("id", "coverage", "generator")}
    if isinstance(value, list):
        return [_unstamped(v) for v in value]
    return _STAMPS.sub(lambda m: m.group()[:19], value) if isinstance(value, str) else value


def test_the_journal_and_each_rsyslog_format_of_one_run_give_one_report() -> None:
    """One Postfix run recorded four ways at once (`recordings/record.sh`): journald's
    export and rsyslog's RFC 3339, traditional and RFC 5424 files. Every figure agrees,
    but what each format cannot carry: the traditional stamp's lost fractions of a
    second (connection times are summed from them), and the daemon, which rsyslog's RFC
    5424 template cuts from the APP-NAME (`postfix`, not `postfix/smtp`): deferrals and
    failed connections are grouped under no daemon there, and the deliveries under no
    transport (the daemon or
    its service names it)."""
    run = ROOT / "recordings" / "postfix" / "run1-syslog"
    journal = _unstamped(report_of(run / "journal.json.gz", cfg=None, year=None))
    assert journal["totals"]["delivered"] > 20 and journal["security"]["alerts"]["timeline"]
    assert _unstamped(report_of(run / "syslog-rfc3339.log.gz", cfg=None, year=None)) == journal
    bsd = _unstamped(report_of(run / "syslog-traditional.log.gz", cfg=None, year=2026))
    assert journal["smtp_connections"]["total_seconds"] != bsd["smtp_connections"][
        "total_seconds"]
    assert {**bsd, "smtp_connections": None} == {**journal, "smtp_connections": None}
    assert bsd["smtp_connections"]["connections"] == journal["smtp_connections"]["connections"]
    rfc5424 = _unstamped(report_of(run / "syslog-rfc5424.log.gz", cfg=None, year=None))
    assert [d["daemon"] for d in journal["deferrals"]] == ["smtp"] * len(journal["deferrals"])
    assert rfc5424["deferrals"] == [{**d, "daemon": None} for d in journal["deferrals"]]
    transports = journal["delivery_transports"]
    assert {t["transport"] for t in transports} == {"smtp", "local"}
    assert rfc5424["delivery_transports"] == [{"transport": None, **{
        k: sum(t[k] for t in transports) for k in ("sent", "bytes", "deferred", "bounced")}}]
    assert rfc5424["connect_failures"] == [{**c, "daemon": None}
                                           for c in journal["connect_failures"]]
    unlike = {"deferrals": None, "delivery_transports": None, "connect_failures": None}
    assert {**rfc5424, **unlike} == {**journal, **unlike}


def test_exim_with_pids_has_sessions_from_the_processes_that_served_them() -> None:
    """With `[pid]`, Exim's daemon logs `SMTP connection from` under its own pid and the
    process it forks logs the rest, TLS (`X=` on `<=`) and the close included: the
    sessions are those processes', so connection counts and TLS protocols come out of
    the recording as its lines tell them."""
    path = ROOT / "recordings" / "exim" / "run2-pid-millisec" / "mainlog.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    pid = re.compile(r"\[(\d+)\] ")
    closed = [ln for ln in lines if re.search(r"SMTP connection from .* closed by ", ln)]
    tls_pids = {pid.search(ln).group(1) for ln in lines if " <= " in ln and " X=TLS" in ln}
    # a session ends closed, lost, or dropped by Exim for too many bad commands
    ended = [ln for ln in lines if re.search(
        r"SMTP connection from .* (?:closed by |lost)|SMTP call from .* dropped: too many", ln)]
    connects = [ln for ln in lines if "SMTP connection from" in ln and "connection count" in ln]
    rep = report_of(path, cfg=None, year=None, alerts=False)
    inbound = rep["security"]["tls"]["inbound"]
    assert rep["smtp_connections"]["connections"] == len(ended) == len(connects)
    assert len(ended) > len(closed) > 200
    # TLS shows only on the X= of what a session did (a message, a refusal): one that
    # did neither is not known to be plaintext (an HTML reviewer's red card of 21 'AUTH
    # without TLS' sessions was that) and is counted apart (tests/test_report_tls.py)
    assert inbound["tls_messages"] == inbound["tls_sessions"] == len(tls_pids) > 100
    assert inbound["protocols"] == {"TLS1.3": len(tls_pids)}
    assert inbound["sessions_logged"] is True and inbound["tls_unknown_sessions"] > 20
    # a connection's time runs from the daemon's connect line to the process's close:
    # an idle client's process logs nothing before its close (an Exim postmaster
    # counted 13.9 s by pairing the lines, where the first-line times gave 0.9 s)
    assert rep["smtp_connections"]["total_seconds"] == 13.9
    clients = {c["client_ip"]: c["connections"] for c in rep["security"]["top_clients"]}
    assert clients["127.0.0.81"] == sum("[127.0.0.81]" in ln for ln in connects) == 150


def test_delays_nobody_logged_are_unknown_and_the_text_gives_their_unit(
        tmp_path: Path) -> None:
    """Exim logs the time since arrival only with +queue_time (`QT=`; `DT=` is the
    transport's own): without it, a delivery took as long as since its `<=` line, where
    the input has it (eximstats' "time spent on the queue"), and is unknown, not 0,
    where it has not. Postfix's are shown as pflogsumm shows them (s, m, h)."""
    mainlog = SAMPLE / "exim" / "mainlog"
    exim = report_of(mainlog, alerts=False)
    # slow.example.net: arrived 15:52:12, deferred twice, delivered at 16:40:03
    slow = next(d for d in exim["delivery_domains"] if d["domain"] == "slow.example.net")
    assert (slow["avg_delay"], slow["max_delay"]) == (2871.0, 2871.0)
    cut = tmp_path / "mainlog"       # the arrival rotated away with yesterday's file
    cut.write_text("".join(ln for ln in mainlog.read_text().splitlines(keepends=True)
                           if "1vxS2e-000000001qC-2OCc <=" not in ln))
    slow = next(d for d in report_of(cut, alerts=False)["delivery_domains"]
                if d["domain"] == "slow.example.net")
    assert (slow["sent"], slow["avg_delay"], slow["max_delay"]) == (1, None, None)
    postfix = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)
    # slow.example.net: deferred at 15:52, delivered at 16:32:41 after 2429 s
    slow = next(d for d in postfix["delivery_domains"] if d["domain"] == "slow.example.net")
    assert slow["max_delay"] == 2429.0
    rows = [ln.split() for ln in render_text(postfix).splitlines()
            if ln.endswith("  slow.example.net")]
    assert rows[0][3:8] == ["40.5", "m", "40.5", "m", "slow.example.net"]


def test_protocol_errors_have_their_section(tmp_path: Path) -> None:
    """pflogsumm lists `warning: non-SMTP command` among its warnings; ours, with Exim's
    synchronization errors, under SMTP protocol errors (never silently dropped)."""
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  3 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[192.0.2.9]\n"
        "Mar  3 10:00:01 mx1 postfix/smtpd[100]: warning: non-SMTP command from "
        "unknown[192.0.2.9]: GET / HTTP/1.1\n"
        "Mar  3 10:00:01 mx1 postfix/smtpd[100]: disconnect from unknown[192.0.2.9] "
        "unknown=0/1 commands=0/1\n")
    rep = report_of(log, alerts=False)
    assert [(p["daemon"], p["reason"], p["count"]) for p in
            rep["problems"]["protocol_error"]] == [("smtpd", "GET / HTTP/1.1", 1)]
    assert "SMTP protocol errors" in render_text(rep)


def test_tls_shares_count_each_session_once() -> None:
    """Sendmail tells a session's TLS twice (STARTTLS=server, then tls_version= on its
    `from=` lines): the inbound shares are of sessions, one per process and client."""
    path = SAMPLE / "sendmail" / "maillog"
    server = re.compile(r"sm-mta\[(\d+)\]: STARTTLS=server, relay=([^,]+), version=([^,]+),")
    first: dict[tuple[str, str], str] = {}
    for line in path.read_text().splitlines():
        m = server.search(line)
        if m:
            first.setdefault((m.group(1), m.group(2)), m.group(3))
    inbound = report_of(path, alerts=False)["security"]["tls"]["inbound"]
    versions = sorted(set(first.values()))
    assert len(versions) > 1
    assert inbound["protocols"] == {v: list(first.values()).count(v) for v in versions}
    assert inbound["tls_sessions"] == len(first)


EXIM_FAILURES = """\
2026-03-10 08:10:00 +0100 1tL9cd-000Def-6R <= alice@example.com H=(alice-pc) [192.0.2.10] P=esmtpsa A=dovecot_plain:alice S=10240 id=m2@example.com
2026-03-10 08:10:31 +0100 1tL9cd-000Def-6R == dave@slow.example.org R=dnslookup T=remote_smtp defer (110): Connection timed out
2026-03-10 09:35:02 +0100 1tL9cd-000Def-6R => dave@slow.example.org R=dnslookup T=remote_smtp H=mx.slow.example.org [203.0.113.50] C="250 Accepted" QT=1h25m2s DT=2s
2026-03-10 09:35:02 +0100 1tL9cd-000Def-6R Completed QT=1h25m2s
2026-03-10 11:10:00 +0100 1tLD00-000Vwx-2X <= root@mx.example.com U=root P=local S=700 id=cron1@mx.example.com
2026-03-10 11:10:00 +0100 1tLD00-000Vwx-2X *> test@remote.example.net R=dnslookup T=remote_smtp
2026-03-10 11:10:00 +0100 1tLD00-000Vwx-2X Completed QT=0s
2026-03-10 12:30:00 +0100 1tLF00-000Bcd-4Z <= alice@example.com H=(alice-pc) [192.0.2.10] P=esmtpsa A=dovecot_plain:alice S=2222 id=m4@example.com
2026-03-10 12:30:31 +0100 1tLF00-000Bcd-4Z == henry@dead.example.org R=dnslookup T=remote_smtp defer (111): Connection refused
2026-03-10 13:35:00 +0100 1tLF00-000Bcd-4Z ** henry@dead.example.org R=dnslookup T=remote_smtp: retry timeout exceeded
2026-03-10 13:35:00 +0100 1tLF01-000Efg-5a <= <> R=1tLF00-000Bcd-4Z U=Debian-exim P=local S=3500 T="Mail delivery failed: returning message to sender"
2026-03-10 13:35:00 +0100 1tLF00-000Bcd-4Z Completed QT=1h5m
2026-03-10 13:35:01 +0100 1tLF01-000Efg-5a => alice <alice@example.com> R=local_user T=mail_spool QT=1s DT=0s
2026-03-10 13:35:01 +0100 1tLF01-000Efg-5a Completed QT=1s
"""


def test_exim_failures_suppressions_bounces_and_queue_time(tmp_path: Path) -> None:
    """What an Exim postmaster checked against eximstats: a recipient given up on
    (`** ... retry timeout exceeded`) is a failure; a `*>` (-N) message is a real one,
    not an address verification; the bounce Exim made (`<= <> R=`) is neither received
    nor bytes received (as Postfix's are not); a delay is QT= (time since arrival),
    not DT= (the transport's own time)."""
    log = tmp_path / "mainlog"
    log.write_text(EXIM_FAILURES)
    rep = report_of(log, alerts=False)
    t = rep["totals"]
    assert (t["received"], t["bytes_received"]) == (3, 10240 + 700 + 2222)
    assert (t["delivered"], t["bounced"], t["discarded"], t["deferred"]) == (2, 1, 1, 2)
    assert rep["totals_unique"]["received"] == 3 and rep["totals_unique"]["senders"] == 2
    slow = next(d for d in rep["delivery_domains"] if d["domain"] == "slow.example.org")
    assert slow["max_delay"] == 85 * 60 + 2
    assert rep["bounces"] == [{"relay": None, "reason": "retry timeout exceeded", "count": 1}]
    # pflogsumm's percentage of delivered, rejected and discarded: 1 of 3
    assert "         1  discarded (33%)" in render_text(rep).splitlines()


# Real lines (origins named): fail2ban's Exim test log (tests/data/corpora/fail2ban/logs/
# exim) and the Exim test suite's log/0006 (tests/data/corpora/exim-testsuite, GPL-2.0+)
EXIM_UNSAID = """\
2013-06-02 15:06:18 H=(VM-WIN2K3-1562) [46.20.35.114] sender verify fail for <usfh@technological-systems.com>: Unknown user
2017-12-03 08:32:00 no host name found for IP address 192.0.2.8
2017-12-03 08:51:35 no IP address found for host test.example.com (during SMTP connection from [192.0.2.9])
2022-04-03 21:53:53 no IP address found for host hos-t.example.tld (during SMTP connection from [63.85.123.6]:49390 I=[31.130.202.17]:25)
2022-04-03 21:53:54 10HmaX-000000005vi-0000 => :blackhole: <blackhole@the.local.host.name> R=system_aliases
"""


def test_exim_warnings_and_discards_have_reasons_that_group(tmp_path: Path) -> None:
    """An eximstats comparison found them listed as "(none)", or a bare "Unknown user"
    that did not say whose verification failed."""
    log = tmp_path / "mainlog"
    log.write_text(EXIM_UNSAID)
    rep = report_of(log, alerts=False, year=None)
    assert sorted((p["reason"], p["count"]) for p in rep["problems"]["warning"]) == [
        ("no IP address found for host", 2), ("no host name found for IP address", 1),
        ("sender verify fail for <…>: Unknown user", 1)]
    assert [(d["reason"], d["count"]) for d in rep["discarded"]] == [
        (":blackhole: <…> R=system_aliases", 1)]


def test_exim_deferrals_count_attempts_not_queue_runs_passing_by() -> None:
    """Recorded (Debian's Exim 4.96): two messages each tried twice; the queue runs in
    between logged `== ... defer (-52): retry time not reached` and `(-54)` for them,
    which eximstats does not count as attempts either."""
    path = ROOT / "recordings" / "exim" / "run1-default" / "mainlog.gz"
    t = report_of(path, alerts=False)["totals"]
    assert (t["deferred"], t["deferrals"]) == (2, 4)


def test_folded_reasons_do_not_read_as_the_null_sender() -> None:
    """Addresses are folded out of deferral and bounce reasons so that alike ones group;
    folded to `<>` they read, to an Exim or Postfix admin, as the null sender."""
    from logwatch.report.traffic import short_reason

    assert short_reason("RCPT TO:<bob@example.org>: 550 5.1.1 <bob@example.org>: unknown") == \
        "RCPT TO:<…>: 550 5.1.1 <…>: unknown"


def test_coverage_names_a_year_clue_only_where_years_were_inferred() -> None:
    exim = report_of(SAMPLE / "exim" / "mainlog", alerts=False, year=None)["coverage"]["files"]
    postfix = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)["coverage"]["files"]
    assert [(f["years"], f["year_from"]) for f in exim] == [([], None)]
    assert [(f["years"], f["year_from"]) for f in postfix] == [([2026], "--year")]


def test_sessions_an_mta_did_not_log_are_unknown_not_zero(tmp_path: Path) -> None:
    """Exim's default log_selector logs no connections: the recording's 199 messages came
    in over SMTP and no session was seen. Its connection statistics, inbound TLS share,
    plaintext logins and clients' connections are unknown, and every format says so
    (an Exim postmaster read '0 of 0 SMTP sessions used TLS' as a fact)."""
    path = ROOT / "recordings" / "exim" / "run1-default" / "mainlog.gz"
    rep = report_of(path, cfg=None, year=None, alerts=False)
    inbound = rep["security"]["tls"]["inbound"]
    assert rep["smtp_connections"]["logged"] is False and inbound["sessions_logged"] is False
    assert inbound["messages"] > 150 and inbound["tls_messages"] > 150
    assert {c["connections"] for c in rep["security"]["top_clients"]} == {None}
    text = render_text(rep)
    assert "0 of 0" not in text and "SMTP sessions not logged" in text
    assert "log_selector = +smtp_connection" in text
    html = render_html(rep)
    assert html.count("sessions not logged") >= 2 and "log_selector = +smtp_connection" in html
    with_pids = report_of(ROOT / "recordings" / "exim" / "run2-pid-millisec" / "mainlog.gz",
                          cfg=None, year=None, alerts=False)
    assert with_pids["smtp_connections"]["logged"] is True
    # Sendmail logs no connect line: its sessions are its processes, counted for TLS,
    # but when and how long it was connected is not told (the review found "0
    # connections" beside "170 of 234 SMTP sessions used TLS")
    sendmail = report_of(ROOT / "recordings" / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz",
                         cfg=None, year=None, alerts=False)
    assert sendmail["smtp_connections"]["logged"] is False
    assert sendmail["security"]["tls"]["inbound"]["sessions_logged"] is True
    assert sendmail["security"]["tls"]["inbound"]["tls_sessions"] > 150
    assert {c["connections"] for c in sendmail["security"]["top_clients"]} == {None}


def test_postscreen_verdicts_are_in_the_security_view() -> None:
    """A Postfix postmaster's review: 70 PREGREETs and 40 DNSBL hits appeared nowhere
    in the report, and every client postscreen passed on counted two connections (its
    CONNECT and smtpd's)."""
    rep = report_of(DATA / "postfix-postscreen.log", alerts=False)
    ps = rep["security"]["postscreen"]
    assert ps["verdicts"] == {"PREGREET": 2, "ALLOWLISTED": 1, "BLACKLISTED": 1,
                              "DENYLISTED": 1, "DNSBL": 1, "HANGUP": 1, "PASS NEW": 1,
                              "PASS OLD": 1, "WHITELISTED": 1}
    assert ps["blocklists"] == {"b.barracudacentral.org": 1, "zen.spamhaus.org": 1}
    caught = {c["client_ip"]: (c["count"], c["verdicts"]) for c in ps["by_ip"]}
    assert caught["203.0.113.10"] == (2, "DNSBL, PREGREET")
    assert caught["203.0.113.11"] == (2, "HANGUP, PREGREET")
    connections = {c["client_ip"]: c["connections"] for c in rep["security"]["top_clients"]}
    # one TCP connection each: postscreen's CONNECT, then (passed) smtpd's session
    assert connections["198.51.100.30"] == connections["203.0.113.17"] == 1
    assert connections["192.0.2.200"] == 1
    text = render_text(rep)
    assert "verdicts: PREGREET 2" in text and "zen.spamhaus.org 1" in text
    assert "Postscreen verdicts" in render_html(rep)


def test_a_content_filters_reinjection_is_not_inbound() -> None:
    """amavis re-injects through smtpd from 127.0.0.1: counted as inbound sessions, the
    three outside sessions, all over TLS, read as 3 of 6 (50%)."""
    tls = report_of(DATA / "postfix-amavis.log", alerts=False)["security"]["tls"]["inbound"]
    assert (tls["sessions"], tls["tls_sessions"], tls["share"]) == (3, 3, 1.0)


@pytest.mark.parametrize("name", ["postfix-postscreen.log", "postfix-amavis.log",
                                  "postfix-verify.log"])
def test_grand_totals_equal_pflogsumm_behind_postscreen_a_filter_and_a_probe(
        name: str) -> None:
    """A Postfix postmaster's logs: postscreen in front, amavis re-injecting, and a
    `sendmail -bv` probe (counted received by both, its bytes and sender by pflogsumm
    only, until the probe that came in through pickup was taken for a submission)."""
    path = DATA / name
    assert_pflogsumm_parity(report_of(path, cfg=None, year=2026)["totals"],
                            run_pflogsumm(path))


def test_the_summary_names_the_most_severe_alerts_first() -> None:
    """An HTML reviewer: the summary gave counts only, and the alerts sat four screens
    down in time order (the 1M-line log's three high ones were rows 32, 350 and 582 of
    639). The summary now names the medium-and-above alerts, most severe first, and the
    alerts table is in that order too."""
    from logwatch.report.layout import sections as layout

    rep = report_of(SAMPLE / "postfix" / "mail.log")
    sections = {s.id: s for s in layout(rep)}
    first = next(p for p in sections["summary"].parts
                 if getattr(p, "title", "") == "What needs looking at first")
    assert [r["severity"] for r in first.rows] == ["critical", "high", "high", "medium",
                                                   "medium"]
    assert first.rows[0]["rule"] == "open_relay"
    table = next(p for p in sections["security"].parts
                 if getattr(p, "title", "").startswith("Alerts"))
    ranks = [["critical", "high", "medium", "low", "info"].index(r["severity"])
             for r in table.rows]
    assert ranks == sorted(ranks) and len(ranks) == len(rep["security"]["alerts"]["timeline"])
