"""pflogsumm's options on `report`, each against Debian's pflogsumm 1.1.5 given the same
option on the same input (the sample day, the Postfix recordings, or the sample day
changed to show what the option is for): the tutorial cron line first, then each option
by what it changes, not only that it is accepted. How pflogsumm is run and read is
test_report_sections'."""

from __future__ import annotations

import gzip
import json
import os
import re
import stat
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logwatch.cli import build_parser
from logwatch.commands.report import period
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from logwatch.report.traffic import short_reason
from tests.test_report import CONFIG, assert_pflogsumm_parity, pflogsumm_totals, report_of
from tests.test_report_sections import (
    LATE_2026,
    OUR_LIMITS,
    RECORDINGS,
    ROOT,
    SAMPLE_LOG,
    assert_address_tables_equal,
    pfl_sections,
    pfl_traffic,
    run_pflogsumm_text,
    with_extras,
    with_lines,
)

#: the line the tutorials give, for `pflogsumm` and now for `mail-logwatch report`
CRON_LINE = ("-d yesterday /var/log/mail.log --problems-first --rej-add-from "
             "--verbose-msg-detail -q")
#: the day after the sample day, when `-d yesterday` is the sample day
MORNING_AFTER = datetime(2026, 3, 4, 0, 10, tzinfo=UTC)

#: An older Postfix wrote the port after the reason: the only form pflogsumm 1.1.5
#: reads into its smtp delivery failures
OLD_CONNECT_FAILURES = """\
Mar  3 12:00:00 mx1 postfix/smtp[7001]: connect to mx1.down.example[192.0.2.61]: Connection refused (port 25)
Mar  3 12:00:01 mx1 postfix/smtp[7001]: connect to mx2.down.example[192.0.2.62]: Connection refused (port 25)
Mar  3 12:00:02 mx1 postfix/smtp[7002]: connect to mx1.down.example[192.0.2.61]: Connection refused (port 25)
Mar  3 12:00:03 mx1 postfix/smtp[7002]: connect to mx1.down.example[192.0.2.61]: Connection timed out (port 25)
"""


