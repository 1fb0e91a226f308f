"""The parser definitions (`parsers/*.toml`) as validated models.

Why pydantic and not a dict: a parser file is data that users extend (`parsers.d/`), and
a wrong group name or an invalid RE2 pattern must be refused when the file is loaded,
with the file, line and field named, not discovered as a silent null column later.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from logwatch.errors import DefinitionError
from logwatch.tomlfile import Described, at_line, load_toml, validation_message
from logwatch.schema import EVENTS, FIELD_TYPES, REJECT_CLASSES, STATUSES

__all__ = ["ONLY_CONTAINING_HEAD", "MtaSpec", "QueueIdSpec", "PatternSpec", "ClassifySpec",
           "SessionSpec", "FillSpec", "ParserFile", "ParserSet", "load_parser_file",
           "load_parsers", "program_service", "EXTRACTABLE", "SERVICE"]

#: Fields a pattern may capture or set. The header, provenance and correlation columns
#: are the engine's own; `session` too, except where a program names its connection
#: itself (Dovecot's `session=<...>`) and has no session spec to find it.
_RESERVED = {"ts", "seq", "host", "mta", "instance", "daemon", "program", "pid",
             "event", "source", "source_fp", "offset", "cursor", "pattern", "line_note",
             "reject_class", "auth_ok", "auth_tried"}
EXTRACTABLE: frozenset[str] = frozenset(FIELD_TYPES) - _RESERVED
_CONVERTERS = ("duration", "lower")


def _check_groups(rx: str, marks: Iterable[str] = ()) -> None:
    """A regex RE2 compiles whose named groups are event fields (or the pattern's
    `when` marks), each named once."""
    _check_re2(rx)
    names = re.findall(r"\(\?P<(\w+)>", rx)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"named group(s) {', '.join(twice)} appear more than once "
                         "(RE2 keeps only one of them)")
    unknown = sorted(set(names) - EXTRACTABLE - set(marks))
    if unknown:
        raise ValueError(f"named group(s) {', '.join(unknown)} are not event fields; "
                         f"use one of: {', '.join(sorted(EXTRACTABLE))}")


def _check_re2(rx: str) -> str:
    """Compile with RE2 (the engine the kernels use), not Python's re."""
    try:
        pc.extract_regex(pa.array([""], pa.string()), rx) if "(?P<" in rx else \
            pc.match_substring_regex(pa.array([""], pa.string()), rx)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"not a valid RE2 pattern: {exc}") from None
    return rx


def _settable(values: dict[str, Any]) -> dict[str, Any]:
    """Values a pattern may give fields itself (`set`, `when`): event fields, and a
    status of the closed set."""
    for name, value in values.items():
        if name not in EXTRACTABLE:
            raise ValueError(f"cannot set {name!r}: not an event field")
        if name == "status" and value not in STATUSES:
            raise ValueError(f"status {value!r} is not one of {', '.join(STATUSES)}")
    return values


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: How far into a message `MtaSpec.only_containing` looks: amavis's log id, alert mark and
#: verdict word come first; a literal test over a short head costs next to nothing.
ONLY_CONTAINING_HEAD = 64


