"""Command-line amounts that must be a positive, finite number (`--gap`, `--interval`), or a
whole number no smaller than a least one (`-j` and `--limit` 1, the report's `-h` 0).

float() takes `nan` and `1e400` (inf): a nan pause never elapsed (no comparison with it is
true) and an inf gap or pause never ended, and 0 or less made every pause between two
lines a gap or every pass start at once. -1 or 0 processes were taken as 1 without a
word, and `alerts --limit -1` was SQLite's "no limit". argparse says so with the option's
name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["positive", "whole"]


def positive(unit: str) -> Callable[[str], float]:
    """An argparse type for a finite number of `unit`, more than 0."""
    def amount(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: a finite number of {unit}, "
                                             "more than 0")
        return value
    return amount


def whole(unit: str, least: int) -> Callable[[str], int]:
    """An argparse type for a whole number of `unit`, `least` or more."""
    def amount(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"{text!r}: a number of {unit}, {least} or more")
        return value
    return amount
