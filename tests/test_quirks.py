"""Repeat summaries, split lines and cut lines (`parse.quirks`), end to end on real files.

Each file is small and written the way the writer writes it: rsyslog's repeated-message
reduction, sysklogd's `last message repeated`, Exim's `[n/m]` syslog pieces, Sendmail's
`QID[n]:` pieces, and Postfix's 2000-byte record limit.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from logwatch.parse import quirks
from logwatch.parse.header import parse_tags, split_header
from logwatch.parse.quirks import MAX_REPEAT, QuirkState, rewrite_block
from tests.conftest import parse_events

AUTH = "warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"


def write(tmp_path: Path, lines: list[str], name: str = "mail.log") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{ln}\n" for ln in lines))
    return path


def offsets_of(path: Path) -> list[int]:
    data = path.read_bytes()
    return [0] + [i + 1 for i, b in enumerate(data[:-1]) if b == 10]


def rows(events: pa.Table, *cols: str) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in events.select(list(cols)).to_pylist()]


def check_accounting(run) -> None:  # type: ignore[no-untyped-def]
    assert run.errors == []
    for s in run.stats:
        assert s.unaccounted() == 0, s.as_dict()


def parse_lines(tmp_path: Path, lines: list[str], **options: Any):  # type: ignore[no-untyped-def]
    """Parse `lines` as one 2025 UTC log whose every line is accounted for.

    Returns the events, the run and the byte offset each line starts at.
    """
    path = write(tmp_path, lines)
    events, run = parse_events([path], year=2025, tz="UTC", **options)
    check_accounting(run)
    return events, run, offsets_of(path)


# --- rsyslog: `message repeated N times: [ text]` ----------------------------------------

RSYSLOG = [
    "Mar  3 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[192.0.2.7]",
    f"Mar  3 10:00:01 mx1 postfix/smtpd[100]: {AUTH}",
    f"Mar  3 10:00:09 mx1 postfix/smtpd[100]: message repeated 3 times: [ {AUTH}]",
    "Mar  3 10:00:10 mx1 postfix/smtpd[100]: disconnect from unknown[192.0.2.7] ehlo=1 "
    "auth=0/4 quit=1 commands=2/6",
]


@pytest.mark.parametrize("block_size", [1 << 20, 150, 250])
def test_rsyslog_repeat_becomes_the_rows_it_stands_for(tmp_path: Path, block_size: int) -> None:
    events, run, starts = parse_lines(tmp_path, RSYSLOG, block_size=block_size)
    got = rows(events, "event", "offset", "seq", "line_note", "client_ip", "pid")
    assert got == [
        ("connect", starts[0], 0, None, "192.0.2.7", 100),
        ("auth_failure", starts[1], 1, None, "192.0.2.7", 100),
        ("auth_failure", starts[2], 2, "repeated", "192.0.2.7", 100),
        ("auth_failure", starts[2], 2, "repeated", "192.0.2.7", 100),
        ("auth_failure", starts[2], 2, "repeated", "192.0.2.7", 100),
        ("disconnect", starts[3], 3, None, "192.0.2.7", 100),
    ]
    rep = events.filter(pc.equal(events["line_note"].cast(pa.string()), "repeated"))
    assert {t.isoformat() for t in rep["ts"].to_pylist()} == {"2025-03-03T10:00:09+00:00"}
    assert set(rep["sasl_method"].to_pylist()) == {"LOGIN"}
    s = run.stats[0]
    assert s.repeated_rows == 3
    assert s.lines == 4 and s.rows == 6


def test_rsyslog_repeat_of_a_multi_recipient_line(tmp_path: Path) -> None:
    deferred = ("52SA0001002001: to=<ann@example.net>,<ben@example.net>, delay=00:00:02, "
                "xdelay=00:00:01, mailer=esmtp, pri=120412, relay=mx.example.net. "
                "[203.0.113.5], dsn=4.0.0, stat=Deferred: Connection refused by "
                "mx.example.net.")
    events, run, _ = parse_lines(tmp_path, [
        f"Mar  3 10:00:06 mx1 sm-mta[2012]: {deferred}",
        f"Mar  3 10:00:36 mx1 sm-mta[2012]: message repeated 2 times: [ {deferred}]",
    ])
    got = Counter(rows(events, "event", "recipient", "status", "line_note", "queue_id"))
    assert got == Counter({
        ("delivery", "ann@example.net", "deferred", None, "52SA0001002001"): 1,
        ("delivery", "ben@example.net", "deferred", None, "52SA0001002001"): 1,
        ("delivery", "ann@example.net", "deferred", "repeated", "52SA0001002001"): 2,
        ("delivery", "ben@example.net", "deferred", "repeated", "52SA0001002001"): 2,
    })


def test_rsyslog_repeat_of_a_foreign_program_makes_no_mail_rows(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        "Mar  3 10:00:00 mx1 kernel: [12.3] eth0: link up",
        "Mar  3 10:00:05 mx1 kernel: message repeated 5 times: [ [12.3] eth0: link up]",
        RSYSLOG[0],
    ])
    assert rows(events, "event") == [("connect",)]
    assert run.stats[0].foreign["kernel"] == 2


def test_hostile_repeat_count_is_capped(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        f"Mar  3 10:00:09 mx1 postfix/smtpd[100]: message repeated 999999999 times: [ {AUTH}]",
        RSYSLOG[0],
    ])
    assert MAX_REPEAT == 100_000
    assert events.num_rows == MAX_REPEAT + 1
    assert run.stats[0].repeated_rows == MAX_REPEAT
    assert set(events["offset"].to_pylist()[:MAX_REPEAT]) == {0}


def test_the_summaries_of_a_block_stand_for_a_bounded_number_of_rows(tmp_path: Path) -> None:
    """An adversarial reviewer wrote 20 summaries of 100,000 repeats each (3.6 KB, what
    `logger` lets any local user write): 2M rows, 15.8 s and 1.9 GB. What the summaries
    of one block stand for is capped in all, and the cap is counted."""
    events, run, _ = parse_lines(tmp_path, [
        f"Mar  3 10:00:{i:02d} mx1 postfix/smtpd[{100 + i}]: message repeated 100000 times: "
        f"[ {AUTH}]" for i in range(20)])
    assert events.num_rows == quirks.MAX_REPEATED_ROWS + 19   # the rest stand for one each
    assert run.stats[0].repeats_capped == 19


def test_repeat_cap_is_read_at_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quirks, "MAX_REPEAT", 25)
    events, run, starts = parse_lines(tmp_path, [
        f"Mar  3 10:00:09 mx1 postfix/smtpd[100]: message repeated 4000 times: [ {AUTH}]",
        f"Mar  3 10:00:10 mx1 postfix/smtpd[100]: message repeated 7 times: [ {AUTH}]",
    ])
    assert Counter(events["offset"].to_pylist()) == Counter({0: 25, starts[1]: 7})


# --- sysklogd: `last message repeated N times` ---------------------------------------------

SYSKLOGD = [
    "Mar  3 10:00:00 mx1 postfix/smtpd[100]: connect from unknown[192.0.2.7]",
    f"Mar  3 10:00:01 mx1 postfix/smtpd[100]: {AUTH}",
    "Mar  3 10:00:09 mx1 last message repeated 2 times",
    "Mar  3 10:00:10 mx1 postfix/smtpd[100]: disconnect from unknown[192.0.2.7] ehlo=1 "
    "auth=0/3 quit=1 commands=2/5",
]


@pytest.mark.parametrize("block_size", [1 << 20, 200, 150, 120])
def test_sysklogd_repeat_repeats_the_previous_line(tmp_path: Path, block_size: int) -> None:
    path = write(tmp_path, SYSKLOGD)
    starts = offsets_of(path)
    # 200 and 150 put the summary at the top of the second block, after its line
    events, run = parse_events([path], year=2025, tz="UTC", block_size=block_size)
    check_accounting(run)
    got = rows(events, "event", "offset", "seq", "line_note", "program", "pid", "host",
               "client_ip")
    assert got == [
        ("connect", starts[0], 0, None, "postfix/smtpd", 100, "mx1", "192.0.2.7"),
        ("auth_failure", starts[1], 1, None, "postfix/smtpd", 100, "mx1", "192.0.2.7"),
        ("auth_failure", starts[2], 2, "repeated", "postfix/smtpd", 100, "mx1", "192.0.2.7"),
        ("auth_failure", starts[2], 2, "repeated", "postfix/smtpd", 100, "mx1", "192.0.2.7"),
        ("disconnect", starts[3], 3, None, "postfix/smtpd", 100, "mx1", "192.0.2.7"),
    ]
    assert run.stats[0].repeated_rows == 2
    rep = events.filter(pc.equal(events["line_note"].cast(pa.string()), "repeated"))
    assert {t.isoformat() for t in rep["ts"].to_pylist()} == {"2025-03-03T10:00:09+00:00"}


def test_sysklogd_repeat_singular_time(tmp_path: Path) -> None:
    events, run, _ = parse_lines(
        tmp_path, [SYSKLOGD[1], "Mar  3 10:00:09 mx1 last message repeated 1 time"])
    assert rows(events, "event", "line_note") == [("auth_failure", None),
                                                  ("auth_failure", "repeated")]


def test_sysklogd_repeat_at_the_top_of_the_file_repeats_nothing(tmp_path: Path) -> None:
    events, run, _ = parse_lines(
        tmp_path, ["Mar  3 10:00:09 mx1 last message repeated 4 times", SYSKLOGD[0]])
    assert rows(events, "event") == [("connect",)]
    assert run.stats[0].repeated_rows == 0


def test_sysklogd_repeat_of_a_foreign_line_makes_no_mail_rows(tmp_path: Path) -> None:
    path = write(tmp_path, [
        "Mar  3 10:00:01 mx1 CRON[5]: (root) CMD (run-parts /etc/cron.hourly)",
        "Mar  3 10:00:31 mx1 last message repeated 2 times",
        SYSKLOGD[0],
    ])
    for block_size in (1 << 20, 90):
        events, run = parse_events([path], year=2025, tz="UTC", block_size=block_size)
        check_accounting(run)
        assert rows(events, "event", "offset") == [("connect", offsets_of(path)[2])]


def test_sysklogd_repeat_of_an_rsyslog_summary_takes_the_inner_text(tmp_path: Path) -> None:
    events, run, _ = parse_lines(
        tmp_path, [RSYSLOG[2], "Mar  3 10:00:20 mx1 last message repeated 2 times"])
    assert rows(events, "event") == [("auth_failure",)] * 5


def test_consecutive_sysklogd_summaries(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        SYSKLOGD[1],
        "Mar  3 10:00:31 mx1 last message repeated 2 times",
        "Mar  3 10:01:31 mx1 last message repeated 3 times",
    ])
    assert rows(events, "event") == [("auth_failure",)] * 6
    assert run.stats[0].repeated_rows == 5


# --- Exim's `[n/m]` pieces -------------------------------------------------------------------

EXIM_SPLIT = [
    "Jan  6 08:05:06 mx1 exim[3006]: [1/2] 2025-01-06 08:05:06 [3006] "
    "1tUbN1-00000000Z21-6BcD => nina@example.org R=dnslookup T=remote_smtp "
    'H=mx.example.org [198.51.100.20] C="250 2.0.0 OK: queued',
    "Jan  6 08:05:06 mx1 postfix/smtpd[100]: connect from unknown[192.0.2.7]",
    'Jan  6 08:05:06 mx1 exim[3006]: [2/2]  as 4YQ9aB1cDeZ"',
]


def test_exim_pieces_are_joined_into_the_first(tmp_path: Path) -> None:
    events, run, starts = parse_lines(tmp_path, EXIM_SPLIT)
    got = rows(events, "event", "offset", "seq", "line_note", "mta", "queue_id", "recipient",
               "relay", "status", "reason")
    assert got == [
        ("delivery", starts[0], 0, "joined", "exim", "1tUbN1-00000000Z21-6BcD",
         "nina@example.org", "mx.example.org", "sent", "250 2.0.0 OK: queued as 4YQ9aB1cDeZ"),
        ("connect", starts[1], 1, None, "postfix", None, None, None, None, None),
    ]
    s = run.stats[0]
    assert s.joined_lines == 1
    assert s.lines == 3 and s.mail_lines == 3


def test_exim_pieces_of_two_processes_interleaved(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        "Jan  6 08:05:06 mx1 exim[3006]: [1/2] 2025-01-06 08:05:06 [3006] "
        "1tUbN1-00000000Z21-6BcD => nina@example.org R=dnslookup T=remote_smtp "
        'H=mx.example.org [198.51.100.20] C="250 2.0.0 OK: queued',
        "Jan  6 08:05:06 mx1 exim[3007]: [1/2] 2025-01-06 08:05:06 [3007] "
        "1tUbN2-00000000Z22-7CdE => olga@example.org R=dnslookup T=remote_smtp "
        'H=mx.example.org [198.51.100.20] C="250 2.0.0 OK: queued',
        'Jan  6 08:05:06 mx1 exim[3007]: [2/2]  as 5ZZ9aB1cDeZ"',
        'Jan  6 08:05:06 mx1 exim[3006]: [2/2]  as 4YQ9aB1cDeZ"',
    ])
    assert rows(events, "recipient", "reason", "line_note") == [
        ("nina@example.org", "250 2.0.0 OK: queued as 4YQ9aB1cDeZ", "joined"),
        ("olga@example.org", "250 2.0.0 OK: queued as 5ZZ9aB1cDeZ", "joined"),
    ]
    assert run.stats[0].joined_lines == 2


@pytest.mark.parametrize("block_size", [200, 300])
def test_exim_pieces_across_blocks(tmp_path: Path, block_size: int) -> None:
    events, run, _ = parse_lines(tmp_path, EXIM_SPLIT, block_size=block_size)
    assert rows(events, "event", "line_note", "reason") == [
        ("delivery", "joined", "250 2.0.0 OK: queued as 4YQ9aB1cDeZ"),
        ("connect", None, None)]
    assert run.stats[0].joined_lines == 1


def test_exim_lone_piece_is_kept_and_marked(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [EXIM_SPLIT[0], EXIM_SPLIT[1]])
    got = rows(events, "event", "line_note", "queue_id", "recipient")
    assert got[0] == ("delivery", "truncated", "1tUbN1-00000000Z21-6BcD", "nina@example.org")
    assert run.stats[0].joined_lines == 0


def _rewrite(lines: list[str]):  # type: ignore[no-untyped-def]
    arr = pa.array(lines, pa.string())
    h, ok = split_header(arr, "bsd")
    program, _ = parse_tags(h.tag)
    return rewrite_block(h, h.messages(limit=32), program, h.tag, ok, QuirkState(),
                         {"program": program})


def test_rewrite_block_joins_exim_pieces() -> None:
    rw = _rewrite([
        "Jan  6 08:05:06 mx1 exim[3006]: [1/3] 2025-01-06 08:05:06 [3006] aaa",
        "Jan  6 08:05:06 mx1 exim[3006]: [2/3] bbb",
        "Jan  6 08:05:06 mx1 exim[3006]: [3/3] ccc",
    ])
    assert rw is not None
    assert rw.rows.tolist() == [0]
    assert rw.text == {0: "2025-01-06 08:05:06 [3006] aaabbbccc"}
    assert rw.joined_lines == 2


def test_rewrite_block_leaves_ordinary_lines_alone() -> None:
    assert _rewrite([
        "Jan  6 08:05:06 mx1 postfix/postscreen[1]: [192.0.2.1]:1234: CONNECT",
        "Jan  6 08:05:06 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL x",
        "Jan  6 08:05:06 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.7]",
    ]) is None


def test_rewrite_block_exim_reads_an_entry_to_its_first_newline() -> None:
    """What follows the newline is the reject log's header lines: never parsed."""
    rw = _rewrite([
        "Jan  6 08:05:06 mx1 exim[3006]: [1/4] first line, cut he",
        "Jan  6 08:05:06 mx1 exim[3006]: [2\\4] re by length",
        "Jan  6 08:05:06 mx1 exim[3006]: [3\\4] Envelope-from: <x@example.org>",
        "Jan  6 08:05:06 mx1 exim[3006]: [4/4]   Subject: H=(x) [192.0.2.9] rejected RCPT",
    ])
    assert rw is not None
    assert rw.text == {0: "first line, cut here by length"}


