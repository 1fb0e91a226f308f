"""Every line and message that touches one queue id, address, IP or Message-ID (or
every one of a domain, a network or a SASL user), or that has a line a regular
expression or a piece of text matches as it is written (exigrep's own mode).

What exigrep and collate.pl do, for all three MTAs and across hand-offs: the messages the
query names are closed over their parents and children (content-filter `queued as`,
bounces, forwards, Sendmail's submission queue), transitively, and over the SMTP
sessions they arrived in; then every line of those lifetimes and sessions comes out, in
time order, with the text read back from its source.

Months of archives do not fit in memory as events, and the lines that link a message to
what it touches come in any order (a child's lifetime can end before its parent's, a part
parsed in another process is joined late), so the input is read twice. The first pass
keeps the key columns of every message (its lifetime, parent and session: a hundred bytes
or so each), of the lines that match and of the few lines of a message logged in a
session of their own; the closure is computed from those alone. The second pass keeps
the full rows of what the closure names. Both filter whole blocks with pyarrow.compute.
A regex or text query matches the lines' text, which events do not keep: the inputs are
read raw once before (`grep`), and a line found there is a matching line as one naming
an address is, bringing its message, its session and the rest of an unqueued id.

A session brings its lines that belong to no other message: a Postfix session that sent
thirty messages shows its connect, AUTH and disconnect with the traced one, not the other
twenty-nine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain, to_numpy
from logwatch.correlate.lifetimes import KEY as LIFETIME_KEY
from logwatch.correlate.lifetimes import parents_of, rows_in_lifetimes
from logwatch.errors import UsageError
from logwatch.evidence import LineRef, read_lines
from logwatch.grep import LineMatches, grep
from logwatch.parse.definitions import ParserSet
from logwatch.parse.fields import ip_text, strip_brackets
from logwatch.pipeline import ParseOptions, ParseRun
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA

__all__ = ["KINDS", "LINE_KINDS", "Query", "Trace", "parse_query", "trace_files"]

#: Kinds matched against a line's text as written, not against the fields parsed from it
LINE_KINDS = ("regex", "text")
KINDS = ("ip", "address", "message-id", "queue-id", "domain", "network", "user", *LINE_KINDS)

#: Queue ids of the three MTAs (Postfix short and long, Exim old and new, Sendmail) and
#: of anything shaped like them: letters, digits and dashes.
_QUEUE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")

_SEP = "\x1f"


@dataclass(frozen=True)
class Query:
    """A normalised value and the kinds it is looked for as. A bare `local@domain` can be
    an address or a Message-ID without its brackets: both, unless the user said which.
    `<local@domain>` is a Message-ID, as headers write one; but the logs bracket their
    addresses too (`from=<alice@example.com>`), so when no line has it as a Message-ID
    it is looked for as the `fallback` kinds instead (an address), and the trace says so:
    a pasted `from=<...>` is not a silent miss, and a Message-ID that is there is never
    mixed with a mailbox of the same spelling.

    A regex or text query ignores case unless `case_sensitive`, as exigrep does (and
    its -I); `lines` holds the lines it matches once the inputs were read (`matching`)."""

    value: str
    kinds: tuple[str, ...]
    fallback: tuple[str, ...] = ()
    case_sensitive: bool = False
    lines: LineMatches = field(default_factory=LineMatches, compare=False, repr=False)

    def instead(self) -> Query:
        """The query as its fallback kinds."""
        return Query(self.value, self.fallback)

    def line_mask(self, lines: pa.Array) -> pa.Array:
        """Which of `lines` (text as written) a regex or text query matches."""
        match = pc.match_substring_regex if self.kinds == ("regex",) else pc.match_substring
        return match(lines, self.value, ignore_case=not self.case_sensitive)

    def matching(self, names: list[str]) -> Query:
        """The query ready for the passes over `names`: a regex or text query with the
        lines of theirs it matches, any other as it is."""
        if not set(self.kinds) & set(LINE_KINDS):
            return self
        return replace(self, lines=grep(names, self.line_mask))

    def event_mask(self, events: pa.Table) -> pa.Array:
        """Rows of `events` that name the value, or whose line it matches."""
        masks = [m for kind in self.kinds for m in self._event_masks(kind, events)]
        return _any(masks, events.num_rows)

    def message_mask(self, messages: pa.Table) -> pa.Array:
        """Rows of the messages table that name the value."""
        masks = [m for kind in self.kinds for m in self._message_masks(kind, messages)]
        return _any(masks, messages.num_rows)

    def _event_masks(self, kind: str, t: pa.Table) -> list[pa.Array]:
        if kind == "ip":
            return [pc.equal(t["client_ip"], self.value), pc.equal(t["relay_ip"], self.value)]
        if kind == "network":
            return [self._in_network(t["client_ip"]), self._in_network(t["relay_ip"])]
        if kind in ("address", "domain"):
            return [self._address(kind, t[c]) for c in ("sender", "recipient", "orig_recipient")]
        if kind == "message-id":
            return [pc.equal(t["message_id"], self.value)]
        if kind == "user":
            return [self._user(t["sasl_username"])]
        if kind in LINE_KINDS:
            return [self.lines.mask(t)]
        return [pc.equal(t[c], self.value)
                for c in ("queue_id", "child_queue_id", "parent_queue_id")]

    def _message_masks(self, kind: str, t: pa.Table) -> list[pa.Array]:
        if kind == "ip":
            return [pc.equal(t["client_ip"], self.value)]
        if kind == "network":
            return [self._in_network(t["client_ip"])]
        if kind in ("address", "domain"):
            return [self._address(kind, t["sender"]), self._in_list(kind, t["recipients"]),
                    self._in_list(kind, t["orig_recipients"])]
        if kind == "message-id":
            return [pc.equal(t["message_id"], self.value)]
        if kind == "user":
            return [self._user(t["sasl_username"])]
        if kind in LINE_KINDS:   # no text here: the lines that match bring their messages
            return []
        return [pc.equal(t["queue_id"], self.value)]

    def _address(self, kind: str, col: pa.ChunkedArray | pa.Array) -> pa.Array:
        """The address (or any of the domain, as `value` holds it: lower case) in any
        case: RFC 5321 leaves a local part's case to its host, and the hosts fold it
        (Postfix's lookups, Exim's caseless local parts); a trace of `jane.doe@x` that
        missed `Jane.Doe@X` would hide what `grep -i` finds."""
        lower = pc.utf8_lower(col)
        if kind == "domain":
            return pc.ends_with(lower, "@" + self.value)
        return pc.equal(lower, self.value.lower())

    def _user(self, col: pa.ChunkedArray | pa.Array) -> pa.Array:
        """A SASL username in any case, as Dovecot's and most backends' lookups take it."""
        return pc.equal(pc.utf8_lower(col), self.value.lower())

    def _in_network(self, col: pa.ChunkedArray | pa.Array) -> pa.Array:
        """Addresses in the network `value`, asked once per distinct address."""
        net = ipaddress.ip_network(self.value)
        enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray)
                                   else col)
        inside = [(ip := _as_ip(v)) is not None and ipaddress.ip_address(ip) in net
                  for v in enc.dictionary.to_pylist()]
        return pc.take(pa.array(inside, pa.bool_()), enc.indices)

    def _in_list(self, kind: str, col: pa.ChunkedArray) -> pa.Array:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        hit = pc.fill_null(self._address(kind, pc.list_flatten(col)), False)
        rows = pc.list_parent_indices(col).to_numpy(zero_copy_only=False)
        mask = np.zeros(len(col), bool)
        mask[rows[hit.to_numpy(zero_copy_only=False)]] = True
        return pa.array(mask)


def _any(masks: list[pa.Array], n: int) -> pa.Array:
    out = pa.array(np.zeros(n, bool))
    for m in masks:
        out = pc.or_(out, pc.fill_null(m, False))
    return out


def _as_ip(text: str) -> str | None:
    """The address as `client_ip` holds it, or None when `text` is not one."""
    norm = ip_text(text)
    try:
        ipaddress.ip_address(norm or "")
    except ValueError:
        return None
    return norm


def _network(text: str) -> Query:
    try:
        return Query(str(ipaddress.ip_network(ip_text(text) if "/" not in text else text,
                                              strict=False)), ("network",))
    except ValueError:
        raise UsageError(f"trace: {text!r} is not a network (198.51.100.0/24, "
                         "2001:db8:7c::/48)") from None


def _domain(text: str) -> Query:
    domain = text.removeprefix("@").lower()
    if not domain or "@" in domain:
        raise UsageError(f"trace: {text!r} is not a domain (@example.com)")
    return Query(domain, ("domain",))


def _line_query(text: str, kind: str, case_sensitive: bool) -> Query:
    """A pattern as given, spaces and all (`' rejected '`), refused before any file is
    read when RE2 cannot read it. RE2 is Perl's syntax less look-around and
    back-references, and takes linear time whatever the pattern."""
    if not text:
        raise UsageError("trace: the query is empty")
    query = Query(text, (kind,), case_sensitive=case_sensitive)
    try:
        query.line_mask(pa.array([""]))
    except pa.ArrowInvalid as exc:
        complaint = str(exc).removeprefix("Invalid regular expression: ")
        raise UsageError(f"trace: --kind regex {text!r}: RE2 cannot read it ({complaint}); "
                         "it has no look-around or back-references, and --kind text looks "
                         "for the text as written") from None
    return query


def parse_query(text: str, kind: str | None = None, case_sensitive: bool = False) -> Query:
    """What the user asked for: `kind` when given, else told by the value's shape (a
    network has its `/` and no `@`, a domain its leading `@`). A regex or a text is never guessed:
    most words would be one. `case_sensitive` is for those two, whose matches ignore
    case by default; every other kind has its own rule for case."""
    if kind in LINE_KINDS:
        return _line_query(text, kind, case_sensitive)
    if case_sensitive:
        raise UsageError("trace: --case-sensitive is for --kind regex and --kind text")
    text = text.strip()
    # a network has its `/`, but so may a Message-ID (Gmail's `<CAF+ab/cd=EF@...>`) or an
    # address's local part: one with an `@` is neither a network nor a domain
    if kind == "network" or (kind is None and "/" in text and "@" not in text):
        return _network(text)
    if kind == "domain" or (kind is None and text.startswith("@")):
        return _domain(text)
    if kind == "user":
        if not text:
            raise UsageError("trace: the query is empty")
        return Query(text, ("user",))
    unbracketed = strip_brackets(pa.array([text]))[0].as_py() or ""
    ip = _as_ip(text)
    if kind == "ip" or (kind is None and ip is not None):
        if ip is None:
            raise UsageError(f"trace: {text!r} is not an IP address")
        return Query(ip, ("ip",))
    if kind == "address" and "@" not in unbracketed:
        raise UsageError(f"trace: {text!r} is not an address (local@domain)")
    if kind is not None:
        if not unbracketed:
            raise UsageError("trace: the query is empty")
        return Query(unbracketed if kind != "queue-id" else text, (kind,))
    bracketed = text.startswith("<") and text.endswith(">") and bool(unbracketed)
    if bracketed:
        return Query(unbracketed, ("message-id",), ("address",) if "@" in unbracketed else ())
    if "@" in unbracketed:
        return Query(unbracketed, ("address", "message-id"))
    if _QUEUE_ID.fullmatch(text):
        return Query(text, ("queue-id",))
    raise UsageError(f"trace: cannot tell what {text!r} is (an IP address, an address, a "
                     "Message-ID, a queue id, @domain or a network/prefix?): say it with "
                     "--kind (a SASL username: --kind user; any part of a line: --kind "
                     "text, or --kind regex for a regular expression)")


def _key(*cols: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """One string per row from key columns (null parts as empty)."""
    return pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in cols], _SEP)


def _lifetime_key(t: pa.Table) -> pa.ChunkedArray | pa.Array:
    return _key(t["host"], t["instance"], t["queue_id"])


def _us(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.cast(col, pa.int64())


#: Message columns pass 1 keeps: what the closure needs and nothing else.
_NARROW_MESSAGES = ["host", "instance", "queue_id", "first_seen", "last_seen", "parent",
                    "session"]
_NARROW_EVENTS = ["host", "instance", "queue_id", "session", "ts"]


def _concat(parts: list[pa.Table], empty: pa.Table) -> pa.Table:
    return pa.concat_tables(parts) if parts else empty


@dataclass
class _Index:
    """Pass 1: the key columns of every message, of the lines that match, and of the
    lines of a message that are in a session other than its received line's (Sendmail
    delivers from a process of its own, whose STARTTLS=client line has no queue id).
    The matches are kept for each of `queries` (a query and its fallback): the messages
    once, with a hit column per query."""

    queries: list[Query]
    messages: list[pa.Table] = field(default_factory=list)
    sessions: list[pa.Table] = field(default_factory=list)
    seeds: list[list[pa.Table]] = field(init=False)

    def __post_init__(self) -> None:
        self.seeds = [[] for _ in self.queries]

    def add(self, events: pa.Table, done: pa.Table) -> None:
        if events.num_rows:
            narrow = events.select(_NARROW_EVENTS)
            for query, seeds in zip(self.queries, self.seeds):
                seeds.append(narrow.filter(query.event_mask(events)))
            in_session = pc.and_(pc.and_(pc.is_valid(events["queue_id"]),
                                         pc.is_valid(events["session"])),
                                 pc.not_equal(events["event"].cast(pa.string()), "received"))
            self.sessions.append(narrow.filter(in_session))
        if done.num_rows:
            narrow = done.select(_NARROW_MESSAGES)
            for i, query in enumerate(self.queries):
                narrow = narrow.append_column(f"hit{i}", query.message_mask(done))
            self.messages.append(narrow)

    def closure(self, i: int) -> _Closure:
        """The closure of the i-th query."""
        no_events = EVENT_SCHEMA.empty_table().select(_NARROW_EVENTS)
        no_messages = MESSAGE_SCHEMA.empty_table().select(_NARROW_MESSAGES)
        for j in range(len(self.queries)):
            no_messages = no_messages.append_column(f"hit{j}", pa.array([], pa.bool_()))
        messages = _concat(self.messages, no_messages)
        messages = messages.select(_NARROW_MESSAGES).append_column("hit", messages[f"hit{i}"])
        return _close(messages, _concat(self.seeds[i], no_events),
                      _concat(self.sessions, no_events))


@dataclass
class _Closure:
    """What pass 2 keeps: these lifetimes' lines, these sessions' lines (those of no other
    message), and the lines that match."""

    lifetimes: pa.Table          # host, instance, queue_id, first_seen, last_seen
    message_keys: pa.Array       # lkey + first_seen: the messages table rows to keep
    sessions: pa.Array
    queue_ids: pa.Array          # host + queue id of the messages and of matching lines
    matching_lines: int
    #: host + queue id of the matching lines in no message (Exim's `rejected after DATA`:
    #: an id refused before it was queued), with the span of their lines (`ts_min`,
    #: `ts_max`, microseconds): their other lines come too
    unqueued: pa.Table

    @property
    def empty(self) -> bool:
        return not (len(self.message_keys) or self.matching_lines)


def _tree(seed: np.ndarray, child: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """The messages linked to a seed through any chain of parents and children."""
    member = seed.copy()
    while True:   # as many rounds as the tree is deep
        linked = member[child] | member[parent]
        grown = member.copy()
        grown[child[linked]] = True
        grown[parent[linked]] = True
        if (grown == member).all():
            return member
        member = grown


def _close(messages: pa.Table, seeds: pa.Table, session_lines: pa.Table) -> _Closure:
    """The messages the query names or that hold a matching line, with their ancestors
    and descendants: the message tree; its sessions and ids, and the matching lines'."""
    seed = to_numpy(messages["hit"]).astype(bool)
    seeded = seeds.filter(pc.is_valid(seeds["queue_id"]))
    seed[rows_in_lifetimes(seeded, messages)[1]] = True
    member = _tree(seed, *parents_of(messages))
    which = pa.array(np.flatnonzero(member))
    chosen = messages.take(which)
    in_member, _ = rows_in_lifetimes(session_lines, chosen)
    sessions = pa.concat_arrays([
        pc.drop_null(chosen["session"]).combine_chunks(),
        pc.drop_null(seeds["session"]).combine_chunks(),
        session_lines["session"].take(pa.array(in_member)).combine_chunks()])
    queue_ids = pa.concat_arrays([_key(chosen["host"], chosen["queue_id"]).combine_chunks(),
                                  _key(seeded["host"], seeded["queue_id"]).combine_chunks()])
    queued = np.zeros(seeded.num_rows, bool)
    queued[rows_in_lifetimes(seeded, chosen)[0]] = True
    unqueued = seeded.filter(pa.array(~queued))
    unqueued = pa.table({"key": _key(unqueued["host"], unqueued["queue_id"]),
                         "ts": _us(unqueued["ts"])}).group_by(
        "key", use_threads=False).aggregate([("ts", "min"), ("ts", "max")])
    return _Closure(
        lifetimes=chosen.select([*LIFETIME_KEY, "first_seen", "last_seen"]),
        message_keys=_message_key(chosen).combine_chunks().unique(),
        sessions=sessions.unique(), queue_ids=queue_ids.unique(),
        matching_lines=seeds.num_rows, unqueued=unqueued)


