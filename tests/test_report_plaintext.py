"""The logins Dovecot refused for coming in the clear (`security.plaintext_refusals`):
against what the recordings' driver did (recordings/dovecot*/scenarios.json), against
fail2ban's Dovecot test lines read apart, under `-h`, and in every form."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logwatch.report.render_html import render_html
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from tests.conftest import ROOT
from tests.test_dovecot_recording import TRUTHS, _scenario
from tests.test_report import DATA, report_of

FAIL2BAN_DOVECOT = DATA / "corpora" / "fail2ban" / "logs" / "dovecot"
RECORDED = "syslog-traditional.log.gz"
#: the hostile username of tests/test_report_html.py: terminal escapes, a link, markup
ANSI_USER = "\x1b[2J\x1b[31m[x](http://evil.test)*_y_*"
#: recordings/dovecot/run2-default's refusal of bob's IMAP LOGIN in the clear (Dovecot
#: 2.3.19.1), from another client with another username, and the same client's AUTH
#: PLAIN refused so, which names none
REFUSED = f"""\
Nov 30 18:33:32 mx1 dovecot: imap-login: Disconnected: Aborted login by logging out \
(auth failed, 1 attempts in 0 secs): user=<{ANSI_USER}>, rip=203.0.113.67, lip=127.0.0.1, \
session=<UcmepYJhs8B/AADJ>
Nov 30 18:33:33 mx1 dovecot: imap-login: Disconnected: Aborted login by logging out \
(tried to use disallowed plaintext auth): user=<>, method=PLAIN, rip=203.0.113.67, \
lip=127.0.0.1, session=<1gSfpYJhcal/AADJ>
"""


def _runs() -> list[Any]:
    return [pytest.param(run, id=run["dir"]) for truth in TRUTHS for run in truth["runs"]]


def _listed(p: dict[str, Any]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Refusals per client, and per client and username offered, as the report lists them."""
    return (Counter({r["client_ip"]: r["count"] for r in p["by_ip"]}),
            Counter({(r["client_ip"], u["sasl_username"]): u["count"]
                     for r in p["by_ip"] for u in r["usernames"]}))


@pytest.mark.parametrize("run", _runs())
def test_each_connection_refused_in_the_clear_is_one_refusal_of_its_client(
        run: dict[str, Any]) -> None:
    """The scenario offered bob's right password without TLS once per service and
    command (IMAP LOGIN twice and AUTHENTICATE PLAIN, POP3 USER/PASS and AUTH PLAIN,
    submission, ManageSieve): each connection is one refusal, whichever way Dovecot 2.3
    or 2.4 words it (`tried to use disallowed plaintext auth`, `cleartext` in 2.4, for a
    SASL mechanism; `auth failed` with no method= for a LOGIN command or USER/PASS),
    none of the other scenarios' clients is listed, and the username is the one a
    LOGIN or USER named (a SASL mechanism is refused before its credentials are read)."""
    scenario = _scenario(run, "plaintext_refused")
    p = report_of(ROOT / run["dir"] / RECORDED, cfg=None, alerts=False)["security"][
        "plaintext_refusals"]
    clients = Counter(c["client_ip"] for c in scenario["connections"])
    named = Counter((c["client_ip"], a["user"]) for c in scenario["connections"]
                    for a in c["attempts"] if a["mech"] == "LOGIN")
    assert _listed(p) == (clients, named)
    assert (p["refusals"], p["clients"]) == (clients.total(), len(clients))


def test_fail2bans_dovecot_lines_read_apart() -> None:
    """Every line of fail2ban's Dovecot test log that refuses a login in the clear,
    found with a regex here: its client and the username it gives, where it gives one
    (`user=<test>` on a `Too many invalid commands (tried to use ...)`)."""
    clients: Counter[str] = Counter()
    named: Counter[tuple[str, str]] = Counter()
    for line in FAIL2BAN_DOVECOT.read_text().splitlines():
        if line.startswith("#") or not ("(tried to use " in line or (
                "(auth failed, " in line and "method=" not in line)):
            continue
        ip = re.search(r"rip=([^,\s]+)", line)[1]
        clients[ip] += 1
        user = re.search(r"user=<([^>]*)>", line)
        if user and user[1]:
            named[(ip, user[1])] += 1
    p = report_of(FAIL2BAN_DOVECOT, cfg=None, alerts=False)["security"]["plaintext_refusals"]
    assert ("192.0.2.1", "test") in named and len(clients) > 2
    assert _listed(p) == (clients, named)
    assert all(r["distinct_sasl_username"] == len(r["usernames"]) for r in p["by_ip"])


def test_the_limit_cuts_the_clients_and_zero_leaves_them_out() -> None:
    """`-h N` lists the N clients refused most, the totals still count them all; `-h 0`
    lists none (null in JSON) and no form shows the section."""
    p = report_of(FAIL2BAN_DOVECOT, cfg=None, alerts=False, top_hosts=1)["security"][
        "plaintext_refusals"]
    whole = report_of(FAIL2BAN_DOVECOT, cfg=None, alerts=False)["security"][
        "plaintext_refusals"]
    assert p["by_ip"] == whole["by_ip"][:1] and p["by_ip"][0]["count"] == max(
        r["count"] for r in whole["by_ip"])
    assert (p["refusals"], p["clients"]) == (whole["refusals"], whole["clients"])
    none = report_of(FAIL2BAN_DOVECOT, cfg=None, alerts=False, top_hosts=0)
    assert none["security"]["plaintext_refusals"]["by_ip"] is None
    assert none["security"]["plaintext_refusals"]["refusals"] == whole["refusals"]
    for text in (render_text(none), render_markdown(none), render_html(none)):
        assert "refused in the clear" not in text


def test_every_form_lists_the_clients_and_keeps_the_username_inert(tmp_path: Path) -> None:
    """A username is what the client typed: shown, never obeyed (no terminal escape, no
    link, no extra table cell)."""
    log = tmp_path / "mail.log"
    log.write_text(REFUSED)
    rep = report_of(log, cfg=None, alerts=False)
    [row] = rep["security"]["plaintext_refusals"]["by_ip"]
    assert (row["client_ip"], row["count"], row["usernames"]) == (
        "203.0.113.67", 2, [{"sasl_username": ANSI_USER, "count": 1}])
    text = render_text(rep)
    assert "\x1b" not in text
    section = text.split("Security: logins refused in the clear (no TLS)\n")[1]
    assert re.search(r"^\s+2\s+1\s+\S+\s+\S+\s+203\.0\.113\.67\s+"
                     + re.escape("\\x1b[2J\\x1b[31m[x](http://evil.test)*_y_* 1") + "$",
                     section, re.M), section
    markdown = render_markdown(rep)
    assert "\x1b" not in markdown
    assert ("| 203.0.113.67 | 2 | 1 | \\\\x1b\\[2J\\\\x1b\\[31m\\[x\\](http:\u200b//evil.test)"
            "\\*\\_y\\_\\* 1 |") in markdown
    html = render_html(rep)
    assert "\x1b" not in html and "<a href=\"http" not in html
    assert ("<td>\\x1b[2J\\x1b[31m[x](http://evil.test)*_y_* 1</td>") in html
