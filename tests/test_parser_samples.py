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


def _messages_after_queue_id(path: Path, pf) -> list[str]:  # type: ignore[no-untyped-def]
    from logwatch.parse.engine import extract_queue_ids
    from logwatch.parse.header import split_header

    lines = [s.text for s in read_sample_file(path).samples]
    h, _ = split_header(pa.array(lines), None)
    msgs = h.messages()
    if pf.mta.strip:   # the prefix the engine takes off first (amavis's log id)
        import pyarrow.compute as pc
        skip = pc.extract_regex(msgs, f"^(?P<strip>{pf.mta.strip})").field("strip")
        msgs = pa.array([m[len(s):] if s else m
                         for m, s in zip(msgs.to_pylist(), skip.to_pylist())])
    if pf.queue_id is None:
        return msgs.to_pylist()
    q = pf.queue_id
    _, has, prefix = extract_queue_ids(msgs, q.separator, q.regex, q.max_length, q.none)
    return [m[int(p):] if ok else m for m, p, ok in zip(msgs.to_pylist(), prefix, has)]


@pytest.mark.parametrize("toml", sorted(PARSERS.glob("*.toml")), ids=lambda p: p.stem)
def test_a_patterns_regexes_agree_where_they_overlap(toml: Path) -> None:
    """A pattern's first, faster regexes must read a line as its general form does."""
    import pyarrow.compute as pc

    from logwatch.parse.definitions import load_parser_file

    pf = load_parser_file(toml)
    msgs = pa.array(_messages_after_queue_id(PARSERS / "samples" / f"{toml.stem}.log", pf))
    checked = 0
    for p in pf.pattern:
        if len(p.regexes) < 2:
            continue
        general = pc.extract_regex(msgs, p.regexes[-1])
        for rx in p.regexes[:-1]:
            fast = pc.extract_regex(msgs, rx)
            both = pc.and_(fast.is_valid(), general.is_valid()).to_numpy(zero_copy_only=False)
            for i in both.nonzero()[0].tolist():
                a, b = fast[i].as_py(), general[i].as_py()
                assert {k: a[k] for k in a if k in b} == {k: b[k] for k in a if k in b}, \
                    f"{p.id}: {msgs[i]}"
                checked += 1
    if any(len(p.regexes) > 1 for p in pf.pattern):
        assert checked, f"no sample line of {toml.name} is read by two regexes of a pattern"
