"""Dovecot's lines in the mail log: IMAP/POP3 password guessing caught by the same rules
as SMTP's, and the auth service's lines naming the user of a Postfix failure without
counting it twice (DESIGN.md, "Nothing is counted twice").

The peers' lines are fail2ban's `logs/dovecot` (its dovecot jail, the one people run
beside postfix-sasl) and crowdsec hub's `dovecot-logs`; the Postfix + Dovecot SASL lines
are recordings/ (Debian 12). Where a test builds a log, the shapes are those lines'.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from logwatch import live
from logwatch.config import Allowlist, Site, load_config
from logwatch.detection import detect_files
from logwatch.enrich import enrich_events
from logwatch.pipeline import ParseOptions
from logwatch.report.build import ReportOptions, build_report
from logwatch.sitefacts import SiteFacts
from logwatch.state import STATE_FILE, State
from tests.conftest import ROOT, parse_events
from tests.corpora import expectations, line_text, peer_ip, rows_by_line

F2B_OPTS: dict[str, Any] = {"tz": "Europe/Berlin", "year": 2005}

#: fail2ban lines that are not Dovecot's through syslog, so not read in a syslog file:
#: Dovecot's own log file's (`log_path = /var/log/dovecot.log`: no host, the process as
#: the program; read as a file of their own below) and multilog's TAI64 stamps; PAM's
#: `pam_unix(dovecot:auth)` lines, which the `pam(...)` line of Dovecot's auth worker says
#: again; and 1.x's doubled `dovecot: auth(default)`.
OWN_LOG = {38, 53, 65, 67, 88, 91, 94, 97, 109, 143, 145}
NOT_SYSLOG = {2} | OWN_LOG
PAM_LINES = {5, 8, 10, 78}
DOUBLED_PREFIX = {35}


def _f2b() -> list[Any]:
    return [e for e in expectations("fail2ban", "other") if e.file == "logs/dovecot"]


def _rows(e: Any) -> list[dict[str, Any]]:
    return rows_by_line(e.path, **F2B_OPTS).get(e.line, [])


def test_fail2ban_dovecot_lines() -> None:
    """Every line fail2ban's jail bans on, in syslog's shape, names its offender as the
    client: the login processes' refusals are auth failures, the auth service's lines
    name the user (and are not failures of their own: a login process's connection, named
    by its session, counts them), a plaintext login refused before
    any password (`tried to use`, or `auth failed` with no method=) is not a failure
    (fail2ban bans it; we count it as Postfix's refused mechanisms are counted). Lines
    fail2ban must not ban are never failures."""
    read, skipped = 0, set()
    for e in _f2b():
        fj = e.peer_says["failJSON"]
        rows = _rows(e)
        text = line_text(e.path, e.line)
        if e.line in NOT_SYSLOG | PAM_LINES | DOUBLED_PREFIX:
            assert rows == [], f"line {e.line}: {rows}"
            skipped.add(e.line)
            continue
        assert len(rows) == 1, f"line {e.line}: {text}"
        row = rows[0]
        if fj.get("match") is False and not fj.get("host"):
            assert row["event"] != "auth_failure", f"line {e.line}: {text}"
            continue
        assert row["event"] != "other", f"line {e.line}: {text}"
        if fj.get("host"):
            assert row["client_ip"] == peer_ip(fj["host"]), f"line {e.line}: {row}"
        if not fj.get("match") or e.peer_says.get("filter_options") == [{"mode": "aggressive"}]:
            assert row["event"] != "auth_failure", f"line {e.line}: {text}"
            continue
        read += 1
        if "(auth failed, " in text and "method=" not in text:
            # no SASL exchange began (gh-3210's line: a login refused in the clear)
            assert (row["event"], row["pattern"]) == ("info", "dovecot:auth_failed_unjudged")
        elif "(auth failed, " in text or "(proxy dest auth failed)" in text:
            assert row["event"] == "auth_failure", f"line {e.line}: {text}"
        elif "(tried to use " in text:
            assert (row["event"], row["pattern"]) == ("info", "dovecot:plaintext_refused")
        elif (session := re.search(r",<([^<>()]+)>\): ", text)):
            # asked by a login process's connection: that connection's login counts it
            assert (row["event"], row["pattern"], row["session"]) == (
                "info", "dovecot:auth_refused_login", session[1]), text
            assert row["sasl_username"] and row["sasl_username"] in text
        else:
            assert (row["event"], row["pattern"]) == ("info", "dovecot:auth_refused"), text
            assert row["sasl_username"] and row["sasl_username"] in text
    assert skipped == NOT_SYSLOG | PAM_LINES | DOUBLED_PREFIX
    assert read == 29


def test_dovecots_own_log_file(tmp_path: Path) -> None:
    """fail2ban's lines of Dovecot's own log file, as a file of their own: recognised as
    one (its default stamp and the ISO one many set), every offender its client."""
    cases = [e for e in _f2b() if e.line in OWN_LOG]
    log = tmp_path / "dovecot.log"
    log.write_text("".join(line_text(e.path, e.line) + "\n" for e in cases))
    events, run = parse_events([log], **F2B_OPTS)
    assert [s.format for s in run.stats] == ["dovecot"]
    rows = events.to_pylist()
    assert len(rows) == len(cases)
    for e in cases:
        fj = e.peer_says["failJSON"]
        got = [r for r in rows if r["seq"] == cases.index(e)]
        if fj.get("match"):
            assert got and got[0]["client_ip"] == peer_ip(fj["host"]), (e.line, got)
            assert got[0]["mta"] == "dovecot" and got[0]["host"] is None


def test_crowdsec_dovecot_fields() -> None:
    """crowdsec's parser tests: the remote address and the user its dovecot parser
    extracts are our client and username."""
    checked = 0
    for e in expectations("crowdsec-hub", "other"):
        stages = e.peer_says["parser_results"]
        said = next((v for k, v in stages.items()
                     if "dovecot-logs" in k and v.get("Success")), None)
        if said is None:
            continue
        rows = rows_by_line(e.path, tz="UTC", year=2025).get(e.line, [])
        assert len(rows) == 1, f"{e.file}:{e.line}: {line_text(e.path, e.line)}"
        assert rows[0]["client_ip"] == said["Parsed.dovecot_remote_ip"], rows[0]
        assert rows[0]["sasl_username"] == said.get("Parsed.dovecot_user") or None, rows[0]
        checked += 1
    assert checked == 15, checked


# --- the auth service behind Postfix -----------------------------------------------------

RECORDED = ROOT / "recordings/postfix/run1-syslog/syslog-traditional.log.gz"


def test_recorded_dovecot_lines_are_not_second_failures(tmp_path: Path) -> None:
    """Debian's Postfix + Dovecot SASL: each of the 24 refused AUTHs is a Postfix warning,
    a disconnect's `auth=0/1` and Dovecot's `Password mismatch`/`unknown user`: one
    failure each, in the report and in the rules."""
    events, _ = parse_events([RECORDED], tz="UTC", year=2025)
    ev = events.to_pandas()
    dovecot = ev[(ev["mta"] == "dovecot") & (ev["daemon"] != "master")]   # its start, stop
    assert len(dovecot) == 24 and set(dovecot["event"]) == {"info"}
    assert (ev["event"] == "auth_failure").sum() == 24
    log = tmp_path / "mail.log"
    log.write_bytes(gzip.decompress(RECORDED.read_bytes()))
    auth = _report_auth(log, tz="UTC", year=2025)
    assert auth["failures"] == 24 and auth["failures_without_username"] == 0
    rich = enrich_events(events, SiteFacts.from_config(Site(), Allowlist()))
    assert pc.sum(rich.column("auth_failures")).as_py() == 24


def _old_postfix_attack(start_s: int, users: list[str], ip: str = "203.0.113.45") -> list[str]:
    """Postfix before 3.x refusing AUTHs from `ip` (fail2ban's logs/postfix shape: no
    username), each after Dovecot's line naming the user tried, 2 s before (its
    auth_failure_delay): one session every 10 s."""
    lines = []
    for i, user in enumerate(users):
        t = start_s + 10 * i
        pid = 4100 + i
        lines += [
            f"{_stamp(t)} mx1 postfix/smtpd[{pid}]: connect from unknown[{ip}]",
            f"{_stamp(t)} mx1 dovecot: auth: passwd-file({user},{ip}): unknown user",
            f"{_stamp(t + 2)} mx1 postfix/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN "
            "authentication failed: UGFzc3dvcmQ6",
            f"{_stamp(t + 2)} mx1 postfix/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 "
            "auth=0/1 quit=1 commands=2/3",
        ]
    return lines


def _stamp(seconds: int) -> str:
    """rsyslog's RFC 3339 stamp (Debian's default) of 2026-03-03 10:00 UTC + seconds."""
    return f"2026-03-03T10:{seconds // 60:02d}:{seconds % 60:02d}.000000+00:00"


USERS = ["alice", "bob", "carol", "dave", "erin"]


def test_postfix_failures_take_the_username_dovecot_named(tmp_path: Path) -> None:
    """Without the names, five refusals from one address are a burst; with them, they
    are what they are: one password tried against five accounts."""
    log = tmp_path / "mail.log"
    log.write_text("\n".join(_old_postfix_attack(0, USERS)) + "\n")
    events, _ = parse_events([log])
    failures = events.filter(pc.equal(events.column("event").cast(pa.string()), "auth_failure"))
    assert failures.column("mta").cast("string").to_pylist() == ["postfix"] * 5
    assert failures.column("sasl_username").to_pylist() == USERS
    result = detect_files([str(log)], load_config(None), ParseOptions())
    alerts = {a.rule: a.count for a in result.detection.alerts}
    assert alerts == {"password_spray": 5}


def test_a_name_lends_only_to_its_client_and_host_and_not_too_late(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    lines = _old_postfix_attack(0, ["alice"], ip="203.0.113.45")
    lines[1] = lines[1].replace("203.0.113.45", "203.0.113.46")           # another client
    lines += _old_postfix_attack(100, ["bob"], ip="203.0.113.47")
    lines[5] = lines[5].replace(" mx1 ", " mx2 ")                          # another host
    late = _old_postfix_attack(200, ["carol"], ip="203.0.113.48")
    late[2] = late[2].replace(_stamp(202), _stamp(230))                    # 30 s later
    log.write_text("\n".join(lines + late) + "\n")
    events, _ = parse_events([log])
    failures = events.filter(pc.equal(events.column("event").cast(pa.string()), "auth_failure"))
    assert failures.column("sasl_username").to_pylist() == [None, None, None]


def _site(tmp_path: Path, log: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\nlocal_domains = '
                   f'["example.com"]\ntimezone = "UTC"\n[[sources]]\npath = "{log}"\n')
    return cfg


def _run(cfg: Path) -> list[dict[str, Any]]:
    state = State(load_config(cfg).state_dir)
    try:
        result = live.run_pass(load_config(cfg), state)
    finally:
        state.close()
    assert result.errors == []
    return result.alerts


def test_a_name_lends_across_cron_runs(tmp_path: Path) -> None:
    """A run that ends between Dovecot's line and Postfix's (2 s apart: as often as not
    on a busy server) lends the name to the next run's failure."""
    log = tmp_path / "mail.log"
    lines = _old_postfix_attack(0, USERS)
    cut = 4 * 2 + 2          # two sessions, then the third's connect and Dovecot's line
    log.write_text("\n".join(lines[:cut]) + "\n")
    os.utime(log, (1772532000, 1772532000))
    cfg = _site(tmp_path, log)
    assert _run(cfg) == []
    with open(log, "a") as fh:
        fh.write("\n".join(lines[cut:]) + "\n")
    alerts = _run(cfg)
    assert [(a["rule"], a["count"]) for a in alerts] == [("password_spray", 5)]


