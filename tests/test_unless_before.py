"""`unless_before` gives the same answer in every mode: the built-in, high-severity
auth_success_after_failures lets through a login as a user its address has logged in
as before (bob's phone, fixed after three stale-password failures), whether the
earlier login is in the same batch (`detect`) or long gone from the hour of rows a live
pass keeps (`run`, `follow`: rules_engine/lookback.py); and both look back no further
than the rule's `unless_before_within`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwatch.config import load_config
from logwatch.detection import detect_files
from logwatch.live import Memory, run_pass
from logwatch.pipeline import ParseOptions
from logwatch.rules_engine import lookback
from logwatch.state import State, table_of

ATTACK = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
PHONE = "203.0.113.40"
RULE = "auth_success_after_failures"


def _line(t: datetime, program: str, pid: int, text: str) -> str:
    return f"{t.isoformat()} mx1 postfix/{program}[{pid}]: {text}\n"


def _login(t: datetime, ip: str, user: str, pid: int) -> str:
    """A submission session that logs in as `user` and sends one local message."""
    qid = f"{pid:06X}A"
    return "".join([
        _line(t, "submission/smtpd", pid, f"connect from unknown[{ip}]"),
        _line(t, "submission/smtpd", pid, f"{qid}: client=unknown[{ip}], sasl_method=PLAIN, "
                                          f"sasl_username={user}"),
        _line(t, "qmgr", 1187, f"{qid}: from=<{user}@example.com>, size=1330, nrcpt=1 "
                               "(queue active)"),
        _line(t, "submission/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=2 starttls=1 "
                                          "auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8"),
        _line(t, "local", 1712, f"{qid}: to=<alice@example.com>, relay=local, delay=0.09, "
                                "delays=0.06/0.01/0/0.03, dsn=2.0.0, status=sent (delivered "
                                "to mailbox)"),
        _line(t, "qmgr", 1187, f"{qid}: removed")])


def _failure(t: datetime, ip: str, user: str, pid: int) -> str:
    return "".join([
        _line(t, "submission/smtpd", pid, f"connect from unknown[{ip}]"),
        _line(t, "submission/smtpd", pid, f"warning: unknown[{ip}]: SASL LOGIN authentication "
                                          f"failed: (reason unavailable), sasl_username={user}"),
        _line(t, "submission/smtpd", pid, f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 "
                                          "commands=1/2")])


def _parts(earlier: timedelta) -> list[str]:
    """bob's login from his phone `earlier` before the login that follows the attack;
    unrelated traffic half an hour before the attack; then three failures and that login,
    from the phone's address."""
    attack = "".join(_failure(ATTACK + timedelta(minutes=m), PHONE, "bob", 3000 + m)
                     for m in range(3))
    then = ATTACK + timedelta(minutes=3)
    return [_login(then - earlier, PHONE, "bob", 2000),
            _login(ATTACK - timedelta(minutes=30), "198.51.100.77", "carol", 2001),
            attack + _login(then, PHONE, "bob", 3010)]


def _config(tmp_path: Path) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\n'
                    'local_domains = ["example.com"]\ntimezone = "UTC"\n'
                    f'[[sources]]\npath = "{tmp_path / "mail.log"}"\n')
    return load_config(path)


def _alerts(tmp_path: Path, parts: list[str], mode: str) -> list[tuple[str, str]]:
    """(rule, client) of the sequence rule's alerts, over the parts as one batch or one
    live pass each."""
    cfg = _config(tmp_path)
    log = tmp_path / "mail.log"
    if mode == "detect":
        log.write_text("".join(parts))
        found = detect_files([str(log)], cfg, ParseOptions(tz="UTC")).detection.alerts
        return [(a.rule, a.key["client_ip"]) for a in found if a.rule == RULE]
    state = State(cfg.state_dir)
    memory = Memory() if mode == "follow" else None
    raised = []
    try:
        for part in parts:
            with open(log, "a") as fh:
                fh.write(part)
            raised += run_pass(cfg, state, memory=memory).alerts
    finally:
        state.close()
    return [(a["rule"], a["key"]["client_ip"]) for a in raised if a["rule"] == RULE]


@pytest.mark.parametrize("mode", ["detect", "cron", "follow"])
@pytest.mark.parametrize("earlier, alerted", [
    (timedelta(hours=2), False),            # gone from the hour a live pass keeps
    (timedelta(days=89), False),
    (timedelta(days=90), False),            # the horizon's edge is inside it
    (timedelta(days=90, seconds=1), True),  # past the 90 days remembered
])
def test_a_login_seen_before_is_judged_alike_in_every_mode(
        tmp_path: Path, mode: str, earlier: timedelta, alerted: bool) -> None:
    assert _alerts(tmp_path, _parts(earlier), mode) == ([(RULE, PHONE)] if alerted else [])


@pytest.mark.parametrize("mode", ["detect", "cron", "follow"])
def test_a_login_as_another_user_before_excuses_nothing(tmp_path: Path, mode: str) -> None:
    parts = _parts(timedelta(hours=2))
    parts[0] = parts[0].replace("bob", "dave")
    assert _alerts(tmp_path, parts, mode) == [(RULE, PHONE)]


def _remembered_after_each(tmp_path: Path, parts: list[str]) -> list[list[str]]:
    """The (key, value) pairs the live state remembers after a cron pass over each part
    appended in turn."""
    cfg = _config(tmp_path)
    log = tmp_path / "mail.log"
    state = State(cfg.state_dir)
    remembered = []
    try:
        for part in parts:
            with open(log, "a") as fh:
                fh.write(part)
            run_pass(cfg, state)
            seen = table_of(state.blob("history.then_seen") or b"")
            remembered.append(sorted(seen.column("pair").to_pylist()))
    finally:
        state.close()
    return remembered


def test_what_is_remembered_is_bounded_by_the_horizon(tmp_path: Path) -> None:
    """The logins that leave a pass's hour are written down; a pass more than 90 days
    after one forgets it: the state holds the horizon's logins, not every login ever."""
    remembered = _remembered_after_each(tmp_path, _parts(timedelta(hours=2))[:2] + [
        _login(ATTACK + timedelta(days=89), "198.51.100.78", "erin", 4000),
        _login(ATTACK + timedelta(days=91), "198.51.100.79", "frank", 4001)])
    assert remembered == [[], [f"{PHONE}\x1fbob"],
                          ["198.51.100.77\x1fcarol", f"{PHONE}\x1fbob"],
                          ["198.51.100.78\x1ferin"]]


def test_what_is_remembered_is_bounded_in_number(tmp_path: Path, monkeypatch) -> None:
    """At most MOST pairs a rule, the most recently seen."""
    monkeypatch.setattr(lookback, "MOST", 1)
    remembered = _remembered_after_each(tmp_path, [
        _login(ATTACK, PHONE, "bob", 2000) +
        _login(ATTACK + timedelta(minutes=30), "198.51.100.77", "carol", 2001),
        _login(ATTACK + timedelta(hours=3), "198.51.100.78", "erin", 2002)])
    assert remembered[-1] == ["198.51.100.77\x1fcarol"]