class MtaSpec(_Model):
    """Which syslog programs belong to the MTA and how their names split."""

    name: str
    #: fnmatch patterns on the program name's first path component (`postfix-*` for
    #: multi-instance Postfix) or on the whole name; `!name` excludes (Linux's NFS
    #: `sm-notify` is not Sendmail).
    programs: list[str]
    #: `last`: daemon is the last path component (`postfix/submission/smtpd` -> smtpd);
    #: `program`: the whole program name (`sm-mta`); `message`: the `daemon` group of
    #: `strip` (Dovecot logs every process as `dovecot` and names it in the message:
    #: `dovecot: imap-login: ...`).
    daemon_from: Literal["last", "program", "message"] = "last"
    #: With `daemon_from = "message"`: fnmatch patterns of the daemons whose lines are
    #: this MTA's. The program's other lines are not mail, counted by program as any
    #: other program's (Dovecot logs every IMAP session and mailbox; only its logins and
    #: its auth service concern mail-logwatch).
    only_daemons: list[str] | None = None
    #: Literal texts of which the first `ONLY_CONTAINING_HEAD` characters of a line's
    #: message must hold one for the line to be this MTA's; the program's other lines are
    #: not mail, counted by program. amavis logs its verdicts, warnings and errors beside
    #: startup and per-message debug lines (dozens a message at higher log levels) and
    #: names no daemon that would tell them apart, as Dovecot's do for `only_daemons`.
    only_containing: list[Annotated[str, Field(min_length=1)]] | None = None
    #: `first`: instance is the first component (`postfix-out/smtp` -> postfix-out).
    instance_from: Literal["first", "program"] = "first"
    #: A fixed instance name instead (Sendmail's submission program and its queue
    #: runner share one queue under different program names).
    instance: str | None = None
    #: A prefix some setups put in front of the message (Exim's own stamp and pid when
    #: it logs to syslog); removed before matching.
    strip: Annotated[str, Field(min_length=1)] | None = None
    #: The longest message the MTA writes; one that long was cut (Postfix: 2000).
    max_message: int | None = None
    #: `logger`: the pid in the syslog tag is that of a process that logs for all the
    #: others (Dovecot's log process), not the line's: it is not kept, so that lines of
    #: different connections are not taken for one process's.
    syslog_pid: Literal["process", "logger"] = "process"
    #: Each SMTP session's TLS is on a line of its own (Postfix's `TLS connection
    #: established`, Sendmail's `STARTTLS=server`): a session without one was plaintext.
    logs_session_tls: bool = False
    #: Where no line of its own tells a session's TLS: the lines that carry it (the
    #: patterns marked `shows_session_tls`), as the report names them beside the
    #: sessions that had none (Exim writes `X=` on a message, a refusal and
    #: +smtp_no_mail's no-MAIL line, nowhere else: a session that only tried AUTH and
    #: left may have used TLS or not). Set, the MTA's sessions are SMTP sessions, as
    #: with `logs_session_tls`.
    session_tls_shown_on: str | None = None
    #: Where a delivery that used TLS says so with the MTA's default log settings:
    #: `delivery`, on the delivery's line (Exim's `X=`, +tls_cipher being on by default,
    #: once per connection: its recipients delivered together share it); `line`, on a
    #: line of its own, as the `tls` event (Sendmail's `STARTTLS=client`, from its
    #: default LogLevel 9). Either way a delivery that does not say so went in the clear.
    #: None: not by default (Postfix's smtp logs `TLS connection established to` only
    #: from smtp_tls_loglevel 1), so a log without any such line does not tell TLS from
    #: plaintext; where it has them, they are `tls` lines as Sendmail's.
    delivery_tls: Literal["delivery", "line"] | None = None
    #: Why a log may show no delivery's TLS, for the report to say it (Postfix:
    #: `smtp_tls_loglevel 0`): only where `delivery_tls` is None.
    delivery_tls_unlogged: str | None = None
    #: A message's last line says it left the queue (Postfix's `removed`, Exim's
    #: `Completed`; Sendmail's `done` needs LogLevel 10): without it, it is still queued.
    logs_removal: bool = False
    #: Through syslog, the MTA writes some entries twice in a row (Exim's
    #: `syslog_duplication` for entries that also go to its reject log): count once.
    syslog_doubles: bool = False

    @field_validator("strip")
    @classmethod
    def _strip_re2(cls, v: str | None) -> str | None:
        return _check_re2(v) if v else v

    @model_validator(mode="after")
    def _daemon_in_strip(self) -> MtaSpec:
        named = bool(self.strip) and "(?P<daemon>" in (self.strip or "")
        if (self.daemon_from == "message") != named:
            raise ValueError("daemon_from = \"message\" and a (?P<daemon>...) group in "
                             "strip go together")
        if self.only_daemons is not None and self.daemon_from != "message":
            raise ValueError("only_daemons needs daemon_from = \"message\"")
        return self

    @model_validator(mode="after")
    def _tls_said_one_way(self) -> MtaSpec:
        if self.logs_session_tls and self.session_tls_shown_on:
            raise ValueError("session_tls_shown_on is for an MTA whose sessions log no TLS "
                             "line of their own: not with logs_session_tls")
        if self.delivery_tls and self.delivery_tls_unlogged:
            raise ValueError("delivery_tls_unlogged says why deliveries may log no TLS: "
                             "not with delivery_tls")
        return self

    @property
    def smtp_sessions(self) -> bool:
        """Whether its sessions are SMTP sessions, whose TLS the report counts."""
        return self.logs_session_tls or self.session_tls_shown_on is not None

    def keeps_daemon(self, daemon: str) -> bool:
        """Whether a line of `daemon` (named in the message) is this MTA's."""
        return self.only_daemons is None or any(
            fnmatch.fnmatchcase(daemon, p) for p in self.only_daemons)

    def keeps_lines(self, head: pa.Array) -> np.ndarray:
        """Which of these messages' heads make their lines this MTA's (`only_containing`)."""
        keep = np.zeros(len(head), bool)
        for literal in self.only_containing or ():
            keep |= pc.fill_null(pc.match_substring(head, literal), False).to_numpy(
                zero_copy_only=False)
        return keep

    def owns(self, program: str) -> bool:
        first = program.split("/", 1)[0]

        def hit(p: str) -> bool:
            return fnmatch.fnmatchcase(first, p) or fnmatch.fnmatchcase(program, p)

        if any(hit(p[1:]) for p in self.programs if p.startswith("!")):
            return False
        return any(hit(p) for p in self.programs if not p.startswith("!"))


