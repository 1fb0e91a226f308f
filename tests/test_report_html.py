"""The HTML and Markdown reports, from real logs: the figures of the report's content are
on the page, the charts draw them, log text stays text whatever it holds, the same input
gives the same bytes, and a real browser (headless Chromium) renders the page with its
charts and runs nothing.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm  # GitHub's own Markdown (cmark-gfm): its autolinks
import markdown  # Python-Markdown, which apprise depends on: a second, independent reader
import pytest
from coloraide import Color

from logwatch.config import load_config
from logwatch.pipeline import ParseOptions
from logwatch.report.build import ReportOptions, build_report
from logwatch.report.layout import (AUTH_FAILURES, CONNECTIONS, DELIVERED, MESSAGES, RECEIVED,
                                    REJECTED, SCROLL_ROWS, Chart, Table, sections)
from logwatch.report.render_html import render_html
from logwatch.report.render_markdown import render_markdown
from logwatch.report.svg import Series, bar_chart, column_chart
from tests.conftest import ROOT

SAMPLE = ROOT / "sample_logs" / "postfix" / "mail.log"
CONFIG = ROOT / "sample_logs" / "config.toml"
ORDER = ["summary", "traffic", "domains", "users", "connections", "deferrals", "rejects",
         "problems", "security", "coverage"]
PROBLEMS_FIRST = ["summary", "security", "problems", "rejects", "deferrals", "traffic",
                  "domains", "users", "connections", "coverage"]
SCRIPT_SENDER = "<script>alert(1)</script>@x.test"
PIPE_DOMAIN = "pipe|tick`s`.test"
ANSI_USER = "\x1b[2J\x1b[31m[x](http://evil.test)*_y_*"
# Real Postfix line shapes (sample_logs/postfix/mail.log; the header warning from the
# corpus), carrying what a hostile client can put in a log: a MAIL FROM with markup, a
# recipient domain with table syntax, a SASL username with terminal escapes and links.
HOSTILE_LOG = f"""\
Mar  3 10:00:01 mx1 postfix/smtpd[2001]: connect from mail.x.test[198.51.100.66]
Mar  3 10:00:02 mx1 postfix/smtpd[2001]: 4A1B2C3D4E: client=mail.x.test[198.51.100.66]
Mar  3 10:00:02 mx1 postfix/cleanup[2002]: 4A1B2C3D4E: message-id=<hostile1@x.test>
Mar  3 10:00:02 mx1 postfix/cleanup[2002]: 4A1B2C3D4E: warning: header Subject: \
<img src=x onerror=alert(2)> | a | b | [c](http://evil.test) from mail.x.test[198.51.100.66]; \
from=<{SCRIPT_SENDER}> to=<victim@{PIPE_DOMAIN}> proto=ESMTP helo=<mail.x.test>
Mar  3 10:00:02 mx1 postfix/qmgr[1187]: 4A1B2C3D4E: from=<{SCRIPT_SENDER}>, size=4321, \
nrcpt=1 (queue active)
Mar  3 10:00:03 mx1 postfix/smtpd[2001]: disconnect from mail.x.test[198.51.100.66] ehlo=1 \
mail=1 rcpt=1 data=1 quit=1 commands=5
Mar  3 10:00:04 mx1 postfix/smtp[2003]: 4A1B2C3D4E: to=<victim@{PIPE_DOMAIN}>, \
relay=mx.pipe.test[203.0.113.7]:25, delay=2.1, delays=0.1/0/1/1, dsn=2.0.0, status=sent \
(250 2.0.0 Ok: queued as 123ABC)
Mar  3 10:00:04 mx1 postfix/qmgr[1187]: 4A1B2C3D4E: removed
Mar  3 10:05:01 mx1 postfix/smtpd[2004]: connect from unknown[203.0.113.66]
Mar  3 10:05:02 mx1 postfix/smtpd[2004]: warning: unknown[203.0.113.66]: SASL LOGIN \
authentication failed: (reason unavailable), sasl_username={ANSI_USER}
"""


def build(files: list[Path], **options: Any) -> dict[str, Any]:
    report, errors = build_report([str(f) for f in files], load_config(CONFIG),
                                  ParseOptions(year=2026, tz="UTC"), ReportOptions(**options))
    assert errors == []
    return report


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return build([SAMPLE])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    log = tmp_path_factory.mktemp("hostile") / "mail.log"
    log.write_text(HOSTILE_LOG)
    report = build([log])
    # the hostile strings made it into the content, where the renderers meet them
    assert report["coverage"]["unknown_lines"] == 0
    assert report["senders_by_count"][0]["address"] == SCRIPT_SENDER
    assert report["delivery_domains"][0]["domain"] == PIPE_DOMAIN
    assert report["security"]["auth"]["by_username"][0]["sasl_username"] == ANSI_USER
    assert "| a | b |" in report["reject_warnings"][0]["reason"]
    return report


class Page(HTMLParser):
    """What a reader of the page gets: sections, cards, charts, elements and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.sections: list[str] = []
        self.cards: dict[str, tuple[str, str | None]] = {}
        self.charts: dict[str, list[list[dict[str, str]]]] = {}
        self.meta: dict[str, str] = {}
        self.text: list[str] = []
        self._chart: list[list[dict[str, str]]] | None = None
        self._span: tuple[str, str | None] | None = None
        self._label = ""
        self._buffer: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "")
        self.tags[tag] += 1
        if tag == "section":
            self.sections.append(a["id"])
        elif tag == "meta" and "http-equiv" in a:
            self.meta[a["http-equiv"]] = a["content"]
        elif tag == "svg":
            self._chart = self.charts.setdefault(a["aria-label"].split(". ")[0], [])
        elif tag == "g" and cls == "group" and self._chart is not None:
            self._chart.append([])
        elif tag == "rect" and cls == "bar" and self._chart is not None:
            self._chart[-1].append(a)
        elif tag == "span" and cls in ("label", "value"):
            self._span, self._buffer = (cls, a.get("title")), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "span" and self._span:
            text = "".join(self._buffer)
            if self._span[0] == "label":
                self._label = text
            else:
                self.cards[self._label] = (text, self._span[1])
            self._span = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self._buffer.append(data)


