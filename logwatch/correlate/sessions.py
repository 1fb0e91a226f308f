"""SMTP sessions: the rows from one connect to its disconnect, vectorized.

A session is identified by the parser file's session keys (smtpd: host, program, pid;
postscreen: host, program, client address and port) and opened by a start event. Rows
are sorted by key and order once; a running maximum of start positions then tells every
row which start it follows, and a running maximum of end positions whether that session
is still open. No Python loop per session.

What carries from one batch to the next is the open session of each key (its id, when
it was last seen, whether TLS was negotiated). A batch read without knowing what came
before (a later part of a file parsed in parallel) cannot know the session of the rows
that precede its first connect: those are reported as pending and resolved when the
parts are merged.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.assemble import scatter
from logwatch.parse.definitions import ParserSet

__all__ = ["OpenSessions", "SessionResult", "assign_sessions", "SESSION_IDLE_US"]

#: An open session not seen for this long is dropped from the state (the daemon died
#: or the disconnect line was lost); smtpd's own timeouts are minutes.
SESSION_IDLE_US = 2 * 3600 * 1_000_000


@dataclass
class OpenSessions:
    """Open sessions by key: the mergeable part of session state."""

    keys: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    last_us: list[int] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    def lookup(self, keys: pa.Array) -> np.ndarray:
        """Index of each key in this state, -1 where it has no open session."""
        if not self.keys:
            return np.full(len(keys), -1, np.int64)
        found = pc.index_in(keys, value_set=pa.array(self.keys, pa.string()))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def as_dict(self) -> dict[str, tuple[str, int, bool]]:
        return {k: (i, t, s) for k, i, t, s in zip(self.keys, self.ids, self.last_us, self.tls)}

    @classmethod
    def from_dict(cls, d: dict[str, tuple[str, int, bool]]) -> OpenSessions:
        out = cls()
        for k, (i, t, s) in d.items():
            out.keys.append(k)
            out.ids.append(i)
            out.last_us.append(t)
            out.tls.append(s)
        return out


@dataclass
class SessionResult:
    """Per row of the batch: session id (or null) and TLS seen so far in it.

    For a batch read without what came before (`known=False`): `pending_rows` (rows whose
    session is the one open before the batch, if any), their keys and the TLS seen in
    the batch before them; `seen_keys` (every key with rows here) and `continuing` (keys
    whose rows here all continue the earlier session: key -> (last time, TLS seen)).
    """

    session: pa.Array
    tls_so_far: np.ndarray
    pending_rows: np.ndarray
    pending_keys: list[str]
    pending_tls: np.ndarray
    seen_keys: list[str] = field(default_factory=list)
    continuing: dict[str, tuple[int, bool]] = field(default_factory=dict)


def _key_strings(events: pa.Table, rows: np.ndarray, key: list[str]) -> pa.Array:
    take = pa.array(rows)
    parts = []
    for name in key:
        col = pc.take(events.column(name).combine_chunks(), take)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        parts.append(pc.fill_null(col.cast(pa.string()), ""))
    joined = pc.binary_join_element_wise(*parts, "\x1f")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _session_ids(events: pa.Table, rows: np.ndarray, key_text: pa.Array) -> pa.Array:
    """Readable, stable ids for sessions started at `rows`: key, start second, and the
    start line's byte offset (two sessions of one key can start in one second).

    Only what is in the start line itself goes in, so that the id is the same however
    the input is cut into batches or parts. Built from casts and joins: no per-row Python.
    """
    take = pa.array(rows)
    ts = pc.take(events.column("ts").combine_chunks(), take)
    seconds = pc.divide(ts.cast(pa.int64()), 1_000_000).cast(pa.string())
    where = pc.take(events.column("offset").combine_chunks(), take).cast(pa.string())
    where = pc.coalesce(where, pc.take(events.column("cursor").combine_chunks(), take), "")
    key = pc.replace_substring(key_text, "\x1f", " ")
    return pc.binary_join_element_wise(key, "@", seconds, "#", where, "")


def assign_sessions(events: pa.Table, parsers: ParserSet, state: OpenSessions,
                    resolved: set[str] | None = None,
                    horizon_us: int = 0) -> tuple[SessionResult, OpenSessions]:
    """Sessions for one batch of events (in their order); return them and the new state.

    `resolved` is None when `state` holds everything before this batch. Otherwise it is
    the set of keys whose session is known from this part of the input (they had a start
    or an end); rows of other keys before their first start and first end are reported
    pending instead of being given a session, and keys that get one are added to it.
    Only rows before `horizon_us` can be pending: a session idle longer than
    SESSION_IDLE_US is dropped from any state, so later rows cannot continue it.
    """
    n = events.num_rows
    tls = np.zeros(n, bool)
    carried = state.as_dict()
    new_state: dict[str, tuple[str, int, bool]] = dict(carried)
    pending_rows: list[np.ndarray] = []
    pending_keys: list[str] = []
    pending_tls: list[np.ndarray] = []
    seen_keys: list[str] = []
    continuing: dict[str, tuple[int, bool]] = {}
    session_parts: list[tuple[np.ndarray, pa.Array]] = []
    event = events.column("event").combine_chunks().cast(pa.string())
    mta = events.column("mta").combine_chunks().cast(pa.string())
    daemon = events.column("daemon").combine_chunks()
    ts_us = events.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
    for pf in parsers.files:
        for spec in pf.sessions:
            names_here = pc.unique(daemon).drop_null().to_pylist()
            wanted = [d for d in names_here if any(fnmatch.fnmatchcase(d, p)
                                                    for p in spec.daemons)]
            sel_mask = pc.and_(pc.equal(mta, pf.mta.name),
                               pc.is_in(daemon, pa.array(wanted, pa.string())))
            rows = np.flatnonzero(pc.fill_null(sel_mask, False).to_numpy(zero_copy_only=False))
            if not len(rows):
                continue
            keys = _key_strings(events, rows, spec.key)
            enc = pc.dictionary_encode(keys)
            names = enc.dictionary.to_pylist()
            code = enc.indices.to_numpy(zero_copy_only=False)
            order = np.lexsort((rows, code))  # rows are already in input order
            r, c = rows[order], code[order]
            ev = pc.take(event, pa.array(r))
            is_start = pc.is_in(ev, pa.array(spec.start)).to_numpy(zero_copy_only=False)
            is_end = pc.is_in(ev, pa.array(spec.end)).to_numpy(zero_copy_only=False)
            is_tls = pc.equal(ev, "tls").to_numpy(zero_copy_only=False)
            m = len(r)
            idx = np.arange(m)
            group_start = np.concatenate(([True], c[1:] != c[:-1]))
            gstart_pos = np.maximum.accumulate(np.where(group_start, idx, 0))
            carried_at = state.lookup(enc.dictionary)
            has_carry = carried_at >= 0
            carried_tls = np.zeros(len(names), bool)
            carried_tls[has_carry] = np.asarray(state.tls, bool)[carried_at[has_carry]]
            # A key silent for longer than SESSION_IDLE_US has no session left open:
            # the row before such a gap ends it (a row-level rule, so that where batches
            # happen to be cut changes nothing).
            t = ts_us[r]
            gap_after = np.concatenate((t[1:] - t[:-1] > SESSION_IDLE_US, [False]))
            gap_after &= np.concatenate((~group_start[1:], [False]))
            is_end = is_end | gap_after
            carried_last = np.zeros(len(names), np.int64)
            carried_last[has_carry] = np.asarray(state.last_us, np.int64)[carried_at[has_carry]]
            fresh = t - carried_last[c] <= SESSION_IDLE_US
            # Rows before a key's first start continue the carried session: give them a
            # virtual start at the group's first row.
            virtual = group_start & has_carry[c] & ~is_start & fresh
            starts = is_start | virtual
            last_start = np.maximum.accumulate(np.where(starts, idx, -1))
            last_end = np.maximum.accumulate(np.where(is_end, idx, -1))
            prev_end = np.concatenate(([-1], last_end[:-1]))
            in_session = (last_start >= gstart_pos) & (last_start > prev_end)
            tls_pos = np.maximum.accumulate(np.where(is_tls, idx, -1))
            from_carry = virtual[np.maximum(last_start, 0)] & carried_tls[c]
            row_tls = in_session & ((tls_pos >= last_start) | from_carry)
            tls[r] = row_tls
            # Session ids: built for real starts, taken from the state for virtual ones.
            real = np.flatnonzero(is_start)
            vpos = np.flatnonzero(virtual)
            id_table = pa.concat_arrays([
                _session_ids(events, r[real], pc.take(keys, pa.array(order[real]))),
                pa.array([state.ids[carried_at[c[p]]] for p in vpos.tolist()], pa.string())])
            slot = np.full(m, -1, np.int64)
            slot[real] = np.arange(len(real))
            slot[vpos] = len(real) + np.arange(len(vpos))
            which = np.where(in_session, slot[np.maximum(last_start, 0)], -1)
            sid = pc.take(id_table, pa.array(which, mask=which < 0))
            session_parts.append((r, sid))
            if resolved is not None:
                # before the key's first start and first end: decided by what came before
                first_start = np.full(len(names), m, np.int64)
                np.minimum.at(first_start, c[is_start], idx[is_start])
                unknown_key = np.ones(len(names), bool)
                if resolved:
                    unknown_key = ~pc.is_in(enc.dictionary, value_set=pa.array(
                        list(resolved), pa.string())).to_numpy(zero_copy_only=False)
                early = ts_us[r] < horizon_us
                pend = (idx < first_start[c]) & (prev_end < gstart_pos) & unknown_key[c] & early
                head_tls = tls_pos >= gstart_pos
                if pend.any():
                    pending_rows.append(r[pend])
                    pending_keys.extend(names[k] for k in c[pend].tolist())
                    pending_tls.append(head_tls[pend])
                seen_keys.extend(names)
                # keys whose every row here is pending: the earlier session goes on
                group_id = np.cumsum(group_start) - 1
                all_pend = np.ones(len(names), bool)
                np.logical_and.at(all_pend, group_id, pend)
                last_of = np.concatenate((np.flatnonzero(group_start)[1:] - 1, [m - 1]))
                for g in np.flatnonzero(all_pend).tolist():
                    p = last_of[g]
                    continuing[names[c[p]]] = (int(ts_us[r[p]]), bool(head_tls[p]))
                decided = np.zeros(len(names), bool)
                decided[c[is_start | is_end]] = True
                resolved.update(names[g] for g in np.flatnonzero(decided).tolist())
            # new state: per key, the session still open at the group's last row
            last_of_group = np.concatenate((np.flatnonzero(group_start)[1:] - 1, [m - 1]))
            still_open = last_of_group[in_session[last_of_group] & ~is_end[last_of_group]]
            for i in np.flatnonzero(has_carry).tolist():  # carried keys seen again
                new_state.pop(names[i], None)
            open_ids = pc.take(sid, pa.array(still_open)).to_pylist()
            for p, sid_p in zip(still_open.tolist(), open_ids):  # open sessions: few
                new_state[names[c[p]]] = (sid_p, int(ts_us[r[p]]), bool(row_tls[p]))
    if n:
        horizon = int(ts_us.max()) - SESSION_IDLE_US
        new_state = {k: v for k, v in new_state.items() if v[1] >= horizon}
    session = scatter(n, session_parts, pa.string())
    result = SessionResult(
        session, tls,
        np.concatenate(pending_rows) if pending_rows else np.empty(0, np.int64), pending_keys,
        np.concatenate(pending_tls) if pending_tls else np.empty(0, bool),
        seen_keys, continuing)
    return result, OpenSessions.from_dict(new_state)
