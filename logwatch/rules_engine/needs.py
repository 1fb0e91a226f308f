"""What of the events the loaded rules can ever look at: which rows and which columns.

Detection keeps only those while it reads (DESIGN.md: the state holds what the rules
need, not every event), which is what keeps a 5M-line run within memory: a postscreen
verdict or a TLS line that no rule selects is counted by `parse --stats` and dropped.
A rule without a condition that narrows its rows keeps them all: never a silent gap.

Rows are described by tokens: `event:<name>` (every row of that event) or the name of a
derived column (`auth_failures`: only the rows where it can be non-zero, see
`enrich.DERIVED_ROWS`). One narrowing condition of a rule is enough, since all of them
must hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logwatch.enrich import DERIVED_ROWS
from logwatch.rules_engine.model import Condition, summary_names
from logwatch.schema import REFUSALS

__all__ = ["Needs", "needs_of", "reads_message_lines", "BASE_COLUMNS", "LINE_COLUMNS",
           "MESSAGE_BASE_COLUMNS"]

#: Raw columns the enrichment and the evidence read.
BASE_COLUMNS = frozenset({
    "ts", "host", "instance", "mta", "daemon", "pid", "queue_id", "session", "event",
    "client_ip", "sasl_username", "sasl_method", "sender", "recipient", "orig_recipient",
    "relay_ip", "status", "auth_ok", "auth_tried", "auth_attempts", "source", "source_fp",
    "offset", "cursor",
})


#: Message columns the enrichment and the evidence read, whatever the
#: rules: a batch keeps only these and the rules' own of each message (a 5M-line log
#: has 360k messages, and their ids, names and relays were 65 MB no rule looked at).
MESSAGE_BASE_COLUMNS = frozenset({
    "host", "instance", "queue_id", "mta", "first_seen", "last_seen", "origin", "parent",
    "client_ip", "sasl_username", "sender", "status",
})


#: What a message's evidence needs of its lines: which message, when, and where the line is
#: (a journal's entry: its cursor).
LINE_COLUMNS = ("host", "instance", "queue_id", "ts", "source", "source_fp", "offset",
                "cursor")


@dataclass(frozen=True)
class Needs:
    rows: frozenset[str] | None       # tokens; None: every row
    columns: frozenset[str]
    #: events kept only as evidence of message alerts, in LINE_COLUMNS (who sent it, as
    #: whom): a narrow table, not rows of the wide one
    line_events: frozenset[str] = frozenset()


def _tokens(c: Condition) -> frozenset[str] | None:
    """The rows a single condition limits a rule to (None: it cannot tell)."""
    if c.field == "event" and c.op in ("eq", "in"):
        values = c.value if c.op == "in" else [c.value]
        return frozenset(f"event:{v}" for v in values)
    if c.field in DERIVED_ROWS and (c.op in ("gt", "ge") or (c.op == "eq" and c.value)):
        return frozenset({c.field})
    return None


def _narrowest(where: Iterable[Condition]) -> frozenset[str] | None:
    found = [t for t in (_tokens(c) for c in where) if t is not None]
    return min(found, key=len) if found else None


def _rule_rows(rule: Any) -> frozenset[str] | None:
    if rule.kind == "sequence":
        parts = [_narrowest(rule.first.where), _narrowest(rule.then.where)]
        if all(p is not None for p in parts):
            return parts[0] | parts[1]   # type: ignore[operator]
    return _narrowest(rule.where)


def reads_message_lines(rule: Any) -> bool:
    """Whether the rule's evidence shows the lines of messages: a messages rule's
    always; an events rule's when it may count refusals, which Sendmail logs before the
    line of their message that names the client (`MessageLines.of_refusals`)."""
    if rule.table != "events":
        return True
    rows = _rule_rows(rule)
    return rows is None or any(f"event:{e}" in rows for e in REFUSALS)


def needs_of(rules: list[Any]) -> Needs:
    """Rows and columns of the events table that `rules` (and their messages) need."""
    rows: set[str] | None = {"event:delivery"}   # the messages' recipients, and inference
    columns = set(BASE_COLUMNS)
    for rule in rules:
        columns.update(f for f, _ in rule.fields_used())
        columns.update(n.removesuffix("_values")
                       for n in summary_names(rule.summary) if n.endswith("_values"))
        if rule.table != "events":
            continue
        got = _rule_rows(rule)
        if got is None:
            rows = None
        elif rows is not None:
            rows |= got
    return Needs(None if rows is None else frozenset(rows), frozenset(columns),
                 frozenset({"received", "queued"}) if any(map(reads_message_lines, rules))
                 else frozenset())
