"""Kept tables live in their own pool and are joined without being held twice."""

from __future__ import annotations

import os
import subprocess
import sys

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


_FREE_AND_MEASURE = """
import logwatch  # first, as the command line does: before pyarrow starts its jemalloc
import os, numpy as np, pyarrow as pa
from logwatch.kept import POOL
def rss():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS")).split()[1]) >> 10
pieces = [pa.allocate_buffer(1 << 20, memory_pool=POOL) for _ in range(256)]
for piece in pieces:
    np.frombuffer(piece, np.uint8)[:] = 1
held = rss()
del pieces, piece
print(held - rss(), os.environ["JE_ARROW_MALLOC_CONF"])
"""


def _freed_mib(env: dict[str, str]) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", _FREE_AND_MEASURE], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), out[1]


def test_the_kept_pool_gives_freed_pages_back_at_once_unless_the_environment_says():
    """Joining kept pieces frees a third of them at once (see logwatch/__init__.py)."""
    env = {k: v for k, v in os.environ.items() if k != "JE_ARROW_MALLOC_CONF"}
    freed, conf = _freed_mib(env)
    assert conf == "dirty_decay_ms:0,muzzy_decay_ms:0"
    assert freed >= 250                         # the 256 MiB of pieces, back at once
    mine = "dirty_decay_ms:1000,muzzy_decay_ms:1000"
    assert _freed_mib({**env, "JE_ARROW_MALLOC_CONF": mine})[1] == mine
