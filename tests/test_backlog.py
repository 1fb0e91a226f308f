"""The first read of a log that holds days of mail (a tool installed on a running server,
a source added to the config) tells what happened lately, and records the rest without
sending it or acting on it (`notify.backlog`): nobody is paged, nor is an address banned,
for last week. The backlog is recorded in the ledger, so no later pass tells it either.
Times are the log's, never today's."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def _config(tmp_path: Path, logs: list[Path], backlog: str | None = None) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n'
                   '[site]\nlocal_domains = ["example.com"]\ntimezone = "UTC"\n'
                   + (f'[notify]\nbacklog = "{backlog}"\n' if backlog else "")
                   + "".join(f'[[sources]]\npath = "{log}"\n' for log in logs))
    return cfg


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
        "the newest line read: recorded, not sent nor acted on (notify.backlog); "
        "`mail-logwatch detect FILE` shows them"]
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
