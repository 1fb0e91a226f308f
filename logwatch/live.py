"""One pass of the live pipeline: what is new in the sources, through the rules, into the
outbox; shared by `run` (cron) and `follow`.

The run keeps, between passes, what the rules need and nothing else (DESIGN.md): the
correlation state (sessions, messages not yet finished), the rows the rules select from
within the longest rule window (`history`), and the alert ledger. Rules see history plus
what is new, so a burst spread over three one-minute runs is the burst it would be in one
batch; the ledger makes an incident alert once, again only when it has grown by
`notify.realert_factor`, and a new incident only after the rule's cooldown.

Offsets move in the same transaction that puts the alerts their lines caused into the
outbox: a crash before it reads the same lines again next time, a crash after it finds
the alerts in the outbox.

A follower keeps what one pass hands the next (`Carried`) in memory and writes it only
every `CHECKPOINT_S` seconds (and when it stops): rewriting the correlation state and
the history twice a second is what kept it from keeping up with a busy server. Each
pass still commits its ledger entries and outbox items. A follower killed between two
checkpoints is followed by a pass that starts from the last one: it reads again the
lines read since, reaches the same incidents, and the ledger, which has them, tells
nobody twice.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.alerts import Alert
from logwatch.backlog import backlog_note, backlog_of
from logwatch.columns import event_is, plain
from logwatch.config import Config, SourceConfig
from logwatch.correlate.correlator import CorrelationState, Correlator
from logwatch.correlate.lifetimes import id_on_host, naming
from logwatch.correlate.sessions import OpenSessions
from logwatch.detection import evidence_table, kept_rows, site_facts
from logwatch.durations import US
from logwatch.enrich import (ENRICHED_MESSAGES, EVENT_COLUMNS, changed_messages, clients_taken,
                             enrich_events, enrich_events_onto, enrich_messages,
                             enrichment_key)
from logwatch.errors import LogwatchError, SourceError
from logwatch.evidence import stand_in
from logwatch.history import HistoryStore, Kept, kept_after
from logwatch.kept import joined
from logwatch.notify.actions import Outcome, plan_action, run_action
from logwatch.notify.deliver import destinations, route_of, send
from logwatch.parse.definitions import ParserSet
from logwatch.parse.auth_lines import AuthLines
from logwatch.parse.quirks import QuirkState
from logwatch.parse.stats import SourceStats
from logwatch.pipeline import ParseOptions, default_parsers, plan_sources, read_source
from logwatch.rules_engine.loader import load_rules
from logwatch.rules_engine.needs import Needs, needs_of, reads_message_lines
from logwatch.rules_engine.baselines import BASELINE_SCHEMA, PastCounts, counted, past_counts
from logwatch.rules_engine.lookback import ThenSeen
from logwatch.rules_engine.model import TIME_FIELD, severity_rank
from logwatch.rules_engine.rows import times_us
from logwatch.rules_engine.runner import rule_span_us, run_rules, still_needed
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA
from logwatch.sources.journald import (JournalMark, JournalRead, entries_at,
                                       journal_source_name, read_journal)
from logwatch.sitefacts import SiteFacts
from logwatch.sources.overlap import overlap_warnings
from logwatch.sources.tail import Mark, mark_after, plan_reads, still_valid, unreadable
from logwatch.state import LedgerEntry, State, table_bytes, table_of

__all__ = ["PassResult", "Memory", "run_pass", "deliver_outbox"]

#: How far back in log time the ledger keeps an incident it told, at least: a log
#: rewritten in place is read again from its start (sources.tail), and the current file
#: of a weekly rotation (Debian's mail.log) holds a week; what it finds again must still
#: be known, or it is told twice.
LEDGER_KEEP_US = 8 * 86_400 * US
#: Retry delays double from `notify.retry_after` up to this.
MAX_RETRY = 3600.0
#: runs of a failing action before it is given up (and no longer holds exit code 75)
ACTION_ATTEMPTS = 5
#: what enrichment reads of a message's delivery lines
_DELIVERY_COLUMNS = ("host", "instance", "queue_id", "ts", "event", "recipient",
                     "orig_recipient", "status")
#: how often a follower writes what it carries between passes (seconds): the most it
#: reads again after a crash
CHECKPOINT_S = 30.0


@dataclass
class PassResult:
    alerts: list[dict[str, Any]] = field(default_factory=list)   # raised by this pass
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lines: int = 0
    pending: int = 0                                               # outbox after delivery
    events: dict[str, int] = field(default_factory=dict)         # new rows by event
    unknown: int = 0                                               # new `other` rows
    newest_us: int | None = None                                   # newest row read
    #: the events and messages the rules hold after the pass (what a pass's cost grows
    #: with: a botnet fills it)
    held_rows: int = 0


@dataclass
class _Read:
    events: list[pa.Table] = field(default_factory=list)
    lines: list[pa.Table] = field(default_factory=list)
    messages: list[pa.Table] = field(default_factory=list)
    #: the queue ids (`id_on_host`) of every line read, kept by the rules or not: the
    #: messages this pass changed
    ids: list[pa.Array] = field(default_factory=list)
    marks: dict[str, Mark | None] = field(default_factory=dict)
    cursors: dict[str, JournalMark] = field(default_factory=dict)
    stats: list[SourceStats] = field(default_factory=list)
    newest: int = 0           # the newest line read (for the lag), whatever rules keep
    #: the newest line read of each source read, by its name (a file's: of this pass or
    #: of before, as its mark says)
    newest_of: dict[str, int] = field(default_factory=dict)
    #: the source each file read belongs to (`mail.log.1`, read through a rotation, is
    #: `mail.log`'s)
    source_of: dict[str, str] = field(default_factory=dict)
    #: the journal entries read, in temporary files that live as long as the pass
    journals: list[JournalRead] = field(default_factory=list)

    def add(self, events: pa.Table, done: pa.Table, needs: Needs) -> None:
        """A batch of correlated lines and the messages it finished."""
        rows, evidence = kept_rows(events, needs)
        self.events.append(rows)
        self.lines.append(evidence)
        self.messages.append(done)
        self.ids.append(pc.unique(id_on_host(events.column("host"),
                                             events.column("queue_id"))).drop_null())

    def mark(self) -> tuple[int, int]:
        return len(self.events), len(self.stats)

    def undo(self, since: tuple[int, int]) -> None:
        """Forget what was added since `mark()` (a source that is read again next time)."""
        n, s = since
        del self.events[n:], self.lines[n:], self.messages[n:], self.ids[n:], self.stats[s:]


@dataclass
class Carried:
    """What one pass hands the next: where each source was read up to, the correlation
    state, what the rules keep of before (`events`, `lines`, `messages`, None until
    there is some, numbered for the store from `next_serial`), the spike rules' counts
    of earlier intervals (`past`), the sequence rules' then-rows that left the history
    (`then_seen`, for `unless_before`), the local domains inferred so far and which
    rules judged them (`rules`: a digest; rules that did not judge the history look at
    all of it). `events` are kept enriched with `facts` (a pass with the same facts
    enriches only its own rows); as loaded, with those the store names (none: not
    enriched)."""

    marks: dict[str, Mark | None]
    cursors: dict[str, JournalMark]
    correlation: CorrelationState
    events: Kept | None
    lines: Kept | None
    messages: Kept | None
    inferred: list[str]
    rules: str | None = None
    past: dict[str, PastCounts] = field(default_factory=dict)
    then_seen: ThenSeen = field(default_factory=ThenSeen)
    facts: SiteFacts | None = None
    next_serial: int = 0
    store: HistoryStore = field(default_factory=HistoryStore)

    @classmethod
    def load(cls, state: State) -> Carried:
        store, kept, serial = HistoryStore.load(state)
        raw, rules = state.blob("site.inferred"), state.blob("rules.digest")
        counts, since = state.blob("history.baselines"), state.blob("history.baselines.since")
        past = past_counts(table_of(counts) if counts is not None
                           else BASELINE_SCHEMA.empty_table(),
                           json.loads(since) if since else {})
        seen = state.blob("history.then_seen")
        return cls(dict(state.marks()), state.cursors(),
                   state.correlation() or CorrelationState(),
                   kept["events"], kept["lines"], kept["messages"],
                   json.loads(raw) if raw else [], rules.decode() if rules else None, past,
                   ThenSeen(table_of(seen)) if seen is not None else ThenSeen(),
                   next_serial=serial, store=store)

    def save(self, db: sqlite3.Connection, enriched: bool = True) -> Callable[[], None]:
        """Write it in the transaction `db`; returns what to call once that is
        committed (the history store then knows what is on disk). The events are
        written enriched, for the next cron run to enrich only its own rows, unless
        not `enriched`: a follower's checkpoint thread shares the pass's core, and the
        enriched columns took 3.6 times as long to write (0.66 s against 0.19 s for a
        botnet's 800k rows), which its next passes' alerts waited out."""
        for path, mark in self.marks.items():
            State.put_mark(db, path, mark)
        for name, cursor in self.cursors.items():
            State.put_cursor(db, name, cursor)
        State.put_correlation(db, self.correlation)
        State.put_blob(db, "site.inferred", json.dumps(self.inferred).encode())
        State.put_blob(db, "history.baselines", table_bytes(pa.concat_tables(
            [BASELINE_SCHEMA.empty_table()] + [p.table() for p in self.past.values()])))
        State.put_blob(db, "history.baselines.since", json.dumps(
            {r: p.since for r, p in self.past.items() if p.since is not None}).encode())
        State.put_blob(db, "history.then_seen", table_bytes(self.then_seen.table))
        if self.rules is not None:
            State.put_blob(db, "rules.digest", self.rules.encode())
        events, key = self.events, None
        if self.facts is None:       # as loaded (no facts yet): as the store has them
            key = self.store.enriched
        elif enriched:
            key = enrichment_key(self.facts)
        elif events is not None:
            events = Kept(events.table.select(
                [c for c in events.table.column_names if c not in EVENT_COLUMNS]),
                events.serials)
        return self.store.write(db, {"events": events, "lines": self.lines,
                                     "messages": self.messages}, key)

    def moved(self, got: _Read) -> Carried:
        """The same with the positions `got` reached."""
        return dataclasses.replace(self, marks={**self.marks, **got.marks},
                                   cursors={**self.cursors, **got.cursors})


@dataclass
class Memory:
    """A follower's `Carried` between passes, and when it was last written.

    The checkpoint is written by a thread of its own, on a connection of its own, while
    the next passes go on: it is hundreds of MB on a busy server, and the pass that
    waited for it held its alerts back by as long. What it writes is the `Carried` of
    one pass, which later passes do not change (they work on copies)."""

    carried: Carried | None = None
    #: what checkpoints are timed by (a benchmark runs hours of a log's time in minutes)
    clock: Callable[[], float] = time.monotonic
    saved_at: float = field(init=False)
    unsaved: bool = False
    writer: threading.Thread | None = None
    #: why the last checkpoint failed (said by the next pass, retried when due)
    failure: str | None = None
    #: the rules the last pass loaded: kept while a rule file is saved broken
    rules: list[Any] | None = None

    def __post_init__(self) -> None:
        # the first is due at once: killed before it, a follower with a fresh state (or
        # a source new since its SIGHUP) would have no mark to start again from, and
        # would read the live file from its start and none of the rotations since
        self.saved_at = -math.inf

    def due(self) -> bool:
        return self.clock() - self.saved_at >= CHECKPOINT_S and not (
            self.writer is not None and self.writer.is_alive())

    def keep(self, carried: Carried, state_dir: Path) -> None:
        """Hold `carried` for the next pass, and start writing it when that is due.
        What the pass freed goes back to the system first: the default pool kept it
        (45 MiB more after four hours at 333 lines/s, for 5 ms a pass)."""
        pa.default_memory_pool().release_unused()
        self.carried, self.unsaved = carried, True
        if self.due():
            self.saved_at = self.clock()
            self.writer = threading.Thread(target=self._write, args=(carried, state_dir),
                                           name="checkpoint", daemon=True)
            self.writer.start()

    def _write(self, carried: Carried, state_dir: Path) -> None:
        try:
            state = State(state_dir)
            try:
                with state.commit() as db:
                    committed = carried.save(db, enriched=False)
                committed()
            finally:
                state.close()
        except (OSError, sqlite3.Error, LogwatchError) as exc:
            self.failure = f"{state_dir}: checkpoint not written: {exc}"
            self.saved_at = -math.inf    # due again at once
            return
        if carried is self.carried:
            self.unsaved = False

    def checkpoint(self, state: State) -> None:
        """Write what is carried now (a follower stopping, or about to reload)."""
        if self.writer is not None:
            self.writer.join()
        if self.carried is not None and self.unsaved:
            with state.commit() as db:
                committed = self.carried.save(db, enriched=False)
            committed()
            self.unsaved = False


def _table(kept: Kept | None, empty: pa.Table) -> pa.Table:
    """A history table in the form of `empty` (the events without their enrichment).
    A column it lacks (kept by an earlier release, or before a rule came to need it)
    is null in its rows."""
    if kept is None:
        return empty
    table = kept.table
    for f in empty.schema:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(empty.schema.names).cast(empty.schema)


def _rules_of(cfg: Config, memory: Memory | None, out: PassResult) -> list[Any]:
    """The rules as their files are now. A follower reads them at every pass, so that an
    edit takes effect at the next one; one saved broken is said, and the rules of the
    last pass go on detecting until it is fixed, as SIGHUP keeps a config that worked
    (all detection stopped instead). A cron run refuses, as for a broken config."""
    try:
        rules = load_rules(cfg)
    except LogwatchError as exc:
        if memory is None or memory.rules is None:
            raise
        out.errors.append(f"{exc} (the rules loaded before are kept until it is fixed)")
        return memory.rules
    if memory is not None:
        memory.rules = rules
    return rules


def _digest_of(rules: list[Any]) -> str:
    """What the rules are, to tell whether the ones that judged the history are these."""
    text = json.dumps([r.model_dump(mode="json") for r in rules], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _options(cfg: Config, src: SourceConfig) -> ParseOptions:
    return ParseOptions(tz=src.tz or cfg.site.timezone, fmt=src.format, host=src.host)


def _read_sources(cfg: Config, carried: Carried, correlator: Correlator, needs: Needs,
                  out: PassResult) -> _Read:
    parsers = default_parsers()
    got = _Read()
    marks, cursors = carried.marks, carried.cursors
    for src in cfg.sources:
        if src.path is None:
            _read_journal(cfg, src, cursors, parsers, correlator, needs, got, out)
            continue
        path = str(src.path)
        problem = unreadable(path)
        if problem:
            out.errors.append(problem)
            continue
        plan = plan_reads(path, marks.get(path))
        out.warnings += plan.warnings
        options = _options(cfg, src)
        before, since = _copied(correlator.state), got.mark()
        mark = marks.get(path)
        # the line before this read, when the read goes on from where the last one ended
        goes_on = bool(mark and mark.offset and plan.segments
                       and plan.segments[0].start == mark.offset)
        quirks = QuirkState(last_row=mark.carry if goes_on and mark else None)
        auth = AuthLines.restored(mark.auth if mark else None)
        unopened, held, newest = False, None, mark.read_up_to_us if mark else 0
        for seg in plan.segments:
            plans, errors = plan_sources([seg.path], options)
            out.errors += errors
            if not plans:     # cannot open it now: its lines wait, not lost
                unopened = True
                break
            # each read's clock is new: what was read before is where its lines start
            plans[0].after = newest / 1e6 if newest else None
            stats = SourceStats(seg.path)
            got.stats.append(stats)
            got.source_of[seg.path] = path
            # the live file's end: a split entry whose pieces are still being written
            # is read again next time, whole, rather than in two halves now and then
            tail = seg is plan.segments[-1] and seg.path == path
            for table in read_source(plans[0], parsers, options, stats, (seg.start, seg.end),
                                     out.errors, final_partial=seg.final, quirks=quirks,
                                     hold_open=tail, auth=auth):
                newest = max(newest, _newest(table))
                got.newest = max(got.newest, newest)   # every line: the lag
                got.add(*correlator.process(table), needs)
            if tail:
                held = stats.held_from
        if unopened or not still_valid(path, plan):   # undone: read again next time
            correlator.state = before
            got.undo(since)
            if not unopened:
                out.warnings.append(f"{path}: rotated while it was read; read again next "
                                    "time")
            continue
        # what was read up to and the auth lines are kept even when no line was read
        # (a file found empty): a login to come may need them
        # a cron run or a follower's pass reads with a clock of its own: the second pass
        # of a DST repeated hour appended since is told from the first by where the last
        # read ended (see `clock`)
        got.marks[path] = dataclasses.replace(
            mark_after(path, plan, mark, held), carry=quirks.last_row, read_up_to_us=newest,
            auth=auth.saved())
        got.newest_of[path] = newest
    return got


def _read_journal(cfg: Config, src: SourceConfig, cursors: dict[str, JournalMark],
                  parsers: ParserSet, correlator: Correlator, needs: Needs, got: _Read,
                  out: PassResult) -> None:
    """The journal's entries since its cursor, through the same path as a file's lines;
    the events name the source `journald` (evidence is read back while the pass lasts)."""
    name = journal_source_name(src.journal_args)
    # what earlier passes read of it is read again by cursor, for evidence
    reread = functools.partial(entries_at, src.journal_args, src.journal_match)
    stand_in(name, None, None, reread)
    try:
        read = read_journal(src.journal_args, src.journal_match, cursors.get(name),
                            first_s=src.journal_first)
    except SourceError as exc:
        out.errors.append(str(exc))
        return
    out.warnings += read.warnings
    if read.path is None or read.mark is None:
        return
    got.journals.append(read)
    options = dataclasses.replace(_options(cfg, src), fmt="journal_json")
    plans, errors = plan_sources([read.path], options)
    if errors or not plans:
        out.errors += [e.replace(read.path, name) for e in errors]
        return
    before, since, errors = _copied(correlator.state), got.mark(), []
    stats = SourceStats(name)
    got.stats.append(stats)
    old = cursors.get(name)
    auth = AuthLines.restored(old.auth if old else None)
    newest = 0
    for table in read_source(plans[0], parsers, options, stats, errors=errors,
                             auth=auth):
        table = table.set_column(table.schema.get_field_index("source"), "source",
                                 pa.array([name] * table.num_rows, pa.string()))
        newest = max(newest, _newest(table))
        got.add(*correlator.process(table), needs)
    got.newest = max(got.newest, newest)
    if errors:            # undone: the cursor stays, read again next time
        correlator.state = before
        got.undo(since)
        out.errors += [e.replace(read.path, name) for e in errors]
        return
    stand_in(name, read.path, plans[0].fingerprint, reread)
    got.cursors[name] = dataclasses.replace(read.mark, auth=auth.saved())
    got.newest_of[name] = newest


def _copied(st: CorrelationState) -> CorrelationState:
    """A copy to go back to (the tables are immutable; the session lists are not)."""
    return dataclasses.replace(st, sessions=OpenSessions(
        *(list(getattr(st.sessions, f.name)) for f in dataclasses.fields(st.sessions))))


def _newest(table: pa.Table) -> int:
    if not table.num_rows:
        return 0
    return int(pc.max(table.column("ts").cast(pa.int64())).as_py() or 0)


def _deliveries(before: CorrelationState, new: pa.Table) -> pa.Table:
    """The delivery lines of every message a pass can finish or show: the messages held
    when the last pass ended (all their lines are in its correlation state) and this
    pass's lines. Their recipients are judged when they finish; the rule history need
    not keep them."""
    parts = [t.filter(event_is(t, "delivery"))
             for t in (before.rows, before.settling, new)]
    return pa.concat_tables([pa.table({c: plain(t.column(c)) for c in _DELIVERY_COLUMNS})
                             for t in parts])


def _past_for(rules: list[Any], carried: Carried) -> dict[str, PastCounts]:
    """Each spike rule's counts of earlier intervals, told which intervals this pass's
    table holds whole: from the one before the last pass's newest row (the rule keeps
    two intervals of rows), or all on a first pass."""
    newest = carried.correlation.max_us
    past = {}
    for rule in rules:
        if rule.kind == "spike":
            # a copy (of the intervals' index; intervals are replaced, never changed):
            # the carried ones may be on their way to disk (`Memory`)
            old = carried.past.get(rule.id) or PastCounts()
            past[rule.id] = dataclasses.replace(
                old, intervals=dict(old.intervals),
                table_from=None if newest is None else newest // (rule.interval * US) - 1)
    return past


def _count_intervals(rules: list[Any], past: dict[str, PastCounts],
                     tables: dict[str, pa.Table], masks: dict[str, np.ndarray]) -> None:
    """Write down the spike rules' counts of the intervals this pass holds whole and
    that are over, for the passes after it, which will not hold their rows."""
    for rule in rules:
        if rule.id not in past:
            continue
        table = tables[rule.table]
        ts, has = times_us(table, TIME_FIELD[rule.table])
        selected = masks[rule.id] & has
        if not selected.any():
            continue
        per = rule.interval * US
        first = past[rule.id].table_from
        first = int(ts[selected].min() // per) if first is None else first
        last = int(ts[has].max() // per) - 1          # the intervals the log's time is past
        if last >= first:
            past[rule.id].record(counted(rule, table, masks[rule.id], first, last), first,
                                 last, last + 1 - rule.baseline // rule.interval)


def _lines_needed(lines: pa.Table, rules: list[Any], newest: int,
                  correlation: CorrelationState) -> np.ndarray:
    """The lines of messages a later pass may show: those within the span of the rules
    that show them (`reads_message_lines`), and those of messages not over yet however
    old they are (a message deferred for a day is told with its received line when it
    ends). Kept for the longest window of any rule (six hours), they were the largest
    table a busy server's follower held."""
    back = max([rule_span_us(r) for r in rules if reads_message_lines(r)] + [0])
    ts = pc.fill_null(lines.column("ts").cast(pa.int64()), 0)
    keep = pc.greater_equal(ts, newest - back).to_numpy(zero_copy_only=False)
    older = np.flatnonzero(~keep)
    if len(older):
        held = [correlation.rows, correlation.settling]
        unfinished = pc.unique(pa.chunked_array(
            [id_on_host(t.column("host"), t.column("queue_id")) for t in held],
            pa.string())).drop_null()
        old = lines.take(pa.array(older))
        keep[older[naming(old.column("host"), old.column("queue_id"), unfinished)]] = True
    return keep


