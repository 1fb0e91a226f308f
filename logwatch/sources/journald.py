"""The systemd journal as a cron-mode source: the entries since the last run's cursor.

`journalctl -o json` is run without a shell (an argv list) on the journal the source's
`journal_args` choose (default: the system's), with its `journal_match` filters (default
`SYSLOG_FACILITY=2`, the mail facility) from the saved cursor (`--cursor`: the entry it
names is dropped from the output, not skipped by journalctl; see below). Its output
goes to a temporary file that the ordinary pipeline parses as `journal_json`, so an entry
is read exactly as `mail-logwatch parse journal.json` reads it; the file lives as long as
the `JournalRead` (the pass), because alert evidence is read back from it. The new cursor
is the `__CURSOR` of the last complete line; the caller saves it with the rest of the pass.

journalctl seeks an unknown but well-formed cursor (its file vacuumed away, or its entry
out of a changed match) to where its entry was, by itself. `--after-cursor` then steps
over two entries whether the cursor's own was there or not (systemd before 255, #30288:
Debian 12's 252 among them), and the first new entry was lost; `--cursor` steps over
none, and the cursor's own entry, when it comes, is left out here. A cursor it cannot
parse (`Failed to seek to cursor`, exit 1) is not a reason to lose everything: the read
starts again just after the time of the last entry read (`--since`), or, with no time
saved, at the start of the journal, with a warning.

A first read (no cursor yet) starts `journal_first` before the journal's newest entry.
The evidence of entries that earlier passes read is found again by cursor
(`entries_at`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from logwatch.durations import format_duration
from logwatch.errors import SourceError
from logwatch.parse.auth_lines import SavedAuth

__all__ = ["JournalMark", "JournalRead", "journal_source_name", "read_journal", "entries_at",
           "JOURNALCTL"]

JOURNALCTL = "journalctl"

#: The fields `logwatch.parse.journal` reads (journalctl adds __CURSOR, __REALTIME_TIMESTAMP,
#: __MONOTONIC_TIMESTAMP and _BOOT_ID to any selection): a fraction of an entry's size.
OUTPUT_FIELDS = ("_SOURCE_REALTIME_TIMESTAMP", "_HOSTNAME", "SYSLOG_IDENTIFIER",
                 "SYSLOG_PID", "_PID", "_COMM", "MESSAGE")

#: How much of the end of the output is searched for the last whole entry at a time.
_TAIL = 1 << 16

#: Entries wanted again (`entries_at`) less than this apart are looked for in one read,
#: which gives up after `_REREAD_LINES` lines; at most `_MAX_REREADS` reads a call.
_CLUSTER_US = 10 * 1_000_000
_REREAD_LINES = 5_000
_MAX_REREADS = 50
#: The longest one such read may take.
_OUTPUT_S = 10.0
_CURSOR_FIELD = re.compile(rb'"__CURSOR"\s*:\s*"([^"]*)"')


@dataclass(frozen=True)
class JournalMark:
    """Where reading a journal stopped: the last entry's cursor and its time (µs since
    the epoch), to go on from if the cursor cannot be used."""

    cursor: str
    realtime_us: int | None = None
    #: Dovecot's auth lines that later lines may still need (parse.auth_lines)
    auth: SavedAuth = field(default_factory=dict)


@dataclass
class JournalRead:
    """The new entries of one pass: journalctl's JSON lines in `path` (None: nothing new),
    and the mark after them (None: nothing new, the old mark stands)."""

    name: str
    path: str | None = None
    mark: JournalMark | None = None
    warnings: list[str] = field(default_factory=list)
    _file: IO[bytes] | None = field(default=None, repr=False)

    def close(self) -> None:
        """Remove the temporary file (also done when the object is collected)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def journal_source_name(args: list[str]) -> str:
    """The source's name in events, evidence and the state: `journald`, with its
    journalctl options after a colon when it has any (`journald:--directory=/x`)."""
    return "journald" + (":" + shlex.join(args) if args else "")


def _argv(journalctl: str, args: list[str], match: list[str], where: list[str]) -> list[str]:
    return [journalctl, "--output=json", "--all", "--no-pager",
            "--output-fields=" + ",".join(OUTPUT_FIELDS), *args, *where, "--", *match]


