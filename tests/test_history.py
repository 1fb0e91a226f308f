"""The rules' history on disk in chunks (`logwatch/history.py`): what a run starts from
is what the last one kept, and a write costs what changed, not what is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from logwatch.history import NAMES, HistoryStore, Kept, kept_after, stored_history
from logwatch.state import State, table_bytes


def _rows(n: int, start: int) -> pa.Table:
    return pa.table({"ts": pa.array(range(start, start + n), pa.int64()),
                     "client_ip": pa.array([f"192.0.2.{i % 250}"
                                            for i in range(start, start + n)], pa.string())})


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    opened = State(tmp_path)
    yield opened
    opened.close()


def _write(state: State, store: HistoryStore, events: Kept | None,
           enriched: str | None = None, **others: Kept) -> None:
    with state.commit() as db:
        committed = store.write(db, {"events": events, **others}, enriched)
    committed()


def _meta(state: State, prefix: str) -> dict[str, bytes]:
    return dict(state.blobs(prefix))


def _passes(state: State, seed: int, writes_every: int) -> tuple[HistoryStore, Kept | None]:
    """Passes that add rows and drop random ones, written every few passes; the store
    and what is kept in memory at the end (written by the last pass)."""
    rng = np.random.default_rng(seed)
    store, kept, serial, ts = HistoryStore(), None, 0, 0
    for n in range(40):
        new = _rows(int(rng.integers(0, 60)), ts)
        ts += new.num_rows
        old = kept.table if kept is not None else _rows(0, 0)
        whole = pa.concat_tables([old, new])
        keep = rng.random(whole.num_rows) < (0.97 if n % 7 else 0.3)
        kept = kept_after(kept, whole, keep, serial)
        serial += whole.num_rows
        if n % writes_every == 0 or n == 39:
            _write(state, store, kept)
    return store, kept


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("writes_every", [1, 3])
def test_what_is_loaded_is_what_was_kept(state: State, seed: int, writes_every: int
                                         ) -> None:
    kept = _passes(state, seed, writes_every)[1]
    store, loaded, serial = HistoryStore.load(state)
    assert kept is not None and loaded["events"] is not None
    assert loaded["events"].table.to_pylist() == kept.table.to_pylist()
    assert loaded["events"].serials.tolist() == kept.serials.tolist()
    assert serial > int(kept.serials.max())
    assert loaded["lines"] is None and loaded["messages"] is None
    # rows of chunks mostly gone were written again alone: what is on disk stays
    # within twice what is kept
    stored = sum(len(c.serials) for c in store.chunks["events"])
    assert stored <= 2 * len(kept.serials) + 60


def test_a_chunk_holds_only_its_own_serials(state: State) -> None:
    """A follower writes a chunk every checkpoint and keeps it for hours: a chunk that
    viewed the serials of the pass that wrote it (or the blob it was read from) held
    all of them that long, hundreds of MB after three hours at 333 lines/s."""
    written = _passes(state, 0, 1)[0]
    loaded = HistoryStore.load(state)[0]
    for store in (written, loaded):
        assert len(store.chunks["events"]) > 1
        assert all(c.serials.base is None for c in store.chunks["events"])


def test_a_write_adds_only_the_new_rows_and_marks_the_gone(state: State) -> None:
    store = HistoryStore()
    kept = kept_after(None, _rows(100, 0), np.ones(100, bool), 0)
    _write(state, store, kept)
    (key, first), = _meta(state, "history.events.rows.").items()
    # a few rows gone, ten new: the first chunk stays as written, with a bitmap
    keep = np.ones(110, bool)
    keep[[3, 50, 99]] = False
    kept = kept_after(kept, pa.concat_tables([kept.table, _rows(10, 100)]), keep, 100)
    _write(state, store, kept)
    chunks = _meta(state, "history.events.rows.")
    assert len(chunks) == 2 and chunks[key] == first
    live = np.unpackbits(np.frombuffer(_meta(state, "history.events.live.")[
        key.replace(".rows.", ".live.")], np.uint8), count=100)
    assert np.flatnonzero(live == 0).tolist() == [3, 50, 99]
    # most of the first chunk gone: it is written again with its rows alone, and
    # a write with nothing changed writes nothing
    keep = np.zeros(107, bool)
    keep[[0, 1, 2, 97, 98]] = True        # the first new rows: 100 and 101
    kept = kept_after(kept, kept.table, keep, 200)
    _write(state, store, kept)
    assert pa.ipc.open_stream(_meta(state, "history.events.rows.")[key]).read_all() \
        .column("ts").to_pylist() == [0, 1, 2]
    assert not _meta(state, "history.events.live.")
    before = _meta(state, "history.")
    _write(state, store, kept)
    assert _meta(state, "history.") == before
    assert stored_history(state, "events").column("ts").to_pylist() == \
        [0, 1, 2, 100, 101]
    # nothing kept: nothing stored
    _write(state, store, kept_after(kept, kept.table, np.zeros(5, bool), 300))
    assert not _meta(state, "history.") and stored_history(state, "events") is None


def test_a_failed_write_leaves_the_store_describing_the_disk(state: State) -> None:
    store = HistoryStore()
    kept = kept_after(None, _rows(10, 0), np.ones(10, bool), 0)
    with pytest.raises(RuntimeError):
        with state.commit() as db:
            store.write(db, {"events": kept}, None)
            raise RuntimeError("the disk is full")
    assert not store.chunks.get("events")
    _write(state, store, kept)    # written whole, not taken for already there
    assert stored_history(state, "events").column("ts").to_pylist() == list(range(10))


def test_a_history_written_whole_by_an_earlier_version_is_read(state: State) -> None:
    with state.commit() as db:
        State.put_blob(db, "history.events", table_bytes(_rows(5, 0)))
    store, loaded, serial = HistoryStore.load(state)
    assert loaded["events"] is not None and serial == 5
    assert loaded["events"].table.column("ts").to_pylist() == list(range(5))
    _write(state, store, loaded["events"])    # now in chunks, the old blob gone
    assert state.blob("history.events") is None
    assert stored_history(state, "events").column("ts").to_pylist() == list(range(5))


def test_events_enriched_with_other_facts_are_written_again_whole(state: State) -> None:
    """Every stored chunk of events has the enrichment the store's key names: with
    other facts, all of them are written again (the other tables stay as they are)."""
    store = HistoryStore()
    lines = kept_after(None, _rows(3, 0), np.ones(3, bool), 0)
    kept = kept_after(None, _rows(10, 0), np.ones(10, bool), 0)
    _write(state, store, kept, "facts-a", lines=lines)
    kept = kept_after(kept, pa.concat_tables([kept.table, _rows(5, 10)]), np.ones(15, bool), 10)
    _write(state, store, kept, "facts-a", lines=lines)
    assert len(_meta(state, "history.events.rows.")) == 2
    before = _meta(state, "history.lines.")
    _write(state, store, kept, "facts-b", lines=lines)
    assert len(_meta(state, "history.events.rows.")) == 1
    assert _meta(state, "history.lines.") == before
    loaded, tables, _ = HistoryStore.load(state)
    assert loaded.enriched == store.enriched == "facts-b"
    assert tables["events"] is not None
    assert tables["events"].table.column("ts").to_pylist() == list(range(15))
    # a history stored by a release before enrichment was stored: no key
    with state.commit() as db:
        db.execute("DELETE FROM meta WHERE key = 'history.events.enriched'")
    assert HistoryStore.load(state)[0].enriched is None


def test_chunks_of_a_release_that_kept_fewer_columns_are_read(state: State) -> None:
    """A release that keeps one more column (the journal cursor of each line) writes its
    chunks beside the older ones, which lack it: their rows read it as null. The run
    after such an upgrade stopped on the tables' different schemas."""
    store = HistoryStore()
    kept = kept_after(None, _rows(3, 0), np.ones(3, bool), 0)
    _write(state, store, kept)
    wider = kept.table.append_column("cursor", pa.array(["c"] * 3))
    more = _rows(2, 3).append_column("cursor", pa.array(["d", "e"]))
    kept = kept_after(Kept(wider, kept.serials), pa.concat_tables([wider, more]),
                      np.ones(5, bool), 3)
    store.chunks["events"] = store.chunks["events"][:1]     # the old chunk as written
    _write(state, store, kept)
    assert len(_meta(state, "history.events.rows.")) == 2
    loaded = HistoryStore.load(state)[1]["events"]
    assert loaded is not None
    assert loaded.table.column("cursor").to_pylist() == [None, None, None, "d", "e"]
    assert loaded.table.column("ts").to_pylist() == list(range(5))


