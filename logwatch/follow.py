"""Follow mode: the cron pass, again and again, about once a second.

Each pass is a cron pass (read what is new, rules, ledger, outbox, commit, then
delivery), except that what it hands the next pass stays in memory and is written every
`CHECKPOINT_S` (live.py says why that loses nothing after a SIGKILL). SIGTERM and
SIGINT let the pass in hand finish and commit, then stop; SIGHUP re-reads the config
(a broken one is reported and the old one kept: "broken" as `check-config` means it, the
rules and notification destinations the config names included). The run lock is held
for the whole life of the follower, so a cron `run` left in the crontab stands aside.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from logwatch.config import Config, load_config
from logwatch.errors import ConfigError, LogwatchError
from logwatch.live import Memory, PassResult, deliver_outbox, run_pass
from logwatch.metrics import Metrics
from logwatch.notify.deliver import destinations
from logwatch.rules_engine.loader import load_rules
from logwatch.sanitize import for_terminal
from logwatch.state import State
from logwatch.tomlfile import locate

__all__ = ["Follower", "validated"]


def _at(cfg: Config, *field: str) -> str:
    """`config.toml line 4: field notify.urls`: where in the config a value was written
    (the line when it can be found), for errors that arise only when it is used."""
    line = locate(cfg.text, field) if cfg.text else None
    return (f"{cfg.origin or 'config'}" + (f" line {line}" if line else "")
            + f": field {'.'.join(field)}")


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


def _destinations_of(cfg: Config) -> None:
    """Build the notification destinations as delivery will, one at a time, so that the
    error names the `notify.urls` entry (by position: the URL carries tokens and is never
    printed) or the secrets file that holds the URL apprise refuses."""
    for n, route in enumerate(cfg.notify.urls):
        try:
            destinations(cfg.notify.model_copy(update={"urls": [route], "secrets_file": None}))
        except ConfigError as exc:
            raise ConfigError(f"{_at(cfg, 'notify', 'urls')}[{n}]: "
                              f"{str(exc).removeprefix('notify: ')}") from None
    secrets = cfg.notify.secrets_file
    if secrets is not None:
        try:
            destinations(cfg.notify.model_copy(update={"urls": []}))
        except ConfigError as exc:
            text = str(exc).removeprefix("notify: ").removeprefix("notify.secrets_file ")
            if not text.startswith(str(secrets)):
                text = f"{secrets}: {text}"
            raise ConfigError(f"{_at(cfg, 'notify', 'secrets_file')}: {text}") from None


def validated(cfg: Config) -> Config:
    """`cfg`, once everything a pass builds from it has been built once: its sources,
    rules and notification destinations, as `check-config` builds them.

    `load_config` checks only the file itself; the rules (`rule_dirs`, `[rules.*]`) and
    the apprise URLs are built later, at each pass and each delivery. A follower that
    took a config without building them would find out only then, and fail every pass
    (or stop) instead of keeping the config that worked; so start-up and SIGHUP both
    refuse such a config here, with the file and field named."""
    if not cfg.sources:
        raise ConfigError(f"{cfg.origin or 'config'}: no [[sources]] to read")
    _rules_of(cfg)
    _destinations_of(cfg)
    return cfg


@dataclass
class Follower:
    """`load` gives the config (again, on SIGHUP); `on_pass` sees each pass's result."""

    config_path: Path | None
    load: Callable[[Path | None], Config] = load_config
    interval: float = 1.0
    metrics: Metrics | None = None
    on_pass: Callable[[PassResult], None] = lambda _: None
    stop: bool = False
    reload: bool = False
    errors: list[str] = field(default_factory=list)

    def _signal(self, signum: int, _: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stop = True

    def install_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._signal)

    def _reloaded(self, cfg: Config) -> Config:
        """The config re-read and validated whole, or `cfg` itself (said why) when the new
        one cannot be used: a pass must never run under half a config."""
        self.reload = False
        try:
            new = validated(self.load(self.config_path))
        except LogwatchError as exc:
            said = "\n".join(for_terminal(line) for line in str(exc).splitlines())
            print(f"mail-logwatch: config not reloaded, the old one kept: {said}",
                  file=sys.stderr)
            return cfg
        if new.state_dir != cfg.state_dir:
            print("mail-logwatch: state_dir cannot change while following; restart",
                  file=sys.stderr)
            return cfg
        print("mail-logwatch: config reloaded", file=sys.stderr)
        return new

    def run(self, cfg: Config, passes: int | None = None) -> None:
        """Pass after pass until stopped (or `passes` done); the caller holds the lock."""
        state = State(cfg.state_dir)
        memory = Memory()
        try:
            done = 0
            while not self.stop and (passes is None or done < passes):
                started = time.monotonic()
                if self.reload:
                    new = self._reloaded(cfg)
                    if new is not cfg:
                        # what is carried was made under the old rules: written, then
                        # read back under the new ones as a cron run would
                        memory.checkpoint(state)
                        memory = Memory()
                        cfg = new
                try:
                    result = run_pass(cfg, state, memory=memory)
                except LogwatchError as exc:   # a rule file saved with a typo: say it, go on
                    result = PassResult(errors=[str(exc)])
                result.pending = deliver_outbox(cfg, state)
                if self.metrics is not None:
                    self.metrics.observe(result)
                self.on_pass(result)
                done += 1
                rest = self.interval - (time.monotonic() - started)
                while rest > 0 and not self.stop and (passes is None or done < passes):
                    time.sleep(min(rest, 0.1))
                    rest -= 0.1
            memory.checkpoint(state)
        finally:
            state.close()
