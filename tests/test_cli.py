"""The `parse` command as a user runs it: outputs, stats, stdin, errors and exit codes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

LOG = """\
Dec 30 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[203.0.113.9]
Dec 30 10:00:01 mx1 postfix/smtpd[100]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6
Dec 30 10:00:02 mx1 postfix/smtpd[100]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 454 4.7.1 <x@example.org>: Relay access denied; from=<spam@example.net> to=<x@example.org> proto=ESMTP helo=<probe>
Dec 30 10:00:03 mx1 postfix/smtpd[100]: disconnect from unknown[203.0.113.9] ehlo=1 auth=0/1 mail=1 rcpt=0/1 quit=1 commands=3/5
Dec 30 10:00:04 mx1 kernel: [12.3] eth0: link up
"""


def mlw(*args: str, stdin: bytes | None = None, cwd: Path = ROOT,
        text: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logwatch", *args], input=stdin,
                          capture_output=True, cwd=cwd, text=text)


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "mail.log"
    path.write_text(LOG)
    return path


def test_json_lines_on_stdout(log: Path) -> None:
    r = mlw("parse", str(log), "--year", "2025", "--tz", "UTC")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["event"] for x in rows] == ["connect", "auth_failure", "reject", "disconnect"]
    assert rows[2]["reject_class"] == "relay_denied" and rows[2]["reject_code"] == 454
    assert rows[3]["auth_ok"] == 0 and rows[3]["auth_tried"] == 1
    assert rows[0]["ts"] == "2025-12-30T10:00:00Z"
    assert len({x["session"] for x in rows}) == 1


def test_parquet_and_csv_outputs(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev.parquet"
    assert mlw("parse", str(log), "--year", "2025", "--out", str(out)).returncode == 0
    table = pq.read_table(out)
    assert table.num_rows == 4
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    out_csv = tmp_path / "ev.csv"
    assert mlw("parse", str(log), "--year", "2025", "--out", str(out_csv)).returncode == 0
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["event"] for r in rows][:2] == ["connect", "auth_failure"]


def test_messages_table(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_text(
        "Dec 30 10:00:00 mx1 postfix/pickup[10]: 0AAAA1: uid=0 from=<root>\n"
        "Dec 30 10:00:00 mx1 postfix/qmgr[50]: 0AAAA1: from=<root@mx1>, size=300, nrcpt=1 "
        "(queue active)\n"
        "Dec 30 10:00:01 mx1 postfix/local[11]: 0AAAA1: to=<root@mx1>, relay=local, delay=1, "
        "delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)\n"
        "Dec 30 10:00:01 mx1 postfix/qmgr[50]: 0AAAA1: removed\n")
    r = mlw("parse", str(path), "--year", "2025", "--table", "messages")
    (msg,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert msg["queue_id"] == "0AAAA1" and msg["status"] == "sent" and msg["origin"] == "local"


def test_unwritable_output_is_reported(log: Path, tmp_path: Path) -> None:
    for name in ("x.jsonl", "x.parquet", "x.csv"):
        r = mlw("parse", str(log), "--year", "2025", "--out", str(tmp_path / "no" / name))
        assert r.returncode == 2 and b"cannot write" in r.stderr and b"Traceback" not in r.stderr


def test_stats_say_where_every_line_went(log: Path) -> None:
    r = mlw("parse", str(log), "--year", "2025", "--stats", "json")
    stats = json.loads(r.stderr)
    (src,) = stats["sources"]
    assert src["format"] == "bsd" and src["lines"] == 5 and src["mail_lines"] == 4
    assert src["foreign_programs"] == {"kernel": 1}
    assert src["clock"]["year_from"] == "--year" and src["clock"]["years"] == [2025]


def test_stats_text_leads_with_where_lines_went(log: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.log"
    hostile.write_text(LOG + "Dec 30 10:00:05 mx1 postfix/smtpd[100]: odd \x1b[2J thing\n")
    r = mlw("parse", str(hostile), "--year", "2025", "--tz", "UTC", "--stats",
            "--out", str(tmp_path / "x.jsonl"))
    assert r.returncode == 0, r.stderr
    text = r.stderr.decode()
    assert text.startswith(f"{hostile}: bsd, 6 lines, 5 mail, 5 rows, 1 other, 0 unreadable\n")
    assert "  years 2025 (from --year)\n" in text
    assert "  not mail: kernel 1\n" in text
    assert any(line.split() == ["auth_failure", "1"] for line in text.splitlines())
    assert "\x1b" not in text and "\\x1b[NJ thing" in text   # shown, not obeyed


def test_stdin(log: Path) -> None:
    r = mlw("parse", "-", "--year", "2025", stdin=log.read_bytes())
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 4
    assert json.loads(r.stdout.splitlines()[0])["source"] == "-"


def test_one_unreadable_input_does_not_stop_the_others(log: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.log"
    r = mlw("parse", str(missing), str(log), "--year", "2025")
    assert r.returncode == 2
    assert str(missing) in r.stderr.decode()
    assert len(r.stdout.splitlines()) == 4


def test_unknown_output_type_is_a_usage_error(log: Path, tmp_path: Path) -> None:
    r = mlw("parse", str(log), "--out", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and b"unknown output type .xlsx" in r.stderr


def test_version_and_module_entry_point() -> None:
    r = mlw("--version")
    assert r.returncode == 0 and r.stdout.startswith(b"mail-logwatch ")


def test_explain_names_the_pattern_and_the_near_misses(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_bytes(
        b"Dec 30 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[203.0.113.9]\n"
        b"Dec 30 10:00:01 mx1 postfix/smtpd[100]: warning: odd \x1b[31mred\x1b[0m\n"
        b"Dec 30 10:00:02 mx1 postfix/smtpd[100]: connect from a line no pattern knows\n")
    r = mlw("parse", str(path), "--explain", "--year", "2025")
    out = r.stdout.decode()
    assert r.returncode == 0
    assert "-> postfix:smtpd.connect (connect): client_ip=203.0.113.9" in out
    assert "\x1b" not in out and "\\x1b[31mred" in out  # escapes shown, not obeyed
    assert "no pattern took this postfix/smtpd line; prefilters passed, regex failed: " \
           "smtpd.connect" in out
    assert "1  (other)" in out
    piped = mlw("parse", "-", "--explain", "--year", "2025", stdin=path.read_bytes())
    # read twice, so copied first, and named as asked
    assert piped.returncode == 0 and piped.stdout.decode() == out.replace(str(path), "-")


def test_run_names_a_source_that_is_no_log(tmp_path: Path) -> None:
    """A misspelt [[sources]] path would otherwise read nothing at every cron run without
    a word (a note: it may be a log not written yet); a directory is never a log (an
    error, exit 2); a live log missing beside its rotations is a rotation under way."""
    rotating = tmp_path / "mail.log"
    (tmp_path / "mail.log.1").write_text("")
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n'
                      f'[[sources]]\npath = "{tmp_path / "mial.log"}"\n'
                      f'[[sources]]\npath = "{tmp_path}"\n'
                      f'[[sources]]\npath = "{rotating}"\n')
    done = mlw("run", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"mail-logwatch: note: {tmp_path / 'mial.log'}: no such file, nor rotations of it "
        "beside it: nothing read",
        f"mail-logwatch: {tmp_path}: a directory, not a log file"]


@pytest.mark.parametrize("args, said", [
    (["parse", "--year", "20226"], "argument --year: 20226 is not a year of a log (1900 to 9000)"),
    (["report", "--year", "0"], "argument --year: 0 is not a year of a log"),
    (["report", "-h", "-1"], "argument -h: '-1': a number of lines, 0 or more"),
    (["report", "--since", "2026-03-04", "--until", "2026-03-03"],
     "--since 2026-03-04 is not before --until 2026-03-03: the period would be empty"),
    (["report", "--gap", "nan"], "argument --gap: 'nan': a finite number of hours, more than 0"),
    (["report", "--gap", "1e400"], "argument --gap: '1e400': a finite number of hours"),
    (["report", "--gap", "-1"], "argument --gap: '-1': a finite number of hours"),
    (["report", "--gap", "0"], "argument --gap: '0': a finite number of hours"),
    (["parse", "-j", "-1"], "argument -j/--jobs: '-1': a number of processes, 1 or more"),
    (["detect", "--jobs", "0"], "argument -j/--jobs: '0': a number of processes, 1 or more"),
    (["alerts", "--limit", "-1"], "argument --limit: '-1': a number of deliveries, 1 or more"),
    (["parse", "--host", ""], "argument --host: '': a host name, not empty and without spaces"),
    (["export", "--out", "x", "--host", "mx 1"], "argument --host: 'mx 1': a host name"),
])
def test_a_typo_in_an_option_is_said_not_a_traceback(log: Path, args: list[str],
                                                      said: str) -> None:
    done = mlw(*args, str(log))
    assert done.returncode == 2 and said in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


def test_report_takes_its_format_from_the_out_suffix(log: Path, tmp_path: Path) -> None:
    """`--out day.html` is an HTML page, not the text report in an .html file."""
    for name, start in (("day.html", "<!DOCTYPE html>"), ("day.json", "{"),
                        ("day.txt", "mail-logwatch report: ")):
        out = tmp_path / name
        assert mlw("report", "--year", "2025", "--tz", "UTC", str(log), "--out",
                   str(out)).returncode == 0
        assert out.read_text().lstrip().startswith(start), name
    assert json.loads((tmp_path / "day.json").read_text())["totals"]["rejected"] == 1


@pytest.mark.parametrize("command", ["run", "follow", "alerts"])
def test_site_commands_need_a_config(command: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Without --config and the default file, `alerts` made a state database under
    /var/lib and said 0 waiting, `run` that there were no sources: now they say what is
    missing, and make nothing."""
    from logwatch.cli import main
    from logwatch.commands import detect

    absent = tmp_path / "etc" / "config.toml"
    monkeypatch.setattr(detect, "DEFAULT_PATH", absent)
    monkeypatch.chdir(tmp_path)
    assert main([command]) == 2
    assert capsys.readouterr().err == (
        f"mail-logwatch: no --config given and no {absent}: this command needs the site's "
        "configuration (its sources and state_dir)\n")
    assert list(tmp_path.iterdir()) == []