class QueueIdSpec(_Model):
    """How a queue id leads a message: a token up to `separator` matching `regex`."""

    separator: str = ": "
    regex: str
    max_length: int = 24
    #: Tokens that hold a queue id's place but mean "none yet" (Postfix's NOQUEUE).
    none: list[str] = []

    @field_validator("regex")
    @classmethod
    def _re2(cls, v: str) -> str:
        return _check_re2(v)


class ClassifySpec(_Model):
    """A reject class and the reason texts that mean it (case-insensitive)."""

    reject_class: str
    contains: list[str] = []
    regex: str | None = None

    @field_validator("reject_class")
    @classmethod
    def _known_class(cls, v: str) -> str:
        if v not in REJECT_CLASSES:
            raise ValueError(f"unknown reject class {v!r}; known: {', '.join(REJECT_CLASSES)}")
        return v

    @field_validator("regex")
    @classmethod
    def _re2(cls, v: str | None) -> str | None:
        return _check_re2(v) if v else v

    @model_validator(mode="after")
    def _something(self) -> ClassifySpec:
        if not self.contains and not self.regex:
            raise ValueError("give `contains` or `regex`")
        return self


class SessionSpec(_Model):
    """Which rows make up one SMTP session, and what opens and closes it."""

    daemons: list[str]   # fnmatch patterns
    #: Row fields that identify the session's process or connection.
    key: list[str] = ["host", "program", "pid"]
    #: Events that open a session; none: a key's first row does (one process per
    #: connection, as Sendmail).
    start: list[str] = ["connect"]
    end: list[str] = ["disconnect"]
    #: Patterns (ids of this file) whose lines end a session too.
    end_patterns: list[str] = []
    #: Key fields a row must have to be in a session: Sendmail's process logs its
    #: client on the connection's lines and not on the deliveries and outbound STARTTLS
    #: it makes itself, and a pid reused by another client is another connection.
    require: list[str] = []
    #: Fields a row must lack: Exim's lines with and without `[pid]` are told apart so.
    absent: list[str] = []
    #: Events never in these sessions: with `[pid]`, Exim's daemon logs a connection
    #: under its own pid, and the process it forks for the connection logs the rest.
    skip: list[str] = []

    @model_validator(mode="after")
    def _required_in_key(self) -> SessionSpec:
        extra = [f for f in self.require if f not in self.key]
        if extra:
            raise ValueError(f"require: {', '.join(extra)} not in key {self.key}")
        return self


#: A `FillSpec.source` that is no field: the service the line's program name gives.
SERVICE = "service"


def program_service(program: str) -> str | None:
    """The service a program name gives: the component before the daemon where the
    syslog name has one of its own (`postfix/relay/smtp`: relay, as master.cf's
    `-o syslog_name=postfix/$service_name` makes it), else the daemon (`postfix/smtp`:
    smtp, the default service of that name); none where the name has no daemon part
    (`postfix` alone, rsyslog's RFC 5424 APP-NAME)."""
    parts = program.split("/")
    return None if len(parts) < 2 else parts[-2] if len(parts) > 2 else parts[-1]


