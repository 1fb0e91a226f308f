"""`trace`: what the logs say about one queue id, address, IP or Message-ID, across hand-offs.

Real lines only: the sample day (sample_logs/README.md tells what is planted in it) and the
recordings of Debian's own Postfix, Exim and Sendmail (recordings/README.md). Each traced
line is checked against the bytes of its file at its offset, so a trace can only pass by
finding the lines that are really there.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import logwatch.parallel
from logwatch.errors import UsageError
from logwatch.parse.definitions import ParserSet
from logwatch.pipeline import ParseOptions, default_parsers, plan_sources
from logwatch.trace import Query, Trace, parse_query, trace_files
from tests.conftest import ROOT
from tests.stories import relayed_from

SAMPLES = ROOT / "sample_logs"
POSTFIX = SAMPLES / "postfix/mail.log"
EXIM = SAMPLES / "exim/mainlog"
SENDMAIL = SAMPLES / "sendmail/maillog"
RECORDINGS = ROOT / "recordings"
EXIM_SUITE = ROOT / "tests/data/corpora/exim-testsuite/test/log"     # GPL-2.0+
DAY = {"year": 2026, "tz": "UTC"}


def _trace(parsers: ParserSet, query: str, *paths: Path, kind: str | None = None) -> Trace:
    result = trace_files([str(p) for p in paths], parsers, ParseOptions(**DAY, host="mx1"),
                         parse_query(query, kind))
    assert result.errors == []
    _lines_are_real(result)
    return result


def _lines_are_real(result: Trace) -> None:
    """Every traced row's line is the line of its file at its offset."""
    files: dict[str, bytes] = {}
    for row in result.events.select(["source", "offset", "line"]).to_pylist():
        if row["source"] not in files:
            opener = gzip.open if row["source"].endswith(".gz") else open
            with opener(row["source"], "rb") as f:
                files[row["source"]] = f.read()
        data = files[row["source"]]
        end = data.index(b"\n", row["offset"])
        assert row["line"] == data[row["offset"]:end].decode(), row


def _queue_ids(result: Trace) -> list[str]:
    return result.messages["queue_id"].to_pylist()


def _lines(result: Trace) -> list[str]:
    return result.events["line"].to_pylist()


def _in_time_order(result: Trace) -> bool:
    ts = result.events["ts"].to_pylist()
    return ts == sorted(ts)


def _mlw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwatch", "trace", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


# -- the query ------------------------------------------------------------------------

@pytest.mark.parametrize("text, value, kinds", [
    ("203.0.113.99", "203.0.113.99", ("ip",)),
    ("[203.0.113.99]", "203.0.113.99", ("ip",)),
    ("2001:DB8:7C:0::25", "2001:db8:7c::25", ("ip",)),
    ("IPv6:2001:db8:7c::25", "2001:db8:7c::25", ("ip",)),
    ("::ffff:192.0.2.200", "192.0.2.200", ("ip",)),
    ("bob@example.com", "bob@example.com", ("address", "message-id")),
    ("<no-at-sign.12345>", "no-at-sign.12345", ("message-id",)),
    ("599A71B2F42", "599A71B2F42", ("queue-id",)),                      # Postfix
    ("1vxNYz-000000000uo-0tUu", "1vxNYz-000000000uo-0tUu", ("queue-id",)),  # Exim 4.98
    ("1xXepE-0006SV-2f", "1xXepE-0006SV-2f", ("queue-id",)),            # Exim before
    ("6236P3Mn003794", "6236P3Mn003794", ("queue-id",)),                # Sendmail
    ("@Example.ORG", "example.org", ("domain",)),
    ("198.51.100.7/24", "198.51.100.0/24", ("network",)),
    ("2001:DB8:7C::/48", "2001:db8:7c::/48", ("network",)),
    # a `/` with an `@` is a Message-ID (Gmail's) or an address, not a network
    ("<CAF+ab/cd=EF@mail.gmail.com>", "CAF+ab/cd=EF@mail.gmail.com", ("message-id",)),
    ("a/b@example.com", "a/b@example.com", ("address", "message-id")),
])
def test_the_kind_of_query_is_told_by_its_shape(text: str, value: str,
                                                kinds: tuple[str, ...]) -> None:
    query = parse_query(text)
    assert (query.value, query.kinds) == (value, kinds)


def test_brackets_make_a_message_id_with_the_address_to_fall_back_on() -> None:
    """`<id@host>` is how a header writes a Message-ID; the logs bracket addresses too
    (`from=<alice@example.com>`), so one pasted from there is looked for as an address
    when no line has it as a Message-ID."""
    assert parse_query("<78abb5d8-cd49-20260303114305@example.com>") == Query(
        "78abb5d8-cd49-20260303114305@example.com", ("message-id",), ("address",))
    assert parse_query("<bob@example.com>").instead() == Query("bob@example.com",
                                                               ("address",))