def test_stats_alone_with_out_dev_null(log: Path) -> None:
    """The README's `--stats json --out /dev/null`: where the lines went, nothing else."""
    done = mlw("parse", str(log), "--year", "2025", "--stats", "json", "--out", "/dev/null")
    assert done.returncode == 0 and done.stdout == b""
    stats = json.loads(done.stderr)
    assert stats["sources"][0]["lines"] == 5 and stats["sources"][0]["mail_lines"] == 4


def test_a_file_after_stats_is_told_apart_from_its_format(log: Path, tmp_path: Path) -> None:
    """`--stats` takes an optional format: `parse --stats mail.log` read the name as
    one and said only that it was no choice. It says what happened and what to write;
    an empty file's line says it has no format, not Python's None."""
    done = mlw("parse", "--stats", str(log))
    assert done.returncode == 2
    assert "is not text or json (a file name right after --stats" in done.stderr.decode()
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    done = mlw("parse", "--stats=text", "--out", "/dev/null", str(empty))
    assert done.returncode == 0
    assert done.stderr.decode().startswith(f"{empty}: no format (no lines), 0 lines")


def test_stdin_is_told_to_give_a_year_only_when_its_stamps_have_none(log: Path) -> None:
    """A pipe's format is known only once read: Exim's own stamps carry the year."""
    exim = (ROOT / "sample_logs" / "exim" / "mainlog").read_bytes()[:4000]
    exim = exim[:exim.rindex(b"\n") + 1]
    for data, told in ((exim, False), (log.read_bytes(), True)):
        done = mlw("parse", "-", "--stats", "--out", "/dev/null", stdin=data)
        assert done.returncode == 0
        assert ("no year clue for this input" in done.stderr.decode()) is told


