"""`trace --kind regex|text`: exigrep's own mode, a pattern matched against each line as
written; every message with a line that matches comes whole, with what any trace
brings (its bounces and hand-offs, its session, the rest of an id refused before it
was queued).

Real lines: the sample day and Exim's test suite (GPL-2.0+). Each traced line is checked
against its file's bytes (`_trace`). While this was written, exigrep 4.96 was run with
the same patterns on the same files: it found the same messages, less the bounces and
hand-offs of theirs that it does not follow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import logwatch.parallel
from logwatch.errors import UsageError
from logwatch.parse.definitions import ParserSet
from logwatch.pipeline import ParseOptions
from logwatch.trace import Query, parse_query, trace_files
from tests.stories import relayed_from
from tests.test_trace import (EXIM, EXIM_SUITE, POSTFIX, SAMPLES, _lines, _mlw, _queue_ids,
                              _trace)


def _with_id(log: Path, *ids: str) -> list[str]:
    """The lines of `log` that name one of `ids`, in order: what exigrep prints of them."""
    return [t for t in log.read_text().splitlines() if any(i in t for i in ids)]


# -- the query ------------------------------------------------------------------------

def test_a_pattern_is_taken_as_given_and_never_guessed() -> None:
    """Spaces are part of a pattern; a word is read as a queue id unless --kind says it
    is a pattern (most words would be one); case is a pattern's choice alone."""
    assert parse_query(" rejected ", "text") == Query(" rejected ", ("text",))
    assert parse_query("P=<.*@x", "regex", case_sensitive=True) == Query(
        "P=<.*@x", ("regex",), case_sensitive=True)
    assert parse_query("spammer") == Query("spammer", ("queue-id",))
    with pytest.raises(UsageError, match="empty"):
        parse_query("", "regex")
    with pytest.raises(UsageError, match="--case-sensitive is for --kind regex"):
        parse_query("bob@example.com", "address", case_sensitive=True)


def test_a_bad_regex_is_refused_with_what_re2_says() -> None:
    """Before any file is read, naming the pattern; a Perl look-behind, which RE2 has
    not, says what to do instead."""
    with pytest.raises(UsageError, match=r"'a\(b': RE2 cannot read it \(missing \): a\(b\)"):
        parse_query("a(b", "regex")
    r = _mlw("--kind", "regex", "(?<=F=<)probe", str(EXIM))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("mail-logwatch: trace: --kind regex '(?<=F=<)probe': RE2 cannot "
                        "read it (invalid perl operator: (?<=); it has no look-around or "
                        "back-references, and --kind text looks for the text as written\n")
    text = _mlw("--kind", "text", "(?<=F=<)probe", str(EXIM))    # as written: no match
    assert text.returncode == 1 and text.stderr == ""


# -- Exim: what no field holds ---------------------------------------------------------

def test_a_return_path_finds_its_message_whole_with_its_bounce(parsers: ParserSet) -> None:
    """Exim's test 0253 delivers with VERP return paths (`P=<pqr=userx+...@verp...>`,
    +return_path_on_delivery): the message they were made for, every line of it, and
    the bounce of its failed recipient, which exigrep leaves out."""
    log = EXIM_SUITE / "0253"
    ids = ["10HmaZ-000000005vi-0000", "10HmbA-000000005vi-0000"]
    verp = _trace(parsers, r"P=<pqr=\w+\+myhost", log, kind="regex")
    assert _queue_ids(verp) == ids and verp.messages["parent"].to_pylist() == [None, ids[0]]
    assert _lines(verp) == _with_id(log, *ids)
    rewritten = _trace(parsers, "P=<modified@", log, kind="text")
    assert _queue_ids(rewritten) == ["10HmaX-000000005vi-0000"]
    assert _lines(rewritten) == _with_id(log, "10HmaX-000000005vi-0000")


def test_a_piece_of_an_address_in_exim_for_lists(parsers: ParserSet) -> None:
    """Exim's test 0580 logs its recipients on the arrival (`<= ... for a b`,
    +received_recipients). A regex finds the message one was listed for, all its lines;
    a piece of an address, in any case, finds every message of the addresses it is
    part of (usery, usery2 ... usery5) and not the others."""
    log = EXIM_SUITE / "0580"
    listed = _trace(parsers, r" for (\S+ )*usery5@", log, kind="regex")
    assert _queue_ids(listed) == ["10HmbA-000000005vi-0000"]
    assert _lines(listed) == _with_id(log, "10HmbA-000000005vi-0000")
    part = _trace(parsers, "USERY", log, kind="text")
    assert sorted(_queue_ids(part)) == ["10HmaX-000000005vi-0000", "10HmaY-000000005vi-0000",
                                        "10HmaZ-000000005vi-0000", "10HmbA-000000005vi-0000"]


