"""What a report keeps of each block: the narrow rows its sections are computed from.

A report reads months of archives, so it never holds the events table. Each block gives
up only the rows and columns some section needs (deliveries, rejects, auth lines, TLS
lines, problems, message lifetimes; sessions already folded to one span each), repeating
strings dictionary-encoded; the figures are computed once at the end, where deliveries
meet the sizes of their messages. Per-source time ranges and gaps are followed as the
blocks go by, over every line read whatever the period asked for: the coverage is the
inputs', and a period that holds none of their lines is told with their own times.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.alerts import rfc3339
from logwatch.output import REPEATING
from logwatch.columns import event_is, in_values, plain
from logwatch.correlate.lifetimes import rows_in_lifetimes
from logwatch.kept import joined, kept
from logwatch.parse.definitions import ParserSet
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA

__all__ = ["PROBLEMS", "UNLOGGED_SESSIONS", "UNTIMED_SESSIONS", "REPORT_COLUMNS", "Collected",
           "Collector", "SourceSpan", "iso"]

_DELIVERY = ["ts", "event", "mta", "host", "instance", "queue_id", "daemon", "recipient",
             "status", "delay", "relay", "relay_ip", "reason", "tls_protocol", "tls_cipher",
             "transport", "delay_before_qmgr", "delay_in_qmgr", "delay_conn_setup",
             "delay_transmission"]
#: a local delivery's bare user takes its accepted address's domain (see `_qualified`)
_QUALIFIER = "orig_recipient"
#: a refusal's message (host, instance, queue id), for the client Sendmail names later
_REJECT = ["ts", "event", "daemon", "reject_class", "reject_code", "reason", "client_ip",
           "sender", "recipient", "host", "instance", "queue_id"]
#: auth lines, and what tells a successful AUTH where no line says it: a message
#: received with a SASL username, a disconnect's `auth=N/M` counter (Postfix, Exim)
_AUTH = ["ts", "event", "client_ip", "sasl_username", "session", "pid", "auth_ok",
         "auth_tried", "auth_attempts", "mta", "daemon"]
#: TLS lines; received lines with TLS (by message: `host`, `instance`, `queue_id`); the
#: lines that show their session's TLS, with it or without (by `pattern`)
_TLS = ["event", "mta", "pattern", "daemon", "session", "host", "instance", "queue_id",
        "tls_protocol", "tls_cipher", "relay"]
_SESSION = ["ts", "event", "pattern", "daemon", "mta", "session", "client_ip", "client_name"]
_PROBLEM = ["event", "mta", "daemon", "reason"]
#: postscreen's verdicts and dnsblog's listings (`daemon` tells them apart)
_SCREEN = ["ts", "daemon", "client_ip", "reason"]
#: a content filter's verdicts (amavis), one row per recipient: `source` and `seq` tell
#: the rows of one line, which is one verdict
_FILTER = ["ts", "source", "seq", "client_ip", "sender", "recipient", "reason", "disposition",
           "actions"]
#: logins refused because they were offered in the clear (`refused_in_clear` patterns)
_IN_CLEAR = ["ts", "client_ip", "sasl_username"]
#: a delivery agent's failed connections to a next hop (`connect_failure` patterns)
_CONNECT_FAILURE = ["daemon", "relay", "relay_ip", "reason"]
#: a received line's message (its lifetime's origin tells one made here, `totals`)
_RECEIVED = ["ts", "host", "instance", "queue_id"]
_CONNECT = ["ts", "client_ip"]
_MESSAGE = ["host", "instance", "queue_id", "first_seen", "last_seen", "origin", "parent",
            "client_ip", "client_name", "sasl_username", "sender", "size", "tls_in"]
#: transactions whose recipients were all refused: no message, but the client of refusals
_REFUSED = ["host", "instance", "queue_id", "first_seen", "last_seen", "client_ip"]

#: The event columns a report reads (what a parallel worker must send back).
REPORT_COLUMNS = frozenset(_DELIVERY + _REJECT + _AUTH + _TLS + _SESSION + _PROBLEM
                           + _RECEIVED + _CONNECT + _SCREEN + _FILTER + _IN_CLEAR
                           + _CONNECT_FAILURE
                           + ["seq", "source", "offset", "nrcpt", "pattern", _QUALIFIER])

_REJECTS = ("reject", "reject_warning", "hold", "discard")
_AUTHS = ("auth_failure", "auth_success")
_SESSION_EVENTS = ("connect", "disconnect", "tls", "auth_failure", "auth_success", "received",
                   "reject", "lost_connection", "protocol_error")
#: What the report says where an MTA logged no SMTP connections (`build._unlogged_sessions`)
UNLOGGED_SESSIONS = ("Not logged: messages came in over SMTP but no connection was logged "
                     "(Exim logs them with log_selector = +smtp_connection, "
                     "Sendmail from LogLevel 10)")
#: What it says of the connections it counted but could not time (`smtp_connections`)
UNTIMED_SESSIONS = "not timed: no line says when they ended (Sendmail logs no disconnect)"
#: The problem sections, by event, with pflogsumm's titles. Protocol errors are Postfix's
#: `warning: non-SMTP command` and Exim's synchronization and syntax errors: pflogsumm
#: shows the first among its warnings, and no other section tells them. Lost
#: connections are logwatch's, by the command the client was at (many after AUTH: a
#: guesser hanging up). The daemon's starts, reloads and stops come last, as pflogsumm
#: lists them after the panics (a server restarted ten times in a day has a problem no
#: other line may tell).
PROBLEMS = {"warning": "Warnings", "protocol_error": "SMTP protocol errors",
            "lost_connection": "Lost connections (by the command the client was at)",
            "error": "Errors", "fatal": "Fatal Errors", "panic": "Panics",
            "daemon": "Master daemon messages"}
#: a hand-off (`queued as`, to a content filter or a smart host) is a delivery to pflogsumm
_DELIVERIES = ("delivery", "handoff")
#: one row per SMTP session: its span, whether it was seen to open and close, its client
_SPAN_AGGREGATES = [("ts_min", "min"), ("ts_max", "max"), ("connect", "any"),
                    ("disconnect", "any"), ("daemon", "first"), ("mta", "first"),
                    ("client_ip", "first"), ("client_name", "first")]
_SPAN_NAMES = ["session", "start", "end", "connected", "closed", "daemon", "mta",
               "client_ip", "client_name"]


@dataclass
class SourceSpan:
    """One input's time range, and the quiet stretches inside it longer than the gap."""

    source: str
    first: int | None = None          # microseconds since the epoch, UTC
    last: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Collected:
    """The narrow tables, whole; `figures` turns them into the report."""

    deliveries: pa.Table
    rejects: pa.Table
    auth: pa.Table
    tls: pa.Table
    sessions: pa.Table
    #: connect lines in no session (Exim with `[pid]`: the daemon's), to date sessions by
    connects: pa.Table
    screen: pa.Table
    filtered: pa.Table
    problems: pa.Table
    in_clear: pa.Table
    connect_failures: pa.Table
    received: pa.Table
    messages: pa.Table
    spans: list[SourceSpan]
    #: the first and last instant in the period, and its rows per MTA
    first: int | None = None
    last: int | None = None
    rows: Counter[str] = field(default_factory=Counter)


