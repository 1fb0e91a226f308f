"""The wheel carries parsers/ and works from any directory (importlib.resources)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

SAMPLE = ("Dec 30 10:00:00 mx1 postfix/smtpd[100]: warning: unknown[203.0.113.9]: "
          "SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")


@pytest.mark.slow
def test_wheel_installs_and_parses_from_another_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("mail_logwatch-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "mail.log").write_text(SAMPLE)
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(env_dir / "bin" / "mail-logwatch"), "parse", "mail.log", "--year",
                        "2025", "--tz", "UTC"], cwd=work, capture_output=True, env=clean_env,
                       check=True)
    (row,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert row["event"] == "auth_failure" and row["client_ip"] == "203.0.113.9"
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c",
         "from logwatch.resources import data_dir; print(data_dir('parsers'))"],
        cwd=work, capture_output=True, text=True, env=clean_env, check=True).stdout.strip()
    assert "site-packages" in where and Path(where, "postfix.toml").is_file()
