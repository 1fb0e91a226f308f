"""Naming a line's message by host and queue id (`id_on_host`, `naming`): a queue id
is only unique on its host, and a line without a host names the id alone. Finding a
child's parent among the lifetimes of a reused id (`parents_of`)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from logwatch.correlate.lifetimes import id_on_host, naming, parents_of


def test_rows_are_named_by_host_and_queue_id_together() -> None:
    host = pa.chunked_array([["mx1", "mx2", None, "mx1"], ["mx1", None]])
    queue_id = pa.chunked_array([["4F2A", "4F2A", "4F2A", None], ["9C11", "9C11"]])
    ids = id_on_host(pa.array(["mx1", None, "mx2"]), pa.array(["4F2A", "9C11", "77AB"]))
    # mx2's 4F2A is another message than mx1's; a row without an id names none; the
    # id named without a host is the row's without one
    assert naming(host, queue_id, ids).tolist() == [True, False, False, False, False, True]
    assert not naming(host, queue_id, ids.slice(0, 0)).any()


def _at(hhmm: str, day: int = 30) -> datetime:
    return datetime(2025, 12, day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=timezone.utc)


def test_a_childs_parent_is_the_lifetime_of_its_id_nearest_it_on_its_host() -> None:
    rows = [  # host, instance, queue id, first, last, parent
        ("mx1", None, "4A1B", _at("08:00"), _at("08:01"), None),        # 0: 4A1B, earlier
        ("mx1", None, "4A1B", _at("10:00"), _at("10:02"), None),        # 1: 4A1B, the parent
        ("mx1", None, "5B6C", _at("10:01"), _at("10:03"), "4A1B"),      # 2: its child
        ("mx2", None, "4A1B", _at("10:01"), _at("10:01"), None),        # 3: mx2's 4A1B
        ("mx1", "postfix-out", "7D8E", _at("10:04"), _at("10:05"), "4A1B"),  # 4: child of 1,
        # two minutes after it ended, in another instance
        ("mx1", None, "9F0A", _at("10:00", day=28), _at("10:00", day=28), "4A1B"),  # 5: too
        # early for any lifetime of 4A1B
        ("mx1", None, "C1D2", _at("12:00"), _at("12:01"), "C1D2"),      # 6: names itself
    ]
    names = ["host", "instance", "queue_id", "first_seen", "last_seen", "parent"]
    messages = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)},
                        schema=pa.schema([(n, pa.string()) for n in names[:3]]
                                         + [(n, pa.timestamp("us", "UTC")) for n in names[3:5]]
                                         + [("parent", pa.string())]))
    child, parent = parents_of(messages)
    assert dict(zip(child.tolist(), parent.tolist())) == {2: 1, 4: 1}
    child, parent = parents_of(messages, np.array([4, 0, 3]))
    assert (child.tolist(), parent.tolist()) == ([4], [1])
    assert parents_of(messages, np.array([0, 1]))[0].tolist() == []