# --- Sendmail's `QID[n]:` pieces -------------------------------------------------------------

SENDMAIL_SPLIT = [
    "Mar  3 10:00:06 mx1 sm-mta[2012]: 52SA0001002001[1]: to=<ann@example.net>,"
    "<ben@example.net>, ...",
    "Mar  3 10:00:06 mx1 sm-mta[2013]: 52SA0009002013: from=<x@example.org>, size=1, "
    "class=0, nrcpts=1, msgid=<a@example.org>, proto=ESMTP, daemon=MTA, "
    "relay=mail.example.org [192.0.2.10]",
    "Mar  3 10:00:06 mx1 sm-mta[2012]: 52SA0001002001[2]: <cat@example.net>, delay=00:00:02, "
    "xdelay=00:00:01, mailer=esmtp, pri=120412, relay=mx.example.net. [203.0.113.5], "
    "dsn=2.0.0, stat=Sent (OK 1709460006 a1-20020a05)",
]


def test_sendmail_pieces_are_joined(tmp_path: Path) -> None:
    events, run, starts = parse_lines(tmp_path, SENDMAIL_SPLIT)
    deliveries = [r for r in events.to_pylist() if r["event"] == "delivery"]
    assert [(r["recipient"], r["queue_id"], r["status"], r["line_note"], r["offset"])
            for r in deliveries] == [
        ("ann@example.net", "52SA0001002001", "sent", "joined", starts[0]),
        ("ben@example.net", "52SA0001002001", "sent", "joined", starts[0]),
        ("cat@example.net", "52SA0001002001", "sent", "joined", starts[0]),
    ]
    assert {(r["relay"], r["relay_ip"]) for r in deliveries} == {
        ("mx.example.net.", "203.0.113.5")}
    assert [r["event"] for r in events.to_pylist()] == ["delivery"] * 3 + ["received"]
    assert run.stats[0].joined_lines == 1


