"""Write event or message tables as Parquet, JSON lines or CSV, streaming batch by batch.

The format follows the suffix of `--out` (`-` is JSON lines on stdout), so that a cron
line reads like what it produces. Log-derived strings are written as data: JSON escapes
them, CSV quotes them; nothing here interprets them.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from logwatch.errors import UsageError

__all__ = ["TableWriter", "writer_for", "rows_as_json", "REPEATING", "plain_table",
           "refuse_input_as_output"]

#: Columns whose values repeat a lot: worth a Parquet dictionary.
REPEATING = {"host", "instance", "daemon", "program", "source", "source_fp", "relay",
              "relay_ip", "client_ip", "client_name", "helo", "sasl_method", "sasl_username",
              "sender", "recipient", "dsn", "tls_protocol", "tls_cipher", "protocol",
              "origin", "mta", "status", "commands", "transport"}


def plain_table(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, for writers that do not take them."""
    cols = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = pc.cast(col, col.type.value_type)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(type(value).__name__)


def rows_as_json(table: pa.Table) -> Iterable[str]:
    """One JSON object per row, nulls left out, times as RFC 3339 UTC."""
    for batch in plain_table(table).to_batches(max_chunksize=65536):
        for row in batch.to_pylist():
            yield json.dumps({k: v for k, v in row.items() if v is not None},
                             default=_json_default, ensure_ascii=True)


class TableWriter:
    """Accepts tables of one schema and writes them to one destination."""

    def __init__(self, kind: str, path: str, schema: pa.Schema) -> None:
        self.kind = kind
        self.path = path
        self.schema = schema
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None
        self._text: IO[str] | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        try:
            self._write(table)
        except OSError as exc:
            raise UsageError(f"--out {self.path}: cannot write: {exc.strerror or exc}") from exc

    def _write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.kind == "none":
            return
        if self.kind == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(
                    self.path, self.schema, compression="zstd",
                    # dictionary pages only where values repeat (hashing unique ids and
                    # reasons costs time for nothing), statistics only on time
                    use_dictionary=[f.name for f in self.schema if f.name in REPEATING or
                                    pa.types.is_dictionary(f.type)],
                    write_statistics=[f.name for f in self.schema
                                      if f.name in ("ts", "first_seen", "last_seen")])
            self._parquet.write_table(table)
        elif self.kind == "csv":
            plain = plain_table(_lists_as_text(table))
            if self._csv is None:
                self._csv = pacsv.CSVWriter(self.path, plain.schema)
            self._csv.write_table(plain)
        else:
            if self._text is None:
                self._text = sys.stdout if self.path == "-" else open(  # noqa: SIM115
                    self.path, "w", encoding="utf-8")
            out = self._text
            for line in rows_as_json(table):
                out.write(line)
                out.write("\n")

    def close(self) -> None:
        try:
            self._close()
        except OSError as exc:
            raise UsageError(f"--out {self.path}: cannot write: {exc.strerror or exc}") from exc

    def _close(self) -> None:
        if self.kind == "none":
            return
        if self._parquet is None and self.kind == "parquet":
            pq.write_table(self.schema.empty_table(), self.path)
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        elif self.kind == "csv" and self.rows == 0:
            pacsv.write_csv(plain_table(_lists_as_text(self.schema.empty_table())), self.path)
        if self._text is not None and self._text is not sys.stdout:
            self._text.close()
        elif self._text is sys.stdout:
            sys.stdout.flush()


def _lists_as_text(table: pa.Table) -> pa.Table:
    cols = []
    for col in table.columns:
        if pa.types.is_list(col.type):
            col = pc.binary_join(col, " ")
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def _stat_of(name: str) -> os.stat_result | None:
    """The file behind an input name (stdin: what it is redirected from), if any."""
    try:
        return os.fstat(sys.stdin.fileno()) if name == "-" else os.stat(name)
    except (OSError, ValueError):   # gone, or a stdin without a descriptor
        return None


def refuse_input_as_output(out: str, inputs: Iterable[str]) -> None:
    """Refuse an `--out` that is one of the inputs (by inode: a symbolic or hard link,
    `./x.log`, stdin redirected from it): opening it for writing would empty the log
    before it is read, and the command would still exit 0 having destroyed it."""
    if out == "-":
        return
    target = _stat_of(out)
    if target is None or not stat.S_ISREG(target.st_mode):   # new, /dev/null, a pipe
        return
    for name in inputs:
        source = _stat_of(name)
        if source is not None and os.path.samestat(source, target):
            shown = "stdin" if name == "-" else f"the input {name}"
            raise UsageError(f"--out {out}: is {shown}; writing it would destroy the log "
                             "being read")


def writer_for(out: str, schema: pa.Schema) -> TableWriter:
    """A writer chosen by `out`'s suffix: .parquet, .jsonl/.json, .csv, - (stdout), or
    /dev/null (nothing written)."""
    if out == "-":
        return TableWriter("jsonl", out, schema)
    if out == os.devnull:        # `--stats --out /dev/null`: only where the lines went
        return TableWriter("none", out, schema)
    suffix = Path(out).suffix.lower()
    kinds = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".json": "jsonl",
             ".ndjson": "jsonl", ".csv": "csv"}
    if suffix not in kinds:
        raise UsageError(f"--out {out}: unknown output type {suffix or '(no suffix)'}; "
                         "use .parquet, .jsonl, .csv or -")
    return TableWriter(kinds[suffix], out, schema)
