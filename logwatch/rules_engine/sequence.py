"""*sequence*: at least N `first` rows, then a `then` row, for one key within a window.

The credential case: failures from an address, then a login from it. Two ways the
defaults stay quiet on the innocent: `ignore_same` drops failures that share the login's
session (a client falling back from CRAM-MD5 to PLAIN; with `ignore_once_per`, one per
mechanism, so that guesses repeated in the login's own session still count), and
`unless_before` drops a login when the same address had logged in as the same user
before (a phone with a stale password that the owner then fixed), within
`unless_before_within`: earlier logins in the table, and in live mode those that earlier
passes remembered (lookback.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from logwatch.durations import US
from logwatch.rules_engine.incident import Incident, incidents_from_points
from logwatch.rules_engine.lookback import ThenSeen, pair_texts
from logwatch.rules_engine.model import TIME_FIELD, Sequence
from logwatch.rules_engine.rows import RuleRows, times_us
from logwatch.rules_engine.select import selected
from logwatch.rules_engine.windows import counts_at, key_codes

__all__ = ["find_sequence"]


def _codes_or_unique(table: pa.Table, fields: list[str], rows: np.ndarray) -> np.ndarray:
    """Key codes over `fields` of the `rows` the rule counts (a few of the table's: a
    session id is long, and a day holds a million); a row missing one of them gets a
    code of its own (a failure without a session shares it with nothing)."""
    codes, valid = key_codes(table.select(fields).take(pa.array(rows)), fields)
    return np.where(valid, codes, -1 - np.arange(len(rows), dtype=np.int64))


def _ignored(rule: Sequence, table: pa.Table, rows: np.ndarray,
             weights: np.ndarray) -> np.ndarray:
    """How much of each first-row `ignore_same` may take away: all of it, or with
    `ignore_once_per` one row per value of that field (eight failed LOGINs in the
    session that then logs in are seven guesses and a mistake, not a fallback)."""
    if rule.ignore_once_per is None:
        return weights
    each = _codes_or_unique(table, rule.group_by + rule.ignore_same + [rule.ignore_once_per],
                            rows)
    _, first = np.unique(each, return_index=True)
    once = np.zeros(len(rows), weights.dtype)
    once[first] = 1
    return np.minimum(weights, once)


def _seen_before(codes: np.ndarray, ts: np.ndarray, within: int) -> np.ndarray:
    """Rows whose code occurred among the given rows at an earlier time, at most
    `within` earlier."""
    if not len(codes):
        return np.zeros(0, bool)
    order = np.lexsort((ts, codes))
    c, t = codes[order], ts[order]
    moment = np.concatenate(([True], (c[1:] != c[:-1]) | (t[1:] != t[:-1])))
    before = np.flatnonzero(moment)[np.cumsum(moment) - 1] - 1   # the last row earlier
    at = np.maximum(before, 0)
    out = np.empty(len(c), bool)
    out[order] = (before >= 0) & (c[at] == c) & (t - t[at] <= within)
    return out


def _unless_before(rule: Sequence, table: pa.Table, b: RuleRows,
                   seen: ThenSeen | None) -> np.ndarray:
    """Which then-rows `unless_before` lets through: an earlier then-row of the same
    pair within its horizon, in the table or (live mode) remembered in `seen`."""
    within = rule.unless_before_within * US
    known = _codes_or_unique(table, rule.group_by + rule.unless_before, b.rows)
    out = _seen_before(known, b.ts, within)
    if seen is not None:
        pairs, valid = pair_texts(rule, table, b.rows)
        last = seen.last_seen(rule, pairs)
        out |= valid & (last < b.ts) & (last >= b.ts - within)
    return out


def find_sequence(rule: Sequence, table: pa.Table, mask: np.ndarray,
                  seen: ThenSeen | None = None) -> list[Incident]:
    """`seen`: the then-rows earlier live passes no longer hold, for `unless_before`."""
    tf = TIME_FIELD[rule.table]
    a = RuleRows.of(table, mask & selected(table, rule.first.where, rule.first.unless),
                    rule.group_by, tf)
    b = RuleRows.of(table, mask & selected(table, rule.then.where, rule.then.unless),
                    rule.group_by, tf)
    wa = a.weights(table, rule.weight)
    window = rule.window * US
    before = counts_at(a.keys, a.ts, wa, b.keys, b.ts, window)
    if rule.ignore_same:
        same = _codes_or_unique(table, rule.group_by + rule.ignore_same,
                                np.concatenate((a.rows, b.rows)))
        before = before - counts_at(same[:len(a.rows)], a.ts, _ignored(rule, table, a.rows, wa),
                                    same[len(a.rows):], b.ts, window)
    fire = before >= rule.min_first
    if rule.unless_before and len(b.rows):
        fire &= ~_unless_before(rule, table, b, seen)
    # the incident's rows: the first-rows and then-rows of its key, on one timeline
    rows = np.concatenate((a.rows, b.rows))
    keys = np.concatenate((a.keys, b.keys))
    ts, _ = times_us(table, tf)
    points = len(a.rows) + np.flatnonzero(fire)
    weights = np.concatenate((wa, np.zeros(len(b.rows), np.int64)))
    found = incidents_from_points(table, rows, keys, ts[rows], points, window,
                                  max(rule.cooldown_s * US, window), rule.group_by, weights)
    b_set = set(b.rows.tolist())
    for inc in found:
        inc.details["then_rows"] = int(sum(1 for r in inc.rows.tolist() if r in b_set))
    return found
