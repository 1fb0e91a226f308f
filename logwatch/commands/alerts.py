"""`mail-logwatch alerts --config CFG`: the outbox: recent, pending and failed alerts.

One line per alert and destination (destinations by scheme and a hash of their URL,
never the URL: it carries tokens). Exit 75 when some are still waiting (an alert held for
its destination's digest is not waiting on anything).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone

from logwatch.commands.amounts import whole
from logwatch.commands.detect import config_from, site_config_path
from logwatch.config import DEFAULT_PATH
from logwatch.notify.deliver import destinations, route_of
from logwatch.sanitize import for_terminal
from logwatch.state import STATE_FILE, OutboxItem, State

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("alerts", help="recent, pending and failed alert deliveries",
                       description=__doc__)
    p.add_argument("--config", help=f"site configuration (default: {DEFAULT_PATH})")
    p.add_argument("--limit", type=whole("deliveries", 1), default=50,
                   help="how many of the latest deliveries and actions to list (default 50)")
    p.set_defaults(run=run)


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _line(item: OutboxItem, dest_name: str) -> str:
    """One delivery or action: when, what, where, and how it went."""
    alert = item.payload["alert"]
    if item.delivered_at is not None and item.last_error is None:
        status = f"sent {_when(item.delivered_at)}" + (f": {item.note}" if item.note else "")
    elif item.delivered_at is not None:
        status = f"dropped: {item.last_error}"
    elif item.attempts:
        status = f"failing ({item.attempts} tries): {item.last_error}"
    elif item.held_until is not None and item.held_until > time.time():
        status = f"held for the digest until {_when(item.held_until)}"
    else:
        status = "pending"
    return (f"{_when(item.created)}  {item.severity:<8} {alert['rule']:<28} {dest_name:<22} "
            f"{for_terminal(status)}\n    {for_terminal(alert['summary'])}")


def run(args: argparse.Namespace) -> int:
    cfg = config_from(site_config_path(args.config))
    dests = destinations(cfg.notify)
    if not (cfg.state_dir / STATE_FILE).exists():   # a look makes no state
        print(f"no state yet in {for_terminal(str(cfg.state_dir))}: no run has raised or "
              "sent anything")
        return 0
    state = State(cfg.state_dir)
    try:
        items = state.recent(args.limit)
        pending, held = state.pending_count(), state.held_count()
    finally:
        state.close()
    for item in items:
        route = item.payload["route"]
        dest = route_of(dests, route)
        name = route if route.startswith("action:") else dest.name if dest else "(removed)"
        sys.stdout.write(_line(item, name) + "\n")
    print(f"{pending} waiting, {held} held for the digest, as of {_when(time.time())}")
    return 75 if pending else 0