def iso(us: int | None) -> str | None:
    """Microseconds since the epoch as the alerts write instants (RFC 3339, UTC, `Z`):
    one spelling in a report; the site's zone decides only the day and hour buckets."""
    return None if us is None else rfc3339(us)


def _narrow(table: pa.Table, mask: pa.Array | None, columns: list[str]) -> pa.Table:
    """The rows of `mask` (all: None), with `columns`; strings that repeat (output's
    list: names, addresses, not ids or reasons) dictionary-encoded."""
    return kept(table.select(columns), mask, REPEATING)


def _qualified(events: pa.Table) -> pa.Table:
    """Recipients as addresses: Exim logs a local delivery as the user it reached
    (`=> carol <carol@example.com>`), which takes the domain of the address accepted,
    so that the report counts it under example.com as Postfix's `to=` would; a pipe or
    file it delivered to (`=> |/usr/bin/procmail <carol@example.com>`) is counted as the
    address accepted."""
    rcpt = plain(events.column("recipient"))
    orig = plain(events.column(_QUALIFIER))
    bare = pc.fill_null(pc.and_(pc.invert(pc.match_substring(rcpt, "@")),
                                pc.match_substring(orig, "@")), False)
    if not pc.any(bare).as_py():     # every recipient an address (all but Exim's)
        return events
    target = pc.fill_null(pc.match_substring_regex(rcpt, r"^[|/:]"), False)
    domain = pc.replace_substring_regex(orig, r"(?s)^.*@", "@")
    user = pc.if_else(target, orig, pc.binary_join_element_wise(rcpt, domain, ""))
    at = events.schema.get_field_index("recipient")
    return events.set_column(at, "recipient", pc.if_else(bare, user, rcpt))


