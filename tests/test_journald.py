"""The journald source of cron mode (issue 4), end to end on real journal files.

There is no journald on a test machine; `systemd-journal-remote` writes real journal
files from the export format (the same files journald writes), and appending to one is
running it again with the same `--output`. `run_pass` then reads them with the real
`journalctl`. Every entry carries a marker (its own SYSLOG_PID), and the checks are those
of the rotation matrix: each entry is parsed exactly once over the passes that committed,
in order; the rules saw each auth failure once; the burst alerts once.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import logwatch.live as live
from logwatch.config import load_config
from logwatch.errors import ConfigError
from logwatch.live import PassResult
from logwatch.state import State
from tests.conftest import ROOT
from tests.live_checks import ATTACKER, LiveChecks

JOURNAL_REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote",
                                   "/usr/lib/systemd/systemd-journal-remote")
                       if os.access(p, os.X_OK)), None)

BOOT = "0123456789abcdef0123456789abcdef"   # fixed: see the brief (journalctl -f and boots)
T0 = 1772532000_000000                       # 2026-03-03T10:00:00Z, in µs


@pytest.fixture
def journal_remote() -> str:
    if JOURNAL_REMOTE is None:
        pytest.fail("systemd-journal-remote is not installed: run make debs "
                    "(apt-get install systemd-journal-remote)")
    if shutil.which("journalctl") is None:
        pytest.fail("journalctl is not installed: run make debs (apt-get install systemd)")
    return JOURNAL_REMOTE


def _export(fields: dict[str, str | bytes]) -> bytes:
    """One entry in the journal export format (binary-safe for a bytes value)."""
    out = b""
    for k, v in fields.items():
        if isinstance(v, bytes):
            out += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            out += f"{k}={v}\n".encode()
    return out + b"\n"


class Journal(LiveChecks):
    """A mail server's journal, a mail-logwatch config and state reading it, and what was
    written and what each pass parsed."""

    def __init__(self, tmp_path: Path, remote: str, match: list[str] | None = None,
                 whole_directory: bool = False) -> None:
        self.tmp = tmp_path
        self.remote = remote
        self.dir = tmp_path / "journal"
        self.dir.mkdir()
        self.file = self.dir / "mail.journal"   # where entries are written
        arg = f"--directory={self.dir}" if whole_directory else f"--file={self.file}"
        self.state_dir = tmp_path / "state"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'state_dir = "{self.state_dir}"\n'
            '[site]\nlocal_domains = ["example.com"]\ntrusted_networks = ["127.0.0.1/32"]\n'
            '[[sources]]\njournald = true\n'
            f'journal_args = ["{arg}"]\n'
            + (f"journal_match = {json.dumps(match)}\n" if match is not None else "")
            + '[notify]\nurls = []\n')
        self.cfg = load_config(self.config)
        self.name = f"journald:{arg}"
        self.n = 0
        self.pid = 1000
        self.written: list[int] = []          # pids of the mail entries, in order
        self.failures: list[int] = []
        self.parsed: list[int] = []           # pids parsed by passes that committed
        self.rules_saw: list[int] = []
        self.passes: list[PassResult] = []
        self.tables: list[pa.Table] = []      # the parsed tables of committed passes
        self.temp_files: list[str] = []
        self.sources: set[str] = set()        # of the events the rules were given
        self._pass: tuple[list[int], list[int], list[pa.Table]] = ([], [], [])

    # -- writing -------------------------------------------------------------------------
    def entry(self, ident: str, message: str | bytes, facility: int = 2,
              mail: bool = True) -> bytes:
        self.n += 1
        self.pid += 1
        if mail:
            self.written.append(self.pid)
        return _export({
            "__REALTIME_TIMESTAMP": str(T0 + self.n * 5_000_000),
            "__MONOTONIC_TIMESTAMP": str(1_000_000 + self.n * 5_000_000),
            "_BOOT_ID": BOOT, "_HOSTNAME": "mx1", "_TRANSPORT": "syslog", "PRIORITY": "6",
            "SYSLOG_FACILITY": str(facility), "SYSLOG_IDENTIFIER": ident,
            "SYSLOG_PID": str(self.pid), "_PID": str(self.pid), "MESSAGE": message})

    def fail(self, username: bytes = b"admin") -> bytes:
        e = self.entry("postfix/submission/smtpd", b"warning: unknown[" + ATTACKER.encode()
                       + b"]: SASL LOGIN authentication failed: (reason unavailable), "
                       b"sasl_username=" + username)
        self.failures.append(self.pid)
        return e

    def noise(self) -> bytes:
        n = self.pid % 250 + 1
        return self.entry("postfix/smtpd", f"connect from mail{n}.example.net[192.0.2.{n}]")

    def other(self) -> bytes:
        """Not mail: another facility, which the default match leaves out."""
        return self.entry("CRON", "(root) CMD (run-parts /etc/cron.hourly)", facility=9,
                          mail=False)

    def append(self, fails: int = 0, noise: int = 0, other: int = 0) -> None:
        self.write([self.noise() for _ in range(noise)] + [self.other() for _ in range(other)]
                   + [self.fail() for _ in range(fails)])

    def write(self, entries: list[bytes]) -> None:
        export = self.tmp / "batch.export"
        export.write_bytes(b"".join(entries))
        r = subprocess.run([self.remote, f"--output={self.file}", str(export)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr

    # -- reading -------------------------------------------------------------------------
    def instrument(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Record the pid of every row parsed from a journal that a pass accepted, and of
        every auth failure the rules are given."""
        real_read, real_sources = live.read_source, live._read_sources
        read: list[tuple[str, pa.Table]] = []

        def read_source(plan, *args, **kwargs) -> Iterator[pa.Table]:  # type: ignore[no-untyped-def]
            for table in real_read(plan, *args, **kwargs):
                read.append((plan.name, table))
                yield table

        def read_sources(*args, **kwargs):  # type: ignore[no-untyped-def]
            read.clear()
            got = real_sources(*args, **kwargs)
            accepted = {j.path for j in got.journals if j.name in got.cursors}
            self.temp_files += accepted
            self.sources |= {s for t in got.events for s in t.column("source").to_pylist()}
            tables = [t for name, t in read if name in accepted]
            kept = [p for t in got.events
                    for p in t.filter(pc.equal(t.column("client_ip"), ATTACKER))
                    .column("pid").to_pylist()]
            self._pass = ([p for t in tables for p in t.column("pid").to_pylist()], kept,
                          tables)
            return got

        monkeypatch.setattr(live, "read_source", read_source)
        monkeypatch.setattr(live, "_read_sources", read_sources)

    def run_pass(self, errors: bool = False) -> PassResult:
        """One cron run in-process; what it parsed counts only if it committed."""
        self._pass = ([], [], [])
        state = State(self.cfg.state_dir)
        try:
            result = live.run_pass(self.cfg, state)
        finally:
            state.close()
        assert bool(result.errors) == errors, result.errors
        parsed, kept, tables = self._pass
        self.parsed += parsed
        self.rules_saw += kept
        self.tables += tables
        self.passes.append(result)
        return result

    # -- checking ------------------------------------------------------------------------
    def cursor(self) -> dict | None:
        db = sqlite3.connect(self.state_dir / "state.sqlite")
        try:
            row = db.execute("SELECT mark FROM marks WHERE source = ?", (self.name,)
                             ).fetchone()
        finally:
            db.close()
        return None if row is None else json.loads(row[0])

    def set_cursor(self, mark: dict) -> None:
        db = sqlite3.connect(self.state_dir / "state.sqlite")
        try:
            with db:
                db.execute("UPDATE marks SET mark = ? WHERE source = ?",
                           (json.dumps(mark), self.name))
        finally:
            db.close()

