"""recipient_harvest: unknown recipients guessed by one client, in all three MTAs.

The lines are shaped after real ones in the peers' corpora (tests/data/corpora, see its
README for origins and licences): Postfix's after fail2ban's `logs/postfix` (line 20),
Sendmail's after fail2ban's `logs/sendmail-reject` (the `sendmail[26254]` process that
refuses recipients and then logs its `from=` line with the client) and Exim's after the
Exim test suite's `rejected RCPT` lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logwatch.config import load_config
from logwatch.detection import detect_files
from logwatch.live import Memory, run_pass
from logwatch.pipeline import ParseOptions
from logwatch.rules_engine.loader import load_rules
from logwatch.state import State

CONFIG = """\
state_dir = "{tmp}/state"
[site]
local_domains = ["server.com"]
timezone = "UTC"
[[sources]]
path = "{tmp}/mail.log"
"""


def _config(tmp: Path) -> Path:
    path = tmp / "config.toml"
    path.write_text(CONFIG.format(tmp=tmp))
    return path


def _alerts(tmp: Path, log: str) -> list[Any]:
    """The harvest alerts of `log` read as one batch."""
    (tmp / "mail.log").write_text(log)
    result = detect_files([str(tmp / "mail.log")], load_config(_config(tmp)),
                          ParseOptions(year=2025, tz="UTC", jobs=1))
    assert result.errors == []
    return [a for a in result.detection.alerts if a.rule == "recipient_harvest"]


def _harvests(tmp: Path, log: str) -> dict[str, int]:
    return {a.key["client_ip"]: a.count for a in _alerts(tmp, log)}


def _postfix(ip: str, rcpt: str, second: int) -> str:
    return (f"Aug 13 15:45:{second:02d} server postfix/smtpd[13844]: NOQUEUE: reject: RCPT "
            f"from example.com[{ip}]: 550 5.1.1 <{rcpt}>: Recipient address rejected: User "
            f"unknown in local recipient table; from=<x@example.com> to=<{rcpt}> "
            f"proto=ESMTP helo=<mail.example.com>\n")


def _sendmail_refusals(pid: int, qid: str, rcpts: list[str]) -> str:
    return "".join(f"Nov  3 11:35:30 server sendmail[{pid}]: {qid}: <{r}>... No such user "
                   f"here\n" for r in rcpts)


def _sendmail_from(pid: int, qid: str, ip: str) -> str:
    return (f"Nov  3 11:35:31 server sendmail[{pid}]: {qid}: from=<davaojk25@domain.com>, "
            f"size=0, class=0, nrcpts=0, bodytype=8BITMIME, proto=ESMTP, daemon=MTA, "
            f"relay=163.23.32.95.dsl-dynamic.vsi.ru [{ip}]\n")


def test_distinct_unknown_recipients_from_one_client_are_a_harvest(tmp_path: Path) -> None:
    guesses = [_postfix("192.0.2.1", f"{name}@server.com", s)
               for s, name in enumerate(["sales", "info", "admin", "office", "jobs", "hr",
                                         "billing", "support", "contact", "webmaster",
                                         "postmaster2", "root2"])]
    # a client retrying one mistyped address is not guessing
    retries = [_postfix("198.51.100.7", "jhon@server.com", 20 + s) for s in range(15)]
    assert _harvests(tmp_path, "".join(guesses + retries)) == {"192.0.2.1": 12}


def test_nine_guesses_are_not_yet_a_harvest(tmp_path: Path) -> None:
    log = "".join(_postfix("192.0.2.1", f"user{i}@server.com", i) for i in range(9))
    assert _harvests(tmp_path, log) == {}


def test_exim_refusals_name_their_client(tmp_path: Path) -> None:
    log = "".join(f"2025-08-13 15:45:{i:02d} H=(mail.example.com) [192.0.2.8] F=<x@example.com> "
                  f"rejected RCPT <user{i}@server.com>: Unknown user\n" for i in range(10))
    assert _harvests(tmp_path, log) == {"192.0.2.8": 10}


def test_sendmail_refusals_take_the_client_of_their_from_line(tmp_path: Path) -> None:
    """Sendmail names the client after the refusals, on the transaction's `from=`."""
    rcpts = [f"user{i}@server.com" for i in range(12)]
    log = (_sendmail_refusals(26254, "rA37ZTSC026254", rcpts)
           + _sendmail_from(26254, "rA37ZTSC026254", "95.32.23.163"))
    assert _harvests(tmp_path, log) == {"95.32.23.163": 12}