def _message_key(t: pa.Table) -> pa.ChunkedArray | pa.Array:
    return _key(_lifetime_key(t), pc.cast(_us(t["first_seen"]), pa.string()))


def _selected(events: pa.Table, query: Query, closure: _Closure) -> pa.Table:
    """The rows of a block that the closure names."""
    n = events.num_rows
    in_lifetime = np.zeros(n, bool)
    in_lifetime[rows_in_lifetimes(events, closure.lifetimes)[0]] = True
    own_line = pc.or_(pc.is_null(events["queue_id"]),
                      pc.is_in(_key(events["host"], events["queue_id"]),
                               value_set=closure.queue_ids))
    in_session = pc.and_(pc.is_in(events["session"], value_set=closure.sessions), own_line)
    keep = pc.or_(pc.or_(pa.array(in_lifetime), pc.fill_null(in_session, False)),
                  query.event_mask(events))
    keep = pc.or_(keep, pa.array(_delivery_tls(events, in_lifetime)))
    keep = pc.or_(keep, pa.array(_unqueued_lines(events, closure.unqueued)))
    return events.filter(keep)


#: How far from the matching lines of an id in no message its other lines are taken: a
#: message refused after DATA logs its few lines within seconds, and a queue id comes
#: back months later as another message's.
_UNQUEUED_US = 3600 * 1_000_000


