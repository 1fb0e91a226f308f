"""The rotation and crash matrix of cron mode (issue 4), end to end: Postfix lines
appended to a real file, rotated for real by `logrotate -f` with the config a site would
have, read by `run_pass` (in-process, instrumented) or by `mail-logwatch run` (a real
process, killed for real in one case).

Every line carries a marker (its own Postfix pid), and what every case checks is the
same: each line written is parsed exactly once over all the passes, in order; the rules
saw each auth failure exactly once (in the pass's events and in the stored history); and
the burst spread over the passes alerts exactly once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import logwatch.live as live
from logwatch.commands.run import run_lock
from logwatch.config import load_config
from logwatch.live import PassResult
from logwatch.sources.rotation import rotation_key
from logwatch.state import State
from tests.live_checks import ATTACKER, LiveChecks

ROOT = Path(__file__).resolve().parent.parent
LOGROTATE = shutil.which("logrotate") or next(
    (p for p in ("/usr/sbin/logrotate", "/sbin/logrotate") if os.access(p, os.X_OK)), None)


#: logrotate directives per mode (besides `rotate 5`, `missingok`)
MODES = {
    "create": ["create"],
    "nocreate": ["nocreate"],
    "copytruncate": ["copytruncate"],
    "compress": ["create", "compress"],
    "delaycompress": ["create", "compress", "delaycompress"],
    "copytruncate-compress": ["copytruncate", "compress"],
    "dateext": ["create", "dateext", "dateformat -%Y%m%d-%s"],
    "dateext-compress": ["create", "dateext", "dateformat -%Y%m%d-%s", "compress"],
}


@pytest.fixture
def logrotate() -> str:
    if LOGROTATE is None:
        pytest.fail("logrotate is not installed: run make debs (apt-get install logrotate)")
    return LOGROTATE


class Site(LiveChecks):
    """A mail server's log, its logrotate config, a mail-logwatch config and state, and
    what was written and what each pass parsed."""

    def __init__(self, tmp_path: Path, logrotate: str, mode: str = "create") -> None:
        self.tmp = tmp_path
        self.logrotate = logrotate
        self.dir = tmp_path / "log"
        self.dir.mkdir(mode=0o755)                 # not 0777: logrotate refuses that
        os.chmod(self.dir, 0o755)
        self.log = self.dir / "mail.log"
        self.state_dir = tmp_path / "state"
        self.config = tmp_path / "config.toml"
        self.config.write_text(
            f'state_dir = "{self.state_dir}"\n'
            '[site]\nlocal_domains = ["example.com"]\ntrusted_networks = ["127.0.0.1/32"]\n'
            'timezone = "UTC"\n'
            f'[[sources]]\npath = "{self.log}"\n'
            '[notify]\nurls = []\n')
        self.cfg = load_config(self.config)
        self.lr_conf = tmp_path / "logrotate.conf"
        self.set_mode(mode)
        self.pid = 1000
        self.second = 0
        self.written: list[int] = []               # pids, in the order written
        self.failures: list[int] = []
        self.parsed: list[int] = []                # pids parsed by the passes that committed
        self.rules_saw: list[int] = []             # auth failures among the rules' events
        self.passes: list[PassResult] = []
        self._pass_parsed: list[int] = []
        self._pass_kept: list[int] = []
        self.last_rotation = 0.0

    # -- writing -------------------------------------------------------------------------
    def _stamp(self) -> str:
        self.second += 5
        return f"2026-03-03T10:{self.second // 60:02d}:{self.second % 60:02d}+00:00"

    def line(self, kind: str, extra: bytes = b"") -> bytes:
        self.pid += 1
        self.written.append(self.pid)
        head = f"{self._stamp()} mx1 postfix/".encode()
        if kind == "fail":
            self.failures.append(self.pid)
            return head + (f"submission/smtpd[{self.pid}]: warning: unknown[{ATTACKER}]: SASL "
                           "LOGIN authentication failed: (reason unavailable), "
                           "sasl_username=admin").encode() + extra
        n = self.pid % 250 + 1
        return head + (f"smtpd[{self.pid}]: connect from mail{n}.example.net"
                       f"[192.0.2.{n}]").encode() + extra

    def write(self, fails: int = 0, noise: int = 0, extra: bytes = b"") -> None:
        lines = [self.line("noise", extra) for _ in range(noise)]
        lines += [self.line("fail", extra) for _ in range(fails)]
        with open(self.log, "ab") as fh:
            fh.write(b"".join(x + b"\n" for x in lines))

    # -- rotating ------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode
        body = "\n".join(f"    {d}" for d in ["rotate 5", "missingok", *MODES[mode]])
        self.lr_conf.write_text(f"{self.log} {{\n{body}\n}}\n")
        os.chmod(self.lr_conf, 0o644)              # group/world-writable: silently ignored

    def rotate(self) -> None:
        if "dateext" in self.mode:                 # one rotation per second with -%s names
            wait = self.last_rotation + 1.05 - time.time()
            if wait > 0:
                time.sleep(wait)
        before = sorted(p.name for p in self.dir.iterdir())
        r = subprocess.run([self.logrotate, "-f", "-s", str(self.tmp / "logrotate.state"),
                            str(self.lr_conf)], capture_output=True, text=True)
        self.last_rotation = time.time()
        assert r.returncode == 0 and "error" not in r.stderr, r.stderr
        assert sorted(p.name for p in self.dir.iterdir()) != before, "nothing rotated"

    # -- reading -------------------------------------------------------------------------
    def instrument(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Record the pid of every row parsed (every line: `read_source`'s tables) of the
        sources a pass accepted (a read raced by a rotation is dropped and read again, so
        it does not count), and of every auth failure the rules are given."""
        real_read, real_sources = live.read_source, live._read_sources
        read: list[tuple[str, list[int]]] = []

        def read_source(plan, *args, **kwargs) -> Iterator[pa.Table]:  # type: ignore[no-untyped-def]
            for table in real_read(plan, *args, **kwargs):
                read.append((rotation_key(plan.name)[0], table.column("pid").to_pylist()))
                yield table

        def read_sources(*args, **kwargs):  # type: ignore[no-untyped-def]
            read.clear()
            got = real_sources(*args, **kwargs)
            self._pass_parsed += [p for source, pids in read if source in got.marks
                                  for p in pids]
            for t in got.events:
                rows = t.filter(pa.compute.equal(t.column("client_ip"), ATTACKER))
                self._pass_kept += rows.column("pid").to_pylist()
            return got

        monkeypatch.setattr(live, "read_source", read_source)
        monkeypatch.setattr(live, "_read_sources", read_sources)

    def run_pass(self, dry_run: bool = False) -> PassResult:
        """One cron run in-process; what it parsed counts only if it committed."""
        self._pass_parsed, self._pass_kept = [], []
        state = State(self.cfg.state_dir)
        try:
            result = live.run_pass(self.cfg, state, dry_run=dry_run)
        finally:
            state.close()
        assert result.errors == []
        if not dry_run:
            self.parsed += self._pass_parsed
            self.rules_saw += self._pass_kept
            self.passes.append(result)
        return result

    def cli(self, *args: str, env: dict[str, str] | None = None,
            code: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "logwatch"]
        return subprocess.run([*cmd, "run", "--config", str(self.config), *args],
                              capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                              timeout=60)

    # -- checking ------------------------------------------------------------------------
    def check_once(self) -> None:
        """And no read was lost to a rotation it could not follow."""
        super().check_once()
        for r in self.passes:
            assert not [w for w in r.warnings if "not found again" in w], r.warnings

