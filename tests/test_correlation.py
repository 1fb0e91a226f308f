"""Sessions and message lifetimes, on real-shaped lines of all three MTAs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.correlate.correlator import Correlator
from logwatch.correlate.messages import _after_refusals_only
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from tests.conftest import POSTFIX_FILTER, ROOT


def _write(tmp_path: Path, name: str, text: str, mtime: float | None = None) -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _run(paths: list[Path], **options: Any) -> tuple[pa.Table, list[dict[str, Any]]]:
    opts = {"tz": "UTC", "year": 2025, **options}
    run = ParseRun([str(p) for p in paths], default_parsers(), ParseOptions(**opts))
    events, messages = [], []
    for ev, msg in run.correlated():
        events.append(ev)
        messages.append(msg)
    table = pa.concat_tables(events)
    rows = pa.concat_tables(messages).to_pylist()
    return table, sorted(rows, key=lambda r: (r["host"] or "", r["queue_id"], r["first_seen"]))


def test_content_filter_child_is_linked_and_counted_once(tmp_path: Path) -> None:
    events, msgs = _run([_write(tmp_path, "mail.log", POSTFIX_FILTER)])
    by_id = {m["queue_id"]: m for m in msgs}
    parent, child = by_id["4A1B2C3D4E"], by_id["5B6C7D8E9F"]
    assert parent["origin"] == "smtp" and parent["parent"] is None
    assert parent["client_ip"] == "198.51.100.7" and parent["tls_in"] is True
    assert parent["status"] == "sent" and parent["delivered"] == 1
    assert child["origin"] == "reinjected" and child["parent"] == "4A1B2C3D4E"
    assert child["recipients"] == ["bob@example.com"] and child["relays"] == ["local"]
    assert child["tls_in"] is False
    # the child is the remote client's message, not the content filter's (DESIGN.md)
    assert (child["client_ip"], child["client_name"]) == ("198.51.100.7", "mail.example.net")
    handoff = [r for r in events.to_pylist() if r["event"] == "handoff"]
    assert [h["child_queue_id"] for h in handoff] == ["5B6C7D8E9F"]


def test_exim_delivery_to_its_own_exim_is_a_hand_off_to_a_child() -> None:
    """Exim's test 0230 (tests/data/corpora/exim-testsuite, GPL-2.0+): 10HmbB goes to the
    Exim on 127.0.0.1, which answers `250 OK id=10HmbC-...` and logs 10HmbC from
    localhost: one message, 10HmbC the re-injected child with the client of 10HmbB."""
    log = ROOT / "tests/data/corpora/exim-testsuite/test/log/0230"
    events, msgs = _run([log])
    by_id = {m["queue_id"]: m for m in msgs}
    parent, child = by_id["10HmbB-000000005vi-0000"], by_id["10HmbC-000000005vi-0000"]
    assert (parent["origin"], parent["parent"], parent["status"]) == ("smtp", None, "sent")
    assert (child["origin"], child["parent"]) == ("reinjected", "10HmbB-000000005vi-0000")
    assert child["client_ip"] == parent["client_ip"] == "V4NET.9.8.7"
    handoff = [r for r in events.to_pylist() if r["event"] == "handoff"]
    assert [(h["queue_id"], h["child_queue_id"], h["status"]) for h in handoff] == [
        ("10HmbB-000000005vi-0000", "10HmbC-000000005vi-0000", "sent")]
    # the other messages the second Exim received are nobody's children
    assert [m["parent"] for m in msgs if m is not child] == [None] * (len(msgs) - 1)


@pytest.mark.parametrize("cut", [None, 2])
def test_an_exim_cutthrough_delivery_logged_before_its_arrival_is_one_message(
        tmp_path: Path, cut: int | None) -> None:
    """Exim's test 5400 (GPL-2.0+): with cutthrough delivery the `>>` line is written
    while the client waits, before `<=`; a received line began a new lifetime, so each
    message was two, one delivered with no sender and one received and never delivered.
    As one batch and cut between the two lines, one message each, as many as ids."""
    lines = (ROOT / "tests/data/corpora/exim-testsuite/test/log/5400").read_text()
    first = lines.splitlines(keepends=True)
    at = next(i for i, ln in enumerate(first) if " >> " in ln) + 1 if cut else len(first)
    paths = [_write(tmp_path, "mainlog.1" if cut else "mainlog", "".join(first[:at]))]
    if cut:   # a rotation between the two lines
        paths.append(_write(tmp_path, "mainlog", "".join(first[at:])))
    _, msgs = _run(paths)
    cut_through = {ln.split()[2] for ln in first if " >> " in ln}
    assert len(cut_through) >= 3
    mine = [m for m in msgs if m["queue_id"] in cut_through]
    assert len(mine) == len(cut_through)
    assert all(m["sender"] == "CALLER@myhost.test.ex" and m["origin"] == "local"
               and m["delivered"] >= 1 and m["status"] == "sent" for m in mine)


def _line_batches(tmp_path: Path, log: str, cut: int) -> tuple[pa.Table, pa.Table]:
    """The events of `log`, as two batches split before its `cut`th line."""
    events, _ = _run([_write(tmp_path, "mail.log", log)])
    return events.slice(0, cut), events.slice(cut)


def _by_id(messages: pa.Table) -> dict[str, dict[str, Any]]:
    return {m["queue_id"]: m for m in messages.to_pylist()}


def test_a_link_logged_after_its_child_ended_still_makes_it_a_child(tmp_path: Path) -> None:
    """The content filter's re-injection is delivered and removed before the parent's
    smtp client logs `queued as` (ten seconds later, in the next batch): the child waits
    out the grace, the live view shows it linked as soon as the link comes, and it ends
    as the remote client's message, as when all arrives at once."""
    lines = POSTFIX_FILTER.strip().splitlines()
    link = next(i for i, line in enumerate(lines) if "queued as" in line)
    late = lines[:link] + lines[link + 3:] + [
        lines[link].replace("10:00:02", "10:00:13"),
        lines[link + 1].replace("10:00:02", "10:00:13")]
    first, second = _line_batches(tmp_path, "\n".join(late) + "\n", len(late) - 2)
    live = Correlator(default_parsers())
    _, done = live.process(first)
    assert done.num_rows == 0                               # the child waits for its link
    child = _by_id(live.provisional())["5B6C7D8E9F"]
    assert (child["origin"], child["client_ip"]) == ("smtp", "127.0.0.1")
    live.process(second)
    child = _by_id(live.provisional())["5B6C7D8E9F"]
    assert (child["origin"], child["parent"], child["client_ip"]) == (
        "reinjected", "4A1B2C3D4E", "198.51.100.7")
    batched = _by_id(live.finish())
    whole = Correlator(default_parsers())
    _, at_once = whole.process(pa.concat_tables([first, second]))
    assert batched == _by_id(pa.concat_tables([at_once, whole.finish()]))
    assert batched["5B6C7D8E9F"]["client_name"] == "mail.example.net"


