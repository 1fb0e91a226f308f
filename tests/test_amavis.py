"""amavisd-new's verdicts against what was really sent (recordings/amavis/scenarios.json).

Every message the driver handed to Debian 12's amavisd-new must come back as `filter` rows,
one per recipient, with the verdict the scenario caused, the client and queue id it gave
over XFORWARD, and no amavis row may be `other`, carry a queue id of its own (which would
make it a Postfix message) or come from a line that is not a verdict or an alert.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.conftest import ROOT, parse_events
from tests.test_report import report_of

RECORDED = ROOT / "recordings" / "amavis"
TRUTH = json.loads((RECORDED / "scenarios.json").read_text())
FORMATS = ["syslog-traditional.log.gz", "syslog-rfc3339.log.gz", "syslog-rfc5424.log.gz",
           "journal.json.gz"]
RUNS = [r["run"] for r in TRUTH["runs"]]

#: per scenario, the (disposition, verdict kind) each recipient got; spam for carol passes
#: (a spam lover, conf/amavis/50-user)
_VERDICT: dict[str, tuple[str, str]] = {
    "clean_inbound": ("Passed", "CLEAN"), "clean_several_recipients": ("Passed", "CLEAN"),
    "clean_long_recipient_list": ("Passed", "CLEAN"), "spam_inbound": ("Blocked", "SPAM"),
    "spam_mixed_recipients": ("Blocked", "SPAM"), "spammy_inbound": ("Passed", "SPAMMY"),
    "banned_inbound": ("Blocked", "BANNED"), "virus_inbound": ("Blocked", "INFECTED"),
    "bad_header": ("Passed", "BAD-HEADER"), "hostile_addresses": ("Passed", "CLEAN"),
    "outbound_clean": ("Passed", "CLEAN"), "outbound_spam": ("Blocked", "SPAM"),
    "outbound_virus": ("Blocked", "INFECTED")}
_SPAM_LOVER = "carol@example.com"
_ORIGINATING = {"outbound_clean", "outbound_spam", "outbound_virus"}


def _kind(reason: str) -> str:
    return reason.split(" ", 1)[0].rsplit("-", 1)[0] if reason.startswith("BAD-HEADER") \
        else reason.split(" ", 1)[0]


def _expected(run: str) -> Counter[tuple[Any, ...]]:
    """(queue id, client, sender, recipient, disposition, kind, ours) of every recipient."""
    scenarios = next(r for r in TRUTH["runs"] if r["run"] == run)["scenarios"]
    out: Counter[tuple[Any, ...]] = Counter()
    for sc in scenarios:
        disposition, kind = _VERDICT[sc["name"]]
        for m in sc["messages"]:
            for rcpt in m["recipients"]:
                d = "Passed" if kind == "SPAM" and rcpt == _SPAM_LOVER else disposition
                out[(m["queue_id"], m["client_ip"], m["sender"], rcpt, d, kind,
                     sc["name"] in _ORIGINATING)] += 1
    return out


def _rows(path: Path) -> pa.Table:
    table, _ = parse_events([path], year=2026, tz="UTC")
    return table


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("name", FORMATS)
def test_every_recipient_of_every_message_has_its_verdict(run: str, name: str) -> None:
    table = _rows(RECORDED / run / name)
    amavis = table.filter(pc.equal(table.column("mta").cast(pa.string()), "amavis"))
    assert Counter(amavis.column("event").cast(pa.string()).to_pylist()) == \
        {"filter": sum(_expected(run).values())}
    assert amavis.column("queue_id").null_count == amavis.num_rows
    got = Counter((r["parent_queue_id"], r["client_ip"], r["sender"], r["recipient"],
                   r["disposition"], _kind(r["reason"]),
                   "Outbound" in r["actions"] or "Internal" in r["actions"])
                  for r in amavis.to_pylist())
    assert got == _expected(run)


@pytest.mark.parametrize("run", RUNS)
def test_only_verdict_lines_are_mail(run: str) -> None:
    """Startup and per-message debug lines (run 2 has $log_level 2) are not mail; the
    verdict lines are read, each once, and a line cut in pieces by amavis once."""
    path = RECORDED / run / "syslog-traditional.log.gz"
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    verdicts = [x for x in lines if ") Passed " in x or ") Blocked " in x]
    assert len(lines) > 2 * len(verdicts)
    table = _rows(path)
    amavis = table.filter(pc.equal(table.column("mta").cast(pa.string()), "amavis"))
    assert len(set(amavis.column("offset").to_pylist())) == len(verdicts)
    per_kind = Counter(_kind(x.split(") ", 1)[1].split(" ", 1)[1]) for x in verdicts)
    assert per_kind == {"CLEAN": 8, "SPAM": 4, "INFECTED": 2, "BANNED": 1, "BAD-HEADER": 1,
                        "SPAMMY": 1}


def test_a_crafted_address_cannot_move_fields(tmp_path: Path) -> None:
    """Quoted local parts that hold `> -> <`, `, Queue-ID:` and `, size:` (recorded, and
    one more written here, with a Message-ID that tries the same) stay in their fields; a
    tail not of amavis's shape is not read (no size) rather than read wrong."""
    table = _rows(RECORDED / "run1-loglevel0" / "syslog-traditional.log.gz")
    sent = next(m for r in TRUTH["runs"][:1] for s in r["scenarios"]
                if s["name"] == "hostile_addresses" for m in s["messages"])
    rows = table.filter(pc.equal(table.column("parent_queue_id"), sent["queue_id"])).to_pylist()
    assert [r["recipient"] for r in rows] == sent["recipients"]
    assert {(r["sender"], r["client_ip"], r["size"]) for r in rows} == \
        {(sent["sender"], sent["client_ip"], rows[0]["size"])}
    assert rows[0]["size"] > 100
    crafted = tmp_path / "mail.log"
    crafted.write_text(
        'Mar  3 10:00:00 mx1 amavis[7]: (00007-01) Blocked SPAM {DiscardedInbound}, '
        '[192.0.2.9]:1 <"a> -> <b@example.com>, Queue-ID: FAKE, size: 1"@evil.example> -> '
        '<"c>,<d@example.com> -> <e"@example.com>, Queue-ID: REAL1, Message-ID: '
        '<x>, Hits: 1, size: 2, queued_as: Z, 1 ms>, mail_id: m, Hits: 9, size: 4321, 5 ms\n')
    (row,) = _rows(crafted).to_pylist()
    assert (row["sender"], row["recipient"], row["parent_queue_id"], row["size"],
            row["child_queue_id"], row["client_ip"]) == \
        ('"a> -> <b@example.com>, Queue-ID: FAKE, size: 1"@evil.example',
         '"c>,<d@example.com> -> <e"@example.com', "REAL1", None, None, "192.0.2.9")