@pytest.fixture
def site(tmp_path: Path, logrotate: str, monkeypatch: pytest.MonkeyPatch) -> Site:
    s = Site(tmp_path, logrotate)
    s.instrument(monkeypatch)
    return s


# --- the matrix: a burst over three runs, rotated between them ----------------------------

@pytest.mark.parametrize("mode", list(MODES))
def test_burst_over_three_runs_through_rotations(site: Site, mode: str) -> None:
    """2 + 2 + 2 failures in three cron runs; one rotation before the second run, two
    before the third (the data of run 3 spans three files); then more of the burst, and a
    run with nothing new. The burst alerts once, when its fifth failure is read."""
    site.set_mode(mode)
    site.write(noise=3, fails=2)                   # a small file (a weak mark)
    assert site.run_pass().alerts == []
    site.write(fails=1)
    site.rotate()
    site.write(fails=1, noise=2)
    assert site.run_pass().alerts == []
    site.write(fails=1)
    site.rotate()
    site.write(noise=8)                            # a file larger than the 1 KiB head
    site.rotate()
    site.write(fails=1)
    site.run_pass()
    site.write(fails=2, noise=1)
    site.run_pass()
    assert site.run_pass().lines == 0
    site.check_once()
    site.check_one_alert(in_pass=2)