def md_tables(text: str) -> list[list[list[str]]]:
    """The Markdown's tables as GFM splits them: at pipes no backslash escapes."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            assert line.endswith(" |"), line
            cells, cell, chars = [], "", iter(line[1:-1])
            for ch in chars:
                if ch == "\\":
                    cell += ch + next(chars, "")
                elif ch == "|":
                    cells, cell = cells + [cell.strip()], ""
                else:
                    cell += ch
            tables[-1].append(cells + [cell.strip()])
        previous = line
    return tables


def svgs(text: str) -> list[ET.Element]:
    """Every inline chart, parsed as the XML an SVG file must be."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", text, re.S)]


# -- the figures ---------------------------------------------------------------------------

def test_grand_totals_sections_and_tables_are_on_the_page(report: dict[str, Any]) -> None:
    html = render_html(report)
    page = Page(html)
    assert page.sections == ORDER
    totals = report["totals"]
    assert totals["received"] == 191 and totals["rejected"] == 27   # the sample's story
    for key, value in totals.items():
        label = key.replace("_", " ").capitalize()
        shown, exact = page.cards[label]
        if key.startswith("bytes_"):
            assert exact == f"{value:,} bytes", key      # human-readable, exact on hover
            assert shown.endswith("iB"), shown
        else:
            assert shown == f"{value:,}", key
    # both ways of counting, side by side
    assert f"<td>Received</td><td class=\"num\">{totals['received']}</td>" \
           f"<td class=\"num\">{report['totals_unique']['received']}</td>" in html
    # a top sender's row: the address as text, its figures right-aligned
    top = report["senders_by_count"][0]
    assert (f"<td>{top['address']}</td><td class=\"num\">{top['messages']}</td>"
            f"<td class=\"num\" title=\"{top['bytes']:,} bytes\">") in html
    text = "".join(page.text)
    for alert in report["security"]["alerts"]["timeline"]:
        assert alert["rule"] in text and alert["summary"] in text
    assert report["coverage"]["files"][0]["sha256"] in text
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0
    csp = page.meta["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "img-src data:" in csp


def test_markdown_has_the_same_figures(report: dict[str, Any]) -> None:
    text = render_markdown(report)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings[:3] == ["Summary", "Traffic", "Domains"] and headings[-1] == "Coverage"
    for key, value in report["totals"].items():
        assert f"| {key.replace('_', ' ').capitalize()} | {value:,} |" in text, key
    for table in md_tables(text):
        assert len({len(row) for row in table}) == 1, table[0]
    assert "| alice@example.com | 154 | 388,119 |" in text      # exact bytes: no tooltip here


def test_charts_draw_the_figures(report: dict[str, Any]) -> None:
    page = Page(render_html(report))
    assert set(page.charts) == {"Traffic per hour", "Rejects by class",
                                "Auth failures by client address", "Top talkers"}
    hours = page.charts["Traffic per hour"]
    assert len(hours) == 24 and all(len(g) == 3 for g in hours)    # one group per hour
    per_hour = report["per_hour"]
    peak = max(h["received"] for h in per_hour)
    tallest = max(float(g[0]["height"]) for g in hours)
    for group, figures in zip(hours, per_hour):
        received = float(group[0]["height"])
        assert received == pytest.approx(tallest * figures["received"] / peak, abs=0.1)
        assert (float(group[2]["height"]) > 0) == (figures["rejected"] > 0)
    classes = {r["reject_class"] for r in report["rejects"]}
    assert len(page.charts["Rejects by class"]) == len(classes) == 4
    assert len(page.charts["Auth failures by client address"]) == \
           len(report["security"]["auth"]["by_ip"])
    talkers = page.charts["Top talkers"]
    assert len(talkers) == min(15, len(report["security"]["top_clients"]))
    assert all(len(g) == 4 for g in talkers)
    assert len(svgs(render_html(report))) == 4                     # each one well-formed XML


def test_problems_first_puts_problems_before_traffic(report: dict[str, Any]) -> None:
    first = report | {"problems_first": True}
    assert Page(render_html(first)).sections == PROBLEMS_FIRST
    headings = [line[3:] for line in render_markdown(first).splitlines()
                if line.startswith("## ")]
    assert headings[:5] == ["Summary", "Security", "Warnings, errors and daemon messages",
                            "Rejects", "Deferrals and bounces"]


def test_an_empty_log_without_rules_still_renders(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text("")
    report = build([log], alerts=False)
    html = render_html(report)
    assert "no mail lines in the period" in html and "rules were not run" in html
    page = Page(html)
    assert page.sections == ORDER and page.cards["Alerts"] == ("–", None)
    assert len(page.charts["Traffic per hour"]) == 24          # a flat day, still drawn
    assert "rules were not run" in render_markdown(report)


def test_long_tables_scroll_in_a_box(report: dict[str, Any]) -> None:
    html = render_html(report)
    assert len(report["recipients_by_count"]) > SCROLL_ROWS
    assert html.count('<div class="tbl tall">') >= 4


# -- hostile input -----------------------------------------------------------------------------

def test_hostile_log_text_stays_text_in_html(hostile: dict[str, Any]) -> None:
    html = render_html(hostile)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@x.test" in html
    assert "\x1b" not in html and "\\x1b[2J\\x1b[31m" in html      # ANSI shown, not obeyed
    page = Page(html)
    assert page.tags["script"] == page.tags["img"] == 0
    assert page.tags["a"] == len(ORDER)                     # the section links, no other
    text = "".join(page.text)
    assert SCRIPT_SENDER in text and f"victim@{PIPE_DOMAIN}" in text


def test_hostile_log_text_keeps_markdown_tables_whole(hostile: dict[str, Any]) -> None:
    text = render_markdown(hostile)
    assert "<script" not in text.lower() and "<img" not in text.lower() and "\x1b" not in text
    assert "| &lt;script&gt;alert(1)&lt;/script&gt;@x.test | 1 | 4,321 |" in text
    assert "| victim@pipe\\|tick\\`s\\`.test | 1 | 4,321 |" in text
    assert "\\[x\\](http:\u200b//evil.test)\\*\\_y\\_\\*" in text
    tables = md_tables(text)
    assert tables
    for table in tables:
        assert len({len(row) for row in table}) == 1, table
    # and as another Markdown implementation reads it: no markup, no link, no extra cell
    html = markdown.markdown(text, extensions=["tables"])
    for tag in ("<script", "<img", "<a ", "<code"):
        assert tag not in html, tag
    assert f"<td>{PIPE_DOMAIN}</td>" in html and "[x](http:\u200b//evil.test)*_y_*" in html
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {len(re.findall(r"<t[dh]\b", row)) for row in
                  re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, table


def test_svg_labels_are_escaped_and_cut() -> None:
    label = "<script>alert(1)</script>\x1b[31m" + "x" * 40
    svg = bar_chart("auth <b>", [Series('"red"', "#f00", "#f88")], [(label, [3])], "n")
    assert "<script" not in svg and "\x1b" not in svg
    root = ET.fromstring(svg)                      # control characters would make it invalid
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    assert "<script>aler…" + "x" * 13 in texts                   # cut, and still text
    titles = [t.text for t in root.iter(ns + "title")]
    assert titles[0] == "auth <b>" and titles[1].startswith("<script>alert(1)</script>\\x1b")


LONG = "A" * 40 + "x" * 260
# An attacker's 300-character names (real Postfix shapes): a PTR name, a sender's and a
# recipient's domain, a relay's name, a SASL username, a warning's text.
LONG_TOKENS_LOG = f"""\
Mar  3 10:00:00 mx1 postfix/smtpd[100]: connect from evil-{LONG}.test[203.0.113.7]
Mar  3 10:00:01 mx1 postfix/smtpd[100]: NOQUEUE: reject: RCPT from evil-{LONG}.test\
[203.0.113.7]: 554 5.7.1 <x@example.net>: Relay access denied; from=<a@{LONG}.test> \
to=<x@example.net> proto=ESMTP helo=<{LONG}>
Mar  3 10:00:02 mx1 postfix/smtpd[100]: disconnect from evil-{LONG}.test[203.0.113.7] ehlo=1 \
mail=1 rcpt=0/1 quit=1 commands=3/4
Mar  3 10:01:30 mx1 postfix/submission/smtpd[210]: warning: unknown[192.0.2.60]: SASL LOGIN \
authentication failed: (reason unavailable), sasl_username={LONG}
Mar  3 10:02:00 mx1 postfix/smtpd[400]: connect from unknown[198.51.100.23]
Mar  3 10:02:01 mx1 postfix/smtpd[400]: 1A2B3C4D5E: client=unknown[198.51.100.23]
Mar  3 10:02:01 mx1 postfix/cleanup[401]: 1A2B3C4D5E: message-id=<1@x.test>
Mar  3 10:02:01 mx1 postfix/qmgr[402]: 1A2B3C4D5E: from=<b@{LONG}.test>, size=1234, nrcpt=1 \
(queue active)
Mar  3 10:02:02 mx1 postfix/smtp[403]: 1A2B3C4D5E: to=<victim@{LONG}.test>, \
relay=mx.{LONG}.test[203.0.113.9]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent \
(250 ok)
Mar  3 10:02:03 mx1 postfix/qmgr[402]: 1A2B3C4D5E: removed
Mar  3 10:02:04 mx1 postfix/smtpd[400]: disconnect from unknown[198.51.100.23] ehlo=1 mail=1 \
rcpt=1 data=1 quit=1 commands=5
Mar  3 10:04:00 mx1 postfix/smtpd[500]: warning: {LONG}
"""


@pytest.fixture(scope="module")
def long_tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    log = tmp_path_factory.mktemp("long") / "mail.log"
    log.write_text(LONG_TOKENS_LOG)
    report = build([log])
    assert report["delivery_domains"][0]["domain"] == f"{LONG.lower()}.test"
    assert report["security"]["auth"]["by_username"][0]["sasl_username"] == LONG
    return report


def test_bare_urls_in_log_text_are_no_links_on_github(tmp_path: Path) -> None:
    """GitHub links `https://…` and `www.…` in plain text, where no backslash escape
    reaches: an attacker's username must not become a live link in a ticket."""
    log = tmp_path / "mail.log"
    log.write_text("".join(
        f"Mar  3 10:05:0{i} mx1 postfix/smtpd[2004]: warning: unknown[203.0.113.66]: SASL "
        f"LOGIN authentication failed: (reason unavailable), sasl_username={user}\n"
        for i, user in enumerate(("https://login.evil.example/reset", "www.evil.example/pay",
                                  "WWW.evil.example/x"))))
    text = render_markdown(build([log]))
    page = cmarkgfm.github_flavored_markdown_to_html(text)
    assert "<a " not in page and "evil.example/reset" in page
    shown = page.replace("\u200b", "")
    for user in ("https://login.evil.example/reset", "www.evil.example/pay"):
        assert f"<td>{user}</td>" in shown            # the text is all there, as text


# -- determinism ------------------------------------------------------------------------------

def test_same_input_same_bytes(report: dict[str, Any]) -> None:
    again = build([SAMPLE])
    assert render_html(again) == render_html(report)
    assert render_markdown(again) == render_markdown(report)


# -- a real browser ---------------------------------------------------------------------------

def chromium(args: list[str], profile: Path) -> str:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed: `make debs` installs it (Debian package "
                    "`chromium`)")
    command = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish in 120 s: {' '.join(command)}")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def laid_out(page: str, width: int, expression: str, profile: Path,
             flags: tuple[str, ...] = ()) -> Any:
    """What the JavaScript `expression` finds in `page` laid out `width` CSS pixels wide by
    Chromium (`doc` is the page's document), run with `flags` (`--force-dark-mode`: a
    reader whose system is set dark). The page is the srcdoc of an iframe in a
    harness that holds the script: the report's own Content-Security-Policy, which forbids
    scripts, stays whole, and the width can be a phone's (a headless window is never
    narrower than 500 px). Elements tell their accessible name (`computedName`)."""
    harness = profile.with_suffix(".html")
    # the charset said, not sniffed: Chromium guesses from the first bytes it is given,
    # and under load it was once given too few and read `…` as `â€¦`
    harness.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'<iframe id="page" style="border:0;width:{width}px;height:900px" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe><script>'
        "addEventListener('load', () => { const doc = document.getElementById('page')"
        f".contentDocument; document.body.dataset.found = JSON.stringify({expression}); }});"
        "</script></body></html>", encoding="utf-8")
    dom = chromium(["--window-size=1400,900", "--enable-blink-features=ComputedAccessibilityInfo",
                    *flags, "--dump-dom", harness.as_uri()], profile)
    found = re.search(r'<body[^>]*\sdata-found="([^"]*)"', dom)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def printed(page: str, tmp_path: Path) -> list[str]:
    """`page` printed to PDF by Chromium, as pdftotext reads each page's text."""
    source, pdf = tmp_path / "print.html", tmp_path / "print.pdf"
    source.write_text(page, encoding="utf-8")
    chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", source.as_uri()],
             tmp_path / "profile-print")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed: `make debs` installs it (Debian package "
                    "`poppler-utils`)")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")


