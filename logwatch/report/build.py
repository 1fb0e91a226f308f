"""From log files to the report's content: one pass that parses, correlates, runs the
rules (for the alert timeline) and keeps what the sections need; then the figures.

The content is one JSON-able dict whose order and values depend only on the input, so
that a run on a Dask cluster can be compared byte for byte with a local one, and the
renderers (text, markdown, HTML) only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import reduce
from operator import getitem
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from logwatch import __version__
from logwatch.config import Config
from logwatch.detection import Observer, detect_files
from logwatch.parse.stats import SourceStats
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.report.collect import PROBLEMS, REPORT_COLUMNS, Collector
from logwatch.report.coverage import coverage
from logwatch.report.delays import delivery_delays
from logwatch.report.frames import address_key, frames_of
from logwatch.report.period import period_of
from logwatch.report.security import (alert_view, auth_view, content_filter_view,
                                      plaintext_refusals, postscreen_view, relay_attempts,
                                      relay_totals, top_clients)
from logwatch.report.tls import tls_coverage
from logwatch.report.totals import received_keys, sized_deliveries, totals
from logwatch.report.traffic import (REASON_WIDTH, SenderKey, bounces, connect_failures,
                                     deferrals, delivery_domains, delivery_transports,
                                     kind_stamps, problems, receipt_domains, reject_classes,
                                     reject_details, smtp_connections, top_users,
                                     traffic_per_day, traffic_per_hour, unsized)

__all__ = ["ReportOptions", "DETAIL_TABLES", "build_report"]

#: pflogsumm's per-table limits (--deferral-detail, --bounce-detail, --reject-detail,
#: --smtp-detail, --smtpd-warning-detail), by the tables they cut
DETAIL_TABLES = ("deferrals", "bounces", "rejects", "connect_failures", "warnings")


@dataclass
class ReportOptions:
    """pflogsumm's options: -h (host/domain lines), -u (user lines), the lines of each
    detail table (`details`, or the table's own in `detail_limits`), --verp-mung, -i
    (--ignore-case), -m (`uucp`), --rej-add-from, --verbose-msg-detail
    (`full_reasons`), --zero-fill, --no-no-msg-size (`unsized` False), and how the
    text is laid out (--problems-first, -q, --iso-date-time); the period, the zone of
    the buckets, and the alerts. None lines: all of them."""

    since: datetime | None = None
    until: datetime | None = None
    zone: str = "UTC"
    top_hosts: int | None = 50
    top_users: int | None = 50
    details: int | None = 50
    #: lines by DETAIL_TABLES name; a table not named takes `details`
    detail_limits: dict[str, int | None] = field(default_factory=dict)
    verp: int = 0
    ignore_case: bool = False
    uucp: bool = False
    rej_add_from: bool = False
    full_reasons: bool = False
    zero_fill: bool = False
    unsized: bool = True
    problems_first: bool = False
    quiet: bool = False
    iso_date_time: bool = False
    alerts: bool = True
    gap_hours: float = 4.0

    def __post_init__(self) -> None:
        unknown = set(self.detail_limits) - set(DETAIL_TABLES)
        if unknown:
            raise ValueError(f"detail_limits: no such table {sorted(unknown)}; "
                             f"known: {', '.join(DETAIL_TABLES)}")

    def lines(self, limit: str) -> int | None:
        """The lines `limit` allows: `top_hosts`, `top_users`, `details`, or a
        DETAIL_TABLES name (its own limit, else `details`)."""
        if limit in DETAIL_TABLES:
            return self.detail_limits.get(limit, self.details)
        lines: int | None = getattr(self, limit)
        return lines

    def added_from(self) -> SenderKey | None:
        """How --rej-add-from writes the sender it appends (as pflogsumm: VERP-folded
        with --verp-mung, all lower case with -i); None without it."""
        if not self.rej_add_from:
            return None
        return lambda s: address_key(s, self.verp, self.ignore_case)


def _us(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1_000_000)


def _read(files: list[str], cfg: Config, options: ParseOptions, ropts: ReportOptions,
          observe: Observer) -> tuple[list[dict[str, Any]] | None, list[SourceStats],
                                      list[str], list[str], list[str]]:
    """Read everything once; the alerts (None: rules not run), stats, errors, the
    warnings about the inputs together, notes."""
    if ropts.alerts:
        result = detect_files(files, cfg, options, observe=observe, columns=REPORT_COLUMNS)
        since, until = _us(ropts.since), _us(ropts.until)
        alerts = [a.as_dict() for a in result.detection.alerts
                  if (since is None or a.last_us >= since)
                  and (until is None or a.first_us < until)]
        return (alerts, result.stats, result.errors, result.warnings,
                list(result.detection.warnings))
    run = ParseRun(files, default_parsers(options.syslog_names),
                   replace(options, columns=REPORT_COLUMNS))
    for events, done in run.correlated():
        observe(events, done)
    return None, run.stats, run.errors, run.warnings, []


#: pflogsumm's Warnings, which --smtpd-warning-detail cuts: it lists a non-SMTP command
#: among them, our protocol errors
_WARNINGS = ("warning", "protocol_error")
#: The lists each limit cuts (`ReportOptions.lines`), by path.
_LIMITED: dict[str, tuple[tuple[str, ...], ...]] = {
    "top_hosts": (("delivery_domains",), ("delivery_transports",), ("receipt_domains",),
                  ("smtp_connections", "by_domain"),
                  ("security", "auth", "by_ip"), ("security", "auth", "by_username"),
                  ("security", "auth", "logins_by_username"),
                  ("security", "relay_attempts"), ("security", "plaintext_refusals", "by_ip"),
                  ("security", "postscreen", "by_ip"),
                  ("security", "top_clients")),
    "top_users": (("senders_by_count",), ("senders_by_size",), ("recipients_by_count",),
                  ("recipients_by_size",)),
    "details": (("messages_without_size",),
                *(("problems", kind) for kind in PROBLEMS if kind not in _WARNINGS)),
    "deferrals": (("deferrals",),), "bounces": (("bounces",),),
    "rejects": (("rejects",), ("reject_warnings",), ("held",), ("discarded",)),
    "connect_failures": (("connect_failures",),),
    "warnings": tuple(("problems", kind) for kind in _WARNINGS),
}
#: each detail list's limit
_LIMIT_OF = {path: limit for limit, paths in _LIMITED.items() for path in paths}


def _unasked(report: dict[str, Any], ropts: ReportOptions) -> None:
    """None for the lists an option asked for no lines of (`-h 0`): pflogsumm then leaves
    the section out, and so do the renderers, where [] would say there were none; and
    for the messages with no size data under --no-no-msg-size."""
    for limit, paths in _LIMITED.items():
        if ropts.lines(limit) == 0:
            for *parents, last in paths:
                reduce(getitem, parents, report)[last] = None
    if not ropts.unsized:
        report["messages_without_size"] = None


def _day(us: int, zone: str) -> date:
    return datetime.fromtimestamp(us / 1_000_000, ZoneInfo(zone)).date()


def _unlogged_sessions(report: dict[str, Any]) -> None:
    """Mark what an MTA that logs no SMTP sessions cannot tell: its session figures
    are unknown, not 0 (a postmaster reading "0 of 0 sessions used TLS" would believe
    something the log never said). No session seen though messages came in over SMTP
    (Exim's default log_selector, without +pid or +smtp_connection): TLS per session
    and plaintext logins; no connect line (Exim, Sendmail): connections
    (`smtp_connections` decides). Sessions seen whose TLS no line told are counted
    apart by `tls_coverage`."""
    inbound = report["security"]["tls"]["inbound"]
    inbound["sessions_logged"] = inbound["sessions"] > 0 or inbound["messages"] == 0
    if not report["smtp_connections"]["logged"]:
        for client in report["security"]["top_clients"]:
            client["connections"] = None


def build_report(files: list[str], cfg: Config, options: ParseOptions,
                 ropts: ReportOptions, progress: Observer | None = None
                 ) -> tuple[dict[str, Any], list[str]]:
    """The report's content, and the errors met reading the inputs; `progress` sees
    the blocks go by."""
    collector = Collector(default_parsers(), _us(ropts.since), _us(ropts.until),
                          int(ropts.gap_hours * 3600 * 1_000_000))

    def observe(events: pa.Table, messages: pa.Table) -> None:
        collector.observe(events, messages)
        if progress is not None:
            progress(events, messages)

    alerts, stats, errors, warnings, notes = _read(files, cfg, options, ropts, observe)
    collected = collector.finish()
    f = frames_of(collected, ropts.zone)
    sized = sized_deliveries(f, ropts.ignore_case, ropts.uucp)
    senders = received_keys(f, ropts.verp, ropts.ignore_case, ropts.uucp)
    stamps = kind_stamps(f, sized)
    firsts = [s.first for s in collected.spans if s.first is not None]
    lasts = [s.last for s in collected.spans if s.last is not None]
    days = (_day(min(firsts), ropts.zone), _day(max(lasts), ropts.zone)) \
        if ropts.zero_fill and firsts else None
    width = None if ropts.full_reasons else REASON_WIDTH

    def lines(*path: str) -> int | None:
        return ropts.lines(_LIMIT_OF[path])

    cover = coverage(stats, collected.spans, ropts.gap_hours, errors, warnings)
    clients, client_count = top_clients(f, ropts.top_hosts)
    period = period_of(_us(ropts.since), _us(ropts.until), ropts.zone, collected, stats)
    report: dict[str, Any] = {
        "generator": f"mail-logwatch {__version__}",
        "period": period,
        "totals": totals(f, sized, senders, unique=False),
        "totals_unique": totals(f, sized, senders, unique=True),
        "per_day": traffic_per_day(stamps, days),
        "per_hour": traffic_per_hour(stamps),
        "delivery_domains": delivery_domains(sized, ropts.top_hosts),
        "delivery_transports": delivery_transports(sized, ropts.top_hosts),
        "delivery_delays": delivery_delays(sized),
        "receipt_domains": receipt_domains(senders, ropts.top_hosts),
        **top_users(senders, sized, ropts.top_users),
        "messages_without_size": unsized(sized, lines("messages_without_size")),
        "deferrals": deferrals(sized, lines("deferrals"), width),
        "bounces": bounces(sized, lines("bounces"), width),
        **reject_details(f, lines("rejects"), width, ropts.added_from()),
        "reject_classes": reject_classes(f),
        "connect_failures": connect_failures(f, lines("connect_failures"), width),
        "smtp_connections": smtp_connections(f, ropts.top_hosts),
        "problems": problems(f, {kind: lines("problems", kind) for kind in PROBLEMS},
                             width),
        "security": {
            "auth": auth_view(f, ropts.top_hosts),
            "relay_attempts": relay_attempts(f, ropts.top_hosts),
            "relay_totals": relay_totals(f),
            "plaintext_refusals": plaintext_refusals(f, ropts.top_hosts),
            "postscreen": postscreen_view(f, ropts.top_hosts),
            "content_filter": content_filter_view(f, ropts.top_hosts),
            "alerts": alert_view(alerts),
            "tls": tls_coverage(collected, list(period["mtas"])),
            "top_clients": clients,
            "clients": client_count,
        },
        "coverage": cover,
        "notes": notes,
        "mailq": None,
        "problems_first": ropts.problems_first,
        "quiet": ropts.quiet,
        "iso_date_time": ropts.iso_date_time,
    }
    _unlogged_sessions(report)
    _unasked(report, ropts)
    return report, errors