def test_kind_says_which_when_the_shape_cannot() -> None:
    assert parse_query("<bob@example.com>", "address") == Query("bob@example.com",
                                                                ("address",))
    assert parse_query("x@y", "message-id") == Query("x@y", ("message-id",))
    assert parse_query("1234", "queue-id") == Query("1234", ("queue-id",))
    with pytest.raises(UsageError, match="not an IP address"):
        parse_query("599A71B2F42", "ip")
    with pytest.raises(UsageError, match="not an address"):
        parse_query("599A71B2F42", "address")
    with pytest.raises(UsageError, match="--kind"):
        parse_query("what is this?")
    assert parse_query("Bob", "user") == Query("Bob", ("user",))
    assert parse_query("example.org", "domain") == Query("example.org", ("domain",))
    assert parse_query("192.0.2.200", "network") == Query("192.0.2.200/32", ("network",))
    with pytest.raises(UsageError, match="not a network"):
        parse_query("192.0.2.0/33")
    with pytest.raises(UsageError, match="not a domain"):
        parse_query("@bob@example.com")


# -- many at once: a domain, a network, a user ----------------------------------------

_QUEUE_ID_AT = re.compile(r"postfix/[\w/]+\[\d+\]: ([0-9A-F]{8,}): ")


def _postfix_ids(pattern: str) -> set[str]:
    """The queue ids of the sample day's lines that `pattern` finds, by grep's means."""
    return {m[1] for line in POSTFIX.read_text().splitlines()
            if re.search(pattern, line) and (m := _QUEUE_ID_AT.search(line))}


def _linked(result: Trace) -> set[str]:
    """The traced messages that are a parent or child of another traced message."""
    rows = result.messages.to_pylist()
    ids = {r["queue_id"] for r in rows}
    return {r["queue_id"] for r in rows if r["parent"] in ids} | {
        r["parent"] for r in rows if r["parent"] in ids}


@pytest.mark.parametrize("query, pattern", [
    ("@example.org", r"(?:from|to)=<[^>@]*@[Ee][Xx][Aa][Mm][Pp][Ll][Ee]\.[Oo][Rr][Gg]>"),
    ("198.51.100.0/24", r"\[198\.51\.100\.\d+\]"),
    ("2001:db8:7c::/48", r"\[(?:IPv6:)?2001:db8:7c:"),
])
def test_a_domain_or_a_network_traces_every_message_it_touches(
        parsers: ParserSet, query: str, pattern: str) -> None:
    """`@domain` and a network prefix: every message grep finds a line of with the
    domain's addresses or the network's clients and relays, and no other but their
    parents and children and the messages of those clients' sessions (a network's
    client brought them)."""
    result = _trace(parsers, query, POSTFIX)
    found = set(_queue_ids(result))
    grepped = _postfix_ids(pattern)
    assert len(grepped) > 10 and grepped <= found
    if query.startswith("@"):
        assert found - grepped <= _linked(result)


def test_a_sasl_user_is_traced_in_any_case(parsers: ParserSet) -> None:
    """`--kind user`: bob's logins and failures and the mail he sent, as bob or BOB;
    four of the failures are the guesser of 192.0.2.200, whose success is bob's too."""
    result = _trace(parsers, "BOB", POSTFIX, kind="user")
    lines = _lines(result)
    assert sum("client=" in t and "sasl_username=bob" in t for t in lines) == 3
    assert len(_queue_ids(result)) == 3
    assert sum("authentication failed" in t and "sasl_username=bob" in t for t in lines) == 4
    assert _trace(parsers, "bob", POSTFIX, kind="user").events.equals(result.events)


def test_a_bare_word_that_is_no_queue_id_says_what_else_to_ask() -> None:
    r = _mlw("alice", str(SENDMAIL), "--year", "2026")
    assert r.returncode == 1 and "--kind user alice" in r.stderr and "@alice" in r.stderr
    assert "any part of a line as --kind text alice" in r.stderr


# -- what the query hits of a message refused before it was queued ---------------------

def test_a_message_refused_after_data_is_traced_whole_from_its_sender() -> None:
    """Exim's test 0026 refuses x@y's message after DATA for its From: header: the id
    has lines of its own (the rewrite, the header check) and no message. Traced by the
    sender, the whole id comes, as traced by the id (it came as the matching line
    alone)."""
    log = ROOT / "tests/data/corpora/exim-testsuite/test/log/0026"
    parsers = default_parsers()
    by_sender = trace_files([str(log)], parsers, ParseOptions(tz="UTC"), parse_query("x@y"))
    by_id = trace_files([str(log)], parsers, ParseOptions(tz="UTC"),
                        parse_query("10HmaX-000000005vi-0000"))
    refused = [t for t in _lines(by_id) if "10HmaX-000000005vi-0000" in t]
    assert len(refused) == 3 and "rejected after DATA" in refused[-1]
    assert [t for t in _lines(by_sender) if "10HmaX-000000005vi-0000" in t] == refused


# -- inputs that can be read once ------------------------------------------------------

