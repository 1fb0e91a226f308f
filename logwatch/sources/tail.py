"""Where to go on reading a log since the last time: through any rotation, losing nothing.

What is remembered of a file (`Mark`) is where reading stopped and what the file looked
like: a hash of its first bytes (its identity, which survives rename, `gzip` and
copytruncate's copy, where an inode does not: gzip writes a new inode, and inodes are
reused within minutes) and a hash of the bytes just before the offset (which tells a
file rewritten in place, Plesk's copy-then-clear, from one that only grew: pygtail#65).

`plan_reads` finds the file that was being read, wherever rotation put it (`mail.log`,
`mail.log.1`, `mail.log.1.gz`, `mail.log.2.gz` after two rotations, `mail.log-20261129`),
and returns its unread rest, every file rotated after it, and the live file, in order.
A live file is read up to its last complete line; the rest of a line being written is
read next time. A rotated file is complete: its last line is read even without a newline.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from logwatch.errors import SourceError
from logwatch.parse.auth_lines import SavedAuth
from logwatch.sources.opener import READ_ERRORS, open_source, positioned
from logwatch.sources.rotation import rotation_key, rotation_order

__all__ = ["Mark", "Segment", "plan_reads", "mark_after", "still_valid", "unreadable",
           "absent", "read_at", "HEAD_BYTES"]

#: The identity of a file is the hash of its first bytes (fewer while it is shorter).
HEAD_BYTES = 1024
#: The bytes before the offset that must be unchanged for a file to have only grown.
PROBE_BYTES = 256
#: How far back a live file's last newline is looked for (a longer line waits).
LAST_LINE_SEARCH = 1 << 20


@dataclass(frozen=True)
class Mark:
    """Where reading of one log stopped, and how to recognise the file again."""

    path: str
    offset: int
    head_len: int
    head: str
    probe: str
    dev: int
    ino: int
    seen_at: float
    #: the last line's fields, for a `last message repeated` at the top of the next read
    carry: dict[str, object] | None = None
    #: the newest instant read (µs; 0: none): the next read's clock starts there
    read_up_to_us: int = 0
    #: Dovecot's auth lines that later lines may still need (parse.auth_lines)
    auth: SavedAuth = field(default_factory=dict)

    @property
    def weak(self) -> bool:
        """The head is all the file had (every line read is in it, so it still identifies
        the file; an inode would not: gzip and copytruncate's copy change it, and a freed
        one is reused); an empty head identifies nothing (see `plan_reads`)."""
        return self.head_len < HEAD_BYTES


@dataclass(frozen=True)
class Segment:
    """Bytes `start`..`end` of `path` (end None: to its end, last line included)."""

    path: str
    start: int
    end: int | None

    @property
    def final(self) -> bool:
        return self.end is None


@dataclass
class Plan:
    segments: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the mark of the live file's last segment, taken when planning: a rotation while
    #: the segments are read must not give the mark of the file that replaced it
    live_mark: Mark | None = None


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_at(path: str, start: int, n: int) -> bytes | None:
    """Content bytes start..start+n (decompressed); None if the file cannot be read."""
    try:
        opened = open_source(path)
    except SourceError:
        return None
    try:
        stream = positioned(opened, start)
        out = b""
        while len(out) < n:
            got = stream.read(n - len(out))
            if not got:
                break
            out += got
        return out
    except READ_ERRORS:
        return None
    finally:
        opened.close()


def _same_start(path: str, mark: Mark) -> bool:
    """Whether `path` begins as the file `mark` was taken of did."""
    head = read_at(path, 0, mark.head_len)
    return head is not None and len(head) == mark.head_len and _hash(head) == mark.head


def _matches(path: str, mark: Mark) -> bool:
    """Whether `path` is the file `mark` was taken of, with everything before the offset
    as it was."""
    if not _same_start(path, mark):
        return False
    if mark.offset:
        start = max(0, mark.offset - PROBE_BYTES)
        probe = read_at(path, start, mark.offset - start)
        if probe is None or len(probe) < mark.offset - start or _hash(probe) != mark.probe:
            return False
    return True


def rotated_names(path: str) -> list[str]:
    """Files beside `path` that rotation could have made of it, oldest first."""
    p = Path(path)
    try:
        names = [str(q) for q in p.parent.iterdir()
                 if q.name != p.name and q.name.startswith(p.name) and q.is_file()]
    except OSError:
        return []
    mine = [n for n in names if rotation_key(n)[0] == str(p)]
    return [n for n in rotation_order(mine) if n != path]


def _live_end(path: str, start: int) -> int:
    """The offset just after the last complete line at or after `start` (start: none)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return start
    if size <= start:
        return start
    look = max(start, size - LAST_LINE_SEARCH)
    tail = read_at(path, look, size - look) or b""
    cut = tail.rfind(b"\n")
    return look + cut + 1 if cut >= 0 else start


def _live(path: str, start: int) -> list[Segment]:
    end = _live_end(path, start)
    return [Segment(path, start, end)] if end > start else []


