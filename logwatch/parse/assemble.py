"""Build the events table of a block from line-level columns and the patterns' pieces.

A line normally gives one row; a `split` pattern (Sendmail's `to=<a>,<b>`) gives one row
per value, all sharing the line's source and offset. Every column is assembled with one
`take` over the concatenated pieces, then typed and normalised (see `fields`).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.definitions import SERVICE, ParserSet, program_service
from logwatch.parse.engine import Extraction, Piece
from logwatch.parse.slicing import value_offsets
from logwatch.parse.fields import (auth_counts, classify_rejects, empty_to_null, duration_seconds,
                                   lower, map_status, normalize_ip, numbers, strip_brackets)
from logwatch.schema import EVENT_SCHEMA, EVENTS, FIELD_TYPES

__all__ = ["assemble_events", "pattern_names", "scatter"]

_ADDRESSES = ("sender", "recipient", "orig_recipient")
_IPS = ("client_ip", "relay_ip")
_EVENT_CODE = {e: i for i, e in enumerate(EVENTS)}
_NULL = pa.scalar(None, pa.string())


def pattern_names(parsers: ParserSet) -> list[str]:
    """The `pattern` column's dictionary: `<mta>:<id>` of every pattern, in file order."""
    return [f"{pf.mta.name}:{p.id}" for pf in parsers.files for p in pf.pattern]


