#!/usr/bin/env python3
"""Generate sample_logs/: one day of a small mail server, told by Postfix, Exim and Sendmail.

    python sample_logs/make.py [--out DIR]        (default: the directory of this file)

One story (see README.md): ordinary traffic over 2026-03-03 (UTC) on mx1.example.com, with
eight planted incidents. The story is built once as a plan of scenes with concrete
addresses, times, sizes and message ids; each MTA renderer turns the same plan into the
lines that MTA writes, with its own process ids and queue ids. The line shapes are those
of parsers/samples/*.log (the shapes our parsers are tested on), which are real lines or
follow the MTAs' sources.

Deterministic: everything comes from random.Random(SEED) and from SHA-256 of fixed text
(never hash(), sets, the clock or the locale); gzip headers carry fixed times. The same
command writes the same bytes on every run. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.generate import fmt_tv as postfix_tv  # noqa: E402

SEED = 20260303
DAY0 = datetime(2026, 3, 3, tzinfo=timezone.utc)
T0 = int(DAY0.timestamp()) * 1_000_000          # 2026-03-03T00:00:00Z in microseconds
SEC = 1_000_000
MIN = 60 * SEC

HOST = "mx1"
FQDN = "mx1.example.com"
SERVER_IP = "192.0.2.25"
LOCAL_DOMAIN = "example.com"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B60 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"

# Rotation of the Postfix mail.log (hourly logrotate with maxsize: two rotations this day)
ROTATE_AT = (T0 + 6 * 3600 * SEC + 17 * MIN + 1 * SEC,      # 06:17:01
             T0 + 16 * 3600 * SEC + 17 * MIN + 1 * SEC)     # 16:17:01


def at(hh: int, mm: int, ss: int = 0, us: int = 0) -> int:
    """Microseconds since the epoch of hh:mm:ss on the story's day."""
    return T0 + ((hh * 60 + mm) * 60 + ss) * SEC + us


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def dnum(*parts: object) -> int:
    return int(digest(*parts)[:15], 16)