@pytest.fixture
def journal(tmp_path: Path, journal_remote: str, monkeypatch: pytest.MonkeyPatch) -> Journal:
    j = Journal(tmp_path, journal_remote)
    j.instrument(monkeypatch)
    return j


# --- reading ------------------------------------------------------------------------------

def test_first_run_reads_everything_and_names_the_source(journal: Journal) -> None:
    journal.append(noise=3, other=2, fails=5)
    result = journal.run_pass()
    assert result.lines == 8                      # the CRON entries were not asked for
    journal.check_once()
    assert journal.sources == {journal.name}
    t = pa.concat_tables(journal.tables)
    assert set(t.column("host").to_pylist()) == {"mx1"}
    assert set(t.column("program").to_pylist()) == {"postfix/smtpd",
                                                    "postfix/submission/smtpd"}
    assert t.column("ts").cast(pa.int64()).to_pylist() == [
        T0 + n * 5_000_000 for n in (1, 2, 3, 6, 7, 8, 9, 10)]
    assert all(c.startswith("s=") for c in t.column("cursor").to_pylist())
    # the burst alerts at once, its evidence read back from the pass's copy of the entries
    alert = journal.check_one_alert(in_pass=0)
    assert alert["first_seen"].startswith("2026-03-03T10:00:30")
    ev = alert["evidence"][0]
    assert ev["source"] == journal.name
    assert json.loads(ev["line"])["MESSAGE"].startswith(f"warning: unknown[{ATTACKER}]")
    # ... a copy that is gone once the pass is over; the cursor is the last entry's
    assert journal.temp_files and not any(os.path.exists(p) for p in journal.temp_files)
    mark = journal.cursor()
    assert mark is not None and mark["journal_cursor"].startswith("s=")
    assert mark["realtime_us"] == T0 + 10 * 5_000_000
    assert journal.run_pass().lines == 0          # nothing new