def test_case_is_ignored_unless_asked(parsers: ParserSet) -> None:
    """As exigrep, and its -I: `--case-sensitive` matches case as written."""
    log = EXIM_SUITE / "0253"
    for kind, query in (("text", "P=<MODIFIED@X.Y.Z>"), ("regex", r"P=<MODIFIED@X\.Y\.Z>")):
        assert _queue_ids(_trace(parsers, query, log, kind=kind)) == ["10HmaX-000000005vi-0000"]
    exact = trace_files([str(log)], parsers, ParseOptions(tz="UTC"),
                        parse_query("P=<MODIFIED@", "text", case_sensitive=True))
    assert not exact.found
    r = _mlw("--kind", "text", "-I", "P=<MODIFIED@", str(log))
    assert r.returncode == 1 and r.stderr == ""
    assert r.stdout.startswith("trace P=<MODIFIED@ (text, case-sensitive): 0 messages, 0 lines")
    r = _mlw("--kind", "text", "--case-sensitive", "P=<modified@", str(log), "--format", "lines")
    assert r.returncode == 0 and r.stdout.count("\n") == 3


def test_a_line_of_an_id_refused_before_it_was_queued_brings_its_other_lines(
        parsers: ParserSet) -> None:
    """Exim's test 0026 refuses a message after DATA: the refusal's text finds the id's
    rewrite and header check too, as the trace of the id does."""
    log = EXIM_SUITE / "0026"
    by_text = _trace(parsers, "rejected after DATA", log, kind="text")
    by_id = _trace(parsers, "10HmaX-000000005vi-0000", log)
    assert not by_text.messages.num_rows
    refused = [t for t in _lines(by_text) if "10HmaX-000000005vi-0000" in t]
    assert len(refused) == 3 and refused == [t for t in _lines(by_id)
                                             if "10HmaX-000000005vi-0000" in t]


# -- a refusal's text is the refused client's trace ------------------------------------

@pytest.mark.parametrize("log, text", [(POSTFIX, "relay ACCESS denied"),
                                        (EXIM, "relay not permitted")])
def test_a_reject_text_finds_what_the_refused_sender_does(parsers: ParserSet, log: Path,
                                                          text: str) -> None:
    """The relay probe's refusals, and with Postfix the connect and disconnect of their
    sessions: the very lines its sender's trace gives."""
    by_text = _trace(parsers, text, log, kind="text")
    assert by_text.events.num_rows >= 12 and not by_text.messages.num_rows
    assert by_text.events.equals(_trace(parsers, "probe@relaycheck.test", log).events)
    if log == POSTFIX:
        assert sum("disconnect from unknown[203.0.113.99]" in t for t in _lines(by_text)) == 3


# -- the inputs ------------------------------------------------------------------------

def test_matches_across_rotated_and_compressed_files(parsers: ParserSet) -> None:
    """bob's mail to ops@slow.example.net was deferred in mail.log.1 and delivered in
    mail.log: the deferrals find the one message, with its lines of both files, as in
    the day's one file (each file's lines are matched at their own offsets)."""
    rotated = SAMPLES / "postfix/rotated"
    files = [rotated / "mail.log.2.gz", rotated / "mail.log.1", rotated / "mail.log"]
    pattern = r"to=<ops@slow\.example\.net>.*status=deferred"
    split = _trace(parsers, pattern, *files, kind="regex")
    whole = _trace(parsers, pattern, POSTFIX, kind="regex")
    assert split.messages.num_rows == 1 and split.messages["deferred"].to_pylist() == [2]
    assert {Path(s).name for s in split.events["source"].to_pylist()} == {"mail.log.1",
                                                                         "mail.log"}
    assert _lines(split) == _lines(whole)


def test_parts_parsed_in_other_processes_match_the_same(parsers: ParserSet,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logwatch.parallel, "WINDOW", 16 << 10)
    query = parse_query(r"sasl_username=(alice|bob)\b", "regex")
    one, four = (trace_files([str(POSTFIX)], parsers, ParseOptions(tz="UTC", jobs=jobs), query)
                 for jobs in (1, 4))
    assert one.messages.num_rows > 100 and one.errors == four.errors == []
    assert one.messages.to_pylist() == four.messages.to_pylist()
    assert one.events.to_pylist() == four.events.to_pylist()


def test_a_hostile_pattern_and_its_lines_are_shown_escaped(tmp_path: Path) -> None:
    """What the user typed is echoed, and the lines printed, with control characters
    escaped, as any trace's."""
    log = tmp_path / "mail.log"
    log.write_text(relayed_from("\x1b[2Jceo@evil.example"), encoding="utf-8")
    r = _mlw("--kind", "text", "\x1b[2JCEO", str(log), "--year", "2026", "-j", "1")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout
    assert r.stdout.startswith("trace \\x1b[2JCEO (text): 1 message, ")
