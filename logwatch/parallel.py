"""Parse one input in several processes and join the parts as if read in one go.

Work units are byte windows of plain files (cut at line ends, never inside the hour a
DST change repeats) and whole compressed files. Each unit is parsed and correlated in a
worker with `known=False`: it reports what depends on the input before it (sessions of
its first rows, message lifetimes that may continue). The parent takes the units in
order, absorbs each into the running correlation (`Correlator.absorb`), patches the
pending sessions and the line numbers of the unit's events, and hands them on. Events
travel through Arrow IPC files in a temporary directory, read back memory-mapped, so
memory stays at a block or two per process.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.correlate.correlator import CorrelationState, Correlator, PendingSessions
from logwatch.errors import UsageError
from logwatch.parse.auth_lines import AuthLines, AuthPatterns, patterns_in
from logwatch.parse.clock import SourceClock
from logwatch.parse.header import split_header
from logwatch.parse.stats import SourceStats
from logwatch.pipeline import ParseOptions, SourcePlan, default_parsers, read_source
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA
from logwatch.sources.blocks import lines_from_bytes
from logwatch.sources.rotation import rotation_key

if TYPE_CHECKING:
    from logwatch.pipeline import ParseRun

__all__ = ["Unit", "plan_units", "parallel_correlated"]

#: Plain files are cut into windows of at most about this size, and into at least two per
#: process when they are larger than MIN_SPLIT, so that workers stay busy while the
#: parent writes what the others finished.
WINDOW = 96 << 20
MIN_SPLIT = 32 << 20
# uncompressed: the files live in the page cache and are read back memory-mapped
_IPC = pa.ipc.IpcWriteOptions()
#: bytes read at a time to find where a window may start (most often its first line)
_PROBE = 256 << 10


@dataclass
class Unit:
    """One piece of work: a source, or a byte window of a plain source."""

    index: int
    plan: SourcePlan
    window: tuple[int, int] | None


@dataclass
class UnitResult:
    """A worker's output: IPC files in a shared temporary directory (local processes),
    or the IPC bytes themselves (Dask workers, which may be on other machines)."""

    index: int
    events: str | pa.Buffer
    messages: str | pa.Buffer
    stats: SourceStats
    state: CorrelationState
    pending: PendingSessions
    errors: list[str]


def _safe_start(fh: BinaryIO, clock: SourceClock, fmt: str | None) -> int:
    """The offset of the first line from `fh`'s position (a line start) on that a window
    may start at: one with a time outside the hours a DST change repeats (such an hour
    needs the rows before it to be read right). Read a piece at a time, its headers
    vectorized as the workers read them; the end of the file when there is none."""
    while True:
        here = fh.tell()
        piece = fh.read(_PROBE) + fh.readline()     # whole lines
        if not piece:
            return here
        block = lines_from_bytes(piece, here)
        h, stamped = split_header(block.lines, fmt)
        fit = np.flatnonzero(stamped & ~clock.in_repeated_hour(h))
        if len(fit):
            return int(block.offsets[fit[0]])


def _cut_points(plan: SourcePlan, options: ParseOptions) -> list[int]:
    """Line-aligned offsets that cut a plain file into windows."""
    size = plan.size or 0
    pieces = max(1, -(-size // WINDOW))
    if size > MIN_SPLIT:
        pieces = max(pieces, 2 * options.jobs)
    cuts = [0]
    # a clock of its own: it gives year-less stamps the years the workers' clocks will
    clock = SourceClock(options.zone, plan.anchor)
    with open(plan.name, "rb") as fh:
        for k in range(1, pieces):
            pos = max(size * k // pieces, cuts[-1])
            fh.seek(pos)
            fh.readline()  # to the next line start
            here = _safe_start(fh, clock, plan.fmt)
            if cuts[-1] < here < size:
                cuts.append(here)
    cuts.append(size)
    return cuts


def plan_units(plans: list[SourcePlan], options: ParseOptions) -> list[Unit]:
    """The units of work, in input order. Stdin and `--year` inputs are not split (the
    year walks forward from the first line)."""
    units: list[Unit] = []
    for plan in plans:
        splittable = (plan.name != "-" and plan.compression is None and plan.size
                      and plan.size > min(WINDOW, MIN_SPLIT) and options.year is None
                      and plan.fmt != "journal_json")
        if not splittable:
            units.append(Unit(len(units), plan, None))
            continue
        cuts = _cut_points(plan, options)
        for a, b in zip(cuts[:-1], cuts[1:]):
            units.append(Unit(len(units), plan, (a, b)))
    return units


#: what the parent reads again of the auth service's lines and of the lines they serve
_AUTH_COLUMNS = {"pattern", "event", "ts", "host", "session", "client_ip", "sasl_username",
                 "auth_attempts"}


def _unit_schema(options: ParseOptions) -> pa.Schema:
    """The event columns a worker sends back: what the caller asked for, and what the
    parent needs to join the units (`seq` to renumber, `session` to patch, the auth
    lines' columns to pair them across a cut)."""
    if options.columns is None:
        return EVENT_SCHEMA
    keep = options.columns | {"seq", "session"} | _AUTH_COLUMNS
    return pa.schema([f for f in EVENT_SCHEMA if f.name in keep])


def _run_unit(unit: Unit, options: ParseOptions, tmpdir: str | None) -> UnitResult:
    """Worker: parse and correlate one unit on its own; spill its output to IPC files
    in `tmpdir`, or keep it in memory to send back (None)."""
    parsers = default_parsers(options.syslog_names)
    stats = SourceStats(unit.plan.name, unit.plan.fmt, unit.plan.compression)
    errors: list[str] = []
    correlator = Correlator(parsers, known=unit.index == 0, messages=options.messages)
    sinks: list[str | pa.BufferOutputStream] = (
        [os.path.join(tmpdir, f"{unit.index}.{t}.arrow") for t in ("events", "messages")]
        if tmpdir else [pa.BufferOutputStream(), pa.BufferOutputStream()])
    schema = _unit_schema(options)
    with pa.ipc.new_stream(sinks[0], schema, options=_IPC) as ev_out, \
            pa.ipc.new_stream(sinks[1], MESSAGE_SCHEMA, options=_IPC) as msg_out:
        for table in read_source(unit.plan, parsers, options, stats, unit.window, errors):
            events, messages = correlator.process(table)
            ev_out.write_table(events.select(schema.names))
            if messages.num_rows:
                msg_out.write_table(messages)
            # a worker's pool otherwise keeps what its largest blocks needed, on top
            # of the parent's tables: given back, two workers held 190 MB less at the
            # peak of the 5M-line report, for CPU time within the noise
            del events, messages, table
            pa.default_memory_pool().release_unused()
    ev, msg = (x if isinstance(x, str) else x.getvalue() for x in sinks)
    return UnitResult(unit.index, ev, msg, stats, correlator.state, correlator.pending,
                      errors)


def _read(spilled: str | pa.Buffer) -> Iterator[pa.Table]:
    """Batch by batch into ordinary memory, each freed when its table goes: a memory map
    would keep every page it touched resident until the whole unit is read."""
    if isinstance(spilled, pa.Buffer):
        for batch in pa.ipc.open_stream(spilled):
            yield pa.Table.from_batches([batch])
        return
    with pa.OSFile(spilled) as source:
        os.unlink(spilled)
        for batch in pa.ipc.open_stream(source):
            yield pa.Table.from_batches([batch])


def _merge_stats(into: SourceStats, part: SourceStats) -> None:
    for name in ("lines", "blank", "unreadable", "continuation", "mail_lines", "rows",
                 "repeated_rows", "joined_lines", "repeats_capped", "syslog_doubles"):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    into.unreadable_examples.extend(part.unreadable_examples[:5 - len(into.unreadable_examples)])
    into.foreign.update(part.foreign)
    into.events.update(part.events)
    into.other_shapes.update(part.other_shapes)
    for key, example in part.other_examples.items():
        into.other_examples.setdefault(key, example)
    into.warnings.extend(w for w in part.warnings if w not in into.warnings)
    years = set(into.clock.get("years", [])) | set(part.clock.get("years", []))
    warnings = list(into.clock.get("warnings", []))
    warnings += [w for w in part.clock.get("warnings", []) if w not in warnings]
    into.clock = {**part.clock, "years": sorted(years), "warnings": warnings}


@contextmanager
def _executor(options: ParseOptions) -> Iterator[tuple[Executor, int]]:
    """Local processes, or a Dask cluster's workers (`--scheduler`), and how many units
    may be in flight: the same units and the same merge, so the output is the same.
    Dask workers read the input files by the names given here: on several machines,
    they must see the same paths."""
    if not options.scheduler:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=options.jobs, mp_context=context) as pool:
            yield pool, 2 * options.jobs
        return
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--executor dask needs the dask extra: "
                         "pip install 'mail-logwatch[dask]'") from None
    try:
        client = Client(options.scheduler, timeout=10)   # distributed retries until then
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {options.scheduler}: {exc}") from None
    with client, client.get_executor(pure=False) as pool:
        # a finished unit's bytes come to this process at once: two per worker thread
        # in flight keep the workers busy without holding the whole input here
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"]
                      .values())
        yield pool, 2 * max(1, threads)


