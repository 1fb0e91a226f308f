"""Rule files: the built-in ones, a site's own directory, refusals that name file, line,
rule and field, values that stay data, and the durations rule files are written in."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pyarrow as pa
import pytest

from logwatch.config import Config
from logwatch.durations import parse_duration
from logwatch.errors import ConfigError, DefinitionError
from logwatch.resources import data_dir
from logwatch.rules_engine import model
from logwatch.rules_engine.fieldtypes import TESTS
from logwatch.rules_engine.loader import load_rule_file, load_rules
from logwatch.rules_engine.model import SEVERITIES, Condition
from logwatch.rules_engine.select import mask_of
from tests.conftest import ROOT

BUILTIN = sorted((ROOT / "rules").glob("*.toml"))


def line_of(text: str, needle: str, nth: int = 0) -> int:
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1


# --- the built-in rules ------------------------------------------------------------------

def test_builtin_rule_files_are_the_three_packs() -> None:
    assert [p.name for p in BUILTIN] == ["auth.toml", "relay.toml", "volume.toml"]
    assert sorted(p.name for p in data_dir("rules").glob("*.toml")) == [p.name for p in BUILTIN]


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.name)
def test_every_builtin_rule_is_complete(path: Path) -> None:
    rules = load_rule_file(path)
    raw = tomllib.loads(path.read_text())["rule"]
    assert rules and len(rules) == len(raw)
    for rule in rules:
        assert rule.id and rule.title.strip(), rule.id
        assert rule.severity in SEVERITIES, rule.id
        assert rule.enabled, rule.id
        assert rule.false_positives and all(fp.strip() for fp in rule.false_positives), rule.id
        assert rule.summary.strip(), rule.id


def test_builtin_rule_ids_are_unique_across_files() -> None:
    ids = [r.id for p in BUILTIN for r in load_rule_file(p)]
    assert len(ids) == len(set(ids)) == len({r.id for r in load_rules(Config())})


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.name)
def test_every_builtin_rule_documents_itself(path: Path) -> None:
    """Each rule says what it catches and when it fires, in sentences (the README section
    on the rules is written from these descriptions)."""
    for rule in load_rule_file(path):
        words = rule.description.split()
        assert len(words) >= 20, rule.id
        assert rule.description.strip().endswith("."), rule.id
        assert rule.title.strip() and rule.title.strip() != rule.id, rule.id


def test_readme_documents_every_builtin_rule() -> None:
    """README's rule table has a row per rule id, with the kind and severity of its file."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows[cells[0].strip("`")] = cells
    rules = [r for p in BUILTIN for r in load_rule_file(p)]
    for rule in rules:
        assert rule.id in rows, f"README has no row for {rule.id}"
        assert rows[rule.id][1:3] == [rule.kind, rule.severity], rule.id


