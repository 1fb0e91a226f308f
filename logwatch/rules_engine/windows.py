"""Sliding windows per key, vectorized: the sweeps every windowed rule kind shares.

A window includes both its edges: the window of ten minutes that ends at 10:10:00 holds
a row of 10:00:00, as fail2ban's `findtime` does (five failures exactly ten minutes apart
first to last are a ban there, and were nothing here).

The trick that keeps this to sorts and cumulative sums: sort rows by (key, time) and give
each key its own stretch of one time axis (`Timeline`), separated from the next key's by
more than the window. A window looking back from any row then never reaches another key,
so one `searchsorted` over all rows answers "how many rows of this key in the last ten
minutes" for every row at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain

__all__ = ["key_codes", "Timeline", "counts_at", "distinct_in_window", "since_same",
           "chain"]

_INT64_MAX = np.iinfo(np.int64).max


def key_codes(table: pa.Table, fields: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A code per row for the combination of `fields`, and which rows have them all
    (a row without a client address cannot count towards an address). Text compares
    without case, as a distinct rule's values do: `Bob`, `bob` and `BOB` are one account
    to Dovecot (`auth_username_format = %Lu`), and a brute force spread over the three
    spellings is one."""
    n = table.num_rows
    if not fields:
        return np.zeros(n, np.int64), np.ones(n, bool)
    valid = np.ones(n, bool)
    parts = []
    for f in fields:
        enc = pc.dictionary_encode(plain(table.column(f)))
        idx = enc.indices
        if pa.types.is_string(enc.dictionary.type):   # folded once per distinct value
            idx = pc.take(pc.dictionary_encode(pc.utf8_lower(enc.dictionary)).indices, idx)
        valid &= pc.is_valid(idx).to_numpy(zero_copy_only=False)
        parts.append(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False).astype(np.int64))
    codes = parts[0]
    for p in parts[1:]:   # mixed radix while it fits, else renumber densely first
        radix = int(p.max(initial=0)) + 1
        if int(codes.max(initial=0)) + 1 > _INT64_MAX // radix:
            codes = np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)
        codes = codes * radix + p
    return codes, valid


def _axis(keys: np.ndarray, ts: np.ndarray, gap: int) -> np.ndarray:
    """Each row's place on one axis where keys lie more than `gap` apart, for rows
    grouped by key (in any order of time within a key): a window of up to `gap` looking
    back from a row reaches exactly the rows of its key it reaches in time."""
    if not len(keys):
        return ts.copy()
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    t0 = np.minimum.reduceat(ts, starts)
    span = np.maximum.reduceat(ts, starts) - t0
    if (span.astype(np.float64) + gap + 1).sum() + gap >= _INT64_MAX / 2:
        return _shrunk_axis(keys, ts, gap)
    offset = np.concatenate(([0], np.cumsum(span + gap + 1)[:-1]))
    return ts - t0[group] + offset[group]


def _shrunk_axis(keys: np.ndarray, ts: np.ndarray, gap: int) -> np.ndarray:
    """`_axis` for keys whose spans do not fit one axis end to end (a log holding stamps
    centuries apart, as a forged line can): every pause longer than `gap` between two
    rows of a key is shortened to `gap + 1`, which no window of up to `gap` can cross
    either way. It takes a sort by time, which the usual case does without."""
    order = np.lexsort((ts, keys))
    k, t = keys[order], ts[order]
    step = np.minimum(np.diff(t, prepend=t[0]), gap + 1)
    step[np.flatnonzero(np.concatenate(([False], k[1:] != k[:-1])))] = gap + 1
    if float(len(t)) * (gap + 1) >= _INT64_MAX / 2:
        raise OverflowError("too many rows for one window axis of this window")
    axis = np.empty_like(ts)
    axis[order] = np.cumsum(step)
    return axis


