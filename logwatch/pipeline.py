"""Read a set of log files in rotation order and turn them into event tables, block by block.

This is the one place that knows the order of the stages for a batch of files; the CLI,
the parallel runner and (later) the cron and follow modes all go through it. A source
that cannot be opened is reported and skipped: one unreadable archive must not hide the
others (exit code 2 at the end, with the file named). Inputs that hold the same lines
(rsyslog's mail.log beside mail.warn or syslog) are said, not merged: which one to drop
is the user's call.
"""

from __future__ import annotations

import functools

import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from logwatch.correlate.correlator import Correlator
from logwatch.errors import SourceError
from logwatch.parse.block import BlockParser, SourceInfo
from logwatch.parse.clock import SourceClock, YearAnchor, machine_zone
from logwatch.parse.definitions import ParserSet, load_parsers
from logwatch.parse.formats import YEARLESS
from logwatch.parse.auth_lines import AuthLines
from logwatch.parse.quirks import QuirkState
from logwatch.parse.stats import SourceStats
from logwatch.resources import data_dir
from logwatch.schema import EVENT_SCHEMA
from logwatch.secondary import SecondaryLogs, is_secondary
from logwatch.sources.blocks import BLOCK_SIZE, SalvagingReader, iter_blocks
from logwatch.sources.opener import READ_ERRORS, open_source, positioned
from logwatch.sources.overlap import given_once, overlap_warnings
from logwatch.sources.probe import probe_source
from logwatch.sources.rotation import rotation_key, rotation_order

__all__ = ["ParseOptions", "ParseRun", "SourcePlan", "default_parsers", "plan_sources",
           "read_source"]


@functools.cache
def default_parsers(syslog_names: tuple[str, ...] = ()) -> ParserSet:
    """The built-in parser definitions, read once per process: they ship inside the
    package and nothing changes them, and a follower would otherwise read and compile
    them twice a second. `syslog_names`: Postfix's own syslog_name where a site set one
    that its `postfix-*` does not take (`mta/smtpd`), as pflogsumm's --syslog-name."""
    parsers = load_parsers([data_dir("parsers")])
    return parsers.with_programs("postfix", syslog_names) if syslog_names else parsers


@dataclass
class ParseOptions:
    """Per-run choices that override what detection would decide."""

    year: int | None = None
    tz: str | None = None
    fmt: str | None = None
    host: str | None = None
    block_size: int = BLOCK_SIZE
    jobs: int = 1
    #: only these event columns leave a worker process (detect needs a few; None: all)
    columns: frozenset[str] | None = None
    #: a Dask scheduler's address: the parallel units run on its workers
    scheduler: str | None = None
    #: correlate messages too; `parse` writing events needs only sessions, and building
    #: messages it throws away cost a sixth of its time
    messages: bool = True
    #: Postfix syslog_names the built-in definitions do not know (`default_parsers`)
    syslog_names: tuple[str, ...] = ()

    @property
    def zone(self) -> str:
        return self.tz or machine_zone()


@dataclass
class SourcePlan:
    """What is known of a source before it is read, and where its years come from."""

    name: str
    fmt: str | None = None
    fingerprint: str = ""
    compression: str | None = None
    size: int | None = None
    first_instant: float | None = None
    gzip_mtime: float | None = None
    mtime: float | None = None
    own_bound: tuple[float, int] | None = None
    anchor: YearAnchor | None = None
    #: an instant the source's lines cannot be before (see `clock`)
    after: float | None = None
    warning: str | None = None
    #: an Exim reject or panic log (see `secondary`)
    secondary: bool = False


