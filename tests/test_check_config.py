"""`check-config` names its config as `run`, `follow` and `alerts` do (`--config CFG`), or
as its argument; with neither, the default file."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

import logwatch.config
from logwatch.cli import main
from tests.test_cli import mlw as cli_mlw

CONFIG = '[site]\nlocal_domains = ["example.com"]\n'


#: the command's output as text
mlw = partial(cli_mlw, text=True)


@pytest.fixture()
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def test_config_option_and_argument_check_the_same_file(cfg: Path) -> None:
    by_option = mlw("check-config", "--config", str(cfg))
    by_argument = mlw("check-config", str(cfg))
    assert by_option.returncode == by_argument.returncode == 0, by_option.stderr
    assert by_option.stdout == by_argument.stdout
    assert by_option.stdout.startswith(f"config {cfg}: valid\n")
    assert "local domains: example.com and their subdomains" in by_option.stdout


def test_the_same_file_both_ways_is_one_config(cfg: Path) -> None:
    r = mlw("check-config", "config.toml", "--config", str(cfg), cwd=cfg.parent)
    assert r.returncode == 0, r.stderr


def test_two_different_configs_are_refused(cfg: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("")
    r = mlw("check-config", str(cfg), "--config", str(other))
    assert r.returncode == 2 and r.stdout == ""
    assert "two configs given" in r.stderr and "give one" in r.stderr


def test_a_bad_config_given_by_option_exits_2_located(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('state_dir = "x"\n[site]\ntrusted_network = ["1.2.3.4/32"]\n')
    r = mlw("check-config", "--config", str(path))
    assert r.returncode == 2
    assert "config.toml line 3: field site.trusted_network" in r.stderr


@pytest.mark.parametrize("state_dir", ["state", "state/under"])
def test_a_state_dir_that_is_a_file_is_a_config_error(tmp_path: Path, state_dir: str) -> None:
    """A state_dir that is a file (or lies under one) was taken for a full disk: `run`
    said "read again when it can be" and exited 75 at every cron run; check-config
    said "valid". Both now say what is wrong with the config, exit 2, nothing read."""
    (tmp_path / "state").write_text("")
    log = tmp_path / "mail.log"
    log.write_text("Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.9]\n")
    path = tmp_path / "config.toml"
    path.write_text(f'state_dir = "{state_dir}"\n{CONFIG}[[sources]]\npath = "{log}"\n')
    checked, ran = mlw("check-config", str(path)), mlw("run", "--config", str(path))
    said = f"config.toml line 1: field state_dir: {tmp_path / state_dir} "
    assert checked.returncode == ran.returncode == 2 and checked.stdout == ran.stdout == ""
    assert said in checked.stderr and said in ran.stderr
    assert ("is not a directory" if state_dir == "state"
            else f"lies under {tmp_path / 'state'}, which is not a directory") in ran.stderr
    assert (tmp_path / "state").read_text() == ""


def test_without_either_the_default_file_is_checked(cfg: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(logwatch.config, "DEFAULT_PATH", cfg)
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith(f"config {cfg}: valid\n")


def test_without_either_and_no_default_file_says_so(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    absent = tmp_path / "etc/config.toml"
    monkeypatch.setattr(logwatch.config, "DEFAULT_PATH", absent)
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert f"no config given and no {absent}" in err and "--config CFG" in err


_RULE = '''[[rule]]
id = "pregreet_seen"
title = "PREGREET"
kind = "{kind}"
severity = "low"
description = "A bot talking before the banner."
summary = "$count PREGREET"
{extra}
[rule.where]
event = "screen"
'''


@pytest.mark.parametrize("kind, extra, shown", [
    ("match", "", "cooldown=10m"),                        # the default window
    ("match", 'window = "1h"', "cooldown=1h"),            # a match rule's window
    ("match", 'window = "1h"\ncooldown = "1d"', "cooldown=1d"),
    ("spike", "", "cooldown=1h"),                         # at least its interval
])
def test_a_rule_without_cooldown_shows_the_one_it_has(tmp_path: Path, kind: str, extra: str,
                                                      shown: str) -> None:
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "mine.toml").write_text(_RULE.format(kind=kind, extra=extra))
    path = tmp_path / "config.toml"
    path.write_text('rule_dirs = ["rules.d"]\n')
    r = mlw("check-config", "--config", str(path))
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if "pregreet_seen" in x]
    assert line.split()[-1] == shown