def test_lines_alone_are_the_text_without_its_summaries() -> None:
    """`--format lines`: a busy address's trace opens with a summary per message (156 on
    the sample Exim day for alice) before its lines; for grep and less, the lines alone,
    the same as the text's last lines."""
    text = _mlw("alice@example.com", str(EXIM), "--year", "2026")
    lines = _mlw("alice@example.com", str(EXIM), "--year", "2026", "--format", "lines")
    assert text.returncode == lines.returncode == 0
    shown = lines.stdout.splitlines()
    assert len(shown) > 100 and all(t.startswith(f"{EXIM} (byte ") for t in shown)
    assert text.stdout.splitlines()[-len(shown):] == shown
    assert f"{len(shown)} lines" in text.stdout.splitlines()[0]


def test_stdin_and_a_fifo_are_traced_as_files_are(tmp_path: Path) -> None:
    """exigrep is fed `<(zcat ...)`: a pipe read twice gave nothing, a FIFO hung. They
    are copied first, and named as given."""
    args = ("1vxEJO-000000000Zj-1XTb", "--year", "2026")
    as_file = _mlw(args[0], str(EXIM), *args[1:])
    assert as_file.returncode == 0 and "3 lines" in as_file.stdout
    stdin = subprocess.run([sys.executable, "-m", "logwatch", "trace", args[0], "-", *args[1:]],
                           input=gzip.compress(EXIM.read_bytes()), capture_output=True,
                           cwd=ROOT, timeout=300)
    assert stdin.returncode == 0
    assert stdin.stdout.decode() == as_file.stdout.replace(f"{EXIM} (byte", "- (byte")
    fifo = tmp_path / "mainlog"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(EXIM.read_bytes(),))
    writer.start()
    through = _mlw(args[0], str(fifo), *args[1:])
    writer.join()
    assert through.stdout == as_file.stdout.replace(str(EXIM), str(fifo))


# -- Postfix ---------------------------------------------------------------------------

def test_a_content_filter_hop_gives_both_lifetimes_and_their_smtpd_sessions(
        parsers: ParserSet) -> None:
    """599A71B2F42 came in from mx.lists.example.net, went to amavis and came back as
    E90F31B2F49 (`queued as`): either id gives both messages, the postscreen-passed smtpd
    session it arrived in and the localhost session it came back in."""
    result = _trace(parsers, "599A71B2F42", POSTFIX)
    assert _queue_ids(result) == ["599A71B2F42", "E90F31B2F49"]
    parent, child = result.messages.to_pylist()
    assert child["parent"] == "599A71B2F42" and child["origin"] == "reinjected"
    lines = _lines(result)
    assert any("smtpd[1411]: connect from mx.lists.example.net[198.51.100.40]" in t
               for t in lines)
    assert any("smtpd[1411]: disconnect from mx.lists.example.net" in t for t in lines)
    assert any("smtpd[1456]: connect from localhost[127.0.0.1]" in t for t in lines)
    assert any("queued as E90F31B2F49)" in t for t in lines)
    assert sum("removed" in t for t in lines) == 2
    assert len(lines) == 15 and _in_time_order(result)
    # nothing of the other messages those daemons handled
    assert all("599A71B2F42" in t or "E90F31B2F49" in t or "connect" in t or "TLS" in t
               for t in lines)
    assert _trace(parsers, "E90F31B2F49", POSTFIX).events.equals(result.events)


def test_a_session_of_many_messages_shows_only_the_traced_one(parsers: ParserSet) -> None:
    """One of the 30 messages the volume spike sent in one submission session: its own
    lines and the session's connect, TLS and disconnect, none of the other 29's."""
    result = _trace(parsers, "733861B2FF9", POSTFIX)
    assert _queue_ids(result) == ["733861B2FF9"]
    lines = _lines(result)
    assert len(lines) == 8
    assert "submission/smtpd[2822]: connect from unknown[2001:db8:7c::25]" in lines[0]
    assert "submission/smtpd[2822]: disconnect from unknown[2001:db8:7c::25]" in lines[-1]
    assert all("733861B2FF9" in t for t in lines[2:-1])


def test_a_bounce_brings_its_notice(parsers: ParserSet) -> None:
    """dave's mail to nobody@example.org bounced; the notice 692071B2FA1 went back to him."""
    result = _trace(parsers, "341581B2F9E", POSTFIX)
    assert _queue_ids(result) == ["341581B2F9E", "692071B2FA1"]
    notice = result.messages.to_pylist()[1]
    assert notice["origin"] == "bounce" and notice["sender"] == ""
    assert notice["recipients"] == ["dave@example.com"]
    lines = _lines(result)
    assert any("sender non-delivery notification: 692071B2FA1" in t for t in lines)
    assert any("692071B2FA1: to=<dave@example.com>" in t for t in lines)
    assert any("submission/smtpd[2297]: connect from" in t for t in lines)


def test_a_bounce_in_the_postfix_recording(parsers: ParserSet) -> None:
    """Tracing the notice finds the message that bounced, and alice's submission."""
    result = _trace(parsers, "AC4D01844FB",
                    RECORDINGS / "postfix/run1-syslog/syslog-traditional.log.gz")
    assert _queue_ids(result) == ["A69E71844F8", "AC4D01844FB"]
    assert result.messages["status"].to_pylist() == ["bounced", "sent"]
    lines = _lines(result)
    assert any("status=bounced" in t and "nosuchuser@example.net" in t for t in lines)
    assert any("sasl_username=alice" in t for t in lines)


