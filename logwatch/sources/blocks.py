"""Cut a byte stream into blocks of whole lines as Arrow string arrays, without a Python loop.

Why this shape: reading ~64 MiB at a time and finding newlines with NumPy is both the
fastest way we measured and keeps memory bounded whatever the file size (PERF-NOTES.md).
Line terminators (LF, CRLF) are dropped by compacting the buffer once, so that every
downstream kernel sees the line exactly as logged. Bytes that are not UTF-8 are replaced
(U+FFFD) on the few lines that have them; the byte offset of every line is kept, so the
original bytes stay reachable with `dd` or `tail -c`.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.slicing import strings_at

__all__ = ["LineBlock", "iter_blocks", "lines_from_bytes", "BLOCK_SIZE", "SalvagingReader",
           "read_into"]

BLOCK_SIZE = 16 << 20
#: The most of one line that is kept: the rest, to its newline, is skipped (and its bytes
#: counted in the offsets). A file that a crash left with a gigabyte of NUL bytes (ext4
#: after a power loss) is one line, and `/dev/zero` an endless one: read whole, they
#: took memory without end.
MAX_LINE_BYTES = 16 << 20


@dataclass
class LineBlock:
    """Whole lines of one source, in order.

    `offsets[i]` is the byte offset of line i in the decompressed stream; `first_index` is
    the number of lines of the source before this block (the row's `seq` base);
    `repaired` holds the indices of lines whose bytes were not valid UTF-8.
    """

    lines: pa.StringArray
    offsets: np.ndarray
    first_index: int
    repaired: np.ndarray
    end_offset: int  # offset just past the last byte consumed (for resuming a tail)

    def split(self, at: int) -> tuple[LineBlock, LineBlock]:
        """The lines before `at` and those from it on."""
        head = LineBlock(self.lines.slice(0, at), self.offsets[:at], self.first_index,
                         self.repaired[self.repaired < at], int(self.offsets[at]))
        tail = LineBlock(self.lines.slice(at), self.offsets[at:], self.first_index + at,
                         self.repaired[self.repaired >= at] - at, self.end_offset)
        return head, tail

    def then(self, other: LineBlock) -> LineBlock:
        """This block's lines followed by `other`'s (the next block of the source)."""
        return LineBlock(pa.concat_arrays([self.lines, other.lines]),
                         np.concatenate((self.offsets, other.offsets)), self.first_index,
                         np.concatenate((self.repaired, other.repaired + len(self.lines))),
                         other.end_offset)


def _repair_utf8(data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 lines: pa.StringArray) -> tuple[pa.StringArray, np.ndarray]:
    """Replace invalid UTF-8 on the lines that have it; return the repaired rows."""
    if len(data) == 0 or int(data.max()) < 0x80:
        return lines, np.empty(0, dtype=np.int64)
    try:
        lines.validate(full=True)
        return lines, np.empty(0, dtype=np.int64)
    except pa.ArrowInvalid:
        pass
    csum = np.concatenate(([0], np.cumsum(data >= 0x80, dtype=np.int64)))
    suspects = np.flatnonzero(csum[ends] - csum[starts] > 0)
    bad_rows: list[int] = []
    fixed: list[str] = []
    for row in suspects.tolist():  # only lines with non-ASCII bytes: rare, and hostile
        chunk = data[starts[row]:ends[row]].tobytes()
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            bad_rows.append(row)
            fixed.append(chunk.decode("utf-8", errors="replace"))
    mask = np.zeros(len(lines), dtype=bool)
    mask[bad_rows] = True
    # The array built from raw bytes is not valid UTF-8, so replace through binary.
    as_binary = lines.view(pa.binary())
    repaired = pc.replace_with_mask(as_binary, pa.array(mask), pa.array(fixed, pa.binary()))
    return repaired.cast(pa.string()), np.asarray(bad_rows, dtype=np.int64)


def lines_from_bytes(buf: bytes | bytearray | memoryview, base_offset: int = 0,
                     first_index: int = 0) -> LineBlock:
    """Split `buf`, which must end with a newline (or be a final partial line), into lines."""
    data = np.frombuffer(buf, dtype=np.uint8)
    nl = np.flatnonzero(data == 10)
    if len(data) and (len(nl) == 0 or nl[-1] != len(data) - 1):
        nl = np.append(nl, len(data))  # a last line without terminator
    n = len(nl)
    starts = np.empty(n, dtype=np.int64)
    if n:
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
    ends = nl.astype(np.int64)
    nonempty = np.flatnonzero(ends > starts)
    cr = nonempty[data[ends[nonempty] - 1] == 13]
    ends[cr] -= 1
    # Views into the read buffer, cast once into a compact string array: the line
    # terminators drop out in the same copy.
    lines = strings_at(pa.py_buffer(buf), starts, ends - starts, whole_lines=True)
    lines, repaired = _repair_utf8(data, starts, ends, lines)
    return LineBlock(lines, starts + base_offset, first_index, repaired, base_offset + len(data))


class SalvagingReader:
    """Reads a decompressing stream in small pieces, so that damage loses only itself.

    A decompressor that hits a corrupt or truncated spot raises and throws away what it
    produced in that call; reading a megabyte at a time keeps everything before the
    damage, and the error is raised on the next read, after that data was handed on.
    """

    def __init__(self, stream: BinaryIO, piece: int = 1 << 20) -> None:
        self._stream = stream
        # read1: one decompression step per call, so an error loses only that step
        self._read = getattr(stream, "read1", stream.read)
        self._piece = piece
        self._error: BaseException | None = None

    def read(self, n: int) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        parts: list[bytes] = []
        got = 0
        while got < n:
            try:
                chunk = self._read(min(self._piece, n - got))
            except Exception as exc:  # noqa: BLE001 - re-raised on the next read
                if not parts:
                    raise
                self._error = exc
                break
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def close(self) -> None:
        self._stream.close()


def read_into(stream: BinaryIO, into: memoryview) -> int:
    """Bytes read into `into` (0: the end): `readinto` where the stream has it, else a
    read copied in."""
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        return readinto(into)
    data = stream.read(len(into))
    into[:len(data)] = data
    return len(data)


def _skip_line(stream: BinaryIO, piece: int = 1 << 20) -> tuple[int, bytes | None]:
    """Read to the end of the line under way: the bytes skipped before its newline, and
    those after it that were read (None: the stream ended first)."""
    skipped = 0
    while True:
        data = stream.read(piece)
        if not data:
            return skipped, None
        at = data.find(b"\n")
        if at >= 0:
            return skipped + at, data[at + 1:]
        skipped += len(data)


def iter_blocks(stream: BinaryIO, block_size: int = BLOCK_SIZE, start_offset: int = 0,
                final_partial: bool = True) -> Iterator[LineBlock]:
    """Yield blocks of whole lines read from `stream`.

    A last line without a newline is yielded when `final_partial` (archives, stdin) and
    held back otherwise (a file still being written: the rest of the line is coming).
    Every block is read into one buffer, the partial line at its end moved to the front
    for the next: a fresh block of bytes each time, and the partial line joined to the
    next one by a copy of both, cost three times the read itself (page faults on new
    memory). A block's lines are copied out of the buffer (`lines_from_bytes`), so it
    can be filled again. The buffer is an anonymous mapping, given back to the system
    when the source is read: one from the heap stayed resident (22 MiB more in a
    follower, whose passes read a source each).
    """
    buf = mmap.mmap(-1, block_size)
    held = 0                       # bytes at the front of buf: the start of a line
    offset = start_offset
    index = 0
    try:
        while True:
            if held >= MAX_LINE_BYTES:    # a line no logger writes: its start, then on
                skipped, rest = _skip_line(stream)
                if rest is None and not final_partial:
                    break          # still being written: read again when it ends
                block = lines_from_bytes(buf[:MAX_LINE_BYTES], offset, index)
                end = offset + held + skipped + (rest is not None)
                yield LineBlock(block.lines, block.offsets, index, block.repaired, end)
                offset, index = end, index + 1
                if rest is None:
                    break
                buf[:len(rest)] = rest
                held = len(rest)
                continue
            if held == len(buf):   # a line longer than the buffer: make room for its rest
                bigger = mmap.mmap(-1, 2 * len(buf))
                bigger[:held] = buf[:held]
                buf.close()
                buf = bigger
            with memoryview(buf) as free:
                got = read_into(stream, free[held:])
            end = held + got
            eof = got == 0
            if end == 0:
                break
            cut = buf.rfind(b"\n", 0, end) + 1
            if eof:
                cut = end if final_partial else cut
            elif cut == 0:
                held = end         # no line ends yet: keep reading
                continue
            if cut:
                with memoryview(buf) as view:
                    block = lines_from_bytes(view[:cut], offset, index)
                yield block
                offset += cut
                index += len(block.lines)
            if eof:
                break
            buf[:end - cut] = buf[cut:end]
            held = end - cut
    finally:
        try:
            buf.close()
        except BufferError:   # a read that raised holds a view in its traceback: the
            pass              # mapping goes when that does
