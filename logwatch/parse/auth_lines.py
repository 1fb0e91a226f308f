"""What Dovecot's auth service said that later lines of the same source need: the name
a failure logged without one lacks (parse.lending), and the passwords refused on a
connection that then logs in (parse.refusals). Kept from block to block, and in a
source's mark from pass to pass: a pass ends between such lines as often as not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.definitions import ParserSet
from logwatch.parse.lending import Lenders
from logwatch.parse.refusals import Refusals

__all__ = ["AuthLines", "AUTH_KEYS", "AuthPatterns", "SavedAuth", "patterns_in"]

_LENDERS, _REFUSED = "lenders", "refused"
#: the keys a source's mark keeps them under
AUTH_KEYS = (_LENDERS, _REFUSED)
#: what a source's mark keeps of them (`AuthLines.saved`)
SavedAuth = dict[str, list[list[object]]]


@dataclass(frozen=True)
class AuthPatterns:
    """The patterns (`mta:id`) whose lines lend a name, and those a login counts."""

    lending: frozenset[str]
    refusing: frozenset[str]

    @classmethod
    def of(cls, parsers: ParserSet) -> AuthPatterns:
        return cls(parsers.patterns_with("lends_username"),
                   parsers.patterns_with("counts_for_login"))


def patterns_in(events: pa.Table) -> set[str]:
    """The patterns of a table's rows (from the codes used: a block's dictionary holds
    every pattern's name)."""
    out: set[str] = set()
    for chunk in events.column("pattern").chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary.take(pc.unique(chunk.indices).drop_null())
        out.update(pc.unique(chunk).drop_null().to_pylist())
    return out


@dataclass
class AuthLines:
    """A source's memory of its auth service's lines (one per rotation set)."""

    lenders: Lenders = field(default_factory=Lenders)
    refusals: Refusals = field(default_factory=Refusals)

    def apply(self, events: pa.Table, patterns: AuthPatterns, present: set[str]) -> pa.Table:
        """`events` (whose rows' patterns are among `present`) with names lent and the
        refusals before each login counted, from what came before them too; what the
        next tables may need is kept. Idempotent: a table given again with more before
        it (a part parsed apart, then joined) comes out as read in one go."""
        if self.lenders.rows or present & patterns.lending:
            events = self.lenders.lend(events, pa.array(sorted(patterns.lending), pa.string()))
        if self.refusals.rows or present & patterns.refusing:
            events = self.refusals.count(events, pa.array(sorted(patterns.refusing),
                                                          pa.string()))
        return events

    @classmethod
    def restored(cls, saved: Mapping[str, object] | None) -> AuthLines:
        """From what `saved()` gave (a mark's fields; none for a first read)."""
        saved = saved or {}
        return cls(Lenders(list(saved.get(_LENDERS) or [])),  # type: ignore[call-overload]
                   Refusals(list(saved.get(_REFUSED) or [])))  # type: ignore[call-overload]

    def saved(self) -> SavedAuth:
        return {_LENDERS: self.lenders.rows, _REFUSED: self.refusals.rows}