def test_readme_documents_every_rule_key_and_test() -> None:
    """Keys found only in the built-in files (`unless`, `superseded_by`, a sequence's
    `unless_before`, the spike and level keys) were nowhere in "Writing rules"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing rules", 1)[1].split("\n### ", 1)[0]
    section = re.sub(r"```.*?```", "", section, flags=re.S)
    documented = {w for span in re.findall(r"`([^`]+)`", section)
                  for w in re.findall(r"[a-z_]+", span)}
    keys = {k for kind in (model.Threshold, model.Distinct, model.Sequence, model.Match,
                           model.Spike, model.Level, model.Measure)
            for k in kind.model_fields}
    tests = {t for kind in TESTS.values() for t in kind}
    assert keys - documented == set() and tests - documented == set()


def test_builtin_superseded_by_name_builtin_rules() -> None:
    ids = {r.id for r in load_rules(Config())}
    for rule in load_rules(Config()):
        assert set(rule.superseded_by) <= ids - {rule.id}, rule.id


# --- a site's rule directory -------------------------------------------------------------

def rule_text(rid: str, *, kind: str = "threshold", extra: str = "",
              where: str = 'event = "auth_failure"', threshold: str = "threshold = 2",
              summary: str = "$count from $client_ip", title: str = "A site rule") -> str:
    params = f"{threshold}\n" if kind in ("threshold", "distinct") else ""
    if kind == "distinct":
        params += 'field = "sasl_username"\n'
    return (f'[[rule]]\nid = "{rid}"\ntitle = "{title}"\nkind = "{kind}"\n'
            f'severity = "low"\ndescription = "A rule for the tests."\n'
            f'false_positives = ["none"]\ngroup_by = ["client_ip"]\n{params}'
            f'window = "5m"\n{extra}summary = "{summary}"\n[rule.where]\n{where}\n')


def site_rules(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    d = tmp_path / "rules.d"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)
    return d


def test_user_rule_replaces_builtin_with_same_id_and_adds_new(tmp_path: Path) -> None:
    text = (rule_text("relay_probe", kind="threshold", threshold="threshold = 9",
                      title="Site relay probe", where='event = "reject"') + "\n" +
            rule_text("site_logins", where="logins = { gt = 0 }"))
    d = site_rules(tmp_path, text)
    rules = {r.id: r for r in load_rules(Config(rule_dirs=[d]))}
    builtin = {r.id: r for r in load_rules(Config())}
    assert set(rules) == set(builtin) | {"site_logins"}
    assert rules["relay_probe"].title == "Site relay probe"
    assert rules["relay_probe"].kind == "threshold" and rules["relay_probe"].threshold == 9
    assert builtin["relay_probe"].kind == "distinct"
    assert rules["site_logins"].threshold == 2 and rules["site_logins"].window == 300
    assert rules["password_spray"] == builtin["password_spray"]


def test_a_rule_file_edited_between_reads_is_read_again(tmp_path: Path) -> None:
    """A follower reads its rules every pass: an edit takes effect at the next one,
    even one of the same length saved within the same second (the file is replaced, as
    editors and config tools save it), and a broken edit is refused, not ignored."""
    d = site_rules(tmp_path, rule_text("site_rule", threshold="threshold = 4"))
    path = d / "site.toml"
    first = load_rule_file(path)
    assert first[0].threshold == 4 and load_rule_file(path) == first
    saved = path.stat()
    fresh = d / "site.toml.new"
    fresh.write_text(rule_text("site_rule", threshold="threshold = 7"))
    os.utime(fresh, ns=(saved.st_atime_ns, saved.st_mtime_ns))
    fresh.replace(path)
    assert load_rule_file(path)[0].threshold == 7
    path.write_text(rule_text("site_rule", threshold="threshold = 7") + "junk")
    with pytest.raises(DefinitionError, match="site.toml"):
        load_rule_file(path)


def test_later_directory_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "x.toml").write_text(rule_text("site_rule", threshold="threshold = 4"))
    (second / "x.toml").write_text(rule_text("site_rule", threshold="threshold = 7"))
    rules = {r.id: r for r in load_rules(Config(rule_dirs=[first, second]), builtin=False)}
    assert rules["site_rule"].threshold == 7


def test_one_id_in_two_files_of_one_directory_is_refused(tmp_path: Path) -> None:
    """Which would win is only the files' names' order: refused, naming both."""
    d = tmp_path / "rules.d"
    d.mkdir()
    (d / "a.toml").write_text(rule_text("site_rule", threshold="threshold = 4"))
    (d / "b.toml").write_text(rule_text("other_rule") + rule_text("site_rule",
                                                                  threshold="threshold = 7"))
    with pytest.raises(DefinitionError) as exc:
        load_rules(Config(rule_dirs=[d]), builtin=False)
    line = line_of((d / "b.toml").read_text(), 'id = "site_rule"')
    assert str(exc.value) == (f"{d / 'b.toml'} line {line}: rule 'site_rule', field id: also "
                              f"defined in {d / 'a.toml'}; in one directory, which would win "
                              "is only the files' order")


def test_hidden_files_in_a_rule_directory_are_not_rules(tmp_path: Path) -> None:
    """An editor's lock file (Emacs: `.#site.toml`, a link to nowhere) and a hidden copy
    with the same rule id were loaded, refusing the directory."""
    d = site_rules(tmp_path, rule_text("site_rule", threshold="threshold = 4"))
    (d / ".#site.toml").symlink_to("root@mx1.4711:1700000000")
    (d / ".site.toml").write_text(rule_text("site_rule", threshold="threshold = 7"))
    rules = {r.id: r for r in load_rules(Config(rule_dirs=[d]), builtin=False)}
    assert list(rules) == ["site_rule"] and rules["site_rule"].threshold == 4


def test_missing_rule_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as exc:
        load_rules(Config(rule_dirs=[tmp_path / "nope"]))
    assert str(tmp_path / "nope") in str(exc.value)
    (tmp_path / "file.toml").write_text("")
    with pytest.raises(ConfigError, match="file.toml: not a directory"):
        load_rules(Config(rule_dirs=[tmp_path / "file.toml"]))


# --- refusals: file, line, rule and field ------------------------------------------------

GOOD = rule_text("first_rule", extra='superseded_by = ["second_rule"]\n')


def _refused(tmp_path: Path, text: str) -> tuple[Path, str]:
    d = site_rules(tmp_path, text)
    with pytest.raises(DefinitionError) as exc:
        load_rules(Config(rule_dirs=[d]))
    return d / "site.toml", str(exc.value)


REFUSED = {
    # name: (second rule's text, text on the offending line, field, more words)
    "unknown field in a condition table": (
        rule_text("second_rule").replace("[rule.where]", "[rule.wehre]"),
        "[rule.wehre]", "wehre", []),
    "a comparison value of the wrong type": (
        rule_text("second_rule", where='auth_failures = { gt = "lots" }'), "auth_failures",
        "where.auth_failures", ["not a whole number"]),
    "field not in the schema": (
        rule_text("second_rule", where='event_type = "x"'), "event_type",
        "where.event_type", ["did you mean event"]),
    "group_by field not in the schema": (
        rule_text("second_rule").replace('group_by = ["client_ip"]',
                                         'group_by = ["client_addr"]'),
        "client_addr", "group_by", ["client_addr", "client_ip"]),
    "distinct field not in the schema": (
        rule_text("second_rule", kind="distinct").replace('field = "sasl_username"',
                                                          'field = "username"'),
        'field = "username"', "field", ["username"]),
    # a condition's own checks: its line, not its table's ([rule.where])
    "unknown operator": (
        rule_text("second_rule", where='event = { like = "auth%" }'), "event = {",
        "where.event", ["like", "matches"]),
    "invalid RE2 pattern": (
        rule_text("second_rule", where='sender = { matches = "(?<=x)@example" }'),
        "sender = {", "where.sender", ["RE2"]),
    "unbalanced RE2 pattern": (
        rule_text("second_rule", where='event = "auth_failure"\nsender = { matches = "a(b" }'),
        "sender = {", "where.sender", ["RE2"]),
    "in without a list": (
        rule_text("second_rule", where='event = "auth_failure"\n'
                                       'client_ip = { in = "192.0.2.1" }'),
        "client_ip = {", "where.client_ip", ["in takes a list"]),
    "null neither true nor false": (
        rule_text("second_rule", where='event = "auth_failure"\nclient_ip = { null = "yes" }'),
        "client_ip = {", "where.client_ip", ["null takes true"]),
    "empty condition": (
        rule_text("second_rule", where='event = "auth_failure"\nclient_ip = {}'),
        "client_ip = {", "where.client_ip", ["empty condition"]),
    "invalid summary template": (
        rule_text("second_rule", summary="costs 5$"), 'summary = "costs', "summary", ["template"]),
    "lone dollar in summary": (
        rule_text("second_rule", summary="$"), 'summary = "$"', "summary", ["template"]),
    "superseded_by an unknown rule": (
        rule_text("second_rule", extra='superseded_by = ["no_such_rule"]\n'),
        'superseded_by = ["no_such_rule"]', "superseded_by", ["no_such_rule", "first_rule"]),
    "threshold of zero": (
        rule_text("second_rule", threshold="threshold = 0"), "threshold = 0", "threshold", []),
    "unknown kind": (
        rule_text("second_rule", kind="thresold"), 'kind = "thresold"', "kind",
        ["thresold", "threshold"]),
    "unknown severity": (
        rule_text("second_rule").replace('severity = "low"', 'severity = "urgent"'),
        'severity = "urgent"', "severity", ["critical"]),
    "unknown rule key": (
        rule_text("second_rule", extra="treshold = 3\n"), "treshold", "treshold", []),
    "ignore_once_per without ignore_same": (
        '[[rule]]\nid = "second_rule"\ntitle = "t"\nkind = "sequence"\nseverity = "low"\n'
        'description = "d"\ngroup_by = ["client_ip"]\nignore_once_per = "sasl_method"\n'
        'summary = "s"\n[rule.first.where]\nevent = "auth_failure"\n'
        '[rule.then.where]\nevent = "auth_success"\n',
        "ignore_once_per =", "ignore_once_per", ["give ignore_same too"]),
    "bad window": (
        rule_text("second_rule").replace('window = "5m"', 'window = "ten minutes"'),
        'window = "ten', "window", ["ten minutes"]),
    # tests and uses the field's type cannot answer: pyarrow found out when the rule
    # first ran, and its traceback ended detect, run and follow, every rule with them
    "a text test of a number field": (
        rule_text("second_rule", where='client_port = { starts_with = "4" }'),
        "client_port", "where.client_port", ["whole numbers", "starts_with", "gt"]),
    "a text test of a true-or-false field": (
        rule_text("second_rule", where='authenticated = { contains = "t" }'),
        "authenticated", "where.authenticated", ["true or false", "contains", "eq, ne"]),
    "a number where text is compared": (
        rule_text("second_rule", where="sasl_username = { contains = 5 }"),
        "sasl_username", "where.sasl_username", ["not text in quotes"]),
    "a list field as a key": (
        rule_text("second_rule").replace('group_by = ["client_ip"]',
                                         'group_by = ["recipient_domains"]')
        .replace('severity = "low"', 'severity = "low"\ntable = "messages"')
        .replace('event = "auth_failure"', "relayed_external = true"),
        'group_by = ["recipient_domains"]', "group_by",
        ["recipient_domains holds a list of text", "single values"]),
    "a fraction compared with whole numbers": (
        rule_text("second_rule", where="auth_failures = { ge = 1.9 }"), "auth_failures",
        "where.auth_failures", ["1.9 has a fraction", "auth_failures holds whole numbers"]),
    "a fraction among whole numbers": (
        rule_text("second_rule", where="pid = [3002, 3002.5]"), "pid", "where.pid",
        ["3002.5 has a fraction"]),
    # conditions that leave a rule nothing it could ever fire on
    "a status never written": (
        rule_text("second_rule", where='status = "delivered"'), "status", "where.status",
        ["status 'delivered' is never written", "sent, deferred"]),
    "an MTA no parser file names": (
        rule_text("second_rule", where='event = "auth_failure"\nmta = "courier"'),
        "mta", "where.mta", ["'courier' is never written", "dovecot", "postfix"]),
    "a line note never written": (
        rule_text("second_rule", where='event = "auth_failure"\nline_note = "repeat"'),
        "line_note", "where.line_note", ["'repeat' is never written", "repeated"]),
    "a pattern no event matches": (
        rule_text("second_rule", where='event = { matches = "auth_falure" }'),
        "event = { matches", "where.event", ["holds for no event ever written", "auth_failure"]),
    "a key required missing": (
        rule_text("second_rule", where='event = "auth_failure"\nclient_ip = { null = true }'),
        "client_ip = {", "where.client_ip", ["could never fire"]),
    "a text field as a weight": (
        rule_text("second_rule", extra='weight = "sasl_username"\n'), "weight = ", "weight",
        ["sasl_username holds text", "whole numbers", "auth_failures"]),
    "a text field as a spike's sum": (
        '[[rule]]\nid = "second_rule"\ntitle = "t"\nkind = "spike"\nseverity = "low"\n'
        'description = "d"\nkeys = [["client_ip"]]\nsummary = "$count"\n'
        '[[rule.measures]]\nname = "users"\nsum = "sasl_username"\n'
        '[rule.where]\nevent = "auth_failure"\n',
        "sum = ", "measures.sum", ["measure users sum", "sasl_username holds text", "numbers"]),
    "a text field as a level's start": (
        '[[rule]]\nid = "second_rule"\ntitle = "t"\nkind = "level"\nseverity = "low"\n'
        'description = "d"\nstart = "client_ip"\nsummary = "$count"\n'
        '[rule.where]\nevent = "auth_failure"\n',
        "start = ", "start", ["client_ip holds text", "times", "ts"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_with_file_line_rule_and_field(tmp_path: Path, name: str) -> None:
    second, on_line, field, words = REFUSED[name]
    text = GOOD + "\n" + second
    path, msg = _refused(tmp_path, text)
    assert msg.startswith(f"{path} line {line_of(text, on_line)}: "), msg
    assert "rule 'second_rule'" in msg, msg
    assert f"field {field}:" in msg, msg
    for w in words:
        assert w in msg, msg


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    text = GOOD + "\n" + rule_text("second_rule") + "\n" + rule_text("first_rule")
    path, msg = _refused(tmp_path, text)
    line = line_of(text, 'id = "first_rule"', 1)
    assert msg.startswith(f"{path} line {line}: "), msg
    assert "rule 'first_rule'" in msg and "field id" in msg and "twice" in msg


def test_error_line_is_in_the_rule_not_where_another_names_it(tmp_path: Path) -> None:
    """first_rule names second_rule in superseded_by before second_rule is defined: the
    error in second_rule must point into second_rule."""
    text = GOOD + "\n" + rule_text("second_rule", threshold="threshold = -1")
    path, msg = _refused(tmp_path, text)
    assert msg.startswith(f"{path} line {line_of(text, 'threshold = -1')}: "), msg


def test_error_line_of_a_field_written_before_the_id(tmp_path: Path) -> None:
    """Looked for from the id on, `threshold` above it was found in the next rule."""
    text = (GOOD.replace('id = "first_rule"\n', 'threshold = "five"\nid = "first_rule"\n')
            .replace("threshold = 2\n", "", 1) + "\n" + rule_text("second_rule"))
    path, msg = _refused(tmp_path, text)
    line = line_of(text, 'threshold = "five"')
    assert msg == (f"{path} line {line}: rule 'first_rule', "
                   "field threshold: Input should be a valid integer, unable to parse string "
                   "as an integer"), msg


def test_a_rule_without_an_id_is_named_by_its_place(tmp_path: Path) -> None:
    """It was `field rule.1.threshold.id`: pydantic's path, with the kind it tried."""
    text = GOOD + "\n" + rule_text("second_rule").replace('id = "second_rule"\n', "")
    path, msg = _refused(tmp_path, text)
    assert msg == (f"{path} line {line_of(text, '[[rule]]', 1)}: rule 2 of the file (it has "
                   "no id), field id: Field required"), msg


