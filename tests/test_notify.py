"""Alerts really delivered through apprise to servers on loopback (no mock of apprise):
email to an SMTP server (aiosmtpd), a `json://` webhook, the Slack payload captured at the
HTTP layer; hostile log text inert in each; a notifier that is down (outbox, backoff,
exit 75, delivered once when it is back); routing by severity; digest; re-alert on
growth; the secrets file and URL privacy."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack

import logwatch.live as live
from logwatch.config import load_config
from logwatch.errors import ConfigError
from logwatch.live import deliver_outbox, run_pass
from logwatch.notify.deliver import destinations, redact, send
from logwatch.notify.render import CHAT, render_chat, render_email, render_json
from logwatch.notify.render import DISCORD as DISCORD_MEDIUM
from logwatch.notify.render import SLACK as SLACK_MEDIUM
from logwatch.state import State

ROOT = Path(__file__).resolve().parent.parent

# -- the log ------------------------------------------------------------------------------

HOSTILE = ("\x1b[31m<!channel>@x <http://evil|click here> <@U123> *bold* "
           "<script>alert(1)</script>@x &lt;!here&gt;")


def _stamp(minute: int, second: int) -> str:
    return f"2026-03-03T10:{minute:02d}:{second:02d}+00:00"


def failures(ip: str, n: int, minute: int = 0) -> str:
    """`n` SASL failures from `ip`: auth_failure_burst (low) from 5 on."""
    return "".join(f"{_stamp(minute, s)} mx1 postfix/smtpd[1]: warning: unknown[{ip}]: "
                   "SASL LOGIN authentication failed: UGFzc3dvcmQ6\n" for s in range(n))


def relayed(sender: str = HOSTILE, ip: str = "203.0.113.66", minute: int = 30,
            qid: str = "1A2B3C4D5E") -> str:
    """A message from an untrusted, unauthenticated client to a remote domain:
    open_relay (critical), its MAIL FROM chosen by the attacker."""
    t = lambda s: _stamp(minute, s)  # noqa: E731
    return (f"{t(0)} mx1 postfix/smtpd[10]: connect from evil[{ip}]\n"
            f"{t(1)} mx1 postfix/smtpd[10]: {qid}: client=evil[{ip}]\n"
            f"{t(1)} mx1 postfix/qmgr[11]: {qid}: from=<{sender}>, size=100, nrcpt=1 "
            "(queue active)\n"
            f"{t(2)} mx1 postfix/smtp[12]: {qid}: to=<x@victim.example.org>, "
            "relay=mx.victim.example.org[198.51.100.5]:25, delay=1, delays=0/0/0/1, "
            "dsn=2.0.0, status=sent (250 OK)\n"
            f"{t(2)} mx1 postfix/qmgr[11]: {qid}: removed\n")


def _toml_url(u: str | tuple[str, str]) -> str:
    if isinstance(u, tuple):
        return f"{{url = {json.dumps(u[0])}, min_severity = {json.dumps(u[1])}}}"
    return json.dumps(u)


def write_config(tmp_path: Path, urls: list[str | tuple[str, str]], log: str = "",
                 **notify: Any) -> Path:
    """A config reading `tmp_path/mail.log` (written with `log`), state in tmp_path.
    `digest_every` is 0 unless given: these tests are of what a pass sends; the digest
    that holds the background for its period has tests of its own."""
    (tmp_path / "mail.log").write_text(log, encoding="utf-8")
    notify.setdefault("digest_every", 0)
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in notify.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f"state_dir = {json.dumps(str(tmp_path / 'state'))}\n"
        f"[[sources]]\npath = {json.dumps(str(tmp_path / 'mail.log'))}\n"
        "[site]\nlocal_domains = [\"example.com\"]\ntrusted_networks = [\"127.0.0.1/32\"]\n"
        "timezone = \"UTC\"\n"
        f"[notify]\nurls = [{', '.join(_toml_url(u) for u in urls)}]\n{extra}",
        encoding="utf-8")
    return path


def append(tmp_path: Path, text: str) -> None:
    with open(tmp_path / "mail.log", "a", encoding="utf-8") as fh:
        fh.write(text)


def one_pass(cfg_path: Path, retry_after: float | None = None) -> tuple[list[dict], int]:
    """run_pass then deliver_outbox, as `run` does: (alerts raised, still pending)."""
    cfg = load_config(cfg_path)
    state = State(cfg.state_dir)
    try:
        result = run_pass(cfg, state)
        assert not result.errors, result.errors
        return result.alerts, deliver_outbox(cfg, state, retry_after=retry_after)
    finally:
        state.close()


def outbox(cfg_path: Path) -> list[Any]:
    state = State(load_config(cfg_path).state_dir)
    try:
        return state.recent(1000)
    finally:
        state.close()


def mlw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwatch", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


# -- servers on loopback ------------------------------------------------------------------

def free_port() -> int:
    """A port nobody listens on (aiosmtpd cannot bind port 0 itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        posts = self.server.posts  # type: ignore[attr-defined]
        posts.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")           # what Slack answers, and all apprise needs

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def http_sink(port: int = 0) -> Iterator[tuple[int, list[tuple[str, dict, bytes]]]]:
    """An HTTP server on loopback recording every POST (path, headers, body)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], server.posts  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextmanager
def smtp_sink(port: int) -> Iterator[_Inbox]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def json_posts(posts: list[tuple[str, dict, bytes]]) -> list[tuple[str, dict]]:
    """apprise's json:// payloads: (path, our alert parsed from `message`)."""
    out = []
    for path, headers, body in posts:
        outer = json.loads(body)
        assert outer["version"] == "1.0" and headers["Content-Type"].startswith(
            "application/json")
        out.append((path, json.loads(outer["message"])))
    return out


CONTRACT = ["id", "rule", "severity", "key", "first_seen", "last_seen", "count", "summary",
            "evidence", "evidence_total"]


# -- email --------------------------------------------------------------------------------

def test_email_arrives_once_multipart_with_hostile_sender_escaped(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, [f"mailto://127.0.0.1:{port}?from=alerts@example.com"
                                  "&to=ops@example.com"], relayed())
    with smtp_sink(port) as inbox:
        alerts, pending = one_pass(cfg)
        assert [a["rule"] for a in alerts] == ["open_relay"] and pending == 0
        assert one_pass(cfg) == ([], 0)                   # nothing new: nothing sent
    assert len(inbox.messages) == 1
    mail_from, rcpts, raw = inbox.messages[0]
    assert (mail_from, rcpts) == ("alerts@example.com", ["ops@example.com"])
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert "Open relay" in msg["Subject"]
    html = msg.get_body(("html",)).get_content()
    plain = msg.get_body(("plain",)).get_content()
    # the attacker's MAIL FROM is text in the HTML, never a tag or a Slack mention
    assert "<script" not in html.lower() and "<!channel>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@x" in html
    assert "&lt;!channel&gt;@x" in html
    assert "\x1b" not in html and "\\x1b[31m" in html
    assert "203.0.113.66" in plain and "open_relay" in plain
    assert "\x1b" not in plain
    # what to rule out before waking anyone: the rule's known false positives
    assert "could also be" in plain and "should be in trusted_networks or relay_domains" in plain


# -- webhook ------------------------------------------------------------------------------

def test_json_webhook_message_is_the_alert_contract(tmp_path: Path) -> None:
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"],
                           failures("203.0.113.45", 6) + relayed())
        alerts, pending = one_pass(cfg)
        assert pending == 0
    got = json_posts(posts)
    assert [p for p, _ in got] == ["/hook", "/hook"]
    by_rule = {a["rule"]: a for _, a in got}
    assert set(by_rule) == {"open_relay", "auth_failure_burst"}
    for sent in by_rule.values():
        assert list(sent)[:10] == CONTRACT
        assert sent["notice"] == "new"
        raised = next(a for a in alerts if a["rule"] == sent["rule"])
        assert sent["id"] == raised["id"]
    relay = by_rule["open_relay"]
    assert relay["severity"] == "critical" and relay["key"] == {"client_ip": "203.0.113.66"}
    assert relay["false_positives"] == [
        "a partner's server that should be in trusted_networks or relay_domains",
        "local_domains incomplete: a domain of ours not listed (check the inferred-domains "
        "warning)"]
    # JSON carries the text as it was: consumers escape for themselves
    assert any(HOSTILE in e["line"] for e in relay["evidence"])
    burst = by_rule["auth_failure_burst"]
    assert burst["count"] == 6 and burst["evidence_total"] == 6
    assert burst["first_seen"] == "2026-03-03T10:00:00Z"


