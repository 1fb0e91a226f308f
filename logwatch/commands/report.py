"""`mail-logwatch report FILE...`: what happened, since when, who was involved, how much
got out: pflogsumm's report for Postfix, Exim and Sendmail, with a security view and the
coverage of the input, as text, Markdown, HTML or JSON.

pflogsumm's options are taken with its meanings, so that its cron line runs with only
the command's name changed: `mail-logwatch report -d yesterday /var/log/mail.log
--problems-first --rej-add-from --verbose-msg-detail -q` (hence `--help` alone, as
pflogsumm: `-h` is its host/domain lines). Each long one may be spelt with `_` for `-`,
as pflogsumm allows (`--problems_first`).
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

from logwatch import __version__
from logwatch.commands.detect import add_config_option, site_and_options
from logwatch.commands.parse import add_input_options, syslog_word
from logwatch.commands.amounts import positive, whole
from logwatch.commands.say import print_errors, print_notes
from logwatch.errors import UsageError
from logwatch.output import refuse_input_as_output
from logwatch.progress import Progress
from logwatch.report.build import DETAIL_TABLES, ReportOptions, build_report
from logwatch.report.mailq import current_queue

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


#: lines of a host/domain or user table when neither -h/-u nor --detail says
_TOP = 50
#: pflogsumm's per-table limits, by the table each cuts (`DETAIL_TABLES`): its option,
#: the option pflogsumm deprecated for its 0, and what the table is
_PER_TABLE = {"deferrals": ("--deferral-detail", "--no-deferral-detail", "deferral detail"),
              "bounces": ("--bounce-detail", "--no-bounce-detail", "bounce detail"),
              "rejects": ("--reject-detail", "--no-reject-detail",
                          "reject, reject warning, hold and discard detail"),
              "connect_failures": ("--smtp-detail", None,
                                   "SMTP delivery failures (next hops not reached)"),
              "warnings": ("--smtpd-warning-detail", "--no-smtpd-warnings",
                           "warnings and SMTP protocol errors")}
_EXTENDED = ("pflogsumm's per-message listing is not in the report: `mail-logwatch parse "
             "FILE --table messages --out messages.jsonl` writes one row per message "
             "(sender, recipients, size, status), `mail-logwatch trace QUEUE_ID FILE` "
             "shows one message's lines")


class _Refused(argparse.Action):
    """An option of pflogsumm's the report does not have: refused at once, saying what
    to use instead, where accepting it would leave out what pflogsumm prints for it."""

    def __init__(self, option_strings: list[str], dest: str, instead: str = "",
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.instead = instead

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.error(f"{option_string}: {self.instead}")


def _pflogsumm(group: argparse._ArgumentGroup, *names: str, **kwargs: Any) -> None:
    """One of pflogsumm's options, also under the spelling with `_` for `-` it takes
    (`--problems_first`, as older tutorials write it), which --help does not repeat."""
    action = group.add_argument(*names, **kwargs)
    twins = ["--" + n[2:].replace("-", "_") for n in names
             if n.startswith("--") and "-" in n[2:]]
    if twins:
        group.add_argument(*twins, **kwargs | {"dest": action.dest, "help": argparse.SUPPRESS})


def _add_pflogsumm_options(g: argparse._ArgumentGroup) -> None:
    lines = whole("lines", 0)
    g.add_argument("-d", "--day", choices=("today", "yesterday"),
                   help="only this day of the site's zone")
    g.add_argument("-h", dest="top_hosts", type=lines, metavar="N",
                   help=f"host/domain lines per table (default: --detail, else {_TOP})")
    g.add_argument("-u", dest="top_users", type=lines, metavar="N",
                   help=f"sender/recipient lines per table (default: --detail, else {_TOP})")
    _pflogsumm(g, "--detail", type=lines, metavar="N",
               help="-h, -u and each --*-detail below that is not given (0: the summary "
                    "alone; the tables pflogsumm never cuts keep --details)")
    for table in DETAIL_TABLES:
        option, deprecated, what = _PER_TABLE[table]
        _pflogsumm(g, option, dest=f"{table}_lines", type=lines, metavar="N",
                   help=f"lines of {what} (default: --detail, else --details; 0: left out)")
        if deprecated:
            _pflogsumm(g, deprecated, dest=f"{table}_lines", action="store_const", const=0,
                       help=argparse.SUPPRESS)
    _pflogsumm(g, "-i", "--ignore-case", action="store_true",
               help="count addresses in any case as one (the domain part always is)")
    _pflogsumm(g, "--verp-mung", type=int, nargs="?", const=1, default=0, choices=(1, 2),
               help="fold VERP sender addresses (=2: also the recipient they encode)")
    _pflogsumm(g, "-m", "--uucp-mung", action="store_true",
               help="turn UUCP bang paths back into the addresses they came from "
                    "(gate!user@origin.dom)")
    _pflogsumm(g, "--rej-add-from", action="store_true",
               help="in reject detail, the sender beside each client or recipient refused")
    _pflogsumm(g, "--verbose-msg-detail", action="store_true",
               help="whole reasons in the detail tables (else cut at 100 characters)")
    _pflogsumm(g, "--problems-first", action="store_true",
               help="rejects, problems and the security view before the traffic")
    g.add_argument("-q", dest="quiet", action="store_true",
                   help="no heading for an empty table")
    _pflogsumm(g, "--zero-fill", action="store_true",
               help="a row of zeros for each day between the first and the last without "
                    "traffic (the columns are always all there)")
    _pflogsumm(g, "--iso-date-time", action="store_true",
               help="hours as 03:00-04:00 in the text (dates are always ISO 8601)")
    _pflogsumm(g, "--no-no-msg-size", dest="unsized", action="store_false",
               help='leave out "Messages with no size data"')
    _pflogsumm(g, "--smtpd-stats", action="store_true",
               help="accepted: the SMTPD connection statistics are always there")
    _pflogsumm(g, "--syslog-name", action="append", default=[], metavar="NAME",
               type=syslog_word("a syslog name as main.cf's syslog_name gives it (mta, "
                                "postfix-out)"),
               help="Postfix's syslog_name where it is not postfix or postfix-* "
                    "(NAME/smtpd lines); repeat for several")
    _pflogsumm(g, "--mailq", action="store_true",
               help="end with the queue as `mailq` (from PATH) lists it")
    g.add_argument("--version", action="version", version=f"mail-logwatch {__version__}")
    g.add_argument("-e", action=_Refused, instead=_EXTENDED,
                   help="refused, with what to use instead: parse --table messages "
                        "lists every message, trace one")


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
    p.add_argument("--details", type=whole("lines", 0), default=50, metavar="N",
                   help="lines per deferral/bounce/reject/problem table that pflogsumm's "
                        "options below give no limit of its own (default 50)")
    p.add_argument("--no-alerts", action="store_true",
                   help="do not run the rules (faster; no alert timeline)")
    p.add_argument("--gap", type=positive("hours"), default=4.0, metavar="HOURS",
                   help="report quiet stretches in the input longer than this (default 4)")
    _add_pflogsumm_options(p.add_argument_group(
        "pflogsumm's options", "with pflogsumm's meanings; each long one also with _ for -"))
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


def _given(value: int | None, otherwise: int | None) -> int | None:
    return otherwise if value is None else value


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The lines of each table, as pflogsumm's --detail sets -h, -u and its per-table
    limits, each given one overriding it; where neither says, -h and -u are 50 lines
    and the tables --details."""
    tables = {t: _given(getattr(args, f"{t}_lines"), args.detail) for t in DETAIL_TABLES}
    return {"top_hosts": _given(args.top_hosts, _given(args.detail, _TOP)),
            "top_users": _given(args.top_users, _given(args.detail, _TOP)),
            "details": args.details,
            "detail_limits": {t: n for t, n in tables.items() if n is not None}}


def run(args: argparse.Namespace) -> int:
    cfg, options = site_and_options(args)
    options.syslog_names = tuple(args.syslog_name)
    zone = options.zone
    since, until = period(args, zone)
    ropts = ReportOptions(since=since, until=until, zone=zone, **_limits(args),
                          verp=args.verp_mung, ignore_case=args.ignore_case,
                          uucp=args.uucp_mung, rej_add_from=args.rej_add_from,
                          full_reasons=args.verbose_msg_detail, zero_fill=args.zero_fill,
                          unsized=args.unsized, problems_first=args.problems_first,
                          quiet=args.quiet, iso_date_time=args.iso_date_time,
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
    if args.mailq:
        report["mailq"] = current_queue()
        errors += [report["mailq"]["error"]] if report["mailq"]["error"] else []
    with out:
        out.write(render(_format(args), report))
    print_notes(report["coverage"]["warnings"])   # on stderr too, as the other commands
    print_errors(errors)
    return 2 if errors else 0
