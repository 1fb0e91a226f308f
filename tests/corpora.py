"""Access to the peer corpora copied under tests/data/corpora (see its README.md).

Each corpus file is parsed once per test session; rows are mapped back to the 1-based
line numbers the peers' expectations use (by byte offset).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, parse_events

__all__ = ["CORPORA", "Expectation", "expectations", "rows_by_line", "other_rate", "peer_ip",
           "line_text", "describe", "cases_saying", "known_rows", "GROK", "GROK_DAEMONS",
           "GROK_FRAGMENTS", "grok_pattern", "grok_messages", "write_grok_log"]

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


def line_text(path: Path, line: int) -> str:
    """The 1-based `line` of `path`, for failure messages that show what was parsed."""
    return path.read_bytes().split(b"\n")[line - 1].decode("utf-8", "replace").rstrip("\r")


def peer_ip(text: str | None) -> str | None:
    """A peer's address in our normal form: peers keep brackets, `IPv6:` and long forms."""
    if text is None:
        return None
    t = text.strip().strip("[]")
    t = t[5:] if t.lower().startswith("ipv6:") else t
    try:
        return ipaddress.ip_address(t).compressed
    except ValueError:
        return t


DESCRIBED = ("event", "pattern", "queue_id", "client_ip", "client_name", "sender", "recipient",
             "relay", "status", "reason")


def describe(rows: list[dict[str, Any]]) -> str:
    """The telling columns of `rows`, for failure messages."""
    return "; ".join(str({k: r.get(k) for k in DESCRIBED if r.get(k) is not None})
                     for r in rows)


def cases_saying(exps: Iterable[Expectation], key: str) -> list[Any]:
    """Test parameters for the expectations in which the peer says `key`, named by line."""
    return [pytest.param(e, id=f"{Path(e.file).name}:{e.line}") for e in exps
            if key in e.peer_says]


def known_rows(e: Expectation, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of `e`'s line that are not `other`; failing the test if there are none."""
    known = [r for r in rows if r["event"] != "other"]
    assert known, f"{e.file}:{e.line} not parsed: {line_text(e.path, e.line)}"
    return known


# --- postfix-grok-patterns: messages without a syslog header -------------------------------

GROK = CORPORA / "postfix-grok-patterns"
#: Grok patterns whose test data is a fragment of a message, not a message: the 12 the
#: corpora README lists, and relay_0001 (`1.example.com.si[private/dovecot-lmtp]`), which
#: its yaml describes as derived from the key-value data after expansion.
GROK_FRAGMENTS = ("POSTFIX_TLS_FEATURES", "POSTFIX_COMMAND_COUNTER_DATA", "POSTFIX_DELAYS",
                  "POSTFIX_RELAY")
#: grok pattern name -> Postfix daemon name, where not just the lower-cased name
GROK_DAEMONS = {"SCRIPT": "postfix-script", "TRIVIAL_REWRITE": "trivial-rewrite"}


def grok_pattern(e: Expectation) -> str:
    """The POSTFIX_* grok pattern an expectation tests."""
    m = re.search(r"%\{(POSTFIX_\w+)\}", e.peer_says["pattern"])
    assert m, e.peer_says["pattern"]
    return m.group(1)


def grok_messages() -> list[Expectation]:
    """The expectations whose test data is a whole message."""
    return [e for e in expectations("postfix-grok-patterns", "postfix")
            if grok_pattern(e) not in GROK_FRAGMENTS]


def write_grok_log(path: Path) -> dict[str, int]:
    """The peer's messages under a syslog header naming their daemon (the test data has
    none, and a reader needs one to know the program); returns yaml -> line number."""
    messages = (GROK / "messages.log").read_text(encoding="utf-8").split("\n")
    lines, where = [], {}
    for e in grok_messages():
        name = grok_pattern(e).removeprefix("POSTFIX_")
        daemon = GROK_DAEMONS.get(name, name.lower())
        lines.append(f"Jan  1 00:00:00 mx postfix/{daemon}[1]: {messages[e.line - 1]}")
        where[e.peer_says["source_yaml"]] = len(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where