# -- Slack --------------------------------------------------------------------------------

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def test_slack_payload_renders_hostile_strings_inert(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with http_sink() as (port, posts):
        monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{port}/services")
        cfg = write_config(tmp_path, [SLACK], relayed())
        alerts, pending = one_pass(cfg)
        assert len(alerts) == 1 and pending == 0
    ((path, _, body),) = posts
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    payload = json.loads(body)
    texts = [payload.get("text", "")] + [v for att in payload.get("attachments", [])
                                         for v in (att.get("title", ""), att.get("text", ""))]
    posted = "\n".join(texts)
    assert "203.0.113.66" in posted and "Open relay" in posted
    for live_syntax in ("<!channel>", "<!", "<http", "<@U123>", "<@", "|click here>",
                        "<script", "*bold*"):
        assert live_syntax not in posted, live_syntax
    assert "\x1b" not in posted and "\x1b" not in body.decode()
    assert "\\x1b[31m" in posted                        # shown, not obeyed
    assert "click here" in posted and "U123" in posted  # the text itself is still there
    # escaped once (apprise escapes `&<>` for Slack TEXT itself): Slack shows `from=<`
    # and the attacker's own `&lt;` as typed, never as a mention
    assert "<" not in posted and ">" not in posted
    assert "from=&lt;" in posted and "&amp;lt;!" in posted
    assert posted.count("&amp;") == posted.count("&amp;lt;") + posted.count("&amp;gt;") == 2


def test_renderers_make_hostile_text_inert() -> None:
    alert = {"id": "abc", "rule": "open_relay", "severity": "critical",
             "title": "Open relay <b>", "key": {"client_ip": "203.0.113.66"},
             "first_seen": "2026-03-03T10:01:01Z", "last_seen": "2026-03-03T10:01:01Z",
             "count": 1, "summary": f"from {HOSTILE}",
             "evidence": [{"source": "m", "offset": 0, "line": HOSTILE}],
             "evidence_total": 3, "details": {}}
    slack = render_chat(alert, SLACK_MEDIUM, 35_000)
    for text in (slack.title, slack.body):   # `&<>` are apprise's to escape for Slack
        assert "<!" not in text and "<@" not in text and "<h" not in text
        assert "<s" not in text and "\x1b" not in text and "*bold*" not in text
    assert "... 2 more lines" in slack.body
    mail = render_email(alert, 32_000)
    assert "<script" not in mail.body and "<b>" not in mail.body and "\x1b" not in mail.body
    assert "&lt;script&gt;" in mail.body and "\x1b" not in mail.title
    chat = render_chat(alert, CHAT, 4000)
    assert "\x1b" not in chat.title + chat.body and "\\x1b[31m" in chat.body
    assert json.loads(render_json(alert).body) == alert


def test_the_rules_hints_give_way_before_the_logs_lines() -> None:
    """In Discord's 2,000 characters, a rule's long `could also be` cost evidence lines:
    the log's lines are what a reader cannot look up elsewhere, so the hints go first."""
    line = ("Mar  3 10:01:{:02d} mx1 postfix/smtpd[4242]: warning: unknown[198.51.100.7]: "
            "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=user{}@example.com"
            " (client offered AUTH LOGIN after STARTTLS, TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384)")
    alert = {"id": "abc", "rule": "auth_failure_burst", "severity": "low",
             "title": "Authentication failures from one address",
             "key": {"client_ip": "198.51.100.7"},
             "first_seen": "2026-03-03T10:01:00Z", "last_seen": "2026-03-03T10:01:04Z",
             "count": 5, "summary": "5 authentication failures from 198.51.100.7 in 4s",
             "evidence": [{"source": "m", "offset": i, "line": line.format(i, i)}
                          for i in range(5)],
             "evidence_total": 5, "details": {},
             "false_positives": [f"a client of kind {i} retrying an old password from an "
                                 "address it has logged in from before, again and again"
                                 for i in range(8)]}
    roomy = render_chat(alert, CHAT, 35_000)
    assert "could also be: a client of kind 0" in roomy.body
    assert roomy.body.count("SASL LOGIN authentication failed") == 5
    discord = render_chat(alert, DISCORD_MEDIUM, 1998)
    assert len(discord.title) + len(discord.body) <= 1998
    assert len(roomy.title) + len(roomy.body) > 1998            # it had to give something
    assert discord.body.count("SASL LOGIN authentication failed") == 5, discord.body
    assert "could also be" not in discord.body and "more lines" not in discord.body


# -- Discord, Mattermost and every other chat service -----------------------------------------

#: Mentions, channel links and links of Slack, Discord and Mattermost, as a MAIL FROM
CHAT_HOSTILE = ("<!channel> <!here> @everyone @here @channel @all <@123> <#456> <@&789> "
                "~town [md](http://evil.example/md) ![img](http://evil.example/x.png) "
                "*bold* ||spoiler||")
DISCORD = "discord://123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def _strings(value: Any) -> list[str]:
    """Every string in a posted JSON payload, wherever the plugin put the text."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize(("url", "markdown", "own_syntax"), [
    ("mmost://127.0.0.1:{port}/hooktoken", True, ("~town",)),
    (DISCORD, True, ()),
    (DISCORD + "?format=markdown", True, ()),    # apprise's embeds, which detect pings
    ("https://discord.com/api/webhooks/123456789012345678/"
     "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", True, ()),
    ("ntfy://127.0.0.1:{port}/alerts", False, ("~town",)),   # no renderer of its own
    ("gotify://127.0.0.1:{port}/gotifytoken", False, ("~town",)),
])
def test_chat_services_get_hostile_text_inert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              url: str, markdown: bool,
                                              own_syntax: tuple[str, ...]) -> None:
    """What arrives at the service pings nobody, links nowhere, shows no image and is
    styled by no one: each medium's own syntax broken, the text itself still there."""
    with http_sink() as (port, posts):
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://127.0.0.1:{port}/discord")
        cfg = write_config(tmp_path, [url.format(port=port)], relayed(sender=CHAT_HOSTILE))
        alerts, pending = one_pass(cfg)
        assert len(alerts) == 1 and pending == 0
    ((_, _, body),) = posts
    payload = json.loads(body)
    assert "allow_mentions" not in payload                  # apprise found no ping to add
    posted = "\n".join(_strings(payload))
    assert "203.0.113.66" in posted and "Open relay" in posted
    for live_syntax in ("@everyone", "@here", "@channel", "@all", "<!", "<@", "<#", "](",
                        "://evil", "*bold*", "||spoiler||", *own_syntax):
        assert live_syntax not in posted, live_syntax
    for text in ("everyone", "channel", "123", "town", "evil.example/x.png", "spoiler"):
        assert text in posted, text
    if markdown:   # Markdown's emphasis is not stopped by a zero-width space: escaped
        assert "\\*bold\\*" in posted and "\\|\\|spoiler\\|\\|" in posted


# -- enormous values -------------------------------------------------------------------------

def harvest(size: int) -> str:
    """Ten unknown recipients of `size` characters each from one client: recipient_harvest
    (low), whose summary lists five of them (the review's repro run7)."""
    return "".join(
        f"{_stamp(40, i)} mx1 postfix/smtpd[20]: NOQUEUE: reject: RCPT from "
        f"unknown[198.51.100.77]: 550 5.1.1 <u{i}{'B' * size}@example.com>: Recipient address "
        "rejected: User unknown in local recipient table; from=<a@b.example> "
        f"to=<u{i}{'B' * size}@example.com> proto=ESMTP helo=<h>\n" for i in range(10))


def test_enormous_values_make_alerts_each_service_takes(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """100 KB recipients made a 510 KB Slack payload and a 1 MB mail, which a service
    refuses and the outbox retries for ever. Each value is cut, visibly, and each message
    fits its service: Slack's 35,000 characters, Discord's 2,000, Mattermost's 4,000."""
    smtp = free_port()
    with http_sink() as (port, posts), smtp_sink(smtp) as inbox:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{port}/slack")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://127.0.0.1:{port}/discord")
        cfg = write_config(tmp_path, [SLACK, DISCORD, f"mmost://127.0.0.1:{port}/hooktoken",
                                      f"mailto://127.0.0.1:{smtp}?from=alerts@example.com"
                                      "&to=ops@example.com"], harvest(100_000))
        alerts, pending = one_pass(cfg)
        assert [a["rule"] for a in alerts] == ["recipient_harvest"] and pending == 0
    summary = alerts[0]["summary"]
    assert len(summary) < 2000 and summary.count("\u2026") == 5, len(summary)
    assert summary.startswith("10 unknown recipients tried by 198.51.100.77")
    got = {path.split("/")[1]: json.loads(body) for path, _, body in posts}
    slack = got["slack"]["attachments"][0]
    sizes = {"slack": len(slack["title"]) + len(slack["text"]),
             "discord": len(got["discord"]["content"]),
             "hooks": len(got["hooks"]["text"])}
    assert sizes["slack"] <= 35_000 and sizes["discord"] <= 2000 and sizes["hooks"] <= 4000, \
        sizes
    for text in (slack["text"], got["discord"]["content"], got["hooks"]["text"]):
        assert "198.51.100.77" in text and "\u2026" in text
    assert "more lines" in got["discord"]["content"]     # what did not fit is counted
    ((_, _, raw),) = inbox.messages
    assert len(raw) < 100_000, len(raw)


# -- a notifier that is down ----------------------------------------------------------------

def test_notifier_down_then_back_delivers_once(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()                                   # nobody listens there yet
    cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"], relayed(),
                       retry_after=60)
    alerts, pending = one_pass(cfg)
    assert len(alerts) == 1 and pending == 1
    (item,) = outbox(cfg)
    assert item.delivered_at is None and item.attempts == 1
    assert "delivery failed" in item.last_error

    shown = mlw("alerts", "--config", str(cfg))
    assert shown.returncode == 75, shown.stderr
    assert "open_relay" in shown.stdout and "failing (1 tries)" in shown.stdout
    assert "1 waiting" in shown.stdout

    before = time.time()
    ran = mlw("run", "--config", str(cfg))               # not due yet: nothing tried
    assert ran.returncode == 75, ran.stderr
    assert ran.stdout == "" and "1 alert waits in the outbox" in ran.stderr
    (item,) = outbox(cfg)
    assert item.attempts == 1

    # due (an hour later): still down, so the retry fails and the backoff doubles
    real = time.time
    monkeypatch.setattr(live, "time", types.SimpleNamespace(time=lambda: real() + 3600))
    assert one_pass(cfg) == ([], 1)
    state = State(load_config(cfg).state_dir)
    ((attempts, next_try),) = state.db.execute("SELECT attempts, next_try FROM outbox")
    state.close()
    assert attempts == 2 and before + 120 - 5 <= next_try <= time.time() + 120

    with http_sink(port) as (_, posts):
        monkeypatch.setattr(live, "time", types.SimpleNamespace(time=lambda: real()))
        assert one_pass(cfg) == ([], 1)                   # back, but not due yet: waits
        assert posts == []
        monkeypatch.setattr(live, "time", types.SimpleNamespace(time=lambda: real() + 3600))
        assert one_pass(cfg) == ([], 0)                   # due: sent
        assert one_pass(cfg) == ([], 0)                   # and never again
        again = mlw("run", "--config", str(cfg))
        assert again.returncode == 0, again.stderr
    got = json_posts(posts)
    assert len(got) == 1 and got[0][1]["id"] == alerts[0]["id"]
    shown = mlw("alerts", "--config", str(cfg))
    assert shown.returncode == 0 and "sent " in shown.stdout and "0 waiting" in shown.stdout


def test_retry_after_zero_makes_the_next_delivery_due_at_once(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"], relayed())
    assert one_pass(cfg, retry_after=0)[1] == 1
    with http_sink(port) as (_, posts):
        assert one_pass(cfg, retry_after=0) == ([], 0)
        assert one_pass(cfg, retry_after=0) == ([], 0)
    assert len(posts) == 1


# -- routing, digest, re-alert ----------------------------------------------------------------

def test_routing_by_min_severity(tmp_path: Path) -> None:
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/all",
                                      (f"json://127.0.0.1:{port}/pager", "high")],
                           failures("203.0.113.45", 6) + relayed())
        alerts, pending = one_pass(cfg)
        assert pending == 0
    assert {a["severity"] for a in alerts} == {"low", "critical"}
    got = json_posts(posts)
    assert sorted((p, a["rule"]) for p, a in got) == [
        ("/all", "auth_failure_burst"), ("/all", "open_relay"), ("/pager", "open_relay")]


