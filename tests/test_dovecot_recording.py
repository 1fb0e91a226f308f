"""Debian 12's Dovecot 2.3 and Debian 13's 2.4 recorded with their own login services
(recordings/dovecot/ and dovecot24/, made by recordings/record_dovecot.sh and
record_dovecot24.sh): what parsers/dovecot.toml reads from real IMAP, POP3, submission and
ManageSieve lines, against what the driver really did (scenarios.json beside them: every
connection, every password and the server's reply). The two versions word most lines
differently (`Login:` and `Logged in:`, `passwd-file(bob,ip,<session>)` and
`auth(bob,ip,sasl:plain)<session>: passwd-file:`) and must count the same.

tests/test_dovecot.py checks the parser against fail2ban's and crowdsec's lines; those were
written down from servers nobody can ask. Here every line has a known cause: every refused password must
weigh one failure, with its client and username, in every format and whether or not the
auth service also spoke (`auth_verbose`: then also those of a connection that went on to
log in), and the credential rules must fire on the attacks and on nothing else.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from logwatch.config import load_config
from logwatch.detection import detect_files
from logwatch.enrich import refusal_weights
from logwatch.pipeline import ParseOptions
from tests.conftest import ROOT, parse_events

TRUTHS = [json.loads((ROOT / f"recordings/{d}/scenarios.json").read_text())
          for d in ("dovecot", "dovecot24")]
FILES = ["syslog-traditional.log.gz", "syslog-rfc3339.log.gz", "syslog-rfc5424.log.gz",
         "journal.json.gz"]
#: the processes parsers/dovecot.toml reads (of the master, its start and stop);
#: Dovecot's others (imap, pop3) are not mail to it
READ = ("imap-login", "pop3-login", "submission-login", "managesieve-login", "auth",
        "auth-worker", "master")
READ_LINE = re.compile(r" dovecot: (?:%s)(?:\(\d+\)|\([^()]*\)<[^<>]*>)?: " % "|".join(READ))
#: what Dovecot answers a password offered in the clear on a connection it does not take as
#: secured (2.3 says plaintext, 2.4 cleartext): the password was never looked at
UNREAD = re.compile("(?:Plaintext|Cleartext) authentication")
#: the scenarios' clients are other loopback addresses than Dovecot's own
CONFIG = """
[site]
trusted_networks = ["127.0.0.1/32"]
timezone = "UTC"
"""

Row = dict[str, Any]


def _cases() -> list[Any]:
    """Each run of each version, with the users its driver knew (`users`)."""
    return [pytest.param({**run, "users": truth["users"]}, name, id=f"{run['dir']}/{name}")
            for truth in TRUTHS for run in truth["runs"] for name in FILES]


@lru_cache(maxsize=None)
def _parse(directory: str, name: str) -> tuple[tuple[Row, ...], int]:
    """The Dovecot rows of one recorded file, each with the refused passwords it weighs
    (`weight`), and the file's lines no pattern accounted for."""
    events, run = parse_events([Path(directory) / name], tz="UTC", year=2026)
    rows = tuple(dict(r, weight=int(w)) for r, w in zip(events.to_pylist(),
                                                        refusal_weights(events))
                 if r["mta"] == "dovecot")
    return rows, sum(s.unaccounted() for s in run.stats)


def _rows(run: dict[str, Any], name: str) -> tuple[Row, ...]:
    rows, unaccounted = _parse(str(ROOT / run["dir"]), name)
    assert unaccounted == 0
    return rows


def _scenario(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["scenarios"] if s["name"] == name)


def _read(attempt: dict[str, Any]) -> bool:
    """The server looked at this password (accepted or refused it), not at the channel."""
    return not UNREAD.search(attempt["reply"])


def _refused(conn: dict[str, Any]) -> bool:
    """A connection that offered passwords the server judged, none accepted: its login
    process logs one `(auth failed, N attempts ...)` line."""
    return conn["failed"] and any(_read(a) for a in conn["attempts"])


