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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import event_is, in_values, plain, to_numpy
from logwatch.parse.carried_lines import CarriedLines

__all__ = ["LEND_REACH_US", "Lenders"]

#: How long after the auth service's line the MTA's failure may be logged.
LEND_REACH_US = 20 * 1_000_000
_KEY = ("host", "client_ip")


class Lenders(CarriedLines):
    """Lending lines not yet too old to lend."""

    COLUMNS = (*_KEY, "sasl_username")
    REACH_US = LEND_REACH_US

    def lend(self, events: pa.Table, patterns: pa.Array) -> pa.Table:
        """`events` whose auth failures without a username have the one that a line of
        `patterns` (pattern names) from the same host and client gave just before."""
        lending = pc.and_(in_values(events.column("pattern"), patterns),
                          pc.is_valid(events.column("sasl_username")))
        lending = pc.and_(lending, pc.is_valid(events.column("client_ip")))
        lenders = self.with_carried(events.filter(lending))
        borrowing = to_numpy(pc.and_(pc.and_(event_is(events, "auth_failure"),
                                             pc.is_null(events.column("sasl_username"))),
                                     pc.is_valid(events.column("client_ip"))))
        if lenders.num_rows and borrowing.any():
            events = _filled(events, np.flatnonzero(borrowing), lenders)
        self.keep(lenders, events)
        return events


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