def test_many_low_alerts_in_one_pass_become_one_digest(tmp_path: Path) -> None:
    ips = ["203.0.113.11", "203.0.113.12", "203.0.113.13"]
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"],
                           "".join(failures(ip, 5, minute=i) for i, ip in enumerate(ips))
                           + relayed(), digest_after=2)
        alerts, pending = one_pass(cfg)
        assert pending == 0
    assert sorted(a["rule"] for a in alerts) == ["auth_failure_burst"] * 3 + ["open_relay"]
    got = [a for _, a in json_posts(posts)]
    assert sorted(a["rule"] for a in got) == ["digest", "open_relay"]
    digest = next(a for a in got if a["rule"] == "digest")
    assert digest["notice"] == "digest" and digest["count"] == 3
    assert digest["severity"] == "low"
    assert sorted(digest["alerts"]) == sorted(a["id"] for a in alerts
                                              if a["rule"] == "auth_failure_burst")
    assert all(any(ip in e["line"] for e in digest["evidence"]) for ip in ips)


def test_digest_not_used_at_or_below_digest_after(tmp_path: Path) -> None:
    ips = ["203.0.113.11", "203.0.113.12"]
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"],
                           "".join(failures(ip, 5, minute=i) for i, ip in enumerate(ips)),
                           digest_after=2)
        one_pass(cfg)
    assert sorted(a["rule"] for _, a in json_posts(posts)) == ["auth_failure_burst"] * 2


