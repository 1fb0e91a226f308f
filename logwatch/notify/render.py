"""An alert as each medium shows it, with every log-derived string made inert there.

A MAIL FROM is whatever the client typed: `<!channel>@x` would page a whole Slack
workspace, `<http://evil|click here>` is a Slack link, `<script>` runs in a careless
HTML mail, and ANSI escapes rewrite a terminal. Each renderer escapes for its own medium
before apprise sees the text (apprise's own escaping differs by plugin, format and
version); the Slack one also breaks mention and link syntax with a zero-width space, so
that the text stays inert even where a layer unescapes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from logwatch.sanitize import for_html, for_terminal

__all__ = ["Rendered", "render_slack", "render_email", "render_text", "render_json",
           "for_slack", "title_of"]

_ZWSP = "\u200b"
#: Slack's control sequences: <!channel>, <@U123>, <#C123>, <http://x|text>, and the
#: bare words that notify; mrkdwn markers that would restyle the text.
_SLACK_MENTION = re.compile(r"([<@!#])")
_MRKDWN = re.compile(r"([*_~`>])")


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def for_slack(text: str, entities: bool = True) -> str:
    """`text` made inert in Slack mrkdwn: control characters shown as escapes, `&<>`
    entity-escaped (unless the sender does it: apprise does in TEXT format, and twice
    shows `&lt;`), and mention, link and formatting syntax broken with a zero-width
    space, which holds even where a layer unescapes the entities."""
    text = for_terminal(text)
    if entities:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SLACK_MENTION.sub(lambda m: m.group(1) + _ZWSP, text)
    return _MRKDWN.sub(lambda m: _ZWSP + m.group(1), text)


def title_of(alert: dict[str, Any]) -> str:
    """`[HIGH] Login succeeded after failures from the same address`: rule text only."""
    return f"[{alert['severity'].upper()}] {alert['title']}"


def _lines(alert: dict[str, Any], limit: int) -> list[str]:
    out = [e["line"] for e in alert["evidence"][:limit] if e.get("line")]
    more = alert["evidence_total"] - len(out)
    return out + ([f"... {more} more lines"] if more > 0 else [])


def _facts(alert: dict[str, Any]) -> list[tuple[str, str]]:
    key = ", ".join(f"{k}={v}" for k, v in alert["key"].items()) or "-"
    return [("rule", alert["rule"]), ("key", key),
            ("seen", f"{alert['first_seen']} .. {alert['last_seen']}"),
            ("count", str(alert["count"])), ("id", alert["id"])]


def render_slack(alert: dict[str, Any], evidence: int = 5, entities: bool = True) -> Rendered:
    """`entities`: see for_slack (false for apprise's TEXT format, which escapes them)."""
    inert = lambda s: for_slack(s, entities)  # noqa: E731
    body = [inert(alert["summary"])]
    body += [f"{name}: {inert(value)}" for name, value in _facts(alert)]
    body += [inert(line) for line in _lines(alert, evidence)]
    return Rendered(inert(title_of(alert)), "\n".join(body))


def render_email(alert: dict[str, Any], evidence: int = 20) -> Rendered:
    """HTML, every value escaped; apprise derives the plain-text part from it."""
    rows = "".join(f"<tr><th align=\"left\">{for_html(n)}</th><td>{for_html(v)}</td></tr>"
                   for n, v in _facts(alert))
    lines = "\n".join(for_html(line) for line in _lines(alert, evidence))
    body = (f"<p>{for_html(alert['summary'])}</p><table>{rows}</table>"
            f"<pre>{lines}</pre>")
    return Rendered(for_terminal(title_of(alert)), body)


def render_text(alert: dict[str, Any], evidence: int = 5) -> Rendered:
    body = [for_terminal(alert["summary"])]
    body += [f"{n}: {for_terminal(v)}" for n, v in _facts(alert)]
    body += ["  " + for_terminal(line) for line in _lines(alert, evidence)]
    return Rendered(for_terminal(title_of(alert)), "\n".join(body))


def render_json(alert: dict[str, Any]) -> Rendered:
    """The alert itself, as the detect contract has it: machines escape for themselves."""
    return Rendered(title_of(alert), json.dumps(alert, ensure_ascii=True))
