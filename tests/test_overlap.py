"""Sources that hold the same lines (Debian's rsyslog writes mail to mail.log and to
syslog, and its warnings and errors to mail.warn and mail.err as well; a second name for
one file) are said, by `check-config`, by the first `run` that reads them, and by every
batch command (`detect /var/log/mail.*`): every line of theirs counts twice. Lines of
sample_logs/."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logwatch.commands.report import render
from logwatch.config import load_config
from logwatch.live import run_pass
from logwatch.pipeline import ParseOptions
from logwatch.report.build import ReportOptions, build_report
from logwatch.sources.overlap import overlap_warnings, shared_lines
from logwatch.state import State
from tests.conftest import ROOT, parse_events
from tests.test_cli import mlw

SAMPLE = (ROOT / "sample_logs/postfix/mail.log").read_text().splitlines(keepends=True)
MAIL = SAMPLE[:200]
CONFIG = ROOT / "sample_logs" / "config.toml"
#: what else a Debian syslog holds between the mail lines, at the stamp of the line before
OTHER = ("{} mx1 CRON[{}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)\n",
         "{} mx1 kernel: [{}.000000] [UFW BLOCK] IN=eth0 OUT= MAC= SRC=203.0.113.9 "
         "DST=192.0.2.25 LEN=44 TOS=0x00 PREC=0x00 TTL=240 ID=54321 PROTO=TCP SPT=44321 "
         "DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0\n")
#: Postfix's error and critical lines (a transport map gone, main.cf unreadable), which
#: sample_logs has none of: rsyslog writes them to mail.err and mail.warn too
TROUBLE = """\
Mar  3 03:50:00 mx1 postfix/trivial-rewrite[1701]: error: open database /etc/postfix/transport.db: No such file or directory
Mar  3 03:50:00 mx1 postfix/trivial-rewrite[1701]: warning: hash:/etc/postfix/transport is unavailable. open database /etc/postfix/transport.db: No such file or directory
Mar  3 03:50:30 mx1 postfix/trivial-rewrite[1701]: error: open database /etc/postfix/transport.db: No such file or directory
Mar  3 03:51:00 mx1 postfix/trivial-rewrite[1701]: error: open database /etc/postfix/transport.db: No such file or directory
Mar  3 03:51:30 mx1 postfix/trivial-rewrite[1701]: error: open database /etc/postfix/transport.db: No such file or directory
Mar  3 03:51:31 mx1 postfix/smtpd[1705]: fatal: open /etc/postfix/main.cf: Permission denied
Mar  3 03:51:32 mx1 postfix/master[1000]: warning: process /usr/lib/postfix/sbin/smtpd pid 1705 exit status 1
Mar  3 03:51:32 mx1 postfix/master[1000]: warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling
Mar  3 03:52:32 mx1 postfix/smtpd[1706]: fatal: open /etc/postfix/main.cf: Permission denied
""".splitlines(keepends=True)
#: the lines rsyslog's `mail.warn` and `mail.err` selectors take (Postfix logs `warning:`
#: at LOG_WARNING, `error:` at LOG_ERR, `fatal:` and `panic:` at LOG_CRIT)
WARN = re.compile(r"\]: (?:warning|error|fatal|panic): ")
ERR = re.compile(r"\]: (?:error|fatal|panic): ")
ADVICE = ("each counts twice; read one of them (rsyslog writes mail to mail.log and again "
          "to syslog, its warnings and errors to mail.warn and mail.err as well)")


def _syslog(mail: list[str]) -> str:
    """The mail lines with other programs' lines between them, as /var/log/syslog."""
    return "".join(line + (OTHER[i // 20 % 2].format(line[:15], 9000 + i) if i % 20 == 19
                           else "") for i, line in enumerate(mail))


def test_mail_log_and_syslog_share_their_mail_lines(tmp_path: Path) -> None:
    mail, syslog, other = tmp_path / "mail.log", tmp_path / "syslog", tmp_path / "mx2.log"
    mail.write_text("".join(MAIL))
    syslog.write_text(_syslog(MAIL))
    other.write_text("".join(line.replace(" mx1 ", " mx2 ") for line in MAIL))
    assert shared_lines([str(mail), str(syslog), str(other)]) == [
        (str(mail), str(syslog), len(set(MAIL)))]
    link = tmp_path / "maillog"
    os.symlink(mail, link)
    assert [w.split(" hold ")[0] for w in overlap_warnings([str(mail), str(link)])] == [
        f"{mail} and {link}"]


def test_exim_reject_log_beside_its_main_log_is_said_as_exims(tmp_path: Path) -> None:
    """A batch read pairs an Exim reject log's lines with its main log's; `run` and
    `follow` read sources apart, so both as sources count every refusal twice. The
    recording's two logs share their refusals, and the advice names the main log."""
    rec = ROOT / "recordings" / "exim" / "run1-default"
    for name in ("mainlog", "rejectlog"):
        (tmp_path / name).write_bytes(gzip.decompress((rec / f"{name}.gz").read_bytes()))
    (warning,) = overlap_warnings([str(tmp_path / "mainlog"), str(tmp_path / "rejectlog")])
    assert warning.endswith("read the main log only (Exim writes each refusal to its "
                            "reject log as well)")


def test_check_config_and_the_first_run_say_it(tmp_path: Path) -> None:
    mail, syslog = tmp_path / "mail.log", tmp_path / "syslog"
    mail.write_text("".join(MAIL))
    syslog.write_text(_syslog(MAIL))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\nlocal_domains = '
                   f'["example.com"]\ntimezone = "UTC"\n[[sources]]\npath = "{mail}"\n'
                   f'[[sources]]\npath = "{syslog}"\n')
    checked = subprocess.run([sys.executable, "-m", "logwatch", "check-config", str(cfg)],
                             capture_output=True, text=True, cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert f"  WARNING: {mail} and {syslog} hold the same lines (200 of their last ones): " \
           "each counts twice" in checked.stdout
    config = load_config(cfg)
    state = State(config.state_dir)
    try:
        first = run_pass(config, state)
        with open(mail, "a") as fh:
            fh.write(MAIL[0])
        later = run_pass(config, state)
    finally:
        state.close()
    assert [w for w in first.warnings if "hold the same lines" in w] == [
        f"{mail} and {syslog} hold the same lines (200 of their last ones): each counts "
        "twice; read one of them (rsyslog writes mail to mail.log and again to syslog, its "
        "warnings and errors to mail.warn and mail.err as well)"]
    assert not [w for w in later.warnings if "hold the same lines" in w]


def _debian(tmp_path: Path) -> list[Path]:
    """/var/log as Debian's rsyslog writes it for one day of sample_logs/ with some
    trouble in it: mail.log, mail.warn, mail.err and syslog."""
    at = next(i for i, line in enumerate(SAMPLE) if line[:15] > TROUBLE[0][:15])
    mail = SAMPLE[:at] + TROUBLE + SAMPLE[at:]
    logs = {"mail.log": mail, "mail.warn": [line for line in mail if WARN.search(line)],
            "mail.err": [line for line in mail if ERR.search(line)]}
    for name, lines in logs.items():
        (tmp_path / name).write_text("".join(lines))
    (tmp_path / "syslog").write_text(_syslog(mail))
    return [tmp_path / name for name in (*logs, "syslog")]


def _said(paths: list[Path]) -> list[str]:
    """Each pair's warning, with the lines the two files share counted here."""
    said = []
    for a, b in itertools.combinations(paths, 2):
        n = len(set(a.read_text().splitlines()) & set(b.read_text().splitlines()))
        said.append(f"{a} and {b} hold the same lines ({n} of their last ones): {ADVICE}")
    return said


@pytest.mark.parametrize("command", [
    ["detect", "--config", str(CONFIG), "--format", "text"],
    ["report", "--config", str(CONFIG), "--out", "{tmp}/report.html"],
    ["export", "--config", str(CONFIG), "--out", "{tmp}/dataset"],
    ["trace", "--kind", "user", "admin"],
    ["parse", "--out", "/dev/null"],
], ids=lambda command: command[0])
def test_batch_commands_say_each_pair_once(tmp_path: Path, command: list[str]) -> None:
    """`detect /var/log/mail.*` and `report mail.log syslog` counted the failed logins
    of mail.log again in mail.warn and syslog, silently; now each pair is said on
    stderr, once, in run's words."""
    logs = _debian(tmp_path)
    args = [a.format(tmp=tmp_path) for a in command]
    r = mlw(*args[:1], "--year", "2026", "--tz", "UTC", "-j", "1", *args[1:],
            *map(str, logs), text=True)
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if "hold the same lines" in line] == [
        f"mail-logwatch: note: {w}" for w in _said(logs)]
    assert len(_said(logs)) == 6    # mail.err's lines are in all four, and so on