def test_the_background_waits_for_one_digest_a_period(tmp_path: Path) -> None:
    """Low alerts trickling in (a scanner a minute; a follower's pass is a second) wait
    for their destination's digest: one message a `digest_every` holding all of them,
    while a critical one goes at once and a destination for `high` gets none of them.
    Held is not waiting: `run` and `alerts` exit 0. (The period is the wall clock's: long
    enough for the `alerts` process and a second pass to start within it on a loaded
    machine, where 2 s was not.)"""
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/all",
                                      (f"json://127.0.0.1:{port}/pager", "high")],
                           failures("203.0.113.11", 5) + relayed(), digest_every="8s")
        alerts, pending = one_pass(cfg)
        assert sorted(a["rule"] for a in alerts) == ["auth_failure_burst", "open_relay"]
        assert pending == 0
        assert sorted((p, a["rule"]) for p, a in json_posts(posts)) == [
            ("/all", "open_relay"), ("/pager", "open_relay")]
        listed = mlw("alerts", "--config", str(cfg))
        assert listed.returncode == 0, listed.stdout
        assert "held for the digest until" in listed.stdout
        assert "0 waiting, 1 held for the digest" in listed.stdout
        append(tmp_path, failures("203.0.113.12", 5, minute=1))
        alerts, pending = one_pass(cfg)                   # the second waits with the first
        assert [a["rule"] for a in alerts] == ["auth_failure_burst"] and pending == 0
        assert len(posts) == 2
        _sleep_until_due(cfg)
        _, pending = one_pass(cfg)
        assert pending == 0
        digest = [a for p, a in json_posts(posts)[2:]]
        assert [(a["rule"], a["count"], a["severity"]) for a in digest] == [
            ("digest", 2, "low")]
        assert {a["key"]["client_ip"] for a in
                (i.payload["alert"] for i in outbox(cfg) if i.alert_id in digest[0]["alerts"])
                } == {"203.0.113.11", "203.0.113.12"}
        append(tmp_path, failures("203.0.113.13", 5, minute=2))   # a new period begins
        one_pass(cfg)
        assert len(posts) == 3