def test_links_are_kept_while_their_child_is_held_and_no_longer(tmp_path: Path) -> None:
    """A follower's links: the content filter's first child ends at once, its second is
    deferred for three days. A day on, only the second's link is left; it still makes
    the child the remote client's message when it ends, and goes once the child has."""
    quick = POSTFIX_FILTER.strip().replace("Dec 30", "Dec 27")
    deferred = quick.replace("4A1B2C3D4E", "6C1B2C3D4E").replace(
        "5B6C7D8E9F", "7D6C7D8E9F").replace("198.51.100.7", "198.51.100.8").replace(
        "10:00:", "10:30:").splitlines()
    deferred[-2:] = [
        "Dec 27 10:30:03 mx1 postfix/smtp[104]: 7D6C7D8E9F: to=<bob@example.org>, "
        "relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to "
        "mx.example.org[203.0.113.9]:25: Connection timed out)"]
    later = [
        "Dec 30 10:00:00 mx1 postfix/smtp[105]: 7D6C7D8E9F: to=<bob@example.org>, "
        "relay=mx.example.org[203.0.113.9]:25, delay=259197, delays=259196/0/0.5/0.5, "
        "dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Dec 30 10:00:00 mx1 postfix/qmgr[50]: 7D6C7D8E9F: removed",
        "Dec 30 11:00:00 mx1 postfix/smtpd[300]: connect from unknown[192.0.2.1]",
        "Dec 30 12:00:00 mx1 postfix/smtpd[300]: connect from unknown[192.0.2.2]"]
    events, _ = _run([_write(tmp_path, "mail.log", "\n".join(
        quick.splitlines() + deferred + later) + "\n")])
    n = events.num_rows
    live = Correlator(default_parsers())
    done = [live.process(events.slice(0, n - 4))[1]]
    assert sorted(live.state.links.column("child").to_pylist()) == ["5B6C7D8E9F", "7D6C7D8E9F"]
    done.append(live.process(events.slice(n - 4, 2))[1])      # three days on: it ends
    assert live.state.links.column("child").to_pylist() == ["7D6C7D8E9F"]
    done.append(live.process(events.slice(n - 2, 1))[1])      # out of the grace
    child = _by_id(pa.concat_tables(done))["7D6C7D8E9F"]
    assert (child["parent"], child["origin"], child["client_ip"]) == (
        "6C1B2C3D4E", "reinjected", "198.51.100.8")
    assert child["delivered"] == 1 and child["deferred"] == 1
    live.process(events.slice(n - 1))
    assert live.state.links.num_rows == 0


