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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    """One spike rule's written-down intervals: `intervals[n]` holds the counts of
    interval n (BASELINE_SCHEMA rows), which was counted whole (a key absent there had
    none); `since` is the first interval ever counted, which the rule's `min_history`
    and `seasonal_after` measure from.

    The counts stay columns: four weeks of a few hundred keys an hour are half a million
    of them, which as Python tuples in dicts were 174 MiB, a third of a second to write
    at every checkpoint and half a second to read at every cron run."""

    since: int | None = None
    intervals: dict[int, pa.Table] = field(default_factory=dict)
    #: set for each pass: the first interval its table holds whole (None: all of them);
    #: earlier ones are read from here
    table_from: int | None = None
    #: all the intervals' counts in one table, keys dictionary-encoded: made when first
    #: asked after an interval is recorded (once an interval), asked on every pass
    joined: pa.Table | None = field(default=None, repr=False, compare=False)

    def values_of(self, wanted: list[tuple[int, str, str]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The counts of the keys `wanted` (key set, key, measure): for each, the index
        of its key in `wanted`, its interval and its value. Asked once for every key a
        pass examines, through the keys' dictionary rather than the weeks of rows."""
        if not wanted or not any(t.num_rows for t in self.intervals.values()):
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        if self.joined is None:
            counts = self.table()
            self.joined = counts.set_column(
                counts.schema.get_field_index("key"), "key",
                pc.dictionary_encode(counts.column("key")).combine_chunks())
        keys = self.joined.column("key").chunk(0)
        asked = pc.is_in(keys.dictionary, value_set=pa.array({k for _, k, _ in wanted},
                                                             pa.string()))
        rows = np.flatnonzero(asked.to_numpy(zero_copy_only=False)[keys.indices.to_numpy()])
        near = self.joined.take(pa.array(rows))
        at = pc.fill_null(pc.index_in(_labels(near["keyset"], near["key"].cast(pa.string()),
                                              near["measure"]),
                                      value_set=_labels(*map(pa.array, zip(*wanted)))), -1)
        at = at.to_numpy(zero_copy_only=False).astype(np.int64)
        mine = at >= 0
        return (at[mine], near["interval"].to_numpy()[mine],
                near["value"].to_numpy()[mine].astype(np.float64))

    def record(self, counts: pa.Table, first: int, last: int, oldest: int) -> None:
        """Take the counts of intervals `first`..`last` (BASELINE_SCHEMA rows of this
        rule), and forget intervals before `oldest`."""
        got = _groups(counts, "interval")
        for n in range(first, last + 1):
            new = got.get(n, BASELINE_SCHEMA.empty_table())
            # a follower counts the last whole interval again at every pass (a late
            # line may still land in it): the same counts leave `joined` as it is
            if n not in self.intervals or not self.intervals[n].equals(new):
                self.intervals[n] = new
                self.joined = None
        for n in [n for n in self.intervals if n < oldest]:
            del self.intervals[n]
            self.joined = None
        self.since = first if self.since is None else min(self.since, first)

    def table(self) -> pa.Table:
        """All the counts, in one piece (written as hundreds of small batches, they
        took five times as long to write)."""
        return pa.concat_tables([BASELINE_SCHEMA.empty_table()] + [
            self.intervals[n] for n in sorted(self.intervals)]).combine_chunks()


def _labels(keyset: pa.Array, key: pa.Array, measure: pa.Array) -> pa.Array:
    """(key set, key, measure) as one string, to look up many at once."""
    return pc.binary_join_element_wise(pc.cast(keyset, pa.string()), key, measure, "\x1f")


def _groups(table: pa.Table, column: str) -> dict[Any, pa.Table]:
    """The rows of `table` by their value of `column`, as slices: of the table itself
    when its rows come grouped (as written: by rule, then interval), else of one copy
    grouped. Read back at start, four weeks of counts are hundreds of intervals."""
    if not table.num_rows:
        return {}
    enc = pc.dictionary_encode(table.column(column).combine_chunks())
    codes = enc.indices.to_numpy()       # numbered as they first appear
    if (np.diff(codes) < 0).any():
        order = np.argsort(codes, kind="stable")
        table, codes = table.take(pa.array(order)), codes[order]
    change = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.concatenate(([0], change)), np.concatenate((change, [len(codes)]))
    values = enc.dictionary.to_pylist()
    return {values[codes[a]]: table.slice(a, b - a)
            for a, b in zip(starts.tolist(), ends.tolist())}


def past_counts(table: pa.Table, since: dict[str, int]) -> dict[str, PastCounts]:
    """The written-down counts, per rule, as `PastCounts` (`since`: per rule, the first
    interval counted, which the rows alone do not tell when it had none)."""
    out = {rule: PastCounts(first) for rule, first in since.items()}
    for rule, rows in _groups(table, "rule").items():
        intervals = _groups(rows, "interval")
        past = out.setdefault(rule, PastCounts(min(intervals)))
        past.intervals.update(intervals)
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
