"""The `mail-logwatch` command line: argument parsing and exit codes, nothing else.

Exit codes: 0 fine; 1 only with --fail-on-alert when alerts were raised;
2 bad usage, bad config or unreadable input; 75 alerts wait in the outbox. Diagnostics
go to stderr so that stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from logwatch import __version__
from logwatch.commands import alerts as alerts_cmd
from logwatch.commands import check_config as check_config_cmd
from logwatch.commands import detect as detect_cmd
from logwatch.commands import export as export_cmd
from logwatch.commands import follow as follow_cmd
from logwatch.commands import parse as parse_cmd
from logwatch.commands import report as report_cmd
from logwatch.commands import run as run_cmd
from logwatch.commands import trace as trace_cmd
from logwatch.errors import LogwatchError

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ALERTS", "EXIT_USAGE", "EXIT_TEMPFAIL"]

EXIT_OK, EXIT_ALERTS, EXIT_USAGE, EXIT_TEMPFAIL = 0, 1, 2, 75


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mail-logwatch",
                description="Postfix, Exim and Sendmail logs as one table; alerts and reports.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parse_cmd.register(sub)
    detect_cmd.register(sub)
    report_cmd.register(sub)
    export_cmd.register(sub)
    check_config_cmd.register(sub)
    run_cmd.register(sub)
    follow_cmd.register(sub)
    alerts_cmd.register(sub)
    trace_cmd.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except LogwatchError as exc:
        print(f"mail-logwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `mail-logwatch parse x - | head`
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
