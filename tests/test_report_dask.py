"""`report --executor dask`: the files are parsed on a Dask cluster's workers (here a
`distributed.LocalCluster` of two worker processes), joined through the mergeable
correlation state, and the JSON is byte for byte the local run's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

ROTATED = ROOT / "sample_logs" / "postfix" / "rotated"
#: the files' time (their year clue; git does not keep it): 2026-03-03 23:30 UTC
MTIME = 1772580600


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as c:
        yield c


@pytest.fixture
def rotated(tmp_path: Path) -> list[str]:
    """mail.log.2.gz, mail.log.1, mail.log: messages that span two files."""
    names = []
    for f in sorted(ROTATED.iterdir()):
        dst = tmp_path / f.name
        shutil.copyfile(f, dst)
        os.utime(dst, (MTIME, MTIME))
        names.append(str(dst))
    return names


def _report(files: list[str], *extra: str) -> bytes:
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--format", "json",
                           "--config", str(ROOT / "sample_logs" / "config.toml"), *extra,
                           *files], capture_output=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_a_dask_run_gives_the_local_runs_json_byte_for_byte(cluster: object,
                                                            rotated: list[str]) -> None:
    local = _report(rotated, "-j", "1")
    dask = _report(rotated, "--executor", "dask", "--scheduler",
                   cluster.scheduler_address)  # type: ignore[attr-defined]
    assert dask == local
    prefixes = set(cluster.scheduler.task_prefixes)  # type: ignore[attr-defined]
    assert "run_unit" in prefixes, prefixes           # the workers did the parsing
    assert json.loads(local)["totals"]["received"] > 100   # a real report, not an empty one


def test_a_message_spanning_two_files_stays_one_message(cluster: object,
                                                        rotated: list[str]) -> None:
    whole = json.loads(_report(rotated, "--executor", "dask", "--scheduler",
                               cluster.scheduler_address))  # type: ignore[attr-defined]
    apart = [json.loads(_report([f], "-j", "1")) for f in rotated]
    # read apart, a message whose lines are in two files is two partial messages
    assert whole["totals_unique"]["received"] <= sum(
        a["totals_unique"]["received"] for a in apart)
    assert whole["totals"]["delivered"] == sum(a["totals"]["delivered"] for a in apart)


def test_an_unreachable_scheduler_is_a_usage_error(rotated: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--executor", "dask",
                           "--scheduler", "tcp://127.0.0.1:9", *rotated],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "--scheduler tcp://127.0.0.1:9" in done.stderr


def test_year_and_dask_are_refused_together(rotated: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "logwatch", "report", "--executor", "dask",
                           "--scheduler", "tcp://127.0.0.1:9", "--year", "2026", *rotated],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "does not go with --executor dask" in done.stderr
