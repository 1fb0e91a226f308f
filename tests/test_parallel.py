"""Parsing in several processes gives what one process gives."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import logwatch.parallel
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers, plan_sources
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A generated busy-server log cut into a rotated set: mail.log.2.gz, mail.log.1,
    mail.log (the middle file large enough to be cut into windows)."""
    d = tmp_path_factory.mktemp("par")
    whole = d / "all.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    "90000", "--out", str(whole), "--quiet"], check=True)
    lines = whole.read_bytes().splitlines(keepends=True)
    parts = [lines[:20000], lines[20000:70000], lines[70000:]]
    with gzip.open(d / "mail.log.2.gz", "wb") as fh:
        fh.writelines(parts[0])
    (d / "mail.log.1").write_bytes(b"".join(parts[1]))
    (d / "mail.log").write_bytes(b"".join(parts[2]))
    whole.unlink()
    return [d / "mail.log", d / "mail.log.1", d / "mail.log.2.gz"]


def _parse(paths: list[Path], jobs: int, messages: bool = True
           ) -> tuple[pa.Table, pa.Table, ParseRun]:
    run = ParseRun([str(p) for p in paths], default_parsers(),
                   ParseOptions(tz="UTC", year=None, jobs=jobs, messages=messages))
    events, messages = [], []
    for ev, msg in run.correlated():
        events.append(ev)
        messages.append(msg)
    return pa.concat_tables(events), pa.concat_tables(messages), run


