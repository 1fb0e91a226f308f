"""Order files so that time runs forward: `mail.log.3.gz mail.log.2.gz mail.log.1 mail.log`.

Shells sort `mail.log*` the wrong way round for logrotate's numbering, and people pass
files in whatever order. Files are grouped by their base name (rotation number,
`dateext` stamp and compression suffix removed); within a group the highest number comes
first, dates ascend, and the live file comes last. Groups keep the order in which they
were first named.
"""

from __future__ import annotations

import re
from pathlib import PurePath

__all__ = ["rotation_order", "rotation_key"]

_COMPRESSION = re.compile(r"\.(?:gz|bz2|xz|zst|zstd|lz4|Z)$")
_NUMBER = re.compile(r"\.(\d{1,4})$")
_DATEEXT = re.compile(r"[-_.](\d{8}(?:\d{2})?(?:[-_]?\d{4,6}|[-_]\d{10})?)$")


def rotation_key(name: str) -> tuple[str, int, str]:
    """(base name, rank, tiebreak): higher rank = older, within one base name."""
    if name == "-":
        return ("-", 0, "")
    p = PurePath(name)
    stem = _COMPRESSION.sub("", p.name)
    m = _NUMBER.search(stem)
    if m:
        return (str(p.with_name(stem[: m.start()])), int(m.group(1)), "")
    d = _DATEEXT.search(stem)
    if d:
        # dateext: older files have smaller dates; rank them above the live file and
        # order them by the date text (descending rank = ascending date)
        return (str(p.with_name(stem[: d.start()])), 1, d.group(1))
    return (str(p.with_name(stem)), 0, "")


def rotation_order(names: list[str]) -> list[str]:
    """Return `names` with each rotation group ordered oldest first."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(rotation_key(name)[0], []).append(name)
    ordered: list[str] = []
    for members in groups.values():
        dated = sorted((n for n in members if rotation_key(n)[2]), key=lambda n: rotation_key(n)[2])
        numbered = sorted((n for n in members if not rotation_key(n)[2] and rotation_key(n)[1]),
                          key=lambda n: -rotation_key(n)[1])
        live = [n for n in members if rotation_key(n)[1] == 0]
        ordered.extend(dated + numbered + live)
    return ordered
