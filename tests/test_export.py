"""`mail-logwatch export`: a dataset partitioned by UTC day that pandas and DuckDB read,
holding exactly what `parse` reads from the same input, with the provenance a forensic
finding cites; and the README's three queries answer the incidents of sample_logs/."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from logwatch import __version__
from logwatch.cli import main
from logwatch.config import load_config
from logwatch.detection import site_facts
from logwatch.enrich import enrich_messages
from logwatch.export import EXPORTED_EVENTS, export_dataset
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from tests.conftest import ROOT

CONFIG = "sample_logs/config.toml"
POSTFIX = "sample_logs/postfix/mail.log"
REC = "recordings"
#: (inputs, options) as a user would give them; every path relative to ROOT
INPUTS = {
    "postfix": ([POSTFIX], ["--year", "2026"]),
    "exim": (["sample_logs/exim/mainlog"], []),
    "sendmail": (["sample_logs/sendmail/maillog"], ["--year", "2026"]),
    "postfix-recorded": ([f"{REC}/postfix/run1-syslog/syslog-traditional.log.gz"],
                         ["--year", "2026"]),
    "exim-recorded": ([f"{REC}/exim/run2-pid-millisec/mainlog.gz",
                       f"{REC}/exim/run2-pid-millisec/rejectlog.gz"], ["--host", "mx1"]),
    "sendmail-recorded": ([f"{REC}/sendmail/run1-syslog/syslog-rfc3339.log.gz"], []),
}

_README = (ROOT / "README.md").read_text(encoding="utf-8")
_SECTION = _README.split("### Export: Parquet for DuckDB and pandas\n")[1].split(
    "### Known limits\n")[0]
SQL = re.findall(r"```sql\n(.*?)```", _SECTION, re.S)
(PANDAS,) = re.findall(r"```python\n(.*?)```", _SECTION, re.S)


def export(out: Path, files: list[str], *options: str) -> int:
    """The command in this process (the subprocess form is tested once, below)."""
    return main(["export", *[str(ROOT / f) for f in files], "--tz", "UTC",
                 "--config", str(ROOT / CONFIG), "--out", str(out), *options])


def parsed(tmp: Path, files: list[str], *options: str) -> tuple[pa.Table, pa.Table]:
    """What `mail-logwatch parse` writes for the same input: events, messages."""
    out = []
    for table in ("events", "messages"):
        path = tmp / f"parse-{table}.parquet"
        assert main(["parse", *[str(ROOT / f) for f in files], "--tz", "UTC", *options,
                     "--table", table, "--out", str(path)]) == 0
        out.append(pq.read_table(path))
    return out[0], out[1]


def dataset(out: Path, table: str) -> pa.Table:
    return ds.dataset(out / table, format="parquet", partitioning="hive").to_table()


def meta(out: Path) -> dict[str, Any]:
    return json.loads((out / "_meta.json").read_text())


def days_of(column: pa.ChunkedArray) -> Counter[str]:
    """Rows per UTC date, counted in Python, apart from the exporter's own arithmetic."""
    return Counter(ts.date().isoformat() for ts in column.to_pylist())


def partitions(out: Path, table: str) -> dict[str, int]:
    """Rows per `day=` directory, read file by file."""
    return {d.name.removeprefix("day="): sum(pq.read_metadata(f).num_rows
                                             for f in d.glob("part-*.parquet"))
            for d in sorted((out / table).iterdir())}


def sql(out: Path, query: str) -> list[tuple[Any, ...]]:
    return duckdb.sql(query.replace("'export/", f"'{out}/")).fetchall()


@pytest.fixture(scope="module")
def sample_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three MTAs' sample day, exported as the README does."""
    out = {}
    for mta in ("postfix", "exim", "sendmail"):
        files, options = INPUTS[mta]
        out[mta] = tmp_path_factory.mktemp(mta) / "export"
        assert export(out[mta], files, *options) == 0
    return out


def _two_days(path: Path) -> Path:
    """Real lines across midnight: the sample day (3 March), then what Debian's Postfix
    logged in recordings/ (29 November), dated the day after."""
    recorded = gzip.decompress(
        (ROOT / REC / "postfix/run1-syslog/syslog-traditional.log.gz").read_bytes()).decode()
    path.write_text((ROOT / POSTFIX).read_text()
                    + re.sub(r"^Nov 29 ", "Mar  4 ", recorded, flags=re.M))
    return path