def test_the_report_counts_the_verdicts() -> None:
    rep = report_of(RECORDED / "run1-loglevel0" / "syslog-rfc3339.log.gz", cfg=None)
    cf = rep["security"]["content_filter"]
    assert (cf["lines"], cf["recipients"], cf["blocked"], cf["from_ours"]) == (17, 60, 6, 4)
    assert {v["verdict"]: (v["count"], v["recipients"], v["blocked"], v["from_ours"])
            for v in cf["verdicts"]} == {
        "CLEAN": (8, 50, 0, 2), "SPAM": (4, 5, 3, 1), "INFECTED": (2, 2, 2, 1),
        "BANNED": (1, 1, 1, 0), "BAD-HEADER": (1, 1, 0, 0), "SPAMMY": (1, 1, 0, 0)}
    assert cf["viruses"] == [{"name": "Win.Test.EICAR_HDB-1.UNOFFICIAL", "count": 2}]
    assert {"name": "invoice.pdf.exe", "count": 1} in cf["banned"]
    assert {(h["sender"], h["client_ip"], h["verdict"]) for h in cf["harmful_from_ours"]} == \
        {("bob@example.com", "127.0.0.82", "SPAM"), ("carol@example.com", "127.0.0.83",
                                                     "INFECTED")}
    assert rep["totals"]["received"] == 0 and rep["totals"]["delivered"] == 0


def test_a_log_without_amavis_says_not_logged() -> None:
    rep = report_of(ROOT / "recordings" / "postfix" / "run1-syslog" / "syslog-rfc3339.log.gz",
                    cfg=None)
    assert rep["security"]["content_filter"] is None