def test_a_state_that_kept_the_lines_among_the_last_lines_fields_goes_on(
        tmp_path: Path) -> None:
    """A state written before a mark had fields for the auth lines and the instant read
    up to (both were among its last line's fields) lends as the current one does."""
    log = tmp_path / "mail.log"
    lines = _old_postfix_attack(0, USERS)
    cut = 4 * 2 + 2
    log.write_text("\n".join(lines[:cut]) + "\n")
    os.utime(log, (1772532000, 1772532000))
    cfg = _site(tmp_path, log)
    assert _run(cfg) == []
    db = sqlite3.connect(tmp_path / "state" / STATE_FILE)
    (source, stored), = db.execute("SELECT source, mark FROM marks")
    mark = json.loads(stored)
    assert mark["auth"]["lenders"] and mark["read_up_to_us"]
    mark["carry"] = {**mark["carry"], "read_up_to_us": mark.pop("read_up_to_us"),
                     **mark.pop("auth")}
    db.execute("UPDATE marks SET mark = ? WHERE source = ?", (json.dumps(mark), source))
    db.commit()
    db.close()
    with open(log, "a") as fh:
        fh.write("\n".join(lines[cut:]) + "\n")
    alerts = _run(cfg)
    assert [(a["rule"], a["count"]) for a in alerts] == [("password_spray", 5)]


