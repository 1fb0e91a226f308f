"""The log lines behind an alert, read back from their sources by byte offset.

Events keep `source`, `source_fp` and `offset` rather than the line (a million copies of
the text would double the memory of a run); the few lines an alert shows are read again
here, in one pass per file: seeks for plain files, one decompressing read for archives.
A line read in an earlier cron run may since have been rotated away: the file whose
fingerprint (the hash of its first 4 KiB, `probe`) is the line's is looked for among the
rotations beside the name, and the evidence names the file the line is in now. Stdin
cannot be read twice: its lines come back as None, and the alert still says where.
A journald source is not a file: its lines are read back from the temporary file of the
pass that read them, while it exists (`stand_in`), and come back as None after.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from logwatch.errors import SourceError
from logwatch.sources.opener import READ_ERRORS, STDIN, open_source, positioned
from logwatch.sources.probe import probe_source
from logwatch.sources.tail import rotated_names

__all__ = ["LineRef", "read_lines", "stand_in", "MAX_LINE"]

#: Longer lines are cut in evidence (an alert is not the place for a 64 KiB header).
MAX_LINE = 2000


#: Sources that are not files, by the name in their events (`journald`): the file that
#: holds what the current pass read from one, and that file's fingerprint.
_STAND_INS: dict[str, tuple[str | None, str | None]] = {}


def stand_in(name: str, path: str | None, fingerprint: str | None) -> None:
    """Lines of source `name` with this fingerprint are in `path` (None: nowhere)."""
    _STAND_INS[name] = (path, fingerprint)


class LineRef(NamedTuple):
    """Where a line was read: the file's name then, its offset, its fingerprint."""

    source: str
    offset: int
    fingerprint: str | None = None


def _decode(raw: bytes, limit: int | None) -> str:
    return raw.rstrip(b"\r\n")[:limit].decode("utf-8", "replace")


@lru_cache(maxsize=256)
def _fingerprint(path: str) -> str | None:
    try:
        probe = probe_source(path)
    except SourceError:
        return None
    probe.opened.close()
    return probe.fingerprint


def _where_now(source: str, fingerprint: str | None) -> str:
    """The file that holds the content read as `source` (itself, or one of its rotations);
    the name itself when no file has that fingerprint (a file then shorter than 4 KiB)."""
    if fingerprint is None or _fingerprint(source) == fingerprint:
        return source
    for candidate in reversed(rotated_names(source)):
        if _fingerprint(candidate) == fingerprint:
            return candidate
    return source


def _from_file(name: str, offsets: list[int], limit: int | None) -> dict[int, str]:
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
                out[off] = _decode(stream.readline(), limit)
            return out
        pos = offsets[0] if offsets else 0
        stream = positioned(src, pos)       # the bytes before the first line dropped
        want = iter(offsets)
        target = next(want, None)
        for line in stream:
            while target is not None and target < pos:
                target = next(want, None)   # not at a line start: skip it
            if target is None:
                break
            if target == pos:
                out[pos] = _decode(line, limit)
                target = next(want, None)
            pos += len(line)
    except READ_ERRORS:
        pass
    finally:
        src.close()
    return out


def read_lines(refs: Iterable[LineRef], limit: int | None = MAX_LINE
               ) -> dict[LineRef, tuple[str, str | None]]:
    """Per reference: the file the line is in now, and the line (None: not readable),
    cut at `limit` bytes (None: whole, as a forensic trace wants it)."""
    refs = list(refs)
    _fingerprint.cache_clear()   # files change between runs
    stood_in = {r for r in refs if r.source in _STAND_INS}
    where = {r: r.source if r.source == STDIN else _where_now(r.source, r.fingerprint)
             for r in set(refs) - stood_in}
    by_file: dict[str, set[int]] = defaultdict(set)
    for r, path in where.items():
        by_file[path].add(r.offset)
    for r in stood_in:
        path, fingerprint = _STAND_INS[r.source]
        if path is not None and r.fingerprint == fingerprint:
            by_file[path].add(r.offset)
            where[r] = path
    lines = {path: ({} if path == STDIN else _from_file(path, sorted(offsets), limit))
             for path, offsets in by_file.items()}
    found = {r: (path, lines[path].get(r.offset)) for r, path in where.items()}
    return found | {r: (r.source, found[r][1] if r in found else None) for r in stood_in}
