"""Lines of a source that a later line of it may still need, kept from block to block
and, in the source's mark, from pass to pass (parse.lending, parse.refusals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain

__all__ = ["CarriedLines"]


@dataclass
class CarriedLines:
    """`[ts µs, *COLUMNS]` of each line younger than REACH_US (a list of lists, so that
    it is kept in a source's mark as it is), the newest MAX_CARRIED at most: under a
    brute force Dovecot logs hundreds a second."""

    rows: list[list[object]] = field(default_factory=list)
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    REACH_US: ClassVar[int] = 0
    MAX_CARRIED: ClassVar[int] = 10_000

    def with_carried(self, new: pa.Table) -> pa.Table:
        """The carried lines, then those of `new` (its `ts` and COLUMNS)."""
        carried = list(zip(*self.rows)) if self.rows else [()] * (1 + len(self.COLUMNS))
        old = pa.table({"ts": pa.array(carried[0], pa.int64()),
                        **{n: pa.array(c, pa.string())
                           for n, c in zip(self.COLUMNS, carried[1:])}})
        new = pa.table({"ts": new.column("ts").cast(pa.int64()),
                        **{n: plain(new.column(n)) for n in self.COLUMNS}})
        return pa.concat_tables([old, new.cast(old.schema)])

    def keep(self, lines: pa.Table, events: pa.Table) -> None:
        """Of `lines` (with_carried's), those young enough for the blocks after
        `events`."""
        if not events.num_rows:
            return
        newest = pc.max(events.column("ts").cast(pa.int64())).as_py()
        if newest is None:
            return
        young = lines.filter(pc.greater_equal(lines.column("ts"), newest - self.REACH_US))
        young = young.slice(max(0, young.num_rows - self.MAX_CARRIED))
        self.rows = [list(r.values()) for r in young.to_pylist()]
