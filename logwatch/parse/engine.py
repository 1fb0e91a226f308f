"""Apply the parser definitions to a block's messages: route, prefilter, extract.

The costs that matter (PERF-NOTES.md): an RE2 extraction with captures runs at a few
hundred thousand rows a second, a literal `starts_with` at tens of millions. So each
pattern runs only on the rows of its daemons that no earlier pattern took and that pass
its literal prefilter; most rows meet one or two regexes in all. Rows of a mail program
that nothing takes stay in the table as `other`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.definitions import ParserFile, PatternSpec
from logwatch.parse.slicing import substrings

__all__ = ["Piece", "Extraction", "extract_queue_ids", "apply_patterns"]


@dataclass
class Piece:
    """What one pattern extracted: its rows (block positions) and their field values.

    For a `split` pattern, `element` numbers the values of the split field within a row
    (a line `to=<a>,<b>` gives two entries with the same row, elements 0 and 1).
    `daemon` is that of all the rows ("": not known), which the pattern's fills ask.
    """

    pattern: PatternSpec
    pattern_index: int
    rows: np.ndarray
    fields: dict[str, pa.Array]
    element: np.ndarray | None = None
    daemon: str = ""


@dataclass
class Extraction:
    """All pieces of a block, plus the rows of mail programs nobody took."""

    pieces: list[Piece] = field(default_factory=list)
    unmatched: list[np.ndarray] = field(default_factory=list)


def _np(arr: pa.Array) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False)


def extract_queue_ids(msg: pa.Array, spec_sep: str, spec_regex: str, max_length: int,
                      none_tokens: list[str]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Split a leading queue id off each message.

    Returns (queue ids with nulls, mask of rows that had a queue-id token, including
    NOQUEUE-like placeholders, and the byte length of the prefix to drop).
    """
    n = len(msg)
    head = pc.utf8_slice_codeunits(msg, 0, max_length + len(spec_sep))
    pos = _np(pc.find_substring(head, spec_sep)).astype(np.int64)
    cand = np.flatnonzero((pos > 0) & (pos <= max_length))
    has = np.zeros(n, bool)
    prefix = np.zeros(n, np.int64)
    # a quarter of a block's rows have an id: the ids are cut and judged on those
    # only, then laid out over the block (null elsewhere) with one gather
    tokens = substrings(pc.take(head, pa.array(cand)), np.zeros(len(cand), np.int64),
                        pos[cand])
    good = _np(pc.match_substring_regex(tokens, spec_regex))
    rows = cand[good]
    has[rows] = True
    prefix[rows] = pos[rows] + len(spec_sep)
    ids = tokens.filter(pa.array(good))
    if none_tokens:
        ids = pc.if_else(pc.is_in(ids, pa.array(none_tokens, pa.string())),
                         pa.scalar(None, pa.string()), ids)
    where = np.full(n, len(ids), np.int64)
    where[rows] = np.arange(len(ids))
    qids = pc.take(pa.concat_arrays([ids, pa.nulls(1, pa.string())]), pa.array(where))
    return qids, has, prefix


def _literal_filter(msgs: pa.Array, cand: np.ndarray, kernel, literal: str) -> np.ndarray:
    """Keep the candidates whose message passes a literal kernel.

    A literal test over all rows costs less than gathering the candidates' messages
    first, unless the candidates are few.
    """
    if len(cand) * 4 < len(msgs):
        return cand[_np(kernel(pc.take(msgs, pa.array(cand)), literal))]
    return cand[_np(kernel(msgs, literal))[cand]]


def _run_pattern(p: PatternSpec, msgs: pa.Array,
                 cand: np.ndarray) -> list[tuple[np.ndarray, dict[str, pa.Array]]]:
    """Match pattern `p` on `msgs[cand]`: the rows each of its regexes took, with captures."""
    if p.starts is not None and len(cand):
        cand = _literal_filter(msgs, cand, pc.starts_with, p.starts)
    if p.contains is not None and len(cand):
        cand = _literal_filter(msgs, cand, pc.match_substring, p.contains)
    found: list[tuple[np.ndarray, dict[str, pa.Array]]] = []
    for rx in p.regexes:
        if not len(cand):
            break
        sub = pc.take(msgs, pa.array(cand))
        fields: dict[str, pa.Array] = {}
        if "(?P<" in rx:
            m = pc.extract_regex(sub, rx)
            ok = _np(m.is_valid())
            taken = m.filter(pa.array(ok))
            fields = {taken.type.field(i).name: taken.field(i)
                      for i in range(taken.type.num_fields)}
        else:
            ok = _np(pc.match_substring_regex(sub, rx))
        if ok.any():
            if p.tail:
                tail = pc.extract_regex(sub.filter(pa.array(ok)), p.tail)
                fields.update(zip((f.name for f in tail.type), tail.flatten()))
            found.append((cand[ok], fields))
        cand = cand[~ok]
    return found


