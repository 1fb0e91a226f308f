"""Read a set of log files in rotation order and turn them into event tables, block by block.

This is the one place that knows the order of the stages for a batch of files; the CLI,
the parallel runner and (later) the cron and follow modes all go through it. A source
that cannot be opened is reported and skipped: one unreadable archive must not hide the
others (exit code 2 at the end, with the file named).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from logwatch.correlate.correlator import Correlator
from logwatch.errors import SourceError
from logwatch.parse.block import BlockParser, SourceInfo
from logwatch.parse.clock import SourceClock, YearAnchor, machine_zone
from logwatch.parse.definitions import ParserSet, load_parsers
from logwatch.parse.stats import SourceStats
from logwatch.resources import data_dir
from logwatch.schema import EVENT_SCHEMA
from logwatch.secondary import SecondaryLogs, is_secondary
from logwatch.sources.blocks import BLOCK_SIZE, iter_blocks
from logwatch.sources.probe import Probe, probe_source
from logwatch.sources.rotation import rotation_key, rotation_order

__all__ = ["ParseOptions", "ParseRun", "default_parsers"]


def default_parsers() -> ParserSet:
    """The built-in parser definitions."""
    return load_parsers([data_dir("parsers")])


@dataclass
class ParseOptions:
    """Per-run choices that override what detection would decide."""

    year: int | None = None
    tz: str | None = None
    fmt: str | None = None
    host: str | None = None
    block_size: int = BLOCK_SIZE


@dataclass
class _Planned:
    name: str
    fmt: str | None
    first_instant: float | None
    gzip_mtime: float | None
    mtime: float | None


@dataclass
class ParseRun:
    """Parse `names` (in rotation order) with `parsers`; iterate `events()` once."""

    names: list[str]
    parsers: ParserSet
    options: ParseOptions = field(default_factory=ParseOptions)
    stats: list[SourceStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _plan(self) -> list[_Planned]:
        plans = []
        for name in rotation_order(self.names):
            if name == "-":
                plans.append(_Planned(name, None, None, None, None))
                continue
            try:
                probe = probe_source(name)
            except SourceError as exc:
                self.errors.append(str(exc))
                continue
            plans.append(_Planned(name, probe.fmt, probe.first_instant(),
                                  probe.opened.gzip_mtime, probe.opened.mtime))
            probe.opened.close()
        return plans

    def _anchor(self, plans: list[_Planned], i: int) -> tuple[YearAnchor, str | None]:
        """The year clue for source i, and a warning when it is only the clock."""
        if self.options.year is not None:
            return YearAnchor.from_year(self.options.year), None
        me = plans[i]
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
                "no year clue for this input (stdin?): years assumed from the clock; "
                "give --year")

    def correlated(self) -> Iterator[tuple[pa.Table, pa.Table]]:
        """Yield (events with sessions, messages completed) per block, then the rest."""
        correlator = Correlator(self.parsers)
        for table in self.events():
            yield correlator.process(table)
        yield EVENT_SCHEMA.empty_table(), correlator.finish()

    def events(self) -> Iterator[pa.Table]:
        """Yield the event tables of every source, block by block, in rotation order.

        Exim reject and panic logs given together with other logs are read first and
        held; what the main logs do not repeat comes out at the end (see `secondary`).
        """
        plans = self._plan()
        secondary = [i for i, p in enumerate(plans) if is_secondary(p.name)]
        if secondary and len(secondary) < len(plans):
            held = SecondaryLogs([t for i in secondary for t in self._source(plans, i)])
            for i in range(len(plans)):
                if i not in secondary:
                    for table in self._source(plans, i):
                        held.observe(table)
                        yield table
            rest = held.remainder()
            if rest is not None and rest.num_rows:
                yield rest
            self.stats[0].warnings.append(
                f"{held.repeated} reject/panic log entries repeat the main log: counted once")
            return
        for i in range(len(plans)):
            yield from self._source(plans, i)

    def _source(self, plans: list[_Planned], i: int) -> Iterator[pa.Table]:
        """The event tables of source i."""
        zone = self.options.tz or machine_zone()
        for plan in plans[i:i + 1]:
            try:
                probe: Probe = probe_source(plan.name)
            except SourceError as exc:
                self.errors.append(str(exc))
                continue
            fmt = self.options.fmt or probe.fmt
            anchor, warning = self._anchor(plans, i)
            stats = SourceStats(plan.name, fmt, probe.opened.compression)
            if warning:
                stats.warnings.append(warning)
            self.stats.append(stats)
            clock = SourceClock(zone, anchor)
            info = SourceInfo(plan.name, probe.fingerprint, fmt, self.options.host)
            parser = BlockParser(self.parsers, info, clock, stats)
            try:
                for block in iter_blocks(probe.stream, self.options.block_size):  # type: ignore[arg-type]
                    yield parser.parse(block)
            except (OSError, EOFError, ValueError) as exc:
                self.errors.append(f"{plan.name}: read error after {stats.lines} lines: {exc}")
            finally:
                probe.opened.close()
                stats.clock = clock.report.as_dict()