def _queued(rows: pa.Table) -> pa.Array:
    """Not a transaction whose recipients were all refused: Sendmail gives it a queue
    id and logs its `from=` with `nrcpts=0`, but no message entered the queue."""
    return pc.fill_null(pc.not_equal(rows.column("nrcpt"), 0), True)


def _received_queued(rows: pa.Table) -> pa.Array:
    """Received lines of messages that entered the queue (a bounce made here among them:
    `totals.received_lines` leaves it out by its message's origin)."""
    return pc.and_(event_is(rows, "received"), _queued(rows))


def _tls_rows(events: pa.Table, showing: pa.Array) -> pa.Array:
    """TLS lines; messages received with their TLS (Exim's `X=` on `<=`, Sendmail's
    `tls_version=` on `from=`); and a session's lines of the patterns `showing` its TLS
    where it had any (Exim's `X=` on a message or a refusal: without it, the session was
    plaintext, and a session with none of them told nothing)."""
    received = pc.and_(event_is(events, "received"),
                       pc.is_valid(events.column("tls_protocol")))
    shown = pc.and_(pc.is_valid(events.column("session")),
                    in_values(events.column("pattern"), showing))
    return pc.or_(pc.or_(event_is(events, "tls"), received), shown)


def _auth_rows(events: pa.Table) -> pa.Array:
    """Auth lines, messages received after AUTH, and disconnects that counted AUTHs."""
    received = pc.and_(event_is(events, "received"), pc.is_valid(events.column("sasl_username")))
    counted = pc.and_(event_is(events, "disconnect"),
                      pc.fill_null(pc.greater(events.column("auth_tried"), 0), False))
    return pc.or_(event_is(events, *_AUTHS), pc.or_(received, counted))


def _session_rows(rows: pa.Table, ends: tuple[list[str], list[str]]) -> pa.Table:
    """A block's session rows in the shape of partial spans. A session is closed where
    the correlator ends one (`ParserSet.session_ends`): a disconnect, Exim's lost
    connection or its `SMTP call ... dropped`."""
    closes = pc.or_(event_is(rows, *ends[0]),
                    in_values(rows.column("pattern"), pa.array(ends[1], pa.string())))
    return pa.table({"session": rows.column("session"),
                     "ts_min": rows.column("ts"), "ts_max": rows.column("ts"),
                     "connect": event_is(rows, "connect"), "disconnect": closes,
                     "daemon": rows.column("daemon"), "mta": rows.column("mta"),
                     "client_ip": rows.column("client_ip"),
                     "client_name": rows.column("client_name")})


def _session_spans(rows: pa.Table) -> pa.Table:
    """Partial spans (a block's session rows, or the spans of many blocks) as one span
    per session."""
    rows = pa.table([plain(c) for c in rows.columns],
                    names=["session", "ts_min", "ts_max", "connect", "disconnect",
                           "daemon", "mta", "client_ip", "client_name"])
    spans = rows.group_by("session", use_threads=False).aggregate(_SPAN_AGGREGATES)
    return spans.select([f"{c}_{a}" for c, a in _SPAN_AGGREGATES] + ["session"]) \
        .rename_columns(_SPAN_NAMES[1:] + ["session"]).select(_SPAN_NAMES)


def _merged_spans(parts: list[pa.Table]) -> pa.Table:
    """Each block's spans as one span per session. Only a session cut by a block's end
    has spans in two blocks: those few are grouped again, not every session (a hash
    aggregation of a million spans was a second of a 5M-line report). Rows stay in the
    order of each session's first span, as grouping them all would give."""
    if not parts:
        return _session_spans(_session_rows(EVENT_SCHEMA.empty_table(), ([], [])))
    spans = pa.concat_tables(parts).combine_chunks()
    codes = pc.dictionary_encode(spans.column("session").combine_chunks()).indices.to_numpy(
        zero_copy_only=False)
    repeated = np.bincount(codes)[codes] > 1
    if not repeated.any():
        return spans
    rows = np.flatnonzero(repeated)
    merged = kept(_session_spans(spans.take(pa.array(rows))), None, REPEATING)
    _, first = np.unique(codes[rows], return_index=True)
    at = np.concatenate((np.flatnonzero(~repeated), rows[first]))
    whole = pa.concat_tables([spans.filter(pa.array(~repeated)), merged])
    return whole.take(pa.array(np.argsort(at, kind="stable")))


