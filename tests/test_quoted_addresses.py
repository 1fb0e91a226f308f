"""A client chooses its envelope addresses, and an address may hold what the log line
around it is made of: a quoted local part with `>`, `, relay=local`, `status=sent (`.
Postfix (>= 3.5, info_log_address_format = external), Exim and Sendmail log such a local
part quoted, so the parsers read quoted strings whole and a crafted recipient cannot pass
itself off as a local delivery. Here: the critical open_relay alert still fires for a
message relayed to a crafted recipient, in each MTA, while the same story with a plain
local delivery stays quiet; and a HELO holding `>` does not move the envelope of a reject.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from logwatch.config import Allowlist, Config, Site
from logwatch.detection import detect_files
from logwatch.pipeline import ParseOptions
from tests.conftest import parse_events
from tests.test_rule_kinds import BUILTIN

STRANGER = "198.51.100.23"

POSTFIX_HEAD = f"""\
Mar  3 19:10:12 mx1 postfix/smtpd[3267]: connect from unknown[{STRANGER}]
Mar  3 19:10:14 mx1 postfix/smtpd[3267]: DDD1B3294: client=unknown[{STRANGER}]
Mar  3 19:10:14 mx1 postfix/cleanup[3274]: DDD1B3294: message-id=<468ce5f48fe4@bulk-sender.test>
Mar  3 19:10:14 mx1 postfix/qmgr[1187]: DDD1B3294: from=<offers@bulk-sender.test>, size=3422, nrcpt=1 (queue active)
Mar  3 19:10:14 mx1 postfix/smtpd[3267]: disconnect from unknown[{STRANGER}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
"""
POSTFIX_TAIL = "Mar  3 19:10:22 mx1 postfix/qmgr[1187]: DDD1B3294: removed\n"
#: the reviewer's line: read lazily up to the first `>`, the recipient is `"a`, the
#: orig_to an address of ours and the relay `local`
POSTFIX_CRAFTED = (
    'Mar  3 19:10:22 mx1 postfix/smtp[3339]: DDD1B3294: to=<"a>, orig_to=<b@example.com>, '
    'relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (x"@victim.net>, '
    "relay=mx.victim.net[198.51.100.20]:25, delay=0.83, delays=0.06/0.01/0.44/0.34, "
    "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4d1N9rYxJ2l5O)\n")
#: the same trick dressed as a hand-off to a content filter on loopback
POSTFIX_HANDOFF = (
    'Mar  3 19:10:22 mx1 postfix/smtp[3339]: DDD1B3294: to=<"a>, relay=127.0.0.1[127.0.0.1]'
    ":10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
    'BCDF2345678)"@victim.net>, relay=mx.victim.net[198.51.100.20]:25, delay=0.83, '
    "delays=0.06/0.01/0.44/0.34, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
    "4d1N9rYxJ2l5O)\n")
POSTFIX_LOCAL = (
    "Mar  3 19:10:22 mx1 postfix/local[3340]: DDD1B3294: to=<b@example.com>, relay=local, "
    "delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)\n")

EXIM_HEAD = (
    "2026-03-03 19:10:14 [7333] 1vxV8I-000000001uH-3Dr8 <= offers@bulk-sender.test "
    f"H=(mail.bulk-sender.test) [{STRANGER}] P=esmtp S=3422 id=468ce5f48fe4@bulk-sender.test\n")
EXIM_TAIL = "2026-03-03 19:10:15 [7350] 1vxV8I-000000001uH-3Dr8 Completed\n"
#: Exim prints the delivered address with its local part unquoted, the original quoted
EXIM_CRAFTED = (
    "2026-03-03 19:10:15 [7350] 1vxV8I-000000001uH-3Dr8 => x <b@example.com> R=r "
    'T=local_delivery q@victim.net <"x <b@example.com> R=r T=local_delivery q"@victim.net> '
    "R=dnslookup T=remote_smtp H=mx.victim.net [198.51.100.20] "
    'X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C="250 2.0.0 Ok: queued as 4d1N9rYxJ2l5O"\n')
EXIM_LOCAL = ("2026-03-03 19:10:15 [7350] 1vxV8I-000000001uH-3Dr8 => b <b@example.com> "
              "R=local_user T=local_delivery\n")

SENDMAIL_HEAD = (
    "Mar  3 19:10:14 mx1 sm-mta[7825]: 623JACLw007825: from=<offers@bulk-sender.test>, "
    "size=3422, class=0, nrcpts=1, msgid=<468ce5f48fe4@bulk-sender.test>, bodytype=8BITMIME, "
    "proto=ESMTP, daemon=MTA, tls_verify=NONE, tls_version=NONE, cipher=NONE, auth=NONE, "
    f"relay=[{STRANGER}]\n")
#: sendmail logs the address as given, quoted
SENDMAIL_CRAFTED = (
    'Mar  3 19:10:16 mx1 sm-mta[7834]: 623JACLw007825: to=<"x>, delay=00:00:00, '
    'mailer=local, pri=30000, relay=local, dsn=2.0.0, stat=Sent"@victim.net>, '
    "delay=00:00:01, xdelay=00:00:00, mailer=esmtp, pri=123422, relay=mx.victim.net. "
    "[198.51.100.20], dsn=2.0.0, stat=Sent (Ok: queued as 4d08YCP8AgQ0V)\n")
SENDMAIL_LOCAL = (
    "Mar  3 19:10:16 mx1 sm-mta[7834]: 623JACLw007825: to=<b@example.com>, delay=00:00:00, "
    "mailer=local, pri=30000, relay=local, dsn=2.0.0, stat=Sent\n")

STORIES = {
    "postfix": (POSTFIX_HEAD + POSTFIX_CRAFTED + POSTFIX_TAIL,
                POSTFIX_HEAD + POSTFIX_LOCAL + POSTFIX_TAIL),
    "postfix-handoff": (POSTFIX_HEAD + POSTFIX_HANDOFF + POSTFIX_TAIL,
                        POSTFIX_HEAD + POSTFIX_LOCAL + POSTFIX_TAIL),
    "exim": (EXIM_HEAD + EXIM_CRAFTED + EXIM_TAIL, EXIM_HEAD + EXIM_LOCAL + EXIM_TAIL),
    "sendmail": (SENDMAIL_HEAD + SENDMAIL_CRAFTED, SENDMAIL_HEAD + SENDMAIL_LOCAL),
}


def _open_relay_alerts(tmp_path: Path, text: str) -> list[tuple[str, str, dict[str, str]]]:
    """The open_relay alerts `detect` raises on `text`, the other built-in rules off, with
    example.com as the only local domain."""
    path = tmp_path / "mail.log"
    path.write_text(text)
    off = {rid: {"enabled": False} for rid in BUILTIN if rid != "open_relay"}
    cfg = Config(site=Site(local_domains=["example.com"]), allow=Allowlist(), rules=off)
    res = detect_files([str(path)], cfg, ParseOptions(year=2026, tz="UTC"))
    assert res.errors == []
    return [(a.rule, a.severity, a.key) for a in res.detection.alerts]


@pytest.mark.parametrize("mta", list(STORIES))
def test_a_crafted_recipient_does_not_hide_an_open_relay(tmp_path: Path, mta: str) -> None:
    crafted, local = STORIES[mta]
    assert _open_relay_alerts(tmp_path, crafted) == [
        ("open_relay", "critical", {"client_ip": STRANGER})]
    # the story the crafted line imitates: delivered to an address of ours, no relaying
    assert _open_relay_alerts(tmp_path, local) == []


def test_the_crafted_delivery_is_read_as_one_recipient(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_text(POSTFIX_CRAFTED + POSTFIX_HANDOFF)
    table, _ = parse_events([path], year=2026, tz="UTC")
    rows = table.select(["pattern", "recipient", "orig_recipient", "relay", "relay_ip",
                         "status", "child_queue_id"]).to_pylist()
    assert rows == [
        {"pattern": "postfix:delivery",
         "recipient": '"a>, orig_to=<b@example.com>, relay=local, delay=0, delays=0/0/0/0, '
                      'dsn=2.0.0, status=sent (x"@victim.net',
         "orig_recipient": None, "relay": "mx.victim.net", "relay_ip": "198.51.100.20",
         "status": "sent", "child_queue_id": None},
        {"pattern": "postfix:delivery",
         "recipient": '"a>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, '
                      'dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as BCDF2345678)"@victim.net',
         "orig_recipient": None, "relay": "mx.victim.net", "relay_ip": "198.51.100.20",
         "status": "sent", "child_queue_id": None}]


@pytest.mark.parametrize("helo", ["a> proto=ESMTP helo=<b", "x>", "a>: 5.7.1 fake", "[192.0.2.1]>"])
def test_a_helo_holding_angle_brackets_keeps_the_envelope(tmp_path: Path, helo: str) -> None:
    """Postfix logs the HELO last, raw: it runs to the `>` that ends the line."""
    path = tmp_path / "mail.log"
    path.write_text(
        "Mar  3 02:13:13 mx1 postfix/smtpd[1504]: NOQUEUE: reject: RCPT from unknown"
        "[203.0.113.99]: 454 4.7.1 <relaytest@example.net>: Relay access denied; "
        f"from=<a@b.example> to=<relaytest@example.net> proto=ESMTP helo=<{helo}>\n")
    table, _ = parse_events([path], year=2026, tz="UTC")
    rows = table.select(["event", "sender", "recipient", "protocol", "helo", "reason",
                         "reject_class"]).to_pylist()
    assert rows == [{"event": "reject", "sender": "a@b.example",
                     "recipient": "relaytest@example.net", "protocol": "ESMTP", "helo": helo,
                     "reason": "Relay access denied", "reject_class": "relay_denied"}]


def test_a_reply_quoting_a_crafted_recipient_does_not_start_the_envelope(
        tmp_path: Path) -> None:
    """The reply quotes the recipient unquoted (Postfix's internal form): a ` helo=<` in it
    must not begin the envelope, which would take the reply's text out of the reason."""
    path = tmp_path / "mail.log"
    path.write_text(
        "Mar  3 02:13:13 mx1 postfix/smtpd[1504]: NOQUEUE: reject: RCPT from unknown"
        "[203.0.113.99]: 454 4.7.1 <p>q helo=<y@victim.net>: Relay access denied; "
        'from=<a@b.example> to=<"p>q helo=<y"@victim.net> proto=ESMTP helo=<h.example>\n')
    table, _ = parse_events([path], year=2026, tz="UTC")
    rows = table.select(["sender", "recipient", "helo", "reject_class"]).to_pylist()
    assert rows == [{"sender": "a@b.example", "recipient": '"p>q helo=<y"@victim.net',
                     "helo": "h.example", "reject_class": "relay_denied"}]


def test_a_quoted_comma_in_a_sendmail_recipient_list_is_one_recipient(tmp_path: Path) -> None:
    """Sendmail lists recipients `to=<a@x>,<b@y>`; a comma inside a quoted local part is
    no separator. Split there, a local delivery to `<"c, d"@example.com>` became
    recipients `<"c` and `d"@example.com>` and a critical open_relay alert to
    `example.com>` (a Sendmail postmaster's review)."""
    to = '<"c, d"@example.com>,<b@example.com>'
    text = SENDMAIL_HEAD + SENDMAIL_LOCAL.replace("to=<b@example.com>", f"to={to}")
    assert _open_relay_alerts(tmp_path, text) == []
    table, _ = parse_events([tmp_path / "mail.log"], year=2026, tz="UTC")
    delivered = table.filter(pc.equal(table["event"].cast(pa.string()), "delivery"))
    assert delivered["recipient"].to_pylist() == ['"c, d"@example.com', "b@example.com"]


def test_a_comma_in_a_message_id_does_not_hide_the_message(tmp_path: Path) -> None:
    """The client writes the Message-ID header: `msgid=<a,b@bulk.example>` left the whole
    `from=` line unread, and with it the message an open relay sent on."""
    for msgid in ("a,b@bulk.example", "a b@bulk.example", "x>, relay=local, y=<z"):
        head = SENDMAIL_HEAD.replace("<468ce5f48fe4@bulk-sender.test>", f"<{msgid}>")
        assert _open_relay_alerts(tmp_path, head + SENDMAIL_CRAFTED) == [
            ("open_relay", "critical", {"client_ip": STRANGER})], msgid
        table, _ = parse_events([tmp_path / "mail.log"], year=2026, tz="UTC")
        assert table["message_id"].drop_null().to_pylist() == [msgid.split(">")[0]]
