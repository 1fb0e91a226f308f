"""The report as GitHub-flavoured Markdown: for a ticket, a wiki page or a pull request.

The sections, tables and their order are the HTML page's (`layout.sections`); charts
are left out, their figures are in the tables. Log text is made inert for a table cell:
a sender `a|b@x` must not add a column, `<img onerror=…>` must stay text, `[x](http://…)`
must not become a link. Markdown has no single escape that every renderer honours, so
`& < >` become character references (which no renderer reads as markup) and the rest of
the syntax is backslash-escaped, as GFM and CommonMark define. GitHub also links a bare
`https://…` or `www.…`, which no escape stops: a zero-width space breaks them, as the
chat renderers break them (`sanitize.AUTOLINKS`).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from logwatch.report.figures import count, display
from logwatch.report.layout import (NUMERIC, Chart, Column, Facts, Note, Table, period_line,
                                    sections)
from logwatch.sanitize import AUTOLINKS, ZWSP, for_terminal

__all__ = ["render_markdown", "for_markdown"]

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: `\` first of all; then code, emphasis, strike-through, links, table cells, HTML
_SYNTAX = re.compile(r"[\\`*_~\[\]|&<>]")
_AUTOLINKS = re.compile(AUTOLINKS)


def for_markdown(text: object) -> str:
    """`text` as literal text in a GFM table cell: control characters (a newline would
    end the row) shown as escapes, bare URLs broken, then every character of Markdown
    syntax escaped."""
    return _SYNTAX.sub(lambda m: _ENTITIES.get(m.group(0), "\\" + m.group(0)),
                       _AUTOLINKS.sub(ZWSP, for_terminal(str(text))))


def _value(value: Any, kind: str) -> str:
    """Exact bytes (Markdown has no tooltip to hold them); the rest as the HTML shows it."""
    return count(value) if kind == "bytes" else display(value, kind)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _grid(columns: tuple[Column, ...], rows: list[list[str]]) -> list[str]:
    rule = ["---:" if c.kind in NUMERIC else "---" for c in columns]
    return [_row([for_markdown(c.heading) for c in columns]), _row(rule),
            *(_row(r) for r in rows)]


def _table(t: Table) -> list[str]:
    out = [f"### {for_markdown(t.title)}", ""]
    if not t.rows:
        return out + ["_None._", ""]
    rows = [[for_markdown(_value(row.get(c.key), c.kind)) for c in t.columns] for row in t.rows]
    return out + _grid(t.columns, rows) + [""]


def _facts(f: Facts) -> list[str]:
    notes = any(x.note for x in f.items)
    columns = (Column("label", "figure"), Column("value", "value", "count"),
               *((Column("note", "note"),) if notes else ()))
    rows = [[for_markdown(x.label), for_markdown(_value(x.value, x.kind)),
             *((for_markdown(x.note),) if notes else ())] for x in f.items]
    return [f"### {for_markdown(f.title)}", "", *_grid(columns, rows), ""]


def _note(n: Note) -> list[str]:
    text = for_markdown(n.text)
    return [f"**{text}**" if n.tone else text, ""]


def _chart(_: Chart) -> list[str]:
    return []


_WRITERS: dict[type, Callable[[Any], list[str]]] = {Table: _table, Facts: _facts,
                                                   Chart: _chart, Note: _note}


def render_markdown(report: dict[str, Any]) -> str:
    """The report as one Markdown document, every table's figures in it."""
    lines = ["# Mail log report", "", for_markdown(period_line(report)), ""]
    for s in sections(report):
        lines += [f"## {for_markdown(s.title)}", ""]
        for part in s.parts:
            lines += _WRITERS[type(part)](part)
    return "\n".join(lines).rstrip("\n") + "\n"
