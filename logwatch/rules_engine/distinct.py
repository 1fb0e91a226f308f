"""*distinct*: N distinct values of a field per key within a window (a password spray is
many usernames from one address; a distributed brute force many addresses for one name).

A list field (a message's recipient domains) counts each of its elements. The rule fires
at a value new to the window, and at a value tried again when the window holds the
threshold's number of values tried again: a spray that goes round its list of names
again is one incident to its last line, and swallows the burst it also is; a spray that
settles on one name ends there (a stray retry of another name after it is no second
round), and the burst rule tells the brute force that follows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, incidents_from_points
from logwatch.rules_engine.model import TIME_FIELD, Distinct
from logwatch.rules_engine.rows import RuleRows
from logwatch.columns import distinct, plain
from logwatch.rules_engine.windows import distinct_in_window, since_same

__all__ = ["find_distinct", "value_codes"]


def value_codes(column: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, value code) pairs for `rows` of `column`: one per element for list fields,
    none for nulls. Values compare case-insensitively where they are text (`Admin` =
    `admin`). `column` is one array: a take from one in pieces joins them first, once
    per incident (a spray from a botnet is hundreds a pass)."""
    col = column.take(pa.array(rows))
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
    column = plain(table.column(rule.field))
    owner, vals = value_codes(column, rr.rows)
    window = rule.window * US
    keys, ts = rr.keys[owner], rr.ts[owner]
    counts = distinct_in_window(keys, vals, ts, window)
    fresh = since_same(keys, vals, ts) > window
    again = np.flatnonzero(~fresh)
    round_again = np.zeros(len(keys), bool)
    round_again[again] = distinct_in_window(keys[again], vals[again], ts[again],
                                            window) >= rule.threshold
    fires = (counts >= rule.threshold) & (fresh | round_again)
    points = distinct(owner[fires])
    found = incidents_from_points(table, rr.rows, rr.keys, rr.ts, points, window,
                                  max(rule.cooldown_s * US, window), rule.group_by)
    for inc in found:
        _, in_inc = value_codes(column, inc.rows)
        inc.count = len(distinct(in_inc))
    return found
