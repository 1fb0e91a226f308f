"""`mail-logwatch check-config [--config] CFG`: validate a configuration and say what it means.

Loads the config, the built-in and configured rule files, the overrides and the
notification destinations (the secrets file included) exactly as `detect` and `run`
would, so that a config that passes here is one they accept; then explains the site as
the rules will see it. Notification URLs carry tokens: only their schemes are shown.

The config is given as `run`, `follow` and `alerts` take it (`--config CFG`) or as the
argument; with neither, `/etc/mail-logwatch/config.toml`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from logwatch import config as config_module
from logwatch.config import Config, load_config
from logwatch.durations import format_duration
from logwatch.errors import ConfigError, UsageError
from logwatch.notify.deliver import Destination, without_urls
from logwatch.rules_engine.loader import load_rules, overridden
from logwatch.sanitize import for_terminal
from logwatch.sources.overlap import overlap_warnings
from logwatch.sources.tail import absent, unreadable
from logwatch.usable import checked_destinations, checked_state_dir

__all__ = ["register", "run", "explain_config", "config_path"]

#: Rule parameters worth showing, in this order, where a rule has them.
_SHOWN = ("threshold", "min_first", "field", "window", "interval", "floor", "ceiling",
          "cooldown", "group_by", "keys")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-config", help="validate a configuration and explain it",
                       description=__doc__)
    p.add_argument("config", metavar="CFG", nargs="?",
                   help=f"the configuration (default: {config_module.DEFAULT_PATH})")
    p.add_argument("--config", dest="config_option", metavar="CFG",
                   help="the same, as run, follow and alerts take it")
    p.set_defaults(run=run)


def config_path(args: argparse.Namespace) -> Path:
    """The config to check: `--config` or the argument (the same file if both), else the
    default file, which must then exist (checking nothing is no answer)."""
    given = [g for g in (args.config_option, args.config) if g is not None]
    if len({Path(g).resolve() for g in given}) > 1:
        raise UsageError(f"check-config: two configs given ({args.config_option!r} by "
                         f"--config, {args.config!r} as the argument): give one")
    if given:
        return Path(given[0])
    default = config_module.DEFAULT_PATH
    if not default.is_file():
        raise ConfigError(f"check-config: no config given and no {default} "
                          "(give one: --config CFG)")
    return default


def _source(path: Path | None) -> str:
    """A source, and what would stop it reading anything (a path misspelt)."""
    if path is None:
        return "  journald"
    problem = unreadable(str(path)) or absent(str(path))
    return f"  {path}" + (f"   WARNING: {problem.removeprefix(f'{path}: ')}" if problem else "")


#: Kinds whose rows are counted over a sliding window (the others use intervals or none).
_WINDOWED = ("threshold", "distinct", "sequence")


def _param(rule: Any, name: str) -> str | None:
    if name == "window" and rule.kind not in _WINDOWED:
        return None
    value = getattr(rule, name, None)
    if name == "cooldown" and value is None:
        # unset: the window, for every kind (a match rule's one alert per key and
        # window), and at least a spike's interval
        value = max(rule.cooldown_s, rule.interval) if rule.kind == "spike" else rule.cooldown_s
    if value is None or value == [] or value == [[]]:
        return None
    if name in ("window", "interval", "cooldown"):
        value = format_duration(value)
    return f"{name}={value}"


def _rules(cfg: Config, rules: list[Any]) -> list[str]:
    lines = [f"rules ({len(rules)} enabled):"]
    for r in sorted(rules, key=lambda r: r.id):
        params = [p for p in (_param(r, n) for n in _SHOWN) if p]
        changed = f"  [overridden: {', '.join(overridden(cfg.rules[r.id]))}]" \
            if r.id in cfg.rules else ""
        lines.append(f"  {r.id:<28} {r.severity:<8} {r.kind:<9} {' '.join(params)}{changed}")
    off = sorted(rid for rid, ch in cfg.rules.items() if ch.get("enabled") is False)
    if off:
        lines.append(f"  disabled: {', '.join(off)}")
    return lines


def _actions(cfg: Config) -> list[str]:
    """Each action with what starts it and the command it runs (shell-quoted, as it
    would be typed; placeholders are filled with validated key values), any URL in it
    shown as its scheme alone, as notify URLs are: a webhook's URL is its token."""
    lines = [f"actions: {len(cfg.actions) or 'none'}"]
    for name, a in sorted(cfg.actions.items()):
        command = shlex.join(without_urls(arg) for arg in a.command)
        lines.append(f"  {name}: on {', '.join(a.rules)} from {a.min_severity}, "
                     f"timeout {format_duration(a.timeout)}: {command}")
    return lines


def explain_config(cfg: Config, rules: list[Any], dests: list[Destination]) -> str:
    s = cfg.site
    by_scheme = sorted({f"{d.scheme} from {d.min_severity}" for d in dests})
    zone = s.timezone or "the machine's"
    lines = [
        f"config {cfg.origin}: valid",
        f"local domains: {', '.join(s.local_domains) or '(none: inferred from local deliveries)'}"
        " and their subdomains",
        f"relay domains: {', '.join(s.relay_domains) or '(none)'}",
        f"trusted networks: {', '.join(s.trusted_networks) or '(none)'}",
        f"known senders: {', '.join(s.known_senders) or 'any address in the local domains'}",
        f"time zone: {zone}",
        f"allowlisted: {len(cfg.allow.networks)} networks, {len(cfg.allow.users)} users, "
        f"{len(cfg.allow.senders)} sender patterns",
        f"sources: {len(cfg.sources)}",
        *[_source(src.path) for src in cfg.sources],
        *[f"  WARNING: {w}" for w in overlap_warnings(
            [str(src.path) for src in cfg.sources if src.path is not None])],
        f"notify: {len(dests)} destinations ({'; '.join(by_scheme) or 'none'})"
        + (f", {cfg.notify.secrets_file} included" if cfg.notify.secrets_file else ""),
        f"state: {cfg.state_dir}",
        *_actions(cfg),
        *_rules(cfg, rules),
    ]
    return "".join(for_terminal(line) + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(config_path(args))
    checked_state_dir(cfg)
    sys.stdout.write(explain_config(cfg, load_rules(cfg), checked_destinations(cfg)))
    return 0
