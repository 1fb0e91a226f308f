"""Events and messages as a Parquet dataset partitioned by day, for DuckDB and pandas.

The layout is Hive's (`events/day=2026-03-03/part-0.parquet`), which both read without
being told: `day` is the UTC date of `ts` (events) or `first_seen` (messages), so that a
query for a time window touches only the days it needs, wherever the server stood.

Blocks go to disk as correlation hands them over, so months of archives take the memory
of a block or two. That rules out the enriched columns that need rows from elsewhere in
the input: a session's AUTH counter against failure lines in another block
(`auth_failures`, `logins`) and the message an event belongs to (`message_sender`,
`message_origin`: a message is only known once it is over, after its events were
written; join on `host, instance, queue_id` with `ts` between `first_seen` and
`last_seen` instead). Messages do get all theirs: the delivery rows they need are held
until their lifetime is written (`_Deliveries`).

Nothing is mixed or half-written: a non-empty target is refused unless replacing it was
asked for, the dataset grows in a hidden sibling directory and is renamed into place
once complete, and `_meta.json` beside the tables says what went in (file hashes, lines,
time range, site facts, tool version): the provenance a forensic finding has to cite.
"""

from __future__ import annotations

import json
import platform
import shutil
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch import __version__
from logwatch.config import Config
from logwatch.detection import site_facts
from logwatch.enrich import ENRICHED_MESSAGES, EVENT_COLUMNS, enrich_events, enrich_messages
from logwatch.errors import UsageError
from logwatch.output import TableWriter, plain_table
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.sanitize import for_terminal
from logwatch.schema import EVENT_SCHEMA
from logwatch.sitefacts import SiteFacts
from logwatch.sources.digest import file_digest

__all__ = ["ExportResult", "export_dataset", "EXPORTED_EVENTS", "EXPORTED_MESSAGES",
           "META_NAME"]

#: Enriched event columns whose value depends on rows outside the block (see above).
_NEEDS_CONTEXT = frozenset({"auth_failures", "logins", "message_sender", "message_origin"})

EXPORTED_EVENTS = pa.schema(list(EVENT_SCHEMA) + [
    pa.field(n, t) for n, t in EVENT_COLUMNS.items() if n not in _NEEDS_CONTEXT])
EXPORTED_MESSAGES = ENRICHED_MESSAGES

META_NAME = "_meta.json"

#: Per table, the column whose UTC date names the partition.
_DAY_OF = {"events": "ts", "messages": "first_seen"}
#: The partition Hive, pyarrow and DuckDB read as a null `day` (the schema's rows always
#: have a time; were one to come without, it is still not dropped).
_NULL_DAY = "__HIVE_DEFAULT_PARTITION__"
#: Open Parquet files per table; archives read in rotation order touch a day or two at a
#: time, so this is only reached by messages that straggle far behind.
_OPEN_DAYS = 32
_KEYS = ["host", "instance", "queue_id"]


class _DayFiles:
    """One table's `day=YYYY-MM-DD/part-N.parquet` files, written a block at a time.

    A day whose file was closed to bound the open files continues in the next part.
    """

    def __init__(self, root: Path, schema: pa.Schema, day_of: str) -> None:
        self.root = root
        self.schema = schema
        self.day_of = day_of
        self.rows: dict[str, int] = {}
        self._open: OrderedDict[str, TableWriter] = OrderedDict()
        self._parts: dict[str, int] = {}
        root.mkdir()

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        # the schema's times are UTC, so their date is the UTC date (and far cheaper
        # than formatting every row)
        days = pc.dictionary_encode(pc.cast(table.column(self.day_of), pa.date32()),
                                    null_encoding="encode").combine_chunks()
        for i, day in enumerate(days.dictionary.to_pylist()):
            name = _NULL_DAY if day is None else day.isoformat()
            part = table if len(days.dictionary) == 1 else table.filter(
                pc.equal(days.indices, i))
            self._writer(name).write(part)
            self.rows[name] = self.rows.get(name, 0) + part.num_rows

    def _writer(self, day: str) -> TableWriter:
        if day in self._open:
            self._open.move_to_end(day)
            return self._open[day]
        if len(self._open) >= _OPEN_DAYS:
            self._open.popitem(last=False)[1].close()
        n = self._parts.get(day, 0)
        self._parts[day] = n + 1
        directory = self.root / f"day={day}"
        directory.mkdir(exist_ok=True)
        writer = self._open[day] = TableWriter("parquet", str(directory / f"part-{n}.parquet"),
                                               self.schema)
        return writer

    def close(self) -> None:
        while self._open:
            self._open.popitem(last=False)[1].close()


