"""Every pattern of every parser definition against its annotated sample log.

One test per sample line (so a failure names the line), plus one per parser file that
fails when a pattern has no sample at all ("regex has no samples", as fail2ban says).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from logwatch.resources import data_dir
from tests.conftest import parse_events
from tests.samples import read_sample_file

PARSERS = data_dir("parsers")
SAMPLE_FILES = sorted((PARSERS / "samples").glob("*.log"))


def _sample_cases() -> list[Any]:
    cases = []
    for path in SAMPLE_FILES:
        sf = read_sample_file(path)
        for s in sf.samples:
            cases.append(pytest.param(path, s.offset, s.rows, id=f"{path.stem}:{s.line_no}"))
    return cases


_cache: dict[Path, pa.Table] = {}


def _rows_of(path: Path) -> pa.Table:
    if path not in _cache:
        sf = read_sample_file(path)
        opts = {"tz": "UTC", "year": 2025, **sf.options}
        _cache[path], _ = parse_events([path], **opts)
    return _cache[path]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@pytest.mark.parametrize("path,offset,expected", _sample_cases())
def test_sample_line(path: Path, offset: int, expected: list[dict[str, Any]]) -> None:
    table = _rows_of(path)
    rows = [r for r in table.to_pylist() if r["offset"] == offset]
    assert len(rows) == len(expected), f"{len(rows)} rows for the line, expected {len(expected)}"
    for got, want in zip(rows, expected):
        for key, value in want.items():
            assert _plain(got[key]) == value, f"{key}: got {got[key]!r}, expected {value!r}"


@pytest.mark.parametrize("toml", sorted(PARSERS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_pattern_has_a_sample(toml: Path) -> None:
    sample = PARSERS / "samples" / f"{toml.stem}.log"
    assert sample.exists(), f"{toml.name} has no sample log {sample}"
    from logwatch.parse.definitions import load_parser_file

    pf = load_parser_file(toml)
    used = set(_rows_of(sample).column("pattern").to_pylist())
    missing = [p.id for p in pf.pattern if f"{pf.mta.name}:{p.id}" not in used]
    assert not missing, f"patterns without a sample line in {sample.name}: {missing}"