def squeezed(text: str) -> str:
    """`text` without white space: what is printed, however a cell wrapped it."""
    return re.sub(r"\s+", "", text)


#: Each table box whose table is wider than the box (its last columns out of view), by
#: the first words of its block.
OVERFLOWING_TABLES = ("[...doc.querySelectorAll('.tbl')].filter(d => d.scrollWidth > "
                      "d.clientWidth).map(d => d.parentElement.textContent.slice(0, 50))")


def check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    assert struct.unpack(">II", data[16:24]) == (1280, 2400)
    assert data[-8:-4] == b"IEND"
    assert len(data) > 50_000, len(data)     # a blank page of that size is a few KiB


def test_chromium_renders_the_page_and_runs_nothing(report: dict[str, Any],
                                                    hostile: dict[str, Any],
                                                    tmp_path: Path) -> None:
    out = Path(os.environ.get("MAIL_LOGWATCH_ARTIFACTS") or tmp_path).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name, content in (("report", report), ("hostile", hostile)):
        page = out / f"{name}.html"
        page.write_text(render_html(content), encoding="utf-8")
        # the report also as a reader whose system is set dark sees it
        for shot, flags in [(out / f"{name}.png", [])] + (
                [(out / f"{name}-dark.png", ["--force-dark-mode"])] if name == "report" else []):
            shot.unlink(missing_ok=True)
            chromium([f"--screenshot={shot}", "--window-size=1280,2400", *flags, page.as_uri()],
                     tmp_path / f"profile-{shot.stem}-shot")
            check_png(shot)
        dom = chromium(["--dump-dom", page.as_uri()], tmp_path / f"profile-{name}-dom")
        (out / f"{name}.dom.html").write_text(dom, encoding="utf-8")
        seen = Page(dom)
        assert seen.tags["script"] == 0 and seen.tags["svg"] >= 1
        assert seen.sections == ORDER
        if name == "report":
            assert len(seen.charts) == 4 and len(seen.charts["Traffic per hour"]) == 24
        else:
            text = "".join(seen.text)
            assert SCRIPT_SENDER in text and "\\x1b[2J" in text