class _Deliveries:
    """The delivery rows of message lifetimes not yet written.

    `enrich_messages` judges a message by its deliveries (status per accepted recipient),
    which were read in earlier blocks than the one that finishes it. A lifetime is
    written once, after every row of it was seen, and lifetimes of one id finish in
    order: once one is written, the id's rows up to its end are done with.
    """

    _COLUMNS = ["host", "instance", "queue_id", "ts", "event", "recipient", "orig_recipient",
                "status"]

    def __init__(self) -> None:
        self._held = plain_table(EVENT_SCHEMA.empty_table().select(self._COLUMNS))

    def add(self, events: pa.Table) -> None:
        # plain strings: each block has its own dictionaries
        narrow = plain_table(events.select(self._COLUMNS))
        rows = narrow.filter(pc.equal(narrow.column("event"), "delivery"))
        if rows.num_rows:
            self._held = pa.concat_tables([self._held, rows]).combine_chunks()

    @property
    def table(self) -> pa.Table:
        return self._held

    def forget(self, written: pa.Table) -> None:
        held = self._held
        if not held.num_rows or not written.num_rows:
            return
        ends = pa.table({**{k: pc.fill_null(written.column(k), "") for k in _KEYS},
                         "end": written.column("last_seen")}).group_by(
            _KEYS, use_threads=False).aggregate([("end", "max")])
        rows = pa.table({**{k: pc.fill_null(held.column(k), "") for k in _KEYS},
                         "i": pa.array(np.arange(held.num_rows)), "ts": held.column("ts")})
        j = rows.join(ends, keys=_KEYS, join_type="inner", use_threads=False)
        done = j.filter(pc.less_equal(j.column("ts"), j.column("end_max"))).column("i")
        keep = np.ones(held.num_rows, bool)
        keep[done.to_numpy()] = False
        self._held = held.filter(pa.array(keep))


@dataclass
class ExportResult:
    """What was written, and what went wrong on the way (unreadable inputs)."""

    out: Path
    meta: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


#: What an export writes at the top of its directory, and nothing else.
_EXPORT_ENTRIES = frozenset({META_NAME, "events", "messages"})