def _closing(spans: pa.Table, unclosed: pa.Array) -> pa.Table:
    """Spans with `closes`: whether their MTA logs the close of a session at all
    (Sendmail does not), so that one not seen to close is told from one the input's
    end cut."""
    return spans.append_column("closes", pc.invert(in_values(spans.column("mta"), unclosed)))


def _whole(parts: list[pa.Table], schema: pa.Schema, columns: list[str]) -> pa.Table:
    return joined(parts, pa.schema([schema.field(c) for c in columns]).empty_table())


def _with_message_clients(rejects: pa.Table, *lifetimes: pa.Table) -> pa.Table:
    """Refusals that name no client given their transaction's: Sendmail refuses a
    recipient on a line of its own and names the client on the `from=` line after it
    (the rules' enrichment does the same, so that the report's top clients and the
    alerts count one harvest alike)."""
    blind = pc.and_(pc.is_null(rejects.column("client_ip")),
                    pc.is_valid(rejects.column("queue_id")))
    rows = np.flatnonzero(blind.to_numpy(zero_copy_only=False))
    if not len(rows):
        return rejects
    known = pa.concat_tables([t.select(_REFUSED) for t in lifetimes],
                             promote_options="permissive")
    i, m = rows_in_lifetimes(rejects.take(pa.array(rows)), known)
    where = np.full(rejects.num_rows, -1, np.int64)
    where[rows[i]] = m
    client = pc.take(plain(known.column("client_ip")), pa.array(where, mask=where < 0))
    at = rejects.schema.get_field_index("client_ip")
    field_ = rejects.schema.field(at)
    filled = pc.coalesce(plain(rejects.column(at)), client)
    return rejects.set_column(at, field_, filled.cast(field_.type))