def _unqueued_lines(events: pa.Table, unqueued: pa.Table) -> np.ndarray:
    """The lines of the ids in no message that lines matched (`_Closure.unqueued`):
    a query for the sender of a message refused after DATA shows its header checks and
    rewrites too, as the trace of its id does."""
    out = np.zeros(events.num_rows, bool)
    if not unqueued.num_rows:
        return out
    at = pc.index_in(_key(events["host"], events["queue_id"]), value_set=unqueued["key"])
    rows = np.flatnonzero(to_numpy(pc.is_valid(at)))
    if not len(rows):
        return out
    which = to_numpy(pc.take(at, pa.array(rows))).astype(np.int64)
    t = to_numpy(_us(events["ts"]))[rows]
    near = ((t >= to_numpy(unqueued["ts_min"])[which] - _UNQUEUED_US)
            & (t <= to_numpy(unqueued["ts_max"])[which] + _UNQUEUED_US))
    out[rows[near]] = True
    return out


#: how long before a delivery line its process's STARTTLS to that relay can be
_HANDSHAKE_US = 600 * 1_000_000
_PROCESS = ["host", "program", "pid", "relay"]


def _delivery_tls(events: pa.Table, in_lifetime: np.ndarray) -> np.ndarray:
    """The outbound TLS lines of the traced deliveries: Sendmail's delivering process
    logs `STARTTLS=client, relay=mx...` without a queue id before the `to=` line to that
    relay. Each delivery (or hand-off) takes the last such line of its process to its
    relay before it: a queue run's handshakes with other relays, or for earlier
    deliveries to the same one, are other messages'."""
    out = np.zeros(events.num_rows, bool)
    event = plain(events["event"])
    mine = pc.and_(pa.array(in_lifetime), pc.is_in(event, pa.array(["delivery", "handoff"])))
    loose = pc.and_(pc.and_(pc.equal(event, "tls"), pc.is_null(events["queue_id"])),
                    pc.is_null(events["session"]))
    if not pc.any(mine).as_py() or not pc.any(loose).as_py():
        return out

    def side(mask: pa.Array, extra: dict[str, pa.Array]) -> pa.Table:
        rows = events.filter(mask)
        return pa.table({**{k: pc.fill_null(plain(rows[k]).cast(pa.string()), "")
                            for k in _PROCESS}, **extra,
                         "t": rows["ts"].cast(pa.int64())})

    tls_rows = side(loose, {"i": pa.array(np.flatnonzero(loose.to_numpy(zero_copy_only=False)))})
    sent = side(mine, {"d": pa.array(np.arange(pc.sum(mine).as_py()))}).rename_columns(
        [*_PROCESS, "d", "sent"])
    j = tls_rows.join(sent, keys=_PROCESS, join_type="inner", use_threads=False)
    gap = pc.subtract(j["sent"], j["t"])
    j = j.filter(pc.and_(pc.greater_equal(gap, 0), pc.less_equal(gap, _HANDSHAKE_US)))
    if not j.num_rows:
        return out
    last = j.group_by("d", use_threads=False).aggregate([("t", "max")])
    j = j.join(last, keys="d", use_threads=False)
    out[j.filter(pc.equal(j["t"], j["t_max"]))["i"].to_numpy()] = True
    return out