def test_a_long_token_wraps_and_keeps_the_figures_in_view(long_tokens: dict[str, Any],
                                                          tmp_path: Path) -> None:
    """A 300-character name is whatever a client chose: it wraps anywhere, so that no
    table grows wider than its box and pushes its figures out of view."""
    page = render_html(long_tokens)
    assert laid_out(page, 1280, OVERFLOWING_TABLES, tmp_path / "desktop") == []


def test_printed_the_report_holds_everything(report: dict[str, Any], tmp_path: Path) -> None:
    """A printed report (or its PDF, for the archive) is read without a scroll bar or a
    click: wide tables wrap instead of being cut at the page's edge, folded tables are
    printed open, a chart is not split between two pages, nor a title parted from its
    table."""
    pages = printed(render_html(report), tmp_path)
    whole, words = squeezed("".join(pages)), set("".join(pages).split())
    for alert in report["security"]["alerts"]["timeline"]:       # the Alerts' last column
        assert set(alert["summary"].split()) <= words, alert["summary"]
        assert alert["rule"] in words      # an ordinary word is not cut ("password_spra y")
    assert squeezed("as pflogsumm counts") in whole               # folded: grand totals
    for hour in range(24):                                        # folded: per hour
        assert whole.count(f"{hour:02d}:00") >= 2, hour
    # each title on the page of what it names: a table's first column, a chart's axis
    text = re.sub(r"[^\S\f]+", "", "\f".join(pages))
    at = 0
    for part in (p for s in sections(report) for p in s.parts):
        if isinstance(part, Table) and part.rows:
            title, named = part.title, part.columns[0].heading
        elif isinstance(part, Chart) and part.rows:
            title, named = part.title, part.x_label
        else:
            continue
        start = text.index(squeezed(title), at)
        at = text.index(squeezed(named), start + len(squeezed(title)))
        assert "\f" not in text[start:at], f"{title!r} is parted from {named!r}"


