"""The first read of a log that holds days of mail (a tool installed on a running server,
a source added to the config) tells what happened lately, and records the rest without
sending it or acting on it (`notify.backlog`): nobody is paged, nor is an address banned,
for last week. The backlog is recorded in the ledger as told to nobody: no later pass
tells it again, but an incident of it that goes on is news. Times are the log's, never
today's. (Several cases were found by a review, each failing before its fix.)"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwatch.config import load_config
from logwatch.live import PassResult, run_pass
from logwatch.state import STATE_FILE, State

#: the newest line of the log: what "lately" is measured from
NEWEST = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def _burst(at: datetime, ip: str, pid: int) -> str:
    """Six refused SASL logins from `ip` within a minute: auth_failure_burst's five and
    one (Postfix's own lines, as in sample_logs)."""
    return "".join(
        f"{(at + timedelta(seconds=10 * k)).isoformat()} mx1 postfix/submission/smtpd[{pid}]: "
        f"warning: unknown[{ip}]: SASL LOGIN authentication failed: (reason unavailable), "
        "sasl_username=admin\n" for k in range(6))


def _config(tmp_path: Path, logs: list[Path], backlog: str | None = None,
            extra: str = "") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n'
                   '[site]\nlocal_domains = ["example.com"]\ntimezone = "UTC"\n'
                   + (f'[notify]\nbacklog = "{backlog}"\n' if backlog else "") + extra
                   + "".join(f'[[sources]]\npath = "{log}"\n' for log in logs))
    return cfg


def _quiet(at: datetime, host: str = "mx1") -> str:
    """A line no rule keeps: the newest line of a quiet log."""
    return (f"{at.isoformat()} {host} postfix/anvil[9]: statistics: max connection rate "
            "1/60s for (smtp:192.0.2.1) at Mar  6 11:59:00\n")


def _pass(cfg: Path) -> PassResult:
    config = load_config(cfg)
    state = State(config.state_dir)
    try:
        result = run_pass(config, state)
    finally:
        state.close()
    assert result.errors == []
    return result


def _told(result: PassResult) -> list[str]:
    return sorted(a["key"]["client_ip"] for a in result.alerts)


def _ledger(tmp_path: Path) -> list[str]:
    db = sqlite3.connect(tmp_path / "state" / STATE_FILE)
    try:
        return sorted(json.loads(key)["client_ip"]
                      for key, in db.execute("SELECT key FROM ledger"))
    finally:
        db.close()


def test_a_first_run_tells_the_last_day_and_records_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(_burst(NEWEST - timedelta(days=3), "198.51.100.7", 101)
                   + _burst(NEWEST - timedelta(hours=2), "203.0.113.9", 102)
                   + f"{NEWEST.isoformat()} mx1 postfix/anvil[103]: statistics: max "
                     "connection rate 1/60s for (smtp:192.0.2.1) at Mar  6 11:59:00\n")
    cfg = _config(tmp_path, [log])
    first = _pass(cfg)
    assert _told(first) == ["203.0.113.9"]
    assert [w for w in first.warnings if "backlog" in w] == [
        f"first read of {log}: 1 alert (auth_failure_burst 1) ended more than 1d before "
        "the newest line read: not sent nor acted on (notify.backlog); `mail-logwatch "
        "detect` on those lines shows them, and an incident of them that goes on is told "
        "then"]
    assert _ledger(tmp_path) == ["198.51.100.7", "203.0.113.9"]
    # the next run reads on: nothing of before is told, and nothing said of a backlog
    with open(log, "a") as fh:
        fh.write(_burst(NEWEST + timedelta(minutes=5), "192.0.2.77", 104))
    second = _pass(cfg)
    assert _told(second) == ["192.0.2.77"]
    assert not [w for w in second.warnings if "backlog" in w]


