"""Parser definition files (`parse.definitions`): broken files are refused with the file,
line and field named; the built-in ones load."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from logwatch.errors import ConfigError, DefinitionError
from logwatch.parse.definitions import (EXTRACTABLE, ParserSet, load_parser_file,
                                        load_parsers)
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.resources import data_dir
from logwatch.schema import EVENTS

# Line numbers matter: tests below name them.
BASE = """\
# a small parser for a made-up MTA
[vars]
CLIENT = '(?P<client_name>[^\\[\\s]*)\\[(?P<client_ip>[^\\]]*)\\]'

[mta]
name = "testmta"
programs = ["testmta", "testmta-*"]

[queue_id]
regex = '^[0-9A-F]{5,12}$'

[status]
sent = "sent"

[[classify]]
reject_class = "relay_denied"
contains = ["Relay access denied"]

[[pattern]]
id = "connect"
event = "connect"
starts = "connect from "
regex = '^connect from %{CLIENT}'

[[pattern]]
id = "disconnect"
event = "disconnect"
regex = '^disconnect from %{CLIENT}'
"""
LINES = BASE.splitlines()
L_MTA = LINES.index("[mta]") + 1                      # 5
L_STATUS = LINES.index("[status]") + 1                # 12
L_CLASSIFY = LINES.index("[[classify]]") + 1          # 15
L_CONNECT = LINES.index('id = "connect"') + 1         # 20
L_DISCONNECT = LINES.index('id = "disconnect"') + 1   # 26
L_DISC_REGEX = LINES.index("regex = '^disconnect from %{CLIENT}'") + 1  # 28


def write(tmp_path: Path, text: str, name: str = "testmta.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(DefinitionError) as info:
        load_parser_file(path)
    assert isinstance(info.value, ConfigError)
    return str(info.value)


def fields_named(msg: str) -> list[str]:
    return re.findall(r"field (\S+?):", msg)


def lines_named(msg: str) -> list[int]:
    return [int(n) for n in re.findall(r"line (\d+)", msg)]


def test_base_file_is_valid(tmp_path: Path) -> None:
    pf = load_parser_file(write(tmp_path, BASE))
    assert pf.mta.name == "testmta"
    assert [p.id for p in pf.pattern] == ["connect", "disconnect"]
    # %{CLIENT} was expanded
    assert "(?P<client_ip>" in pf.pattern[0].regex
    assert pf.pattern[0].groups == ("client_name", "client_ip")
    assert pf.mta.owns("testmta") and pf.mta.owns("testmta-out/smtpd")
    assert not pf.mta.owns("postfix/smtpd")
    assert (L_MTA, L_STATUS, L_CLASSIFY, L_CONNECT, L_DISCONNECT, L_DISC_REGEX) == (
        5, 12, 15, 20, 26, 28)


# --- each kind of mistake: the file, the field and the line are named -----------------------

CASES = {
    # name: (text, field named, lines that are acceptable answers, words the message has)
    "top_level_key": ('colour = "red"\n' + BASE, "colour", {1}, ["Extra inputs"]),
    "key_in_pattern": (BASE.replace('starts = "connect from "',
                                    'starts = "connect from "\nflavour = "x"'),
                       "flavour", {L_CONNECT - 1, L_CONNECT, L_CONNECT + 3}, ["Extra inputs"]),
    "key_in_mta": (BASE.replace('programs = ["testmta", "testmta-*"]',
                                'programs = ["testmta", "testmta-*"]\nflavor = 2'),
                   "mta.flavor", {L_MTA, L_MTA + 3}, ["Extra inputs"]),
    "lookahead": (BASE.replace("regex = '^disconnect from %{CLIENT}'",
                               "regex = '^disconnect(?=x) from'"),
                  "regex", {L_DISCONNECT - 1, L_DISCONNECT, L_DISC_REGEX},
                  ["RE2", "(?="]),
    "backreference": (BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                   r"regex = '^disconnect from (\w+) \1'"),
                      "regex", {L_DISCONNECT - 1, L_DISCONNECT, L_DISC_REGEX}, ["RE2"]),
    "group_not_a_field": (BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                       "regex = '^disconnect from (?P<colour>\\w+)'"),
                          "regex", {L_DISCONNECT - 1, L_DISCONNECT, L_DISC_REGEX},
                          ["colour", "not event fields"]),
    "reserved_group": (BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                    "regex = '^disconnect from (?P<event>\\w+)'"),
                       "regex", {L_DISCONNECT - 1, L_DISCONNECT, L_DISC_REGEX},
                       ["event", "not event fields"]),
    "unknown_event": (BASE.replace('event = "disconnect"', 'event = "hangup"'),
                      "event", {L_DISCONNECT - 1, L_DISCONNECT, L_DISCONNECT + 1},
                      ["hangup", "unknown event"]),
    "unknown_reject_class": (BASE.replace('reject_class = "relay_denied"',
                                          'reject_class = "naughty"'),
                             "classify.0.reject_class", {L_CLASSIFY, L_CLASSIFY + 1},
                             ["naughty", "unknown reject class"]),
    "unknown_status": (BASE.replace('sent = "sent"', 'sent = "yay"'),
                       "status", {L_STATUS, L_STATUS + 1}, ["yay"]),
    "set_status": (BASE.replace('event = "disconnect"',
                                'event = "disconnect"\nset = { status = "great" }'),
                   "set", {L_DISCONNECT - 1, L_DISCONNECT, L_DISCONNECT + 2}, ["great"]),
    "unknown_converter": (BASE.replace('event = "disconnect"',
                                       'event = "disconnect"\nconvert = { delay = "frob" }'),
                          "convert", {L_DISCONNECT - 1, L_DISCONNECT, L_DISCONNECT + 2},
                          ["frob"]),
    "bad_queue_id_regex": (BASE.replace("regex = '^[0-9A-F]{5,12}$'",
                                        "regex = '^(?<=x)[0-9A-F]{5,12}$'"),
                           "queue_id.regex", {L_MTA + 4, L_MTA + 5}, ["RE2"]),
    "wrong_type": (BASE.replace('programs = ["testmta", "testmta-*"]',
                                'programs = "testmta"'),
                   "mta.programs", {L_MTA, L_MTA + 2}, ["list"]),
    "missing_regex": (BASE.replace("regex = '^disconnect from %{CLIENT}'\n", ""),
                      "regex", {L_DISCONNECT - 1, L_DISCONNECT}, ["required"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_file_and_field(tmp_path: Path, case: str) -> None:
    text, field, _, words = CASES[case]
    path = write(tmp_path, text)
    msg = error_of(path)
    assert msg.startswith(str(path)), msg
    assert field in fields_named(msg), msg
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_the_line(tmp_path: Path, case: str) -> None:
    text, _, lines, _ = CASES[case]
    msg = error_of(write(tmp_path, text))
    named = lines_named(msg)
    assert named and set(named) <= lines, msg


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('name = "testmta"', 'name = "testmta'))
    msg = error_of(path)
    assert msg.startswith(str(path))
    assert "not valid TOML" in msg
    assert f"line {L_MTA + 1}" in msg


def test_duplicate_table_is_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + '\n[mta]\nname = "again"\n')
    msg = error_of(path)
    assert "not valid TOML" in msg and str(path) in msg


def test_unreadable_file_is_a_definition_error(tmp_path: Path) -> None:
    msg = error_of(tmp_path / "missing.toml")
    assert str(tmp_path / "missing.toml") in msg and "cannot read" in msg


def test_not_utf8_is_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.replace("made-up", "caf\xe9").encode("latin-1"))
    with pytest.raises(DefinitionError, match=re.escape(str(path))):
        load_parser_file(path)


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    text = BASE.replace('event = "disconnect"', 'event = "hangup"').replace(
        'event = "connect"', 'event = "hello"')
    msg = error_of(write(tmp_path, text))
    assert "'hello'" in msg and "'hangup'" in msg
    assert "pattern 'connect'" in msg and "pattern 'disconnect'" in msg
    assert len(msg.splitlines()) == 2


def test_duplicate_pattern_id_names_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('id = "disconnect"', 'id = "connect"'))
    msg = error_of(path)
    assert "'connect'" in msg and "twice" in msg
    assert "id" in fields_named(msg), msg
    assert lines_named(msg) == [L_DISCONNECT], msg


def test_duplicate_pattern_id_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('id = "disconnect"', 'id = "connect"'))
    msg = error_of(path)
    assert msg.startswith(str(path))
    assert "pattern id 'connect' is used twice" in msg


def test_undefined_variable_names_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                        "regex = '^disconnect from %{PEER}'"))
    msg = error_of(path)
    assert "regex" in fields_named(msg), msg
    assert set(lines_named(msg)) <= {L_DISCONNECT, L_DISC_REGEX} and lines_named(msg), msg


def test_undefined_variable_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                        "regex = '^disconnect from %{PEER}'"))
    msg = error_of(path)
    assert msg.startswith(str(path))
    assert "pattern 'disconnect'" in msg
    assert "unknown variable %{PEER}" in msg and "defined: CLIENT" in msg


def test_nested_variables_expand(tmp_path: Path) -> None:
    text = BASE.replace("[vars]\n", "[vars]\nIP = '[0-9.]+'\nPEER = '(?P<relay_ip>%{IP})'\n")
    text = text.replace("regex = '^disconnect from %{CLIENT}'",
                        "regex = '^disconnect from %{CLIENT} via %{PEER}'")
    pf = load_parser_file(write(tmp_path, text))
    assert "(?P<relay_ip>[0-9.]+)" in pf.pattern[1].regex


def test_the_queue_id_shape_is_a_variable_too(tmp_path: Path) -> None:
    """Written once, for the id a line starts with and the ids a line names."""
    text = BASE.replace("[vars]\n", "[vars]\nQID = '[0-9A-F]{5,12}'\n")
    text = text.replace("regex = '^[0-9A-F]{5,12}$'", "regex = '^%{QID}$'")
    text = text.replace("regex = '^disconnect from %{CLIENT}'",
                        "regex = '^disconnect from %{CLIENT} for (?P<child_queue_id>%{QID})'")
    pf = load_parser_file(write(tmp_path, text))
    assert pf.queue_id is not None and pf.queue_id.regex == "^[0-9A-F]{5,12}$"
    assert pf.pattern[1].regex.endswith("(?P<child_queue_id>[0-9A-F]{5,12})")
    msg = error_of(write(tmp_path, BASE.replace("regex = '^[0-9A-F]{5,12}$'",
                                                "regex = '^%{QUEUEID}$'")))
    assert "queue_id" in msg and "unknown variable %{QUEUEID}" in msg
    assert lines_named(msg) == [LINES.index("[queue_id]") + 1]


def test_split_must_be_a_group(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('event = "disconnect"',
                                        'event = "disconnect"\nsplit = "recipient"'))
    msg = error_of(path)
    assert "split field 'recipient'" in msg and "pattern 'disconnect'" in msg



@pytest.mark.parametrize("tail, said", [
    ("' port (?P<client_port>\\d+)$'", None),
    ("' (?P<client_ip>[0-9.]+)$'", "tail: group(s) client_ip are the regex's too"),
    ("' (?P<nonsense>x)$'", "named group(s) nonsense are not event fields"),
    ("'(?!x)'", "RE2"),
    ("' port \\d+$'", "a tail is read for its named groups"),
])
def test_a_tail_adds_fields_of_its_own(tmp_path: Path, tail: str, said: str | None) -> None:
    """A pattern's `tail` is read apart, for fields at the line's end (Dovecot's
    session): its groups are event fields the regex does not already capture."""
    path = write(tmp_path, BASE.replace("regex = '^disconnect from %{CLIENT}'",
                                        f"regex = '^disconnect from %{{CLIENT}}'\ntail = {tail}"))
    if said is None:
        pf = load_parser_file(path)
        assert pf.pattern[1].groups[-1] == "client_port"
    else:
        assert said in error_of(path)


@pytest.mark.parametrize("regex, when, said", [
    ("'^(?:(?P<soft>soft) )?disconnect from %{CLIENT}'", "{ soft = { reject_code = 451 } }",
     None),
    ("'^disconnect from %{CLIENT}'", "{ soft = { reject_code = 451 } }",
     "when: 'soft' must be a group of the regex"),
    ("'^(?:(?P<reason>soft) )?disconnect from %{CLIENT}'", "{ reason = { reject_code = 451 } }",
     "when: 'reason' must be a group of the regex that is not an event field"),
    ("'^(?:(?P<soft>soft) )?disconnect from %{CLIENT}'", "{ soft = { colour = 1 } }",
     "cannot set 'colour'"),
    ("'^(?:(?P<soft>soft) )?disconnect from %{CLIENT}'", None,
     "named group(s) soft are not event fields"),
])
def test_a_mark_implies_values_where_its_word_stands(tmp_path: Path, regex: str,
                                                     when: str | None, said: str | None) -> None:
    """`when`: a group of the regex that is no field, and the values its word implies."""
    text = BASE.replace("regex = '^disconnect from %{CLIENT}'", f"regex = {regex}")
    if when:
        text = text.replace('event = "disconnect"', f'event = "disconnect"\nwhen = {when}')
    path = write(tmp_path, text)
    if said is None:
        pattern = load_parser_file(path).pattern[1]
        assert pattern.groups == ("client_name", "client_ip")
    else:
        assert said in error_of(path)


def test_a_mark_fills_only_the_fields_the_line_left_empty(tmp_path: Path) -> None:
    text = BASE.replace(
        "regex = '^disconnect from %{CLIENT}'",
        "regex = '^(?:(?P<soft>soft) )?disconnect from %{CLIENT}(?: (?P<reject_code>\\d+))?'"
    ).replace('event = "disconnect"',
              'event = "disconnect"\nwhen = { soft = { reject_code = 451 } }')
    (tmp_path / "p").mkdir()
    write(tmp_path / "p", text)
    log = tmp_path / "mail.log"
    log.write_text("".join(f"Jan  6 08:00:0{i} mx1 testmta[1]: {m}\n" for i, m in enumerate((
        "soft disconnect from a[192.0.2.1]", "soft disconnect from a[192.0.2.1] 421",
        "disconnect from a[192.0.2.1]"))))
    run = ParseRun([str(log)], load_parsers([tmp_path / "p"]), ParseOptions(year=2025, tz="UTC"))
    events = pa.concat_tables(list(run.events()))
    assert events.column("reject_code").to_pylist() == [451, 421, None]


FILLED = "'^disconnect from %{CLIENT}(?: via (?P<relay>\\S+))?(?: T=(?P<transport>\\S+))?'"


@pytest.mark.parametrize("extra, fill, said", [
    ("", '{ field = "colour", source = "service" }', "cannot fill 'colour': not an event field"),
    ("", '{ field = "event", source = "service" }', "cannot fill 'event': not an event field"),
    ("", '{ field = "transport", source = "colour" }',
     "source 'colour' is neither an event field nor 'service'"),
    ("", '{ field = "relay", source = "relay" }', "'relay' cannot be filled from itself"),
    ("", '{ field = "transport", source = "helo" }',
     "fill 'transport': source 'helo' is not a group of the regex (nor 'service')"),
    ('set = { transport = "x" }', '{ field = "transport", source = "relay" }',
     "fill 'transport': `set` gives it already"),
    ('daemons = ["smtpd"]', '{ field = "transport", source = "relay", daemons = ["pipe"] }',
     "fill 'transport': daemon(s) pipe are not the pattern's"),
])
def test_a_fill_is_refused_with_what_is_wrong(tmp_path: Path, extra: str, fill: str,
                                             said: str) -> None:
    text = BASE.replace("regex = '^disconnect from %{CLIENT}'", f"regex = {FILLED}").replace(
        'event = "disconnect"', f'event = "disconnect"\n{extra}\nfill = [{fill}]')
    msg = error_of(write(tmp_path, text))
    assert said in msg and "pattern 'disconnect'" in msg and fields_named(msg) == ["fill"], msg


def test_a_fill_gives_what_the_line_tells_elsewhere_where_it_captured_nothing(
        tmp_path: Path) -> None:
    """Fills in order, the first that gives a value wins, a capture of the field itself
    wins over all: the pipe daemon's relay, else the service of the program name (the
    component before the daemon where the syslog name has one, else the daemon), none
    for a program name that names no daemon."""
    text = BASE.replace("regex = '^disconnect from %{CLIENT}'", f"regex = {FILLED}").replace(
        'event = "disconnect"', 'event = "disconnect"\nfill = ['
        '{ field = "transport", source = "relay", daemons = ["pipe"] }, '
        '{ field = "transport", source = "service" }]')
    (tmp_path / "p").mkdir()
    write(tmp_path / "p", text)
    lines = [("testmta/relay/smtp", ""), ("testmta/smtp", " via mx.example.net"),
             ("testmta/pipe", " via dovecot"), ("testmta/pipe", ""), ("testmta", ""),
             ("testmta-out/smtp", " T=own")]
    log = tmp_path / "mail.log"
    log.write_text("".join(f"Jan  6 08:00:0{i} mx1 {prog}[1]: disconnect from a[192.0.2.1]"
                           f"{tail}\n" for i, (prog, tail) in enumerate(lines)))
    run = ParseRun([str(log)], load_parsers([tmp_path / "p"]), ParseOptions(year=2025, tz="UTC"))
    events = pa.concat_tables(list(run.events()))
    assert events.column("transport").to_pylist() == [
        "relay", "smtp", "dovecot", "pipe", None, "own"]
    assert events.column("relay").to_pylist() == [
        None, "mx.example.net", "dovecot", None, None, None]


def test_classify_needs_contains_or_regex(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('contains = ["Relay access denied"]\n', ""))
    msg = error_of(path)
    assert "give `contains` or `regex`" in msg and "classify" in msg


def test_bad_strip_regex(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('programs = ["testmta", "testmta-*"]',
                                        'programs = ["testmta"]\nstrip = \'(?!x)\''))
    msg = error_of(path)
    assert "RE2" in msg and "mta.strip" in fields_named(msg)


_PROGRAMS = 'programs = ["testmta", "testmta-*"]'
_SHOWN_ON = _PROGRAMS + '\nsession_tls_shown_on = "X= on a message"'
_MARKED = ('event = "disconnect"', 'event = "disconnect"\nshows_session_tls = true')
_X = ("regex = '^disconnect from %{CLIENT}'",
      "regex = '^disconnect from %{CLIENT}(?: X=(?P<tls_protocol>\\S+))?'")


@pytest.mark.parametrize("text, field, words", [
    (BASE.replace(_PROGRAMS, _PROGRAMS + '\nlogs_session_tls = true\n'
                  'session_tls_shown_on = "X= on a message"'), "mta", ["logs_session_tls"]),
    (BASE.replace(_PROGRAMS, _SHOWN_ON), "pattern", ["shows_session_tls"]),
    (BASE.replace(*_MARKED).replace(*_X), "pattern", ["session_tls_shown_on", "disconnect"]),
    (BASE.replace(_PROGRAMS, _SHOWN_ON).replace(*_MARKED), "?", ["captures tls_protocol"]),
    (BASE.replace(_PROGRAMS, _PROGRAMS + '\ndelivery_tls = "line"\n'
                  'delivery_tls_unlogged = "x_loglevel 0"'), "mta", ["delivery_tls"]),
    (BASE.replace(_PROGRAMS, _PROGRAMS + '\ndelivery_tls = "always"'), "mta.delivery_tls",
     ["'delivery' or 'line'"]),
], ids=["session-tls-both-ways", "shown-on-no-lines", "lines-not-named",
        "line-without-tls-group", "delivery-tls-and-why-not", "delivery-tls-unknown"])
def test_how_an_mta_logs_tls_is_refused_where_it_contradicts_itself(
        tmp_path: Path, text: str, field: str, words: list[str]) -> None:
    """What the report may conclude from a missing TLS line is the parser file's word:
    a file that says two things is refused, naming what."""
    msg = error_of(write(tmp_path, text))
    assert field in fields_named(msg), msg
    assert all(w in msg for w in words), msg


def test_an_mta_that_shows_session_tls_on_lines_loads(tmp_path: Path) -> None:
    pf = load_parser_file(write(tmp_path, BASE.replace(_PROGRAMS, _SHOWN_ON)
                                .replace(*_MARKED).replace(*_X)))
    assert pf.mta.smtp_sessions and not pf.mta.logs_session_tls
    assert ParserSet([pf]).patterns_with("shows_session_tls") == {"testmta:disconnect"}


# --- loading directories -----------------------------------------------------------------

def test_load_parsers_later_directory_replaces_an_mta(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a, BASE)
    write(b, BASE.replace('id = "disconnect"', 'id = "bye"'), name="override.toml")
    ps = load_parsers([a, b])
    assert [f.mta.name for f in ps.files] == ["testmta"]
    assert [p.id for p in ps.by_name["testmta"].pattern] == ["connect", "bye"]


def test_load_parsers_refuses_a_broken_file_among_good_ones(tmp_path: Path) -> None:
    for p in data_dir("parsers").glob("*.toml"):
        shutil.copy(p, tmp_path / p.name)
    broken = write(tmp_path, BASE.replace('event = "disconnect"', 'event = "hangup"'),
                   name="zz-broken.toml")
    with pytest.raises(DefinitionError, match=re.escape(str(broken))):
        load_parsers([tmp_path])


def test_load_parsers_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no parser definitions"):
        load_parsers([tmp_path])


def test_two_files_for_one_mta_in_one_set(tmp_path: Path) -> None:
    pf = load_parser_file(write(tmp_path, BASE))
    with pytest.raises(DefinitionError, match="same MTA"):
        ParserSet([pf, pf])


# --- the built-in definitions --------------------------------------------------------------

BUILTIN = sorted(data_dir("parsers").glob("*.toml"))


def test_builtin_files_exist() -> None:
    assert {p.stem for p in BUILTIN} >= {"postfix", "exim", "sendmail"}


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.stem)
def test_builtin_file_loads(path: Path) -> None:
    pf = load_parser_file(path)
    assert pf.mta.name == path.stem
    assert pf.pattern
    ids = [p.id for p in pf.pattern]
    assert len(ids) == len(set(ids))
    for p in pf.pattern:
        assert p.event in EVENTS
        assert set(p.groups) <= EXTRACTABLE
        assert "%{" not in p.regex


def test_builtin_set_routes_programs() -> None:
    ps = default_parsers()
    assert {f.mta.name for f in ps.files} >= {"postfix", "exim", "sendmail"}
    assert ps.mta_of_program("postfix/smtpd").mta.name == "postfix"
    assert ps.mta_of_program("postfix-out/smtp").mta.name == "postfix"
    assert ps.mta_of_program("postfix/submission/smtpd").mta.name == "postfix"
    assert ps.mta_of_program("exim4").mta.name == "exim"
    assert ps.mta_of_program("sm-mta").mta.name == "sendmail"
    assert ps.mta_of_program("dovecot").mta.name == "dovecot"   # its logins and auth
    assert ps.mta_of_program("dovecot-lda") is None
    assert ps.mta_of_program("CRON") is None