def b62(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out


def utc(t_us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=t_us)


# ---------------------------------------------------------------------------------------
# The plan: who talks to whom, when
# ---------------------------------------------------------------------------------------

@dataclass
class Client:
    name: str          # reverse DNS name, "unknown" when there is none
    ip: str
    helo: str

    @property
    def v6(self) -> bool:
        return ":" in self.ip


@dataclass
class Msg:
    t: int                         # when the client finished sending it (µs)
    sender: str
    rcpts: list[str]
    size: int
    msgid: str                     # header Message-ID, without brackets
    outcome: str = "sent"          # sent | bounced | deferred (then sent on the last retry)
    retries: list[int] = field(default_factory=list)


@dataclass
class Scene:
    kind: str
    t: int
    client: Client | None = None
    user: str | None = None        # SMTP AUTH user
    mech: str = "PLAIN"
    msgs: list[Msg] = field(default_factory=list)
    tls: bool = True
    users: list[tuple[int, str]] = field(default_factory=list)     # auth failures
    sender: str = ""               # envelope sender of rejected transactions
    rcpts: list[tuple[int, str]] = field(default_factory=list)     # rejected recipients
    screen: str = "old"            # postscreen: old | new | allow
    note: str = ""
    idx: int = 0


# Remote mail exchangers: domain -> (MX host, address, the receiving software's reply)
MX = {
    "example.org": ("mx.example.org", "198.51.100.20", "postfix"),
    "example.net": ("mx.example.net", "203.0.113.5", "exim"),
    "partner.test": ("mail.partner.test", "203.0.113.61", "postfix"),
    "slow.example.net": ("mx.slow.example.net", "203.0.113.80", "postfix"),
    "supplier.example.net": ("mx.supplier.example.net", "198.51.100.88", "sendmail"),
}
SPIKE_WORDS = (
    "acme", "globex", "initech", "umbrella", "hooli", "vandelay", "wayne", "stark",
    "wonka", "tyrell", "cyberdyne", "soylent", "aperture", "oscorp", "dunder", "northwind",
    "contoso", "fabrikam", "tailspin", "wingtip", "litware", "proseware", "lucerne",
    "blueyonder", "margie", "adatum", "alpine", "coho", "woodgrove", "humongous",
    "relecloud", "munson", "bellows", "zenith", "halcyon", "pinnacle", "meridian",
    "keystone", "redwood", "bluebird",
)
SPIKE_DOMAINS = [f"{w}.test" for w in SPIKE_WORDS]
for i, d in enumerate(SPIKE_DOMAINS):
    net = "198.51.100" if i % 2 == 0 else "203.0.113"
    MX[d] = (f"mx.{d}", f"{net}.{100 + i // 2}",
             "gmail" if i % 10 == 3 else "sendmail" if i % 10 == 7 else ("postfix", "exim")[i % 2])

FIRST = ("anna", "ben", "clara", "dan", "eva", "finn", "greta", "hugo", "ines", "jonas",
         "karl", "lena", "max", "nina", "otto", "pia", "ralf", "sara", "tom", "uwe", "vera",
         "will", "yann", "zoe", "amir", "bianca", "cedric", "dora", "elias", "fatima")
LAST = ("smith", "jones", "miller", "brown", "meyer", "garcia", "martin", "rossi", "novak",
        "nguyen", "tanaka", "silva", "olsen", "berg", "dubois", "weber")

# The people and machines of the story
ALICE_HOME = Client("198-51-100-14.dsl.example.net", "198.51.100.14", "alice-laptop")
BOB_OFFICE = Client("unknown", "203.0.113.33", "bob-pc")
CAROL_HOME = Client("unknown", "198.51.100.31", "carol-mbp")
DAVE_WS = Client("unknown", "2001:db8:1::44", "dave-ws")
WEBMAIL = Client("webmail.example.com", "192.0.2.10", "webmail.example.com")
LISTS = Client("mx.lists.example.net", "198.51.100.40", "mx.lists.example.net")
FRIEND = Client("mail.example.net", "198.51.100.7", "mail.example.net")
ORG = Client("smtp-out.example.org", "203.0.113.15", "smtp-out.example.org")
ORG6 = Client("mail6.example.org", "2001:db8:25:1::15", "mail6.example.org")
PARTNER = Client("mail.partner.test", "203.0.113.61", "mail.partner.test")
OLDHOST = Client("smtp.oldhost.example.net", "198.51.100.9", "smtp.oldhost.example.net")
SPAMMER = Client("unknown", "203.0.113.150", "mail.promo-blast.test")
# the incidents
BURST = Client("unknown", "203.0.113.45", "User")
SPRAY = Client("unknown", "198.51.100.77", "WIN-3KJ4H2L1M0")
CRACKER = Client("unknown", "192.0.2.200", "ylmf-pc")
PROBE = Client("unknown", "203.0.113.99", "relaycheck.test")
RELAY_ABUSER = Client("unknown", "198.51.100.23", "mail.bulk-sender.test")
ALICE_STOLEN = Client("unknown", "2001:db8:7c::25", "localhost")
HARVESTER = Client("unknown", "192.0.2.150", "harvest.test")

HARVEST_GUESSES = ("admin", "sales", "info", "jobs", "office", "accounts", "marketing",
                   "support", "team", "press", "finance", "legal")
SPRAY_USERS = ("info", "sales", "support", "office", "test", "webmaster", "postmaster",
               "contact", "hr", "billing", "marketing", "jobs", "noreply", "backup", "user")


class Planner:
    def __init__(self) -> None:
        self.rnd = random.Random(SEED)
        self.scenes: list[Scene] = []

    def r(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi], from the seeded generator (random() only)."""
        return lo + int(self.rnd.random() * (hi - lo + 1))

    def us(self) -> int:
        """Microseconds of jitter: nothing in a log happens on the second."""
        return self.r(0, 999_999)

    def msgid(self, t: int, domain: str, style: str = "mua") -> str:
        stamp = utc(t).strftime("%Y%m%d%H%M%S")
        if style == "list":
            return f"{stamp}.{self.r(100000, 999999)}@lists.example.net"
        if style == "script":
            return f"{digest('spike', t)[:12]}@{domain}"
        return f"{digest('mid', t, domain)[:8]}-{digest('mid2', t)[:4]}-{stamp}@{domain}"

    def add(self, sc: Scene) -> Scene:
        if sc.t % SEC == 0:
            sc.t += self.us()
        self.scenes.append(sc)
        return sc

    def inbound(self, t: int, client: Client, sender: str, rcpts: list[str], tls: bool = True,
                screen: str = "old", style: str = "mua") -> None:
        dom = sender.split("@", 1)[1]
        m = Msg(t + self.r(1, 3) * SEC + self.us(), sender, rcpts, self.r(2500, 48000),
                self.msgid(t, dom, style))
        self.add(Scene("inbound", t, client, tls=tls, screen=screen, msgs=[m]))

    def submission(self, t: int, client: Client, user: str, sends: list[tuple[str, list[str]]],
                   mech: str = "PLAIN", gap: int = 0, note: str = "",
                   outcome: str = "sent", retries: list[int] | None = None) -> Scene:
        msgs = []
        tm = t + self.r(2, 5) * SEC + self.us()
        for sender, rcpts in sends:
            msgs.append(Msg(tm, sender, rcpts, self.r(1800, 24000),
                            self.msgid(tm, sender.split("@", 1)[1]), outcome,
                            list(retries or [])))
            tm += gap or self.r(20, 40) * SEC
        return self.add(Scene("submission", t, client, user=user, mech=mech, msgs=msgs, note=note))

    def build(self) -> list[Scene]:
        a = "@" + LOCAL_DOMAIN
        # -- ordinary inbound mail (port 25, postscreen, content filter for Postfix)
        self.inbound(at(1, 12, 33), LISTS, "news@lists.example.net", ["alice" + a], style="list")
        self.inbound(at(7, 48, 2), FRIEND, "friend@example.net", ["alice" + a], screen="new")
        self.inbound(at(8, 31, 40), PARTNER, "ops@partner.test", ["bob" + a, "carol" + a])
        self.inbound(at(9, 15, 5), ORG, "jane@example.org", ["carol" + a])
        self.inbound(at(10, 2, 44), ORG6, "jane@example.org", ["dave" + a])
        self.inbound(at(12, 47, 31), OLDHOST, "paul@oldhost.example.net", ["carol" + a],
                     tls=False, screen="new")
        self.inbound(at(14, 22, 10), LISTS, "news@lists.example.net", ["carol" + a, "dave" + a],
                     style="list")
        self.inbound(at(17, 5, 45), ORG, "jane@example.org", ["alice" + a])
        self.inbound(at(22, 3, 30), FRIEND, "friend@example.net", ["dave" + a])
        # -- ordinary outbound mail of the four users (submission, SMTP AUTH)
        self.submission(at(8, 14, 22), ALICE_HOME, "alice", [("alice" + a, ["friend@example.net"])])
        self.submission(at(14, 5, 50), ALICE_HOME, "alice", [("alice" + a, ["bob" + a])])
        self.submission(at(9, 2, 11), BOB_OFFICE, "bob", [("bob" + a, ["ops@partner.test"])])
        self.submission(at(10, 45, 0), CAROL_HOME, "carol", [("carol" + a, ["jane@example.org"])])
        self.submission(at(9, 40, 30), DAVE_WS, "dave", [("dave" + a, ["ops@partner.test"])])
        # one bounce (and its non-delivery notice to dave)
        self.submission(at(11, 5, 14), DAVE_WS, "dave", [("dave" + a, ["nobody@example.org"])],
                        outcome="bounced")
        # one remote domain deferred, delivered later (spans mail.log.1 and mail.log)
        self.submission(at(15, 52, 10), BOB_OFFICE, "bob", [("bob" + a, ["ops@slow.example.net"])],
                        outcome="deferred",
                        retries=[at(16, 2, 40) + self.us(), at(16, 32, 40) + self.us()])
        # -- webmail on the trusted host, no AUTH
        for t, who, to in ((at(10, 20, 0), "carol", "friend@example.net"),
                           (at(16, 45, 0), "alice", "jane@example.org")):
            m = Msg(t + 1 * SEC + self.us(), who + a, [to], self.r(2000, 9000),
                    f"{digest('webmail', t)[:32]}@webmail.example.com")
            self.add(Scene("webmail", t, WEBMAIL, tls=False, screen="allow", msgs=[m]))
        # -- cron mail to root (delivered to dave, the admin)
        for t in (at(6, 25, 3) + self.us(), at(18, 0, 2) + self.us()):
            self.add(Scene("cron", t, msgs=[Msg(t, "root", ["root"], self.r(600, 3000), "")]))
        # -- background: spam rejected at end of data, a mistyped address, scanners
        self.add(Scene("spam", at(21, 12, 40), SPAMMER, sender="deals@promo-blast.test",
                       rcpts=[(0, "carol" + a)], screen="new"))
        self.add(Scene("unknown_rcpt", at(22, 31, 5), FRIEND, sender="friend@example.net",
                       rcpts=[(0, "bobby" + a)]))
        for t, ip, kind in ((at(0, 41, 7), "192.0.2.77", "pregreet"),
                            (at(2, 58, 30), "203.0.113.201", "dnsbl"),
                            (at(5, 10, 12), "192.0.2.99", "http"),
                            (at(8, 5, 51), "2001:db8:bad:1::9", "pregreet"),
                            (at(13, 48, 55), "198.51.100.201", "submission"),
                            (at(23, 10, 40), "203.0.113.202", "tls")):
            self.add(Scene("scanner", t, Client("unknown", ip, "User"), note=kind))

        # == the planted incidents ==========================================================
        # 2. auth-failure burst: 12 x LOGIN for admin from 203.0.113.45 in 4 sessions, 4m08s
        for k, t in enumerate((at(3, 41, 0), at(3, 42, 20), at(3, 43, 40), at(3, 45, 0))):
            self.add(Scene("auth_fail", t, BURST, mech="LOGIN", note="burst",
                           users=[(t + (2 + 4 * i) * SEC + self.us(), "admin")
                                  for i in range(3)]))
        # 3. password spray: 15 users, one failure each, 37 s apart (8m38s)
        for i, u in enumerate(SPRAY_USERS):
            t = at(4, 20, 5) + i * 37 * SEC
            self.add(Scene("auth_fail", t, SPRAY, mech="LOGIN", note="spray",
                           users=[(t + 2 * SEC + self.us(), u)]))
        # 4. success after failures: 4 failures for bob, then bob logs in and sends one
        self.add(Scene("auth_fail", at(11, 40, 5), CRACKER, mech="LOGIN", note="cracker",
                       users=[(at(11, 40, 8) + self.us(), "bob"),
                              (at(11, 40, 13) + self.us(), "bob")]))
        self.add(Scene("auth_fail", at(11, 41, 30), CRACKER, mech="LOGIN", note="cracker",
                       users=[(at(11, 41, 33) + self.us(), "bob"),
                              (at(11, 41, 38) + self.us(), "bob")]))
        self.submission(at(11, 43, 2), CRACKER, "bob", [("bob" + a, ["invoice@example.net"])],
                        mech="LOGIN", note="cracker")
        # 5. relay probe: 3 sessions, 4 external recipients each, all refused
        probe_rcpts = (("relaytest@example.net", "postmaster@example.org", "check@example.net",
                        "open@example.org"),
                       ("test@partner.test", "relay@example.net", "probe@example.org",
                        "abuse@example.net"),
                       ("a1@example.org", "b2@example.net", "c3@partner.test", "d4@example.org"))
        for k, t in enumerate((at(2, 13, 5), at(2, 14, 40), at(2, 16, 12))):
            self.add(Scene("relay_probe", t, PROBE, sender="probe@relaycheck.test",
                           rcpts=[(t + (8 + 2 * i) * SEC + self.us(), r)
                                  for i, r in enumerate(probe_rcpts[k])],
                           screen="new" if k == 0 else "old"))
        # 6. open relay: untrusted, unauthenticated 198.51.100.23 relays 3 messages
        pairs = (("anna@example.org", "ben@example.net"), ("clara@example.org", "dan@example.net"),
                 ("eva@example.org", "finn@example.net"))
        for k, t in enumerate((at(19, 10, 12), at(19, 15, 40), at(19, 22, 3))):
            m = Msg(t + 2 * SEC + self.us(), "offers@bulk-sender.test", list(pairs[k]),
                    self.r(3000, 6000),
                    self.msgid(t, "bulk-sender.test", "script"))
            self.add(Scene("inbound", t, RELAY_ABUSER, tls=False, screen="allow", msgs=[m],
                           note="open_relay"))
        # 7. unknown sender: carol sends as ceo@bank.example.org
        self.submission(at(13, 5, 20), CAROL_HOME, "carol",
                        [("ceo@bank.example.org", ["ap@supplier.example.net"])], note="ceo")
        self.submission(at(13, 22, 45), CAROL_HOME, "carol",
                        [("ceo@bank.example.org", ["treasury@supplier.example.net"])], note="ceo")
        # 8. volume spike: alice's stolen password, 150 messages to 40 domains in 9m56s
        order = list(range(150))
        for i in range(149, 0, -1):     # Fisher-Yates on random() alone
            j = self.r(0, i)
            order[i], order[j] = order[j], order[i]
        rcpts = []
        for i in range(150):
            dom = SPIKE_DOMAINS[order[i] % 40]
            first, last = FIRST[self.r(0, len(FIRST) - 1)], LAST[self.r(0, len(LAST) - 1)]
            rcpts.append(f"{first}.{last}@{dom}")
        for s in range(5):              # 5 connections, 30 messages each, no Message-ID
            t = at(15, 30, 0) + s * 120 * SEC - 3 * SEC + self.us()
            sc = Scene("submission", t, ALICE_STOLEN, user="alice", note="spike")
            for j in range(30):
                i = s * 30 + j
                tm = at(15, 30, 0) + i * 4 * SEC + self.r(0, 900_000)
                sc.msgs.append(Msg(tm, "alice" + a, [rcpts[i]], self.r(2100, 2600), ""))
            self.add(sc)

        # 9. directory harvest: 12 guessed addresses in one session, 3 s apart (the
        # day's last scene, so that nothing before it moves)
        t = at(23, 45, 10)
        self.add(Scene("unknown_rcpt", t, HARVESTER, sender="list@harvest.test",
                       rcpts=[(t + (2 + 3 * i) * SEC, u + a)
                              for i, u in enumerate(HARVEST_GUESSES)], note="harvest"))

        self.scenes.sort(key=lambda s: s.t)
        for i, s in enumerate(self.scenes):
            s.idx = i
        return self.scenes


# ---------------------------------------------------------------------------------------
# Common machinery for the renderers
# ---------------------------------------------------------------------------------------

class Pids:
    """Process ids handed out in time order: the counter moves on with the clock."""

    def __init__(self, seed: int, start: int) -> None:
        self.rnd = random.Random(seed)
        self.last = start

    def new(self) -> int:
        self.last += 1 + int(self.rnd.random() * 37)
        return self.last


class Pool:
    """Postfix-like reuse: an idle process serves again within max_idle, else a new pid."""

    def __init__(self, pids: Pids, max_idle: int = 100 * SEC) -> None:
        self.pids = pids
        self.max_idle = max_idle
        self.procs: list[list[int]] = []     # [pid, busy_until]

    def get(self, t: int, until: int) -> int:
        best = None
        for p in self.procs:
            if p[1] <= t and t - p[1] <= self.max_idle and (best is None or p[0] < best[0]):
                best = p
        if best is None:
            best = [self.pids.new(), 0]
            self.procs.append(best)
        best[1] = max(until, t)
        return best[0]


def fmt_tv(us: int) -> str:
    """Postfix's format_tv() of a duration in microseconds (the benchmark generator's)."""
    return postfix_tv(us // 1000)


def remote_reply(domain: str, t: int) -> str:
    kind = MX[domain][2]
    if kind == "exim":
        pid = dnum("xid", t) % 4_000_000
        return f"250 OK id={b62(t // SEC - 1, 6)}-{b62(pid, 11)}-{b62(t % SEC, 4)}"
    if kind == "sendmail":
        qid = f"{b62(dnum('sm', t), 8)}{dnum('smp', t) % 90000 + 10000:06d}"
        return f"250 2.0.0 {qid} Message accepted for delivery"
    if kind == "gmail":
        return f"250 2.0.0 OK  {t // SEC} {digest('g', t)[:12]}.{dnum('g2', t) % 1000} - gsmtp"
    return f"250 2.0.0 Ok: queued as 4d{b62(dnum('pq', t), 11)}"


def sendmail_stat(reply: str) -> str:
    """What sendmail keeps of a remote 250 reply in `stat=Sent (...)`: the text after the
    reply code and the enhanced status code."""
    text = reply.split(" ", 1)[1]
    if text[:1].isdigit() and text[1:2] == ".":
        text = text.split(" ", 1)[1]
    return text


def counters(parts: list[tuple[str, int, int]]) -> str:
    """Postfix's disconnect counters: `name=ok` or `name=ok/total`, then commands=."""
    out = []
    ok_all = total_all = 0
    for name, ok, total in parts:
        out.append(f"{name}={ok}" if ok == total else f"{name}={ok}/{total}")
        ok_all += ok
        total_all += total
    out.append(f"commands={ok_all}" if ok_all == total_all else f"commands={ok_all}/{total_all}")
    return " ".join(out)