# --- IMAP and POP3 ------------------------------------------------------------------------

def _imap(seconds: int, ip: str, user: str, ok: bool = False, attempts: int = 1) -> str:
    head = f"{_stamp(seconds)} mx1 dovecot[812]: imap-login: "
    if ok:
        return (f"{head}Login: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, "
                f"mpid={9000 + seconds}, TLS, session=<s{seconds}>")
    return (f"{head}Disconnected: Connection closed (auth failed, {attempts} attempts in 4 "
            f"secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, "
            f"session=<s{seconds}>")


@pytest.mark.parametrize("ip", ["198.51.100.20", "2001:db8:5::20"])
def test_imap_guessing_then_a_login_is_a_compromise(tmp_path: Path, ip: str) -> None:
    """Four refused IMAP logins for bob, then bob logs in from the same address: the
    password was guessed (one Dovecot log process wrote every line, under one pid)."""
    log = tmp_path / "mail.log"
    log.write_text("\n".join([_imap(10 * i, ip, "bob") for i in range(4)]
                             + [_imap(60, ip, "bob", ok=True)]) + "\n")
    result = detect_files([str(log)], load_config(None), ParseOptions())
    found = {a.rule: a for a in result.detection.alerts}
    assert set(found) == {"auth_success_after_failures"}
    assert found["auth_success_after_failures"].count == 4
    assert found["auth_success_after_failures"].severity == "high"