def _wrong(conn: dict[str, Any]) -> list[str]:
    """The usernames of the passwords the server judged and refused on a connection."""
    return [a["user"] for a in conn["attempts"] if not a["accepted"] and _read(a)]


def _judged(run: dict[str, Any], scenario: dict[str, Any]) -> Counter[tuple[str, str, str]]:
    """(client, username, event): the refused passwords and the logins a scenario's
    connections must weigh. A refused connection's line counts its passwords under the
    last username tried; a connection that logged in counts those it had refused first
    only where the auth service said them (auth_verbose), under the login's name."""
    out: Counter[tuple[str, str, str]] = Counter()
    for conn in scenario["connections"]:
        if _refused(conn):
            out[(conn["client_ip"], conn["attempts"][-1]["user"], "auth_failure")] += len(
                _wrong(conn))
        elif conn["logged_in"]:
            user = next(a["user"] for a in conn["attempts"] if a["accepted"])
            out[(conn["client_ip"], user, "auth_success")] += 1
            if run["auth_verbose"] == "yes":
                out[(conn["client_ip"], user, "auth_failure")] += len(_wrong(conn))
    return out


def _said(rows: tuple[Row, ...], ips: list[str]) -> Counter[tuple[str, str, str]]:
    out: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        if r["client_ip"] in ips:
            out[(r["client_ip"], r["sasl_username"], "auth_failure")] += r["weight"]
            if r["event"] == "auth_success":
                out[(r["client_ip"], r["sasl_username"], "auth_success")] += 1
    return out


def _recorded_lines(run: dict[str, Any]) -> int:
    """Lines of the processes read, counted in the traditional file of the run (every
    format holds the same messages: the recorder compares the journal with rsyslog's)."""
    with gzip.open(ROOT / run["dir"] / "syslog-traditional.log.gz", "rt") as fh:
        return sum(1 for line in fh if READ_LINE.search(line))


@pytest.mark.parametrize("run,name", _cases())
def test_every_login_and_auth_line_is_a_known_event(run: dict[str, Any], name: str) -> None:
    """Nothing Dovecot's login processes or auth service wrote is dropped or left as
    `other`: each such line is one row of a pattern."""
    rows = _rows(run, name)
    assert len(rows) == _recorded_lines(run)
    assert {r["daemon"] for r in rows} <= set(READ)
    assert [r for r in rows if r["event"] == "other" or not r["pattern"]] == []


@pytest.mark.parametrize("run,name", _cases())
def test_failures_and_logins_per_scenario(run: dict[str, Any], name: str) -> None:
    """Each scenario's refused passwords weigh one failure each, with their client and
    username, its logins are logins; a connection that tried nothing is neither. Three
    wrong passwords in one connection are three (the login process's one line counts
    them, `3 attempts`), whether or not the auth service also said each; three wrong
    ones before the right one in one connection are three with auth_verbose (the login
    counts what the auth service said of its session), and nothing without: the login
    process logs only the login."""
    rows = _rows(run, name)
    for scenario in run["scenarios"]:
        if scenario["name"] == "plaintext_refused":
            continue  # test_plaintext_refusals_are_not_failures
        assert _said(rows, scenario["client_ips"]) == _judged(run, scenario), scenario["name"]
    several = _scenario(run, "several_wrong_in_one_connection")
    assert several["counts"]["attempts_refused"] == 5
    assert sum(_judged(run, several).values()) == 5
    guess = _scenario(run, "guess_succeeds_in_one_connection")
    assert guess["counts"] == {**guess["counts"], "connections": 1, "attempts_refused": 3,
                               "logins": 1}
    [login] = [r for r in rows if r["client_ip"] in guess["client_ips"]
               and r["event"] == "auth_success"]
    assert login["auth_attempts"] == (3 if run["auth_verbose"] == "yes" else None)


