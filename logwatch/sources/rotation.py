"""Order files so that time runs forward: `mail.log.3.gz mail.log.2.gz mail.log.1 mail.log`.

Shells sort `mail.log*` the wrong way round for logrotate's numbering, and people pass
files in whatever order. Files are grouped by their base name (rotation number,
`dateext` stamp and compression suffix removed); within a group the highest number comes
first, dates ascend, and the live file comes last. Groups keep the order in which they
were first named.

The same numbering tells a file left out: `mail.log.3.gz` and `mail.log` given without
`.1` and `.2.gz` (`missing_rotations`). Size-based or hourly rotation leaves no quiet
stretch in time where a file is missing, so only the names can tell it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

__all__ = ["rotation_order", "rotation_key", "missing_rotations", "MissingRotations"]

_COMPRESSION = re.compile(r"\.(?:gz|bz2|xz|zst|zstd|lz4|Z)$")
_NUMBER = re.compile(r"\.(\d{1,4})$")
_DATEEXT = re.compile(r"[-_.](\d{8}(?:\d{2})?(?:[-_]?\d{4,6}|[-_]\d{10})?)$")


def _parts(name: str) -> tuple[str, str, str]:
    """(base name, rotation number as written, `dateext` stamp), "" where there is none:
    the number's text keeps exicyclog's zero padding (`mainlog.01`)."""
    if name == "-":
        return ("-", "", "")
    p = PurePath(name)
    stem = _COMPRESSION.sub("", p.name)
    m = _NUMBER.search(stem)
    if m:
        return (str(p.with_name(stem[: m.start()])), m.group(1), "")
    d = _DATEEXT.search(stem)
    if d:
        return (str(p.with_name(stem[: d.start()])), "", d.group(1))
    return (str(p.with_name(stem)), "", "")


def rotation_key(name: str) -> tuple[str, int, str]:
    """(base name, rank, tiebreak): higher rank = older, within one base name."""
    base, number, date = _parts(name)
    if number:
        return (base, int(number), "")
    # dateext: older files have smaller dates; rank them above the live file and order
    # them by the date text (descending rank = ascending date)
    return (base, 1, date) if date else (base, 0, "")


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


@dataclass(frozen=True)
class MissingRotations:
    """Rotations of one log absent between two files given: `first` to `last` (`count`
    files), named as logrotate numbers them, without the compression suffix they may
    carry; `after` is the older file given, `before` the newer."""

    log: str
    after: str
    before: str
    first: str
    last: str
    count: int


def missing_rotations(names: list[str]) -> list[MissingRotations]:
    """The runs of rotation numbers absent between the files of each log in `names`.

    The live file counts as number 0, unless the log has `dateext` files: then the file
    rotated last before it is a dated one, and no date tells which came before it
    (daily, weekly, by size?), so nothing is said of dated files.
    """
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for name in names:
        base, number, date = _parts(name)
        groups.setdefault(base, []).append((name, number, date))
    found: list[MissingRotations] = []
    for base, members in groups.items():
        numbered = {int(number): name for name, number, _ in members if number}
        if not any(date for _, _, date in members):
            numbered.update({0: name for name, number, _ in members if not number})
        padded = [len(number) for _, number, _ in members if number.startswith("0")]
        width = max(padded, default=1)
        present = sorted(numbered, reverse=True)
        for older, newer in zip(present, present[1:]):
            if older - newer > 1:
                found.append(MissingRotations(
                    base, numbered[older], numbered[newer],
                    f"{base}.{newer + 1:0{width}d}", f"{base}.{older - 1:0{width}d}",
                    older - newer - 1))
    return found