@pytest.mark.parametrize("command, name, how", [
    ("parse", "mail.jsonl", "same"), ("parse", "mail.log", "same"),
    ("parse", "mail.jsonl", "hardlink"), ("parse", "mail.csv", "stdin"),
    ("report", "mail.log", "same"), ("report", "mail.log", "symlink"),
])
def test_out_that_is_an_input_is_refused_and_the_log_kept(tmp_path: Path, command: str,
                                                          name: str, how: str) -> None:
    """`report x.log --out x.log` emptied the log and exited 0: an --out that is one of
    the inputs (the same inode, however named) is refused before anything is opened."""
    log = tmp_path / name
    log.write_text(LOG)
    out = log
    if how == "hardlink":
        out = tmp_path / "other.jsonl"
        out.hardlink_to(log)
    elif how == "symlink":
        out = tmp_path / "day.txt"
        out.symlink_to(log)
    args = [command, "--year", "2025", "--tz", "UTC", "--out", str(out)]
    if how == "stdin":   # `parse - --out mail.csv < mail.csv` read its own rows forever
        with log.open("rb") as stdin:
            done = subprocess.run([sys.executable, "-m", "logwatch", *args, "-"],
                                  stdin=stdin, capture_output=True, cwd=ROOT, timeout=60)
    else:
        done = mlw(*args, str(log))
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert f"--out {out}: is " in err and "would destroy the log" in err
    assert "Traceback" not in err
    assert log.read_text() == LOG


def test_out_beside_an_input_is_written(log: Path, tmp_path: Path) -> None:
    """Only the input itself is refused: an existing other file is overwritten, as asked."""
    out = tmp_path / "report.txt"
    out.write_text("yesterday's report")
    assert mlw("report", "--year", "2025", "--tz", "UTC", str(log), "--out",
               str(out)).returncode == 0
    assert out.read_text().startswith("mail-logwatch report: ")
    assert log.read_text() == LOG


@pytest.mark.parametrize("command", ["run", "follow"])
def test_a_state_directory_it_cannot_use_is_said_and_tried_again_later(
        tmp_path: Path, command: str) -> None:
    """An adversarial reviewer filled, then made read-only, the state directory: run and
    follow died with an sqlite traceback and exit 1 (what --fail-on-alert means), and a
    follower under Restart=on-failure crash-looped. They say which state cannot be used,
    that nothing was committed, and exit 75 (EX_TEMPFAIL: cron and systemd try again).
    Root writes to a read-only directory, so a database that cannot be opened stands in
    (a state_dir that is no directory is a config error: test_check_config)."""
    (tmp_path / "afile" / "state" / "state.sqlite").mkdir(parents=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path}/afile/state"\n[[sources]]\n'
                   f'path = "{ROOT}/sample_logs/postfix/mail.log"\n'
                   '[site]\nlocal_domains = ["example.com"]\n')
    done = subprocess.run([sys.executable, "-m", "logwatch", command, "--config", str(cfg)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 75, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot use the state in {tmp_path}/afile/state" in done.stderr
    assert "nothing of this pass was committed" in done.stderr