def test_every_history_table_is_stored_apart(state: State) -> None:
    store = HistoryStore()
    tables = {name: kept_after(None, _rows(i + 1, 10 * i), np.ones(i + 1, bool), 0)
              for i, name in enumerate(NAMES)}
    with state.commit() as db:
        committed = store.write(db, tables, None)
    committed()
    for i, name in enumerate(NAMES):
        assert stored_history(state, name).column("ts").to_pylist() == \
            list(range(10 * i, 10 * i + i + 1))


@pytest.mark.parametrize("drops", ["bands", "scattered", "none", "all"])
def test_what_is_kept_is_the_rows_the_mask_keeps(drops: str) -> None:
    """Bands of dropped rows far apart are cut around (the rows between are not
    copied), scattered ones filtered: the rows kept are the same either way."""
    rng = np.random.default_rng(7)
    whole = _rows(400_000, 0)
    keep = np.ones(whole.num_rows, bool)
    if drops == "bands":
        for start in (0, 9_000, 30_000, 399_000):
            keep[start:start + 1_000] = rng.random(1_000) > 0.5
    elif drops == "scattered":
        keep[::5_000] = False        # 80 bands of one row
    elif drops == "all":
        keep[:] = False
    kept = kept_after(None, whole, keep, 10)
    assert kept.table.equals(whole.filter(keep))
    assert kept.serials.tolist() == (np.flatnonzero(keep) + 10).tolist()
