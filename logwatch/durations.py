"""Durations as people write them in config and rule files: `10m`, `1h30m`, `7d`, `90s`.

fail2ban users write `findtime = 10m`; an integer is taken as seconds, as there.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Duration", "Period", "parse_duration", "format_duration", "US"]

US = 1_000_000
_UNITS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[wdhms]\s*)+$")


def parse_duration(value: object, zero: bool = False) -> int:
    """Seconds in `value` (`"1h30m"`, `"10m"`, `600`; 0 only where `zero` allows it, as
    "none"); ValueError says what is accepted."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 10m, 1h30m, 7d or a number of seconds")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and _WHOLE.match(value.lower()):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value.lower()))
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value)
    else:
        raise ValueError(f"{value!r} is not a duration: write it like 10m, 1h30m, 7d or 600 "
                         "(seconds)")
    if seconds < 0 or (seconds == 0 and not zero):
        raise ValueError(f"{value!r}: a duration must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """`4m08s`, `2h`, `3d4h`: short, for summaries."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    out = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        n, s = divmod(s, size)
        if n:
            out.append(f"{n}{unit}")
    if s:
        out.append(f"{s:02d}s")
    return "".join(out[:2])


#: A duration field: accepts `10m`-style text or seconds, holds seconds.
Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
#: The same where 0 means "none" (a digest period: each pass sends its own).
Period = Annotated[int, BeforeValidator(lambda v: parse_duration(v, zero=True)),
                   PlainSerializer(format_duration)]
