"""The rules engine's window sweeps (`rules_engine.windows`) against brute force.

Keys 0-3, times on whole seconds within 50 s (so that ties and rows exactly one window
apart are the common case, not the rare one), windows of whole seconds: a row exactly
`window` before a query is inside it (as in fail2ban's `findtime`), and so is a row at
the query's own time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.rules_engine.windows import (Timeline, chain, counts_at, distinct_in_window,
                                          key_codes, since_same)

S = 1_000_000   # µs

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

keys_st = st.integers(0, 3)
secs_st = st.integers(0, 50)
window_st = st.integers(1, 20).map(lambda s: s * S)


def arr(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# -- brute force ---------------------------------------------------------------------------

def brute_counts(a_keys, a_ts, a_w, q_keys, q_ts, window) -> list[int]:
    return [sum(int(w) for k, t, w in zip(a_keys, a_ts, a_w)
                if k == qk and qt - window <= t <= qt)
            for qk, qt in zip(q_keys, q_ts)]


def brute_distinct(keys, values, ts, key, at, window) -> int:
    """Distinct values of `key` with a row in [at - window, at]."""
    return len({v for k, v, t in zip(keys, values, ts) if k == key and at - window <= t <= at})


# -- counts_at -----------------------------------------------------------------------------

a_rows = st.lists(st.tuples(keys_st, secs_st, st.integers(0, 3)), max_size=40)
q_rows = st.lists(st.tuples(keys_st, secs_st), max_size=25)


@SETTINGS
@given(a=a_rows, q=q_rows, window=window_st)
def test_counts_at_equals_brute_force(a, q, window) -> None:
    a_keys, a_ts, a_w = arr([r[0] for r in a]), arr([r[1] * S for r in a]), arr([r[2] for r in a])
    q_keys, q_ts = arr([r[0] for r in q]), arr([r[1] * S for r in q])
    got = counts_at(a_keys, a_ts, a_w, q_keys, q_ts, window)
    assert got.tolist() == brute_counts(a_keys, a_ts, a_w, q_keys, q_ts, window)


@SETTINGS
@given(a=st.lists(st.tuples(keys_st, secs_st), max_size=40), window=window_st)
def test_counts_at_own_rows_as_queries(a, window) -> None:
    """The threshold kind's use: every row asks about its own key."""
    keys, ts = arr([r[0] for r in a]), arr([r[1] * S for r in a])
    ones = np.ones(len(a), np.int64)
    got = counts_at(keys, ts, ones, keys, ts, window)
    assert got.tolist() == brute_counts(keys, ts, ones, keys, ts, window)


