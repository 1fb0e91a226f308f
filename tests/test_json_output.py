"""The JSON lines `detect` and `run` print go to terminals and cron mail: log text in
them is escaped (`\\u009b`, `\\u202e`), never written raw, and reads back unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: A SASL username with a C1 CSI (U+009B, a terminal's ESC [), a right-to-left override
#: and a left-to-right isolate, as the review's c1.log had it
USERNAME = "adm\x9b2J\x9b31m\u202eevil\u2066"
LOG = "".join(f"2026-03-03T10:50:0{s}+00:00 mx1 postfix/smtpd[40]: warning: unknown[192.0.2.55]: "
              f"SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={USERNAME}\n"
              for s in range(6))


def _mlw(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "logwatch", *args], capture_output=True,
                          cwd=ROOT, timeout=120)


def _alerts(stdout: bytes) -> list[dict]:
    assert stdout.isascii(), [c for c in stdout.decode() if not c.isascii()]
    return [json.loads(line) for line in stdout.decode("ascii").splitlines()]


def test_detect_and_run_print_log_text_escaped(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(LOG, encoding="utf-8")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path}/state"\n[[sources]]\npath = "{log}"\n'
                   '[site]\nlocal_domains = ["example.com"]\ntimezone = "UTC"\n')
    detected = _mlw("detect", str(log), "--config", str(cfg))
    ran = _mlw("run", "--config", str(cfg))
    for done in (detected, ran):
        assert done.returncode == 0, done.stderr
        (alert,) = _alerts(done.stdout)
        assert alert["rule"] == "auth_failure_burst"
        assert USERNAME in alert["summary"]                   # escaped, not altered
        assert "\\u009b2J\\u009b31m\\u202eevil\\u2066" in done.stdout.decode()


def test_parse_trace_and_report_json_print_log_text_escaped(tmp_path: Path) -> None:
    """The same for the other commands that print JSON: parse's and trace's JSON lines
    and report's JSON."""
    log = tmp_path / "mail.log"
    log.write_text(LOG, encoding="utf-8")
    parsed = _mlw("parse", str(log))
    traced = _mlw("trace", "192.0.2.55", str(log), "--format", "jsonl")
    reported = _mlw("report", str(log), "--format", "json", "--no-alerts")
    for done in (parsed, traced):
        assert done.returncode == 0, done.stderr
        rows = _alerts(done.stdout)
        assert USERNAME in {r.get("sasl_username") for r in rows}
    assert reported.returncode == 0, reported.stderr
    assert reported.stdout.isascii()
    report = json.loads(reported.stdout)
    assert [u["sasl_username"] for u in report["security"]["auth"]["by_username"]] == [USERNAME]