#: a value of a comma-separated list: a quoted string keeps its commas
_LIST_ITEM = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^,"])+')


def _split_list(values: pa.Array) -> pa.ListArray:
    """Each value split at its commas, but not at a comma inside a quoted local part
    (`to=<"smith, john"@x>`: one recipient, not `<"smith` and `john"@x>`, which made a
    local delivery an open relay to `example.com>`). Quotes are rare and chosen by the
    sender, so only lists holding one are split in Python."""
    parts = pc.split_pattern(values, ",")
    if not pc.any(pc.match_substring(values, '"')).as_py():
        return parts
    return pa.array([_LIST_ITEM.findall(v) if '"' in v else p
                     for v, p in zip(values.to_pylist(), parts.to_pylist())],
                    pa.list_(pa.string()))


def _split_piece(p: PatternSpec, index: int, rows: np.ndarray,
                 fields: dict[str, pa.Array], daemon: str) -> Piece:
    """One entry per comma-separated value of the split field (Sendmail's to= lists)."""
    assert p.split is not None
    parts = _split_list(pc.fill_null(fields[p.split], ""))
    parent = _np(pc.list_parent_indices(parts))
    values = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    starts = np.searchsorted(parent, np.arange(len(rows)))
    element = np.arange(len(parent)) - starts[parent]
    take = pa.array(parent)
    out = {name: (values if name == p.split else pc.take(arr, take))
           for name, arr in fields.items()}
    return Piece(p, index, rows[parent], out, element, daemon)


def _patterns_for(pf: ParserFile, daemon: str) -> list[tuple[int, PatternSpec]]:
    """The patterns a daemon's lines meet; all of the MTA's when the daemon is unknown."""
    return [(i, p) for i, p in enumerate(pf.pattern)
            if p.daemons is None or not daemon or daemon in p.daemons]


def apply_patterns(pf: ParserFile, msgs: pa.Array, rows: np.ndarray, daemons: pa.Array,
                   has_qid: np.ndarray, out: Extraction) -> None:
    """Run `pf`'s patterns over the block rows `rows` (messages `msgs`, same length).

    `daemons` and `has_qid` are aligned with `msgs`. Rows are handled one daemon at a
    time (patterns name their daemons), each pattern in file order on the rows no
    earlier pattern took. Appends to `out`.
    """
    if not len(rows):
        return
    enc = pc.dictionary_encode(pc.fill_null(daemons, ""))
    codes = _np(enc.indices)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(enc.dictionary) + 1))
    for code, daemon in enumerate(enc.dictionary.to_pylist()):
        group = order[bounds[code]:bounds[code + 1]]
        if not len(group):
            continue
        patterns = _patterns_for(pf, daemon)
        if not patterns:
            out.unmatched.append(rows[group])
            continue
        whole = len(group) == len(rows)
        g_msgs = msgs if whole else pc.take(msgs, pa.array(group))
        g_qid = has_qid[group]
        free = np.ones(len(group), bool)
        for index, p in patterns:
            eligible = free
            if p.queue_id == "required":
                eligible = free & g_qid
            elif p.queue_id == "absent":
                eligible = free & ~g_qid
            cand = np.flatnonzero(eligible)
            if not len(cand):
                continue
            for hit, fields in _run_pattern(p, g_msgs, cand):
                free[hit] = False
                hit_rows = rows[group[hit]]
                piece = _split_piece(p, index, hit_rows, fields, daemon) if p.split else \
                    Piece(p, index, hit_rows, fields, daemon=daemon)
                out.pieces.append(piece)
        out.unmatched.append(rows[group[free]])
