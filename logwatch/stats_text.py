"""`parse --stats` for people: where every line went, in a few screen lines per file.

The JSON form (`--stats json`) is for machines and tests; this one is what an admin reads
after a run, so it leads with what needs attention (unreadable lines, unknown shapes,
guessed years) and keeps the event counts to one table per file. Unknown shapes are log
text: shown through `for_terminal`.
"""

from __future__ import annotations

from collections import defaultdict

from logwatch.parse.stats import SourceStats
from logwatch.sanitize import for_terminal

__all__ = ["stats_text"]

#: Unknown shapes listed per file; the JSON form has them all.
SHAPES_SHOWN = 10


def _events_table(stats: SourceStats) -> list[str]:
    by_mta: dict[str, dict[str, int]] = defaultdict(dict)
    for (mta, event), count in stats.events.items():
        by_mta[mta][event] = count
    events = sorted({e for counts in by_mta.values() for e in counts})
    if not events:
        return []
    mtas = sorted(by_mta)
    width = max(len(e) for e in events)
    lines = ["  " + " " * width + "".join(f"{m:>10}" for m in mtas)]
    for e in events:
        lines.append(f"  {e:<{width}}" + "".join(f"{by_mta[m].get(e, 0):>10,}" for m in mtas))
    return lines


def _source(stats: SourceStats) -> list[str]:
    other = sum(stats.other_shapes.values())
    head = (f"{for_terminal(stats.source)}: {stats.format or 'no format (no lines)'}"
            f"{' ' + stats.compression if stats.compression else ''}, {stats.lines:,} lines, "
            f"{stats.mail_lines:,} mail, {stats.rows:,} rows, {other:,} other, "
            f"{stats.unreadable:,} unreadable")
    lines = [head]
    clock = stats.clock or {}
    if clock.get("years"):
        lines.append(f"  years {', '.join(map(str, clock['years']))} "
                     f"(from {clock.get('year_from', '?')})")
    for label, value in (("repeated rows", stats.repeated_rows),
                         ("joined lines", stats.joined_lines),
                         ("syslog doubles dropped", stats.syslog_doubles),
                         ("repeat summaries capped", stats.repeats_capped)):
        if value:
            lines.append(f"  {label}: {value:,}")
    if stats.foreign:
        lines.append("  not mail: " + ", ".join(f"{for_terminal(p)} {n:,}"
                                                for p, n in stats.foreign.most_common(8)))
    lines += _events_table(stats)
    for (mta, daemon, shape), count in stats.other_shapes.most_common(SHAPES_SHOWN):
        lines.append(f"  other {count:>6,}  {mta} {for_terminal(daemon or '-')}: "
                     f"{for_terminal(shape)}")
    if len(stats.other_shapes) > SHAPES_SHOWN:
        lines.append(f"  ... {len(stats.other_shapes) - SHAPES_SHOWN} more shapes "
                     "(--stats json lists them all)")
    for example in stats.unreadable_examples:
        lines.append(f"  unreadable at byte {example['offset']}: "
                     f"{for_terminal(str(example['line']))}")
    # the clock's doubts (a span of years, times that do not exist, a Feb 29 without a
    # year) are said with the rest: a reader of the text form sees no JSON
    lines += [f"  warning: {for_terminal(w)}"
              for w in [*stats.warnings, *clock.get("warnings", [])]]
    return lines


def stats_text(sources: list[SourceStats]) -> str:
    """The report for a run's sources, ending with a newline (errors are said apart)."""
    lines: list[str] = []
    for stats in sources:
        lines += _source(stats)
    return "\n".join(lines) + "\n"
