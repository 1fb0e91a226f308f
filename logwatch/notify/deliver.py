"""Send rendered alerts through apprise, one destination at a time.

Each destination (an apprise URL with its minimum severity) gets its own outbox item per
alert, so that a Slack outage does not resend the email that already went. URLs carry
tokens: outside this module a destination is named by a short hash of its URL and its
redacted form (`Destination.name`), never by the URL itself.
"""

from __future__ import annotations

import hashlib
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from logwatch.config import SEVERITIES, NotifyConfig
from logwatch.errors import ConfigError
from logwatch.notify.render import (CHAT, DISCORD, MATTERMOST, SLACK, Medium, Rendered,
                                   render_chat, render_email, render_json)

__all__ = ["Destination", "destinations", "send", "route_of", "redact", "without_urls"]

_EMAIL = ("mailto", "mailtos")
_JSON = ("json", "jsons")
#: The chat services with a syntax of their own; any other scheme gets `CHAT`, which
#: breaks what any of them reads.
_MEDIA: dict[str, Medium] = {"slack": SLACK, "discord": DISCORD, "mmost": MATTERMOST,
                             "mmosts": MATTERMOST}


@dataclass(frozen=True)
class Destination:
    url: str
    min_severity: str

    @property
    def route_id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower() if "://" in self.url else "?"

    @property
    def name(self) -> str:
        """`slack (3f2a9c01b2d4)`: enough to tell destinations apart, nothing secret."""
        return f"{self.scheme} ({self.route_id})"

    def wants(self, severity: str) -> bool:
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


#: A comment: a `#` at the start of a line or after a blank. A URL has no blank in it,
#: and its own `#` (Slack's `/#channel`, a fragment) follows no blank: it stays whole.
_COMMENT = re.compile(r"(?:^|\s)#")


def _secrets(path: Path) -> list[Destination]:
    """One URL per line, optionally followed by a minimum severity; `#` comments (see
    _COMMENT). The file must be readable by its owner only: it holds tokens."""
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"notify.secrets_file {path}: cannot read: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"notify.secrets_file {path}: readable by others "
                          f"(mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        parts = _COMMENT.split(raw, maxsplit=1)[0].split()
        if not parts:
            continue
        severity = parts[1] if len(parts) > 1 else "info"
        if severity not in SEVERITIES or len(parts) > 2:
            raise ConfigError(f"notify.secrets_file {path} line {n}: expected a URL and "
                              f"optionally one of {', '.join(SEVERITIES)}")
        out.append(_accepted(Destination(parts[0], severity),
                             f"notify.secrets_file {path} line {n}"))
    return out


def destinations(cfg: NotifyConfig) -> list[Destination]:
    out = [_accepted(Destination(u.url, u.min_severity), f"notify.urls[{n}]")
           for n, u in enumerate(cfg.urls)]
    if cfg.secrets_file is not None:
        out += _secrets(cfg.secrets_file)
    return out


def _accepted(d: Destination, where: str) -> Destination:
    """`d`, if apprise knows what to do with its URL; else an error naming where it was
    written (the URL itself is not shown: it carries the token)."""
    if apprise.Apprise.instantiate(d.url) is None:
        raise ConfigError(f"{where}: {d.name}: apprise does not accept this URL")
    return d


def _rendered(plugin: Any, payload: dict[str, Any]) -> tuple[Rendered, Any]:
    """The payload as the service apprise chose for the URL reads it: by the plugin's
    schemes, not the URL's (`https://discord.com/api/webhooks/...` is Discord's), and
    within apprise's figure for what one message to it holds (`body_maxlen`: Slack
    35,000, Discord 2,000 with the title, Mattermost 4,000), less the line break it puts
    between title and body where the service has no title."""
    schemes = {s for p in (plugin.protocol, plugin.secure_protocol)
               for s in ((p,) if isinstance(p, str) else p or ())}
    limit = plugin.body_maxlen - 2
    if schemes & set(_EMAIL):
        return render_email(payload, limit), apprise.NotifyFormat.HTML
    if schemes & set(_JSON):
        return render_json(payload), apprise.NotifyFormat.TEXT
    medium = next((_MEDIA[s] for s in sorted(schemes) if s in _MEDIA), CHAT)
    # declared Markdown, apprise passes Markdown on as it is; declared text, it would
    # escape our escapes again for a URL with `?format=markdown`
    return render_chat(payload, medium, limit), (
        apprise.NotifyFormat.MARKDOWN if medium.markdown else apprise.NotifyFormat.TEXT)


#: Anything written like a URL (`json://...`), whichever destination's it is.
_ANY_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")
#: The most of apprise's reasons kept with a failure (they go into the outbox).
_REASON_CHARS = 300


def _secret_parts(url: str) -> list[str]:
    """The parts of `url` that may be a secret: user, password, each path segment,
    query value and fragment, and a host with no dot (Slack's first token sits there;
    a real host name or address is kept: it is what the admin needs to see)."""
    try:
        parts = urlsplit(url)
        user, password = parts.username or "", parts.password or ""
    except ValueError:   # not even a URL: the whole of it is the secret
        return [url]
    host = parts.netloc.rpartition("@")[2]     # as written: .hostname lower-cases it
    host = host if host.startswith("[") else host.split(":", 1)[0]
    found = [user, password, *parts.path.split("/"), *re.split(r"[?&=]", parts.fragment)]
    found += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    if host and "." not in host and not host.startswith("["):
        found.append(host)
    found += [unquote(p) for p in found]
    return sorted({p for p in found if len(p) >= 3}, key=len, reverse=True)


def without_urls(text: str) -> str:
    """`text` with anything written like a URL shown as its scheme alone (`https://****`):
    a URL carries its tokens wherever it is written, a notify URL or an action's
    `curl https://hooks.example/T0KEN`."""
    return _ANY_URL.sub(lambda m: m.group(0).split("://", 1)[0] + "://****", text)


def redact(text: str, url: str) -> str:
    """`text` (apprise's own words, which may quote the URL) with any URL and every
    secret-looking part of `url` replaced by `****`: tokens never reach a terminal, a
    cron mail or the outbox."""
    text = without_urls(text)
    for part in _secret_parts(url):
        text = text.replace(part, "****")
    return text


def _reasons(result: Any, dest: Destination) -> str:
    """Why apprise says it failed: the warnings it logged for this call (its result keeps
    them), redacted, each once."""
    seen: list[str] = []
    for entry in result.logs():
        said = redact(" ".join(str(entry.message).split()), dest.url)
        if said and said not in seen:
            seen.append(said)
    text = "; ".join(seen)
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS - 3] + "..."


def send(dest: Destination, payload: dict[str, Any]) -> str | None:
    """Deliver one alert (or digest) payload; None when it went, else why not, in
    apprise's words (`A Connection error occurred ...`, `Forbidden - error=403`) so
    that `alerts` tells a closed port from a refused token, with the URL's secrets
    redacted."""
    plugin = apprise.Apprise.instantiate(dest.url)
    notifier = apprise.Apprise()
    if plugin is None or not notifier.add(plugin):
        return f"{dest.name}: URL refused by apprise"
    rendered, body_format = _rendered(plugin, payload)
    result = notifier.notify(title=rendered.title, body=rendered.body, body_format=body_format)
    if result:
        return None
    status = getattr(getattr(result, "status", None), "name", "failure").lower()
    why = _reasons(result, dest)
    return f"{dest.name}: delivery failed ({status})" + (f": {why}" if why else "")


def route_of(dests: list[Destination], route_id: str) -> Destination | None:
    return next((d for d in dests if d.route_id == route_id), None)

