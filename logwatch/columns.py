"""Arrow columns as the computing stages want them: one contiguous array of plain
values (dictionary columns decoded), or that as numpy. Every stage that joins,
compares or indexes columns from different blocks needs this, so it lives once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["plain", "to_numpy", "in_values", "event_is", "rows_among", "through_dictionary",
           "distinct", "distinct_pairs", "in_schema"]


def plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array, dictionary decoded (blocks encode their strings each their own way)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def to_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return plain(col).to_numpy(zero_copy_only=False)


def distinct_pairs(label: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (label, value) pairs of non-negative whole numbers, by label then
    value: one sort of their codes."""
    span = int(values.max()) + 1 if len(values) else 1
    label, values = np.divmod(distinct(label.astype(np.int64) * span + values), span)
    return label, values


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: `np.unique` by a sort. NumPy 2.4's `np.unique`
    without `return_*` goes through a hash table, ten times slower than sorting once
    the values are many and mostly distinct (0.37 s against 0.03 s for 588k row
    numbers: the evidence of the 5M-line benchmark's alerts)."""
    s = np.sort(values, axis=None)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def through_dictionary(col: pa.ChunkedArray | pa.Array,
                       fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`fn` (a test of each value of an array) of every row of `col`, asked once: of
    the dictionary shared by all chunks for a dictionary column (the event and status
    columns are asked this many times a block, and decoding them each time cost four
    times the test), else of the chunks combined. Asked chunk by chunk, a set lookup
    built its set again for each: 0.23 s against 0.01 s for a follower's messages in
    150 chunks against 45k queue ids."""
    if not pa.types.is_dictionary(col.type):
        return fn(plain(col))
    if isinstance(col, pa.ChunkedArray):
        if not col.num_chunks:
            return fn(plain(col))
        col = col.unify_dictionaries()
        answer = fn(col.chunk(0).dictionary)
        return pa.concat_arrays([pc.take(answer, c.indices) for c in col.chunks])
    return pc.take(fn(col.dictionary), col.indices)


def in_values(col: pa.ChunkedArray | pa.Array, values: pa.Array) -> pa.Array:
    """Whether each row's value is one of `values` (false for null)."""
    return pc.fill_null(through_dictionary(col, lambda a: pc.is_in(a, value_set=values)),
                        False)


def event_is(table: pa.Table, *names: str) -> pa.Array:
    """Whether each row's `event` is one of `names`: asked of the column's dictionary,
    never of its decoded text (a follower holds hours of rows, a report many blocks)."""
    return in_values(table.column("event"), pa.array(names, pa.string()))


def rows_among(col: pa.ChunkedArray | pa.Array, values: pa.Array) -> np.ndarray:
    """The positions of the rows whose value is one of `values`: asked before a join or
    a costlier test, so that it sees only the rows that can meet (a follower holds
    hours of rows, and a pass's new ones name a few of them)."""
    return np.flatnonzero(in_values(col, values).to_numpy(zero_copy_only=False))


def in_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` in `schema`, a column it lacks all null (no buffers to speak of): a table
    an earlier version wrote, or one kept with only the columns its readers need, for
    stages that read the whole schema."""
    return pa.table({f.name: table.column(f.name).cast(f.type) if f.name in table.column_names
                     else pa.nulls(table.num_rows, f.type) for f in schema}, schema=schema)
