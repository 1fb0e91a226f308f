"""The line formats mail logs come in, and how a file's format is recognised.

Detection samples a file's first lines and takes the format most of them match, because
a file has one writer (rsyslog template, Exim's own log, postlogd) almost always; the
rare line in another shape is still read, by the per-row fallback in `header`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["FORMATS", "YEARLESS", "detect_format", "SAMPLE_LINES", "Format"]

Format = str

#: How many leading lines detection looks at.
SAMPLE_LINES = 64

# Order matters only for ties: the more specific shape first.
_DETECT: tuple[tuple[Format, re.Pattern[str]], ...] = (
    ("journal_json", re.compile(r'^\{.*"(?:__REALTIME_TIMESTAMP|MESSAGE|__CURSOR)"\s*:')),
    ("rfc5424", re.compile(r"^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ ")),
    ("rfc3339", re.compile(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d) \S+ ")),
    # Dovecot's own log file (`log_path = /var/log/dovecot.log`): its log_timestamp
    # (`%b %d %H:%M:%S` by default, often `%Y-%m-%d %H:%M:%S`), then the process, with no
    # host or program: `Jan 29 09:33:58 imap-login: Info: Login: user=<bob>, ...`
    ("dovecot", re.compile(
        r"^(?:[A-Z][a-z]{2} [ \d]\d|\d{4}-\d\d-\d\d) \d\d:\d\d:\d\d "
        r"[a-z][a-z0-9-]*(?:\([^)]*\))?(?:<[^>]*>)*: ")),
    ("iso_syslog", re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^\s\[\]]+ [^\s:\[\]]+(?:\[\d+\])?: ")),
    ("exim", re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [+-]\d{4})?(?: \[\d+(?:/\d+)?\])? ")),
    ("bsd", re.compile(r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ ")),
)

FORMATS: tuple[Format, ...] = tuple(name for name, _ in _DETECT)
#: Formats whose stamps have no year (the others' lines need no year clue).
YEARLESS: tuple[Format, ...] = ("bsd", "dovecot")


def detect_format(sample: Iterable[str]) -> Format | None:
    """Return the format most sample lines match, or None when none matches any."""
    votes: Counter[Format] = Counter()
    for line in sample:
        for name, rx in _DETECT:
            if rx.match(line):
                votes[name] += 1
                break
    if not votes:
        return None
    best = max(votes.values())
    return next(name for name in FORMATS if votes.get(name) == best)