def test_an_address_across_rotated_files(parsers: ParserSet) -> None:
    """bob's deferred mail to ops@slow.example.net starts in mail.log.1 and ends in
    mail.log: one message, its lines from both files in time order; the address is
    matched in any case."""
    rotated = SAMPLES / "postfix/rotated"
    files = [rotated / "mail.log.2.gz", rotated / "mail.log.1", rotated / "mail.log"]
    result = _trace(parsers, "ops@SLOW.Example.NET", *files)
    (message,) = result.messages.to_pylist()
    assert message["deferred"] == 2 and message["delivered"] == 1
    sources = result.events["source"].to_pylist()
    assert sources[0].endswith("mail.log.1") and sources[-1].endswith("rotated/mail.log")
    assert sum("status=deferred" in t for t in _lines(result)) == 2
    assert _in_time_order(result)
    assert _trace(parsers, "OPS@slow.example.net", *files).messages.num_rows == 1


def test_an_address_that_was_only_refused(parsers: ParserSet) -> None:
    """The relay probe's sender never got a message in: its refusals, with the connect and
    disconnect of the three sessions around them."""
    result = _trace(parsers, "probe@relaycheck.test", POSTFIX)
    assert result.messages.num_rows == 0
    lines = _lines(result)
    assert sum("Relay access denied" in t for t in lines) == 12
    assert sum("smtpd[1504]: connect from unknown[203.0.113.99]" in t for t in lines) == 3
    assert sum("disconnect from unknown[203.0.113.99]" in t for t in lines) == 3


def test_an_ip(parsers: ParserSet) -> None:
    """The relay prober (no message, postscreen and smtpd lines) and alice's stolen
    password used from IPv6, written another way (150 messages, all hers)."""
    probe = _trace(parsers, "203.0.113.99", POSTFIX)
    assert probe.messages.num_rows == 0
    assert sum("postscreen" in t for t in _lines(probe)) == 6
    spike = _trace(parsers, "2001:DB8:7C:0::25", POSTFIX)
    assert spike.messages.num_rows == 150
    assert set(spike.messages["sasl_username"].to_pylist()) == {"alice"}
    assert set(spike.messages["client_ip"].to_pylist()) == {"2001:db8:7c::25"}
    assert _in_time_order(spike)


def test_a_message_id_with_or_without_brackets(parsers: ParserSet) -> None:
    """Both lifetimes of the filtered message carry the header's Message-ID."""
    with_brackets = _trace(parsers, "<20260303011233.876602@lists.example.net>", POSTFIX)
    assert _queue_ids(with_brackets) == ["599A71B2F42", "E90F31B2F49"]
    bare = _trace(parsers, "20260303011233.876602@lists.example.net", POSTFIX,
                  kind="message-id")
    assert bare.events.equals(with_brackets.events)


#: A local message whose Message-ID is spelt as the relayed message's sender.
_SAME_SPELLING = (
    "Mar  3 10:05:00 mx1 postfix/pickup[20]: 9F8E7D6C5B: uid=1000 from=<bob>\n"
    "Mar  3 10:05:00 mx1 postfix/cleanup[21]: 9F8E7D6C5B: message-id=<ceo@evil.example>\n"
    "Mar  3 10:05:00 mx1 postfix/qmgr[11]: 9F8E7D6C5B: from=<bob@example.com>, size=300, "
    "nrcpt=1 (queue active)\n"
    "Mar  3 10:05:01 mx1 postfix/local[22]: 9F8E7D6C5B: to=<bob@example.com>, relay=local, "
    "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)\n"
    "Mar  3 10:05:01 mx1 postfix/qmgr[11]: 9F8E7D6C5B: removed\n")


def test_a_bracketed_query_is_the_message_id_when_a_line_has_it(parsers: ParserSet,
                                                                 tmp_path: Path) -> None:
    """`<ceo@evil.example>` is the local message's Message-ID, not the relayed message's
    sender of the same spelling; bare, it is both; --kind says which."""
    log = tmp_path / "mail.log"
    log.write_text(relayed_from("ceo@evil.example") + _SAME_SPELLING, encoding="utf-8")
    by_id = _trace(parsers, "<ceo@evil.example>", log)
    assert _queue_ids(by_id) == ["9F8E7D6C5B"] and by_id.asked is None
    assert _queue_ids(_trace(parsers, "ceo@evil.example", log)) == ["1A2B3C4D5E",
                                                                   "9F8E7D6C5B"]
    assert _queue_ids(_trace(parsers, "<ceo@evil.example>", log, kind="address")) == [
        "1A2B3C4D5E"]