def _run(name: str, argv: list[str], out: IO[bytes]) -> subprocess.CompletedProcess[bytes]:
    out.seek(0)
    out.truncate()
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.PIPE, check=False)
    except FileNotFoundError:
        raise SourceError(f"{name}: {argv[0]} not found: the journald source needs "
                          "journalctl (Debian package systemd)") from None
    except OSError as exc:
        raise SourceError(f"{name}: cannot run {argv[0]}: {exc.strerror}") from None


def _said(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode("utf-8", "replace").strip()
    return " / ".join(text.splitlines()[-3:]) or f"exit status {proc.returncode}"


def read_journal(args: list[str], match: list[str], mark: JournalMark | None,
                 journalctl: str | None = None, tmp_dir: str | None = None,
                 first_s: int = 0) -> JournalRead:
    """The entries after `mark`; without one, those of the last `first_s` seconds before
    the newest (0: all). Raises `SourceError` when journalctl cannot be run or fails,
    with the source named."""
    name = journal_source_name(args)
    journalctl = journalctl or JOURNALCTL
    got = JournalRead(name)
    out = tempfile.NamedTemporaryFile(prefix="mail-logwatch-journal-", suffix=".json",
                                      dir=tmp_dir)
    got._file = out
    try:
        where = [f"--cursor={mark.cursor}"] if mark else _first_read(
            name, journalctl, args, match, first_s, out, got.warnings)
        proc = _run(name, _argv(journalctl, args, match, where), out)
        if proc.returncode != 0 and mark and "cursor" in _said(proc).lower():
            if mark.realtime_us is not None:
                where = [_since(mark.realtime_us + 1)]
                got.warnings.append(
                    f"{name}: journalctl cannot use the saved cursor ({_said(proc)}): read "
                    "again from just after the time of the last entry read (an entry of "
                    "that same microsecond, or one that arrived late with an older time, "
                    "is missed)")
            else:
                where = []
                got.warnings.append(
                    f"{name}: journalctl cannot use the saved cursor ({_said(proc)}) and no "
                    "time was saved: read again from the start of the journal (entries read "
                    "before are read again)")
            proc = _run(name, _argv(journalctl, args, match, where), out)
        if proc.returncode != 0:
            raise SourceError(f"{name}: journalctl failed: {_said(proc)}")
        if proc.stderr.strip():    # a file ignored as corrupt; not allowed to read it all
            got.warnings.append(f"{name}: journalctl: {_said(proc)}")
        out.flush()
        if mark is not None:
            _drop_first_if(out, mark.cursor)
        last = _last_entry(out)
        if last is not None:
            end, entry = last
            out.truncate(end)      # a line cut short is not an entry (journalctl died)
            got.path = out.name
            got.mark = JournalMark(str(entry["__CURSOR"]), _int(entry.get("__REALTIME_TIMESTAMP")))
            return got
    except BaseException:
        got.close()
        raise
    got.close()
    return got


def _since(us: int) -> str:
    return f"--since=@{us // 1_000_000}.{us % 1_000_000:06d}"


def _first_read(name: str, journalctl: str, args: list[str], match: list[str],
                first_s: int, out: IO[bytes], warnings: list[str]) -> list[str]:
    """Where a first read starts: `first_s` before the newest entry (nothing: at the
    start). A mail server's journal holds months: read whole, a first cron run took
    minutes and told every incident of them, and a follower's first pass held its
    alerts back as long. Timed by the journal's newest entry, not the clock, so that a
    journal copied from elsewhere is read the same."""
    if first_s <= 0:
        return []
    proc = _run(name, _argv(journalctl, args, match, ["--lines=1"]), out)
    last = _last_entry(out) if proc.returncode == 0 else None
    newest = _int(last[1].get("__REALTIME_TIMESTAMP")) if last is not None else None
    if newest is None:
        return []
    start = newest - first_s * 1_000_000
    oldest = _first_time(_argv(journalctl, args, match, []))
    if oldest is not None and oldest < start:
        warnings.append(
            f"{name}: first read: the entries from "
            f"{datetime.fromtimestamp(start / 1e6, timezone.utc):%Y-%m-%dT%H:%M:%SZ} on "
            f"({format_duration(first_s)} before the newest, journal_first), not the "
            "older ones")
    return [_since(start)]


def entries_at(args: list[str], match: list[str], wanted: list[tuple[int, str]],
               journalctl: str | None = None) -> dict[str, bytes]:
    """The lines of the entries `wanted` (their time in µs and cursor each), as
    journalctl writes them (the fields perhaps in another order than when a pass first
    read them): the evidence of an alert that earlier passes' lines make, whose
    temporary files are gone. Entries close in time are looked for in one journalctl
    run from the first of them; after `_MAX_REREADS` runs the rest are not found (the
    oldest go first: an alert shows its first lines), nor is one the journal no longer
    has."""
    journalctl = journalctl or JOURNALCTL
    todo = sorted(set(wanted), reverse=True)
    found: dict[str, bytes] = {}
    runs = 0
    while todo and runs < _MAX_REREADS:
        cluster = [todo.pop()]
        while todo and todo[-1][0] - cluster[-1][0] <= _CLUSTER_US:
            cluster.append(todo.pop())
        runs += 1
        found |= _lines_of(_argv(journalctl, args, match, [f"--cursor={cluster[0][1]}"]),
                           {cursor for _, cursor in cluster})
    return found


@contextmanager
def _output(argv: list[str]) -> Iterator[Iterable[bytes]]:
    """journalctl's output lines as they come; it is stopped once the caller has what it
    wanted, or after `_OUTPUT_S` (a journal on a slow disk must not hold a pass up for
    evidence), and there is none where it cannot be run: the lines are not found."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except OSError:
        yield ()
        return
    assert proc.stdout is not None
    timer = threading.Timer(_OUTPUT_S, proc.kill)
    timer.start()
    try:
        yield proc.stdout
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        proc.stdout.close()


def _lines_of(argv: list[str], cursors: set[str]) -> dict[str, bytes]:
    """The lines of journalctl's output (from a cursor on) that are entries of `cursors`,
    read until all are found or `_REREAD_LINES` were looked at."""
    found: dict[str, bytes] = {}
    with _output(argv) as lines:
        for _, line in zip(range(_REREAD_LINES), lines):
            m = _CURSOR_FIELD.search(line)
            cursor = m.group(1).decode("utf-8", "replace") if m else None
            if cursor in cursors:
                found[cursor] = line.rstrip(b"\n")
                if len(found) == len(cursors):
                    break
    return found


def _first_time(argv: list[str]) -> int | None:
    """The time (µs) of the first entry of journalctl's output."""
    with _output(argv) as lines:
        line = next(iter(lines), None)
    entry = None if line is None else _entry(line.rstrip(b"\n"))
    return None if entry is None else _int(entry.get("__REALTIME_TIMESTAMP"))


def _drop_first_if(fh: IO[bytes], cursor: str) -> None:
    """Leave out the first line when it is the entry of `cursor` (read in the last pass):
    the rest is moved up over it in place."""
    fh.seek(0)
    first = fh.readline()
    entry = _entry(first.rstrip(b"\n"))
    if entry is None or entry["__CURSOR"] != cursor:
        return
    read_at, write_at = len(first), 0
    while True:
        fh.seek(read_at)
        chunk = fh.read(_TAIL)
        if not chunk:
            break
        fh.seek(write_at)
        fh.write(chunk)
        read_at += len(chunk)
        write_at += len(chunk)
    fh.truncate(write_at)
    fh.flush()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _last_entry(fh: IO[bytes]) -> tuple[int, dict[str, Any]] | None:
    """The end of the last whole line that is an entry with a cursor, and that entry."""
    end = os.fstat(fh.fileno()).st_size
    pos, buf = end, b""
    while True:
        cut = buf.rfind(b"\n")
        while cut >= 0:                              # whole lines in buf, last first
            start = buf.rfind(b"\n", 0, cut) + 1
            if start == 0 and pos > 0:
                break                                # its start is further back
            entry = _entry(buf[start:cut])
            if entry is not None:
                return pos + cut + 1, entry
            buf, cut = buf[:start], start - 1
        if pos == 0:
            return None
        n = min(_TAIL, pos)
        pos -= n
        fh.seek(pos)
        buf = fh.read(n) + buf


def _entry(line: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("__CURSOR"), str) else None