@pytest.mark.parametrize("run,name", _cases())
def test_auth_service_lines_are_info_never_failures(run: dict[str, Any], name: str) -> None:
    """With auth_verbose, the auth service says every refused password once more
    (`passwd-file(bob,127.0.0.105,<session>): Password mismatch`, `unknown user` for
    names it does not know), naming the login process's connection (`session=<...>`):
    information a login of that connection counts, never a failure of its own. Without
    it, the service says nothing, and the refused connections weigh the same."""
    rows = _rows(run, name)
    auth = [r for r in rows if r["daemon"] in ("auth", "auth-worker")]
    assert {(r["event"], r["pattern"], r["weight"]) for r in auth} <= {
        ("info", "dovecot:auth_refused_login", 0), ("info", "dovecot:auth_refused_24", 0)}
    said = Counter((r["client_ip"], r["sasl_username"], r["reason"]) for r in auth)
    refused: Counter[tuple[str, str, str]] = Counter(
        (conn["client_ip"], user,
         "Password mismatch" if user in run["users"] else "unknown user")
        for scenario in run["scenarios"] for conn in scenario["connections"]
        for user in _wrong(conn))
    assert said == (refused if run["auth_verbose"] == "yes" else Counter())
    login_sessions = {r["session"] for r in rows if r["daemon"].endswith("-login")}
    assert {r["session"] for r in auth} <= login_sessions
    assert None not in login_sessions
    weighed = sum(r["weight"] for r in rows)
    assert weighed == sum(len(_wrong(conn)) for scenario in run["scenarios"]
                          for conn in scenario["connections"]
                          if _refused(conn) or run["auth_verbose"] == "yes")


@pytest.mark.parametrize("run,name", _cases())
def test_plaintext_refusals_are_not_failures(run: dict[str, Any], name: str) -> None:
    """A password offered in the clear where Dovecot allows none was not looked at: like a
    refused SMTP AUTH mechanism, it is no failure (README, "Dovecot beside the MTA")."""
    scenario = _scenario(run, "plaintext_refused")
    assert all(not _read(a) for c in scenario["connections"] for a in c["attempts"])
    rows = [r for r in _rows(run, name) if r["client_ip"] in scenario["client_ips"]]
    assert rows and [r for r in rows if r["event"] == "auth_failure"] == []


def _expected_alerts(run: dict[str, Any]) -> dict[tuple[str, str], int]:
    """The alerts the attacks must raise, from what the driver did: the burst counts its
    refused connections, the spray its usernames, the guess its failures before the login."""
    def ip(name: str) -> str:
        [address] = _scenario(run, name)["client_ips"]
        return address
    brute, spray, guess = (_scenario(run, n) for n in
                           ("brute_force", "password_spray", "guess_succeeds"))
    return {
        ("auth_failure_burst", json.dumps({"client_ip": ip("brute_force")})):
            brute["counts"]["failed_connections"],
        ("password_spray", json.dumps({"client_net": ip("password_spray")})):
            len(spray["usernames"]),
        ("auth_success_after_failures", json.dumps({"client_ip": ip("guess_succeeds")})):
            guess["counts"]["failed_connections"],
    }


@pytest.mark.parametrize("run,name", _cases())
def test_the_attacks_alert_and_nothing_else(run: dict[str, Any], name: str,
                                            tmp_path: Path) -> None:
    """`detect` on each recorded file: a burst for the brute force, a spray (not also a
    burst) for the spray, a compromise for the guess that got in, and nothing for the
    ordinary logins, the single mistakes, the unknown user, the clients that left or were
    refused in the clear. Nothing either for the guess that got in within one connection:
    the login process logs no failure for it, and where the auth service said its three
    refusals (auth_verbose) the login counts them, one forgiven: two guesses."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    result = detect_files([str(ROOT / run["dir"] / name)], load_config(cfg),
                          ParseOptions(tz="UTC", year=2026))
    assert result.errors == []
    found = {(a.rule, json.dumps(a.key, sort_keys=True)): a.count
             for a in result.detection.alerts}
    assert found == _expected_alerts(run)
