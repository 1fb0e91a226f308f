#!/usr/bin/python3
"""Scenario driver for recordings/record_amavis.sh: messages handed to amavisd-new over
SMTP on loopback, as Postfix's content-filter client hands them over.

Postfix's `smtp-amavis` client says who the message came from with XFORWARD (client
address, HELO, and IDENT, its queue id) and puts its own Received line on top; this
driver does the same from the scenario's address, so that amavis logs what it logs behind
a real Postfix (`[127.0.0.10]:41234 [...] ... Queue-ID: 4B1C2D3E4F`). It writes down what
was sent (port, client, queue id, sender, recipients, Message-ID, what the content holds,
amavis's reply), so that the tests check the parsed logs against what happened.

  drive_amavis.py drive --run run1-loglevel0 --out RUN.json
  drive_amavis.py merge --into recordings/amavis/scenarios.json --version V \
      --debian 12.11 --recordings recordings RUN1.json RUN2.json

Python's standard library only (Debian's /usr/bin/python3).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import smtplib
import sys

import truth  # recordings/truth.py, beside this script
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

SERVER = "127.0.0.1"
INBOUND, ORIGINATING = 10024, 10026     # amavis's two listeners (conf/amavis/50-user)
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# a sender and a recipient whose quoted local parts look like the rest of a verdict line
HOSTILE_SENDER = '"x> -> <victim@example.com>, Queue-ID: FAKE1, size: 1"@evil.example.org'
HOSTILE_RCPT = '"bob>,<mallory@example.net> -> <y"@example.com'
_QUEUE_IDS = itertools.count(0x4B1C2D3E40)


def now() -> str:
    """UTC, as the recorded RFC 3339 stamps are."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def log(msg: str) -> None:
    print(f"[drive {datetime.datetime.now():%H:%M:%S}] {msg}", flush=True)