def _plain(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_windows_and_files_in_parallel_equal_one_process(logs: list[Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 1 << 20)  # cut mail.log.1 into windows
    ev1, msg1, run1 = _parse(logs, 1)
    ev2, msg2, run2 = _parse(logs, 2)
    plans, _ = plan_sources([str(p) for p in logs], ParseOptions(tz="UTC"))
    units = logwatch.parallel.plan_units(plans, ParseOptions(tz="UTC"))
    assert len(units) > 4  # the plain file really was cut
    assert ev1.num_rows == ev2.num_rows > 80000
    assert _plain(ev1) == _plain(ev2)
    order = [("host", "ascending"), ("queue_id", "ascending"), ("first_seen", "ascending")]
    assert _plain(msg1.sort_by(order)) == _plain(msg2.sort_by(order))
    assert [s.as_dict() for s in run1.stats] == [s.as_dict() for s in run2.stats]


def test_sessions_without_messages_are_the_same_sessions(logs: list[Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`parse` writing events correlates sessions only: the events must not change, in
    one process or in windows joined through the pending sessions."""
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 1 << 20)
    ev, msg, _ = _parse(logs, 1)
    assert msg.num_rows > 5000 and ev.column("session").null_count < ev.num_rows // 2
    for jobs in (1, 2):
        ev_only, none, _ = _parse(logs, jobs, messages=False)
        assert none.num_rows == 0
        assert _plain(ev_only) == _plain(ev)


def test_parallel_parse_to_parquet_from_the_command_line(logs: list[Path], tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"events-{jobs}.parquet"
        subprocess.run([sys.executable, "-m", "logwatch", "parse", *map(str, logs), "--tz", "UTC",
                        "-j", jobs, "--out", str(out)], check=True, cwd=ROOT)
        outs.append(out)
    a, b = (pq.read_table(o) for o in outs)
    assert a.num_rows == b.num_rows and a.to_pylist() == b.to_pylist()


#: one line of each shape whose stamp names no zone, read in the source's zone
FOLD_SHAPES = {
    "exim": "{stamp:%Y-%m-%d %H:%M:%S} [{pid}] Start queue run: pid={pid}",
    "iso_syslog": "{stamp:%Y-%m-%d %H:%M:%S} mx1 postfix/smtpd[{pid}]: "
                  "connect from unknown[203.0.113.7]",
    "bsd": "{stamp:%b %d %H:%M:%S} mx1 postfix/smtpd[{pid}]: connect from unknown[203.0.113.7]",
}


@pytest.mark.parametrize("shape", sorted(FOLD_SHAPES))
def test_no_window_starts_in_the_hour_dst_repeats(tmp_path: Path, shape: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain Exim or ISO-syslog log cut for two processes inside the hour repeated
    when DST ends read every row from the cut to 03:00 an hour early (found by review:
    94,499 rows of a 38 MB Exim mainlog in Berlin): no window starts in that hour, for
    any stamp without a zone. A line every 4 s, 2026-10-25 00:30 CEST to 03:30 CET."""
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 24, 22, 30, tzinfo=timezone.utc)
    instants = [start + timedelta(seconds=4 * k) for k in range(4 * 900)]
    path = tmp_path / ("mainlog" if shape == "exim" else "mail.log")
    path.write_text("".join(FOLD_SHAPES[shape].format(stamp=t.astimezone(tz), pid=1000 + k % 9000)
                            + "\n" for k, t in enumerate(instants)))
    when = (start + timedelta(days=1)).timestamp()      # the year of year-less stamps
    os.utime(path, (when, when))
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 32 << 10)
    monkeypatch.setattr(logwatch.parallel, "MIN_SPLIT", 32 << 10)
    options = ParseOptions(tz="Europe/Berlin", jobs=2)
    plans, _ = plan_sources([str(path)], options)
    assert plans[0].fmt == shape
    assert len(logwatch.parallel.plan_units(plans, options)) > 4
    for jobs in (1, 2):
        run = ParseRun([str(path)], default_parsers(), replace(options, jobs=jobs))
        events = pa.concat_tables(ev for ev, _ in run.correlated())
        assert events.column("ts").to_pylist() == instants, jobs


def test_auth_lines_are_paired_across_the_cuts_of_one_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login counts the refusals its Dovecot connection had before it, and Postfix's
    failure takes the name Dovecot's line gave it 2 s before: pairs a cut between byte
    windows used to separate (a re-review: `-j 2` gave the login none). Parsed in two
    processes, every pair is found, as in one."""
    start = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
    lines = []
    for k in range(600):
        t = start + timedelta(seconds=40 * k)
        ip, session = f"198.51.100.{k % 200 + 1}", f"S{k:06d}AAAAAAAAA"
        lines += [f"{(t + timedelta(seconds=6 * i)).isoformat()} mx1 dovecot: auth: "
                  f"passwd-file(u{k},{ip},<{session}>): Password mismatch" for i in range(4)]
        lines.append(f"{(t + timedelta(seconds=30)).isoformat()} mx1 dovecot: imap-login: "
                     f"Login: user=<u{k}>, method=PLAIN, rip={ip}, lip=192.0.2.1, "
                     f"mpid={k}, TLS, session=<{session}>")
        lines += [f"{(t + timedelta(seconds=32)).isoformat()} mx1 dovecot: auth: "
                  f"passwd-file(v{k},203.0.113.{k % 200 + 1}): unknown user",
                  f"{(t + timedelta(seconds=34)).isoformat()} mx1 postfix/smtpd[{k}]: "
                  f"warning: unknown[203.0.113.{k % 200 + 1}]: SASL LOGIN authentication "
                  "failed: UGFzc3dvcmQ6"]
    path = tmp_path / "mail.log"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 16 << 10)
    monkeypatch.setattr(logwatch.parallel, "MIN_SPLIT", 16 << 10)
    options = ParseOptions(tz="UTC", jobs=2)
    plans, _ = plan_sources([str(path)], options)
    assert len(logwatch.parallel.plan_units(plans, options)) > 8
    for jobs in (1, 2):
        run = ParseRun([str(path)], default_parsers(), replace(options, jobs=jobs))
        events = pa.concat_tables(ev for ev, _ in run.correlated()).to_pylist()
        logins = [r["auth_attempts"] for r in events if r["event"] == "auth_success"]
        named = [r["sasl_username"] for r in events if r["event"] == "auth_failure"]
        assert (logins, named) == ([4] * 600, [f"v{k}" for k in range(600)]), jobs
