"""Usernames that an auth service's lines lend to the failures an MTA logs without one.

Postfix before 3.x logs a failed SMTP AUTH as `SASL LOGIN authentication failed:
UGFzc3dvcmQ6`, without the name that was tried; Dovecot, the SASL server behind it,
logs `auth: passwd-file(bob,203.0.113.5): Password mismatch` just before (the reply
waits out its 2 s failure delay, up to 15 s with the auth penalty). Such a line is not a
second failure (it is `info`); its pattern says `lends_username`, and its name fills the
MTA's next failure from the same client on the same host within `LEND_REACH_US`. Without
it a password spray against an older Postfix would show no usernames at all.

The lines of the last `LEND_REACH_US` carry to the next block and, through the source's
mark, to the next cron run or follower pass: the two lines are 2 s apart, and a pass
ends between them as often as not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import event_is, plain, to_numpy

__all__ = ["LEND_REACH_US", "Lenders"]

#: How long after the auth service's line the MTA's failure may be logged.
LEND_REACH_US = 20 * 1_000_000
#: The most lending lines carried (the newest): they go into a source's mark each pass,
#: and a brute force against Dovecot logs hundreds a second.
_MAX_CARRIED = 10_000
_KEY = ("host", "client_ip")


@dataclass
class Lenders:
    """Lending lines not yet too old to lend: `[ts µs, host, client_ip, username]`
    each (a list of lists, so that it is kept in a source's mark as it is)."""

    rows: list[list[object]] = field(default_factory=list)

    def lend(self, events: pa.Table, patterns: pa.Array) -> pa.Table:
        """`events` whose auth failures without a username have the one that a line of
        `patterns` (pattern names) from the same host and client gave just before."""
        lending = pc.and_(pc.is_in(plain(events.column("pattern")), patterns),
                          pc.is_valid(events.column("sasl_username")))
        lending = pc.and_(lending, pc.is_valid(events.column("client_ip")))
        lenders = self._with_carried(events.filter(lending).select(["ts", *_KEY,
                                                                    "sasl_username"]))
        borrowing = to_numpy(pc.and_(pc.and_(event_is(events, "auth_failure"),
                                             pc.is_null(events.column("sasl_username"))),
                                     pc.is_valid(events.column("client_ip"))))
        if lenders.num_rows and borrowing.any():
            events = _filled(events, np.flatnonzero(borrowing), lenders)
        self._keep(lenders, events)
        return events

    def _with_carried(self, new: pa.Table) -> pa.Table:
        ts, host, ip, user = (list(c) for c in zip(*self.rows)) if self.rows else ([],) * 4
        old = pa.table({"ts": pa.array(ts, pa.int64()), "host": pa.array(host, pa.string()),
                        "client_ip": pa.array(ip, pa.string()),
                        "sasl_username": pa.array(user, pa.string())})
        new = pa.table({"ts": new.column("ts").cast(pa.int64()),
                        **{n: plain(new.column(n)) for n in ("host", "client_ip",
                                                             "sasl_username")}})
        return pa.concat_tables([old, new.cast(old.schema)])

    def _keep(self, lenders: pa.Table, events: pa.Table) -> None:
        """The lenders young enough to lend to the next block's failures."""
        if not events.num_rows:
            return
        newest = pc.max(events.column("ts").cast(pa.int64())).as_py()
        if newest is None:
            return
        young = lenders.filter(pc.greater_equal(lenders.column("ts"), newest - LEND_REACH_US))
        young = young.slice(max(0, young.num_rows - _MAX_CARRIED))
        self.rows = [list(r.values()) for r in young.to_pylist()]


def _filled(events: pa.Table, rows: np.ndarray, lenders: pa.Table) -> pa.Table:
    """`events` with the failures at `rows` named by the newest lender of their host
    and client at most LEND_REACH_US before them."""
    at = pa.array(rows)
    borrowers = pa.table({
        "ts": events.column("ts").cast(pa.int64()).take(at),
        **{n: plain(events.column(n)).take(at) for n in _KEY},
        "row": at,
    }).sort_by("ts")
    joined = _keyed(borrowers).join_asof(_keyed(lenders.sort_by("ts")), on="ts",
                                         by=list(_KEY), tolerance=-LEND_REACH_US)
    named = joined.filter(pc.is_valid(joined.column("sasl_username")))
    if not named.num_rows:
        return events
    i = events.schema.get_field_index("sasl_username")
    mask = np.zeros(events.num_rows, bool)
    order = to_numpy(named.column("row"))
    mask[order] = True
    values = named.column("sasl_username").combine_chunks().take(
        pa.array(np.argsort(order, kind="stable")))
    column = pc.replace_with_mask(plain(events.column(i)), pa.array(mask), values)
    return events.set_column(i, events.schema.field(i), column)


def _keyed(table: pa.Table) -> pa.Table:
    """`table` with no null host: the join's keys must not be null, and a line without
    a host (Exim's own logs) is matched by a lender without one."""
    i = table.schema.get_field_index("host")
    return table.set_column(i, "host", pc.fill_null(table.column(i), ""))
