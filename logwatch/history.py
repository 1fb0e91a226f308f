"""The rules' history (the rows a run hands the next) on disk, in chunks.

A follower at 20,000 lines/s carries a million rows after five minutes, and hours of
them under a six-hour rule. Rewritten whole at every checkpoint, that took 1.5 s of its
one core every 30 s, and the passes it slowed held alerts back by as long. So each row
gets a serial as it enters the history (increasing, never reused), and the store
remembers which serials each chunk on disk holds: a write adds one chunk of the rows
that are new since the last write, marks in a bitmap which rows of older chunks are
gone, drops a chunk none of whose rows is left, and rewrites one that is mostly gone.
Its cost follows what changed, not what is kept.

A cron run stores the events enriched (under a botnet it spent a third of its time
enriching hours of history again), under the key of the site facts they were enriched
with (`enriched`; a follower's checkpoints store them without, under none): a write
under another key writes them all again, so that every chunk has the same. Their
message columns are as they were when each chunk was written: a run looks those up
again (`enrich_events_onto`).

Rows leave the history and never come back, and a chunk holds every row with a serial
in its range that was kept when it was written: so the rows kept now that fall in a
chunk's range are exactly its rows still alive.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from logwatch.kept import compacted
from logwatch.state import State, table_bytes, table_of

__all__ = ["Kept", "HistoryStore", "NAMES", "kept_after", "stored_history"]

#: the history tables, by the names their chunks are stored under
NAMES = ("events", "lines", "messages")
_SERIAL = "serial"
#: rows dropped no further apart than this are filtered together; beyond it, the rows
#: kept between them are taken as they are
_GAP = 4096
_MAX_BANDS = 64


@dataclass(frozen=True)
class Kept:
    """One history table and its rows' serials (ascending, as the rows are)."""

    table: pa.Table
    serials: np.ndarray


def kept_after(before: Kept | None, whole: pa.Table, keep: np.ndarray, first: int) -> Kept:
    """What the mask `keep` keeps of `whole`: the rows of `before`, then new ones,
    which are numbered from `first`."""
    old = np.empty(0, np.int64) if before is None else before.serials
    fresh = np.arange(first, first + whole.num_rows - len(old), dtype=np.int64)
    # pieces cut from the columns of many passes also weigh on what they are written to
    table = compacted(_filtered(whole, keep))
    return Kept(table, np.concatenate([old, fresh])[keep])


