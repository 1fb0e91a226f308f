"""Counts of past intervals for the spike rules, kept between live passes for weeks.

A spike rule weighs each key's count in an interval against the same key's earlier
intervals (four weeks by default). A batch has them all in its table; a live pass keeps
only the rows of the last two intervals (keeping four weeks of rows would be keeping
the server's mail), so each pass writes down, per rule, key set, key and measure, the
count of every interval it has whole, and the next passes read the older intervals
from there. One row per (key, interval) that had any rows: a key absent from an
interval counted whole had none, which is what the baseline needs (zeros count).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from logwatch.durations import US
from logwatch.rules_engine.model import TIME_FIELD, Spike
from logwatch.rules_engine.rows import RuleRows, key_text
from logwatch.rules_engine.spike import interval_values

__all__ = ["BASELINE_SCHEMA", "PastCounts", "past_counts", "counted"]

BASELINE_SCHEMA = pa.schema([
    ("rule", pa.string()), ("keyset", pa.int32()), ("key", pa.string()),
    ("measure", pa.string()), ("interval", pa.int64()), ("value", pa.float64())])


@dataclass
class PastCounts:
    """One spike rule's written-down intervals: `intervals[n][(key set, key, measure)]`
    is a count of interval n, which was counted whole (a key absent there had none);
    `since` is the first interval ever counted, which the rule's `min_history` and
    `seasonal_after` measure from."""

    since: int | None = None
    intervals: dict[int, dict[tuple[int, str, str], float]] = field(default_factory=dict)
    #: set for each pass: the first interval its table holds whole (None: all of them);
    #: earlier ones are read from here
    table_from: int | None = None

    def value(self, keyset: int, key: str, measure: str, interval: int) -> float:
        return self.intervals[interval].get((keyset, key, measure), 0.0)

    def record(self, counts: pa.Table, first: int, last: int, oldest: int) -> None:
        """Take the counts of intervals `first`..`last` (BASELINE_SCHEMA rows of this
        rule), and forget intervals before `oldest`."""
        for n in range(first, last + 1):
            self.intervals[n] = {}
        columns = [counts.column(n).to_pylist() for n in ("keyset", "key", "measure",
                                                           "interval", "value")]
        for keyset, key, measure, interval, value in zip(*columns):
            self.intervals[interval][(keyset, key, measure)] = value
        for n in [n for n in self.intervals if n < oldest]:
            del self.intervals[n]
        self.since = first if self.since is None else min(self.since, first)

    def table(self, rule: str) -> pa.Table:
        rows = [(k, key, m, n, v) for n, values in sorted(self.intervals.items())
                for (k, key, m), v in values.items()]
        return pa.table({
            "rule": pa.array([rule] * len(rows), pa.string()),
            "keyset": pa.array([r[0] for r in rows], pa.int32()),
            "key": pa.array([r[1] for r in rows], pa.string()),
            "measure": pa.array([r[2] for r in rows], pa.string()),
            "interval": pa.array([r[3] for r in rows], pa.int64()),
            "value": pa.array([r[4] for r in rows], pa.float64())}, schema=BASELINE_SCHEMA)


def past_counts(table: pa.Table, since: dict[str, int]) -> dict[str, PastCounts]:
    """The written-down counts, per rule, as `PastCounts` (`since`: per rule, the first
    interval counted, which the rows alone do not tell when it had none)."""
    out = {rule: PastCounts(first) for rule, first in since.items()}
    columns = [table.column(n).to_pylist() for n in BASELINE_SCHEMA.names]
    for rule, keyset, key, measure, interval, value in zip(*columns):
        past = out.setdefault(rule, PastCounts(interval))
        past.intervals.setdefault(interval, {})[(keyset, key, measure)] = value
    return out


def counted(rule: Spike, table: pa.Table, mask: np.ndarray, first: int,
            last: int) -> pa.Table:
    """The rule's counts of the intervals `first`..`last` (which the table must hold
    whole), as BASELINE_SCHEMA rows."""
    tf = TIME_FIELD[rule.table]
    per_us = rule.interval * US
    parts = []
    for i, keys in enumerate(rule.keys):
        rr = RuleRows.of(table, mask, keys, tf)
        interval = rr.ts // per_us
        inside = (interval >= first) & (interval <= last)
        if not inside.any():
            continue
        rr = RuleRows(rr.rows[inside], rr.keys[inside], rr.ts[inside])
        codes, at = np.unique(rr.keys, return_index=True)
        text = dict(zip(codes.tolist(), key_text(table, rr.rows[at], keys).to_pylist()))
        for m in rule.measures:
            k, b, v = interval_values(table, rr, interval[inside], m)
            parts.append(pa.table({
                "rule": pa.array([rule.id] * len(k), pa.string()),
                "keyset": pa.array(np.full(len(k), i, np.int32)),
                "key": pa.array([text[int(x)] for x in k], pa.string()),
                "measure": pa.array([m.name] * len(k), pa.string()),
                "interval": pa.array(b, pa.int64()), "value": pa.array(v, pa.float64())},
                schema=BASELINE_SCHEMA))
    return pa.concat_tables(parts) if parts else BASELINE_SCHEMA.empty_table()
