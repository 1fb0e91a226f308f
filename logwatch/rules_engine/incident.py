"""What a rule kind finds: one incident per key and burst, with the rows behind it.

An incident is the unit of alerting (DESIGN.md: one alert per incident): rows of one key
that fired, chained while they keep coming within the rule's cooldown. The kinds return
them with the indices of their rows in the rule's table, so that the evidence and the
summary are the lines that made the rule fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from logwatch.columns import plain
from logwatch.rules_engine.windows import Timeline, chain

__all__ = ["Incident", "incidents_from_points", "key_values", "keys_of"]


@dataclass
class Incident:
    key: dict[str, Any]
    rows: np.ndarray          # indices into the rule's table, in time order
    first_us: int
    last_us: int
    count: int
    details: dict[str, Any] = field(default_factory=dict)


def key_values(table: pa.Table, fields: list[str], row: int) -> dict[str, Any]:
    """The group-by values of one row, as the alert's `key`."""
    return keys_of(table, fields, [row])[0]


def keys_of(table: pa.Table, fields: list[str], rows: list[int]) -> list[dict[str, Any]]:
    """The group-by values of each of `rows`: one take per field for all of them (a
    column in pieces is joined at every take, and a botnet brings a thousand incidents
    a pass)."""
    values = {f: plain(table.column(f).take(pa.array(rows, pa.int64()))).to_pylist()
              for f in fields}
    return [{f: values[f][i] for f in fields} for i in range(len(rows))]


def incidents_from_points(table: pa.Table, rows: np.ndarray, keys: np.ndarray,
                          ts: np.ndarray, points: np.ndarray, window: int, gap: int,
                          group_by: list[str], weights: np.ndarray | None = None
                          ) -> list[Incident]:
    """Incidents from firing points.

    `rows`, `keys`, `ts` describe the rule's selected rows (indices into `table`, key
    codes, µs); `points` are positions into them where the rule fired. Points of a key
    closer than `gap` make one incident, whose rows are those of its key from `window`
    before its first point to its last point.
    """
    if not len(points):
        return []
    line = Timeline.build(keys, ts, max(window, gap))
    pos_of = np.empty(len(rows), np.int64)
    pos_of[line.order] = np.arange(len(rows))
    pts = np.sort(pos_of[points])           # sorted positions: by key, then time
    inc = chain(line.keys[pts], line.ts[pts], gap)
    bounds = np.flatnonzero(np.concatenate(([True], inc[1:] != inc[:-1], [True])))
    w = np.ones(len(rows), np.int64) if weights is None else weights
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        first, last = pts[a], pts[b - 1]
        lo = min(int(line.back(np.array([first]), window)[0]), int(first))
        # to the last row at the last point's time: rows of one moment are not cut in two
        hi = int(np.searchsorted(line.axis, line.axis[last], side="right"))
        span = line.order[lo:hi]
        out.append(Incident(key={}, rows=rows[span], first_us=int(line.ts[lo]),
                            last_us=int(line.ts[last]), count=int(w[span].sum())))
    for inc, key in zip(out, keys_of(table, group_by, [int(i.rows[0]) for i in out])):
        inc.key = key
    return out