def mlw(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwatch", "report", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **(env or {})})


def ours(*args: str) -> list[str]:
    """Our command line for the sample day as the tests read it: its year, in UTC."""
    return ["--config", str(CONFIG), "--year", "2026", "--tz", "UTC", "-j", "1", *args]


def named_input(name: str, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The sample day, the same with EXTRAS, or a recording (read with no site config,
    as test_report_sections reads it), and how to read it."""
    if name in RECORDINGS:
        return RECORDINGS[name], {"cfg": None}
    return (with_extras(tmp) if name == "sample+extras" else SAMPLE_LOG), {}


def log_bytes(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def headings(text: str) -> list[str]:
    """A text report's headings (a line underlined by as many dashes), in order."""
    lines = text.split("\n")
    return [ln for ln, nxt in zip(lines, lines[1:]) if ln and nxt == "-" * len(ln)]


def refused_with_from(rows: list[str]) -> Counter[tuple[str, str]]:
    """pflogsumm's --rej-add-from lines (`count   whom  (from)`) of a detail section."""
    out: Counter[tuple[str, str]] = Counter()
    for line in rows:
        if m := re.match(r"^ {6,}(\d+)   (\S+)  \((.*)\)$", line):
            out[m[2], m[3]] += int(m[1])
    return out


def our_refused_with_from(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Ours, as pflogsumm writes them: `<>` for the null sender and for none logged;
    cleanup's left out (pflogsumm lists whom a header or body check refused under none)."""
    out: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for w in row["whom"]:
            if "sender" in w and row["daemon"] != "cleanup":
                out[w["value"], w["sender"] or "<>"] += w["count"]
    return out


def _is_ip(whom: str) -> bool:
    return re.fullmatch(r"[\d.]+|[\da-fA-F:]*:[\da-fA-F:.]*", whom) is not None


def bounce_reasons(text: str) -> list[str]:
    """The reasons of pflogsumm's bounce detail."""
    return [m[1] for ln in pfl_sections(text)["message bounce detail (by relay)"]
            if (m := re.match(r"^ {6,}\d+   (.*)$", ln))]


def _senders(pairs: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, sender), n in pairs.items():
        out[sender] += n
    return out


def assert_rej_add_from_equals_pflogsumms(rep: dict[str, Any], text: str,
                                          whole_reasons: bool = False) -> None:
    """Every sender pflogsumm appends, we append to as many listings; under an address
    the pairs are equal, under an IP address ours are at least as many (a client with a
    host name it lists by the name's domain, we by its address). Not with
    `whole_reasons`: pflogsumm's untrimmed reason
    (`550 5.1.1 <a@b>: Recipient address rejected: ...`) no longer starts with the words
    it chooses the recipient by, so it lists the client there; ours still the recipient."""
    pfl = pfl_sections(text)
    for title, key in (("message reject detail", "rejects"),
                       ("message reject warning detail", "reject_warnings"),
                       ("message hold detail", "held"), ("message discard detail", "discarded")):
        theirs = refused_with_from(pfl.get(title, []))
        mine = our_refused_with_from(rep[key])
        assert _senders(mine) == _senders(theirs), (key, mine, theirs)
        if not whole_reasons:
            assert {p: n for p, n in mine.items() if "@" in p[0]} == \
                {p: n for p, n in theirs.items() if "@" in p[0]}, key
            assert all(mine[p] >= n for p, n in theirs.items() if _is_ip(p[0])), key


# ---- the tutorial line ---------------------------------------------------------------

def test_the_tutorial_cron_line_parses_and_reports_yesterday() -> None:
    """`pflogsumm -d yesterday /var/log/mail.log --problems-first --rej-add-from
    --verbose-msg-detail -q` with only the command's name changed: every option is
    taken with pflogsumm's meaning, and `-d yesterday` the morning after is the sample
    day (the clock given, as pflogsumm's is below)."""
    args = build_parser().parse_args(["report", *CRON_LINE.split()])
    assert args.files == ["/var/log/mail.log"]
    assert (args.day, args.problems_first, args.rej_add_from, args.verbose_msg_detail,
            args.quiet) == ("yesterday", True, True, True, True)
    since, until = period(args, "UTC", today=MORNING_AFTER.date())
    assert (since, until) == (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))
    # as written (today's yesterday is not the sample day's: a report of nothing)
    done = mlw(*ours(*CRON_LINE.replace("/var/log/mail.log", str(SAMPLE_LOG)).split()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mail-logwatch report: ") and "Grand Totals" in done.stdout


def test_the_tutorial_cron_line_agrees_with_pflogsumms() -> None:
    """The line run by both on the sample day (`-d yesterday` pinned: pflogsumm's clock
    set to the morning after, ours given that day with --since/--until): the grand
    totals are equal, both put the problems first, append the same senders to the
    refused, give the bounce's whole reason, and leave out the same empty sections."""
    theirs = run_pflogsumm_text(SAMPLE_LOG.read_bytes(), MORNING_AFTER, base=(),
                                *CRON_LINE.replace("/var/log/mail.log", "").split())
    line = ours("--since", "2026-03-03", "--until", "2026-03-04", str(SAMPLE_LOG),
                *CRON_LINE.split()[3:])
    text = mlw(*line)
    js = mlw(*line, "--format", "json")
    assert text.returncode == js.returncode == 0, text.stderr + js.stderr
    rep = json.loads(js.stdout)
    assert theirs.startswith("Postfix log summaries for Mar  3")
    assert_pflogsumm_parity(rep["totals"], pflogsumm_totals(theirs))
    # --problems-first: the reject detail before the traffic, in both
    for report, reject, traffic in ((theirs, "message reject detail", "Per-Hour Traffic"),
                                    (text.stdout, "Message Reject Detail", "Per-Day Traffic")):
        assert report.index(f"\n{reject}\n") < report.index(f"\n{traffic}"), reject
    # --rej-add-from: the senders appended; ours in the text as pflogsumm writes them
    assert_rej_add_from_equals_pflogsumms(rep, theirs, whole_reasons=True)
    assert "  12  203.0.113.99  (probe@relaycheck.test)" in text.stdout
    # --verbose-msg-detail: the bounce's whole reason, 124 characters of it
    (bounce,) = rep["bounces"]
    (whole,) = bounce_reasons(theirs)
    assert bounce["reason"] == short_reason(whole, None) and len(bounce["reason"]) > 100
    # -q: pflogsumm's empty sections (the reject warnings, holds, discards, fatal errors,
    # panics, master daemon messages of a quiet day) are left out by both
    for title in ("message reject warning detail", "message hold detail",
                  "message discard detail", "Fatal Errors", "Panics", "Master daemon messages"):
        assert title not in theirs and title.lower() not in text.stdout.lower(), title
    assert "  none" not in text.stdout


# ---- the limits ----------------------------------------------------------------------

def _limits(*argv: str) -> dict[str, Any]:
    from logwatch.commands.report import _limits as limits
    return limits(build_parser().parse_args(["report", "x.log", *argv]))


def test_detail_sets_every_limit_and_each_given_one_overrides_it() -> None:
    """pflogsumm's --detail sets -h, -u and each --*-detail that is not given; ours also
    leaves --details for the tables pflogsumm never cuts (errors, fatal errors, panics,
    the master daemon's messages: a cron line asking for `--detail 0` still hears of a
    fatal error). The deprecated --no-*-detail and the `_` spellings are pflogsumm's too."""
    assert _limits() == {"top_hosts": 50, "top_users": 50, "details": 50, "detail_limits": {}}
    assert _limits("--detail", "3", "-u", "7", "--bounce-detail", "0", "--details", "9") == {
        "top_hosts": 3, "top_users": 7, "details": 9,
        "detail_limits": {"deferrals": 3, "bounces": 0, "rejects": 3, "connect_failures": 3,
                          "warnings": 3}}
    assert _limits("--reject_detail", "4", "--no_deferral_detail", "--no-smtpd-warnings") == {
        "top_hosts": 50, "top_users": 50, "details": 50,
        "detail_limits": {"rejects": 4, "deferrals": 0, "warnings": 0}}
    hyphens = build_parser().parse_args(["report", "x", "--problems-first", "--rej-add-from",
                                         "--verbose-msg-detail", "--verp-mung=2"])
    underscores = build_parser().parse_args(["report", "x", "--problems_first",
                                             "--rej_add_from", "--verbose_msg_detail",
                                             "--verp_mung=2"])
    assert vars(hyphens) == vars(underscores)


@pytest.mark.parametrize("option,title,keys", [
    ("--deferral-detail", "message deferral detail", [("deferrals",)]),
    ("--bounce-detail", "message bounce detail (by relay)", [("bounces",)]),
    ("--reject-detail", "message reject detail",
     [("rejects",), ("reject_warnings",), ("held",), ("discarded",)]),
    ("--smtp-detail", "smtp delivery failures", [("connect_failures",)]),
    ("--smtpd-warning-detail", "Warnings",
     [("problems", "warning"), ("problems", "protocol_error")])])
def test_each_per_table_limit_cuts_its_tables_alone(tmp_path: Path, option: str, title: str,
                                                    keys: list[tuple[str, ...]]) -> None:
    """Each --*-detail on the sample day with a hold, a discard, warnings and failed
    connections (in the form pflogsumm reads, see --smtp-detail) added: 0
    leaves its section out in both (pflogsumm's heading goes; our lists are null), 1
    keeps a line, and no other table changes."""
    log = with_lines(with_extras(tmp_path), OLD_CONNECT_FAILURES, tmp_path / "failures.log")
    whole = mlw(*ours("--no-alerts", "--format", "json", str(log)))
    cut = mlw(*ours("--no-alerts", "--format", "json", str(log), option, "0"))
    one = mlw(*ours("--no-alerts", "--format", "json", str(log), option, "1"))
    assert whole.returncode == cut.returncode == one.returncode == 0
    full, none, top = (json.loads(d.stdout) for d in (whole, cut, one))
    theirs = run_pflogsumm_text(log.read_bytes(), LATE_2026, option, "0", base=())
    assert f"\n{title}" in run_pflogsumm_text(log.read_bytes(), LATE_2026, base=())
    assert f"\n{title}" not in theirs

    def at(rep: dict[str, Any], path: tuple[str, ...]) -> Any:
        return rep[path[0]] if len(path) == 1 else rep[path[0]][path[1]]

    for path in keys:
        assert at(none, path) is None and at(full, path) is not None, path
        assert len(at(top, path)) == min(1, len(at(full, path))), path
    assert any(at(full, path) for path in keys), "the input has none to cut"
    for key in ("delivery_domains", "senders_by_count", "messages_without_size"):
        assert none[key] == full[key], key
    untouched = [k for k in ("deferrals", "bounces", "rejects", "connect_failures")
                 if (k,) not in keys]
    assert all(none[k] == full[k] for k in untouched)


# ---- --rej-add-from, --verbose-msg-detail ----------------------------------------------

@pytest.mark.parametrize("name", ["sample", "sample+extras", *RECORDINGS])
def test_rej_add_from_appends_pflogsumms_senders(tmp_path: Path, name: str) -> None:
    """--rej-add-from on the sample day, the same with a hold, a discard and a reject
    warning added, and the Postfix 3.7 and 3.10 recordings: the senders pflogsumm
    appends (the prober's, the harvester's beside each address it tried)."""
    path, kw = named_input(name, tmp_path)
    rep = report_of(path, alerts=False, rej_add_from=True, **OUR_LIMITS, **kw)
    text = run_pflogsumm_text(log_bytes(path), LATE_2026, "--rej-add-from")
    assert_rej_add_from_equals_pflogsumms(rep, text)
    assert refused_with_from(pfl_sections(text)["message reject detail"])
    prober = {"sample": "203.0.113.99  (probe@relaycheck.test) (12)",
              "sample+extras": "203.0.113.99  (probe@relaycheck.test) (12)"}.get(
        name, "127.0.0.51  (probe@relaycheck.example.org) (10)")
    assert prober in render_markdown(rep)
    plain = report_of(path, alerts=False, **OUR_LIMITS, **kw)
    assert all("sender" not in w for row in plain["rejects"] for w in row["whom"])
    assert [(r["reason"], r["count"]) for r in rep["rejects"]] == \
        [(r["reason"], r["count"]) for r in plain["rejects"]]


def test_verbose_msg_detail_keeps_whole_reasons() -> None:
    """Our detail reasons are cut at 100 characters (`…`), pflogsumm's bounce reasons at
    66; with --verbose-msg-detail both give the whole reason (ours with the addresses
    and IP addresses folded, by which the lines group)."""
    cut = report_of(SAMPLE_LOG, alerts=False)["bounces"][0]["reason"]
    whole = report_of(SAMPLE_LOG, alerts=False, full_reasons=True)["bounces"][0]["reason"]
    assert len(cut) == 100 and cut.endswith("…") and whole.startswith(cut[:-1])
    assert whole.endswith("(in reply to RCPT TO command)")
    (theirs,) = bounce_reasons(run_pflogsumm_text(SAMPLE_LOG.read_bytes(), LATE_2026,
                                                  "--verbose-msg-detail"))
    assert short_reason(theirs, None) == whole
    (trimmed,) = bounce_reasons(run_pflogsumm_text(SAMPLE_LOG.read_bytes(), LATE_2026))
    assert len(trimmed) == 66 and trimmed.endswith("...")


# ---- the layout: -q, --iso-date-time, --problems-first ------------------------------------

#: pflogsumm's sections that -q leaves out when empty, and ours
QUIET_TITLES = {"message deferral detail": "Message Deferral Detail",
                "message bounce detail (by relay)": "Message Bounce Detail (by relay)",
                "message reject detail": "Message Reject Detail",
                "message reject warning detail": "Message Reject Warning Detail",
                "message hold detail": "Message Hold Detail",
                "message discard detail": "Message Discard Detail",
                "Fatal Errors": "Fatal Errors", "Panics": "Panics",
                "Master daemon messages": "Master daemon messages"}


@pytest.mark.parametrize("name", ["sample", "sample+extras", "postfix-3.7"])
def test_quiet_leaves_out_the_empty_sections_pflogsumm_leaves_out(tmp_path: Path,
                                                                  name: str) -> None:
    """-q: no heading for an empty section. Of the sections both have, each is there in
    both or in neither, with -q and without (then an empty one says `none`); every
    other empty table of ours goes too. pflogsumm's Warnings list SASL failures, which
    ours list in the security view, and it reads no smtp connection failure of a
    current Postfix (see --smtp-detail): those two are not compared."""
    path, kw = named_input(name, tmp_path)
    for quiet in (False, True):
        theirs = run_pflogsumm_text(log_bytes(path), LATE_2026, *(["-q"] if quiet else []))
        rep = report_of(path, alerts=False, quiet=quiet, **OUR_LIMITS, **kw)
        text = render_text(rep)
        mine = set(headings(text))
        present = {t for t in QUIET_TITLES if f"\n{t}" in theirs}
        assert present == {t for t, title in QUIET_TITLES.items() if title in mine}, quiet
        assert ("  none" in text) is not quiet
        assert (": none" in theirs) is not quiet
        assert ("_None._" in render_markdown(rep)) is not quiet
    assert len(present) < len(QUIET_TITLES), "every section has lines: nothing to leave out"


def test_iso_date_time_writes_hours_as_pflogsumm_does() -> None:
    """Dates are ISO 8601 here either way (pflogsumm's `Mar  3 2026` only without
    --iso-date-time); hours are pflogsumm's `0300-0400`, and with --iso-date-time its
    `03:00-04:00`, to its last, `23:00-24:00`."""
    rep = report_of(SAMPLE_LOG, alerts=False)
    for iso in (False, True):
        theirs = run_pflogsumm_text(SAMPLE_LOG.read_bytes(), LATE_2026,
                                    *(["--iso-date-time"] if iso else []), base=())
        text = render_text(rep | {"iso_date_time": iso})

        def hours(report: str, title: str) -> list[str]:
            part = report.split(f"\n{title}")[1].split("\n\n")[0]
            return re.findall(r"(\d\d:?00-\d\d:?00)", part)

        assert hours(text, "Per-Hour Traffic Summary") == \
            hours(theirs, "Per-Hour Traffic Summary")
        assert hours(text, "Per-Hour Traffic Summary")[-1] == \
            ("23:00-24:00" if iso else "2300-2400")


# ---- what pflogsumm's options do to the figures -----------------------------------------

ZERO_FILL_DAYS = """\
Mar  4 09:00:00 mx1 postfix/smtpd[5001]: connect from unknown[192.0.2.99]
Mar  4 09:00:01 mx1 postfix/smtpd[5001]: disconnect from unknown[192.0.2.99] ehlo=1 quit=1 commands=2
Mar  5 10:00:00 mx1 postfix/pickup[5002]: 5A5A5A5A5A: uid=0 from=<root>
Mar  5 10:00:00 mx1 postfix/cleanup[5003]: 5A5A5A5A5A: message-id=<zf@mx1.example.com>
Mar  5 10:00:00 mx1 postfix/qmgr[5004]: 5A5A5A5A5A: from=<root@mx1.example.com>, size=300, nrcpt=1 (queue active)
Mar  5 10:00:01 mx1 postfix/local[5005]: 5A5A5A5A5A: to=<root@mx1.example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Mar  5 10:00:01 mx1 postfix/qmgr[5004]: 5A5A5A5A5A: removed
"""


def test_zero_fill_gives_every_day_a_row_of_all_five_figures(tmp_path: Path) -> None:
    """pflogsumm's --zero-fill fills no day it has no line of: it gives each day it has
    lines of its five columns, where otherwise a day's row stops at its last non-zero
    figure (4 March, which has only a connection, has no row; 5 March, one message
    received and delivered, a row of two figures). Ours always has the five; with
    --zero-fill, a day from the first to the last without traffic has a row of zeros,
    and the rows are pflogsumm's."""
    log = tmp_path / "mail.log"
    log.write_text(SAMPLE_LOG.read_text() + ZERO_FILL_DAYS)
    plain = pfl_sections(run_pflogsumm_text(log.read_bytes(), LATE_2026))
    rows = {m[1]: m[2].split() for ln in plain["Per-Day Traffic Summary"]
            if (m := re.match(r"^    (\d{4}-\d\d-\d\d)\s+(.*)$", ln))}
    assert list(rows) == ["2026-03-03", "2026-03-05"] and rows["2026-03-05"] == ["1", "1"]
    filled = pfl_traffic(pfl_sections(run_pflogsumm_text(log.read_bytes(), LATE_2026,
                                                         "--zero-fill"))[
        "Per-Day Traffic Summary"])
    assert filled["2026-03-04"] == [(0, "")] * 5 and len(filled["2026-03-05"]) == 5
    columns = ("received", "delivered", "deferred", "bounced", "rejected")
    for zero_fill, days in ((False, ["2026-03-03", "2026-03-05"]),
                            (True, ["2026-03-03", "2026-03-04", "2026-03-05"])):
        per_day = report_of(log, alerts=False, zero_fill=zero_fill)["per_day"]
        assert [d["day"] for d in per_day] == days
        assert all([(d[c], "") for c in columns] == filled[d["day"]] for d in per_day)


def test_no_no_msg_size_leaves_out_the_messages_with_no_size_data(tmp_path: Path) -> None:
    """The sample day without two messages' qmgr `from=..., size=` lines has messages
    with no size data: both list them, and with --no-no-msg-size neither does; the
    figures stay (their bytes are 0 either way)."""
    lines = SAMPLE_LOG.read_text().splitlines(keepends=True)
    log = tmp_path / "mail.log"
    log.write_text("".join(ln for ln in lines if not re.search(
        r"qmgr\[\d+\]: (?:C9B651B32AB|982CE1B2FCC): from=<", ln)))
    for unsized in (True, False):
        rep = report_of(log, alerts=False, unsized=unsized)
        theirs = run_pflogsumm_text(log.read_bytes(), LATE_2026,
                                    *([] if unsized else ["--no-no-msg-size"]))
        listed = "Messages with no size data" in pfl_sections(theirs)
        assert listed is unsized is (rep["messages_without_size"] is not None)
        assert ("Messages with no size data" in render_text(rep)) is unsized
        assert_pflogsumm_parity(rep["totals"], pflogsumm_totals(theirs))


def test_smtpd_stats_are_always_there() -> None:
    """--smtpd-stats adds pflogsumm's SMTPD connection sections; ours are always there:
    the option is taken and changes nothing."""
    without = run_pflogsumm_text(SAMPLE_LOG.read_bytes(), LATE_2026, base=())
    assert "Per-Hour SMTPD Connection Summary" not in without
    assert "Per-Hour SMTPD Connection Summary" in run_pflogsumm_text(
        SAMPLE_LOG.read_bytes(), LATE_2026, "--smtpd-stats", base=())
    line = ours("--no-alerts", "--format", "json", str(SAMPLE_LOG))
    plain, stats = mlw(*line), mlw(*line, "--smtpd-stats")
    assert plain.returncode == stats.returncode == 0
    assert json.loads(plain.stdout)["smtp_connections"]["connections"] > 0
    assert plain.stdout == stats.stdout


def test_syslog_name_reads_a_postfix_of_another_name(tmp_path: Path) -> None:
    """A Postfix with `syslog_name = mta` logs `mta/smtpd[123]: ...`: read as no mail
    by pflogsumm and by us, and with --syslog-name mta by both as the same day."""
    log = tmp_path / "mail.log"
    log.write_text(SAMPLE_LOG.read_text().replace(" postfix/", " mta/"))
    assert " mta/submission/smtpd[" in log.read_text()
    postfix = report_of(SAMPLE_LOG, alerts=False)["totals"]
    unknown = report_of(log, alerts=False)["totals"]
    named = report_of(log, alerts=False, syslog_names=("mta",))
    assert unknown["received"] == unknown["delivered"] == 0 < postfix["received"]
    assert named["totals"] == postfix and named["period"]["mtas"] == {"postfix": 1281}
    assert_pflogsumm_parity(named["totals"], pflogsumm_totals(run_pflogsumm_text(
        log.read_bytes(), LATE_2026, "--syslog-name=mta")))
    assert pflogsumm_totals(run_pflogsumm_text(log.read_bytes(), LATE_2026))["received"] \
        == (0, " ")
    done = mlw(*ours("--no-alerts", "--format", "json", "--syslog_name=mta", str(log)))
    assert done.returncode == 0 and json.loads(done.stdout)["totals"] == postfix


def test_uucp_mung_turns_bang_paths_back_into_addresses(tmp_path: Path) -> None:
    """-m: the list's sender as a UUCP gateway wrote it (`lists.example.net!news@uucpgw`)
    and carol's deliveries the same way; pflogsumm's -m makes them
    `uucpgw!news@lists.example.net` (domain lists.example.net), senders and recipients
    alike, and so do we; without it both count them under the gateway."""
    log = tmp_path / "mail.log"
    log.write_text(SAMPLE_LOG.read_text()
                   .replace("news@lists.example.net", "lists.example.net!news@uucpgw")
                   .replace("to=<carol@example.com>", "to=<example.com!carol@uucpgw>"))
    for mung in (False, True):
        rep = report_of(log, alerts=False, uucp=mung, **OUR_LIMITS)
        text = run_pflogsumm_text(log.read_bytes(), LATE_2026, *(["-m"] if mung else []))
        assert_address_tables_equal(rep, text)
        senders = {r["address"] for r in rep["senders_by_count"]}
        recipients = {r["address"] for r in rep["recipients_by_count"]}
        assert ("uucpgw!news@lists.example.net" in senders) is mung
        assert ("uucpgw!carol@example.com" in recipients) is mung
        assert ("uucpgw" in {d["domain"] for d in rep["receipt_domains"]}) is not mung


def _pfl_failures(rows: list[str]) -> Counter[tuple[str, str]]:
    """pflogsumm's smtp delivery failures: (reason, host) counted."""
    out: Counter[tuple[str, str]] = Counter()
    reason = ""
    for line in rows:
        if m := re.match(r"^  (\S.*?)(?: \(top \d+\))? \(total: \d+\)$", line):
            reason = m[1]
        elif m := re.match(r"^\s+(\d+)   (\S+)$", line):
            out[reason, m[2]] += int(m[1])
    return out


def test_smtp_detail_lists_the_next_hops_not_reached(tmp_path: Path) -> None:
    """pflogsumm's smtp delivery failures, which --smtp-detail cuts: each next hop a
    delivery agent could not connect to, by reason and host. In an older Postfix's form
    the two list the same; pflogsumm reads no other, so on the Postfix 3.7
    recording it lists none where we list the two refusals of 127.0.0.2 (the deferral
    detail names the same host: one connection per deferral there)."""
    log = with_lines(SAMPLE_LOG, OLD_CONNECT_FAILURES, tmp_path / "mail.log")
    theirs = _pfl_failures(pfl_sections(run_pflogsumm_text(log.read_bytes(), LATE_2026))[
        "smtp delivery failures"])
    assert theirs == {("connection refused", "mx1.down.example"): 2,
                      ("connection refused", "mx2.down.example"): 1,
                      ("connection timed out", "mx1.down.example"): 1}
    rows = report_of(log, alerts=False)["connect_failures"]
    assert Counter({(r["reason"].removesuffix(" (port 25)").lower(), r["relay"]): r["count"]
                    for r in rows}) == theirs
    assert {r["daemon"] for r in rows} == {"smtp"}
    recorded = RECORDINGS["postfix-3.7"]
    assert pfl_sections(run_pflogsumm_text(log_bytes(recorded), LATE_2026))[
        "smtp delivery failures"] == []
    rep = report_of(recorded, cfg=None, alerts=False)
    assert rep["connect_failures"] == [{"daemon": "smtp", "relay": "127.0.0.2",
                                        "reason": "Connection refused", "count": 2}]
    assert "  count  daemon       host  reason" in render_text(rep)


# ---- --mailq and -e --------------------------------------------------------------------

def _program(directory: Path, name: str, script: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_mailq_appends_the_queue_the_mta_lists() -> None:
    """--mailq runs the `mailq` on PATH (here Exim's, with an empty queue) at the end,
    as pflogsumm; the JSON says which and how it ended."""
    line = ours("--no-alerts", str(SAMPLE_LOG), "--mailq")
    text, js = mlw(*line), mlw(*line, "--format", "json")
    assert text.returncode == js.returncode == 0, text.stderr
    assert headings(text.stdout)[-1] == "Current Mail Queue"
    queue = json.loads(js.stdout)["mailq"]
    assert Path(queue["command"]).name == "mailq" and queue["exit_status"] == 0
    assert queue["error"] is None
    assert json.loads(mlw(*line[:-1], "--format", "json").stdout)["mailq"] is None


def test_mailq_output_is_escaped_and_a_failing_mailq_said(tmp_path: Path) -> None:
    """A queued sender is whatever a client typed: in the text its escape sequence is
    shown, not sent to the terminal, in HTML its markup is text. A mailq that fails
    (Postfix's when the mail system is down), or none on PATH, is said in the report
    and on stderr, and the exit status is 2."""
    _program(tmp_path, "mailq", r"""printf -- '-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n'
printf '4F2A31B2F49     2048 Tue Mar  3 10:00:00  \033[2J<b>evil</b>@example.net\n'
printf '                                         carol@example.com\n'
""")
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    line = ours("--no-alerts", str(SAMPLE_LOG), "--mailq")
    text, html = mlw(*line, env=env), mlw(*line, "--format", "html", env=env)
    assert text.returncode == html.returncode == 0
    assert "\x1b" not in text.stdout and "\\x1b[2J<b>evil</b>@example.net" in text.stdout
    assert text.stdout.rstrip().endswith("carol@example.com")
    assert "\x1b" not in html.stdout and "&lt;b&gt;evil&lt;/b&gt;@example.net" in html.stdout
    down = tmp_path / "down"
    down.mkdir()
    _program(down, "mailq", "echo 'postqueue: fatal: Queue report unavailable - mail system"
                            " is down' >&2\nexit 69\n")
    failed = mlw(*line, env={"PATH": f"{down}{os.pathsep}{os.environ['PATH']}"})
    assert failed.returncode == 2 and "exited with status 69" in failed.stderr
    assert "mail system is down" in failed.stdout.split("Current Mail Queue")[1]
    missing = mlw(*line, env={"PATH": str(tmp_path / "nowhere")})
    assert missing.returncode == 2 and "--mailq: no mailq on PATH" in missing.stderr


def test_e_is_refused_with_what_to_use_instead() -> None:
    """pflogsumm's -e lists every message; the report has no such listing, so -e is
    refused rather than ignored, naming the commands that give one."""
    done = mlw(*ours(str(SAMPLE_LOG), "-e"))
    assert done.returncode == 2 and done.stdout == ""
    assert "-e: pflogsumm's per-message listing" in done.stderr
    assert "parse FILE --table messages" in done.stderr and "trace QUEUE_ID" in done.stderr

