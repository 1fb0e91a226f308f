"""Sources that hold the same lines (Debian's rsyslog writes mail to mail.log and to
syslog; a second name for one file) are said, by `check-config` and by the first `run`
that reads them: every line of theirs would count twice. Lines of sample_logs/."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from logwatch.config import load_config
from logwatch.live import run_pass
from logwatch.sources.overlap import overlap_warnings, shared_lines
from logwatch.state import State
from tests.conftest import ROOT

MAIL = (ROOT / "sample_logs/postfix/mail.log").read_text().splitlines(keepends=True)[:200]
#: what else a Debian syslog holds, between the mail lines
OTHER = "Mar  3 {:02d}:{:02d}:00 mx1 systemd[1]: Started session {} of user root.\n"


def _syslog() -> str:
    """The mail lines with other programs' lines between them, as /var/log/syslog."""
    return "".join(line + OTHER.format(1 + i // 60, i % 60, i) for i, line in enumerate(MAIL))


def test_mail_log_and_syslog_share_their_mail_lines(tmp_path: Path) -> None:
    mail, syslog, other = tmp_path / "mail.log", tmp_path / "syslog", tmp_path / "mx2.log"
    mail.write_text("".join(MAIL))
    syslog.write_text(_syslog())
    other.write_text("".join(line.replace(" mx1 ", " mx2 ") for line in MAIL))
    assert shared_lines([str(mail), str(syslog), str(other)]) == [
        (str(mail), str(syslog), len(set(MAIL)))]
    link = tmp_path / "maillog"
    os.symlink(mail, link)
    assert [w.split(" hold ")[0] for w in overlap_warnings([str(mail), str(link)])] == [
        f"{mail} and {link}"]


def test_exim_reject_log_beside_its_main_log_is_said_as_exims(tmp_path: Path) -> None:
    """A batch read pairs an Exim reject log's lines with its main log's; `run` and
    `follow` read sources apart, so both as sources count every refusal twice. The
    recording's two logs share their refusals, and the advice names the main log."""
    rec = ROOT / "recordings" / "exim" / "run1-default"
    for name in ("mainlog", "rejectlog"):
        (tmp_path / name).write_bytes(gzip.decompress((rec / f"{name}.gz").read_bytes()))
    (warning,) = overlap_warnings([str(tmp_path / "mainlog"), str(tmp_path / "rejectlog")])
    assert warning.endswith("read the main log only (Exim writes each refusal to its "
                            "reject log as well)")


def test_check_config_and_the_first_run_say_it(tmp_path: Path) -> None:
    mail, syslog = tmp_path / "mail.log", tmp_path / "syslog"
    mail.write_text("".join(MAIL))
    syslog.write_text(_syslog())
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\nlocal_domains = '
                   f'["example.com"]\ntimezone = "UTC"\n[[sources]]\npath = "{mail}"\n'
                   f'[[sources]]\npath = "{syslog}"\n')
    checked = subprocess.run([sys.executable, "-m", "logwatch", "check-config", str(cfg)],
                             capture_output=True, text=True, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert f"  WARNING: {mail} and {syslog} hold the same lines (200 of their last ones): " \
           "each counts twice" in checked.stdout
    config = load_config(cfg)
    state = State(config.state_dir)
    try:
        first = run_pass(config, state)
        with open(mail, "a") as fh:
            fh.write(MAIL[0])
        later = run_pass(config, state)
    finally:
        state.close()
    assert [w for w in first.warnings if "hold the same lines" in w] == [
        f"{mail} and {syslog} hold the same lines (200 of their last ones): each counts "
        "twice; read one of them (rsyslog writes mail to mail.log and to syslog)"]
    assert not [w for w in later.warnings if "hold the same lines" in w]
