"""The log lines behind an alert, read back from their sources by byte offset.

Events keep `source` and `offset` rather than the line (a million copies of the text
would double the memory of a run); the few lines an alert shows are read again here, in
one pass per source: seeks for plain files, one decompressing read for archives. Stdin
cannot be read twice, so its lines come back as None, and the alert still says where.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from logwatch.errors import SourceError
from logwatch.sources.opener import READ_ERRORS, STDIN, open_source

__all__ = ["read_lines", "MAX_LINE"]

#: Longer lines are cut in evidence (an alert is not the place for a 64 KiB header).
MAX_LINE = 2000


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r\n")[:MAX_LINE].decode("utf-8", "replace")


def _from_source(name: str, offsets: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        src = open_source(name)
    except SourceError:
        return out
    try:
        stream = src.stream
        if src.compression is None and stream.seekable():
            for off in offsets:
                stream.seek(off)
                out[off] = _decode(stream.readline())
            return out
        want = iter(offsets)
        target = next(want, None)
        pos = 0
        for line in stream:
            while target is not None and target < pos:
                target = next(want, None)   # not at a line start: skip it
            if target is None:
                break
            if target == pos:
                out[pos] = _decode(line)
                target = next(want, None)
            pos += len(line)
    except READ_ERRORS:
        pass
    finally:
        src.close()
    return out


def read_lines(refs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
    """The line at each (source, offset); None where it cannot be read again."""
    by_source: dict[str, set[int]] = defaultdict(set)
    for source, offset in refs:
        by_source[source].add(offset)
    out: dict[tuple[str, int], str | None] = {}
    for source, offsets in by_source.items():
        got = {} if source == STDIN else _from_source(source, sorted(offsets))
        for off in offsets:
            out[(source, off)] = got.get(off)
    return out
