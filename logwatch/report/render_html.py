"""The report as one self-contained HTML page.

The page is mailed, archived and opened offline, perhaps years later as evidence: so it
holds everything itself (inline CSS, inline SVG charts), loads nothing and runs nothing.
Every string that came from a log (a sender is whatever the client typed) goes through
`sanitize.for_html`, and a Content-Security-Policy that forbids scripts and remote loads stands
behind that, should a renderer ever miss one.

What is shown, and in which order, is `layout.sections`; this module only writes it as
HTML.
"""

from __future__ import annotations

from typing import Any, Callable

from logwatch.report.figures import display, exact
from logwatch.report.layout import (NUMERIC, SCROLL_ROWS, SERIES, SEVERITIES, Chart, Facts,
                                    Note, Table, period_line, sections)
from logwatch.report.svg import bar_chart, column_chart, dark_css
from logwatch.sanitize import for_html

__all__ = ["render_html"]

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'")
#: How wide a column of each kind tends to be (numbers: 1); a table wider than
#: HALF_WIDTH, or with a column of long text, spans the page.
_WIDTH = {"text": 2, "mono": 2, "when": 3}
HALF_WIDTH = 8
_LONG_TEXT = frozenset({"reason", "summary", "shape", "example", "error", "note", "sha256",
                        "warnings"})

_CSS = """
:root{color-scheme:light dark;--ink:#1f2937;--muted:#5f6673;--line:#e5e7eb;--bg:#f6f7f9;
--card:#fff;--head:#374151;--th:#f1f5f9;--stripe:#fafbfc;--accent:#2563eb;--bad:#b91c1c;
--bad-bg:#fef2f2;--warn:#b45309;--warn-bg:#fffbeb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#0f172a;color:#f8fafc;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:650}
header p{margin:0;color:#cbd5e1}
nav{position:sticky;top:0;z-index:1;background:var(--card);border-bottom:1px solid var(--line);
padding:8px 32px;white-space:nowrap;overflow-x:auto}
nav a{color:var(--accent);text-decoration:none;margin-right:18px}
main{padding:4px 32px 32px;max-width:1440px}
section{margin-top:26px;scroll-margin-top:48px}
h2{font-size:18px;margin:0 0 12px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3,caption{font-size:13px;font-weight:700;margin:0 0 6px;color:var(--head);text-align:left}
.unseen{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);
white-space:nowrap}
.parts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(440px,100%),1fr));
gap:18px 22px;align-items:start}
.wide{grid-column:1/-1}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 12px}
.card .label{display:block;color:var(--muted);font-size:11px;text-transform:uppercase;
letter-spacing:.04em}
.card .value{display:block;font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .note{display:block;color:var(--muted);font-size:12px;min-height:1em}
.card.bad{border-color:var(--bad);background:var(--bad-bg)}.card.bad .value{color:var(--bad)}
.card.warn{border-color:var(--warn);background:var(--warn-bg)}.card.warn .value{color:var(--warn)}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--th);font-size:12px;font-weight:600;color:var(--head)}
td{overflow-wrap:break-word}td.long{overflow-wrap:anywhere}
.tbl{overflow:auto}
.tbl table{border:1px solid var(--line)}
.tall{max-height:30em}
.tall th{position:sticky;top:0}
tbody tr:nth-child(even){background:var(--stripe)}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.when{white-space:nowrap}
.empty,.note{color:var(--muted);font-size:12px;margin:4px 0 0}
.empty{font-style:italic}
p.note.warn{color:var(--ink);font-size:14px;background:var(--warn-bg);
border:1px solid var(--warn);border-radius:8px;padding:9px 12px}
.block.bad h3,.block.bad caption{color:var(--bad)}.block.bad table{border-color:var(--bad)}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 14px}
figcaption{font-weight:600;margin-bottom:6px}
svg{display:block;max-width:100%;height:auto}
figure.wide{overflow-x:auto}figure.wide svg{width:100%;min-width:720px}
.sev{display:inline-block;white-space:nowrap;padding:0 7px;border-radius:9px;font-size:12px;
font-weight:600;background:#e5e7eb;color:#1f2937}
.sev-critical{background:#7f1d1d;color:#fff}.sev-high{background:#dc2626;color:#fff}
.sev-medium{background:#fde68a}.sev-low{background:#dbeafe}
summary{cursor:pointer;font-weight:600;font-size:13px;color:var(--head);margin-bottom:6px}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
@media (max-width:600px){header,nav,main,footer{padding-left:12px;padding-right:12px}}
"""
#: A reader whose system is set dark gets a dark page (the badges of severity keep their
#: colours); paper stays light.
_DARK = ("@media screen and (prefers-color-scheme:dark){:root{--ink:#e6edf3;--muted:#9da7b3;"
         "--line:#30363d;--bg:#0d1117;--card:#161b22;--head:#c9d1d9;--th:#1f2630;"
         "--stripe:#1a2029;--accent:#58a6ff;--bad:#ff7b72;--bad-bg:#2d1517;--warn:#e3b341;"
         "--warn-bg:#2b2111}"
         + dark_css(SERIES, "var(--ink)", "var(--muted)", "var(--line)") + "}\n")
