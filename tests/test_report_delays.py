"""The delivery delay percentiles (`delivery_delays`): logwatch's own figures where it
counts the same deliveries, the figures computed apart from the parsed events of the
sample day and of real recordings (Postfix, Exim with and without millisecond stamps,
Sendmail), and what the domain table and the renderers say beside them."""

from __future__ import annotations

import gzip
import re
import statistics
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from logwatch.report.delays import PERCENTILES, STAGES
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from tests.conftest import ROOT, parse_events
from tests.test_report import SAMPLE, report_of

#: logwatch's postfix service (Debian's logwatch), which prints "Delivery Delays
#: Percentiles"; run on its own it takes the percentiles to show as an option
LOGWATCH_POSTFIX = Path("/usr/share/logwatch/scripts/services/postfix")
RECORDINGS = ROOT / "recordings"
POSTFIX_RECORDING = RECORDINGS / "postfix" / "run1-syslog" / "syslog-traditional.log.gz"
INPUTS = [SAMPLE / "postfix" / "mail.log", SAMPLE / "exim" / "mainlog",
          SAMPLE / "sendmail" / "maillog", POSTFIX_RECORDING,
          RECORDINGS / "exim" / "run1-default" / "mainlog.gz",
          RECORDINGS / "exim" / "run2-pid-millisec" / "mainlog.gz",
          RECORDINGS / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz"]
#: the arrival of the sample day's slow message, which Exim delivered without a QT=
SLOW_ARRIVAL = "1vxS2e-000000001qC-2OCc <="


def _text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode()


def logwatch_rows(log: str) -> dict[str, list[float]]:
    """logwatch's delivery delay percentiles for `log` by row (`Before qmgr` ... `Total`):
    ours, then the maximum."""
    assert LOGWATCH_POSTFIX.exists(), "logwatch is missing: `make debs` installs it"
    done = subprocess.run([str(LOGWATCH_POSTFIX), "--detail", "10", "--delays_percentiles",
                           " ".join(map(str, (*PERCENTILES, 100)))],
                          input=log, capture_output=True, text=True, check=True, timeout=300)
    rows = re.findall(r"^(Before qmgr|In qmgr|Conn setup|Transmission|Total)\s+(.*)$",
                      done.stdout, re.M)
    return {name: [float(v) for v in figures.split()] for name, figures in rows}


#: how far a figure logwatch prints with two decimals may be from ours
_PRINTED = 0.005 + 1e-9


def _figures(delays: dict[str, float | None]) -> list[float | None]:
    return [delays[f"p{p}"] for p in PERCENTILES] + [delays["max"]]


@pytest.mark.parametrize("path", [SAMPLE / "postfix" / "mail.log", POSTFIX_RECORDING],
                         ids=["sample-day", "postfix-3.7"])
def test_percentiles_are_logwatchs_where_it_counts_the_same_deliveries(
        path: Path, tmp_path: Path) -> None:
    """logwatch takes every delivery attempt's delay, deferrals and bounces too; ours are
    of delivered mail. Without the deferred and bounced lines the two count the same
    deliveries, and the figures agree to logwatch's two decimals (`%.2f`: 0.485 may print
    as 0.48), the Total and each of
    Postfix's four stages: its method (rank 1 + p(n-1)/100, interpolated) is ours. With
    them, they part (README: the sample day's deferrals after 30 and 658 s raise
    logwatch's 99th percentile)."""
    whole = _text(path)
    delivered = "".join(ln for ln in whole.splitlines(keepends=True)
                        if not re.search(r" status=(?:deferred|bounced) ", ln))
    assert delivered != whole
    log = tmp_path / "mail.log"
    log.write_text(delivered)
    ours = report_of(log, alerts=False)["delivery_delays"]
    assert ours["timed"] == ours["delivered"] > 100
    theirs = logwatch_rows(delivered)
    assert _figures(ours) == pytest.approx(theirs.pop("Total"), abs=_PRINTED)
    assert [(s["stage"], s["timed"]) for s in ours["stages"]] == [
        (stage, ours["timed"]) for stage, _ in STAGES]
    assert {title: _figures(s) for (_, title), s in zip(STAGES, ours["stages"])} == {
        title: pytest.approx(figures, abs=_PRINTED) for title, figures in theirs.items()}
    assert _figures(report_of(path, alerts=False)["delivery_delays"]) == _figures(ours)
    assert logwatch_rows(whole)["Total"] != pytest.approx(_figures(ours), abs=_PRINTED)


_STAGE_COLUMNS = [f"delay_{stage}" for stage, _ in STAGES]


def _sent_apart(path: Path) -> pd.DataFrame:
    """Each delivered recipient from the parsed events, found apart from the report: its
    `delay` the logged one, else the time since its message's arrival line (same queue
    id), else NaN; Postfix's split as logged."""
    events, _ = parse_events([path], year=2026, tz="UTC")
    rows = events.select(["ts", "event", "status", "queue_id", "delay",
                          *_STAGE_COLUMNS]).to_pandas()
    rows[["event", "status"]] = rows[["event", "status"]].astype("object")
    arrived = rows[rows["event"] == "received"].groupby("queue_id")["ts"].min()
    sent = rows[rows["event"].isin(["delivery", "handoff"]) & (rows["status"] == "sent")]
    since = (sent["ts"] - sent["queue_id"].map(arrived)).dt.total_seconds()
    return sent.assign(delay=sent["delay"].fillna(since))


def _inclusive(delays: pd.Series) -> list[float]:
    """The standard library's inclusive quantiles (our method) of the known delays, then
    the longest."""
    timed = sorted(delays.dropna())
    quantiles = statistics.quantiles(timed, n=100, method="inclusive")
    return [quantiles[p - 1] for p in PERCENTILES] + [timed[-1]]


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_percentiles_are_those_of_the_delays_found_apart(path: Path) -> None:
    """Over every delivered recipient, its logged delay, or (Exim without +queue_time)
    the time since its arrival line: the standard library's inclusive quantiles (the
    same method) give the same figures, and the longest is no longer than the domain
    table's longest (pflogsumm's, which takes deferrals in too). Postfix's stages the
    same over its `delays=`; Exim and Sendmail log no split, and have no stages."""
    rep = report_of(path, cfg=None, year=2026, alerts=False, top_hosts=None)
    ours = rep["delivery_delays"]
    sent = _sent_apart(path)
    assert (ours["delivered"], ours["timed"], ours["untimed"]) == (
        rep["totals"]["delivered"], sent["delay"].notna().sum(), sent["delay"].isna().sum())
    assert _figures(ours) == pytest.approx(_inclusive(sent["delay"]), abs=1e-6)
    assert round(ours["max"], 2) <= max(d["max_delay"] for d in rep["delivery_domains"])
    split = [c for c in _STAGE_COLUMNS if sent[c].notna().any()]
    assert [f"delay_{s['stage']}" for s in ours["stages"]] == split
    assert bool(split) == ("postfix" in path.relative_to(ROOT).parts)
    for stage in ours["stages"]:
        column = sent[f"delay_{stage['stage']}"]
        assert stage["timed"] == column.notna().sum() == ours["timed"]
        assert _figures(stage) == pytest.approx(_inclusive(column), abs=1e-6)


@pytest.mark.parametrize("mta,log", [("postfix", "mail.log"), ("exim", "mainlog")])
def test_the_longest_is_the_domain_tables_on_the_sample_day(mta: str, log: str) -> None:
    """On the sample day the longest wait is a delivery's (slow.example.net: deferred
    twice, then delivered; Exim logs its delay only as the time since its arrival), so
    the domain table's longest delay, which takes deferrals in, is the percentiles'."""
    rep = report_of(SAMPLE / mta / log, alerts=False, top_hosts=None)
    longest = max(rep["delivery_domains"], key=lambda d: d["max_delay"] or 0)
    assert longest["domain"] == "slow.example.net" and longest["sent"] == 1
    assert round(rep["delivery_delays"]["max"], 2) == longest["max_delay"]


def test_deliveries_of_no_known_delay_are_said_not_taken_as_zero(tmp_path: Path) -> None:
    """Exim's slow message without its arrival line (rotated away with yesterday's
    file): its delay is not known, so it is counted apart, said in every form, and the
    longest delay is another delivery's."""
    whole = report_of(SAMPLE / "exim" / "mainlog", alerts=False)["delivery_delays"]
    cut = tmp_path / "mainlog"
    cut.write_text("".join(ln for ln in (SAMPLE / "exim" / "mainlog").read_text()
                           .splitlines(keepends=True) if SLOW_ARRIVAL not in ln))
    rep = report_of(cut, alerts=False)
    d = rep["delivery_delays"]
    assert (d["delivered"], d["timed"], d["untimed"]) == (whole["delivered"],
                                                          whole["timed"] - 1, 1)
    assert d["max"] < whole["max"]
    assert (f"  1 of {d['delivered']} deliveries left out: no delay logged, and their "
            "arrival is not in the input") in render_text(rep).splitlines()
    assert (f"| Deliveries timed | {d['timed']:,} | of {d['delivered']:,} delivered; "
            "1 of no known delay |") in render_markdown(rep)


def test_the_text_gives_the_percentiles_in_pflogsumms_units() -> None:
    """The text report's table, as the domain table writes delays (s, m, h)."""
    rep = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)
    d = rep["delivery_delays"]
    lines = render_text(rep).split("Delivery Delays Percentiles\n")[1].splitlines()
    assert lines[1].split() == ["deliveries", *(f"{p}%" for p in PERCENTILES), "max",
                                "stage"]
    # Postfix's four stages (logwatch's rows), then the Total
    assert [" ".join(ln.split()[11:]) for ln in lines[3:8]] == [
        "Before qmgr", "In qmgr", "Conn setup", "Transmission", "Total"]
    total = lines[7].split()
    assert total[0] == str(d["timed"])
    assert total[-3:-1] == [f"{d['max'] / 60:.1f}", "m"]      # 2429 s


def test_the_page_shows_where_the_delay_went_where_postfix_logged_it() -> None:
    """HTML and Markdown show the stages as a table of their own under the cards, for
    Postfix; an Exim day has no such table (not an empty one)."""
    rep = report_of(SAMPLE / "postfix" / "mail.log", alerts=False)
    md = render_markdown(rep)
    title = "Where the delay went (Postfix's delays=)"
    assert title in md
    rows = md.split(title)[1].split("\n\n")[1].splitlines()[2:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [t for _, t in STAGES]
    assert title not in render_markdown(report_of(SAMPLE / "exim" / "mainlog", alerts=False))
