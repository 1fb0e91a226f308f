#!/usr/bin/env python3
"""Deterministic generator of a realistic Postfix mail log (benchmark input).

Produces BSD-syslog lines as written by rsyslog on Debian
(``Mmm dd HH:MM:SS host program[pid]: message``) for a busy MX + submission
server running postscreen, smtpd (port 25), submission smtpd (port 587), a
content filter hop (amavis-style 10024/10025), Dovecot LMTP / virtual / local
delivery and outbound smtp, plus the usual background noise (anvil, scache,
dnsblog, bounce, pickup, warnings, credential-stuffing bursts).

The simulation is a small discrete-event model: every client connection or
queued message is a "session" whose lines are scheduled on a global heap and
written in time order, so concurrent sessions interleave the way they do on a
real server while every queue id keeps a consistent, correctly ordered
lifecycle (smtpd client= -> cleanup message-id= -> qmgr from= -> delivery
agent to= lines -> qmgr removed; deferred messages are retried later with a
repeated qmgr from= line).  Process ids are stable where they are in Postfix
(postscreen, qmgr, ...) and come from per-service process pools otherwise
(an smtpd process serves a few connections, exits after 100 s idle or 100 uses).

Only documentation/reserved addresses are used: 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32 and example.com/.net/.org/.test.

Determinism: output depends only on the command line.  All randomness comes
from ``random.Random(seed)`` (Mersenne Twister, stable across CPython versions
and platforms) and only IEEE-exact float operations (+ - * /) are applied to
its output; the single transcendental table (exponential quantiles) is built
with the ``decimal`` module, which is correctly rounded everywhere.  No set or
hash order, wall clock, locale or time zone is consulted.

Usage::

    python benchmarks/generate.py --lines 1000000 --out benchmarks/data/postfix-1M.log
    python benchmarks/generate.py --lines 5000000 --out benchmarks/data/postfix-5M.log \
        --seed 1 --start 2025-12-30T00:00:00 --host mx1

Standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal, getcontext
from heapq import heappop, heappush
from itertools import count

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EPOCH = datetime(1970, 1, 1)

# Average output rate (lines per second of simulated time).  5M lines span
# about 3.5 days, 1M lines about 19 hours (traffic follows a day/night curve).
DEFAULT_RATE = 16.0
NEW_YEAR = datetime(2026, 1, 1)
DEFAULT_START = datetime(2025, 12, 30)

# Relative traffic per hour of day (local time of the log); normalised below.
DIURNAL = (0.55, 0.5, 0.47, 0.46, 0.48, 0.55, 0.7, 0.9, 1.15, 1.35, 1.45,
           1.45, 1.35, 1.35, 1.45, 1.45, 1.4, 1.25, 1.1, 1.0, 0.9, 0.8,
           0.7, 0.6)

MS = 1
SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR

SMTPD_MAX_IDLE = 100 * SEC
MAX_QUEUE_LIFETIME = 5 * DAY

SERVER_V4 = "198.51.100.10"
SERVER_V6 = "2001:db8:10::25"

# ---------------------------------------------------------------------------
# Static vocabularies
# ---------------------------------------------------------------------------

FIRST_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
    "trent", "victor", "walter", "wendy", "xavier", "yvonne", "zoe", "adam",
    "beth", "chris", "diana", "emma", "felix", "gina", "hank", "iris", "jack",
    "kate", "liam", "mia", "noah", "oscar", "paula", "quinn", "rosa", "sam",
    "tina", "umar", "vera", "will", "xena", "yusuf", "zara", "anna", "ben",
    "clara", "dan", "eva", "finn", "greta", "hugo", "ines", "jonas", "karl",
    "lena", "max", "nina", "otto", "pia", "ralf", "sara", "tom", "uwe",
    "vincent", "wanda", "yann", "zeno", "amir", "bianca", "cedric", "dora",
    "elias", "fatima", "georg", "hanna", "igor", "jana", "kevin", "laura",
    "marco", "nadia", "olaf", "petra", "raj", "sofia", "theo", "ulla",
)
LAST_NAMES = (
    "smith", "jones", "miller", "brown", "meyer", "schmidt", "garcia",
    "martin", "rossi", "novak", "kowalski", "nguyen", "tanaka", "silva",
    "olsen", "berg", "dubois", "weber", "fischer", "wagner", "becker",
)
ROLE_ACCOUNTS = ("info", "sales", "support", "billing", "office", "jobs",
                 "postmaster", "abuse", "hr", "press", "accounting", "admin")
ORG_WORDS = (
    "acme", "globex", "initech", "umbrella", "hooli", "vandelay", "wayne",
    "stark", "wonka", "tyrell", "cyberdyne", "soylent", "aperture", "oscorp",
    "dunder", "northwind", "contoso", "fabrikam", "tailspin", "wingtip",
    "litware", "proseware", "lucerne", "blueyonder", "margie", "adatum",
    "alpine", "coho", "fourthcoffee", "woodgrove", "humongous", "treyresearch",
    "wideworld", "relecloud", "munson", "bellows", "zenith", "halcyon",
    "pinnacle", "meridian", "summit", "keystone", "redwood", "bluebird",
    "silverline", "ironbark", "lakeside", "harbor", "crescent", "sterling",
)
LIST_WORDS = ("news", "lists", "mail", "info", "notify", "updates", "em",
              "mailer", "bounce", "shop", "billing", "alerts")
SPAM_WORDS = ("promo", "deal", "offer", "win", "crypto", "pharma", "loan",
              "bonus", "casino", "invest", "prize", "dating", "seo", "leads")
BOT_HELOS = ("User", "ylmf-pc", "localhost", "WIN-3KJ4H2L1M0", "ADMIN",
             "[192.0.2.45]", "mail", "smtp", "example.com", "EHLO", "win10",
             "DESKTOP-7Q2K9LM", "vps", "server", "host", "ubuntu")
HTTP_PROBES = ("GET / HTTP/1.1", "GET / HTTP/1.0", "POST / HTTP/1.1",
               "GET /favicon.ico HTTP/1.1", "CONNECT 192.0.2.1:80 HTTP/1.0",
               "\\026\\003\\001\\002\\000\\001\\000\\001\\374\\003\\003",
               "HEAD / HTTP/1.0", "OPTIONS / RTSP/1.0")
DNSBLS = (("zen.spamhaus.org", ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.11")),
          ("b.barracudacentral.org", ("127.0.0.2",)),
          ("bl.spamcop.net", ("127.0.0.2",)),
          ("psbl.surriel.com", ("127.0.0.2",)),
          ("bl.mailspike.net", ("127.0.0.10", "127.0.0.11")))

TLS_IN = (
    ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
     "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
     "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
     "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange "
     "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_CHACHA20_POLY1305_SHA256 (256/256 bits) "
     "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
    "TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)",
)
TLS_OUT = (
    ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
     "X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange "
     "X25519 server-signature ECDSA (P-256) server-digest SHA256"),
    ("TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange "
     "X25519 server-signature RSA-PSS (4096 bits) server-digest SHA256"),
    "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
)
TLS_TRUST_OUT = ("Trusted", "Trusted", "Verified", "Untrusted", "Untrusted",
                 "Anonymous")

DEFER_REASONS = (
    # (dsn, relay_is_none, template) -- %(h)s host, %(i)s ip, %(r)s rcpt
    ("4.4.1", True, "connect to %(h)s[%(i)s]:25: Connection timed out"),
    ("4.4.1", True, "connect to %(h)s[%(i)s]:25: Connection refused"),
    ("4.4.2", False, "lost connection with %(h)s[%(i)s] while receiving the initial server greeting"),
    ("4.7.1", False, "host %(h)s[%(i)s] said: 450 4.7.1 <%(r)s>: Recipient address rejected: Greylisted, see https://greylist.example.org/ (in reply to RCPT TO command)"),
    ("4.7.0", False, "host %(h)s[%(i)s] said: 421 4.7.0 Try again later, closing connection. (in reply to end of DATA command)"),
    ("4.2.2", False, "host %(h)s[%(i)s] said: 452 4.2.2 <%(r)s>: Mailbox full (in reply to RCPT TO command)"),
    ("4.4.3", True, "Host or domain name not found. Name service error for name=%(d)s type=MX: Host not found, try again"),
)
BOUNCE_REASONS = (
    ("5.1.1", "host %(h)s[%(i)s] said: 550 5.1.1 <%(r)s>: Recipient address rejected: User unknown (in reply to RCPT TO command)"),
    ("5.1.1", "host %(h)s[%(i)s] said: 550 5.1.1 <%(r)s>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"),
    ("5.2.1", "host %(h)s[%(i)s] said: 550 5.2.1 The email account that you tried to reach is disabled. (in reply to RCPT TO command)"),
    ("5.7.1", "host %(h)s[%(i)s] said: 554 5.7.1 Message rejected due to content restrictions (in reply to end of DATA command)"),
    ("5.2.2", "host %(h)s[%(i)s] said: 552 5.2.2 <%(r)s>: Mailbox quota exceeded (in reply to RCPT TO command)"),
)
SASL_FAIL = (
    ("LOGIN", "UGFzc3dvcmQ6"), ("LOGIN", "UGFzc3dvcmQ6"), ("LOGIN", "UGFzc3dvcmQ6"),
    ("PLAIN", ""), ("PLAIN", ""), ("LOGIN", "VXNlcm5hbWU6"),
    ("PLAIN", "authentication failure"),
)


def fmt_tv(ms: int) -> str:
    """Postfix format_tv(sec, usec, sig_dig=2, max_dig=2) for a duration in ms."""
    sec, rem = divmod(ms, 1000)
    usec = rem * 1000
    ures = 10000
    if sec > 0:
        n = 1
        while sec >= n and n <= 10:
            n *= 10
        ures = 10000 * n
    usec += ures // 2
    if usec >= 1000000:
        sec += 1
        usec -= 1000000
    s = str(sec)
    if usec >= ures:
        digits = []
        n = 100000
        while usec >= ures and n > 0:
            digits.append("0123456789"[usec // n])
            usec %= n
            n //= 10
        s += "." + "".join(digits)
    return s


_TV = [fmt_tv(i) for i in range(10000)]


def tv(ms: int) -> str:
    if ms < 10000:
        return _TV[ms]
    return str((ms + 500) // 1000)


def exp_table(n: int = 2048) -> list:
    """Quantiles of Exp(1) in 1/1000 units, computed with correctly rounded decimal."""
    getcontext().prec = 28
    out = []
    for i in range(n):
        p = Decimal(2 * i + 1) / Decimal(2 * n)
        q = -((Decimal(1) - p).ln()) * 1000
        out.append(int(q.to_integral_value()))
    return out


class Proc:
    __slots__ = ("tag", "uses", "max_use")

    def __init__(self, tag, max_use):
        self.tag = tag
        self.uses = 0
        self.max_use = max_use


class Pool:
    """Per-service process pool: reuse an idle process, else fork a new pid."""

    __slots__ = ("sim", "prog", "free", "cnt", "max_idle", "max_use")

    def __init__(self, sim, prog, max_idle=SMTPD_MAX_IDLE, max_use=100):
        self.sim = sim
        self.prog = prog
        self.free = []
        self.cnt = count()
        self.max_idle = max_idle
        self.max_use = max_use

    def get(self, t):
        free = self.free
        max_idle = self.max_idle
        while free and free[0][0] <= t:
            fa, _, p = heappop(free)
            if t - fa <= max_idle:
                return p
        return Proc("%s[%d]: " % (self.prog, self.sim.new_pid()), self.max_use)

    def put(self, p, t_end):
        p.uses += 1
        if p.uses < p.max_use:
            heappush(self.free, (t_end, next(self.cnt), p))


class Host:
    """A remote SMTP client or server."""

    __slots__ = ("name", "ip", "v6", "nameip", "bip", "helo", "domain",
                 "rev_ok", "kind", "mx_reply")

    def __init__(self, name, ip, helo=None, domain="", rev_ok=True, kind=0):
        self.name = name
        self.ip = ip
        self.v6 = ":" in ip
        self.nameip = "%s[%s]" % (name, ip)
        self.bip = "[%s]" % ip
        self.helo = helo or (name if name != "unknown" else "[%s]" % ip)
        self.domain = domain
        self.rev_ok = rev_ok
        self.kind = kind
        self.mx_reply = 0


class Sim:
    def __init__(self, seed: int, start: datetime, host: str, rate: float):
        self.r = random.Random(seed)
        self.rnd = self.r.random
        self.bits = self.r.getrandbits
        self.heap = []
        self.cnt = count()
        self.host = host
        self.myhostname = host if "." in host else host + ".example.com"
        self.local_suffix = "@" + self.myhostname
        self.t0 = int((start - EPOCH).total_seconds()) * 1000
        self.exp = [q / 1000.0 for q in exp_table()]
        norm = sum(DIURNAL) / len(DIURNAL)
        self.diurnal = [d / norm for d in DIURNAL]
        self.rate = rate
        self.pid = 900000 + int(self.rnd() * 1200000)
        self.qid_ctr = int(self.rnd() * 4000000)
        rnd = self.rnd

        # Long-running singletons.
        self.master_pid = 1000 + int(rnd() * 2000)
        self.ps = "postfix/postscreen[%d]: " % self.new_pid()
        self.qmgr = "postfix/qmgr[%d]: " % self.new_pid()
        self.anvil = "postfix/anvil[%d]: " % self.new_pid()
        self.pickup = "postfix/pickup[%d]: " % self.new_pid()
        self.pickup_since = self.t0

        # Process pools.
        self.p_smtpd = Pool(self, "postfix/smtpd")
        self.p_sub = Pool(self, "postfix/submission/smtpd")
        self.p_filt = Pool(self, "postfix/smtpd")          # 127.0.0.1:10025
        self.p_cleanup = Pool(self, "postfix/cleanup")
        self.p_smtp = Pool(self, "postfix/smtp")
        self.p_lmtp = Pool(self, "postfix/lmtp")
        self.p_virtual = Pool(self, "postfix/virtual")
        self.p_local = Pool(self, "postfix/local")
        self.p_bounce = Pool(self, "postfix/bounce")
        self.p_dnsblog = Pool(self, "postfix/dnsblog")
        self.scache = None
        self.scache_start = 0

        self.ps_cache = {}          # ip -> last postscreen PASS (ms)
        self.anvil_seen = []        # recent (service, ip) pairs for anvil stats
        self.attack_ips = []
        self._build_world()

    # -- helpers -----------------------------------------------------------

    def new_pid(self) -> int:
        rnd = self.rnd
        self.pid += 1 + int(rnd() * rnd() * 45)
        if self.pid >= 4194304:
            self.pid = 300 + int(rnd() * 5000)
        return self.pid

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def E(self, t, s):
        heappush(self.heap, (t, next(self.cnt), s))

    def later(self, t, fn, arg):
        heappush(self.heap, (t, next(self.cnt), (fn, arg)))

    def qid(self, t) -> str:
        # Postfix short queue id: 5 hex digits of microseconds + inode number.
        # The inode part is a bijective scramble of a counter, so ids are
        # unique (for 32M messages) yet look random; 10-12 characters.
        self.qid_ctr += 1
        x = self.qid_ctr & 0x1FFFFFF
        x = (x * 0x2C1B3C6D) & 0x1FFFFFF
        x ^= x >> 11
        x = (x * 0x297A2D39) & 0x1FFFFFF
        x ^= x >> 13
        usec = (t % 1000) * 1000 + int(self.rnd() * 1000)
        return "%05X%X" % (usec, x)

    def remote_qid(self, kind) -> str:
        b = self.bits
        if kind == 0:
            return "%05X%X" % (b(20) % 1000000, b(24) | 0x100000)
        if kind == 1:
            alpha = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
            v = b(80)
            s = ["4"]
            for _ in range(13):
                v, d = divmod(v, 52)
                s.append(alpha[d])
            return "".join(s)
        return "%06X" % b(24)

    def port(self) -> int:
        return 1024 + int(self.rnd() * 64511)

    def fmt_stamp(self, s: int) -> str:
        d = EPOCH + timedelta(seconds=s)
        return "%s %2d %02d:%02d:%02d" % (MONTHS[d.month - 1], d.day, d.hour,
                                          d.minute, d.second)

    def msgid(self, t, dom) -> str:
        b = self.bits
        k = self.rnd()
        if k < 0.3:
            h = "%032x" % b(128)
            return "<%s-%s-%s-%s-%s@%s>" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:], dom)
        if k < 0.5:
            return "<CA%s%s@mail.%s>" % (
                "%022X" % b(88), "%010x" % b(40), dom)
        if k < 0.65:
            return "<%016x%s.%x@%s>" % (b(64), "", b(32), dom)
        if k < 0.8:
            return "<0100%012x-%08x-%04x-%04x-%04x-%012x-000000@email.%s>" % (
                b(48), b(32), b(16), b(16), b(16), b(48), dom)
        if k < 0.9:
            return "<%s.%d.%x@%s>" % (self.stamp14(t), b(20), b(32), dom)
        return "<%x$%x$%x@%s>" % (b(40), b(32), b(24), dom)

    def stamp14(self, t) -> str:
        d = EPOCH + timedelta(milliseconds=t)
        return "%04d%02d%02d%02d%02d%02d" % (d.year, d.month, d.day, d.hour,
                                             d.minute, d.second)

    def local_msgid(self, t, qid) -> str:
        return "<%s.%s@%s>" % (self.stamp14(t), qid, self.myhostname)

    def size(self) -> int:
        rnd = self.rnd
        k = rnd()
        if k < 0.55:
            return 1800 + int(rnd() * 14000)
        if k < 0.85:
            return 8000 + int(rnd() * rnd() * 120000)
        if k < 0.97:
            return 60000 + int(rnd() * rnd() * 1500000)
        return 500000 + int(rnd() * rnd() * rnd() * 24000000)

    @staticmethod
    def disc(parts) -> str:
        ok = tot = 0
        out = []
        for name, a, b in parts:
            if b == 0:
                continue
            ok += a
            tot += b
            out.append("%s=%d" % (name, a) if a == b else "%s=%d/%d" % (name, a, b))
        out.append("commands=%d" % ok if ok == tot else "commands=%d/%d" % (ok, tot))
        return " ".join(out)

    # -- world -------------------------------------------------------------

    def _build_world(self):
        rnd = self.rnd
        pick = self.pick

        # Local mailboxes (example.com via Dovecot LMTP, corp.example.com via
        # virtual(8)); Zipf-ish popularity through repetition.
        users = []
        for i, fn in enumerate(FIRST_NAMES):
            if i % 3 == 0:
                users.append("%s.%s" % (fn, LAST_NAMES[i % len(LAST_NAMES)]))
            else:
                users.append(fn)
        self.users = users
        weighted = []
        for i, u in enumerate(users):
            dom = "corp.example.com" if i % 7 == 3 else "example.com"
            addr = "%s@%s" % (u, dom)
            weighted.extend([addr] * (1 + 40 // (i + 1)))
        self.local_rcpts = weighted
        self.local_senders = [a for a in weighted if a.endswith("@example.com")]
        self.roles = {}
        for j, role in enumerate(ROLE_ACCOUNTS):
            self.roles["%s@example.com" % role] = "%s@example.com" % users[j * 5 % len(users)]
        self.role_list = sorted(self.roles)
        self.unknown_locals = ["%s@example.com" % w for w in (
            "john", "mary", "michael", "sales1", "test", "webmaster", "david",
            "jennifer", "robert", "contact", "marketing", "newsletter", "root",
            "service", "finance", "ceo", "it", "helpdesk", "enquiries", "paul")]

        # Remote domains with their MX hosts (203.0.113.0/24 or 2001:db8:4::/48).
        v4 = list(range(2, 255))
        self.r.shuffle(v4)
        v4_iter = iter(v4)
        domains = []
        for i, w in enumerate(ORG_WORDS):
            tld = "example.net" if i % 2 == 0 else "example.org"
            domains.append("%s.%s" % (w, tld))
        domains += ["freemail.example.net", "webmail.example.org",
                    "bigmail.example.net", "example.net", "example.org",
                    "isp.example.net", "uni.example.org", "gov.example.org"]
        self.remote_domains = domains
        mx = {}
        mx_hosts = []
        for i, d in enumerate(domains):
            n_mx = 2 if i % 3 == 0 else 1
            hosts = []
            for k in range(n_mx):
                if (i + k) % 5 == 4:
                    ip = "2001:db8:4:%x::%x" % (i + 1, k + 25)
                else:
                    ip = "203.0.113.%d" % next(v4_iter)
                h = Host("mx%d.%s" % (k + 1, d) if n_mx > 1 else "mx.%s" % d, ip,
                         domain=d, kind=i % 3)
                hosts.append(h)
                mx_hosts.append(h)
            mx[d] = hosts
        self.mx = mx
        # Popular domains get more traffic.
        self.rdom_weighted = []
        for i, d in enumerate(domains):
            w = 1 + (12 if d in ("freemail.example.net", "webmail.example.org",
                                 "bigmail.example.net") else 0) + (3 if i < 10 else 0)
            self.rdom_weighted.extend([d] * w)

        # Legit sending MTAs.  Big providers use many outbound hosts.
        senders = []
        for i, d in enumerate(domains):
            big = d in ("freemail.example.net", "webmail.example.org", "bigmail.example.net")
            n = 12 if big else 1
            for k in range(n):
                if big:
                    name = "mail-%s%d-f%d.%s" % (pick(("ej", "wr", "pf", "ot", "qk")),
                                                 1 + int(rnd() * 9), 10 + int(rnd() * 190), d)
                    if k % 3 == 0:
                        ip = "2001:db8:4860:%x::%x" % (i + 1, 0x100 + k)
                    else:
                        ip = "203.0.113.%d" % next(v4_iter, 250 - k)
                else:
                    name = "mail.%s" % d if i % 2 else "smtp-out.%s" % d
                    ip = "203.0.113.%d" % next(v4_iter, 100 + i)
                senders.append(Host(name, ip, domain=d, kind=(i + k) % 3))
        # ESPs / newsletter senders (many domains, VERP senders).
        esp = []
        for k in range(16):
            name = "o%d.mta%d.esp.example.org" % (k + 1, 1 + k % 4)
            ip = "2001:db8:5e::%x" % (0x10 + k) if k % 4 == 0 else "203.0.113.%d" % next(v4_iter, 200 + k)
            esp.append(Host(name, ip, domain="esp.example.org", kind=2))
        self.esp = esp
        self.senders = senders
        self.sender_weighted = []
        for h in senders:
            w = 3 if h.domain in ("freemail.example.net", "webmail.example.org",
                                  "bigmail.example.net") else 1
            self.sender_weighted.extend([h] * w)

        # Bots / spammers: 192.0.2.0/24 and 2001:db8:bad::/48.
        bots = []
        for i in range(1, 255):
            ip = "192.0.2.%d" % i
            k = rnd()
            if k < 0.55:
                h = Host("unknown", ip, helo=pick(BOT_HELOS), rev_ok=False)
            elif k < 0.8:
                h = Host("%d-%d-%d-%d.dyn.%s" % (192, 0, 2, i, pick(("example.net", "example.org"))),
                         ip, helo=pick(BOT_HELOS))
            else:
                h = Host("unknown", ip, helo=pick(BOT_HELOS), rev_ok=False)
                h.domain = "host-%d.%s" % (i, pick(("broadband.example.net", "vps.example.org",
                                                     "cloud.example.net")))
            bots.append(h)
        for i in range(120):
            ip = "2001:db8:bad:%x::%x" % (int(rnd() * 0xffff), 1 + int(rnd() * 0xfff))
            bots.append(Host("unknown", ip, helo=pick(BOT_HELOS), rev_ok=False))
        self.bots = bots
        self.attackers = bots[190:230] + bots[-10:]

        # Submission clients of our users.
        subs = []
        for i in range(20, 31):
            subs.append(Host("gw%d.office.example.com" % (i - 19), "198.51.100.%d" % i))
        for i in range(100, 220):
            if i % 3 == 0:
                subs.append(Host("unknown", "198.51.100.%d" % i, helo="[192.168.1.%d]" % (i % 250)))
            else:
                subs.append(Host("cpe-198-51-100-%d.res.example.net" % i, "198.51.100.%d" % i,
                                 helo=pick(("[192.168.1.23]", "[10.0.0.5]", "laptop.localdomain",
                                            "[127.0.0.1]", "DESKTOP-%d" % i))))
        for i in range(40):
            subs.append(Host("unknown", "2001:db8:c0ff:%x::%x" % (int(rnd() * 0xffff),
                                                                 1 + int(rnd() * 0xffff)),
                             helo="[IPv6:2001:db8:c0ff::1]"))
        self.sub_clients = subs

    # -- addresses ---------------------------------------------------------

    def remote_addr(self, dom=None):
        rnd = self.rnd
        if dom is None:
            dom = self.pick(self.rdom_weighted)
        k = rnd()
        if k < 0.5:
            return "%s.%s@%s" % (self.pick(FIRST_NAMES), self.pick(LAST_NAMES), dom)
        if k < 0.75:
            return "%s@%s" % (self.pick(FIRST_NAMES), dom)
        if k < 0.9:
            return "%s@%s" % (self.pick(("noreply", "no-reply", "info", "newsletter",
                                         "notifications", "support", "orders")), dom)
        return "%s%d@%s" % (self.pick(FIRST_NAMES), int(rnd() * 1000), dom)

    def verp_addr(self):
        b = self.bits
        return "bounces+%d-%x-%s=example.com@%s.%s" % (
            b(20), b(16), self.pick(self.users)[:8], self.pick(LIST_WORDS),
            self.pick(self.remote_domains))

    def spam_addr(self):
        rnd = self.rnd
        k = rnd()
        if k < 0.4:
            return "%s%d@%s%d.example.test" % (self.pick(FIRST_NAMES), int(rnd() * 100),
                                               self.pick(SPAM_WORDS), int(rnd() * 500))
        if k < 0.6:
            return self.pick(self.local_senders)   # forged local sender
        if k < 0.8:
            return "%x@%s-%s.example.test" % (self.bits(32), self.pick(SPAM_WORDS),
                                              self.pick(ORG_WORDS))
        return self.remote_addr()

    def local_rcpt(self):
        """Returns (to, orig_to or None, transport)."""
        rnd = self.rnd
        if rnd() < 0.1:
            orig = self.pick(self.role_list)
            to = self.roles[orig]
        else:
            orig = None
            to = self.pick(self.local_rcpts)
        return to, orig

    # -- delivery ----------------------------------------------------------

    def deliver_local(self, t, qid, to, orig, arrival, a_ms):
        """One local delivery (LMTP to Dovecot, or virtual(8)).  Returns end time."""
        rnd = self.rnd
        b = int(rnd() * rnd() * 25)
        if to.endswith(self.local_suffix):
            pool = self.p_local
            c = 0
            d = 2 + int(rnd() * rnd() * 40)
            p = pool.get(t)
            t_end = t + b + c + d
            relay = "local"
            status = "sent (delivered to mailbox)"
        elif to.endswith("@corp.example.com"):
            pool = self.p_virtual
            c = 0
            d = 2 + int(rnd() * rnd() * 80)
            p = pool.get(t)
            t_end = t + b + c + d
            relay = "virtual"
            status = "sent (delivered to maildir)"
        else:
            pool = self.p_lmtp
            c = int(rnd() * 4)
            d = 8 + int(rnd() * rnd() * 400)
            p = pool.get(t)
            t_end = t + b + c + d
            relay = "%s[private/dovecot-lmtp]" % self.myhostname
            status = "sent (250 2.0.0 <%s> %s Saved)" % (to, self._dovecot_id())
        total = t_end - arrival
        delays = "%s/%s/%s/%s" % (tv(a_ms), tv(b + max(0, t - arrival - a_ms)), tv(c), tv(d))
        if orig:
            self.E(t_end, "%s%s: to=<%s>, orig_to=<%s>, relay=%s, delay=%s, delays=%s, dsn=2.0.0, status=%s\n"
                   % (p.tag, qid, to, orig, relay, tv(total), delays, status))
        else:
            self.E(t_end, "%s%s: to=<%s>, relay=%s, delay=%s, delays=%s, dsn=2.0.0, status=%s\n"
                   % (p.tag, qid, to, relay, tv(total), delays, status))
        pool.put(p, t_end)
        return t_end

    def _dovecot_id(self):
        b = self.bits(128)
        alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        out = []
        for _ in range(22):
            b, d = divmod(b, 64)
            out.append(alpha[d])
        return "".join(out)

    def remote_reply(self, h, qid_hint):
        kind = h.kind
        if kind == 0:
            return "250 2.0.0 Ok: queued as %s" % self.remote_qid(self.bits(1))
        if kind == 1:
            return "250 2.0.0 OK  %d %s - gsmtp" % (
                1767000000 + self.bits(22), "%x%xsi%d.%d" % (self.bits(44), self.bits(16),
                                                            self.bits(20), self.bits(8)))
        return "250 2.6.0 <%s> [InternalId=%d, Hostname=%s] Queued mail for delivery" % (
            qid_hint, self.bits(44), "MBX%02d.%s" % (self.bits(5), h.domain))

    def deliver_remote(self, t, qid, rcpts, arrival, a_ms, msg):
        """Deliver rcpts (all in one domain) via smtp.  Returns (t_end, deferred list)."""
        rnd = self.rnd
        dom = rcpts[0][0].split("@", 1)[1]
        hosts = self.mx[dom]
        fate = msg.get(dom)
        p = self.p_smtp.get(t)
        tag = p.tag
        b = int(rnd() * rnd() * 40)
        tq = t + b
        deferred = []
        E = self.E
        if fate is None:
            k = rnd()
            if k < 0.025:
                fate = ("defer", 1 + int(rnd() * 3) if rnd() < 0.7 else 1000,
                        int(rnd() * len(DEFER_REASONS)))
            elif k < 0.035:
                fate = ("bounce", int(rnd() * len(BOUNCE_REASONS)))
            else:
                fate = ("ok",)
            msg[dom] = fate
        h = hosts[0] if len(hosts) == 1 or rnd() < 0.8 else hosts[1]
        if fate[0] == "defer":
            tries = msg.setdefault("tries", {})
            n = tries.get(dom, 0)
            tries[dom] = n + 1
            if n < fate[1]:
                dsn, relay_none, tmpl = DEFER_REASONS[fate[2]]
                if relay_none:
                    c = 30000 if "timed out" in tmpl else 5 + int(rnd() * 60)
                    if len(hosts) > 1 and "timed out" in tmpl:
                        # first MX fails separately, the final reason names the last one
                        E(tq + c, "%sconnect to %s[%s]:25: Connection timed out\n"
                          % (tag, hosts[0].name, hosts[0].ip))
                        h = hosts[1]
                        c *= 2
                    d = 0
                else:
                    c = 40 + int(rnd() * 600)
                    d = 20 + int(rnd() * 300)
                t_end = tq + c + d
                for rcpt, orig in rcpts:
                    reason = tmpl % {"h": h.name, "i": h.ip, "r": rcpt, "d": dom}
                    relay = "none" if relay_none else "%s[%s]:25" % (h.name, h.ip)
                    E(t_end, "%s%s: to=<%s>, relay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, status=deferred (%s)\n"
                      % (tag, qid, rcpt, relay, tv(t_end - arrival), tv(a_ms),
                         tv(max(0, t - arrival - a_ms) + b), tv(c), tv(d), dsn, reason))
                    deferred.append((rcpt, orig))
                self.p_smtp.put(p, t_end)
                return t_end, deferred
        if h.v6 and rnd() < 0.05:
            # IPv6 route problems are common; falls back to the next address
            E(tq + 2, "%sconnect to %s[%s]:25: Network is unreachable\n" % (tag, h.name, h.ip))
            if len(hosts) > 1:
                h = hosts[0] if h is hosts[1] else hosts[1]
        c = 60 + int(rnd() * rnd() * 900)
        reuse = rnd() < 0.1
        if not reuse:
            E(tq + c - 5, "%s%s TLS connection established to %s[%s]:25: %s\n"
              % (tag, self.pick(TLS_TRUST_OUT), h.name, h.ip, self.pick(TLS_OUT)))
        t_cur = tq + c
        relay = "%s[%s]:25" % (h.name, h.ip)
        if reuse:
            relay += ", conn_use=%d" % (2 + int(rnd() * 4))
        for rcpt, orig in rcpts:
            d = 50 + int(rnd() * rnd() * 1500) + msg["size"] // 20000
            t_cur += d
            ds = "%s/%s/%s/%s" % (tv(a_ms), tv(max(0, t - arrival - a_ms) + b), tv(c), tv(d))
            if fate[0] == "bounce":
                dsn, tmpl = BOUNCE_REASONS[fate[1]]
                status = "bounced (%s)" % (tmpl % {"h": h.name, "i": h.ip, "r": rcpt})
                msg.setdefault("bounced", []).append(rcpt)
            else:
                dsn = "2.0.0"
                status = "sent (%s)" % self.remote_reply(h, msg["mid"][1:-1])
            if orig:
                E(t_cur, "%s%s: to=<%s>, orig_to=<%s>, relay=%s, delay=%s, delays=%s, dsn=%s, status=%s\n"
                  % (tag, qid, rcpt, orig, relay, tv(t_cur - arrival), ds, dsn, status))
            else:
                E(t_cur, "%s%s: to=<%s>, relay=%s, delay=%s, delays=%s, dsn=%s, status=%s\n"
                  % (tag, qid, rcpt, relay, tv(t_cur - arrival), ds, dsn, status))
        self.p_smtp.put(p, t_cur)
        return t_cur, deferred

    def queue_message(self, t_active, qid, msg):
        """qmgr from= (queue active) followed by all deliveries; schedules retries."""
        E = self.E
        rnd = self.rnd
        arrival = msg["arrival"]
        E(t_active, "%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)\n"
          % (self.qmgr, qid, msg["from"], msg["size"], msg["nrcpt"]))
        a_ms = msg.setdefault("a_ms", max(0, t_active - arrival))
        t_last = t_active
        pending = msg["pending"]
        msg["pending"] = []
        by_dom = {}
        order = []
        for rc in pending:
            rcpt = rc[0]
            if rc[2] == "local":
                t_d = t_active + 1 + int(rnd() * 6)
                t_end = self.deliver_local(t_d, qid, rcpt, rc[1], arrival, a_ms)
                if t_end > t_last:
                    t_last = t_end
            elif rc[2] == "filter":
                t_end = self.content_filter(t_active + 1, qid, rc, msg)
                if t_end > t_last:
                    t_last = t_end
            else:
                dom = rcpt.split("@", 1)[1]
                if dom not in by_dom:
                    by_dom[dom] = []
                    order.append(dom)
                by_dom[dom].append((rcpt, rc[1]))
        for dom in order:
            t_d = t_active + 1 + int(rnd() * 8)
            t_end, deferred = self.deliver_remote(t_d, qid, by_dom[dom], arrival, a_ms, msg)
            for rcpt, orig in deferred:
                msg["pending"].append((rcpt, orig, "remote"))
            if t_end > t_last:
                t_last = t_end
        bounced = msg.pop("bounced", None)
        if bounced:
            t_last = self.bounce_notice(t_last + 3 + int(rnd() * 20), qid, msg["from"])
        if msg["pending"]:
            # Postfix backoff: 300s doubling up to 4000s, picked up on queue runs.
            n = msg.get("retries", 0)
            msg["retries"] = n + 1
            back = min(300 * SEC << n, 4000 * SEC)
            t_next = t_last + back + int(rnd() * 300 * SEC)
            if t_next - arrival >= MAX_QUEUE_LIFETIME:
                self.later(arrival + MAX_QUEUE_LIFETIME + int(rnd() * 300 * SEC), self.cb_expire, (qid, msg))
            else:
                self.later(t_next, self.cb_retry, (qid, msg))
        else:
            E(t_last + 1 + int(rnd() * 4), "%s%s: removed\n" % (self.qmgr, qid))

    def cb_retry(self, t, arg):
        qid, msg = arg
        rnd = self.rnd
        if rnd() < 0.25 and msg.get("dead"):
            # qmgr's dead-site cache: deferred without contacting the host
            self.E(t, "%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)\n"
                   % (self.qmgr, qid, msg["from"], msg["size"], msg["nrcpt"]))
            for rcpt, orig, _ in msg["pending"]:
                dom = rcpt.split("@", 1)[1]
                h = self.mx[dom][0]
                self.E(t + 1, "%s%s: to=<%s>, relay=none, delay=%s, delays=%s/%s/0/0, dsn=4.4.1, "
                       "status=deferred (delivery temporarily suspended: connect to %s[%s]:25: "
                       "Connection timed out)\n"
                       % (self.qmgr, qid, rcpt, tv(t + 1 - msg["arrival"]), tv(msg["a_ms"]),
                          tv(t + 1 - msg["arrival"] - msg["a_ms"]), h.name, h.ip))
            n = msg.get("retries", 0)
            msg["retries"] = n + 1
            t_next = t + 4000 * SEC + int(rnd() * 300 * SEC)
            if t_next - msg["arrival"] >= MAX_QUEUE_LIFETIME:
                self.later(msg["arrival"] + MAX_QUEUE_LIFETIME + int(rnd() * 300 * SEC),
                           self.cb_expire, (qid, msg))
            else:
                self.later(t_next, self.cb_retry, (qid, msg))
            return
        self.queue_message(t, qid, msg)

    def cb_expire(self, t, arg):
        qid, msg = arg
        E = self.E
        rnd = self.rnd
        E(t, "%s%s: from=<%s>, size=%d, nrcpt=%d (queue active)\n"
          % (self.qmgr, qid, msg["from"], msg["size"], msg["nrcpt"]))
        E(t + 2, "%s%s: from=<%s>, status=expired, returned to sender\n" % (self.qmgr, qid, msg["from"]))
        t_last = t + 3
        if msg["from"]:
            t_last = self.bounce_notice(t + 5 + int(rnd() * 30), qid, msg["from"])
        E(t_last + 1 + int(rnd() * 4), "%s%s: removed\n" % (self.qmgr, qid))

    def bounce_notice(self, t, qid, sender):
        """bounce(8) non-delivery notification and its own lifecycle."""
        if not sender:
            return t
        rnd = self.rnd
        E = self.E
        nid = self.qid(t)
        cl = self.p_cleanup.get(t)
        E(t, "%s%s: message-id=%s\n" % (cl.tag, nid, self.local_msgid(t, nid)))
        self.p_cleanup.put(cl, t + 5)
        bp = self.p_bounce.get(t)
        t1 = t + 2 + int(rnd() * 10)
        E(t1, "%s%s: sender non-delivery notification: %s\n" % (bp.tag, qid, nid))
        self.p_bounce.put(bp, t1 + 1)
        size = 2500 + int(rnd() * 6000)
        msg = {"arrival": t, "from": "", "size": size, "nrcpt": 1, "mid": "<x>"}
        dom = sender.rsplit("@", 1)[-1]
        if dom in ("example.com", "corp.example.com", self.myhostname):
            msg["pending"] = [(sender, None, "local")]
        elif "@" in sender:
            msg["pending"] = [(sender, None, "remote")]
            msg["dead"] = True
        else:
            msg["pending"] = [("%s@%s" % (sender, self.myhostname), None, "local")]
        t_act = t1 + 2 + int(rnd() * 20)
        self.queue_message(t_act, nid, msg)
        return t1 + 1

    def content_filter(self, t, qid, rc, msg):
        """Hop through the amavis-style filter at 127.0.0.1:10024 -> 10025."""
        rnd = self.rnd
        E = self.E
        rcpts = rc[1]        # list of (to, orig) going through the filter
        p = self.p_smtp.get(t)
        c = 1 + int(rnd() * 3)
        scan = 300 + int(rnd() * 2500) + msg["size"] // 5000
        ts = t + c + scan
        # Reinjection via smtpd on 127.0.0.1:10025.
        fp = self.p_filt.get(ts - 40)
        E(ts - 40, "%sconnect from localhost[127.0.0.1]\n" % fp.tag)
        nid = self.qid(ts - 30)
        E(ts - 30, "%s%s: client=localhost[127.0.0.1]\n" % (fp.tag, nid))
        cl = self.p_cleanup.get(ts - 28)
        E(ts - 28, "%s%s: message-id=%s\n" % (cl.tag, nid, msg["mid"]))
        self.p_cleanup.put(cl, ts - 10)
        t_act = ts - 8
        E(ts + 3, "%sdisconnect from localhost[127.0.0.1] %s\n" % (
            fp.tag, self.disc((("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", len(rcpts), len(rcpts)),
                               ("data", 1, 1), ("quit", 1, 1)))))
        self.p_filt.put(fp, ts + 3)
        t_cur = ts
        a_ms = msg["a_ms"]
        arrival = msg["arrival"]
        for to, orig in rcpts:
            t_cur += 1
            ds = "%s/%s/%s/%s" % (tv(a_ms), tv(max(0, t - arrival - a_ms)), tv(c), tv(scan))
            st = "sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as %s)" % nid
            if orig:
                E(t_cur, "%s%s: to=<%s>, orig_to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, delay=%s, delays=%s, dsn=2.0.0, status=%s\n"
                  % (p.tag, qid, to, orig, tv(t_cur - arrival), ds, st))
            else:
                E(t_cur, "%s%s: to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, delay=%s, delays=%s, dsn=2.0.0, status=%s\n"
                  % (p.tag, qid, to, tv(t_cur - arrival), ds, st))
        self.p_smtp.put(p, t_cur)
        nmsg = {"arrival": ts - 30, "from": msg["from"], "size": msg["size"] + 600 + int(rnd() * 400),
                "nrcpt": len(rcpts), "mid": msg["mid"],
                "pending": [(to, None, "local") for to, orig in rcpts]}
        self.queue_message(t_act, nid, nmsg)
        return t_cur

    # -- sessions ----------------------------------------------------------

    def ps_connect(self, t, h, port):
        srv = SERVER_V6 if h.v6 else SERVER_V4
        self.E(t, "%sCONNECT from [%s]:%d to [%s]:25\n" % (self.ps, h.ip, port, srv))

    def ps_pass(self, t, h, port):
        """CONNECT + PASS NEW/OLD; returns time of the hand-off to smtpd."""
        rnd = self.rnd
        self.ps_connect(t, h, port)
        last = self.ps_cache.get(h.ip)
        if last is not None and t - last < HOUR:
            t += 1 + int(rnd() * 4)
            self.E(t, "%sPASS OLD [%s]:%d\n" % (self.ps, h.ip, port))
        else:
            t += 6000 + int(rnd() * 40)
            self.E(t, "%sPASS NEW [%s]:%d\n" % (self.ps, h.ip, port))
        self.ps_cache[h.ip] = t
        return t + 1 + int(rnd() * 3)

    def sess_ps_block(self, t):
        """Bots stopped by postscreen; no smtpd involvement."""
        rnd = self.rnd
        E = self.E
        ps = self.ps
        h = self.pick(self.bots)
        port = self.port()
        self.ps_connect(t, h, port)
        ap = "[%s]:%d" % (h.ip, port)
        k = rnd()
        if k < 0.3:
            dt = 20 + int(rnd() * 900)
            greet = "EHLO %s\\r\\n" % h.helo
            E(t + dt, "%sPREGREET %d after %s from %s: %s\n" % (ps, len(h.helo) + 7, tv(dt), ap, greet))
            tt = t + 6000 + int(rnd() * 30)
            if rnd() < 0.5:
                rank = 1 + int(rnd() * 6)
                self.dnsblog(t + 40 + int(rnd() * 300), h, rank)
                E(tt, "%sDNSBL rank %d for %s\n" % (ps, rank, ap))
            if rnd() < 0.6:
                tt += 300 + int(rnd() * 2000)
                E(tt, "%sNOQUEUE: reject: RCPT from %s: 550 5.5.1 Protocol error; from=<%s>, to=<%s>, proto=ESMTP, helo=<%s>\n"
                  % (ps, ap, self.spam_addr(), self.pick(self.local_rcpts + self.unknown_locals), h.helo))
            else:
                dt = tt - t + 100 + int(rnd() * 3000)
                tt = t + dt
                E(tt, "%sHANGUP after %s from %s in tests after SMTP handshake\n" % (ps, tv(dt), ap))
            E(tt + 1, "%sDISCONNECT %s\n" % (ps, ap))
        elif k < 0.72:
            rank = 2 + int(rnd() * 7)
            self.dnsblog(t + 40 + int(rnd() * 300), h, rank)
            tt = t + 6000 + int(rnd() * 40)
            E(tt, "%sDNSBL rank %d for %s\n" % (ps, rank, ap))
            if rnd() < 0.65:
                tt += 200 + int(rnd() * 2500)
                E(tt, "%sNOQUEUE: reject: RCPT from %s: 550 5.7.1 Service unavailable; client [%s] blocked using zen.spamhaus.org; from=<%s>, to=<%s>, proto=ESMTP, helo=<%s>\n"
                  % (ps, ap, h.ip, self.spam_addr(), self.pick(self.local_rcpts + self.unknown_locals), h.helo))
            else:
                dt = tt - t + 50 + int(rnd() * 4000)
                tt = t + dt
                E(tt, "%sHANGUP after %s from %s in tests after SMTP handshake\n" % (ps, tv(dt), ap))
            E(tt + 1, "%sDISCONNECT %s\n" % (ps, ap))
        elif k < 0.84:
            dt = int(rnd() * 5800)
            E(t + dt, "%sHANGUP after %s from %s in tests before SMTP handshake\n" % (ps, tv(dt), ap))
        elif k < 0.94:
            tt = t + 6000 + int(rnd() * 40)
            E(tt, "%sNON-SMTP COMMAND from %s after CONNECT: %s\n" % (ps, ap, self.pick(HTTP_PROBES)))
            E(tt + 1, "%sDISCONNECT %s\n" % (ps, ap))
        else:
            k2 = rnd()
            tt = t + 6000 + int(rnd() * 200)
            if k2 < 0.4:
                E(tt, "%sCOMMAND PIPELINING from %s after EHLO: MAIL FROM:<%s>\\r\\n\n" % (ps, ap, self.spam_addr()))
            elif k2 < 0.6:
                E(tt, "%sBARE NEWLINE from %s after DATA\n" % (ps, ap))
            elif k2 < 0.8:
                E(t + 1, "%sDENYLISTED %s\n" % (ps, ap))
                tt = t + 2
            else:
                tt = t + 300000
                E(tt, "%sCOMMAND TIME LIMIT from %s after RCPT\n" % (ps, ap))
            E(tt + 1, "%sDISCONNECT %s\n" % (ps, ap))
        self.anvil_seen.append(("smtp", h.ip))

    def dnsblog(self, t, h, rank):
        p = self.p_dnsblog.get(t)
        lst, codes = DNSBLS[0] if rank >= 3 or self.rnd() < 0.5 else self.pick(DNSBLS)
        self.E(t, "%saddr %s listed by domain %s as %s\n" % (p.tag, h.ip, lst, self.pick(codes)))
        self.p_dnsblog.put(p, t + 1)

    def smtpd_open(self, t, pool, h, tls_p):
        """connect from (+ optional warning, TLS).  Returns (proc, t, tls)."""
        rnd = self.rnd
        p = pool.get(t)
        if not h.rev_ok and h.domain and h.name == "unknown":
            self.E(t, "%swarning: hostname %s does not resolve to address %s%s\n"
                   % (p.tag, h.domain, h.ip,
                      ": Name or service not known" if rnd() < 0.5 else ""))
        self.E(t + 1, "%sconnect from %s\n" % (p.tag, h.nameip))
        t += 1
        tls = rnd() < tls_p
        if tls:
            t += 30 + int(rnd() * rnd() * 400)
            self.E(t, "%sAnonymous TLS connection established from %s: %s\n"
                   % (p.tag, h.nameip, self.pick(TLS_IN)))
        return p, t, tls

    def sess_inbound(self, t):
        """Legitimate inbound mail through postscreen + smtpd (1..n messages)."""
        rnd = self.rnd
        E = self.E
        k = rnd()
        if k < 0.22:
            h = self.pick(self.esp)
        else:
            h = self.pick(self.sender_weighted)
        port = self.port()
        t = self.ps_pass(t, h, port)
        self.anvil_seen.append(("smtp", h.ip))
        p, t, tls = self.smtpd_open(t, self.p_smtpd, h, 0.86)
        tag = p.tag
        nmsg = 1
        if h.kind == 2 and rnd() < 0.35:
            nmsg = 2 + int(rnd() * 4)
        elif rnd() < 0.06:
            nmsg = 2
        n_mail = n_rcpt = n_rcpt_ok = n_data = n_data_ok = 0
        for m in range(nmsg):
            t += 30 + int(rnd() * rnd() * 800)
            if h in self.esp or h.kind == 2 and rnd() < 0.5:
                sender = self.verp_addr()
            else:
                sender = self.remote_addr(h.domain if "esp" not in h.domain else None)
            if rnd() < 0.015:
                # reject_warning (warn_if_reject) -- mail continues
                E(t, "%sNOQUEUE: reject_warning: RCPT from %s: 450 4.7.1 <%s>: Helo command rejected: Host not found; from=<%s> to=<%s> proto=ESMTP helo=<%s>\n"
                  % (tag, h.nameip, h.helo, sender, self.pick(self.local_rcpts), h.helo))
            nr = 1 if rnd() < 0.88 else 2 + int(rnd() * rnd() * 6)
            rcpts = []
            for _ in range(nr):
                to, orig = self.local_rcpt()
                rcpts.append((to, orig))
            n_mail += 1
            t += 20 + int(rnd() * 200)
            qid = self.qid(t)
            E(t, "%s%s: client=%s\n" % (tag, qid, h.nameip))
            arrival = t
            bad = 0
            if nr > 1 and rnd() < 0.15:
                bad = 1
                t += 5 + int(rnd() * 60)
                u = self.pick(self.unknown_locals)
                E(t, "%s%s: reject: RCPT from %s: 550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table; from=<%s> to=<%s> proto=ESMTP helo=<%s>\n"
                  % (tag, qid, h.nameip, u, sender, u, h.helo))
            n_rcpt += nr + bad
            n_rcpt_ok += nr
            n_data += 1
            size = self.size()
            t += 30 + int(rnd() * 300)
            cl = self.p_cleanup.get(t)
            mid = "<>" if rnd() < 0.01 else self.msgid(t, h.domain if rnd() < 0.8 else self.pick(self.remote_domains))
            E(t, "%s%s: message-id=%s\n" % (cl.tag, qid, mid))
            t += 20 + int(rnd() * rnd() * 1200) + size // 8000
            if rnd() < 0.045:
                # spam milter rejects at end of data; no queue manager lines
                rto = rcpts[0][1] or rcpts[0][0]
                E(t, "%s%s: milter-reject: END-OF-MESSAGE from %s: 5.7.1 Spam message rejected; from=<%s> to=<%s> proto=ESMTP helo=<%s>\n"
                  % (cl.tag, qid, h.nameip, sender, rto, h.helo))
                self.p_cleanup.put(cl, t)
                continue
            self.p_cleanup.put(cl, t)
            n_data_ok += 1
            t_act = t + 2 + int(rnd() * 10)
            msg = {"arrival": arrival, "from": sender, "size": size, "nrcpt": nr, "mid": mid}
            if rnd() < 0.12:
                msg["pending"] = [(None, rcpts, "filter")]
            else:
                msg["pending"] = [(to, orig, "local") for to, orig in rcpts]
            self.queue_message(t_act, qid, msg)
            t += 5
        k = rnd()
        t += 20 + int(rnd() * 300)
        parts = [("ehlo", 2 if tls else 1, 2 if tls else 1), ("starttls", int(tls), int(tls)),
                 ("mail", n_mail, n_mail), ("rcpt", n_rcpt_ok, n_rcpt), ("data", n_data_ok, n_data)]
        if k < 0.015:
            t += 300000
            E(t, "%stimeout after END-OF-MESSAGE from %s\n" % (tag, h.nameip))
        elif k < 0.06:
            E(t, "%slost connection after END-OF-MESSAGE from %s\n" % (tag, h.nameip))
        else:
            if nmsg > 1:
                parts.append(("rset", nmsg - 1, nmsg - 1))
            parts.append(("quit", 1, 1))
        E(t + 1, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
        self.p_smtpd.put(p, t + 1)

    def sess_inbound_reject(self, t):
        """Spam / junk that passes postscreen and is rejected by smtpd."""
        rnd = self.rnd
        E = self.E
        k = rnd()
        legit_misconf = False
        if k < 0.12:
            h = self.pick(self.senders)
            legit_misconf = True
        else:
            h = self.pick(self.bots)
        port = self.port()
        t = self.ps_pass(t, h, port)
        self.anvil_seen.append(("smtp", h.ip))
        p, t, tls = self.smtpd_open(t, self.p_smtpd, h, 0.6 if legit_misconf else 0.4)
        tag = p.tag
        ehlo = 2 if tls else 1
        parts = [("ehlo", ehlo, ehlo), ("starttls", int(tls), int(tls))]
        sender = self.remote_addr() if legit_misconf else self.spam_addr()
        helo = h.helo
        t += 50 + int(rnd() * 800)
        k = rnd()
        if k < 0.10:
            # connection drops and protocol noise
            k2 = rnd()
            if k2 < 0.35:
                what = "EHLO" if rnd() < 0.6 else "CONNECT"
                parts = [("ehlo", 1, 1)] if what == "EHLO" else []
                E(t, "%slost connection after %s from %s\n" % (tag, what, h.nameip))
            elif k2 < 0.55:
                E(t, "%sSSL_accept error from %s: lost connection\n" % (tag, h.nameip))
                E(t, "%slost connection after STARTTLS from %s\n" % (tag, h.nameip))
                parts = [("ehlo", 1, 1), ("starttls", 1, 1)]
            elif k2 < 0.7:
                E(t, "%swarning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading:../ssl/record/rec_layer_s3.c:317:\n" % tag)
                E(t, "%slost connection after STARTTLS from %s\n" % (tag, h.nameip))
                parts = [("ehlo", 1, 1), ("starttls", 1, 1)]
            elif k2 < 0.85:
                E(t, "%simproper command pipelining after EHLO from %s: MAIL FROM:<%s>\\r\\nRCPT TO:<%s>\\r\\n\n"
                  % (tag, h.nameip, sender, self.pick(self.local_rcpts)))
                parts.append(("mail", 0, 1))
            else:
                t += 300000
                E(t, "%stimeout after %s from %s\n" % (tag, self.pick(("DATA", "RCPT", "EHLO", "END-OF-MESSAGE")), h.nameip))
                parts = [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 1, 1), ("data", 0, 1)]
            E(t + 1, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
            self.p_smtpd.put(p, t + 1)
            return
        if k < 0.38 and h.name == "unknown":
            nrej = 1 + int(rnd() * rnd() * 3)
            tmpl = "450 4.7.1 Client host rejected: cannot find your hostname, [%s]" % h.ip
            rc = [self.pick(self.local_rcpts) for _ in range(nrej)]
            reasons = [tmpl] * nrej
        elif k < 0.58:
            nrej = 1 + int(rnd() * rnd() * 9)
            rc = [self.pick(self.unknown_locals) for _ in range(nrej)]
            reasons = ["550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table" % r for r in rc]
        elif k < 0.68:
            nrej = 1
            rc = [self.pick(self.local_rcpts)]
            lst = "zen.spamhaus.org" if rnd() < 0.6 else "bl.spamcop.net"
            q = ("https://www.spamhaus.org/query/ip/%s" % h.ip) if lst.startswith("zen") else \
                ("Blocked - see https://www.spamcop.net/bl.shtml?%s" % h.ip)
            reasons = ["554 5.7.1 Service unavailable; Client host [%s] blocked using %s; %s" % (h.ip, lst, q)]
        elif k < 0.79:
            nrej = 1 + int(rnd() * rnd() * 3)
            rc = [self.remote_addr() for _ in range(nrej)]
            reasons = ["454 4.7.1 <%s>: Relay access denied" % r for r in rc]
        elif k < 0.88:
            nrej = 1
            rc = [self.pick(self.local_rcpts)]
            helo = self.pick(("localhost", "User", "ylmf-pc", "WIN-3KJ4H2L1M0", "ADMIN", "mail", "win10"))
            reasons = ["504 5.5.2 <%s>: Helo command rejected: need fully-qualified hostname" % helo]
        else:
            nrej = 1
            rc = [self.pick(self.local_rcpts)]
            sender = "%s@%s%d.example.test" % (self.pick(FIRST_NAMES), self.pick(SPAM_WORDS), int(rnd() * 9000))
            reasons = ["450 4.1.8 <%s>: Sender address rejected: Domain not found" % sender]
        parts.append(("mail", 1, 1))
        errors = 0
        for i in range(nrej):
            t += 30 + int(rnd() * 400)
            E(t, "%sNOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>\n"
              % (tag, h.nameip, reasons[i], sender, rc[i], helo))
            errors += 1
            if errors >= 5:
                break
        parts.append(("rcpt", 0, errors))
        t += 20 + int(rnd() * 400)
        if errors >= 5:
            E(t, "%stoo many errors after RCPT from %s\n" % (tag, h.nameip))
        elif rnd() < 0.35:
            parts.append(("data", 0, 1))
            parts.append(("quit", 1, 1))
        elif rnd() < 0.5:
            E(t, "%slost connection after RCPT from %s\n" % (tag, h.nameip))
        else:
            parts.append(("rset", 1, 1))
            parts.append(("quit", 1, 1))
        E(t + 1, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
        self.p_smtpd.put(p, t + 1)

    def sess_submission(self, t):
        """Authenticated users on port 587 sending mail (mostly outbound)."""
        rnd = self.rnd
        E = self.E
        h = self.pick(self.sub_clients)
        self.anvil_seen.append(("submission", h.ip))
        p, t, tls = self.smtpd_open(t, self.p_sub, h, 1.0)
        tag = p.tag
        user = self.pick(self.local_senders)
        mech = "PLAIN" if rnd() < 0.8 else "LOGIN"
        t += 40 + int(rnd() * 300)
        nmsg = 1 if rnd() < 0.9 else 2 + int(rnd() * 2)
        n_rcpt = n_rcpt_ok = n_data = 0
        parts = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 1, 1)]
        if rnd() < 0.012:
            # reject_sender_login_mismatch
            other = self.pick(self.local_senders)
            if other == user:
                other = "ceo@example.com"
            rcpt = self.remote_addr()
            E(t, "%sNOQUEUE: reject: RCPT from %s: 553 5.7.1 <%s>: Sender address rejected: not owned by user %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>\n"
              % (tag, h.nameip, other, user, other, rcpt, h.helo))
            parts += [("mail", 1, 1), ("rcpt", 0, 1), ("quit", 1, 1)]
            t += 30
            E(t, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
            self.p_sub.put(p, t)
            return
        for m in range(nmsg):
            nr = 1 if rnd() < 0.78 else 2 + int(rnd() * rnd() * 8)
            pending = []
            for _ in range(nr):
                if rnd() < 0.22:
                    to, orig = self.local_rcpt()
                    pending.append((to, orig, "local"))
                else:
                    pending.append((self.remote_addr(), None, "remote"))
            n_rcpt += nr
            n_rcpt_ok += nr
            n_data += 1
            t += 40 + int(rnd() * 200)
            qid = self.qid(t)
            E(t, "%s%s: client=%s, sasl_method=%s, sasl_username=%s\n" % (tag, qid, h.nameip, mech, user))
            arrival = t
            size = self.size()
            t += 30 + int(rnd() * 200)
            cl = self.p_cleanup.get(t)
            mid = self.msgid(t, "example.com")
            E(t, "%s%s: message-id=%s\n" % (cl.tag, qid, mid))
            t += 30 + int(rnd() * rnd() * 2000) + size // 4000
            self.p_cleanup.put(cl, t)
            msg = {"arrival": arrival, "from": user, "size": size, "nrcpt": nr, "mid": mid,
                   "pending": pending}
            self.queue_message(t + 2 + int(rnd() * 10), qid, msg)
            t += 10
        parts += [("mail", nmsg, nmsg), ("rcpt", n_rcpt_ok, n_rcpt), ("data", n_data, n_data)]
        if nmsg > 1:
            parts.append(("rset", nmsg - 1, nmsg - 1))
        t += 20 + int(rnd() * 200)
        if rnd() < 0.04:
            E(t, "%slost connection after DATA from %s\n" % (tag, h.nameip))
        else:
            parts.append(("quit", 1, 1))
        E(t + 1, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
        self.p_sub.put(p, t + 1)

    def sess_auth_fail(self, t, h=None):
        """Credential stuffing attempt (one connection)."""
        rnd = self.rnd
        E = self.E
        if h is None:
            h = self.pick(self.bots)
        sub = rnd() < 0.8
        if sub:
            pool = self.p_sub
            self.anvil_seen.append(("submission", h.ip))
        else:
            pool = self.p_smtpd
            t = self.ps_pass(t, h, self.port())
            self.anvil_seen.append(("smtp", h.ip))
        p, t, tls = self.smtpd_open(t, pool, h, 0.85 if sub else 0.3)
        tag = p.tag
        ehlo = 2 if tls else 1
        parts = [("ehlo", ehlo, ehlo), ("starttls", int(tls), int(tls))]
        tries = 1 if rnd() < 0.8 else 2 + int(rnd() * 4)
        for i in range(tries):
            t += 200 + int(rnd() * 2500)
            mech, txt = self.pick(SASL_FAIL)
            E(t, "%swarning: %s: SASL %s authentication failed: %s\n" % (tag, h.nameip, mech, txt))
        t += 5 + int(rnd() * 400)
        if tries >= 3 and rnd() < 0.6:
            parts.append(("auth", 0, tries))
            E(t, "%stoo many errors after AUTH from %s\n" % (tag, h.nameip))
        elif rnd() < 0.6:
            parts.append(("auth", 0, tries))
            E(t, "%slost connection after AUTH from %s\n" % (tag, h.nameip))
        else:
            parts.append(("auth", 0, tries))
            parts.append(("quit", 1, 1))
        E(t + 1, "%sdisconnect from %s %s\n" % (tag, h.nameip, self.disc(parts)))
        pool.put(p, t + 1)

    def cb_attack(self, t, arg):
        """Burst of credential attacks from one IP (self-rescheduling)."""
        h, left = arg
        rnd = self.rnd
        if left > 20 and rnd() < 0.02:
            p = self.p_sub.get(t)
            self.E(t, "%swarning: Connection rate limit exceeded: %d from %s for service submission\n"
                   % (p.tag, 30 + int(rnd() * 40), h.nameip))
            self.p_sub.put(p, t + 1)
        self.sess_auth_fail(t, h)
        if left > 1:
            self.later(t + 1500 + int(rnd() * rnd() * 20000), self.cb_attack, (h, left - 1))
        self.attack_ips.append(h.ip)

    def cb_pickup(self, t, arg):
        """Cron mail (uid=0) and a web application (uid=33) via sendmail/pickup."""
        kind = arg
        rnd = self.rnd
        E = self.E
        if t - self.pickup_since > 100 * MIN:
            self.pickup = "postfix/pickup[%d]: " % self.new_pid()
            self.pickup_since = t
        qid = self.qid(t)
        if kind == "cron":
            E(t, "%s%s: uid=0 from=<root>\n" % (self.pickup, qid))
            sender = "root@%s" % self.myhostname
            pending = [("root@%s" % self.myhostname, "root", "alias")]
        else:
            E(t, "%s%s: uid=33 from=<www-data>\n" % (self.pickup, qid))
            sender = "www-data@%s" % self.myhostname
            if rnd() < 0.5:
                to, orig = self.local_rcpt()
                pending = [(to, orig, "local")]
            else:
                pending = [(self.remote_addr(), None, "remote")]
        cl = self.p_cleanup.get(t + 2)
        mid = self.local_msgid(t, qid)
        E(t + 2, "%s%s: message-id=%s\n" % (cl.tag, qid, mid))
        self.p_cleanup.put(cl, t + 8)
        size = 600 + int(rnd() * 4000) if kind == "cron" else 1200 + int(rnd() * 3000)
        msg = {"arrival": t, "from": sender, "size": size, "nrcpt": 1, "mid": mid}
        t_act = t + 10 + int(rnd() * 10)
        if pending[0][2] == "alias":
            # local(8) expands root -> admin@example.com and re-injects the mail
            E(t_act, "%s%s: from=<%s>, size=%d, nrcpt=1 (queue active)\n" % (self.qmgr, qid, sender, size))
            lp = self.p_local.get(t_act + 2)
            nid = self.qid(t_act + 3)
            cl2 = self.p_cleanup.get(t_act + 3)
            E(t_act + 3, "%s%s: message-id=%s\n" % (cl2.tag, nid, mid))
            self.p_cleanup.put(cl2, t_act + 5)
            t_end = t_act + 6 + int(rnd() * 10)
            E(t_end, "%s%s: to=<root@%s>, orig_to=<root>, relay=local, delay=%s, delays=%s/%s/0/%s, dsn=2.0.0, status=sent (forwarded as %s)\n"
              % (lp.tag, qid, self.myhostname, tv(t_end - t), tv(t_act - t), tv(2), tv(t_end - t_act - 2), nid))
            self.p_local.put(lp, t_end)
            E(t_end + 1, "%s%s: removed\n" % (self.qmgr, qid))
            nmsg = {"arrival": t_act + 3, "from": sender, "size": size + 200, "nrcpt": 1, "mid": mid,
                    "pending": [("admin@example.com", "root@%s" % self.myhostname, "local")]}
            self.queue_message(t_end + 2, nid, nmsg)
        else:
            msg["pending"] = pending
            self.queue_message(t_act, qid, msg)

    def cb_anvil(self, t, arg):
        rnd = self.rnd
        E = self.E
        seen = self.anvil_seen
        if seen:
            base = t - 600 * SEC
            svc, ip = seen[int(rnd() * len(seen))]
            at = self.fmt_stamp((base + int(rnd() * 600 * SEC)) // 1000)
            E(t, "%sstatistics: max connection rate %d/60s for (%s:%s) at %s\n"
              % (self.anvil, 2 + int(rnd() * rnd() * 6), svc, ip, at))
            svc, ip = seen[int(rnd() * len(seen))]
            at = self.fmt_stamp((base + int(rnd() * 600 * SEC)) // 1000)
            E(t, "%sstatistics: max connection count %d for (%s:%s) at %s\n"
              % (self.anvil, 1 + int(rnd() * rnd() * 4), svc, ip, at))
            if self.attack_ips:
                ip = self.attack_ips[-1]
                at = self.fmt_stamp((base + int(rnd() * 600 * SEC)) // 1000)
                E(t, "%sstatistics: max auth rate %d/60s for (submission:%s) at %s\n"
                  % (self.anvil, 3 + int(rnd() * 20), ip, at))
            at = self.fmt_stamp((base + int(rnd() * 600 * SEC)) // 1000)
            E(t, "%sstatistics: max cache size %d at %s\n" % (self.anvil, 3 + int(rnd() * 40), at))
        self.anvil_seen = []
        self.attack_ips = []
        self.later(t + 600 * SEC, self.cb_anvil, None)

    def cb_scache(self, t, arg):
        rnd = self.rnd
        E = self.E
        tag = "postfix/scache[%d]: " % self.new_pid()
        start = self.fmt_stamp((t - 100 * SEC - int(rnd() * 1200 * SEC)) // 1000)
        hits = int(rnd() * 20)
        miss = 1 + int(rnd() * 30)
        E(t, "%sstatistics: start interval %s\n" % (tag, start))
        E(t, "%sstatistics: domain lookup hits=%d miss=%d success=%d%%\n" % (tag, hits, miss, hits * 100 // (hits + miss)))
        E(t, "%sstatistics: address lookup hits=%d miss=%d success=%d%%\n" % (tag, hits // 2, miss + 2, (hits // 2) * 100 // (hits // 2 + miss + 2)))
        E(t, "%sstatistics: max simultaneous domains=%d addresses=%d connection=%d\n"
          % (tag, 1 + int(rnd() * 3), 1 + int(rnd() * 4), 1 + int(rnd() * 4)))
        self.later(t + 600 * SEC + int(rnd() * 3000 * SEC), self.cb_scache, None)

    def cb_misc_warning(self, t, arg):
        rnd = self.rnd
        k = rnd()
        if k < 0.35:
            self.E(t, "%swarning: dnsblog reply timeout 10s for %s\n" % (self.ps, self.pick(DNSBLS)[0]))
        elif k < 0.55:
            p = self.p_smtp.get(t)
            self.E(t, "%swarning: no MX host for %s.example.test has a valid address record\n"
                   % (p.tag, self.pick(SPAM_WORDS)))
            self.p_smtp.put(p, t + 1)
        elif k < 0.75:
            p = self.p_cleanup.get(t)
            self.E(t, "%swarning: milter inet:localhost:11332: can't read SMFIC_BODYEOB reply packet header: Connection reset by peer\n" % p.tag)
            self.p_cleanup.put(p, t + 1)
        elif k < 0.9:
            p = self.p_smtpd.get(t)
            h = self.pick(self.bots)
            self.E(t, "%swarning: Illegal address syntax from %s in RCPT command: <%s@[%s]>\n"
                   % (p.tag, h.nameip, self.pick(FIRST_NAMES), h.ip))
            self.p_smtpd.put(p, t + 1)
        else:
            self.E(t, "postfix/master[%d]: warning: process /usr/lib/postfix/sbin/smtpd pid %d exit status 1\n"
                   % (self.master_pid, self.pid - int(rnd() * 200)))
            self.E(t, "postfix/master[%d]: warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling\n"
                   % self.master_pid)
        self.later(t + 5 * MIN + int(rnd() * 70 * MIN), self.cb_misc_warning, None)

    def seed_queue(self):
        """Messages already deferred before the log starts (some expire in it)."""
        rnd = self.rnd
        for i in range(30):
            arrival = self.t0 - int(rnd() * (MAX_QUEUE_LIFETIME - HOUR))
            qid = self.qid(arrival)
            if rnd() < 0.45:
                sender = ""           # backscatter bounce to a dead forged domain
                rcpt = self.spam_addr()
                if rcpt.endswith("@example.com"):
                    rcpt = "noreply@%s" % self.pick(self.remote_domains)
            else:
                sender = self.pick(self.local_senders)
                rcpt = self.remote_addr()
            dom = rcpt.split("@", 1)[1]
            if dom not in self.mx:
                dom = self.pick(self.remote_domains)
                rcpt = "%s@%s" % (rcpt.split("@", 1)[0], dom)
            msg = {"arrival": arrival, "from": sender, "size": 2000 + int(rnd() * 40000),
                   "nrcpt": 1, "mid": "<x>", "pending": [(rcpt, None, "remote")],
                   dom: ("defer", 1000, 0), "dead": True, "a_ms": 100 + int(rnd() * 900),
                   "retries": 5}
            t_next = self.t0 + int(rnd() * 4000 * SEC)
            if t_next - arrival >= MAX_QUEUE_LIFETIME:
                self.later(arrival + MAX_QUEUE_LIFETIME, self.cb_expire, (qid, msg))
            else:
                self.later(t_next, self.cb_retry, (qid, msg))

    # -- main loop ---------------------------------------------------------

    def run(self, n_lines: int, out) -> int:
        rnd = self.rnd
        heap = self.heap
        t = self.t0
        exp = self.exp
        nexp = len(exp)
        diurnal = self.diurnal
        # Arrival mix (weights per arrival).  Calibrated so the average line
        # rate is DEFAULT_RATE and the program mix resembles a busy MX.
        sess = (
            (0.405, self.sess_ps_block),
            (0.275, self.sess_inbound),
            (0.140, self.sess_inbound_reject),
            (0.118, self.sess_submission),
            (0.062, self.sess_auth_fail),
        )
        cum = []
        acc = 0.0
        for w, fn in sess:
            acc += w
            cum.append((acc, fn))
        lines_per_arrival = 7.9
        mean_gap = 1000.0 * lines_per_arrival / self.rate

        self.seed_queue()
        self.later(t + int(rnd() * 600 * SEC), self.cb_anvil, None)
        self.later(t + int(rnd() * 1800 * SEC), self.cb_scache, None)
        self.later(t + int(rnd() * 20 * MIN), self.cb_misc_warning, None)
        # cron: hourly at :17 (sometimes), daily at 06:25; web app mails
        first_hour = (t // HOUR + 1) * HOUR
        h = first_hour
        horizon = t + int(n_lines / self.rate * 1.6 * SEC) + DAY
        while h < horizon:
            tod = h % DAY
            if tod == 6 * HOUR:
                self.later(h + 25 * MIN + int(rnd() * 50 * SEC), self.cb_pickup, "cron")
            if rnd() < 0.5:
                self.later(h + 17 * MIN + int(rnd() * 3 * SEC), self.cb_pickup, "cron")
            for _ in range(int(rnd() * 4)):
                self.later(h + int(rnd() * HOUR), self.cb_pickup, "web")
            if rnd() < 0.4:
                a = self.pick(self.attackers)
                self.later(h + int(rnd() * HOUR), self.cb_attack, (a, 5 + int(rnd() * rnd() * 250)))
            h += HOUR

        written = 0
        buf = []
        app = buf.append
        last_s = -1
        prefix = ""
        host = self.host
        cur_day = -1
        day_str = ""
        while True:
            hour = (t // HOUR) % 24
            t_next = t + 1 + int(mean_gap * exp[int(rnd() * nexp)] / diurnal[hour])
            while heap and heap[0][0] <= t_next:
                tt, _, item = heappop(heap)
                if item.__class__ is str:
                    s = tt // 1000
                    if s != last_s:
                        last_s = s
                        day = s // 86400
                        if day != cur_day:
                            cur_day = day
                            d = EPOCH + timedelta(days=day)
                            day_str = "%s %2d " % (MONTHS[d.month - 1], d.day)
                        tod = s - day * 86400
                        prefix = "%s%02d:%02d:%02d %s " % (day_str, tod // 3600, tod // 60 % 60,
                                                            tod % 60, host)
                    app(prefix)
                    app(item)
                    written += 1
                    if written >= n_lines:
                        out.write("".join(buf))
                        return written
                    if len(buf) >= 200000:
                        out.write("".join(buf))
                        buf.clear()
                else:
                    item[0](tt, item[1])
            t = t_next
            k = rnd()
            for c, fn in cum:
                if k < c:
                    fn(t)
                    break


def parse_start(s: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError("bad --start %r (use YYYY-MM-DDTHH:MM:SS)" % s)


def default_start(lines: int, rate: float) -> datetime:
    """2025-12-30T00:00, moved later for small runs so that New Year is crossed
    about 60% into the file (a pure function of --lines/--rate)."""
    span = lines / rate                      # expected seconds covered
    back = min(int((NEW_YEAR - DEFAULT_START).total_seconds()), int(span * 0.6) // 10 * 10)
    return NEW_YEAR - timedelta(seconds=back)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1000000, help="number of lines (default 1000000)")
    ap.add_argument("--out", default="-", help="output file ('-' = stdout)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--start", type=parse_start, default=None,
                    help="first timestamp, YYYY-MM-DDTHH:MM:SS (default 2025-12-30T00:00:00, "
                         "or later for small --lines so the log still crosses New Year)")
    ap.add_argument("--host", default="mx1", help="syslog hostname (default mx1)")
    ap.add_argument("--rate", type=float, default=DEFAULT_RATE,
                    help="average lines per simulated second (default %g)" % DEFAULT_RATE)
    ap.add_argument("--quiet", action="store_true", help="no summary on stderr")
    a = ap.parse_args(argv)
    if a.lines <= 0:
        ap.error("--lines must be positive")
    start = a.start if a.start is not None else default_start(a.lines, a.rate)
    sim = Sim(a.seed, start, a.host, a.rate)
    t0 = time.perf_counter()
    if a.out == "-":
        n = sim.run(a.lines, sys.stdout)
        sys.stdout.flush()
    else:
        d = os.path.dirname(a.out)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(a.out, "w", encoding="ascii", newline="\n", buffering=1 << 22) as f:
            n = sim.run(a.lines, f)
    if not a.quiet and a.out != "-":
        dt = time.perf_counter() - t0
        size = os.path.getsize(a.out)
        print("wrote %d lines, %d bytes (%.1f B/line) to %s in %.1fs (%.0f lines/s); start %s"
              % (n, size, size / n, a.out, dt, n / dt, start.isoformat()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
