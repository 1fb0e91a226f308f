"""Arrow columns as the computing stages want them: one contiguous array of plain
values (dictionary columns decoded), or that as numpy. Every stage that joins,
compares or indexes columns from different blocks needs this, so it lives once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["plain", "to_numpy", "in_values"]


def plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array, dictionary decoded (blocks encode their strings each their own way)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def to_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return plain(col).to_numpy(zero_copy_only=False)


def in_values(col: pa.ChunkedArray | pa.Array, values: pa.Array) -> pa.Array:
    """Whether each row's value is one of `values` (false for null). A dictionary column
    is asked through its dictionary: the event column is asked this many times a block,
    and decoding it each time cost four times the test."""
    out = []
    for chunk in (col.chunks if isinstance(col, pa.ChunkedArray) else [col]):
        if pa.types.is_dictionary(chunk.type):
            out.append(pc.take(pc.is_in(chunk.dictionary, value_set=values), chunk.indices))
        else:
            out.append(pc.is_in(chunk, value_set=values))
    return pc.fill_null(pa.concat_arrays(out) if out else pa.array([], pa.bool_()), False)