def _filtered(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """`table.filter(keep)`, copying only around the rows dropped. A pass drops rows in
    a few bands (those that have just outlived a rule's span, the new ones no rule
    keeps); filtering every row copied a million rows of history each pass, at a tenth
    of the speed of the one copy that later joins the pieces."""
    gone = np.flatnonzero(~keep)
    if not len(gone):
        return table
    cut = np.flatnonzero(np.diff(gone) > _GAP)
    starts = np.concatenate(([gone[0]], gone[cut + 1]))
    ends = np.concatenate((gone[cut], [gone[-1]])) + 1
    if len(starts) > _MAX_BANDS:      # scattered: one filter is cheaper than the pieces
        return table.filter(keep)
    pieces, at = [], 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        pieces += [table.slice(at, start - at), table.slice(start, end - start).filter(
            keep[start:end])]
        at = end
    return pa.concat_tables([*pieces, table.slice(at)])


@dataclass
class _Chunk:
    first: int             # its key's number: the first serial it was written with
    serials: np.ndarray    # of the rows it holds
    live: int              # how many of them its bitmap (or, without one, it) says are kept


@dataclass
class HistoryStore:
    """What is on disk of each history table. Shared by the `Carried` of successive
    passes and changed only once a write of it is committed (`write` returns how)."""

    chunks: dict[str, list[_Chunk]] = field(default_factory=dict)
    #: the key (`enrichment_key`) of the facts the stored events were enriched with;
    #: None: stored without (by a release before this one)
    enriched: str | None = None

    @classmethod
    def load(cls, state: State) -> tuple[HistoryStore, dict[str, Kept | None], int]:
        """The store, each table kept (None: never written), and the next serial."""
        key = state.blob(_ENRICHED)
        store, tables, top = cls(enriched=key.decode() if key else None), {}, -1
        for name in NAMES:
            parts, chunks = [], []
            for key, raw in state.blobs(f"history.{name}.rows."):
                first = int(key.rsplit(".", 1)[1])
                table = table_of(raw)
                # a copy: a view would hold the chunk's whole blob as long as it lives
                serials = table.column(_SERIAL).to_numpy().copy()
                live = state.blob(_live_key(name, first))
                mask = np.ones(len(serials), bool) if live is None else \
                    np.unpackbits(np.frombuffer(live, np.uint8), count=len(serials)).astype(bool)
                chunks.append(_Chunk(first, serials, int(mask.sum())))
                parts.append((_filtered(table.drop_columns([_SERIAL]), mask), serials[mask]))
            legacy = state.blob(f"history.{name}")     # one blob, from before chunks
            if legacy is not None and not parts:
                table = table_of(legacy)
                parts.append((table, np.arange(top + 1, top + 1 + table.num_rows,
                                               dtype=np.int64)))
            store.chunks[name] = chunks
            if not parts:
                tables[name] = None
                continue
            serials = np.concatenate([s for _, s in parts])
            top = max(top, int(serials.max(initial=top)))
            # chunks written by a release that kept fewer columns: null in their rows
            tables[name] = Kept(pa.concat_tables([t for t, _ in parts],
                                                 promote_options="permissive"), serials)
        return store, tables, top + 1

    def write(self, db: sqlite3.Connection, tables: dict[str, Kept | None],
              enriched: str | None) -> Callable[[], None]:
        """Bring the disk to `tables`, whose events are enriched under the key
        `enriched`; returns what moves the store along once the transaction is
        committed (a failed one leaves it describing the disk)."""
        again = enriched != self.enriched
        after = {name: self._write_one(db, name, tables.get(name),
                                       again and name == "events") for name in NAMES}
        if again:
            State.put_blob(db, _ENRICHED, (enriched or "").encode())

        def committed() -> None:
            self.chunks, self.enriched = after, enriched
        return committed

    def _write_one(self, db: sqlite3.Connection, name: str, kept: Kept | None,
                   anew: bool) -> list[_Chunk]:
        """Write one table; `anew`: every row, none of its chunks on disk kept."""
        db.execute("DELETE FROM meta WHERE key = ?", (f"history.{name}",))
        serials = kept.serials if kept is not None else np.empty(0, np.int64)
        after = []
        for chunk in self.chunks.get(name, []):
            lo = int(np.searchsorted(serials, chunk.serials[0]))
            hi = int(np.searchsorted(serials, chunk.serials[-1], side="right"))
            live = 0 if anew else hi - lo       # anew: its rows go into the new chunk
            if live == chunk.live:
                after.append(chunk)
            elif live == 0:
                db.execute("DELETE FROM meta WHERE key IN (?, ?)",
                           (_rows_key(name, chunk.first), _live_key(name, chunk.first)))
            elif 2 * live < len(chunk.serials):     # mostly gone: its rows again, alone
                assert kept is not None
                after.append(_put_rows(db, name, kept, lo, hi, chunk.first))
            else:
                mask = np.isin(chunk.serials, serials[lo:hi], assume_unique=True)
                State.put_blob(db, _live_key(name, chunk.first), np.packbits(mask).tobytes())
                after.append(_Chunk(chunk.first, chunk.serials, live))
        start = 0 if not after else int(np.searchsorted(serials, after[-1].serials[-1],
                                                        side="right"))
        if kept is not None and start < len(serials):
            after.append(_put_rows(db, name, kept, start, len(serials), int(serials[start])))
        return after


def _put_rows(db: sqlite3.Connection, name: str, kept: Kept, lo: int, hi: int,
              first: int) -> _Chunk:
    # a copy: a view would hold all the kept serials of this pass for as long as the
    # chunk lives (hours; a follower writes a chunk a checkpoint)
    serials = kept.serials[lo:hi].copy()
    # its own buffers: a slice of pieces shares theirs, and IPC would write them whole
    table = kept.table.slice(lo, hi - lo).combine_chunks().append_column(
        _SERIAL, pa.array(serials))
    State.put_blob(db, _rows_key(name, first), table_bytes(table))
    db.execute("DELETE FROM meta WHERE key = ?", (_live_key(name, first),))
    return _Chunk(first, serials, len(serials))


#: the key of the facts the stored events were enriched with ("": none)
_ENRICHED = "history.events.enriched"


def _rows_key(name: str, first: int) -> str:
    return f"history.{name}.rows.{first:020d}"


def _live_key(name: str, first: int) -> str:
    return f"history.{name}.live.{first:020d}"


def stored_history(state: State, name: str) -> pa.Table | None:
    """One history table as the store has it: what the next run starts from."""
    kept = HistoryStore.load(state)[1][name]
    return None if kept is None else kept.table
