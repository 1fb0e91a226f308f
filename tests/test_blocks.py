"""Cutting a byte stream into blocks of whole lines (`logwatch.sources.blocks`).

Every block is checked against the obvious Python answer: split the bytes at LF, drop one
CR before it, decode with U+FFFD for bad UTF-8, and remember where each line started.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.sources.blocks import LineBlock, iter_blocks, lines_from_bytes


# --- the reference ------------------------------------------------------------------

def reference_lines(data: bytes, final_partial: bool = True) -> list[tuple[int, str, bool]]:
    """(offset, text, repaired) for each line of `data`, the slow and obvious way."""
    out = []
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            if not final_partial:
                break
            end, nxt = len(data), len(data)
        else:
            end, nxt = nl, nl + 1
        raw = data[pos:end]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text, bad = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, bad = raw.decode("utf-8", errors="replace"), True
        out.append((pos, text, bad))
        pos = nxt
    return out


def flatten(blocks: list[LineBlock]) -> list[tuple[int, str, bool]]:
    out = []
    for b in blocks:
        repaired = set(b.repaired.tolist())
        for i, (off, text) in enumerate(zip(b.offsets.tolist(), b.lines.to_pylist())):
            out.append((off, text, i in repaired))
    return out


class Trickle(io.RawIOBase):
    """A stream that returns at most `step` bytes per read, as a pipe may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readinto(self, into: memoryview) -> int:   # RawIOBase.read reads through it
        out = self._data[self._pos:self._pos + min(len(into), self._step)]
        into[:len(out)] = out
        self._pos += len(out)
        return len(out)


# --- lines_from_bytes -------------------------------------------------------------------

def test_lf_lines_offsets_and_block_fields() -> None:
    data = b"Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect\nsecond\nthird\n"
    b = lines_from_bytes(data, base_offset=1000, first_index=7)
    assert b.lines.to_pylist() == ["Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect", "second",
                                   "third"]
    assert b.offsets.tolist() == [1000, 1046, 1053]
    assert b.first_index == 7
    assert b.end_offset == 1000 + len(data)
    assert b.repaired.tolist() == []
    assert b.lines.type == pa.string()


def test_crlf_terminators_are_dropped_but_offsets_count_them() -> None:
    data = b"one\r\ntwo\r\n\r\nthree\r\n"
    b = lines_from_bytes(data)
    assert b.lines.to_pylist() == ["one", "two", "", "three"]
    assert b.offsets.tolist() == [0, 5, 10, 12]
    assert b.end_offset == len(data)


def test_only_the_cr_right_before_the_newline_is_dropped() -> None:
    b = lines_from_bytes(b"a\rb\r\n\r\r\n\r\n")
    assert b.lines.to_pylist() == ["a\rb", "\r", ""]


def test_last_line_without_newline_is_a_line() -> None:
    b = lines_from_bytes(b"first\nlast without newline")
    assert b.lines.to_pylist() == ["first", "last without newline"]
    assert b.offsets.tolist() == [0, 6]
    assert b.end_offset == 26


def test_last_line_without_newline_ending_in_cr() -> None:
    b = lines_from_bytes(b"first\r\nlast\r")
    assert b.lines.to_pylist() == ["first", "last"]


def test_empty_input_gives_an_empty_block() -> None:
    b = lines_from_bytes(b"", base_offset=42, first_index=3)
    assert len(b.lines) == 0
    assert b.offsets.tolist() == []
    assert b.end_offset == 42


def test_empty_lines_are_kept() -> None:
    b = lines_from_bytes(b"\n\nx\n\n")
    assert b.lines.to_pylist() == ["", "", "x", ""]
    assert b.offsets.tolist() == [0, 1, 2, 4]


def test_nul_bytes_stay_in_the_line() -> None:
    b = lines_from_bytes(b"a\x00b\n\x00\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00z\n")
    assert b.lines.to_pylist() == ["a\x00b", "\x00", "\x00" * 13 + "z"]
    assert b.repaired.tolist() == []