class FillSpec(_Model):
    """A field that the line does not spell out but that another part of it tells: a
    field the regex captured, or the service of the program that logged it (`service`,
    see `program_service`), decided once per distinct program name. Given to the rows
    of the pattern whose regex left the field empty, of `daemons` only where named.

    Why not a capture group: Postfix's transport is its master.cf service, which local,
    virtual and pipe log as `relay=`, and smtp only in its syslog name; a group in the
    delivery regex would slow the commonest line of the log. And Exim names no host for
    a local delivery, whose next hop is then the transport (as Postfix's relay=local).
    """

    field: str
    source: str
    daemons: list[str] | None = None

    @model_validator(mode="after")
    def _fields(self) -> FillSpec:
        if self.field not in EXTRACTABLE:
            raise ValueError(f"cannot fill {self.field!r}: not an event field")
        if self.source != SERVICE and self.source not in EXTRACTABLE:
            raise ValueError(f"source {self.source!r} is neither an event field nor "
                             f"{SERVICE!r}")
        if self.field == self.source:
            raise ValueError(f"{self.field!r} cannot be filled from itself")
        return self

    def applies_to(self, daemon: str) -> bool:
        """Whether the lines of `daemon` ("": not known) get the value."""
        return self.daemons is None or daemon in self.daemons


#: Flags of a line that is no event of its own but is counted elsewhere (a login, the
#: report): the group each needs, and why the line is only `info`.
_COUNTED_ELSEWHERE = {"counts_for_login": ("session", "the login counts it"),
                      "refused_in_clear": ("client_ip", "no password was judged"),
                      "connect_failure": ("relay", "the delivery line after it says how "
                                                   "the delivery went")}


