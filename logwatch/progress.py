"""Progress on stderr for long runs, when stderr is a terminal: files, events, rate, ETA.

Months of archives take minutes; a silent terminal makes people kill the run. The
estimate comes from bytes: the files' sizes on disk, and how far into the current file
the rows are (byte offsets of plain files; a compressed one, told by its magic bytes,
counts when it is done).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.sources.opener import compression_of

__all__ = ["Progress"]


class Progress:
    """An observer of event blocks (see `detection.Observer`) that redraws one line."""

    def __init__(self, files: list[str], stream: TextIO | None = None,
                 every: float = 0.5) -> None:
        self.stream = stream or sys.stderr
        self.sizes = {f: os.path.getsize(f) for f in files if f != "-" and os.path.isfile(f)}
        #: offsets count decompressed bytes: such a file counts only once it is done
        self.compressed = {f for f in self.sizes if compression_of(f)}
        self.total = sum(self.sizes.values())
        self.done_files: set[str] = set()
        self.current: str | None = None
        self.offset = 0
        self.rows = 0
        self.start = time.monotonic()
        self.every, self.last_draw = every, 0.0

    @classmethod
    def for_terminal(cls, files: list[str]) -> Progress | None:
        return cls(files) if sys.stderr.isatty() else None

    def _bytes_done(self) -> int:
        done = sum(self.sizes.get(f, 0) for f in self.done_files)
        if self.current and self.current not in self.compressed:
            done += min(self.offset, self.sizes.get(self.current, 0))
        return done

    def __call__(self, events: pa.Table, messages: pa.Table) -> None:
        if not events.num_rows:
            return
        self.rows += events.num_rows
        sources = events.column("source")
        last = sources[len(sources) - 1].as_py()
        if last != self.current:
            if self.current:
                self.done_files.add(self.current)
            self.current = last
        offsets = events.column("offset")
        self.offset = int(pc.max(offsets).as_py() or 0) if offsets.null_count < len(offsets) \
            else self.offset
        now = time.monotonic()
        if now - self.last_draw >= self.every:
            self.last_draw = now
            self.draw(now)

    def draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-6)
        rate = self.rows / elapsed
        done = self._bytes_done()
        eta = ""
        if self.total and done:
            left = elapsed * (self.total - done) / done
            eta = f", about {int(left // 60)}:{int(left % 60):02d} left"
        self.stream.write(f"\r  file {len(self.done_files) + 1}/{max(1, len(self.sizes))}, "
                          f"{self.rows:,} events, {rate:,.0f}/s{eta}   ")
        self.stream.flush()

    def close(self) -> None:
        """Clear the line, so that what follows starts clean."""
        if self.last_draw:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
