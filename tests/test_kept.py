"""Kept tables live in their own pool and are joined without being held twice."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.kept import POOL, joined, kept
from tests.conftest import ROOT, parse_events

SAMPLE = ROOT / "sample_logs" / "postfix" / "mail.log"


def _events() -> pa.Table:
    events, _ = parse_events([SAMPLE], year=2026, tz="UTC")
    return events


def test_kept_rows_are_copied_into_the_kept_pool():
    events = _events()
    mask = pc.equal(events.column("event"), "reject")
    before = POOL.bytes_allocated()
    rows = kept(events.select(["ts", "client_ip", "source", "reason"]), mask, ["source"])
    assert rows.num_rows == pc.sum(mask).as_py() > 0
    assert POOL.bytes_allocated() > before          # the copy is the kept pool's
    assert pa.types.is_dictionary(rows.schema.field("source").type)
    assert pa.types.is_string(rows.schema.field("reason").type)
    want = events.filter(mask)
    assert rows.column("client_ip").to_pylist() == want.column("client_ip").to_pylist()
    assert rows.column("source").cast(pa.string()).to_pylist() == \
        want.column("source").to_pylist()


def test_all_rows_are_kept_without_a_mask():
    events = _events().select(["seq", "event"])
    before = POOL.bytes_allocated()
    copy = kept(events)
    assert POOL.bytes_allocated() - before >= copy.column("seq").nbytes   # a copy, there
    assert copy.equals(events) and copy.column("seq").num_chunks == 1


def test_joined_parts_equal_their_concatenation_and_are_given_up():
    events = _events().select(["seq", "event", "source", "client_ip"])
    half = events.num_rows // 2
    parts = [kept(events.slice(0, half), encode=["source"]),
             kept(events.slice(half), encode=["source"])]
    whole = joined(parts, events.schema.empty_table())
    assert parts == []
    assert all(whole.column(i).num_chunks == 1 for i in range(whole.num_columns))
    assert whole.column("seq").to_pylist() == events.column("seq").to_pylist()
    assert whole.column("source").cast(pa.string()).to_pylist() == \
        events.column("source").to_pylist()


def test_nothing_joined_is_the_empty_table_and_empty_parts_stay_typed():
    empty = pa.schema([pa.field("seq", pa.int64())]).empty_table()
    assert joined([], empty) is empty
    part = pa.Table.from_batches([], empty.schema)      # a column with no chunks at all
    assert joined([part], empty).schema == empty.schema
