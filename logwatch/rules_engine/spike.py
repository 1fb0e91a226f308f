"""*spike*: a count per interval against the key's own past.

For each key set (account, sender, client, total: the most specific first) and measure
(messages, recipients), counts per interval are compared with the same key's earlier
intervals only (so a spike never teaches itself it is normal): the median and the MAD
(scaled to a standard deviation) of the last `baseline` of intervals, zeros included,
or of the same hour of the week once there are `seasonal_after` of history. A count
fires when it is at least `floor`, `z` spreads above the median and `ratio` times it;
or, with no history at all, when it reaches the `ceiling` (an account that never sent
and sends 200 messages in an hour is a spike on its first day).

Only (key, interval) pairs at or above the floor are examined, in Python, one per
candidate: there are few. A broader key whose rows an earlier, narrower alert already
explains in the same interval is not alerted again. In live mode the table holds only
the last intervals; the earlier ones come from the counts written down on earlier
passes (`PastCounts`, baselines.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, key_values
from logwatch.rules_engine.model import TIME_FIELD, Measure, Spike
from logwatch.rules_engine.rows import RuleRows, key_text, times_us
from logwatch.columns import distinct, plain
from logwatch.rules_engine.windows import chain

if TYPE_CHECKING:
    from logwatch.rules_engine.baselines import PastCounts

__all__ = ["find_spike", "Baseline", "baselines_of", "interval_values"]

_WEEK = 7 * 86_400
_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Baseline:
    median: float
    spread: float
    intervals: int


def baselines_of(grid: np.ndarray) -> list[Baseline]:
    """Median and scaled MAD of each row of past counts (zeros included), spread at
    least 1."""
    med = np.median(grid, axis=1)
    mad = np.median(np.abs(grid - med[:, None]), axis=1)
    return [Baseline(float(a), max(float(d) * _MAD_TO_SD, 1.0), grid.shape[1])
            for a, d in zip(med, mad)]


def interval_values(table: pa.Table, rr: RuleRows, bucket: np.ndarray, m: Measure
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key code, bucket, value) for every pair with rows."""
    cols = {"k": pa.array(rr.keys), "b": pa.array(bucket)}
    if m.sum:
        cols["v"] = pc.fill_null(plain(table.column(m.sum).take(pa.array(rr.rows))), 0)
        agg = ("v", "sum")
    elif m.distinct:
        cols["v"] = plain(table.column(m.distinct).take(pa.array(rr.rows)))
        agg = ("v", "count_distinct")
    else:
        cols["v"] = pa.array(np.ones(len(rr.rows), np.int64))
        agg = ("v", "sum")
    g = pa.table(cols).group_by(["k", "b"], use_threads=False).aggregate([agg])
    return (g.column("k").to_numpy(), g.column("b").to_numpy(),
            pc.fill_null(g.column(g.column_names[-1]), 0).to_numpy().astype(np.float64))