class Collector:
    """Keeps, block by block, what the report's sections are computed from.

    `parsers` tell which rows close a session, which refuse a login offered in the
    clear and which show their session's TLS. `since`/`until` (microseconds, UTC) bound
    the period: events outside it are dropped here (once their source's time range is
    followed), messages by their first line. `gap_us` is the quiet stretch worth
    reporting.
    """

    def __init__(self, parsers: ParserSet, since: int | None = None,
                 until: int | None = None, gap_us: int = 3600 * 1_000_000) -> None:
        self.since, self.until, self.gap_us = since, until, gap_us
        self.ends = parsers.session_ends()
        self._unclosed = pa.array(sorted(parsers.unclosed_sessions()), pa.string())
        self._in_clear = pa.array(sorted(parsers.patterns_with("refused_in_clear")),
                                  pa.string())
        self._connect_failures = pa.array(sorted(parsers.patterns_with("connect_failure")),
                                          pa.string())
        self._showing_tls = pa.array(sorted(parsers.patterns_with("shows_session_tls")),
                                     pa.string())
        self._parts: dict[str, list[pa.Table]] = {k: [] for k in (
            "deliveries", "rejects", "auth", "tls", "sessions", "connects", "screen",
            "filtered", "problems", "in_clear", "connect_failures", "received", "messages",
            "refused")}
        self._spans: dict[str, SourceSpan] = {}
        self._first: int | None = None
        self._last: int | None = None
        self._rows: Counter[str] = Counter()

    def _in_period(self, ts: pa.ChunkedArray) -> pa.Array | None:
        conds = []
        if self.since is not None:
            conds.append(pc.greater_equal(ts, pa.scalar(self.since, pa.timestamp("us", "UTC"))))
        if self.until is not None:
            conds.append(pc.less(ts, pa.scalar(self.until, pa.timestamp("us", "UTC"))))
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else pc.and_(*conds)

    def observe(self, events: pa.Table, messages: pa.Table) -> None:
        """Take what the report needs from one block of events and finished messages."""
        if events.num_rows:
            self._follow_spans(events)
            period = self._in_period(events.column("ts"))
            if period is not None:
                events = events.filter(period)
            self._observe_events(events)
        if messages.num_rows:
            period = self._in_period(messages.column("first_seen"))
            if period is not None:
                messages = messages.filter(period)
            queued = _queued(messages)
            self._parts["messages"].append(_narrow(messages, queued, _MESSAGE))
            refused = pc.and_(pc.invert(queued), pc.is_valid(messages.column("client_ip")))
            self._parts["refused"].append(_narrow(messages, refused, _REFUSED))

    def _observe_events(self, events: pa.Table) -> None:
        if not events.num_rows:
            return
        self._count(events)
        parts = self._parts
        deliveries = events.select(_DELIVERY + [_QUALIFIER]).filter(
            event_is(events, *_DELIVERIES))
        parts["deliveries"].append(_narrow(_qualified(deliveries), None, _DELIVERY))
        parts["rejects"].append(_narrow(events, event_is(events, *_REJECTS), _REJECT))
        parts["auth"].append(_narrow(events, _auth_rows(events), _AUTH))
        parts["tls"].append(_narrow(events, _tls_rows(events, self._showing_tls), _TLS))
        in_session = pc.and_(pc.is_valid(events.column("session")),
                             event_is(events, *_SESSION_EVENTS))
        parts["sessions"].append(kept(_session_spans(_session_rows(
            events.select(_SESSION).filter(in_session), self.ends)), None, REPEATING))
        parts["connects"].append(_narrow(events, pc.and_(
            event_is(events, "connect"), pc.is_null(events.column("session"))), _CONNECT))
        parts["screen"].append(_narrow(events, event_is(events, "screen"), _SCREEN))
        parts["filtered"].append(_narrow(events, event_is(events, "filter"), _FILTER))
        parts["problems"].append(_narrow(events, event_is(events, *PROBLEMS), _PROBLEM))
        parts["in_clear"].append(_narrow(events, in_values(events.column("pattern"),
                                                           self._in_clear), _IN_CLEAR))
        parts["connect_failures"].append(_narrow(events, in_values(
            events.column("pattern"), self._connect_failures), _CONNECT_FAILURE))
        parts["received"].append(_narrow(events, _received_queued(events), _RECEIVED))

    def _count(self, events: pa.Table) -> None:
        """The period's first and last instant and its rows per MTA: what the report's
        header says it stands on (the coverage tells the inputs whole)."""
        low, high = pc.min_max(events.column("ts").cast(pa.int64())).as_py().values()
        if low is not None:
            self._first = low if self._first is None else min(self._first, low)
            self._last = high if self._last is None else max(self._last, high)
        for row in pc.value_counts(events.column("mta")).to_pylist():
            if row["values"] is not None:
                self._rows[row["values"]] += row["counts"]

    def _follow_spans(self, events: pa.Table) -> None:
        """Per source: first and last instant, and the gaps between consecutive lines."""
        view = pa.table({"source": plain(events.column("source")),
                         "seq": events.column("seq"),
                         "ts": events.column("ts").cast(pa.int64())})
        for name in pc.unique(view.column("source")).to_pylist():
            rows = view.filter(pc.equal(view.column("source"), name))
            seq = rows.column("seq").to_numpy()
            if len(seq) > 1 and (seq[1:] < seq[:-1]).any():   # blocks come in line order
                rows = rows.sort_by("seq")
            ts = rows.column("ts").to_numpy()
            span = self._spans.setdefault(name, SourceSpan(name))
            if span.last is not None:
                prev = span.last
            else:
                prev = int(ts[0])
                span.first = prev
            diffs = ts[1:] - ts[:-1]
            if int(ts[0]) - prev > self.gap_us:
                span.gaps.append((prev, int(ts[0])))
            for i in (diffs > self.gap_us).nonzero()[0]:
                span.gaps.append((int(ts[i]), int(ts[i + 1])))
            span.last = int(ts[-1])

    def finish(self) -> Collected:
        p = self._parts
        messages = _whole(p["messages"], MESSAGE_SCHEMA, _MESSAGE)
        return Collected(
            deliveries=_whole(p["deliveries"], EVENT_SCHEMA, _DELIVERY),
            rejects=_with_message_clients(_whole(p["rejects"], EVENT_SCHEMA, _REJECT), messages,
                                          _whole(p["refused"], MESSAGE_SCHEMA, _REFUSED)),
            auth=_whole(p["auth"], EVENT_SCHEMA, _AUTH),
            tls=_whole(p["tls"], EVENT_SCHEMA, _TLS),
            sessions=_closing(_merged_spans(p["sessions"]), self._unclosed),
            connects=_whole(p["connects"], EVENT_SCHEMA, _CONNECT),
            screen=_whole(p["screen"], EVENT_SCHEMA, _SCREEN),
            filtered=_whole(p["filtered"], EVENT_SCHEMA, _FILTER),
            problems=_whole(p["problems"], EVENT_SCHEMA, _PROBLEM),
            in_clear=_whole(p["in_clear"], EVENT_SCHEMA, _IN_CLEAR),
            connect_failures=_whole(p["connect_failures"], EVENT_SCHEMA, _CONNECT_FAILURE),
            received=_whole(p["received"], EVENT_SCHEMA, _RECEIVED),
            messages=messages,
            spans=list(self._spans.values()),
            first=self._first, last=self._last, rows=self._rows)