@pytest.mark.parametrize("first", [None, "0"])
def test_a_first_run_reads_a_day_back_from_the_newest_entry(
        tmp_path: Path, journal_remote: str, first: str | None) -> None:
    """A mail server's journal holds months; a first run that read them all took minutes
    and told every old incident. It reads the day before the newest entry
    (`journal_first`, timed by the journal, not the clock), and says what it left;
    `journal_first = 0` reads all of it, and holds back the old incident it finds there
    (`notify.backlog`: a day before the newest entry read)."""
    journal = Journal(tmp_path, journal_remote)
    if first is not None:
        journal.config.write_text(journal.config.read_text().replace(
            "journald = true\n", f'journald = true\njournal_first = "{first}"\n'))
        journal.cfg = load_config(journal.config)
    journal.append(fails=5)                   # an old burst: two days before the rest
    journal.n += 2 * 86400 // 5
    journal.append(noise=3)
    result = journal.run_pass()
    assert result.lines == (3 if first is None else 8)
    assert result.alerts == []
    held = [w for w in result.warnings if "notify.backlog" in w]
    assert len(held) == (0 if first is None else 1)
    assert all("1 alert (auth_failure_burst 1)" in w for w in held)
    said = [w for w in result.warnings if "first read:" in w]
    assert said == ([f"{journal.name}: first read: the entries from 2026-03-04T10:00:40Z on "
                     "(1d before the newest, journal_first), not the older ones"]
                    if first is None else [])
    journal.append(fails=1)                   # later runs go on from the cursor
    assert journal.run_pass().lines == 1


def test_burst_over_three_runs_alerts_once(journal: Journal) -> None:
    """2 + 2 + 1 failures appended between three cron runs, then more of the burst and a
    run with nothing new: every entry parsed once, one alert, in the third run."""
    journal.append(noise=3, other=1, fails=2)
    assert journal.run_pass().alerts == []
    journal.append(fails=2, noise=1)
    assert journal.run_pass().alerts == []
    journal.append(other=1, fails=1)
    journal.run_pass()
    journal.append(fails=2, noise=1)
    journal.run_pass()
    assert journal.run_pass().lines == 0
    journal.check_once()
    alert = journal.check_one_alert(in_pass=2)
    # evidence of entries read by earlier passes (their copies are gone), found again in
    # the journal by their cursors: the five failures, oldest first
    lines = [json.loads(e["line"]) for e in alert["evidence"]]
    assert [e["source"] for e in alert["evidence"]] == [journal.name] * 5
    assert all(entry["MESSAGE"].startswith(f"warning: unknown[{ATTACKER}]")
               for entry in lines)
    assert [int(entry["__REALTIME_TIMESTAMP"]) for entry in lines] == sorted(
        int(entry["__REALTIME_TIMESTAMP"]) for entry in lines)


