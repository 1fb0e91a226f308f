"""The report's period: what was asked (`--since`, `--until`, `-d`), what of the inputs
falls in it, and where nothing does, the inputs' own times: a reader who asked for the
wrong day sees it in the first lines, not after a page of zeros.

The renderers share the wording here and bring their own spelling of instants and
numbers (the text keeps RFC 3339, the page writes `2026-03-03 04:20:07 UTC`).
"""

from __future__ import annotations

from typing import Any, Callable

from logwatch.parse.stats import SourceStats
from logwatch.report.collect import Collected, iso

__all__ = ["period_of", "asked", "empty_note", "mta_rows"]


def period_of(since: int | None, until: int | None, zone: str, collected: Collected,
              stats: list[SourceStats]) -> dict[str, Any]:
    """The `period` object. `mtas` counts the rows in the period, for every MTA read
    (0 where none of its rows falls in it); `inputs_first` and `inputs_last` bound the
    mail lines of the inputs whole, whatever the period."""
    read = {mta for st in stats for mta, _ in st.events} | set(collected.rows)
    starts = [s.first for s in collected.spans if s.first is not None]
    ends = [s.last for s in collected.spans if s.last is not None]
    return {"since": iso(since), "until": iso(until), "first": iso(collected.first),
            "last": iso(collected.last), "timezone": zone,
            "mtas": {mta: collected.rows[mta] for mta in sorted(read)},
            "empty": collected.first is None,
            "inputs_first": iso(min(starts, default=None)),
            "inputs_last": iso(max(ends, default=None))}


def asked(period: dict[str, Any], stamp: Callable[[str | None], str]) -> str:
    """`since … until …`, as far as a period was asked for ("" for none)."""
    return " ".join(f"{k} {stamp(period[k])}" for k in ("since", "until") if period[k])


def empty_note(period: dict[str, Any], stamp: Callable[[str | None], str]) -> str | None:
    """What a report with no line in its period says before any figure (None: it has
    lines)."""
    if not period["empty"]:
        return None
    if period["inputs_first"] is None:
        return "The inputs hold no mail line."
    return (f"No mail line of the inputs falls in the period asked for "
            f"({asked(period, stamp)}): their mail lines run from "
            f"{stamp(period['inputs_first'])} to {stamp(period['inputs_last'])}.")


def mta_rows(period: dict[str, Any], number: Callable[[int], str]) -> str:
    """`postfix 931 rows`, said to be the period's where one was asked for ("" where
    no MTA was read)."""
    rows = ", ".join(f"{mta} {number(n)} rows" for mta, n in period["mtas"].items())
    return rows + (" in the period" if rows and asked(period, str) else "")
