"""`superseded_by`: an incident is left out when one incident of a rule it names holds
at least half of its rows (counted per incident of that rule, never summed over them),
each row weighed as the rule weighs it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from logwatch.rules_engine.incident import Incident
from logwatch.rules_engine.runner import _superseded


#: a table of rows 0..100, each weighing its `w`
TABLE = pa.table({"w": pa.array([1] * 101, pa.int64())})


def _inc(rows: list[int]) -> Incident:
    return Incident(key={}, rows=np.array(rows), first_us=0, last_us=0, count=len(rows))


def test_half_the_rows_in_one_incident_of_a_named_rule() -> None:
    found = {
        "burst": [_inc(list(range(10))),      # 5 of 10 in one spray incident
                  _inc([10, 11, 12, 13]),     # 1 in each of two: 2 of 4, but not in one
                  _inc([20, 21]),             # 1 of 2 in the sequence's incident
                  _inc([30, 31, 32]),         # none
                  _inc([40, 40, 41])],        # a row listed twice counts once: 1 of 2
        "spray": [_inc([5, 6, 7, 8, 9, 100]), _inc([10, 50]), _inc([11, 51])],
        "sequence": [_inc([21, 60]), _inc([41])],
    }
    rule = SimpleNamespace(id="burst", superseded_by=["spray", "sequence", "absent"])
    assert _superseded(rule, found, TABLE).tolist() == [True, False, True, False, True]


def test_a_row_held_by_two_incidents_of_one_rule_counts_for_each() -> None:
    found = {"burst": [_inc([1, 2, 3, 4])],
             "spray": [_inc([1, 2]), _inc([1, 2, 9])]}
    rule = SimpleNamespace(id="burst", superseded_by=["spray"])
    assert _superseded(rule, found, TABLE).tolist() == [True]
    found["spray"] = [_inc([1, 9]), _inc([2, 8])]
    assert _superseded(rule, found, TABLE).tolist() == [False]


def test_rows_weigh_what_the_rule_counts_them() -> None:
    """A weighted rule's incident of rows weighing 1, 1, 1 and 4 (a Dovecot line of four
    passwords): another incident holding the three light rows holds 3 of 7, not 3 of 4;
    holding the heavy one, 4 of 7."""
    table = pa.table({"w": pa.array([1, 1, 1, 4], pa.int64())})
    rule = SimpleNamespace(id="slow", superseded_by=["burst"], weight="w")
    light = {"slow": [_inc([0, 1, 2, 3])], "burst": [_inc([0, 1, 2])]}
    assert _superseded(rule, light, table).tolist() == [False]
    heavy = {"slow": [_inc([0, 1, 2, 3])], "burst": [_inc([3])]}
    assert _superseded(rule, heavy, table).tolist() == [True]
    unweighted = SimpleNamespace(id="slow", superseded_by=["burst"])
    assert _superseded(unweighted, light, table).tolist() == [True]