def test_refused_builtin_copy_points_at_the_right_rule(tmp_path: Path) -> None:
    """A site's copy of auth.toml with a mistake in password_spray, which an earlier rule
    names in its superseded_by."""
    text = (ROOT / "rules" / "auth.toml").read_text()
    bad = text.replace('field = "sasl_username"', 'field = "sasl_user"', 1)
    assert bad != text
    path, msg = _refused(tmp_path, bad)
    line = line_of(bad, 'field = "sasl_user"')
    assert msg.startswith(f"{path} line {line}: "), msg
    assert "rule 'password_spray'" in msg and "sasl_username" in msg


# --- values are data ---------------------------------------------------------------------

@pytest.mark.parametrize("summary, said", [
    ("$count from $clientip", "$clientip is nothing this rule's alerts have (did you mean "
                              "$client_ip, $client_ip_values"),
    ("users ${sasl_usernam_values}", "$sasl_usernam_values is nothing"),
    ("$count, usual $expected", "$expected is nothing"),         # a spike's, not a threshold's
    ("$count at $$USD $cost each", "$cost is nothing"),           # $$ is a dollar sign
])
def test_a_summary_naming_nothing_is_refused(tmp_path: Path, summary: str, said: str) -> None:
    """Each would print `?` in every alert of the rule."""
    path, msg = _refused(tmp_path, rule_text("typo", summary=summary))
    assert f"{path} line {line_of(path.read_text(), 'summary')}: rule 'typo', field " \
           f"summary:" in msg and said in msg


