"""The site configuration: every key DESIGN.md shows, the defaults, refusals that name file,
line and field, `[rules.<id>]` overrides, and `check-config` as a user runs it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from logwatch.config import Config, load_config
from logwatch.detection import detect_files
from logwatch.errors import ConfigError
from logwatch.pipeline import ParseOptions
from logwatch.rules_engine.loader import load_rules
from logwatch.state import STATE_FILE
from tests.conftest import ROOT

BUILTIN_IDS = {
    "auth_failure_burst", "slow_guessing", "password_spray", "distributed_bruteforce",
    "auth_success_after_failures", "relay_probe", "open_relay", "unknown_sender_relay",
    "recipient_harvest",
    "volume_spike", "recipient_domain_fanout", "bounce_surge", "queue_growth",
}

#: Every key DESIGN.md's Configuration section shows, plus [allow], rule_dirs and
#: notify.secrets_file.
FULL = """\
state_dir = "/srv/mlw/state"
rule_dirs = ["rules.d"]

[site]
local_domains = ["example.com", "Example.ORG."]
relay_domains = ["partner.example"]
trusted_networks = ["127.0.0.1/32", "192.0.2.0/24", "2001:db8::/32"]
known_senders = ["*@example.com"]
timezone = "Europe/Berlin"

[allow]
networks = ["198.51.100.7"]
users = ["monitor"]
senders = ["*@partner.example"]

[[sources]]
path = "/var/log/mail.log"
host = "mx1"
tz = "UTC"
format = "exim"

[[sources]]
journald = true

[notify]
urls = ["slack://TokenA/TokenB/TokenC", "mailto://user:secretpass@example.com"]
secrets_file = "/etc/mail-logwatch/secrets"

[rules.auth_failure_burst]
threshold = 3
window = "10m"

[rules.queue_growth]
enabled = false
"""

#: A small valid config the refusal tests break one line at a time.
BASE = """\
state_dir = "/var/lib/mail-logwatch"

[site]
local_domains = ["example.com"]
relay_domains = ["partner.example"]
trusted_networks = ["127.0.0.1/32", "192.0.2.0/24"]
known_senders = ["*@example.com"]
timezone = "Europe/Berlin"

[[sources]]
path = "/var/log/mail.log"

[notify]
urls = ["json://localhost/hook"]
"""

SECRETS = ("TokenA", "TokenB", "TokenC", "secretpass", "user:")


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """The 1-based line of the `nth` occurrence of `needle` in `text`."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1