def test_an_address_pasted_with_its_brackets_is_traced_as_the_address(
        parsers: ParserSet) -> None:
    """No line has `<bob@example.com>` as a Message-ID: it is bob's mail, as bare, and
    the trace says it fell back (in its heading, and on stderr)."""
    pasted = _trace(parsers, "<bob@example.com>", POSTFIX)
    assert pasted.query == Query("bob@example.com", ("address",))
    assert pasted.asked == parse_query("<bob@example.com>")
    bare = _trace(parsers, "bob@example.com", POSTFIX, kind="address")
    assert _queue_ids(pasted) == _queue_ids(bare) and len(_queue_ids(bare)) == 6
    assert pasted.events.equals(bare.events)
    r = _mlw("<bob@example.com>", str(POSTFIX), "--year", "2026", "-j", "1")
    assert r.returncode == 0
    assert r.stdout.startswith("trace bob@example.com (address; no message id matched): "
                               "6 messages, ")
    assert "no line has the Message-ID <bob@example.com>; traced as the address" in r.stderr
    by_id = _mlw("<bob@example.com>", str(POSTFIX), "--year", "2026", "-j", "1",
                 "--kind", "message-id")
    assert by_id.returncode == 1 and by_id.stderr == ""


# -- Exim ------------------------------------------------------------------------------

def test_exim_bounce_named_on_the_child_line(parsers: ParserSet) -> None:
    """Exim names the parent on the notice's own line (`<= <> R=...`)."""
    result = _trace(parsers, "1vxNYz-000000000vk-3fFx", EXIM)
    assert _queue_ids(result) == ["1vxNYz-000000000uo-0tUu", "1vxNYz-000000000vk-3fFx"]
    lines = _lines(result)
    assert any("<= dave@example.com" in t for t in lines)
    assert any("** nobody@example.org" in t for t in lines)
    assert sum(t.endswith("Completed") for t in lines) == 2


def test_exim_recording_and_its_reject_log(parsers: ParserSet) -> None:
    """The relay prober of the recording, with the reject log beside the main log: each
    refusal once, though Exim wrote it to both."""
    run = RECORDINGS / "exim/run1-default"
    result = _trace(parsers, "127.0.0.51", run / "mainlog.gz", run / "rejectlog.gz")
    assert result.messages.num_rows == 0
    assert sum("relay not permitted" in t for t in _lines(result)) == 10
    bounce = _trace(parsers, "nosuchuser@example.net", run / "mainlog.gz")
    assert bounce.messages["origin"].to_pylist() == ["smtp", "bounce"]


def test_exim_with_pids_shows_the_daemons_line_that_opened_the_session(
        parsers: ParserSet) -> None:
    """With `[pid]` Exim's daemon logs `SMTP connection from [ip]` under its own pid and
    the process it forks logs the session: each message's trace shows the daemon's line
    of its client last before its arrival (exigrep shows none: the daemon's line has
    no message id)."""
    path = RECORDINGS / "exim/run2-pid-millisec/mainlog.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    arrivals = [(n, ln) for n, ln in enumerate(lines) if " <= " in ln and " H=" in ln][::40]
    assert len(arrivals) >= 5
    for n, arrival in arrivals:
        queue_id, client = re.search(r"\] (\S+) <= .* \[([\d.]+)\]", arrival).groups()
        opened = next(ln for ln in reversed(lines[:n])
                      if f"SMTP connection from [{client}] (TCP/IP" in ln)
        traced = [t for t in _lines(_trace(parsers, queue_id, path))
                  if "(TCP/IP connection count" in t]
        assert traced == [opened], queue_id


def test_exim_hand_offs_to_its_own_exim_over_loopback(parsers: ParserSet) -> None:
    """Exim's test 0607 delivers 10HmaX over ::1 and 10HmaY over 127.0.0.1 to a second
    Exim, which answers `250 OK id=<its id>` (`C="..."`): either id of each pair gives
    both messages, the child re-injected from the parent, as Postfix's `queued as`."""
    log = EXIM_SUITE / "0607"
    for parent, child in (("10HmaX-000000005vi-0000", "10HmaZ-000000005vi-0000"),
                          ("10HmaY-000000005vi-0000", "10HmbA-000000005vi-0000")):
        result = _trace(parsers, parent, log)
        msgs = {m["queue_id"]: m for m in result.messages.to_pylist()}
        assert sorted(msgs) == [parent, child]
        assert (msgs[child]["parent"], msgs[child]["origin"]) == (parent, "reinjected")
        assert msgs[parent]["parent"] is None and msgs[parent]["origin"] == "local"
        assert any(f'C="250 OK id={child}"' in t for t in _lines(result))
        assert any(f"{child} <= CALLER@the.local.host.name H=" in t for t in _lines(result))
        assert _trace(parsers, child, log).events.equals(result.events)