def test_a_late_line_joins_the_message_that_waits_out_the_grace(tmp_path: Path) -> None:
    """A delivery line stamped before its message's `removed` but read in a later batch
    (two processes writing to syslog) joins that message, not a message of its own."""
    log = """
Dec 30 10:00:00 mx1 postfix/pickup[10]: 0CCCC3: uid=0 from=<root>
Dec 30 10:00:00 mx1 postfix/qmgr[50]: 0CCCC3: from=<root@mx1.example.com>, size=300, nrcpt=2 (queue active)
Dec 30 10:00:01 mx1 postfix/local[11]: 0CCCC3: to=<root@mx1.example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:00:03 mx1 postfix/qmgr[50]: 0CCCC3: removed
Dec 30 10:00:02 mx1 postfix/smtp[12]: 0CCCC3: to=<ops@example.org>, relay=mx.example.org[203.0.113.9]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
"""
    first, second = _line_batches(tmp_path, log, 4)
    live = Correlator(default_parsers())
    assert live.process(first)[1].num_rows == 0
    assert live.state.settling.num_rows == 4 and live.state.rows.num_rows == 0
    live.process(second)
    (message,) = live.provisional().to_pylist()
    assert sorted(message["recipients"]) == ["ops@example.org", "root@mx1.example.com"]
    (done,) = live.finish().to_pylist()
    assert done["delivered"] == 2 and done["last_seen"] == message["last_seen"]


def test_a_lifetime_brought_back_leaves_the_others_of_its_id_in_the_live_view(
        tmp_path: Path) -> None:
    """A late line brings one settling message back among the open ones; an earlier
    message whose queue id a new message reuses in the same batch stays settled and
    stays in the live view."""
    log = """
Dec 30 10:00:00 mx1 postfix/pickup[10]: 0AAAA1: uid=0 from=<root>
Dec 30 10:00:00 mx1 postfix/qmgr[50]: 0AAAA1: from=<root@mx1.example.com>, size=300, nrcpt=1 (queue active)
Dec 30 10:00:01 mx1 postfix/local[11]: 0AAAA1: to=<root@mx1.example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:00:02 mx1 postfix/qmgr[50]: 0AAAA1: removed
Dec 30 10:00:05 mx1 postfix/pickup[10]: 0BBBB2: uid=0 from=<root>
Dec 30 10:00:05 mx1 postfix/qmgr[50]: 0BBBB2: from=<root@mx1.example.com>, size=300, nrcpt=2 (queue active)
Dec 30 10:00:06 mx1 postfix/local[11]: 0BBBB2: to=<root@mx1.example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:00:09 mx1 postfix/qmgr[50]: 0BBBB2: removed
Dec 30 10:00:08 mx1 postfix/smtp[12]: 0BBBB2: to=<ops@example.org>, relay=mx.example.org[203.0.113.9]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Dec 30 10:00:20 mx1 postfix/pickup[10]: 0AAAA1: uid=0 from=<root>
Dec 30 10:00:20 mx1 postfix/qmgr[50]: 0AAAA1: from=<root@mx1.example.com>, size=900, nrcpt=1 (queue active)
"""
    first, second = _line_batches(tmp_path, log, 8)
    live = Correlator(default_parsers())
    assert live.process(first)[1].num_rows == 0
    assert len(live.provisional()) == 2                     # both wait out the grace
    live.process(second)
    shown = sorted((m["queue_id"], m["size"], len(m["recipients"]))
                   for m in live.provisional().to_pylist())
    assert shown == [("0AAAA1", 300, 1), ("0AAAA1", 900, 0), ("0BBBB2", 300, 2)]


def test_sessions_span_connect_to_disconnect(tmp_path: Path) -> None:
    events, msgs = _run([_write(tmp_path, "mail.log", POSTFIX_FILTER)])
    rows = events.to_pylist()
    pid100 = [r["session"] for r in rows if r["pid"] == 100]
    assert len(set(pid100)) == 1 and pid100[0] is not None
    assert pid100[0].startswith("mx1 postfix/smtpd 100@")
    assert {m["queue_id"]: m["session"] for m in msgs}["4A1B2C3D4E"] == pid100[0]
    assert all(r["session"] is None for r in rows if r["daemon"] in ("qmgr", "cleanup"))


