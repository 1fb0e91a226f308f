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
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.assemble import scatter
from logwatch.parse.definitions import ParserSet, SessionSpec

__all__ = ["OpenSessions", "SessionResult", "assign_sessions", "SESSION_IDLE_US"]

#: An open session not seen for this long is dropped from the state (the daemon died
#: or the disconnect line was lost); smtpd's own timeouts are minutes.
SESSION_IDLE_US = 2 * 3600 * 1_000_000


class Open(NamedTuple):
    """An open session: its id, when its key was last seen, TLS and AUTH so far."""

    id: str
    last_us: int
    tls: bool
    user: str | None


@dataclass
class OpenSessions:
    """Open sessions by key: the mergeable part of session state."""

    keys: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    last_us: list[int] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    users: list[str | None] = field(default_factory=list)

    def lookup(self, keys: pa.Array) -> np.ndarray:
        """Index of each key in this state, -1 where it has no open session."""
        if not self.keys:
            return np.full(len(keys), -1, np.int64)
        found = pc.index_in(keys, value_set=pa.array(self.keys, pa.string()))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def as_dict(self) -> dict[str, Open]:
        return {k: Open(*v) for k, *v in zip(self.keys, self.ids, self.last_us, self.tls,
                                              self.users)}

    @classmethod
    def from_dict(cls, d: dict[str, Open]) -> OpenSessions:
        out = cls()
        for k, o in d.items():
            out.keys.append(k)
            out.ids.append(o.id)
            out.last_us.append(o.last_us)
            out.tls.append(o.tls)
            out.users.append(o.user)
        return out


@dataclass
class SessionResult:
    """Per row of the batch: session id (or null), TLS and the AUTH user so far in it.

    For a batch read without what came before (`known=False`): `pending_rows` (rows whose
    session is the one open before the batch, if any), their keys and the TLS and user
    seen in the batch before them, and the session they get when nothing was open before;
    `seen_keys` (every key with rows here) and `continuing` (keys whose rows here all
    continue the earlier session: key -> (last time, TLS seen, user seen)).
    """

    session: pa.Array
    tls_so_far: np.ndarray
    user_so_far: pa.Array
    pending_rows: np.ndarray
    pending_keys: list[str]
    pending_tls: np.ndarray
    pending_user: pa.Array
    pending_fallback: pa.Array
    seen_keys: list[str] = field(default_factory=list)
    continuing: dict[str, tuple[int, bool, str | None]] = field(default_factory=dict)


def _key_codes(events: pa.Table, rows: np.ndarray, key: list[str]) -> tuple[np.ndarray,
                                                                           pa.Array]:
    """A dense integer per distinct session key of `rows`, and the keys as text.

    The key columns are combined as numbers (their dictionary codes in mixed radix);
    text is made only once per distinct key, for the state and the session ids.
    """
    take = pa.array(rows)
    combined = np.zeros(len(rows), np.int64)
    columns = []
    for name in key:
        col = pc.take(events.column(name).combine_chunks(), take)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        col = col.cast(pa.string())
        columns.append(col)
        enc = pc.dictionary_encode(col)
        codes = enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False)
        combined = combined * (len(enc.dictionary) + 1) + codes
    _, first, dense = np.unique(combined, return_index=True, return_inverse=True)
    pick = pa.array(first)
    text = pc.binary_join_element_wise(
        *[pc.fill_null(pc.take(c, pick), "") for c in columns], "\x1f")
    return dense.astype(np.int64), text


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


@dataclass
class _Batch:
    """What every session spec of one batch adds to (columns by row, pending, state)."""

    n: int
    ts_us: np.ndarray
    tls: np.ndarray
    sessions: list[tuple[np.ndarray, pa.Array]] = field(default_factory=list)
    users: list[tuple[np.ndarray, pa.Array]] = field(default_factory=list)
    pending_rows: list[np.ndarray] = field(default_factory=list)
    pending_keys: list[str] = field(default_factory=list)
    pending_tls: list[np.ndarray] = field(default_factory=list)
    pending_user: list[pa.Array] = field(default_factory=list)
    pending_fallback: list[pa.Array] = field(default_factory=list)
    seen_keys: list[str] = field(default_factory=list)
    continuing: dict[str, tuple[int, bool, str | None]] = field(default_factory=dict)


