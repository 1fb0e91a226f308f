"""What Dovecot's auth service said that later lines of the same source need: the name
a failure logged without one lacks (parse.lending), and the passwords refused on a
connection that then logs in (parse.refusals). Kept from block to block, and in a
source's mark from pass to pass: a pass ends between such lines as often as not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from logwatch.parse.lending import Lenders
from logwatch.parse.refusals import Refusals

__all__ = ["AuthLines", "AUTH_KEYS"]

_LENDERS, _REFUSED = "lenders", "refused"
#: the keys a source's mark keeps them under
AUTH_KEYS = (_LENDERS, _REFUSED)


@dataclass
class AuthLines:
    lenders: Lenders = field(default_factory=Lenders)
    refusals: Refusals = field(default_factory=Refusals)

    @classmethod
    def restored(cls, saved: Mapping[str, object] | None) -> AuthLines:
        """From what `saved()` gave (a mark's fields; none for a first read)."""
        saved = saved or {}
        return cls(Lenders(list(saved.get(_LENDERS) or [])),  # type: ignore[call-overload]
                   Refusals(list(saved.get(_REFUSED) or [])))  # type: ignore[call-overload]

    def saved(self) -> dict[str, list[list[object]]]:
        return {_LENDERS: self.lenders.rows, _REFUSED: self.refusals.rows}