#: Exim's test 2020 (GPL-2.0+), its client's and server's lines in the order they were
#: written: 10HmaX goes to the Exim on 127.0.0.1 over TLS as 10HmaY, and that one back
#: to it again as 10HmaZ.
EXIM_TWICE = """\
1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= CALLER@thishost.test.ex U=CALLER P=local S=sss
1999-03-02 09:44:33 10HmaY-000000005vi-0000 <= CALLER@thishost.test.ex H=localhost (thishost.test.ex) [127.0.0.1] P=esmtps X=TLS1.x:ke-RSA-AES256-SHAnnn:xxx S=sss id=E10HmaX-000000005vi-0000@thishost.test.ex
1999-03-02 09:44:33 10HmaX-000000005vi-0000 => userx@thishost.test.ex R=abc T=t1 H=thishost.test.ex [127.0.0.1] X=TLS1.x:ke-RSA-AES256-SHAnnn:xxx CV=no DN="C=UK,O=Exim Developers,CN=thishost.test.ex" C="250 OK id=10HmaY-000000005vi-0000"
1999-03-02 09:44:33 10HmaX-000000005vi-0000 Completed
1999-03-02 09:44:34 10HmaZ-000000005vi-0000 <= CALLER@thishost.test.ex H=localhost (thishost.test.ex) [127.0.0.1] P=esmtps X=TLS1.x:ke-RSA-AES256-SHAnnn:xxx S=sss id=E10HmaX-000000005vi-0000@thishost.test.ex
1999-03-02 09:44:34 10HmaY-000000005vi-0000 => userx@thishost.test.ex R=abc T=t1 H=thishost.test.ex [127.0.0.1] X=TLS1.x:ke-RSA-AES256-SHAnnn:xxx CV=no DN="C=UK,O=Exim Developers,CN=thishost.test.ex" C="250 OK id=10HmaZ-000000005vi-0000"
1999-03-02 09:44:34 10HmaY-000000005vi-0000 Completed
"""


def test_exim_hand_offs_are_followed_through_a_chain(tmp_path: Path,
                                                     parsers: ParserSet) -> None:
    """From any of the three, up to the first and down to the last."""
    log = tmp_path / "mainlog"
    log.write_text(EXIM_TWICE)
    ids = ["10HmaX-000000005vi-0000", "10HmaY-000000005vi-0000", "10HmaZ-000000005vi-0000"]
    for query in ids:
        result = _trace(parsers, query, log)
        msgs = {m["queue_id"]: m for m in result.messages.to_pylist()}
        assert sorted(msgs) == ids and len(_lines(result)) == 7
        assert [msgs[i]["parent"] for i in ids] == [None, *ids[:2]]
        assert [msgs[i]["origin"] for i in ids] == ["local", "reinjected", "reinjected"]


#: A message that came in from 127.0.0.1 (test 0230's 10HmbC, GPL-2.0+), and deliveries
#: of other messages whose lines name its id without being hand-offs to it: a remote
#: server's reply; a local part that forges a loopback hop and its reply (printed
#: unquoted, then quoted), the mail going to the attacker's MX; a sender address
#: (+sender_on_delivery) carrying the reply the loopback next hop did not give.
EXIM_NAMED_ELSEWHERE = """\
1999-03-02 09:44:33 10HmbC-000000005vi-0000 <= x@y.x H=localhost (myhost.test.ex) [127.0.0.1]:10006 I=[127.0.0.1]:PORT_D Ci=p1243 P=esmtp S=sss
1999-03-02 09:44:33 10HmbD-000000005vi-0000 <= x@y.x H=(test) [203.0.113.66]:10002 P=smtp S=sss
1999-03-02 09:44:33 10HmbD-000000005vi-0000 => x@test.example R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.20] C="250 OK id=10HmbC-000000005vi-0000"
1999-03-02 09:44:33 10HmbE-000000005vi-0000 <= x@y.x H=(test) [203.0.113.66]:10003 P=smtp S=sss
1999-03-02 09:44:33 10HmbE-000000005vi-0000 => x R=r T=t H=h [127.0.0.1] C="250 OK id=10HmbC-000000005vi-0000"@victim.example <"x R=r T=t H=h [127.0.0.1] C=\\"250 OK id=10HmbC-000000005vi-0000\\""@victim.example> R=dnslookup T=remote_smtp H=mx.victim.example [198.51.100.21] C="250 OK"
1999-03-02 09:44:33 10HmbF-000000005vi-0000 <= "a\\" C=\\"250 OK id=10HmbC-000000005vi-0000"@evil.example H=(test) [203.0.113.66]:10004 P=smtp S=sss
1999-03-02 09:44:33 10HmbF-000000005vi-0000 => x@test.ex F=<"a\\" C=\\"250 OK id=10HmbC-000000005vi-0000"@evil.example> R=to_server T=remote H=127.0.0.1 [127.0.0.1] C="250 OK"
"""


def test_an_exim_id_named_where_no_hand_off_is_links_nothing(tmp_path: Path,
                                                             parsers: ParserSet) -> None:
    """The id in a remote server's reply is that server's, and text a sender wrote is
    the sender's: the message from 127.0.0.1 stays a message of its own."""
    log = tmp_path / "mainlog"
    log.write_text(EXIM_NAMED_ELSEWHERE)
    child = _trace(parsers, "10HmbC-000000005vi-0000", log)
    assert _queue_ids(child) == ["10HmbC-000000005vi-0000"]
    assert child.messages["origin"].to_pylist() == ["smtp"]
    assert child.messages["client_ip"].to_pylist() == ["127.0.0.1"]
    for parent in ("10HmbD-000000005vi-0000", "10HmbE-000000005vi-0000",
                   "10HmbF-000000005vi-0000"):
        result = _trace(parsers, parent, log)
        assert _queue_ids(result) == [parent]
        assert set(result.events["event"].to_pylist()) == {"received", "delivery"}


