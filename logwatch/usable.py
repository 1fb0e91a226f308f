"""Whether a config can be used by a live run: everything a pass builds from it, built once.

`load_config` checks the file itself; the rules (`rule_dirs`, `[rules.*]`) and the apprise
URLs are built at each pass and each delivery. A cron run or a follower that took a
config without building them would find out only then: after reading (the offsets moved,
the alerts waiting) or, on SIGHUP, by failing every pass instead of keeping the config
that worked. So both refuse such a config first, with the file and field named.
"""

from __future__ import annotations

from logwatch.config import Config
from logwatch.errors import ConfigError
from logwatch.notify.deliver import Destination, destinations
from logwatch.rules_engine.loader import load_rules
from logwatch.tomlfile import at_line, locate

__all__ = ["validated", "checked_destinations", "checked_state_dir"]


def _at(cfg: Config, *field: str) -> str:
    """`config.toml line 4: field notify.urls`: where in the config a value was written
    (the line when it can be found), for errors that arise only when it is used."""
    line = locate(cfg.text, field) if cfg.text else None
    return at_line(cfg.origin or "config", line) + f": field {'.'.join(field)}"


def _rules_of(cfg: Config) -> None:
    """Load the rules as a pass will, or say which config field led to the bad ones.

    Errors in `[rules.<id>]` overrides already name the config file; the others come
    from a directory or a rule file reached through `rule_dirs` (or, in a broken
    installation, the built-in rules), whose messages name only that file."""
    try:
        load_rules(cfg)
    except ConfigError as exc:
        text = str(exc)
        if cfg.origin is not None and text.startswith(str(cfg.origin)):
            raise
        where = _at(cfg, "rule_dirs") if cfg.rule_dirs else f"{cfg.origin or 'config'}: rules"
        raise ConfigError(f"{where}: {text}") from None


def checked_destinations(cfg: Config) -> list[Destination]:
    """The notification destinations, built as delivery will, with an error naming the
    config line of the `notify.urls` entry (by position: the URL carries tokens and is
    never printed) or the secrets file and line that hold the URL apprise refuses."""
    try:
        return destinations(cfg.notify)
    except ConfigError as exc:
        text = str(exc)
        if text.startswith("notify.urls"):
            raise ConfigError(_at(cfg, "notify", "urls") + text.removeprefix("notify.urls")
                              ) from None
        secrets = cfg.notify.secrets_file
        text = text.removeprefix("notify.secrets_file ")
        if not text.startswith(str(secrets)):
            text = f"{secrets}: {text}"
        raise ConfigError(f"{_at(cfg, 'notify', 'secrets_file')}: {text}") from None


def validated(cfg: Config) -> Config:
    """`cfg`, once its sources, rules and notification destinations have been built as
    `check-config` builds them (the module says why)."""
    if not cfg.sources:
        raise ConfigError(f"{cfg.origin or 'config'}: no [[sources]] to read")
    _rules_of(cfg)
    checked_destinations(cfg)
    checked_state_dir(cfg)
    return cfg


def checked_state_dir(cfg: Config) -> None:
    """Refuse a `state_dir` that is, or lies under, something other than a directory: a
    run would take that for a disk that is full for now (EX_TEMPFAIL, read again later)
    and fail the same way at every cron run, where it is a mistake in the config."""
    path = cfg.state_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        where = "is" if path == cfg.state_dir else f"lies under {path}, which is"
        raise ConfigError(f"{_at(cfg, 'state_dir')}: {cfg.state_dir} {where} not a directory")
