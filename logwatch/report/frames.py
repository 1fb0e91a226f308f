"""The collected tables as pandas frames, with the site's clock and pflogsumm's addresses.

Hours and days are bucketed in the site's zone (pflogsumm reads the local stamps as
written); addresses are compared the way pflogsumm compares them (domain part lower
case, the whole address with `--ignore-case`, `--verp-mung` and `-m` applied), so that
counts of senders and recipients can be checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from logwatch.correlate.lifetimes import parents_of, rows_in_lifetimes
from logwatch.enrich import refusal_weights
from logwatch.report.collect import Collected

__all__ = ["Frames", "frames_of", "address_key", "domain_key", "sender_key", "per_value"]

_VERP1 = re.compile(r"((?:bounce[ds]?|no(?:list|reply|response)|return|sentto|\d+).*?)"
                    r"(?:[+_.*-]\d+\b)+", re.I)
_VERP2 = re.compile(r"[*-](\d+[*-])?[^=*-]+[=*][^@]+@")


#: a UUCP bang path a gateway made of an Internet address: `origin.dom!user@gateway`
_BANG_PATH = re.compile(r"^(.*!)*([^!]+)!([^!@]+)@([^.]+)$")


def address_key(addr: str | None, verp: int = 0, ignore_case: bool = False,
                uucp: bool = False) -> str | None:
    """An address as pflogsumm counts it: domain in lower case, or all of it with
    --ignore-case (most sites' local parts are case-blind, and a sender spelling
    `Alice` and `alice` is one); VERP tags folded with --verp-mung (1: numbers, 2: also
    the encoded recipient); with --uucp-mung, a bang path turned back into the address
    it came from, first, as pflogsumm's -m does (`gateway!user@origin.dom`), so that
    its domain counts as the origin's."""
    if not isinstance(addr, str):     # None, or NaN from a categorical
        return None
    if uucp and (m := _BANG_PATH.match(addr)):
        addr = f"{m[4]}!{m[1] or ''}{m[3]}@{m[2]}"
    local, at, domain = addr.rpartition("@")
    key = addr.lower() if ignore_case else f"{local}@{domain.lower()}" if at else addr
    if verp:
        key = _VERP1.sub(r"\1-ID", key, count=1)
        if verp > 1:
            key = _VERP2.sub("@", key, count=1)
    return key


def domain_key(addr: str | None) -> str | None:
    """The domain of an address, lower case; none of a bare local name (Sendmail's
    submission program logs `to=root`), which pflogsumm would count as a domain of its
    own: a local user is in no domain the log names (Postfix and Exim name one)."""
    if not isinstance(addr, str):
        return None
    _, at, domain = addr.rpartition("@")
    return domain.lower() if at else None


def sender_key(addr: str | None, verp: int = 0, ignore_case: bool = False,
               uucp: bool = False) -> str | None:
    """pflogsumm writes the null sender as `from=<>`."""
    return "from=<>" if addr == "" else address_key(addr, verp, ignore_case, uucp)


def per_value(values: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """`fn` of each distinct string (missing values stay None): a report's columns
    repeat a few thousand addresses over millions of rows, so never call per row. A
    categorical (a dictionary column) is answered from its categories as they are."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="object")


@dataclass
class Frames:
    deliveries: pd.DataFrame
    rejects: pd.DataFrame
    auth: pd.DataFrame
    sessions: pd.DataFrame
    connects: pd.DataFrame
    screen: pd.DataFrame
    filtered: pd.DataFrame
    problems: pd.DataFrame
    in_clear: pd.DataFrame
    connect_failures: pd.DataFrame
    received: pd.DataFrame
    messages: pd.DataFrame
    zone: str

    @cached_property
    def failures(self) -> pd.DataFrame:
        """The auth rows that refused passwords, each with the `weight` of those
        (Dovecot's `auth failed, 3 attempts`; a login after passwords its connection had
        refused), as the credential rules weigh them: asked by several sections."""
        a = self.auth
        weight = refusal_weights(pa.table({
            "event": pa.array(a["event"], pa.dictionary(pa.int32(), pa.string()),
                              from_pandas=True),
            "auth_attempts": pa.array(a["auth_attempts"], pa.int16(), from_pandas=True)}))
        return a.assign(weight=weight)[weight > 0]


def _frame(table: pa.Table, zone: str, stamps: tuple[str, ...] = ("ts",)) -> pd.DataFrame:
    df = table.to_pandas()
    for col in stamps:
        df[col] = df[col].dt.tz_convert(zone)
    return df


def frames_of(c: Collected, zone: str) -> Frames:
    return Frames(
        deliveries=_in_lifetimes(_frame(c.deliveries, zone), c.deliveries, c.messages),
        rejects=_frame(c.rejects, zone),
        auth=_frame(c.auth, zone),
        sessions=_frame(c.sessions, zone, ("start", "end")),
        connects=_frame(c.connects, zone),
        screen=_frame(c.screen, zone),
        filtered=_frame(c.filtered, zone),
        problems=_frame(c.problems, zone, ()), in_clear=_frame(c.in_clear, zone),
        connect_failures=_frame(c.connect_failures, zone, ()),
        received=_in_lifetimes(_frame(c.received, zone), c.received, c.messages),
        messages=_with_parents(_frame(c.messages, zone, ("first_seen", "last_seen")),
                               c.messages),
        zone=zone)


def _in_lifetimes(df: pd.DataFrame, rows: pa.Table, messages: pa.Table) -> pd.DataFrame:
    """`lifetime_row`: the row of `messages` whose lifetime each row lies in (-1: none),
    as every other stage finds it (`rows_in_lifetimes`)."""
    return df.assign(lifetime_row=_pointing(len(df), *rows_in_lifetimes(rows, messages)))


def _with_parents(df: pd.DataFrame, messages: pa.Table) -> pd.DataFrame:
    """`parent_row`: the row of each child's parent lifetime (-1: none), as evidence and
    trace find it (`parents_of`)."""
    return df.assign(parent_row=_pointing(len(df), *parents_of(messages)))


def _pointing(n: int, rows: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Per row of `n`, the row it points `to` (-1: none)."""
    out = np.full(n, -1, np.int64)
    out[rows] = to
    return out
