"""Alerts for a terminal or a cron mail: what pages first, the background as a digest.

Everything that came from a log (keys, summaries, evidence lines) goes through
`for_terminal`: a sender address can carry escape sequences.
"""

from __future__ import annotations

from logwatch.alerts import Alert, rfc3339
from logwatch.rules_engine.model import severity_rank
from logwatch.sanitize import for_terminal, placed_line

__all__ = ["alerts_text"]

#: Severities shown in full; below this, one line each in the digest.
FULL_FROM = "medium"
#: Evidence lines shown per alert in full.
EVIDENCE_SHOWN = 5


def _full(a: Alert) -> list[str]:
    key = ", ".join(f"{k}={v}" for k, v in a.key.items()) or "-"
    out = [f"[{a.severity.upper()}] {a.title}",
           f"  {for_terminal(a.summary)}",
           f"  rule {a.rule}, key {for_terminal(key)}, {rfc3339(a.first_us)} .. "
           f"{rfc3339(a.last_us)}, id {a.id}"]
    if a.false_positives:
        out.append(f"  could also be: {for_terminal('; '.join(a.false_positives))}")
    for e in a.evidence[:EVIDENCE_SHOWN]:
        text = e.line if e.line is not None else "(not readable again)"
        out.append(f"    {placed_line(e.source, e.offset, text)}")
    more = a.evidence_total - min(len(a.evidence), EVIDENCE_SHOWN)
    if more > 0:
        out.append(f"    ... {more} more lines")
    return out


def alerts_text(alerts: list[Alert]) -> str:
    full = [a for a in alerts if severity_rank(a.severity) >= severity_rank(FULL_FROM)]
    digest = [a for a in alerts if severity_rank(a.severity) < severity_rank(FULL_FROM)]
    lines: list[str] = []
    for a in full:
        lines += _full(a) + [""]
    if digest:
        lines.append(f"Digest: {len(digest)} low-severity alerts (the internet's background)")
        for a in digest:
            lines.append(f"  {rfc3339(a.first_us)} {a.rule}: {for_terminal(a.summary)}")
        lines.append("")
    if not alerts:
        lines += ["No alerts.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
