"""`mail-logwatch run --config CFG`: cron mode. Read what is new since the last run
(through any rotation), raise alerts, deliver them, remember.

Prints each alert it raises as one JSON line (the detect format, plus `notice`: new,
grown or digest) unless --quiet. Exit codes: 2 bad config or unreadable
source, then 75 when alerts wait in the outbox, then 1 with --fail-on-alert; 0 else,
including when another run holds the lock (said on stderr).
"""

from __future__ import annotations

import argparse
import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logwatch.commands.detect import config_from, print_alerts, site_config_path
from logwatch.commands.say import print_errors
from logwatch.config import DEFAULT_PATH, Config
from logwatch.live import deliver_outbox, run_pass, waiting
from logwatch.sanitize import for_terminal
from logwatch.state import STATE_ERRORS, State, unwritable
from logwatch.usable import validated

__all__ = ["register", "run", "run_lock"]

EXIT_OK, EXIT_ALERTS, EXIT_USAGE, EXIT_TEMPFAIL = 0, 1, 2, 75
#: seconds of alert delivery a run spends at most: a webhook that never answers (each try
#: waits out apprise's timeouts) must not hold the lock, and the next cron runs, for hours
DELIVERY_BUDGET = 50.0


@contextmanager
def run_lock(cfg: Config) -> Iterator[bool]:
    """Hold `state_dir/run.lock` for the run; yields False when another run holds it."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = cfg.state_dir / "run.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="cron mode: read what is new, alert, remember",
                       description=__doc__)
    p.add_argument("--config", help=f"site configuration (default: {DEFAULT_PATH})")
    p.add_argument("--dry-run", action="store_true",
                   help="read and report, but send nothing and move no offset")
    p.add_argument("--quiet", action="store_true", help="print no alerts on stdout")
    p.add_argument("--fail-on-alert", action="store_true",
                   help="exit 1 when this run raised alerts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # the rules and destinations built before anything is read: a URL apprise refuses
    # is said now, not after the pass has moved the offsets
    cfg = validated(config_from(site_config_path(args.config)))
    try:
        return _run(args, cfg)
    except STATE_ERRORS as exc:   # a full or read-only disk
        return state_unusable(cfg, exc)


def state_unusable(cfg: Config, exc: BaseException) -> int:
    """Say that the state cannot be used; the exit code is EX_TEMPFAIL, so that cron and
    systemd try again later."""
    print(f"mail-logwatch: {for_terminal(unwritable(cfg.state_dir, exc))}", file=sys.stderr)
    return EXIT_TEMPFAIL


def _run(args: argparse.Namespace, cfg: Config) -> int:
    with run_lock(cfg) as held:
        if not held:
            print(f"mail-logwatch: another run holds {Path(cfg.state_dir) / 'run.lock'}; "
                  "nothing done", file=sys.stderr)
            return EXIT_OK
        state = State(cfg.state_dir)
        try:
            result = run_pass(cfg, state, dry_run=args.dry_run)
            pending = 0 if args.dry_run else deliver_outbox(cfg, state,
                                                            budget=DELIVERY_BUDGET)
            # the cron mail says why, not only how many (`alerts` lists them all)
            why = state.pending_errors() if pending else []
        finally:
            state.close()
    print_alerts([] if args.quiet else result.alerts, result.warnings)
    print_errors(result.errors)
    if result.errors:
        return EXIT_USAGE
    if pending:
        print(f"mail-logwatch: {waiting(pending)}"
              + "".join(f"\n  {for_terminal(w)}" for w in why), file=sys.stderr)
        return EXIT_TEMPFAIL
    return EXIT_ALERTS if args.fail_on_alert and result.alerts else EXIT_OK