def is_local(addr: str) -> bool:
    dom = addr.rsplit("@", 1)[-1] if "@" in addr else LOCAL_DOMAIN
    return dom == LOCAL_DOMAIN or dom.endswith("." + LOCAL_DOMAIN)


def user_of(addr: str) -> str:
    return addr.split("@", 1)[0]


class Lines:
    """Collected log records, sorted by time (then by scene and order of writing)."""

    def __init__(self) -> None:
        self.recs: list[tuple] = []
        self.n = 0

    def add(self, t: int, *rest: object) -> None:
        self.n += 1
        self.recs.append((t, self.n) + rest)

    def sorted(self) -> list[tuple]:
        return sorted(self.recs, key=lambda r: (r[0], r[1]))


# ---------------------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------------------

TLS_IN = ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
          "server-signature RSA-PSS (2048 bits) server-digest SHA256")
TLS_IN_BOT = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"


class Postfix:
    def __init__(self) -> None:
        self.L = Lines()
        self.pids = Pids(SEED + 1, 1400)
        self.rnd = random.Random(SEED + 2)
        self.master = 1021
        self.qmgr = 1187
        self.pickup = 1188
        self.postscreen = 1203
        self.pools = {k: Pool(self.pids) for k in
                      ("smtpd", "submission", "smtpd10025", "cleanup", "smtp", "amavis",
                       "local", "bounce", "dnsblog")}
        self.inode = 0x1B2F40

    def r(self, lo: int, hi: int) -> int:
        return lo + int(self.rnd.random() * (hi - lo + 1))

    def ms(self, lo: int, hi: int) -> int:
        """A duration of lo..hi milliseconds, with microseconds."""
        return self.r(lo, hi) * 1000 + self.r(0, 999)

    def emit(self, t: int, prog: str, pid: int, text: str) -> None:
        self.L.add(t, "postfix/" + prog, pid, text)

    def qid(self, t: int) -> str:
        self.inode += self.r(1, 9)
        return f"{t % SEC:05X}{self.inode:X}"

    def proc(self, pool: str, t: int, until: int) -> int:
        return self.pools[pool].get(t, until)

    @staticmethod
    def nameip(c: Client) -> str:
        return f"{c.name}[{c.ip}]"

    # -- building blocks ------------------------------------------------------------------

    def postscreen_pass(self, sc: Scene, t: int) -> int:
        """postscreen in front of port 25; returns when smtpd takes over."""
        c = sc.client
        port = 30000 + dnum("port", sc.idx, c.ip) % 35000
        ps = self.postscreen
        dst = "[2001:db8::25]" if c.v6 else f"[{SERVER_IP}]"
        self.emit(t, "postscreen", ps, f"CONNECT from [{c.ip}]:{port} to {dst}:25")
        if sc.screen == "allow":
            t += self.ms(1, 3)
            self.emit(t, "postscreen", ps, f"ALLOWLISTED [{c.ip}]:{port}")
        elif sc.screen == "new":
            t += 6 * SEC + self.ms(2, 40)
            self.emit(t, "postscreen", ps, f"PASS NEW [{c.ip}]:{port}")
        else:
            t += self.ms(1, 3)
            self.emit(t, "postscreen", ps, f"PASS OLD [{c.ip}]:{port}")
        return t + self.ms(2, 9)

    def receive(self, t: int, prog: str, pid: int, c: Client, m: Msg, sasl: str | None,
                mech: str, size_delta: int = 0) -> tuple[str, int]:
        """client=, cleanup, qmgr for one message; returns (queue id, time queued)."""
        q = self.qid(t)
        extra = f", sasl_method={mech}, sasl_username={sasl}" if sasl else ""
        self.emit(t, prog, pid, f"{q}: client={self.nameip(c)}{extra}")
        t1 = t + self.ms(40, 300)
        cl = self.proc("cleanup", t1, t1 + self.ms(5, 30))
        self.emit(t1, "cleanup", cl, f"{q}: message-id=<{m.msgid}>")   # <> when there is none
        t2 = t1 + self.ms(5, 60)
        n = len(m.rcpts)
        self.emit(t2, "qmgr", self.qmgr,
                  f"{q}: from=<{m.sender}>, size={m.size + size_delta}, nrcpt={n} (queue active)")
        return q, t2

    def delivery_line(self, q: str, rcpt: str, relay: str, arrival: int, t_active: int,
                      t_conn: int, t_end: int, dsn: str, status: str, text: str,
                      orig: str | None = None, extra: str = "") -> str:
        a = fmt_tv(max(t_active - arrival, 0))
        b = fmt_tv(self.ms(0, 20))
        c = fmt_tv(max(t_conn, 0))
        d = fmt_tv(max(t_end - t_active - t_conn, 0))
        o = f", orig_to=<{orig}>" if orig else ""
        return (f"{q}: to=<{rcpt}>{o}, relay={relay}{extra}, delay={fmt_tv(t_end - arrival)}, "
                f"delays={a}/{b}/{c}/{d}, dsn={dsn}, status={status} ({text})")

    def deliver(self, q: str, m: Msg, arrival: int, t: int,
                orig: dict[str, str] | None = None) -> int:
        """Final deliveries of a queued message (local or remote); returns removal time."""
        end = t
        by_dom: dict[str, list[str]] = {}
        for r in m.rcpts:
            by_dom.setdefault("local" if is_local(r) else r.split("@", 1)[1], []).append(r)
        for dom, rs in by_dom.items():
            t1 = t + self.ms(5, 40)
            if dom == "local":
                for r in rs:
                    t_end = t1 + self.ms(8, 60)
                    pid = self.proc("local", t1, t_end)
                    to, o = (r, None) if not orig else (orig[r], r)
                    self.emit(t_end, "local", pid, self.delivery_line(
                        q, to, "local", arrival, t, 0, t_end, "2.0.0", "sent",
                        "delivered to mailbox", orig=o))
                    end = max(end, t_end)
                    t1 = t_end
                continue
            host, ip, _ = MX[dom]
            if m.outcome == "deferred":
                end = max(end, self.defer_and_retry(q, m, rs[0], arrival, t1))
                continue
            conn = self.ms(120, 600)
            for r in rs:
                t_end = t1 + conn + self.ms(150, 900)
                pid = self.proc("smtp", t1, t_end)
                if m.outcome == "bounced":
                    text = (f"host {host}[{ip}] said: 550 5.1.1 <{r}>: Recipient address rejected: "
                            f"User unknown in local recipient table (in reply to RCPT TO command)")
                    self.emit(t_end, "smtp", pid, self.delivery_line(
                        q, r, f"{host}[{ip}]:25", arrival, t, conn, t_end, "5.1.1", "bounced",
                        text))
                    end = max(end, self.bounce(q, m, t_end))
                else:
                    self.emit(t_end, "smtp", pid, self.delivery_line(
                        q, r, f"{host}[{ip}]:25", arrival, t, conn, t_end, "2.0.0", "sent",
                        remote_reply(dom, t_end)))
                    end = max(end, t_end)
                t1 = t_end
        t_rm = end + self.ms(1, 5)
        self.emit(t_rm, "qmgr", self.qmgr, f"{q}: removed")
        return t_rm

    def defer_and_retry(self, q: str, m: Msg, r: str, arrival: int, t: int) -> int:
        host, ip, _ = MX[r.split("@", 1)[1]]
        dom = r.split("@", 1)[1]
        tries = [t] + m.retries
        end = t
        for k, tt in enumerate(tries):
            if k:
                self.emit(tt, "qmgr", self.qmgr,
                          f"{q}: from=<{m.sender}>, size={m.size}, nrcpt=1 (queue active)")
            t1 = tt + self.ms(5, 30)
            if k < len(tries) - 1:
                t_end = t1 + 30 * SEC + self.ms(1, 20)
                pid = self.proc("smtp", t1, t_end)
                self.emit(t_end, "smtp", pid, self.delivery_line(
                    q, r, "none", arrival, tt, 30 * SEC, t_end, "4.4.1", "deferred",
                    f"connect to {host}[{ip}]:25: Connection timed out"))
            else:
                conn = self.ms(200, 500)
                t_end = t1 + conn + self.ms(200, 600)
                pid = self.proc("smtp", t1, t_end)
                self.emit(t_end, "smtp", pid, self.delivery_line(
                    q, r, f"{host}[{ip}]:25", arrival, tt, conn, t_end, "2.0.0", "sent",
                    remote_reply(dom, t_end)))
            end = t_end
        return end

    def bounce(self, q: str, m: Msg, t: int) -> int:
        t1 = t + self.ms(5, 20)
        nq = self.qid(t1)
        cl = self.proc("cleanup", t1, t1 + self.ms(5, 20))
        self.emit(t1, "cleanup", cl,
                  f"{nq}: message-id=<{utc(t1).strftime('%Y%m%d%H%M%S')}.{nq}@{FQDN}>")
        t2 = t1 + self.ms(2, 8)
        bpid = self.proc("bounce", t, t2)
        self.emit(t2, "bounce", bpid, f"{q}: sender non-delivery notification: {nq}")
        t3 = t2 + self.ms(2, 10)
        self.emit(t3, "qmgr", self.qmgr, f"{nq}: from=<>, size={m.size // 4 + 2400}, nrcpt=1 "
                  "(queue active)")
        ndn = Msg(t1, "", [m.sender], 0, "")
        self.deliver(nq, ndn, t1, t3)
        return t2

    def filter_hop(self, q: str, m: Msg, t_q: int) -> None:
        """The content filter: amavis on 127.0.0.1:10024, back in on :10025."""
        t1 = t_q + self.ms(20, 60)
        scan = self.ms(500, 1800)
        t2 = t1 + scan
        loc = Client("localhost", "127.0.0.1", FQDN)
        dur = self.ms(30, 90)
        pid = self.proc("smtpd10025", t2, t2 + dur)
        self.emit(t2, "smtpd", pid, "connect from localhost[127.0.0.1]")
        q2, t3 = self.receive(t2 + self.ms(2, 6), "smtpd", pid, loc, m, None, "",
                              size_delta=600 + dnum("amavis", q) % 400)
        t4 = max(t3, t2 + dur)
        n = len(m.rcpts)
        self.emit(t4, "smtpd", pid, "disconnect from localhost[127.0.0.1] "
                  + counters([("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", n, n), ("data", 1, 1),
                              ("quit", 1, 1)]))
        t5 = t4 + self.ms(1, 5)
        apid = self.proc("amavis", t1, t5)
        for r in m.rcpts:
            self.emit(t5, "smtp", apid, self.delivery_line(
                q, r, "127.0.0.1[127.0.0.1]:10024", m.t, t_q, self.ms(0, 2), t5, "2.0.0", "sent",
                f"250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {q2}"))
        self.emit(t5 + self.ms(1, 3), "qmgr", self.qmgr, f"{q}: removed")
        self.deliver(q2, m, t3 - self.ms(40, 60), t3 + self.ms(2, 8))

    # -- scenes ---------------------------------------------------------------------------

    def scene(self, sc: Scene) -> None:
        getattr(self, "s_" + sc.kind)(sc)

    def s_inbound(self, sc: Scene) -> None:
        c = sc.client
        t = self.postscreen_pass(sc, sc.t)
        m = sc.msgs[0]
        t_m = max(m.t, t + 1 * SEC)
        end = t_m + 2 * SEC
        pid = self.proc("smtpd", t, end)
        self.emit(t, "smtpd", pid, f"connect from {self.nameip(c)}")
        if sc.tls:
            self.emit(t + self.ms(120, 400), "smtpd", pid,
                      f"Anonymous TLS connection established from {self.nameip(c)}: {TLS_IN}")
        q, t_q = self.receive(t_m, "smtpd", pid, c, m, None, "")
        n = len(m.rcpts)
        parts = [("ehlo", 2, 2), ("starttls", 1, 1)] if sc.tls else [("ehlo", 1, 1)]
        parts += [("mail", 1, 1), ("rcpt", n, n), ("data", 1, 1), ("quit", 1, 1)]
        self.emit(t_q + self.ms(5, 40), "smtpd", pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")
        self.filter_hop(q, m, t_q)

    s_webmail = s_inbound

    def s_submission(self, sc: Scene) -> None:
        c = sc.client
        t = sc.t
        end = sc.msgs[-1].t + 3 * SEC
        pid = self.proc("submission", t, end)
        prog = "submission/smtpd"
        self.emit(t, prog, pid, f"connect from {self.nameip(c)}")
        self.emit(t + self.ms(150, 400), prog, pid,
                  f"Anonymous TLS connection established from {self.nameip(c)}: {TLS_IN}")
        last = t
        for m in sc.msgs:
            q, t_q = self.receive(m.t, prog, pid, c, m, sc.user, sc.mech)
            self.deliver(q, m, m.t, t_q + self.ms(2, 10))
            last = t_q
        k = len(sc.msgs)
        n = sum(len(m.rcpts) for m in sc.msgs)
        parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 1, 1), ("mail", k, k),
                 ("rcpt", n, n), ("data", k, k), ("quit", 1, 1)]
        self.emit(last + self.ms(20, 200), prog, pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")

    def s_cron(self, sc: Scene) -> None:
        m = sc.msgs[0]
        t = sc.t
        q = self.qid(t)
        self.emit(t, "pickup", self.pickup, f"{q}: uid=0 from=<root>")
        t1 = t + self.ms(3, 20)
        cl = self.proc("cleanup", t1, t1 + self.ms(5, 20))
        self.emit(t1, "cleanup", cl,
                  f"{q}: message-id=<{utc(t1).strftime('%Y%m%d%H%M%S')}.{q}@{FQDN}>")
        t2 = t1 + self.ms(3, 20)
        self.emit(t2, "qmgr", self.qmgr,
                  f"{q}: from=<root@{FQDN}>, size={m.size}, nrcpt=1 (queue active)")
        msg = Msg(t, f"root@{FQDN}", ["root"], m.size, "")
        self.deliver(q, msg, t, t2, orig={"root": f"dave@{FQDN}"})

    def s_auth_fail(self, sc: Scene) -> None:
        c = sc.client
        prog = "submission/smtpd"
        k = len(sc.users)
        end = sc.users[-1][0] + 2 * SEC
        pid = self.proc("submission", sc.t, end)
        self.emit(sc.t, prog, pid, f"connect from {self.nameip(c)}")
        self.emit(sc.t + self.ms(200, 600), prog, pid,
                  f"Anonymous TLS connection established from {self.nameip(c)}: {TLS_IN_BOT}")
        for t, u in sc.users:
            self.emit(t, prog, pid, f"warning: {self.nameip(c)}: SASL {sc.mech} authentication "
                      f"failed: (reason unavailable), sasl_username={u}")
        t = sc.users[-1][0] + self.ms(300, 1500)
        if k > 1:
            self.emit(t, prog, pid, f"lost connection after AUTH from {self.nameip(c)}")
            parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 0, k)]
        else:
            parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 0, 1), ("quit", 1, 1)]
        self.emit(t + self.ms(0, 2), prog, pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")

    def s_relay_probe(self, sc: Scene) -> None:
        c = sc.client
        t = self.postscreen_pass(sc, sc.t)
        end = sc.rcpts[-1][0] + 2 * SEC
        pid = self.proc("smtpd", t, end)
        self.emit(t, "smtpd", pid, f"connect from {self.nameip(c)}")
        for tr, r in sc.rcpts:
            self.emit(max(tr, t + SEC), "smtpd", pid,
                      f"NOQUEUE: reject: RCPT from {self.nameip(c)}: 454 4.7.1 <{r}>: Relay access "
                      f"denied; from=<{sc.sender}> to=<{r}> proto=ESMTP helo=<{c.helo}>")
        n = len(sc.rcpts)
        parts = [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, n), ("quit", 1, 1)]
        self.emit(max(sc.rcpts[-1][0], t + SEC) + self.ms(100, 400), "smtpd", pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")

    def s_spam(self, sc: Scene) -> None:
        c = sc.client
        t = self.postscreen_pass(sc, sc.t)
        pid = self.proc("smtpd", t, t + 6 * SEC)
        self.emit(t, "smtpd", pid, f"connect from {self.nameip(c)}")
        self.emit(t + self.ms(200, 400), "smtpd", pid,
                  f"Anonymous TLS connection established from {self.nameip(c)}: {TLS_IN_BOT}")
        t1 = t + 2 * SEC
        q = self.qid(t1)
        self.emit(t1, "smtpd", pid, f"{q}: client={self.nameip(c)}")
        t2 = t1 + self.ms(100, 300)
        cl = self.proc("cleanup", t2, t2 + 2 * SEC)
        self.emit(t2,
                  "cleanup", cl, f"{q}: message-id=<{digest('spam', sc.t)[:20]}@promo-blast.test>")
        t3 = t2 + self.ms(600, 1500)
        r = sc.rcpts[0][1]
        self.emit(t3, "cleanup", cl, f"{q}: milter-reject: END-OF-MESSAGE from {self.nameip(c)}: "
                  f"5.7.1 Spam message rejected; from=<{sc.sender}> to=<{r}> proto=ESMTP "
                  f"helo=<{c.helo}>")
        parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("mail", 1, 1), ("rcpt", 1, 1),
                 ("data", 0, 1), ("quit", 1, 1)]
        self.emit(t3 + self.ms(50, 200), "smtpd", pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")

    def s_unknown_rcpt(self, sc: Scene) -> None:
        c = sc.client
        t = self.postscreen_pass(sc, sc.t)
        pid = self.proc("smtpd", t, max([t] + [tr for tr, _ in sc.rcpts]) + 3 * SEC)
        self.emit(t, "smtpd", pid, f"connect from {self.nameip(c)}")
        self.emit(t + self.ms(150, 300), "smtpd", pid,
                  f"Anonymous TLS connection established from {self.nameip(c)}: {TLS_IN}")
        t1 = t + self.ms(500, 900)
        for tr, r in sc.rcpts:       # a time of 0: just after the TLS handshake
            t1 = tr or t1
            self.emit(t1,
                      "smtpd", pid, f"NOQUEUE: reject: RCPT from {self.nameip(c)}: 550 5.1.1 "
                      f"<{r}>: Recipient address rejected: User unknown in local recipient "
                      f"table; from=<{sc.sender}> to=<{r}> proto=ESMTP helo=<{c.helo}>")
        parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("mail", 1, 1),
                 ("rcpt", 0, len(sc.rcpts)), ("quit", 1, 1)]
        self.emit(t1 + self.ms(30, 90), "smtpd", pid,
                  f"disconnect from {self.nameip(c)} {counters(parts)}")

    def s_scanner(self, sc: Scene) -> None:
        c = sc.client
        t = sc.t
        port = 30000 + dnum("port", sc.idx, c.ip) % 35000
        ps = self.postscreen
        ip = f"[{c.ip}]:{port}"
        dst = "[2001:db8::25]" if c.v6 else f"[{SERVER_IP}]"
        kind = sc.note
        if kind == "submission":
            prog = "submission/smtpd"
            pid = self.proc("submission", t, t + SEC)
            self.emit(t, prog, pid, f"connect from {self.nameip(c)}")
            self.emit(t + self.ms(100, 300), prog, pid,
                      f"lost connection after CONNECT from {self.nameip(c)}")
            self.emit(t + self.ms(301, 303), prog, pid,
                      f"disconnect from {self.nameip(c)} commands=0/0")
            return
        self.emit(t, "postscreen", ps, f"CONNECT from {ip} to {dst}:25")
        if kind == "pregreet":
            t1 = t + self.ms(150, 400)
            self.emit(t1, "postscreen", ps,
                      f"PREGREET 11 after {fmt_tv(t1 - t)} from {ip}: EHLO User\\r\\n")
            self.emit(t1 + self.ms(100, 900), "postscreen", ps, f"DISCONNECT {ip}")
        elif kind == "dnsbl":
            dp = self.proc("dnsblog", t, t + SEC)
            self.emit(t + self.ms(20, 80), "dnsblog", dp,
                      f"addr {c.ip} listed by domain zen.spamhaus.org as 127.0.0.4")
            t1 = t + 6 * SEC + self.ms(1, 30)
            self.emit(t1, "postscreen", ps, f"DNSBL rank 3 for {ip}")
            t2 = t1 + self.ms(300, 900)
            self.emit(t2, "postscreen", ps, f"NOQUEUE: reject: RCPT from {ip}: 550 5.7.1 Service "
                      f"unavailable; client [{c.ip}] blocked using zen.spamhaus.org; "
                      f"from=<win@promo-blast.test>, to=<bob@{LOCAL_DOMAIN}>, proto=ESMTP, "
                      f"helo=<{c.helo}>")
            self.emit(t2 + self.ms(100, 300), "postscreen", ps, f"DISCONNECT {ip}")
        elif kind == "http":
            t1 = t + self.ms(10, 60)
            self.emit(t1,
                      "postscreen", ps, f"NON-SMTP COMMAND from {ip} after CONNECT: GET / HTTP/1.1")
            self.emit(t1 + self.ms(1, 5), "postscreen", ps, f"DISCONNECT {ip}")
        elif kind == "tls":
            t1 = t + self.ms(300, 800)
            self.emit(t1, "postscreen", ps, f"HANGUP after {fmt_tv(t1 - t)} from {ip} in tests "
                      "before SMTP handshake")
            self.emit(t1 + self.ms(0, 2), "postscreen", ps, f"DISCONNECT {ip}")

    def render(self, scenes: list[Scene]) -> list[tuple]:
        for sc in scenes:
            self.scene(sc)
        return self.L.sorted()


