"""Syslog's and the MTAs' own alterations of the log, undone so nothing is counted wrongly.

- rsyslog's repeated-message reduction writes `message repeated 3 times: [ <text>]` under
  the original tag: three more occurrences of <text>.
- sysklogd and busybox write `last message repeated 3 times` with no tag: three more
  occurrences of the line before it.
- Exim sends an entry that goes to its reject log too to syslog twice
  (`syslog_duplication`): the second, identical line is dropped and counted.
- Exim splits a long entry it sends to syslog into pieces `[1/3] ...`, `[2/3] ...`
  (`[n\\m]` where it split at a newline); Sendmail's sm_syslog splits a long message into
  `QID[1]: ... ...`, `QID[2]: ...`.
Repeats become the rows they stand for, marked `repeated` and sharing the summary line's
offset (ten SASL failures summarised as one line are ten failures to the rules). Split
pieces are joined into the first piece's row, marked `joined`; the other pieces are
counted as joined lines. Only the few lines concerned are handled in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.header import Header
from logwatch.schema import LINE_NOTES

__all__ = ["QuirkState", "Rewrite", "rewrite_block", "open_split_at", "MAX_REPEAT",
           "SPLIT_LOOKBACK"]

#: How far from the end of a block split pieces are looked for (a split entry's pieces
#: are written together: they are never far apart).
SPLIT_LOOKBACK = 1000

#: A summary claiming more repeats than this is hostile or corrupt; it is capped.
MAX_REPEAT = 100_000
#: Rows the summaries of one block may stand for in all: anyone who can write to syslog
#: (`logger`) made 20 lines of 3.6 KB into 2M rows and 1.9 GB; what is over is capped.
MAX_REPEATED_ROWS = 100_000

_RSYSLOG = re.compile(r"^message repeated (\d+) times: \[ ?(.*)\]$", re.S)
_SYSKLOGD = re.compile(r"^last message repeated (\d+) times?$")
_EXIM_PIECE = re.compile(r"^\[(\d{1,3})([/\\])(\d{1,3})\] ")
_SENDMAIL_PIECE = re.compile(r"^([0-9A-Za-z]{6,20})\[(\d{1,3})\]: ")
_REPEATED = LINE_NOTES.index("repeated")
_JOINED = LINE_NOTES.index("joined")
_TRUNCATED = LINE_NOTES.index("truncated")


@dataclass
class QuirkState:
    """The last line of the previous block, which a `last message repeated` may repeat."""

    last_row: dict[str, object] | None = None
    capped: int = 0
    doubles: int = 0


@dataclass
class Rewrite:
    """The block's rows after the rewrite.

    `rows`: the line each output row sits at (its time, offset and seq); `content`: the
    line whose program, host and pid it carries (-1: the previous block's last line,
    `carried`); `text`: output row -> message, where it is not the line's own; `note`:
    a LINE_NOTES code per output row (-1: none); `joined_lines`: lines folded into
    another row.
    """

    rows: np.ndarray
    content: np.ndarray
    text: dict[int, str]
    note: np.ndarray
    joined_lines: int
    carried: dict[str, object] | None = field(default=None)


def _candidates(mask: pa.Array, ok: np.ndarray) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False) & ok)


def _joined_text(run: list[tuple[int, int, int, str, bool]], rx: re.Pattern[str]) -> str:
    """The text of a complete run of pieces, as the patterns read it.

    An Exim entry is read up to its first newline: what follows are the header lines it
    adds to a reject-log entry, context written by the sender, which must never reach
    the patterns (a Subject can look like any log line).
    """
    parts: list[str] = []
    for _, _, _, body, ends_line in run:
        parts.append(body[:-4] if body.endswith(" ...") and rx is _SENDMAIL_PIECE else body)
        if ends_line:
            break
    return "".join(parts)


def _join_pieces(rows: list[int], texts: list[str], keys: list[object], rx: re.Pattern[str],
                 piece: dict[int, tuple[int, str]], dropped: set[int],
                 partial: dict[int, str]) -> None:
    """Group split pieces by key in order and join each complete run into its first row.

    Pieces of a run that never completes (its other parts are in another block, or were
    lost) are kept as they are, under their queue id, in `partial`.
    """
    open_runs: dict[object, list[tuple[int, int, int, str, bool]]] = {}
    for row, text, key in zip(rows, texts, keys):
        m = rx.match(text)
        if not m:
            continue
        if rx is _EXIM_PIECE:
            n, total, body = int(m.group(1)), int(m.group(3)), text[m.end():]
            # `[n\m]`: this piece ended where the entry had a newline
            ends_line = m.group(2) == "\\"
        else:
            n, total, body = int(m.group(2)), 0, text[m.end():]
            ends_line = False
            key = (key, m.group(1))
            body = f"{m.group(1)}: {body}" if n == 1 else body
        run = open_runs.get(key)
        if n == 1 or run is None or run[-1][0] != n - 1:
            run = open_runs[key] = []
        run.append((n, row, total, body, ends_line))
        finished = (total and n == total) or (not total and not body.endswith(" ..."))
        if finished and len(run) > 1:
            first = run[0][1]
            piece[first] = (len(run), _joined_text(run, rx))
            dropped.update(r for _, r, _, _, _ in run[1:])
            del open_runs[key]
    for key, run in open_runs.items():
        for n, row, _, body, _ in run:
            text = body
            if rx is _SENDMAIL_PIECE and n > 1:
                text = f"{key[1]}: {text.lstrip()}"  # type: ignore[index]
            partial[row] = text


def open_split_at(header: Header, heads: pa.Array, tag: pa.Array, ok: np.ndarray) -> int | None:
    """The first row of a split entry whose remaining pieces may be in the next block.

    Called on the last SPLIT_LOOKBACK rows of a block; the block is cut there and the
    rows from it on are read with the next block, so that the pieces meet.
    """
    tags = tag.to_pylist()
    first: int | None = None
    for cand, rx in ((_candidates(pc.starts_with(heads, "["), ok), _EXIM_PIECE),
                     (_candidates(pc.match_substring(heads, "]: "), ok), _SENDMAIL_PIECE)):
        if not len(cand):
            continue
        partial: dict[int, str] = {}
        _join_pieces(cand.tolist(), header.messages(cand).to_pylist(),
                     [tags[r] for r in cand.tolist()], rx, {}, set(), partial)
        if partial:
            low = min(partial)
            first = low if first is None else min(first, low)
    return first


def _syslog_doubles(header: Header, tag: pa.Array, ok: np.ndarray,
                    eligible: np.ndarray) -> np.ndarray:
    """Rows that repeat the line before them word for word, from the same process.

    Exim sends an entry that goes to both its main and its reject log to syslog twice
    (`syslog_duplication`, on by default): the second copy is the same event.
    """
    rows = np.flatnonzero(eligible[1:] & eligible[:-1] & ok[1:] & ok[:-1]) + 1
    if not len(rows):
        return rows
    same_tag = pc.equal(pc.take(tag, pa.array(rows)), pc.take(tag, pa.array(rows - 1)))
    same = pc.and_(same_tag, pc.equal(header.messages(rows), header.messages(rows - 1)))
    return rows[pc.fill_null(same, False).to_numpy(zero_copy_only=False)]


def rewrite_block(header: Header, heads: pa.Array, program: pa.Array, tag: pa.Array,
                  ok: np.ndarray, state: QuirkState, last_fields: dict[str, pa.Array],
                  max_message: np.ndarray | None = None,
                  doubled: np.ndarray | None = None) -> Rewrite | None:
    """Undo repeats, splits and syslog doubles in a block; None when it has none (the
    usual case).

    `heads` are the first bytes of each message; `last_fields` the line-level columns
    remembered for a repeat summary at the top of the next block; `max_message` a
    per-line length at which a message counts as cut by a syslog limit; `doubled` the
    rows of an MTA that logs some entries to syslog twice.
    """
    n = len(heads)
    carried = state.last_row
    if n:
        state.last_row = {k: v[n - 1].as_py() for k, v in last_fields.items()}
        state.last_row["msg"] = header.messages(np.array([n - 1]))[0].as_py()
    repeat_c = _candidates(pc.or_(
        pc.starts_with(heads, "message repeated "),
        pc.and_(pc.starts_with(heads, "last message repeated "), pc.is_null(program))), ok)
    exim_c = _candidates(pc.starts_with(heads, "["), ok)
    sm_c = _candidates(pc.match_substring(heads, "]: "), ok)
    truncated = np.zeros(n, bool)
    if max_message is not None:
        lengths = pc.binary_length(header.lines).to_numpy(zero_copy_only=False) - \
            header.msg_start
        truncated = ok & (lengths >= max_message) & (max_message > 0)
    doubles = _syslog_doubles(header, tag, ok, doubled) if doubled is not None and \
        doubled.any() else np.empty(0, np.int64)
    if not (len(repeat_c) or len(exim_c) or len(sm_c) or truncated.any() or len(doubles)):
        return None
    counts = np.ones(n, np.int64)
    counts[doubles] = 0
    content = np.arange(n)
    line_text: dict[int, str] = {}
    note = np.where(truncated, _TRUNCATED, -1)
    piece: dict[int, tuple[int, str]] = {}
    dropped: set[int] = set()
    partial: dict[int, str] = {}
    tags = tag.to_pylist()
    for cand, rx in ((exim_c, _EXIM_PIECE), (sm_c, _SENDMAIL_PIECE)):
        if len(cand):
            texts = header.messages(cand).to_pylist()
            _join_pieces(cand.tolist(), texts, [tags[r] for r in cand.tolist()], rx, piece,
                         dropped, partial)
    for row, (_, text) in piece.items():
        line_text[row] = text
        note[row] = _JOINED
    for row, text in partial.items():
        line_text[row] = text
        note[row] = _TRUNCATED
    for row in dropped:
        counts[row] = 0
    texts = header.messages(repeat_c).to_pylist() if len(repeat_c) else []
    budget = MAX_REPEATED_ROWS
    for row, text in zip(repeat_c.tolist(), texts):  # summaries only: a handful
        m = _RSYSLOG.match(text)
        if m:
            times, line_text[row] = int(m.group(1)), m.group(2)
        else:
            m2 = _SYSKLOGD.match(text)
            if not m2 or (row == 0 and carried is None):
                continue
            times = int(m2.group(1))
            # the line before, or what it stood for when it was a summary itself
            content[row] = content[row - 1] if row > 0 else -1
            previous = line_text.get(row - 1) if row > 0 else None
            line_text[row] = previous if previous is not None else (
                header.messages(np.array([row - 1]))[0].as_py() if row > 0
                else str(carried.get("msg") if carried else ""))
        allowed = max(min(MAX_REPEAT, budget), 1)
        if times > allowed:
            state.capped += 1
            times = allowed
        budget -= times
        counts[row] = max(times, 1)
        note[row] = _REPEATED
    if not line_text and (counts == 1).all() and not truncated.any():
        return None  # candidates that turned out to be ordinary lines
    state.doubles += len(doubles)
    rows = np.repeat(np.arange(n), counts)
    out_of_line = np.concatenate(([0], np.cumsum(counts)[:-1]))
    text: dict[int, str] = {}
    for row, t in line_text.items():
        for k in range(int(counts[row])):
            text[int(out_of_line[row]) + k] = t
    return Rewrite(rows, content[rows], text, note[rows], len(dropped), carried)