def test_entries_are_found_again_by_cursor(journal: Journal,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """What the evidence of earlier passes is read back with: each wanted entry's line;
    entries close in time in one journalctl run, far apart in one each, a cursor the
    journal no longer has not found."""
    from logwatch.sources import journald

    journal.append(noise=4, fails=2)
    argv = [journald.JOURNALCTL, "--output=json", "--all", "--no-pager",
            "--output-fields=" + ",".join(journald.OUTPUT_FIELDS), f"--file={journal.file}",
            "--", "SYSLOG_FACILITY=2"]
    lines = subprocess.run(argv, capture_output=True, check=True).stdout.splitlines()
    entries = [(int(json.loads(line)["__REALTIME_TIMESTAMP"]), json.loads(line)["__CURSOR"])
               for line in lines]
    runs: list[list[str]] = []
    real = subprocess.Popen

    def popen(args, *a, **k):  # type: ignore[no-untyped-def]
        runs.append(args)
        return real(args, *a, **k)

    monkeypatch.setattr(journald.subprocess, "Popen", popen)
    gone = (entries[-1][0] + 60_000_000, entries[-1][1].replace("i=", "i=ff"))
    wanted = [entries[0], entries[1], entries[4], gone]
    # 5 s apart: the first two in one run, the fifth (15 s on) and the gone one apart
    monkeypatch.setattr(journald, "_CLUSTER_US", 6_000_000)
    got = journald.entries_at([f"--file={journal.file}"], ["SYSLOG_FACILITY=2"], wanted)
    # the same entries (journalctl orders a line's fields differently from run to run)
    assert {c: json.loads(line) for c, line in got.items()} == {
        entries[i][1]: json.loads(lines[i]) for i in (0, 1, 4)}
    assert len(runs) == 3 and runs[0][-3] == f"--cursor={entries[0][1]}"


def test_a_journalctl_that_writes_nothing_holds_evidence_up_only_so_long(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal on a slow or hung disk: each read for evidence is given up after
    `_OUTPUT_S` (the lines are then not found), and the pass goes on."""
    import time

    from logwatch.sources import journald

    silent = tmp_path / "journalctl"
    silent.write_text("#!/bin/sh\nexec sleep 600\n")
    silent.chmod(0o755)
    monkeypatch.setattr(journald, "_OUTPUT_S", 0.5)
    began = time.monotonic()
    assert journald.entries_at([], [], [(T0, "s=1"), (T0 + 60_000_000, "s=2")],
                               str(silent)) == {}
    assert time.monotonic() - began < 5


def test_a_name_dovecot_logged_in_one_pass_lends_to_the_next(journal: Journal) -> None:
    """Dovecot's auth line and Postfix's failure without a username, 5 s apart, read by
    two passes: the name carries in the cursor's mark (parse.lending)."""
    journal.write([journal.entry("dovecot", f"auth: passwd-file(erin,{ATTACKER}): unknown user")])
    journal.run_pass()
    journal.write([journal.entry("postfix/smtpd", f"warning: unknown[{ATTACKER}]: SASL LOGIN "
                                 "authentication failed: UGFzc3dvcmQ6")])
    journal.run_pass()
    failures = [r for r in journal.tables[-1].to_pylist() if r["event"] == "auth_failure"]
    assert [(r["mta"], r["sasl_username"]) for r in failures] == [("postfix", "erin")]


def test_a_cursor_whose_file_was_vacuumed_loses_no_entry(
        tmp_path: Path, journal_remote: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journald reviewer: 3 failures read, 2 more written to a new journal file, the
    old file vacuumed (`journalctl --vacuum-*` deletes archived files) before the next
    run: journalctl 252's `--after-cursor` stepped over the first new entry (systemd
    #30288, fixed in 255) and the burst of 5 was never told."""
    journal = Journal(tmp_path, journal_remote, whole_directory=True)
    journal.instrument(monkeypatch)
    journal.append(noise=1, fails=3)
    assert journal.run_pass().alerts == []
    vacuumed, journal.file = journal.file, journal.dir / "next.journal"
    journal.append(fails=2)           # the first entry after the cursor is a failure
    vacuumed.unlink()
    journal.run_pass()
    journal.check_one_alert(in_pass=1)
    assert journal.rules_saw == journal.failures


def test_crash_inside_the_commit_reads_the_same_entries_again(
        journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    journal.append(noise=2, fails=3)
    journal.run_pass()
    before = journal.cursor()
    journal.append(fails=2, noise=1)

    def crash(*args: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as m:               # the alerting pass dies in its commit
        m.setattr(State, "put_ledger", crash)
        with pytest.raises(SystemExit):
            journal.run_pass()
    assert journal.cursor() == before              # rolled back with the rest
    journal.run_pass()                             # the same entries, and the alert
    journal.append(fails=1)
    journal.run_pass()
    journal.check_once()
    journal.check_one_alert(in_pass=1)


def test_a_cursor_journalctl_cannot_use_goes_on_from_the_last_time(journal: Journal) -> None:
    journal.append(noise=2, fails=2)
    journal.run_pass()
    mark = journal.cursor()
    assert mark is not None
    journal.set_cursor({**mark, "journal_cursor": "not-a-cursor"})
    journal.append(fails=3, noise=1)
    result = journal.run_pass()
    assert any("cannot use the saved cursor" in w and "just after the time" in w
               for w in result.warnings), result.warnings
    journal.check_once()                           # nothing lost, nothing twice
    journal.check_one_alert(in_pass=1)
    assert journal.cursor()["journal_cursor"].startswith("s=")   # a good one again
    assert journal.run_pass().warnings == []


def test_a_bad_cursor_without_a_time_reads_the_journal_again(journal: Journal) -> None:
    journal.append(noise=2, fails=1)
    journal.run_pass()
    journal.set_cursor({"journal_cursor": "not-a-cursor", "realtime_us": None})
    journal.append(noise=1)
    result = journal.run_pass()
    assert any("from the start of the journal" in w for w in result.warnings), result.warnings
    first = journal.written[:3]
    assert journal.parsed == first + journal.written    # said, not silent: read again


def test_non_utf8_message(journal: Journal) -> None:
    """journalctl prints a MESSAGE that is not UTF-8 as an array of byte values: read
    with replacement and marked, as a file's line is (a journald reviewer found the
    mark missing)."""
    journal.write([journal.noise(), journal.fail(username=b"j\xf6rg"), journal.noise()]
                  + [journal.fail() for _ in range(4)])
    journal.run_pass()
    journal.check_once()
    t = pa.concat_tables(journal.tables)
    attacks = t.filter(pc.equal(t.column("client_ip"), ATTACKER))
    assert attacks.column("sasl_username").to_pylist() == ["j\ufffdrg"] + ["admin"] * 4
    assert attacks.column("line_note").cast(pa.string()).to_pylist() == \
        ["invalid_utf8"] + [None] * 4
    journal.check_one_alert(in_pass=0)


def test_journal_match(tmp_path: Path, journal_remote: str) -> None:
    """journal_match replaces the default: here only the submission service's entries."""
    j = Journal(tmp_path, journal_remote, match=["SYSLOG_IDENTIFIER=postfix/submission/smtpd"])
    j.append(noise=2, other=1, fails=2)
    state = State(j.cfg.state_dir)
    try:
        result = live.run_pass(j.cfg, state)
    finally:
        state.close()
    assert result.errors == [] and result.lines == 2


# --- failing clearly ----------------------------------------------------------------------

def test_journalctl_missing_or_failing_names_the_source(
        journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    journal.append(fails=1)
    with monkeypatch.context() as m:
        m.setenv("PATH", str(journal.tmp / "nothing-here"))
        result = journal.run_pass(errors=True)
    assert result.errors == [f"{journal.name}: journalctl not found: the journald source "
                             "needs journalctl (Debian package systemd)"]
    assert journal.cursor() is None and journal.parsed == []
    journal.file.rename(journal.tmp / "elsewhere.journal")
    result = journal.run_pass(errors=True)
    assert result.errors[0].startswith(f"{journal.name}: journalctl failed: ")
    assert journal.cursor() is None


@pytest.mark.parametrize("sources, error", [
    ('journald = true\njournal_args = ["-D/var/log/journal"]', "'-D/var/log/journal' is not"),
    ('journald = true\njournal_args = ["--directory", "/var/log/journal"]', "'--directory' is"),
    ('journald = true\njournal_args = ["--follow"]', "'--follow' is not"),
    ('journald = true\njournal_args = ["--vacuum-time=1s"]', "'--vacuum-time=1s' is not"),
    ('journald = true\njournal_args = ["--dir=/x"]', "'--dir=/x' is not"),   # no abbreviations
    ('journald = true\njournal_match = ["-f"]', "'-f' is not a journal match"),
    ('path = "/var/log/mail.log"\njournal_match = ["_HOSTNAME=mx1"]', "for journald = true"),
    ('journald = true\n[[sources]]\njournald = true\njournal_match = ["_HOSTNAME=mx1"]',
     "the same journal"),
])
def test_journal_config_is_checked(tmp_path: Path, sources: str, error: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[[sources]]\n{sources}\n")
    with pytest.raises(ConfigError, match=error):
        load_config(path)


def test_journal_config_accepts(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[sources]]\njournald = true\n'
                    'journal_args = ["--directory=/var/log/journal", "--merge"]\n'
                    'journal_match = ["SYSLOG_FACILITY=2", "+",\n'
                    '                 "_SYSTEMD_UNIT=postfix@-.service"]\n'
                    '[[sources]]\njournald = true\n')
    one, two = load_config(path).sources
    assert one.journal_args == ["--directory=/var/log/journal", "--merge"]
    assert two.journal_args == [] and two.journal_match == ["SYSLOG_FACILITY=2"]


def test_journalctl_output_in_another_format_is_an_error_not_a_quiet_server(
        tmp_path: Path) -> None:
    """A journald reviewer piped `journalctl -o json-pretty` (and export, cat, verbose)
    by mistake: exit 0, no alerts, as if the server had been quiet. An input none of
    whose lines is a log line is an error naming it; the other inputs are still read."""
    entries = [json.loads(line) for line in gzip.decompress(
        (ROOT / "sample_logs" / "postfix" / "journal.json.gz").read_bytes()).splitlines()]
    pretty = tmp_path / "pretty.json"
    pretty.write_text("".join(json.dumps(e, indent=8) + "\n" for e in entries))
    good = ROOT / "sample_logs" / "postfix" / "mail.log"
    done = subprocess.run([sys.executable, "-m", "logwatch", "detect", str(pretty), str(good)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert f"{pretty}: none of its " in done.stderr and "json-pretty" in done.stderr
    assert '"rule": "open_relay"' in done.stdout      # the good log was read all the same


def test_a_cursor_stored_with_its_auth_lines_beside_it_is_read_as_before(
        tmp_path: Path) -> None:
    """A state written before a journal's mark kept Dovecot's auth lines under `auth`
    had them beside the cursor: they are read, and written back under `auth`."""
    lenders = [["mx1", "127.0.0.21", "bob", 1772532000000000]]
    state = State(tmp_path)
    try:
        state.db.execute("INSERT INTO marks VALUES (?, ?)", ("journald:", json.dumps(
            {"journal_cursor": "s=1", "realtime_us": 5, "lenders": lenders, "refused": []})))
        (name, mark), = state.cursors().items()
        assert (name, mark.cursor, mark.realtime_us) == ("journald:", "s=1", 5)
        assert mark.auth == {"lenders": lenders, "refused": []}
        with state.commit() as db:
            State.put_cursor(db, name, mark)
        stored, = state.db.execute("SELECT mark FROM marks").fetchone()
        assert json.loads(stored) == {"journal_cursor": "s=1", "realtime_us": 5,
                                      "auth": {"lenders": lenders, "refused": []}}
        assert state.cursors()[name] == mark
    finally:
        state.close()