def test_imap_burst_and_report(tmp_path: Path) -> None:
    """Five refused IMAP logins in ten minutes: fail2ban's dovecot jail bans at five; so
    do we, and the report counts them with Postfix's, by address and by username."""
    log = tmp_path / "mail.log"
    log.write_text("\n".join(_imap(60 * i, "198.51.100.30", "info") for i in range(5)) + "\n")
    result = detect_files([str(log)], load_config(None), ParseOptions())
    assert [(a.rule, a.count) for a in result.detection.alerts] == [("auth_failure_burst", 5)]
    auth = _report_auth(log)
    assert auth["failures"] == 5
    assert auth["by_username"][0]["sasl_username"] == "info"
    assert auth["by_ip"][0]["client_ip"] == "198.51.100.30"


def test_a_connection_weighs_the_passwords_it_tried(tmp_path: Path) -> None:
    """IMAP lets a client try password after password on one connection, and Dovecot
    logs one line for them all (`auth failed, 3 attempts`; recordings/dovecot has
    three refused on one IMAP connection said so). Counted a line each, as fail2ban's
    dovecot jail does, two connections of three guesses stayed under five; they are
    six failures, for the rules and the report alike."""
    log = tmp_path / "mail.log"
    log.write_text(_imap(0, "198.51.100.31", "info", attempts=3) + "\n"
                   + _imap(120, "198.51.100.31", "sales", attempts=3) + "\n")
    result = detect_files([str(log)], load_config(None), ParseOptions())
    assert [(a.rule, a.count) for a in result.detection.alerts] == [("auth_failure_burst", 6)]
    auth = _report_auth(log)
    assert auth["failures"] == 6
    assert [(u["sasl_username"], u["count"]) for u in auth["by_username"]] == [
        ("info", 3), ("sales", 3)]
    assert auth["by_ip"][0]["count"] == 6 and auth["by_service"] == [
        {"service": "dovecot/imap-login", "count": 6}]
    assert sum(h["failures"] for h in auth["per_hour"]) == 6


def _refused(seconds: int, ip: str, user: str, session: str) -> str:
    """Dovecot 2.3's auth service (auth_verbose = yes) refusing a password a login
    process's connection offered (recordings/dovecot/run1-auth-verbose's shape)."""
    return (f"{_stamp(seconds)} mx1 dovecot[812]: auth: passwd-file({user},{ip},<{session}>): "
            "Password mismatch")



@pytest.mark.parametrize("tail", ["", " ", ", TLS", ", TLS: Disconnected"])
def test_the_session_is_the_lines_last_in_brackets(tmp_path: Path, tail: str) -> None:
    """A login line's session is read apart (a `tail`): whatever a site's
    login_log_format_elements puts after it, and whatever session=<...> a username
    holds before it (the client chooses that one)."""
    line = (f"{_stamp(0)} mx1 dovecot: imap-login: Login: user=<bob, session=<FORGED>>, "
            "method=PLAIN, rip=198.51.100.40, lip=192.0.2.1, mpid=9, session=<REAL>" + tail)
    log = tmp_path / "mail.log"
    log.write_text(line + "\n")
    events, _ = parse_events([log])
    [row] = events.to_pylist()
    assert (row["event"], row["session"], row["client_ip"]) == (
        "auth_success", "REAL", "198.51.100.40")


