"""`report`'s sections beyond the grand totals, one by one, against Debian's pflogsumm
1.1.5 run on the same input (test_report.py compares the grand totals): traffic per day
and per hour, the host/domain summaries of delivery and reception, the senders and
recipients, the detail totals, the SMTPD connections, the master daemon's messages, the
messages with no size data and `--verp-mung`.

pflogsumm is run once per input (module-scoped fixtures) with --smtpd-stats, ISO dates,
limits large enough that every list is complete, in UTC, and with its clock set: it
dates a year-less stamp by the clock (a month later in the year than "now" is last
year's), even for RFC 3339 stamps, whose year it reads and then overwrites; so the
clock is given per input (perl's CORE::GLOBAL::time, set before pflogsumm is compiled)
and nothing here depends on the day the tests run. Where the two differ by design, the
difference itself is asserted, with its reason."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from logwatch.report.render_text import human_seconds
from tests.test_report import (
    CONFIG,
    PFLOGSUMM,
    ROOT,
    SAMPLE,
    assert_pflogsumm_parity,
    in_units,
    pflogsumm_totals,
    report_of,
)

#: "everything": pflogsumm's -h, -u, --detail and our top_hosts, top_users, details
ALL = 100_000
OUR_LIMITS = {"top_hosts": ALL, "top_users": ALL, "details": ALL}
PFL_OPTIONS = ["--smtpd-stats", "--iso-date-time", "-h", str(ALL), "-u", str(ALL),
               "--detail", str(ALL)]

#: pflogsumm's clock for the year-less stamps of 2026 (March, November, December):
#: late in 2026, so that no month is later than "now" and every day is 2026's
LATE_2026 = datetime(2026, 12, 31, 12, tzinfo=UTC)
#: and for the log across 2025's last midnight: 2 January 2026, so that December is
#: 2025's and January 2026's
NEW_YEAR_2026 = datetime(2026, 1, 2, tzinfo=UTC)

SAMPLE_LOG = SAMPLE / "postfix" / "mail.log"
RECORDINGS = {"postfix-3.7": ROOT / "recordings" / "postfix" / "run1-syslog"
                             / "syslog-traditional.log.gz",
              "postfix-3.10": ROOT / "recordings" / "debian13" / "postfix" / "run1-syslog"
                              / "syslog-traditional.log.gz"}

#: What the sample day lacks, put into a copy of it at 10:00: cleanup's and smtpd's
#: holds and discards, a header warning (pflogsumm's "reject warning"), an smtpd
#: reject_warning, and the master daemon's messages (one twice, to order them by count)
EXTRAS = """\
Mar  3 10:00:00 mx1 postfix/smtpd[9101]: connect from mail.hold.test[198.51.100.90]
Mar  3 10:00:01 mx1 postfix/smtpd[9101]: 1A2B3C4D5E: client=mail.hold.test[198.51.100.90]
Mar  3 10:00:02 mx1 postfix/cleanup[9102]: 1A2B3C4D5E: hold: header Subject: invoice from mail.hold.test[198.51.100.90]; from=<x@hold.test> to=<carol@example.com> proto=ESMTP helo=<mail.hold.test>: Held for review
Mar  3 10:00:02 mx1 postfix/cleanup[9102]: 1A2B3C4D5E: message-id=<h1@hold.test>
Mar  3 10:00:03 mx1 postfix/smtpd[9101]: 1A2B3C4D5F: client=mail.hold.test[198.51.100.90]
Mar  3 10:00:03 mx1 postfix/cleanup[9102]: 1A2B3C4D5F: discard: body viagra from mail.hold.test[198.51.100.90]; from=<x@hold.test> to=<carol@example.com> proto=ESMTP helo=<mail.hold.test>: Spam
Mar  3 10:00:04 mx1 postfix/smtpd[9101]: 1A2B3C4D60: client=mail.hold.test[198.51.100.90]
Mar  3 10:00:04 mx1 postfix/cleanup[9102]: 1A2B3C4D60: warning: header X-Foo: bar from mail.hold.test[198.51.100.90]; from=<x@hold.test> to=<carol@example.com> proto=ESMTP helo=<mail.hold.test>: Suspicious header
Mar  3 10:00:04 mx1 postfix/cleanup[9102]: 1A2B3C4D60: message-id=<h2@hold.test>
Mar  3 10:00:05 mx1 postfix/qmgr[9103]: 1A2B3C4D60: from=<x@hold.test>, size=1000, nrcpt=1 (queue active)
Mar  3 10:00:06 mx1 postfix/local[9104]: 1A2B3C4D60: to=<carol@example.com>, relay=local, delay=2, delays=1/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Mar  3 10:00:06 mx1 postfix/qmgr[9103]: 1A2B3C4D60: removed
Mar  3 10:00:07 mx1 postfix/smtpd[9101]: NOQUEUE: discard: RCPT from mail.hold.test[198.51.100.90]: <trap@example.com>: Recipient address triggers DISCARD action; from=<x@hold.test> to=<trap@example.com> proto=ESMTP helo=<mail.hold.test>
Mar  3 10:00:08 mx1 postfix/smtpd[9101]: 1A2B3C4D61: hold: RCPT from mail.hold.test[198.51.100.90]: <held@example.com>: Recipient address triggers HOLD action; from=<x@hold.test> to=<held@example.com> proto=ESMTP helo=<mail.hold.test>
Mar  3 10:00:08 mx1 postfix/smtpd[9101]: NOQUEUE: reject_warning: RCPT from mail.hold.test[198.51.100.90]: 450 4.7.1 <mail.hold.test>: Helo command rejected: Host not found; from=<x@hold.test> to=<dave@example.com> proto=ESMTP helo=<mail.hold.test>
Mar  3 10:00:09 mx1 postfix/smtpd[9101]: disconnect from mail.hold.test[198.51.100.90] ehlo=1 mail=4 rcpt=4 data=3 quit=1 commands=13
Mar  3 10:00:10 mx1 postfix/master[1187]: reload -- version 3.7.11, configuration /etc/postfix
Mar  3 10:00:11 mx1 postfix/master[1187]: reload -- version 3.7.11, configuration /etc/postfix
Mar  3 10:00:12 mx1 postfix/master[1187]: terminating on signal 15
Mar  3 10:00:13 mx1 postfix/master[1190]: daemon started -- version 3.7.11, configuration /etc/postfix
"""


# ---- pflogsumm, run and read -------------------------------------------------------

def run_pflogsumm_text(data: bytes, now: datetime, *args: str,
                       base: Sequence[str] = PFL_OPTIONS) -> str:
    """pflogsumm's report of `data` (on its stdin), in UTC, believing it is `now`, with
    `base` options (every list complete) and `args`."""
    assert Path(PFLOGSUMM).exists(), "pflogsumm is missing: `make debs` installs it"
    clock = (f"BEGIN {{ *CORE::GLOBAL::time = sub {{ {int(now.timestamp())} }} }} "
             f"do '{PFLOGSUMM}'; die $@ if $@")
    done = subprocess.run(["perl", "-e", clock, "--", *base, *args], input=data,
                          capture_output=True, timeout=300, check=True,
                          env={**os.environ, "TZ": "UTC"})
    return done.stdout.decode()


def _title(line: str) -> str:
    line = re.sub(r"^top \d+ ", "", line.strip())
    return re.sub(r"\s*\(top \d+\)$", "", line).strip()


def pfl_sections(text: str) -> dict[str, list[str]]:
    """pflogsumm's sections by title (`top N` taken off), each its lines; a title is
    underlined with as many dashes, or reads `title: none`; an empty section that
    pflogsumm leaves out (its "Messages with no size data") is absent."""
    lines = text.split("\n")
    out: dict[str, list[str]] = {}
    body: list[str] | None = None
    underline = False
    for i, line in enumerate(lines):
        if underline:
            underline = False
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        none = re.match(r"^(\S.*): none$", line)
        if line and set(nxt) == {"-"} and len(nxt) == len(line):
            body = out.setdefault(_title(line), [])
            underline = True
        elif none:
            out[_title(none.group(1))] = []
            body = None
        elif body is not None:
            body.append(line)
    return out


def _matching(rows: list[str], pattern: str) -> list[re.Match[str]]:
    """The matches of `pattern` at the start of each of a section's lines."""
    return [m for line in rows if (m := re.match(pattern, line))]