def test_pieces_split_across_two_cron_runs_are_joined(tmp_path: Path) -> None:
    """A run that ends between a split entry's pieces leaves the entry (and what follows
    it) for the next run, which reads it whole: the rules see three deliveries and a
    message received, once, and no half-entry."""
    from logwatch.config import load_config
    from logwatch.live import run_pass
    from logwatch.state import State

    log = tmp_path / "mail.log"
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\ntimezone = "UTC"\n'
                        f'[[sources]]\npath = "{log}"\nformat = "bsd"\n')
    cfg = load_config(cfg_path)
    log.write_text("\n".join(SENDMAIL_SPLIT[:2]) + "\n")
    state = State(cfg.state_dir)
    try:
        first = run_pass(cfg, state).events
        with open(log, "a") as fh:
            fh.write(SENDMAIL_SPLIT[2] + "\n")
        second = run_pass(cfg, state).events
        third = run_pass(cfg, state).events
    finally:
        state.close()
    assert first == {} and third == {}
    assert second == {"delivery": 3, "received": 1}


def test_sendmail_lone_first_piece_keeps_its_queue_id(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, SENDMAIL_SPLIT[:2])
    got = rows(events, "queue_id", "line_note")
    assert got[0] == ("52SA0001002001", "truncated")


# --- Postfix's 2000-byte limit ---------------------------------------------------------------

