"""The report's TLS, as each MTA's own lines tell it, on Debian's Exim 4.96, Sendmail and
Postfix recorded (recordings/README.md) and on the sample day.

An Exim and a Sendmail reviewer found it Postfix's: every plaintext delivery of theirs
was "TLS not logged (Postfix: smtp_tls_loglevel 0)", where their MTAs log TLS on every
delivery that used it; Exim's inbound protocols counted messages, sessions or nothing
as the log_selector went; and an Exim logging its connections was told "sessions not
logged". The figures are checked against the recordings' own lines.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from logwatch.report.render_html import render_html
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from tests.conftest import ROOT
from tests.test_report import SAMPLE, report_of

EXIM = ROOT / "recordings" / "exim"
#: Exim's default log_selector: no pid, no connection lines
DEFAULT = EXIM / "run1-default" / "mainlog.gz"
#: log_selector = +pid +millisec +smtp_connection +smtp_incomplete_transaction
CONNECTIONS = EXIM / "run2-pid-millisec" / "mainlog.gz"
SENDMAIL = ROOT / "recordings" / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz"
#: smtp_tls_loglevel left at 0 (recordings/postfix/config.txt)
POSTFIX = ROOT / "recordings" / "postfix" / "run1-syslog" / "syslog-traditional.log.gz"
#: an Exim message received over SMTP, and its X=, where it has one
_RECEIVED = re.compile(r"\s\w{6}-\w+-\w+ [<(]= .* H=")
_X = re.compile(r" X=([^:\s]+):")


def _lines(path: Path) -> list[str]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode().splitlines()


@lru_cache(maxsize=None)
def _report(*paths: Path) -> dict[str, Any]:
    return report_of(*paths, cfg=None, alerts=False)


def _forms(rep: dict[str, Any]) -> dict[str, str]:
    return {"text": render_text(rep), "html": render_html(rep),
            "markdown": render_markdown(rep)}


@pytest.mark.parametrize("path, said", [(DEFAULT, r" [=-]> .* X="),
                                        (SENDMAIL, r"STARTTLS=client, relay=(?!\[127\.)")])
def test_a_delivery_that_says_no_tls_went_in_the_clear(path: Path, said: str) -> None:
    """Exim writes `X=` on each delivery that used TLS (+tls_cipher is a default), and
    Sendmail `STARTTLS=client` (LogLevel 9, the default): the recordings' deliveries to
    the sink, none of which used TLS, are 0 TLS connections, not "not logged" (Sendmail's
    submission program handing over to its MTA on 127.0.0.1 is no delivery out)."""
    out = _report(path)["security"]["tls"]["outbound"]
    assert not [ln for ln in _lines(path) if re.search(said, ln)]
    assert (out["logged"], out["tls_connections"], out["unlogged_deliveries"]) == (True, 0, 0)
    assert out["smtp_deliveries"] == 244
    forms = _forms(_report(path))
    assert "0 TLS connections for 244 SMTP deliveries" in forms["text"]
    for name, text in forms.items():
        assert "smtp_tls_loglevel" not in text, name


def test_postfix_at_smtp_tls_loglevel_0_cannot_tell() -> None:
    """Postfix's smtp logs TLS only from smtp_tls_loglevel 1: with no such line, its
    deliveries are not known to be plaintext, in every format."""
    out = _report(POSTFIX)["security"]["tls"]["outbound"]
    assert (out["logged"], out["unlogged_deliveries"], out["smtp_deliveries"]) == (False, 244,
                                                                                  244)
    assert out["unlogged_because"] == "Postfix: smtp_tls_loglevel 0"
    forms = _forms(_report(POSTFIX))
    assert ("TLS not logged for 244 SMTP deliveries (Postfix: smtp_tls_loglevel 0)"
            in forms["text"])
    assert "not logged (Postfix: smtp_tls_loglevel 0)" in forms["html"]
    assert r"not logged (Postfix: smtp\_tls\_loglevel 0)" in forms["markdown"]


def test_deliveries_over_tls_are_counted_against_all_and_silent_ones_apart() -> None:
    """The sample day's Exim delivered all 166 over TLS, the recording none: together,
    166 of 410 (the review's "1 TLS of 2" was right, where "1 TLS of 1" said "not
    logged"). Beside Postfix's silent deliveries, Exim's plaintext ones stay 0 and
    Postfix's are said apart."""
    mainlog = SAMPLE / "exim" / "mainlog"
    alone = _report(mainlog)["security"]["tls"]["outbound"]
    both = _report(mainlog, DEFAULT)["security"]["tls"]["outbound"]
    assert alone["tls_connections"] == alone["smtp_deliveries"] == 166
    assert (both["logged"], both["tls_connections"], both["smtp_deliveries"]) == (True, 166,
                                                                                  410)
    mixed = _report(POSTFIX, DEFAULT)
    out = mixed["security"]["tls"]["outbound"]
    assert (out["logged"], out["tls_connections"], out["smtp_deliveries"],
            out["unlogged_deliveries"]) == (False, 0, 488, 244)
    assert ("outbound: 0 TLS connections for 488 SMTP deliveries; TLS not logged for 244 "
            "of them (Postfix: smtp_tls_loglevel 0)") in render_text(mixed)
    # inbound, each MTA's protocols in its own unit, and the report says so
    inbound = mixed["security"]["tls"]["inbound"]
    assert inbound["protocols_per"] == "session or message"
    assert inbound["protocols"] == {"TLSv1.3": 167, "TLS1.3": 167}


@pytest.mark.parametrize("path", [DEFAULT, CONNECTIONS, SAMPLE / "exim" / "mainlog",
                                  ROOT / "recordings" / "debian13" / "exim" / "run1-default"
                                  / "mainlog.gz"], ids=["default", "pid+connections",
                                                        "pid", "debian13"])
def test_exim_protocols_count_messages_whatever_the_log_selector(path: Path) -> None:
    """Without [pid] the protocols were empty (`protocols: -`, markdown "None"), with it
    they counted sessions, with +smtp_connection messages. Each message says its TLS
    (`X=` on `<=`), whatever Exim logs of its sessions: the protocols are the X= of the
    messages received over SMTP."""
    rep = _report(path)
    inbound = rep["security"]["tls"]["inbound"]
    logged = Counter(_X.search(ln).group(1) for ln in _lines(path)
                     if _RECEIVED.search(ln) and _X.search(ln))
    assert inbound["protocols_per"] == "message"
    assert inbound["protocols"] == dict(logged) and sum(logged.values()) > 100
    assert sum(inbound["protocols"].values()) == inbound["tls_messages"]
    forms = _forms(rep)
    name, n = next(iter(logged.items()))
    assert f"    protocols (per message): {name} {n}" in forms["text"]
    assert f"| inbound | protocols | {name} | {n} | message |" in forms["markdown"]


def _pids(lines: list[str], rx: str) -> set[str]:
    return {re.search(r"\[(\d+)\] ", ln).group(1) for ln in lines if re.search(rx, ln)}


def test_exim_sessions_that_showed_no_tls_are_said_apart() -> None:
    """With +smtp_connection every session is seen, but Exim writes a session's `X=` only
    on a message, an ACL's refusal or the no-MAIL line: the recording's 24 guessers
    that only tried passwords and left told nothing, and are neither plaintext nor
    "sessions not logged". The one login without TLS that sent mail (`P=esmtpa`, no
    X=: the cracker with bob's password) is."""
    lines = _lines(CONNECTIONS)
    received = _RECEIVED.pattern
    sessions = _pids(lines, r"SMTP connection from .* (?:closed by |lost)|"
                            r"SMTP call from .* dropped: too many")
    told = _pids(lines, received + r"|\] H=.* rejected |\] H=.* dropped by |\] no MAIL in ")
    encrypted = _pids(lines, received + ".* X=")
    tried = _pids(lines, r"authenticator failed for |" + received + ".* A=")
    rep = _report(CONNECTIONS)
    inbound = rep["security"]["tls"]["inbound"]
    assert rep["smtp_connections"]["connections"] == inbound["sessions"] == len(sessions)
    assert (inbound["tls_sessions"], inbound["tls_unknown_sessions"],
            inbound["auth_tls_unknown_sessions"], inbound["plaintext_auth_sessions"]) == (
        len(encrypted), len(sessions - told), len(tried - told), len((tried & told) - encrypted))
    assert (len(sessions), len(told), len(encrypted), len(tried - told)) == (231, 204, 167, 24)
    assert inbound["share"] == round(167 / 204, 4)
    forms = _forms(rep)
    assert ("inbound: 167 of 204 SMTP sessions used TLS (81.9%); 1 sessions tried AUTH "
            "without TLS; 167 of 199 messages came over TLS") in forms["text"]
    assert ("TLS not logged for 27 more sessions, 24 of which tried AUTH (Exim: X= only on "
            "a message, a refusal or +smtp_no_mail's no-MAIL line)") in forms["text"]
    for name, text in forms.items():
        assert "sessions not logged" not in text, name
    assert "TLS of 24 more not logged" in forms["html"]
    assert "TLS not logged for 27 inbound sessions" in forms["markdown"]


@pytest.mark.parametrize("path, postscreen", [
    (SAMPLE / "postfix" / "mail.log", True), (POSTFIX, False),
    (SAMPLE / "exim" / "mainlog", False), (SAMPLE / "sendmail" / "maillog", False)])
def test_postscreen_and_relay_words_are_each_mtas(path: Path, postscreen: bool) -> None:
    """An empty "Security: postscreen / verdicts: -" block was in every Exim and Sendmail
    text report (the page left it out); the relay table's caption quoted Postfix's
    "relay access denied", where Exim says "relay not permitted" and Sendmail
    "Relaying denied"."""
    forms = _forms(_report(path))
    assert ("\nSecurity: postscreen\n" in forms["text"]) is postscreen
    assert ("Postscreen verdicts" in forms["html"]) is postscreen
    for name in ("html", "markdown"):
        assert "Relay attempts (relaying refused)" in forms[name]
        assert "(relay access denied)" not in forms[name]
