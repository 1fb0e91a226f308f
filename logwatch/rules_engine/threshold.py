"""*threshold* and *match*: N rows (or N of a weight) per key within a window.

A *match* rule is the threshold of one: every row is an incident, and rows of the same key
within the cooldown continue it, so an open relay that sends a hundred messages is one
alert with a hundred messages of evidence.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, incidents_from_points
from logwatch.rules_engine.model import TIME_FIELD, Match, Threshold
from logwatch.rules_engine.rows import RuleRows
from logwatch.rules_engine.windows import counts_at

__all__ = ["find_threshold", "find_match"]


def find_threshold(rule: Threshold, table: pa.Table, mask: np.ndarray) -> list[Incident]:
    rr = RuleRows.of(table, mask, rule.group_by, TIME_FIELD[rule.table])
    w = rr.weights(table, rule.weight)
    keep = w > 0
    rr = RuleRows(rr.rows[keep], rr.keys[keep], rr.ts[keep])
    w = w[keep]
    window = rule.window * US
    counts = counts_at(rr.keys, rr.ts, w, rr.keys, rr.ts, window)
    points = np.flatnonzero(counts >= rule.threshold)
    return incidents_from_points(table, rr.rows, rr.keys, rr.ts, points, window,
                                 max(rule.cooldown_s * US, window), rule.group_by, w)


def find_match(rule: Match, table: pa.Table, mask: np.ndarray) -> list[Incident]:
    rr = RuleRows.of(table, mask, rule.group_by, TIME_FIELD[rule.table])
    gap = rule.cooldown_s * US
    return incidents_from_points(table, rr.rows, rr.keys, rr.ts, np.arange(len(rr.rows)),
                                 0, gap, rule.group_by)