@pytest.mark.parametrize("name", [
    "a,198.51.100.66,<forged>): unknown user (",
    "a,198.51.100.66,<forged>): pam_authenticate() failed: x",
    "a,198.51.100.66): Password mismatch (",
])
def test_a_name_cannot_forge_a_client_or_a_connection(tmp_path: Path, name: str) -> None:
    """An SMTP AUTH's username is the client's text, and Dovecot's auth service writes
    it into its request as it is (where auth_username_chars allows it): a name that
    closes the request early must not become a refusal of another client (a burst of
    those would ban an innocent address) or of a login connection it names."""
    lines = [f"{_stamp(t)} mx1 dovecot: auth: passwd-file({name},203.0.113.45): "
             "Password mismatch" for t in range(0, 60, 10)]
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n")
    events, _ = parse_events([log])
    rows = events.to_pylist()
    assert len(rows) == 6
    assert [r for r in rows if r["client_ip"] == "198.51.100.66"
            or r["event"] == "auth_failure" or r["session"]] == []


@pytest.mark.parametrize("wrong,alerted", [(3, False), (4, True)])
def test_guesses_in_the_connection_that_logs_in(tmp_path: Path, wrong: int,
                                                alerted: bool) -> None:
    """IMAP takes password after password on one connection, and one that ends in a
    login leaves a `Login:` line only (recordings/dovecot: three wrong, then the right
    one). With auth_verbose the auth service said each refusal under the connection's
    session, and the login counts them (not the miss of a first passdb for the right
    password, a moment before it): failures, as the guesses of a login's own SMTP
    session are. One is forgiven (a mistake, or a client falling back between
    mechanisms), so three wrong are two guesses, four wrong three: a compromise."""
    ip = "198.51.100.35"
    log = tmp_path / "mail.log"
    log.write_text("\n".join([_refused(6 * i, ip, "alice", "s30") for i in range(wrong)]
                             + [_refused(30, ip, "alice", "s30"),
                                _imap(30, ip, "alice", ok=True)]) + "\n")
    events, _ = parse_events([log])
    assert events.column("auth_attempts").to_pylist()[-1] == wrong
    result = detect_files([str(log)], load_config(None), ParseOptions())
    found = [(a.rule, a.count) for a in result.detection.alerts]
    assert found == ([("auth_success_after_failures", wrong)] if alerted else [])
    auth = _report_auth(log)
    assert (auth["failures"], auth["successes"]) == (wrong, 1)
    assert auth["by_service"] == [{"service": "dovecot/imap-login", "count": wrong}]


def test_refusals_and_their_connections_end_across_cron_runs(tmp_path: Path) -> None:
    """The auth service's refusals in one cron run, the line that ends their connection
    in the next: a login counts them (its source's mark carries them), and a refused
    connection's `auth failed, 3 attempts` is three failures, not six; two more on a
    second connection make the burst of five, in the rules and the report alike."""
    guessed, refused = "198.51.100.37", "198.51.100.36"
    first = ([_refused(t, guessed, "alice", "s100") for t in (60, 66, 72, 78)]
             + [_refused(t, refused, "info", "s40") for t in (0, 10, 20)])
    second = [_imap(40, refused, "info", attempts=3), _imap(100, guessed, "alice", ok=True)]
    third = [_refused(150, refused, "sales", "s170"), _refused(160, refused, "sales", "s170"),
             _imap(170, refused, "sales", attempts=2)]
    log = tmp_path / "mail.log"
    log.write_text("\n".join(first) + "\n")
    os.utime(log, (1772532000, 1772532000))
    cfg = _site(tmp_path, log)
    assert _run(cfg) == []
    for lines, alerted in ((second, [("auth_success_after_failures", guessed, 4)]),
                           (third, [("auth_failure_burst", refused, 5)])):
        with open(log, "a") as fh:
            fh.write("\n".join(lines) + "\n")
        assert [(a["rule"], a["key"]["client_ip"], a["count"]) for a in _run(cfg)] == alerted
    auth = _report_auth(log)
    assert auth["failures"] == 9
    assert [(u["sasl_username"], u["count"]) for u in auth["by_username"]] == [
        ("alice", 4), ("info", 3), ("sales", 2)]
    assert auth["by_service"] == [{"service": "dovecot/imap-login", "count": 9}]