def test_queue_id_reuse_starts_a_new_message(tmp_path: Path) -> None:
    log = """
Dec 30 10:00:00 mx1 postfix/pickup[10]: 0AAAA1: uid=0 from=<root>
Dec 30 10:00:00 mx1 postfix/qmgr[50]: 0AAAA1: from=<root@mx1.example.com>, size=300, nrcpt=1 (queue active)
Dec 30 10:00:01 mx1 postfix/local[11]: 0AAAA1: to=<root@mx1.example.com>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:00:01 mx1 postfix/qmgr[50]: 0AAAA1: removed
Dec 30 11:00:00 mx1 postfix/pickup[10]: 0AAAA1: uid=33 from=<www-data>
Dec 30 11:00:00 mx1 postfix/qmgr[50]: 0AAAA1: from=<www-data@mx1.example.com>, size=900, nrcpt=1 (queue active)
Dec 30 11:00:01 mx1 postfix/smtp[12]: 0AAAA1: to=<x@example.org>, relay=mx.example.org[203.0.113.9]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.example.org[203.0.113.9] said: 550 5.1.1 unknown (in reply to RCPT TO command))
Dec 30 11:00:01 mx1 postfix/bounce[13]: 0AAAA1: sender non-delivery notification: 0BBBB2
Dec 30 11:00:01 mx1 postfix/qmgr[50]: 0AAAA1: removed
Dec 30 11:00:02 mx1 postfix/qmgr[50]: 0BBBB2: from=<>, size=2900, nrcpt=1 (queue active)
Dec 30 11:00:02 mx1 postfix/local[11]: 0BBBB2: to=<www-data@mx1.example.com>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 11:00:02 mx1 postfix/qmgr[50]: 0BBBB2: removed
"""
    _, msgs = _run([_write(tmp_path, "mail.log", log)])
    first, second, bounce = msgs
    assert bounce["client_ip"] is None   # the bounce of local mail has no client to inherit
    assert (first["queue_id"], second["queue_id"], bounce["queue_id"]) == ("0AAAA1", "0AAAA1",
                                                                            "0BBBB2")
    assert first["origin"] == "local" and first["sender"] == "root@mx1.example.com"
    assert first["status"] == "sent"
    assert second["sender"] == "www-data@mx1.example.com" and second["status"] == "bounced"
    assert bounce["origin"] == "bounce" and bounce["parent"] == "0AAAA1"
    assert bounce["sender"] == ""


def test_same_queue_id_on_two_hosts_is_two_messages(tmp_path: Path) -> None:
    log = """
Dec 30 10:00:00 mx1 postfix/qmgr[50]: 0CCCC3: from=<a@example.com>, size=300, nrcpt=1 (queue active)
Dec 30 10:00:00 mx2 postfix/qmgr[60]: 0CCCC3: from=<b@example.com>, size=400, nrcpt=1 (queue active)
Dec 30 10:00:01 mx1 postfix/qmgr[50]: 0CCCC3: removed
Dec 30 10:00:01 mx2 postfix-out/qmgr[61]: 0CCCC3: from=<c@example.com>, size=500, nrcpt=1 (queue active)
"""
    _, msgs = _run([_write(tmp_path, "mail.log", log)])
    keys = sorted((m["host"], m["instance"], m["sender"]) for m in msgs)
    assert keys == [("mx1", "postfix", "a@example.com"), ("mx2", "postfix", "b@example.com"),
                    ("mx2", "postfix-out", "c@example.com")]


def test_sendmail_submission_hands_off_to_the_mta(tmp_path: Path) -> None:
    log = """
Mar  3 10:00:03 mx1 sendmail[2010]: 52SA0003002010: from=root, size=412, class=0, nrcpts=1, msgid=<202503031000.52SA0003002010@mx1.example.com>, relay=root@localhost
Mar  3 10:00:04 mx1 sm-mta[2011]: 52SA0004002001: from=<root@mx1.example.com>, size=700, class=0, nrcpts=1, msgid=<202503031000.52SA0003002010@mx1.example.com>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]
Mar  3 10:00:04 mx1 sendmail[2010]: 52SA0003002010: to=root, ctladdr=root (0/0), delay=00:00:01, xdelay=00:00:01, mailer=relay, pri=30412, relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent (52SA0004002001 Message accepted for delivery)
Mar  3 10:00:05 mx1 sm-mta[2013]: 52SA0004002001: to=<ops@example.net>,<dev@example.net>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120412, relay=mx.example.net. [203.0.113.5], dsn=2.0.0, stat=Sent (52SB1234009876 Message accepted for delivery)
"""
    _, msgs = _run([_write(tmp_path, "maillog", log)])
    by_id = {m["queue_id"]: m for m in msgs}
    msp, mta = by_id["52SA0003002010"], by_id["52SA0004002001"]
    assert msp["origin"] == "local" and msp["status"] == "sent"
    assert mta["origin"] == "reinjected" and mta["parent"] == "52SA0003002010"
    assert mta["recipients"] == ["ops@example.net", "dev@example.net"]
    assert mta["delivered"] == 2 and mta["instance"] == "sendmail"


