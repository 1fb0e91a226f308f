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
    return (fnmatch.translate(pattern).replace("(?>", "(?:").replace("(?!)", _NOTHING)
            .removesuffix(r"\Z"))


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