def test_on_a_phone_the_page_does_not_scroll_sideways(report: dict[str, Any],
                                                     tmp_path: Path) -> None:
    """400 px wide, the parts take the width there is (a table too wide scrolls in its own
    box), and the traffic chart keeps a legible size, scrolling in its frame."""
    width, inside, text = laid_out(
        render_html(report), 400,
        "[doc.documentElement.scrollWidth, doc.documentElement.clientWidth, "
        "(s => s.getBoundingClientRect().width / s.viewBox.baseVal.width * 12)"
        "(doc.querySelector('figure.wide svg'))]", tmp_path / "phone")
    assert width <= inside == 400
    assert text >= 9                    # px, the chart's 12-unit text as drawn


#: Each chart's box and the box of each of its texts, as drawn: [left, top, right, bottom].
TEXT_BOXES = ("[...doc.querySelectorAll('svg')].map(svg => [svg, ...svg.querySelectorAll('text')]"
              ".map(e => { const r = e.getBoundingClientRect(); "
              "return [r.left, r.top, r.right, r.bottom, e.textContent]; }))")


def test_chart_texts_are_whole_apart_and_tell_their_rows_apart(tmp_path: Path) -> None:
    """Six IPv6 attackers of one network, 7-digit totals, long hostnames, 6-digit ticks and
    a month of dates: each label is cut in the middle, keeping both ends that tell them
    apart, and as Chromium draws them no text sticks out of its chart or lies on another."""
    ipv6 = [f"2001:db8:1234:5678:9abc:def0:1234:56{i:02d}" for i in range(6)]
    hosts = [f"mail-{i}.{'relay.' * 6}example.{tld}" for i, tld in enumerate(("org", "net"))]
    charts = [
        bar_chart("Auth failures", (AUTH_FAILURES,),
                  [(a, [1_234_567 - i]) for i, a in enumerate(ipv6)], "failed logins"),
        bar_chart("Top talkers", (CONNECTIONS, MESSAGES, REJECTED, AUTH_FAILURES),
                  [(h, [90_000, 9_000, 900, 90]) for h in hosts], "activity"),
        column_chart("Per day", (RECEIVED, DELIVERED, REJECTED),
                     [(f"2026-03-{d:02d}", [250_000, 240_000, 10_000]) for d in range(1, 32)],
                     "day", "messages")]
    ns = "{http://www.w3.org/2000/svg}"
    shown = [t.text or "" for t in ET.fromstring(charts[0]).iter(ns + "text")]
    labels = [t for t in shown if "…" in t]
    assert len(labels) == len(set(labels)) == 6
    for label, address in zip(labels, ipv6):
        head, tail = label.split("…")
        assert address.startswith(head) and address.endswith(tail) and len(label) <= 26
    page = "<!DOCTYPE html><html><body>" + "".join(charts) + "</body></html>"
    for box, *texts in laid_out(page, 1000, TEXT_BOXES, tmp_path / "charts"):
        for left, top, right, bottom, text in texts:
            assert (left >= box[0] and right <= box[2] and top >= box[1]
                    and bottom <= box[3]), (text, box)
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                apart = (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])
                assert apart, (a, b)