def _sleep_until_due(cfg: Path) -> None:
    """Until the first alert held for a digest is due."""
    due = min(i.held_until for i in outbox(cfg) if i.held_until and not i.delivered_at)
    time.sleep(max(0.0, due + 0.05 - time.time()))


def test_a_held_digest_that_fails_is_retried_whole(tmp_path: Path) -> None:
    """The destination is down when the digest is due: its alerts wait together (and
    now count as waiting: exit 75), and go as one digest once it is back."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"],
                       failures("203.0.113.11", 5) + failures("203.0.113.12", 5, minute=1),
                       digest_every="1s")
    _, pending = one_pass(cfg)
    assert pending == 0
    _sleep_until_due(cfg)
    _, pending = one_pass(cfg, retry_after=0.01)
    assert pending == 2
    with http_sink(port) as (_, posts):
        time.sleep(0.05)
        _, pending = one_pass(cfg, retry_after=0.01)
    assert pending == 0
    assert [(a["rule"], a["count"]) for _, a in json_posts(posts)] == [("digest", 2)]


def test_realert_only_when_the_incident_grows_by_the_factor(tmp_path: Path) -> None:
    ip = "203.0.113.45"
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"], failures(ip, 6),
                           realert_factor=2.0)
        alerts, _ = one_pass(cfg)
        assert [(a["notice"], a["count"]) for a in alerts] == [("new", 6)]
        first_id = alerts[0]["id"]
        append(tmp_path, failures(ip, 4, minute=1))       # 10 < 6 x 2: the same incident
        assert one_pass(cfg) == ([], 0)
        append(tmp_path, failures(ip, 3, minute=2))       # 13 >= 12: grown
        alerts, _ = one_pass(cfg)
        assert [(a["notice"], a["count"], a["id"]) for a in alerts] == [("grown", 13, first_id)]
        assert one_pass(cfg) == ([], 0)                   # nothing new: quiet
    got = [a for _, a in json_posts(posts)]
    assert [(a["notice"], a["count"]) for a in got] == [("new", 6), ("grown", 13)]
    assert len({a["id"] for a in got}) == 1


# -- secrets ---------------------------------------------------------------------------------

TOKEN, PASSWORD = "Tok3nSecretValue", "Passw0rdSecret"


def _secret_urls(port: int) -> list[str]:
    return [f"json://hookuser:{PASSWORD}@127.0.0.1:{port}/{TOKEN}/hook",
            f"mailto://mailuser:{PASSWORD}@127.0.0.1:{port}?from=alerts@example.com"
            "&to=ops@example.com",
            f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}"]


def _secret_free(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and PASSWORD not in text, text


def test_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "notify.secrets"
    secrets.write_text(f"json://127.0.0.1:9/{TOKEN}\n")
    cfg = write_config(tmp_path, [], relayed(), secrets_file=str(secrets))
    for mode in (0o640, 0o604, 0o644):
        secrets.chmod(mode)
        with pytest.raises(ConfigError, match="secrets_file .*notify.secrets.*readable"):
            destinations(load_config(cfg).notify)
    r = mlw("run", "--config", str(cfg))
    assert r.returncode == 2 and "notify.secrets" in r.stderr and "chmod 600" in r.stderr
    _secret_free(r.stdout, r.stderr)
    r = mlw("alerts", "--config", str(cfg))
    assert r.returncode == 2 and "notify.secrets" in r.stderr
    _secret_free(r.stdout, r.stderr)
    r = mlw("check-config", str(cfg))      # (it does not read the secrets file)
    _secret_free(r.stdout, r.stderr)


def test_secrets_file_mode_600_delivers_and_routes(tmp_path: Path) -> None:
    with http_sink() as (port, posts):
        secrets = tmp_path / "notify.secrets"
        secrets.write_text(f"# ops\njson://127.0.0.1:{port}/{TOKEN}/all\n"
                           f"json://127.0.0.1:{port}/{TOKEN}/pager  high   # pages\n")
        secrets.chmod(0o600)
        cfg = write_config(tmp_path, [], failures("203.0.113.45", 6) + relayed(),
                           secrets_file=str(secrets))
        dests = destinations(load_config(cfg).notify)
        assert [d.min_severity for d in dests] == ["info", "high"]
        _secret_free(*(d.name for d in dests))
        alerts, pending = one_pass(cfg)
        assert pending == 0
    got = json_posts(posts)
    assert sorted((p.rsplit("/", 1)[1], a["rule"]) for p, a in got) == [
        ("all", "auth_failure_burst"), ("all", "open_relay"), ("pager", "open_relay")]


def test_a_relative_secrets_file_is_beside_the_config(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """As rule_dirs: a cron job's working directory is /root or /, not /etc/..."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with http_sink() as (port, posts):
        for where, path in ((tmp_path, "beside"), (elsewhere, "cwd")):
            (where / "notify.secrets").write_text(f"json://127.0.0.1:{port}/{TOKEN}/{path}\n")
            (where / "notify.secrets").chmod(0o600)
        cfg = write_config(tmp_path, [], relayed(), secrets_file="notify.secrets")
        monkeypatch.chdir(elsewhere)
        assert load_config(cfg).notify.secrets_file == tmp_path / "notify.secrets"
        alerts, pending = one_pass(cfg)
        assert len(alerts) == 1 and pending == 0
    assert [p for p, _ in json_posts(posts)] == [f"/{TOKEN}/beside"]