#: How long before its session's first line a daemon logs the connection it forks a
#: process for (Exim with `[pid]`: `SMTP connection from [ip]` under the daemon's pid,
#: then the process's lines, the session, milliseconds later).
_OPENED_US = 60 * 1_000_000
_OPENER = ["host", "program", "client_ip"]


@dataclass
class _Openers:
    """Pass 2's memory for the connect lines that opened the traced sessions but are in
    none: Exim with `[pid]` logs the connection under the daemon's pid, and the session
    (keyed by the forked process's pid) begins with its next line. Each traced session
    takes the last such line of its program and client before its first line, from its
    block or the one before (a block can end between the two)."""

    sessions: pa.Array
    started: set[str] = field(default_factory=set)
    waiting: pa.Table | None = None      # the last block's connect lines in no session

    def take(self, events: pa.Table) -> pa.Table:
        """The lines of `events` or the block before that opened the traced sessions
        whose first line is in `events`."""
        loose = events.filter(pc.and_(pc.equal(plain(events["event"]), "connect"),
                                      pc.is_null(events["session"])))
        pool = loose if self.waiting is None else pa.concat_tables([self.waiting, loose])
        self.waiting = loose
        traced = events.filter(pc.fill_null(pc.is_in(events["session"],
                                                      value_set=self.sessions), False))
        if not pool.num_rows or not traced.num_rows:
            self.started.update(traced["session"].to_pylist())
            return pool.slice(0, 0)
        first = traced.take(pc.sort_indices(traced, [("ts", "ascending")]))
        at: dict[str, int] = {}
        for i, s in enumerate(first["session"].to_pylist()):
            at.setdefault(s, i)
        rows = [i for s, i in at.items() if s not in self.started]
        self.started.update(at)
        if not rows:
            return pool.slice(0, 0)

        def keyed(t: pa.Table, extra: dict[str, pa.Array]) -> pa.Table:
            return pa.table({**{k: pc.fill_null(plain(t[k]).cast(pa.string()), "")
                                for k in _OPENER}, **extra})

        opened = keyed(first.take(pa.array(rows)), {"start": _us(first["ts"].take(
            pa.array(rows))), "s": pa.array(range(len(rows)))})
        j = keyed(pool, {"t": _us(pool["ts"]), "i": pa.array(range(pool.num_rows))}).join(
            opened, keys=_OPENER, use_threads=False)
        gap = pc.subtract(j["start"], j["t"])
        j = j.filter(pc.and_(pc.greater_equal(gap, 0), pc.less_equal(gap, _OPENED_US)))
        if not j.num_rows:
            return pool.slice(0, 0)
        last = j.group_by("s", use_threads=False).aggregate([("t", "max")])
        j = j.join(last, keys="s", use_threads=False)
        chosen = pc.unique(j.filter(pc.equal(j["t"], j["t_max"]))["i"])
        return pool.take(chosen)