def write(tmp_path: Path, text: str | bytes, name: str = "cfg.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def refusal(path: Path, *, rules: bool = False) -> str:
    with pytest.raises(ConfigError) as exc:
        cfg = load_config(path)
        if rules:
            load_rules(cfg)
    return str(exc.value)


def mlw(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logwatch", *args], capture_output=True,
                          text=True, cwd=cwd)


# --- loading -----------------------------------------------------------------------------

def test_full_config_loads(tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    path = write(tmp_path, FULL)
    cfg = load_config(path)
    assert cfg.state_dir == Path("/srv/mlw/state")
    assert cfg.site.local_domains == ["example.com", "example.org"]   # normalized
    assert cfg.site.relay_domains == ["partner.example"]
    assert cfg.site.trusted_networks == ["127.0.0.1/32", "192.0.2.0/24", "2001:db8::/32"]
    assert cfg.site.known_senders == ["*@example.com"]
    assert cfg.site.timezone == "Europe/Berlin"
    assert cfg.allow.networks == ["198.51.100.7"] and cfg.allow.users == ["monitor"]
    assert cfg.allow.senders == ["*@partner.example"]
    assert len(cfg.sources) == 2
    file_src, journal = cfg.sources
    assert file_src.path == Path("/var/log/mail.log") and not file_src.journald
    assert (file_src.host, file_src.tz, file_src.format) == ("mx1", "UTC", "exim")
    assert journal.journald and journal.path is None
    assert cfg.notify.urls[0].url.startswith("slack://") and len(cfg.notify.urls) == 2
    assert cfg.notify.secrets_file == Path("/etc/mail-logwatch/secrets")
    assert cfg.rules == {"auth_failure_burst": {"threshold": 3, "window": "10m"},
                         "queue_growth": {"enabled": False}}
    assert cfg.origin == path and cfg.text == FULL
    rules = {r.id: r for r in load_rules(cfg)}
    assert set(rules) == BUILTIN_IDS - {"queue_growth"}
    assert rules["auth_failure_burst"].threshold == 3


def test_defaults_without_a_file() -> None:
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.state_dir == Path("/var/lib/mail-logwatch")
    assert cfg.site.local_domains == [] and cfg.site.relay_domains == []
    assert cfg.site.trusted_networks == ["127.0.0.0/8", "::1/128"]
    assert cfg.site.known_senders == [] and cfg.site.timezone is None
    assert cfg.sources == [] and cfg.notify.urls == [] and cfg.rules == {}
    assert cfg.rule_dirs == [] and cfg.origin is None
    assert {r.id for r in load_rules(cfg)} == BUILTIN_IDS


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.site == Config().site and cfg.state_dir == Config().state_dir


RULE = """\
[[rule]]
id = "site_rule"
title = "A site's own rule"
kind = "match"
severity = "info"
description = "Every reject, for a test."
false_positives = ["all of them"]
summary = "$count rejects"
[rule.where]
event = "reject"
"""


def test_relative_rule_dirs_resolve_against_the_config_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    etc = tmp_path / "etc"
    (etc / "rules.d").mkdir(parents=True)
    (etc / "rules.d" / "site.toml").write_text(RULE)
    absolute = tmp_path / "elsewhere"
    absolute.mkdir()
    path = write(etc, f'rule_dirs = ["rules.d", "{absolute}"]\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)   # not the config's directory
    cfg = load_config(path)
    assert cfg.rule_dirs == [etc / "rules.d", absolute]
    assert "site_rule" in {r.id for r in load_rules(cfg)}
    # the same config given by a relative path from its parent directory
    monkeypatch.chdir(tmp_path)
    assert load_config(Path("etc/cfg.toml")).rule_dirs[0].resolve() == (etc / "rules.d").resolve()


def test_relative_state_dir_and_source_resolve_against_the_config_directory(
        tmp_path: Path) -> None:
    """cron starts `run` in the user's home (or /): `state_dir = "state"` and
    `path = "logs/mail.log"` are the config's neighbours, not the working directory's
    (which used to get a state directory of its own and find no log, quietly)."""
    etc = tmp_path / "etc"
    (etc / "logs").mkdir(parents=True)
    (etc / "logs" / "mail.log").write_bytes((ROOT / "sample_logs/postfix/mail.log").read_bytes())
    config = write(etc, 'state_dir = "state"\n[site]\nlocal_domains = ["example.com"]\n'
                        'timezone = "UTC"\n[[sources]]\npath = "logs/mail.log"\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = mlw("run", "--config", str(config), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) >= 5           # the sample's incidents
    assert (etc / "state").is_dir() and list(elsewhere.iterdir()) == []
    cfg = load_config(config)
    assert (cfg.state_dir, cfg.sources[0].path) == (etc / "state", etc / "logs/mail.log")


def test_a_config_given_relatively_names_its_sources_as_given_absolutely(
        tmp_path: Path) -> None:
    """`run --config cfg.toml` from the config's directory, after cron's `run --config
    /etc/.../cfg.toml`: the same sources, with the same marks, not new ones read again
    from their start (found by a review)."""
    etc = tmp_path / "etc"
    (etc / "logs").mkdir(parents=True)
    (etc / "logs" / "mail.log").write_bytes((ROOT / "sample_logs/postfix/mail.log").read_bytes())
    config = write(etc, 'state_dir = "state"\n[site]\nlocal_domains = ["example.com"]\n'
                        'timezone = "UTC"\n[[sources]]\npath = "logs/mail.log"\n')
    assert mlw("run", "--config", str(config), cwd=tmp_path).returncode == 0
    again = mlw("run", "--config", config.name, cwd=etc)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""                       # nothing new: nothing told again
    db = sqlite3.connect(etc / "state" / STATE_FILE)
    try:
        marks = [source for source, in db.execute("SELECT source FROM marks")]
    finally:
        db.close()
    assert marks == [str(etc / "logs/mail.log")]


def test_alerts_before_any_run_makes_no_state(tmp_path: Path) -> None:
    """`alerts` is a look: on a site no run has used yet it says so, and leaves no state
    directory behind (it used to create one, with an empty database)."""
    config = write(tmp_path, 'state_dir = "state"\n')
    r = mlw("alerts", "--config", str(config))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"no state yet in {tmp_path / 'state'}: no run has raised or sent anything\n"
    assert not (tmp_path / "state").exists()


# --- refusals: file, line and field ------------------------------------------------------

def _swap(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


REFUSED = {
    # name: (config text, text on the offending line, field named, more words in the message)
    "bad severity in a notify table": (
        _swap('urls = ["json://localhost/hook"]',
              'urls = ["json://localhost/hook",\n'
              '        { url = "json://localhost/b", min_severity = "urgent" }]'),
        "urls = [", "notify.urls.1.min_severity", ["'urgent' is not a severity"]),
    "unknown top-level key": (
        _swap("\n[site]", 'colour = "blue"\n\n[site]'), 'colour = "blue"', "colour", []),
    "unknown key in site": (
        _swap("timezone =", 'relay_host = "smtp.example.com"\ntimezone ='),
        "relay_host", "site.relay_host", []),
    "misspelt trusted_network": (
        _swap("trusted_networks =", "trusted_network ="), "trusted_network =",
        "site.trusted_network", []),
    "bad network": (
        _swap("192.0.2.0/24", "192.0.2.0/33"), "192.0.2.0/33", "site.trusted_networks",
        ["192.0.2.0/33"]),
    "bad relay domain": (
        _swap('"partner.example"', '"not a domain"'), "not a domain", "site.relay_domains",
        ["not a domain"]),
    "address as a local domain": (
        _swap('["example.com"]', '["postmaster@example.com"]'), "postmaster@",
        "site.local_domains", ["postmaster@example.com"]),
    "wildcard local domain": (
        _swap('["example.com"]', '["*.example.com"]'), "*.example.com",
        "site.local_domains", ["*.example.com"]),
    "url as a local domain": (
        _swap('["example.com"]', '["https://example.com"]'), "https://",
        "site.local_domains", ["https://example.com"]),
    "unknown time zone": (
        _swap("Europe/Berlin", "Mars/Olympus_Mons"), "Mars/", "site.timezone",
        ["Mars/Olympus_Mons"]),
    "source with path and journald": (
        BASE + '\n[[sources]]\npath = "/var/log/exim4/mainlog"\njournald = true\n',
        "[[sources]]\npath = \"/var/log/exim4", "sources.1", ["path", "journald"]),
    "source with neither": (
        _swap('path = "/var/log/mail.log"', 'host = "mx1"'), "[[sources]]", "sources.0",
        ["path", "journald"]),
    "unknown source format": (
        _swap('path = "/var/log/mail.log"', 'path = "/var/log/mail.log"\nformat = "qmail"'),
        "[[sources]]", "sources.0", ["qmail"]),
    "a pattern as a source": (
        _swap('path = "/var/log/mail.log"', 'path = "/var/log/mail*.log"'), "mail*.log",
        "sources.0.path", ["pattern is not expanded"]),
    "unknown key in notify": (
        _swap("urls =", "url ="), "url =", "notify.url", []),
    "reserved key": (
        _swap("\n[site]", 'text = "x"\n\n[site]'), 'text = "x"', "text", []),
    "url as the secrets file": (
        _swap('urls = ["json://localhost/hook"]',
              'urls = ["json://localhost/hook"]\n'
              'secrets_file = "mailto://secretuser:SuperSecretPw1@smtp.example.com"'),
        "secrets_file =", "notify.secrets_file", ["does not look like a path"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_with_file_line_and_field(tmp_path: Path, name: str) -> None:
    text, on_line, field, words = REFUSED[name]
    path = write(tmp_path, text)
    msg = refusal(path)
    assert msg.startswith(f"{path} line {line_of(text, on_line)}: "), msg
    assert f"field {field}:" in msg, msg
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg.strip(), msg   # one error, one line


def test_not_toml_names_file_and_line(tmp_path: Path) -> None:
    text = _swap("[notify]", "[notify")
    path = write(tmp_path, text)
    msg = refusal(path)
    assert msg.startswith(f"{path} line {line_of(text, '[notify')}: not valid TOML"), msg


def test_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    raw = BASE.encode().replace(b'known_senders = ["*@example.com"]',
                                b'known_senders = ["*@caf\xe9.example"]')
    path = write(tmp_path, raw)
    msg = refusal(path)
    assert msg.startswith(f"{path} line {line_of(BASE, 'known_senders')}: not UTF-8"), msg


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    msg = refusal(path)
    assert str(path) in msg and "cannot read" in msg


def test_every_error_of_a_file_is_reported(tmp_path: Path) -> None:
    text = _swap("192.0.2.0/24", "192.0.2.0/33").replace("Europe/Berlin", "Nowhere/Land")
    path = write(tmp_path, text)
    lines = refusal(path).splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{path} line {line_of(text, '192.0.2.0/33')}", "field site.trusted_networks"],
        [f"{path} line {line_of(text, 'Nowhere/Land')}", "field site.timezone"],
    ]


# --- [rules.<id>] overrides --------------------------------------------------------------

def test_override_with_unknown_rule_id(tmp_path: Path) -> None:
    text = BASE + "\n[rules.auth_failure_brust]\nthreshold = 3\n"
    path = write(tmp_path, text)
    msg = refusal(path, rules=True)
    assert msg.startswith(f"{path} line {line_of(text, '[rules.auth_failure_brust]')}: "), msg
    assert "auth_failure_brust" in msg and "no rule has this id" in msg
    known = msg.split("known:", 1)[1]
    assert {k.strip() for k in known.split(",")} == BUILTIN_IDS


@pytest.mark.parametrize("line, field, words", [
    ("treshold = 3", "treshold", []),
    ('window = "ten minutes"', "window", ["ten minutes"]),
    ("threshold = 0", "threshold", ["greater than or equal to 1"]),
    ('severity = "urgent"', "severity", ["critical"]),
    ('group_by = ["client_address"]', "group_by", ["client_address"]),
    ('kind = "match"', "kind", ["cannot be overridden"]),
    ('id = "renamed"', "id", ["cannot be overridden"]),
])
def test_override_refused_naming_the_field(tmp_path: Path, line: str, field: str,
                                           words: list[str]) -> None:
    text = BASE + f"\n[rules.auth_failure_burst]\nenabled = true\n{line}\n"
    path = write(tmp_path, text)
    msg = refusal(path, rules=True)
    assert msg.startswith(f"{path} line {line_of(text, line)}: "), msg
    assert f"rules.auth_failure_burst.{field}" in msg, msg
    for w in words:
        assert w in msg, msg


def test_override_superseded_by_unknown_rule_names_the_config(tmp_path: Path) -> None:
    text = BASE + '\n[rules.relay_probe]\nsuperseded_by = ["open_rleay"]\n'
    path = write(tmp_path, text)
    msg = refusal(path, rules=True)
    assert msg.startswith(f"{path} line {line_of(text, 'superseded_by')}: "), msg
    assert "relay_probe" in msg and "superseded_by" in msg and "open_rleay" in msg


def test_good_override_changes_only_that_rule(tmp_path: Path) -> None:
    default = {r.id: r for r in load_rules(Config())}
    text = BASE + '\n[rules.auth_failure_burst]\nthreshold = 3\ncooldown = "2h"\n'
    rules = {r.id: r for r in load_rules(load_config(write(tmp_path, text)))}
    burst = rules["auth_failure_burst"]
    assert default["auth_failure_burst"].threshold == 5
    assert burst.threshold == 3 and burst.cooldown == 7200
    assert burst.window == default["auth_failure_burst"].window == 600
    assert burst.where == default["auth_failure_burst"].where
    assert burst.superseded_by == default["auth_failure_burst"].superseded_by
    assert {k: v for k, v in rules.items() if k != "auth_failure_burst"} == {
        k: v for k, v in default.items() if k != "auth_failure_burst"}


def _conditions(conditions: list) -> set[tuple]:
    return {(c.field, c.op, str(c.value)) for c in conditions}


def test_an_override_where_is_merged_field_by_field(tmp_path: Path) -> None:
    """A field given replaces that field's conditions; the rule's others stay. Written to
    also skip a partner's MX, `[rules.recipient_harvest.where]` replaced the whole where:
    without its event and reject_class conditions the rule alerted on relay probes."""
    text = BASE + ('\n[rules.recipient_harvest.where]\nclient_ip = { ne = "203.0.113.61" }\n'
                   'reject_class = ["unknown_recipient", "relay_denied"]\n'
                   '\n[rules.auth_success_after_failures.first.where]\n'
                   'auth_failures = { ge = 2 }\n')
    rules = {r.id: r for r in load_rules(load_config(write(tmp_path, text)))}
    default = {r.id: r for r in load_rules(Config())}
    assert _conditions(rules["recipient_harvest"].where) == {
        ("event", "eq", "reject"), ("client_ip", "ne", "203.0.113.61"),
        ("reject_class", "in", "['unknown_recipient', 'relay_denied']")}
    seq, was = rules["auth_success_after_failures"], default["auth_success_after_failures"]
    assert _conditions(seq.first.where) == {("auth_failures", "ge", "2")}
    assert seq.then == was.then and seq.unless_before == was.unless_before
    lines = _rule_lines(mlw("check-config", str(tmp_path / "cfg.toml")).stdout)
    assert lines["recipient_harvest"].endswith(
        "[overridden: where.client_ip, where.reject_class]")
    assert lines["auth_success_after_failures"].endswith(
        "[overridden: first.where.auth_failures]")


def test_an_override_where_keeps_the_rule_on_its_own_rows(tmp_path: Path) -> None:
    """The sample log's relay probe (203.0.113.99, "Relay access denied") is no
    directory harvest, with or without a client excepted by an override."""
    sample = str(ROOT / "sample_logs" / "postfix" / "mail.log")

    def harvesters(override: str) -> list[str]:
        cfg = load_config(write(tmp_path, '[site]\nlocal_domains = ["example.com"]\n'
                                + override))
        found = detect_files([sample], cfg, ParseOptions(year=2026, tz="UTC"))
        return [a.key["client_ip"] for a in found.detection.alerts
                if a.rule == "recipient_harvest"]

    assert harvesters("") == ["192.0.2.150"]
    assert harvesters('[rules.recipient_harvest.where]\n'
                      'client_ip = { ne = "203.0.113.61" }\n') == ["192.0.2.150"]
    assert harvesters('[rules.recipient_harvest.where]\n'
                      'client_ip = { ne = "192.0.2.150" }\n') == []


def test_a_rule_directory_that_is_none_names_the_config_line(tmp_path: Path) -> None:
    text = BASE.replace('state_dir =', 'rule_dirs = ["rules.d"]\nstate_dir =')
    path = write(tmp_path, text)
    msg = refusal(path, rules=True)
    assert msg == (f"{path} line {line_of(text, 'rule_dirs')}: field rule_dirs: rule "
                   f"directory {tmp_path / 'rules.d'}: does not exist"), msg


def test_override_duration_is_parsed(tmp_path: Path) -> None:
    text = BASE + '\n[rules.password_spray]\nwindow = "1h30m"\nthreshold = 8\n'
    spray = {r.id: r for r in load_rules(load_config(write(tmp_path, text)))}["password_spray"]
    assert spray.window == 5400 and spray.threshold == 8


def test_enabled_false_removes_the_rule(tmp_path: Path) -> None:
    text = BASE + "\n[rules.relay_probe]\nenabled = false\n"
    ids = {r.id for r in load_rules(load_config(write(tmp_path, text)))}
    assert ids == BUILTIN_IDS - {"relay_probe"}


# --- check-config ------------------------------------------------------------------------

def _rule_lines(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        words = line.split()
        if line.startswith("  ") and words and words[0] in BUILTIN_IDS:
            out[words[0]] = line
    return out


def _with_secrets(tmp_path: Path) -> str:
    """FULL, its secrets file made real (check-config reads it, as run does)."""
    secrets = tmp_path / "secrets"
    secrets.write_text("json://localhost/SecretHookToken high\n")
    secrets.chmod(0o600)
    return FULL.replace("/etc/mail-logwatch/secrets", str(secrets))


def test_check_config_explains(tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    path = write(tmp_path, _with_secrets(tmp_path))
    r = mlw("check-config", str(path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "valid" in out.splitlines()[0]
    local = next(line for line in out.splitlines() if line.startswith("local domains"))
    assert "example.com" in local and "example.org" in local
    trusted = next(line for line in out.splitlines() if line.startswith("trusted networks"))
    for net in ("127.0.0.1/32", "192.0.2.0/24", "2001:db8::/32"):
        assert net in trusted
    assert "Europe/Berlin" in out and "partner.example" in out
    lines = _rule_lines(out)
    assert set(lines) == BUILTIN_IDS - {"queue_growth"}
    assert "threshold=3" in lines["auth_failure_burst"]
    assert "overridden" in lines["auth_failure_burst"]
    assert "threshold=5" in lines["password_spray"] and "overridden" not in lines["password_spray"]
    assert "threshold=3" in lines["relay_probe"] and "overridden" not in lines["relay_probe"]
    assert any("disabled" in line and "queue_growth" in line for line in out.splitlines())


def test_check_config_defaults_show_every_rule(tmp_path: Path) -> None:
    r = mlw("check-config", str(write(tmp_path, "")))
    assert r.returncode == 0, r.stderr
    lines = _rule_lines(r.stdout)
    assert set(lines) == BUILTIN_IDS
    assert not any("overridden" in line for line in lines.values())
    assert "127.0.0.0/8" in r.stdout


def test_check_config_warns_of_a_source_that_reads_nothing(tmp_path: Path) -> None:
    """A misspelt log path reads nothing, each run, with a note: check-config, run once
    after an edit, says so beside the source; one that is there, or has rotations
    beside it, gets no warning."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "mail.log").write_text("")
    (tmp_path / "logs" / "old.log.1.gz").write_bytes(b"")
    text = "".join(f'[[sources]]\npath = "{name}"\n' for name in
                   ("logs/mail.log", "logs/mail.lgo", "logs/old.log", "logs"))
    r = mlw("check-config", str(write(tmp_path, text)))
    assert r.returncode == 0, r.stderr
    shown = [line for line in r.stdout.splitlines() if line.startswith("  /")]
    assert shown == [f"  {tmp_path}/logs/mail.log",
                     f"  {tmp_path}/logs/mail.lgo   WARNING: no such file, nor rotations "
                     "of it beside it: nothing read",
                     f"  {tmp_path}/logs/old.log",
                     f"  {tmp_path}/logs   WARNING: a directory, not a log file"]


def test_check_config_bad_config_exits_2_with_the_located_message(tmp_path: Path) -> None:
    text = _swap("trusted_networks =", "trusted_network =")
    path = write(tmp_path, text)
    r = mlw("check-config", str(path))
    assert r.returncode == 2
    assert r.stdout == ""
    line = line_of(text, "trusted_network =")
    assert f"{path} line {line}: field site.trusted_network" in r.stderr, r.stderr


def test_check_config_bad_override_exits_2(tmp_path: Path) -> None:
    text = BASE + "\n[rules.auth_failure_burst]\ntreshold = 3\n"
    path = write(tmp_path, text)
    r = mlw("check-config", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert f"{path} line {line_of(text, 'treshold')}: " in r.stderr, r.stderr
    assert "rules.auth_failure_burst.treshold" in r.stderr


def test_check_config_never_prints_notify_urls(tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    r = mlw("check-config", str(write(tmp_path, _with_secrets(tmp_path))))
    assert r.returncode == 0, r.stderr
    for secret in (*SECRETS, "SecretHookToken"):
        assert secret not in r.stdout and secret not in r.stderr, secret
    notify = next(line for line in r.stdout.splitlines() if line.startswith("notify"))
    assert "3 destinations" in notify and "slack from info" in notify
    assert "mailto from info" in notify and "json from high" in notify


def test_check_config_never_prints_a_url_without_scheme(tmp_path: Path) -> None:
    text = _swap('urls = ["json://localhost/hook"]',
                 'urls = ["TokenAOnlyNoScheme", "mailto:user:secretpass@example.com", '
                 '"slack://TokenB/TokenC"]')
    r = mlw("check-config", str(write(tmp_path, text)))
    assert r.returncode == 2 and "apprise does not accept this URL" in r.stderr, r.stderr
    assert "cfg.toml line 14: field notify.urls[0]: ? (" in r.stderr   # where, not what
    for secret in (*SECRETS, "TokenAOnlyNoScheme"):
        assert secret not in r.stdout and secret not in r.stderr, secret


def test_a_url_apprise_refuses_is_named_by_its_secrets_file_line(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.write_text("json://localhost/SecretHookToken\n# pager\nslak://T0/B0/SecretXyz\n")
    secrets.chmod(0o600)
    r = mlw("check-config", str(write(tmp_path, f'[notify]\nsecrets_file = "{secrets}"\n')))
    assert r.returncode == 2
    assert f"field notify.secrets_file: {secrets} line 3: slak (" in r.stderr, r.stderr
    assert "Secret" not in r.stderr


@pytest.mark.parametrize("notify", [
    'url = ["slack://TokenA/TokenB/TokenC"]',                          # misspelt key
    'urls = "slack://TokenA/TokenB/TokenC"',                           # not a list
    'urls = ["slack://TokenA/TokenB/TokenC", 7]',                      # not text
    'urls = ["slack://TokenA/TokenB/TokenC" "mailto://user:secretpass@x.example"]',  # TOML
    'urls = ["mailto://user:secretpass@x.example"]\nsecrets_fil = "/x"',
    'secrets_file = "mailto://user:secretpass@x.example"',             # a URL as the file
    'secrets_file = "mailto:user:secretpass@x.example"',
    'secrets_file = "slack://TokenA/TokenB/TokenC"',
])
def test_errors_never_print_notify_urls(tmp_path: Path, notify: str) -> None:
    text = _swap('urls = ["json://localhost/hook"]', notify)
    r = mlw("check-config", str(write(tmp_path, text)))
    assert r.returncode == 2
    assert "cfg.toml" in r.stderr
    for secret in SECRETS:
        assert secret not in r.stdout and secret not in r.stderr, (secret, r.stderr)