@SETTINGS
@given(a=a_rows, q=q_rows, window=st.integers(1, 20 * S))
def test_counts_at_any_microsecond_window(a, q, window) -> None:
    """Windows that are not whole seconds, and times off the second."""
    a_keys, a_ts, a_w = arr([r[0] for r in a]), arr([r[1] * S // 3 for r in a]), arr(
        [r[2] for r in a])
    q_keys, q_ts = arr([r[0] for r in q]), arr([r[1] * S // 3 for r in q])
    got = counts_at(a_keys, a_ts, a_w, q_keys, q_ts, window)
    assert got.tolist() == brute_counts(a_keys, a_ts, a_w, q_keys, q_ts, window)


def test_counts_at_boundaries() -> None:
    w = 10 * S
    a_keys = arr([0, 0, 0, 1])
    a_ts = arr([0, 1, 10 * S, 10 * S])        # 0 is exactly a window before 10 s
    a_w = arr([1, 2, 4, 8])
    q_keys = arr([0, 0, 0, 1, 2])
    q_ts = arr([10 * S, 10 * S - 1, 10 * S + 1, 10 * S, 10 * S])
    got = counts_at(a_keys, a_ts, a_w, q_keys, q_ts, w)
    # at 10 s: the row at 0 (a window's edge), the one at 1 µs and the one at 10 s (same
    # time) are in; a µs later the row at 0 is out
    assert got.tolist() == [1 + 2 + 4, 1 + 2, 2 + 4, 8, 0]


def test_counts_at_keys_never_leak_into_each_other() -> None:
    """Key 1's rows lie right after key 0's on the axis: a long window must not reach
    back across."""
    w = 40 * S
    keys = arr([0, 0, 1, 1])
    ts = arr([49 * S, 50 * S, 0, 1 * S])
    got = counts_at(keys, ts, np.ones(4, np.int64), arr([1, 0, 3]), arr([1 * S, 50 * S, 50 * S]), w)
    assert got.tolist() == [2, 2, 0]


def test_counts_at_empty() -> None:
    e = arr([])
    assert counts_at(e, e, e, e, e, S).tolist() == []
    assert counts_at(arr([1]), arr([5]), arr([1]), e, e, S).tolist() == []
    assert counts_at(e, e, e, arr([1]), arr([5]), S).tolist() == [0]


def test_timeline_back_includes_exactly_one_window_earlier() -> None:
    keys = arr([0, 0, 0, 1])
    ts = arr([0, 5 * S, 10 * S, 10 * S])
    line = Timeline.build(keys, ts, 5 * S)
    assert line.order.tolist() == [0, 1, 2, 3]
    # from 10 s of key 0: the row at 5 s is exactly a window back (in, as fail2ban
    # counts); a window a µs shorter leaves it out
    assert line.back(arr([2]), 5 * S).tolist() == [1]
    assert line.back(arr([2]), 5 * S - 1).tolist() == [2]
    # key 1's only row never reaches key 0's rows, however long the window it was built for
    assert line.back(arr([3]), 5 * S).tolist() == [3]
    assert np.all(np.diff(line.axis) > 0)


# -- distinct_in_window --------------------------------------------------------------------

d_rows = st.lists(st.tuples(keys_st, st.integers(0, 4), secs_st), max_size=40)


@SETTINGS
@given(rows=d_rows, window=window_st)
def test_distinct_in_window_equals_brute_force(rows, window) -> None:
    keys = arr([r[0] for r in rows])
    values = arr([r[1] for r in rows])
    ts = arr([r[2] * S for r in rows])
    counts = distinct_in_window(keys, values, ts, window)
    # every row's count is the distinct count of the window ending at its time
    assert counts.tolist() == [brute_distinct(keys, values, ts, k, t, window)
                               for k, t in zip(keys.tolist(), ts.tolist())]


#: far apart: keys' spans end to end do not fit an int64 axis (the rows of a log can be
#: centuries apart when a forged line chooses its stamp)
AGES = 2**61


@SETTINGS
@given(rows=st.lists(st.tuples(keys_st, st.integers(0, 4), secs_st, st.integers(0, 2)),
                     max_size=40), window=window_st)
def test_windows_over_rows_centuries_apart_equal_brute_force(rows, window) -> None:
    """Stamps that far apart stopped detection (`time span too large`); every window
    still counts what it holds."""
    keys = arr([r[0] for r in rows])
    values = arr([r[1] for r in rows])
    ts = arr([r[2] * S + r[3] * AGES for r in rows])
    counts = distinct_in_window(keys, values, ts, window)
    assert counts.tolist() == [brute_distinct(keys, values, ts, k, t, window)
                               for k, t in zip(keys.tolist(), ts.tolist())]
    weights = arr([r[1] for r in rows])
    assert counts_at(keys, ts, weights, keys, ts, window).tolist() == brute_counts(
        keys, ts, weights, keys, ts, window)


def test_distinct_boundaries() -> None:
    w = 10 * S
    keys = arr([0, 0, 0, 0])
    values = arr([1, 2, 3, 4])
    ts = arr([0, 10 * S, 10 * S + 1, 10 * S + 1])
    # value 1 at 0 s is still in at 10 s (the window's edge), gone a µs later
    assert distinct_in_window(keys, values, ts, w).tolist() == [1, 2, 3, 3]


def test_distinct_ties_report_the_count_of_the_whole_moment() -> None:
    """Rows at one time (a BSD stamp has whole seconds) are one moment: every row then
    reads the count after all of them, not a partial one."""
    keys = arr([0, 0, 0])
    values = arr([1, 0, 1])
    ts = arr([10 * S, 10 * S, 10 * S])
    assert distinct_in_window(keys, values, ts, 5 * S).tolist() == [2, 2, 2]


def test_distinct_goes_on_while_values_repeat_and_stops_when_they_leave() -> None:
    """Five names, then the same five again: the count stays five at every row of the
    second round (the attack goes on), and falls once the first round has left."""
    m = 60 * S
    keys = arr([0] * 11)
    values = arr([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0])
    ts = arr([0, m, 2 * m, 3 * m, 4 * m, 10 * m, 11 * m, 12 * m, 13 * m, 14 * m, 200 * m])
    got = distinct_in_window(keys, values, ts, 60 * m).tolist()
    assert got == [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 1]


def test_distinct_empty() -> None:
    assert distinct_in_window(arr([]), arr([]), arr([]), S).tolist() == []


@SETTINGS
@given(rows=d_rows)
def test_since_same_equals_brute_force(rows) -> None:
    """Time since the key's previous row of the same value (rows of one second in the
    order given)."""
    keys = arr([r[0] for r in rows])
    values = arr([r[1] for r in rows])
    ts = arr([r[2] * S for r in rows])
    since = since_same(keys, values, ts)
    none = np.iinfo(np.int64).max
    for i in range(len(rows)):
        earlier = [j for j in range(len(rows)) if keys[j] == keys[i] and values[j] == values[i]
                   and (ts[j], j) < (ts[i], i)]
        want = none if not earlier else int(ts[i] - max(ts[j] for j in earlier))
        assert int(since[i]) == want, i


# -- key_codes -----------------------------------------------------------------------------

text_st = st.one_of(st.none(), st.sampled_from(["a", "b", "B", "", "c d"]))
int_st = st.one_of(st.none(), st.integers(0, 3))


@SETTINGS
@given(rows=st.lists(st.tuples(text_st, int_st, text_st), max_size=30),
       dict_first=st.booleans())
def test_key_codes_multi_field(rows, dict_first) -> None:
    first = pa.array([r[0] for r in rows], pa.string())
    if dict_first:
        first = first.dictionary_encode()
    table = pa.table({"x": first, "n": pa.array([r[1] for r in rows], pa.int32()),
                      "y": pa.array([r[2] for r in rows], pa.string())})
    codes, valid = key_codes(table, ["x", "n", "y"])
    assert valid.tolist() == [None not in r for r in rows]
    ok = [i for i, r in enumerate(rows) if None not in r]
    # text compares without case (`b` and `B` are one key), numbers as they are
    folded = [tuple(v.lower() if isinstance(v, str) else v for v in r) for r in rows]
    for i in ok:
        for j in ok:
            assert (codes[i] == codes[j]) == (folded[i] == folded[j]), (rows[i], rows[j])


def test_key_codes_nulls_are_not_valid_and_no_fields_is_one_key() -> None:
    table = pa.table({"client_ip": ["192.0.2.1", None, "192.0.2.1", "192.0.2.2"],
                      "sasl_username": ["bob", "bob", None, "bob"]})
    codes, valid = key_codes(table, ["client_ip", "sasl_username"])
    assert valid.tolist() == [True, False, False, True]
    assert codes[0] != codes[3]
    codes, valid = key_codes(table, ["client_ip"])
    assert valid.tolist() == [True, False, True, True]
    assert codes[0] == codes[2] != codes[3]
    codes, valid = key_codes(table, [])
    assert codes.tolist() == [0, 0, 0, 0] and valid.all()


def test_key_codes_stay_distinct_beyond_int64_radix() -> None:
    """Five fields of 5000 values each: the mixed radix would overflow int64, so codes are
    renumbered on the way; equal tuples must still get equal codes and others not."""
    n = 5000
    rng = np.random.default_rng(7)
    cols = {}
    for f in "abcde":
        vals = np.arange(n)
        rng.shuffle(vals)
        cols[f] = pa.array([f"v{v}" for v in vals])
    table = pa.table(cols)
    # one row repeated: two equal tuples among otherwise distinct ones
    table = pa.concat_tables([table, table.slice(17, 1)])
    codes, valid = key_codes(table, list("abcde"))
    assert valid.all()
    assert len(np.unique(codes)) == n
    assert codes[17] == codes[n]


# -- chain ---------------------------------------------------------------------------------

@SETTINGS
@given(points=st.lists(st.tuples(keys_st, secs_st), max_size=30), gap=st.integers(0, 10))
def test_chain_equals_a_loop(points, gap) -> None:
    points = sorted(points)
    keys, ts = arr([p[0] for p in points]), arr([p[1] for p in points])
    expect, n = [], -1
    for i, (k, t) in enumerate(points):
        if i == 0 or k != points[i - 1][0] or t - points[i - 1][1] > gap:
            n += 1
        expect.append(n)
    assert chain(keys, ts, gap).tolist() == expect


def test_chain_gap_is_inclusive() -> None:
    keys = arr([0, 0, 0, 0, 1])
    ts = arr([0, 5, 10, 16, 16])
    # 5 apart continues (not longer than the gap), 6 apart starts anew, a new key too
    assert chain(keys, ts, 5).tolist() == [0, 0, 0, 1, 2]
    assert chain(arr([]), arr([]), 5).tolist() == []


@pytest.mark.parametrize("gap", [0, S])
def test_chain_same_time_points_are_one_incident(gap) -> None:
    assert chain(arr([2, 2, 2]), arr([S, S, S]), gap).tolist() == [0, 0, 0]


# -- incidents, through the kinds that build them from window sweeps ------------------------

def _auth_table(rows: list[tuple[int, int, int]]) -> pa.Table:
    """(client, username, second) rows, in the order given (not sorted by time: rows of
    several files or hosts come in any order)."""
    return pa.table({
        "ts": pa.array([r[2] * S for r in rows], pa.timestamp("us", tz="UTC")),
        "client_ip": pa.array([f"192.0.2.{r[0]}" for r in rows]),
        "sasl_username": pa.array([["bob", "Bob", "alice", "carol", "dave"][r[1]] for r in rows]),
    })


def _rule(kind: str, **kw):
    from logwatch.rules_engine.model import Distinct, Threshold
    cls = {"distinct": Distinct, "threshold": Threshold}[kind]
    return cls(id="t", title="t", kind=kind, severity="low", description="", summary="x",
               group_by=["client_ip"], **kw)


@SETTINGS
@given(rows=st.lists(st.tuples(keys_st, st.integers(0, 4), secs_st), max_size=30),
       window=st.integers(1, 15), threshold=st.integers(1, 4), cooldown=st.integers(1, 20))
def test_distinct_incidents_hold_their_threshold(rows, window, threshold, cooldown) -> None:
    from logwatch.rules_engine.distinct import find_distinct
    table = _auth_table(rows)
    rule = _rule("distinct", field="sasl_username", threshold=threshold, window=window,
                 cooldown=cooldown)
    found = find_distinct(rule, table, np.ones(len(rows), bool))
    names = [["bob", "bob", "alice", "carol", "dave"][r[1]] for r in rows]   # Bob is bob
    keys = arr([r[0] for r in rows])
    ts = arr([r[2] * S for r in rows])
    vals = arr([["bob", "alice", "carol", "dave"].index(n) for n in names])
    w = window * S
    fired = {int(k) for k, t in zip(keys, ts)
             if brute_distinct(keys, vals, ts, k, t, w) >= threshold}
    assert {int(inc.key["client_ip"].rsplit(".", 1)[1]) for inc in found} == fired
    for inc in found:
        k = int(inc.key["client_ip"].rsplit(".", 1)[1])
        assert {int(keys[r]) for r in inc.rows} == {k}
        assert inc.count == len({names[r] for r in inc.rows}) >= threshold
        assert inc.first_us == min(ts[inc.rows]) and inc.last_us == max(ts[inc.rows])


@SETTINGS
@given(rows=st.lists(st.tuples(keys_st, st.integers(0, 4), secs_st), max_size=30),
       window=st.integers(1, 15), threshold=st.integers(1, 6), cooldown=st.integers(1, 20))
def test_threshold_incidents_hold_their_threshold(rows, window, threshold, cooldown) -> None:
    from logwatch.rules_engine.threshold import find_threshold
    table = _auth_table(rows)
    rule = _rule("threshold", threshold=threshold, window=window, cooldown=cooldown)
    found = find_threshold(rule, table, np.ones(len(rows), bool))
    keys = arr([r[0] for r in rows])
    ts = arr([r[2] * S for r in rows])
    ones = np.ones(len(rows), np.int64)
    counts = brute_counts(keys, ts, ones, keys, ts, window * S)
    fire_at = sorted({(int(k), int(t)) for k, t, c in zip(keys, ts, counts) if c >= threshold})
    # incidents per key: firing moments chained while no more than max(cooldown, window)
    # apart; each holds its key's rows from a window before its first moment to its last
    gap = max(cooldown, window) * S
    expect = []
    for k, t in fire_at:
        if expect and expect[-1][0] == k and t - expect[-1][2] <= gap:
            expect[-1][2] = t
        else:
            expect.append([k, t, t])
    got = sorted((int(inc.key["client_ip"].rsplit(".", 1)[1]), inc.first_us, inc.last_us,
                  inc.count, sorted(inc.rows.tolist())) for inc in found)
    want = []
    for k, t0, t1 in expect:
        rows_in = sorted(i for i in range(len(rows))
                         if keys[i] == k and t0 - window * S <= ts[i] <= t1)
        want.append((k, int(min(ts[rows_in])), t1, len(rows_in), rows_in))
    assert got == sorted(want)


def test_distinct_incident_keeps_the_rows_of_its_last_moment() -> None:
    """`y` at 0 s and again just over a window later, at 6 s, with `x` (whose row comes
    first): at 6 s the window [1 s, 6 s] holds x and y. The incident must hold both rows
    of 6 s, not stop at x's and report one username for a rule of two."""
    from logwatch.rules_engine.distinct import find_distinct
    table = pa.table({
        "ts": pa.array([0, 6 * S, 6 * S], pa.timestamp("us", tz="UTC")),
        "client_ip": ["192.0.2.1"] * 3, "sasl_username": ["y", "x", "y"]})
    rule = _rule("distinct", field="sasl_username", threshold=2, window=5)
    found = find_distinct(rule, table, np.ones(3, bool))
    assert [(inc.key, sorted(inc.rows.tolist()), inc.count, inc.first_us, inc.last_us)
            for inc in found] == [({"client_ip": "192.0.2.1"}, [1, 2], 2, 6 * S, 6 * S)]


def test_incidents_from_points_chain_and_reach_back_a_window() -> None:
    from logwatch.rules_engine.incident import incidents_from_points
    ts_s = [0, 3, 4, 5, 20, 40, 41]
    table = pa.table({"client_ip": ["a"] * 6 + ["b"]})
    rows = np.arange(7)
    keys = arr([0] * 6 + [1])
    ts = arr([t * S for t in ts_s])
    # fired at 5 s and 20 s (15 s apart: one incident with gap 15) and 40 s (a new one);
    # key b fired at 41 s
    found = incidents_from_points(table, rows, keys, ts, arr([3, 4, 5, 6]), 3 * S, 15 * S,
                                  ["client_ip"])
    got = [(inc.key["client_ip"], inc.rows.tolist(), inc.first_us // S, inc.last_us // S,
            inc.count) for inc in found]
    # from 3 s before 5 s ([2 s, 5 s]): rows at 3, 4 and 5 s, then 20 s
    assert got == [("a", [1, 2, 3, 4], 3, 20, 4), ("a", [5], 40, 40, 1),
                   ("b", [6], 41, 41, 1)]
