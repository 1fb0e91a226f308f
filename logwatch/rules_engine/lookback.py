"""What a sequence rule's `unless_before` remembers of the then-rows a live pass no
longer holds.

`unless_before = ["sasl_username"]` lets a login through when the same address logged
in as the same user before (bob's phone, fixed after three stale-password failures).
A batch has every earlier login in its table; a live pass keeps only the rule's window
of rows (an hour), so bob's login of two hours ago was gone, and `run` and `follow`
paged for what `detect` let through. Each pass therefore writes down, as its then-rows
leave the history, their (key, fields) pair and time; the next passes look the pairs
up. A pair is remembered for the rule's `unless_before_within` (90 days unless said),
and `detect` looks no further back either, so that both give the same answer; a rule
remembers at most `MOST` pairs, the most recently seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain
from logwatch.durations import US
from logwatch.rules_engine.model import TIME_FIELD, Sequence
from logwatch.rules_engine.rows import key_text, times_us
from logwatch.rules_engine.select import selected

__all__ = ["SEEN_SCHEMA", "MOST", "NEVER", "ThenSeen", "pair_texts"]

SEEN_SCHEMA = pa.schema([("scope", pa.string()), ("pair", pa.string()),
                         ("last_us", pa.int64())])
#: pairs remembered per rule: a year of a large site's (address, user) logins is fewer
MOST = 200_000
#: the time of a pair never seen
NEVER = np.iinfo(np.int64).min
#: how long the pairs of a scope no rule has now are kept (s): the default horizon
HORIZON = Sequence.model_fields["unless_before_within"].default


def _scope(rule: Sequence) -> str:
    """What a pair belongs to: the rule and the fields its pairs are made of (a rule
    whose fields change starts again, rather than matching pairs of other fields)."""
    return "\x1e".join([rule.id, *rule.group_by, "", *rule.unless_before])


def pair_texts(rule: Sequence, table: pa.Table, rows: np.ndarray
               ) -> tuple[pa.Array, np.ndarray]:
    """The (key, unless_before fields) pair of each of `rows` as text, without case as
    keys compare (windows.key_codes), and which rows have every field (a row without one
    matches nothing, as in a batch)."""
    fields = rule.group_by + rule.unless_before
    take = pa.array(rows, pa.int64())
    valid = np.ones(len(rows), bool)
    for f in fields:
        valid &= pc.is_valid(plain(table.column(f).take(take))).to_numpy(zero_copy_only=False)
    return pc.utf8_lower(key_text(table, rows, fields)), valid


@dataclass(frozen=True)
class ThenSeen:
    """The remembered pairs of every rule, with the time each was last seen (µs). Never
    changed in place: a follower's checkpoint may be writing the last pass's."""

    table: pa.Table = field(default_factory=SEEN_SCHEMA.empty_table)

    def last_seen(self, rule: Sequence, pairs: pa.Array) -> np.ndarray:
        """When each pair was last seen as a then-row that left the history (NEVER for
        none)."""
        out = np.full(len(pairs), NEVER, np.int64)
        mine = self.table.filter(pc.equal(self.table.column("scope"), _scope(rule)))
        if not mine.num_rows:
            return out
        at = pc.index_in(pairs, value_set=mine.column("pair").combine_chunks())
        found = pc.is_valid(at).to_numpy(zero_copy_only=False)
        last = mine.column("last_us").combine_chunks().to_numpy()
        out[found] = last[pc.fill_null(at, 0).to_numpy(zero_copy_only=False)[found]]
        return out

    def after(self, rules: list[Sequence], table: pa.Table, table_name: str,
              masks: dict[str, np.ndarray], kept: np.ndarray) -> ThenSeen:
        """With the then-rows of `table` (of `table_name`, whose rules' `masks` begin
        with it) that the history does not keep (`kept`), and without the pairs older
        than their rule's horizon before the table's newest row."""
        ts, has_ts = times_us(table, TIME_FIELD[table_name])
        if not has_ts.any():
            return self
        newest = int(ts[has_ts].max())
        added, since = [], {}
        for rule in rules:
            if rule.kind != "sequence" or not rule.unless_before or rule.table != table_name:
                continue
            since[_scope(rule)] = newest - rule.unless_before_within * US
            gone = masks[rule.id][:table.num_rows] & ~kept & has_ts & selected(
                table, rule.then.where, rule.then.unless)
            rows = np.flatnonzero(gone)
            pairs, valid = pair_texts(rule, table, rows)
            if valid.any():
                added.append(pa.table({
                    "scope": pa.array([_scope(rule)] * int(valid.sum()), pa.string()),
                    "pair": pairs.filter(pa.array(valid)),
                    "last_us": pa.array(ts[rows][valid], pa.int64())}, schema=SEEN_SCHEMA))
        current = _current(self.table, since, newest - HORIZON * US)
        if not added and current.all():
            return self
        return ThenSeen(_latest(pa.concat_tables([self.table.filter(pa.array(current)),
                                                  *added])))


def _current(table: pa.Table, since: dict[str, int], otherwise: int) -> np.ndarray:
    """Which pairs were seen at or after their scope's `since`, or `otherwise` for a
    scope no rule has now (a rule disabled for a while finds its pairs again)."""
    if not table.num_rows:
        return np.ones(0, bool)
    enc = pc.dictionary_encode(table.column("scope").combine_chunks())
    floor = np.array([since.get(s, otherwise) for s in enc.dictionary.to_pylist()],
                     np.int64)
    return table.column("last_us").to_numpy() >= floor[enc.indices.to_numpy()]


def _latest(table: pa.Table) -> pa.Table:
    """One row per (scope, pair) with its latest time, at most MOST per scope (the
    latest)."""
    g = table.group_by(["scope", "pair"], use_threads=False).aggregate([("last_us", "max")])
    g = g.select(["scope", "pair", "last_us_max"]).rename_columns(SEEN_SCHEMA.names)
    g = g.take(pc.sort_indices(g, [("scope", "ascending"), ("last_us", "descending")]))
    codes = pc.dictionary_encode(g.column("scope").combine_chunks()).indices.to_numpy()
    place = np.arange(len(codes)) - np.searchsorted(codes, codes)   # within its scope
    return g.filter(pa.array(place < MOST)).cast(SEEN_SCHEMA)
