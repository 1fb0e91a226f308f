"""Open a log file or stdin, transparently decompressing by content rather than by name.

Compression is recognised by magic bytes because logrotate setups rename freely
(`compressext`, `dateext`) and people pipe archives into `-`. The gzip header's MTIME is
kept: it is one of the clues for the year of a year-less syslog stamp.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from logwatch.errors import SourceError

__all__ = ["OpenedSource", "open_source", "STDIN", "READ_ERRORS", "positioned",
           "compression_of"]

STDIN = "-"


def _read_errors() -> tuple[type[BaseException], ...]:
    # zlib.error is not an OSError: gzip raises it for a corrupt deflate stream (a bad
    # header is gzip.BadGzipFile, an OSError; bz2 raises OSError for both).
    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - a declared dependency
        pass
    return tuple(errors)


#: What reading a damaged or truncated archive raises, whatever its compression.
READ_ERRORS = _read_errors()

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


@dataclass
class OpenedSource:
    """A readable, decompressed byte stream and what is known about its origin."""

    name: str
    stream: BinaryIO
    compression: str | None
    mtime: float | None
    gzip_mtime: float | None

    def close(self) -> None:
        if self.name != STDIN:
            self.stream.close()


def _sniff(raw: io.BufferedReader) -> str | None:
    head = raw.peek(8)[:8]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def compression_of(path: str) -> str | None:
    """How a file is compressed, by its magic bytes (None: plain, or unreadable)."""
    try:
        with open(path, "rb") as raw:
            return _sniff(raw)
    except OSError:
        return None


def _gzip_header_mtime(raw: io.BufferedReader) -> float | None:
    head = raw.peek(10)[:10]
    if len(head) < 8:
        return None
    (mtime,) = struct.unpack("<I", head[4:8])
    return float(mtime) if mtime else None


def _decompressor(kind: str | None, raw: io.BufferedReader) -> BinaryIO:
    if kind is None:
        return raw
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    return io.BufferedReader(_ZstdRaw(raw), buffer_size=1 << 20)  # type: ignore[return-value]


class _ZstdRaw(io.RawIOBase):
    """Zstandard frames one after another, with a truncated last frame as an error.

    zstandard's own stream reader ends quietly at the end of the input even inside a
    frame; a cut archive must be reported, not read as shorter. A raw stream, so that
    io.BufferedReader gives it lines and iteration like the other decompressors have.
    """

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard  # imported here: only archives compressed with zstd pay for it

        super().__init__()
        self._zstd = zstandard
        self._raw = raw
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._out = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        while not self._out:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd archive ends inside a frame (truncated)")
                return 0
            while chunk:
                self._in_frame = True
                self._out += self._dobj.decompress(chunk)
                if self._dobj.eof:  # frame complete: the rest belongs to the next one
                    chunk = self._dobj.unused_data
                    self._dobj = self._zstd.ZstdDecompressor().decompressobj()
                    self._in_frame = False
                else:
                    chunk = b""
        n = min(want, len(self._out))
        buffer[:n] = self._out[:n]
        del self._out[:n]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(name: str) -> OpenedSource:
    """Open `name` (a path or `-` for stdin) for reading decompressed bytes."""
    try:
        if name == STDIN:
            raw = io.BufferedReader(sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw")
                                    else sys.stdin.buffer, buffer_size=1 << 16)  # type: ignore[arg-type]
            mtime = None
        else:
            raw = open(name, "rb", buffering=1 << 16)  # noqa: SIM115 - closed by OpenedSource
            mtime = os.fstat(raw.fileno()).st_mtime
        kind = _sniff(raw)
        gz_mtime = _gzip_header_mtime(raw) if kind == "gzip" else None
        return OpenedSource(name, _decompressor(kind, raw), kind, mtime, gz_mtime)
    except OSError as exc:
        raise SourceError(f"{name}: cannot open: {exc.strerror or exc}") from exc


def positioned(opened: OpenedSource, start: int) -> BinaryIO:
    """The source's stream at content offset `start`: a seek for a plain file, and for
    an archive the decompressed bytes before it read and dropped (gzip cannot seek)."""
    stream = opened.stream
    if opened.compression is None and stream.seekable():
        stream.seek(start)
        return stream
    skip = start
    while skip > 0:
        got = stream.read(min(skip, 1 << 20))
        if not got:
            break
        skip -= len(got)
    return stream