@dataclass
class Timeline:
    """Rows sorted by (key, time), on one axis where keys lie more than `gap` apart."""

    order: np.ndarray     # sorted position -> original row
    keys: np.ndarray      # per sorted row
    ts: np.ndarray        # per sorted row, µs
    axis: np.ndarray      # per sorted row: monotone over all rows

    @classmethod
    def build(cls, keys: np.ndarray, ts: np.ndarray, gap: int,
              tiebreak: np.ndarray | None = None) -> Timeline:
        sort_keys = (ts, keys) if tiebreak is None else (tiebreak, ts, keys)
        order = np.lexsort(sort_keys)
        k, t = keys[order], ts[order]
        return cls(order, k, t, _axis(k, t, gap))

    def back(self, pos: np.ndarray, window: int) -> np.ndarray:
        """For sorted positions `pos`, the first position of the same key whose time is
        within `window` before (times exactly `window` earlier included)."""
        return np.searchsorted(self.axis, self.axis[pos] - window, side="left")


def counts_at(a_keys: np.ndarray, a_ts: np.ndarray, a_weight: np.ndarray,
              q_keys: np.ndarray, q_ts: np.ndarray, window: int) -> np.ndarray:
    """For each query, the weight of the A rows with its key and a time in
    [query - window, query] (an A row at the query's own time counts)."""
    na = len(a_keys)
    keys = np.concatenate((a_keys, q_keys))
    ts = np.concatenate((a_ts, q_ts))
    is_q = np.concatenate((np.zeros(na, np.int8), np.ones(len(q_keys), np.int8)))
    line = Timeline.build(keys, ts, window, tiebreak=is_q)
    w = np.concatenate((a_weight.astype(np.int64), np.zeros(len(q_keys), np.int64)))[line.order]
    cum = np.concatenate(([0], np.cumsum(w)))
    qpos = np.flatnonzero(line.order >= na)
    lo = line.back(qpos, window)
    out = np.empty(len(q_keys), np.int64)
    out[line.order[qpos] - na] = cum[qpos + 1] - cum[lo]
    return out


def distinct_in_window(keys: np.ndarray, values: np.ndarray, ts: np.ndarray,
                       window: int) -> np.ndarray:
    """For every row, the number of distinct values of its key within the window that
    ends at its time.

    Each value of a key is present from one of its rows until `window` after its last
    row, that instant included (rows no further apart join one stretch); the values
    present at a row's time are the stretches begun by then less those over by then,
    both counted by a binary search in the sorted starts and ends of the stretches on
    one axis (`_axis`: the counts of other keys cancel out). Rows at one time are one
    moment (a BSD stamp has whole seconds): each reads the count after all of them.
    This replaced a sweep that sorted every start, end and row together: 0.5 s of a
    follower's pass under a botnet.
    """
    n = len(keys)
    if not n:
        return np.empty(0, np.int64)
    order = np.lexsort((ts, values, keys))
    k, v, t = keys[order], values[order], ts[order]
    same_pair = np.concatenate(([False], (k[1:] == k[:-1]) & (v[1:] == v[:-1])))
    joined = same_pair & np.concatenate(([False], np.diff(t) <= window))
    starts = np.flatnonzero(~joined)
    ends = np.concatenate((starts[1:] - 1, [n - 1]))
    axis = _axis(k, t, window + 1)
    begun = np.searchsorted(np.sort(axis[starts]), axis, side="right")
    over = np.searchsorted(np.sort(axis[ends] + window + 1), axis, side="right")
    out = np.empty(n, np.int64)
    out[order] = begun - over
    return out


def since_same(keys: np.ndarray, values: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """For every row, the time since the previous row of its key with the same value
    (the int64 maximum for a value's first row)."""
    n = len(keys)
    since = np.full(n, _INT64_MAX, np.int64)
    if not n:
        return since
    order = np.lexsort((np.arange(n), ts, values, keys))
    k, v = keys[order], values[order]
    again = np.flatnonzero((k[1:] == k[:-1]) & (v[1:] == v[:-1]))
    now, before = order[again + 1], order[again]
    since[now] = ts[now] - ts[before]
    return since


def chain(keys: np.ndarray, ts: np.ndarray, gap: int) -> np.ndarray:
    """Incident number per point (points sorted by key, time): a new incident at each
    new key or after a pause longer than `gap`."""
    if not len(keys):
        return np.empty(0, np.int64)
    new = np.concatenate(([True], (keys[1:] != keys[:-1]) | (np.diff(ts) > gap)))
    return np.cumsum(new) - 1
