"""Load the rule files (built-in, then the config's `rule_dirs`) and apply the overrides.

A rule in a later directory with an id already loaded replaces it (that is how a site
changes a built-in rule wholesale); `[rules.<id>]` in the config changes single
parameters, and an id no file defines is refused, as a misspelt id would otherwise
leave the default in force without a word. A table of conditions in an override
(`[rules.<id>.where]`, `first.where`, `unless`, ...) is merged into the rule's, field
by field: written to add `client_ip = { ne = ... }`, replacing the whole `where`
dropped the rule's own conditions and made it fire on rows it was never about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from logwatch.config import ActionConfig, Config
from logwatch.errors import ConfigError, DefinitionError
from logwatch.notify.actions import ALERT_VALUES
from logwatch.resources import data_dir
from logwatch.rules_engine.model import Condition, Rule, RuleFile
from logwatch.tomlfile import Described, at_line, error_loc, load_toml, locate, validation_message

__all__ = ["load_rule_file", "load_rules", "apply_overrides", "overridden"]

_RULE = TypeAdapter(Rule)
#: what an override may not change: what the rule is
_FIXED = ("id", "kind")
#: the header of a rule's table
_RULE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*rule[ \t]*\]\]", re.M)
#: pydantic's names for the kinds a rule was tried as (not fields of the rule)
_KINDS = ("threshold", "distinct", "sequence", "match", "spike", "level")
#: tables of field conditions, merged field by field; and the parts that hold them
_CONDITIONS = ("where", "unless", "ended_when")
_SELECTIONS = ("first", "then")


def _id_positions(text: str, rule_id: str) -> list[int]:
    """Where `id = "rule_id"` is written (not where another rule names it, as in
    `superseded_by = ["rule_id"]`)."""
    rx = rf'^[ \t]*id[ \t]*=[ \t]*(?:"{re.escape(rule_id)}"|\'{re.escape(rule_id)}\')'
    return [m.start() for m in re.finditer(rx, text, re.M)]


def _id_line(text: str, rule_id: str) -> int | None:
    at = _id_positions(text, rule_id)
    return text.count("\n", 0, at[0]) + 1 if at else None


def _rule_tables(text: str) -> list[int]:
    """Where each `[[rule]]` table begins."""
    return [m.start() for m in _RULE_HEADER.finditer(text)]


def _rule_start(text: str, rule_id: str) -> int | None:
    """Where the table of the rule `rule_id` begins: the `[[rule]]` before its id (the
    id itself in an inline table)."""
    at = _id_positions(text, rule_id)
    if not at:
        return None
    before = [p for p in _rule_tables(text) if p <= at[0]]
    return before[-1] if before else at[0]


def _field_line(text: str, start: int, field: tuple[Any, ...]) -> int:
    """The line of `field` in the rule whose table begins at `start` (that line when it
    is not found). Looked for in that table alone, before its id as after: searched
    from the id on, a field written above it was found in the next rule."""
    ends = [p for p in _rule_tables(text) if p > start]
    line = locate(text[start:ends[0] if ends else len(text)], field) if field else None
    return text.count("\n", 0, start) + (line or 1)


#: each rule file's rules as last read, with the (inode, size, mtime) it had then
_READ: dict[Path, tuple[tuple[int, int, int], list[Any]]] = {}


def load_rule_file(path: Path) -> list[Any]:
    """The rules of one file; errors name file, line, rule and field.

    A follower reads its rule files at every pass, so that an edit takes effect at the
    next one; a file with the inode, size and modification time of the last read gives
    back the (frozen) rules that read made: parsing and validating the built-in files
    again was 6 ms of every pass.
    """
    try:
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None           # load_toml says what is wrong with it
    last = _READ.get(path)
    if stamp is not None and last is not None and last[0] == stamp:
        return list(last[1])
    rules = _parsed_rule_file(path)
    if stamp is not None:
        _READ[path] = (stamp, rules)
    return list(rules)


def _parsed_rule_file(path: Path) -> list[Any]:
    data, text = load_toml(path, DefinitionError)

    def describe(loc: tuple[Any, ...]) -> Described | None:
        """The rule by its id (by its place in the file when it has none), the field
        without pydantic's name for the kind tried, and the field's line in that rule."""
        if len(loc) < 2 or loc[0] != "rule" or not isinstance(loc[1], int):
            return None
        index = loc[1]
        try:
            entry = data["rule"][index]
        except (KeyError, IndexError, TypeError):
            return None
        rid = entry.get("id") if isinstance(entry, dict) else None
        rest = [p for p in loc[2:] if not isinstance(p, int)]
        if rest and rest[0] in _KINDS:
            rest = rest[1:]
        tables = _rule_tables(text)
        start = tables[index] if index < len(tables) else \
            _rule_start(text, str(rid)) if rid is not None else None
        return (f"rule {str(rid)!r}" if rid is not None else
                f"rule {index + 1} of the file (it has no id)",
                ".".join(map(str, rest)) or "?",
                None if start is None else _field_line(text, start, tuple(rest)))

    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(validation_message(exc, path, text, describe)) from None
    seen: set[str] = set()
    for rule in parsed.rule:
        if rule.id in seen:
            at = _id_positions(text, rule.id)[1:2]
            line = f" line {text.count(chr(10), 0, at[0]) + 1}" if at else ""
            raise DefinitionError(f"{path}{line}: rule {rule.id!r}, field id: defined twice "
                                  "in this file")
        seen.add(rule.id)
    return list(parsed.rule)


def _rule_files(dirs: Iterable[Path], cfg: Config) -> list[list[Path]]:
    """The rule files of each directory, in order. Hidden names are not rules: an
    editor's lock or swap file (Emacs's `.#site.toml`, a dangling link) or a half-saved
    copy beside the file being edited would be loaded as one, or refuse the directory.
    A directory that is none is refused at the config's `rule_dirs` line."""
    out = []
    for d in dirs:
        if not d.is_dir():
            at = "" if d not in cfg.rule_dirs else at_line(
                cfg.origin or "config",
                locate(cfg.text, ("rule_dirs",)) if cfg.text else None) + ": field rule_dirs: "
            what = "not a directory" if d.exists() else "does not exist"
            raise ConfigError(f"{at}rule directory {d}: {what}")
        out.append(sorted(p for p in d.glob("*.toml") if not p.name.startswith(".")))
    return out


