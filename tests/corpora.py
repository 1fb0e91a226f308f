"""Access to the peer corpora copied under tests/data/corpora (see its README.md).

Each corpus file is parsed once per test session; rows are mapped back to the 1-based
line numbers the peers' expectations use (by byte offset).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.conftest import DATA, parse_events

__all__ = ["CORPORA", "Expectation", "expectations", "rows_by_line", "other_rate"]

CORPORA = DATA / "corpora"


@dataclass(frozen=True)
class Expectation:
    source: str
    file: str
    line: int
    mta: str
    peer_says: dict[str, Any]

    @property
    def path(self) -> Path:
        return CORPORA / self.source / self.file


def expectations(source: str, mta: str | None = None) -> Iterator[Expectation]:
    """The peer's expectations of `source`, optionally only those of one MTA."""
    with open(CORPORA / source / "expectations.jsonl", encoding="utf-8") as fh:
        for raw in fh:
            d = json.loads(raw)
            if mta is None or d["mta"] == mta:
                yield Expectation(source, d["file"], d["line"], d["mta"], d["peer_says"])


def _line_starts(path: Path) -> list[int]:
    starts, pos = [], 0
    for raw in path.read_bytes().split(b"\n"):
        starts.append(pos)
        pos += len(raw) + 1
    return starts


@lru_cache(maxsize=None)
def rows_by_line(path: Path, **options: Any) -> dict[int, list[dict[str, Any]]]:
    """Parse `path`; return its event rows keyed by 1-based line number."""
    table, _ = parse_events([path], **options)
    line_of = {off: no for no, off in enumerate(_line_starts(path), 1)}
    out: dict[int, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        out.setdefault(line_of[row["offset"]], []).append(row)
    return out


def other_rate(rows: dict[int, list[dict[str, Any]]], lines: list[int]) -> tuple[float, list[int]]:
    """Share of `lines` that gave no row or only `other` rows, and those lines."""
    bad = [n for n in lines if not rows.get(n) or all(r["event"] == "other" for r in rows[n])]
    return (len(bad) / len(lines) if lines else 0.0), bad
