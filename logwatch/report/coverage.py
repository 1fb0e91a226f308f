"""What the report stands on: each input with its SHA-256 and time range, the holes in
time (a missing rotation shows between two files), the years that were inferred, the
lines no parser knew, and inputs that hold the same lines (whose every figure counts
them twice: said here, so that a report mailed by cron carries it). A figure nobody can
trace back to its input is not evidence.
"""

from __future__ import annotations

from typing import Any

from logwatch.parse.stats import SourceStats
from logwatch.report.collect import SourceSpan, iso
from logwatch.sources.digest import file_digest

__all__ = ["coverage"]


def _gap(a: int, b: int) -> dict[str, Any]:
    return {"from": iso(a), "to": iso(b), "hours": round((b - a) / 3.6e9, 2)}


def coverage(stats: list[SourceStats], spans: list[SourceSpan], gap_hours: float,
             errors: list[str], warnings: list[str], shapes: int = 20) -> dict[str, Any]:
    """The coverage section: per input, between inputs, years and unknown lines;
    `warnings` are about the inputs together."""
    by_source = {s.source: s for s in spans}
    files, holes, previous = [], [], None
    for st in stats:
        span = by_source.get(st.source, SourceSpan(st.source))
        other = sum(st.other_shapes.values())
        files.append({
            "source": st.source, "sha256": (file_digest(st.source) or (None,))[0],
            "format": st.format,
            "compression": st.compression, "lines": st.lines, "mail_lines": st.mail_lines,
            "unknown_lines": other, "first": iso(span.first), "last": iso(span.last),
            "gaps": [_gap(a, b) for a, b in span.gaps],
            # a clue is named only where a year was inferred (not for stamps with one)
            "years": st.clock.get("years", []),
            "year_from": st.clock.get("year_from") if st.clock.get("years") else None,
            "warnings": list(st.warnings) + list(st.clock.get("warnings", [])),
        })
        if previous is not None and previous.last is not None and span.first is not None \
                and span.first - previous.last > gap_hours * 3.6e9:
            holes.append({"after": previous.source, "before": st.source,
                          **_gap(previous.last, span.first)})
        if span.first is not None:
            previous = span
    unknown: dict[tuple[str, str, str], dict[str, Any]] = {}
    for st in stats:
        for (mta, daemon, shape), n in st.other_shapes.items():
            entry = unknown.setdefault((mta, daemon, shape), {
                "mta": mta, "daemon": daemon, "shape": shape, "count": 0,
                "example": st.other_examples.get((mta, daemon, shape), {}).get("line")})
            entry["count"] += n
    top = sorted(unknown.values(), key=lambda e: (-e["count"], e["shape"]))[:shapes]
    return {"files": files, "holes_between_files": holes, "gap_hours": gap_hours,
            "unknown_lines": sum(e["count"] for e in unknown.values()),
            "unknown_shapes": top, "warnings": list(warnings), "errors": list(errors)}