def _spec_rows(events: pa.Table, spec: SessionSpec, mta_name: str, mta: pa.Array,
               daemon: pa.Array) -> np.ndarray:
    names_here = pc.unique(daemon).drop_null().to_pylist()
    wanted = [d for d in names_here if any(fnmatch.fnmatchcase(d, p) for p in spec.daemons)]
    sel = pc.and_(pc.equal(mta, mta_name), pc.is_in(daemon, pa.array(wanted, pa.string())))
    for name in spec.require:
        sel = pc.and_(sel, pc.is_valid(events.column(name)))
    for name in spec.absent:
        sel = pc.and_(sel, pc.is_null(events.column(name)))
    if spec.skip:
        sel = pc.and_(sel, pc.invert(pc.is_in(events.column("event").cast(pa.string()),
                                              pa.array(spec.skip, pa.string()))))
    return np.flatnonzero(pc.fill_null(sel, False).to_numpy(zero_copy_only=False))


def _one_spec(events: pa.Table, rows: np.ndarray, spec: SessionSpec, mta_name: str,
              event: pa.Array, state: OpenSessions, new_state: dict[str, Open], out: _Batch,
              resolved: set[str] | None, horizon_us: int) -> None:
    """Sessions of the rows of one spec (one daemon kind of one MTA)."""
    code, key_text = _key_codes(events, rows, spec.key)
    names = key_text.to_pylist()
    order = np.lexsort((rows, code))  # rows are already in input order
    r, c = rows[order], code[order]
    take_r = pa.array(r)
    ev = pc.take(event, take_r)
    m = len(r)
    idx = np.arange(m)
    group_start = np.concatenate(([True], c[1:] != c[:-1]))
    gstart_pos = np.maximum.accumulate(np.where(group_start, idx, 0))
    carried_at = state.lookup(key_text)
    has_carry = carried_at >= 0
    carried = {name: np.asarray(getattr(state, name), dtype)[carried_at[has_carry]]
               for name, dtype in (("tls", bool), ("last_us", np.int64))}
    carried_tls = np.zeros(len(names), bool)
    carried_tls[has_carry] = carried["tls"]
    carried_last = np.zeros(len(names), np.int64)
    carried_last[has_carry] = carried["last_us"]
    t = out.ts_us[r]
    # A spec without start events (Sendmail: one process per connection) starts a
    # session at a key's first row, and at the next after an end; with them, at each
    # start event.
    unknown_key = np.zeros(len(names), bool)
    if resolved is not None:
        unknown_key[:] = True
        if resolved:
            unknown_key = ~pc.is_in(key_text, value_set=pa.array(
                list(resolved), pa.string())).to_numpy(zero_copy_only=False)
    # A key silent for longer than SESSION_IDLE_US has no session left open: the row
    # before such a gap ends it (a row-level rule, so that where batches happen to be
    # cut changes nothing).
    gap_after = np.concatenate((t[1:] - t[:-1] > SESSION_IDLE_US, [False]))
    gap_after &= np.concatenate((~group_start[1:], [False]))
    is_end = pc.is_in(ev, pa.array(spec.end)).to_numpy(zero_copy_only=False) if spec.end \
        else np.zeros(m, bool)
    if spec.end_patterns:
        pattern = pc.take(events.column("pattern").combine_chunks(), take_r).cast(pa.string())
        ids = pa.array([f"{mta_name}:{p}" for p in spec.end_patterns], pa.string())
        is_end |= pc.fill_null(pc.is_in(pattern, value_set=ids), False).to_numpy(
            zero_copy_only=False)
    is_end = is_end | gap_after
    if spec.start:
        is_start = pc.is_in(ev, pa.array(spec.start)).to_numpy(zero_copy_only=False)
    else:  # a key's first row and the first after a gap or an end, unless what came
        # before may have a session of the key open: then the merge decides
        after_end = np.concatenate(([False], is_end[:-1])) & ~group_start
        is_start = (group_start & ~(unknown_key[c] & (t < horizon_us))) | after_end
    fresh = t - carried_last[c] <= SESSION_IDLE_US
    # Rows before a key's first start continue the carried session: a virtual start.
    virtual = group_start & has_carry[c] & fresh & (~is_start | (not spec.start))
    is_start &= ~virtual
    starts = is_start | virtual
    last_start = np.maximum.accumulate(np.where(starts, idx, -1))
    last_end = np.maximum.accumulate(np.where(is_end, idx, -1))
    prev_end = np.concatenate(([-1], last_end[:-1]))
    in_session = (last_start >= gstart_pos) & (last_start > prev_end)
    from_carry = in_session & virtual[np.maximum(last_start, 0)]
    # TLS and the AUTH user so far in the session
    tls_pos = np.maximum.accumulate(np.where(pc.equal(ev, "tls").to_numpy(
        zero_copy_only=False), idx, -1))
    row_tls = in_session & ((tls_pos >= last_start) | (from_carry & carried_tls[c]))
    out.tls[r] = row_tls
    users = pc.take(events.column("sasl_username").combine_chunks(), take_r)
    is_auth = pc.fill_null(pc.and_(pc.equal(ev, "auth_success"), pc.is_valid(users)),
                           False).to_numpy(zero_copy_only=False)
    auth_pos = np.maximum.accumulate(np.where(is_auth, idx, -1))
    carried_users = pa.array([state.users[carried_at[k]] if has_carry[k] else None
                              for k in range(len(names))], pa.string()) \
        if has_carry.any() else pa.nulls(len(names), pa.string())
    own = in_session & (auth_pos >= last_start)
    pick = np.where(own, auth_pos, np.where(from_carry, m + c, -1))
    row_user = pc.take(pa.concat_arrays([users, carried_users]),
                       pa.array(pick, mask=pick < 0))
    out.users.append((r, row_user))
    # Session ids: built for real starts, taken from the state for virtual ones.
    real = np.flatnonzero(is_start)
    vpos = np.flatnonzero(virtual)
    id_table = pa.concat_arrays([
        _session_ids(events, r[real], pc.take(key_text, pa.array(c[real]))),
        pa.array([state.ids[carried_at[c[p]]] for p in vpos.tolist()], pa.string())])
    slot = np.full(m, -1, np.int64)
    slot[real] = np.arange(len(real))
    slot[vpos] = len(real) + np.arange(len(vpos))
    which = np.where(in_session, slot[np.maximum(last_start, 0)], -1)
    sid = pc.take(id_table, pa.array(which, mask=which < 0))
    out.sessions.append((r, sid))
    if resolved is not None:
        # what a pending row gets when nothing is open before: a session of its own
        # where a key's first row starts one (no start events), else none
        fallback = pa.nulls(m, pa.string())
        if not spec.start:
            heads = np.flatnonzero(group_start)
            head_ids = _session_ids(events, r[heads], pc.take(key_text, pa.array(c[heads])))
            fallback = pc.take(head_ids, pa.array(np.cumsum(group_start) - 1))
        _note_unknown(names, c, r, idx, is_start, is_end, prev_end, gstart_pos, group_start,
                      tls_pos, auth_pos, users, fallback, unknown_key, out, resolved,
                      horizon_us)
    # new state: per key, the session still open at the group's last row
    last_of_group = np.concatenate((np.flatnonzero(group_start)[1:] - 1, [m - 1]))
    still_open = last_of_group[in_session[last_of_group] & ~is_end[last_of_group]]
    for i in np.flatnonzero(has_carry).tolist():  # carried keys seen again
        new_state.pop(names[i], None)
    open_ids = pc.take(sid, pa.array(still_open)).to_pylist()
    open_users = pc.take(row_user, pa.array(still_open)).to_pylist()
    for p, sid_p, user in zip(still_open.tolist(), open_ids, open_users):  # few
        new_state[names[c[p]]] = Open(sid_p, int(t[p]), bool(row_tls[p]), user)