#: Each element's own text as drawn: [its colour, the colour of the nearest background
#: under it, the text]. Tooltips (<title>) are not drawn.
TEXT_COLOURS = (
    "[...doc.querySelectorAll('body *')].filter(e => !e.closest('title') && "
    "[...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())).map(e => {"
    " const style = x => doc.defaultView.getComputedStyle(x); let b = e;"
    " while (b && style(b).backgroundColor === 'rgba(0, 0, 0, 0)') b = b.parentElement;"
    " return [e.namespaceURI === 'http://www.w3.org/2000/svg' ? style(e).fill : style(e).color,"
    " b ? style(b).backgroundColor : 'rgb(255, 255, 255)', e.textContent.slice(0, 40)]; })")


#: Each chart's bars and swatches as drawn: their colour, the colour of the chart's box,
#: and the chart's caption.
BAR_COLOURS = (
    "[...doc.querySelectorAll('figure svg rect')].map(r => {"
    " const style = x => doc.defaultView.getComputedStyle(x), box = r.closest('figure');"
    " return [style(r).fill, style(box).backgroundColor,"
    " box.querySelector('figcaption').textContent]; })")


@pytest.mark.parametrize("scheme", [(), ("--force-dark-mode",)], ids=["light", "dark"])
def test_colours_are_told_apart_and_text_is_readable(report: dict[str, Any], tmp_path: Path,
                                                     scheme: tuple[str, ...]) -> None:
    """WCAG 2.1: a chart's bars stand 3:1 or more against the box they are drawn in
    (1.4.11), text 4.5:1 against what is under it (1.4.3). The series of one chart stay
    apart for a reader with any of the three kinds of colour blindness, as simulated
    (CIEDE2000 distance of 12 or more: red and green were 8.5 apart under deuteranopia).
    On a light page and on a dark one (a reader whose system is set dark), as Chromium
    draws them."""
    page = render_html(report)
    bars = laid_out(page, 1280, BAR_COLOURS, tmp_path / "bars", scheme)
    fills: dict[str, set[str]] = {}
    for fill, box, chart in bars:
        assert Color(fill).contrast(box, method="wcag21") >= 3, (fill, box, chart)
        fills.setdefault(chart, set()).add(fill)
    assert len(fills) == 4 and max(len(f) for f in fills.values()) == 4, fills
    for chart, colours in fills.items():
        for kind in (None, "protan", "deutan", "tritan"):
            for a, b in itertools.combinations(sorted(colours), 2):
                seen = [Color(x) if kind is None else Color(x).filter(kind) for x in (a, b)]
                assert seen[0].delta_e(seen[1], method="2000") >= 12, (chart, kind, a, b)
    drawn = laid_out(page, 1280, TEXT_COLOURS, tmp_path / "colours", scheme)
    pairs = {(fg, bg): text for fg, bg, text in drawn}
    assert len(pairs) > 10
    for (fg, bg), text in pairs.items():
        assert Color(fg).contrast(bg, method="wcag21") >= 4.5, (fg, bg, text)


