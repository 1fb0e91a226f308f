"""An alert as each medium shows it, with every log-derived string made inert there.

A MAIL FROM is whatever the client typed: `<!channel>@x` would page a whole Slack
workspace, `<http://evil|click here>` is a Slack link, `<script>` runs in a careless
HTML mail, and ANSI escapes rewrite a terminal. Each renderer escapes for its own medium
before apprise sees the text (apprise's own escaping differs by plugin, format and
version). Chat services (Slack, Discord, Mattermost and any other) each read their own
mention, link and markup syntax: one renderer breaks the syntax of the medium at hand
with a zero-width space, which keeps the text readable and stays inert even where a
layer (apprise's Markdown conversion, Discord's ping detection) reads it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from logwatch.sanitize import AUTOLINKS, ZWSP, clipped, for_html, for_terminal

__all__ = ["Rendered", "Medium", "SLACK", "DISCORD", "MATTERMOST", "CHAT", "inert",
           "render_chat", "render_email", "render_json", "title_of"]


@dataclass(frozen=True)
class Medium:
    """What of a chat service's syntax log text could speak. `opens`: the characters
    that open a mention, a channel or a link there; a zero-width space goes after each
    (an `@everyone` so broken pings nobody). `marks`: its markup characters, escaped with a
    backslash where the service reads Markdown (`markdown`; a zero-width space does not
    stop CommonMark's emphasis), else with a zero-width space before each (Slack's mrkdwn
    has no escape). Every medium also gets one where a bare URL would be linked
    (`AUTOLINKS`: inside `://`, after a word's `www`) and inside `](`, so that no URL
    becomes a link or an image, and no text a disguised link."""

    opens: str
    marks: str
    markdown: bool = False
    #: the service takes `&<>` only as entities (apprise writes them): each counts as
    #: its entity against the service's limit
    entities: bool = False

    @cached_property
    def breaks(self) -> re.Pattern[str]:
        """Where the zero-width spaces go: one per place, however many rules want it."""
        return re.compile(f"(?<=[{re.escape(self.opens)}])|{AUTOLINKS}|(?<=\\])(?=\\()")

    @cached_property
    def markup(self) -> re.Pattern[str]:
        return re.compile(f"[{re.escape(self.marks)}]")

    def size(self, text: str) -> int:
        """`text`'s length as the service counts it."""
        if not self.entities:
            return len(text)
        return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


#: <!channel>, <@U1>, <#C1>, <url|text>; the bare @channel, @here; mrkdwn *_~` and > quotes
SLACK = Medium(opens="<@!#", marks="*_~`>", entities=True)
#: @everyone, @here, <@1>, <@!1>, <@&1> roles, <#1> channels, <t:1:R>; Markdown *_~`,
#: ||spoilers||, > quotes, # and -# headings, \ (which would undo an escape)
DISCORD = Medium(opens="<@", marks="\\*_~`|>#", markdown=True)
#: @channel, @all, @here, @user, ~channel, #hashtag, Slack's <!channel>, <url>; Markdown
#: as Discord's, | tables
MATTERMOST = Medium(opens="<@#~", marks="\\*_~`|>#", markdown=True)
#: Any other service (ntfy, Gotify, Telegram, Teams, Rocket.Chat, ...), plain text or
#: Markdown: what any of the above reads, with zero-width spaces, which read as nothing
#: where the text is plain
CHAT = Medium(opens="<@!#~", marks="*_~`|>")


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def inert(text: str, medium: Medium) -> str:
    """`text` made inert in `medium`: control and invisible characters shown as escapes,
    its mention, link and markup syntax broken (see Medium). `&<>` are left to apprise,
    which escapes them itself where a service needs it (Slack's TEXT format, formats
    converted to HTML): escaped here too, Slack would show `&lt;`."""
    text = medium.breaks.sub(ZWSP, for_terminal(text))
    return medium.markup.sub(r"\\\g<0>" if medium.markdown else ZWSP + r"\g<0>", text)


#: How much of each log-derived value (a summary, a key, a line) a message shows: as
#: much as the evidence keeps of a line, else less, the first that fits the service
_VALUE_CHARS = (2000, 300, 60)


def _fitted(build: Callable[[int, int, bool], Rendered], evidence: int,
            fits: Callable[[Rendered], bool]) -> Rendered:
    """The fullest `build(lines, chars, hints)` that fits: without the rule's `could also
    be` first (the rule's text, which the log's lines outweigh), then fewer evidence
    lines (those left out are counted, `... 3 more lines`), then shorter values; at
    worst the least. A service refuses a message over its limit, and the outbox would
    retry it for ever."""
    tries = [(lines, chars, hints) for chars in _VALUE_CHARS
             for lines in range(evidence, -1, -1) for hints in (True, False)]
    for lines, chars, hints in tries:
        rendered = build(lines, chars, hints)
        if fits(rendered):
            return rendered
    return rendered


def title_of(alert: dict[str, Any]) -> str:
    """`[HIGH] Login succeeded after failures from the same address`: rule text only."""
    return f"[{alert['severity'].upper()}] {alert['title']}"


def _lines(alert: dict[str, Any], limit: int) -> list[str]:
    out = [e["line"] for e in alert["evidence"][:limit] if e.get("line")]
    more = alert["evidence_total"] - len(out)
    return out + ([f"... {more} more lines"] if more > 0 else [])


def _facts(alert: dict[str, Any], hints: bool) -> list[tuple[str, str]]:
    """What a reader checks first, then (with `hints`) the rule's known false positives
    (`could also be`: what to rule out before waking anyone else)."""
    key = ", ".join(f"{k}={v}" for k, v in alert["key"].items()) or "-"
    others = (alert.get("false_positives") or []) if hints else []
    return [("rule", alert["rule"]), ("key", key),
            ("seen", f"{alert['first_seen']} .. {alert['last_seen']}"),
            ("count", str(alert["count"])), ("id", alert["id"])] + (
        [("could also be", "; ".join(others))] if others else [])


def render_chat(alert: dict[str, Any], medium: Medium, limit: int,
                evidence: int = 5) -> Rendered:
    """The alert for a chat service, every string (the rule's too) inert in `medium`,
    title and body within `limit` characters as the service counts them."""
    def build(lines: int, chars: int, hints: bool) -> Rendered:
        shown = lambda s: inert(clipped(s, chars), medium)  # noqa: E731
        body = [shown(alert["summary"])]
        body += [f"{name}: {shown(value)}" for name, value in _facts(alert, hints)]
        body += [shown(line) for line in _lines(alert, lines)]
        return Rendered(shown(title_of(alert)), "\n".join(body))
    return _fitted(build, evidence, lambda r: medium.size(r.title + r.body) <= limit)


def render_email(alert: dict[str, Any], limit: int, evidence: int = 20) -> Rendered:
    """HTML, every value escaped; apprise derives the plain-text part from it. Fitted
    by what is shown, never by cutting the HTML."""
    def build(lines: int, chars: int, hints: bool) -> Rendered:
        html = lambda s: for_html(clipped(s, chars))  # noqa: E731
        rows = "".join(f"<tr><th align=\"left\">{html(n)}</th><td>{html(v)}</td></tr>"
                       for n, v in _facts(alert, hints))
        shown = "\n".join(html(line) for line in _lines(alert, lines))
        body = f"<p>{html(alert['summary'])}</p><table>{rows}</table><pre>{shown}</pre>"
        return Rendered(for_terminal(clipped(title_of(alert), chars)), body)
    return _fitted(build, evidence, lambda r: len(r.title) + len(r.body) <= limit)


def render_json(alert: dict[str, Any]) -> Rendered:
    """The alert itself, as the detect contract has it: machines escape for themselves."""
    return Rendered(title_of(alert), json.dumps(alert, ensure_ascii=True))
