"""Drive correlation batch by batch and merge the states of parts read apart.

`Correlator.process` takes one batch of events and returns them with their `session`
filled, together with the messages whose lifetimes are over; `finish` flushes the rest.
A lifetime is only emitted once nothing later can change it: it ended (`removed`), a
newer lifetime of the same id began, or it has been idle longer than a queue lifetime,
and it ended at least `GRACE` before the newest row seen (a child's hand-off line can be
logged a moment after the child itself). Everything else stays in the state as rows.

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

from logwatch.correlate.messages import (LINK_SCHEMA, QUEUE_LIFETIME_US, ROW_COLUMNS,
                                         Segmented, aggregate, links_of, message_rows,
                                         segment)
from logwatch.correlate.sessions import OpenSessions, assign_sessions
from logwatch.parse.definitions import ParserSet
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA

__all__ = ["CorrelationState", "Correlator", "PendingSessions", "GRACE_US"]

GRACE_US = 300 * 1_000_000


def _row_schema() -> pa.Schema:
    fields = [EVENT_SCHEMA.field(c) for c in ROW_COLUMNS]
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
              for f in fields]
    return pa.schema(fields + [pa.field("order", pa.int64()), pa.field("tls", pa.bool_()),
                               pa.field("pending", pa.bool_())])


ROW_SCHEMA = _row_schema()


@dataclass
class PendingSessions:
    """Rows of a part whose session depends on the part before it."""

    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    keys: list[str] = field(default_factory=list)


@dataclass
class CorrelationState:
    """Everything correlation carries between batches; merge-able (see `merge`)."""

    sessions: OpenSessions = field(default_factory=OpenSessions)
    rows: pa.Table = field(default_factory=ROW_SCHEMA.empty_table)
    links: pa.Table = field(default_factory=LINK_SCHEMA.empty_table)
    max_us: int | None = None
    min_us: int | None = None       # first time seen (unknown parts hold back near it)
    known: bool = True


class Correlator:
    """Sessions and messages for a stream of event batches (one input, in order)."""

    def __init__(self, parsers: ParserSet, state: CorrelationState | None = None,
                 known: bool = True) -> None:
        self.parsers = parsers
        self.state = state or CorrelationState(known=known)
        self.pending = PendingSessions()
        self._order_base = 0

    def process(self, events: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Fill `session` on `events`; return (events, messages now complete)."""
        st = self.state
        n = events.num_rows
        sres, st.sessions = assign_sessions(events, self.parsers, st.sessions, st.known)
        idx = events.schema.get_field_index("session")
        events = events.set_column(idx, EVENT_SCHEMA.field("session"), sres.session)
        order = self._order_base + np.arange(n, dtype=np.int64)
        if len(sres.pending_rows):
            self.pending.rows = np.concatenate((self.pending.rows,
                                                order[sres.pending_rows]))
            self.pending.keys.extend(sres.pending_keys)
        self._order_base += n
        rows = message_rows(events, order, sres.tls_so_far)
        pend = np.zeros(rows.num_rows, bool)
        if len(sres.pending_rows):
            pend = np.isin(rows.column("order").to_numpy(), order[sres.pending_rows])
        rows = rows.append_column("pending", pa.array(pend))
        if n:
            ts = events.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
            hi, lo = int(ts.max()), int(ts.min())
            st.max_us = hi if st.max_us is None else max(st.max_us, hi)
            st.min_us = lo if st.min_us is None else min(st.min_us, lo)
        st.links = _prune(pa.concat_tables([st.links, links_of(rows)]), st.max_us)
        return events, self._emit(pa.concat_tables([st.rows, rows.cast(ROW_SCHEMA)]), False)

    def finish(self) -> pa.Table:
        """Emit every lifetime still held (the end of the input)."""
        return self._emit(self.state.rows, True)

    def _emit(self, rows: pa.Table, flush: bool) -> pa.Table:
        st = self.state
        seg = segment(rows)
        if seg.count == 0:
            st.rows = ROW_SCHEMA.empty_table()
            return MESSAGE_SCHEMA.empty_table()
        done = np.ones(seg.count, bool) if flush else self._finished(seg)
        keep = np.flatnonzero(~done)
        st.rows = seg.rows.take(pa.array(np.flatnonzero(np.isin(seg.lifetime, keep)))) \
            if len(keep) else ROW_SCHEMA.empty_table()
        return aggregate(seg, np.flatnonzero(done), st.links)

    def _finished(self, seg: Segmented) -> np.ndarray:
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
        settled = last_seen <= (st.max_us or 0) - GRACE_US
        done = (ended | idle) & settled
        if not st.known:
            first_of_key = np.concatenate(([True], key_of[1:] != key_of[:-1]))
            head = first_of_key & ~received[seg.starts]
            early = first_seen < (st.min_us or 0) + GRACE_US
            has_pending = np.zeros(seg.count, bool)
            has_pending[seg.lifetime[pending]] = True
            done &= ~head & ~early & ~has_pending
        return done


def _prune(links: pa.Table, max_us: int | None) -> pa.Table:
    if max_us is None or links.num_rows == 0:
        return links
    horizon = pa.scalar(max_us - QUEUE_LIFETIME_US, pa.int64()).cast(
        pa.timestamp("us", tz="UTC"))
    return links.filter(pc.greater_equal(links.column("ts"), horizon))