def test_empty_log_at_the_first_run_then_two_rotations(site: Site) -> None:
    """The weakest mark: the log was empty when first read (nothing to recognise it by,
    and its inode is handed out again after a delaycompress step)."""
    site.set_mode("delaycompress")
    site.log.touch()
    site.run_pass()
    time.sleep(0.02)                               # runs are minutes apart, file clocks coarse
    site.write(fails=3)
    site.rotate()
    site.write(fails=3, noise=8)
    site.rotate()
    site.write(noise=1)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=1)


def test_empty_log_after_a_rotation_then_two_rotations(site: Site) -> None:
    """A run right after a rotation finds the live log empty; two more rotations
    (delaycompress) before the next run."""
    site.set_mode("delaycompress")
    site.write(noise=2, fails=1)
    site.run_pass()
    site.write(fails=1)
    site.rotate()
    site.run_pass()                                # the rest of .1; the live log is empty
    site.write(fails=2)
    site.rotate()
    site.write(fails=2, noise=8)
    site.rotate()
    site.write(noise=1)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=2)


def test_missing_log_nocreate_then_created_and_rotated_again(site: Site) -> None:
    """nocreate: a run while the log does not exist, then the writer creates it and it
    is rotated again before the next run."""
    site.set_mode("nocreate")
    site.write(noise=2, fails=2)
    site.run_pass()
    site.write(fails=1)
    site.rotate()
    assert not site.log.exists()
    site.run_pass()
    site.write(fails=2, noise=1)
    site.rotate()
    site.write(noise=1)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=2)


def test_partial_last_line_across_runs(site: Site) -> None:
    """A line being written is read once it is whole."""
    site.write(fails=2, noise=1)
    whole = site.line("fail") + b"\n"
    done = 0
    for cut in (40, 41, 120, len(whole)):
        with open(site.log, "ab") as fh:
            fh.write(whole[done:cut])
        done = cut
        site.run_pass()
        assert site.parsed == (site.written if cut == len(whole) else site.written[:-1])
    site.write(fails=2)
    site.run_pass()
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=4)


def test_writer_still_writing_to_the_rotated_file(site: Site) -> None:
    """Debian's rsyslog rotation (create, compress, delaycompress, postrotate HUP): until
    the HUP, syslog writes to the renamed `.1`. A run in between reads `.1` and an empty
    live log; the lines added to `.1` after it are read by the next run."""
    site.set_mode("delaycompress")
    site.write(noise=3, fails=2)
    site.run_pass()
    with open(site.log, "ab") as syslog:           # the writer's open file
        syslog.write(site.line("fail") + b"\n")
        syslog.flush()
        site.rotate()
        syslog.write(site.line("noise") + b"\n")
        syslog.flush()
        site.run_pass()
        syslog.write(site.line("fail") + b"\n")
        syslog.write(site.line("noise") + b"\n")
    site.write(fails=2)                            # after the HUP, to the new file
    site.run_pass()
    site.rotate()                                  # .1 -> .2.gz
    site.write(noise=1)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=2)


def test_partial_last_line_of_a_rotated_file(site: Site) -> None:
    """A rotated file is finished: its last line counts even without a newline."""
    site.set_mode("compress")
    site.write(fails=3)
    site.run_pass()
    with open(site.log, "ab") as fh:
        fh.write(site.line("fail"))                # never finished
    site.rotate()
    site.write(fails=1)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=1)


def test_non_utf8_bytes(site: Site) -> None:
    """pygtail#48: bytes that are not UTF-8 neither stop a run nor shift an offset."""
    site.set_mode("compress")
    site.write(noise=2, extra=b" \xff\xfe latin-1 caf\xe9")
    site.write(fails=2, extra=b" \xd0")
    site.run_pass()
    site.write(noise=1, extra=b" \xe2\x82")        # half a UTF-8 character ends the line
    site.rotate()
    site.write(fails=3, extra=b" \x80\x81")
    site.run_pass()
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=1)