def test_the_report_says_it_in_its_coverage(tmp_path: Path) -> None:
    """A report mailed by cron carries it, not only the stderr of whoever ran it; its
    figures are those of the lines read, the copies counted (which file to drop is the
    reader's call)."""
    mail, *_, syslog = _debian(tmp_path)
    cfg, options = load_config(CONFIG), ParseOptions(year=2026, tz="UTC")
    both, errors = build_report([str(mail), str(syslog)], cfg, options, ReportOptions())
    alone, _ = build_report([str(mail)], cfg, options, ReportOptions())
    (said,) = _said([mail, syslog])
    assert not errors
    assert json.loads(render("json", both))["coverage"]["warnings"] == [said]
    assert f"  warning: {said}" in render("text", both).splitlines()
    assert said in render("html", both)
    assert said.split(" and ")[1].replace("_", r"\_") in render("markdown", both)
    assert alone["coverage"]["warnings"] == []
    assert both["totals"]["received"] == 2 * alone["totals"]["received"] > 0
    assert both["security"]["auth"]["failures"] == 2 * alone["security"]["auth"]["failures"]


def test_exims_main_and_reject_log_read_together_are_not_said() -> None:
    """A batch read counts a reject log entry the main log repeats once (see
    logwatch.secondary), so the lines the two share are no double count there; `run`
    reads them apart and says them (above)."""
    logs = [str(ROOT / "sample_logs/exim" / name) for name in ("mainlog", "rejectlog")]
    assert overlap_warnings(logs)
    r = mlw("detect", "--year", "2026", *logs, text=True)
    assert r.returncode == 0, r.stderr
    assert "hold the same lines" not in r.stderr
    assert "reject/panic log entries repeat the main log: counted once" in r.stderr


