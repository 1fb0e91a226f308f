"""`mail-logwatch follow` as a user runs it: a real process on a real file, alerts within
seconds of the line that completes them, metrics over HTTP, SIGHUP and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONFIG = """\
state_dir = "{dir}/state"
[site]
local_domains = ["example.com"]
trusted_networks = ["127.0.0.1/32"]
timezone = "UTC"
[[sources]]
path = "{dir}/mail.log"
{extra}
"""


def _failure(ip: str, second: int) -> str:
    return (f"2026-03-03T10:{second // 60:02d}:{second % 60:02d}+00:00 mx1 postfix/smtpd[7]: "
            f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")


class Follow:
    """A follower process and what it printed, read as it comes."""

    def __init__(self, tmp: Path, extra: str = "") -> None:
        self.dir = tmp
        self.log = tmp / "mail.log"
        self.log.touch()
        self.config = tmp / "config.toml"
        self.config.write_text(CONFIG.format(dir=tmp, extra=extra))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logwatch", "follow", "--config", str(self.config),
             "--interval", "0.3", "--metrics", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.alerts: list[tuple[float, dict]] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        self.port = int(self.wait_for_stderr("metrics on port").rsplit(" ", 1)[1])

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.alerts.append((time.monotonic(), json.loads(line)))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))

    def wait_for_stderr(self, text: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hit = next((line for line in self.stderr if text in line), None)
            if hit:
                return hit
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} on stderr: {self.stderr}")

    def wait_for_alerts(self, n: int, timeout: float = 10) -> list[tuple[float, dict]]:
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.alerts) < n:
            time.sleep(0.02)
        return self.alerts

    def append(self, text: str) -> float:
        with open(self.log, "a") as fh:
            fh.write(text)
        return time.monotonic()

    def metrics(self) -> dict[str, float]:
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read()
        out = {}
        for line in body.decode().splitlines():
            if line.startswith("mail_logwatch") and "_created" not in line:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture()
def follow(tmp_path: Path):  # type: ignore[no-untyped-def]
    f = Follow(tmp_path)
    yield f
    if f.proc.poll() is None:
        f.proc.kill()
        f.proc.wait()


def test_an_alert_leaves_within_seconds_and_once(follow: Follow) -> None:
    follow.append("".join(_failure("203.0.113.45", s) for s in range(4)))
    time.sleep(1.0)
    assert follow.alerts == []                               # four are no burst
    written = follow.append(_failure("203.0.113.45", 4))     # the fifth completes it
    (at, alert), = follow.wait_for_alerts(1)
    assert alert["rule"] == "auth_failure_burst" and alert["count"] == 5
    assert at - written < 5.0
    follow.append("".join(_failure("203.0.113.45", s) for s in range(5, 8)))
    time.sleep(1.5)
    assert len(follow.alerts) == 1                           # the same incident goes on


def test_metrics_count_what_was_read(follow: Follow) -> None:
    follow.append("".join(_failure("203.0.113.46", s) for s in range(6)))
    follow.append("2026-03-03T10:00:09+00:00 mx1 postfix/smtpd[7]: something new entirely\n")
    follow.wait_for_alerts(1)
    time.sleep(0.8)
    m = follow.metrics()
    assert m["mail_logwatch_lines_read_total"] == 7
    assert m['mail_logwatch_events_total{event="auth_failure"}'] == 6
    assert m["mail_logwatch_unknown_lines_total"] == 1
    assert m['mail_logwatch_alerts_total{rule="auth_failure_burst",severity="low"}'] == 1
    assert m["mail_logwatch_outbox_pending"] == 0 and m["mail_logwatch_passes_total"] >= 2
    # what a pass's cost grows with: the six failures are held for the rules' windows
    assert m["mail_logwatch_held_rows"] >= 6 and 0 < m["mail_logwatch_pass_seconds"] < 5


def test_sigterm_finishes_and_commits_then_a_cron_run_reads_nothing_again(
        follow: Follow) -> None:
    follow.append("".join(_failure("203.0.113.47", s) for s in range(6)))
    follow.wait_for_alerts(1)
    assert follow.stop() == 0
    run = subprocess.run([sys.executable, "-m", "logwatch", "run", "--config",
                          str(follow.config)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert run.returncode == 0 and run.stdout == "", run.stderr


def test_a_follower_killed_between_checkpoints_loses_nothing_and_tells_nothing_twice(
        follow: Follow) -> None:
    """The follower writes its state every CHECKPOINT_S only: killed before that, the
    next run reads again what it had read, and the ledger knows what was told."""
    follow.append("".join(_failure("203.0.113.60", s) for s in range(6)))
    (_, told), = follow.wait_for_alerts(1)
    follow.append("".join(_failure("203.0.113.61", s) for s in range(3)))
    time.sleep(1.0)                                      # read, judged no burst yet
    follow.proc.kill()
    follow.proc.wait()
    follow.append("".join(_failure("203.0.113.61", s) for s in range(3, 5)))
    run = subprocess.run([sys.executable, "-m", "logwatch", "run", "--config",
                          str(follow.config)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    alerts = [json.loads(line) for line in run.stdout.splitlines()]
    # the burst across the kill is one burst of five; the one told before is not again
    assert [(a["key"], a["count"], a["notice"]) for a in alerts] == [
        ({"client_ip": "203.0.113.61"}, 5, "new")]
    from logwatch.state import State
    state = State(follow.dir / "state")
    try:
        entry = state.ledger("auth_failure_burst", json.dumps({"client_ip": "203.0.113.60"}))
    finally:
        state.close()
    assert entry is not None and (entry.alert_id, entry.alerted_count) == (told["id"], 6)


def test_a_follower_killed_before_its_first_checkpoint_loses_nothing_to_a_rotation(
        follow: Follow) -> None:
    """A fresh state: four failures read, the follower killed well within CHECKPOINT_S,
    the log rotated and three more written. The next run starts from the mark the first
    pass left, reads the rotated file and the new one, and finds the burst of seven."""
    follow.append("".join(_failure("203.0.113.62", s) for s in range(4)))
    end = time.monotonic() + 10
    while follow.metrics().get("mail_logwatch_lines_read_total", 0) < 4:
        assert time.monotonic() < end, follow.stderr
        time.sleep(0.1)
    # the first checkpoint, due at once, is written by a thread of its own: on a loaded
    # machine the kill came before it was committed, and with no mark at all the run
    # rightly read only the live file (CI, once)
    from logwatch.state import State
    while True:
        state = State(follow.dir / "state")
        try:
            if str(follow.log) in state.marks():
                break
        finally:
            state.close()
        assert time.monotonic() < end, follow.stderr
        time.sleep(0.1)
    follow.proc.kill()
    follow.proc.wait()
    follow.log.rename(follow.dir / "mail.log.1")
    follow.log.write_text("".join(_failure("203.0.113.62", s) for s in range(4, 7)))
    run = subprocess.run([sys.executable, "-m", "logwatch", "run", "--config",
                          str(follow.config)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert [(a["key"], a["count"]) for a in map(json.loads, run.stdout.splitlines())] == [
        ({"client_ip": "203.0.113.62"}, 7)]


def test_sighup_reloads_the_config(follow: Follow) -> None:
    follow.config.write_text(CONFIG.format(dir=follow.dir, extra=(
        "[rules.auth_failure_burst]\nthreshold = 2\n")))
    follow.proc.send_signal(signal.SIGHUP)
    follow.wait_for_stderr("config reloaded")
    follow.append("".join(_failure("203.0.113.48", s) for s in range(2)))
    (_, alert), = follow.wait_for_alerts(1)
    assert alert["count"] == 2


def test_a_broken_config_on_sighup_keeps_the_old_one(follow: Follow) -> None:
    follow.config.write_text("state_dir = [\n")
    follow.proc.send_signal(signal.SIGHUP)
    follow.wait_for_stderr("config not reloaded")
    follow.append("".join(_failure("203.0.113.49", s) for s in range(5)))
    assert len(follow.wait_for_alerts(1)) == 1 and follow.proc.poll() is None


def test_truncation_while_following_loses_nothing(follow: Follow) -> None:
    """copytruncate under a running follower: the lines written before the truncation
    that it had not read yet come from the copy; the burst spans both files."""
    follow.append("".join(_failure("203.0.113.50", s) for s in range(2)))
    time.sleep(0.8)
    copy = follow.log.with_name("mail.log.1")
    copy.write_bytes(follow.log.read_bytes() + _failure("203.0.113.50", 2).encode())
    os.truncate(follow.log, 0)
    follow.append("".join(_failure("203.0.113.50", s) for s in range(3, 5)))
    (_, alert), = follow.wait_for_alerts(1)
    assert alert["count"] == 5


def test_a_rule_file_saved_broken_is_said_and_the_follower_goes_on(follow: Follow) -> None:
    """Rules are read each pass: a typo saved in rules.d must not end the follower."""
    rules = follow.dir / "rules.d"
    rules.mkdir()
    follow.config.write_text('rule_dirs = ["rules.d"]\n' + follow.config.read_text())
    follow.proc.send_signal(signal.SIGHUP)
    follow.wait_for_stderr("config reloaded")
    (rules / "local.toml").write_text("[[rule]]\nid = \"oops\"\n")
    follow.wait_for_stderr("local.toml")
    assert follow.proc.poll() is None
    (rules / "local.toml").unlink()
    follow.append("".join(_failure("203.0.113.51", s) for s in range(5)))
    (_, alert), = follow.wait_for_alerts(1)
    assert alert["key"] == {"client_ip": "203.0.113.51"}
    errors = [line for line in follow.stderr if "local.toml" in line]
    assert len(errors) == 1, errors                  # said once, not once a pass


SITE_RULE = """\
[[rule]]
id = "two_failures"
title = "Two failed logins"
kind = "threshold"
severity = "high"
description = "A site's own rule."
group_by = ["client_ip"]
threshold = 2
window = "10m"
summary = "$count failures from $client_ip"
[rule.where]
event = "auth_failure"
"""


def test_a_rule_file_saved_broken_keeps_the_rules_loaded_before(follow: Follow) -> None:
    """All detection stopped until the file was fixed: every pass failed on it. Now the
    rules of the last pass go on, the site's own among them, and the error is said once."""
    rules = follow.dir / "rules.d"
    rules.mkdir()
    (rules / "local.toml").write_text(SITE_RULE)
    follow.config.write_text('rule_dirs = ["rules.d"]\n' + follow.config.read_text())
    follow.proc.send_signal(signal.SIGHUP)
    follow.wait_for_stderr("config reloaded")
    follow.append("".join(_failure("203.0.113.54", s) for s in range(2)))
    (_, alert), = follow.wait_for_alerts(1)
    assert (alert["rule"], alert["key"]) == ("two_failures", {"client_ip": "203.0.113.54"})
    (rules / "local.toml").write_text(SITE_RULE.replace("threshold = 2", 'threshold = "two"')
                                      .replace('window = "10m"', 'window = "ten"'))
    follow.wait_for_stderr("kept until it is fixed")
    # one line per field, as check-config says them, not one line joined by \x0a
    said = "".join(follow.stderr)
    assert "local.toml line 8: rule 'two_failures', field threshold" in said, said
    assert "local.toml line 9: rule 'two_failures', field window" in said, said
    assert "\\x0a" not in said
    follow.append("".join(_failure("203.0.113.55", 60 + s) for s in range(2)))
    alerts = follow.wait_for_alerts(2)
    assert [(a["rule"], a["key"]["client_ip"]) for _, a in alerts[1:]] == [
        ("two_failures", "203.0.113.55")]
    assert follow.proc.poll() is None
    assert len([line for line in follow.stderr if "kept until" in line]) == 1, follow.stderr


