"""Read a TOML data file and turn pydantic's complaints into messages that name the line.

Config, parser and rule files are all edited by hand by someone reading a cron mail when
something is wrong; `field rules.auth_failure_burst.treshold` is only useful with the file
and line beside it. tomllib keeps no positions, so the line is found again in the text by
walking the error's path through table headers and keys (good enough for the files we
read; when it cannot be found the message still names the field).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

__all__ = ["load_toml", "locate", "validation_message", "error_loc", "at_line"]


def load_toml(path: Path, error: type[Exception]) -> tuple[dict[str, Any], str]:
    """The data and the text of `path`; unreadable or invalid files raise `error`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(f"{path} line {line}: not UTF-8 text ({exc.reason})") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise error(f"{path}" + (f" line {at[1]}" if at else "") +
                    f": not valid TOML: {exc}") from exc


def at_line(where: object, line: int | None) -> str:
    """`config.toml line 4`, or the name alone where the line could not be found: how
    every message about a data file begins."""
    return f"{where}" + (f" line {line}" if line else "")


def _header(name: str) -> str:
    """A regex for a table header whose last dotted part is `name` (`[a.name]`, `[[name]]`)."""
    part = rf'(?:{re.escape(name)}|"{re.escape(name)}")'
    return rf'^[ \t]*\[\[?[ \t]*(?:[^\]\n]*\.)?[ \t]*{part}[ \t]*\]\]?'


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line in `text` where the item at path `loc` is written, or None.

    String parts are found as a table header (`[rules.x]`) or a key (`x = ...`) after
    the previous part; an integer part picks the n-th `[[array]]` header of the
    previous part (or stays on it for inline arrays).
    """
    pos, found, prev = 0, None, None
    for part in loc:
        if isinstance(part, int):
            if prev is None:
                return found
            headers = list(re.finditer(_header(prev), text[pos:], re.M)) if prev else []
            if len(headers) > part:
                pos += headers[part].start()
                found = text.count("\n", 0, pos) + 1
            continue
        name = str(part)
        # `[rules.x]` stands for `rules` too when no `[rules]` header is written
        parent = _header(name).removesuffix(r"[ \t]*\]\]?") + r"[ \t]*\."
        m = re.compile(_header(name) + "|" + parent + "|" +
                       rf'^[ \t]*(?:{re.escape(name)}|"{re.escape(name)}")'
                       r'[ \t]*=', re.M).search(text, pos)
        if not m:
            return found
        pos, found, prev = m.start(), text.count("\n", 0, m.start()) + 1, name
    return found


def error_loc(err: Any) -> tuple[Any, ...]:
    """The path of a pydantic error, completed where pydantic leaves it short: a model
    validator's error that says its field (an exception with `loc`), a wrong tag of a
    discriminated union (the tag field)."""
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    more = getattr(ctx.get("error"), "loc", None)
    if more:
        return loc + tuple(more)
    if err["type"] == "union_tag_invalid" and "discriminator" in ctx:
        return loc + (str(ctx["discriminator"]).strip("'"),)
    return loc


#: What a caller may say about an error's path better than `locate` can: the item's name,
#: the field within it, and its line.
Described = tuple[str, str, int | None]


def validation_message(exc: ValidationError, path: Path, text: str,
                       describe: Callable[[tuple[Any, ...]], Described | None] | None = None
                       ) -> str:
    """One line per error: `file line N: [item, ]field a.b: message`."""
    msgs = []
    for err in exc.errors():
        loc = error_loc(err)
        said = describe(loc) if describe else None
        if said is None:
            said = ("", ".".join(str(p) for p in loc) or "?",
                    locate(text, loc))
        what, field, line = said
        msg = err["msg"].removeprefix("Value error, ")
        where = at_line(path, line)
        msgs.append(f"{where}: {what + ', ' if what else ''}field {field}: {msg}")
    return "\n".join(msgs)