def _guessed_in(ip: str, start: int, session: str) -> list[str]:
    """Four wrong passwords on one connection, 6 s apart from `start`, then its login 30 s
    after `start`."""
    return ([_refused(start + 6 * i, ip, "alice", session) for i in range(4)]
            + [_imap(start + 30, ip, "alice", ok=True).replace(f"<s{start + 30}>",
                                                                f"<{session}>")])


def test_a_connection_across_a_rotation_counts_as_in_one_file(tmp_path: Path) -> None:
    """The guesses at the end of mail.log.1, the login at the start of mail.log: read
    together, as one file is (a re-review found each file read with nothing of the one
    before)."""
    lines = _guessed_in("198.51.100.38", 0, "g1")
    one = tmp_path / "one" / "mail.log"
    one.parent.mkdir()
    one.write_text("\n".join(lines) + "\n")
    (tmp_path / "mail.log.1").write_text("\n".join(lines[:4]) + "\n")
    (tmp_path / "mail.log").write_text(lines[4] + "\n")
    for files in ([one], [tmp_path / "mail.log.1", tmp_path / "mail.log"]):
        result = detect_files([str(f) for f in files], load_config(None), ParseOptions())
        assert [(a.rule, a.count) for a in result.detection.alerts] == [
            ("auth_success_after_failures", 4)], files



def test_dovecot_24_refusals_count_for_their_login(tmp_path: Path) -> None:
    """Dovecot 2.4 (Debian 13's) names the request before the level, its `<...>` after
    it (fail2ban's sample line): where a login of that session follows, it counts them;
    where none does (an SMTP server's request), they count for nothing."""
    ip = "192.0.2.110"
    lines = [f"{_stamp(t)} mx dovecot[812]: auth({user},{ip},sasl:plain)<CvN+E95Uf4e7eEnj>: "
             "Info: sql: Password mismatch (given password: XxxxXXxx123)"
             for t, user in ((0, "info"), (8, "info"), (16, "info"), (24, "info"))]
    lines += [f"{_stamp(t)} mx dovecot[812]: auth(info,{ip},sasl:login)<Zz{t}>: Info: sql: "
              "unknown user" for t in (30, 40)]
    lines.append(_imap(40, ip, "info", ok=True).replace(" mx1 ", " mx ")
                 .replace("<s40>", "<CvN+E95Uf4e7eEnj>"))
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n")
    events, _ = parse_events([log])
    assert [r["auth_attempts"] for r in events.to_pylist() if r["event"] == "auth_success"] \
        == [4]


@pytest.mark.parametrize("between", ["emptied", "ten_minutes", "flood"])
def test_refusals_carried_between_cron_runs(tmp_path: Path, between: str) -> None:
    """The guesses in one cron run, the login in a later one, with in between: a run
    that found the log emptied (copytruncate whose copy is not beside it) and read no
    line; a line ending the run ten minutes after the first guess, the login two seconds
    later (it looks back ten minutes from 3 s before itself); or ten
    thousand other connections refused in the meantime (a botnet: each ended by its
    login process's line). Each used to lose the guesses."""
    ip = "198.51.100.39"
    log = tmp_path / "mail.log"
    guessed = _guessed_in(ip, 0, "g1") if between != "ten_minutes" else (
        _guessed_in(ip, 0, "g1")[:4] + [_stamp(600).replace(".000000", ".900000")
                                         + " mx1 postfix/anvil[9]: statistics: max "
                                         "connection rate 1/60s for (smtp:192.0.2.1) at "
                                         "Mar  3 10:00:00", _imap(602, ip, "alice", ok=True)
                                         .replace("<s602>", "<g1>")])
    log.write_text("\n".join(guessed[:-1]) + "\n")
    os.utime(log, (1772532000, 1772532000))
    cfg = _site(tmp_path, log)
    if between == "flood":
        with open(log, "a") as fh:
            for i in range(10_000):
                ip_i = f"198.18.{i // 250}.{i % 250 + 1}"
                fh.write(_refused(25, ip_i, f"u{i}", f"b{i}") + "\n"
                         + _imap(25, ip_i, f"u{i}").replace("<s25>", f"<b{i}>") + "\n")
    assert _run(cfg) == []
    if between == "emptied":
        log.write_text("")
        assert _run(cfg) == []
    with open(log, "a") as fh:
        fh.write(guessed[-1] + "\n")
    assert [(a["rule"], a["count"]) for a in _run(cfg)] == [
        ("auth_success_after_failures", 4)]