def _anchor(plans: list[SourcePlan], i: int, options: ParseOptions) -> tuple[YearAnchor,
                                                                           str | None]:
    """The year clue for source i (see `clock`), and a warning when it is only the clock."""
    if options.year is not None:
        return YearAnchor.from_year(options.year), None
    me = plans[i]
    if me.own_bound:
        return YearAnchor.upper(me.own_bound[0],
                                f"Exim's own dated stamp on line {me.own_bound[1]}"), None
    group = rotation_key(me.name)[0]
    for later in plans[i + 1:]:
        if rotation_key(later.name)[0] == group and later.first_instant is not None:
            return YearAnchor.upper(later.first_instant,
                                    f"first dated line of {later.name}"), None
    if me.gzip_mtime:
        return YearAnchor.upper(me.gzip_mtime, "gzip header time"), None
    if me.mtime:
        return YearAnchor.upper(me.mtime, "file modification time"), None
    return (YearAnchor.upper(time.time(), "the clock"),
            "no year clue for this input (stdin?): years assumed from the clock; give --year")


def _after(plans: list[SourcePlan], i: int) -> float | None:
    """When the file before source i in its rotation set was last written: the lines of
    source i come after it. It tells the second pass of a DST repeated hour at the top
    of a file rotated inside that hour from the first; a time the copy of an archive
    gave it, long after its lines, tells nothing and changes nothing (see `clock`)."""
    group = rotation_key(plans[i].name)[0]
    before = [p for p in plans[:i] if rotation_key(p.name)[0] == group]
    return (before[-1].gzip_mtime or before[-1].mtime) if before else None


def _is_pipe(name: str) -> bool:
    """A FIFO or character device (`<(zcat mail.log.gz)`): its head, once read to probe
    it, is gone."""
    try:
        return not stat.S_ISREG(os.stat(name).st_mode) and not os.path.isdir(name)
    except OSError:
        return False


def plan_sources(names: list[str], options: ParseOptions) -> tuple[list[SourcePlan],
                                                                   list[str]]:
    """Probe each source in rotation order; return the plans and the errors met."""
    plans: list[SourcePlan] = []
    errors: list[str] = []
    for name in rotation_order(names):
        if name == "-" or _is_pipe(name):  # probed when read: a pipe cannot be read twice
            plans.append(SourcePlan(name, options.fmt, secondary=is_secondary(name)))
            continue
        try:
            probe = probe_source(name)
        except SourceError as exc:
            errors.append(str(exc))
            continue
        plans.append(SourcePlan(name, options.fmt or probe.fmt, probe.fingerprint,
                                probe.opened.compression, os.path.getsize(name),
                                probe.first_instant(), probe.opened.gzip_mtime,
                                probe.opened.mtime, probe.own_bound,
                                secondary=probe.secondary))
        probe.opened.close()
    for i, plan in enumerate(plans):
        plan.anchor, plan.warning = _anchor(plans, i, options)
        plan.after = _after(plans, i)
    return plans, errors


def _pairs_secondary(plans: list[SourcePlan]) -> bool:
    """Whether the read pairs Exim reject or panic logs with main logs (`_events`)."""
    return any(p.secondary for p in plans) and not all(p.secondary for p in plans)


def _compared(plans: list[SourcePlan]) -> list[str]:
    """The inputs whose ends are compared for the lines they share (sources.overlap):
    plain files, since the end of an archive is all of it decompressed and a pipe is
    read once; not a reject or panic log read with a main log, whose entries that
    repeat the main log's are counted once already."""
    paired = _pairs_secondary(plans)
    return [p.name for p in plans
            if p.size is not None and p.compression is None and not (p.secondary and paired)]


class _Range:
    """Bytes `start`..`end` (None: to the end) of a source's content, decompressed: a part
    of a file parsed in parallel, or what a tailer has not read yet."""

    def __init__(self, path: str, start: int, end: int | None) -> None:
        self._opened = open_source(path)
        stream = positioned(self._opened, start)
        # a damaged archive gives what it has
        self._stream = SalvagingReader(stream) if self._opened.compression else stream
        self._left = None if end is None else end - start

    def read(self, n: int = -1) -> bytes:
        if self._left is None:
            return self._stream.read(n)
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._opened.close()