def _dict(codes: np.ndarray, values: list[str], valid: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(codes.astype(np.int32), mask=None if valid is None else ~valid)
    return pa.DictionaryArray.from_arrays(idx, pa.array(values, pa.string()))


def scatter(total: int, parts: list[tuple[np.ndarray, pa.Array]], typ: pa.DataType) -> pa.Array:
    """A column of `total` rows: parts' values at their positions, null elsewhere.

    Most columns are sparse (a delay only on delivery rows): the values are put in row
    order with one gather over themselves, and the column's buffers are laid out around
    them with NumPy, instead of a gather over every row of the block.
    """
    if not parts:
        return pa.nulls(total, typ)
    values = pa.concat_arrays([a.cast(typ) if a.type != typ else a for _, a in parts])
    positions = np.concatenate([p for p, _ in parts])
    order = np.argsort(positions, kind="stable")
    where = positions[order]
    vals = pc.take(values, pa.array(order))
    present = vals.is_valid().to_numpy(zero_copy_only=False)
    valid = np.zeros(total, bool)
    valid[where] = present
    mask_buf = pa.array(valid).buffers()[1]
    if pa.types.is_string(typ):
        lengths = np.zeros(total, np.int64)
        lengths[where] = pc.fill_null(pc.binary_length(vals), 0).to_numpy(zero_copy_only=False)
        offsets = np.zeros(total + 1, np.int32)
        np.cumsum(lengths, out=offsets[1:])
        data = vals.buffers()[2] or pa.py_buffer(b"")
        data = data.slice(int(value_offsets(vals)[0]))  # the values' bytes, from the first
        return pa.Array.from_buffers(pa.string(), total, [mask_buf, pa.py_buffer(offsets), data])
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        np_type = typ.to_pandas_dtype()
        out = np.zeros(total, np_type)
        out[where] = pc.fill_null(vals, pa.scalar(0, typ) if not pa.types.is_boolean(typ)
                                  else False).to_numpy(zero_copy_only=False)
        return pa.array(out, typ, mask=~valid)
    inverse = np.full(total, -1, dtype=np.int64)
    inverse[positions] = np.arange(len(positions))
    return pc.take(values, pa.array(inverse, mask=inverse < 0))


def _none(captured: pa.Array) -> pa.Array:
    """Which rows captured nothing (a group that took no part reads "" or null)."""
    return pc.fill_null(pc.equal(captured, ""), True)


def _imply(fields: dict[str, pa.Array], marked: pa.Array,
           implied: dict[str, str | int | float]) -> None:
    """Give the `marked` rows the `implied` values of the fields they captured none of
    (as text, like a capture, so that they are typed and checked alike)."""
    for name, value in implied.items():
        own = fields.get(name, pa.nulls(len(marked), pa.string()))
        fields[name] = pc.if_else(pc.and_(marked, _none(own)), pa.scalar(str(value)), own)


def _services(programs: pa.Array) -> pa.Array:
    """Each row's `program_service`, decided once per distinct program name."""
    enc = pc.dictionary_encode(programs)
    named = [None if p is None else program_service(p) for p in enc.dictionary.to_pylist()]
    return pc.take(pa.array(named, pa.string()), enc.indices)


def _fill(piece: Piece, fields: dict[str, pa.Array], programs: pa.Array) -> None:
    """The pattern's fills (FillSpec), on the captures as text: each gives the rows
    that captured no value of its field the value of its source."""
    n = len(piece.rows)
    for spec in piece.pattern.fill:
        if not spec.applies_to(piece.daemon):
            continue
        value = _services(pc.take(programs, pa.array(piece.rows))) if spec.source == SERVICE \
            else fields.get(spec.source)
        if value is None:     # the regex that took the rows has no such group
            continue
        own = fields.get(spec.field, pa.nulls(n, pa.string()))
        fields[spec.field] = pc.if_else(_none(own), value, own)


def _normalized(piece: Piece, status_words: dict[str, str],
                programs: pa.Array) -> dict[str, pa.Array]:
    """The piece's captures, constants and fills as typed, normalised columns
    (`programs`: the block's, for a fill from the program name).

    Done per piece, on the rows the pattern took, rather than on whole scattered columns:
    a column is mostly null, its non-null values are few.
    """
    fields = dict(piece.fields)
    for mark, implied in piece.pattern.when.items():
        word = fields.pop(mark, None)     # None: the regex that took the rows has no mark
        if word is not None:
            _imply(fields, pc.not_equal(pc.fill_null(word, ""), ""), implied)
    for name, conv in piece.pattern.convert.items():
        if name in fields:
            fields[name] = duration_seconds(fields[name]) if conv == "duration" else \
                lower(fields[name])
    n = len(piece.rows)
    for name, value in piece.pattern.set.items():
        fields[name] = pa.repeat(pa.scalar(value), n)
    _fill(piece, fields, programs)
    out: dict[str, pa.Array] = {}
    for name, arr in fields.items():
        typ = FIELD_TYPES[name]
        if name in _ADDRESSES:
            arr = strip_brackets(arr)
        elif name in _IPS:
            arr = normalize_ip(arr)
        elif name == "status":
            arr = map_status(arr, fields.get("dsn", pa.nulls(n, pa.string())), status_words)
        elif pa.types.is_string(arr.type):
            arr = empty_to_null(arr)
        if pa.types.is_string(arr.type) and (pa.types.is_integer(typ)
                                             or pa.types.is_floating(typ)):
            arr = numbers(arr, typ)
        elif not pa.types.is_dictionary(typ) and arr.type != typ:
            arr = arr.cast(typ)
        out[name] = arr
    return out


def assemble_events(lines: dict[str, pa.Array | np.ndarray], mail_rows: np.ndarray,
                    mta_of_row: np.ndarray, extraction: Extraction,
                    parsers: ParserSet) -> pa.Table:
    """Build the block's events.

    `lines` holds line-level columns (one value per line of the block); `mail_rows` the
    lines that belong to a mail program; `mta_of_row` each line's index into
    `parsers.files` (-1 for none).
    """
    n = len(mta_of_row)
    k = np.zeros(n, np.int64)
    k[mail_rows] = 1
    for piece in extraction.pieces:
        if piece.element is not None:
            counts = np.bincount(piece.rows, minlength=n)
            k[counts > 0] = counts[counts > 0]
    total = int(k.sum())
    out_start = np.cumsum(k) - k
    line_of = np.repeat(np.arange(n), k)

    event_idx = np.full(total, _EVENT_CODE["other"], np.int32)
    names = pattern_names(parsers)
    offsets = np.cumsum([0] + [len(pf.pattern) for pf in parsers.files])
    pattern_idx = np.full(total, -1, np.int64)
    cols: dict[str, list[tuple[np.ndarray, pa.Array]]] = defaultdict(list)
    programs = pa.array(lines["program"]) if isinstance(lines["program"], np.ndarray) \
        else lines["program"]
    for piece in extraction.pieces:
        pos = out_start[piece.rows] + (piece.element if piece.element is not None else 0)
        event_idx[pos] = _EVENT_CODE[piece.pattern.event]
        mta_index = int(mta_of_row[piece.rows[0]])
        pattern_idx[pos] = offsets[mta_index] + piece.pattern_index
        status_words = parsers.files[mta_index].status
        for name, arr in _normalized(piece, status_words, programs).items():
            cols[name].append((pos, arr))

    identity = total == n
    take = pa.array(line_of)
    out: dict[str, pa.Array] = {}
    for name, arr in lines.items():
        a = pa.array(arr) if isinstance(arr, np.ndarray) else arr
        out[name] = a if identity else pc.take(a, take)
    out["event"] = _dict(event_idx, list(EVENTS))
    out["pattern"] = _dict(np.maximum(pattern_idx, 0), names, pattern_idx >= 0)
    if "daemon" in out and out["daemon"].null_count:
        # rsyslog's RFC 5424 APP-NAME is `postfix` alone: the pattern that took the line
        # names its daemon, which sessions are keyed by
        sole = pa.array([p.daemons[0] if p.daemons and len(p.daemons) == 1 else None
                         for pf in parsers.files for p in pf.pattern], pa.string())
        implied = pc.take(sole, pa.array(np.maximum(pattern_idx, 0), mask=pattern_idx < 0))
        out["daemon"] = pc.coalesce(out["daemon"], implied)
    for name, parts in cols.items():
        typ = FIELD_TYPES[name]
        captured = scatter(total, parts, pa.string() if pa.types.is_dictionary(typ) else typ)
        if name in out:  # a line-level column (queue_id): a capture refines, never erases
            captured = pc.coalesce(captured, out[name])
        out[name] = captured.dictionary_encode() if name == "status" else captured
    # reject classes, per MTA (each file has its own classification table)
    if "reason" in out:
        is_reject = np.isin(event_idx, [_EVENT_CODE["reject"], _EVENT_CODE["reject_warning"]])
        klass = pa.nulls(total, pa.string())
        mta_out = mta_of_row[line_of]
        for m, pf in enumerate(parsers.files):
            sel = np.flatnonzero(is_reject & (mta_out == m))
            if len(sel):
                classes = classify_rejects(pc.take(out["reason"], pa.array(sel)), pf.classify)
                mask = np.zeros(total, bool)
                mask[sel] = True
                klass = pc.replace_with_mask(klass, pa.array(mask), classes)
        out["reject_class"] = klass.dictionary_encode()
    if "commands" in out:
        ok, tried = auth_counts(out["commands"])
        out["auth_ok"], out["auth_tried"] = ok, tried
    columns = []
    for f in EVENT_SCHEMA:
        arr = out.get(f.name)
        if arr is None:
            columns.append(pa.nulls(total, f.type))
        elif arr.type != f.type:
            columns.append(arr.cast(f.type))
        else:
            columns.append(arr)
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)
