"""Normalise extracted text into the schema's values, once per distinct value where it costs.

Why per distinct value: a block of a million rows has a few thousand client addresses, a
few dozen reject reasons and a handful of status words. Python's `ipaddress` is the
right tool for RFC 5952 and `::ffff:` unmapping, and costs nothing when it runs on the
dictionary of a column instead of on its rows.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.definitions import ClassifySpec
from logwatch.parse.slicing import substrings
from logwatch.schema import STATUSES

__all__ = ["normalize_ip", "ip_text", "strip_brackets", "empty_to_null", "by_distinct",
           "duration_seconds", "map_status", "classify_rejects", "auth_counts", "lower",
           "numbers"]

_NULL = pa.scalar(None, pa.string())


def by_distinct(arr: pa.Array, fn: Callable[[str], object], out_type: pa.DataType) -> pa.Array:
    """Apply `fn` to each distinct non-null value of `arr` and spread the results."""
    if len(arr) == 0:
        return pa.array([], out_type)
    enc = pc.dictionary_encode(arr)
    results = [fn(v) if v is not None else None for v in enc.dictionary.to_pylist()]
    return pc.take(pa.array(results, out_type), enc.indices)


#: what a decimal capture must be to be read as one
_DECIMAL = r"^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"
#: the largest whole number a column holds: beyond 2**53 a float (pandas, JSON readers
#: in JavaScript) no longer holds it exactly, and no real size or count comes near
_SAFE = 2**53 - 1


def numbers(values: pa.Array, type_: pa.DataType) -> pa.Array:
    """Captured numbers as `type_`; one that is no number, or that the column cannot
    hold, is null. Any local user can write a `postfix/qmgr` line with `logger`, and one
    `size=99999999999999999999` stopped the run, and every cron run after it, which
    read the line again. Each value is looked at only when the whole cast fails
    (checking them all first cost 0.07 s of a million lines' parse)."""
    if pa.types.is_floating(type_):
        try:
            return pc.cast(values, type_)
        except pa.ArrowInvalid:
            return pc.cast(pc.if_else(pc.match_substring_regex(values, _DECIMAL), values,
                                      _NULL), type_)
    limits = np.iinfo(type_.to_pandas_dtype())
    top, bottom = min(int(limits.max), _SAFE), max(int(limits.min), -_SAFE)
    try:
        read = pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        # what fits an int64 is up to 18 digits; the rest is no number it can hold
        fits = pc.match_substring_regex(values, r"^-?[0-9]{1,18}$")
        read = pc.cast(pc.if_else(fits, values, _NULL), pa.int64())
    held = pc.and_(pc.less_equal(read, top), pc.greater_equal(read, bottom))
    return pc.cast(pc.if_else(held, read, pa.scalar(None, pa.int64())), type_)


def empty_to_null(arr: pa.Array) -> pa.Array:
    """RE2 reports an optional group that did not take part as "", not null."""
    return pc.if_else(pc.equal(arr, ""), _NULL, arr)


def strip_brackets(arr: pa.Array) -> pa.Array:
    """`<a@b>` -> `a@b`, `<>` -> "" (the null sender), "" (not logged) -> null."""
    arr = empty_to_null(arr)
    if len(arr) == 0:
        return arr
    bracketed = pc.and_(pc.starts_with(arr, "<"), pc.ends_with(arr, ">"))
    bracketed = pc.fill_null(bracketed, False).to_numpy(zero_copy_only=False)
    if not bracketed.any():
        return arr
    lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    start = bracketed.astype(np.int64)
    inner = substrings(pc.fill_null(arr, ""), start, lengths - 2 * start)
    return pc.if_else(pc.is_null(arr), _NULL, inner)


def lower(arr: pa.Array) -> pa.Array:
    return pc.utf8_lower(arr)


def ip_text(text: str) -> str | None:
    """One address as `client_ip` holds it (see normalize_ip); not an IP: as logged."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if t[:5].lower() == "ipv6:":
        t = t[5:]
    if not t or t.lower() == "unknown":
        return None
    if ":" in t:
        # the C library's formatter is RFC 5952's, and fifty times faster than ipaddress;
        # only its dotted forms (::ffff:a.b.c.d, ::a.b.c.d) need the slow path
        try:
            fast = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, t))
        except OSError:
            return t
        if "." not in fast:
            return fast
    try:
        addr = ipaddress.ip_address(t)
    except ValueError:
        return t  # kept as logged (test suites use placeholders like ip4.ip4.ip4.ip4)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return addr.compressed  # RFC 5952: lower case, longest zero run compressed


_CANONICAL_V4 = r"^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$"


def normalize_ip(arr: pa.Array) -> pa.Array:
    """No brackets, port or `IPv6:` prefix, `::ffff:` unmapped, RFC 5952; `unknown` -> null.

    Addresses already in canonical IPv4 form (nearly all) skip Python entirely.
    """
    arr = empty_to_null(arr)
    if len(arr) == 0:
        return arr
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary
    canonical = pc.match_substring_regex(values, _CANONICAL_V4).to_numpy(zero_copy_only=False)
    todo = np.flatnonzero(~canonical)
    if len(todo):
        fixed = pa.array([ip_text(v) for v in pc.take(values, pa.array(todo)).to_pylist()],
                         pa.string())
        mask = np.zeros(len(values), bool)
        mask[todo] = True
        values = pc.replace_with_mask(values, pa.array(mask), fixed)
    return pc.take(values, enc.indices)


_HMS = re.compile(r"^(?:(\d+)\+)?(\d+):(\d\d):(\d\d)(?:\.\d+)?$")
_UNITS = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def _duration(text: str) -> float | None:
    m = _HMS.match(text)
    if m:
        days = int(m.group(1) or 0)
        return float(days * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60
                     + int(m.group(4)))
    u = _UNITS.match(text)
    if u and text:
        w, d, h, mi, sec = (float(g) if g else 0.0 for g in u.groups())
        return w * 604800 + d * 86400 + h * 3600 + mi * 60 + sec
    try:
        return float(text)
    except ValueError:
        return None


def duration_seconds(arr: pa.Array) -> pa.Array:
    """Sendmail's `delay=1+02:03:04` (days+HH:MM:SS) and Exim's `QT=1d2h3m4s` / `0.123s`
    as seconds."""
    return by_distinct(empty_to_null(arr), _duration, pa.float64())


def map_status(raw: pa.Array, dsn: pa.Array, mapping: dict[str, str]) -> pa.Array:
    """Raw status text onto the closed set; unknown words judged by the DSN's class."""
    known = {k.lower(): v for k, v in mapping.items()}

    def word(text: str) -> str | None:
        t = text.strip().lower()
        if t in STATUSES:
            return t
        first = re.split(r"[\s:(]", t, maxsplit=1)[0]
        return known.get(t) or known.get(first)

    mapped = by_distinct(empty_to_null(raw), word, pa.string())
    cls = pc.utf8_slice_codeunits(pc.fill_null(dsn, ""), 0, 1)
    by_dsn = pc.case_when(
        pc.make_struct(pc.equal(cls, "2"), pc.equal(cls, "4"), pc.equal(cls, "5")),
        "sent", "deferred", "bounced")
    has_raw = pc.is_valid(empty_to_null(raw))
    by_dsn = pc.if_else(has_raw, by_dsn, _NULL)
    return pc.coalesce(mapped, by_dsn)


def classify_rejects(reason: pa.Array, rules: list[ClassifySpec]) -> pa.Array:
    """Reject class of each reason text (first rule that matches; `other` when none)."""
    compiled = [([c.lower() for c in r.contains],
                 re.compile(r.regex, re.I) if r.regex else None, r.reject_class)
                for r in rules]

    def judge(text: str) -> str:
        low = text.lower()
        for contains, rx, cls in compiled:
            if any(c in low for c in contains) or (rx is not None and rx.search(text)):
                return cls
        return "other"

    return by_distinct(reason, judge, pa.string())


_INT16_TOP = int(np.iinfo(np.int16).max)
_AUTH = re.compile(r"(?:^|\s)auth=(\d+)(?:/(\d+))?")


def auth_counts(commands: pa.Array) -> tuple[pa.Array, pa.Array]:
    """`auth=0/1` in Postfix's disconnect counters: (succeeded, tried); `auth=1` is 1/1."""
    def pair(text: str) -> tuple[int, int] | None:
        m = _AUTH.search(text)
        if not m:
            return None
        ok = int(m.group(1))
        tried = int(m.group(2)) if m.group(2) else ok
        # a forged line's counter the columns cannot hold (see `numbers`): none
        return (ok, tried) if max(ok, tried) <= _INT16_TOP else None

    pairs = by_distinct(commands, pair, pa.struct([("ok", pa.int16()), ("tried", pa.int16())]))
    # struct_field, unlike StructArray.field, keeps the nulls of lines without auth=
    return pc.struct_field(pairs, "ok"), pc.struct_field(pairs, "tried")