def test_exim_one_line_records_and_bounce(tmp_path: Path) -> None:
    log = """
2025-01-06 08:01:11 [2101] 1tUbK1-00000000Yx2-2AbC <= alice@example.net H=mail.example.net (helo.example.net) [198.51.100.7]:52344 I=[192.0.2.10]:25 P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S=4711 id=20250106080110.ABC123@example.net
2025-01-06 08:01:12 [2102] 1tUbK1-00000000Yx2-2AbC => carol@example.org R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.20]:25 C="250 2.0.0 OK"
2025-01-06 08:01:12 [2102] 1tUbK1-00000000Yx2-2AbC ** nobody@example.org R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.20]:25 : SMTP error from remote mail server after RCPT TO:<nobody@example.org>: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown
2025-01-06 08:01:13 [2103] 1tUbK9-00000000Yz7-3QrS <= <> R=1tUbK1-00000000Yx2-2AbC U=Debian-exim P=local S=2345
2025-01-06 08:01:13 [2102] 1tUbK1-00000000Yx2-2AbC Completed
2025-01-06 08:01:14 [2104] 1tUbK9-00000000Yz7-3QrS => alice@example.net R=dnslookup T=remote_smtp H=mail.example.net [198.51.100.7]:25 C="250 OK"
2025-01-06 08:01:14 [2104] 1tUbK9-00000000Yz7-3QrS Completed
"""
    _, msgs = _run([_write(tmp_path, "mainlog", log)], host="mx9")
    parent, bounce = msgs
    assert parent["host"] == "mx9" and parent["client_ip"] == "198.51.100.7"
    assert parent["tls_in"] is True and parent["size"] == 4711
    assert parent["delivered"] == 1 and parent["bounced"] == 1 and parent["status"] == "bounced"
    assert parent["recipients"] == ["carol@example.org", "nobody@example.org"]
    assert bounce["origin"] == "bounce" and bounce["parent"] == parent["queue_id"]
    assert bounce["sender"] == "" and bounce["status"] == "sent"
    # the bounce names its parent on its own line (R=) and, as Postfix's and Sendmail's
    # do, carries the parent's client: also where the mainlog names no host
    for host in ("mx9", None):
        _, (parent, bounce) = _run([_write(tmp_path, "mainlog", log)], host=host)
        assert parent["host"] == bounce["host"] == host
        assert (bounce["client_ip"], bounce["client_name"]) == ("198.51.100.7",
                                                                "mail.example.net")


# recordings/exim/run1-default/mainlog.gz (Debian's Exim 4.96): a message deferred at
# 13:19:03 and 13:19:46; the queue runs between passed it over (retry time not reached)
EXIM_RETRIES = """
2026-11-29 13:19:03 1xXeo3-00060B-1K <= bob@example.com H=(bob-desktop.example.com) [127.0.0.16] P=esmtpsa X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no A=LOGIN:bob S=511 id=20261129131903.023072@mx1.example.com
2026-11-29 13:19:03 1xXeo3-00060B-1K == busy@example.org R=remote_sink T=remote_smtp defer (-44) H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<busy@example.org>: 451 4.3.0 <busy@example.org>: Temporary lookup failure, try again later
2026-11-29 13:19:36 1xXeo3-00060B-1K == busy@example.org routing defer (-52): retry time not reached
2026-11-29 13:19:40 1xXeo3-00060B-1K == busy@example.org routing defer (-52): retry time not reached
2026-11-29 13:19:46 1xXeo3-00060B-1K == busy@example.org R=remote_sink T=remote_smtp defer (-44) H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<busy@example.org>: 451 4.3.0 <busy@example.org>: Temporary lookup failure, try again later
"""