@dataclass
class Trace:
    """The result: the messages (by first line) and the lines (in time order, with their
    text in `line`: null where it cannot be read again) of what the query touches."""

    query: Query
    messages: pa.Table
    events: pa.Table
    errors: list[str] = field(default_factory=list)
    #: the query as asked, when nothing matched it and `query` is its fallback
    asked: Query | None = None
    #: what is said of the inputs together (two that hold the same lines)
    warnings: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.messages.num_rows or self.events.num_rows)


def _with_lines(events: pa.Table) -> pa.Table:
    """`events` with the text of each row's line, read back from its source."""
    refs = [LineRef(s, o, f) if o is not None else None for s, o, f in zip(
        events["source"].to_pylist(), events["offset"].to_pylist(),
        events["source_fp"].to_pylist())]
    read = read_lines((r for r in refs if r is not None), limit=None)   # every byte
    lines = [read[r][1] if r is not None else None for r in refs]
    return events.append_column("line", pa.array(lines, pa.string()))


def _passes(names: list[str], parsers: ParserSet, options: ParseOptions, errors: list[str],
            warnings: list[str]) -> Iterator[tuple[pa.Table, pa.Table]]:
    """One correlated read of the input; errors not seen before are added to `errors`,
    what is said of the inputs together to `warnings`."""
    run = ParseRun(names, parsers, options)
    yield from run.correlated()
    errors.extend(e for e in run.errors if e not in errors)
    warnings.extend(run.warnings)