def _past_intervals(rule: Spike, b: int, b0: int) -> np.ndarray | None:
    """The intervals a count of interval `b` is weighed against (None: too little
    history yet): the last `baseline` of them, or the same hour of the week."""
    per = rule.interval
    lo = max(b0, b - rule.baseline // per)
    if (b - lo) * per < rule.min_history:
        return None
    past = np.arange(lo, b)
    if (b - b0) * per >= rule.seasonal_after and _WEEK % per == 0:
        weekly = past[(b - past) % (_WEEK // per) == 0]
        past = weekly if len(weekly) else past   # a baseline shorter than a week has none
    return past


@dataclass
class _Counts:
    """One measure's counts per (key code, interval): those of the table (`key`,
    `bucket`, `value`), and for intervals the table no longer holds whole, those
    written down (`past`; `written`: PastCounts.values_of of the keys `asked`)."""

    key: np.ndarray
    bucket: np.ndarray
    value: np.ndarray
    past: PastCounts | None
    asked: np.ndarray
    written: tuple[np.ndarray, np.ndarray, np.ndarray]

    def __post_init__(self) -> None:
        # the table's (key, interval) pairs as one sorted number each, for every grid
        self._first, last = (int(self.bucket.min()), int(self.bucket.max())) \
            if len(self.bucket) else (0, 0)
        self._span = last - self._first + 1
        pair = self.key * self._span + (self.bucket - self._first)
        order = np.argsort(pair)
        self._pairs, self._values = pair[order], self.value[order]

    def grid(self, codes: np.ndarray, intervals: np.ndarray) -> np.ndarray:
        """The count of each key of `codes` (distinct) in each of `intervals` (sorted),
        zero where it had none."""
        first, span = self._first, self._span
        cell = codes[:, None] * span + (intervals[None, :] - first)
        at = np.minimum(np.searchsorted(self._pairs, cell), len(self._pairs) - 1)
        inside = (intervals >= first) & (intervals < first + span)
        grid = np.where((self._pairs[at] == cell) & inside[None, :], self._values[at], 0.0)
        past = self.past
        if past is None or past.table_from is None:
            return grid
        written = (intervals < past.table_from) & np.isin(intervals, list(past.intervals))
        if written.any():
            grid[:, written] = 0.0
            which, interval, value = self.written
            row = np.full(len(self.asked), -1)
            row[np.searchsorted(self.asked, codes)] = np.arange(len(codes))
            col = np.minimum(np.searchsorted(intervals, interval), len(intervals) - 1)
            ok = (row[which] >= 0) & (intervals[col] == interval) & written[col]
            grid[row[which][ok], col[ok]] = value[ok]
        return grid


def _baselines(rule: Spike, counts: _Counts, codes: np.ndarray, buckets: np.ndarray,
               b0: int) -> list[Baseline | None]:
    """The baseline of each candidate (key code, interval): those of one interval
    weighed at once, one row of past counts each. A follower asks every pass for the
    keys of the last two intervals, against up to four weeks of hours: one median at a
    time, with each count looked up in Python, was the largest part of a quiet
    server's pass."""
    out: list[Baseline | None] = [None] * len(codes)
    for b in distinct(buckets).tolist():
        rows = np.flatnonzero(buckets == b)
        past = _past_intervals(rule, b, b0)
        if past is None:
            continue
        for row, base in zip(rows.tolist(), baselines_of(counts.grid(codes[rows], past))):
            out[row] = base
    return out


def _fires(rule: Spike, value: float, base: Baseline | None, total: bool) -> bool:
    """`total`: the key set of everything, whose size is the site's, not a sender's:
    no ceiling there."""
    if rule.ceiling is not None and not total and value >= rule.ceiling:
        return True
    if base is None or value < max(rule.floor, 1):
        return False
    return value >= base.median + rule.z * base.spread and value >= rule.ratio * max(
        base.median, 1.0)


def find_spike(rule: Spike, table: pa.Table, mask: np.ndarray,
               past: PastCounts | None = None) -> list[Incident]:
    """`past`: counts of earlier intervals, read for those before the first one the
    table holds whole (`past.table_from`)."""
    tf = TIME_FIELD[rule.table]
    all_ts, has_ts = times_us(table, tf)
    if not has_ts.any():
        return []
    per_us = rule.interval * US
    b0 = int(all_ts[has_ts].min() // per_us)
    if past is not None and past.since is not None:
        b0 = min(b0, past.since)
    out: list[Incident] = []
    explained: dict[int, np.ndarray] = {}      # bucket -> rows already alerted on (mask)
    for keyset, keys in enumerate(rule.keys):
        rr = RuleRows.of(table, mask, keys, tf)
        bucket = rr.ts // per_us
        fired: list[tuple[int, int, str, float, Baseline | None]] = []
        for m in rule.measures:
            k, b, v = interval_values(table, rr, bucket, m)
            least = min(max(rule.floor, 1), rule.ceiling or np.inf)
            candidates = np.flatnonzero(v >= least)
            texts = _key_texts(table, rr, keys, k[candidates]) if past else {}
            asked = np.fromiter(texts, np.int64, len(texts))
            written = past.values_of(keyset, m.name, [texts[c] for c in asked.tolist()]) \
                if past else (np.empty(0, np.int64),) * 3
            counts = _Counts(k, b, v, past, asked, written)
            bases = _baselines(rule, counts, k[candidates], b[candidates], b0)
            for i, base in zip(candidates.tolist(), bases):
                if _fires(rule, float(v[i]), base, not keys):
                    fired.append((int(k[i]), int(b[i]), m.name, float(v[i]), base))
        out += _incidents(rule, table, rr, bucket, keys, fired, explained, all_ts)
    return out


def _key_texts(table: pa.Table, rr: RuleRows, keys: list[str],
               codes: np.ndarray) -> dict[int, str]:
    """The text of each key code (from its first row), all in one pass over the rows:
    a follower's table holds hours of them, and hundreds of keys can pass the floor."""
    codes = distinct(codes)
    if not len(codes):
        return {}
    known, first = np.unique(rr.keys, return_index=True)
    rows = rr.rows[first[np.searchsorted(known, codes)]]
    return dict(zip(codes.tolist(), key_text(table, rows, keys).to_pylist()))


def _who(table: pa.Table, keys: list[str], row: int) -> str:
    """`account alice`, `client_ip 192.0.2.7`, `all senders`: for the summary."""
    if not keys:
        return "all senders"
    return ", ".join(f"{k} {v}" for k, v in key_values(table, keys, row).items())


def _incidents(rule: Spike, table: pa.Table, rr: RuleRows, bucket: np.ndarray,
               keys: list[str], fired: list[tuple[int, int, str, float, Baseline | None]],
               explained: dict[int, np.ndarray], ts: np.ndarray) -> list[Incident]:
    """Fired (key, bucket) pairs, merged per key over consecutive intervals, minus those
    an earlier key set already explains."""
    if not fired:
        return []
    # the rows of each (key, bucket), found by one sort: a mask over all rows for each
    # fired pair cost a follower's pass a tenth of a second once hundreds fired
    first = int(bucket.min())
    span = int(bucket.max()) - first + 1
    code = rr.keys.astype(np.int64) * span + (bucket - first)
    order = np.argsort(code, kind="stable")
    ordered = code[order]
    kept = []
    for key, b, name, value, base in sorted(fired, key=lambda f: (f[0], f[1], f[2])):
        at = key * span + (b - first)
        rows = rr.rows[order[np.searchsorted(ordered, at):
                             np.searchsorted(ordered, at, side="right")]]
        seen = explained.get(b)
        if seen is not None and np.count_nonzero(seen[rows]) * 2 >= len(rows):
            continue
        kept.append((key, b, name, value, base, rows))
    if not kept:
        return []
    ks = np.array([f[0] for f in kept])
    bs = np.array([f[1] for f in kept])
    inc_of = chain(ks, bs * rule.interval, max(rule.cooldown_s, rule.interval))
    out = []
    for i in distinct(inc_of):
        parts = [kept[j] for j in np.flatnonzero(inc_of == i)]
        rows = distinct(np.concatenate([p[5] for p in parts]))
        for p in parts:
            explained.setdefault(p[1], np.zeros(table.num_rows, bool))[p[5]] = True
        rows = rows[np.argsort(ts[rows], kind="stable")]
        top = max(parts, key=lambda p: p[3])
        base = top[4]
        out.append(Incident(
            key=key_values(table, keys, int(rows[0])), rows=rows,
            first_us=int(ts[rows[0]]), last_us=int(ts[rows[-1]]), count=int(top[3]),
            details={"measure": top[2], "interval": rule.interval, "who": _who(table, keys,
                                                                             int(rows[0])),
                     "expected": None if base is None else round(base.median, 2),
                     "spread": None if base is None else round(base.spread, 2),
                     "history_intervals": 0 if base is None else base.intervals,
                     "keys": keys or ["total"]}))
    return out
