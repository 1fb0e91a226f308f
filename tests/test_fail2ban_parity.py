"""Side by side with fail2ban: the same files give the same offenders, per client address.

The issue: run Debian's fail2ban (`fail2ban-regex`, no server) on the files we parse — the
recordings of the real MTAs, the peer corpora and a benchmark-shaped log — and per client
IP the number of our `auth_failure` events must equal the matches of fail2ban's
`postfix[mode=auth]` filter, and our relay-denied rejects its relay matches; every
difference is explained here. Exim and Sendmail are compared the same way against
fail2ban's `exim`, `sendmail-auth` and `sendmail-reject` filters.

How fail2ban is asked (`fail2ban-regex` of Debian 12's fail2ban 1.0.2):

- `--out '<ip>\\t<msg>'` prints one row per failure the filter finds: the address and the
  line. With `--out` only the first rule that matches a line counts, so a line is one
  failure at most, as it is for us.
- `--usedns=no`: `<HOST>` matches addresses only. The jail's default (`warn`) would look a
  name up; every line compared here carries the address in brackets, and a lookup would
  make the test depend on the network.
- `-e utf-8`, so the result does not depend on the machine's locale.
- No `--datepattern` is needed: fail2ban-regex finds the BSD, RFC 3339 and Exim stamps by
  itself, and it does not drop old lines (it turns the server's `findtime` check off), so
  year-less 2005 lines match like today's. Ban decisions (`maxretry`, `findtime`) are not
  compared: fail2ban-regex does not make them, and our rules are another test's business.
- Relay matches: no Postfix mode holds only the relay rule. `Relay access denied` is one
  alternative of the `normal` mode's reject rule (`more`, the default, is `normal`; `rbl`
  lacks it), so the relay matches are the `normal` mode's matches whose line is a relay
  denial. Exim's one `exim` filter has both the auth and the relay rule, told apart the
  same way; `sendmail-auth` is all auth, and `sendmail-reject`'s relay matches are its
  `Relaying denied` lines.

Our side: the rows of the compared MTA (a corpus file may hold several MTAs' lines) with
event `auth_failure`, or event `reject` and class `relay_denied`.

Not compared: the Exim test suite's logs (harness output of `-bh` sessions:
`H=(test.host) [10.0.0.1] U=CALLER`, addresses munged to `V4NET.0.0.1`, never in a jail's
log) and the journald exports (fail2ban reads a journal only through its systemd backend).

Measured once by hand on the 1M-line benchmark log (`benchmarks/generate.py --lines
1000000`, the `make bench` input): 11,785 auth failures from 374 addresses and 2,583 relay
denials from 454 addresses on both sides, equal per address; fail2ban-regex took 13.2 s
(auth mode) and 14.2 s (normal mode), about 75,000 lines/s, where our in-process parse took
about 4 s. The test uses 20,000 lines of the same generator.
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.conftest import ROOT, parse_events
from tests.corpora import CORPORA, write_grok_log

Kind = Literal["auth", "relay"]
KINDS: tuple[Kind, ...] = ("auth", "relay")
#: what the expected differences below were established with (Debian 12, bookworm)
FAIL2BAN_VERSION = "1.0.2"
BENCHMARK_LINES = 20_000


@dataclass(frozen=True)
class Filter:
    """A fail2ban filter and which of its matches stand for one kind of our events."""

    name: str
    options: tuple[str, ...] = ()
    #: only the matches whose line has this count (None: all of them)
    counts: re.Pattern[str] | None = None

    def spec(self, extra: tuple[str, ...]) -> str:
        """The filter as fail2ban-regex takes it, e.g. `postfix[mode=auth, logtype=rfc5424]`."""
        options = self.options + extra
        return f"{self.name}[{', '.join(options)}]" if options else self.name


FILTERS: dict[str, dict[Kind, Filter]] = {
    "postfix": {
        "auth": Filter("postfix", ("mode=auth",)),
        # the reply text right after the quoted address, not an address that says it
        "relay": Filter("postfix", ("mode=normal",), re.compile(r": Relay access denied\b")),
    },
    "exim": {
        "auth": Filter("exim", (), re.compile(r" authenticator failed for ")),
        "relay": Filter("exim", (), re.compile(r": relay not permitted\s*$")),
    },
    "sendmail": {
        "auth": Filter("sendmail-auth"),
        # Sendmail's check_rcpt text, the temporary form included (`450 4.4.0 ...`)
        "relay": Filter("sendmail-reject", (),
                        re.compile(r"\.\.\. Relaying (?:temporarily )?denied")),
    },
}


def _benchmark(directory: Path) -> Path:
    """A busy server's log from the benchmark generator (deterministic: the same bytes
    every run, so the expected differences hold)."""
    path = directory / f"postfix-{BENCHMARK_LINES}.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    str(BENCHMARK_LINES), "--out", str(path), "--quiet"], check=True, timeout=120)
    return path


def _grok(directory: Path) -> Path:
    """postfix-grok-patterns' messages under a syslog header, as test_corpus_postfix reads
    them: both sides need the header to know the program."""
    path = directory / "grok-syslog.log"
    write_grok_log(path)
    return path


@dataclass(frozen=True)
class Input:
    """One log file that both sides read, and the MTA whose lines are compared."""

    #: repository-relative path, or the name of what `build` writes
    name: str
    mta: str
    year: int
    #: options the file's format needs on fail2ban's side (added to each filter's)
    f2b_options: tuple[str, ...] = ()
    build: Callable[[Path], Path] | None = None

    @property
    def id(self) -> str:
        return f"{self.mta}:{self.name}"

    def materialize(self, directory: Path) -> Path:
        """The file as plain text (fail2ban-regex reads no compressed files)."""
        if self.build is not None:
            return self.build(directory)
        path = ROOT / self.name
        # fail2ban-regex would take a missing file's name for a log line
        assert path.is_file(), f"{self.name} is missing"
        if path.suffix != ".gz":
            return path
        plain = directory / path.stem
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        return plain


CORPUS = str(CORPORA.relative_to(ROOT))
REC = "recordings"


def _corpus(relative: str, mta: str, year: int = 2025) -> Input:
    return Input(f"{CORPUS}/{relative}", mta, year)


INPUTS: list[Input] = [
    # the real MTAs (recorded 2026-11-29)
    Input(f"{REC}/postfix/run1-syslog/syslog-traditional.log.gz", "postfix", 2026),
    Input(f"{REC}/postfix/run1-syslog/syslog-rfc3339.log.gz", "postfix", 2026),
    Input(f"{REC}/postfix/run1-syslog/syslog-rfc5424.log.gz", "postfix", 2026,
          ("logtype=rfc5424",)),
    Input(f"{REC}/postfix/run2-postlog/postfix.log.gz", "postfix", 2026),
    Input(f"{REC}/exim/run1-default/mainlog.gz", "exim", 2026),
    Input(f"{REC}/exim/run1-default/syslog-traditional.log.gz", "exim", 2026),
    Input(f"{REC}/exim/run2-pid-millisec/mainlog.gz", "exim", 2026),
    Input(f"{REC}/sendmail/run1-syslog/syslog-traditional.log.gz", "sendmail", 2026),
    # the benchmark's busy server (starts 2025-12-31 and crosses New Year)
    Input(f"benchmarks/generate.py --lines {BENCHMARK_LINES}", "postfix", 2025, build=_benchmark),
    # the peer corpora
    _corpus("fail2ban/logs/postfix", "postfix", 2005),
    _corpus("fail2ban/logs/exim", "exim", 2005),
    _corpus("fail2ban/logs/exim-spam", "exim", 2005),
    _corpus("fail2ban/logs/sendmail-auth", "sendmail", 2005),
    _corpus("fail2ban/logs/sendmail-reject", "sendmail", 2005),
    *[_corpus(f"crowdsec-hub/{name}", "postfix") for name in (
        "postfix-logs/postfix-logs.log", "postfix-spam/postfix-spam.log",
        "postfix-sasl-bf/postfix-sasl-bf.log", "postfix-honeypot-users/postfix-honeypot-users.log",
        "postfix-relay/postfix-spam.log", "postfix-helo/postfix-spam.log",
        "postfix-non-smtp/postfix-non-smtp.log", "postscreen-logs/postscreen-logs.log")],
    *[_corpus(f"crowdsec-hub/{name}", "exim") for name in (
        "exim-logs/exim-logs.log", "exim-syslog-logs/exim-logs.log", "exim-bf/exim-bf.log",
        "exim-spam/exim-spam.log")],
    _corpus("wazuh-ossec/extracted.log", "postfix"),
    _corpus("wazuh-ossec/extracted.log", "exim"),
    _corpus("parse-syslog-mail/t/logs/postfix-plain.log", "postfix", 2005),
    _corpus("parse-syslog-mail/t/cpan-rt-28807.log", "postfix", 2007),
    *[_corpus(f"parse-syslog-mail/t/logs/{name}", "sendmail", 2005) for name in (
        "sendmail-plain.log", "sendmail-custom-dsn.log", "sendmail-done.log",
        "sendmail-ruleset.log", "technoids.log")],
    Input("postfix-grok-patterns messages.log, syslog-prefixed", "postfix", 2025, build=_grok),
]


# --- why the two sides differ --------------------------------------------------------------

#: fail2ban reads a line only once its newline is written (`FileContainer.readline` waits
#: for the line end, as the server must while it tails a file that is being written), and
#: fail2ban-regex reads files the same way. The file's last line has no newline, so
#: fail2ban never sees it; we read it (a file handed to `parse` is complete).
UNTERMINATED_LAST_LINE = "the last line has no newline: fail2ban waits for it, we read it"

#: rsyslog's RFC 5424 template writes its `programname` as APP-NAME, and that ends at the
#: tag's first `/` unless `global(parser.permitSlashInProgramName="on")`:
#: `mx1 postfix 9054 - -  warning: ...`, so `postfix/smtpd` is not in the line. The
#: filter's `_daemon` requires `postfix/<service>`, with `logtype=rfc5424` too, and no rule
#: matches. We know the lines by the APP-NAME and the text (the daemon stays null).
RFC5424_APP_NAME = "rsyslog's RFC 5424 APP-NAME is `postfix`; the filter needs `postfix/smtpd`"

#: Exim writes its own timestamp into the syslog message (`syslog_timestamp` is true by
#: default): `mx1 exim[23094]: 2026-11-29 13:19:03 LOGIN authenticator failed ...`. The
#: filter's prefix (`pid`: ` \w+ exim\[\d+\]:`) must be followed by the message itself, so
#: the second stamp stops every rule (removing it makes the lines match). We drop Exim's
#: stamp (exim.toml's `[mta] strip`). Had fail2ban matched, it would have counted each of
#: these failures twice: Exim sends a line meant for both mainlog and rejectlog to syslog
#: once for each, and we keep one.
EXIM_SYSLOG_OWN_STAMP = "Exim's own stamp after `exim[pid]:` stops the exim filter's rules"

#: The corpus is fail2ban's own test log at a 2025 commit: these lines are `match: true`
#: there, for filters rewritten in fail2ban 1.1.0 (2024-03, commits 8da0a99c "pid part may
#: contain full hostname", c8090883 "bypass additional timestamp ... systemd-journal
#: (gh-3060)", e605415f fields group for `Ci=`, `CV=`, `SNI=`). Debian 12's 1.0.2 predates
#: them: a dotted host before `exim[pid]:` (`mx1.fqdn.local exim[29786]:`), the journald
#: text with Exim's stamp after it, and the `Ci=`/`CV=`/`SNI=` fields of Exim 4.97+ stop
#: its rules.
EXIM_FILTER_PREDATES_1_1 = "1.0.2's exim filter predates 1.1.0 (dotted host, journal stamp, Ci=)"

#: `possible SMTP attack: command=AUTH, count=5` is Sendmail noticing more AUTH commands in
#: one session than it offers mechanisms plus one; the failures themselves are the
#: `AUTH failure` lines. sendmail-auth bans on it; to us it is a `protocol_error`
#: (parsers/SENDMAIL-NOTES.md), because counting it too would count a session's failures
#: twice where both are logged. (This corpus logs only the summary line.)
SENDMAIL_SMTP_ATTACK = "`possible SMTP attack: command=AUTH`: a failure there, protocol_error here"

#: `reject=450 4.4.0 <a>... Relaying temporarily denied. Cannot resolve PTR record for ...`
#: (the client's PTR lookup failed temporarily): 1.0.2's sendmail-reject knows only
#: `550 5.7.1` relay denials with a named cause. Upstream added a rule for this one in 1.1.1,
#: and in `mode=aggressive` only (9e72e78f; the corpus line is tested in that mode). It is a
#: relay denial all the same, and we class it `relay_denied`.
SENDMAIL_TEMPORARY_RELAY = "`450 4.4.0 ... Relaying temporarily denied`: no rule in 1.0.2's filter"


@dataclass(frozen=True)
class Difference:
    """How many events of one kind from one address each side finds where they differ."""

    ours: int
    fail2ban: int
    why: str


Key = tuple[str, Kind, str | None]  # (Input.id, kind, client address)

#: recordings/scenarios.json: auth_burst (.21), password_spray (.31), success_after_failures
#: (.41, its 4 failures), relay_probe (.51)
RECORDED_OFFENDERS: tuple[tuple[Kind, str, int], ...] = (
    ("auth", "127.0.0.21", 10), ("auth", "127.0.0.31", 10), ("auth", "127.0.0.41", 4),
    ("relay", "127.0.0.51", 10))

EXPECTED_DIFFERENCES: dict[Key, Difference] = {
    (f"postfix:{CORPUS}/crowdsec-hub/postfix-relay/postfix-spam.log", "relay", "192.168.1.1"):
        Difference(2, 1, UNTERMINATED_LAST_LINE),
    **{(f"postfix:{REC}/postfix/run1-syslog/syslog-rfc5424.log.gz", kind, ip):
       Difference(n, 0, RFC5424_APP_NAME) for kind, ip, n in RECORDED_OFFENDERS},
    **{(f"exim:{REC}/exim/run1-default/syslog-traditional.log.gz", kind, ip):
       Difference(n, 0, EXIM_SYSLOG_OWN_STAMP) for kind, ip, n in RECORDED_OFFENDERS},
    **{(f"exim:{CORPUS}/fail2ban/logs/exim", kind, ip): Difference(1, 0, EXIM_FILTER_PREDATES_1_1)
       for kind, ip in (("auth", "192.0.2.37"),     # `mx1.fqdn.local exim[29786]: ...`
                        ("auth", "192.0.2.27"),     # `mail.example.com exim[1]: 2021-07-17 ...`
                        ("auth", "194.169.175.1"),  # `[...]:21298 I=[...]:465 Ci=30416: 535`
                        ("relay", "9.12.1.21"))},   # `Ci=7326 CV=no SNI=... F=<...> rejected`
    **{(f"sendmail:{CORPUS}/fail2ban/logs/sendmail-auth", "auth", ip):
       Difference(0, 1, SENDMAIL_SMTP_ATTACK)
       for ip in ("190.5.230.178", "75.176.164.191", "211.75.6.133", "95.70.241.192", "192.0.2.1",
                  "192.0.2.2")},
    (f"sendmail:{CORPUS}/fail2ban/logs/sendmail-reject", "relay", "45.125.66.67"):
        Difference(1, 0, SENDMAIL_TEMPORARY_RELAY),
}


# --- the two sides -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fail2ban_regex() -> str:
    """fail2ban-regex, of the version the expected differences were established with."""
    exe = shutil.which("fail2ban-regex")
    if exe is None:
        pytest.fail("fail2ban-regex is not installed: run `make debs` as root "
                    "(apt-get install fail2ban); this comparison must not be skipped")
    version = subprocess.run([exe, "-V"], capture_output=True, text=True, check=True,
                             timeout=60).stdout.strip()
    assert version == FAIL2BAN_VERSION, (
        f"fail2ban-regex {version}: EXPECTED_DIFFERENCES were established with Debian 12's "
        f"{FAIL2BAN_VERSION}; a newer filter set changes them (see the reasons), re-derive them")
    return exe


@dataclass(frozen=True)
class Match:
    """One failure fail2ban found: the address it would ban and the line it matched."""

    ip: str
    line: str


def _address(text: str) -> str:
    """An address in our normal form (RFC 5952), as fail2ban prints it as logged."""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def run_fail2ban(exe: str, path: Path, spec: str) -> list[Match]:
    """Every failure fail2ban-regex finds in `path` with filter `spec`."""
    # PYTHONPATH of the test run must not reach fail2ban's own Python
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [exe, "--usedns=no", "-e", "utf-8", "--out", "<ip>\t<msg>", str(path), spec],
        capture_output=True, text=True, encoding="utf-8", errors="replace", env=env, timeout=300)
    assert done.returncode == 0, (
        f"fail2ban-regex {spec} {path}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    matches = []
    for row in done.stdout.splitlines():
        ip, tab, line = row.partition("\t")
        assert tab, f"fail2ban-regex {spec} {path}: not a match row: {row!r}\n{done.stderr}"
        matches.append(Match(_address(ip), line))
    return matches


def fail2ban_side(exe: str, inp: Input, path: Path) -> dict[Kind, list[Match]]:
    """fail2ban's matches of each kind (a filter serving both kinds runs once)."""
    runs: dict[str, list[Match]] = {}
    out: dict[Kind, list[Match]] = {}
    for kind in KINDS:
        f = FILTERS[inp.mta][kind]
        spec = f.spec(inp.f2b_options)
        if spec not in runs:
            runs[spec] = run_fail2ban(exe, path, spec)
        out[kind] = [m for m in runs[spec] if f.counts is None or f.counts.search(m.line)]
    return out


