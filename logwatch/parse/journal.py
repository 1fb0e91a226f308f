"""systemd-journald's JSON export (`journalctl -o json`) as header fields.

Debian 12 has no /var/log/mail.log unless rsyslog is installed: the journal is the log.
Each line is one JSON object; the fields we need are the time (the sender's own
`_SOURCE_REALTIME_TIMESTAMP` when journald recorded it, else `__REALTIME_TIMESTAMP`),
`_HOSTNAME`, `SYSLOG_IDENTIFIER`, `SYSLOG_PID` (or `_PID`), `MESSAGE` and `__CURSOR`.
Arrow's JSON reader does the work; journald writes a MESSAGE that is not valid UTF-8 as
an array of byte values, which Arrow cannot type as a string, so a block holding one is
read line by line in Python instead (decoded with replacement, like any other input).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from logwatch.parse.header import KIND_UTC, Header

__all__ = ["journal_header"]

_FIELDS = ("__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP", "_HOSTNAME",
           "SYSLOG_IDENTIFIER", "SYSLOG_PID", "_PID", "_COMM", "MESSAGE", "__CURSOR")
_SCHEMA = pa.schema([(f, pa.string()) for f in _FIELDS])
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # bytes that were not UTF-8, or a repeated field
        if value and all(isinstance(v, int) for v in value):
            return bytes(v & 0xFF for v in value).decode("utf-8", errors="replace")
        return _text(value[0]) if value else None
    return _encodable(str(value))


def _encodable(text: str) -> str:
    """`text` as UTF-8 holds it: a JSON escape of a lone surrogate (`"\\ud800"`), which
    journalctl never writes but a file given as its output can hold, stopped the run;
    it is U+FFFD, as bytes that are not UTF-8 are."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _not_utf8(value: Any) -> bool:
    """A MESSAGE journald gave as bytes that are not UTF-8, or with a lone surrogate
    (read with replacement, as a file's line is, and marked as one is)."""
    if isinstance(value, str):
        return _encodable(value) is not value
    if not (isinstance(value, list) and value and all(isinstance(v, int) for v in value)):
        return False
    try:
        bytes(v & 0xFF for v in value).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _read_python(lines: pa.Array) -> tuple[pa.Table, np.ndarray]:
    cols: dict[str, list[str | None]] = {f: [] for f in _FIELDS}
    repaired = np.zeros(len(lines), bool)
    for i, raw in enumerate(lines.to_pylist()):
        try:
            obj = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            obj = {}
        if not isinstance(obj, dict):
            obj = {}
        for f in _FIELDS:
            cols[f].append(_text(obj.get(f)))
        repaired[i] = _not_utf8(obj.get("MESSAGE"))
    return pa.table(cols, schema=_SCHEMA), repaired


def _read(lines: pa.Array) -> tuple[pa.Table, np.ndarray]:
    """The entries' fields, and which MESSAGEs were not UTF-8."""
    one = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines.fill_null("{}"))
    blob = pc.binary_join(one, "\n")[0].as_buffer()
    try:
        table = pajson.read_json(pa.BufferReader(blob), parse_options=pajson.ParseOptions(
            explicit_schema=_SCHEMA, unexpected_field_behavior="ignore"),
            read_options=pajson.ReadOptions(block_size=max(1 << 20, len(blob) + 1)))
    except pa.ArrowInvalid:    # a MESSAGE given as bytes among them, among others
        return _read_python(lines)
    if table.num_rows != len(lines):  # a blank or broken line shifted rows
        return _read_python(lines)
    return table, np.zeros(len(lines), bool)


def journal_header(lines: pa.Array) -> tuple[Header, np.ndarray, pa.Array, np.ndarray]:
    """Header fields of a block of journal JSON lines; also the cursor column, and which
    messages were not UTF-8."""
    t, repaired = _read(lines)
    ts = pc.coalesce(t.column("_SOURCE_REALTIME_TIMESTAMP"), t.column("__REALTIME_TIMESTAMP"))
    us = _to_int(ts)
    msg = pc.fill_null(t.column("MESSAGE").combine_chunks(), "")
    h = Header.empty(msg)
    ok = pc.is_valid(us).to_numpy(zero_copy_only=False) & \
        pc.is_valid(t.column("MESSAGE")).to_numpy(zero_copy_only=False)
    h.kind[ok] = KIND_UTC
    h.utc_us[:] = us.fill_null(0).to_numpy(zero_copy_only=False)
    ident = pc.coalesce(t.column("SYSLOG_IDENTIFIER"), t.column("_COMM")).combine_chunks()
    pid = pc.coalesce(t.column("SYSLOG_PID"), t.column("_PID")).combine_chunks()
    h.tag = pc.if_else(pc.is_valid(pid), pc.binary_join_element_wise(ident, "[", pid, "]", ""),
                       ident)
    h.host = t.column("_HOSTNAME").combine_chunks()
    return h, ok, t.column("__CURSOR").combine_chunks(), repaired


def _to_int(arr: pa.ChunkedArray) -> pa.Array:
    """Decimal strings to int64, null where not a number."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    good = pc.match_substring_regex(arr, r"^\d{1,19}$")
    cleaned = pc.if_else(good, arr, pa.scalar(None, pa.string()))
    return cleaned.cast(pa.int64())
