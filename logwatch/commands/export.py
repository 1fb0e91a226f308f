"""`mail-logwatch export FILE... --out DIR`: events and messages as a Parquet dataset
partitioned by day (Hive layout: DIR/events/day=YYYY-MM-DD/part-N.parquet, and the same
under DIR/messages), ready for DuckDB, pandas or Spark.

`day` is the UTC date of an event's `ts` and of a message's `first_seen`. The rows carry
the enriched columns of the site config (sender_domain, client_net, authenticated,
client_trusted, relayed_external, ...). DIR/_meta.json records the inputs with their
SHA-256, the lines read, the time range and the tool version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logwatch.commands.detect import add_config_option, site_and_options
from logwatch.commands.parse import add_input_options
from logwatch.commands.say import print_errors, print_notes
from logwatch.export import export_dataset
from logwatch.sanitize import for_terminal

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="write events and messages as a Parquet dataset "
                                      "partitioned by day (UTC)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_options(p, configured=True)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the dataset's directory: created, or empty (see --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace DIR when it is an earlier export holding none of the "
                        "inputs (the new dataset takes its place only once complete)")
    add_config_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg, options = site_and_options(args)
    result = export_dataset(args.files, Path(args.out), cfg, options, args.overwrite)
    print_notes(result.warnings)
    print_errors(result.errors)
    tables = result.meta["tables"]
    days = len(tables["events"]["days"])
    print(f"mail-logwatch: exported {tables['events']['rows']} events and "
          f"{tables['messages']['rows']} messages ({days} day{'s' * (days != 1)}) "
          f"to {for_terminal(str(result.out))}", file=sys.stderr)
    return 2 if result.errors else 0
