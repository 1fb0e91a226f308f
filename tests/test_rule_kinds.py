"""The rule kinds and the runner on small, explicit logs: what fires, with which key,
count and times, and what stays quiet.

Each test writes a short Postfix log (the line shapes of parsers/samples/postfix.log and
sample_logs/), and, where it needs one, a rule file, and runs `detect_files` as the
`detect` command does, with every built-in rule but the ones under test disabled through
the config's `[rules.<id>] enabled = false`. BSD stamps are read with year 2026 in UTC.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from logwatch.alerts import Alert
from logwatch.config import Allowlist, Config, Site
from logwatch.detection import detect_files
from logwatch.pipeline import ParseOptions
from logwatch.resources import data_dir
from logwatch.rules_engine.loader import load_rule_file

BUILTIN = [r.id for p in sorted(Path(data_dir("rules")).glob("*.toml")) for r in load_rule_file(p)]
DAY = datetime(2026, 3, 3, tzinfo=timezone.utc)
S = 1_000_000


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)


def us(t: datetime) -> int:
    return int(t.timestamp()) * S


# -- a Postfix log, line by line -------------------------------------------------------------

@dataclass
class Log:
    """Lines with their times; written sorted by time (a stable sort: lines of one second
    keep the order they were added in)."""

    lines: list[tuple[datetime, str]] = field(default_factory=list)
    _qid: int = 0
    _pid: int = 2000

    def add(self, t: datetime, program: str, pid: int, text: str) -> None:
        stamp = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
        self.lines.append((t, f"{stamp} mx1 {program}[{pid}]: {text}"))

    def pid(self) -> int:
        self._pid += 1
        return self._pid

    def qid(self) -> str:
        self._qid += 1
        return f"4B{self._qid:08X}"

    def failures(self, t: datetime, ip: str, users: list[str], counter: int | None = None,
                 method: str = "LOGIN", disconnect: bool = True) -> datetime:
        """One submission session: a SASL warning per username (2 s apart), then the
        disconnect with `auth=0/<counter>` (default: one per warning). Returns the time
        of the last failure."""
        pid = self.pid()
        prog = "postfix/submission/smtpd"
        self.add(t, prog, pid, f"connect from unknown[{ip}]")
        last = t
        for i, user in enumerate(users):
            last = t + timedelta(seconds=2 * i + 1)
            self.add(last, prog, pid, f"warning: unknown[{ip}]: SASL {method} authentication "
                                      f"failed: (reason unavailable), sasl_username={user}")
        if disconnect:
            n = len(users) if counter is None else counter
            self.add(last + timedelta(seconds=1), prog, pid,
                     f"disconnect from unknown[{ip}] ehlo=2 starttls=1 auth=0/{n} "
                     f"commands=3/{3 + n}")
        return last

    def message(self, t: datetime, ip: str, sender: str, rcpts: list[str],
                user: str | None = None, failed: list[str] = (), port25: bool = False,
                status: str = "sent") -> str:
        """A message received over SMTP (on submission with AUTH as `user`, else on port
        25 without), delivered (or deferred) to each recipient 1 s later. `failed`: SASL
        failures in the same session before the login (a client trying mechanisms)."""
        pid, qid = self.pid(), self.qid()
        prog = "postfix/smtpd" if port25 or user is None else "postfix/submission/smtpd"
        self.add(t, prog, pid, f"connect from unknown[{ip}]")
        for mech in failed:
            self.add(t, prog, pid, f"warning: unknown[{ip}]: SASL {mech} authentication "
                                   f"failed: (reason unavailable), sasl_username={user}")
        sasl = f", sasl_method=PLAIN, sasl_username={user}" if user else ""
        self.add(t, prog, pid, f"{qid}: client=unknown[{ip}]{sasl}")
        self.add(t, "postfix/cleanup", 1300, f"{qid}: message-id=<{qid}@mua.example.org>")
        self.add(t, "postfix/qmgr", 1187, f"{qid}: from=<{sender}>, size=2048, "
                                          f"nrcpt={len(rcpts)} (queue active)")
        auth = f"auth=1/{1 + len(failed)} " if user and failed else "auth=1 " if user else ""
        self.add(t, prog, pid, f"disconnect from unknown[{ip}] ehlo=2 starttls=1 {auth}mail=1 "
                               f"rcpt={len(rcpts)} data=1 quit=1 commands=8")
        self._deliver(t + timedelta(seconds=1), qid, rcpts, status)
        return qid

    def local(self, t: datetime, rcpt: str, status: str = "deferred") -> str:
        """Mail from cron (pickup), to one recipient."""
        qid = self.qid()
        self.add(t, "postfix/pickup", 1188, f"{qid}: uid=0 from=<root>")
        self.add(t, "postfix/cleanup", 1300, f"{qid}: message-id=<{qid}@mx1.example.com>")
        self.add(t, "postfix/qmgr", 1187, f"{qid}: from=<root@example.com>, size=900, "
                                          "nrcpt=1 (queue active)")
        self._deliver(t + timedelta(seconds=1), qid, [rcpt], status)
        return qid

    def retry(self, t: datetime, qid: str, rcpt: str, status: str = "sent") -> None:
        """The queue manager tries a deferred message again."""
        self.add(t, "postfix/qmgr", 1187, f"{qid}: from=<root@example.com>, size=900, "
                                          "nrcpt=1 (queue active)")
        self._deliver(t + timedelta(seconds=1), qid, [rcpt], status)

    def _deliver(self, t: datetime, qid: str, rcpts: list[str], status: str) -> None:
        for r in rcpts:
            dom = r.split("@")[1]
            if status == "sent":
                self.add(t, "postfix/smtp", 3000, f"{qid}: to=<{r}>, relay=mx.{dom}"
                         f"[203.0.113.5]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, "
                         f"status=sent (250 2.0.0 Ok: queued as 4dZZ{qid[-6:]})")
            else:
                self.add(t, "postfix/smtp", 3000, f"{qid}: to=<{r}>, relay=none, delay=30, "
                         f"delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.{dom}"
                         "[203.0.113.80]:25: Connection timed out)")
        if status == "sent":
            self.add(t, "postfix/qmgr", 1187, f"{qid}: removed")

    def connects(self, t: datetime, ip: str, n: int, every: int = 20) -> None:
        """`n` connections from `ip`, `every` seconds apart (port 25, nothing sent)."""
        for i in range(n):
            pid = self.pid()
            ti = t + timedelta(seconds=every * i)
            self.add(ti, "postfix/smtpd", pid, f"connect from unknown[{ip}]")
            self.add(ti, "postfix/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=1 quit=1 "
                                               "commands=2")

    def text(self) -> str:
        return "".join(line + "\n" for _, line in sorted(self.lines, key=lambda x: x[0]))


def detect(tmp_path: Path, log: Log | str, rules: str = "", keep: tuple[str, ...] = (),
           site: Site | None = None, allow: Allowlist | None = None,
           overrides: dict[str, dict[str, Any]] | None = None) -> list[Alert]:
    """Alerts of the rules in `rules` (a rule file's text) and the built-in ones named in
    `keep`, over `log`."""
    path = tmp_path / "mail.log"
    path.write_text(log if isinstance(log, str) else log.text())
    dirs = []
    if rules:
        d = tmp_path / "rules"
        d.mkdir(exist_ok=True)
        (d / "test.toml").write_text(textwrap.dedent(rules))
        dirs.append(d)
    off = {rid: {"enabled": False} for rid in BUILTIN if rid not in keep}
    cfg = Config(site=site or Site(local_domains=["example.com"]),
                 allow=allow or Allowlist(), rule_dirs=dirs, rules={**off, **(overrides or {})})
    res = detect_files([str(path)], cfg, ParseOptions(year=2026, tz="UTC"))
    assert res.errors == []
    return res.detection.alerts


def brief(alerts: list[Alert]) -> list[tuple[str, dict[str, Any], int, int, int]]:
    """(rule, key, count, first, last) of each alert, in the runner's order."""
    return [(a.rule, a.key, a.count, a.first_us, a.last_us) for a in alerts]


def rule(kind: str, body: str, rid: str = "t", where: str = "",
         summary: str = "$count from $client_ip") -> str:
    """A rule file with one rule."""
    return (f'[[rule]]\nid = "{rid}"\ntitle = "test"\nkind = "{kind}"\nseverity = "low"\n'
            f'description = "test"\nsummary = "{summary}"\n'
            + textwrap.dedent(body) + ("\n[rule.where]\n" + textwrap.dedent(where) if where
                                       else ""))


ATTACKER = "203.0.113.45"


# -- threshold -----------------------------------------------------------------------------

BURST = rule("threshold", """\
    group_by = ["client_ip"]
    threshold = 5
    window = "10m"
    cooldown = "1h"
    """, where='event = "auth_failure"\n')


def _fails(log: Log, times: list[datetime], ip: str = ATTACKER, user: str = "admin") -> None:
    """One failure per session, at each of `times` (the SASL line's time)."""
    for t in times:
        log.failures(t - timedelta(seconds=1), ip, [user])


@pytest.mark.parametrize("n, expect", [(4, False), (5, True)])
def test_threshold_four_in_ten_minutes_is_nothing_five_is_one_alert(tmp_path, n, expect) -> None:
    log = Log()
    times = [at(10, 2 * i) for i in range(n)]
    _fails(log, times)
    want = [("t", {"client_ip": ATTACKER}, 5, us(times[0]), us(times[-1]))] if expect else []
    assert brief(detect(tmp_path, log, BURST)) == want


def test_threshold_window_includes_a_row_exactly_one_window_earlier(tmp_path) -> None:
    """As fail2ban's findtime: its postfix-sasl jail (maxretry 5, findtime 600) bans five
    failures exactly ten minutes apart first to last, which the burst rule, said to count
    as that jail does, let through."""
    log = Log()
    # at 10:10:00 the window is [10:00:00, 10:10:00]: the row at 10:00:00 is in it
    _fails(log, [at(10), at(10, 1), at(10, 2), at(10, 3), at(10, 10)])
    assert brief(detect(tmp_path, log, BURST)) == [
        ("t", {"client_ip": ATTACKER}, 5, us(at(10)), us(at(10, 10)))]
    log = Log()
    _fails(log, [at(10), at(10, 1), at(10, 2), at(10, 3), at(10, 10, 1)])
    assert detect(tmp_path, log, BURST) == []


def test_threshold_five_spread_over_eleven_minutes_is_nothing(tmp_path) -> None:
    log = Log()
    _fails(log, [at(10), at(10, 2, 45), at(10, 5, 30), at(10, 8, 15), at(10, 11)])
    assert detect(tmp_path, log, BURST) == []


def test_threshold_counts_per_key(tmp_path) -> None:
    """Five failures, but from two addresses: nothing; the rows of one key alone count."""
    log = Log()
    _fails(log, [at(10, i) for i in range(3)], ip="203.0.113.45")
    _fails(log, [at(10, i, 30) for i in range(2)], ip="203.0.113.46")
    assert detect(tmp_path, log, BURST) == []


def test_threshold_two_bursts_three_hours_apart_are_two_alerts(tmp_path) -> None:
    log = Log()
    first = [at(10, i) for i in range(5)]
    second = [at(13, i) for i in range(6)]
    _fails(log, first + second)
    assert brief(detect(tmp_path, log, BURST)) == [
        ("t", {"client_ip": ATTACKER}, 5, us(first[0]), us(first[-1])),
        ("t", {"client_ip": ATTACKER}, 6, us(second[0]), us(second[-1]))]


def test_threshold_burst_within_the_cooldown_continues_the_incident(tmp_path) -> None:
    """A second burst 50 min after the first (cooldown 1h) is the same incident, with
    the rows between them."""
    log = Log()
    times = [at(10, i) for i in range(5)] + [at(10, 30)] + [at(10, 54 + i) for i in range(5)]
    _fails(log, times)
    assert brief(detect(tmp_path, log, BURST)) == [
        ("t", {"client_ip": ATTACKER}, 11, us(times[0]), us(times[-1]))]


def test_threshold_burst_lasting_an_hour_is_one_alert_with_all_its_rows(tmp_path) -> None:
    log = Log()
    times = [at(10, 2 * i) for i in range(31)]          # 10:00 .. 11:00, one every 2 min
    _fails(log, times)
    alerts = detect(tmp_path, log, BURST)
    assert brief(alerts) == [("t", {"client_ip": ATTACKER}, 31, us(at(10)), us(at(11)))]
    assert alerts[0].evidence_total == 31
    assert len(alerts[0].evidence) == 20                 # evidence_max
    assert alerts[0].evidence[0].line.endswith(
        f"warning: unknown[{ATTACKER}]: SASL LOGIN authentication failed: "
        "(reason unavailable), sasl_username=admin")
    assert alerts[0].summary == f"31 from {ATTACKER}"


WEIGHTED = rule("threshold", """\
    group_by = ["client_ip"]
    weight = "auth_failures"
    threshold = 5
    window = "10m"
    """, where="auth_failures = { gt = 0 }\n")


@pytest.mark.parametrize("counters, expect", [((3, 2), 5), ((3, 1), None), ((1, 1, 1, 1, 1), 5)])
def test_threshold_weight_column_counts(tmp_path, counters, expect) -> None:
    """Disconnects alone (`auth=0/3`: three failures the server logged no line for)
    weigh their counter."""
    log = Log()
    ends = [log.failures(at(10, 2 * i), ATTACKER, [], counter=c) + timedelta(seconds=1)
            for i, c in enumerate(counters)]
    want = [] if expect is None else [("t", {"client_ip": ATTACKER}, expect, us(ends[0]),
                                       us(ends[-1]))]
    assert brief(detect(tmp_path, log, WEIGHTED)) == want


# -- the built-in auth_failure_burst: a line and its session's counter are one failure -------

def test_auth_failure_burst_warning_and_counter_are_one_failure(tmp_path) -> None:
    """Two sessions of one SASL warning and `auth=0/1` (1 each), one of one warning and
    `auth=0/3` (3): five. Counting lines only would say 3, lines and counters 9."""
    log = Log()
    log.failures(at(3, 41), ATTACKER, ["admin"])
    log.failures(at(3, 42), ATTACKER, ["admin"])
    last = log.failures(at(3, 43), ATTACKER, ["admin"], counter=3)
    alerts = detect(tmp_path, log, keep=("auth_failure_burst",))
    disconnect = last + timedelta(seconds=1)
    assert brief(alerts) == [("auth_failure_burst", {"client_ip": ATTACKER}, 5,
                              us(at(3, 41, 1)), us(disconnect))]
    a = alerts[0]
    assert a.severity == "low"
    assert a.summary == (f"5 authentication failures from {ATTACKER} in 2m01s "
                         "(usernames: admin)")
    # the evidence: three warnings and the disconnect that said two more
    assert [e.line.split(": ", 1)[1] for e in a.evidence] == [
        f"warning: unknown[{ATTACKER}]: SASL LOGIN authentication failed: "
        "(reason unavailable), sasl_username=admin"] * 3 + [
        f"disconnect from unknown[{ATTACKER}] ehlo=2 starttls=1 auth=0/3 commands=3/6"]


def test_auth_failure_burst_four_sessions_of_one_failure_each_is_nothing(tmp_path) -> None:
    log = Log()
    for i in range(4):
        log.failures(at(3, 41 + i), ATTACKER, ["admin"])
    assert detect(tmp_path, log, keep=("auth_failure_burst",)) == []


def test_auth_failure_burst_usernames_in_the_summary(tmp_path) -> None:
    log = Log()
    log.failures(at(3, 41), ATTACKER, ["admin", "admin", "info"])
    log.failures(at(3, 45), ATTACKER, ["admin", "test"])
    alerts = detect(tmp_path, log, keep=("auth_failure_burst",))
    assert brief(alerts) == [("auth_failure_burst", {"client_ip": ATTACKER}, 5,
                              us(at(3, 41, 1)), us(at(3, 45, 3)))]
    # most common first, then in order of appearance
    assert alerts[0].summary.endswith("(usernames: admin, info, test)")


# -- distinct: the built-in password_spray ---------------------------------------------------

SPRAYER = "198.51.100.77"


def _spray(log: Log, users: list[str], ips: list[str] | None = None,
           start: datetime = at(4, 20)) -> list[datetime]:
    """One failure per session, one session every 37 s."""
    ips = ips or [SPRAYER] * len(users)
    return [log.failures(start + timedelta(seconds=37 * i), ip, [u])
            for i, (u, ip) in enumerate(zip(users, ips))]


def test_password_spray_five_usernames(tmp_path) -> None:
    log = Log()
    times = _spray(log, ["info", "sales", "support", "office", "test"])
    alerts = detect(tmp_path, log, keep=("password_spray",))
    assert brief(alerts) == [("password_spray", {"client_net": SPRAYER}, 5, us(times[0]),
                              us(times[-1]))]
    assert alerts[0].summary == (f"5 usernames tried from {SPRAYER} in 2m28s: "
                                 "info, sales, support, office, test")


def test_password_spray_four_usernames_is_nothing(tmp_path) -> None:
    log = Log()
    _spray(log, ["info", "sales", "support", "office", "info", "sales"])
    assert detect(tmp_path, log, keep=("password_spray",)) == []


def test_password_spray_usernames_compare_case_insensitively(tmp_path) -> None:
    log = Log()
    _spray(log, ["info", "INFO", "Sales", "sales", "support", "office", "Office"])
    assert detect(tmp_path, log, keep=("password_spray",)) == []
    log = Log()
    times = _spray(log, ["info", "INFO", "Sales", "sales", "support", "office", "Test"])
    assert brief(detect(tmp_path, log, keep=("password_spray",))) == [
        ("password_spray", {"client_net": SPRAYER}, 5, us(times[0]), us(times[-1]))]


def test_password_spray_ipv6_addresses_of_one_64_are_one_network(tmp_path) -> None:
    users = ["info", "sales", "support", "office", "test"]
    log = Log()
    ips = [f"2001:db8:bad:1::{i + 1:x}" for i in range(4)] + ["2001:db8:bad:1:ffff::9"]
    times = _spray(log, users, ips)
    assert brief(detect(tmp_path, log, keep=("password_spray",))) == [
        ("password_spray", {"client_net": "2001:db8:bad:1::/64"}, 5, us(times[0]),
         us(times[-1]))]
    log = Log()                         # five /64s: five networks of one username each
    _spray(log, users, [f"2001:db8:bad:{i}::1" for i in range(5)])
    assert detect(tmp_path, log, keep=("password_spray",)) == []


def test_password_spray_window_is_an_hour(tmp_path) -> None:
    users = ["a1", "a2", "a3", "a4", "a5"]
    log = Log()
    for u, t in zip(users, [at(4), at(4, 15), at(4, 30), at(4, 45), at(5, 0, 1)]):
        log.failures(t - timedelta(seconds=1), SPRAYER, [u])
    # the first has left the window [04:00:01, 05:00:01] when the fifth comes
    assert detect(tmp_path, log, keep=("password_spray",)) == []
    log = Log()                           # the fifth one second earlier: the window's edge
    for i, u in enumerate(users):         # 04:00 .. 05:00, one every 15 min
        log.failures(at(4, 15 * i) - timedelta(seconds=1), SPRAYER, [u])
    assert brief(detect(tmp_path, log, keep=("password_spray",))) == [
        ("password_spray", {"client_net": SPRAYER}, 5, us(at(4)), us(at(5)))]


def test_password_spray_counts_every_username_of_its_last_second(tmp_path) -> None:
    """`y` at 03:59:59 and again at 05:00:00, in the second `x` is first tried: the window
    [04:00:00, 05:00:00] holds five usernames, and so must the alert (it said four: the
    incident stopped at x's line, before y's of the same second)."""
    log = Log()
    for u, t in [("y", at(3, 59, 59)), ("u1", at(4, 10)), ("u2", at(4, 20)), ("u3", at(4, 30)),
                 ("x", at(5)), ("y", at(5))]:
        log.failures(t - timedelta(seconds=1), SPRAYER, [u])
    alerts = detect(tmp_path, log, keep=("password_spray",))
    assert brief(alerts) == [("password_spray", {"client_net": SPRAYER}, 5, us(at(4, 10)),
                              us(at(5)))]
    assert alerts[0].summary.endswith(": u1, u2, u3, x, y")


def test_password_spray_supersedes_the_burst_it_explains(tmp_path) -> None:
    """Five usernames in five failures: a spray and a burst of the same rows; the burst
    (superseded_by password_spray) is not alerted."""
    log = Log()
    times = _spray(log, ["info", "sales", "support", "office", "test"])
    alerts = detect(tmp_path, log, keep=("password_spray", "auth_failure_burst"))
    assert brief(alerts) == [("password_spray", {"client_net": SPRAYER}, 5, us(times[0]),
                              us(times[-1]))]


def test_a_spray_does_not_supersede_a_longer_burst(tmp_path) -> None:
    """After the spray, twenty failures for `admin`: the burst holds 25 rows, the spray's
    incident (a sixth username, then no new one) 6 of them, less than half: both are
    alerted."""
    log = Log()
    times = _spray(log, ["info", "sales", "support", "office", "test"])
    more = _spray(log, ["admin"] * 20, start=times[-1] + timedelta(seconds=30))
    alerts = detect(tmp_path, log, keep=("password_spray", "auth_failure_burst"))
    assert sorted(brief(alerts)) == sorted([
        ("password_spray", {"client_net": SPRAYER}, 6, us(times[0]), us(more[0])),
        ("auth_failure_burst", {"client_ip": SPRAYER}, 25, us(times[0]), us(more[-1]))])


def test_a_stray_retry_after_a_brute_force_does_not_carry_the_spray_over_it(tmp_path) -> None:
    """Twenty failures for `admin` between the spray and a retry of `info`: one other
    name came in between, not a round of the list, so the spray still ends at `admin`'s
    first try and the burst is its own alert (found by a review)."""
    log = Log()
    times = _spray(log, ["info", "sales", "support", "office", "test"])
    more = _spray(log, ["admin"] * 20 + ["info"], start=times[-1] + timedelta(seconds=30))
    alerts = detect(tmp_path, log, keep=("password_spray", "auth_failure_burst"))
    assert sorted(brief(alerts)) == sorted([
        ("password_spray", {"client_net": SPRAYER}, 6, us(times[0]), us(more[0])),
        ("auth_failure_burst", {"client_ip": SPRAYER}, 26, us(times[0]), us(more[-1]))])


# -- threshold: the built-in slow_guessing ---------------------------------------------------

SLOW = ("slow_guessing", "auth_failure_burst", "password_spray")


def test_slow_guessing_paced_under_the_burst_is_found(tmp_path) -> None:
    """A guess every 2m45s (four in any ten minutes, one under auth_failure_burst's
    five, which sees nothing) for an hour and a half: the twentieth failure within six
    hours alerts."""
    log = Log()
    times = [at(9) + timedelta(seconds=165 * i) for i in range(36)]
    _fails(log, times)
    assert brief(detect(tmp_path, log, keep=SLOW)) == [
        ("slow_guessing", {"client_net": ATTACKER}, 36, us(times[0]), us(times[-1]))]
    log = Log()                                     # nineteen in six hours: nothing
    _fails(log, [at(9, 18 * i) for i in range(19)])
    assert detect(tmp_path, log, keep=SLOW) == []


def test_slow_guessing_takes_an_ipv6_clients_64_as_one(tmp_path) -> None:
    """A new address of its /64 for every guess: no address fails twice, the /64 twenty
    times."""
    log = Log()
    times = [at(9, 6 * i) for i in range(20)]
    for i, t in enumerate(times):
        _fails(log, [t], ip=f"2001:db8:bad:1::{i + 1:x}")
    assert brief(detect(tmp_path, log, keep=SLOW)) == [
        ("slow_guessing", {"client_net": "2001:db8:bad:1::/64"}, 20, us(times[0]),
         us(times[-1]))]


def test_slow_guessing_gives_way_to_the_burst_that_holds_it(tmp_path) -> None:
    """Thirty failures in fifteen minutes are one burst: its alert says it all. Bursts
    that come back every ninety minutes, each its own alert, are also the returning
    guesser that fail2ban's recidive jail is for: the slow rule tells it."""
    log = Log()
    times = [at(9, 0, 30 * i) for i in range(30)]
    _fails(log, times)
    assert brief(detect(tmp_path, log, keep=SLOW)) == [
        ("auth_failure_burst", {"client_ip": ATTACKER}, 30, us(times[0]), us(times[-1]))]
    log = Log()
    rounds = [[at(9 + 3 * r // 2, 30 * (r % 2), 40 * i) for i in range(6)] for r in range(4)]
    _fails(log, [t for r in rounds for t in r])
    found = brief(detect(tmp_path, log, keep=SLOW))
    assert [a[0] for a in found].count("auth_failure_burst") == 4
    assert ("slow_guessing", {"client_net": ATTACKER}, 24, us(rounds[0][0]),
            us(rounds[-1][-1])) in found


def _dovecot_refused(t: datetime, attempts: int, session: int,
                     ip: str = "198.51.100.9") -> str:
    """A Dovecot connection refused after `attempts` wrong passwords: one line."""
    return (f"{t:%b} {t.day:2d} {t:%H:%M:%S} mx1 dovecot: imap-login: Disconnected (auth "
            f"failed, {attempts} attempts in 60 secs): user=<bob>, method=PLAIN, rip={ip}, "
            f"lip=192.0.2.1, TLS, session=<s{session}>\n")


def test_slow_guessing_gives_way_by_failures_not_lines(tmp_path) -> None:
    """Ten failures in three minutes (a burst), then a connection an hour for five hours,
    four passwords each: the burst holds ten lines of fifteen but ten failures of thirty,
    and the guesser that came back is told. The other way round (two lines of ten
    passwords, then five of one), the burst holds twenty of twenty-five: one alert.
    (Found by a review: lines were weighed.)"""
    came_back = "".join(_dovecot_refused(at(9, 0, 20 * i), 1, i) for i in range(10)) + "".join(
        _dovecot_refused(at(9 + h), 4, 100 + h) for h in range(1, 6))
    assert sorted(a[:3] for a in brief(detect(tmp_path, came_back, keep=SLOW))) == [
        ("auth_failure_burst", {"client_ip": "198.51.100.9"}, 10),
        ("slow_guessing", {"client_net": "198.51.100.9"}, 30)]
    mostly_burst = "".join(_dovecot_refused(at(9, 0, 20 * i), 10, i) for i in range(2)) + \
        "".join(_dovecot_refused(at(9 + h), 1, 100 + h) for h in range(1, 6))
    assert [a[:3] for a in brief(detect(tmp_path, mostly_burst, keep=SLOW))] == [
        ("auth_failure_burst", {"client_ip": "198.51.100.9"}, 20)]


# -- sequence: the built-in auth_success_after_failures --------------------------------------

GUESSER = "192.0.2.200"
SEQ = ("auth_success_after_failures",)


def _login(log: Log, t: datetime, ip: str = GUESSER, user: str = "bob",
           failed: list[str] = ()) -> None:
    log.message(t, ip, f"{user}@example.com", ["invoice@example.net"], user=user,
                failed=list(failed))


def test_sequence_failures_then_login_from_the_same_address(tmp_path) -> None:
    log = Log()
    first = log.failures(at(11, 40), GUESSER, ["bob", "bob"])
    log.failures(at(11, 41, 30), GUESSER, ["bob"])
    _login(log, at(11, 43, 5))
    alerts = detect(tmp_path, log, keep=SEQ)
    assert brief(alerts) == [("auth_success_after_failures", {"client_ip": GUESSER}, 3,
                              us(at(11, 40, 1)), us(at(11, 43, 5)))]
    a = alerts[0]
    assert (a.severity, a.details) == ("high", {"then_rows": 1})
    assert first == at(11, 40, 3)
    assert a.summary == f"{GUESSER} logged in after 3 failed attempts in 3m04s (usernames: bob)"
    assert a.evidence[-1].line.endswith(
        f"client=unknown[{GUESSER}], sasl_method=PLAIN, sasl_username=bob")


def test_sequence_needs_min_first_failures(tmp_path) -> None:
    log = Log()
    log.failures(at(11, 40), GUESSER, ["bob", "bob"])
    _login(log, at(11, 43, 5))
    assert detect(tmp_path, log, keep=SEQ) == []


def test_sequence_failures_more_than_the_window_before_do_not_count(tmp_path) -> None:
    log = Log()
    log.failures(at(10, 43, 3), GUESSER, ["bob"])       # at 10:43:04: 1 h 1 s before
    log.failures(at(11, 40), GUESSER, ["bob", "bob"])
    _login(log, at(11, 43, 5))
    assert detect(tmp_path, log, keep=SEQ) == []
    log = Log()                                         # exactly 1 h before: the edge is in
    log.failures(at(10, 43, 4), GUESSER, ["bob"])
    log.failures(at(11, 40), GUESSER, ["bob", "bob"])
    _login(log, at(11, 43, 5))
    assert brief(detect(tmp_path, log, keep=SEQ)) == [
        ("auth_success_after_failures", {"client_ip": GUESSER}, 3, us(at(10, 43, 5)),
         us(at(11, 43, 5)))]


def test_sequence_failures_in_the_login_session_do_not_count(tmp_path) -> None:
    """A client trying CRAM-MD5, DIGEST-MD5 and LOGIN before PLAIN works, in one
    session (`auth=1/4`): no attack."""
    log = Log()
    _login(log, at(11, 43, 5), failed=["CRAM-MD5", "DIGEST-MD5", "LOGIN"])
    assert detect(tmp_path, log, keep=SEQ) == []
    # the same three failures in a session of their own do count
    log = Log()
    log.failures(at(11, 43), GUESSER, ["bob"] * 3, method="CRAM-MD5")
    _login(log, at(11, 43, 10))
    assert brief(detect(tmp_path, log, keep=SEQ)) == [
        ("auth_success_after_failures", {"client_ip": GUESSER}, 3, us(at(11, 43, 1)),
         us(at(11, 43, 10)))]


def test_sequence_guesses_in_the_login_session_count(tmp_path) -> None:
    """Postfix lets a client try AUTH again and again in one connection: four failed
    LOGINs and then a login that works, all in one session, are three guesses and the
    one mistake a fallback may make, not a fallback (one failure per mechanism)."""
    log = Log()
    _login(log, at(11, 43, 5), failed=["LOGIN"] * 4)
    assert brief(detect(tmp_path, log, keep=SEQ)) == [
        ("auth_success_after_failures", {"client_ip": GUESSER}, 4, us(at(11, 43, 5)),
         us(at(11, 43, 5)))]
    log = Log()
    _login(log, at(11, 43, 5), failed=["CRAM-MD5", "LOGIN", "LOGIN"])
    assert detect(tmp_path, log, keep=SEQ) == []


def test_sequence_a_phone_that_logged_in_before_as_that_user(tmp_path) -> None:
    """bob's phone logged in from this address at 09:00; at 11:40 it fails three times
    with a stale password, then its owner fixes it: not an attack. A login as another
    user from the address does not excuse it."""
    log = Log()
    _login(log, at(9))
    log.failures(at(11, 40), GUESSER, ["bob"] * 3)
    _login(log, at(11, 43, 5))
    assert detect(tmp_path, log, keep=SEQ) == []
    log = Log()
    _login(log, at(9), user="carol")
    log.failures(at(11, 40), GUESSER, ["bob"] * 3)
    _login(log, at(11, 43, 5))
    assert brief(detect(tmp_path, log, keep=SEQ)) == [
        ("auth_success_after_failures", {"client_ip": GUESSER}, 3, us(at(11, 40, 1)),
         us(at(11, 43, 5)))]


def test_sequence_failures_from_another_address(tmp_path) -> None:
    log = Log()
    log.failures(at(11, 40), "192.0.2.201", ["bob"] * 3)
    _login(log, at(11, 43, 5))
    assert detect(tmp_path, log, keep=SEQ) == []


def test_sequence_supersedes_the_burst_of_its_failures(tmp_path) -> None:
    log = Log()
    log.failures(at(11, 40), GUESSER, ["bob"] * 5)
    _login(log, at(11, 43, 5))
    assert [a.rule for a in detect(tmp_path, log, keep=SEQ + ("auth_failure_burst",))] == [
        "auth_success_after_failures"]
    log = Log()                           # no login: the burst stands
    log.failures(at(11, 40), GUESSER, ["bob"] * 5)
    assert [a.rule for a in detect(tmp_path, log, keep=SEQ + ("auth_failure_burst",))] == [
        "auth_failure_burst"]


# -- match: the built-in open_relay ----------------------------------------------------------

RELAY = ("open_relay",)
STRANGER = "198.51.100.23"


def _relayed(log: Log, t: datetime, ip: str = STRANGER, rcpts: tuple[str, ...] = (
        "anna@example.org", "ben@example.net"), **kw: Any) -> None:
    log.message(t, ip, "offers@bulk-sender.test", list(rcpts), port25=True, **kw)


def test_open_relay_one_alert_per_client(tmp_path) -> None:
    log = Log()
    times = [at(19, 10, 14), at(19, 15, 42), at(19, 22, 5)]
    for t in times:
        _relayed(log, t)
    _relayed(log, at(19, 30), ip="203.0.113.7", rcpts=("x@example.org",))
    alerts = detect(tmp_path, log, keep=RELAY)
    assert brief(alerts) == [
        ("open_relay", {"client_ip": STRANGER}, 3, us(times[0]), us(times[-1])),
        ("open_relay", {"client_ip": "203.0.113.7"}, 1, us(at(19, 30)), us(at(19, 30)))]
    assert alerts[0].severity == "critical"
    # the domains in the order they were delivered to (anna@example.org first, as the
    # evidence below), no longer in the order a hash join happened to return them
    assert alerts[0].summary == (f"3 messages relayed for unauthenticated {STRANGER} to "
                                 "example.org, example.net")
    # evidence: the lines of the three messages that detection keeps (client=, qmgr's
    # from=, the two deliveries)
    assert alerts[0].evidence_total == 12
    assert [e.line.split(": ", 2)[2].split(",")[0] for e in alerts[0].evidence[:4]] == [
        f"client=unknown[{STRANGER}]", "from=<offers@bulk-sender.test>", "to=<anna@example.org>",
        "to=<ben@example.net>"]


@pytest.mark.parametrize("later, alerts", [(timedelta(hours=23), 1), (timedelta(hours=25), 2)])
def test_open_relay_cooldown_of_a_day(tmp_path, later, alerts) -> None:
    log = Log()
    _relayed(log, at(19, 10))
    _relayed(log, at(19, 10) + later)
    got = brief(detect(tmp_path, log, keep=RELAY))
    if alerts == 1:
        assert got == [("open_relay", {"client_ip": STRANGER}, 2, us(at(19, 10)),
                        us(at(19, 10) + later))]
    else:
        assert got == [("open_relay", {"client_ip": STRANGER}, 1, us(at(19, 10)), us(at(19, 10))),
                       ("open_relay", {"client_ip": STRANGER}, 1, us(at(19, 10) + later),
                        us(at(19, 10) + later))]


def test_open_relay_not_for_trusted_authenticated_local_or_undelivered(tmp_path) -> None:
    log = Log()
    _relayed(log, at(10), ip="192.0.2.10")                          # trusted (webmail)
    log.message(at(11), STRANGER, "carol@example.com", ["x@example.org"], user="carol")
    _relayed(log, at(12), rcpts=("dave@example.com",))               # to us
    _relayed(log, at(13), status="deferred")                         # not (yet) relayed
    site = Site(local_domains=["example.com"],
                trusted_networks=["127.0.0.0/8", "::1/128", "192.0.2.10/32"])
    assert detect(tmp_path, log, keep=RELAY, site=site) == []
    # the same log without the webmail host trusted: it is the one open relay
    assert brief(detect(tmp_path, log, keep=RELAY)) == [
        ("open_relay", {"client_ip": "192.0.2.10"}, 1, us(at(10)), us(at(10)))]


@pytest.mark.parametrize("where, clients", [
    ('recipient_domains = "example.net"', ["198.51.100.5"]),
    ('recipient_domains = ["example.net", "example.edu"]', ["198.51.100.5"]),
    ('recipient_domains = { ne = "example.net" }', ["198.51.100.6"]),
    ('recipient_domains = { not_in = ["example.net"] }', ["198.51.100.6"]),
    ('recipient_domains = { ends_with = ".org" }', ["198.51.100.5", "198.51.100.6"]),
    ('recipients = { starts_with = "ceo@" }', ["198.51.100.6"]),
])
def test_a_condition_on_a_list_field_asks_each_element(tmp_path, where, clients) -> None:
    """A message's recipient domains are a list: a test holds when it holds of one of
    them, `ne` and `not_in` when none is equal. pyarrow has no kernel for either on a
    list: such a rule passed check-config and ended detect with a traceback."""
    log = Log()
    log.message(at(10), "198.51.100.5", "alice@example.com",
                ["anna@example.net", "ben@example.org"], user="alice")
    log.message(at(10, 5), "198.51.100.6", "carol@example.com", ["ceo@example.org"],
                user="carol")
    alerts = detect(tmp_path, log, rule("match", 'table = "messages"\ngroup_by = ["client_ip"]\n',
                                        where=where))
    assert [a.key["client_ip"] for a in alerts] == clients


def test_a_whole_number_written_with_a_point_is_that_number(tmp_path) -> None:
    """`pid = { ge = 2002.0 }` is `pid >= 2002`; a fraction (`2001.5`) is refused when
    the file is loaded (test_rule_files), where pyarrow cut it to 2001 without a word."""
    log = Log()
    log.failures(at(10), ATTACKER, ["admin"])                  # pid 2001
    log.failures(at(10, 1), "203.0.113.46", ["admin"])         # pid 2002
    alerts = detect(tmp_path, log, rule("match", 'group_by = ["client_ip"]\n',
                                        where='event = "auth_failure"\npid = { ge = 2002.0 }\n'))
    assert [a.key for a in alerts] == [{"client_ip": "203.0.113.46"}]


def _probe(log: Log, t: datetime, rcpts: list[str], ip: str = "203.0.113.99") -> list[datetime]:
    """One session refused relaying to each of `rcpts`, 2 s apart."""
    pid = log.pid()
    log.add(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]")
    times = []
    for i, r in enumerate(rcpts):
        times.append(t + timedelta(seconds=2 + 2 * i))
        log.add(times[-1], "postfix/smtpd", pid,
                f"NOQUEUE: reject: RCPT from unknown[{ip}]: 454 4.7.1 <{r}>: Relay access "
                f"denied; from=<probe@relaycheck.test> to=<{r}> proto=ESMTP "
                "helo=<relaycheck.test>")
    n = len(rcpts)
    log.add(times[-1], "postfix/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=1 mail=1 "
                                             f"rcpt=0/{n} quit=1 commands=3/{3 + n}")
    return times


def test_relay_probe_counts_sessions_not_recipients(tmp_path) -> None:
    rcpts = ["relaytest@example.net", "postmaster@example.org", "check@example.net",
             "open@example.org"]
    log = Log()
    _probe(log, at(2, 13, 11), rcpts)
    _probe(log, at(2, 14, 40), rcpts[:1])
    assert detect(tmp_path, log, keep=("relay_probe",)) == []
    third = _probe(log, at(2, 16, 12), rcpts[:2])
    alerts = detect(tmp_path, log, keep=("relay_probe",))
    assert brief(alerts) == [("relay_probe", {"client_ip": "203.0.113.99"}, 3,
                              us(at(2, 13, 13)), us(third[0]))]
    assert alerts[0].summary == ("3 relay attempts from 203.0.113.99 in 3m01s "
                                 "(to example.net, example.org)")


# -- spike -----------------------------------------------------------------------------------

def spike_rule(keys: str = '[["client_ip"]]', extra: str = "") -> str:
    """Connections per client address (and whatever `keys` says) per hour."""
    return rule("spike", summary="$count from $who", body=f"""\
    keys = {keys}
    interval = "1h"
    baseline = "28d"
    min_history = "6h"
    floor = 20
    cooldown = "2h"
    """ + extra, where='event = "connect"\n')


NOISY = "203.0.113.9"
USUAL = "192.0.2.50"


def _hourly(log: Log, ip: str, n: int, hours: range, day: int = 0) -> None:
    for h in hours:
        log.connects(at(h, day=day), ip, n, every=3600 // n)


def test_spike_after_a_quiet_history(tmp_path) -> None:
    """The key never connected in the ten hours of history (another did, at 00:00):
    100 in an hour fires, with an expected 0 from ten earlier intervals."""
    log = Log()
    log.connects(at(0), USUAL, 1)
    log.connects(at(10), NOISY, 100, every=20)
    alerts = detect(tmp_path, log, spike_rule())
    assert brief(alerts) == [("t", {"client_ip": NOISY}, 100, us(at(10)), us(at(10, 33)))]
    assert alerts[0].details == {"measure": "rows", "interval": 3600,
                                 "who": f"client_ip {NOISY}", "expected": 0.0, "spread": 1.0,
                                 "history_intervals": 10, "keys": ["client_ip"]}


def test_spike_steady_traffic_is_its_own_baseline(tmp_path) -> None:
    """40 an hour for eight hours: never a spike. Then five times the median fires and
    one less does not (ratio 5)."""
    for last, fires in ((199, False), (200, True)):
        log = Log()
        _hourly(log, NOISY, 40, range(8))
        log.connects(at(8), NOISY, last, every=15)
        got = brief(detect(tmp_path, log, spike_rule()))
        end = at(8) + timedelta(seconds=15 * (last - 1))
        assert got == ([("t", {"client_ip": NOISY}, last, us(at(8)), us(end))] if fires
                       else []), last


def test_spike_interval_is_not_in_its_own_baseline(tmp_path) -> None:
    """Quiet, then 100 in each of two hours: the second hour's baseline holds the first
    (and nine zeros, median 0), never itself; the two hours are one incident (cooldown
    2h), counted by its largest interval."""
    log = Log()
    log.connects(at(0), USUAL, 1)
    log.connects(at(10), NOISY, 100, every=20)
    log.connects(at(11), NOISY, 110, every=20)
    alerts = detect(tmp_path, log, spike_rule())
    assert brief(alerts) == [("t", {"client_ip": NOISY}, 110, us(at(10)),
                              us(at(11) + timedelta(seconds=20 * 109)))]
    assert alerts[0].evidence_total == 210          # the connections of both hours
    assert (alerts[0].details["expected"], alerts[0].details["history_intervals"]) == (0.0, 11)


def test_spike_needs_min_history_or_the_ceiling(tmp_path) -> None:
    log = Log()                 # 5 h of history only: below min_history, no ceiling
    log.connects(at(0), USUAL, 1)
    log.connects(at(5), NOISY, 100, every=20)
    assert detect(tmp_path, log, spike_rule()) == []
    # the ceiling fires without any history; 59 stays under it
    for n, fires in ((59, False), (60, True)):
        log = Log()
        log.connects(at(5), NOISY, n, every=20)
        alerts = detect(tmp_path, log, spike_rule(extra="ceiling = 60\n"))
        end = at(5) + timedelta(seconds=20 * (n - 1))
        assert brief(alerts) == ([("t", {"client_ip": NOISY}, n, us(at(5)), us(end))]
                                 if fires else [])
        if fires:
            assert (alerts[0].details["expected"], alerts[0].details["history_intervals"]) == (
                None, 0)


def test_spike_total_has_no_ceiling(tmp_path) -> None:
    """60 connections in the first hour, no history, ceiling 50: the address fires, the
    total of the same rows does not (its size is the site's)."""
    log = Log()
    log.connects(at(5), NOISY, 60, every=20)
    assert detect(tmp_path, log, spike_rule(keys="[[]]", extra="ceiling = 50\n")) == []
    assert brief(detect(tmp_path, log, spike_rule(keys='[["client_ip"], []]',
                                                  extra="ceiling = 50\n"))) == [
        ("t", {"client_ip": NOISY}, 60, us(at(5)), us(at(5, 19, 40)))]


def test_spike_narrower_key_explains_the_total(tmp_path) -> None:
    """One address makes the hour's total: only the address is alerted."""
    log = Log()
    _hourly(log, USUAL, 2, range(11))
    log.connects(at(10, 1), NOISY, 100, every=20)
    alerts = detect(tmp_path, log, spike_rule(keys='[["client_ip"], []]'))
    assert brief(alerts) == [("t", {"client_ip": NOISY}, 100, us(at(10, 1)), us(at(10, 34)))]


def test_spike_total_alerted_when_the_narrow_alert_explains_less_than_half(tmp_path) -> None:
    log = Log()
    _hourly(log, USUAL, 2, range(11))
    log.connects(at(10, 1), NOISY, 30, every=20)
    for i in range(20):                        # 40 more from 20 addresses, under the floor
        log.connects(at(10, 20 + i), f"198.51.100.{i + 1}", 2)
    alerts = detect(tmp_path, log, spike_rule(keys='[["client_ip"], []]'))
    assert brief(alerts) == [
        ("t", {}, 72, us(at(10)), us(at(10, 39, 20))),
        ("t", {"client_ip": NOISY}, 30, us(at(10, 1)), us(at(10, 10, 40)))]
    total = alerts[0].details
    assert (total["who"], total["keys"], total["expected"]) == ("all senders", ["total"], 2.0)


def test_spike_baseline_shorter_than_a_week_after_seasonal_after(tmp_path) -> None:
    """A one-day baseline holds no interval of the same hour of the week: after
    `seasonal_after` it stays the plain baseline (it was empty, a NaN median, and the rule
    never fired again)."""
    log = Log()
    log.connects(at(0), USUAL, 1)
    log.connects(at(9, day=15), NOISY, 100, every=20)
    got = brief(detect(tmp_path, log, spike_rule().replace('"28d"', '"1d"')))
    assert got == [("t", {"client_ip": NOISY}, 100, us(at(9, day=15)), us(at(9, 33, day=15)))]


def test_baselines_of() -> None:
    import numpy as np

    from logwatch.rules_engine.spike import Baseline, baselines_of
    low, high = baselines_of(np.array([[0.0, 0, 0, 10], [10.0, 12, 14, 100]]))
    assert low == Baseline(0.0, 1.0, 4)                                   # spread >= 1
    assert (high.median, high.intervals) == (13.0, 4)
    assert high.spread == pytest.approx(2 * 1.4826)                       # MAD 2, scaled


@pytest.mark.parametrize("seasonal_after, days", [("14d", [0, 7]), ("60d", [0, 7, 14])])
def test_spike_seasonal_baseline(tmp_path, seasonal_after, days) -> None:
    """100 every Monday at 09:00, nothing else from the key: after two weeks of history
    the same hour of the week is the baseline, and the third Monday is usual."""
    log = Log()
    log.connects(at(0), USUAL, 1)
    for d in (0, 7, 14):
        log.connects(at(9, day=d), NOISY, 100, every=20)
    alerts = detect(tmp_path, log, spike_rule(extra=f'seasonal_after = "{seasonal_after}"\n'))
    assert brief(alerts) == [("t", {"client_ip": NOISY}, 100, us(at(9, day=d)),
                              us(at(9, 33, day=d))) for d in days]


# -- level -----------------------------------------------------------------------------------

QUEUE = rule("level", summary="$count waiting", body="""\
    table = "messages"
    start = "first_deferred"
    end = "last_seen"
    interval = "10m"
    floor = 6
    rising = 3
    cooldown = "2h"
    """, where='first_deferred = { null = false }\n'
                '[rule.ended_when]\nstatus = { ne = "deferred" }\n')


def _deferred(log: Log, per_interval: list[int], start: datetime = at(10)) -> list[str]:
    """`n` messages deferred (1 s after pickup) in each ten-minute interval in turn; and a
    cron mail delivered at 12:00, so that the log goes on."""
    qids = []
    for i, n in enumerate(per_interval):
        for j in range(n):
            t = start + timedelta(minutes=10 * i + 1 + j)
            qids.append(log.local(t, "ops@slow.example.net"))
    log.local(at(12), "dave@example.org", status="sent")
    return qids


def test_level_queue_growing_over_three_intervals_past_the_floor(tmp_path) -> None:
    """Empty at 10:00, then 3, 5 and 7 messages waiting at 10:10, 10:20 and 10:30: grown
    over each of the last three intervals, and at the floor (6)."""
    log = Log()
    qids = _deferred(log, [3, 2, 2])
    alerts = detect(tmp_path, log, QUEUE)
    assert brief(alerts) == [("t", {}, 7, us(at(10)), us(at(10, 30)))]
    assert alerts[0].details == {"level": [0, 3, 5, 7], "interval": 600}
    # evidence: the lines of the seven waiting messages (pickup, qmgr, the deferral)
    assert alerts[0].evidence_total == 21
    assert {e.line.split(": ")[1] for e in alerts[0].evidence} == set(qids)
    assert sum("status=deferred" in e.line for e in alerts[0].evidence) == 6   # of 20 shown


def test_level_growing_on_is_one_incident(tmp_path) -> None:
    log = Log()
    _deferred(log, [2, 2, 2, 2, 2])
    alerts = detect(tmp_path, log, QUEUE)
    assert brief(alerts) == [("t", {}, 10, us(at(10)), us(at(10, 50)))]
    assert alerts[0].details["level"] == [0, 2, 4, 6, 8, 10]


def test_level_flat_queue_is_nothing(tmp_path) -> None:
    log = Log()
    _deferred(log, [9])
    assert detect(tmp_path, log, QUEUE) == []


def test_level_below_the_floor_is_nothing(tmp_path) -> None:
    log = Log()
    _deferred(log, [1, 2, 2])                  # 1, 3, 5: growing, under 6
    assert detect(tmp_path, log, QUEUE) == []


def test_level_delivered_messages_leave_the_queue(tmp_path) -> None:
    """Growth of 2 an interval, but the first two are delivered at 10:25: 2, 4, 4, 6."""
    log = Log()
    qids = _deferred(log, [2, 2, 2, 2])
    for q in qids[:2]:
        log.retry(at(10, 25), q, "ops@slow.example.net")
    assert detect(tmp_path, log, QUEUE) == []
    log = Log()                                # retried and deferred again: still queued
    qids = _deferred(log, [2, 2, 2, 2])
    for q in qids[:2]:
        log.retry(at(10, 25), q, "ops@slow.example.net", status="deferred")
    assert brief(detect(tmp_path, log, QUEUE)) == [("t", {}, 8, us(at(10)), us(at(10, 40)))]


# -- the runner: allowlists, trusted clients, superseded rules --------------------------------

def _burst_log() -> tuple[Log, list[datetime]]:
    log = Log()
    times = [log.failures(at(3, 41 + i), ATTACKER, ["admin"], disconnect=False)
             for i in range(5)]
    return log, times


def test_allowlisted_clients_and_users_never_alert(tmp_path) -> None:
    log, times = _burst_log()
    both = ("auth_failure_burst",)
    expect = [("t", {"client_ip": ATTACKER}, 5, us(times[0]), us(times[-1])),
              ("auth_failure_burst", {"client_ip": ATTACKER}, 5, us(times[0]), us(times[-1]))]
    assert sorted(brief(detect(tmp_path, log, BURST, keep=both))) == sorted(expect)
    for allow in (Allowlist(networks=["203.0.113.0/24"]), Allowlist(networks=[ATTACKER]),
                  Allowlist(users=["Admin"])):
        assert detect(tmp_path, log, BURST, keep=both, allow=allow) == [], allow
    # another network or user: no effect
    for allow in (Allowlist(networks=["203.0.114.0/24"]), Allowlist(users=["root"])):
        assert sorted(brief(detect(tmp_path, log, BURST, keep=both, allow=allow))) == sorted(
            expect), allow


def test_allowlisted_sender_never_alerts(tmp_path) -> None:
    log = Log()
    _relayed(log, at(19, 10))
    allow = Allowlist(senders=["*@bulk-sender.test"])
    assert detect(tmp_path, log, keep=RELAY, allow=allow) == []
    assert len(detect(tmp_path, log, keep=RELAY, allow=Allowlist(senders=["*@other.test"]))) == 1


def test_skip_trusted(tmp_path) -> None:
    """A client in trusted_networks (webmail, monitoring) is skipped by the rules that say
    `skip_trusted` (the credential rules), not by the others."""
    log, times = _burst_log()
    site = Site(local_domains=["example.com"], trusted_networks=["127.0.0.1/32", "203.0.113.0/24"])
    assert brief(detect(tmp_path, log, BURST, keep=("auth_failure_burst",), site=site)) == [
        ("t", {"client_ip": ATTACKER}, 5, us(times[0]), us(times[-1]))]
    skipping = BURST.replace('group_by', 'skip_trusted = true\ngroup_by')
    assert detect(tmp_path, log, skipping, site=site) == []
    assert len(detect(tmp_path, log, skipping)) == 1


def test_rule_allow_exempts_for_that_rule_only(tmp_path) -> None:
    log, times = _burst_log()
    own = BURST + '\n[rule.allow]\nnetworks = ["203.0.113.0/24"]\n'
    other = rule("threshold", """\
        group_by = ["client_ip"]
        threshold = 5
        """, rid="u", where='event = "auth_failure"\n')
    assert brief(detect(tmp_path, log, own + "\n" + other)) == [
        ("u", {"client_ip": ATTACKER}, 5, us(times[0]), us(times[-1]))]
    # by user (case-insensitive), and through the config's [rules.<id>] override
    by_user = BURST + '\n[rule.allow]\nusers = ["ADMIN"]\n'
    assert detect(tmp_path, log, by_user) == []
    assert detect(tmp_path, log, keep=("auth_failure_burst",), overrides={
        "auth_failure_burst": {"allow": {"networks": [ATTACKER]}}}) == []
    assert len(detect(tmp_path, log, keep=("auth_failure_burst",), overrides={
        "auth_failure_burst": {"allow": {"networks": ["192.0.2.0/24"]}}})) == 1


def test_superseded_by_needs_half_of_the_rows(tmp_path) -> None:
    """`broad` (three failures in 10 min) is superseded by `narrow` (five) where narrow's
    incident holds at least half of broad's rows."""
    broad = rule("threshold", """\
        group_by = ["client_ip"]
        threshold = 3
        superseded_by = ["narrow"]
        """, rid="broad", where='event = "auth_failure"\n')
    narrow = rule("threshold", """\
        group_by = ["client_ip"]
        threshold = 5
        window = "2m"
        """, rid="narrow", where='event = "auth_failure"\n')
    rules = broad + "\n" + narrow
    log = Log()                    # five in 2 min, then four more 5 min later: 5 of 9
    first = [at(10, 0, 10 * i) for i in range(5)]
    later = [at(10, 5 + i) for i in range(4)]
    _fails(log, first + later)
    assert brief(detect(tmp_path, log, rules)) == [
        ("narrow", {"client_ip": ATTACKER}, 5, us(first[0]), us(first[-1]))]
    log = Log()                    # five more: 5 of 10 still suffices; six more: not
    _fails(log, first + [at(10, 5 + i) for i in range(5)])
    assert [a.rule for a in detect(tmp_path, log, rules)] == ["narrow"]
    log = Log()
    _fails(log, first + [at(10, 5 + i) for i in range(6)])
    assert sorted(brief(detect(tmp_path, log, rules))) == [
        ("broad", {"client_ip": ATTACKER}, 11, us(first[0]), us(at(10, 10))),
        ("narrow", {"client_ip": ATTACKER}, 5, us(first[0]), us(first[-1]))]


def test_alerts_most_severe_first(tmp_path) -> None:
    log = Log()
    log.failures(at(11, 40), GUESSER, ["bob"] * 3)
    _login(log, at(11, 43, 5))
    _relayed(log, at(19, 10))
    _fails(log, [at(3, i) for i in range(5)])
    alerts = detect(tmp_path, log, keep=("open_relay", "auth_success_after_failures",
                                         "auth_failure_burst"))
    assert [(a.rule, a.severity) for a in alerts] == [
        ("open_relay", "critical"), ("auth_success_after_failures", "high"),
        ("auth_failure_burst", "low")]


def test_keys_compare_without_case_as_values_do(tmp_path) -> None:
    """A botnet trying `bob`, `Bob` and `BOB` from twelve networks is one slow brute
    force against one account (Dovecot lower-cases the name it checks)."""
    log = Log()
    spellings = ["bob", "Bob", "BOB"]
    for i in range(12):
        log.failures(at(10, i * 5), f"198.51.{100 + i}.7", [spellings[i % 3]])
    alerts = detect(tmp_path, log, keep=("distributed_bruteforce",))
    assert [(a.rule, a.count) for a in alerts] == [("distributed_bruteforce", 12)]
    assert alerts[0].key == {"sasl_username": "bob"}