# --- rotation while a run reads -----------------------------------------------------------

@pytest.mark.parametrize("mode", ["copytruncate", "create", "compress"])
def test_rotated_while_a_run_reads(site: Site, monkeypatch: pytest.MonkeyPatch,
                                   mode: str) -> None:
    """logrotate runs (copytruncate: the file being read is truncated under the reader)
    after the run has read the live file and before it commits; the writer goes on at
    once. Nothing of the old file's rest or of the new file is lost or read twice."""
    site.set_mode(mode)
    site.write(noise=10, fails=1)
    site.run_pass()
    site.write(fails=2)
    recording = live.read_source
    done = []

    def rotate_after_reading(plan, *args, **kwargs):
        yield from recording(plan, *args, **kwargs)
        if plan.name == str(site.log) and not done:
            done.append(1)
            site.write(fails=1)                    # after the plan, before the rotation
            site.rotate()
            site.write(noise=1, fails=1)

    monkeypatch.setattr(live, "read_source", rotate_after_reading)
    site.run_pass()
    assert done
    site.write(noise=1)
    site.run_pass()
    site.write(fails=1, noise=12)                  # the new file grows past the old offset
    site.run_pass()
    site.check_once()
    site.check_one_alert()


# --- crashes --------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["put_mark", "put_blob", "put_ledger"])
def test_crash_between_reading_and_committing(site: Site, monkeypatch: pytest.MonkeyPatch,
                                              where: str) -> None:
    """A run dies inside the commit (SystemExit raised from the transaction, as a kill
    would leave it: nothing of it written). The next run, after a rotation, reads the
    same lines again and raises the alert, once."""
    site.set_mode("compress")
    site.write(fails=3, noise=2)
    site.run_pass()
    site.write(fails=3)
    real = getattr(State, where)

    def die(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(State, where, staticmethod(die))
    with pytest.raises(SystemExit):
        site.run_pass()
    monkeypatch.setattr(State, where, real)
    site.rotate()
    site.write(noise=1)
    site.run_pass()
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=1)


KILL_IN_COMMIT = """
import os, signal, sys
from logwatch.state import State
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
State.{where} = staticmethod(die)
from logwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("where", ["put_correlation", "put_ledger"])
def test_kill_9_inside_the_commit(tmp_path: Path, logrotate: str, where: str) -> None:
    """`mail-logwatch run` SIGKILLed in the middle of its transaction (some of it written
    to the WAL, not committed); the next run reads the same lines again, through a
    rotation, and prints the alert once; the run after it prints nothing."""
    site = Site(tmp_path, logrotate, "delaycompress")
    site.write(fails=2, noise=2)
    r = site.cli()
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    site.write(fails=3)
    r = site.cli(code=KILL_IN_COMMIT.format(where=where))
    assert r.returncode == -9, r.stderr
    assert r.stdout == ""                          # killed before it printed anything
    site.rotate()
    site.write(noise=1)
    r = site.cli()
    assert r.returncode == 0, r.stderr
    alerts = [line for line in r.stdout.splitlines() if line]
    assert len(alerts) == 1 and '"rule": "auth_failure_burst"' in alerts[0] \
        and '"notice": "new"' in alerts[0] and '"count": 5' in alerts[0], r.stdout
    r = site.cli()
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    state = State(site.cfg.state_dir)
    try:
        assert state.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert state.db.execute("SELECT count(*) FROM ledger").fetchone() == (1,)
    finally:
        state.close()
    assert sorted(site.history_failures()) == site.failures


# --- through the real command -----------------------------------------------------------

def test_cli_runs_dry_run_and_rotation(tmp_path: Path, logrotate: str) -> None:
    """Cron runs of `mail-logwatch run` with a compressing logrotate between them:
    --dry-run shows the alert and moves nothing; the real run prints it once."""
    site = Site(tmp_path, logrotate, "compress")
    site.write(fails=3, noise=1)
    r = site.cli("--quiet")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    site.write(fails=1)
    site.rotate()
    site.write(fails=1)
    for _ in range(2):                             # a dry run changes nothing
        r = site.cli("--dry-run")
        assert r.returncode == 0 and r.stdout.count('"notice": "new"') == 1, r.stderr
    r = site.cli()
    assert r.returncode == 0 and r.stdout.count('"notice": "new"') == 1, r.stderr
    assert '"count": 5' in r.stdout
    r = site.cli()
    assert (r.returncode, r.stdout) == (0, ""), r.stderr


def test_second_run_finds_the_lock_held(tmp_path: Path, logrotate: str) -> None:
    site = Site(tmp_path, logrotate)
    site.write(fails=5)
    with run_lock(site.cfg) as held:
        assert held
        r = site.cli()
    assert r.returncode == 0 and r.stdout == ""
    assert "another run holds" in r.stderr and "run.lock" in r.stderr
    state = State(site.cfg.state_dir)
    try:
        assert state.marks() == {}                 # it read nothing
    finally:
        state.close()
    r = site.cli()                                 # the lock is free again
    assert r.returncode == 0 and r.stdout.count('"notice": "new"') == 1, r.stderr


def test_evidence_lines_are_the_burst(site: Site) -> None:
    """The alert's evidence is read back from the files by offset: after a rotation the
    lines must still be the burst's own."""
    site.set_mode("create")
    site.write(fails=3, noise=2)
    site.run_pass()
    site.rotate()
    site.write(noise=6)
    site.write(fails=2)
    site.run_pass()
    alert = site.check_one_alert(in_pass=1)
    assert alert["evidence"], alert
    for ev in alert["evidence"]:
        assert ev["line"] is not None and "authentication failed" in ev["line"] \
            and ATTACKER in ev["line"], alert["evidence"]