def test_a_hash_inside_a_secret_url_is_the_urls(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A comment starts a line or follows a blank: Slack's `#channel` (and a URL's
    fragment) stays in the URL, and the minimum severity after it still counts."""
    secrets = tmp_path / "notify.secrets"
    secrets.write_text(f"  # the security team\n{SLACK}/#security-alerts  high   # pages\n"
                       f"{SLACK}/#all #everyone else\n")
    secrets.chmod(0o600)
    with http_sink() as (port, posts):
        monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{port}/services")
        cfg = write_config(tmp_path, [], failures("203.0.113.45", 6) + relayed(),
                           secrets_file=str(secrets))
        assert [(d.url.removeprefix(SLACK), d.min_severity)
                for d in destinations(load_config(cfg).notify)] == [
            ("/#security-alerts", "high"), ("/#all", "info")]
        alerts, pending = one_pass(cfg)
        assert len(alerts) == 2 and pending == 0
    channels = sorted((json.loads(body)["channel"],
                       json.loads(body)["attachments"][0]["title"].split("]")[0])
                      for _, _, body in posts)
    assert channels == [("#all", "[CRITICAL"), ("#all", "[LOW"),
                        ("#security-alerts", "[CRITICAL")], channels


def test_no_url_secret_reaches_output_even_when_delivery_fails(tmp_path: Path) -> None:
    port = free_port()                                   # nobody listens: every send fails
    secrets = tmp_path / "notify.secrets"
    secrets.write_text(f"json://hookuser:{PASSWORD}@127.0.0.1:{port}/{TOKEN}/s?"
                       f"+X-Token={TOKEN}\n")
    secrets.chmod(0o600)
    cfg = write_config(tmp_path, _secret_urls(port) + [(f"json://127.0.0.1:{port}/{TOKEN}"
                                                        f"?+X-Token={TOKEN}", "high")],
                       relayed(), secrets_file=str(secrets))
    c = load_config(cfg)
    for dest in destinations(c.notify):
        error = send(dest, {"id": "x", "rule": "r", "severity": "high", "title": "t",
                            "key": {}, "first_seen": "a", "last_seen": "b", "count": 1,
                            "summary": "s", "evidence": [], "evidence_total": 0})
        assert error is not None and dest.name in error
        _secret_free(error, dest.name)
    outputs = []
    for args in (("check-config", str(cfg)), ("run", "--config", str(cfg)),
                 ("alerts", "--config", str(cfg))):
        r = mlw(*args)
        outputs += [r.stdout, r.stderr]
        assert r.returncode == (0 if args[0] == "check-config" else 75), (args, r.stderr)
    assert "failing (1 tries)" in outputs[4]
    _secret_free(*outputs)
    _secret_free(*(json.dumps(i.payload) + str(i.last_error) for i in outbox(cfg)))
    assert len(outbox(cfg)) == 5                          # one alert, five destinations


def test_a_failed_delivery_says_why_in_apprise_words(tmp_path: Path) -> None:
    """A closed port, a refused token and an unreachable Slack all read `delivery failed
    (failure)`: what apprise logged about it (at warning level) is shown by `alerts`,
    with the URL's user, password, path and query tokens redacted."""
    port = free_port()                                   # a real, closed loopback port
    url = (f"json://hookuser:{PASSWORD}@127.0.0.1:{port}/hooks/{TOKEN}?"
           f"+X-Token={TOKEN}")
    cfg = write_config(tmp_path, [url], relayed())
    ran = mlw("run", "--config", str(cfg))
    assert ran.returncode == 75, ran.stderr
    # the cron mail says why as well as how many
    assert "delivery failed (failure): A Connection error occurred sending JSON " \
           "notification to 127.0.0.1." in ran.stderr
    shown = mlw("alerts", "--config", str(cfg))
    assert shown.returncode == 75, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if "failing (1 tries)" in x)
    assert line.endswith("delivery failed (failure): A Connection error occurred sending "
                         "JSON notification to 127.0.0.1."), line
    _secret_free(ran.stdout, ran.stderr, shown.stdout, shown.stderr)
    assert "hookuser" not in shown.stdout