def trace_files(names: list[str], parsers: ParserSet, options: ParseOptions,
                query: Query) -> Trace:
    """Read `names` twice (a regex or text query once more before: see the module's
    docstring) and trace `query` through them; when nothing matches it and it has a
    fallback, trace that instead."""
    errors: list[str] = []
    warnings: list[str] = []
    query = asked = query.matching(names)
    index = _Index([query, query.instead()] if query.fallback else [query])
    for events, done in _passes(names, parsers, options, errors, warnings):
        index.add(events, done)
    closure = index.closure(0)
    if closure.empty and query.fallback:
        query = query.instead()
        closure = index.closure(1)
    del index
    messages, events = [], []
    if not closure.empty:
        openers = _Openers(closure.sessions)
        # the first read said the inputs that share lines (a live log grown since would
        # say a pair again, with another count)
        for block, done in _passes(names, parsers, options, errors, []):
            for found, parts in ((_selected(block, query, closure), events),
                                 (openers.take(block), events),
                                 (done.filter(pc.is_in(_message_key(done),
                                                       value_set=closure.message_keys)),
                                  messages)):
                if found.num_rows:
                    parts.append(found)
    found_messages = _concat(messages, MESSAGE_SCHEMA.empty_table())
    found_events = _concat(events, EVENT_SCHEMA.empty_table())
    # stable: lines of one second stay in the order they were read (source, then seq)
    found_events = found_events.take(pc.sort_indices(found_events, [("ts", "ascending")]))
    found_messages = found_messages.sort_by([("first_seen", "ascending")])
    return Trace(query, found_messages, _with_lines(found_events.combine_chunks()), errors,
                 asked if query is not asked else None, warnings)
