"""The tailer (`logwatch.sources.tail`) through every rotation pygtail's suite and bug
tracker describe, on real files, without logrotate (test_live_rotation.py runs the real
one): each read plans segments with `plan_reads`, reads them here byte for byte and moves
on with `mark_after`, as a cron run does.

What every case checks is the same: the lines read over all the reads are the lines
written, each exactly once, in order (minus, where a rotation leaves the file read
nowhere to be found, its unread tail, which a warning must own up to).

Most cases run twice: with small files (under the 1 KiB head that identifies a file, so
the mark is "weak" and leans on the inode) and with large ones.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from logwatch.sources.tail import (HEAD_BYTES, Mark, Segment, mark_after, plan_reads,
                                   rotated_names, still_valid)

SIZES = ["small", "large"]


def read_segment(seg: Segment) -> bytes:
    """Bytes seg.start..seg.end of the segment's file, decompressed."""
    raw = Path(seg.path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw[seg.start:seg.end]


def lines_of(data: bytes, final: bool) -> list[bytes]:
    """The lines of one segment; a rotated (final) segment's last line counts without its
    newline, a live one never ends inside a line."""
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    else:
        assert final, f"a live segment ended inside a line: {parts[-1]!r}"
    return parts


def _short(line: bytes) -> str:
    m = re.search(rb"line (\d+)", line)
    return m.group(1).decode() if m else repr(line[:24])


def assert_read_once(t: Tailer, log: Log) -> None:
    """Every line written was read exactly once, in order (compared by line number so
    that a failure says which lines were lost or read twice)."""
    assert [_short(x) for x in t.lines] == [_short(x) for x in log.written], t.warnings
    assert t.lines == log.written


class Tailer:
    """What one cron run after another does with a log: plan, read, remember."""

    def __init__(self, path: Path, from_end: bool = False) -> None:
        self.path = str(path)
        self.mark: Mark | None = None
        self.lines: list[bytes] = []
        self.warnings: list[str] = []
        self.from_end = from_end
        self.reads = 0

    def read(self) -> list[bytes]:
        plan = plan_reads(self.path, self.mark, from_end=self.from_end)
        got: list[bytes] = []
        for seg in plan.segments:
            got += lines_of(read_segment(seg), seg.final)
        self.warnings += plan.warnings
        self.mark = mark_after(self.path, plan, self.mark)
        self.lines += got
        self.reads += 1
        return got


class Log:
    """A log being written, with the lines written so far (the expectation)."""

    def __init__(self, path: Path, size: str = "large") -> None:
        self.path = path
        self.pad = "x" * (120 if size == "large" else 4)
        self.n = 0
        self.written: list[bytes] = []

    def line(self, tag: str = "") -> bytes:
        self.n += 1
        return (f"Mar  3 10:{self.n // 60:02d}:{self.n % 60:02d} mx1 postfix/smtpd[{self.n}]: "
                f"{tag}line {self.n:05d} {self.pad}").encode()

    def write(self, count: int = 1, tag: str = "", raw: bytes | None = None) -> list[bytes]:
        """Append `count` whole lines (O_APPEND, as syslog writes)."""
        out = [raw] if raw is not None else [self.line(tag) for _ in range(count)]
        with open(self.path, "ab") as fh:
            fh.write(b"".join(x + b"\n" for x in out))
        self.written += out
        return out

    def lose(self, lines: list[bytes]) -> None:
        """These lines will not be read (their file went where no tailer looks)."""
        for x in lines:
            self.written.remove(x)


def _size_lines(size: str) -> int:
    """Enough lines to pass the identifying head for `large`, a few for `small`."""
    return 12 if size == "large" else 3


def _read_once(tmp_path: Path, size: str) -> tuple[Log, Tailer]:
    """A log of `size` lines and a tailer that has read it all: every scenario's start."""
    log = Log(tmp_path / "mail.log", size)
    log.write(_size_lines(size))
    t = Tailer(log.path)
    t.read()
    return log, t


# --- rotations done by hand, as logrotate does them ---------------------------------------

def rename_create(path: Path, rotated: Path, create: bool = True) -> None:
    os.rename(path, rotated)
    if create:
        path.touch()


def gzip_file(src: Path, dst: Path) -> None:
    """logrotate's `compress`: a new file (new inode) holding the compressed bytes, with
    the original's modification time (logrotate keeps it); the original goes."""
    with open(src, "rb") as fin, gzip.open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    st = src.stat()
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    src.unlink()


def copytruncate(path: Path, copy: Path) -> None:
    shutil.copyfile(path, copy)
    with open(path, "r+b") as fh:
        fh.truncate(0)


def shift_numbered(path: Path, compress_from: int | None = None, keep: int = 5) -> None:
    """logrotate's numbered chain: .N -> .N+1 (compressing the one that reaches
    `compress_from`), then the live file -> .1 and a new live file."""
    for n in range(keep, 0, -1):
        for suffix in ("", ".gz"):
            src = Path(f"{path}.{n}{suffix}")
            if not src.exists():
                continue
            dst = Path(f"{path}.{n + 1}{suffix}")
            if suffix == "" and compress_from is not None and n + 1 >= compress_from:
                gzip_file(src, Path(f"{dst}.gz"))
            else:
                os.rename(src, dst)
    rename_create(path, Path(f"{path}.1"))
    if compress_from == 1:
        gzip_file(Path(f"{path}.1"), Path(f"{path}.1.gz"))


def pause() -> None:
    """Cron runs are minutes apart; file times come from a coarse clock (a few ms behind
    time.time()), so a line written within a tick of a read could look older than it."""
    time.sleep(0.02)


# --- the cases --------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_first_read_nothing_new_then_appended(tmp_path: Path, size: str) -> None:
    log = Log(tmp_path / "mail.log", size)
    log.write(_size_lines(size))
    t = Tailer(log.path)
    assert t.read() == log.written                         # the first run reads all
    assert t.read() == []                                  # nothing new
    assert t.read() == []
    new = log.write(3)
    assert t.read() == new                                 # only what was appended
    assert t.read() == []
    assert_read_once(t, log)
    assert t.warnings == []
    assert t.mark is not None and t.mark.offset == log.path.stat().st_size


def test_mark_identifies_by_content(tmp_path: Path) -> None:
    log = Log(tmp_path / "mail.log")
    log.write(12)
    t = Tailer(log.path)
    t.read()
    m = t.mark
    assert m is not None and m.head_len == HEAD_BYTES and not m.weak
    st = log.path.stat()
    assert (m.dev, m.ino, m.offset) == (st.st_dev, st.st_ino, st.st_size)
    small = Log(tmp_path / "small.log", "small")
    small.write(2)
    ts = Tailer(small.path)
    ts.read()
    assert ts.mark is not None and ts.mark.weak and ts.mark.head_len == small.path.stat().st_size


def test_start_at_end_without_a_mark(tmp_path: Path) -> None:
    log = Log(tmp_path / "mail.log")
    old = log.write(5)
    t = Tailer(log.path, from_end=True)
    assert t.read() == []
    log.lose(old)
    new = log.write(2)
    assert t.read() == new
    assert_read_once(t, log)


def test_empty_and_missing_file_on_first_read(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    t = Tailer(path)
    assert t.read() == []                                  # no file: no crash
    assert t.mark is not None and t.mark.head_len == 0     # everything from now on
    pause()
    path.touch()
    assert t.read() == []
    log = Log(path)
    log.write(2)
    assert t.read() == log.written


@pytest.mark.parametrize("size", SIZES)
def test_partial_last_line_held_until_its_newline(tmp_path: Path, size: str) -> None:
    log, t = _read_once(tmp_path, size)
    with open(log.path, "ab") as fh:
        fh.write(b"Mar  3 11:00:00 mx1 postfix/smtpd[9]: half a li")
    assert t.read() == []                                  # not yet: no newline
    assert t.mark is not None and t.mark.offset == log.path.read_bytes().rfind(b"\n") + 1
    with open(log.path, "ab") as fh:
        fh.write(b"ne and the rest\n")
    log.written.append(b"Mar  3 11:00:00 mx1 postfix/smtpd[9]: half a line and the rest")
    more = log.write(1)
    assert t.read() == [log.written[-2]] + more
    assert_read_once(t, log)
    # the mark never points inside a line
    data = log.path.read_bytes()
    assert t.mark is not None and data[t.mark.offset - 1:t.mark.offset] == b"\n"


def test_partial_last_line_of_a_rotated_file_is_read(tmp_path: Path) -> None:
    """A rotated file is finished: its last line counts even without a newline."""
    log = Log(tmp_path / "mail.log")
    log.write(12)
    t = Tailer(log.path)
    t.read()
    with open(log.path, "ab") as fh:
        fh.write(b"Mar  3 11:00:00 mx1 postfix/smtpd[9]: cut short")
    assert t.read() == []
    log.written.append(b"Mar  3 11:00:00 mx1 postfix/smtpd[9]: cut short")
    rename_create(log.path, tmp_path / "mail.log.1")
    log.write(2)
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("size", SIZES)
def test_rename_create(tmp_path: Path, size: str) -> None:
    log, t = _read_once(tmp_path, size)
    log.write(2)                                           # unread when rotated
    rename_create(log.path, tmp_path / "mail.log.1")
    log.write(3)
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []
    log.write(1)
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("size", SIZES)
def test_rename_then_immediate_gzip(tmp_path: Path, size: str) -> None:
    """pygtail#15: `compress` without `delaycompress` leaves only `.1.gz`, a new inode."""
    log, t = _read_once(tmp_path, size)
    log.write(2)
    ino = log.path.stat().st_ino
    rename_create(log.path, tmp_path / "mail.log.1")
    gzip_file(tmp_path / "mail.log.1", tmp_path / "mail.log.1.gz")
    assert (tmp_path / "mail.log.1.gz").stat().st_ino != ino or size == "small"
    log.write(3)
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_delaycompress_two_rotations_between_reads(tmp_path: Path, size: str) -> None:
    """The file read last is `.2.gz` by now: its rest, then `.1`, then the live file."""
    log, t = _read_once(tmp_path, size)
    log.write(2)
    shift_numbered(log.path, compress_from=2)              # A -> .1
    log.write(2)
    shift_numbered(log.path, compress_from=2)              # .1 -> .2.gz, B -> .1
    log.write(2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mail.log", "mail.log.1",
                                                          "mail.log.2.gz"]
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_immediate_compress_three_rotations_between_reads(tmp_path: Path, size: str) -> None:
    log, t = _read_once(tmp_path, size)
    for _ in range(3):
        log.write(2)
        shift_numbered(log.path, compress_from=1)
    log.write(1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mail.log", "mail.log.1.gz", "mail.log.2.gz", "mail.log.3.gz"]
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


def test_rotated_names_dateext_with_seconds(tmp_path: Path) -> None:
    """`dateformat -%Y%m%d-%s` names belong to the log (they were taken for a log named
    `mail.log-20260303`, and never found) and sort by time."""
    names = ["mail.log-20260303-1772532001.gz", "mail.log-20260302", "mail.log-20260303-1772532000",
             "mail.log-20260303-1772532002", "mail.log", "mail.logger", "other.log-20260303"]
    for n in names:
        (tmp_path / n).touch()
    assert [Path(n).name for n in rotated_names(str(tmp_path / "mail.log"))] == [
        "mail.log-20260302", "mail.log-20260303-1772532000", "mail.log-20260303-1772532001.gz",
        "mail.log-20260303-1772532002"]


DATEEXT = [
    ("-20260303", "-20260304", False),
    ("-20260303", "-20260304", True),
    ("-20260303-1772532000", "-20260303-1772532001", False),
    ("-20260303-1772532000", "-20260303-1772532001", True),
]


@pytest.mark.parametrize("first,second,compress", DATEEXT,
                         ids=["date", "date-gz", "date-epoch", "date-epoch-gz"])
@pytest.mark.parametrize("size", SIZES)
def test_dateext(tmp_path: Path, size: str, first: str, second: str, compress: bool) -> None:
    log, t = _read_once(tmp_path, size)
    for stamp in (first, second):                          # two rotations between reads
        log.write(2)
        rotated = tmp_path / f"mail.log{stamp}"
        rename_create(log.path, rotated)
        if compress:
            gzip_file(rotated, Path(f"{rotated}.gz"))
    log.write(2)
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("size", SIZES)
def test_copytruncate(tmp_path: Path, size: str, compress: bool) -> None:
    """The copy (a new inode) in `.1` (or `.1.gz`), the live file truncated in place."""
    log, t = _read_once(tmp_path, size)
    log.write(2)
    ino = log.path.stat().st_ino
    copytruncate(log.path, tmp_path / "mail.log.1")
    if compress:
        gzip_file(tmp_path / "mail.log.1", tmp_path / "mail.log.1.gz")
    assert log.path.stat().st_ino == ino and log.path.stat().st_size == 0
    log.write(1)                                           # smaller than the old offset
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_copytruncate_regrown_past_the_old_offset(tmp_path: Path, size: str) -> None:
    """pygtail#65 (Plesk's copy-then-clear): same inode, the file larger than the old
    offset again, with other lines: found by content, nothing skipped."""
    log, t = _read_once(tmp_path, size)
    old_offset = t.mark.offset if t.mark else 0
    log.write(2)
    copytruncate(log.path, tmp_path / "mail.log.1")
    log.write(_size_lines(size) + 6, tag="day2 ")
    assert log.path.stat().st_size > old_offset + 100
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_truncated_in_place_without_a_copy(tmp_path: Path, size: str) -> None:
    """`> mail.log` and rewritten past the old offset: the new lines are read from the
    start (the file is another file), and the loss of the old one is said."""
    log, t = _read_once(tmp_path, size)
    lost = log.write(2)
    with open(log.path, "r+b") as fh:
        fh.truncate(0)
    log.lose(lost)
    log.write(_size_lines(size) + 6, tag="day2 ")
    t.read()
    assert_read_once(t, log)
    assert any("not found again" in w for w in t.warnings)


@pytest.mark.parametrize("size", SIZES)
def test_inode_reuse_is_not_identity(tmp_path: Path, size: str) -> None:
    """A file deleted and another created in its place (often with the same inode number:
    ext4 and tmpfs hand a freed inode out again) is another file."""
    log = Log(tmp_path / "mail.log", size)
    log.write(_size_lines(size) + 4)
    t = Tailer(log.path)
    t.read()
    old_ino = log.path.stat().st_ino
    log.path.unlink()
    log.write(_size_lines(size) + 8, tag="new file ")
    reused = log.path.stat().st_ino == old_ino
    t.read()
    assert_read_once(t, log), f"inode reused: {reused}"
    assert any("not found again" in w for w in t.warnings)


def test_inode_reuse_by_a_rotated_file(tmp_path: Path) -> None:
    """After a compress step a new `.1` may get the inode of the `.1` just deleted (seen
    with real logrotate): the inode must not make it the file that was read."""
    log = Log(tmp_path / "mail.log", "small")
    log.write(3)
    t = Tailer(log.path)
    t.read()
    log.write(1)
    for _ in range(3):
        shift_numbered(log.path, compress_from=2)
        log.write(2)
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("size", SIZES)
def test_missing_live_file_nocreate(tmp_path: Path, size: str) -> None:
    """Between the rename and the writer's first line there is no live file."""
    log, t = _read_once(tmp_path, size)
    log.write(2)
    rename_create(log.path, tmp_path / "mail.log.1", create=False)
    t.read()                                               # the rest of .1, no crash
    assert_read_once(t, log)
    assert t.read() == []
    log.write(3)                                           # the writer creates it
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_missing_live_file_then_created_and_rotated_again(tmp_path: Path, size: str) -> None:
    """nocreate, read while the log is missing, then the writer creates it and it is
    rotated again before the next read: its lines are in `.1` now."""
    log, t = _read_once(tmp_path, size)
    log.write(2)
    rename_create(log.path, tmp_path / "mail.log.1", create=False)
    t.read()
    pause()
    log.write(3)
    shift_numbered(log.path)                                # .1 -> .2, new -> .1
    log.write(1)
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "delaycompress"])
@pytest.mark.parametrize("size", SIZES)
def test_writer_still_writing_to_the_rotated_file(tmp_path: Path, size: str,
                                                  compress: bool) -> None:
    """syslog keeps writing to the renamed file until its HUP: a read in between finds
    the live file empty, and the lines added to `.1` after it are read next time (also
    after `.1` has become `.2.gz`)."""
    live_path, rotated = tmp_path / "mail.log", tmp_path / "mail.log.1"
    log = Log(live_path, size)
    log.write(_size_lines(size))
    t = Tailer(log.path)
    t.read()
    log.write(1)
    rename_create(live_path, rotated)
    log.path = rotated                                     # the writer's open file
    log.write(1)
    t.read()                                               # .1's rest; the live file is empty
    log.write(2)                                           # still to .1
    log.path = live_path                                   # HUP: reopened by name
    log.write(1)
    if compress:
        shift_numbered(live_path, compress_from=2)
        log.write(1)
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


@pytest.mark.parametrize("size", SIZES)
def test_rotated_to_an_unknown_place(tmp_path: Path, size: str) -> None:
    """`olddir` or a hand-made move: the tail of the old file cannot be found; a warning
    says so, and nothing of the new file is lost."""
    (tmp_path / "archive").mkdir()
    log, t = _read_once(tmp_path, size)
    lost = log.write(2)
    rename_create(log.path, tmp_path / "archive" / "mail.log.1")
    log.lose(lost)
    log.write(3)
    t.read()
    assert_read_once(t, log)
    assert len(t.warnings) == 1 and "not found again" in t.warnings[0]
    log.write(1)
    t.read()
    assert_read_once(t, log)
    assert len(t.warnings) == 1


@pytest.mark.parametrize("size", SIZES)
def test_non_utf8_bytes_offsets_byte_exact(tmp_path: Path, size: str) -> None:
    """pygtail#48: a byte that is not UTF-8 must neither stop reading nor shift offsets."""
    log = Log(tmp_path / "mail.log", size)
    log.write(_size_lines(size))
    log.write(raw=b"Mar  3 10:59:00 mx1 postfix/smtpd[7]: from=<\xd0\xff\xfe@x> \xc3(")
    t = Tailer(log.path)
    t.read()
    log.write(raw=b"Mar  3 10:59:01 mx1 postfix/smtpd[7]: \x80\x81 latin-1 \xe9t\xe9")
    log.write(1)
    with open(log.path, "ab") as fh:
        fh.write(b"Mar  3 10:59:02 \xe2\x82")               # a character cut in half
    t.read()
    assert t.mark is not None and t.mark.offset == log.path.read_bytes().rfind(b"\n") + 1
    with open(log.path, "ab") as fh:
        fh.write(b"\xac euro\n")
    log.written.append(b"Mar  3 10:59:02 \xe2\x82\xac euro")
    log.write(2)
    rename_create(log.path, tmp_path / "mail.log.1")
    gzip_file(tmp_path / "mail.log.1", tmp_path / "mail.log.1.gz")
    log.write(raw=b"\xff\xfe\xfd")
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "delaycompress"])
def test_empty_live_file_at_last_read_then_two_rotations(tmp_path: Path,
                                                         compress: bool) -> None:
    """The weakest mark there is (an empty file: its head matches anything)."""
    log = Log(tmp_path / "mail.log")
    log.path.touch()
    t = Tailer(log.path)
    assert t.read() == []
    assert t.mark is not None and t.mark.head_len == 0
    pause()
    log.write(3)
    shift_numbered(log.path, compress_from=2 if compress else None)
    log.write(14)                                          # the next file is not empty
    shift_numbered(log.path, compress_from=2 if compress else None)
    log.write(2)
    t.read()
    assert_read_once(t, log)


