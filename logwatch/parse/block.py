"""Parse one block of lines of one source into event rows.

The order of work follows the costs: header fields by slicing; program names, hosts and
timestamps once per distinct value; queue ids and patterns only on the rows of a mail
program, each pattern behind a literal prefilter (see `engine`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.assemble import assemble_events, scatter
from logwatch.parse.clock import SourceClock
from logwatch.parse.definitions import ONLY_CONTAINING_HEAD, ParserFile, ParserSet
from logwatch.parse.engine import Extraction, apply_patterns, extract_queue_ids
from logwatch.parse.header import Header, parse_tags, split_header
from logwatch.parse.auth_lines import AuthLines, AuthPatterns, patterns_in
from logwatch.parse.journal import journal_header
from logwatch.parse.quirks import SPLIT_LOOKBACK, QuirkState, Rewrite, open_split_at, rewrite_block
from logwatch.parse.slicing import substrings
from logwatch.parse.stats import SourceStats
from logwatch.schema import EVENT_SCHEMA, LINE_NOTES
from logwatch.sources.blocks import LineBlock

__all__ = ["SourceInfo", "BlockParser"]


@dataclass(frozen=True)
class SourceInfo:
    """What is known of a source before its lines are read."""

    name: str
    fingerprint: str
    fmt: str | None
    host: str | None = None       # replaces (or supplies, for Exim's own logs) the host


def _np(arr: pa.Array) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False)


class _Routing:
    """Program name -> (MTA file index, instance, daemon), decided once per distinct name."""

    def __init__(self, parsers: ParserSet) -> None:
        self.parsers = parsers
        self._cache: dict[str, tuple[int, str | None, str | None]] = {}

    def route(self, program: str) -> tuple[int, str | None, str | None]:
        hit = self._cache.get(program)
        if hit is None:
            hit = (-1, None, None)
            for i, pf in enumerate(self.parsers.files):
                if pf.mta.owns(program):
                    parts = program.split("/")
                    instance = pf.mta.instance or (
                        parts[0] if pf.mta.instance_from == "first" else program)
                    daemon: str | None = program
                    if pf.mta.daemon_from == "message":
                        daemon = None     # each line names it (`_own_lines`)
                    elif pf.mta.daemon_from == "last":
                        # `postfix` alone (rsyslog's RFC 5424 APP-NAME) names no daemon:
                        # unknown, so that every pattern of the MTA may take the line
                        daemon = parts[-1] if len(parts) > 1 else None
                    hit = (i, instance, daemon)
                    break
            self._cache[program] = hit
        return hit

    def columns(self, programs: pa.Array) -> tuple[np.ndarray, pa.Array, pa.Array]:
        enc = pc.dictionary_encode(programs)
        routes = [self.route(p) for p in enc.dictionary.to_pylist()]
        idx = enc.indices
        valid = _np(idx.is_valid())
        codes = _np(idx.fill_null(0)).astype(np.int64)
        mta = np.array([r[0] for r in routes] or [-1], np.int64)[codes] if routes else \
            np.full(len(programs), -1)
        mta = np.where(valid, mta, -1)
        inst = pc.take(pa.array([r[1] for r in routes], pa.string()), idx)
        daemon = pc.take(pa.array([r[2] for r in routes], pa.string()), idx)
        return mta, inst, daemon


class BlockParser:
    """Parses the blocks of one source in order, keeping what must carry between them."""

    def __init__(self, parsers: ParserSet, source: SourceInfo, clock: SourceClock,
                 stats: SourceStats, quirks: QuirkState | None = None,
                 auth: AuthLines | None = None) -> None:
        self.parsers = parsers
        self.source = source
        self.clock = clock
        self.stats = stats
        self.routing = _Routing(parsers)
        self.quirks = quirks or QuirkState()
        self.auth = auth or AuthLines()
        self._logger_pids = np.array([i for i, pf in enumerate(parsers.files)
                                      if pf.mta.syslog_pid == "logger"], np.int64)
        self._auth_patterns = AuthPatterns.of(parsers)
        self._held: LineBlock | None = None
        # per MTA index (and -1 for none, last): the length at which syslog cut a message
        self._max_message = np.array([pf.mta.max_message or 0 for pf in parsers.files] + [0],
                                     np.int64)
        self._syslog_doubles = np.array([pf.mta.syslog_doubles for pf in parsers.files] + [False])

    def parse(self, block: LineBlock, final: bool = False) -> pa.Table:
        """The events of `block`. Unless `final`, a split entry whose pieces may go on in
        the next block is held back and read with it (call `flush` at the end)."""
        if self._held is not None:
            block, self._held = self._held.then(block), None
        if not final and self.source.fmt != "journal_json":
            at = self._split_tail(block)
            if at == 0:  # the whole block waits for the next one
                self._held = block
                return EVENT_SCHEMA.empty_table()
            if at is not None:
                block, self._held = block.split(at)
        return self._parse(block)

    @property
    def held_from(self) -> int | None:
        """Where the lines held back for the next block start (None: none are)."""
        return None if self._held is None else int(self._held.offsets[0])

    def flush(self) -> pa.Table | None:
        """The events of lines held back at the end of the source, if any."""
        if self._held is None:
            return None
        held, self._held = self._held, None
        return self._parse(held)

    def _split_tail(self, block: LineBlock) -> int | None:
        start = max(0, len(block.lines) - SPLIT_LOOKBACK)
        tail = block.lines.slice(start)
        h, ok = split_header(tail, self.source.fmt)
        at = open_split_at(h, h.messages(limit=32), h.tag, ok)
        return None if at is None else start + at

    def _parse(self, block: LineBlock) -> pa.Table:
        lines = block.lines
        n = len(lines)
        cursor = None
        repaired = block.repaired       # indices of lines that were not UTF-8
        if self.source.fmt == "journal_json":     # ... or whose MESSAGE was not
            h, ok, cursor, bad_message = journal_header(lines)
            repaired = np.union1d(repaired, np.flatnonzero(bad_message))
        else:
            h, ok = split_header(lines, self.source.fmt)
        utc, tvalid = self.clock.to_utc(h)
        ok &= tvalid
        program, pid = parse_tags(h.tag)
        mta, instance, daemon = self.routing.columns(program)
        mta = np.where(ok, mta, -1)
        daemon = self._own_lines(h, mta, daemon)
        pid = pc.if_else(pa.array(np.isin(mta, self._logger_pids)), pa.scalar(None, pid.type),
                         pid) if len(self._logger_pids) else pid
        host = h.host
        if self.source.host is not None:
            host = pa.repeat(pa.scalar(self.source.host), n)
        self.stats.count_lines(lines, block.offsets, ok, mta, program)
        note = np.full(n, -1, np.int64)
        note[repaired] = LINE_NOTES.index("invalid_utf8")
        rows = np.arange(n)
        messages = _Messages(h)

        # repeat summaries and split pieces become the rows they stand for
        content = {"program": program, "pid": pid, "instance": instance,
                   "daemon": daemon, "host": host, "mta": pa.array(mta)}
        doubled = None
        if self.source.fmt not in (None, "exim"):  # Exim's own files have no doubles
            doubled = self._syslog_doubles[mta]
        rw = rewrite_block(h, h.messages(limit=32), program, h.tag, ok, self.quirks, content,
                           self._max_message[mta], doubled)
        if rw is not None:
            picked = _pick(content, rw.content, rw.carried)
            program, pid, instance, daemon, host = (picked[k] for k in (
                "program", "pid", "instance", "daemon", "host"))
            mta = _np(picked["mta"]).astype(np.int64)
            messages = _Messages(h, rw)
            rows = rw.rows
            utc, ok = utc[rows], ok[rows]
            mta = np.where(ok, mta, -1)
            note = np.where(rw.note >= 0, rw.note, note[rows])
            self.stats.joined_lines += rw.joined_lines
            self.stats.repeats_capped = self.quirks.capped
            self.stats.syslog_doubles = self.quirks.doubles

        extraction = Extraction()
        qid_parts: list[tuple[np.ndarray, pa.Array]] = []
        for i, pf in enumerate(self.parsers.files):
            sel = np.flatnonzero(mta == i)
            if not len(sel):
                continue
            q, msgs, has = self._queue_ids(pf, messages, sel)
            qid_parts.append((sel, q))
            apply_patterns(pf, msgs, sel, pc.take(daemon, pa.array(sel)), has, extraction)

        m = len(mta)
        line_cols: dict[str, pa.Array | np.ndarray] = {
            "ts": pa.array(utc, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "seq": (block.first_index + rows).astype(np.int64),
            "host": host,
            "instance": instance,
            "daemon": daemon,
            "program": program,
            "pid": pid,
            "queue_id": scatter(m, qid_parts, pa.string()),
            "source": pa.repeat(pa.scalar(self.source.name), m),
            "source_fp": pa.repeat(pa.scalar(self.source.fingerprint), m),
            "offset": block.offsets[rows].astype(np.int64),
            "cursor": pa.nulls(m, pa.string()) if cursor is None else pc.take(
                cursor, pa.array(rows)),
            "mta": pa.DictionaryArray.from_arrays(
                pa.array(np.maximum(mta, 0).astype(np.int32), mask=mta < 0),
                pa.array([pf.mta.name for pf in self.parsers.files])),
            "line_note": pa.DictionaryArray.from_arrays(
                pa.array(np.maximum(note, 0).astype(np.int32), mask=note < 0),
                pa.array(list(LINE_NOTES))),
        }
        mail_rows = np.flatnonzero(mta >= 0)
        events = assemble_events(line_cols, mail_rows, mta, extraction, self.parsers)
        events = self.auth.apply(events, self._auth_patterns, patterns_in(events))
        unmatched = np.sort(np.concatenate(extraction.unmatched)) if extraction.unmatched \
            else np.empty(0, np.int64)
        self.stats.count_events(events, messages.get(unmatched))
        return events

    def _own_lines(self, h: Header, mta: np.ndarray, daemon: pa.Array) -> pa.Array:
        """Which lines of a program are its MTA's, and their daemons: for an MTA that
        keeps only some (`only_daemons` of the daemon its message names, Dovecot's;
        `only_containing`, amavis's verdicts), the others become not mail (`mta` is set
        to -1 in place). Returns `daemon` with the names the messages give."""
        for i, pf in enumerate(self.parsers.files):
            spec = pf.mta
            if spec.daemon_from != "message" and spec.only_containing is None:
                continue
            sel = np.flatnonzero(mta == i)
            if not len(sel):
                continue
            head = h.messages(sel, limit=96)     # a daemon name and its prefix fit
            keep = np.ones(len(sel), bool)
            if spec.only_containing is not None:
                keep &= spec.keeps_lines(pc.utf8_slice_codeunits(head, 0,
                                                                 ONLY_CONTAINING_HEAD))
            if spec.daemon_from == "message":
                named = pc.extract_regex(head, f"^(?:{spec.strip})").field("daemon")
                enc = pc.dictionary_encode(named)
                kept = pa.array([spec.keeps_daemon(n) for n in enc.dictionary.to_pylist()],
                                pa.bool_())
                keep &= _np(pc.fill_null(pc.take(kept, enc.indices), False))
                mask = np.zeros(len(mta), bool)
                mask[sel[keep]] = True
                daemon = pc.replace_with_mask(daemon, pa.array(mask),
                                              named.filter(pa.array(keep)))
            mta[sel[~keep]] = -1
        return daemon

    def _queue_ids(self, pf: ParserFile, messages: _Messages,
                   rows: np.ndarray) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """Skip the MTA's prefix and queue id; return (queue ids, rest, has-id mask)."""
        skip = np.zeros(len(rows), np.int64)
        if pf.mta.strip:
            head = messages.get(rows, limit=96)
            m = pc.extract_regex(head, f"^(?P<strip>{pf.mta.strip})")
            skip = _np(pc.binary_length(pc.fill_null(m.field("strip"), ""))).astype(np.int64)
        if pf.queue_id is None:
            return (pa.nulls(len(rows), pa.string()), messages.get(rows, skip),
                    np.zeros(len(rows), bool))
        spec = pf.queue_id
        head = messages.get(rows, skip, limit=spec.max_length + len(spec.separator))
        q, has, prefix = extract_queue_ids(head, spec.separator, spec.regex, spec.max_length,
                                           spec.none)
        return q, messages.get(rows, skip + prefix), has


