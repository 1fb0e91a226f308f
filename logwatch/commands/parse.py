"""`mail-logwatch parse FILE...`: the events (or messages) table, plus where every line went."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace

from logwatch.commands.amounts import whole
from logwatch.commands.say import print_errors, print_notes
from logwatch.errors import UsageError
from logwatch.explain import explain
from logwatch.output import refuse_input_as_output, writer_for
from logwatch.parse.clock import known_zone
from logwatch.parse.formats import FORMATS
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA
from logwatch.spool import as_asked, rereadable
from logwatch.stats_text import stats_text
from logwatch.sources.blocks import SalvagingReader
from logwatch.sources.opener import READ_ERRORS, open_source

__all__ = ["register", "run", "add_input_options", "syslog_word"]


def _stats_format(text: str) -> str:
    """--stats's optional format: a file name right after it is taken for one."""
    if text not in ("text", "json"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not text or json (a file name right after --stats is read as "
            "its format: put the files first, or write --stats=text)")
    return text


def _year(text: str) -> int:
    """A year a log line can have: a typo (20226) would run past what a date can hold."""
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year") from None
    if not 1900 <= year <= 9000:
        raise argparse.ArgumentTypeError(f"{year} is not a year of a log (1900 to 9000)")
    return year


def syslog_word(what: str) -> Callable[[str], str]:
    """An argparse type for a name a syslog line carries as one word (a host, a program's
    syslog_name): an empty one, or one with spaces, matches no line, and as the host
    column of a log without one it would be a row no query or rule can name."""
    def word(text: str) -> str:
        if not text or any(c.isspace() or not c.isprintable() for c in text):
            raise argparse.ArgumentTypeError(f"{text!r}: {what}, not empty and without "
                                             "spaces")
        return text
    return word


def add_input_options(p: argparse.ArgumentParser, configured: bool = False) -> None:
    """Options every command that reads logs shares; `configured`: the command reads a
    site config, whose zones come before the machine's (`site_and_options`)."""
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="log files (plain, .gz, .bz2, .xz, .zst) or - for stdin")
    p.add_argument("--year", type=_year, help="year of the first line of year-less stamps")
    p.add_argument("--tz", help="time zone of stamps without one (default: "
                   + ("the tz of the configured source the file is, else the config's "
                      "site.timezone, else the machine's)" if configured else "the machine's)"))
    p.add_argument("--log-format", dest="fmt", choices=FORMATS,
                   help="line format (default: detected per file)")
    p.add_argument("--host", type=syslog_word("a host name"),
                   help="host name for logs that have none (Exim's own files)")
    p.add_argument("-j", "--jobs", type=whole("processes", 1), default=os.cpu_count() or 1,
                   help="processes to parse with (default: one per core; 1 = this one)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where files (or parts of large ones) are parsed: local "
                        "processes, or a Dask cluster's workers (the dask extra)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("parse", help="parse logs into the events or messages table",
                       description=__doc__)
    add_input_options(p)
    p.add_argument("--table", choices=("events", "messages"), default="events")
    p.add_argument("--out", default="-",
                   help=".parquet, .jsonl, .csv, or - for JSON lines on stdout (default)")
    p.add_argument("--stats", nargs="?", const="text", type=_stats_format,
                   metavar="{text,json}",
                   help="print counts per MTA and event, inferred years and unknown lines "
                        "on stderr (text, or json for machines)")
    p.add_argument("--explain", action="store_true",
                   help="show, line by line, which pattern took each mail line and what it "
                        "extracted (like fail2ban-regex), instead of writing the table")
    p.set_defaults(run=run)


def options_from(args: argparse.Namespace) -> ParseOptions:
    if args.tz is not None and not known_zone(args.tz):
        raise UsageError(f"--tz {args.tz}: unknown time zone (use an IANA name such as "
                         "Europe/Berlin or UTC)")
    if (args.executor == "dask") != bool(args.scheduler):
        raise UsageError("--executor dask and --scheduler ADDRESS go together")
    if args.scheduler and args.year is not None:
        raise UsageError("--year walks from the first line of each rotation set to its "
                         "last, in one process: it does not go with --executor dask")
    return ParseOptions(year=args.year, tz=args.tz, fmt=args.fmt, host=args.host,
                        jobs=args.jobs, scheduler=args.scheduler)


def _read_all(name: str) -> bytes:
    """A whole (small) input; a damaged archive gives what precedes the damage, as the
    parse did (which has named the damage already)."""
    opened = open_source(name)
    stream = SalvagingReader(opened.stream) if opened.compression else opened.stream
    data = bytearray()
    try:
        while chunk := stream.read(1 << 20):
            data += chunk
    except READ_ERRORS:
        pass
    finally:
        opened.close()
    return bytes(data)


def _raw_lines(sources: list[str]) -> dict[tuple[str, int], str]:
    """Every line of the (small) inputs by (source, byte offset), for --explain."""
    out: dict[tuple[str, int], str] = {}
    for name in sources:
        offset = 0
        for raw in _read_all(name).split(b"\n"):
            out[(name, offset)] = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            offset += len(raw) + 1
    return out


def run(args: argparse.Namespace) -> int:
    refuse_input_as_output(args.out, args.files)
    parsers = default_parsers()
    # events need sessions only: no message is built that would not be written
    options = replace(options_from(args), messages=args.table == "messages" and not args.explain)
    if args.explain:   # the lines are read twice: a pipe is copied first (spool)
        with rereadable(args.files) as (names, asked):
            prun = ParseRun(names, parsers, options)
            rows = [r | {"source": as_asked(r["source"], asked)}
                    for events, _ in prun.correlated() for r in events.to_pylist()]
            lines = {(as_asked(s, asked), o): text for (s, o), text
                     in _raw_lines([s.source for s in prun.stats]).items()}
        explain(rows, lines, parsers, sys.stdout)
        print_notes([as_asked(w, asked) for w in prun.warnings])
        # an unreadable input is named here too, not only exit 2
        print_errors([as_asked(e, asked) for e in prun.errors])
        return 2 if prun.errors else 0
    prun = ParseRun(args.files, parsers, options)
    messages = args.table == "messages"
    writer = writer_for(args.out, MESSAGE_SCHEMA if messages else EVENT_SCHEMA)
    try:
        for events, done in prun.correlated():
            writer.write(done if messages else events)
    finally:
        writer.close()
    if args.stats == "json":
        report = {"sources": [s.as_dict() for s in prun.stats], "warnings": prun.warnings,
                  "errors": prun.errors}
        json.dump(report, sys.stderr, indent=2, default=str)
        sys.stderr.write("\n")
    elif args.stats:
        sys.stderr.write(stats_text(prun.stats))
    print_notes(prun.warnings)
    print_errors(prun.errors)
    return 2 if prun.errors else 0