@pytest.mark.parametrize("how", ["create", "copytruncate"])
def test_rotation_while_reading(tmp_path: Path, how: str) -> None:
    """pygtail#71: the log rotated after the plan, while its segments are read. The mark
    is of the file planned (taken when planning), never the new file with the old
    file's offset: the old file's rest and the whole new file are read next time."""
    log = Log(tmp_path / "mail.log")
    log.write(12)
    t = Tailer(log.path)
    t.read()
    log.write(4)
    plan = plan_reads(str(log.path), t.mark)
    for seg in plan.segments:
        t.lines += lines_of(read_segment(seg), seg.final)
    log.write(2)                                            # after the plan, before rotation
    if how == "create":
        rename_create(log.path, tmp_path / "mail.log.1")
    else:
        copytruncate(log.path, tmp_path / "mail.log.1")
    log.write(1)                                            # a new file shorter than the offset
    t.mark = mark_after(str(log.path), plan, t.mark)
    assert t.mark is not None and t.mark.offset > log.path.stat().st_size
    log.write(1)
    t.read()
    log.write(12)                                           # longer than the offset now
    t.read()
    assert_read_once(t, log)
    assert t.warnings == []


def test_rotation_between_plan_and_open(tmp_path: Path) -> None:
    """Rotated (copytruncate) after the plan but before the live segment is read: the
    reader finds the plan stale (still_valid), drops what it read and keeps its mark;
    the next read takes the planned lines from the copy, once."""
    log = Log(tmp_path / "mail.log")
    log.write(12)
    t = Tailer(log.path)
    t.read()
    log.write(4)
    plan = plan_reads(str(log.path), t.mark)
    copytruncate(log.path, tmp_path / "mail.log.1")
    got = [line for seg in plan.segments for line in lines_of(read_segment(seg), seg.final)]
    assert not still_valid(str(log.path), plan)
    assert got == []                               # what was read is dropped, mark kept
    log.write(3)
    t.read()
    assert_read_once(t, log)


def test_a_log_cut_short_in_place_is_read_again_and_says_so(tmp_path: Path) -> None:
    """`sed -i` deleting lines, or a restore of an older copy: the file starts as it did
    but is shorter than what was read. Where its old lines end is not known; it is read
    again from its start (nothing new lost), and the warning says lines may count twice
    (it used to say they were lost, while reading them twice)."""
    log, t = _read_once(tmp_path, "large")
    log.write(10)
    t.read()
    kept = log.path.read_bytes().splitlines(keepends=True)[:8]
    log.path.write_bytes(b"".join(kept))
    new = log.write(2)
    got = t.read()
    assert got == [x.rstrip(b"\n") for x in kept] + new
    assert len(t.warnings) == 1 and "rewritten in place" in t.warnings[0] \
        and "counted twice" in t.warnings[0]
