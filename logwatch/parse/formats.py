"""The line formats mail logs come in, and how a file's format is recognised.

Detection samples a file's first lines and takes the format most of them match, because
a file has one writer (rsyslog template, Exim's own log, postlogd) almost always; the
rare line in another shape is still read, by the per-row fallback in `header`.

A line of Exim's own log can also look like an ISO-stamped syslog line: `TLS session:
(SSL_connect): ...` reads as host `TLS` and program `session`, `1xXeoC-00061a-0J signer:
...` as host and program. Read so, a whole mainlog gives no mail at all (the syslog
reading takes its other lines for lines without a program). So a line with Exim's mark
after its stamp (a message id, or a start no syslog host has) is Exim's, and a sample
with one is Exim's log unless a line in it is syslog's beyond doubt, with a `prog[pid]:`
tag: Exim writes no such thing after its stamp.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["FORMATS", "YEARLESS", "detect_format", "SAMPLE_LINES", "Format"]

Format = str

#: How many leading lines detection looks at.
SAMPLE_LINES = 64

# `2019-10-22 03:39:17 mx1 exim`: an ISO stamp, a host and a tag's program name
_ISO_HOST_TAG = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [^\s\[\]]+ [^\s:\[\]]+"
# Exim's own stamp: milliseconds and zone optional (log_selector), then `[pid]` (+pid)
_EXIM_STAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [+-]\d{4})?(?: \[\d+(?:/\d+)?\])? "

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
    ("iso_syslog", re.compile(_ISO_HOST_TAG + r"(?:\[\d+\])?: ")),
    ("exim", re.compile(_EXIM_STAMP)),
    ("bsd", re.compile(r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ ")),
)

#: Exim's own line with what only Exim puts after its stamp and optional zone and `[pid]`:
#: a message id (6-6-2, or 6-11-4 since 4.97), the `U=`/`H=` of an ACL's log line, the
#: daemon's start, or a word Exim starts a diagnostic with where syslog has a host name.
_EXIM_MARKED = re.compile(
    _EXIM_STAMP + r"(?:[0-9A-Za-z]{6}-(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{2}"
    r"|[0-9A-Za-z]{11}-[0-9A-Za-z]{4}) |[UH]=|(?:TLS|DANE|SMTP) |exim \S+ daemon )")
#: a syslog line beyond doubt: its tag names a process
_ISO_SYSLOG_PID = re.compile(_ISO_HOST_TAG + r"\[\d+\]: ")

FORMATS: tuple[Format, ...] = tuple(name for name, _ in _DETECT)
#: Formats whose stamps have no year (the others' lines need no year clue).
YEARLESS: tuple[Format, ...] = ("bsd", "dovecot")


def detect_format(sample: Iterable[str]) -> Format | None:
    """Return the format most sample lines match, or None when none matches any; Exim's
    own log where a line has Exim's mark and none is syslog's beyond doubt."""
    votes: Counter[Format] = Counter()
    marked = syslog = False
    for line in sample:
        if _EXIM_MARKED.match(line):
            marked = True
            votes["exim"] += 1
            continue
        syslog = syslog or bool(_ISO_SYSLOG_PID.match(line))
        for name, rx in _DETECT:
            if rx.match(line):
                votes[name] += 1
                break
    if marked and not syslog:
        return "exim"
    if not votes:
        return None
    best = max(votes.values())
    return next(name for name in FORMATS if votes.get(name) == best)
