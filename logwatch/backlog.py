"""What a source's first read found of before: told to nobody (`notify.backlog`).

Installed on a server with a week of mail.log, a first cron run (or a follower's first
pass, or a source added to the config later) reads the file whole: its correlation and
the baselines' history need it. But the incidents that ended long before its newest line
are last week's: paging someone or banning an address for them helps nobody. They are
recorded as told to nobody (live.py), so that a later pass does not tell them either,
and an incident of them that goes on is news then.

An alert is a first read's backlog when some of its lines come from a source read for the
first time in this pass and it ended `backlog` before the newest line read of each source
its lines come from: each source is measured by its own lines (a backup MX's
copy may arrive days late; another's clock may run ahead), and an alert of established
sources alone is never held back by a source added beside them.
"""

from __future__ import annotations

from collections import Counter

from logwatch.alerts import Alert
from logwatch.durations import US, format_duration

__all__ = ["backlog_of", "backlog_note"]


def backlog_of(alerts: list[Alert], firsts: set[str], newest_of: dict[str, int],
               source_of: dict[str, str], backlog_s: int) -> list[Alert]:
    """The alerts among `alerts` that are backlog. `firsts`: the sources read for the
    first time; `newest_of`: the newest line read of each source (µs); `source_of`: the
    source of each file read that is not one itself (a rotated file). An alert with no
    line (none to name its sources) is judged by the first-read ones; one of a source
    whose newest line is not known is never held back."""
    if not backlog_s or not firsts:
        return []
    out = []
    for alert in alerts:
        sources = {source_of.get(s, s) for s in alert.sources} or firsts
        newest = [newest_of.get(s, 0) for s in sources]
        if sources & firsts and all(newest) and \
                alert.last_us < min(newest) - backlog_s * US:
            out.append(alert)
    return out


def backlog_note(held: list[Alert], firsts: set[str], source_of: dict[str, str],
                 backlog_s: int) -> str:
    """What the first reads held back, so that a reader knows it is there to be looked
    at: the first-read sources the held alerts have lines of."""
    rules = Counter(a.rule for a in held)
    sources = sorted({source_of.get(s, s) for a in held for s in a.sources} & firsts)
    n = len(held)
    return (f"first read of {', '.join(sources) or 'a source'}: {n} alert"
            f"{'s' if n > 1 else ''} ({', '.join(f'{r} {c}' for r, c in sorted(rules.items()))})"
            f" ended more than {format_duration(backlog_s)} before the newest line read: "
            "not sent nor acted on (notify.backlog); `mail-logwatch detect` on those lines "
            "shows them, and an incident of them that goes on is told then")
