"""What a rule file may say: the rule kinds as pydantic models.

A rule is data, never code: a selection is a set of field conditions checked against the
table's schema when the file is loaded (a misspelt field is refused with file, line and
field, not silently matched against nothing), and a summary is a `string.Template`
(`$count failures from $client_ip`), which cannot reach attributes or call anything.
"""

from __future__ import annotations

from string import Template
from typing import Annotated, Any, ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from logwatch.config import SEVERITIES, Allowlist
from logwatch.durations import Duration
from logwatch.enrich import EVENT_COLUMNS, MESSAGE_COLUMNS
from logwatch.pipeline import default_parsers
from logwatch.rules_engine.fieldtypes import (check_test, check_use, comparison_scalar,
                                              describe, text_test)
from logwatch.schema import (EVENT_SCHEMA, EVENTS, LINE_NOTES, MESSAGE_SCHEMA, ORIGINS,
                             REJECT_CLASSES, STATUSES)

__all__ = ["Rule", "RuleFile", "Condition", "SEVERITIES", "TABLE_FIELDS", "Threshold",
           "Distinct", "Sequence", "Match", "Spike", "Level", "Measure", "severity_rank",
           "summary_names"]

#: Fields a rule may name, per table, with their types.
TABLE_FIELDS: dict[str, dict[str, pa.DataType]] = {
    "events": {**{f.name: f.type for f in EVENT_SCHEMA}, **EVENT_COLUMNS},
    "messages": {**{f.name: f.type for f in MESSAGE_SCHEMA}, **MESSAGE_COLUMNS},
}
#: The time a row happened at, per table.
TIME_FIELD = {"events": "ts", "messages": "first_seen"}
#: Fields whose values are a closed vocabulary: a condition on another value (a misspelt
#: `auth_falure`) could never hold, and is refused. `mta` is the parser files' (`_known`).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "event": EVENTS, "reject_class": REJECT_CLASSES, "origin": ORIGINS,
    "status": STATUSES, "line_note": LINE_NOTES,
}
#: What every summary may name besides the key fields and `<field>_values`.
_SUMMARY_NAMES = ("count", "span", "first", "last", "window", "rule")

_OPS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "null", "contains",
        "starts_with", "ends_with", "matches")
#: what a field named for each purpose (the last word of fields_used's `what`) must hold
#: (fieldtypes.check_use); the others (`blind_without`, a distinct rule's `field`) may be
#: any field, a list included
_USE_OF = {"group_by": "key", "keys": "key", "ignore_same": "key", "ignore_once_per": "key",
           "unless_before": "key", "distinct": "key", "weight": "weight", "sum": "sum",
           "start": "time", "end": "time"}