def test_redact_hides_urls_and_the_secret_parts_of_the_destination() -> None:
    url = f"slack://T1JJ3T3L2/A1BRTD4JD/{TOKEN}/#alerts"
    said = (f"Failed to post to {url} (T1JJ3T3L2/A1BRTD4JD/{TOKEN}) channel alerts; see "
            f"https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/{TOKEN} on "
            "hooks.slack.com")
    assert redact(said, url) == ("Failed to post to slack://**** (****/****/****) channel "
                                 "****; see https://**** on hooks.slack.com")
    # user, password and query values, also as decoded; a host with a dot is where it
    # failed, not a secret: kept
    url = f"json://hookuser:{PASSWORD}@127.0.0.1:9/x?+X-Token=Tok%2Fen{TOKEN}"
    assert redact(f"hookuser {PASSWORD} Tok/en{TOKEN} at 127.0.0.1.", url) == \
        "**** **** **** at 127.0.0.1."


def test_refused_urls_and_bad_secret_lines_are_not_echoed(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [f"slack://lower/{TOKEN}"])          # apprise refuses it
    with pytest.raises(ConfigError, match="apprise does not accept") as err:
        destinations(load_config(cfg).notify)
    _secret_free(str(err.value))
    secrets = tmp_path / "notify.secrets"
    secrets.write_text(f"json://127.0.0.1:9/{TOKEN} urgent\n")
    secrets.chmod(0o600)
    cfg = write_config(tmp_path, [], secrets_file=str(secrets))
    with pytest.raises(ConfigError, match="notify.secrets line 1") as err:
        destinations(load_config(cfg).notify)
    _secret_free(str(err.value))


def test_run_with_a_url_apprise_refuses_reads_nothing_until_it_is_fixed(
        tmp_path: Path) -> None:
    """A cron run builds its destinations before reading: with a refused URL it says
    which entry (never its text) and moves no offset, so the next run, with the URL
    fixed, reads the same lines and alerts on them."""
    cfg = write_config(tmp_path, [f"slack://lower/{TOKEN}"], log=relayed())
    done = mlw("run", "--config", str(cfg))
    assert done.returncode == 2 and "notify.urls[0]" in done.stderr
    _secret_free(done.stdout, done.stderr)
    write_config(tmp_path, [], log=relayed())
    again = mlw("run", "--config", str(cfg))
    assert again.returncode == 0, again.stderr
    assert "open_relay" in again.stdout


