"""Make log-derived text safe for the medium it is shown in.

Log lines are attacker-controlled: a MAIL FROM or a HELO can carry ANSI escape sequences
that rewrite a terminal, or Unicode bidi overrides that make text read backwards. Every
renderer escapes for its own medium; this module holds the terminal one (others join it
with the renderers that need them).
"""

from __future__ import annotations

import html
import re

__all__ = ["for_terminal", "lines_for_terminal", "for_html", "placed_line", "clipped", "ZWSP",
           "AUTOLINKS"]

#: Breaks a syntax and is read as nothing (a renderer that shows it, shows nothing).
ZWSP = "\u200b"
#: Where a renderer that links bare URLs (GitHub's Markdown, Slack, Mattermost) sees a
#: link start: inside `://` (`https://…`) and after a `www` that begins a word (`www.…`).
#: A zero-width space there keeps the text and loses the link.
AUTOLINKS = r"(?<=:)(?=//)|(?<=\b[Ww]{3})(?=\.)"

# C0 and C1 controls (tab and newline included: one record is one line) and DEL; every
# format character (Unicode's Cf: the bidi controls, zero-width spaces and joiners, word
# joiner, BOM, soft hyphen, tag characters), whose invisibility makes `ad\u200bmin` read as
# `admin`; and the line and paragraph separators (Zl, Zp). Written out, since a class
# built from unicodedata would cost every process its start; a test holds it to
# Python's tables (this includes Unicode 15's Egyptian format controls).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def for_terminal(text: str) -> str:
    """`text` with control, format (bidi, zero-width) and separator characters shown as
    escapes (`\\x1b`, `\\u202e`, `\\u200b`)."""
    return _UNSAFE.sub(_escape, text)


def lines_for_terminal(text: str) -> str:
    """A message of several lines (a rule file's errors, one per field) for a terminal:
    each line escaped, the line breaks kept. A log line holds no line break, so none of
    these came from one."""
    return "\n".join(for_terminal(line) for line in text.split("\n"))


def for_html(text: object) -> str:
    """Log text made inert in HTML and XML (SVG) alike: control and bidi characters shown
    as escapes (ESC is not even allowed in XML), then `& < > " '` as entities."""
    return html.escape(for_terminal(str(text)), quote=True)


def placed_line(source: str, offset: int | None, text: str) -> str:
    """A log line for a terminal after where it is: `mail.log.1 (byte 17944): text`.
    The place is a byte offset (what the events keep; a line number would mean counting
    the file from its start), written so that no one reads it as grep's `file:line:`."""
    return f"{for_terminal(source)} (byte {offset}): {for_terminal(text)}"


def clipped(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut shown by an ellipsis: a value chosen by
    whoever talks to the server can be a megabyte, and an alert made of it one that no
    service takes (and that the outbox would retry for ever)."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