class FieldError(ValueError):
    """A model validator's complaint about one field: `loc` is its path in the rule, so
    that the message names that field and its line (tomlfile.error_loc)."""

    def __init__(self, message: str, loc: tuple[str, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _check_value(c: Condition, type_: pa.DataType, what: str) -> None:
    """A test the field can answer, with values of its type: `auth_failures = { gt =
    "lots" }` and `client_port = { starts_with = "4" }` are refused when the file is
    loaded, not when the rule first runs (fieldtypes says why)."""
    loc = (*what.split("."), c.field)
    try:
        check_test(c.field, type_, c.op)
    except ValueError as exc:
        raise FieldError(f"{what}: {exc}", loc) from None
    if c.op == "null":
        return
    for v in (c.value if isinstance(c.value, list) else [c.value]):
        try:
            comparison_scalar(v, type_)
        except ValueError as exc:
            raise FieldError(f"{what}: {c.field} {c.op} {v!r}: {exc} ({c.field} holds "
                             f"{describe(type_)})", loc) from None


def _known(field: str) -> tuple[str, ...] | None:
    """The values `field` can hold, if they are a closed set: an MTA is one of the parser
    files (adding one, as Dovecot's, is a data change)."""
    if field == "mta":
        return tuple(f.mta.name for f in default_parsers().files)
    return VOCABULARIES.get(field)


def _check_vocabulary(c: Condition, what: str) -> None:
    """A value of a closed vocabulary that is never written, or a text test no value
    written passes (`event = { matches = "auth_falure" }`): a rule that could never fire,
    said when it is loaded."""
    known = _known(c.field)
    loc = (*what.split("."), c.field)
    if known is None:
        return
    if c.op in ("eq", "ne", "in", "not_in"):
        for v in (c.value if isinstance(c.value, list) else [c.value]):
            if v not in known:
                raise FieldError(f"{what}: {c.field} {v!r} is never written; known: "
                                 f"{', '.join(known)}", loc)
    elif c.op in ("contains", "starts_with", "ends_with", "matches") and not pc.any(
            text_test(c.op, str(c.value))(pa.array(known))).as_py():
        raise FieldError(f"{what}: {c.field} {c.op} {c.value!r} holds for no {c.field} "
                         f"ever written; known: {', '.join(known)}", loc)


def summary_names(summary: str) -> list[str]:
    """The `$names` a summary template uses, as `string.Template` reads them (`$$` is a
    dollar sign, not a name)."""
    return [m.group("named") or m.group("braced")
            for m in Template.pattern.finditer(summary)
            if m.group("named") or m.group("braced")]


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    """One field test. Written in a rule as `field = value` (equal), `field = [a, b]`
    (one of), or `field = { op = value }` with op one of _OPS (`null = true`: missing)."""

    field: str
    op: str
    value: Any

    @classmethod
    def parse(cls, name: str, spec: Any) -> list[Condition]:
        """The conditions `name = spec` says; a FieldError naming `name` (so that the
        message gives the condition's line, not its table's) when they cannot be."""
        if isinstance(spec, dict) and not spec:
            raise FieldError("empty condition", (name,))
        tests = spec.items() if isinstance(spec, dict) else \
            [("in" if isinstance(spec, list) else "eq", spec)]
        try:
            return [cls(field=name, op=op, value=v) for op, v in tests]
        except ValidationError as exc:
            raise FieldError("; ".join(e["msg"].removeprefix("Value error, ")
                                       for e in exc.errors()), (name,)) from None

    @model_validator(mode="after")
    def _valid(self) -> Condition:
        if self.op not in _OPS:
            raise ValueError(f"unknown test {self.op!r}; known: {', '.join(_OPS)}")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op} takes a list, like [\"a\", \"b\"]")
        if self.op == "null" and not isinstance(self.value, bool):
            raise ValueError("null takes true (missing) or false (present)")
        if self.op == "matches":
            try:
                pc.match_substring_regex(pa.array([""]), str(self.value))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"not a valid RE2 pattern: {exc}") from None
        return self


def _conditions(value: Any) -> list[Condition]:
    if value is None:
        return []
    if isinstance(value, list):  # the model's own form (a rule re-validated with overrides)
        return [c if isinstance(c, Condition) else Condition.model_validate(c) for c in value]
    if not isinstance(value, dict):
        raise ValueError("a table of field conditions, like { event = \"auth_failure\" }")
    return [c for name, spec in value.items() for c in Condition.parse(name, spec)]


Conditions = Annotated[list[Condition], Field(default_factory=list)]


class Selection(_Model):
    """Rows where every `where` condition holds and not every `unless` one does."""

    where: Conditions
    unless: Conditions

    _parse = field_validator("where", "unless", mode="before")(_conditions)