def test_exim_addresses_passed_over_are_no_deferral_attempts(tmp_path: Path) -> None:
    """A queue runner skipping an address whose retry time has not come tried nothing:
    the message was deferred twice, not four times, and is still deferred."""
    events, (msg,) = _run([_write(tmp_path, "mainlog", EXIM_RETRIES)], year=None)
    assert (msg["status"], msg["deferred"], msg["recipients"]) == ("deferred", 2,
                                                                  ["busy@example.org"])
    skipped = [r for r in events.to_pylist() if r["event"] == "info"]
    assert [(r["recipient"], r["status"], r["reason"]) for r in skipped] == \
        [("busy@example.org", None, "retry time not reached")] * 2


def test_message_spanning_two_rotated_files_is_one_message(tmp_path: Path) -> None:
    lines = POSTFIX_FILTER.strip().splitlines()
    older = _write(tmp_path, "mail.log.1", "\n".join(lines[:6]) + "\n", 1_767_100_000)
    newer = _write(tmp_path, "mail.log", "\n".join(lines[6:]) + "\n", 1_767_100_100)
    # given in shell order; read in rotation order
    _, msgs = _run([newer, older], year=None)
    assert sorted(m["queue_id"] for m in msgs) == ["4A1B2C3D4E", "5B6C7D8E9F"]
    parent = next(m for m in msgs if m["queue_id"] == "4A1B2C3D4E")
    assert parent["status"] == "sent" and parent["client_ip"] == "198.51.100.7"
    assert parent["first_seen"].year == 2025


def _generated(tmp_path: Path, lines: int) -> Path:
    out = tmp_path / "generated.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    str(lines), "--out", str(out), "--quiet"], check=True)
    return out


@pytest.fixture(scope="module", params=["generated postfix", "sendmail recording",
                                        "exim recording"])