def test_a_dollar_sign_in_a_summary_is_no_name(tmp_path: Path) -> None:
    d = site_rules(tmp_path, rule_text("priced", summary="$count rejects from $client_ip "
                                                         "(costs $$USD each)"))
    rules = {r.id: r for r in load_rules(Config(rule_dirs=[d]), builtin=False)}
    assert rules["priced"].summary.endswith("(costs $$USD each)")


@pytest.mark.parametrize("where, said", [
    ('event = "auth_falure"', "event 'auth_falure' is never written; known: connect,"),
    ('event = ["auth_failure", "auth_sucess"]', "event 'auth_sucess' is never written"),
    ('reject_class = { ne = "relay-denied" }', "reject_class 'relay-denied' is never"),
])
def test_a_condition_on_a_value_never_written_is_refused(tmp_path: Path, where: str,
                                                         said: str) -> None:
    """A rule that could never fire, said when it is loaded."""
    path, msg = _refused(tmp_path, rule_text("typo", where=where))
    assert f"{path} line {line_of(path.read_text(), where.split()[0])}: rule 'typo'" in msg
    assert said in msg


def test_condition_value_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    text = rule_text("evil_rule", where=f'sender = "{payload}"\nhelo = {{ matches = "{payload}" }}',
                     summary="${client_ip} $count")
    d = site_rules(tmp_path, text)
    rules = {r.id: r for r in load_rules(Config(rule_dirs=[d]), builtin=False)}
    rule = rules["evil_rule"]
    assert not marker.exists()
    assert Condition(field="sender", op="eq", value=payload) in rule.where
    table = pa.table({"sender": [payload, "alice@example.com", None],
                      "helo": ["x", "y", None]})
    eq = [c for c in rule.where if c.field == "sender"]
    assert mask_of(table, eq).tolist() == [True, False, False]
    assert not marker.exists()


# --- durations ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    ("10m", 600), ("1h30m", 5400), ("7d", 604_800), ("90s", 90), ("2w", 1_209_600),
    (90, 90), ("90", 90), (" 1h 30m ", 5400), ("1H", 3600),
])
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [0, -5, "0", "0m", "-5", "ten", "10 minutes", "", "m",
                                   True, False, 1.5, None, "1h30"])
def test_parse_duration_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)
