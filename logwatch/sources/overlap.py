"""Two sources that hold the same lines, so that every line would count twice.

Debian's rsyslog writes the mail facility to /var/log/mail.log and, through its
catch-all rule, to /var/log/syslog as well; a symlink or a second name for one file does
the same. A line written to two files is the same bytes in both (stamp, host, program,
pid and text), which the lines of two different events almost never are: a few lines
shared by the ends of two sources say it, at the cost of reading their last bytes. So
do Exim's main and reject logs, configured as two sources.
"""

from __future__ import annotations

import itertools
import os
import stat

from logwatch.secondary import is_secondary
from logwatch.sources.tail import read_at

__all__ = ["SAMPLE_BYTES", "MIN_SHARED", "shared_lines", "overlap_warnings", "given_once"]

#: How much of each source's end is compared (a few thousand lines).
SAMPLE_BYTES = 256 * 1024
#: Lines two sources must share to be said to hold the same ones (a handful can be
#: chance: a summary such as `last message repeated 2 times` in two hosts' logs).
MIN_SHARED = 5


def _last_lines(path: str) -> set[bytes]:
    """The whole lines in the last `SAMPLE_BYTES` of a plain file (none if it cannot be
    read: what cannot be read is said elsewhere)."""
    try:
        start = max(0, os.path.getsize(path) - SAMPLE_BYTES)
    except OSError:
        return set()
    lines = (read_at(path, start, SAMPLE_BYTES) or b"").split(b"\n")
    if start:
        lines = lines[1:]          # cut in the middle
    return {line for line in lines if line.strip()}


def shared_lines(paths: list[str]) -> list[tuple[str, str, int]]:
    """(a, b, lines they share) for each pair of `paths` sharing `MIN_SHARED` or more
    lines in their ends."""
    ends = {p: _last_lines(p) for p in dict.fromkeys(paths)}
    out = []
    for a, b in itertools.combinations(ends, 2):
        n = len(ends[a] & ends[b])
        if n >= MIN_SHARED:
            out.append((a, b, n))
    return out


def overlap_warnings(paths: list[str], new: set[str] | None = None) -> list[str]:
    """What to tell a user whose sources hold the same lines; with `new`, of the pairs
    one of these is in (the sources read for the first time: the others were said)."""
    return [f"{a} and {b} hold the same lines ({n} of their last ones): each counts "
            f"twice; {_advice(a, b)}"
            for a, b, n in shared_lines(paths) if new is None or {a, b} & new]


def _advice(a: str, b: str) -> str:
    """Which to read: Exim writes each refusal to its main log and again to its reject
    log (which a batch read pairs up, a live one does not); else either."""
    if is_secondary(a) or is_secondary(b):
        return ("read the main log only (Exim writes each refusal to its reject log as "
                "well)")
    return ("read one of them (rsyslog writes mail to mail.log and again to syslog, its "
            "warnings and errors to mail.warn and mail.err as well)")


def given_once(names: list[str]) -> tuple[list[str], list[str]]:
    """`names` with each file once, and what to say of the others: one file named twice
    (`report mail.log mail.log`, `mail.log ./mail.log`, a link and its target) was read
    twice, every line of it counted twice, and its ends, the same name, were never
    compared."""
    seen: dict[tuple[int, int], str] = {}
    kept, said = [], []
    for name in names:
        try:
            st = os.stat(name)
        except OSError:             # said where it is read
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            kept.append(name)
            continue
        first = seen.get((st.st_dev, st.st_ino))
        if first is None:
            seen[(st.st_dev, st.st_ino)] = name
            kept.append(name)
        else:
            said.append(f"{name} given twice: read once" if name == first
                        else f"{name} is {first} again: read once")
    return kept, said
