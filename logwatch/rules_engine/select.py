"""Field conditions to row masks, with pyarrow kernels (never `eval`, never a loop per row).

A condition on a missing value is false, except the negative tests (`ne`, `not_in`): a
row without a sender is not equal to any sender. A condition on a list field (a
message's `recipient_domains`) holds when it holds of any element, and `ne`, `not_in`
when no element is equal: `recipient_domains = "example.net"` is a message to that
domain among others. `unless` removes the rows where all of its conditions hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain, through_dictionary
from logwatch.rules_engine.fieldtypes import comparison_scalar, text_test
from logwatch.rules_engine.model import Condition

__all__ = ["mask_of", "selected"]


#: the negative tests, and the test each denies
_DENIES = {"ne": "eq", "not_in": "in"}
_TEXT_ONLY = ("contains", "starts_with", "ends_with", "matches")


def _scalar(value: object, type_: pa.DataType) -> pa.Scalar:
    try:
        return comparison_scalar(value, type_)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None


def _one(col: pa.Array, c: Condition) -> pa.Array:
    t = col.type
    if c.op == "null":
        return pc.is_null(col) if c.value else pc.is_valid(col)
    if c.op in ("in", "not_in"):
        values = pa.array([_scalar(v, t).as_py() for v in c.value], t)
        hit = pc.is_in(col, value_set=values)
        return pc.invert(hit) if c.op == "not_in" else hit
    if c.op in _TEXT_ONLY:
        return text_test(c.op, str(c.value))(col)
    fn = {"eq": pc.equal, "ne": pc.not_equal, "gt": pc.greater, "ge": pc.greater_equal,
          "lt": pc.less, "le": pc.less_equal}[c.op]
    return fn(col, _scalar(c.value, t))


def _any_element(col: pa.Array, c: Condition) -> pa.Array:
    """`c` of a list column: whether an element passes it (a negative test: whether none
    fails it), null where the list is."""
    test = c.model_copy(update={"op": _DENIES.get(c.op, c.op)})
    hit = pc.fill_null(_one(pc.list_flatten(col), test), False).to_numpy(zero_copy_only=False)
    found = np.zeros(len(col), bool)
    found[pc.list_parent_indices(col).to_numpy()[hit]] = True
    out = pa.array(found, mask=pc.is_null(col).to_numpy(zero_copy_only=False))
    return pc.invert(out) if c.op in _DENIES else out


def _hits(col: pa.ChunkedArray, c: Condition) -> pa.Array:
    """`_one` over a column, a dictionary column through its dictionary."""
    if c.op == "null":
        return _one(plain(col), c)
    if pa.types.is_list(col.type):
        return _any_element(plain(col), c)
    return through_dictionary(col, lambda values: _one(values, c))


def mask_of(table: pa.Table, conditions: Sequence[Condition]) -> np.ndarray:
    """Rows where every condition holds (all rows for none)."""
    out = np.ones(table.num_rows, bool)
    for c in conditions:
        hit = _hits(table.column(c.field), c)
        fill = c.op in _DENIES
        out &= pc.fill_null(hit, fill).to_numpy(zero_copy_only=False)
    return out


def selected(table: pa.Table, where: Sequence[Condition],
             unless: Sequence[Condition]) -> np.ndarray:
    """Rows matching `where` and not matching all of `unless`."""
    keep = mask_of(table, where)
    if unless:
        keep &= ~mask_of(table, unless)
    return keep