def _not_an_export(out: Path) -> str | None:
    """Why the directory `out` is not one an export wrote (None: it is one). --overwrite
    deletes the whole directory: only a dataset this tool wrote may go, never a case
    folder of notes and logs that happens to be named."""
    other = sorted(p.name for p in out.iterdir() if p.name not in _EXPORT_ENTRIES)
    if other:
        shown = ", ".join(for_terminal(n) for n in other[:3]) + (", ..." if other[3:] else "")
        return f"it holds {shown}, which no export writes"
    try:
        meta = json.loads((out / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"it has no readable {META_NAME}"
    if not isinstance(meta, dict) or meta.get("tool") != "mail-logwatch":
        return f"its {META_NAME} was not written by mail-logwatch"
    return None


def _input_inside(out: Path, files: list[str]) -> str | None:
    """The first input that lives in `out` (replacing `out` would delete it)."""
    for name in files:
        try:
            if name != "-" and Path(name).resolve().is_relative_to(out):
                return name
        except (OSError, RuntimeError):   # a link loop: not in `out` either
            continue
    return None


def _refuse_mixing(out: Path, overwrite: bool, files: list[str]) -> None:
    """Two exports in one directory would look like one dataset of both: refuse it; and
    replace only an earlier export that holds none of the inputs."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise UsageError(f"--out {out}: directory is not empty; give --overwrite to replace "
                         "it (an export is never mixed with another)")
    inside = _input_inside(out, files)
    if inside is not None:
        raise UsageError(f"--out {out}: holds the input {for_terminal(inside)}; "
                         "--overwrite would delete it")
    why = _not_an_export(out)
    if why is not None:
        raise UsageError(f"--out {out}: not an earlier export ({why}); --overwrite "
                         "replaces only a directory an export wrote")


def _fingerprint(name: str) -> dict[str, Any]:
    """SHA-256 and size of an input as it stood when the export began; none for stdin
    and pipes, which the parser is to read and hashing would drain."""
    digest = file_digest(name)
    return {"name": name, "sha256": digest[0] if digest else None,
            "bytes": digest[1] if digest else None}


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat().replace("+00:00", "Z")


class _Exporter:
    """Enrich and write the blocks of one run into `root`."""

    def __init__(self, root: Path, cfg: Config) -> None:
        self.cfg = cfg
        self.events = _DayFiles(root / "events", EXPORTED_EVENTS, _DAY_OF["events"])
        self.messages = _DayFiles(root / "messages", EXPORTED_MESSAGES, _DAY_OF["messages"])
        self.deliveries = _Deliveries()
        self.facts: SiteFacts | None = None
        self.warnings: list[str] = []
        self.first: datetime | None = None
        self.last: datetime | None = None

    def _facts(self, events: pa.Table) -> SiteFacts:
        """Judged once, so that one export answers the same everywhere: without local
        domains in the config, they are inferred from the first block of events."""
        if self.facts is None:
            self.facts = site_facts(self.cfg, events, self.warnings)
        return self.facts

    def block(self, events: pa.Table, done: pa.Table) -> None:
        if events.num_rows:
            events = events.combine_chunks()
            rich = enrich_events(events, self._facts(events))
            self.events.write(rich.select(EXPORTED_EVENTS.names))
            self.deliveries.add(events)
            span = pc.min_max(events.column("ts")).as_py()
            self.first = span["min"] if self.first is None else min(self.first, span["min"])
            self.last = span["max"] if self.last is None else max(self.last, span["max"])
        if done.num_rows:
            facts = self._facts(EVENT_SCHEMA.empty_table())
            self.messages.write(enrich_messages(done, self.deliveries.table, facts))
            self.deliveries.forget(done)

    def close(self) -> None:
        self.events.close()
        self.messages.close()


def _meta(run: ParseRun, exporter: _Exporter, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    stats = {s.source: s for s in run.stats}
    for entry in inputs:
        s = stats.get(entry["name"])
        entry.update(format=s.format if s else None, compression=s.compression if s else None,
                     lines=s.lines if s else None)
    facts = exporter.facts or SiteFacts.from_config(exporter.cfg.site, exporter.cfg.allow)
    o = run.options
    return {
        "tool": "mail-logwatch", "version": __version__,
        "pyarrow": pa.__version__, "python": platform.python_version(),
        "created": _iso(datetime.now(UTC)),
        "inputs": inputs,
        "errors": run.errors,
        "options": {"year": o.year, "tz": o.zone, "log_format": o.fmt, "host": o.host},
        "site": {"config": exporter.cfg.origin and str(exporter.cfg.origin),
                 "local_domains": list(facts.local),
                 "local_domains_inferred": facts.inferred,
                 "relay_domains": list(facts.relay),
                 "trusted_networks": [str(n) for n in facts.trusted]},
        "time_range": {"first": _iso(exporter.first), "last": _iso(exporter.last)},
        "partitioning": {"flavor": "hive", "column": "day", "zone": "UTC", "from": _DAY_OF},
        "tables": {files.root.name: {"rows": sum(files.rows.values()),
                                     "days": dict(sorted(files.rows.items()))}
                   for files in (exporter.events, exporter.messages)},
        "left_out": {"events": sorted(_NEEDS_CONTEXT)},
        "warnings": exporter.warnings,
    }


def _swap_in(tmp: Path, out: Path, overwrite: bool, files: list[str]) -> None:
    """Put the finished dataset where it was asked for; only then drop the old one."""
    _refuse_mixing(out, overwrite, files)   # again: something may have written there meanwhile
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old)


def export_dataset(files: list[str], out: Path, cfg: Config, options: ParseOptions,
                   overwrite: bool = False) -> ExportResult:
    """Parse, correlate and enrich `files`, and write them as a dataset at `out`.

    An input that cannot be read is named in `errors` and the others are exported.
    """
    target = out.resolve()   # `.` and symbolic links: replace what they point at
    _refuse_mixing(target, overwrite, files)
    tmp = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()   # beside `out`, so that the final rename stays on one file system
    except OSError as exc:
        raise _unwritable(out, exc) from exc
    try:
        inputs = [_fingerprint(name) for name in dict.fromkeys(files)]
        run = ParseRun(files, default_parsers(), options)
        exporter = _Exporter(tmp, cfg)
        try:
            for events, done in run.correlated():
                exporter.block(events, done)
        finally:
            exporter.close()
        exporter.warnings += run.warnings
        for s in run.stats:
            exporter.warnings += [f"{s.source}: {w}" for w in s.warnings]
        meta = _meta(run, exporter, inputs)
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=True) + "\n",
                                     encoding="utf-8")
        _swap_in(tmp, target, overwrite, files)
    except OSError as exc:   # reading errors are the pipeline's: these are the dataset's
        shutil.rmtree(tmp, ignore_errors=True)
        raise _unwritable(out, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out, meta, run.errors, exporter.warnings)


def _unwritable(out: Path, exc: OSError) -> UsageError:
    where = f" ({exc.filename})" if exc.filename else ""
    return UsageError(f"--out {out}: cannot write{where}: {exc.strerror or exc}")
