"""`report`'s coverage and period on real lines: a rotation left out of a set rotated by
size (no hole in time tells it), two logs given together as two series, and a period
that holds no line of the inputs."""

from __future__ import annotations

import gzip
import json
from argparse import Namespace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from logwatch.commands.report import period
from logwatch.report.render_html import render_html
from logwatch.report.render_markdown import render_markdown
from logwatch.report.render_text import render_text
from tests.conftest import parse_events
from tests.test_cli import mlw
from tests.test_report import SAMPLE, report_of

DAY = SAMPLE / "postfix" / "mail.log"
#: the sample day's first and last line
FIRST, LAST = "2026-03-03T00:41:07Z", "2026-03-03T23:45:45Z"


def rotate_by_size(day: Path, into: Path) -> Path:
    """`day` as logrotate's `size` option with `delaycompress` leaves it in a busy hour:
    four files minutes apart (all but the last 381 lines fall in 15:00-16:00), the older
    two compressed."""
    lines = day.read_bytes().splitlines(keepends=True)
    cuts = [0, 500, 700, 900, len(lines)]
    into.mkdir(exist_ok=True)
    for name, a, b in zip(("mail.log.3.gz", "mail.log.2.gz", "mail.log.1", "mail.log"),
                          cuts, cuts[1:]):
        data = b"".join(lines[a:b])
        (into / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return into


def test_a_rotation_left_out_is_named_where_no_time_was_lost(tmp_path: Path) -> None:
    """The live file and the third rotation, as given on the command line: no quiet
    stretch lies between them, yet two files are missing, and every form says which."""
    rotate_by_size(DAY, tmp_path / "log")
    done = mlw("report", "--no-alerts", "--year", "2026", "--tz", "UTC", "--format", "json",
               "log/mail.log", "log/mail.log.3.gz", cwd=tmp_path, text=True)
    assert done.returncode == 0, done.stderr
    cov = json.loads(done.stdout)["coverage"]
    assert cov["holes_between_files"] == []
    assert cov["missing_rotations"] == [{
        "log": "log/mail.log", "after": "log/mail.log.3.gz", "before": "log/mail.log",
        "first": "log/mail.log.1", "last": "log/mail.log.2", "count": 2}]
    text = mlw("report", "--no-alerts", "--year", "2026", "--tz", "UTC", "log/mail.log",
               "log/mail.log.3.gz", cwd=tmp_path, text=True).stdout
    assert ("  missing rotation: log/mail.log.1 and log/mail.log.2 (compressed or not) are "
            "not among the inputs read, between log/mail.log.3.gz and log/mail.log\n") in text
    assert "Holes" not in text and "hole of" not in text
    rep = report_of(*(tmp_path / "log").glob("mail.log*"), alerts=False)
    assert rep["coverage"]["missing_rotations"] == []
    assert rep["period"]["mtas"] == {"postfix": 1281}


def test_a_missing_rotation_is_shown_escaped_in_every_form(tmp_path: Path) -> None:
    """File names can hold anything: a directory named to rewrite a terminal, add a
    Markdown column or open an HTML tag stays text."""
    where = rotate_by_size(DAY, tmp_path / "x\x1b[2J|<b>")
    (where / "mail.log.2.gz").unlink()
    rep = report_of(*where.glob("mail.log*"), alerts=False)
    (missing,) = rep["coverage"]["missing_rotations"]
    assert missing["first"] == missing["last"] == str(where / "mail.log.2")
    assert missing["count"] == 1
    text = render_text(rep)
    assert "\x1b" not in text
    assert "missing rotation: " + str(where / "mail.log.2").replace("\x1b", "\\x1b") + \
        " (compressed or not) is not among the inputs read, between " in text
    html = render_html(rep)
    assert "<b>" not in html and "x\\x1b[2J|&lt;b&gt;/mail.log.2</td>" in html
    markdown = render_markdown(rep)
    (row,) = [line for line in markdown.splitlines()
              if "mail.log.2 |" in line and "mail.log.3.gz" in line]
    assert row.count(" | ") == 3 and "\\|&lt;b&gt;" in row and "<b>" not in row


def test_two_logs_given_together_are_two_series(tmp_path: Path) -> None:
    """Postfix's morning and Exim's evening are no hole in one log, and numbers are
    counted within each log."""
    postfix = [line for line in DAY.read_text().splitlines(keepends=True)
               if line[7:9] < "09"]
    exim = [line for line in (SAMPLE / "exim" / "mainlog").read_text().splitlines(
        keepends=True) if line[11:13] >= "16"]
    (tmp_path / "mail.log").write_text("".join(postfix[100:]))
    (tmp_path / "mail.log.2").write_text("".join(postfix[:100]))
    (tmp_path / "mainlog").write_text("".join(exim))
    rep = report_of(tmp_path / "mail.log", tmp_path / "mainlog", tmp_path / "mail.log.2",
                    alerts=False)
    cov = rep["coverage"]
    assert [f["format"] for f in cov["files"]] == ["bsd", "bsd", "exim"]
    assert cov["holes_between_files"] == []
    assert [(m["log"], m["first"]) for m in cov["missing_rotations"]] == [
        (str(tmp_path / "mail.log"), str(tmp_path / "mail.log.1"))]
    assert set(rep["period"]["mtas"]) == {"exim", "postfix"}


def test_a_period_without_lines_says_so_with_the_inputs_own_times() -> None:
    """`-d today` on a day the inputs do not reach: the first lines say that nothing of
    the inputs falls in it and when their lines are, in every form."""
    since, until = period(Namespace(day="today", since=None, until=None), "UTC",
                          today=date(2026, 3, 5))
    rep = report_of(DAY, since=since, until=until, alerts=False)
    p = rep["period"]
    assert p["empty"] and p["first"] is None and p["last"] is None
    assert p["mtas"] == {"postfix": 0}
    assert (p["inputs_first"], p["inputs_last"]) == (FIRST, LAST)
    # the coverage tells the input whole, whatever the period
    (f,) = rep["coverage"]["files"]
    assert (f["first"], f["last"], f["lines"]) == (FIRST, LAST, 1281)
    assert render_text(rep).splitlines()[:3] == [
        "mail-logwatch report: no mail lines (buckets in UTC)",
        "No mail line of the inputs falls in the period asked for (since "
        "2026-03-05T00:00:00Z until 2026-03-06T00:00:00Z): their mail lines run from "
        f"{FIRST} to {LAST}.",
        "MTAs: postfix 0 rows in the period"]
    said = ("No mail line of the inputs falls in the period asked for (since 2026-03-05 "
            "00:00:00 UTC until 2026-03-06 00:00:00 UTC): their mail lines run from "
            "2026-03-03 00:41:07 UTC to 2026-03-03 23:45:45 UTC.")
    assert f'<p class="wide note warn">{said}</p>' in render_html(rep)
    assert f"**{said}**" in render_markdown(rep)
    assert report_of(DAY, alerts=False)["period"]["empty"] is False


def test_the_command_line_says_an_empty_period_and_exits_0() -> None:
    done = mlw("report", "--no-alerts", "--year", "2026", "--tz", "UTC", "--since",
               "2026-03-05", "--format", "json", str(DAY), text=True)
    assert done.returncode == 0, done.stderr
    p = json.loads(done.stdout)["period"]
    assert p["empty"] and p["mtas"] == {"postfix": 0}
    assert (p["inputs_first"], p["inputs_last"]) == (FIRST, LAST)


@pytest.mark.parametrize("alerts", [False, True])
def test_mtas_counts_the_rows_in_the_period(alerts: bool) -> None:
    cut = datetime(2026, 3, 3, 15, tzinfo=timezone.utc)
    events, _ = parse_events([DAY], year=2026, tz="UTC")
    whole = report_of(DAY, alerts=alerts)["period"]
    before = report_of(DAY, until=cut, alerts=alerts)["period"]
    after = report_of(DAY, since=cut, alerts=alerts)["period"]
    assert whole["mtas"]["postfix"] == events.num_rows == 1281
    assert before["mtas"]["postfix"] + after["mtas"]["postfix"] == 1281
    assert 0 < before["mtas"]["postfix"] < 1281
    assert before["last"] < "2026-03-03T15:00:00Z" <= after["first"]
    assert "MTAs: postfix 1281 rows\n" in render_text(report_of(DAY, alerts=False))


def test_mtas_count_no_rejectlog_row_twice() -> None:
    """Exim's rejectlog repeats mainlog lines, which the figures count once."""
    exim = SAMPLE / "exim"
    assert report_of(exim / "mainlog", exim / "rejectlog", alerts=False)["period"]["mtas"] \
        == report_of(exim / "mainlog", alerts=False)["period"]["mtas"] == {"exim": 699}