def test_invalid_utf8_is_repaired_and_reported() -> None:
    data = (b"ok line\n"
            b"bad \xff byte\n"
            b"valid \xc3\xa9t\xc3\xa9\n"            # UTF-8: not repaired
            b"truncated \xe2\x82\n"                 # a cut 3-byte sequence
            b"latin-1 caf\xe9 and a long tail to make it not inline\n"
            b"\x80\n")
    b = lines_from_bytes(data, base_offset=100)
    assert b.lines.to_pylist() == [
        "ok line", "bad \ufffd byte", "valid \u00e9t\u00e9", "truncated \ufffd",
        "latin-1 caf\ufffd and a long tail to make it not inline", "\ufffd"]
    assert b.repaired.tolist() == [1, 3, 4, 5]
    b.lines.validate(full=True)  # valid UTF-8 after the repair
    # offsets still point at the original bytes
    for off, line in zip(b.offsets.tolist(), data.split(b"\n")):
        assert data[off - 100:].startswith(line)


def test_repaired_offsets_point_at_original_bytes() -> None:
    data = b"\xff\xfe\n\xc3(\n\xed\xa0\x80 surrogate\nplain\n"
    b = lines_from_bytes(data)
    assert b.repaired.tolist() == [0, 1, 2]
    assert b.offsets.tolist() == [0, 3, 6, 20]
    assert data[b.offsets[3]:b.offsets[3] + 5] == b"plain"
    assert [t for _, t, _ in reference_lines(data)] == b.lines.to_pylist()


def test_valid_multibyte_text_is_not_repaired() -> None:
    text = "Grüße aus Köln — 日本語 🙂\n" * 3
    b = lines_from_bytes(text.encode())
    assert b.repaired.tolist() == []
    assert b.lines.to_pylist() == ["Grüße aus Köln — 日本語 🙂"] * 3


def test_memoryview_input() -> None:
    buf = bytearray(b"xx\nyy\nzz")
    b = lines_from_bytes(memoryview(buf)[:6], base_offset=10)
    assert b.lines.to_pylist() == ["xx", "yy"]
    assert b.offsets.tolist() == [10, 13]


# --- iter_blocks --------------------------------------------------------------------------

def test_blocks_cut_at_line_ends_with_offsets_and_first_index() -> None:
    data = b"aaaa\nbb\ncccccccccccc\nd\n"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=6))
    # reads of 6 bytes: `aaaa\nb` | `b\ncccc` | `cccccc` `cc\nd\n`: the long line is read
    # on until a newline, and the block it completes takes what follows it in that read
    assert [b.lines.to_pylist() for b in blocks] == [["aaaa"], ["bb"], ["cccccccccccc", "d"]]
    assert [b.offsets.tolist() for b in blocks] == [[0], [5], [8, 21]]
    assert [b.first_index for b in blocks] == [0, 1, 2]
    assert [b.end_offset for b in blocks] == [5, 8, 23]


def test_several_lines_per_block() -> None:
    data = b"".join(b"line %03d\n" % i for i in range(100))
    blocks = list(iter_blocks(io.BytesIO(data), block_size=64))
    assert len(blocks) > 10
    assert all(len(b.lines) >= 1 for b in blocks)
    lines = [t for b in blocks for t in b.lines.to_pylist()]
    assert lines == ["line %03d" % i for i in range(100)]
    idx = 0
    for b in blocks:
        assert b.first_index == idx
        idx += len(b.lines)
    assert blocks[-1].end_offset == len(data)


def test_line_longer_than_the_block() -> None:
    long = b"L" * 10_000
    data = b"short\n" + long + b"\nafter\n"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=100))
    got = flatten(blocks)
    assert got == [(0, "short", False), (6, long.decode(), False), (10_007, "after", False)]
    assert blocks[-1].end_offset == len(data)


def test_final_partial_line_yielded_when_asked() -> None:
    data = b"one\ntwo\nthree"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=4, final_partial=True))
    assert flatten(blocks)[-1] == (8, "three", False)
    assert blocks[-1].end_offset == len(data)


def test_final_partial_line_held_back_for_a_growing_file() -> None:
    data = b"one\ntwo\nthree"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=4, final_partial=False))
    assert [t for _, t, _ in flatten(blocks)] == ["one", "two"]
    # the tail resumes at the first byte not consumed
    assert blocks[-1].end_offset == 8


def test_only_a_partial_line_and_final_partial_false_gives_nothing() -> None:
    assert list(iter_blocks(io.BytesIO(b"no newline at all"), 5, final_partial=False)) == []


