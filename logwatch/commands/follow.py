"""`mail-logwatch follow --config CFG`: the cron pass about once a second, until stopped.

Prints each alert it raises as one JSON line (the detect format) unless --quiet.
SIGTERM finishes the pass in hand and exits 0; SIGHUP re-reads the config.
`--metrics 127.0.0.1:9163` serves Prometheus metrics.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from logwatch.commands.detect import config_from, print_alerts, site_config_path
from logwatch.commands.run import run_lock, state_unusable
from logwatch.commands.say import print_errors
from logwatch.config import DEFAULT_PATH, Config, load_config
from logwatch.commands.amounts import positive
from logwatch.errors import UsageError
from logwatch.follow import Follower
from logwatch.live import PassResult
from logwatch.state import STATE_ERRORS
from logwatch.usable import validated

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("follow", help="follow mode: read, alert and remember continuously",
                       description=__doc__)
    p.add_argument("--config", help=f"site configuration (default: {DEFAULT_PATH})")
    p.add_argument("--interval", type=positive("seconds"), default=1.0,
                   help="seconds between passes (positive, finite)")
    p.add_argument("--metrics", metavar="ADDRESS:PORT",
                   help="serve Prometheus metrics there (e.g. 127.0.0.1:9163)")
    p.add_argument("--quiet", action="store_true", help="print no alerts on stdout")
    p.set_defaults(run=run)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--metrics {text}: give ADDRESS:PORT, like 127.0.0.1:9163")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    path = site_config_path(args.config)
    # the rules and destinations too, as SIGHUP does: a config that cannot build them
    # is refused now, not found out at the first pass or the first delivery
    cfg = validated(config_from(path))

    fresh = _Fresh()

    def on_pass(result: PassResult) -> None:
        """Alerts as they come; notes and errors when they are news (passes repeat them
        each second, with counts that grow)."""
        print_alerts([] if args.quiet else result.alerts, fresh(result.warnings))
        print_errors(fresh(result.errors))
        sys.stdout.flush()

    address = _address(args.metrics) if args.metrics else None
    try:
        return _follow(args, cfg, path, address, on_pass)
    except STATE_ERRORS as exc:   # a state directory it cannot open at all
        return state_unusable(cfg, exc)


def _follow(args: argparse.Namespace, cfg: Config, path: Path,
            address: tuple[str, int] | None, on_pass: Callable[[PassResult], None]) -> int:
    """The follower under the run lock (a pass that cannot write its state says so and
    the next tries again: `Follower.run`)."""
    with run_lock(cfg) as held:
        if not held:
            print(f"mail-logwatch: another run holds {cfg.state_dir / 'run.lock'}",
                  file=sys.stderr)
            return 0
        # its signals first: a SIGHUP (a reload) that came after the port was said and
        # before they were taken killed the follower, as SIGHUP's default does
        follower = Follower(Path(path), load_config, args.interval, None, on_pass)
        follower.install_signals()
        metrics = None
        if address is not None:   # after the lock: a second follower must not take the port
            from logwatch.metrics import Metrics
            metrics = follower.metrics = Metrics()
            try:
                port = metrics.serve(*address)
            except OSError as exc:   # in use, not ours, or no such host (gaierror)
                raise UsageError(f"--metrics {args.metrics}: cannot listen: "
                                 f"{exc.strerror or exc}") from None
            print(f"mail-logwatch: metrics on port {port}", file=sys.stderr)
        try:
            follower.run(cfg)
        finally:
            if metrics is not None:
                metrics.close()
    return 0


class _Fresh:
    """Which messages are news: one not said yet, or not in the last `again` seconds.
    Messages are compared with their numbers masked (a count that grows is the same
    message), but not one that tells of lines lost: each loss is another (an adversarial
    reviewer's rotations lost 12,350 lines in many places and were told once)."""

    def __init__(self, again: float = 600.0) -> None:
        self.again = again
        self.said: dict[str, float] = {}

    def __call__(self, messages: list[str]) -> list[str]:
        now = time.monotonic()
        out = []
        for m in messages:
            key = m if " are lost" in m else re.sub(r"\d+", "#", m)
            if now - self.said.get(key, -self.again) >= self.again:
                self.said[key] = now
                out.append(m)
        return out