def _ledger_decision(state: State, alert: Alert, cooldown_us: int, factor: float
                     ) -> tuple[LedgerEntry, str | None]:
    """The ledger entry after this alert, and why to notify (None: already told)."""
    key = json.dumps(alert.key, sort_keys=True, default=str)
    old = state.ledger(alert.rule, key)
    if old is not None and alert.first_us <= old.last_us + cooldown_us:
        entry = LedgerEntry(alert.rule, key, old.alert_id, old.first_us,
                            max(old.last_us, alert.last_us), max(old.count, alert.count),
                            old.alerted_count, old.alerted_at)
        # an incident told to nobody (a first read's backlog) that goes on is news
        if alert.last_us > old.last_us and (
                not old.alerted_count or alert.count >= old.alerted_count * factor):
            entry.alerted_count, entry.alerted_at = alert.count, time.time()
            return entry, "grown" if old.alerted_count else "new"
        return entry, None
    entry = LedgerEntry(alert.rule, key, alert.id, alert.first_us, alert.last_us,
                        alert.count, alert.count, time.time())
    return entry, "new"


def _payload(alert: Alert, entry: LedgerEntry, why: str) -> dict[str, Any]:
    out = alert.as_dict()
    out["id"] = entry.alert_id          # one id per incident, across runs
    out["notice"] = why
    return out


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _digest(payloads: list[dict[str, Any]], summary: str,
            details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Many alerts as one message, their summaries as its lines."""
    # as instants: as text, `10:00:00.5Z` sorts before `10:00:00Z`
    first = min((p["first_seen"] for p in payloads), key=_instant)
    last = max((p["last_seen"] for p in payloads), key=_instant)
    ids = ",".join(sorted(p["id"] for p in payloads))
    return {"id": "digest-" + hashlib.sha256(ids.encode()).hexdigest()[:16], "rule": "digest",
            "severity": max((p["severity"] for p in payloads), key=severity_rank),
            "key": {}, "first_seen": first, "last_seen": last, "count": len(payloads),
            "summary": summary,
            "evidence": [{"source": p["rule"], "offset": 0,
                          "line": f"{p['first_seen']} {p['rule']}: {p['summary']}"}
                         for p in payloads],
            "evidence_total": len(payloads), "title": "Digest", "details": details or {},
            "notice": "digest", "alerts": [p["id"] for p in payloads]}


def _background(low: list[dict[str, Any]]) -> dict[str, Any]:
    return _digest(low, f"{len(low)} low-severity alerts (the internet's background)")


def _rule_of(payload: dict[str, Any]) -> str:
    """The rule an alert is of; a flood's digest is of its rule's."""
    return payload["details"].get("rule", payload["rule"]) if payload["rule"] == "digest" \
        else payload["rule"]


def _held_digest(held: list[dict[str, Any]]) -> dict[str, Any]:
    """The alerts a destination's digest held: the background, and the rest of a
    flood (`_hold`), counted by rule."""
    if all(severity_rank(p["severity"]) < severity_rank("medium") for p in held):
        return _background(held)
    rules = Counter(_rule_of(p) for p in held)
    return _digest(held, f"{len(held)} alerts held for the digest: " + ", ".join(
        f"{n} {rule}" for rule, n in sorted(rules.items(), key=lambda r: (-r[1], r[0]))))


def _batched(raised: list[dict[str, Any]], notify: Any) -> list[dict[str, Any]]:
    """What a pass sends for the alerts it raised: the low ones (the internet's
    background) each to wait for its destination's digest (`digest_every`; or, without
    one, many as one digest of the pass), and more than `flood_after` of one rule at
    medium or above as one digest of that rule: a botnet spraying passwords from a /48
    made 56,000 password_spray alerts (each /64 its own key), and an attack should page
    once."""
    medium = severity_rank("medium")
    low = [p for p in raised if severity_rank(p["severity"]) < medium]
    out = ([_background(low)] if len(low) > notify.digest_after and not notify.digest_every
           else low)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for p in raised:
        if severity_rank(p["severity"]) >= medium:
            by_rule.setdefault(p["rule"], []).append(p)
    for rule, alerts in by_rule.items():
        out += ([_digest(alerts, f"{len(alerts)} {rule} alerts at once: {alerts[0]['title']}",
                         {"rule": rule})]
                if len(alerts) > notify.flood_after else alerts)
    return sorted(out, key=lambda p: -severity_rank(p["severity"]))


def run_pass(cfg: Config, state: State, dry_run: bool = False,
             memory: Memory | None = None) -> PassResult:
    """Read what is new, run the rules, and (unless `dry_run`) commit and queue alerts.

    With `memory` (a follower's), what the last pass carried comes from it rather than
    from the state, and goes back into it, written to the state only when it is due."""
    out = PassResult()
    if memory is not None and memory.failure:
        out.errors.append(memory.failure)
        memory.failure = None
    rules = _rules_of(cfg, memory, out)
    rule_of = {r.id: r for r in rules}
    needs = needs_of(rules)
    carried = memory.carried if memory and memory.carried else Carried.load(state)
    # the pass works on a copy: one that fails leaves the memory as the last one left it
    correlator = Correlator(default_parsers(), _copied(carried.correlation))
    got = _read_sources(cfg, carried, correlator, needs, out)
    out.lines = sum(s.lines for s in got.stats)
    for s in got.stats:
        for (_, event), n in s.events.items():
            out.events[event] = out.events.get(event, 0) + n
    out.unknown = out.events.get("other", 0)
    out.newest_us = got.newest or None
    if not any(st.rows for st in got.stats):
        # nothing new: the rules would judge the same rows as last time (their windows
        # run on the lines' time, not the clock), so only the positions move
        out.held_rows = sum(k.table.num_rows for k in (carried.events, carried.messages) if k)
        if not dry_run and (got.marks or got.cursors):
            _commit(state, memory, carried.moved(got), lambda db: None)
        return out
    empty_events, empty_lines = kept_rows(EVENT_SCHEMA.empty_table(), needs)
    earlier_events = _table(carried.events, empty_events)
    events = pa.concat_tables([earlier_events, joined(got.events, empty_events)],
                              promote_options="permissive").unify_dictionaries()
    lines = pa.concat_tables([_table(carried.lines, empty_lines),
                              joined(got.lines, empty_lines)],
                             promote_options="permissive").unify_dictionaries()
    # messages kept from earlier passes are kept enriched: their delivery lines are gone
    earlier = _table(carried.messages, ENRICHED_MESSAGES.empty_table())
    finished = joined(got.messages, MESSAGE_SCHEMA.empty_table())
    fresh = pa.concat_tables([finished, correlator.provisional()])
    new_events = events.slice(earlier_events.num_rows)
    facts = site_facts(cfg, events, out.warnings, carried.inferred)
    if carried.facts == facts:
        # the same facts (a rule's own allow list may have made another object since):
        # keep the carried one, and enrich only the new rows
        facts = carried.facts
    known = pa.concat_tables([earlier.select(MESSAGE_SCHEMA.names), fresh])
    changed = changed_messages(got.ids, correlator.state.links, new_events)
    # a run's first pass finds the history stored enriched: with these facts, only the
    # message columns of its rows are looked up again (each chunk has them as they
    # were when it was written); held with other columns than this pass reads (a rule
    # that reads another, a release that reads one more), it is enriched again
    stored = carried.facts is None and carried.store.enriched == enrichment_key(facts)
    if carried.events is not None and (carried.facts is facts or stored) and \
            carried.events.table.column_names == events.column_names + list(EVENT_COLUMNS):
        ev_rich = enrich_events_onto(carried.events.table, events, facts, known,
                                     None if stored else changed)
    else:
        ev_rich = enrich_events(events.combine_chunks(), facts, known)
    fresh_rich = enrich_messages(fresh, _deliveries(carried.correlation, new_events), facts)
    decided: list[tuple[LedgerEntry, str | None]] = []
    told: dict[int, tuple[LedgerEntry, str]] = {}
    firsts = _first_reads(carried, got)
    if firsts:
        out.warnings += overlap_warnings(list(got.marks), firsts)

    def wanted(alert: Alert) -> bool:
        """The ledger decides; only what will be told gets its evidence read."""
        entry, why = _ledger_decision(state, alert, rule_of[alert.rule].cooldown_s * US,
                                      cfg.notify.realert_factor)
        decided.append((entry, why))
        if why:
            told[id(alert)] = (entry, why)
        return why is not None

    digest = _digest_of(rules)
    # the rules judged the history on earlier passes: the groups no new row reaches
    # have what they had then (unless the rules changed since), and earlier rows that
    # took a client from their message this pass reach theirs
    new_from = {"events": earlier_events.num_rows, "messages": earlier.num_rows} \
        if carried.rules == digest else None
    messages = pa.concat_tables([earlier, fresh_rich])
    past = _past_for(rules, carried)
    detection = run_rules(rules, ev_rich, messages, evidence_table(events, lines),
                          wanted, new_from, past,
                          {"events": clients_taken(events, ev_rich, earlier_events.num_rows,
                                                   changed)}, carried.then_seen,
                          sources=bool(firsts))
    out.warnings += detection.warnings
    held = backlog_of(detection.alerts, firsts, got.newest_of, got.source_of,
                      cfg.notify.backlog)
    for alert in held:
        _told_to_nobody(*told.pop(id(alert)))
    if held:
        out.warnings.append(backlog_note(held, firsts, got.source_of, cfg.notify.backlog))
    raised = [_payload(a, *told[id(a)]) for a in detection.alerts if id(a) in told]
    to_send = _batched(raised, cfg.notify)
    out.alerts = raised
    if dry_run:
        return out

    first = carried.next_serial
    keep_events = still_needed(rules, ev_rich, "events", "ts", detection.masks)
    kept = kept_after(carried.events, ev_rich, keep_events, first)
    done = pa.concat_tables([earlier, fresh_rich.slice(0, finished.num_rows)])
    keep_done = still_needed(rules, done, "messages", "first_seen", detection.masks)
    messages_kept = kept_after(carried.messages, done, keep_done, first)
    out.held_rows = kept.table.num_rows + messages_kept.table.num_rows
    # what unless_before needs of the then-rows the history lets go
    then_seen = carried.then_seen.after(rules, ev_rich, "events", detection.masks,
                                        keep_events).after(
        rules, done, "messages", detection.masks, keep_done)
    _count_intervals(rules, past, {"events": ev_rich, "messages": messages},
                     detection.masks)
    # the longest rule span before the newest row: what the history reaches back to
    newest, back = _newest(events), max([rule_span_us(r) for r in rules] + [0])
    dests = destinations(cfg.notify)
    handed_on = dataclasses.replace(
        carried.moved(got), correlation=correlator.state, events=kept, facts=facts,
        rules=digest, past=past, then_seen=then_seen, messages=messages_kept,
        lines=kept_after(carried.lines, lines,
                         _lines_needed(lines, rules, newest, correlator.state), first),
        # past every serial this pass gave (more than it gave: they need only grow)
        next_serial=first + max(events.num_rows, lines.num_rows, messages.num_rows),
        inferred=sorted(facts.local) if facts.inferred else [])

    def alerts(db: sqlite3.Connection) -> None:
        for entry, _ in decided:
            State.put_ledger(db, entry)
        for payload in to_send:
            for dest in dests:
                if dest.wants(payload["severity"]):
                    State.enqueue(db, payload["id"], payload["severity"],
                                  {"route": dest.route_id, "alert": payload},
                                  _hold(db, payload, dest.route_id, cfg.notify))
        for payload in raised:
            _enqueue_actions(db, cfg, facts, payload)
        # an incident found later starts within the history and continues an entry
        # only within its rule's cooldown: twice that is past any use, but for a log
        # read again (LEDGER_KEEP_US)
        State.forget(db, {r.id: newest - max(2 * (back + r.cooldown_s * US), LEDGER_KEEP_US)
                          for r in rules}, time.time())

    _commit(state, memory, handed_on, alerts)
    return out


def _first_reads(carried: Carried, got: _Read) -> set[str]:
    """The sources read for the first time: a mark or cursor now, and none before or
    one that had read nothing (a file absent or empty until now). A source that could
    not be read is not one yet: its first read is the pass that reads it."""
    def unread(before: Mark | None) -> bool:
        return before is None or before.head_len == 0
    return ({name for name in got.marks if unread(carried.marks.get(name))}
            | {name for name in got.cursors if not carried.cursors.get(name)})


def _told_to_nobody(entry: LedgerEntry, why: str) -> None:
    """A first read's backlog (`backlog`), into the ledger: a new incident as told to
    nobody (no alerted count), so that its continuation is news; one already told (from
    another source) as told at its size with the backlog, so that its next line is not
    a regrowth either."""
    if why == "new":
        entry.alerted_count = 0


def _commit(state: State, memory: Memory | None, carried: Carried,
            alerts: Callable[[sqlite3.Connection], None]) -> None:
    """One transaction: the pass's alerts, and for a cron run what it carries on; a
    follower keeps that, and writes it apart when due (`Memory`)."""
    with state.commit() as db:
        committed = carried.save(db) if memory is None else None
        alerts(db)
    if committed is not None:
        committed()
    if memory is not None:
        memory.keep(carried, state.path.parent)


def _enqueue_actions(db: sqlite3.Connection, cfg: Config, facts: SiteFacts,
                     payload: dict[str, Any]) -> None:
    """A new incident's actions, planned (validated) now and run with the deliveries; a
    refused one is recorded as such, and `alerts` shows it."""
    if payload.get("notice") != "new":
        return
    for name, action in cfg.actions.items():
        if payload["rule"] not in action.rules or \
                severity_rank(payload["severity"]) < severity_rank(action.min_severity):
            continue
        planned = plan_action(name, action, payload, facts)
        item = {"route": f"action:{name}", "alert": payload, "argv": planned.argv,
                "refused": planned.refused}
        State.enqueue(db, payload["id"], payload["severity"], item)


def _act(cfg: Config, state: State, item_id: int, item: dict[str, Any],
         attempts: int) -> str | None:
    """Run one queued action; None when it ran and succeeded (or is over for good)."""
    name = item["route"].removeprefix("action:")
    action = cfg.actions.get(name)
    if action is None or item["refused"]:
        state.dropped(item_id, f"action {name}: " + (item["refused"] or "no longer configured"))
        return None
    done = run_action(Outcome(name, item["argv"], None, ""), action.timeout)
    if done.returncode == 0:
        state.delivered(item_id, f"action {name}: exit 0 {done.output.strip()[:200]}")
        return None
    said = done.output.strip()[:500]
    error = f"action {name}: " + (done.refused or f"exit {done.returncode}"
                                   + (f": {said}" if said else ""))
    if attempts + 1 >= ACTION_ATTEMPTS:   # a command that keeps failing will not heal
        state.dropped(item_id, f"{error} (gave up after {ACTION_ATTEMPTS} attempts)")
        return None
    return error


def _hold(db: sqlite3.Connection, payload: dict[str, Any], route: str, notify: Any) -> float:
    """How long an alert waits for its destination's digest (0: it goes now): below
    medium, the digest's period; at medium and above, the same once `flood_after`
    messages of its rule went there within that period. A botnet rotating through a
    /48 raises a password_spray for each /64 a pass or two apart, which no pass's own
    flood digest catches: 56,000 messages in a day."""
    every = notify.digest_every
    if not every:
        return 0
    if severity_rank(payload["severity"]) < severity_rank("medium"):
        return every
    return every if State.sent_of_rule(db, route, _rule_of(payload), time.time() - every) \
        >= notify.flood_after else 0


def waiting(pending: int) -> str:
    """What `run` and a follower say of alerts left in the outbox."""
    return f"{pending} alert{' waits' if pending == 1 else 's wait'} in the outbox"


def deliver_outbox(cfg: Config, state: State, retry_after: float | None = None,
                   budget: float | None = None) -> int:
    """Send what is due in the outbox, the most severe first; returns how many items are
    still waiting. With a `budget` (seconds), no delivery starts once it is spent: the
    rest waits, untried, for the next pass (a follower's detection must not wait minutes
    on a webhook that answers slowly, each try taking apprise's timeouts). When one
    alert held for a digest is due, every one held for its destination goes with it, as
    one message: at most one a `digest_every` for the background, however it trickles
    in (a follower's pass is a second; one scanner a minute was a mail a minute)."""
    dests = destinations(cfg.notify)
    base = retry_after if retry_after is not None else cfg.notify.retry_after
    deadline = None if budget is None else time.monotonic() + budget
    sent: set[int] = set()
    for item in state.due(time.time()):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if item.id in sent:
            continue
        route = item.payload["route"]
        if route.startswith("action:"):
            error = _act(cfg, state, item.id, item.payload, item.attempts)
            if error is not None:
                state.failed(item.id, error, min(MAX_RETRY, base * 2 ** item.attempts))
            continue
        group = state.held(route) if item.held_until is not None else [item]
        sent.update(g.id for g in group)
        dest = route_of(dests, route)
        if dest is None:      # the destination left the config: nothing to retry
            for g in group:
                state.dropped(g.id, "destination no longer configured")
            continue
        alerts = [g.payload["alert"] for g in group]
        error = send(dest, alerts[0] if len(alerts) == 1 else _held_digest(alerts))
        for g in group:
            if error is None:
                state.delivered(g.id)
            else:
                state.failed(g.id, error, min(MAX_RETRY, base * 2 ** g.attempts))
    return state.pending_count()