def test_a_second_follower_stands_aside_before_taking_the_metrics_port(
        follow: Follow) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "logwatch", "follow", "--config", str(follow.config),
         "--metrics", f"127.0.0.1:{follow.port}"],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert second.returncode == 0 and "another run holds" in second.stderr, second.stderr
    assert "Traceback" not in second.stderr


def test_every_different_note_is_said_and_repeats_are_not() -> None:
    from logwatch.commands.follow import _Fresh
    fresh = _Fresh(again=600)
    lost = "/var/log/mail.log: the file read up to byte 120 was not found again"
    assert fresh(["/var/log/mail.log: year from the clock", lost]) == [
        "/var/log/mail.log: year from the clock", lost]
    assert fresh([lost.replace("120", "4096"), "journald: cursor refused"]) == [
        "journald: cursor refused"]
    # a loss of lines is news each time, whatever its numbers
    gone = ("/var/log/mail.log: the file read up to byte 120 was not found again (rotated "
            "elsewhere, or rewritten): its lines after that are lost; reading on")
    assert fresh([gone]) == [gone]
    assert fresh([gone.replace("120", "4096")]) == [gone.replace("120", "4096")]
    assert fresh([gone]) == []


#: what makes a reloaded config unusable only once its rules or destinations are built,
#: each with the rule disabled: an alert after the reload shows the old config in force
_UNBUILDABLE = {
    "missing_rule_dir": ('rule_dirs = ["nope.d"]\n', "",
                         "config.toml line 1: field rule_dirs: rule directory "),
    "refused_notify_url": ("", '[notify]\nurls = ["slak://TokA/TokB/TokC"]\n',
                           "config.toml line 9: field notify.urls[0]: slak ("),
}


