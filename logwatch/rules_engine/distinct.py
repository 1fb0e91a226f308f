"""*distinct*: N distinct values of a field per key within a window (a password spray is
many usernames from one address; a distributed brute force many addresses for one name).

A list field (a message's recipient domains) counts each of its elements. The rule fires
at a value new to the window, or at one tried again after as many rows of others as the
threshold: a spray that goes round its list of names again is one incident to its last
line, and swallows the burst it also is; a spray that settles on one name ends there,
and the burst rule tells the brute force that follows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, incidents_from_points
from logwatch.rules_engine.model import TIME_FIELD, Distinct
from logwatch.rules_engine.rows import RuleRows
from logwatch.columns import plain
from logwatch.rules_engine.windows import distinct_in_window, since_same

__all__ = ["find_distinct", "value_codes"]


def value_codes(table: pa.Table, field: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, value code) pairs for `rows`: one per element for list fields, none for
    nulls. Values compare case-insensitively where they are text (`Admin` = `admin`)."""
    col = plain(table.column(field).take(pa.array(rows)))
    owner = np.arange(len(rows))
    if pa.types.is_list(col.type):
        owner = pc.list_parent_indices(col).to_numpy()
        col = pc.list_flatten(col)
    if pa.types.is_string(col.type):
        col = pc.utf8_lower(col)
    enc = pc.dictionary_encode(col)
    valid = pc.is_valid(enc.indices).to_numpy(zero_copy_only=False)
    codes = pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return owner[valid], codes[valid]


def find_distinct(rule: Distinct, table: pa.Table, mask: np.ndarray) -> list[Incident]:
    rr = RuleRows.of(table, mask, rule.group_by, TIME_FIELD[rule.table])
    owner, vals = value_codes(table, rule.field, rr.rows)
    window = rule.window * US
    keys, ts = rr.keys[owner], rr.ts[owner]
    counts = distinct_in_window(keys, vals, ts, window)
    since, between = since_same(keys, vals, ts)
    fires = (counts >= rule.threshold) & ((since > window) | (between >= rule.threshold - 1))
    points = np.unique(owner[fires])
    found = incidents_from_points(table, rr.rows, rr.keys, rr.ts, points, window,
                                  max(rule.cooldown_s * US, window), rule.group_by)
    for inc in found:
        _, in_inc = value_codes(table, rule.field, inc.rows)
        inc.count = len(np.unique(in_inc))
    return found