# -- Sendmail --------------------------------------------------------------------------

def test_sendmail_submission_queue_to_the_mta(parsers: ParserSet) -> None:
    """Cron's mail: `sendmail` (the MSP) hands it to sm-mta over SMTP (`Sent (<id>
    Message accepted for delivery)`); the MTA's STARTTLS line has no queue id but is in
    the session the message arrived in."""
    result = _trace(parsers, "6ATDEMRo019169",
                    RECORDINGS / "sendmail/run1-syslog/syslog-traditional.log.gz")
    assert _queue_ids(result) == ["6ATDEMRo019169", "6ATDEMGo019170"]
    assert result.messages["origin"].to_pylist() == ["local", "reinjected"]
    lines = _lines(result)
    assert any("sm-mta[19170]: STARTTLS=server, relay=localhost" in t for t in lines)
    assert any("6ATDEMGo019170 Message accepted for delivery" in t for t in lines)


def test_sendmail_sessions_of_an_ip(parsers: ParserSet) -> None:
    """192.0.2.200: two sessions of failures (their lines carry the session's queue id),
    then the login as bob and the mail he sent; the delivering process's STARTTLS=client
    line comes with it."""
    result = _trace(parsers, "192.0.2.200", SENDMAIL)
    assert _queue_ids(result) == ["623Bh5fm004325"]
    lines = _lines(result)
    assert sum("AUTH failure" in t for t in lines) == 4
    assert any("AUTH=server, relay=[192.0.2.200], authid=bob" in t for t in lines)
    assert any("sm-mta[4329]: STARTTLS=client, relay=mx.example.net." in t for t in lines)
    assert any("623Bh5fm004325: to=<invoice@example.net>" in t for t in lines)


# -- the command -----------------------------------------------------------------------

def test_the_command_prints_messages_then_lines(parsers: ParserSet) -> None:
    r = _mlw("599A71B2F42", str(POSTFIX.relative_to(ROOT)), "--year", "2026", "-j", "1")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "trace 599A71B2F42 (queue id): 2 messages, 15 lines"
    assert "message 599A71B2F42  mx1/postfix  2026-03-03T01:12:34Z .. " \
           "2026-03-03T01:12:36Z" in out
    assert "  children   E90F31B2F49" in out and "  parent     599A71B2F42" in out
    assert "  client     mx.lists.example.net[198.51.100.40], TLS" in out
    assert ("sample_logs/postfix/mail.log (byte 458): Mar  3 01:12:33 mx1 "
            "postfix/smtpd[1411]: connect from mx.lists.example.net[198.51.100.40]") in out


def test_jsonl_gives_messages_then_event_rows_with_their_lines() -> None:
    r = _mlw("1vxNYz-000000000vk-3fFx", str(EXIM), "--format", "jsonl", "-j", "1")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["record"] for x in records] == ["message"] * 2 + ["event"] * 6
    assert records[1]["parent"] == records[0]["queue_id"] == "1vxNYz-000000000uo-0tUu"
    data = EXIM.read_bytes()
    for event in records[2:]:
        line = data[event["offset"]:data.index(b"\n", event["offset"])].decode()
        assert event["line"] == line and event["source"] == str(EXIM)


def test_nothing_found_exits_1_and_bad_input_2(tmp_path: Path) -> None:
    nothing = _mlw("nobody@nowhere.test", str(SENDMAIL), "--year", "2026", "-j", "1")
    assert nothing.returncode == 1 and nothing.stderr == ""
    assert nothing.stdout.startswith("trace nobody@nowhere.test (address or message id): "
                                     "0 messages, 0 lines")
    unknown = _mlw("what is this?", str(SENDMAIL))
    assert unknown.returncode == 2 and "--kind" in unknown.stderr
    missing = _mlw("192.0.2.200", str(tmp_path / "gone.log"), str(SENDMAIL), "--year", "2026")
    assert missing.returncode == 2 and "gone.log" in missing.stderr
    assert "1 message, 13 lines" in missing.stdout   # the readable file is still traced


def test_a_hostile_sender_is_shown_escaped(tmp_path: Path) -> None:
    """A MAIL FROM carrying an escape sequence: the terminal is shown it, never sent it;
    JSON keeps it as it was logged."""
    sender = "\x1b[2Jceo\u202e@evil.example"
    log = tmp_path / "mail.log"
    log.write_text(relayed_from(sender) + "Mar  3 10:00:03 mx1 postfix/smtpd[10]: "
                   "disconnect from evil[203.0.113.66]\n", encoding="utf-8")
    text = _mlw("203.0.113.66", str(log), "--year", "2026", "-j", "1")
    assert text.returncode == 0, text.stderr
    assert "\x1b" not in text.stdout and "\u202e" not in text.stdout
    assert "  from       <\\x1b[2Jceo\\u202e@evil.example>" in text.stdout
    assert "from=<\\x1b[2Jceo\\u202e@evil.example>, size=100" in text.stdout
    assert "6 lines" in text.stdout.splitlines()[0]
    by_sender = _mlw(sender, str(log), "--year", "2026", "--format", "jsonl", "-j", "1")
    records = [json.loads(line) for line in by_sender.stdout.splitlines()]
    assert records[0]["sender"] == sender
    assert any(sender in r.get("line", "") for r in records)