def read_source(plan: SourcePlan, parsers: ParserSet, options: ParseOptions,
                stats: SourceStats, window: tuple[int, int | None] | None = None,
                errors: list[str] | None = None,
                clock: SourceClock | None = None,
                final_partial: bool = True,
                quirks: QuirkState | None = None,
                hold_open: bool = False,
                auth: AuthLines | None = None) -> Iterator[pa.Table]:
    """The event tables of one source (or of a byte window of it), block by block.

    A decompression or read error ends the source with an error recorded in `errors`;
    what was read before it is kept. `quirks` carries the line before (a `last message
    repeated` at the top repeats it) from an earlier read, `auth` the auth service's
    lines that a line still to come may need (see parse.auth_lines).
    `clock` continues the clock of the previous file of the rotation set (with `--year`,
    the year walks on through it).
    `final_partial`: a last line without a newline is a line (false for a file still
    being written). `hold_open`: a split entry whose last pieces are not written yet is
    left unparsed at the end, and `stats.held_from` says where it starts (a live read
    reads it again next time).
    """
    errors = errors if errors is not None else []
    if window is not None:
        try:
            stream, opened = _Range(plan.name, *window), None
        except SourceError as exc:
            errors.append(str(exc))
            return
        fmt, fp = plan.fmt, plan.fingerprint
    else:
        try:
            probe = probe_source(plan.name)
        except SourceError as exc:
            errors.append(str(exc))
            return
        stream, opened = probe.stream, probe.opened
        if probe.opened.compression:
            stream = SalvagingReader(stream)  # type: ignore[arg-type,assignment]
        fmt, fp = options.fmt or probe.fmt, probe.fingerprint
        stats.compression = probe.opened.compression
    stats.format = fmt
    if plan.warning and (fmt is None or fmt in YEARLESS):   # stdin's format: known by now
        stats.warnings.append(plan.warning)
    clock = clock or SourceClock(options.zone, plan.anchor, plan.after)
    parser = BlockParser(parsers, SourceInfo(plan.name, fp, fmt, options.host), clock, stats,
                         quirks, auth)
    start = window[0] if window else 0
    try:
        try:
            for block in iter_blocks(stream, options.block_size, start_offset=start,  # type: ignore[arg-type]
                                     final_partial=final_partial):
                yield parser.parse(block)
        except READ_ERRORS as exc:
            errors.append(f"{plan.name}: read error after {stats.lines} lines: {exc}")
        if hold_open and parser.held_from is not None:
            stats.held_from = parser.held_from
        else:
            rest = parser.flush()
            if rest is not None:
                yield rest
    finally:
        (opened or stream).close()
        stats.clock = clock.report.as_dict()