Num = tuple[int, str]            # pflogsumm's figure and its unit: ' ', 'k' or 'm'


def _num(value: str, unit: str) -> Num:
    return int(value), unit.strip()


def same(ours: float, theirs: Num) -> bool:
    return in_units(int(ours), theirs[1]) == theirs[0]


def pfl_traffic(rows: list[str]) -> dict[str, list[Num]]:
    """Per-Day (`2026-03-03`) or Per-Hour (`13:00-14:00`) traffic: received, delivered,
    deferred, bounced, rejected."""
    out = {}
    for m in _matching(rows, r"^    (\d{4}-\d\d-\d\d|\d\d:00-\d\d:00)\s+(.*)$"):
        out[m.group(1)] = [_num(*v) for v in re.findall(r"(\d+)([ km]?)", m.group(2))]
        assert len(out[m.group(1)]) == 5, m.string
    return out


def pfl_delivery(rows: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for m in _matching(rows, r"^\s*(\d+)([ km])\s+(\d+)([ km])\s+(\d+)([ km])\s+"
                             r"([\d.]+ [smh])\s+([\d.]+ [smh])  (.*)$"):
        g = m.groups()
        out[g[8]] = {"sent": _num(g[0], g[1]), "bytes": _num(g[2], g[3]),
                     "defers": _num(g[4], g[5]), "avg": g[6], "max": g[7]}
    return out


def pfl_received(rows: list[str]) -> dict[str, tuple[Num, Num]]:
    out = {}
    for m in _matching(rows, r"^\s*(\d+)([ km])\s+(\d+)([ km])  (.*)$"):
        out[m.group(5)] = (_num(m.group(1), m.group(2)), _num(m.group(3), m.group(4)))
    return out


def pfl_counted(rows: list[str]) -> list[tuple[str, Num]]:
    """` %6d%s  text` lines (senders, recipients, master daemon messages), in order."""
    out = []
    for m in _matching(rows, r"^ \s*(\d+)([ km])  (.*)$"):
        out.append((m.group(3), _num(m.group(1), m.group(2))))
    return out


def _hms(h: str, m: str, s: str) -> int:
    return int(h) * 3600 + int(m) * 60 + int(s)


def pfl_smtpd_times(rows: list[str]) -> dict[str, dict[str, Any]]:
    """Per-Day / Per-Hour SMTPD connections: count, seconds, and (one day, or per day)
    the average and the longest."""
    out = {}
    for m in _matching(rows, r"^    (\d{4}-\d\d-\d\d|\d\d:00-\d\d:00)\s+(\d+)([ km])\s+"
                             r"(-?\d+):(-?\d\d):(-?\d\d)(?:\s+(-?\d+)s\s+(-?\d+)s)?\s*$"):
        g = m.groups()
        out[g[0]] = {"connections": _num(g[1], g[2]), "seconds": _hms(*g[3:6]),
                     "avg": None if g[6] is None else int(g[6]),
                     "max": None if g[7] is None else int(g[7])}
    return out


def pfl_smtpd_hosts(rows: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for m in _matching(rows, r"^\s+(\d+)([ km])\s+(-?\d+):(-?\d+):(-?\d+)\s+(-?\d+)s"
                             r"\s+(-?\d+)s   (.*)$"):
        g = m.groups()
        out[g[7]] = {"connections": _num(g[0], g[1]), "seconds": _hms(*g[2:5]),
                     "avg": int(g[5]), "max": int(g[6])}
    return out


def pfl_detail_totals(rows: list[str]) -> Counter[str]:
    """A nested detail section's `(total: N)` figures by its first level (the daemon,
    the relay, or the reject's kind: RCPT, CONNECT, ... or `cleanup`)."""
    out: Counter[str] = Counter()
    top = ""
    for line in rows:
        if re.match(r"^  \S", line):
            top = re.sub(r"(?: \(top \d+\))?(?: \(total: \d+\))?$", "", line.strip())
        m = re.search(r"\(total: (\d+)\)$", line)
        if m:
            out[top] += int(m.group(1))
    return out


def pfl_smtpd_totals(text: str) -> dict[str, int]:
    grand = text.split("Per-")[0]
    out = {}
    for key, pattern in (("connections", r"^\s+(\d+)[ km]?\s+connections$"),
                         ("hosts", r"^\s+(\d+)[ km]?\s+hosts/domains$"),
                         ("avg", r"^\s+(\d+)\s+avg\. connect time \(seconds\)$")):
        out[key] = int(re.search(pattern, grand, re.MULTILINE).group(1))
    m = re.search(r"^\s*(\d+):(\d\d):(\d\d)  total connect time$", grand, re.MULTILINE)
    out["seconds"] = _hms(*m.groups())
    return out


# ---- the inputs ----------------------------------------------------------------------

@dataclass(repr=False)
class Run:
    """One input, read by both: the log pflogsumm read, our JSON, pflogsumm's text."""

    name: str
    log: str
    ours: dict[str, Any]
    text: str

    def __repr__(self) -> str:      # not the whole log in a failure's traceback
        return f"Run({self.name!r})"

    @cached_property
    def pfl(self) -> dict[str, list[str]]:
        return pfl_sections(self.text)

    @cached_property
    def days(self) -> int:
        """pflogsumm's day count: a multi-day input gets a Per-Day section and daily
        averages per hour."""
        return max(1, len(pfl_traffic(self.pfl.get("Per-Day Traffic Summary", []))))


def _run(name: str, path: Path, now: datetime, **ropts: Any) -> Run:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    ours = report_of(path, alerts=False, **OUR_LIMITS, **ropts)
    return Run(name, data.decode(), ours, run_pflogsumm_text(data, now))


@pytest.fixture(scope="module")
def new_year_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's kind of log, 60k lines from 23:30 on 31 December 2025: it does
    cross the midnight (test_report's `generated`, from 18:00, ends before 19:00)."""
    out = tmp_path_factory.mktemp("newyear") / "mail.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    "60000", "--out", str(out), "--start", "2025-12-31T23:30:00",
                    "--quiet"], check=True, timeout=300)
    return out


def with_lines(log: Path, lines: str, out: Path) -> Path:
    """`log` with `lines` in time order (one day's stamps), written to `out`."""
    out.write_text("".join(sorted(log.read_text().splitlines(keepends=True)
                                  + lines.splitlines(keepends=True), key=lambda ln: ln[:15])))
    return out


def with_extras(tmp: Path) -> Path:
    """The sample day with EXTRAS in time order."""
    return with_lines(SAMPLE_LOG, EXTRAS, tmp / "mail.log")


INPUTS = ["sample", "sample+extras", "new-year", *RECORDINGS]


@pytest.fixture(scope="module", params=INPUTS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Each input, both reports, once for the module."""
    name = request.param
    if name == "sample":
        return _run(name, SAMPLE_LOG, LATE_2026)
    if name == "sample+extras":
        return _run(name, with_extras(tmp_path_factory.mktemp("extras")), LATE_2026)
    if name == "new-year":
        return _run(name, request.getfixturevalue("new_year_log"), NEW_YEAR_2026, year=2025,
                    cfg=CONFIG)
    return _run(name, RECORDINGS[name], LATE_2026, cfg=None, year=2026)


# ---- the sections --------------------------------------------------------------------

COLUMNS = ("received", "delivered", "deferred", "bounced", "rejected")


def test_per_hour_traffic_equals_pflogsumm(run: Run) -> None:
    """Per hour, all five columns; "rejected" as pflogsumm's column counts it: rejects,
    reject warnings, holds and discards (finding 1). Over several days pflogsumm prints
    the daily average (half up) where we print the sum: that difference is asserted."""
    theirs = pfl_traffic(run.pfl["Per-Hour Traffic Daily Average" if run.days > 1
                                 else "Per-Hour Traffic Summary"])
    assert len(theirs) == 24 and [h["hour"] for h in run.ours["per_hour"]] == list(range(24))
    for row in run.ours["per_hour"]:
        key = f"{row['hour']:02d}:00-{row['hour'] + 1:02d}:00"
        # one day: the sums; several: pflogsumm's average per day, half up
        ours = [int(row[c] / run.days + 0.5) for c in COLUMNS]
        assert all(same(o, t) for o, t in zip(ours, theirs[key])), (key, ours, theirs[key])


def test_per_day_traffic_equals_pflogsumm(run: Run) -> None:
    """Per day, all five columns, dated alike: across the new year pflogsumm, told it is
    2 January 2026 (the clock given through perl on its stdin run), dates December 2025's.
    One day has no Per-Day section in pflogsumm: our one row is its per-hour sums."""
    ours = {r["day"]: [r[c] for c in COLUMNS] for r in run.ours["per_day"]}
    if run.name == "new-year":
        theirs = pfl_traffic(run.pfl["Per-Day Traffic Summary"])
        assert list(theirs) == ["2025-12-31", "2026-01-01"] == list(ours)
        for day, values in theirs.items():
            assert all(same(o, t) for o, t in zip(ours[day], values)), (day, ours[day], values)
        return
    assert "Per-Day Traffic Summary" not in run.pfl
    hours = pfl_traffic(run.pfl["Per-Hour Traffic Summary"]).values()
    (day, values), = ours.items()
    assert values == [sum(h[i][0] for h in hours) for i in range(5)], (day, values)


def same_delay(ours: float | None, theirs: str, rows: int) -> bool:
    """Our text report's delay (`human_seconds`) against pflogsumm's, but for two
    differences by design. A figure that is exactly half a tenth of its unit (an average
    of 1.15 s, a longest 23.45 m) rounds up here, as its decimal value says; pflogsumm
    formats its float (a sum in log order, divided), which falls either side of the half
    (1.1500000000000001 and 1.1499999999999999 were both seen). And a domain with no
    delivery to average has `-` here where pflogsumm prints 0.0 s."""
    if ours is None:
        return rows == 0 or theirs == "0.0 s" and human_seconds(ours) == "-"
    shown = human_seconds(ours)
    if shown == theirs:
        return True
    value, unit = shown.split()
    scale = {"s": 1, "m": 60, "h": 3600}[unit]
    half = abs((ours / scale * 10) % 1 - 0.5) < 1e-6
    other, other_unit = theirs.split()
    return half and other_unit == unit and abs(float(value) - float(other) - 0.1) < 1e-9


def test_delivery_domains_equal_pflogsumm(run: Run) -> None:
    """Host/Domain Summary: Message Delivery: sent, bytes, defers, the average and the
    longest delay (a deferral's included, as pflogsumm's) as our text report shows them
    beside pflogsumm's (finding 3: an average of 0.9525 kept as 0.95 showed as 0.9)."""
    theirs = pfl_delivery(run.pfl["Host/Domain Summary: Message Delivery"])
    ours = {d["domain"]: d for d in run.ours["delivery_domains"]}
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    wrong = {}
    for dom, t in theirs.items():
        o = ours[dom]
        if not (same(o["sent"], t["sent"]) and same(o["bytes"], t["bytes"])
                and same(o["deferred"], t["defers"])
                and same_delay(o["avg_delay"], t["avg"], o["sent"])
                and same_delay(o["max_delay"], t["max"], o["sent"] + o["deferred"])):
            wrong[dom] = {"ours": (o["sent"], o["bytes"], o["deferred"], o["avg_delay"],
                                   human_seconds(o["avg_delay"]),
                                   human_seconds(o["max_delay"])),
                          "pflogsumm": tuple(t.values())}
    assert not wrong, wrong
    assert_counts_in_order([d["sent"] for d in run.ours["delivery_domains"]],
                           [t["sent"] for t in theirs.values()])


def test_receipt_domains_equal_pflogsumm(run: Run) -> None:
    """Host/Domain Summary: Messages Received: count and bytes per sending domain."""
    theirs = pfl_received(run.pfl["Host/Domain Summary: Messages Received"])
    ours = {d["domain"]: d for d in run.ours["receipt_domains"]}
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    for dom, (count, size) in theirs.items():
        assert same(ours[dom]["messages"], count) and same(ours[dom]["bytes"], size), \
            (dom, ours[dom], count, size)


def assert_counts_in_order(ours: list[int], theirs: list[Num]) -> None:
    """Ties are ordered differently (pflogsumm: by reversed host labels), the counts
    themselves are in the same order."""
    assert [in_units(o, u) for o, (_, u) in zip(ours, theirs)] == [v for v, _ in theirs]
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("title,key,field", [
    ("Senders by message count", "senders_by_count", "messages"),
    ("Recipients by message count", "recipients_by_count", "messages"),
    ("Senders by message size", "senders_by_size", "bytes"),
    ("Recipients by message size", "recipients_by_size", "bytes")])
def test_senders_and_recipients_equal_pflogsumm(run: Run, title: str, key: str,
                                                 field: str) -> None:
    """The four user tables, every address with its figure (as dicts: ties are ordered
    differently), and the figures in pflogsumm's order."""
    theirs = pfl_counted(run.pfl[title])
    ours = {r["address"]: r[field] for r in run.ours[key]}
    assert set(ours) == {a for a, _ in theirs}, set(ours) ^ {a for a, _ in theirs}
    wrong = {a: (ours[a], t) for a, t in theirs if not same(ours[a], t)}
    assert not wrong, wrong
    assert_counts_in_order([r[field] for r in run.ours[key]], [t for _, t in theirs])


def _by(rows: list[dict[str, Any]], key: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in rows:
        out[str(r[key])] += r["count"]
    return out


@pytest.mark.parametrize("title,key", [("message reject detail", "rejects"),
                                       ("message reject warning detail", "reject_warnings"),
                                       ("message hold detail", "held"),
                                       ("message discard detail", "discarded")])
def test_reject_hold_and_discard_detail_totals_equal_pflogsumm(run: Run, title: str,
                                                               key: str) -> None:
    """The detail lines group by different wordings (README: pflogsumm trims the reply
    its own way), so their totals are compared, with cleanup's apart (pflogsumm files
    smtpd's and postscreen's under the command refused: RCPT, CONNECT, ...)."""
    theirs = pfl_detail_totals(run.pfl[title])
    ours = _by(run.ours[key], "daemon")
    assert sum(ours.values()) == sum(theirs.values()), (ours, theirs)
    assert ours["cleanup"] == theirs["cleanup"], (ours, theirs)


def pfl_detail_whom(rows: list[str]) -> Counter[str]:
    """A nested detail section's innermost lines (`count  value`) whose value is an
    address or an IP address, summed over the reasons: whom pflogsumm says was refused.
    (It names a client with a host name by the name's domain; we by its address.)"""
    out: Counter[str] = Counter()
    for line in rows:
        m = re.match(r"^ {6,}(\d+)   (\S+)$", line)
        if m and ("@" in m[2] or re.fullmatch(r"[\d.]+|[\da-fA-F:]*:[\da-fA-F:.]*", m[2])):
            out[m[2]] += int(m[1])
    return out


@pytest.mark.parametrize("title,key", [("message reject detail", "rejects"),
                                       ("message reject warning detail", "reject_warnings")])
def test_whom_each_reject_refused_equals_pflogsumm(run: Run, title: str, key: str) -> None:
    """Under each reject reason, pflogsumm lists whom it refused: the recipient of a
    refused recipient, the sender of a refused sender, else the client. Ours agree on
    every address it lists; a client with a host name it lists by the name's domain,
    where we keep the address (what a block list takes), so ours count a client
    address at least as often as its."""
    theirs = pfl_detail_whom(run.pfl[title])
    ours: Counter[str] = Counter()
    for row in run.ours[key]:
        assert sum(w["count"] for w in row["whom"]) == row["count"]
        ours.update({w["value"]: w["count"] for w in row["whom"]})
    addresses = {a: n for a, n in theirs.items() if "@" in a}
    assert {a: n for a, n in ours.items() if "@" in a} == addresses
    assert all(ours[ip] >= n for ip, n in theirs.items() if ip not in addresses)


def test_deferral_and_bounce_detail_totals_equal_pflogsumm(run: Run) -> None:
    """Deferrals by the daemon that logged them; bounces by relay host (pflogsumm names
    the relay with its address and port)."""
    theirs = pfl_detail_totals(run.pfl["message deferral detail"])
    assert _by(run.ours["deferrals"], "daemon") == theirs
    bounces = pfl_detail_totals(run.pfl["message bounce detail (by relay)"])
    hosts: Counter[str] = Counter()
    for relay, n in bounces.items():
        hosts[re.sub(r"\[.*$", "", relay)] += n
    assert sum(r["count"] for r in run.ours["bounces"]) == sum(bounces.values())
    assert _by(run.ours["bounces"], "relay") == hosts


def _domain_of(name: str) -> str:
    """A host name's domain, as both fold it: the last two labels (three under a
    two-letter country's second level), lower-cased."""
    m = re.match(r"^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$", name)
    return f"{m.group(2)}.{m.group(3)}".lower() if m else name


def pfl_gimme_domain(host: str) -> str:
    """pflogsumm's gimme_domain (1.1.5), given what follows `disconnect from `: with
    Postfix 3's command counters after `name[address]`, an IPv6 client matches none of
    its patterns but the one for `name/address`, which takes the text up to a `/` in the
    counters (`rcpt=0/1`): the key is then that text, else undefined, hence ""."""
    m = (re.match(r"^([^\[]*)\[((?:\d{1,3}\.){3}\d{1,3})\]", host)
         or re.match(r"^([^/]*)/([0-9a-f.:]+)", host, re.IGNORECASE)
         or re.match(r"^([^\[(/]*)[\[(/]([^\])]+)[\])]:?\d*$", host))
    if m is None:
        return ""
    name, address = m.groups()
    return address if name in ("", "unknown") else _domain_of(name)


def ipv6_sessions(log: str) -> list[tuple[str, str]]:
    """smtpd's sessions from IPv6 clients that pflogsumm times (a disconnect after a
    connect of the same pid): each as (our host key, pflogsumm's)."""
    out, open_pids = [], set()
    for m in re.finditer(r"/smtpd\[(\d+)\]: (connect|disconnect) from (.+)$", log, re.MULTILINE):
        pid, what, host = m.groups()
        if what == "connect":
            open_pids.add(pid)
            continue
        if pid not in open_pids:
            continue
        open_pids.discard(pid)
        client = re.match(r"^([^\[\s]*)\[([^\]]*)\]", host)
        if client and ":" in client.group(2):
            name, address = client.groups()
            ours = address if name in ("", "unknown") else _domain_of(name)
            out.append((ours, pfl_gimme_domain(host)))
    return out


def _smtpd_row(o: dict[str, Any]) -> tuple[int, int, int]:
    """Our seconds, average and longest as pflogsumm prints them (whole seconds, the
    average half up)."""
    return (int(o["total_seconds"]), int(o["total_seconds"] / o["connections"] + 0.5),
            int(o["max_seconds"]))


def test_smtpd_connections_equal_pflogsumm(run: Run) -> None:
    """SMTPD connections: count, total and average time; per hour on one day (count,
    time, average, longest); per day over several, and then per hour pflogsumm's daily
    average count where we print the sum (asserted as such)."""
    sc = run.ours["smtp_connections"]
    grand = pfl_smtpd_totals(run.text)
    assert (sc["connections"], int(sc["total_seconds"])) == (grand["connections"],
                                                             grand["seconds"])
    assert int(sc["total_seconds"] / sc["connections"] + 0.5) == grand["avg"]
    hours = {f"{h['hour']:02d}:00-{h['hour'] + 1:02d}:00": h for h in sc["per_hour"]
             if h["connections"]}
    if run.days == 1:
        theirs = pfl_smtpd_times(run.pfl["Per-Hour SMTPD Connection Summary"])
        assert set(hours) == set(theirs)
        for hour, t in theirs.items():
            o = hours[hour]
            assert same(o["connections"], t["connections"]), (hour, o, t)
            assert _smtpd_row(o) == (t["seconds"], t["avg"], t["max"]), (hour, o, t)
        assert [(d["connections"], int(d["total_seconds"])) for d in sc["per_day"]] == \
            [(grand["connections"], grand["seconds"])]
        return
    theirs = pfl_smtpd_times(run.pfl["Per-Day SMTPD Connection Summary"])
    days = {d["day"]: d for d in sc["per_day"]}
    assert list(days) == list(theirs)
    for day, t in theirs.items():
        assert same(days[day]["connections"], t["connections"]), (day, days[day], t)
        assert _smtpd_row(days[day]) == (t["seconds"], t["avg"], t["max"]), (day, days[day], t)
    average = pfl_smtpd_times(run.pfl["Per-Hour SMTPD Connection Daily Average"])
    assert set(hours) == set(average)
    for hour, t in average.items():
        assert same(int(hours[hour]["connections"] / run.days + 0.5), t["connections"]), \
            (hour, hours[hour], t)


def test_smtpd_hosts_equal_pflogsumm_for_ipv4_clients(run: Run) -> None:
    """Host/Domain Summary: SMTPD Connections and the grand totals' hosts/domains
    (finding 4). By design not pflogsumm's for IPv6 clients (the reviewer's finding 9,
    one of README's differences by design):
    pflogsumm's gimme_domain knows `name[a.b.c.d]`, and `name[ipv6]` followed by Postfix
    3's command counters matches only its `name/address` pattern, at a `/` in the
    counters (`rcpt=0/1`). So a session from an IPv6 client is filed under the line's
    text up to that `/` (`unknown[2001:db8::5] ehlo=1 mail=1 rcpt=0`), or, with no `/`,
    under "" with every other such session, named or not. Ours are under the name's
    domain, else the address. The IPv4 hosts are equal; each IPv6 session is asserted
    to be where each of the two files it, and the hosts/domains figures count the
    tables' rows."""
    sc = run.ours["smtp_connections"]
    theirs = pfl_smtpd_hosts(run.pfl["Host/Domain Summary: SMTPD Connections"])
    ours = {d["domain"]: d for d in sc["by_domain"]}
    v6 = ipv6_sessions(run.log)
    ours_v6 = Counter(o for o, _ in v6)
    theirs_v6 = Counter(t for _, t in v6)
    # the difference: every IPv6 session under a mangled key in pflogsumm
    assert all(t == "" or "] " in t for t in theirs_v6), theirs_v6
    assert "" not in ours and not any("] " in h for h in ours)
    assert set(ours_v6) <= set(ours)
    expected = Counter({h: o["connections"] for h, o in ours.items()})
    expected.subtract(ours_v6)
    expected.update(theirs_v6)
    assert +expected == Counter({h: t["connections"][0] for h, t in theirs.items()})
    for host, t in theirs.items():
        if host in ours and not ours_v6[host]:
            assert _smtpd_row(ours[host]) == (t["seconds"], t["avg"], t["max"]), \
                (host, ours[host], t)
    # hosts/domains: ours, the hosts of our table; pflogsumm's, of its table
    assert sc["hosts"] == len(ours)
    assert pfl_smtpd_totals(run.text)["hosts"] == len(theirs)
    if not v6:
        assert sc["hosts"] == len(theirs)


def test_master_daemon_messages_equal_pflogsumm(run: Run) -> None:
    """pflogsumm's "Master daemon messages" (finding 4): the text after
    `postfix/master[pid]: `, counted, most first (ours among the problems' sections,
    after the panics, where pflogsumm prints it). Ours lists Dovecot's master beside
    Postfix's (the recordings' SASL server): pflogsumm reads Postfix's only."""
    theirs = pfl_counted(run.pfl["Master daemon messages"])
    daemons = run.ours["problems"]["daemon"]
    ours = [r for r in daemons if r["mta"] == "postfix"]
    assert {r["reason"]: r["count"] for r in ours} == {m: n[0] for m, n in theirs}
    assert {r["daemon"] for r in daemons} <= {"master"}
    assert [r["count"] for r in ours] == [n[0] for _, n in theirs]
    assert {r["mta"] for r in daemons} <= {"postfix", "dovecot"}
    if run.name in RECORDINGS:      # a start, two reloads and a stop were recorded
        assert sum(r["count"] for r in ours) == 4


def test_messages_without_size_equal_pflogsumm(run: Run) -> None:
    """On the inputs, whose qmgr lines are all there, pflogsumm has no such section
    and we have an empty list; the constructed input below has some."""
    theirs = [tuple(ln.split()) for ln in run.pfl.get("Messages with no size data", [])
              if ln.strip()]
    assert [(r["queue_id"], r["recipient"]) for r in run.ours["messages_without_size"]] \
        == theirs


# ---- constructed inputs --------------------------------------------------------------

#: two messages delivered to two recipients each, a content filter's child
#: (982CE1B2FCC, local) and an outbound one (C9B651B32AB, two relays)
NO_SIZE = ("C9B651B32AB", "982CE1B2FCC")


def test_messages_with_no_size_data_are_pflogsumms(tmp_path: Path) -> None:
    """Messages with no size data (finding 4): the sample day without the qmgr
    `from=..., size=` lines of two delivered messages. pflogsumm lists each by queue id
    (sorted) with the last recipient delivered; the grand totals still agree (the
    deliveries counted, with no bytes)."""
    lines = SAMPLE_LOG.read_text().splitlines(keepends=True)
    qmgr = re.compile(r"postfix/qmgr\[\d+\]: (?:{}): from=<".format("|".join(NO_SIZE)))
    gone = [ln for ln in lines if qmgr.search(ln)]
    assert len(gone) == 2
    log = tmp_path / "mail.log"
    log.write_text("".join(ln for ln in lines if ln not in gone))
    ours = report_of(log, alerts=False, **OUR_LIMITS)
    text = run_pflogsumm_text(log.read_bytes(), LATE_2026)
    theirs = [tuple(ln.split()) for ln in pfl_sections(text)["Messages with no size data"]
              if ln.strip()]
    assert theirs == [("982CE1B2FCC", "dave@example.com"), ("C9B651B32AB", "finn@example.net")]
    assert [(r["queue_id"], r["recipient"]) for r in ours["messages_without_size"]] == theirs
    assert_pflogsumm_parity(ours["totals"], pflogsumm_totals(text))


def verp_log(tmp: Path) -> Path:
    """The sample day with VERP-looking senders and recipients: the list's sender
    `news@lists.example.net` becomes `bounces-<n>-<rcpt>=<domain>@lists.example.net`, one
    per line, and carol's and bob's deliveries to `noreply-0@example.com` ... `-2@`, by
    line (folded, they would be one `noreply-ID@example.com`)."""
    out = []
    for n, line in enumerate(SAMPLE_LOG.read_text().splitlines(keepends=True), 1):
        if "news@lists.example.net" in line:
            line = line.replace("news@lists.example.net",
                                f"bounces-{1000 + n}-carol=example.com@lists.example.net")
        if "status=sent" in line:
            line = re.sub(r"to=<(?:carol|bob)@example\.com>",
                          f"to=<noreply-{n % 3}@example.com>", line)
        out.append(line)
    log = tmp / "verp.log"
    log.write_text("".join(out))
    return log


@pytest.mark.parametrize("verp", [1, 2])
def test_verp_mung_folds_senders_only(tmp_path: Path, verp: int) -> None:
    """`--verp-mung[=2]` (finding 2): pflogsumm folds senders' VERP addresses and
    never recipients'; the senders, the recipients and the grand totals (`recipients`
    included) equal pflogsumm's --verp-mung run."""
    log = verp_log(tmp_path)
    ours = report_of(log, alerts=False, verp=verp, **OUR_LIMITS)
    text = run_pflogsumm_text(log.read_bytes(), LATE_2026, f"--verp-mung={verp}")
    pfl = pfl_sections(text)
    senders = {a: n for a, n in pfl_counted(pfl["Senders by message count"])}
    recipients = {a: n for a, n in pfl_counted(pfl["Recipients by message count"])}
    # what the input is for: the senders fold, the recipients do not
    folded = "bounces-ID-carol=example.com@lists.example.net" if verp == 1 \
        else "bounces-ID@lists.example.net"
    assert [a for a in senders if a.startswith("bounces")] == [folded]
    assert {f"noreply-{i}@example.com" for i in range(3)} <= set(recipients)
    assert_address_tables_equal(ours, text)


def assert_address_tables_equal(ours: dict[str, Any], text: str) -> None:
    """Our four sender and recipient tables and the grand totals equal pflogsumm's."""
    pfl = pfl_sections(text)
    for title, key, field in (("Senders by message count", "senders_by_count", "messages"),
                              ("Recipients by message count", "recipients_by_count",
                               "messages"),
                              ("Senders by message size", "senders_by_size", "bytes"),
                              ("Recipients by message size", "recipients_by_size", "bytes")):
        theirs = dict(pfl_counted(pfl[title]))
        mine = {r["address"]: r[field] for r in ours[key]}
        assert set(mine) == set(theirs), (title, set(mine) ^ set(theirs))
        assert all(same(mine[a], t) for a, t in theirs.items()), title
    assert_pflogsumm_parity(ours["totals"], pflogsumm_totals(text))


@pytest.mark.parametrize("ignore_case", [False, True])
def test_ignore_case_folds_whole_addresses(tmp_path: Path, ignore_case: bool) -> None:
    """`-i`: the sample day with every other line's addresses in capitals
    (`Alice@Example.COM`). Without it, as pflogsumm, the domain part alone is folded
    (`Alice@example.com` and `alice@example.com` are two senders); with it, the whole
    address; either way the tables and totals equal pflogsumm's same run."""
    lines = SAMPLE_LOG.read_text().splitlines(keepends=True)
    shout = re.compile(r"((?:from|to)=<)([^>@]+@[^>]+)>")
    log = tmp_path / "mail.log"
    log.write_text("".join(shout.sub(lambda m: m[1] + m[2].title() + ">", ln) if n % 2 else ln
                           for n, ln in enumerate(lines)))
    ours = report_of(log, alerts=False, ignore_case=ignore_case, **OUR_LIMITS)
    text = run_pflogsumm_text(log.read_bytes(), LATE_2026, *(["-i"] if ignore_case else []))
    senders = [r["address"] for r in ours["senders_by_count"]]
    plain = report_of(SAMPLE_LOG, alerts=False, **OUR_LIMITS)
    assert ("Alice@example.com" in senders) is not ignore_case
    assert (ours["totals"]["senders"] == plain["totals"]["senders"]) is ignore_case
    assert_address_tables_equal(ours, text)