def parallel_correlated(units: list[Unit], run: ParseRun) -> Iterator[tuple[pa.Table,
                                                                            pa.Table]]:
    """Like `ParseRun.correlated`, with units parsed by `run.options.jobs` processes."""
    options = run.options
    head = Correlator(run.parsers, messages=run.options.messages)
    # a unit starts knowing no auth line before it: its rows are given again, in order,
    # to what each rotation set carries, as one process reads them (a name lent, or a
    # login's refusals, across a cut)
    auth: dict[str, AuthLines] = {}
    auth_patterns = AuthPatterns.of(run.parsers)
    by_source: dict[str, SourceStats] = {}
    lines_before: dict[str, int] = {}
    spilling = (nullcontext(None) if options.scheduler
                else tempfile.TemporaryDirectory(prefix="mail-logwatch-"))
    with spilling as spill, _executor(options) as (pool, width):
        todo = iter(units)
        flight: deque[tuple[Unit, Future[UnitResult]]] = deque()

        def top_up() -> None:
            while len(flight) < width and (unit := next(todo, None)) is not None:
                flight.append((unit, pool.submit(_run_unit, unit, options, spill)))

        top_up()
        while flight:
            unit, future = flight.popleft()
            result = future.result()
            top_up()
            run.errors.extend(result.errors)
            name = unit.plan.name
            first_line = lines_before.get(name, 0)
            lines_before[name] = first_line + result.stats.lines
            if name not in by_source:
                by_source[name] = SourceStats(name, result.stats.format,
                                              result.stats.compression)
                run.stats.append(by_source[name])
            _merge_stats(by_source[name], result.stats)
            done = MESSAGE_SCHEMA.empty_table()
            if unit.index == 0:
                head.state = result.state
                patch = None
            else:
                patch, done = head.absorb(result.state, result.pending)
            row = 0
            carried = auth.setdefault(rotation_key(name)[0], AuthLines())
            for events in _read(result.events):
                if patch is not None:
                    events = patch.apply(events, row)
                row += events.num_rows
                events = carried.apply(events, auth_patterns, patterns_in(events))
                if first_line:
                    i = events.schema.get_field_index("seq")
                    events = events.set_column(i, EVENT_SCHEMA.field("seq"),
                                               pc.add(events.column("seq"), first_line))
                yield events, MESSAGE_SCHEMA.empty_table()
            # the messages the unit completes come after its events, as in one process:
            # a reader judges a message by its deliveries (export's enrichment), which
            # may be among them
            if done.num_rows:
                yield EVENT_SCHEMA.empty_table(), done
            for messages in _read(result.messages):
                yield EVENT_SCHEMA.empty_table(), messages
    yield EVENT_SCHEMA.empty_table(), head.finish()