@dataclass
class ParseRun:
    """Parse `names` (in rotation order) with `parsers`; iterate `events()` once."""

    names: list[str]
    parsers: ParserSet
    options: ParseOptions = field(default_factory=ParseOptions)
    stats: list[SourceStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: what is said of the inputs together, once (not of one input: see `_plans`)
    warnings: list[str] = field(default_factory=list)
    #: with --year, the walking clock of each rotation set, by its base name
    _year_clocks: dict[str, SourceClock] = field(default_factory=dict, repr=False)
    #: the auth service's lines each rotation set's next file may need (a name to lend,
    #: refusals a login counts), by its base name: as one file's blocks carry them
    _auth: dict[str, AuthLines] = field(default_factory=dict, repr=False)

    def correlated(self) -> Iterator[tuple[pa.Table, pa.Table]]:
        """Yield (events with sessions, messages completed) per block, then the rest.

        With `options.jobs` > 1 and input worth splitting, parts are parsed in other
        processes and joined through the mergeable correlation state.
        """
        plans = self._plans()
        parallel_ok = self.options.year is None and not any(p.secondary for p in plans)
        if (self.options.jobs > 1 or self.options.scheduler) and parallel_ok:
            from logwatch.parallel import parallel_correlated, plan_units

            units = plan_units(plans, self.options)
            if len(units) > 1:
                yield from parallel_correlated(units, self)
                self._lines_not_read()
                return
        correlator = Correlator(self.parsers, messages=self.options.messages)
        for table in self._events(plans):
            yield correlator.process(table)
        yield EVENT_SCHEMA.empty_table(), correlator.finish()
        self._lines_not_read()

    def events(self) -> Iterator[pa.Table]:
        """Yield the event tables of every source, block by block, in rotation order."""
        yield from self._events(self._plans())
        self._lines_not_read()

    def _plans(self) -> list[SourcePlan]:
        """The inputs' plans; one that cannot be opened is an error, and two that hold
        the same lines are said, once a pair (each of their lines counts twice: `detect
        /var/log/mail.*` reads rsyslog's mail.log, mail.warn and mail.err); one file
        named twice is read once."""
        names, said = given_once(self.names)
        self.warnings.extend(said)
        plans, errors = plan_sources(names, self.options)
        self.errors.extend(errors)
        self.warnings.extend(overlap_warnings(_compared(plans)))
        return plans

    def _lines_not_read(self) -> None:
        """An input none of whose lines is a log line is an error, not an empty log: a
        journal piped as `journalctl -o json-pretty` (or `export`, `cat`) gave exit 0
        and no alerts, as if the mail server had been quiet. An input whose log lines
        are all other programs' gets a warning where its coverage is shown: those lines
        are no row at all, not even `other`, and an Exim mainlog read in a syslog format
        lost every line so (its message ids taken for host names) while its coverage
        said "0 lines no parser knew"."""
        for st in self.stats:
            if st.foreign and not st.mail_lines:
                programs = ", ".join(f"{p} {n:,}" for p, n in st.foreign.most_common(5))
                st.warnings.append(
                    f"none of its {sum(st.foreign.values()):,} log lines is a mail "
                    f"program's (read as {st.format}: {programs}); if it is a mail log, "
                    "give its format with --log-format")
            if st.unreadable and st.unreadable + st.blank + st.continuation >= st.lines:
                self.errors.append(
                    f"{st.source}: none of its {st.lines:,} lines is a log line in a format "
                    "this reads (syslog, RFC 5424, Exim's own log, `journalctl -o json`; "
                    "not journalctl's -o json-pretty, export, cat or verbose)")

    def _events(self, plans: list[SourcePlan]) -> Iterator[pa.Table]:
        """Exim reject and panic logs given together with other logs are read first and
        held; what the main logs do not repeat comes out at the end (see `secondary`)."""
        if _pairs_secondary(plans):
            secondary = [i for i, p in enumerate(plans) if p.secondary]
            held = SecondaryLogs([t for i in secondary for t in self._source(plans[i])])
            for i, plan in enumerate(plans):
                if i not in secondary:
                    for table in self._source(plan):
                        held.observe(table)
                        yield table
            rest = held.remainder()
            if rest is not None and rest.num_rows:
                yield rest
            self.stats[0].warnings.append(
                f"{held.repeated} reject/panic log entries repeat the main log: counted once")
            return
        for plan in plans:
            yield from self._source(plan)

    def _source(self, plan: SourcePlan) -> Iterator[pa.Table]:
        stats = SourceStats(plan.name, plan.fmt, plan.compression)
        self.stats.append(stats)
        clock = None
        group = rotation_key(plan.name)[0]
        if self.options.year is not None:
            # --year is the year of the first line of each rotation set: the year walks
            # on through the set's files, and starts again in an unrelated file (another
            # host's log given on the same command line)
            known = self._year_clocks.get(group)
            clock = known.next_file() if known else SourceClock(self.options.zone,
                                                                plan.anchor)
            self._year_clocks[group] = clock
        yield from read_source(plan, self.parsers, self.options, stats, errors=self.errors,
                               clock=clock, auth=self._auth.setdefault(group, AuthLines()))