def test_parts_parsed_in_other_processes_trace_the_same(parsers: ParserSet,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The day cut into windows parsed apart and joined late (messages that span a cut
    come out before the lines of the part they end in): the same trace as one process."""
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 16 << 10)
    options = ParseOptions(tz="UTC", jobs=4)
    plans, _ = plan_sources([str(POSTFIX)], options)
    assert len(logwatch.parallel.plan_units(plans, options)) > 4
    for query in ("599A71B2F42", "2001:db8:7c::25", "ops@slow.example.net"):
        one, four = (trace_files([str(POSTFIX)], parsers, ParseOptions(tz="UTC", jobs=jobs),
                                 parse_query(query)) for jobs in (1, 4))
        assert one.found and one.errors == four.errors == []
        assert one.messages.to_pylist() == four.messages.to_pylist()
        assert one.events.to_pylist() == four.events.to_pylist()


def test_a_long_line_is_traced_whole(tmp_path: Path, parsers: ParserSet) -> None:
    """Alert evidence cuts lines at 2,000 bytes; a forensic trace gives every byte."""
    sender = "x" * 3000 + "@evil.example"
    log = tmp_path / "mail.log"
    log.write_text(relayed_from(sender))
    result = _trace(parsers, "203.0.113.66", log)     # _lines_are_real: byte for byte
    assert any(len(line) > 3000 for line in _lines(result))


FROZEN = """\
2026-03-10 10:20:00 +0100 1tLB00-000Mno-9U <= spammer@bogus.example H=mail.bogus.example [203.0.113.66] P=esmtp S=900 id=x@bogus.example
2026-03-10 10:20:01 +0100 1tLB00-000Mno-9U ** ghost@example.com: Unrouteable address
2026-03-10 10:20:01 +0100 1tLB01-000Pqr-0V <= <> R=1tLB00-000Mno-9U U=Debian-exim P=local S=1800 T="Mail delivery failed: returning message to sender"
2026-03-10 10:20:01 +0100 1tLB00-000Mno-9U Completed QT=1s
2026-03-10 10:20:03 +0100 1tLB01-000Pqr-0V ** spammer@bogus.example R=dnslookup T=remote_smtp H=mail.bogus.example [203.0.113.66]: SMTP error from remote mail server after RCPT TO:<spammer@bogus.example>: 550 No such user
2026-03-10 10:20:03 +0100 1tLB01-000Pqr-0V Frozen (delivery error message)
2026-03-10 10:35:00 +0100 1tLB01-000Pqr-0V Message is frozen
"""


def test_a_frozen_message_still_in_the_queue_says_so(tmp_path: Path) -> None:
    """exigrep prints `+++ id has not completed +++`; an Exim postmaster missed it: the
    trace said only `bounced` of a bounce frozen in the queue."""
    log = tmp_path / "mainlog"
    log.write_text(FROZEN)
    r = _mlw("1tLB01-000Pqr-0V", str(log), "-j", "1")
    assert r.returncode == 0, r.stderr
    status = [ln for ln in r.stdout.splitlines() if ln.startswith("  status")]
    assert status == ["  status     bounced (1 bounced)",
                      "  status     bounced (1 bounced); held; not completed in these lines"]


def test_sendmail_messages_are_not_called_unfinished_nor_their_clients_unknown() -> None:
    """Sendmail logs a message's removal only at LogLevel 10 (Debian's is 9), and a
    client without a name as `relay=[127.0.0.10]`: the trace of a delivered message said
    `not completed` and `unknown[127.0.0.10]`, neither in its lines (a Sendmail
    postmaster's review)."""
    rec = RECORDINGS / "sendmail" / "run1-syslog" / "syslog-traditional.log.gz"
    r = _mlw("6ATDEDfV018899", str(rec), "-j", "1")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "  status     sent (1 delivered)" in out and "  client     [127.0.0.10]" in out


def test_an_address_is_found_in_any_case(tmp_path: Path) -> None:
    """A Postfix postmaster's review: `trace jane.doe@sender.example` found nothing of
    `from=<Jane.Doe@Sender.Example>`, which `grep -i` finds."""
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  3 10:00:02 mx1 postfix/qmgr[500]: 1A2B3C4D5E: from=<Jane.Doe@Sender.Example>, "
        "size=5000, nrcpt=1 (queue active)\n"
        "Mar  3 10:00:03 mx1 postfix/local[501]: 1A2B3C4D5E: to=<Bob@Example.COM>, "
        "relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)\n")
    for query in ("jane.doe@sender.example", "JANE.DOE@SENDER.EXAMPLE", "bob@example.com"):
        r = _mlw(query, str(log), "--year", "2026", "-j", "1")
        assert r.returncode == 0, (query, r.stdout, r.stderr)
        assert "message 1A2B3C4D5E" in r.stdout