def _reject(n: int) -> str:
    head = "NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <a@example.com>: Relay "
    msg = (head + "access denied; from=<" + "s" * 3000 + "@example.net> to=<a@example.com> "
           "proto=ESMTP helo=<x>")
    return msg[:n]


def test_postfix_message_at_the_limit_is_marked_truncated(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        f"Mar  3 10:00:00 mx1 postfix/smtpd[100]: {_reject(2000)}",
        f"Mar  3 10:00:00 mx1 postfix/smtpd[100]: {_reject(1999)}",
        f"Mar  3 10:00:00 mx1 postfix/smtpd[100]: {_reject(2100)}",
        RSYSLOG[0],
    ])
    got = rows(events, "event", "line_note", "reject_class", "client_ip")
    assert got == [
        ("reject", "truncated", "relay_denied", "192.0.2.9"),
        ("reject", None, "relay_denied", "192.0.2.9"),
        ("reject", "truncated", "relay_denied", "192.0.2.9"),
        ("connect", None, None, "192.0.2.7"),
    ]


def test_long_lines_of_other_programs_are_not_marked(tmp_path: Path) -> None:
    events, run, _ = parse_lines(tmp_path, [
        "Mar  3 10:00:00 mx1 sm-mta[1]: 52SA0001002001: from=<" + "x" * 2100 + "@example.org>, "
        "size=1, class=0, nrcpts=1, msgid=<a@example.org>, proto=ESMTP, daemon=MTA, "
        "relay=mail.example.org [192.0.2.10]",
    ])
    assert rows(events, "event", "line_note") == [("received", None)]


def test_state_carries_the_last_row() -> None:
    state = QuirkState()
    arr = pa.array([SYSKLOGD[0], SYSKLOGD[1]], pa.string())
    h, ok = split_header(arr, "bsd")
    program, _ = parse_tags(h.tag)
    assert rewrite_block(h, h.messages(limit=32), program, h.tag, ok, state,
                         {"program": program}) is None
    assert state.last_row == {"program": "postfix/smtpd", "msg": AUTH}
    arr = pa.array([SYSKLOGD[2]], pa.string())
    h, ok = split_header(arr, "bsd")
    program, _ = parse_tags(h.tag)
    rw = rewrite_block(h, h.messages(limit=32), program, h.tag, ok, state,
                       {"program": program})
    assert rw is not None
    assert rw.rows.tolist() == [0, 0]
    assert rw.content.tolist() == [-1, -1]
    assert rw.carried == {"program": "postfix/smtpd", "msg": AUTH}
    assert rw.text == {0: AUTH, 1: AUTH}
    assert np.all(rw.note == quirks.LINE_NOTES.index("repeated"))
