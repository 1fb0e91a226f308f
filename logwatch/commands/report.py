"""`mail-logwatch report FILE...`: what happened, since when, who was involved, how much
got out: pflogsumm's report for Postfix, Exim and Sendmail, with a security view and the
coverage of the input, as text, Markdown, HTML or JSON.

pflogsumm's habits are kept: `-d today|yesterday`, `-h N` host/domain lines, `-u N`
user lines, `-i`, `--verp-mung`, `--problems-first` (hence `--help` alone, without `-h`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from logwatch.commands.detect import add_config_option, site_and_options
from logwatch.commands.parse import add_input_options
from logwatch.commands.amounts import positive, whole
from logwatch.commands.say import print_errors, print_notes
from logwatch.errors import UsageError
from logwatch.output import refuse_input_as_output
from logwatch.progress import Progress
from logwatch.report.build import ReportOptions, build_report

__all__ = ["register", "run", "render", "period"]

FORMATS = ("text", "markdown", "html", "json")
#: the format an --out file's suffix asks for, when --format is not given
_BY_SUFFIX = {".html": "html", ".htm": "html", ".json": "json", ".md": "markdown",
              ".markdown": "markdown", ".txt": "text"}


def render(fmt: str, report: dict[str, Any]) -> str:
    """The report in `fmt`; a renderer is imported only when asked for."""
    if fmt == "json":
        return json.dumps(report, indent=2, ensure_ascii=True) + "\n"
    module = importlib.import_module(f"logwatch.report.render_{fmt}")
    return str(getattr(module, f"render_{fmt}")(report))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="a forensic report (pflogsumm and more) on log files",
                       description=__doc__, add_help=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--help", action="help", help="show this help and exit")
    add_input_options(p, configured=True)
    add_config_option(p)
    p.add_argument("--format", dest="out_format", choices=FORMATS,
                   help="default: as --out's suffix says (.html, .json, .md), else text")
    p.add_argument("--out", default="-", help="file to write (default: stdout)")
    p.add_argument("--since", help="start of the period: ISO date or time (site zone "
                   "unless it says its own)")
    p.add_argument("--until", help="end of the period (exclusive), as --since")
    p.add_argument("-d", "--day", choices=("today", "yesterday"),
                   help="only this day of the site's zone (pflogsumm's -d)")
    p.add_argument("-h", dest="top_hosts", type=whole("lines", 0), default=50, metavar="N",
                   help="host/domain lines per table (pflogsumm's -h; default 50)")
    p.add_argument("-u", dest="top_users", type=whole("lines", 0), default=50, metavar="N",
                   help="sender/recipient lines per table (pflogsumm's -u; default 50)")
    p.add_argument("--details", type=whole("lines", 0), default=50, metavar="N",
                   help="lines per deferral/bounce/reject/problem table (default 50)")
    p.add_argument("--verp-mung", type=int, nargs="?", const=1, default=0, choices=(1, 2),
                   help="fold VERP sender addresses (pflogsumm's --verp-mung[=2])")
    p.add_argument("-i", "--ignore-case", action="store_true",
                   help="count addresses in any case as one (pflogsumm's -i; the domain "
                        "part always is)")
    p.add_argument("--problems-first", action="store_true",
                   help="rejects, problems and the security view before the traffic")
    p.add_argument("--no-alerts", action="store_true",
                   help="do not run the rules (faster; no alert timeline)")
    p.add_argument("--gap", type=positive("hours"), default=4.0, metavar="HOURS",
                   help="report quiet stretches in the input longer than this (default 4)")
    p.set_defaults(run=run)


def _format(args: argparse.Namespace) -> str:
    if args.out_format:
        return str(args.out_format)
    return _BY_SUFFIX.get(Path(args.out).suffix.lower(), "text") if args.out != "-" else "text"


def _instant(text: str, zone: ZoneInfo, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} {text!r}: not an ISO date or time "
                         "(2026-03-03, 2026-03-03T14:00, 2026-03-03T14:00+01:00)") from None
    return t if t.tzinfo else t.replace(tzinfo=zone)


def period(args: argparse.Namespace, zone: str,
           today: date | None = None) -> tuple[datetime | None, datetime | None]:
    """--since/--until, or the day of -d in the site's zone (`today` for tests)."""
    tz = ZoneInfo(zone)
    if args.day:
        if args.since or args.until:
            raise UsageError("-d and --since/--until: give one or the other")
        day = today or datetime.now(tz).date()
        if args.day == "yesterday":
            day -= timedelta(days=1)
        start = datetime.combine(day, time(), tz)
        return start, datetime.combine(day + timedelta(days=1), time(), tz)
    since = _instant(args.since, tz, "--since") if args.since else None
    until = _instant(args.until, tz, "--until") if args.until else None
    if since is not None and until is not None and since >= until:
        raise UsageError(f"--since {args.since} is not before --until {args.until}: "
                         "the period would be empty")
    return since, until


def run(args: argparse.Namespace) -> int:
    cfg, options = site_and_options(args)
    zone = options.zone
    since, until = period(args, zone)
    ropts = ReportOptions(since=since, until=until, zone=zone, top_hosts=args.top_hosts,
                          top_users=args.top_users, details=args.details,
                          verp=args.verp_mung, ignore_case=args.ignore_case,
                          problems_first=args.problems_first,
                          alerts=not args.no_alerts, gap_hours=args.gap)
    refuse_input_as_output(args.out, args.files)
    try:   # a bad --out is said now, not after minutes of reading
        out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror}") from None
    progress = Progress.for_terminal(args.files)
    try:
        report, errors = build_report(args.files, cfg, options, ropts, progress)
    finally:
        if progress is not None:
            progress.close()
    with out:
        out.write(render(_format(args), report))
    print_notes(report["coverage"]["warnings"])   # on stderr too, as the other commands
    print_errors(errors)
    return 2 if errors else 0
