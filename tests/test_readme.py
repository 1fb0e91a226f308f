"""The README's examples are what the tool accepts: the config and the rule it shows load,
and its table of built-in rules names every rule the package ships."""

from __future__ import annotations

import re
from pathlib import Path

from logwatch.config import load_config
from logwatch.rules_engine.loader import load_rule_file, load_rules
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", README, re.S)


def test_the_config_and_rule_examples_load(tmp_path: Path) -> None:
    config, rule = TOML_BLOCKS[:2]
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "extra.toml").write_text(rule)
    path = tmp_path / "config.toml"
    path.write_text(config)
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
