"""The SHA-256 of an input as it lies on disk: what a report or an export names its
evidence by."""

from __future__ import annotations

import hashlib
import os
import stat

__all__ = ["file_digest"]


def file_digest(name: str) -> tuple[str, int] | None:
    """(hex digest, bytes) of a regular file; None for stdin, pipes and what cannot be
    read (the parser reports that, with the reason). A pipe is never opened here: the
    parser has it to read, or has drained it already."""
    try:
        if name == "-" or not stat.S_ISREG(os.stat(name).st_mode):
            return None
        with open(name, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest(), fh.tell()
    except OSError:
        return None