def test_backlog_zero_tells_everything(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(_burst(NEWEST - timedelta(days=3), "198.51.100.7", 101)
                   + _burst(NEWEST, "203.0.113.9", 102))
    first = _pass(_config(tmp_path, [log], backlog="0"))
    assert _told(first) == ["198.51.100.7", "203.0.113.9"]
    assert not [w for w in first.warnings if "backlog" in w]


def test_a_source_added_later_has_its_own_first_read(tmp_path: Path) -> None:
    """mx2's log joins the config after mx1's was read for days: mx2's old burst is its
    backlog, while mx1 goes on as before."""
    mx1, mx2 = tmp_path / "mx1.log", tmp_path / "mx2.log"
    mx1.write_text(_burst(NEWEST - timedelta(hours=1), "203.0.113.9", 101))
    assert _told(_pass(_config(tmp_path, [mx1]))) == ["203.0.113.9"]
    mx2.write_text(_burst(NEWEST - timedelta(days=2), "198.51.100.7", 201).replace(" mx1 ", " mx2 ")
                   + _burst(NEWEST, "192.0.2.77", 202).replace(" mx1 ", " mx2 "))
    result = _pass(_config(tmp_path, [mx1, mx2]))
    assert _told(result) == ["192.0.2.77"]
    assert [w.split(":")[0] for w in result.warnings if "backlog" in w] == [
        f"first read of {mx2}"]


def _relay(at: datetime, qid: str, pid: int, user: str, sender: str) -> str:
    """`user` logs in and sends one message as `sender` to a remote domain."""
    t = lambda s: (at + timedelta(seconds=s)).isoformat()  # noqa: E731
    return (f"{t(0)} mx1 postfix/submission/smtpd[{pid}]: connect from c[198.51.100.20]\n"
            f"{t(1)} mx1 postfix/submission/smtpd[{pid}]: {qid}: client=c[198.51.100.20], "
            f"sasl_method=PLAIN, sasl_username={user}\n"
            f"{t(1)} mx1 postfix/qmgr[11]: {qid}: from=<{sender}>, size=100, nrcpt=1 "
            "(queue active)\n"
            f"{t(2)} mx1 postfix/smtp[12]: {qid}: to=<x@victim.example.org>, relay=mx.victim."
            "example.org[198.51.100.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent "
            "(250 OK)\n"
            f"{t(2)} mx1 postfix/qmgr[11]: {qid}: removed\n"
            f"{t(3)} mx1 postfix/submission/smtpd[{pid}]: disconnect from c[198.51.100.20] "
            "ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6\n")


def test_a_backlog_incident_that_goes_on_is_told(tmp_path: Path) -> None:
    """bob sent as ceo@bank.example.org three days before the install: backlog. He does
    it again an hour after: within unknown_sender_relay's 30-day cooldown, the same
    incident, and news, since nobody was told of it (counted with its backlog)."""
    log = tmp_path / "mail.log"
    log.write_text("".join(_relay(NEWEST - timedelta(days=3, minutes=-i), f"1A1A1A1A{i:02d}",
                                  100 + i, "bob", "ceo@bank.example.org") for i in range(10))
                   + _relay(NEWEST, "4D4D4D4D4D", 99, "alice", "alice@example.com"))
    cfg = _config(tmp_path, [log])
    assert _pass(cfg).alerts == []
    with open(log, "a") as fh:
        fh.write("".join(_relay(NEWEST + timedelta(hours=1, minutes=i), f"5E5E5E5E{i:02d}",
                                300 + i, "bob", "ceo@bank.example.org") for i in range(3)))
    told = _pass(cfg).alerts
    assert [(a["rule"], a["notice"], a["count"]) for a in told] == [
        ("unknown_sender_relay", "new", 13)]


def test_the_backlog_is_measured_from_the_newest_line_read(tmp_path: Path) -> None:
    """Three quiet days after a burst hold only lines no rule keeps (connections that
    came and went): the burst is still three days before the newest line."""
    log = tmp_path / "mail.log"
    text = _burst(NEWEST - timedelta(days=3), "198.51.100.7", 101)
    for h in range(71, -1, -1):
        t = NEWEST - timedelta(hours=h)
        text += (f"{t.isoformat()} mx1 postfix/smtpd[{200 + h}]: connect from m[192.0.2.9]\n"
                 f"{t.isoformat()} mx1 postfix/smtpd[{200 + h}]: disconnect from "
                 "m[192.0.2.9] ehlo=1 quit=1 commands=2\n")
    log.write_text(text)
    result = _pass(_config(tmp_path, [log]))
    assert result.alerts == [] and [w for w in result.warnings if "backlog" in w]


def test_a_source_that_cannot_be_read_holds_nothing_back(tmp_path: Path) -> None:
    """A source that reads nothing (a directory named by mistake) is no first read pass
    after pass: mx2's late log (a backup MX's copy, two days behind) is told as it comes."""
    mx1, mx2, wrong = tmp_path / "mx1.log", tmp_path / "mx2.log", tmp_path / "dovecot.d"
    wrong.mkdir()
    mx1.write_text(_burst(NEWEST - timedelta(hours=1), "203.0.113.9", 101))
    late = NEWEST - timedelta(days=2)
    mx2.write_text(_burst(late - timedelta(hours=1), "198.51.100.1", 201).replace(" mx1 ", " mx2 "))
    assert _told(_pass(_config(tmp_path, [mx1, mx2]))) == ["198.51.100.1", "203.0.113.9"]
    with open(mx2, "a") as fh:
        fh.write(_burst(late + timedelta(hours=1), "198.51.100.2", 202).replace(" mx1 ", " mx2 "))
    config = load_config(_config(tmp_path, [mx1, mx2, wrong]))
    state = State(config.state_dir)
    try:
        result = run_pass(config, state)
    finally:
        state.close()
    assert _told(result) == ["198.51.100.2"]
    assert not [w for w in result.warnings if "backlog" in w]


# -- each source by its own lines (a second review) ------------------------------------------

def test_each_first_read_source_is_measured_by_its_own_newest_line(tmp_path: Path) -> None:
    """A fresh install with two sources: mx1 current, mx2 (a backup MX's copy) five days
    behind. mx1's burst, three days before mx1's newest line, is mx1's backlog: mx2's
    old newest line does not make it news."""
    mx1, mx2 = tmp_path / "mx1.log", tmp_path / "mx2.log"
    mx1.write_text(_burst(NEWEST - timedelta(days=3), "198.51.100.7", 101) + _quiet(NEWEST))
    mx2.write_text(_quiet(NEWEST - timedelta(days=5), "mx2"))
    result = _pass(_config(tmp_path, [mx1, mx2]))
    assert result.alerts == []
    assert [w.split(":")[0] for w in result.warnings if "backlog" in w] == [
        f"first read of {mx1}"]


def test_a_source_added_beside_holds_back_nothing_of_the_others(tmp_path: Path) -> None:
    """mx2, two days late and read for days, brings a new burst in the pass that first
    reads mx3 (whose newest line is now): mx2's burst is news, not mx3's backlog."""
    mx2, mx3 = tmp_path / "mx2.log", tmp_path / "mx3.log"
    late = NEWEST - timedelta(days=2)
    mx2.write_text(_burst(late - timedelta(hours=1), "198.51.100.1", 201).replace(" mx1 ", " mx2 "))
    assert _told(_pass(_config(tmp_path, [mx2]))) == ["198.51.100.1"]
    with open(mx2, "a") as fh:
        fh.write(_burst(late + timedelta(hours=1), "198.51.100.2", 202).replace(" mx1 ", " mx2 "))
    mx3.write_text(_quiet(NEWEST, "mx3"))
    result = _pass(_config(tmp_path, [mx2, mx3]))
    assert _told(result) == ["198.51.100.2"]
    assert not [w for w in result.warnings if "backlog" in w]


def test_an_incident_told_before_stays_told_when_a_new_source_holds_more_of_it(
        tmp_path: Path) -> None:
    """bob's sending as the CEO was told from mx1 (its ban-style action ran once). mx2's
    log joins with thirty more of the same incident, days old: held back, and the ledger
    keeps that it was told, so bob's next message is no second 'new' (which would run the
    action again)."""
    mx1, mx2 = tmp_path / "mx1.log", tmp_path / "mx2.log"
    start = NEWEST - timedelta(days=3)
    action = ('[actions.mark]\ncommand = ["true"]\nrules = ["unknown_sender_relay"]\n'
              'min_severity = "low"\n')
    mx1.write_text("".join(_relay(start + timedelta(minutes=i), f"1A1A1A1A{i:02d}", 100 + i,
                                  "bob", "ceo@bank.example.org") for i in range(10)))
    alone = _config(tmp_path, [mx1], extra=action)
    assert [a["notice"] for a in _pass(alone).alerts] == ["new"]
    with open(mx1, "a") as fh:
        fh.write(_quiet(NEWEST))
    _pass(alone)
    mx2.write_text("".join(_relay(start + timedelta(hours=1, minutes=i), f"2B2B2B2B{i:02d}",
                                  200 + i, "bob", "ceo@bank.example.org")
                           for i in range(30)).replace(" mx1 ", " mx2 ") + _quiet(NEWEST, "mx2"))
    both = _config(tmp_path, [mx1, mx2], extra=action)
    assert _pass(both).alerts == []
    with open(mx1, "a") as fh:
        fh.write(_relay(NEWEST + timedelta(minutes=5), "3C3C3C3C3C", 300, "bob",
                        "ceo@bank.example.org"))
    assert [a["notice"] for a in _pass(both).alerts if a["notice"] == "new"] == []
    db = sqlite3.connect(tmp_path / "state" / STATE_FILE)
    try:
        actions = db.execute("SELECT count(*) FROM outbox WHERE json_extract(payload, "
                             "'$.route') LIKE 'action:%'").fetchone()[0]
    finally:
        db.close()
    assert actions == 1


# -- sources that come later, or through a rotation (a third review) ---------------------

@pytest.mark.parametrize("before", [None, ""], ids=["absent", "empty"])
def test_a_source_absent_or_empty_at_first_has_its_first_read_when_lines_come(
        tmp_path: Path, before: str | None) -> None:
    """mx2 is in the config before its log holds anything (a backup MX's copy not yet
    synced, a file touched first): the pass that reads its lines is its first read."""
    mx1, mx2 = tmp_path / "mx1.log", tmp_path / "mx2.log"
    mx1.write_text(_burst(NEWEST - timedelta(hours=1), "203.0.113.9", 101))
    if before is not None:
        mx2.write_text(before)
    cfg = _config(tmp_path, [mx1, mx2])
    assert _told(_pass(cfg)) == ["203.0.113.9"]
    mx2.write_text(_burst(NEWEST - timedelta(days=3), "198.51.100.7", 201).replace(" mx1 ", " mx2 ")
                   + _quiet(NEWEST, "mx2"))
    result = _pass(cfg)
    assert result.alerts == [] and [w for w in result.warnings if "backlog" in w]


def _bob(start: datetime, n: int, tag: str, pid: int, host: str = "mx1") -> str:
    return "".join(_relay(start + timedelta(minutes=i), f"{tag}{i:02d}", pid + i, "bob",
                          "ceo@bank.example.org") for i in range(n)).replace(" mx1 ", f" {host} ")


@pytest.mark.parametrize("rotate", [False, True], ids=["appended", "rotated"])
def test_lines_read_through_a_rotation_are_their_sources(tmp_path: Path, rotate: bool) -> None:
    """An incident told from mx1 grows by old lines of mx1 (read from mx1.log.1 when mx1
    was rotated in between) and of mx2, read for the first time: held back either way,
    and bob's next message is no regrowth (told at its size with the backlog)."""
    mx1, mx2 = tmp_path / "mx1.log", tmp_path / "mx2.log"
    start = NEWEST - timedelta(days=3)
    mx1.write_text(_bob(start, 10, "1A1A1A1A", 100))
    assert [a["notice"] for a in _pass(_config(tmp_path, [mx1])).alerts] == ["new"]
    with open(mx1, "a") as fh:
        fh.write(_bob(start + timedelta(hours=1), 5, "2B2B2B2B", 200))
    if rotate:
        os.rename(mx1, tmp_path / "mx1.log.1")
        mx1.write_text(_quiet(NEWEST))
    else:
        with open(mx1, "a") as fh:
            fh.write(_quiet(NEWEST))
    mx2.write_text(_bob(start + timedelta(hours=2), 30, "3C3C3C3C", 300, "mx2")
                   + _quiet(NEWEST, "mx2"))
    both = _config(tmp_path, [mx1, mx2])
    assert _pass(both).alerts == []
    with open(mx1, "a") as fh:
        fh.write(_bob(NEWEST + timedelta(minutes=5), 1, "4D4D4D4D", 400))
    assert _pass(both).alerts == []
