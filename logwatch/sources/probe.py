"""Look at the start of a source before reading it: format, fingerprint, a year if it has one.

The first 64 KiB are read once and put back in front of the stream, so stdin works the
same as a file. The fingerprint (SHA-256 of the first 4 KiB of decompressed text) stays
the same when logrotate renames or compresses the file, which is what lets a row's
provenance, and the tailer's offsets, survive rotation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import BinaryIO

from logwatch.parse.formats import SAMPLE_LINES, detect_format
from logwatch.errors import SourceError
from logwatch.secondary import is_secondary
from logwatch.sources.blocks import SalvagingReader, read_into
from logwatch.sources.opener import READ_ERRORS, OpenedSource, open_source

__all__ = ["Probe", "probe_source", "PrefixedStream", "FINGERPRINT_BYTES"]

FINGERPRINT_BYTES = 4096
_HEAD_BYTES = 64 * 1024
_YEAR_STAMP = re.compile(
    r"(?:^|\s)(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")
_MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_BSD_DAY = re.compile(r"([A-Z][a-z]{2}) ([ \d]?\d) \d\d:\d\d:\d\d")
#: Exim logging through syslog keeps its own dated stamp in the message (syslog_timestamp)
_EXIM_STAMP = re.compile(
    r"[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ exim[^\s\[:]*(?:\[\d+\])?: "
    r"(\d{4})-(\d\d)-(\d\d) \d\d:\d\d:\d\d")


class PrefixedStream:
    """A stream that first returns `head`, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            # a short read is allowed, and saves copying a whole block behind the head
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._stream.read(n)

    def readinto(self, into: memoryview) -> int:
        """The head, then the stream's bytes (see blocks.iter_blocks)."""
        if self._head:
            n = min(len(into), len(self._head))
            into[:n], self._head = self._head[:n], self._head[n:]
            return n
        return read_into(self._stream, into)

    def read1(self, n: int = -1) -> bytes:
        """At most one read of the underlying stream (see blocks.SalvagingReader)."""
        if self._head:
            return self.read(n)
        read1 = getattr(self._stream, "read1", self._stream.read)
        return read1(n)


@dataclass
class Probe:
    """What the head of a source says about it."""

    opened: OpenedSource
    stream: PrefixedStream
    fmt: str | None
    fingerprint: str
    first_stamp: str | None   # first year-bearing timestamp text, if any
    #: a year-less file's own year clue: an upper bound (epoch seconds) on its lines'
    #: time, and the line that told it
    own_bound: tuple[float, int] | None = None
    #: an Exim reject or panic log, by its name or its head (see `secondary`)
    secondary: bool = False

    def first_instant(self) -> float | None:
        """The first year-bearing stamp as an epoch time (naive stamps taken as UTC)."""
        if not self.first_stamp:
            return None
        try:
            dt = datetime.fromisoformat(self.first_stamp.replace(" ", "T", 1))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()


def probe_source(name: str) -> Probe:
    """Open `name` and read its head; the returned stream still yields every byte.

    An archive's head is read in salvaging pieces: one damaged or cut within its first
    64 KiB keeps what decompressed before the damage (as `zcat` does), and the error
    comes on the next read, after the head, like damage further on.
    """
    opened = open_source(name)
    stream: BinaryIO = opened.stream
    if opened.compression:
        stream = SalvagingReader(stream)  # type: ignore[assignment]
    try:
        head = stream.read(_HEAD_BYTES)
    except READ_ERRORS as exc:
        opened.close()
        raise SourceError(f"{name}: damaged {opened.compression or ''} data at its start: "
                          f"{exc}") from exc
    text = head.decode("utf-8", errors="replace")
    sample = text.splitlines()[:SAMPLE_LINES]
    if len(head) == _HEAD_BYTES and sample and not text.endswith("\n"):
        sample = sample[:-1]  # a cut line can fool detection
    fmt = detect_format(sample)
    first = None
    if fmt in ("rfc3339", "rfc5424", "iso_syslog", "exim", "journal_json"):
        for line in sample:
            m = _YEAR_STAMP.search(line[:64])
            if m:
                first = m.group(1)
                break
    fp = hashlib.sha256(head[:FINGERPRINT_BYTES]).hexdigest()[:16]
    return Probe(opened, PrefixedStream(head, stream), fmt, fp, first,
                 _own_bound(sample) if fmt == "bsd" else None, is_secondary(name, text))


def _month_day(line: str) -> tuple[int, int] | None:
    m = _BSD_DAY.match(line)
    return (_MONTHS[m.group(1)], int(m.group(2))) if m and m.group(1) in _MONTHS else None


def _own_bound(sample: list[str]) -> tuple[float, int] | None:
    """A bound on a BSD file's times from the dated stamp that Exim writes into its syslog
    messages: (epoch seconds, 1-based line number), or None.

    Why: a copied archive's modification time is the day it was copied, and the file's
    own lines say the year outright. The stamp counts only where its day agrees with the
    syslog stamp's (within a day, for a zone difference at midnight); lines before it in
    the head take the year before when their day comes later (December, then January).
    The year of the first line is given as a bound (`clock`) nearly a year after it, which
    every part of a file read in parallel can use alike; a file spanning more than 363
    days reads its last two days a year early.
    """
    first = _month_day(sample[0]) if sample else None
    for n, line in enumerate(sample, start=1):
        m = _EXIM_STAMP.match(line)
        day = _month_day(line)
        if not m or day is None or first is None:
            continue
        try:
            stamped = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        for year in (stamped.year, stamped.year - 1, stamped.year + 1):
            try:
                if abs((date(year, *day) - stamped).days) > 1:
                    continue
                start = date(year if first <= day else year - 1, *first)
            except ValueError:  # Feb 29 of a common year
                continue
            bound = datetime.combine(start + timedelta(days=363), datetime.min.time(),
                                     tzinfo=timezone.utc)
            return bound.timestamp(), n
    return None
