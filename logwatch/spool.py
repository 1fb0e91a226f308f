"""Inputs that can be read only once, copied where a command must read them twice.

`trace` and `parse --explain` read their inputs twice (a closure over the first pass, the
lines' text on the second). A pipe read again is empty and a FIFO read again waits for a
writer that is gone, so `trace ... <(zcat mail.log.2.gz)`, exigrep's habit, answered
nothing or hung. Such an input is copied to a temporary file first, and named in what is
printed as it was asked for.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

__all__ = ["rereadable", "as_asked"]


def _streamed(name: str) -> bool:
    """Whether `name` can be read only once: stdin, a pipe, a FIFO, a socket or a
    terminal. A file that cannot be stat'ed is left to the reading, which names it."""
    if name == "-":
        return True
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def rereadable(names: list[str]) -> Iterator[tuple[list[str], dict[str, str]]]:
    """`names` as files that can be read twice, and each copy's name -> the name asked
    for. A copy keeps its input's base name, so that rotation order reads it in its
    place (`mail.log.2` before `mail.log.1`)."""
    with tempfile.TemporaryDirectory(prefix="mail-logwatch-") as spool:
        out, asked = [], {}
        for i, name in enumerate(names):
            if not _streamed(name):
                out.append(name)
                continue
            path = os.path.join(spool, str(i), "stdin" if name == "-" else os.path.basename(name))
            os.mkdir(os.path.dirname(path))
            with (nullcontext(sys.stdin.buffer) if name == "-" else open(name, "rb")) as source, \
                    open(path, "wb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
            out.append(path)
            asked[path] = name
        yield out, asked


def as_asked(text: str, asked: dict[str, str]) -> str:
    """`text` (a source's name, an error naming one) with the copies named as asked."""
    for path, name in asked.items():
        text = text.replace(path, name)
    return text
