"""The rows a rule looks at: selected, keyed and timed, ready for the window sweeps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain
from logwatch.rules_engine.windows import key_codes

__all__ = ["RuleRows", "times_us"]


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
        if field is None:
            return np.ones(len(self.rows), np.int64)
        col = pc.fill_null(plain(table.column(field)), 0)
        return col.to_numpy(zero_copy_only=False)[self.rows].astype(np.int64)
