"""The log lines behind an alert, read back from their sources by byte offset.

Events keep `source`, `source_fp` and `offset` rather than the line (a million copies of
the text would double the memory of a run); the few lines an alert shows are read again
here, in one pass per file: seeks for plain files, one decompressing read for archives.
A line read in an earlier cron run may since have been rotated away: the file whose
fingerprint (the hash of its first 4 KiB, `probe`) is the line's is looked for among the
rotations beside the name, and the evidence names the file the line is in now. Stdin
cannot be read twice: its lines come back as None, and the alert still says where.
A journald source is not a file: its lines are read back from the temporary file of the
pass that read them, while it exists (`stand_in`), and those of earlier passes from the
journal by their cursors (`entries_at`), while it has them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import NamedTuple

from logwatch.errors import SourceError
from logwatch.sources.opener import READ_ERRORS, STDIN, open_source, positioned
from logwatch.sources.probe import probe_source
from logwatch.sources.tail import rotated_names

__all__ = ["LineRef", "read_lines", "stand_in", "MAX_LINE"]

#: Longer lines are cut in evidence (an alert is not the place for a 64 KiB header).
MAX_LINE = 2000


#: What reads lines of a source that is not a file again: given (time µs, cursor) of
#: each, their lines by cursor (`sources.journald.entries_at`).
Reread = Callable[[list[tuple[int, str]]], dict[str, bytes]]

#: Sources that are not files, by the name in their events (`journald`): the file that
#: holds what the current pass read from one, that file's fingerprint, and what reads
#: the lines of earlier passes.
_STAND_INS: dict[str, tuple[str | None, str | None, Reread | None]] = {}


def stand_in(name: str, path: str | None, fingerprint: str | None,
             reread: Reread | None = None) -> None:
    """Lines of source `name` with this fingerprint are in `path` (None: nowhere); others
    of it are read again by `reread`, when there is one."""
    _STAND_INS[name] = (path, fingerprint, reread)


class LineRef(NamedTuple):
    """Where a line was read: the file's name then, its offset, its fingerprint."""

    source: str
    offset: int
    fingerprint: str | None = None
    #: a journal entry's cursor, and its time (µs): how it is found again
    cursor: str | None = None
    at_us: int | None = None


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
    # lines of a journal that earlier passes read: (time, cursor) per line, by source
    again: dict[str, dict[LineRef, tuple[int, str]]] = defaultdict(dict)
    for r in stood_in:
        path, fingerprint, reread = _STAND_INS[r.source]
        if path is not None and r.fingerprint == fingerprint:
            by_file[path].add(r.offset)
            where[r] = path
        elif reread is not None and r.cursor is not None and r.at_us is not None:
            again[r.source][r] = (r.at_us, r.cursor)
    lines = {path: ({} if path == STDIN else _from_file(path, sorted(offsets), limit))
             for path, offsets in by_file.items()}
    found = {r: (path, lines[path].get(r.offset)) for r, path in where.items()}
    for source, wanted in again.items():
        entries = _STAND_INS[source][2](list(wanted.values()))  # type: ignore[misc]
        for r, (_, cursor) in wanted.items():
            raw = entries.get(cursor)
            found[r] = (source, None if raw is None else _decode(raw, limit))
    return found | {r: (r.source, found[r][1] if r in found else None) for r in stood_in}
