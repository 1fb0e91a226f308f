"""Naming a line's message by host and queue id (`id_on_host`, `naming`): a queue id
is only unique on its host, and a line without a host names the id alone."""

from __future__ import annotations

import pyarrow as pa

from logwatch.correlate.lifetimes import id_on_host, naming


def test_rows_are_named_by_host_and_queue_id_together() -> None:
    host = pa.chunked_array([["mx1", "mx2", None, "mx1"], ["mx1", None]])
    queue_id = pa.chunked_array([["4F2A", "4F2A", "4F2A", None], ["9C11", "9C11"]])
    ids = id_on_host(pa.array(["mx1", None, "mx2"]), pa.array(["4F2A", "9C11", "77AB"]))
    # mx2's 4F2A is another message than mx1's; a row without an id names none; the
    # id named without a host is the row's without one
    assert naming(host, queue_id, ids).tolist() == [True, False, False, False, False, True]
    assert not naming(host, queue_id, ids.slice(0, 0)).any()