def _as_written(conditions: list[Condition]) -> dict[str, dict[str, Any]]:
    """Conditions as a rule file writes them, `{field: {op: value}}`: what an override's
    table is merged into."""
    out: dict[str, dict[str, Any]] = {}
    for c in conditions:
        out.setdefault(c.field, {})[c.op] = c.value
    return out


def _merged_conditions(current: list[Condition], given: Any) -> Any:
    """`given` (an override's table) merged into `current`: each field it names has the
    conditions it gives, the other fields keep theirs. Anything else is left for the
    rule's validation to refuse."""
    return {**_as_written(current), **given} if isinstance(given, dict) else given


def _merged(rule: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """The rule's parameters with an override's `changes`: condition tables merged
    field by field (`first.where` too), any other parameter replaced."""
    out = {name: getattr(rule, name) for name in type(rule).model_fields}
    for key, given in changes.items():
        if key in _CONDITIONS and key in out:
            out[key] = _merged_conditions(out[key], given)
        elif key in _SELECTIONS and key in out and isinstance(given, dict):
            sel = out[key]
            out[key] = {"where": sel.where, "unless": sel.unless} | {
                part: _merged_conditions(getattr(sel, part), v) if part in _CONDITIONS else v
                for part, v in given.items()}
        else:
            out[key] = given
    return out


def overridden(changes: dict[str, Any]) -> list[str]:
    """The parameters an override changes, a merged table's by field (`where.client_ip`,
    `first.where.auth_failures`): what `check-config` shows."""
    out = []
    for key, given in changes.items():
        if key in _CONDITIONS + _SELECTIONS and isinstance(given, dict):
            out += [f"{key}.{name}" for name in overridden(given)]
        else:
            out.append(key)
    return sorted(out)


def apply_overrides(rules: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """`rules` with the config's `[rules.<id>]` parameters applied and re-validated."""
    where = cfg.origin or Path("config")
    out = dict(rules)
    for rid, changes in cfg.rules.items():
        line = locate(cfg.text, ("rules", rid)) if cfg.text else None
        at = at_line(where, line)
        if rid not in rules:
            raise ConfigError(f"{at}: [rules.{rid}]: no rule has this id; known: "
                              f"{', '.join(sorted(rules))}")
        if not isinstance(changes, dict):
            raise ConfigError(f"{at}: rules.{rid}: a table of parameters")
        fixed = [k for k in changes if k in _FIXED]
        if fixed:
            key_line = (locate(cfg.text, ("rules", rid, fixed[0])) if cfg.text else None) or line
            raise ConfigError(at_line(where, key_line) +
                              f": rules.{rid}.{fixed[0]}: cannot be overridden")
        try:
            out[rid] = _RULE.validate_python(_merged(rules[rid], changes))
        except ValidationError as exc:
            msgs = []
            for err in exc.errors():
                loc = [p for p in error_loc(err)[1:] if not isinstance(p, int)]
                key_line = locate(cfg.text, ("rules", rid, *loc)) if cfg.text else None
                msgs.append(at_line(where, key_line) +
                            f": rules.{rid}.{'.'.join(map(str, loc)) or '?'}: "
                            f"{err['msg'].removeprefix('Value error, ')}")
            raise ConfigError("\n".join(msgs)) from None
    return out


def load_rules(cfg: Config, builtin: bool = True) -> list[Any]:
    """Every enabled rule: built-in ones, the config's directories, then its overrides."""
    dirs = ([data_dir("rules")] if builtin else []) + list(cfg.rule_dirs)
    rules: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for files in _rule_files(dirs, cfg):
        here: dict[str, Path] = {}   # a later directory replaces; one may not repeat
        for path in files:
            for rule in load_rule_file(path):
                if rule.id in here:
                    line = _id_line(path.read_text(encoding="utf-8"), rule.id)
                    raise DefinitionError(
                        at_line(path, line) + f": rule {rule.id!r}, "
                        f"field id: also defined in {here[rule.id]}; in one directory, "
                        "which would win is only the files' order")
                here[rule.id] = origin[rule.id] = path
                rules[rule.id] = rule
    rules = apply_overrides(rules, cfg)
    for rule in rules.values():
        unknown = [s for s in rule.superseded_by if s not in rules]
        if unknown:
            if "superseded_by" in cfg.rules.get(rule.id, {}):
                where = cfg.origin or Path("config")
                line = locate(cfg.text, ("rules", rule.id, "superseded_by"))
            else:
                where = origin[rule.id]
                text = where.read_text(encoding="utf-8")
                start = _rule_start(text, rule.id)
                line = None if start is None else _field_line(text, start, ("superseded_by",))
            raise DefinitionError(at_line(where, line) +
                                  f": rule {rule.id!r}, field superseded_by: no rule "
                                  f"{unknown[0]!r}; known: {', '.join(sorted(rules))}")
    for name, action in cfg.actions.items():
        _check_action(cfg, name, action, rules)
    return [r for r in rules.values() if r.enabled]


def _check_action(cfg: Config, name: str, action: ActionConfig, rules: dict[str, Rule]) -> None:
    """An action must name known rules, and use only values every one of them keys its
    alerts by: otherwise it would be refused at every incident, long after the config
    was accepted."""
    def fail(field: str, why: str) -> None:
        line = locate(cfg.text, ("actions", name, field)) if cfg.text else None
        raise ConfigError(at_line(cfg.origin or "config", line)
                          + f": actions.{name}.{field}: {why}")

    unknown = [r for r in action.rules if r not in rules]
    if unknown:
        fail("rules", f"no rule {unknown[0]!r}")
    used = action.placeholders() - ALERT_VALUES
    for rid in action.rules:
        missing = used - rules[rid].key_fields()
        if missing:
            fail("command", f"rule {rid!r} has no {{{sorted(missing)[0]}}} in its alerts "
                 f"(its key: {', '.join(sorted(rules[rid].key_fields())) or 'none'})")