def generated_events(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """A busy generated Postfix log, and Debian's Sendmail (sessions without connect
    lines) and Exim (through syslog) recorded here."""
    if request.param == "generated postfix":
        path = _generated(tmp_path_factory.mktemp("gen"), 60_000)
    elif request.param == "sendmail recording":
        path = ROOT / "recordings/sendmail/run1-syslog/syslog-traditional.log.gz"
    else:
        path = ROOT / "recordings/exim/run1-default/syslog-traditional.log.gz"
    run = ParseRun([str(path)], default_parsers(), ParseOptions(tz="UTC", year=2026))
    return pa.concat_tables(list(run.events()))


def _messages_key(table: pa.Table) -> list[str]:
    order = [("host", "ascending"), ("queue_id", "ascending"), ("first_seen", "ascending")]
    return [str(r) for r in table.sort_by(order).to_pylist()]


@pytest.mark.parametrize("parts", [2, 5, 13])
def test_parts_read_apart_merge_to_the_sequential_result(generated_events: pa.Table,
                                                         parts: int) -> None:
    parsers = default_parsers()
    whole = Correlator(parsers)
    ev_all, msg_all = whole.process(generated_events)
    msg_all = pa.concat_tables([msg_all, whole.finish()])

    n = generated_events.num_rows
    cuts = [n * i // parts for i in range(parts + 1)]
    head = Correlator(parsers)
    first_events, first_msgs = head.process(generated_events.slice(0, cuts[1]))
    events, messages = [first_events], [first_msgs]
    for a, b in zip(cuts[1:-1], cuts[2:]):
        part = Correlator(parsers, known=False)
        part_events, part_msgs = part.process(generated_events.slice(a, b - a))
        patch, done = head.absorb(part.state, part.pending)
        events.append(patch.apply(part_events, 0))
        messages += [part_msgs, done]
    messages.append(head.finish())
    merged = pa.concat_tables(messages)
    assert merged.num_rows == msg_all.num_rows > 150
    assert _messages_key(merged) == _messages_key(msg_all)
    assert pa.concat_tables(events).column("session").to_pylist() == \
        ev_all.column("session").to_pylist()


def test_batch_boundaries_change_nothing(generated_events: pa.Table) -> None:
    parsers = default_parsers()
    whole = Correlator(parsers)
    _, msg_all = whole.process(generated_events)
    msg_all = pa.concat_tables([msg_all, whole.finish()])
    stepped = Correlator(parsers)
    pieces = [stepped.process(generated_events.slice(i, 3001))[1]
              for i in range(0, generated_events.num_rows, 3001)]
    pieces.append(stepped.finish())
    assert _messages_key(pa.concat_tables(pieces)) == _messages_key(msg_all)


def test_session_ids_of_unaccepted_transactions_are_not_messages(tmp_path: Path) -> None:
    """Sendmail names its session's envelope id on AUTH failures and 'did not issue MAIL'
    (lines from parsers/samples/sendmail.log); no message was ever accepted under it."""
    log = """
Mar  3 10:00:00 mx1 sm-mta[3001]: 623A0001003001: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=admin, relay=[203.0.113.45]
Mar  3 10:00:02 mx1 sm-mta[3001]: 623A0001003001: [203.0.113.45] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA
Mar  3 10:00:05 mx1 sm-mta[3002]: 623A0001003002: from=<ann@example.org>, size=1200, class=0, nrcpts=1, msgid=<a1@example.org>, proto=ESMTP, daemon=MTA, relay=mail.example.org [192.0.2.10]
Mar  3 10:00:06 mx1 sm-mta[3003]: 623A0001003002: to=<bob@example.com>, delay=00:00:01, xdelay=00:00:00, mailer=local, pri=31200, dsn=2.0.0, stat=Sent
"""
    events, msgs = _run([_write(tmp_path, "maillog", log)])
    assert [e for e in events.column("event").to_pylist()] == [
        "auth_failure", "protocol_error", "received", "delivery"]
    assert [(m["queue_id"], m["origin"]) for m in msgs] == [("623A0001003002", "smtp")]


def test_sendmail_refusals_before_the_from_line_are_its_message(tmp_path: Path) -> None:
    """Sendmail logs the recipients it refuses before the transaction's `from=` line
    (shape of fail2ban's logs/sendmail-reject, process 26254): one message, whose
    refusals count, not a message of refusals and another that begins at `from=`. A
    `from=` after a `from=` of the same id is still a new lifetime."""
    log = """
Nov  3 11:35:30 server sendmail[26254]: rA37ZTSC026254: <davaojk25@domain.com>... No such user here
Nov  3 11:35:30 server sendmail[26254]: rA37ZTSC026254: <anton@domain.com>... No such user here
Nov  3 11:35:31 server sendmail[26254]: rA37ZTSC026254: from=<davaojk25@domain.com>, size=0, class=0, nrcpts=0, bodytype=8BITMIME, proto=ESMTP, daemon=MTA, relay=163.23.32.95.dsl-dynamic.vsi.ru [95.32.23.163]
Nov  3 11:36:00 server sendmail[26299]: rA37ZTSC026299: from=<a@domain.com>, size=10, class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[192.0.2.4]
Nov  3 11:37:00 server sendmail[26299]: rA37ZTSC026299: from=<b@domain.com>, size=20, class=0, nrcpts=1, proto=ESMTP, daemon=MTA, relay=[192.0.2.5]
"""
    _, msgs = _run([_write(tmp_path, "maillog", log)])
    assert [(m["queue_id"], m["first_seen"].second, m["client_ip"], m["rejected"], m["sender"])
            for m in msgs] == [
        ("rA37ZTSC026254", 30, "95.32.23.163", 2, "davaojk25@domain.com"),
        ("rA37ZTSC026299", 0, "192.0.2.4", 0, "a@domain.com"),
        ("rA37ZTSC026299", 0, "192.0.2.5", 0, "b@domain.com"),
    ]


def test_a_sendmail_message_refused_at_the_end_of_data_is_one_rejected_message(
        tmp_path: Path) -> None:
    """A milter refusing the whole message after DATA: sendmail logs the refusal, who it
    would have gone to (logundelrcpts: `to=` with the refusal as stat=, no mailer=), then
    the transaction's `from=` (srvrsmtp.c, abortmessage). One message, rejected, from its
    client, never a delivery to bob (a delivery to another domain would have looked like
    relaying)."""
    log = """
Mar  3 10:07:01 mx1 sm-mta[2061]: 52SA0027002061: Milter: data, reject=554 5.7.1 Spam message rejected by SpamAssassin
Mar  3 10:07:01 mx1 sm-mta[2061]: 52SA0027002061: to=<bob@example.net>, delay=00:00:02, pri=30412, stat=Spam message rejected by SpamAssassin
Mar  3 10:07:01 mx1 sm-mta[2061]: 52SA0027002061: from=<spammer@example.biz>, size=2154, class=0, nrcpts=1, msgid=<x@example.biz>, proto=ESMTP, daemon=MTA, relay=spam.example.biz [203.0.113.9]
"""
    events, msgs = _run([_write(tmp_path, "maillog", log)])
    assert events.column("event").to_pylist() == ["reject", "info", "received"]
    assert [(m["status"], m["rejected"], m["delivered"], m["sender"], m["client_ip"])
            for m in msgs] == [("rejected", 1, 0, "spammer@example.biz", "203.0.113.9")]


def test_a_sendmail_quarantine_or_discard_before_the_from_line_is_its_message(
        tmp_path: Path) -> None:
    """check_eoh and milters decide before `from=` is logged (sendmail-reject-like
    shapes of parsers/samples/sendmail.log): one message each, with its sender."""
    log = """
Mar  3 10:06:08 mx1 sm-mta[2048]: 52SA0023002048: ruleset=check_eoh, arg1=12, arg2=3400, relay=host.example.net [198.51.100.9], quarantine=Too many recipients in header
Mar  3 10:06:08 mx1 sm-mta[2048]: 52SA0023002048: from=<a@example.net>, size=3400, class=0, nrcpts=12, msgid=<q@example.net>, proto=ESMTP, daemon=MTA, relay=host.example.net [198.51.100.9]
Mar  3 10:06:09 mx1 sm-mta[2063]: 52SA0029002063: Milter: data, discard
Mar  3 10:06:09 mx1 sm-mta[2063]: 52SA0029002063: from=<b@example.net>, size=900, class=0, nrcpts=1, msgid=<r@example.net>, proto=ESMTP, daemon=MTA, relay=host.example.net [198.51.100.9]
"""
    _, msgs = _run([_write(tmp_path, "maillog", log)])
    assert [(m["queue_id"], m["sender"]) for m in msgs] == [
        ("52SA0023002048", "a@example.net"), ("52SA0029002063", "b@example.net")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["reject", "received", "other"])),
                min_size=1, max_size=40))