class RuleBase(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: str
    kind: str
    severity: Literal["info", "low", "medium", "high", "critical"]
    description: str
    false_positives: list[str] = Field(default_factory=list)
    enabled: bool = True
    table: Literal["events", "messages"] = "events"
    where: Conditions
    unless: Conditions
    #: skip clients in trusted_networks (webmail, monitoring): the credential rules' default
    skip_trusted: bool = False
    group_by: list[str] = Field(default_factory=list)
    window: Duration = 600
    #: after an incident, rows of the same key within this time continue it (one alert)
    cooldown: Duration | None = None
    summary: str
    evidence_max: Annotated[int, Field(ge=0, le=1000)] = 20
    #: never alert on these, for this rule (the config's [allow] holds for every rule)
    allow: Allowlist = Field(default_factory=Allowlist)
    #: rules that say the same thing better: an incident of theirs holding at least half
    #: of this rule's incident's rows replaces it (a spray is also a burst of failures)
    superseded_by: list[str] = Field(default_factory=list)
    #: the field this rule counts by; matching rows without it are reported once, as a
    #: blind spot, instead of being silently ignored
    blind_without: str | None = None

    _parse = field_validator("where", "unless", mode="before")(_conditions)

    #: what the kind's incidents tell besides the count (`$expected` of a spike)
    DETAILS: ClassVar[tuple[str, ...]] = ()

    @property
    def cooldown_s(self) -> int:
        return self.cooldown if self.cooldown is not None else self.window

    def key_fields(self) -> set[str]:
        """Fields an alert of this rule can carry in its key (what actions may use)."""
        return set(self.group_by)

    def needed_of_every_row(self) -> set[str]:
        """Fields a row without which the rule does not count."""
        return set(self.group_by)

    def fields_used(self) -> list[tuple[str, str]]:
        """(field, what for) of every field the rule names, for the schema check: the
        conditions' (`where`, `first.where`, ...), then the others (`group_by`, `weight`,
        `measure rows sum`; _USE_OF says what each of these must hold)."""
        out = [(c.field, what) for what, c in self.conditions()]
        out += [(f, "group_by") for f in self.group_by]
        return out + ([(self.blind_without, "blind_without")] if self.blind_without else [])

    @field_validator("summary")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            Template(v).substitute({k: "" for k in summary_names(v)})
        except (ValueError, KeyError) as exc:
            raise ValueError(f"not a valid summary template ($name or ${{name}}): {exc}") from None
        return v

    @model_validator(mode="after")
    def _fields_exist(self) -> RuleBase:
        known = TABLE_FIELDS[self.table]
        conditions = {what for what, _ in self.conditions()}
        for name, what in self.fields_used():
            loc = ((*what.split("."), name) if what in conditions else
                   ("measures", what.rsplit(" ", 1)[-1]) if what.startswith("measure ") else
                   (what,))
            if name not in known:
                near = [k for k in known if k.startswith(name[:4])][:5]
                raise FieldError(f"{what}: {self.table} have no field {name!r}" +
                                 (f" (did you mean {', '.join(near)}?)" if near else ""), loc)
            use = _USE_OF.get(what.rsplit(" ", 1)[-1])
            if use is not None:
                try:
                    check_use(name, known[name], use, known)
                except ValueError as exc:
                    raise FieldError(f"{what}: {exc}", loc) from None
        for what, c in self.conditions():
            _check_value(c, known[c.field], what)
            _check_vocabulary(c, what)
            self._check_keyed(c, what)
        self._check_summary()
        return self

    def _check_keyed(self, c: Condition, what: str) -> None:
        """`null = true` on a field the rule needs of every row it counts (a `group_by`
        field, a distinct rule's `field`) leaves it no row: it could never fire."""
        if (c.op, c.value) == ("null", True) and c.field in self.needed_of_every_row() \
                and what.endswith("where"):
            raise FieldError(f"{what}: {c.field} null = true keeps only rows without "
                             f"{c.field}, which every row this rule counts needs: it could "
                             "never fire", (*what.split("."), c.field))

    def allowed_names(self) -> set[str]:
        """The `$names` a summary may use: a misspelt one would print `?` in every alert."""
        return (set(_SUMMARY_NAMES) | self.key_fields() | set(self.DETAILS)
                | {n for n in ("threshold", "min_first") if n in type(self).model_fields}
                | {f"{f}_values" for f in TABLE_FIELDS[self.table]})

    def _check_summary(self) -> None:
        allowed = self.allowed_names()
        for name in summary_names(self.summary):
            if name not in allowed:
                near = sorted(n for n in allowed if n[:4] == name[:4])[:5]
                raise FieldError(f"${name} is nothing this rule's alerts have" +
                                 (f" (did you mean {', '.join('$' + n for n in near)}?)"
                                  if near else "; see the rule kinds in the README"),
                                 ("summary",))

    def conditions(self) -> list[tuple[str, Condition]]:
        """Every condition of the rule with the part it belongs to."""
        return [("where", c) for c in self.where] + [("unless", c) for c in self.unless]


class Threshold(RuleBase):
    """N matching rows (or N of `weight`) per key within `window`."""

    kind: Literal["threshold"]
    threshold: Annotated[int, Field(ge=1)]
    weight: str | None = None

    def fields_used(self) -> list[tuple[str, str]]:
        return super().fields_used() + ([(self.weight, "weight")] if self.weight else [])


class Distinct(RuleBase):
    """N distinct values of `field` per key within `window` (a list field counts each
    element)."""

    kind: Literal["distinct"]
    field: str
    threshold: Annotated[int, Field(ge=1)]

    def needed_of_every_row(self) -> set[str]:
        return super().needed_of_every_row() | {self.field}

    def fields_used(self) -> list[tuple[str, str]]:
        return super().fields_used() + [(self.field, "field")]


class Sequence(RuleBase):
    """At least `min_first` rows of `first`, then a `then` row, for the same key within
    `window`. `ignore_same`: first-rows equal to the then-row on these fields do not
    count (a CRAM-MD5 to PLAIN fallback in one session); with `ignore_once_per`, only
    one of them per value of that field (a fallback tries each mechanism once, where
    guesses in the login's own session repeat one). `unless_before`: no alert when
    an earlier then-row had the same key and these fields (a phone that has logged in as
    that user from that address before), at most `unless_before_within` earlier: live
    passes remember that long (lookback.py), and a batch looks no further back."""

    DETAILS: ClassVar[tuple[str, ...]] = ("then_rows",)

    kind: Literal["sequence"]
    first: Selection
    then: Selection
    min_first: Annotated[int, Field(ge=1)] = 3
    weight: str | None = None
    ignore_same: list[str] = Field(default_factory=list)
    ignore_once_per: str | None = None
    unless_before: list[str] = Field(default_factory=list)
    unless_before_within: Duration = 90 * 86_400

    @field_validator("ignore_once_per")
    @classmethod
    def _once_per_what(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v and not info.data.get("ignore_same"):
            raise ValueError("limits what ignore_same ignores: give ignore_same too")
        return v

    def conditions(self) -> list[tuple[str, Condition]]:
        return super().conditions() + [
            (f"{part}.{name}", c) for part, sel in (("first", self.first), ("then", self.then))
            for name, conds in (("where", sel.where), ("unless", sel.unless)) for c in conds]

    def fields_used(self) -> list[tuple[str, str]]:
        out = super().fields_used()
        out += [(f, "ignore_same") for f in self.ignore_same]
        out += [(self.ignore_once_per, "ignore_once_per")] if self.ignore_once_per else []
        out += [(f, "unless_before") for f in self.unless_before]
        return out + ([(self.weight, "weight")] if self.weight else [])


class Match(RuleBase):
    """A row that must never happen: every one alerts, one alert per key and cooldown."""

    kind: Literal["match"]


class Measure(_Model):
    """What a spike counts per interval: rows, the sum of a field, or distinct values."""

    name: str
    sum: str | None = None
    distinct: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Measure:
        if self.sum and self.distinct:
            raise ValueError(f"measure {self.name}: give sum or distinct, not both")
        return self


class Spike(RuleBase):
    """A count per `interval` against the key's own baseline (median and MAD of earlier
    intervals only, by hour of week once there are `seasonal_after` of history), with a
    `floor` (mostly-zero counts have no spread) and a `ceiling` that holds without any
    history."""

    DETAILS: ClassVar[tuple[str, ...]] = ("measure", "interval", "who", "expected", "spread",
                                         "history_intervals")

    kind: Literal["spike"]
    #: key sets evaluated in turn (most specific first); [] is the total
    keys: list[list[str]] = Field(default_factory=lambda: [[]])
    measures: list[Measure] = Field(default_factory=lambda: [Measure(name="rows")])
    interval: Duration = 3600
    baseline: Duration = 28 * 86_400
    min_history: Duration = 6 * 3600
    seasonal_after: Duration = 14 * 86_400
    floor: Annotated[float, Field(ge=0)] = 20
    ceiling: Annotated[float, Field(gt=0)] | None = None
    z: Annotated[float, Field(gt=0)] = 6.0
    ratio: Annotated[float, Field(ge=1)] = 5.0

    def key_fields(self) -> set[str]:
        return super().key_fields().union(*self.keys)

    def fields_used(self) -> list[tuple[str, str]]:
        out = super().fields_used() + [(f, "keys") for ks in self.keys for f in ks]
        for m in self.measures:
            out += [(f, f"measure {m.name} {how}") for how, f in (("sum", m.sum),
                                                                  ("distinct", m.distinct)) if f]
        return out


class Level(RuleBase):
    """A running level (rows that entered at `start` and have not left at `end`) that is
    at least `floor` and has grown over each of the last `rising` intervals."""

    DETAILS: ClassVar[tuple[str, ...]] = ("interval",)

    kind: Literal["level"]
    start: str
    end: str | None = None
    #: rows whose `end` counts as leaving only when these conditions hold (a deferred
    #: message is still queued at its last line unless it was delivered or bounced)
    ended_when: Conditions
    interval: Duration = 600
    floor: Annotated[int, Field(ge=1)] = 20
    rising: Annotated[int, Field(ge=1)] = 3

    _parse_end = field_validator("ended_when", mode="before")(_conditions)

    def conditions(self) -> list[tuple[str, Condition]]:
        return super().conditions() + [("ended_when", c) for c in self.ended_when]

    def fields_used(self) -> list[tuple[str, str]]:
        out = super().fields_used() + [(self.start, "start")]
        return out + ([(self.end, "end")] if self.end else [])


Rule = Annotated[Threshold | Distinct | Sequence | Match | Spike | Level,
                 Field(discriminator="kind")]


class RuleFile(_Model):
    rule: list[Rule]
