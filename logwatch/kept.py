"""Tables a batch run keeps until its end, in a memory pool of their own.

`detect` and `report` keep, block by block, the narrow rows their rules and sections need,
while parsing each block allocates and frees several times as much. In one allocator the
kept pieces end up scattered among freed space that cannot be handed back: on the 5M-line
benchmark `report` held about 1 GB in pyarrow's default pool (mimalloc) for 0.59 GB of live
tables. Kept rows are therefore copied into a second pool (jemalloc where this pyarrow has
it, else the C library's), and the default pool is left to the short-lived work of each
block, which reuses the same memory block after block. The kept pool gives freed pages
back at once (the package sets `JE_ARROW_MALLOC_CONF` on import: `logwatch/__init__.py`).
(A follower joins each pass's new rows here too; the history it carries from pass to pass
is rebuilt from the enriched tables each pass, in the default pool, and kept in a few
pieces by `compacted`.)"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["POOL", "kept", "joined", "compacted"]


def _pool() -> pa.MemoryPool:
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:       # a pyarrow built without jemalloc
        return pa.system_memory_pool()


POOL = _pool()


def kept(table: pa.Table, mask: pa.Array | pa.ChunkedArray | None = None,
         encode: Collection[str] = ()) -> pa.Table:
    """The rows of `mask` (all: None) copied into the kept pool; the string columns named
    in `encode` (names, addresses: strings that repeat) dictionary-encoded there."""
    if mask is None:
        rows = _copied([table])
    else:
        rows = pc.filter(table, mask, memory_pool=POOL)
    for i, name in enumerate(rows.column_names):
        col = rows.column(i)
        if name in encode and pa.types.is_string(col.type):
            rows = rows.set_column(i, name, pc.dictionary_encode(col, memory_pool=POOL))
    return rows


def joined(parts: list[pa.Table], empty: pa.Table) -> pa.Table:
    """The parts as one contiguous table in the kept pool (`empty` when there are none).
    The list is emptied and the columns are joined one at a time, each column's pieces
    given back as soon as it is copied: the whole is never held twice."""
    if not parts:
        return empty
    held = [pa.concat_tables(parts, promote_options="permissive", memory_pool=POOL)
            .unify_dictionaries(memory_pool=POOL)]
    parts.clear()
    return _copied(held)


def _copied(held: list[pa.Table]) -> pa.Table:
    """The one table in `held` copied column by column into the kept pool, one chunk
    each. It is taken out of the list, so that when the list held the last reference,
    each column's pieces are given back as soon as that column is copied. (concat_arrays
    a column at a time: a `take` of every row is 7x slower; ChunkedArray.combine_chunks
    ignores its memory_pool in pyarrow 26.)"""
    table = held.pop()
    schema, columns = table.schema, table.columns
    del table
    for i, column in enumerate(columns):
        columns[i] = pa.concat_arrays(column.chunks, memory_pool=POOL) if column.num_chunks \
            else pa.array([], column.type)
        del column
    return pa.Table.from_arrays(columns, schema=schema)


#: pieces a carried table may be in before it is combined
_MAX_PIECES = 8


def compacted(table: pa.Table) -> pa.Table:
    """`table`, combined once it is in more than a few pieces. A follower's carried
    tables (history, links, the enriched events) gain a piece or two a pass; many make
    every join, lookup and `take` after slower, while combining every pass copies all
    of them for nothing."""
    if table.num_columns and table.column(0).num_chunks > _MAX_PIECES:
        return table.unify_dictionaries().combine_chunks()
    return table
