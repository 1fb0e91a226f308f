"""Charts for the HTML report as inline SVG, written by hand from the standard library.

A report is mailed, archived and opened offline, so a chart cannot be a script or a
remote image: it is markup in the page. Labels come from the logs (a client's address,
a reject class, a HELO name) and are escaped like any other log text. The same input
gives the same bytes (no generated ids, fixed number formatting), so that two reports
of one period can be compared with `cmp`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from logwatch.sanitize import for_html

__all__ = ["Series", "column_chart", "bar_chart", "dark_css"]

#: Rows: a label and one value per series.
Rows = Sequence[tuple[str, Sequence[float]]]

_FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"'
#: A bar's label (an address, a class) is set in monospace, whose width is known before
#: any browser draws it: the margin it needs can be reserved.
_MONO = ' font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"'
_INK, _MUTED, _GRID = "#1f2937", "#6b7280", "#e5e7eb"
_LABEL_CHARS = 26          # a horizontal bar's label is cut here (the full one is its tooltip)
#: The most a character of 12-unit text takes: a digit of the widest common sans (DejaVu
#: Sans, 7.6), a character of any monospace (0.6 em, 7.2)
_DIGIT_W, _MONO_W = 7.7, 7.3


@dataclass(frozen=True)
class Series:
    """One kind of figure in a chart, and its colour on a light page and on a dark one."""

    name: str
    color: str
    dark: str


def dark_css(series: Sequence[Series], ink: str, muted: str, line: str) -> str:
    """CSS rules that repaint the charts for a dark page: their text `ink` and `muted`,
    their grid `line`, each series its `dark` colour. The charts are drawn once, with the
    light colours as attributes (what a page without CSS, or an SVG viewer, shows); a
    rule outranks an attribute, so the page's colour scheme chooses."""
    rules = [f'svg[fill="{_INK}"]{{fill:{ink}}}', f'svg [fill="{_MUTED}"]{{fill:{muted}}}',
             f'svg [stroke="{_MUTED}"]{{stroke:{muted}}}',
             f'svg [stroke="{_GRID}"]{{stroke:{line}}}']
    rules += sorted({f'svg [fill="{s.color}"]{{fill:{s.dark}}}' for s in series})
    return "".join(rules)


def _n(x: float) -> str:
    """A coordinate, with the same spelling on every platform."""
    return f"{x:.1f}".removesuffix(".0")


def _ticks(top: float, count: int = 4) -> list[float]:
    """Axis ticks from 0 at a 1, 2 or 5 step: the last one at or above `top`."""
    raw = max(top, 1) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    step = max(step, 1)                 # counts: no tick between two integers
    return [i * step for i in range(math.ceil(max(top, 1) / step) + 1)]


def _count(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _cut(label: str, limit: int = _LABEL_CHARS) -> str:
    """`label` at most `limit` characters, cut in the middle: both ends tell addresses
    apart (IPv6 addresses of one network share the start, hostnames the end)."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head):]


def _text(x: float, y: float, label: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>'
            f"{for_html(label)}</text>")


def _legend_entry(s: Series) -> float:
    """The width a series' swatch, name and the gap after it take in the legend."""
    return 14 + 7 * len(s.name) + 18


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    parts = []
    for s in series:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" rx="2" '
                     f'fill="{for_html(s.color)}"/>' + _text(x + 14, y, s.name))
        x += _legend_entry(s)
    return "".join(parts)


def _svg(title: str, series: Sequence[Series], rows: Rows, width: int, height: int,
         body: str) -> str:
    """The chart, named by its title and its figures: a reader who cannot see it (a screen
    reader takes a role="img" whole, its tooltips unread) hears what it draws."""
    said = "; ".join(_figures(label, series, values) for label, values in rows)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" '
            f'aria-label="{for_html(title)}. {for_html(said)}" '
            f'{_FONT} fill="{_INK}"><title>{for_html(title)}</title>{body}</svg>')


def _figures(label: str, series: Sequence[Series], values: Sequence[float]) -> str:
    """A row's figures, unescaped: `07: received 3, delivered 5, rejected 0`."""
    return label + ": " + ", ".join(f"{s.name} {_count(v)}" for s, v in zip(series, values))


def _tooltip(label: str, series: Sequence[Series], values: Sequence[float]) -> str:
    return f"<title>{for_html(_figures(label, series, values))}</title>"


