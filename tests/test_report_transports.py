"""`report`'s deliveries by transport (eximstats' table, for all three MTAs): on real
Debian MTAs and on the sample day, each transport's deliveries, bytes, deferrals and
bounces are what the raw lines say, counted here with regexes of their own; Exim's
figures set beside eximstats' rule; `-h` limits the table as it does the host/domain
lists; a transport's name is log text, and stays text."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from logwatch.report.render_html import render_html
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from tests.test_report import ROOT, SAMPLE, report_of

Figures = dict[str | None, Counter[str]]

RECORDINGS = ROOT / "recordings"
EXIM_RUN = RECORDINGS / "exim" / "run1-default" / "mainlog.gz"


def _lines(path: Path) -> list[str]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", "replace").splitlines()


def _count(out: Figures, transport: str | None, status: str, size: int) -> None:
    row = out.setdefault(transport, Counter())
    row[status] += 1
    if status == "sent":
        row["bytes"] += size


# Exim's mainlog: `date time[.ms][ zone][ [pid]] id flag rest`
_EXIM = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [-+]\d{4})?(?: \[\d+\])? "
                   r"(\S+) (<=|=>|->|>>|==|\*\*) (.*)$")
_EXIM_T = re.compile(r" T=([^\s:]+)")


def _exim_lines(lines: Iterable[str]) -> list[tuple[str, str, str, int]]:
    """(message id, flag, rest, the message's size from its `<=` line or 0)."""
    found = [m.groups() for m in map(_EXIM.match, lines) if m]
    sizes = {mid: int(s.group(1)) for mid, flag, rest in found
             if flag == "<=" and (s := re.search(r" S=(\d+)", rest))}
    return [(mid, flag, rest, sizes.get(mid, 0)) for mid, flag, rest in found]


def exim_figures(lines: list[str]) -> Figures:
    """Deliveries (`=>`, `->`, `>>`; not to `:blackhole:`), deferrals (`==`, but not a
    queue run passing an address over: `retry time not reached`) and failures (`**`)
    by `T=`."""
    out: Figures = {}
    for _, flag, rest, size in _exim_lines(lines):
        t = _EXIM_T.search(rest)
        transport = t.group(1) if t else None
        if flag in ("=>", "->", ">>") and not rest.startswith((":blackhole:", "discarded",
                                                                 "blackhole (")):
            _count(out, transport, "sent", size)
        elif flag == "==" and not re.search(r"defer \(-?\d+\): [Rr]etry time not", rest):
            _count(out, transport, "deferred", size)
        elif flag == "**":
            _count(out, transport, "bounced", size)
    return out


# Postfix: `program[pid]: QUEUEID: text`
_POSTFIX = re.compile(r" (postfix[^\s\[]*)\[\d+\]: ([0-9A-Za-z]+): (.*)$")
_POSTFIX_TO = re.compile(r"^to=<.*?>, (?:orig_to=<.*?>, )?relay=([^,\[\s]+).*?, "
                         r"status=(\w+)( \(forwarded as )?")


def postfix_figures(lines: list[str]) -> Figures:
    """Delivery agents' `to=` lines by master.cf service: local, virtual and pipe log
    theirs as `relay=`; the others' is the syslog name's component before the daemon,
    or the daemon; qmgr's name none. Sizes from qmgr's `from=` lines."""
    found = [m.groups() for m in map(_POSTFIX.search, lines) if m]
    sizes = {qid: int(s.group(1)) for _, qid, text in found
             if (s := re.match(r"from=<.*?>, size=(\d+),", text))}
    out: Figures = {}
    for program, qid, text in found:
        m = _POSTFIX_TO.match(text)
        if not m or m.group(3) or m.group(2) not in ("sent", "deferred", "bounced"):
            continue
        parts = program.split("/")
        transport = (m.group(1) if parts[-1] in ("local", "virtual", "pipe")
                     else None if parts[-1] == "qmgr" else parts[-2 if len(parts) > 2 else -1])
        _count(out, transport, m.group(2), sizes.get(qid, 0))
    return out


# Sendmail: `sm-mta[pid]: QUEUEID: text` (also `sendmail`, `sm-msp-queue`)
_SENDMAIL = re.compile(r" (?:sm-mta|sendmail|sm-msp-queue)\[\d+\]: (\w+): (.*)$")
_SENDMAIL_TO = re.compile(r"^to=(.*?), (?:ctladdr=.*?, )?delay=.*?, mailer=([^,\s]+),"
                          r".*, dsn=([245])\.")


def sendmail_figures(lines: list[str]) -> Figures:
    """`to=` lines by `mailer=`, one delivery per recipient of the list, how it went by
    the DSN's class. Sizes from the `from=` lines."""
    found = [m.groups() for m in map(_SENDMAIL.search, lines) if m]
    sizes = {qid: int(s.group(1)) for qid, text in found
             if (s := re.match(r"from=.*?, size=(\d+),", text))}
    out: Figures = {}
    for qid, text in found:
        m = _SENDMAIL_TO.match(text)
        if m:
            status = {"2": "sent", "4": "deferred", "5": "bounced"}[m.group(3)]
            for _ in m.group(1).split(","):
                _count(out, m.group(2), status, sizes.get(qid, 0))
    return out


def ours(report: dict[str, Any]) -> Figures:
    return {r["transport"]: Counter({k: r[k] for k in ("sent", "bytes", "deferred", "bounced")
                                     if r[k]})
            for r in report["delivery_transports"]}


CASES: dict[str, tuple[Path, Callable[[list[str]], Figures], set[str]]] = {
    "exim-4.96": (EXIM_RUN, exim_figures, {"remote_smtp", "local_delivery"}),
    "exim-4.96-pid": (RECORDINGS / "exim" / "run2-pid-millisec" / "mainlog.gz", exim_figures,
                      {"remote_smtp", "local_delivery"}),
    "exim-4.98": (RECORDINGS / "debian13" / "exim" / "run1-default" / "mainlog.gz",
                  exim_figures, {"remote_smtp", "local_delivery"}),
    "postfix-3.7": (RECORDINGS / "postfix" / "run1-syslog" / "syslog-traditional.log.gz",
                    postfix_figures, {"smtp", "local"}),
    "postfix-3.7-postlog": (RECORDINGS / "postfix" / "run2-postlog" / "postfix.log.gz",
                            postfix_figures, {"smtp", "local"}),
    "postfix-3.10": (RECORDINGS / "debian13" / "postfix" / "run1-syslog"
                     / "syslog-traditional.log.gz", postfix_figures, {"smtp", "local"}),
    "sendmail-8.17": (RECORDINGS / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz",
                      sendmail_figures, {"esmtp", "local", "relay"}),
    "sendmail-8.18": (RECORDINGS / "debian13" / "sendmail" / "run1-syslog"
                      / "syslog-traditional.log.gz", sendmail_figures,
                      {"esmtp", "local", "relay"}),
    "sample-postfix": (SAMPLE / "postfix" / "mail.log", postfix_figures, {"smtp", "local"}),
    "sample-exim": (SAMPLE / "exim" / "mainlog", exim_figures, {"remote_smtp", "mail_spool"}),
    "sample-sendmail": (SAMPLE / "sendmail" / "maillog", sendmail_figures,
                        {"esmtp", "local", "relay"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_deliveries_by_transport_are_what_the_lines_say(case: str) -> None:
    """Every transport that delivered, deferred or bounced, with the figures its lines
    give (bytes: each delivered recipient's message size, as the domain summary counts
    them), adding up to the grand totals."""
    path, raw, names = CASES[case]
    report = report_of(path, cfg=None, alerts=False)
    figures = ours(report)
    assert figures == raw(_lines(path))
    assert {t for t, row in figures.items() if row["sent"]} == names
    t = report["totals"]
    for key, total in (("sent", t["delivered"]), ("bytes", t["bytes_delivered"]),
                       ("deferred", t["deferrals"]), ("bounced", t["bounced"])):
        assert sum(row[key] for row in figures.values()) == total, key
    sent = [r["sent"] for r in report["delivery_transports"]]
    assert sent == sorted(sent, reverse=True) and sent[-1] > 0


def test_exim_transports_beside_eximstats() -> None:
    """Debian's eximstats 4.96 on this recording says, in its "Deliveries by transport":
    local_delivery 36 messages, 18KB; remote_smtp 170 messages, 89KB. eximstats counts
    each `=>` line (a transport run; `/\\sT=(\\S+)/`, else `:blackhole:`) and the
    message's `<=` size once per run; ours counts each address delivered, `=>` and its
    `->` siblings (74 here, all remote_smtp) with their message's size, as the grand
    totals and the domain summary count them (eximstats' "Addresses"). So local_delivery
    agrees (36 and 18,141 bytes: one address per run), and our remote_smtp, 244
    addresses and 145,597 bytes, is eximstats' 170 runs and 91,201 bytes (89KB) plus
    the 74 `->` addresses and their 54,396. Here eximstats' rule, run over the lines,
    and ours less the `->` lines give the same figures."""
    lines = _exim_lines(_lines(EXIM_RUN))
    runs: Figures = {}
    siblings: Figures = {}
    for _, flag, rest, size in lines:
        t = re.search(r"\sT=(\S+)", rest)
        if flag == "=>":
            _count(runs, t.group(1) if t else ":blackhole:", "sent", size)
        elif flag == "->":
            _count(siblings, t.group(1) if t else None, "sent", size)
    figures = ours(report_of(EXIM_RUN, cfg=None, alerts=False))
    assert set(runs) == set(figures) and set(siblings) < set(runs)
    for transport, theirs in runs.items():
        extra = siblings.get(transport, Counter())
        assert figures[transport]["sent"] == theirs["sent"] + extra["sent"], transport
        assert figures[transport]["bytes"] == theirs["bytes"] + extra["bytes"], transport
    assert runs["local_delivery"]["sent"] == figures["local_delivery"]["sent"]
    assert 0 < runs["remote_smtp"]["sent"] < figures["remote_smtp"]["sent"]


def test_the_host_limit_cuts_the_table_and_zero_leaves_it_out() -> None:
    path = SAMPLE / "sendmail" / "maillog"
    whole = report_of(path, alerts=False)["delivery_transports"]
    assert len(whole) > 2
    assert report_of(path, alerts=False, top_hosts=2)["delivery_transports"] == whole[:2]
    none = report_of(path, alerts=False, top_hosts=0)
    assert none["delivery_transports"] is None
    for text in (render_text(none), render_markdown(none), render_html(none)):
        assert "Deliveries by transport" not in text
    shown = report_of(path, alerts=False)
    for text in (render_text(shown), render_markdown(shown), render_html(shown)):
        assert "Deliveries by transport" in text


HOSTILE_SERVICE = "<img|src=x>`y`"


def test_a_forged_service_name_stays_text(tmp_path: Path) -> None:
    """A syslog tag is whatever a local user gives `logger -t`: a service name of
    markup and table syntax is shown, never obeyed."""
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  3 10:00:02 mx1 postfix/qmgr[1187]: 4A1B2C3D4E: from=<a@x.test>, size=4321, "
        "nrcpt=1 (queue active)\n"
        f"Mar  3 10:00:04 mx1 postfix/{HOSTILE_SERVICE}/smtp[2003]: 4A1B2C3D4E: "
        "to=<b@y.test>, relay=mx.y.test[203.0.113.7]:25, delay=2.1, delays=0.1/0/1/1, "
        "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 123ABC)\n")
    report = report_of(log, cfg=None, alerts=False)
    assert report["delivery_transports"] == [{"transport": HOSTILE_SERVICE, "sent": 1,
                                              "bytes": 4321, "deferred": 0, "bounced": 0}]
    html, md, text = render_html(report), render_markdown(report), render_text(report)
    assert "<img" not in html and "<img" not in md
    assert "&lt;img|src=x&gt;`y`" in html and f"  {HOSTILE_SERVICE}" in text
    assert "| &lt;img\\|src=x&gt;\\`y\\` | 1 | 4,321 | 0 | 0 |" in md
