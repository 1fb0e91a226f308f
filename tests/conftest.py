"""Shared fixtures: the repository's paths and a helper that parses files in-process."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from logwatch.pipeline import ParseOptions, ParseRun, default_parsers

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def parsers():
    return default_parsers()


def parse_events(paths: list[Path | str], **options) -> tuple[pa.Table, ParseRun]:
    """Parse files with the built-in parsers; return all events and the run (for stats)."""
    run = ParseRun([str(p) for p in paths], default_parsers(), ParseOptions(**options))
    tables = list(run.events())
    from logwatch.schema import EVENT_SCHEMA
    table = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return table, run