@pytest.mark.parametrize("case", sorted(_UNBUILDABLE))
def test_a_config_whose_rules_or_destinations_fail_on_sighup_keeps_the_old_one(
        follow: Follow, case: str) -> None:
    """Loading the TOML is not enough: the follower said "config reloaded", then failed
    every pass on the missing directory (no alert ever again) or exited 2 on the URL."""
    top, extra, named = _UNBUILDABLE[case]
    follow.config.write_text(top + CONFIG.format(dir=follow.dir, extra=(
        extra + "[rules.auth_failure_burst]\nenabled = false\n")))
    follow.proc.send_signal(signal.SIGHUP)
    said = follow.wait_for_stderr("config not reloaded")
    assert named in said, said
    follow.append("".join(_failure("203.0.113.52", s) for s in range(7)))
    (_, alert), = follow.wait_for_alerts(1)
    assert (alert["rule"], alert["count"]) == ("auth_failure_burst", 7)
    assert follow.proc.poll() is None
    assert not any("config reloaded" in line for line in follow.stderr)
    assert not any("Tok" in line for line in follow.stderr), follow.stderr
    # fixed and sent SIGHUP again, the new config is taken
    follow.config.write_text(CONFIG.format(dir=follow.dir, extra=(
        "[rules.auth_failure_burst]\nthreshold = 2\n")))
    follow.proc.send_signal(signal.SIGHUP)
    follow.wait_for_stderr("config reloaded")
    follow.append("".join(_failure("203.0.113.53", s) for s in range(2)))
    assert [a["count"] for _, a in follow.wait_for_alerts(2)] == [7, 2]
    assert follow.stop() == 0