class _Messages:
    """Messages of a block's rows, cut from the lines only when asked for.

    After a rewrite (repeats, joined pieces) some rows carry a message that is not in
    their own line; those come from the rewrite's texts.
    """

    def __init__(self, header: Header, rewrite: Rewrite | None = None) -> None:
        self.header = header
        self.rewrite = rewrite
        if rewrite is not None:
            self._over_rows = np.array(sorted(rewrite.text), np.int64)
            self._over_text = [rewrite.text[r] for r in self._over_rows.tolist()]

    def get(self, rows: np.ndarray, skip: np.ndarray | int = 0,
            limit: int | None = None) -> pa.Array:
        if self.rewrite is None:
            return self.header.messages(rows, skip, limit)
        src = self.rewrite.content[rows]
        full = self.header.messages(np.where(src >= 0, src, 0))
        over = np.isin(rows, self._over_rows)
        if over.any():
            pos = np.searchsorted(self._over_rows, rows[over])
            full = pc.replace_with_mask(full, pa.array(over),
                                        pa.array([self._over_text[i] for i in pos.tolist()],
                                                 pa.string()))
        total = _np(pc.binary_length(full)).astype(np.int64)
        start = np.minimum(np.broadcast_to(np.asarray(skip, np.int64), total.shape), total)
        length = total - start if limit is None else np.minimum(total - start, limit)
        return substrings(full, start, length)


def _pick(content: dict[str, pa.Array], rows: np.ndarray,
          carried: dict[str, object] | None) -> dict[str, pa.Array]:
    """Take line-level columns at `rows`; row -1 is the previous block's last line."""
    n = len(content["program"])
    out = {}
    for name, arr in content.items():
        idx = rows
        if (rows < 0).any():
            extra = carried.get(name) if carried else None
            arr = pa.concat_arrays([arr, pa.array([extra], arr.type)])
            idx = np.where(rows >= 0, rows, n)
        out[name] = pc.take(arr, pa.array(idx))
    return out
