"""The README's examples are what the tool accepts: the config and the rule it shows load,
and its table of built-in rules names every rule the package ships."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from logwatch.cli import main
from logwatch.config import load_config
from logwatch.rules_engine import model
from logwatch.rules_engine.loader import load_rule_file, load_rules
from logwatch.trace import KINDS
from tests.conftest import ROOT
from tests.test_report import PFLOGSUMM

README = (ROOT / "README.md").read_text(encoding="utf-8")
TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", README, re.S)


def test_the_config_example_passes_check_config_as_pasted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOML_BLOCKS[0])
    assert main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"config {path}: valid\n")


def test_the_commented_rule_dirs_needs_its_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Uncommented without the directory, the config is refused, as its comment says."""
    assert '# rule_dirs = ["rules.d"]' in TOML_BLOCKS[0]
    path = tmp_path / "config.toml"
    path.write_text(TOML_BLOCKS[0].replace("# rule_dirs", "rule_dirs"))
    assert main(["check-config", str(path)]) == 2
    assert "rule directory" in capsys.readouterr().err


def test_the_config_and_rule_examples_load(tmp_path: Path) -> None:
    config, rule = TOML_BLOCKS[:2]
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "extra.toml").write_text(rule)
    path = tmp_path / "config.toml"
    path.write_text(config.replace("# rule_dirs", "rule_dirs"))
    cfg = load_config(path)
    rules = {r.id: r for r in load_rules(cfg)}
    assert rules["auth_failure_burst"].threshold == 10          # the override shown
    assert "recipient_domain_fanout" not in rules               # disabled there
    assert rules["pregreet_flood"].kind == "threshold"          # the rule shown


def test_the_rule_table_names_every_built_in_rule() -> None:
    shipped = {r.id for f in sorted((ROOT / "rules").glob("*.toml")) for r in load_rule_file(f)}
    table = set(re.findall(r"^\| `([a-z_]+)` \|", README, re.M))
    assert table == shipped


def test_the_cron_config_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOML_BLOCKS[2])
    cfg = load_config(path)
    assert [str(s.path) for s in cfg.sources] == ["/var/log/mail.log"]
    assert cfg.notify.urls[1].min_severity == "high"   # type: ignore[union-attr]


def test_the_journald_source_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOML_BLOCKS[3])
    (src,) = load_config(path).sources
    assert src.journald and src.path is None


def test_the_actions_example_loads_and_plans(tmp_path: Path) -> None:
    from logwatch.notify.actions import plan_action
    from logwatch.sitefacts import SiteFacts
    path = tmp_path / "config.toml"
    path.write_text(TOML_BLOCKS[4])
    cfg = load_config(path)
    load_rules(cfg)                                  # every rule it names exists
    facts = SiteFacts.from_config(cfg.site, cfg.allow)
    alert = {"key": {"client_ip": "203.0.113.7"}, "rule": "open_relay", "id": "ab",
             "severity": "high"}
    assert plan_action("nft", cfg.actions["nft"], alert, facts).argv == [
        "nft", "add", "element", "inet", "filter", "banned", "{", "203.0.113.7", "}"]


def _paragraph(starting: str) -> str:
    """The README's paragraph that holds `starting`."""
    (para,) = [p for p in README.split("\n\n") if starting in p]
    return para


def test_the_summary_names_are_those_the_rules_accept() -> None:
    """Every `$name` a summary may use (model.py: the common ones, `$threshold` and
    `$min_first`, each kind's DETAILS) is listed, and nothing else."""
    text = _paragraph("Summaries are `string.Template`s")
    listed = set(re.findall(r"`\$(\w+)`", text))
    kinds = (model.Threshold, model.Distinct, model.Sequence, model.Match, model.Spike,
             model.Level)
    accepted = (set(model._SUMMARY_NAMES) | {"threshold", "min_first"}
                | {n for k in kinds for n in k.DETAILS})
    assert listed == accepted


def test_the_details_of_each_kind_are_named() -> None:
    text = _paragraph("prints one JSON object per alert")
    named = set(re.findall(r"`(\w+)`", text))
    for kind in (model.Sequence, model.Spike, model.Level):
        assert set(kind.DETAILS) <= named, kind.__name__
    assert {"keys", "level"} <= named      # a spike's key set, a level's samples


def test_the_debian_packages_are_those_make_debs_installs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    debs = set(re.findall(r'missing="\$\$missing (\S+)"', makefile))
    assert "poppler-utils" in debs
    text = _paragraph("Both need a Debian machine")
    assert debs <= set(re.findall(r"`([\w.-]+)`", text))
    assert "python3-venv" in text and "PyPI" in text


def test_the_trace_kinds_are_the_commands() -> None:
    (shown,) = re.findall(r"`--kind ([\w|-]+)`", README)
    assert tuple(shown.split("|")) == KINDS


def test_the_unit_wants_the_network_it_starts_after() -> None:
    (unit,) = re.findall(r"```ini\n(.*?)```", README, re.S)
    assert "Wants=network-online.target\nAfter=network-online.target\n" in unit


def test_the_totals_keys_are_the_reports(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["report", str(ROOT / "sample_logs/postfix/mail.log"), "--year", "2026",
                 "--config", str(ROOT / "sample_logs/config.toml"), "--no-alerts",
                 "--out", str(out)]) == 0
    text = _paragraph("**pflogsumm parity.**")
    listed = re.findall(r"`(\w+)`", text.split("under fixed keys")[1].split(")")[0])
    assert listed == list(json.loads(out.read_text())["totals"])


def test_the_pflogsumm_table_names_every_option_pflogsumm_has() -> None:
    """"Replacing pflogsumm in cron" says what each of pflogsumm's options does here: all
    that its usage lists (`-[eq]` is two)."""
    usage = subprocess.run([PFLOGSUMM, "--help"], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    theirs = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage.replace("-[eq]", "-e -q")
                            .replace("--[version|help]", "--version --help")))
    table = README.split("| pflogsumm's option | here |")[1].split("\n\n")[0]
    ours = {o for cell in re.findall(r"^\| ([^|]*(?:\\\|[^|]*)*) \|", table, re.M)
            for o in re.findall(r"`(--?[a-z][a-z-]*)", cell)}
    assert len(theirs) > 20 and theirs == ours, theirs ^ ours
