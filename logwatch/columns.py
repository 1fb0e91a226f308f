"""Arrow columns as the computing stages want them: one contiguous array of plain
values (dictionary columns decoded), or that as numpy. Every stage that joins,
compares or indexes columns from different blocks needs this, so it lives once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["plain", "to_numpy"]


def plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array, dictionary decoded (blocks encode their strings each their own way)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def to_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return plain(col).to_numpy(zero_copy_only=False)
