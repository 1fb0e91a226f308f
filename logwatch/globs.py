"""Shell patterns (`*@partner.example`) as RE2, to be matched over whole Arrow arrays.

Python's `fnmatch.translate` says what a pattern means; its regex is Python's, and RE2
lacks three of its constructs, each with an RE2 equal: the atomic group it puts around a
star before a literal (taking the first occurrence is always a match when any is, so a
plain group matches the same strings), `\\Z`, and the `(?!)` of a class left empty by a
reversed range (`[z-a]`), which matches nothing.
"""

from __future__ import annotations

import fnmatch

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["glob_regex", "check_globs"]

_NOTHING = r"[^\x00-\x{10FFFF}]"


def _re2(pattern: str) -> str:
    """`fnmatch.translate(pattern)` with its three constructs RE2 lacks replaced, outside
    character classes only (`[(?>]` is a class of three characters)."""
    rx = fnmatch.translate(pattern)
    out, i, n = [], 0, len(rx)
    while i < n:
        if rx[i] == "\\":
            out.append(rx[i:i + 2])
            i += 2
        elif rx[i] == "[":
            j = i + 1 + (rx[i + 1:i + 2] == "^")
            j += rx[j:j + 1] == "]"                  # a `]` first is a member
            while j < n and rx[j] != "]":
                j += 2 if rx[j] == "\\" else 1
            out.append(rx[i:j + 1])
            i = j + 1
        elif rx.startswith("(?>", i):
            out.append("(?:")
            i += 3
        elif rx.startswith("(?!)", i):
            out.append(_NOTHING)
            i += 4
        else:
            out.append(rx[i])
            i += 1
    return "".join(out).removesuffix(r"\Z")


def glob_regex(patterns: tuple[str, ...] | list[str]) -> str | None:
    """One RE2 matching what any of `patterns` matches as `fnmatch.fnmatchcase` reads it
    (None: no patterns)."""
    if not patterns:
        return None
    return "^(?:" + "|".join(_re2(p) for p in patterns) + r")\z"


def check_globs(patterns: list[str]) -> list[str]:
    """The patterns, each one RE2 can run (a config validator: said when the config is
    read, not at the first alert)."""
    for p in patterns:
        try:
            pc.match_substring_regex(pa.array([""]), glob_regex([p]))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{p!r} is not a pattern that can be matched: {exc}") from None
    return patterns