def test_a_rotation_that_cannot_be_opened_waits_for_the_next_run(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """mail.log.1 unreadable for one run (a permission slip, an NFS hiccup): that run
    says so and keeps its mark; the next run reads it. Nothing is skipped."""
    site.write(fails=3)
    site.run_pass()
    site.write(fails=3)
    site.rotate()
    site.write(noise=2)
    real = live.plan_sources

    def unopenable(names, options):  # type: ignore[no-untyped-def]
        if names[0].endswith(".1"):
            return [], [f"{names[0]}: cannot open: Permission denied"]
        return real(names, options)

    monkeypatch.setattr(live, "plan_sources", unopenable)
    state = State(site.cfg.state_dir)
    try:
        failed = live.run_pass(site.cfg, state)
    finally:
        state.close()
    assert failed.errors and failed.alerts == []
    monkeypatch.setattr(live, "plan_sources", real)
    site.run_pass()
    site.check_once()
    site.check_one_alert(in_pass=1)


def test_the_lag_is_that_of_every_line_not_only_those_the_rules_keep(site: Site) -> None:
    site.write(noise=3)
    result = site.run_pass()
    assert result.lines == 3 and result.newest_us is not None


def test_a_digest_spans_its_alerts_as_instants_not_as_text() -> None:
    payloads = [{"id": "a", "rule": "relay_probe", "severity": "low", "count": 1,
                 "summary": "s", "first_seen": "2026-03-03T10:00:00.500000Z",
                 "last_seen": "2026-03-03T10:00:00Z"},
                {"id": "b", "rule": "relay_probe", "severity": "low", "count": 1,
                 "summary": "s", "first_seen": "2026-03-03T10:00:00Z",
                 "last_seen": "2026-03-03T10:00:00.500000Z"}]
    digest = live._digest(payloads, "2 low-severity alerts")
    assert digest["first_seen"] == "2026-03-03T10:00:00Z"
    assert digest["last_seen"] == "2026-03-03T10:00:00.500000Z"


def test_a_repeat_summary_at_the_top_of_a_run_repeats_the_last_line_of_the_one_before(
        site: Site) -> None:
    """sysklogd writes `last message repeated N times` only when the next message comes,
    so in cron or follow mode it is often the first line a run reads: it stands for the
    last line of the run before, N more times (five failures: one alert)."""
    site.write(fails=1)
    site.run_pass()
    with open(site.log, "ab") as fh:
        fh.write(f"{site._stamp()} mx1 last message repeated 4 times\n".encode())
    site.run_pass()
    (alert,) = site.alerts()
    assert alert["rule"] == "auth_failure_burst" and alert["count"] == 5