def test_a_section_followed_from_the_nav_shows_its_heading(report: dict[str, Any],
                                                          tmp_path: Path) -> None:
    """The nav stays at the top of the window: a section it leads to stops below it, not
    with its heading under it."""
    found = laid_out(render_html(report), 1280, (
        "[...doc.querySelectorAll('nav a')].map(a => {"
        " doc.defaultView.location.hash = a.getAttribute('href');"
        " return [a.getAttribute('href'), doc.querySelector(a.getAttribute('href') + ' h2')"
        ".getBoundingClientRect().top - doc.querySelector('nav').getBoundingClientRect()"
        ".bottom]; })"), tmp_path / "nav")
    assert [href for href, _ in found] == [f"#{s}" for s in ORDER]
    for href, below_nav in found:
        assert below_nav >= 0, href


def test_traffic_tables_call_deferrals_deferrals(report: dict[str, Any]) -> None:
    """Per day and per hour count deferral lines, as the totals' Deferrals do: headed
    'deferred' beside a Deferred card counting messages, 2 read as a second message."""
    totals = report["totals"]
    assert totals["deferrals"] > totals["deferred"]             # the sample tells them apart
    counting = [s for s in sections(report) if s.id in ("traffic", "domains")]
    tables = [p for s in counting for p in s.parts
              if isinstance(p, Table) and any(c.key == "deferred" for c in p.columns)]
    for table in tables:     # per day, per hour, by recipient domain and by transport
        (column,) = [c for c in table.columns if c.key == "deferred"]
        assert column.heading == "deferrals", table.title
        assert sum(row["deferred"] for row in table.rows) == totals["deferrals"], table.title
    html = render_html(report)
    assert len(tables) == 4 and html.count('<th class="num">deferrals</th>') == 4