def message(sender: str, rcpts: list[str], subject: str, body: str,
            attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    """A plain message as a mail client writes it, with an optional attachment."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(rcpts)
    m["Subject"] = subject
    m["Date"] = format_datetime(datetime.datetime.now(datetime.timezone.utc))
    m["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip('"'))
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1], maintype="application", subtype="octet-stream",
                         filename=attachment[0])
    return m


def send(port: int, client_ip: str, helo: str, sender: str, rcpts: list[str],
         msg: EmailMessage, raw_headers: bytes = b"") -> dict[str, Any]:
    """Hand one message to amavis as Postfix would: XFORWARD, its Received line, DATA.

    `raw_headers` go in front of the message's own (bytes no mail library would write:
    a header with 8-bit text)."""
    queue_id = f"{next(_QUEUE_IDS):X}"
    received = (f"Received: from {helo} (unknown [{client_ip}])\r\n"
                f"\tby mx1.example.com (Postfix) with ESMTP id {queue_id}\r\n"
                f"\tfor <{rcpts[0]}>; "
                f"{format_datetime(datetime.datetime.now(datetime.timezone.utc))}\r\n")
    data = received.encode() + raw_headers + msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    sent = {"time": now(), "port": port, "client_ip": client_ip, "helo": helo,
            "queue_id": queue_id, "sender": sender, "recipients": rcpts,
            "message_id": msg["Message-ID"], "subject": msg["Subject"]}
    with smtplib.SMTP(SERVER, port, local_hostname="mx1.example.com", timeout=120) as s:
        s.ehlo()
        code, reply = s.docmd("XFORWARD", f"NAME=unknown ADDR={client_ip} PORT=41234 "
                                          f"PROTO=ESMTP HELO={helo}")
        code, reply = s.docmd("XFORWARD", f"IDENT={queue_id} SOURCE=REMOTE")
        s.mail(f"<{sender}>" if sender.startswith('"') else sender)
        for r in rcpts:
            s.rcpt(f"<{r}>" if r.startswith('"') else r)
        code, reply = s.data(data)
    sent["reply"] = f"{code} {reply.decode(errors='replace')}"
    log(f"  {queue_id} {sender} -> {len(rcpts)} rcpt(s): {sent['reply']}")
    return sent


def scenarios() -> list[dict[str, Any]]:
    """Every scenario once, in order; `expect` is the verdict line(s) amavis should log."""
    done: list[dict[str, Any]] = []

    def scenario(name: str, description: str, expect: list[str],
                 *messages: tuple[Any, ...]) -> None:
        log(f"scenario {name}: {description}")
        sent = [send(*m) for m in messages]
        done.append({"name": name, "description": description, "expect": expect,
                     "messages": sent})

    hello = "Hello,\n\nthe minutes of Tuesday's meeting are below.\n\nRegards\n"
    inbound = [("newsletter@example.net", "127.0.0.10", "mail.example.net", ["alice@example.com"]),
               ("billing@example.net", "127.0.0.11", "out1.example.net", ["bob@example.com"]),
               ("friend@example.org", "127.0.0.12", "smtp.example.org", ["carol@example.com"])]
    scenario("clean_inbound", "3 ordinary messages from 3 outside clients, one recipient each",
             ["Passed CLEAN {RelayedInbound} x3"],
             *[(INBOUND, ip, helo, s, r, message(s, r, "Meeting minutes", hello))
               for s, ip, helo, r in inbound])
    rcpts3 = ["alice@example.com", "bob@example.com", "carol@example.com"]
    scenario("clean_several_recipients", "one message from 127.0.0.13 to alice, bob and carol",
             ["Passed CLEAN {RelayedInbound}, 3 recipients on one line"],
             (INBOUND, "127.0.0.13", "mx.example.org", "jane@example.org", rcpts3,
              message("jane@example.org", rcpts3, "Team lunch", hello)))
    rcpts40 = [f"list{i:02d}@example.com" for i in range(40)]
    scenario("clean_long_recipient_list",
             "one message from 127.0.0.14 to 40 recipients: the verdict line is longer than "
             "amavis's $logline_maxlen (980) and is logged in pieces ('...')",
             ["Passed CLEAN {RelayedInbound}, split over several syslog lines"],
             (INBOUND, "127.0.0.14", "relay.example.net", "ops@example.net", rcpts40,
              message("ops@example.net", rcpts40, "Maintenance window", hello)))
    scenario("spam_inbound", "GTUBE from 127.0.0.20 to alice",
             ["Blocked SPAM {DiscardedInbound,Quarantined}"],
             (INBOUND, "127.0.0.20", "bulk.example.org", "winner@spam.example.org",
              ["alice@example.com"],
              message("winner@spam.example.org", ["alice@example.com"], "You won",
                      f"Claim your prize.\n\n{GTUBE}\n")))
    scenario("spam_mixed_recipients",
             "GTUBE from 127.0.0.21 to alice and carol (a spam lover): blocked for alice, "
             "passed for carol, one line each",
             ["Blocked SPAM -> alice", "Passed SPAM -> carol"],
             (INBOUND, "127.0.0.21", "bulk2.example.org", "deals@spam.example.org",
              ["alice@example.com", "carol@example.com"],
              message("deals@spam.example.org", ["alice@example.com", "carol@example.com"],
                      "Deals", f"Cheap.\n\n{GTUBE}\n")))
    scenario("spammy_inbound",
             "from offers@promo.example.org (Debian's soft blacklist: +5.0) from 127.0.0.22 "
             "to bob: above tag2 (4.0), below kill (6.31)",
             ["Passed SPAMMY {RelayedTaggedInbound}"],
             (INBOUND, "127.0.0.22", "promo.example.org", "offers@promo.example.org",
              ["bob@example.com"],
              message("offers@promo.example.org", ["bob@example.com"], "Our offers",
                      "This month's offers are on our site.\n")))
    scenario("banned_inbound", "an attachment named invoice.pdf.exe from 127.0.0.23 to bob",
             ["Blocked BANNED (.exe,...) {DiscardedInbound,Quarantined}"],
             (INBOUND, "127.0.0.23", "mail.example.net", "accounts@example.net",
              ["bob@example.com"],
              message("accounts@example.net", ["bob@example.com"], "Invoice",
                      "Please find the invoice attached.\n",
                      ("invoice.pdf.exe", b"MZ\x90\x00" + bytes(200)))))
    scenario("virus_inbound", "the EICAR test file attached, from 127.0.0.24 to carol",
             ["Blocked INFECTED (Win.Test.EICAR_HDB-1) {DiscardedInbound,Quarantined}"],
             (INBOUND, "127.0.0.24", "mail.example.net", "it@example.net",
              ["carol@example.com"],
              message("it@example.net", ["carol@example.com"], "Test file",
                      "Attached.\n", ("eicar.com", EICAR.encode()))))
    bad = message("news@example.net", ["alice@example.com"], "Weekly news", hello)
    scenario("bad_header", "a header with unencoded 8-bit text, from 127.0.0.25 to alice",
             ["Passed BAD-HEADER-N {RelayedInbound}"],
             (INBOUND, "127.0.0.25", "news.example.net", "news@example.net",
              ["alice@example.com"], bad, "X-Note: caf\xe9 cr\xe8me\r\n".encode("latin-1")))
    scenario("hostile_addresses",
             "from 127.0.0.26, a sender and a recipient whose quoted local parts look like "
             "the rest of a verdict line",
             ["Passed CLEAN {RelayedInbound}, addresses quoted"],
             (INBOUND, "127.0.0.26", "evil.example.org", HOSTILE_SENDER,
              [HOSTILE_RCPT, "alice@example.com"],
              message("mallory@evil.example.org", ["alice@example.com"], "Hello", hello)))
    scenario("outbound_clean",
             "alice from 127.0.0.81 through the ORIGINATING port (10026) to partner@example.org "
             "and, internal, to bob",
             ["Passed CLEAN {RelayedOutbound}", "Passed CLEAN {RelayedInternal}"],
             (ORIGINATING, "127.0.0.81", "alice-laptop.example.com", "alice@example.com",
              ["partner@example.org"],
              message("alice@example.com", ["partner@example.org"], "Proposal", hello)),
             (ORIGINATING, "127.0.0.81", "alice-laptop.example.com", "alice@example.com",
              ["bob@example.com"],
              message("alice@example.com", ["bob@example.com"], "Lunch?", hello)))
    scenario("outbound_spam",
             "GTUBE from bob@example.com on 127.0.0.82 (in @mynetworks: MYNETS) through port "
             "10024 to two outside recipients: a compromised account",
             ["Blocked SPAM {DiscardedOutbound,Quarantined}"],
             (INBOUND, "127.0.0.82", "bob-pc.example.com", "bob@example.com",
              ["contact1@example.net", "contact2@example.org"],
              message("bob@example.com", ["contact1@example.net", "contact2@example.org"],
                      "Cheap", f"Buy now.\n\n{GTUBE}\n")))
    scenario("outbound_virus",
             "the EICAR test file from carol on 127.0.0.83 through the ORIGINATING port to "
             "partner@example.org: an infected host",
             ["Blocked INFECTED (Win.Test.EICAR_HDB-1) {DiscardedOutbound,Quarantined}"],
             (ORIGINATING, "127.0.0.83", "carol-pc.example.com", "carol@example.com",
              ["partner@example.org"],
              message("carol@example.com", ["partner@example.org"], "Document",
                      "See attachment.\n", ("document.com", EICAR.encode()))))
    return done


def about(args: argparse.Namespace) -> dict[str, Any]:
    """What heads the ground-truth file of the runs."""
    return {
        "description": "What recordings/record_amavis.sh really did while the logs under "
                       "recordings/amavis/<run>/ were written: per scenario, every message "
                       "handed to amavisd-new (port, XFORWARD client address and queue id, "
                       "envelope sender and recipients, Message-ID, amavis's reply) and the "
                       "verdict lines it was meant to cause. Times are UTC.",
        "versions": args.version,
        "debian_version": args.debian,
        "ports": {"inbound": INBOUND, "originating": ORIGINATING, "next_hop_sink": 2525},
    }


if __name__ == "__main__":
    sys.exit(truth.main(__doc__.splitlines()[0], "amavis", ("--log-level", {"type": int}),
                        scenarios, about))