def test_empty_stream_gives_no_block() -> None:
    assert list(iter_blocks(io.BytesIO(b""))) == []


def test_start_offset_shifts_offsets() -> None:
    blocks = list(iter_blocks(io.BytesIO(b"x\ny\n"), block_size=2, start_offset=500))
    assert [o for b in blocks for o in b.offsets.tolist()] == [500, 502]
    assert blocks[-1].end_offset == 504


def test_short_reads_from_a_pipe() -> None:
    data = b"".join(b"Mar  3 10:00:%02d mx1 postfix/qmgr[1]: line %d\r\n" % (i % 60, i)
                    for i in range(50)) + b"tail"
    blocks = list(iter_blocks(Trickle(data, 7), block_size=128))
    assert flatten(blocks) == reference_lines(data)


def test_crlf_split_between_blocks() -> None:
    # the CR is the last byte of one read and the LF the first of the next
    data = b"abc\r\ndef\r\n"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=4))
    assert flatten(blocks) == [(0, "abc", False), (5, "def", False)]


def test_multibyte_character_across_read_boundary() -> None:
    data = "é€🙂\n".encode() * 5
    for size in range(1, 12):
        assert flatten(list(iter_blocks(io.BytesIO(data), block_size=size))) == \
            [(i * 10, "é€🙂", False) for i in range(5)]


def test_invalid_utf8_across_blocks_keeps_offsets() -> None:
    data = b"good\n\xffbad\nbad\xfe again\n"
    blocks = list(iter_blocks(io.BytesIO(data), block_size=6))
    assert flatten(blocks) == [(0, "good", False), (5, "\ufffdbad", True),
                               (10, "bad\ufffd again", True)]
    # `repaired` is relative to each block
    for b in blocks:
        assert all(0 <= r < len(b.lines) for r in b.repaired.tolist())


# --- against the reference, for random inputs ---------------------------------------------

_PIECES = st.sampled_from([b"a", b"bc", b" ", b"\n", b"\r\n", b"\r", b"\x00", b"\xff",
                           b"\xc3\xa9", b"\xe2\x82", b"\xf0\x9f\x99\x82", b"x" * 17,
                           b"Mar  3 10:00:00 mx1 postfix/smtpd[1]: "])
_DATA = st.one_of(st.binary(max_size=300),
                  st.lists(_PIECES, max_size=80).map(b"".join))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=_DATA, block_size=st.integers(1, 64), final_partial=st.booleans())
def test_blocks_match_python_split(data: bytes, block_size: int, final_partial: bool) -> None:
    blocks = list(iter_blocks(io.BytesIO(data), block_size=block_size,
                              final_partial=final_partial))
    assert flatten(blocks) == reference_lines(data, final_partial)
    idx = 0
    end = 0
    for b in blocks:
        assert len(b.lines) > 0
        assert b.first_index == idx
        assert len(b.offsets) == len(b.lines)
        assert b.offsets.dtype == np.int64
        assert b.offsets[0] == end  # blocks follow each other without gap
        idx += len(b.lines)
        end = b.end_offset
        b.lines.validate(full=True)
    if final_partial:
        assert end == len(data)
    else:
        assert end == data.rfind(b"\n") + 1


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(data=_DATA)
def test_lines_from_bytes_matches_python_split(data: bytes) -> None:
    b = lines_from_bytes(data, base_offset=0)
    assert flatten([b]) == reference_lines(data)
    assert b.end_offset == len(data)


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 8, 13, 64, 4096])
def test_realistic_file_any_block_size(block_size: int) -> None:
    data = (b"Mar  3 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[192.0.2.7]\n"
            b"Mar  3 10:00:01 mx1 postfix/smtpd[100]: warning: unknown[192.0.2.7]: "
            b"SASL LOGIN authentication failed: UGFzc3dvcmQ6\r\n"
            b"\n"
            b"Mar  3 10:00:02 mx1 postfix/smtpd[100]: NOQUEUE: reject: RCPT from x\xff\n"
            b"Mar  3 10:00:03 mx1 postfix/smtpd[100]: disconnect from unknown[192.0.2.7]")
    blocks = list(iter_blocks(io.BytesIO(data), block_size=block_size))
    assert flatten(blocks) == reference_lines(data)
