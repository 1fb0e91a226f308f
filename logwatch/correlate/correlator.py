"""Drive correlation batch by batch and merge the states of parts read apart.

`Correlator.process` takes one batch of events and returns them with their `session`
filled, together with the messages whose lifetimes are over; `finish` flushes the rest.
A lifetime is only emitted once nothing later can change it: it ended (`removed`), a
newer lifetime of the same id began, or it has been idle longer than a queue lifetime,
and it ended at least `GRACE` before the newest row seen (a child's hand-off line can be
logged a moment after the child itself). Everything else stays in the state as rows:
open lifetimes in `rows`, ended ones waiting out the grace in `settling`. The two are
kept apart because on a busy server the grace holds far more than is open, and only
the open ones change with each batch: settling lifetimes are not sorted again, and
their messages are aggregated once (`provisional` only links them again). A row of
a settling lifetime's id brings that lifetime back among the open ones, so a late
line joins it exactly as it would have.

Parts of the input read without their predecessors (`known=False`: a byte range of a
file, a file parsed by another process) hold back whatever depends on what came before:
rows before a key's first connect, lifetimes that may continue one from before, and
lifetimes starting within `GRACE` of the part's start. `merge` replays those against the
predecessor's state, which is what makes the result the same as a sequential read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import in_values, to_numpy
from logwatch.correlate.lifetimes import PARENT_REACH_US, id_on_host, naming
from logwatch.correlate.messages import (LINK_SCHEMA, QUEUE_LIFETIME_US, ROW_COLUMNS,
                                         Segmented, aggregate, identify, is_message,
                                         lifetime_key, link_parents, links_of,
                                         message_rows, segment, unlinked)
from logwatch.correlate.sessions import (SESSION_IDLE_US, Open, OpenSessions,
                                         SessionResult, assign_sessions)
from logwatch.kept import compacted
from logwatch.parse.definitions import ParserSet
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA

__all__ = ["CorrelationState", "Correlator", "PendingSessions", "SessionPatch", "GRACE_US",
           "ROW_SCHEMA", "SETTLING_SCHEMA"]

#: How long an ended lifetime waits for a link naming it. The link line (`queued as`,
#: a bounce notice) is the parent's and is logged once the child exists; in every log
#: of the test corpora it comes before the child's last line or in the same second. A
#: minute leaves wide room for a slow content filter, and holds a busy server's last
#: minute of mail rather than five.
GRACE_US = 60 * 1_000_000


def _row_schema() -> pa.Schema:
    fields = [EVENT_SCHEMA.field(c) for c in ROW_COLUMNS]
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
              for f in fields]
    return pa.schema(fields + [pa.field("order", pa.int64()), pa.field("tls", pa.bool_()),
                               pa.field("user", pa.string()), pa.field("early", pa.bool_()),
                               pa.field("pending", pa.bool_())])


ROW_SCHEMA = _row_schema()
#: settling rows also carry their lifetime's end (`until`: it leaves the grace at
#: `until + GRACE`), whether a later row could still join it (`open_end`: it did not
#: end with `removed`) and its `lifetime_key` (a new row with that key brings it back)
SETTLING_SCHEMA = ROW_SCHEMA.append(pa.field("until", pa.int64())).append(
    pa.field("open_end", pa.bool_())).append(pa.field("key", pa.string()))


@dataclass
class PendingSessions:
    """What of a part's sessions depends on the part before it.

    `rows` (positions in the part's events), their `keys`, times, and the TLS and AUTH
    user seen in the part before them, and the session they get when nothing was open
    (`fallback`); `continuing`: keys whose rows all continue an earlier session (key ->
    last time seen, TLS seen, user seen); `seen`: keys with rows before the horizon.
    """

    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    keys: list[str] = field(default_factory=list)
    ts_us: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    tls: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    users: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    fallback: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    continuing: dict[str, tuple[int, bool, str | None]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)


@dataclass
class SessionPatch:
    """Sessions decided for a part's pending rows once the part before it is known."""

    rows: np.ndarray        # positions in the part's events
    session: pa.Array
    tls: np.ndarray
    users: pa.Array

    def apply(self, events: pa.Table, first_row: int) -> pa.Table:
        """Set the sessions of pending rows in `events`, the part's rows from `first_row`."""
        sel = np.flatnonzero((self.rows >= first_row) & (self.rows < first_row + events.num_rows))
        if not len(sel):
            return events
        mask = np.zeros(events.num_rows, bool)
        local = self.rows[sel] - first_row
        mask[local] = True
        order = np.argsort(local)
        values = pc.take(self.session, pa.array(sel[order]))
        idx = events.schema.get_field_index("session")
        col = pc.replace_with_mask(events.column("session").combine_chunks(), pa.array(mask),
                                   values)
        return events.set_column(idx, EVENT_SCHEMA.field("session"), col)

    def apply_to_rows(self, rows: pa.Table) -> pa.Table:
        """The same for the part's held message rows (matched by their `order`)."""
        if not rows.num_rows:
            return rows
        order = rows.column("order").to_numpy()
        pos = np.searchsorted(self.rows, order) if len(self.rows) else np.zeros(len(order), int)
        hit = (pos < len(self.rows)) & (self.rows[np.minimum(pos, len(self.rows) - 1)] == order) \
            if len(self.rows) else np.zeros(len(order), bool)
        pending = rows.column("pending").to_numpy(zero_copy_only=False) & hit
        if pending.any():
            which = pos[pending]
            mask = pa.array(pending)
            for name, values in (("session", pc.take(self.session, pa.array(which))),
                                 ("tls", pa.array(self.tls[which])),
                                 ("user", pc.take(self.users, pa.array(which)))):
                i = rows.schema.get_field_index(name)
                rows = rows.set_column(i, rows.schema.field(name), pc.replace_with_mask(
                    rows.column(name).combine_chunks(), mask, values))
        i = rows.schema.get_field_index("pending")
        return rows.set_column(i, rows.schema.field("pending"),
                               pa.array(np.zeros(rows.num_rows, bool)))


@dataclass
class CorrelationState:
    """Everything correlation carries between batches; merge-able (see `merge`)."""

    sessions: OpenSessions = field(default_factory=OpenSessions)
    rows: pa.Table = field(default_factory=ROW_SCHEMA.empty_table)        # open lifetimes
    settling: pa.Table = field(default_factory=SETTLING_SCHEMA.empty_table)
    links: pa.Table = field(default_factory=LINK_SCHEMA.empty_table)
    max_us: int | None = None
    min_us: int | None = None       # first time seen (unknown parts hold back near it)
    known: bool = True
    rows_seen: int = 0              # events processed: the `order` of the next row
    #: the settling lifetimes' messages before linking, with their `key`; derived from
    #: `settling` (None: not derived yet), so never stored
    settling_messages: pa.Table | None = None


class Correlator:
    """Sessions and messages for a stream of event batches (one input, in order)."""

    def __init__(self, parsers: ParserSet, state: CorrelationState | None = None,
                 known: bool = True, messages: bool = True) -> None:
        """`messages=False`: sessions only; no lifetime is held and none is emitted."""
        self.parsers = parsers
        self.messages = messages
        self.state = state or CorrelationState(known=known)
        self.pending = PendingSessions()
        self._resolved: set[str] = set()
        #: patterns whose lines come before their message's received line
        self._early = pa.array(sorted(parsers.patterns_with("before_received")), pa.string())

    def process(self, events: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Fill `session` on `events`; return (events, messages now complete)."""
        st = self.state
        n = events.num_rows
        ts = events.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
        if n:
            hi, lo = int(ts.max()), int(ts.min())
            st.max_us = hi if st.max_us is None else max(st.max_us, hi)
            st.min_us = lo if st.min_us is None else min(st.min_us, lo)
        horizon = (st.min_us or 0) + SESSION_IDLE_US
        unknown = not st.known and n and int(ts.min()) < horizon
        sres, st.sessions = assign_sessions(events, self.parsers, st.sessions,
                                            self._resolved if unknown else None, horizon)
        idx = events.schema.get_field_index("session")
        # a session its own line named (Dovecot's) where no session spec found one
        events = events.set_column(idx, EVENT_SCHEMA.field("session"),
                                   pc.coalesce(sres.session, events.column(idx)))
        order = st.rows_seen + np.arange(n, dtype=np.int64)
        if unknown:
            self._note_pending(sres, order, ts)
        st.rows_seen += n
        if not self.messages:
            return events, MESSAGE_SCHEMA.empty_table()
        rows = message_rows(events, order, sres.tls_so_far, sres.user_so_far, self._early)
        pend = np.zeros(rows.num_rows, bool)
        if len(sres.pending_rows):
            pend = np.isin(rows.column("order").to_numpy(), order[sres.pending_rows])
        rows = rows.append_column("pending", pa.array(pend)).cast(ROW_SCHEMA)
        self._bring_back(rows)
        st.links = _prune(pa.concat_tables([st.links, links_of(rows, st.rows, st.links)]),
                          st.max_us, [st.rows, rows, st.settling])
        return events, self._emit(pa.concat_tables([st.rows, rows]), False)

    def _bring_back(self, rows: pa.Table) -> None:
        """Settling lifetimes that `rows` share an id with go back among the open ones,
        so that the rows join them (or follow them) as they would have had they stayed."""
        st = self.state
        if not st.settling.num_rows or not rows.num_rows:
            return
        # a row joins a lifetime that ended with `removed` only if it sorts before that
        # line: the few that ended after the new rows' earliest are all worth looking at
        earliest = int(pc.min(pc.fill_null(rows.column("ts").cast(pa.int64()), 0)).as_py())
        maybe = np.flatnonzero(
            (st.settling.column("until").to_numpy() > earliest)
            | st.settling.column("open_end").to_numpy(zero_copy_only=False))
        if not len(maybe):
            return
        keys = pc.unique(lifetime_key(rows))
        hit = pc.is_in(st.settling.column("key").take(pa.array(maybe)), value_set=keys)
        if not pc.any(hit).as_py():
            return
        back = np.zeros(st.settling.num_rows, bool)
        back[maybe[hit.to_numpy(zero_copy_only=False)]] = True
        st.rows = pa.concat_tables([st.rows, st.settling.filter(pa.array(back)).select(
            ROW_SCHEMA.names)])
        if st.settling_messages is not None:
            # the messages of the lifetimes that came back: by key and end, since a
            # reused queue id's other lifetimes have the key but not the end
            came_back = st.settling.filter(pa.array(back))
            leaving = pc.is_in(_key_and_end(st.settling_messages.column("key"),
                                            st.settling_messages.column("last_seen")),
                               value_set=pc.unique(_key_and_end(came_back.column("key"),
                                                                came_back.column("until"))))
            st.settling_messages = _without(st.settling_messages,
                                            leaving.to_numpy(zero_copy_only=False))
        st.settling = _without(st.settling, back)

    def _note_pending(self, sres: SessionResult, order: np.ndarray, ts: np.ndarray) -> None:
        p = self.pending
        if len(sres.pending_rows):
            p.rows = np.concatenate((p.rows, order[sres.pending_rows]))
            p.keys.extend(sres.pending_keys)
            p.ts_us = np.concatenate((p.ts_us, ts[sres.pending_rows]))
            p.tls = np.concatenate((p.tls, sres.pending_tls))
            p.users = pa.concat_arrays([p.users, sres.pending_user])
            p.fallback = pa.concat_arrays([p.fallback, sres.pending_fallback])
        p.seen.update(sres.seen_keys)
        for key, (last, tls, user) in sres.continuing.items():
            before = p.continuing.get(key)
            p.continuing[key] = (last, tls or bool(before and before[1]),
                                 user or (before[2] if before else None))
        for key in [k for k in p.continuing if k in self._resolved]:
            del p.continuing[key]

    def absorb(self, part: CorrelationState,
               pending: PendingSessions) -> tuple[SessionPatch, pa.Table]:
        """Continue with a part read on its own (`known=False`) that follows our input.

        Returns the sessions its pending rows get (to patch its events) and the
        messages that can now be completed.
        """
        st = self.state
        open_before = st.sessions.as_dict()
        order = np.argsort(pending.rows, kind="stable")
        ids, tls, users = [], [], []
        own_users = pending.users.to_pylist()
        fallback = pending.fallback.to_pylist()
        assigned: dict[str, Open | None] = {}
        for i in order.tolist():  # pending rows: the few before each key's first start
            key = pending.keys[i]
            before = open_before.get(key)
            if before is not None and pending.ts_us[i] - before.last_us > SESSION_IDLE_US:
                before = None  # too long ago: it ended, as a sequential read would say
            ids.append(before.id if before else fallback[i])
            tls.append(bool(pending.tls[i] or (before and before.tls)))
            users.append(own_users[i] or (before.user if before else None))
            assigned[key] = Open(ids[-1], 0, tls[-1], users[-1]) if ids[-1] else None
        patch = SessionPatch(pending.rows[order], pa.array(ids, pa.string()),
                             np.array(tls, bool), pa.array(users, pa.string()))
        merged = dict(open_before)
        for key in pending.seen:
            merged.pop(key, None)
            cont = pending.continuing.get(key)
            got = assigned.get(key)
            if cont is not None and got is not None:  # its session goes on past the part
                merged[key] = Open(got.id, cont[0], got.tls or cont[1], cont[2] or got.user)
        merged.update(part.sessions.as_dict())
        st.sessions = OpenSessions.from_dict(merged)
        rows = _renumbered(patch.apply_to_rows(part.rows), st.rows_seen)
        st.settling = pa.concat_tables([st.settling, _renumbered(part.settling, st.rows_seen)])
        st.settling_messages = None
        st.rows_seen += part.rows_seen
        st.max_us = part.max_us if st.max_us is None else max(st.max_us, part.max_us or 0)
        self._bring_back(rows)
        st.links = _prune(pa.concat_tables(
            [st.links, identify(part.links, pa.concat_tables([st.rows, rows]), st.links)]),
            st.max_us, [st.rows, rows, st.settling])
        return patch, self._emit(pa.concat_tables([st.rows, rows]), False)

    def finish(self) -> pa.Table:
        """Emit every lifetime still held (the end of the input)."""
        return self._emit(self.state.rows, True)

    def provisional(self) -> pa.Table:
        """The lifetimes still held, as they stand now, leaving the state as it is: what a
        live run shows the rules of the messages still in the queue."""
        st = self.state
        seg = segment(st.rows)
        if st.settling_messages is None:
            st.settling_messages = _unlinked_with_keys(segment(
                st.settling.select(ROW_SCHEMA.names)))
        return pa.concat_tables([
            aggregate(seg, np.flatnonzero(is_message(seg)), st.links),
            link_parents(st.settling_messages.drop_columns(["key"]), st.links)])

    def _emit(self, rows: pa.Table, flush: bool) -> pa.Table:
        """Cut `rows` (the open ones and new ones) into lifetimes: those still open stay
        in `rows`, ended ones wait out the grace in `settling`; returns the messages of
        those done, settling ones whose grace is over among them."""
        st = self.state
        if flush:
            rows = pa.concat_tables([rows, st.settling.select(ROW_SCHEMA.names)])
            st.settling, st.settling_messages = SETTLING_SCHEMA.empty_table(), None
        released = self._release()
        seg = segment(rows)
        if seg.count == 0:
            st.rows = ROW_SCHEMA.empty_table()
            return released
        over = np.ones(seg.count, bool) if flush else self._over(seg)
        removed_at_end = pc.equal(seg.rows.column("event"), "removed").to_numpy(
            zero_copy_only=False)[seg.ends]
        ts = seg.rows.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
        last_seen = ts[seg.ends]
        settled = flush | (last_seen <= (st.max_us or 0) - GRACE_US)
        st.rows = _rows_of(seg, ~over)
        waiting = over & ~settled
        if waiting.any():
            rows_in = np.flatnonzero(waiting[seg.lifetime])
            life = seg.lifetime[rows_in]
            entering = seg.rows.take(pa.array(rows_in)).append_column(
                "until", pa.array(last_seen[life])).append_column(
                "open_end", pa.array(~removed_at_end[life])).append_column(
                "key", seg.key_of_rows(rows_in))
            st.settling = pa.concat_tables([st.settling, entering])
            if st.settling_messages is not None:
                st.settling_messages = pa.concat_tables([
                    st.settling_messages,
                    _unlinked_with_keys(seg, np.flatnonzero(waiting & is_message(seg)))])
        done = aggregate(seg, np.flatnonzero(over & settled & is_message(seg)), st.links)
        return pa.concat_tables([released, done]) if released.num_rows else done

    def _release(self) -> pa.Table:
        """The messages of settling lifetimes whose grace is over (in a part read apart,
        not those a link has made a child since: see `_children`)."""
        st = self.state
        if not st.settling.num_rows:
            return MESSAGE_SCHEMA.empty_table()
        horizon = (st.max_us or 0) - GRACE_US
        out = st.settling.column("until").to_numpy() <= horizon
        if not st.known and st.links.num_rows:
            out &= ~_named_children(st.settling, st.links)
        if not out.any():
            return MESSAGE_SCHEMA.empty_table()
        leaving = st.settling.filter(pa.array(out)).select(ROW_SCHEMA.names)
        st.settling = _without(st.settling, out)
        if not st.known:          # (a part read apart is never asked for `provisional`)
            st.settling_messages = None
        elif st.settling_messages is not None:   # their lifetimes' ends are their `until`
            ends = st.settling_messages.column("last_seen").cast(pa.int64()).to_numpy()
            st.settling_messages = _without(st.settling_messages, ends <= horizon)
        seg = segment(leaving)
        return aggregate(seg, np.flatnonzero(is_message(seg)), st.links)

    def _over(self, seg: Segmented) -> np.ndarray:
        """Per lifetime: nothing later can change it but a link (the grace is for that)."""
        st = self.state
        ts = seg.rows.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
        ev = seg.rows.column("event")
        removed = pc.equal(ev, "removed").to_numpy(zero_copy_only=False)
        received = pc.equal(ev, "received").to_numpy(zero_copy_only=False)
        pending = seg.rows.column("pending").to_numpy(zero_copy_only=False)
        last_seen = ts[seg.ends]
        first_seen = ts[seg.starts]
        key_of = seg.key_code[seg.starts]
        superseded = np.concatenate((key_of[1:] == key_of[:-1], [False]))
        ended = removed[seg.ends] | superseded
        idle = last_seen < (st.max_us or 0) - QUEUE_LIFETIME_US
        over = ended | idle
        if not st.known:
            first_of_key = np.concatenate(([True], key_of[1:] != key_of[:-1]))
            head = first_of_key & ~received[seg.starts]
            early = first_seen < (st.min_us or 0) + GRACE_US
            has_pending = np.zeros(seg.count, bool)
            has_pending[seg.lifetime[pending]] = True
            over &= ~head & ~early & ~has_pending & ~self._children(seg)
        return over

    def _children(self, seg: Segmented) -> np.ndarray:
        """Lifetimes that are a link's child: held in a part read apart, because the
        client they inherit may have been received before the part."""
        if not self.state.links.num_rows:
            return np.zeros(seg.count, bool)
        return _named_children(seg.rows.take(pa.array(seg.starts)), self.state.links)


def _rows_of(seg: Segmented, which: np.ndarray) -> pa.Table:
    """The rows of the lifetimes where `which` (per lifetime) holds."""
    if not which.any():
        return ROW_SCHEMA.empty_table()
    return seg.rows.take(pa.array(np.flatnonzero(which[seg.lifetime])))


def _unlinked_with_keys(seg: Segmented, which: np.ndarray | None = None) -> pa.Table:
    """`unlinked` messages of the lifetimes `which` (default: the message ones), with
    their `lifetime_key`."""
    which = np.flatnonzero(is_message(seg)) if which is None else which
    return unlinked(seg, which).append_column("key", seg.key_of_rows(seg.starts[which]))


def _named_children(rows: pa.Table, links: pa.Table) -> np.ndarray:
    """Per row: whether a link names its id as a child."""
    return naming(rows.column("host"), rows.column("queue_id"),
                  id_on_host(links.column("host"), links.column("child")))


def _key_and_end(keys: pa.ChunkedArray, ends: pa.ChunkedArray) -> pa.ChunkedArray:
    """A lifetime's key and its last instant (µs) as one string: which lifetime of a
    queue id it is."""
    return pc.binary_join_element_wise(keys, ends.cast(pa.int64()).cast(pa.string()), "\x1f")


def _without(table: pa.Table, drop: np.ndarray) -> pa.Table:
    """`table` without the rows where `drop`, copying only the batches that lose some:
    settling rows leave a few at a time, oldest first, from a table of many batches."""
    batches, start = [], 0
    for batch in table.to_batches():
        end = start + batch.num_rows
        gone = drop[start:end]
        if not gone.all():
            batches.append(batch.filter(pa.array(~gone)) if gone.any() else batch)
        start = end
    return pa.Table.from_batches(batches, schema=table.schema)


def _renumbered(rows: pa.Table, offset: int) -> pa.Table:
    """A part's rows with `order` continuing the rows before the part."""
    i = rows.schema.get_field_index("order")
    return rows.set_column(i, rows.schema.field("order"), pc.add(rows.column("order"), offset))


def _prune(links: pa.Table, max_us: int | None, held: list[pa.Table]) -> pa.Table:
    """The links still of use. A child begins within a day of its link (`link_parents`),
    so a link older than that serves only a child still `held` (open or settling: a
    deferred child is linked when it ends, up to a queue lifetime on); one released
    never comes back. Kept for a queue lifetime each, a follower's links grew for a
    week and were joined against every pass."""
    links = compacted(links)
    if max_us is None or links.num_rows == 0:
        return links
    ts = links.column("ts").cast(pa.int64()).to_numpy()
    old = np.flatnonzero(ts < max_us - PARENT_REACH_US)
    if not len(old):
        return links
    at = pa.array(old)
    old_ids = id_on_host(links.column("host").take(at), links.column("child").take(at))
    live = []
    for t in held:      # the held rows of those children (asked by id first: few)
        rows = pa.array(np.flatnonzero(naming(t.column("host"), t.column("queue_id"),
                                              old_ids)))
        live.append(id_on_host(t.column("host").take(rows), t.column("queue_id").take(rows)))
    keep = np.ones(links.num_rows, bool)
    keep[old] = to_numpy(in_values(old_ids, pa.concat_arrays(live)))
    keep &= ts >= max_us - QUEUE_LIFETIME_US
    return links.filter(pa.array(keep))
