"""`parse --explain`: which pattern took each line and what it made of it.

Like `fail2ban-regex`, for people writing or debugging parser definitions: every mail
line with the pattern that took it and the fields it set; for a line no pattern took,
the patterns of its daemon whose literal prefilter passed but whose regex did not match
(usually the one to fix); and a summary of hits per pattern.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import IO

import pyarrow as pa

from logwatch.parse.definitions import ParserSet, PatternSpec
from logwatch.parse.engine import extract_queue_ids
from logwatch.parse.header import split_header
from logwatch.sanitize import for_terminal, placed_line

__all__ = ["explain"]

_SKIP = {"ts", "seq", "source", "source_fp", "offset", "cursor", "mta", "instance", "program",
         "host", "pid", "event", "pattern", "daemon", "session"}


def _near_misses(parsers: ParserSet, mta: str, daemon: str, message: str) -> list[str]:
    """Patterns of the daemon whose prefilters pass the message (after its queue id)."""
    pf = parsers.by_name.get(mta)
    if pf is None:
        return []
    text = message
    if pf.queue_id is not None:
        _, has, prefix = extract_queue_ids(pa.array([message]), pf.queue_id.separator,
                                           pf.queue_id.regex, pf.queue_id.max_length,
                                           pf.queue_id.none)
        text = message[int(prefix[0]):] if has[0] else message

    def passes(p: PatternSpec) -> bool:
        return ((p.daemons is None or daemon in p.daemons)
                and (p.starts is None or text.startswith(p.starts))
                and (p.contains is None or p.contains in text))

    return [p.id for p in pf.pattern if passes(p)]


def explain(rows: Iterable[dict[str, object]], lines: dict[tuple[str, int], str],
            parsers: ParserSet, out: IO[str]) -> None:
    """Write the explanation of event `rows`; `lines` maps (source, offset) to raw text."""
    hits: Counter[str] = Counter()
    for row in rows:
        key = (str(row["source"]), int(row["offset"]))  # type: ignore[arg-type]
        text = lines.get(key, "")
        out.write(placed_line(str(row["source"]), key[1], text) + "\n")
        pattern = row.get("pattern")
        if pattern:
            hits[str(pattern)] += 1
            fields = ", ".join(f"{k}={for_terminal(str(v))}" for k, v in row.items()
                               if v is not None and k not in _SKIP)
            out.write(f"  -> {pattern} ({row['event']}): {fields}\n")
        else:
            hits["(other)"] += 1
            header, _ = split_header(pa.array([text]), None)
            message = header.messages()[0].as_py() or ""
            tried = _near_misses(parsers, str(row["mta"]), str(row["daemon"]), message)
            out.write(f"  -> no pattern took this {row['mta']}/{row['daemon']} line")
            out.write(f"; prefilters passed, regex failed: {', '.join(tried)}\n" if tried
                      else "; no pattern's prefilter passed\n")
    out.write("\nlines per pattern:\n")
    for name, count in hits.most_common():
        out.write(f"  {count:8d}  {name}\n")
