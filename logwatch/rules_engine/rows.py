"""The rows a rule looks at: selected, keyed and timed, ready for the window sweeps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain
from logwatch.rules_engine.windows import key_codes

__all__ = ["RuleRows", "row_weights", "times_us", "key_text"]


def times_us(table: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch per row, and which rows have a time."""
    col = plain(table.column(column)).cast(pa.int64())
    return pc.fill_null(col, 0).to_numpy(zero_copy_only=False), \
        pc.is_valid(col).to_numpy(zero_copy_only=False)


@dataclass
class RuleRows:
    """Indices into the table of the rows a rule counts, their key codes and times."""

    rows: np.ndarray
    keys: np.ndarray
    ts: np.ndarray

    @classmethod
    def of(cls, table: pa.Table, mask: np.ndarray, group_by: list[str],
           time_field: str) -> RuleRows:
        codes, has_key = key_codes(table, group_by)
        ts, has_time = times_us(table, time_field)
        rows = np.flatnonzero(mask & has_key & has_time)
        return cls(rows, codes[rows], ts[rows])

    def weights(self, table: pa.Table, field: str | None) -> np.ndarray:
        return row_weights(table, field, self.rows)


def row_weights(table: pa.Table, field: str | None, rows: np.ndarray | None = None
                ) -> np.ndarray:
    """What each row of `table` (or each of `rows`) weighs in a rule's count: its value
    of `field` as a whole number (none where null), or one each without a field."""
    if field is None:
        return np.ones(table.num_rows if rows is None else len(rows), np.int64)
    col = table.column(field)
    col = pc.fill_null(plain(col if rows is None else col.take(pa.array(rows, pa.int64()))), 0)
    return col.to_numpy(zero_copy_only=False).astype(np.int64)


def key_text(table: pa.Table, rows: np.ndarray, keys: list[str]) -> pa.Array:
    """The key of each row as one string (the key set's values joined; '' for the
    total), which names a key across passes where key codes do not."""
    if not keys:
        return pa.array([""] * len(rows), pa.string())
    take = pa.array(rows)
    parts = [pc.fill_null(plain(table.column(k).take(take)).cast(pa.string()), "")
             for k in keys]
    return pc.binary_join_element_wise(*parts, "\x1f")