def test_rotated_files_are_not_said(tmp_path: Path) -> None:
    (tmp_path / "mail.log.1").write_text("".join(SAMPLE[:640]))
    (tmp_path / "mail.log").write_text("".join(SAMPLE[640:]))
    for names in ([tmp_path / "mail.log.1", tmp_path / "mail.log"],
                  sorted((ROOT / "sample_logs/postfix/rotated").iterdir())):
        _, run = parse_events(names, year=2026)
        assert run.warnings == [] and run.errors == []


def test_compressed_inputs_are_not_compared(tmp_path: Path) -> None:
    """An archive's last lines are its whole content decompressed: the inputs compared
    are the plain files (a copy of a log beside it compressed counts twice, unsaid)."""
    mail, copy = tmp_path / "mail.log", tmp_path / "copy.log.gz"
    mail.write_text("".join(SAMPLE))
    copy.write_bytes(gzip.compress(mail.read_bytes()))
    _, run = parse_events([mail, copy], year=2026)
    assert run.warnings == []


def test_one_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """`report mail.log mail.log`, `mail.log ./mail.log` or a link beside its target: one
    file, read twice, gave every figure twice, and its two names' ends (one file) were
    never compared. It is read once, and said."""
    mail = tmp_path / "mail.log"
    mail.write_text("".join(SAMPLE))
    (tmp_path / "link.log").symlink_to(mail)
    once, _ = parse_events([mail], year=2026)
    for again, said in ((mail, f"{mail} given twice: read once"),
                        (tmp_path / "link.log", f"{tmp_path / 'link.log'} is {mail} again"),
                        (f"{tmp_path}/./mail.log", f"{tmp_path}/./mail.log is ")):
        events, run = parse_events([mail, again], year=2026)
        assert events.num_rows == once.num_rows and run.errors == []
        assert len(run.warnings) == 1 and run.warnings[0].startswith(said)
