"""Alerts: the `detect` output contract (DESIGN.md), one per incident.

`id` is stable for one incident (rule, key and when it began), so that the cron and
follow modes and a re-run over the same files name the same incident the same way and
notifications can be deduplicated on it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["Alert", "Evidence", "alert_id", "rfc3339"]


def rfc3339(us: int) -> str:
    """UTC, `Z`, microseconds only when there are any."""
    dt = datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)
    text = dt.isoformat(timespec="microseconds" if us % 1_000_000 else "seconds")
    return text.replace("+00:00", "Z")


def alert_id(rule: str, key: dict[str, Any], first_us: int) -> str:
    raw = json.dumps([rule, key, first_us], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Evidence:
    source: str
    offset: int
    line: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "offset": self.offset, "line": self.line}


@dataclass
class Alert:
    rule: str
    title: str
    severity: str
    key: dict[str, Any]
    first_us: int
    last_us: int
    count: int
    summary: str
    evidence: list[Evidence]
    evidence_total: int
    details: dict[str, Any] = field(default_factory=dict)
    #: the rule's known false positives: what else the reader should rule out first
    false_positives: list[str] = field(default_factory=list)
    #: the sources all its lines were read from (not only the evidence shown)
    sources: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return alert_id(self.rule, self.key, self.first_us)

    def as_dict(self) -> dict[str, Any]:
        """The contract's fields first, then ours (`title`, `details`, `false_positives`)."""
        return {"id": self.id, "rule": self.rule, "severity": self.severity, "key": self.key,
                "first_seen": rfc3339(self.first_us), "last_seen": rfc3339(self.last_us),
                "count": self.count, "summary": self.summary,
                "evidence": [e.as_dict() for e in self.evidence],
                "evidence_total": self.evidence_total, "title": self.title,
                "details": self.details, "false_positives": self.false_positives}
