"""What the report stands on: each input with its SHA-256 and time range, the holes in
time between two files, the rotations left out (`mail.log.3.gz` and `mail.log` given
without `.1` and `.2.gz`: size-based or hourly rotation leaves no hole in time), the
years that were inferred, the lines no parser knew, and inputs that hold the same lines
(whose every figure counts them twice: said here, so that a report mailed by cron
carries it). A figure nobody can trace back to its input is not evidence.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from logwatch.parse.stats import SourceStats
from logwatch.report.collect import SourceSpan, iso
from logwatch.sources.digest import file_digest
from logwatch.sources.rotation import missing_rotations, rotation_key

__all__ = ["coverage", "missing_names"]


def _gap(a: int, b: int) -> dict[str, Any]:
    return {"from": iso(a), "to": iso(b), "hours": round((b - a) / 3.6e9, 2)}


def missing_names(m: dict[str, Any]) -> str:
    """A run of missing rotations as a reader names it: `mail.log.1`, `mail.log.1 and
    mail.log.2`, `mail.log.1 to mail.log.5 (5 files)`."""
    if m["count"] == 1:
        return str(m["first"])
    if m["count"] == 2:
        return f"{m['first']} and {m['last']}"
    return f"{m['first']} to {m['last']} ({m['count']} files)"


def coverage(stats: list[SourceStats], spans: list[SourceSpan], gap_hours: float,
             errors: list[str], warnings: list[str], shapes: int = 20) -> dict[str, Any]:
    """The coverage section: per input, between inputs, years and unknown lines;
    `warnings` are about the inputs together. A hole lies between two files of one log
    (`stats` come in rotation order): Postfix's mail.log and Exim's mainlog given
    together are two logs, not one with a hole."""
    by_source = {s.source: s for s in spans}
    files, holes = [], []
    previous: dict[str, SourceSpan] = {}
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
        log = rotation_key(st.source)[0]
        before = previous.get(log)
        if before is not None and before.last is not None and span.first is not None \
                and span.first - before.last > gap_hours * 3.6e9:
            holes.append({"after": before.source, "before": st.source,
                          **_gap(before.last, span.first)})
        if span.first is not None:
            previous[log] = span
    unknown: dict[tuple[str, str, str], dict[str, Any]] = {}
    for st in stats:
        for (mta, daemon, shape), n in st.other_shapes.items():
            entry = unknown.setdefault((mta, daemon, shape), {
                "mta": mta, "daemon": daemon, "shape": shape, "count": 0,
                "example": st.other_examples.get((mta, daemon, shape), {}).get("line")})
            entry["count"] += n
    top = sorted(unknown.values(), key=lambda e: (-e["count"], e["shape"]))[:shapes]
    missing = [asdict(m) for m in missing_rotations([st.source for st in stats])]
    return {"files": files, "holes_between_files": holes, "missing_rotations": missing,
            "gap_hours": gap_hours,
            "unknown_lines": sum(e["count"] for e in unknown.values()),
            "unknown_shapes": top, "warnings": list(warnings), "errors": list(errors)}