OURS: dict[Kind, Callable[[dict[str, object]], bool]] = {
    "auth": lambda r: r["event"] == "auth_failure",
    "relay": lambda r: r["event"] == "reject" and r["reject_class"] == "relay_denied",
}


def our_side(inp: Input, path: Path) -> dict[Kind, list[tuple[str | None, int]]]:
    """Our events of each kind from the input's MTA, as (client address, byte offset)."""
    events, _ = parse_events([path], year=inp.year, tz="UTC")
    rows = events.select(["mta", "event", "reject_class", "client_ip", "offset"]).to_pylist()
    mine = [r for r in rows if r["mta"] == inp.mta]
    return {kind: [(r["client_ip"], r["offset"]) for r in mine if OURS[kind](r)] for kind in KINDS}


def _line_at(data: bytes, offset: int) -> str:
    """The line at a row's byte offset, to show next to fail2ban's in a failure."""
    end = data.find(b"\n", offset)
    return data[offset:end if end >= 0 else len(data)].decode("utf-8", "replace")


# --- the comparison ------------------------------------------------------------------------

@pytest.mark.parametrize("inp", INPUTS, ids=lambda i: i.id)
def test_per_address_counts_equal_fail2ban(inp: Input, fail2ban_regex: str, tmp_path: Path) -> None:
    """Per address and kind the counts are equal, or differ exactly as EXPECTED_DIFFERENCES
    says: a difference that goes away fails as surely as a new one, so the reasons stay true."""
    path = inp.materialize(tmp_path)
    theirs = fail2ban_side(fail2ban_regex, inp, path)
    ours = our_side(inp, path)
    found: dict[Key, tuple[int, int]] = {}
    for kind in KINDS:
        a = Counter(ip for ip, _ in ours[kind])
        b = Counter(m.ip for m in theirs[kind])
        for ip in a.keys() | b.keys():
            if a[ip] != b[ip]:
                found[(inp.id, kind, ip)] = (a[ip], b[ip])
    expected = {k: (d.ours, d.fail2ban) for k, d in EXPECTED_DIFFERENCES.items() if k[0] == inp.id}
    if found != expected:
        data = path.read_bytes()
        report = []
        changed = {k for k in found.keys() | expected.keys() if found.get(k) != expected.get(k)}
        for key in sorted(changed, key=str):
            _, kind, ip = key
            report.append(f"{kind} {ip}: ours/fail2ban now {found.get(key, 'equal')}, "
                          f"expected {expected.get(key, 'equal')}")
            report += [f"  ours:     {_line_at(data, off)}"
                       for addr, off in ours[kind] if addr == ip][:3]
            report += [f"  fail2ban: {m.line}" for m in theirs[kind] if m.ip == ip][:3]
        pytest.fail(f"{inp.id}: the differences from fail2ban changed:\n" + "\n".join(report))


def test_expected_differences_name_inputs() -> None:
    """A difference for an input that is not compared (a renamed file) would never be checked."""
    ids = {i.id for i in INPUTS}
    assert len(ids) == len(INPUTS)
    assert {k[0] for k in EXPECTED_DIFFERENCES} <= ids
