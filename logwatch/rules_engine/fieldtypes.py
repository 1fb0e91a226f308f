"""What a rule may ask of a field, by the field's type: its tests, the values they take,
and whether it can be a key, a weight, a sum or a time.

Checked when a rule file is loaded: pyarrow finds out only when the rule first runs
(`client_port = { starts_with = "4" }` has no kernel, `group_by = ["recipient_domains"]`
cannot be encoded), and its exception ended the whole run, every other rule with it,
and made a follower fail at every pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TESTS", "kind_of", "describe", "check_test", "comparison_scalar", "check_use",
           "text_test"]

_ORDERED = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "null")
#: the tests each kind of value can answer (a list field: those of its elements)
TESTS: dict[str, tuple[str, ...]] = {
    "text": _ORDERED + ("contains", "starts_with", "ends_with", "matches"),
    "whole": _ORDERED,
    "number": _ORDERED,
    "time": _ORDERED,
    "bool": ("eq", "ne", "in", "not_in", "null"),
}
_NAMES = {"text": "text", "whole": "whole numbers", "number": "numbers", "time": "times",
          "bool": "true or false"}
#: what a value written in a rule must be for each kind (TOML's own types)
_WRITTEN = {"text": "text in quotes", "whole": "a whole number", "number": "a number",
            "time": "a date and time", "bool": "true or false"}
#: what a field named for a purpose must hold: the kinds it may be, and how to say it
_USES: dict[str, tuple[tuple[str, ...], str]] = {
    "key": (tuple(TESTS), "a field of single values (not a list)"),
    "weight": (("whole",), "a field of whole numbers"),
    "sum": (("whole", "number"), "a field of numbers"),
    "time": (("time",), "a field of times"),
}


def _element(type_: pa.DataType) -> pa.DataType:
    """The type of one value: a dictionary's values, a list's elements."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_list(type_):
        type_ = type_.value_type
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def kind_of(type_: pa.DataType) -> str:
    """`text`, `whole`, `number`, `time` or `bool`: of the values (a list's elements)."""
    t = _element(type_)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_integer(t):
        return "whole"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_boolean(t):
        return "bool"
    raise TypeError(f"no rule can use a field of type {t}")


def describe(type_: pa.DataType) -> str:
    """`text`, `whole numbers`, `a list of text`: what a field holds, for messages."""
    name = _NAMES[kind_of(type_)]
    return f"a list of {name}" if pa.types.is_list(type_) else name


def check_test(name: str, type_: pa.DataType, op: str) -> None:
    """ValueError when `op` cannot be asked of the field `name`. A list field answers
    its elements' tests (runner: any element; `ne`, `not_in`: no element)."""
    tests = TESTS[kind_of(type_)]
    if op not in tests:
        raise ValueError(f"{name} holds {describe(type_)}: {op} cannot be asked of it; "
                         f"its tests: {', '.join(tests)}")


def text_test(op: str, text: str) -> Callable[[pa.Array], pa.Array]:
    """The kernel of a test only text takes (`contains`, `starts_with`, `ends_with`,
    `matches`: an RE2 pattern)."""
    return {"contains": lambda a: pc.match_substring(a, text),
            "starts_with": lambda a: pc.starts_with(a, text),
            "ends_with": lambda a: pc.ends_with(a, text),
            "matches": lambda a: pc.match_substring_regex(a, text)}[op]


def comparison_scalar(value: object, type_: pa.DataType) -> pa.Scalar:
    """`value` as one of the field's values (a list field: of its elements), or ValueError
    saying what it must be. TOML's types are taken as written: `"5"` is no number, `5`
    no text, and `true` no number (Python counts it as 1). A fraction is no whole
    number: pyarrow cut `pid >= 3002.5` to `pid >= 3002` without a word."""
    t, kind = _element(type_), kind_of(type_)
    if kind == "whole" and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value} has a fraction: write the whole number meant"
                         if math.isfinite(value) else f"not {_WRITTEN[kind]}")
    fits = {"text": isinstance(value, str), "bool": isinstance(value, bool),
            "whole": isinstance(value, (int, float)) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "time": not isinstance(value, (bool, int, float))}[kind]
    if not fits:
        raise ValueError(f"not {_WRITTEN[kind]}")
    try:
        return pa.scalar(value).cast(t) if kind == "time" else pa.scalar(value, t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
            OverflowError, ValueError):
        raise ValueError(f"not {_WRITTEN[kind]} that fits ({t})") from None


def check_use(name: str, type_: pa.DataType, use: str, known: dict[str, pa.DataType]
              ) -> None:
    """ValueError when the field `name` cannot serve as `use` (key, weight, sum, time),
    naming fields of `known` that can."""
    kinds, wanted = _USES[use]

    def fits(t: pa.DataType) -> bool:
        return kind_of(t) in kinds and not pa.types.is_list(t)

    if fits(type_):
        return
    some = [f for f, t in reversed(known.items()) if fits(t)][:8]   # derived ones first
    raise ValueError(f"{name} holds {describe(type_)}; it must be {wanted}"
                     + (f", like {', '.join(some)}" if use != "key" and some else ""))