class _SlowHook(_Hook):
    def do_POST(self) -> None:  # noqa: N802
        time.sleep(0.8)            # a webhook that takes its time to answer
        super().do_POST()


def test_a_slow_destination_takes_a_follower_a_budget_per_pass_most_severe_first(
        tmp_path: Path) -> None:
    """A security reviewer's webhook answered after 30 s: twenty alerts held a pass for
    85 s, and detection with it. Each pass now delivers for a time budget, the most
    severe first, and leaves the rest, untried, for the next pass."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHook)
    server.posts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        ips = ["203.0.113.11", "203.0.113.12", "203.0.113.13"]
        cfg_path = write_config(
            tmp_path, [f"json://127.0.0.1:{server.server_address[1]}/hook"],
            "".join(failures(ip, 5, minute=i) for i, ip in enumerate(ips)) + relayed(),
            digest_after=10)
        cfg = load_config(cfg_path)
        state = State(cfg.state_dir)
        try:
            assert not run_pass(cfg, state).errors
            assert deliver_outbox(cfg, state, budget=0.5) == 3
            sent = [a["rule"] for _, a in json_posts(server.posts)]  # type: ignore[attr-defined]
            assert sent == ["open_relay"]
            assert {i.attempts for i in state.due(time.time())} == {0}   # untried, due
            assert deliver_outbox(cfg, state) == 0
        finally:
            state.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    got = [a["rule"] for _, a in json_posts(server.posts)]  # type: ignore[attr-defined]
    assert got == ["open_relay"] + ["auth_failure_burst"] * 3


def _sprays(nets: int, first: int = 0) -> str:
    """A botnet in one /48: from each of `nets` /64s (from the `first`), five usernames
    tried once each (password_spray, medium, keyed by the /64), a second apart."""
    out = []
    for n in range(first, first + nets):
        for u in range(5):
            s = n * 5 + u
            out.append(f"2026-03-03T10:{s // 60:02d}:{s % 60:02d}+00:00 mx1 postfix/smtpd[1]: "
                       f"warning: unknown[2001:db8:77:{n:x}::{u + 1}]: SASL LOGIN "
                       f"authentication failed: UGFzc3dvcmQ6, sasl_username=user{u}\n")
    return "".join(out)


def test_a_flood_trickling_in_over_passes_is_held_for_the_digest(tmp_path: Path) -> None:
    """The same botnet read by a follower: a /64 or two a pass, never a flood within one.
    Once `flood_after` messages of the rule went to a destination within `digest_every`,
    the rest wait for its digest: nothing lost, every incident in one message or another."""
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"], "",
                           flood_after=3, digest_every="3s")
        raised = []
        for k in range(6):
            append(tmp_path, _sprays(2, first=2 * k))
            alerts, pending = one_pass(cfg)
            raised += alerts
            assert pending == 0
        _sleep_until_due(cfg)
        one_pass(cfg)
        sent = [a for _, a in json_posts(posts)]
    assert [a["rule"] for a in sent].count("password_spray") == 3
    # (the five distributed_bruteforce of the pass that reaches ten networks go as one
    # digest of that pass)
    held = [a for a in sent if a["rule"] == "digest" and "held for the digest" in a["summary"]]
    assert 1 <= len(held) <= 2              # at most one a period (3 s; the passes take ~4)
    assert all(d["severity"] == "medium" and " password_spray" in d["summary"]
               and d["summary"].startswith(f"{d['count']} alerts held for the digest: ")
               for d in held)
    assert sorted(a["id"] for a in raised) == sorted(
        i for a in sent for i in (a["alerts"] if a["rule"] == "digest" else [a["id"]]))


def test_a_flood_of_one_rule_goes_as_one_digest_of_it(tmp_path: Path) -> None:
    """An adversarial reviewer's botnet sprayed passwords from half a million addresses
    of one /48: 56,000 medium password_spray alerts (each /64 its own key) reached the
    webhook. More than notify.flood_after alerts of one rule in a pass go as one digest
    of that rule; an alert of another rule still goes alone, and each incident is still
    in the ledger (and acted on)."""
    with http_sink() as (port, posts):
        cfg = write_config(tmp_path, [f"json://127.0.0.1:{port}/hook"],
                           _sprays(25) + relayed(minute=40), flood_after=20)
        alerts, pending = one_pass(cfg)
        assert pending == 0
    assert sum(a["rule"] == "password_spray" for a in alerts) == 25
    got = [a for _, a in json_posts(posts)]
    # five usernames, each from 25 networks: five distributed_bruteforce, each alone
    assert sorted(a["rule"] for a in got) == (["digest"] + ["distributed_bruteforce"] * 5
                                              + ["open_relay"])
    digest = next(a for a in got if a["rule"] == "digest")
    assert digest["count"] == 25 and digest["severity"] == "medium"
    assert digest["summary"].startswith("25 password_spray alerts at once")
    assert len(digest["alerts"]) == 25
