"""Command-line amounts that must be a positive, finite number (`--gap`, `--interval`).

float() takes `nan` and `1e400` (inf): a nan pause never elapsed (no comparison with it is
true) and an inf gap or pause never ended, and 0 or less made every pause between two
lines a gap or every pass start at once. argparse says so with the option's name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["positive"]


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
