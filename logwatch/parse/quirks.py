"""Syslog's own alterations of the log, undone so that nothing is counted once or twice wrongly.

- rsyslog's repeated-message reduction writes `message repeated 3 times: [ <text>]` under
  the original tag: three more occurrences of <text>.
- sysklogd and busybox write `last message repeated 3 times` with no tag: three more
  occurrences of the line before it.
Both become the rows they stand for, marked `repeated`, sharing the summary line's
offset. Ten SASL failures summarised as one line are ten failures to the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.header import Header

__all__ = ["QuirkState", "Expansion", "expand_repeats", "MAX_REPEAT"]

#: A summary claiming more repeats than this is hostile or corrupt; it is capped.
MAX_REPEAT = 100_000

_RSYSLOG = re.compile(r"^message repeated (\d+) times: \[ ?(.*)\]$", re.S)
_SYSKLOGD = re.compile(r"^last message repeated (\d+) times?$")


@dataclass
class QuirkState:
    """The last line of the previous block, which a `last message repeated` may repeat."""

    last_row: dict[str, object] | None = None
    capped: int = 0


@dataclass
class Expansion:
    """Rows after expansion.

    `rows`: the line each output row sits at (time, offset, seq come from there);
    `content`: the line whose program and message it carries (-1: the previous block's
    last line, kept in the state); `msg`: the message of each output row; `repeated`:
    rows that stand for a repeat.
    """

    rows: np.ndarray
    content: np.ndarray
    msg: pa.Array
    repeated: np.ndarray
    carried: dict[str, object] | None = field(default=None)


def expand_repeats(heads: pa.Array, program: pa.Array, ok: np.ndarray,
                   state: QuirkState, last_fields: dict[str, pa.Array],
                   header: Header) -> Expansion | None:
    """Expand the repeat summaries of a block, or return None when it has none.

    `heads` are the first bytes of each message (enough to recognise a summary);
    `last_fields` the line-level columns whose last row is remembered for the next block
    (a summary at the top of a block repeats the previous block's last line).
    """
    n = len(heads)
    carried = state.last_row
    if n:
        state.last_row = {k: v[n - 1].as_py() for k, v in last_fields.items()}
        state.last_row["msg"] = header.messages(np.array([n - 1]))[0].as_py()
    cand_r = pc.starts_with(heads, "message repeated ")
    cand_s = pc.and_(pc.starts_with(heads, "last message repeated "), pc.is_null(program))
    cand = np.flatnonzero(pc.fill_null(pc.or_(cand_r, cand_s), False).to_numpy(
        zero_copy_only=False) & ok)
    if not len(cand):
        return None
    counts = np.ones(n, np.int64)
    content = np.arange(n)
    inner: dict[int, str] = {}
    texts = header.messages(cand).to_pylist()
    for row, text in zip(cand.tolist(), texts):  # summaries only: a handful per block
        m = _RSYSLOG.match(text)
        if m:
            times, inner[row] = int(m.group(1)), m.group(2)
        else:
            m2 = _SYSKLOGD.match(text)
            if not m2:
                continue
            times = int(m2.group(1))
            content[row] = row - 1 if row > 0 else -1
            if content[row] == -1 and carried is None:
                continue
        if times > MAX_REPEAT:
            state.capped += 1
            times = MAX_REPEAT
        counts[row] = max(times, 1)
    if (counts == 1).all() and not inner:
        return None
    rows = np.repeat(np.arange(n), counts)
    repeated = np.repeat(counts > 1, counts) | np.isin(rows, list(inner))
    content_rows = content[rows]
    base = header.messages(np.where(content_rows >= 0, content_rows, 0))
    if inner or (content_rows == -1).any():
        fix = np.flatnonzero(np.isin(rows, list(inner)) | (content_rows == -1))
        values = [inner[r] if r in inner else str(carried.get("msg") if carried else "")
                  for r in rows[fix].tolist()]
        mask = np.zeros(len(rows), bool)
        mask[fix] = True
        base = pc.replace_with_mask(base, pa.array(mask), pa.array(values, pa.string()))
    return Expansion(rows, content_rows, base, repeated, carried)