def test_one_partition_per_utc_day_holding_what_parse_reads(tmp_path: Path) -> None:
    log = _two_days(tmp_path / "mail.log")
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "logwatch", "export", str(log), "--year", "2026",
                        "--tz", "UTC", "--config", CONFIG, "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "(2 days)" in r.stderr
    events, messages = parsed(tmp_path, [str(log)], "--year", "2026")
    assert sorted(p.name for p in out.iterdir()) == ["_meta.json", "events", "messages"]
    assert [str(p.relative_to(out)) for p in sorted(out.glob("events/*/*"))] == [
        "events/day=2026-03-03/part-0.parquet", "events/day=2026-03-04/part-0.parquet"]
    # the recording's 1,779 Postfix rows and Dovecot's 24 auth lines beside them, and
    # its master's start and stop
    assert partitions(out, "events") == days_of(events["ts"]) == {"2026-03-03": 1281,
                                                                   "2026-03-04": 1805}
    assert partitions(out, "messages") == days_of(messages["first_seen"])
    assert meta(out)["tables"]["events"]["days"] == partitions(out, "events")


def test_the_day_is_the_utc_date_whatever_the_zone_of_the_log(tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert main(["export", str(ROOT / POSTFIX), "--year", "2026", "--tz", "Europe/Berlin",
                 "--out", str(out), "--config", str(ROOT / CONFIG)]) == 0
    # 00:41 in Berlin is 23:41 the day before in UTC
    days = partitions(out, "events")
    assert list(days) == ["2026-03-02", "2026-03-03"] and sum(days.values()) == 1281
    late = pd.read_parquet(out / "events", filters=[("day", "=", "2026-03-02")])
    assert late["ts"].max() < pd.Timestamp("2026-03-03", tz="UTC")


@pytest.mark.parametrize("name", list(INPUTS))
def test_the_rows_are_those_of_parse(name: str, tmp_path: Path) -> None:
    files, options = INPUTS[name]
    out = tmp_path / "export"
    assert export(out, files, *options) == 0
    events, messages = parsed(tmp_path, files, *options)
    got_events, got_messages = dataset(out, "events"), dataset(out, "messages")
    assert (got_events.num_rows, got_messages.num_rows) == (events.num_rows, messages.num_rows)
    assert events.num_rows > 500 and messages.num_rows > 50

    def rows(table: pa.Table, columns: list[str]) -> list[str]:
        return sorted(map(str, table.select(columns).to_pylist()))

    line = ["source", "offset", "seq", "event", "queue_id", "session", "recipient", "status"]
    assert rows(got_events, line) == rows(events, line)
    life = ["host", "queue_id", "first_seen", "last_seen", "sender", "recipients", "status"]
    assert rows(got_messages, life) == rows(messages, life)


def test_pandas_and_duckdb_read_it_back(sample_exports: dict[str, Path]) -> None:
    out = sample_exports["postfix"]
    events = pd.read_parquet(out / "events")
    assert len(events) == 1281 and set(events["day"]) == {"2026-03-03"}
    assert str(events["ts"].dtype) == "datetime64[us, UTC]"
    assert set(EXPORTED_EVENTS.names) <= set(events.columns)
    trusted = events.loc[events["client_trusted"], "client_ip"]
    assert set(trusted) == {"127.0.0.1", "192.0.2.10"}
    shown: dict[str, Any] = {}
    exec(PANDAS.replace('"export/', f'"{out}/'), shown)   # the README's example
    assert len(shown["events"]) == 1281
    messages = pd.read_parquet(out / "messages")
    assert int(messages["relayed_external"].sum()) == 163   # alice's 150, 13 others
    assert duckdb.sql(
        f"select day, count(*) from read_parquet('{out}/events/*/*.parquet', "
        "hive_partitioning = true) group by day").fetchall() == [
        (pd.Timestamp("2026-03-03").date(), 1281)]


def test_the_readme_shows_three_queries_on_the_export() -> None:
    assert len(SQL) == 3
    assert all("read_parquet('export/" in q for q in SQL)
    assert 'read_parquet("export/' in PANDAS


@pytest.mark.parametrize("mta", ["postfix", "exim", "sendmail"])
def test_the_readme_queries_answer_the_incidents(mta: str,
                                                 sample_exports: dict[str, Path]) -> None:
    out = sample_exports[mta]
    senders, failed_then_in, bobs = (sql(out, q) for q in SQL)
    # who sent out between 15:00 and 17:00: alice's stolen password, webmail, bob
    assert [r[:5] for r in senders] == [("alice", "2001:db8:7c::25", 150, 150, 40),
                                        ("192.0.2.10", "192.0.2.10", 1, 1, 1),
                                        ("bob", "203.0.113.33", 1, 1, 1)]
    assert [t.strftime("%H:%M:%S") for t in senders[0][5:]] == ["15:30:00", "15:39:56"]
    # a guessed password: four failures for bob from 192.0.2.200, then his login
    ((ip, failures, tried, user, first_failure, login),) = failed_then_in
    assert (ip, failures, tried, user) == ("192.0.2.200", 4, ["bob"], "bob")
    assert first_failure.strftime("%H:%M:%S") == "11:40:08"
    assert login.strftime("%H:%M") == "11:43"
    # bob's mail: the login above sent one out; the slow one was deferred twice
    assert [(r[0].strftime("%H:%M:%S"), r[2], r[3], r[4], r[5], r[6], r[7], r[8])
            for r in bobs] == [
        ("09:02:16", "203.0.113.33", "bob", ["ops@partner.test"], "sent", 1, 0, 0),
        ("11:43:05", "192.0.2.200", "bob", ["invoice@example.net"], "sent", 1, 0, 0),
        ("15:52:12", "203.0.113.33", "bob", ["ops@slow.example.net"], "sent", 1, 2, 0)]
    # the servers each reached (Sendmail writes them as DNS does, with the root's dot);
    # Postfix's `relay=none` of the timeouts reached none
    assert [[h.rstrip(".") for h in r[9]] for r in bobs] == [
        ["mail.partner.test"], ["mx.example.net"], ["mx.slow.example.net"]]


def test_the_meta_file_records_provenance(sample_exports: dict[str, Path]) -> None:
    m = meta(sample_exports["postfix"])
    raw = (ROOT / POSTFIX).read_bytes()
    (entry,) = m["inputs"]
    assert entry == {"name": str(ROOT / POSTFIX), "sha256": hashlib.sha256(raw).hexdigest(),
                     "bytes": len(raw), "format": "bsd", "compression": None,
                     "lines": raw.count(b"\n")}
    assert m["version"] == __version__ and m["errors"] == []
    assert m["time_range"] == {"first": "2026-03-03T00:41:07Z", "last": "2026-03-03T23:45:45Z"}
    assert m["site"]["config"] == str(ROOT / CONFIG)
    assert m["site"]["local_domains"] == ["example.com"]
    assert not m["site"]["local_domains_inferred"]
    assert m["options"]["year"] == 2026 and m["options"]["tz"] == "UTC"
    assert m["tables"]["events"]["rows"] == 1281


def test_small_blocks_enrich_messages_as_one_batch_does(tmp_path: Path) -> None:
    """Messages finish blocks after their deliveries were written: what they are judged
    on must have been kept for them (Postfix finishes them as it goes, Sendmail at the end)."""
    cfg = load_config(ROOT / CONFIG)
    for log in (POSTFIX, "sample_logs/sendmail/maillog"):
        files = [str(ROOT / log)]
        out = tmp_path / Path(log).parent.name
        export_dataset(files, out, cfg, ParseOptions(year=2026, tz="UTC", block_size=4096))
        blocks = list(ParseRun(files, default_parsers(), ParseOptions(year=2026, tz="UTC"))
                      .correlated())
        events = pa.concat_tables([e for e, _ in blocks]).unify_dictionaries().combine_chunks()
        messages = pa.concat_tables([m for _, m in blocks]).unify_dictionaries()
        whole = enrich_messages(messages, events, site_facts(cfg, events, []))
        judged = ["queue_id", "first_seen", "recipient_domains", "recipient_local",
                  "relayed_external", "external_recipients", "first_deferred", "account"]
        assert (sorted(map(str, dataset(out, "messages").select(judged).to_pylist()))
                == sorted(map(str, whole.select(judged).to_pylist())))


def test_a_day_met_again_continues_in_the_next_part(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("logwatch.export._OPEN_DAYS", 1)
    lines = (ROOT / "sample_logs/exim/mainlog").read_text().splitlines(keepends=True)
    files = []
    for name, part, day in (("a", lines[:200], "04"), ("b", lines[200:400], "03"),
                            ("c", lines[400:], "04")):
        files.append(tmp_path / f"{name}.log")
        files[-1].write_text("".join(part).replace("2026-03-03 ", f"2026-03-{day} "))
    out = tmp_path / "export"
    assert export(out, [str(f) for f in files]) == 0
    assert sorted(str(p.relative_to(out / "events")) for p in out.glob("events/*/*")) == [
        "day=2026-03-03/part-0.parquet", "day=2026-03-04/part-0.parquet",
        "day=2026-03-04/part-1.parquet"]
    assert partitions(out, "events") == {"2026-03-03": 200, "2026-03-04": len(lines) - 200}


def test_stdin_is_exported_without_a_hash(tmp_path: Path) -> None:
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "logwatch", "export", "-", "--year", "2026",
                        "--tz", "UTC", "--config", CONFIG, "--out", str(out)],
                       input=(ROOT / POSTFIX).read_bytes(), capture_output=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert meta(out)["inputs"] == [{"name": "-", "sha256": None, "bytes": None, "format": "bsd",
                                    "compression": None, "lines": 1281}]
    assert partitions(out, "events") == {"2026-03-03": 1281}


def test_a_non_empty_directory_is_refused_unless_overwrite(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("case 4711")
    assert export(out, [POSTFIX], "--year", "2026") == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    assert export(out, [POSTFIX], "--year", "2026") == 0            # an earlier export...
    assert export(out, [POSTFIX], "--year", "2026") == 2
    assert "not empty" in capsys.readouterr().err
    assert export(out, [POSTFIX], "--year", "2026", "--overwrite") == 0   # ...is replaced
    assert sorted(p.name for p in out.iterdir()) == ["_meta.json", "events", "messages"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]   # nothing left beside


@pytest.mark.parametrize("content", ["notes", "foreign_meta", "input"])
def test_overwrite_replaces_only_an_earlier_export(tmp_path: Path, content: str,
                                                   capsys: pytest.CaptureFixture) -> None:
    """--overwrite deletes the whole directory: a case folder that is not an export (or
    an export someone put notes or the input log into) is refused and left as it was."""
    out = tmp_path / "case"
    log = out / "mail.log"
    if content == "notes":
        out.mkdir()
        (out / "notes.txt").write_text("case 4711")
    elif content == "foreign_meta":
        out.mkdir()
        (out / "_meta.json").write_text('{"tool": "something else"}')
        (out / "events").mkdir()
    else:
        assert export(out, [POSTFIX], "--year", "2026") == 0
        log.write_bytes((ROOT / POSTFIX).read_bytes())
    before = sorted((p.relative_to(out), p.read_bytes() if p.is_file() else None)
                    for p in out.rglob("*"))
    files = [str(log)] if content == "input" else [POSTFIX]
    assert export(out, files, "--year", "2026", "--overwrite") == 2
    err = capsys.readouterr().err
    assert ("holds the input" if content == "input" else "not an earlier export") in err
    assert str(out) in err and "Traceback" not in err
    after = sorted((p.relative_to(out), p.read_bytes() if p.is_file() else None)
                   for p in out.rglob("*"))
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_a_failed_export_leaves_the_directory_as_it_was(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "export"
    assert export(out, [POSTFIX], "--year", "2026") == 0
    before = meta(out)

    def crash(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("logwatch.export._Exporter.block", crash)
    assert export(out, ["sample_logs/exim/mainlog"], "--overwrite") == 130   # Ctrl-C
    assert meta(out) == before and partitions(out, "events") == {"2026-03-03": 1281}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    assert export(tmp_path / "new", [POSTFIX], "--year", "2026") == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_an_unreadable_input_is_named_and_the_rest_exported(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cut = tmp_path / "mail.log.2.gz"      # an archive cut short, as by a full disk
    cut.write_bytes(gzip.compress((ROOT / "sample_logs/sendmail/maillog").read_bytes())[:8000])
    missing = tmp_path / "mail.log.1"
    out = tmp_path / "export"
    assert export(out, [str(missing), str(cut), POSTFIX], "--year", "2026") == 2
    err = capsys.readouterr().err
    assert f"{missing}: cannot open" in err and f"{cut}: read error after" in err
    m = meta(out)
    assert len(m["errors"]) == 2
    by_name = {i["name"]: i for i in m["inputs"]}
    assert by_name[str(missing)]["sha256"] is None
    assert 0 < by_name[str(cut)]["lines"] < 668
    assert m["tables"]["events"]["rows"] > 1281 and partitions(out, "events")


def test_an_unwritable_target_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("")
    assert export(tmp_path / "file" / "export", [POSTFIX], "--year", "2026") == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_parallel_and_one_process_enrich_messages_alike(tmp_path: Path) -> None:
    """Units read in parallel hand on the messages that joining them completes; those
    must come after the unit's events, whose deliveries they are judged by: the
    content filter's re-injected copies lost their external recipients under -j 2."""
    rotated = tmp_path / "rotated"
    rotated.mkdir()
    for f in sorted((ROOT / "sample_logs" / "postfix" / "rotated").iterdir()):
        (rotated / f.name).write_bytes(f.read_bytes())
        os.utime(rotated / f.name, (1772668800, 1772668800))   # 2026-03-05: the year
    files = [str(rotated / n) for n in ("mail.log.2.gz", "mail.log.1", "mail.log")]
    cfg = load_config(ROOT / CONFIG)
    judged = ["queue_id", "first_seen", "recipient_domains", "recipient_local",
              "relayed_external", "external_recipients", "first_deferred", "account"]
    rows = []
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}"
        export_dataset(files, out, cfg, ParseOptions(tz="UTC", jobs=jobs))
        rows.append(sorted(map(str, dataset(out, "messages").select(judged).to_pylist())))
    assert rows[0] == rows[1] and len(rows[0]) > 150
    assert any("'relayed_external': True" in r for r in rows[1])