def _note_unknown(names: list[str], c: np.ndarray, r: np.ndarray, idx: np.ndarray,
                  is_start: np.ndarray, is_end: np.ndarray, prev_end: np.ndarray,
                  gstart_pos: np.ndarray, group_start: np.ndarray, tls_pos: np.ndarray,
                  auth_pos: np.ndarray, users: pa.Array, fallback: pa.Array,
                  unknown_key: np.ndarray, out: _Batch, resolved: set[str],
                  horizon_us: int) -> None:
    """For a batch read without what came before: the rows whose session that decides."""
    m = len(r)
    first_start = np.full(len(names), m, np.int64)
    np.minimum.at(first_start, c[is_start], idx[is_start])
    early = out.ts_us[r] < horizon_us
    pend = (idx < first_start[c]) & (prev_end < gstart_pos) & unknown_key[c] & early
    head_tls = tls_pos >= gstart_pos
    head_pick = np.where(auth_pos >= gstart_pos, auth_pos, -1)
    head_user = pc.take(users, pa.array(head_pick, mask=head_pick < 0))
    if pend.any():
        out.pending_rows.append(r[pend])
        out.pending_keys.extend(names[k] for k in c[pend].tolist())
        out.pending_tls.append(head_tls[pend])
        out.pending_user.append(pc.filter(head_user, pa.array(pend)))
        out.pending_fallback.append(pc.filter(fallback, pa.array(pend)))
    out.seen_keys.extend(names)
    # keys whose every row here is pending: the earlier session goes on
    group_id = np.cumsum(group_start) - 1
    all_pend = np.ones(len(names), bool)
    np.logical_and.at(all_pend, group_id, pend)
    last_of = np.concatenate((np.flatnonzero(group_start)[1:] - 1, [m - 1]))
    all_pend &= ~is_end[last_of]  # ended here: nothing goes on
    for g in np.flatnonzero(all_pend).tolist():
        p = last_of[g]
        out.continuing[names[c[p]]] = (int(out.ts_us[r[p]]), bool(head_tls[p]),
                                       head_user[p].as_py())
    decided = np.zeros(len(names), bool)
    decided[c[is_start | is_end]] = True
    resolved.update(names[g] for g in np.flatnonzero(decided).tolist())


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
    ts_us = events.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
    out = _Batch(n, ts_us, np.zeros(n, bool))
    new_state: dict[str, Open] = dict(state.as_dict())
    event = events.column("event").combine_chunks().cast(pa.string())
    mta = events.column("mta").combine_chunks().cast(pa.string())
    daemon = events.column("daemon").combine_chunks()
    for pf in parsers.files:
        for spec in pf.sessions:
            rows = _spec_rows(events, spec, pf.mta.name, mta, daemon)
            if len(rows):
                _one_spec(events, rows, spec, pf.mta.name, event, state, new_state, out,
                          resolved, horizon_us)
    if n:
        horizon = int(ts_us.max()) - SESSION_IDLE_US
        new_state = {k: v for k, v in new_state.items() if v.last_us >= horizon}
    result = SessionResult(
        scatter(n, out.sessions, pa.string()), out.tls, scatter(n, out.users, pa.string()),
        np.concatenate(out.pending_rows) if out.pending_rows else np.empty(0, np.int64),
        out.pending_keys,
        np.concatenate(out.pending_tls) if out.pending_tls else np.empty(0, bool),
        pa.concat_arrays(out.pending_user) if out.pending_user else pa.array([], pa.string()),
        pa.concat_arrays(out.pending_fallback) if out.pending_fallback else
        pa.array([], pa.string()),
        out.seen_keys, out.continuing)
    return result, OpenSessions.from_dict(new_state)
