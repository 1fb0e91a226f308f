"""Figures as a reader reads them: counts with separators, bytes in binary units, durations
and instants in one spelling, and the exact value behind a rounded one. Shared by the HTML
page and the Markdown form, so that both print a figure the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["count", "size", "duration", "when", "display", "exact", "refused"]


def count(n: float | None) -> str:
    if n is None:
        return "–"
    return f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")


def size(n: int | None) -> str:
    """Bytes in binary units, three figures (the exact number goes beside it)."""
    if n is None:
        return "–"
    if n < 1024:
        return f"{n} B"
    value, unit = float(n), "B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024:
            break
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{count(round(seconds, 2))} s"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


def when(stamp: str | None) -> str:
    """An RFC 3339 instant as `2026-03-03 04:20:07 UTC` (other offsets kept)."""
    if not stamp:
        return "–"
    try:
        t = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    offset = t.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else " " + t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S") + zone


def refused(whom: dict[str, Any]) -> str:
    """One of whom a refusal refused, as pflogsumm lists it: with --rej-add-from, the
    sender beside it (`<>`, as pflogsumm writes both the null sender and none logged)."""
    if "sender" not in whom:
        return str(whom["value"])
    return f"{whom['value']}  ({whom['sender'] or '<>'})"


def display(value: Any, kind: str) -> str:
    """A value as the tables show it, unescaped."""
    if value is None:
        return "–"
    if kind == "count":
        return count(value)
    if kind == "bytes":
        return size(value)
    if kind == "seconds":
        return duration(value)
    if kind == "hours":
        return f"{count(value)} h"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "when":
        return when(value)
    return str(value)


def exact(value: Any, kind: str) -> str | None:
    """The figure behind a rounded one, for the tooltip."""
    if value is None:
        return None
    if kind == "bytes":
        return f"{value:,} bytes"
    if kind == "seconds" and value >= 60:
        return f"{value:,} s"
    if kind == "when":
        return str(value)
    return None