def test_postscreen_tables_are_left_out_where_the_input_has_no_postscreen(
        report: dict[str, Any]) -> None:
    """Exim and Sendmail have no postscreen: three empty tables saying 'None.' told a
    reader nothing but that the layout was Postfix's. Postfix's sample keeps them."""
    titles = ("Postscreen verdicts", "Clients postscreen caught",
              "Blocklists that listed clients (dnsblog)")
    for log, shown in ((SAMPLE, True), (ROOT / "sample_logs" / "exim" / "mainlog", False),
                       (ROOT / "sample_logs" / "sendmail" / "maillog", False)):
        content = report if shown else build([log])
        html, text = render_html(content), render_markdown(content)
        for title in titles:
            assert (f">{title}<" in html) is shown, (log, title)
            assert (f"### {title}" in text) is shown, (log, title)


def test_tables_and_charts_are_named_for_a_screen_reader(report: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """A screen reader names a table by its caption (a heading before it is no name),
    and takes a chart (role="img") whole, its tooltips unread: the chart's name carries
    the figures it draws."""
    tables, charts = laid_out(render_html(report), 1280, (       # folded tables opened
        "(doc.querySelectorAll('details').forEach(d => { d.open = true; }),"
        " [[...doc.querySelectorAll('table')].map(t => t.computedName),"
        " [...doc.querySelectorAll('svg')].map(s => s.computedName)])"), tmp_path / "names")
    parts = [p for s in sections(report) for p in s.parts]
    assert tables == [p.title for p in parts if isinstance(p, Table) and p.rows]
    drawn = [p for p in parts if isinstance(p, Chart) and p.rows]
    assert len(charts) == len(drawn) == 4
    for name, chart in zip(charts, drawn):
        assert name.startswith(chart.title + ". "), name
        for label, values in chart.rows:
            said = ", ".join(f"{s.name} {v:,}" for s, v in zip(chart.series, values))
            assert f"{label}: {said}" in name, (chart.title, label)


def test_a_charts_axis_says_what_its_legend_says(report: dict[str, Any]) -> None:
    """A stacked bar's axis names what its parts add up: the Top talkers' legend said
    'rejected' and 'auth failures', its axis 'rejects' and 'failed logins'. One thing,
    one word."""
    charts = [p for s in sections(report) for p in s.parts
              if isinstance(p, Chart) and p.kind == "bars" and len(p.series) > 1]
    assert charts
    for chart in charts:
        for series in chart.series:
            assert series.name in chart.x_label, (chart.title, series.name)
