"""*level*: something that piles up, like the deferred queue.

Each selected row enters at its `start` time and leaves at its `end` time when the
`ended_when` conditions hold (a deferred message leaves when it is delivered, bounced or
expired; one still deferred at its last line is still queued). The level per key is
sampled at the end of every interval; it fires when it is at least `floor` and has grown
over each of the last `rising` intervals: a queue that only ever grows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from logwatch.columns import distinct
from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, key_values
from logwatch.rules_engine.model import TIME_FIELD, Level
from logwatch.rules_engine.rows import RuleRows, times_us
from logwatch.rules_engine.select import mask_of
from logwatch.rules_engine.windows import chain

__all__ = ["find_level"]

_NEVER = np.iinfo(np.int64).max


def find_level(rule: Level, table: pa.Table, mask: np.ndarray) -> list[Incident]:
    rr = RuleRows.of(table, mask, rule.group_by, rule.start)
    if not len(rr.rows):
        return []
    end = np.full(len(rr.rows), _NEVER)
    if rule.end:
        ends, has_end = times_us(table, rule.end)
        left = has_end & mask_of(table, rule.ended_when)
        end = np.where(left[rr.rows], ends[rr.rows], _NEVER)
    all_ts, has_ts = times_us(table, TIME_FIELD[rule.table])
    per = rule.interval * US
    # from the start of the first interval with an entry (empty then), so that the growth
    # over that interval counts as one of the `rising`
    grid = np.arange(rr.ts.min() // per, all_ts[has_ts].max() // per + 2) * per
    out = []
    for key in distinct(rr.keys):
        sel = rr.keys == key
        enter, leave = np.sort(rr.ts[sel]), np.sort(end[sel])
        level = np.searchsorted(enter, grid, "right") - np.searchsorted(leave, grid, "right")
        up = np.concatenate(([0], np.cumsum(np.diff(level) > 0)))
        rising = np.zeros(len(grid), bool)
        rising[rule.rising:] = up[rule.rising:] - up[:-rule.rising] == rule.rising
        firing = np.flatnonzero((level >= rule.floor) & rising)
        if not len(firing):
            continue
        inc = chain(np.zeros(len(firing), np.int64), grid[firing], rule.cooldown_s * US)
        for i in distinct(inc):
            pts = firing[inc == i]
            t_last = grid[pts[-1]]
            queued = (rr.ts <= t_last) & (end > t_last) & sel
            rows = rr.rows[queued][np.argsort(rr.ts[queued], kind="stable")]
            out.append(Incident(key=key_values(table, rule.group_by, int(rows[0])),
                                rows=rows, first_us=int(grid[pts[0]] - per * rule.rising),
                                last_us=int(t_last), count=int(level[pts[-1]]),
                                details={"level": [int(x) for x in level[pts[0] - rule.rising:
                                                                          pts[-1] + 1]],
                                         "interval": rule.interval}))
    return out