def test_lifetimes_split_at_received_unless_refusals_alone_came_before(
        rows: list[tuple[bool, str]]) -> None:
    """The vectorized cut (`segment`) against the rule said one row at a time: a row
    that begins a key (or follows a removal, a gap) begins a lifetime; a `received` row
    does too, unless every row of the lifetime so far is a refusal."""
    hard = np.array([i == 0 or h for i, (h, _) in enumerate(rows)])
    events = [e for _, e in rows]
    want, only_refusals = [], True          # of the lifetime so far
    for i, event in enumerate(events):
        starts = bool(hard[i]) or (event == "received" and not only_refusals)
        want.append(starts)
        only_refusals = event == "reject" and (starts or only_refusals)
    received = np.array([e == "received" for e in events])
    refusal = np.array([e == "reject" for e in events])
    got = hard | (received & ~_after_refusals_only(hard | received, refusal))
    assert got.tolist() == want


SENDMAIL_EXPIRED = """
Mar 10 06:10:00 mx sm-mta[5000]: 62A6A0aa005000: from=<sue@example.com>, size=1200, class=0, nrcpts=1, msgid=<e1@example.com>, proto=ESMTPSA, daemon=MSA, relay=sue-pc.example.com [203.0.113.70]
Mar 10 06:10:05 mx sm-mta[5001]: 62A6A0aa005000: to=<y@slow.example>, ctladdr=<sue@example.com> (1006/1006), delay=00:00:05, xdelay=00:00:05, mailer=esmtp, pri=31200, relay=mx.slow.example. [192.0.2.30], dsn=4.0.0, stat=Deferred: Connection timed out with mx.slow.example.
Mar 10 13:00:00 mx sm-mta[5100]: 62A6A0aa005000: to=<y@slow.example>, ctladdr=<sue@example.com> (1006/1006), delay=06:50:00, xdelay=00:00:30, mailer=esmtp, pri=931200, relay=mx.slow.example. [192.0.2.30], dsn=4.4.7, stat=Deferred: Connection timed out with mx.slow.example.
Mar 10 13:00:00 mx sm-mta[5100]: 62A6A0aa005000: 62AD0000005100: return to sender: Cannot send message for 6 hours
Mar 10 13:00:00 mx sm-mta[5100]: 62AD0000005100: to=<sue@example.com>, delay=00:00:00, xdelay=00:00:00, mailer=local, pri=30000, dsn=2.0.0, stat=Sent
"""


def test_a_sendmail_message_returned_after_its_queue_lifetime_is_expired(
        tmp_path: Path) -> None:
    """`return to sender: Cannot send message for 6 hours` is Sendmail's Postfix
    `status=expired`: the message was left `deferred` (a Sendmail postmaster's review);
    the notice is still its bounce's parent."""
    _, msgs = _run([_write(tmp_path, "maillog", SENDMAIL_EXPIRED)])
    by_id = {m["queue_id"]: m for m in msgs}
    parent, notice = by_id["62A6A0aa005000"], by_id["62AD0000005100"]
    assert (parent["status"], parent["deferred"], parent["expired"]) == ("expired", 2, 1)
    assert (notice["parent"], notice["origin"], notice["status"]) == (
        "62A6A0aa005000", "bounce", "sent")
