"""`mail-logwatch detect FILE...`: run the rules over log files as one batch.

One JSON object per alert on stdout (a stable format: README, "Detecting"), or text for a
person; notes (inferred local domains, rules that cannot see something) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from logwatch.alert_text import alerts_text
from logwatch.alerts import Alert
from logwatch.commands.parse import add_input_options, options_from
from logwatch.commands.say import print_errors, print_notes
from logwatch.config import DEFAULT_PATH, Config, load_config
from logwatch.errors import ConfigError, UsageError
from logwatch.detection import detect_files
from logwatch.pipeline import ParseOptions
from logwatch.spool import as_asked, rereadable
from logwatch.sources.rotation import rotation_key

__all__ = ["register", "run", "config_from", "print_alerts", "add_config_option",
           "site_and_options", "site_config_path"]

EXIT_OK, EXIT_ALERTS, EXIT_USAGE = 0, 1, 2


def print_alerts(alerts: list[dict[str, Any]], notes: list[str]) -> None:
    """Alerts as JSON lines on stdout (the contract), notes on stderr. ASCII: log text
    holds C1 controls and bidi overrides, and these lines end up on terminals and in
    cron mail; as `\\u009b` they are shown, and a JSON reader gets them back as they were."""
    for alert in alerts:
        sys.stdout.write(json.dumps(alert, ensure_ascii=True) + "\n")
    print_notes(notes)


def config_from(path: str | None) -> Config:
    """--config, else the default file when there is one, else the built-in defaults."""
    if path is not None:
        return load_config(Path(path))
    if DEFAULT_PATH.is_file():
        print(f"mail-logwatch: using {DEFAULT_PATH}", file=sys.stderr)
        return load_config(DEFAULT_PATH)
    return load_config(None)


def site_config_path(given: str | None) -> str:
    """The config of a command that acts for a site (run, follow, alerts): --config, or
    the default file. Without either there are no sources to read and no state to
    keep, and the built-in defaults would only make that look like a quiet day."""
    if given is not None:
        return given
    if DEFAULT_PATH.is_file():
        return str(DEFAULT_PATH)
    raise ConfigError(f"no --config given and no {DEFAULT_PATH}: this command needs the "
                      "site's configuration (its sources and state_dir)")


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help=f"site configuration (default: {DEFAULT_PATH} if "
                   "present): local domains, zone, rules")


def site_and_options(args: argparse.Namespace) -> tuple[Config, ParseOptions]:
    """The config, and the input options: what every command that reads logs for a
    site starts from. A file named on the command line that is a configured source's
    log (or a rotation of it) is read as `run` reads it, with the source's `tz`,
    `format` and `host`; any other with the site's zone; --tz, --log-format and --host
    say otherwise. So a file has the same times whichever command reads it."""
    cfg = config_from(args.config)
    options = options_from(args)
    sources = {_log_of(str(s.path)): s for s in cfg.sources if s.path is not None}
    ways: dict[str, tuple[str | None, str | None, str | None]] = {}
    for name in args.files:
        src = sources.get(_log_of(name))
        ways[name] = (args.tz or (src.tz if src else None) or cfg.site.timezone,
                      args.fmt or (src.format if src else None),
                      args.host or (src.host if src else None))
    if len(set(ways.values())) > 1:   # one run reads all its files in one zone and format
        said = "; ".join(f"{name}: " + (", ".join(f"{what} {value}" for what, value in zip(
            ("tz", "format", "host"), way) if value) or "the machine's zone")
            for name, way in ways.items())
        raise UsageError(f"these files are configured to be read differently ({said}): "
                         "give them one command each, or --tz, --log-format, --host")
    if ways:
        options.tz, options.fmt, options.host = next(iter(ways.values()))
    return cfg, options


def _log_of(name: str) -> str:
    """The log a file is or is a rotation of, as a configured source names it."""
    return rotation_key(os.path.realpath(name))[0] if name != "-" else name


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("detect", help="run the rules over log files and print alerts",
                       description=__doc__)
    add_input_options(p, configured=True)
    add_config_option(p)
    p.add_argument("--format", dest="out_format", choices=("jsonl", "text"), default="jsonl")
    p.add_argument("--fail-on-alert", action="store_true",
                   help="exit 1 when any alert was raised")
    p.set_defaults(run=run)


def _named_as_asked(alert: Alert, asked: dict[str, str]) -> Alert:
    """`alert` with the spool copies of its sources named as the inputs were."""
    return replace(alert, sources=[as_asked(s, asked) for s in alert.sources],
                   evidence=[replace(e, source=as_asked(e.source, asked))
                             for e in alert.evidence])


def run(args: argparse.Namespace) -> int:
    """The evidence lines are read again after the rules ran: a pipe, a FIFO or `-`
    (`journalctl -o json | mail-logwatch detect -`, `detect <(zcat mail.log.2.gz)`) is
    copied first, or every alert's lines would be "(not readable again)"."""
    cfg, options = site_and_options(args)
    with rereadable(args.files) as (names, asked):
        result = detect_files(names, cfg, options)
    alerts = [_named_as_asked(a, asked) for a in result.detection.alerts]
    notes = [as_asked(n, asked) for n in result.notes]
    if args.out_format == "text":
        sys.stdout.write(alerts_text(alerts))
        print_notes(notes)
    else:
        print_alerts([a.as_dict() for a in alerts], notes)
    print_errors([as_asked(e, asked) for e in result.errors])
    if result.errors:
        return EXIT_USAGE
    return EXIT_ALERTS if args.fail_on_alert and alerts else EXIT_OK