# ---------------------------------------------------------------------------------------
# Exim (4.98 built with OpenSSL, log_selector = +pid)
# ---------------------------------------------------------------------------------------

X_IN = "TLS1.3:TLS_AES_256_GCM_SHA384:256"
X_IN_BOT = "TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256"
X_OUT = "TLS1.3:TLS_AES_256_GCM_SHA384:256"


class Exim:
    """Records are (t, n, pid, text, headers, to_rejectlog)."""

    def __init__(self) -> None:
        self.L = Lines()
        self.pids = Pids(SEED + 11, 2100)
        self.rnd = random.Random(SEED + 12)
        self.daemon = 1214

    def r(self, lo: int, hi: int) -> int:
        return lo + int(self.rnd.random() * (hi - lo + 1))

    def ms(self, lo: int, hi: int) -> int:
        """A duration of lo..hi milliseconds, with microseconds."""
        return self.r(lo, hi) * 1000 + self.r(0, 999)

    def emit(self, t: int, pid: int, text: str, reject: bool = False,
             headers: list[str] | None = None) -> None:
        self.L.add(t, pid, text, headers, reject)

    @staticmethod
    def mid(t: int, pid: int) -> str:
        return f"{b62(t // SEC, 6)}-{b62(pid, 11)}-{b62(t % SEC, 4)}"

    @staticmethod
    def host(c: Client) -> str:
        if c.name == "unknown":
            return f"H=({c.helo}) [{c.ip}]"
        if c.name == c.helo:
            return f"H={c.name} [{c.ip}]"
        return f"H={c.name} ({c.helo}) [{c.ip}]"

    def deliveries(self, q: str, m: Msg, t: int) -> int:
        """A delivery process for a message just received; returns when it is done."""
        dp = self.pids.new()
        t = t + self.ms(20, 120)
        hosts_used: dict[str, bool] = {}
        for r in m.rcpts:
            if is_local(r):
                t += self.ms(5, 40)
                if r == "root":
                    self.emit(t, dp, f"{q} => dave <root@{FQDN}> R=local_user T=mail_spool")
                else:
                    self.emit(t, dp, f"{q} => {user_of(r)} <{r}> R=local_user T=mail_spool")
                continue
            dom = r.split("@", 1)[1]
            host, ip, _ = MX[dom]
            t += self.ms(150, 900)
            if m.outcome == "bounced":
                self.emit(t, dp,
                          f"{q} ** {r} R=dnslookup T=remote_smtp H={host} [{ip}]: SMTP error "
                          f"from remote mail server after RCPT TO:<{r}>: 550 5.1.1 <{r}>: "
                          "Recipient address rejected: User unknown in local recipient table")
                bq_pid = self.pids.new()
                t1 = t + self.ms(5, 30)
                bq = self.mid(t1, bq_pid)
                self.emit(t1, bq_pid,
                          f"{bq} <= <> R={q} U=Debian-exim P=local S={m.size // 4 + 2300}")
                self.emit(t1 + self.ms(1, 5), dp, f"{q} Completed")
                ndn = Msg(t1, "", [m.sender], 0, "")
                end = self.deliveries(bq, ndn, t1 + self.ms(5, 10))
                return end
            if m.outcome == "deferred":
                self.emit(t + 30 * SEC, dp, f"{q} H={host} [{ip}] Connection timed out")
                self.emit(t + 30 * SEC + self.ms(1, 3), dp, f"{q} == {r} R=dnslookup T=remote_smtp "
                          "defer (110): Connection timed out")
                return t
            arrow = "->" if host in hosts_used else "=>"
            hosts_used[host] = True
            self.emit(t, dp, f"{q} {arrow} {r} R=dnslookup T=remote_smtp H={host} [{ip}] "
                      f"X={X_OUT} CV=yes C=\"{remote_reply(dom, t)}\"")
        t += self.ms(1, 5)
        self.emit(t, dp, f"{q} Completed")
        return t

    def received(self, c: Client | None, m: Msg, pid: int, proto: str, tls: bool,
                 auth: str | None = None) -> str:
        q = self.mid(m.t, pid)
        x = f" X={X_IN} CV=no" if tls else ""
        a = f" A={auth}" if auth else ""
        mid = f" id={m.msgid}" if m.msgid else ""
        self.emit(m.t, pid, f"{q} <= {m.sender} {self.host(c)} P={proto}{x}{a} S={m.size}{mid}")
        return q

    def s_inbound(self, sc: Scene) -> None:
        pid = self.pids.new()
        m = sc.msgs[0]
        q = self.received(sc.client, m, pid, "esmtps" if sc.tls else "esmtp", sc.tls)
        self.deliveries(q, m, m.t)

    s_webmail = s_inbound

    def s_submission(self, sc: Scene) -> None:
        pid = self.pids.new()
        auth = ("dovecot_login" if sc.mech == "LOGIN" else "dovecot_plain") + ":" + sc.user
        for m in sc.msgs:
            q = self.received(sc.client, m, pid, "esmtpsa", True, auth)
            self.deliveries(q, m, m.t)

    def s_cron(self, sc: Scene) -> None:
        pid = self.pids.new()
        m = sc.msgs[0]
        q = self.mid(sc.t, pid)
        self.emit(sc.t, pid, f"{q} <= root@{FQDN} U=root P=local S={m.size} id=E{q}@{FQDN}")
        self.deliveries(q, Msg(sc.t, f"root@{FQDN}", ["root"], m.size, ""), sc.t)

    def s_auth_fail(self, sc: Scene) -> None:
        pid = self.pids.new()
        c = sc.client
        name = "" if c.name == "unknown" else c.name + " "
        for t, u in sc.users:
            self.emit(t, pid, f"dovecot_login authenticator failed for {name}({c.helo}) [{c.ip}]: "
                      f"535 Incorrect authentication data (set_id={u})", reject=True)

    def s_relay_probe(self, sc: Scene) -> None:
        pid = self.pids.new()
        for t, r in sc.rcpts:
            self.emit(t, pid, f"{self.host(sc.client)} F=<{sc.sender}> rejected RCPT <{r}>: "
                      "relay not permitted", reject=True)

    def s_unknown_rcpt(self, sc: Scene) -> None:
        pid = self.pids.new()
        t = sc.t + self.ms(600, 900)
        for tr, r in sc.rcpts:
            self.emit(tr or t, pid, f"{self.host(sc.client)} X={X_IN} CV=no F=<{sc.sender}> "
                      f"rejected RCPT <{r}>: Unrouteable address", reject=True)

    def s_spam(self, sc: Scene) -> None:
        pid = self.pids.new()
        c = sc.client
        t = sc.t + 3 * SEC + self.ms(100, 900)
        q = self.mid(t - self.ms(300, 600), pid)
        r = sc.rcpts[0][1]
        score = "18.3"
        date = utc(t).strftime("%a, %d %b %Y %H:%M:%S +0000")
        hdate = utc(t - 40 * SEC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        headers = [
            f"Envelope-from: <{sc.sender}>",
            f"Envelope-to: <{r}>",
            f"P Received: from [{c.ip}] (helo={c.helo})",
            f"\tby {FQDN} with esmtps  (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "\t(Exim 4.98)",
            f"\t(envelope-from <{sc.sender}>)",
            f"\tid {q}",
            f"\tfor {r};",
            f"\t{date}",
            f"F From: \"Daily Deals\" <{sc.sender}>",
            f"T To: <{r}>",
            "  Subject: You have won a prize",
            f"I Message-ID: <{digest('spam', sc.t)[:20]}@promo-blast.test>",
            f"  Date: {hdate}",
        ]
        self.emit(t, pid, f"{q} {self.host(c)} X={X_IN_BOT} CV=no F=<{sc.sender}> rejected after "
                  f"DATA: This message scored {score} spam points.", reject=True, headers=headers)

    def s_scanner(self, sc: Scene) -> None:
        pid = self.pids.new()
        c = sc.client
        t = sc.t + self.ms(100, 600)
        kind = sc.note
        if kind == "pregreet":
            self.emit(t, pid, "SMTP protocol synchronization error (input sent without waiting for "
                      f"greeting): rejected connection from H=[{c.ip}] input=\"EHLO User\\r\\n\"",
                      reject=True)
        elif kind == "dnsbl":
            self.emit(t, pid,
                      f"H=[{c.ip}] rejected connection in \"connect\" ACL: {c.ip} is listed "
                      "in zen.spamhaus.org", reject=True)
        elif kind == "http":
            self.emit(t, pid, f"SMTP call from [{c.ip}] dropped: too many unrecognized commands "
                      "(last was \"\")", reject=True)
        elif kind == "submission":
            self.emit(t, pid,
                      f"unexpected disconnection while reading SMTP command from [{c.ip}] D=0s")
        elif kind == "tls":
            self.emit(t, pid, f"TLS error on connection from [{c.ip}] (SSL_accept): "
                      "error:0A00010B:SSL routines::wrong version number")

    def queue_run(self, t: int) -> None:
        """The daemon's queue runner (every 30 minutes, at :10 and :40); it retries the
        deferred message once its retry time (15 minutes) has come: a second time-out,
        then the delivery."""
        qp = self.pids.new()
        self.emit(t, qp, f"Start queue run: pid={qp}")
        t_end = t + self.ms(2, 30)
        for m, q in self.deferred:
            if m.t + 15 * MIN > t or self.tries[q] >= 2:
                continue
            self.tries[q] += 1
            dp = self.pids.new()
            r = m.rcpts[0]
            dom = r.split("@", 1)[1]
            host, ip, _ = MX[dom]
            if self.tries[q] == 1:
                t1 = t + self.ms(50, 200) + 30 * SEC
                self.emit(t1, dp, f"{q} H={host} [{ip}] Connection timed out")
                self.emit(t1 + self.ms(1, 3), dp, f"{q} == {r} R=dnslookup T=remote_smtp "
                          "defer (110): Connection timed out")
            else:
                t1 = t + self.ms(300, 900)
                self.emit(t1, dp, f"{q} => {r} R=dnslookup T=remote_smtp H={host} [{ip}] "
                          f"X={X_OUT} CV=yes C=\"{remote_reply(dom, t1)}\"")
                self.emit(t1 + self.ms(1, 4), dp, f"{q} Completed")
            t_end = t1 + self.ms(5, 10)
        self.emit(t_end, qp, f"End queue run: pid={qp}")

    def render(self, scenes: list[Scene]) -> list[tuple]:
        self.deferred: list[tuple[Msg, str]] = []
        self.tries: dict[str, int] = {}
        runs = [T0 + k * 30 * MIN + 10 * MIN + 2 * SEC + self.ms(0, 900) for k in range(48)]
        for sc in scenes:
            while runs and runs[0] <= sc.t:
                self.queue_run(runs.pop(0))
            if sc.kind == "submission" and sc.msgs[0].outcome == "deferred":
                pid = self.pids.new()
                m = sc.msgs[0]
                q = self.received(sc.client, m, pid, "esmtpsa", True, "dovecot_plain:" + sc.user)
                self.deliveries(q, m, m.t)
                self.deferred.append((m, q))
                self.tries[q] = 0
                continue
            getattr(self, "s_" + sc.kind)(sc)
        for t in runs:
            self.queue_run(t)
        return self.L.sorted()


# ---------------------------------------------------------------------------------------
# Sendmail (8.17, LogLevel 9, Cyrus SASL)
# ---------------------------------------------------------------------------------------

TLS_SM = "version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256"
TLS_SM_OUT = TLS_SM.replace("verify=NO", "verify=OK")


class Sendmail:
    def __init__(self) -> None:
        self.L = Lines()
        self.pids = Pids(SEED + 21, 3300)
        self.rnd = random.Random(SEED + 22)
        self.seq = 0

    def r(self, lo: int, hi: int) -> int:
        return lo + int(self.rnd.random() * (hi - lo + 1))

    def ms(self, lo: int, hi: int) -> int:
        """A duration of lo..hi milliseconds, with microseconds."""
        return self.r(lo, hi) * 1000 + self.r(0, 999)

    def emit(self, t: int, prog: str, pid: int, text: str) -> None:
        self.L.add(t, prog, pid, text)

    def qid(self, t: int, pid: int) -> str:
        d = utc(t)
        self.seq += 1
        s = (dnum("smseq", pid) + self.seq) % 3600
        return (B60[(d.year - 1900) % 60] + B60[d.month - 1] + B60[d.day] + B60[d.hour]
                + B60[d.minute] + B60[d.second] + B60[s // 60] + B60[s % 60] + f"{pid:06d}")

    @staticmethod
    def relay(c: Client) -> str:
        ip = f"IPv6:{c.ip}" if c.v6 else c.ip
        return f"[{ip}]" if c.name == "unknown" else f"{c.name} [{ip}]"

    @staticmethod
    def dur(us: int) -> str:
        s = max(us, 0) // SEC
        d, s = divmod(s, 86400)
        out = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        return f"{d}+{out}" if d else out

    def from_line(self, q: str, sender: str, m_size: int, nrcpts: int, msgid: str | None,
                  c: Client, tls: bool, daemon: str, auth: str | None) -> str:
        mid = f", msgid=<{msgid}>" if msgid else ""
        body = ", bodytype=8BITMIME" if msgid else ""
        proto = "ESMTP" + ("S" if tls else "") + ("A" if auth else "")
        tlsf = ("tls_verify=NO, tls_version=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384" if tls
                else "tls_verify=NONE, tls_version=NONE, cipher=NONE")
        return (f"{q}: from=<{sender}>, size={m_size}, class=0, nrcpts={nrcpts}{mid}{body}, "
                f"proto={proto}, daemon={daemon}, {tlsf}, auth={auth or 'NONE'}, "
                f"relay={self.relay(c)}")

    def deliver(self, q: str, m: Msg, arrival: int, t: int) -> None:
        dp = self.pids.new()
        t += self.ms(50, 300)
        local = [r for r in m.rcpts if is_local(r)]
        remote = [r for r in m.rcpts if not is_local(r)]
        if local:
            t += self.ms(20, 200)
            to = ",".join(f"<{r}>" for r in local)
            self.emit(t, "sm-mta", dp, f"{q}: to={to}, delay={self.dur(t - arrival)}, "
                      f"xdelay=00:00:00, mailer=local, pri={30000 + m.size + 1200 * len(local)}, "
                      "dsn=2.0.0, stat=Sent")
        for r in remote:
            dom = r.split("@", 1)[1]
            host, ip, _ = MX[dom]
            if m.outcome == "deferred":
                for k, tt in enumerate([t] + m.retries):
                    p = dp if k == 0 else self.pids.new()
                    last = k == len(m.retries)
                    if not last:
                        te = tt + 30 * SEC + self.ms(1, 20)
                        self.emit(te,
                                  "sm-mta", p, f"{q}: to=<{r}>, delay={self.dur(te - arrival)}, "
                                  f"xdelay=00:00:30, mailer=esmtp, "
                                  f"pri={120000 + m.size + 90000 * k}, "
                                  f"relay={host}., dsn=4.0.0, stat=Deferred: Connection timed out "
                                  f"with {host}.")
                    else:
                        te = tt + self.ms(400, 900)
                        self.emit(te - self.ms(100, 200), "sm-mta", p,
                                  f"STARTTLS=client, relay={host}., {TLS_SM_OUT}")
                        self.emit(te,
                                  "sm-mta", p, f"{q}: to=<{r}>, delay={self.dur(te - arrival)}, "
                                  f"xdelay={self.dur(te - tt)}, mailer=esmtp, "
                                  f"pri={120000 + m.size + 90000 * k}, "
                                  f"relay={host}. [{ip}], dsn=2.0.0, stat=Sent "
                                  f"({sendmail_stat(remote_reply(dom, te))})")
                return
            t1 = t + self.ms(200, 600)
            self.emit(t1, "sm-mta", dp,
                      f"STARTTLS=client, relay={host}., {TLS_SM_OUT}")
            t = t1 + self.ms(200, 900)
            if m.outcome == "bounced":
                self.emit(t, "sm-mta", dp, f"{q}: to=<{r}>, delay={self.dur(t - arrival)}, "
                          f"xdelay={self.dur(t - t1 + 200_000)}, mailer=esmtp, "
                          f"pri={30000 + m.size}, relay={host}. "
                          f"[{ip}], dsn=5.1.1, reply=550 5.1.1 <{r}>: Recipient address rejected: "
                          "User unknown in local recipient table, stat=User unknown")
                t1 = t + self.ms(2, 10)
                bq = self.qid(t1, dp)
                self.emit(t1, "sm-mta", dp, f"{q}: {bq}: DSN: User unknown")
                self.emit(t1 + self.ms(1, 3), "sm-mta", dp,
                          f"{bq}: from=<>, size={m.size // 4 + 2600}, class=0, nrcpts=1, "
                          f"msgid=<{utc(t1).strftime('%Y%m%d%H%M')}.{bq}@{FQDN}>, "
                          "bodytype=8BITMIME, relay=[RESPONSE]")
                t2 = t1 + self.ms(20, 80)
                self.emit(t2, "sm-mta", dp, f"{bq}: to=<{m.sender}>, delay={self.dur(t2 - t1)}, "
                          f"xdelay=00:00:00, mailer=local, pri={30000 + m.size}, dsn=2.0.0, "
                          "stat=Sent")
                continue
            reply = sendmail_stat(remote_reply(dom, t))
            self.emit(t, "sm-mta", dp, f"{q}: to=<{r}>, delay={self.dur(t - arrival)}, "
                      f"xdelay={self.dur(t - t1 + 200_000)}, mailer=esmtp, pri={120000 + m.size}, "
                      f"relay={host}. [{ip}], dsn=2.0.0, stat=Sent ({reply})")

    def session_qid(self, t: int, pid: int) -> str:
        return self.qid(t, pid)

    def s_inbound(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        m = sc.msgs[0]
        if sc.tls:
            self.emit(sc.t + self.ms(200, 500),
                      "sm-mta", pid, f"STARTTLS=server, relay={self.relay(c)}, {TLS_SM}")
        q = self.qid(sc.t, pid)
        self.emit(m.t, "sm-mta", pid, self.from_line(q, m.sender, m.size, len(m.rcpts), m.msgid,
                                                     c, sc.tls, "MTA", None))
        self.deliver(q, m, m.t, m.t)

    s_webmail = s_inbound

    def s_submission(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        self.emit(sc.t + self.ms(200, 500),
                  "sm-mta", pid, f"STARTTLS=server, relay={self.relay(c)}, {TLS_SM}")
        self.emit(sc.t + self.ms(600, 1200), "sm-mta", pid,
                  f"AUTH=server, relay={self.relay(c)}, authid={sc.user}, mech={sc.mech}, bits=0")
        for m in sc.msgs:
            q = self.qid(m.t, pid)
            mid = m.msgid or f"{utc(m.t).strftime('%Y%m%d%H%M')}.{q}@{FQDN}"   # sendmail adds one
            size = m.size + (0 if m.msgid else 62)
            self.emit(m.t, "sm-mta", pid, self.from_line(q, m.sender, size, len(m.rcpts), mid, c,
                                                         True, "MSA", sc.mech))
            self.deliver(q, m, m.t, m.t)

    def s_cron(self, sc: Scene) -> None:
        m = sc.msgs[0]
        msp = self.pids.new()
        q1 = self.qid(sc.t, msp)
        mid = f"{utc(sc.t).strftime('%Y%m%d%H%M')}.{q1}@{FQDN}"
        self.emit(sc.t, "sendmail", msp, f"{q1}: from=root, size={m.size}, class=0, nrcpts=1, "
                  f"msgid=<{mid}>, relay=root@localhost")
        mta = self.pids.new()
        t1 = sc.t + self.ms(200, 600)
        q2 = self.qid(t1, mta)
        self.emit(t1, "sm-mta", mta, f"{q2}: from=<root@{FQDN}>, size={m.size + 224}, class=0, "
                  f"nrcpts=1, msgid=<{mid}>, proto=ESMTP, daemon=MTA, relay=localhost [127.0.0.1]")
        t2 = t1 + self.ms(5, 30)
        self.emit(t2, "sendmail", msp, f"{q1}: to=root, ctladdr=root (0/0), delay="
                  f"{self.dur(t2 - sc.t)}, xdelay={self.dur(t2 - sc.t)}, mailer=relay, "
                  f"pri={30000 + m.size}, relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, "
                  f"stat=Sent ({q2} Message accepted for delivery)")
        self.deliver(q2, Msg(t1, f"root@{FQDN}", [f"root@{FQDN}"], m.size + 224, ""), t1, t2)

    def s_auth_fail(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        q = self.qid(sc.t, pid)
        self.emit(sc.t + self.ms(300, 700),
                  "sm-mta", pid, f"STARTTLS=server, relay={self.relay(c)}, "
                  + TLS_SM.replace("TLSv1.3", "TLSv1.2").replace("TLS_AES_256_GCM_SHA384",
                                                                  "ECDHE-RSA-AES256-GCM-SHA384"))
        for t, u in sc.users:
            self.emit(t, "sm-mta", pid, f"{q}: AUTH failure ({sc.mech}): authentication failure "
                      f"(-13) SASL(-13): authentication failure: checkpass failed, user={u}, "
                      f"relay={self.relay(c)}")
        t = sc.users[-1][0] + self.ms(300, 1500)
        self.emit(t,
                  "sm-mta", pid, f"{q}: {self.relay(c)} did not issue MAIL/EXPN/VRFY/ETRN during "
                  "connection to MSA")

    def s_relay_probe(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        q = self.qid(sc.t, pid)
        for t, r in sc.rcpts:
            self.emit(t,
                      "sm-mta", pid, f"{q}: ruleset=check_rcpt, arg1=<{r}>, relay={self.relay(c)}, "
                      f"reject=550 5.7.1 <{r}>... Relaying denied. Proper authentication required.")
        t = sc.rcpts[-1][0] + self.ms(200, 600)
        self.emit(t, "sm-mta", pid, self.from_line(q, sc.sender, 0, 0, None, c, False, "MTA", None))

    def s_unknown_rcpt(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        q = self.qid(sc.t, pid)
        self.emit(sc.t + self.ms(200, 400),
                  "sm-mta", pid, f"STARTTLS=server, relay={self.relay(c)}, {TLS_SM}")
        t = sc.t + self.ms(600, 900)
        for tr, r in sc.rcpts:       # the client is named after the refusals, on from=
            t = tr or t
            self.emit(t, "sm-mta", pid, f"{q}: <{r}>... User unknown")
        self.emit(t + self.ms(50, 200), "sm-mta", pid,
                  self.from_line(q, sc.sender, 0, 0, None, c, True, "MTA", None))

    def s_spam(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        q = self.qid(sc.t, pid)
        self.emit(sc.t + self.ms(200, 400),
                  "sm-mta", pid, f"STARTTLS=server, relay={self.relay(c)}, "
                  + TLS_SM.replace("TLSv1.3", "TLSv1.2").replace("TLS_AES_256_GCM_SHA384",
                                                                  "ECDHE-RSA-AES256-GCM-SHA384"))
        self.emit(sc.t + 3 * SEC + self.ms(100, 900), "sm-mta", pid,
                  f"{q}: Milter: data, reject=554 5.7.1 Spam message rejected by SpamAssassin")

    def s_scanner(self, sc: Scene) -> None:
        c = sc.client
        pid = self.pids.new()
        q = self.qid(sc.t, pid)
        t = sc.t + self.ms(100, 700)
        kind = sc.note
        if kind == "pregreet":
            self.emit(t, "sm-mta", pid, f"{q}: rejecting commands from  {self.relay(c)} due to "
                      "pre-greeting traffic after 0 seconds")
        elif kind == "dnsbl":
            self.emit(t, "sm-mta", pid, f"ruleset=check_relay, arg1=[{c.ip}], arg2={c.ip}, "
                      f"relay={self.relay(c)}, reject=550 5.7.1 Rejected: {c.ip} listed at "
                      "zen.spamhaus.org")
        elif kind == "http":
            self.emit(t, "sm-mta", pid, f"{q}: {self.relay(c)} did not issue MAIL/EXPN/VRFY/ETRN "
                      "during connection to MTA")
        elif kind == "submission":
            self.emit(t, "sm-mta", pid, f"{q}: {self.relay(c)} did not issue MAIL/EXPN/VRFY/ETRN "
                      "during connection to MSA")
        elif kind == "tls":
            self.emit(t,
                      "sm-mta", pid, "STARTTLS=server, error: accept failed=-1, reason=no shared "
                      f"cipher, SSL_error=1, errno=0, retry=-1, relay={self.relay(c)}")

    def render(self, scenes: list[Scene]) -> list[tuple]:
        for sc in scenes:
            getattr(self, "s_" + sc.kind)(sc)
        return self.L.sorted()


# ---------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------

def bsd_stamp(t: int, padded: bool = False) -> str:
    d = utc(t)
    day = f"{d.day:02d}" if padded else f"{d.day:2d}"
    return f"{MONTHS[d.month - 1]} {day} {d:%H:%M:%S}"


def rfc3339_stamp(t: int) -> str:
    d = utc(t)
    return f"{d:%Y-%m-%dT%H:%M:%S}.{t % SEC:06d}+00:00"


def postfix_text(recs: list[tuple], fmt: str) -> str:
    out = []
    for t, _, prog, pid, text in recs:
        if fmt == "bsd":
            head = bsd_stamp(t)
        elif fmt == "postlog":
            head = bsd_stamp(t, padded=True)
        else:
            head = rfc3339_stamp(t)
        out.append(f"{head} {HOST} {prog}[{pid}]: {text}\n")
    return "".join(out)


def journal_text(recs: list[tuple]) -> str:
    boot = digest("boot", SEED)[:32]
    seqid = digest("seqnum", SEED)[:32]
    machine = digest("machine", SEED)[:32]
    boot_us = T0 - 9 * 86400 * SEC - 4 * 3600 * SEC      # the machine booted 9 days before
    out = []
    for i, (t, n, prog, pid, text) in enumerate(recs):
        rt = t + 35 + dnum("jlag", n) % 400                 # journald receives a moment later
        mono = rt - boot_us
        x = digest("x", n)[:16]
        prio = "4" if text.startswith("warning: ") else "6"
        comm = prog.rsplit("/", 1)[-1]
        rec = {
            "__CURSOR": f"s={seqid};i={0x2b41c + i:x};b={boot};m={mono:x};t={rt:x};x={x}",
            "__REALTIME_TIMESTAMP": str(rt),
            "__MONOTONIC_TIMESTAMP": str(mono),
            "_BOOT_ID": boot,
            "_MACHINE_ID": machine,
            "_HOSTNAME": HOST,
            "_TRANSPORT": "syslog",
            "PRIORITY": prio,
            "SYSLOG_FACILITY": "2",
            "SYSLOG_IDENTIFIER": prog,
            "SYSLOG_PID": str(pid),
            "SYSLOG_TIMESTAMP": bsd_stamp(t) + " ",
            "_PID": str(pid),
            "_UID": "0" if comm in ("master", "postscreen") else "105",
            "_GID": "0" if comm in ("master", "postscreen") else "112",
            "_COMM": comm,
            "_EXE": f"/usr/lib/postfix/sbin/{comm}",
            "_SYSTEMD_UNIT": "postfix@-.service",
            "_SOURCE_REALTIME_TIMESTAMP": str(t),
            "MESSAGE": text,
        }
        out.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
    return "".join(out)


def exim_stamp(t: int) -> str:
    return f"{utc(t):%Y-%m-%d %H:%M:%S}"


def exim_mainlog(recs: list[tuple]) -> str:
    return "".join(f"{exim_stamp(t)} [{pid}] {text}\n" for t, _, pid, text, _h, _r in recs)


def exim_rejectlog(recs: list[tuple]) -> str:
    out = []
    for t, _, pid, text, headers, reject in recs:
        if reject:
            out.append(f"{exim_stamp(t)} [{pid}] {text}\n")
            for h in headers or ():
                out.append(h + "\n")
    return "".join(out)


def exim_syslog(recs: list[tuple]) -> str:
    """Exim logging to syslog (log_file_path = syslog, syslog_duplication = false): an entry
    that goes to both logs is written once, in its reject-log form; one with header lines is
    split at the newlines into `[n\\m]` pieces (the last `[m/m]`), and rsyslog escapes the
    header continuation tabs as #011."""
    out = []
    for t, _, pid, text, headers, reject in recs:
        head = f"{bsd_stamp(t)} {HOST} exim[{pid}]: "
        entry = f"{exim_stamp(t)} [{pid}] {text}"
        if not headers:
            out.append(head + entry + "\n")
            continue
        pieces = [entry] + list(headers)
        m = len(pieces)
        for i, p in enumerate(pieces, 1):
            sep = "/" if i == m else "\\"
            out.append(f"{head}[{i}{sep}{m}] {p.replace(chr(9), '#011')}\n")
    return "".join(out)


def sendmail_text(recs: list[tuple]) -> str:
    return "".join(f"{bsd_stamp(t)} {HOST} {prog}[{pid}]: {text}\n"
                   for t, _, prog, pid, text in recs)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

def write(path: Path, text: str, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def write_gz(path: Path, text: str, name: str, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=raw, mtime=mtime, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    path.write_bytes(raw.getvalue())
    os.utime(path, (mtime, mtime))


def generate(out: Path) -> dict[str, int]:
    scenes = Planner().build()
    pf = Postfix().render(scenes)
    ex = Exim().render(scenes)
    sm = Sendmail().render(scenes)
    last = lambda recs: (recs[-1][0] // SEC) + 1  # noqa: E731 - mtime: just after the last line

    write(out / "postfix/mail.log", postfix_text(pf, "bsd"), last(pf))
    write(out / "postfix/mail-rfc3339.log", postfix_text(pf, "rfc3339"), last(pf))
    write(out / "postfix/postfix.log", postfix_text(pf, "postlog"), last(pf))
    write_gz(out / "postfix/journal.json.gz", journal_text(pf), "journal.json", last(pf))
    parts = ([r for r in pf if r[0] < ROTATE_AT[0]],
             [r for r in pf if ROTATE_AT[0] <= r[0] < ROTATE_AT[1]],
             [r for r in pf if r[0] >= ROTATE_AT[1]])
    write_gz(out / "postfix/rotated/mail.log.2.gz", postfix_text(parts[0], "bsd"), "mail.log.2",
             ROTATE_AT[0] // SEC)
    write(out / "postfix/rotated/mail.log.1", postfix_text(parts[1], "bsd"), ROTATE_AT[1] // SEC)
    write(out / "postfix/rotated/mail.log", postfix_text(parts[2], "bsd"), last(pf))

    write(out / "exim/mainlog", exim_mainlog(ex), last(ex))
    write(out / "exim/rejectlog", exim_rejectlog(ex), last(ex))
    write(out / "exim/exim-syslog.log", exim_syslog(ex), last(ex))

    write(out / "sendmail/maillog", sendmail_text(sm), last(sm))
    return {"postfix": len(pf), "exim": len(ex), "sendmail": len(sm)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="directory to write into (default: sample_logs/)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    counts = generate(a.out)
    if not a.quiet:
        for name in sorted(p for p in a.out.rglob("*") if p.is_file() and p.suffix != ".py"
                           and p.name != "README.md"):
            print(f"{name.stat().st_size:>8}  {name.relative_to(a.out)}", file=sys.stderr)
        print(f"records: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
