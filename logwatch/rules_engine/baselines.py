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

    def values_of(self, keyset: int, measure: str, keys: list[str]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The counts of `keys` in key set `keyset` and `measure`: for each count, the
        index of its key in `keys`, its interval and its value. Asked on every pass for
        the keys a spike rule examines: matched through the dictionaries of a table
        made once per recorded interval, never by text row by row (joining the labels
        of a week of counts as strings was a tenth of a quiet server's pass)."""
        if not keys or not any(t.num_rows for t in self.intervals.values()):
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        if self.joined is None:
            counts = self.table()
            for name in ("key", "measure"):
                counts = counts.set_column(counts.schema.get_field_index(name), name,
                                           pc.dictionary_encode(counts.column(name))
                                           .combine_chunks())
            self.joined = counts
        key, kind = self.joined.column("key").chunk(0), self.joined.column("measure").chunk(0)
        # each distinct key's place in `keys` (-1: not asked), then each row's
        asked = pc.index_in(key.dictionary, value_set=pa.array(keys, pa.string()))
        at = pc.fill_null(asked, -1).to_numpy(zero_copy_only=False)[key.indices.to_numpy()]
        names = kind.dictionary.to_pylist()
        mine = (at >= 0) & (self.joined.column("keyset").to_numpy() == keyset) & (
            kind.indices.to_numpy() == (names.index(measure) if measure in names else -1))
        return (at[mine].astype(np.int64), self.joined.column("interval").to_numpy()[mine],
                self.joined.column("value").to_numpy()[mine])

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
