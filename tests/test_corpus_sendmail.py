"""The Sendmail parser against the peers' corpora (tests/data/corpora, see its README.md).

- fail2ban `logs/sendmail-auth`, `logs/sendmail-reject`: every line the ban filter must
  match gives an event (not `other`) naming the offender as `client_ip` (and the user,
  where annotated and logged).
- Parse-Syslog-Mail `t/logs/sendmail-*.log`, `technoids.log`: fewer than 1% `other`, and
  the values 11values.t states, where they map onto our fields.
- Every Sendmail line of both corpora parses.

A peer's expectation is what the peer's tool is built to do, not ground truth: where we
read a line differently on purpose, the mapping below says so (parsers/SENDMAIL-NOTES.md
says why).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.corpora import (CORPORA, Expectation, cases_saying, describe, expectations,
                            known_rows, line_text, other_rate, peer_ip, rows_by_line)

F2B_FILES = ("logs/sendmail-auth", "logs/sendmail-reject")
# fail2ban's times are CET; years per its README (a fixed "now" of 2005-08-14)
F2B_OPTS: dict[str, Any] = {"tz": "Europe/Berlin", "year": 2005}
PSM_OPTS: dict[str, Any] = {"tz": "UTC", "year": 2005}
MAX_OTHER = 0.01


def _rows(e: Expectation) -> list[dict[str, Any]]:
    opts = F2B_OPTS if e.source == "fail2ban" else PSM_OPTS
    return rows_by_line(e.path, **opts).get(e.line, [])








# --- fail2ban ----------------------------------------------------------------------------

def _f2b_cases() -> list[Any]:
    out = []
    for e in expectations("fail2ban", "sendmail"):
        if e.file in F2B_FILES and e.peer_says["failJSON"].get("match") is True:
            out.append(pytest.param(e, id=f"{Path(e.file).name}:{e.line}"))
    return out


@pytest.mark.parametrize("e", _f2b_cases())
def test_fail2ban_offender_is_the_client(e: Expectation) -> None:
    fj = e.peer_says["failJSON"]
    rows = _rows(e)
    known = [r for r in rows if r["event"] != "other"]
    assert known, f"line {e.line} gave no known event: {describe(rows)}\n{line_text(e.path, e.line)}"
    want_ip = peer_ip(fj["host"])
    assert any(peer_ip(r["client_ip"]) == want_ip for r in known), (
        f"line {e.line}: client_ip {[r['client_ip'] for r in known]} != host {fj['host']}\n"
        f"{line_text(e.path, e.line)}")
    if "user" in fj:
        users = [r["sasl_username"] for r in known if r["sasl_username"] is not None]
        if users or "user=" in line_text(e.path, e.line) or "authid=" in line_text(e.path, e.line):
            assert fj["user"] in users, f"line {e.line}: user {users} != {fj['user']!r}"


def test_fail2ban_every_pattern_kind_is_exercised() -> None:
    """The fail2ban lines reach the shapes the ban filters exist for (a coverage guard)."""
    seen = Counter()
    for e in expectations("fail2ban", "sendmail"):
        for r in _rows(e):
            seen[r["pattern"]] += 1
    for pattern in ("sendmail:auth.failure", "sendmail:smtp_attack",
                    "sendmail:ruleset.check_rcpt", "sendmail:ruleset.check_relay",
                    "sendmail:did_not_issue", "sendmail:pregreet",
                    "sendmail:command_rejected", "sendmail:from"):
        assert seen[pattern], f"no fail2ban line took {pattern}: {dict(seen)}"


# --- Parse-Syslog-Mail ---------------------------------------------------------------------

def _psm_sendmail() -> list[Expectation]:
    return [e for e in expectations("parse-syslog-mail", "sendmail")
            if e.file.startswith("t/logs/")]


def _other_report(exps: list[Expectation]) -> tuple[float, str]:
    bad: list[Expectation] = []
    for path in sorted({e.path for e in exps}):
        lines = [e.line for e in exps if e.path == path]
        opts = F2B_OPTS if "fail2ban" in str(path) else PSM_OPTS
        _, bad_lines = other_rate(rows_by_line(path, **opts), lines)
        bad += [e for e in exps if e.path == path and e.line in bad_lines]
    rate = len(bad) / len(exps) if exps else 0.0
    shapes = Counter(line_text(e.path, e.line).split(": ", 1)[-1][:90] for e in bad)
    listing = "\n".join(f"  {n} x {s}" for s, n in shapes.most_common())
    return rate, f"{len(bad)}/{len(exps)} lines other ({rate:.2%}):\n{listing}"


def test_parse_syslog_mail_other_rate() -> None:
    exps = _psm_sendmail()
    assert len(exps) == 314, f"corpus changed: {len(exps)} sendmail lines"
    rate, report = _other_report(exps)
    assert rate < MAX_OTHER, report


def _peer_mismatches(e: Expectation, rows: list[dict[str, Any]]) -> list[str]:
    """Compare 11values.t's fields with ours where the line logs them.

    The peer applies its values to every record of the queue id that has the field; we
    check a field on a line only when the line carries it (`key=` in its text), mapped:
    from/to/msgid -> sender/recipient/message_id without angle brackets (our contract),
    size -> size, relay (a client here) -> `client_name [client_ip]`, arg1 of check_rcpt
    -> recipient, reject -> `reject_code dsn reason`, ruleset -> our pattern id, mailer
    -> transport, and the peer's status (its raw text, ours is a closed set) -> `reject:
    <reject>` on rejects and `done` on the `done;` line (our `removed`).
    """
    text = line_text(e.path, e.line)
    want = e.peer_says["expected_fields_when_present"]
    problems = []

    def strip(v: str) -> str:
        return v[1:-1] if v.startswith("<") and v.endswith(">") else v

    def check(field: str, got: list[Any], value: Any) -> None:
        if value not in got:
            problems.append(f"{field}: ours {got!r}, peer {value!r}")

    for key, value in want.items():
        if key == "status":
            if value == "done" and text.split(": ", 1)[-1].startswith("done;"):
                check("event", [r["event"] for r in rows], "removed")
            elif value.startswith("reject: ") and "reject=" in text:
                check("status", [f"reject: {r['reject_code']} {r['dsn']} {r['reason']}"
                                 for r in rows if r["event"] == "reject"], value)
            continue
        if not re.search(rf"(?:^|[\s,]){re.escape(key)}=", text.split(": ", 1)[-1]):
            continue
        if key == "from":
            check("sender", [r["sender"] for r in rows], strip(value))
        elif key == "to":
            check("recipient", [r["recipient"] for r in rows], strip(value))
        elif key == "msgid":
            check("message_id", [r["message_id"] for r in rows], strip(value))
        elif key == "size":
            check("size", [r["size"] for r in rows], int(value))
        elif key == "mailer":
            check("transport", [r["transport"] for r in rows], value)
        elif key == "relay":
            check("client", [f"{r['client_name']} [{r['client_ip']}]" for r in rows], value)
        elif key == "arg1":
            check("recipient", [r["recipient"] for r in rows], strip(value))
        elif key == "reject":
            check("reject", [f"{r['reject_code']} {r['dsn']} {r['reason']}" for r in rows],
                  value)
        elif key == "ruleset":
            check("pattern", [r["pattern"] for r in rows], f"sendmail:ruleset.{value}")
        else:
            problems.append(f"unmapped peer field {key!r}")
    return problems


@pytest.mark.parametrize("e", cases_saying(_psm_sendmail(), "expected_fields_when_present"))
def test_parse_syslog_mail_values(e: Expectation) -> None:
    rows = known_rows(e, _rows(e))
    problems = _peer_mismatches(e, rows)
    assert not problems, f"{e.file}:{e.line}: {problems}\n{line_text(e.path, e.line)}"


def test_parse_syslog_mail_handoffs_link_the_mta_copy() -> None:
    """Each MSP relay to localhost names the id the MTA's from= line carries."""
    path = CORPORA / "parse-syslog-mail/t/logs/sendmail-plain.log"
    rows = [r for rs in rows_by_line(path, **PSM_OPTS).values() for r in rs]
    received = {r["queue_id"] for r in rows if r["event"] == "received"}
    handoffs = [r for r in rows if r["event"] == "handoff"]
    assert len(handoffs) == 58
    missing = [r["child_queue_id"] for r in handoffs if r["child_queue_id"] not in received]
    assert not missing, f"hand-offs to ids without a from= line: {missing}"


# --- every Sendmail line of the corpora ------------------------------------------------------

def _all_sendmail() -> list[Expectation]:
    return ([e for e in expectations("fail2ban", "sendmail")] + _psm_sendmail())


def test_every_sendmail_line_parses() -> None:
    """Every Sendmail line of the corpora (FreeBSD `syslogd -v` headers included): under
    1% `other`."""
    exps = _all_sendmail()
    assert len(exps) == 372
    rate, report = _other_report(exps)
    assert rate < MAX_OTHER, report