def _pass(cfg: Path, memory: Memory | None) -> list[dict[str, Any]]:
    config = load_config(cfg)
    state = State(config.state_dir)
    try:
        return [a for a in run_pass(config, state, memory=memory).alerts
                if a["rule"] == "recipient_harvest"]
    finally:
        state.close()


@pytest.mark.parametrize("mode", ["run", "follow"])
def test_refusals_whose_client_comes_a_pass_later_are_counted_then(tmp_path: Path,
                                                                    mode: str) -> None:
    """The refusals are read in one pass, the `from=` that names their client in the
    next: they are counted then, although no new refusal arrives with it (`run` reads
    what it carries from the state; a follower keeps it enriched in memory)."""
    cfg = _config(tmp_path)
    memory = Memory() if mode == "follow" else None
    log = tmp_path / "mail.log"
    log.write_text(_sendmail_refusals(26254, "rA37ZTSC026254",
                                      [f"user{i}@server.com" for i in range(12)]))
    assert _pass(cfg, memory) == []
    with log.open("a") as fh:
        fh.write(_sendmail_from(26254, "rA37ZTSC026254", "95.32.23.163"))
    harvest = _pass(cfg, memory)
    assert [(a["key"], a["count"]) for a in harvest] == [({"client_ip": "95.32.23.163"}, 12)]


@pytest.mark.parametrize("mode", ["run", "follow"])
def test_a_harvest_over_transactions_a_pass_apart_counts_them_all(tmp_path: Path,
                                                                  mode: str) -> None:
    """Two transactions twenty minutes apart, read in two passes: the first one's
    refusals are carried with the client they took (not looked up again, as their
    message is let go once finished), and count with the second's as in one batch."""
    cfg = _config(tmp_path)
    memory = Memory() if mode == "follow" else None
    log = tmp_path / "mail.log"
    first = [f"user{i}@server.com" for i in range(6)]
    log.write_text(_sendmail_refusals(26254, "rA37ZTSC026254", first)
                   + _sendmail_from(26254, "rA37ZTSC026254", "95.32.23.163"))
    assert _pass(cfg, memory) == []
    later = (_sendmail_refusals(26301, "rA37ZTSC026301", [f"other{i}@server.com" for i in range(6)])
             + _sendmail_from(26301, "rA37ZTSC026301", "95.32.23.163"))
    with log.open("a") as fh:
        fh.write(later.replace("11:35:", "11:55:"))
    harvest = _pass(cfg, memory)
    assert [(a["key"], a["count"]) for a in harvest] == [({"client_ip": "95.32.23.163"}, 12)]


def test_sendmail_evidence_shows_the_line_that_names_the_client(tmp_path: Path) -> None:
    """The refusals do not say who sent them: the alert shows the transaction's `from=`
    line too, even when the refusals alone would fill its evidence, each line once."""
    rcpts = [f"user{i}@server.com" for i in range(30)]
    (alert,) = _alerts(tmp_path, _sendmail_refusals(26254, "rA37ZTSC026254", rcpts)
                       + _sendmail_from(26254, "rA37ZTSC026254", "95.32.23.163"))
    lines = [e.line for e in alert.evidence]
    assert alert.evidence_total == 31 and len(lines) == 20 == len(set(lines))
    assert "[95.32.23.163]" in lines[-1] and "from=<davaojk25@domain.com>" in lines[-1]
    assert all("No such user here" in line for line in lines[:-1])


def test_the_client_line_is_evidence_with_every_messages_rule_off(tmp_path: Path) -> None:
    """The lines of messages are kept for any rule that shows them, not only while a
    messages rule is on: a site that turns those off still sees the `from=` line."""
    off = ("open_relay", "unknown_sender_relay", "volume_spike", "recipient_domain_fanout",
           "bounce_surge", "queue_growth")
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text() + "".join(f"[rules.{r}]\nenabled = false\n" for r in off))
    (tmp_path / "mail.log").write_text(
        _sendmail_refusals(26254, "rA37ZTSC026254", [f"user{i}@server.com" for i in range(12)])
        + _sendmail_from(26254, "rA37ZTSC026254", "95.32.23.163"))
    config = load_config(cfg)
    assert {r.table for r in load_rules(config)} == {"events"}
    result = detect_files([str(tmp_path / "mail.log")], config,
                          ParseOptions(year=2025, tz="UTC", jobs=1))
    (alert,) = [a for a in result.detection.alerts if a.rule == "recipient_harvest"]
    assert "[95.32.23.163]" in alert.evidence[-1].line and alert.evidence_total == 13
