"""Which lines of log files match a pattern as they are written: what trace's regex and
text queries (exigrep's mode) look for, things no parsed field holds whole (a return
path `P=<...>`, an address in Exim's `for` list, a reject's text, part of a HELO).

Events keep where their line is (`source`, `offset`), not its text (evidence.py says
why), so the inputs are read once more, raw, before the passes that parse them: block
by block, matched with pyarrow.compute, keeping only the offsets of the lines that
match. A row then matches when its line's offset is among its source's. Reading and
matching the raw lines costs a small part of parsing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain, to_numpy
from logwatch.errors import SourceError
from logwatch.sources.blocks import SalvagingReader, iter_blocks
from logwatch.sources.opener import READ_ERRORS
from logwatch.sources.probe import probe_source

__all__ = ["LineMatches", "grep"]


@dataclass(frozen=True)
class LineMatches:
    """The byte offsets of the matching lines of each source, ascending (as read)."""

    offsets: Mapping[str, np.ndarray] = field(default_factory=dict)

    def mask(self, events: pa.Table) -> pa.Array:
        """The rows of `events` whose line matched: every row of one (a Sendmail line for
        several recipients, the repeats a summary stands for share its offset)."""
        out = np.zeros(events.num_rows, bool)
        if not events.num_rows:
            return pa.array(out)
        source = plain(events["source"])
        offset = to_numpy(pc.fill_null(events["offset"], -1)).astype(np.int64)  # -1: none
        for name in pc.unique(source).to_pylist():   # a block is one source's, or a few
            found = self.offsets.get(name)
            if found is None or not len(found):
                continue
            rows = np.flatnonzero(to_numpy(pc.equal(source, name)))
            at = np.minimum(np.searchsorted(found, offset[rows]), len(found) - 1)
            out[rows[found[at] == offset[rows]]] = True
        return pa.array(out)


def grep(names: list[str], matches: Callable[[pa.Array], pa.Array]) -> LineMatches:
    """The lines of each of `names` that `matches` (a block's lines -> whether each
    matches) takes, read as the parser reads them (decompressed, invalid UTF-8
    replaced). What an input that cannot be read gives is what it gave before: the
    passes that parse it report it."""
    found: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(names):
        try:
            probe = probe_source(name)
        except SourceError:
            continue
        stream = SalvagingReader(probe.stream) if probe.opened.compression else probe.stream
        parts = [np.empty(0, np.int64)]
        try:
            for block in iter_blocks(stream):  # type: ignore[arg-type]
                parts.append(block.offsets[to_numpy(matches(block.lines))])
        except READ_ERRORS:
            pass
        finally:
            probe.opened.close()
        found[name] = np.concatenate(parts)
    return LineMatches(found)
