"""`report` on Sendmail, as a Sendmail postmaster reviewed its figures: a message returned
when its queue lifetime ran out (and Postfix's and Exim's alike), connections at LogLevel
10, the notices Sendmail makes, bare local names. Real lines, their origins named."""

from __future__ import annotations

import re
from pathlib import Path

from logwatch.report.render_html import render_html
from logwatch.report.render_text import render_text
from tests.test_report import (DATA, ROOT, SAMPLE, assert_pflogsumm_parity, report_of,
                               run_pflogsumm)

CORPORA = DATA / "corpora"
SENDMAIL_DAY = SAMPLE / "sendmail" / "maillog"
RECORDED = ROOT / "recordings" / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz"

#: qmgr's words from postfix-grok-patterns (test-yaml/qmgr_0005.yaml), under a syslog header
POSTFIX_EXPIRED = ("Oct 26 18:13:50 mx1 postfix/qmgr[1061]: 66C15648577B: "
                   "from=<uvnhbl@yahoo.com.tw>, status=expired, returned to sender\n")


def test_a_message_returned_when_its_queue_lifetime_ran_out_is_expired_in_every_mta(
        tmp_path: Path) -> None:
    """Sendmail's `return to sender: Cannot send message for 4 days` was counted nowhere,
    where Exim's `retry timeout exceeded` (a recipient's) is bounced. Each MTA logs the
    message's expiry as one line of the message (Exim: `cancelled by
    timeout_frozen_after`, test/log/0206), none of its recipients: `expired`, with its
    reason among the bounces, and not `bounced`, which pflogsumm, counting neither,
    keeps equal to its own."""
    postfix = tmp_path / "mail.log"
    postfix.write_text(POSTFIX_EXPIRED)
    reports = {
        "sendmail": report_of(CORPORA / "parse-syslog-mail" / "t" / "logs"
                              / "sendmail-custom-dsn.log", cfg=None, alerts=False),
        "exim": report_of(CORPORA / "exim-testsuite" / "test" / "log" / "0206", cfg=None,
                          year=None, alerts=False),
        "postfix": report_of(postfix, cfg=None, alerts=False)}
    reasons = {"sendmail": "Cannot send message for 4 days",
               "exim": "cancelled by timeout_frozen_after", "postfix": "returned to sender"}
    for mta, rep in reports.items():
        assert rep["totals"]["expired"] == rep["totals_unique"]["expired"] == 1, mta
        assert {"relay": None, "reason": reasons[mta], "count": 1} in rep["bounces"], mta
        assert re.search(r"^\s+1  expired", render_text(rep), re.M), mta
    # the recipients Exim failed with their own `**` lines are bounced; the expiry is not
    assert reports["exim"]["totals"]["bounced"] == 4
    assert reports["sendmail"]["totals"]["bounced"] == reports["postfix"]["totals"]["bounced"] == 0
    assert_pflogsumm_parity(reports["postfix"]["totals"], run_pflogsumm(postfix))


def test_a_notice_sendmail_makes_is_not_received() -> None:
    """The sample day's DSN (`from=<>, size=5482, ..., relay=[RESPONSE]`, 11:05:18) was
    counted among the 179 received, but not in the bytes or senders: neither now, as
    Postfix's and Exim's bounces. Received are the `from=` lines of transactions that
    queued a message (not `nrcpts=0`), less the notice."""
    lines = [ln for ln in SENDMAIL_DAY.read_text().splitlines()
             if ": from=" in ln and "nrcpts=0" not in ln]
    notices = [ln for ln in lines if ln.endswith("relay=[RESPONSE]")]
    outside = [ln for ln in lines if ln not in notices]
    assert len(notices) == 1 and len(outside) == 178
    rep = report_of(SENDMAIL_DAY, alerts=False)
    t = rep["totals"]
    assert t["received"] == len(outside) == sum(h["received"] for h in rep["per_hour"])
    assert t["bytes_received"] == sum(int(re.search(r"size=(\d+)", ln)[1]) for ln in outside)
    assert "from=<>" not in {s["address"] for s in rep["senders_by_count"]}


def test_sendmail_connections_are_counted_at_their_connect_line_and_not_timed() -> None:
    """At LogLevel 10 Sendmail logs `connect from` and never a disconnect: the report said
    "0 connections" beside a connection for each top client. Three recorded sessions, each
    after its connect line: three connections, of unknown length (no time, not 0)."""
    path = DATA / "sendmail-loglevel10.log"
    rep = report_of(path, cfg=None, alerts=False)
    c = rep["smtp_connections"]
    assert (c["logged"], c["connections"], c["timed"], c["hosts"]) == (True, 3, 0, 3)
    assert c["total_seconds"] is c["avg_seconds"] is c["max_seconds"] is None
    assert [(d["day"], d["connections"], d["total_seconds"]) for d in c["per_day"]] == [
        ("2026-11-29", 3, None)]
    assert {t["client_ip"]: t["connections"] for t in rep["security"]["top_clients"]} == {
        "127.0.0.14": 1, "127.0.0.15": 1, "127.0.0.51": 1}
    text = render_text(rep)
    assert "  3 connections from 3 hosts/domains; 3 not timed: no line says when they " \
           "ended (Sendmail logs no disconnect)" in text
    assert "3 not timed" in render_html(rep)
    # beside Postfix's sessions, which close: their times are the Postfix day's own
    postfix = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)["smtp_connections"]
    both = report_of(path, SAMPLE / "postfix" / "mail.log", alerts=False)["smtp_connections"]
    assert (both["connections"], both["timed"]) == (postfix["connections"] + 3,
                                                    postfix["connections"])
    assert (both["total_seconds"], both["avg_seconds"], both["max_seconds"]) == (
        postfix["total_seconds"], postfix["avg_seconds"], postfix["max_seconds"])


def test_a_bare_local_name_is_in_no_domain() -> None:
    """Sendmail's submission program logs the local sender and recipient bare (`from=root`,
    `to=root`; the MTA's copy says `root@mx1.example.com`), which made `root` a sending
    and a recipient domain (pflogsumm would too: Postfix never logs a bare name there).
    A bare name is counted as a sender or recipient, in no domain."""
    day = report_of(SENDMAIL_DAY, alerts=False)
    recorded = report_of(RECORDED, cfg=None, alerts=False)
    for rep, bare in ((day, {"root"}), (recorded, {"root", "carol"})):
        assert bare <= {s["address"] for s in rep["senders_by_count"]}
        domains = {d["domain"] for d in rep["receipt_domains"] + rep["delivery_domains"]}
        assert not domains & bare and "mx1.example.com" in domains
    assert "root" in {r["address"] for r in day["recipients_by_count"]}
    # 10 and 48 with `root`
    assert (day["totals"]["sending_domains"], day["totals"]["recipient_domains"]) == (9, 47)
    assert recorded["totals"]["sending_domains"] == 6