def column_chart(title: str, series: Sequence[Series], rows: Rows, x_label: str,
                 y_label: str, width: int = 960, height: int = 300) -> str:
    """Vertical bars, one group per row with a bar per series side by side (received and
    delivered are mostly the same messages: stacked, they would add up to nothing)."""
    ticks = _ticks(max((v for _, vs in rows for v in vs), default=0))
    # the rotated axis label takes 22 units at the left; the tick labels stand after it
    left, right, top, bottom = 28 + math.ceil(_DIGIT_W * len(_count(ticks[-1]))), 12, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = plot_h / ticks[-1]
    base = top + plot_h
    out = [_legend(series, left, 16)]
    for t in ticks:
        y = base - t * scale
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_n(y)}" y2="{_n(y)}" '
                   f'stroke="{_GRID}"/>' + _text(left - 6, y + 4, _count(t), "end"))
    group_w = plot_w / max(len(rows), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    label_w = max((len(label) for label, _ in rows), default=0) * _DIGIT_W + 10
    every = max(1, math.ceil(len(rows) * label_w / plot_w))    # x labels that do not collide
    for i, (label, values) in enumerate(rows):
        x0 = left + i * group_w
        bars = [_tooltip(label, series, values)]
        for j, (s, v) in enumerate(zip(series, values)):
            h = v * scale
            bars.append(f'<rect class="bar" x="{_n(x0 + group_w * 0.1 + j * bar_w)}" '
                        f'y="{_n(base - h)}" width="{_n(bar_w)}" height="{_n(h)}" '
                        f'fill="{for_html(s.color)}"/>')
        out.append(f'<g class="group">{"".join(bars)}</g>')
        if i % every == 0:
            out.append(_text(x0 + group_w / 2, base + 18, label, "middle",
                             f' fill="{_MUTED}"'))
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" '
               f'stroke="{_MUTED}"/>')
    out.append(_text(left + plot_w / 2, height - 6, x_label, "middle", f' fill="{_MUTED}"'))
    out.append(_text(14, top + plot_h / 2, y_label, "middle",
                     f' fill="{_MUTED}" transform="rotate(-90 14 {_n(top + plot_h / 2)})"'))
    return _svg(title, series, rows, width, height, "".join(out))


def bar_chart(title: str, series: Sequence[Series], rows: Rows, x_label: str,
              width: int = 560, row_h: int = 22) -> str:
    """Horizontal bars, one per row, its series stacked (parts of one whole: a client's
    connections, messages, rejects and failed logins are its activity), the total at
    the end. Long labels are cut; the tooltip has them whole."""
    shown = [_cut(label) for label, _ in rows]
    most = max((sum(vs) for _, vs in rows), default=0)
    ticks = _ticks(most)
    # room for the longest label at the left, the largest total after its bar at the right
    left = 16 + math.ceil(_MONO_W * max(map(len, shown), default=0))
    right = 14 + math.ceil(_DIGIT_W * len(_count(most)))
    top, bottom = 30 if len(series) > 1 else 8, 36
    plot_w = width - left - right
    height = top + row_h * len(rows) + bottom
    scale = plot_w / ticks[-1]
    base = top + row_h * len(rows)
    legend_x = min(left, width + 10 - sum(map(_legend_entry, series)))   # all of it in view
    out = [_legend(series, legend_x, 16)] if len(series) > 1 else []
    for t in ticks:
        x = left + t * scale
        out.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top}" y2="{base}" '
                   f'stroke="{_GRID}"/>' + _text(x, base + 16, _count(t), "middle",
                                                  f' fill="{_MUTED}"'))
    for i, ((label, values), short) in enumerate(zip(rows, shown)):
        y = top + i * row_h
        parts = [_tooltip(label, series, values),
                 _text(left - 8, y + row_h / 2 + 4, short, "end", _MONO)]
        x = float(left)
        for s, v in zip(series, values):
            parts.append(f'<rect class="bar" x="{_n(x)}" y="{_n(y + 3)}" '
                         f'width="{_n(v * scale)}" height="{row_h - 6}" '
                         f'fill="{for_html(s.color)}"/>')
            x += v * scale
        parts.append(_text(x + 6, y + row_h / 2 + 4, _count(sum(values))))
        out.append(f'<g class="group">{"".join(parts)}</g>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{_MUTED}"/>')
    out.append(_text(left + plot_w / 2, height - 4, x_label, "middle", f' fill="{_MUTED}"'))
    return _svg(title, series, rows, width, height, "".join(out))