class PatternSpec(_Model):
    """One line shape: a cheap literal prefilter, an RE2 pattern, and what it means."""

    id: str
    event: str
    daemons: list[str] | None = None
    queue_id: Literal["any", "required", "absent"] = "any"
    starts: str | None = None
    contains: str | None = None
    #: What a word of the line implies, for the fields the line gives no value of its
    #: own: `when = { temporarily = { reject_code = 451 } }` with a `(?P<temporarily>...)`
    #: group in the regex, where the word stands. Exim logs no reply code for an ACL's
    #: refusal, but a `temporarily rejected` one was answered 451 unless the ACL's
    #: message led with a code (captured, and kept). The word is matched where the
    #: regex puts it, not looked for in the line: a sender may write it in an address.
    #: (Declared before `regex`, whose groups are checked knowing these marks.)
    when: dict[str, dict[str, str | int | float]] = {}
    #: One RE2 pattern, or several tried in order on the rows the previous ones did not
    #: match: put the shape of most lines first, in a form RE2 can run one-pass (no
    #: optional part whose first character could also continue what follows it), and
    #: the general form after it.
    regex: str | list[str]
    set: dict[str, str | int | float] = {}
    convert: dict[str, str] = {}
    #: A field holding several comma-separated values (Sendmail's `to=<a>,<b>`): one
    #: row per value.
    split: str | None = None
    #: A regex searched, apart, in the lines the pattern took, for fields at their end
    #: (Dovecot's `session=<...>$`): one that carried its captures to the end of every
    #: line would cost the whole regex twice as much (RE2 follows captures slowly).
    tail: str | None = None
    #: Fields the line tells elsewhere (see FillSpec), in order: the first that gives a
    #: row a value wins. (Declared after the regexes, whose groups it is checked against.)
    fill: list[FillSpec] = []
    #: The line names the user of a login another program refuses (Dovecot's auth
    #: service behind Postfix): its `sasl_username` fills that program's next
    #: `auth_failure` from the same client where it names none (see parse.lending).
    lends_username: bool = False
    #: The line refuses a password a login process's connection (its `session`)
    #: offered: counted by that connection's login, if one comes (see parse.refusals).
    counts_for_login: bool = False
    #: The MTA writes this line of a message before the line that receives it (Exim's
    #: cutthrough `>>`, delivered while the client waits for the end of DATA): a
    #: received line after only such lines (and refusals) goes on with their lifetime
    #: rather than starting one, as it would for a reused id.
    before_received: bool = False
    #: The line refuses a login offered in the clear where the server allows none
    #: (Dovecot's disable_plaintext_auth): no password was judged, so it is no failure,
    #: but its client sends passwords unencrypted (the report lists them).
    refused_in_clear: bool = False
    #: The line says a delivery agent could not connect to a next hop (Postfix's
    #: `connect to mx[ip]:25: Connection refused`): not the delivery's outcome, which
    #: its own line tells, but each host tried, where the deferral names the last one
    #: (the report lists them: pflogsumm's "smtp delivery failures").
    connect_failure: bool = False
    #: The line carries its SMTP session's TLS, where the session had started it, in the
    #: groups `tls_protocol` and `tls_cipher` (Exim's `X=`, which add_tls_info_for_log()
    #: writes on `<=`, on an ACL's refusal and on the no-MAIL line): one without says the
    #: session was in the clear. How the report tells a session's TLS where the MTA logs
    #: no line of a session's own (`MtaSpec.session_tls_shown_on`).
    shows_session_tls: bool = False

    @field_validator("event")
    @classmethod
    def _known_event(cls, v: str) -> str:
        if v not in EVENTS:
            raise ValueError(f"unknown event {v!r}; known: {', '.join(EVENTS)}")
        return v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | list[str], info: ValidationInfo) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one regex")
        marks = info.data.get("when") or {}
        for rx in [v] if isinstance(v, str) else v:
            _check_groups(rx, marks)
        return v

    @field_validator("tail")
    @classmethod
    def _tail(cls, v: str | None) -> str | None:
        if v is not None:
            _check_groups(v)
            if "(?P<" not in v:
                raise ValueError("a tail is read for its named groups: give one")
        return v

    @model_validator(mode="after")
    def _tail_adds_fields(self) -> PatternSpec:
        if self.tail:
            said = {n for rx in self.regexes for n in re.findall(r"\(\?P<(\w+)>", rx)}
            again = sorted(said & set(re.findall(r"\(\?P<(\w+)>", self.tail)))
            if again:
                raise ValueError(f"tail: group(s) {', '.join(again)} are the regex's too")
        return self

    @field_validator("set")
    @classmethod
    def _set(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _settable(v)

    @field_validator("fill")
    @classmethod
    def _fill(cls, v: list[FillSpec], info: ValidationInfo) -> list[FillSpec]:
        """A fill takes a field the regexes capture (or the service), for daemons the
        pattern reads, and gives one that `set` does not already give every row."""
        d = info.data
        rxs = d.get("regex")
        rxs = [rxs] if isinstance(rxs, str) else list(rxs or [])
        captured = {n for rx in rxs + [d.get("tail") or ""]
                    for n in re.findall(r"\(\?P<(\w+)>", rx)} - set(d.get("when") or {})
        for f in v:
            if rxs and f.source != SERVICE and f.source not in captured:
                raise ValueError(f"fill {f.field!r}: source {f.source!r} is not a group of "
                                 f"the regex (nor {SERVICE!r})")
            if f.field in (d.get("set") or {}):
                raise ValueError(f"fill {f.field!r}: `set` gives it already")
            read = d.get("daemons")      # none: the pattern reads every daemon
            stray = sorted(set(f.daemons or ()) - set(read)) if read else []
            if stray:
                raise ValueError(f"fill {f.field!r}: daemon(s) {', '.join(stray)} are not "
                                 "the pattern's")
        return v

    @model_validator(mode="after")
    def _marks(self) -> PatternSpec:
        """Each mark is a group of the regex, not a field, and implies fields' values."""
        said = {n for rx in self.regexes for n in re.findall(r"\(\?P<(\w+)>", rx)}
        for mark, implied in self.when.items():
            if mark in EXTRACTABLE or mark not in said:
                raise ValueError(f"when: {mark!r} must be a group of the regex that is "
                                 "not an event field")
            _settable(implied)
        return self

    @field_validator("convert")
    @classmethod
    def _convert(cls, v: dict[str, str]) -> dict[str, str]:
        for name, conv in v.items():
            if conv not in _CONVERTERS:
                raise ValueError(f"converter {conv!r} for {name!r} unknown; "
                                 f"known: {', '.join(_CONVERTERS)}")
        return v

    @property
    def regexes(self) -> list[str]:
        return [self.regex] if isinstance(self.regex, str) else list(self.regex)

    @cached_property
    def groups(self) -> tuple[str, ...]:
        """The fields the regexes capture (not the `when` marks)."""
        names: list[str] = []
        for rx in self.regexes + ([self.tail] if self.tail else []):
            names += [n for n in re.findall(r"\(\?P<(\w+)>", rx)
                      if n not in names and n not in self.when]
        return tuple(names)

    @model_validator(mode="after")
    def _split_is_group(self) -> PatternSpec:
        if self.split and self.split not in self.groups:
            raise ValueError(f"split field {self.split!r} is not a group of the regex")
        return self

    @model_validator(mode="after")
    def _counted_elsewhere(self) -> PatternSpec:
        for flag, (group, why) in _COUNTED_ELSEWHERE.items():
            if getattr(self, flag) and (group not in self.groups or self.event != "info"):
                raise ValueError(f"{flag}: the event is info ({why}) and the regex "
                                 f"captures {group}")
        return self

    @model_validator(mode="after")
    def _tls_captured(self) -> PatternSpec:
        if self.shows_session_tls and "tls_protocol" not in self.groups:
            raise ValueError("shows_session_tls: the regex captures tls_protocol")
        return self

    @model_validator(mode="after")
    def _lends_a_name(self) -> PatternSpec:
        missing = {"sasl_username", "client_ip"} - set(self.groups)
        if self.lends_username and (missing or self.event != "info"):
            raise ValueError("lends_username: the event is info (the failure is the other "
                             "program's) and the regex captures sasl_username and "
                             "client_ip")
        return self


_VAR = re.compile(r"%\{(\w+)\}")


class ParserFile(_Model):
    """One `parsers/<mta>.toml`."""

    #: Named pieces of regex (`CLIENT = '...'`) that patterns use as `%{CLIENT}`, so that
    #: the shape of `name[ip]:port` is written once per file.
    vars: dict[str, str] = {}
    mta: MtaSpec
    queue_id: QueueIdSpec | None = None
    #: Raw status words as logged (lower-cased first word) mapped onto the closed set;
    #: anything else is judged by its DSN class (2: sent, 4: deferred, 5: bounced).
    status: dict[str, str] = {}
    classify: list[ClassifySpec] = []
    sessions: list[SessionSpec] = []
    pattern: list[PatternSpec]

    @field_validator("status")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {k: s for k, s in v.items() if s not in STATUSES}
        if bad:
            raise ValueError(f"statuses {bad} not in {', '.join(STATUSES)}")
        return v

    @field_validator("pattern")
    @classmethod
    def _session_tls_lines(cls, v: list[PatternSpec],
                           info: ValidationInfo) -> list[PatternSpec]:
        """[mta] session_tls_shown_on says in words which lines the patterns marked
        shows_session_tls are: one without the other is a mistake."""
        mta = info.data.get("mta")
        showing = [p.id for p in v if p.shows_session_tls]
        if mta is not None and bool(showing) != bool(mta.session_tls_shown_on):
            raise ValueError("session_tls_shown_on in [mta] and shows_session_tls on the "
                             "patterns of those lines go together"
                             + (f" (marked: {', '.join(showing)})" if showing else ""))
        return v


def _id_line(text: str, pid: str, nth: int = 1) -> int | None:
    """The line of the nth `id = "pid"` in the TOML text."""
    found = list(re.finditer(rf'^[ \t]*id\s*=\s*["\']{re.escape(pid)}["\']', text, re.M))
    if len(found) < nth:
        return None
    return text.count("\n", 0, found[nth - 1].start()) + 1


def _table_line(text: str, name: str) -> int | None:
    """The line of the TOML table `[name]`."""
    found = re.search(rf"^[ \t]*\[{re.escape(name)}\]", text, re.M)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def _prepare(data: dict[str, Any], text: str, path: Path) -> None:
    """What the model cannot say with a line: duplicate ids and undefined variables.

    Expands `%{VAR}` in place in the patterns' regexes and in the queue id's: the shape
    of an id, written once, is the one a line starts with and the one a pattern finds
    in a line naming another message (Exim's `C="250 OK id=..."`).
    """
    variables = data.get("vars") or {}
    if not isinstance(variables, dict):
        return

    def expand(rx: str, where: str, line: Callable[[], int | None], depth: int = 0) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in variables:
                raise DefinitionError(
                    at_line(path, line()) + f": {where}, "
                    f"field regex: unknown variable %{{{name}}}; defined: "
                    f"{', '.join(sorted(variables)) or 'none'}")
            value = str(variables[name])
            return expand(value, where, line, depth + 1) if depth < 5 else value
        return _VAR.sub(one, rx)

    qid = data.get("queue_id")
    if isinstance(qid, dict) and isinstance(qid.get("regex"), str):
        qid["regex"] = expand(qid["regex"], "queue_id", partial(_table_line, text, "queue_id"))
    seen: set[str] = set()
    for item in data.get("pattern") or []:
        if not isinstance(item, dict):
            continue
        pid = str(item.get("id"))
        if pid in seen:
            line = _id_line(text, pid, 2)
            raise DefinitionError(at_line(path, line) +
                                  f": pattern {pid!r}, field id: pattern id {pid!r} is used "
                                  "twice")
        seen.add(pid)
        where, at = f"pattern {pid!r}", partial(_id_line, text, pid)
        if isinstance(item.get("tail"), str):
            item["tail"] = expand(item["tail"], where, at)
        rx = item.get("regex")
        if isinstance(rx, str):
            item["regex"] = expand(rx, where, at)
        elif isinstance(rx, list):
            item["regex"] = [expand(x, where, at) if isinstance(x, str) else x for x in rx]


def load_parser_file(path: Path) -> ParserFile:
    """Read and validate one parser definition; errors name file, line and field."""
    data, text = load_toml(path, DefinitionError)
    _prepare(data, text, path)

    def describe(loc: tuple[Any, ...]) -> Described | None:
        if len(loc) >= 2 and loc[0] == "pattern" and isinstance(loc[1], int):
            try:
                pid = data["pattern"][loc[1]]["id"]
            except (KeyError, IndexError, TypeError):
                return None
            field = ".".join(str(p) for p in loc[2:] if not isinstance(p, int)) or "?"
            return f"pattern {pid!r}", field, _id_line(text, str(pid))
        return None

    try:
        return ParserFile.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(validation_message(exc, path, text, describe)) from None


class ParserSet:
    """All loaded parser files, with the lookups the engine needs."""

    def __init__(self, files: Iterable[ParserFile]) -> None:
        self.files = list(files)
        names = [f.mta.name for f in self.files]
        if len(set(names)) != len(names):
            raise DefinitionError(f"two parser files define the same MTA: {names}")
        self.by_name = {f.mta.name: f for f in self.files}

    def session_ends(self) -> tuple[list[str], list[str]]:
        """The events, and the patterns (`mta:id`, as rows name them), that close an
        SMTP session in some file: what the correlator ends sessions at, for whoever
        asks afterwards whether a session was seen to close."""
        events = sorted({e for f in self.files for s in f.sessions for e in s.end})
        patterns = sorted({f"{f.mta.name}:{p}" for f in self.files for s in f.sessions
                           for p in s.end_patterns})
        return events, patterns

    def unclosed_sessions(self) -> frozenset[str]:
        """The MTAs whose sessions nothing closes (Sendmail: a session is its process,
        and no line says it ended): whoever counts sessions at their close counts
        theirs at their start, and cannot tell how long they lasted."""
        return frozenset(f.mta.name for f in self.files if f.sessions and not any(
            s.end or s.end_patterns for s in f.sessions))

    def patterns_with(self, flag: str) -> frozenset[str]:
        """The patterns (`mta:id`, as the events' `pattern` names them) that say `flag`."""
        return frozenset(f"{pf.mta.name}:{p.id}" for pf in self.files for p in pf.pattern
                         if getattr(p, flag))

    def with_programs(self, mta: str, names: Iterable[str]) -> ParserSet:
        """The same definitions with `mta` owning the programs `names` too, and their
        services (`name/smtpd`, `name/submission/smtpd`): a site's own syslog_name."""
        more = [p for n in names for p in (n, f"{n}/*")]
        return ParserSet(f.model_copy(update={"mta": f.mta.model_copy(
            update={"programs": [*f.mta.programs, *more]})}) if f.mta.name == mta else f
            for f in self.files)

    def mta_of_program(self, program: str) -> ParserFile | None:
        for f in self.files:
            if f.mta.owns(program):
                return f
        return None


def load_parsers(dirs: Iterable[Path]) -> ParserSet:
    """Load `*.toml` from each directory; a later directory's file replaces an MTA's."""
    by_mta: dict[str, ParserFile] = {}
    for d in dirs:
        for path in sorted(Path(d).glob("*.toml")):
            pf = load_parser_file(path)
            by_mta[pf.mta.name] = pf
    if not by_mta:
        raise DefinitionError(f"no parser definitions found in {', '.join(map(str, dirs))}")
    return ParserSet(by_mta.values())
