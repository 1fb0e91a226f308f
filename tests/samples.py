"""Read the annotated sample logs under parsers/samples/ (fail2ban's failJSON idea).

Format: comment lines start with `#`. `# options: {...}` (once, at the top) gives parse
options (`year`, `tz`, `format`, `host`); `# expect: {...}` states what the next log line
must become (one row), `# expect-rows: [{...}, ...]` when it gives several rows (Sendmail's
multi-recipient `to=`). Every log line must have an expectation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Sample", "SampleFile", "read_sample_file"]


@dataclass
class Sample:
    line_no: int          # 1-based line number of the log line in the sample file
    offset: int           # byte offset of the log line in the file
    text: str
    rows: list[dict[str, Any]]


@dataclass
class SampleFile:
    path: Path
    options: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)


def read_sample_file(path: Path) -> SampleFile:
    """Parse a sample file; raise ValueError naming the line when it is malformed."""
    out = SampleFile(path)
    pending: list[dict[str, Any]] | None = None
    offset = 0
    for no, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        line = raw.decode("utf-8")
        here = offset
        offset += len(raw) + 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped[1:].strip()
            try:
                if body.startswith("options:"):
                    out.options = json.loads(body[len("options:"):])
                elif body.startswith("expect:"):
                    pending = [json.loads(body[len("expect:"):])]
                elif body.startswith("expect-rows:"):
                    pending = json.loads(body[len("expect-rows:"):])
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{no}: bad JSON in comment: {exc}") from None
            continue
        if pending is None:
            raise ValueError(f"{path}:{no}: log line without a preceding '# expect:'")
        out.samples.append(Sample(no, here, line, pending))
        pending = None
    return out