#: On paper, or in a PDF kept as evidence, nothing scrolls and nothing opens: the parts
#: stand one under another, tables wrap (a time at its spaces), folded tables print open;
#: a chart, a card or a row is not split between pages, nor a title parted from its part.
_PRINT = """@media print{nav{display:none}body{background:#fff}
.parts{display:block}.parts>*+*{margin-top:18px}
.tbl{overflow:visible}.tall{max-height:none}.when{white-space:normal;overflow-wrap:normal}
figure.wide svg{min-width:0}details::details-content{content-visibility:visible}
figure,.card,tr{break-inside:avoid}h2,h3,caption,summary{break-after:avoid}}
"""


def _attr(value: str | None, name: str = "title") -> str:
    return "" if value is None else f' {name}="{for_html(value)}"'


#: a word longer than this (an attacker's 300-character domain) may break anywhere; a
#: shorter one breaks only at its ends, so that `password_spray` is not cut in two
_LONG_WORD = 40


def _cell(value: Any, kind: str) -> str:
    text = for_html(display(value, kind))
    if kind == "severity" and value in SEVERITIES:
        text = f'<span class="sev sev-{value}">{text}</span>'
    elif kind == "when" and value:
        text = f"<time{_attr(value, 'datetime')}>{text}</time>"
    cls = "num" if kind in NUMERIC else kind if kind in ("mono", "when") else ""
    if any(len(word) > _LONG_WORD for word in str(value).split()):
        cls = f"{cls} long".strip()   # wrapped anywhere: the figures beside it stay in view
    return f"<td{_attr(cls or None, 'class')}{_attr(exact(value, kind))}>{text}</td>"


def _table(t: Table) -> str:
    wide = (any(c.key in _LONG_TEXT for c in t.columns)
            or sum(_WIDTH.get(c.kind, 1) for c in t.columns) > HALF_WIDTH)
    classes = " ".join(x for x in ("block", "wide" if wide else "", t.tone) if x)
    if not t.rows:
        return (f'<div class="{classes}"><h3>{for_html(t.title)}</h3>'
                '<p class="empty">None.</p></div>')
    head = "".join(f"<th{_attr('num' if c.kind in NUMERIC else None, 'class')}>"
                   f"{for_html(c.heading)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c.key), c.kind) for c in t.columns) + "</tr>"
                   for row in t.rows)
    # the caption names the table to a screen reader; folded, the summary shows the name
    unseen = _attr("unseen" if t.folded else None, "class")
    caption = f"<caption{unseen}>{for_html(t.title)}</caption>"
    table = f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    table = f'<div class="tbl{" tall" if len(t.rows) > SCROLL_ROWS else ""}">{table}</div>'
    if t.folded:
        return (f'<details class="{classes}"><summary>{for_html(t.title)} '
                f'({len(t.rows):,} rows)</summary>{table}</details>')
    return f'<div class="{classes}">{table}</div>'


def _facts(f: Facts) -> str:
    cards = "".join(
        f'<div class="card{" " + x.tone if x.tone else ""}"><span class="label">'
        f'{for_html(x.label)}</span><span class="value"{_attr(exact(x.value, x.kind))}>'
        f'{for_html(display(x.value, x.kind))}</span>'
        f'<span class="note">{for_html(x.note)}</span></div>'
        for x in f.items)
    return (f'<div class="block wide"><h3>{for_html(f.title)}</h3>'
            f'<div class="cards">{cards}</div></div>')


def _chart(c: Chart) -> str:
    if not c.rows:
        svg = '<p class="empty">Nothing to draw.</p>'
    elif c.kind == "columns":
        svg = column_chart(c.title, c.series, c.rows, c.x_label, c.y_label)
    else:
        svg = bar_chart(c.title, c.series, c.rows, c.x_label)
    note = f'<p class="note">{for_html(c.note)}</p>' if c.note else ""
    return (f'<figure class="chart{" wide" if c.kind == "columns" else ""}">'
            f"<figcaption>{for_html(c.title)}</figcaption>{svg}{note}</figure>")


def _note(n: Note) -> str:
    tone = f" {n.tone}" if n.tone else ""
    return f'<p class="wide note{tone}">{for_html(n.text)}</p>'


_WRITERS: dict[type, Callable[[Any], str]] = {Table: _table, Facts: _facts, Chart: _chart,
                                             Note: _note}


def render_html(report: dict[str, Any]) -> str:
    """The report as one HTML5 page that needs nothing else to be read."""
    parts = sections(report)
    nav = "".join(f'<a href="#{s.id}">{for_html(s.title)}</a>' for s in parts)
    body = "".join(f'<section id="{s.id}"><h2>{for_html(s.title)}</h2><div class="parts">'
                   + "".join(_WRITERS[type(p)](p) for p in s.parts) + "</div></section>"
                   for s in parts)
    period = period_line(report)
    generator = report.get("generator", "mail-logwatch")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator"{_attr(generator, "content")}>\n'
        f"<title>Mail log report: {for_html(period)}</title>\n"
        f"<style>{_CSS}{_DARK}{_PRINT}</style>\n</head>\n"
        f"<body>\n<header><h1>Mail log report</h1><p>{for_html(period)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>{body}</main>\n"
        f"<footer>Written by {for_html(generator)}. Bytes are rounded where shown; hover for the "
        "exact figure. The JSON form of this report has every figure.</footer>\n"
        "</body>\n</html>\n")