def _mtime(path: str) -> float:
    """A listed rotation's time; one logrotate deleted since it was listed: none."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def unreadable(path: str) -> str | None:
    """Why a configured log can be no log at all: it is a directory."""
    return f"{path}: a directory, not a log file" if os.path.isdir(path) else None


def absent(path: str) -> str | None:
    """Why a configured log reads nothing at all: neither it nor a rotation of it is
    there. Said, not refused: a log not written yet, or rotated to another directory
    (logrotate's olddir), is no error, but a misspelt path would read nothing, each
    run, in silence."""
    if os.path.exists(path) or rotated_names(path):
        return None
    return f"{path}: no such file, nor rotations of it beside it: nothing read"


def plan_reads(path: str, mark: Mark | None, from_end: bool = False) -> Plan:
    """What to read of `path` (and of its rotations) since `mark`, in order.

    With no mark, the live file from its start (or, `from_end`, nothing: the next run
    starts where the file ends now).
    """
    plan = _plan(path, mark, from_end)
    live = [s for s in plan.segments if s.path == path]
    if live:
        plan.live_mark = _mark_of(path, live[-1].end or 0)
    return plan


def _plan(path: str, mark: Mark | None, from_end: bool) -> Plan:
    plan = Plan()
    live = os.path.exists(path)
    plan.warnings += [w for w in [absent(path)] if w]
    if mark is None:
        if live and not from_end:
            plan.segments = _live(path, 0)
        elif live:
            end = _live_end(path, 0)
            plan.segments = [Segment(path, end, end)]
        return plan
    if mark.head_len == 0:
        # the file was empty (or missing): nothing read, nothing to know it by (its inode
        # may be another file's by now): every file written since, then the live one
        plan.segments = [Segment(r, 0, None) for r in rotated_names(path)
                         if _mtime(r) > mark.seen_at]
        if live:
            plan.segments += _live(path, 0)
        return plan
    if live and _matches(path, mark):
        plan.segments = _live(path, mark.offset)
        return plan
    rotated = rotated_names(path)
    found = next((i for i in range(len(rotated) - 1, -1, -1)
                  if _matches(rotated[i], mark)), None)
    if found is None and live and _same_start(path, mark):
        # edited in place (`sed -i`, a restore): where the old lines end in it is not
        # known, and losing the new ones is worse than telling some twice
        plan.warnings.append(
            f"{path}: rewritten in place since byte {mark.offset} was read (it starts as "
            "it did, the rest differs): read again from its start, so lines read before "
            "may be counted twice")
    elif found is None:
        plan.warnings.append(
            f"{path}: the file read up to byte {mark.offset} was not found again (rotated "
            "elsewhere, or rewritten): its lines after that are lost; reading on from "
            "the files rotated since")
    if found is None:
        newer = [r for r in rotated if _mtime(r) > mark.seen_at]
        plan.segments = [Segment(r, 0, None) for r in newer]
    else:
        plan.segments = [Segment(rotated[found], mark.offset, None)]
        plan.segments += [Segment(r, 0, None) for r in rotated[found + 1:]]
    if live:
        plan.segments += _live(path, 0)
    return plan


def still_valid(path: str, plan: Plan) -> bool:
    """Whether the live file still holds what the plan was made of (its bytes up to the
    planned end unchanged). After reading, a false means a rotation or a truncation came
    between the plan and the read: what was read may not be what was planned, so it is
    dropped and read again, from wherever the rotation put it, next time."""
    if plan.live_mark is None:
        return True
    return _matches(path, plan.live_mark)


def mark_after(path: str, plan: Plan, mark: Mark | None, held_from: int | None = None) -> Mark:
    """The mark once `plan` has been read: at the last byte read. That is the end of the
    live file's last segment (as planned), or, when only rotated files were read (the
    live one empty, half a line or missing), the end of the last of them, so that what
    its writer still adds (syslog until its HUP) is read next time. With nothing read,
    the live file's start (or, when there is none, "whatever is written from now on").
    `held_from`: the live file's lines from there on were left for the next read (a
    split entry not yet whole), which starts there."""
    live_segments = [s for s in plan.segments if s.path == path]
    if live_segments and held_from is not None:
        held = _mark_of(path, held_from)
        if held is not None:
            return held
    if live_segments and plan.live_mark is not None:
        return plan.live_mark
    if live_segments:
        return _mark_of(path, live_segments[-1].end or 0) or _nothing(path)
    if plan.segments:
        return _mark_at_end(plan.segments[-1].path) or _mark_of(path, 0) or _nothing(path)
    if mark is not None and os.path.exists(path):
        return mark
    return _mark_of(path, 0) or _nothing(path)


def _nothing(path: str) -> Mark:
    """No file to remember (the log is missing): the files written after now are new."""
    return Mark(path, 0, 0, _hash(b""), _hash(b""), 0, 0, time.time())


def _mark_at_end(name: str) -> Mark | None:
    """The mark of a (rotated, maybe compressed) file read to its end."""
    try:
        st = os.stat(name)
        opened = open_source(name)
    except (OSError, SourceError):
        return None
    head, tail, size = b"", b"", 0
    try:
        while chunk := opened.stream.read(1 << 20):
            head += chunk[:HEAD_BYTES - len(head)]
            tail = (tail + chunk[-PROBE_BYTES:])[-PROBE_BYTES:]
            size += len(chunk)
    except READ_ERRORS:
        return None
    finally:
        opened.close()
    return Mark(name, size, len(head), _hash(head), _hash(tail), st.st_dev, st.st_ino,
                time.time())


def _mark_of(path: str, offset: int) -> Mark | None:
    """The mark of the file at `path` read up to `offset`; None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    head = read_at(path, 0, HEAD_BYTES) or b""
    start = max(0, offset - PROBE_BYTES)
    probe = read_at(path, start, offset - start) or b""
    return Mark(path, offset, len(head), _hash(head), _hash(probe), st.st_dev, st.st_ino,
                time.time())