@pytest.mark.parametrize("case", sorted(_UNBUILDABLE))
def test_a_follower_will_not_start_on_a_config_it_could_not_use(
        tmp_path: Path, case: str) -> None:
    top, extra, named = _UNBUILDABLE[case]
    config = tmp_path / "config.toml"
    config.write_text(top + CONFIG.format(dir=tmp_path, extra=extra))
    (tmp_path / "mail.log").touch()
    done = subprocess.run([sys.executable, "-m", "logwatch", "follow", "--config",
                           str(config)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Tok" not in done.stderr
    assert not (tmp_path / "state").exists()


def test_a_metrics_port_in_use_is_named_and_nothing_is_followed(tmp_path: Path) -> None:
    """EADDRINUSE (and EADDRNOTAVAIL, an unresolvable name) ended in a traceback and
    exit 1; now exit 2 with the option named, before the first pass reads a line."""
    log = tmp_path / "mail.log"
    log.write_text("".join(_failure("203.0.113.54", s) for s in range(5)))
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(dir=tmp_path, extra=""))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        where = f"127.0.0.1:{taken.getsockname()[1]}"
        done = subprocess.run([sys.executable, "-m", "logwatch", "follow", "--config",
                               str(config), "--metrics", where],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"mail-logwatch: --metrics {where}: cannot listen: "), \
        done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    run = subprocess.run([sys.executable, "-m", "logwatch", "run", "--config", str(config)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert [json.loads(line)["count"] for line in run.stdout.splitlines()] == [5], run.stderr


@pytest.mark.parametrize("interval", ["nan", "inf", "0", "-1", "soon"])
def test_the_interval_is_a_positive_finite_number(tmp_path: Path, interval: str) -> None:
    """`nan` was taken, and every pass then started at once, without a pause."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(dir=tmp_path, extra=""))
    done = subprocess.run([sys.executable, "-m", "logwatch", "follow", "--config",
                           str(config), f"--interval={interval}"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "argument --interval" in done.stderr, done.stderr
    assert not (tmp_path / "state").exists()


def test_a_follower_says_why_alerts_wait_in_the_outbox(tmp_path: Path) -> None:
    """An adversarial reviewer's webhook never answered: a follower said nothing for
    150 s while 164 alerts waited (run says why). It says so, as run does, once."""
    with socket.socket() as s:              # a port nobody listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = Follow(tmp_path, extra=f'[notify]\nurls = ["json://127.0.0.1:{port}/hook"]\n'
                                'retry_after = 600\ndigest_every = 0\n')
    try:
        f.append("".join(_failure("203.0.113.7", s) for s in range(6)))
        said = f.wait_for_stderr("alert waits in the outbox")
        assert said.startswith("mail-logwatch: note: 1 alert waits in the outbox: json")
        assert "Connection error" in said and "127.0.0.1" in said
        time.sleep(1.5)                      # more passes: said once
        assert sum("in the outbox" in line for line in f.stderr) == 1
        assert f.stop() == 0
    finally:
        if f.proc.poll() is None:
            f.proc.kill()
            f.proc.wait()
