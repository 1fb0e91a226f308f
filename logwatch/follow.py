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
from logwatch.errors import LogwatchError
from logwatch.live import Memory, PassResult, deliver_outbox, run_pass, waiting
from logwatch.metrics import Metrics
from logwatch.sanitize import lines_for_terminal
from logwatch.state import STATE_ERRORS, State, unwritable
from logwatch.usable import validated

#: seconds of alert delivery per pass, at most: what is left waits for the next pass
DELIVERY_BUDGET = 5.0

__all__ = ["Follower"]


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
            print("mail-logwatch: config not reloaded, the old one kept: "
                  + lines_for_terminal(str(exc)), file=sys.stderr)
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
                    result.pending = deliver_outbox(cfg, state, budget=DELIVERY_BUDGET)
                    # as `run` says it (the follower's output drops repeats of a notice)
                    result.warnings += [f"{waiting(result.pending)}: {why}"
                                        for why in (state.pending_errors()
                                                    if result.pending else [])]
                except LogwatchError as exc:   # a rule file saved with a typo: say it, go on
                    result = PassResult(errors=[str(exc)])
                except STATE_ERRORS as exc:    # a full disk: said each pass, tried again
                    result = PassResult(errors=[unwritable(cfg.state_dir, exc)])
                if self.metrics is not None:
                    self.metrics.observe(result, time.monotonic() - started)
                self.on_pass(result)
                done += 1
                rest = self.interval - (time.monotonic() - started)
                while rest > 0 and not self.stop and (passes is None or done < passes):
                    time.sleep(min(rest, 0.1))
                    rest -= 0.1
            memory.checkpoint(state)
        finally:
            state.close()