AUTH_SERVICE_ONLY = {
    # openSUSE/ap4rc's README_DOVECOT: with two passdbs, the first says `unknown user`
    # before the second takes the right password; five users behind one NAT log in
    "a first passdb's miss before each login": (
        [line for i, user in enumerate(["ann", "ben", "cat", "dan", "eve"])
         for line in (_refused(60 * i, "203.0.113.50", user, f"s{60 * i}"),
                      _imap(60 * i, "203.0.113.50", user, ok=True))], 0),
    # the same site refusing three passwords on one connection: two lines for each
    "two passdbs refusing each of three passwords": (
        [_refused(t, "198.51.100.8", "bob", "s30") for t in (0, 0, 10, 10, 20, 20)]
        + [_imap(30, "198.51.100.8", "bob", attempts=3)], 3),
    # login_log_format_elements without session=: the connection's line stands alone
    "a connection's line without its session": (
        [_refused(t, "198.51.100.10", "bob", "s30") for t in (0, 4, 8)]
        + [_imap(30, "198.51.100.10", "bob", attempts=3).replace(", session=<s30>", "")], 3),
    # whole-second stamps (BSD syslog) put a slow second passdb's answer 2 s after the
    # first's miss: still the right password's
    "a slow second passdb, whole-second stamps": (
        [line for i, user in enumerate(["ann", "ben", "cat", "dan", "eve"])
         for line in (f"Mar  3 10:0{i}:00 mx1 dovecot: auth: passwd-file({user},"
                      f"203.0.113.50,<s{i}>): unknown user",
                      f"Mar  3 10:0{i}:02 mx1 dovecot: imap-login: Login: user=<{user}>, "
                      f"method=PLAIN, rip=203.0.113.50, lip=192.0.2.1, mpid=9000, TLS, "
                      f"session=<s{i}>")], 0),
    # LMTP asking the userdb for recipients nobody has: no connection of a client
    "userdb lookups for LMTP": (
        [_refused(t, "127.0.0.1", f"nobody{t}", f"lmtp{t}") for t in range(0, 60, 10)], 0),
}


@pytest.mark.parametrize("case", AUTH_SERVICE_ONLY)
def test_the_auth_services_lines_count_only_for_a_login(tmp_path: Path, case: str) -> None:
    """Its lines are one per passdb (or userdb) asked, not one per password: counted as
    failures of their own, five logins through one NAT were a compromise and three
    passwords six. Only a login counts them; a refused connection's line counts its."""
    lines, failures = AUTH_SERVICE_ONLY[case]
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n")
    result = detect_files([str(log)], load_config(None), ParseOptions())
    assert [a.rule for a in result.detection.alerts] == []
    assert _report_auth(log)["failures"] == failures


def _report_auth(log: Path, **options: Any) -> dict[str, Any]:
    report, errors = build_report([str(log)], load_config(None), ParseOptions(**options),
                                  ReportOptions())
    assert errors == []
    return report["security"]["auth"]


def test_a_rule_may_name_dovecot(tmp_path: Path) -> None:
    """`mta = "dovecot"` is a value rules can test (the MTAs are the parser files')."""
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "imap.toml").write_text(
        '[[rule]]\nid = "imap_logins"\ntitle = "IMAP logins"\nkind = "threshold"\n'
        'severity = "low"\ndescription = "Logins to IMAP from one address."\n'
        'group_by = ["client_ip"]\nthreshold = 2\nwindow = "10m"\n'
        'summary = "$count logins from $client_ip"\n'
        '[rule.where]\nmta = "dovecot"\nevent = "auth_success"\n')
    cfg = tmp_path / "config.toml"
    cfg.write_text('rule_dirs = ["rules.d"]\n')
    log = tmp_path / "mail.log"
    log.write_text("\n".join(_imap(10 * i, "192.0.2.40", "bob", ok=True)
                             for i in range(2)) + "\n")
    result = detect_files([str(log)], load_config(cfg), ParseOptions())
    assert [(a.rule, a.count) for a in result.detection.alerts] == [("imap_logins", 2)]
