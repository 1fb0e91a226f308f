"""Passwords Dovecot refused on a connection that then logged in.

Dovecot's login process logs a connection once: `auth failed, 3 attempts` when it ends
refused, `Login:` alone when it ends in a login, however many wrong passwords came
first (recordings/dovecot: three wrong, then the right one). With auth_verbose its auth
service logs what it refused, under the connection's session (`passwd-file(alice,ip,
<session>): Password mismatch`), but not one line per password: one per passdb it tried
(a site with two logs `unknown user` from the first before the second accepts the right
password), and a userdb lookup for LMTP looks the same. So those lines are no failures
of their own (a refused connection's line counts its passwords), and a login counts
them: the lines of its session at least `OWN_US` before it (the right password's own
misses come just before), lines less than that apart being one password, are the
login's `auth_attempts`: the passwords refused on its connection first. They count at
the login's time: that is when the guessing is known to have worked.

The lines of connections still open carry to the next block and, through the source's
mark, to the next cron run or follower pass (a client typing passwords by hand spans
passes), for `REFUSAL_REACH_US`; a connection's line from its login process (a login, a
refusal, a client gone) ends it, so that a flood of other connections' refusals does
not push out the lines of one still guessing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import event_is, in_values, plain, to_numpy
from logwatch.parse.carried_lines import CarriedLines
from logwatch.rules_engine.windows import counts_at

__all__ = ["Refusals", "REFUSAL_REACH_US", "OWN_US"]

#: How long before its login a connection's refusals still count: a login process
#: drops a client that has not logged in long before (and no guesser waits that long).
REFUSAL_REACH_US = 10 * 60 * 1_000_000
#: Refusals this close before the login (or to each other) are one password's: the
#: passdbs tried for it, answered at once, where Dovecot answers a wrong password after
#: auth_failure_delay (2 s, the answer flushed on whole seconds) and the next one after
#: its auth penalty for the address (2 s and doubling after each failure): the
#: recording's guesses on one connection are 6 to 17 s apart. Whole-second stamps put a
#: slow second passdb's answer 2 s after the first's miss.
OWN_US = 3_000_000


class Refusals(CarriedLines):
    """Refusal lines of connections that may still log in."""

    COLUMNS = ("host", "session")
    # a login looks back that far from OWN_US before it
    REACH_US = REFUSAL_REACH_US + OWN_US

    def count(self, events: pa.Table, patterns: pa.Array) -> pa.Table:
        """`events` whose logins with a session have, as `auth_attempts`, the passwords
        that lines of `patterns` (pattern names) refused on that session first."""
        refusing = pc.and_(in_values(events.column("pattern"), patterns),
                           pc.is_valid(events.column("session")))
        said = self.with_carried(events.filter(refusing))
        logins = to_numpy(pc.and_(event_is(events, "auth_success"),
                                  pc.is_valid(events.column("session"))))
        if said.num_rows and logins.any():
            events = _counted(events, np.flatnonzero(logins), said)
        # a line of the same MTA's login processes that names the session ends it (after
        # correlation every SMTP row has a session too: not those)
        mtas = pa.array(sorted({str(n).split(":", 1)[0] for n in patterns.to_pylist()}))
        ended = pc.and_(pc.and_(pc.invert(refusing), pc.is_valid(events.column("session"))),
                        in_values(events.column("mta"), mtas))
        if said.num_rows and pc.any(ended).as_py():
            said = said.filter(pc.invert(pc.is_in(_key(said), _key(events.filter(ended)))))
        self.keep(said, events)
        return events


def _key(table: pa.Table) -> pa.Array:
    """Host and session as one text: session ids are a host's (a line without a host,
    from Dovecot's own log file, matches one without)."""
    return pc.binary_join_element_wise(pc.fill_null(plain(table.column("host")), ""),
                                       plain(table.column("session")), "\x1f")


def _counted(events: pa.Table, logins: np.ndarray, said: pa.Table) -> pa.Table:
    """`events` with the logins at rows `logins` given the passwords their sessions'
    refusals in `said` stand for (one per run of lines less than OWN_US apart, those
    within OWN_US before the login left out)."""
    at = pa.array(logins)
    login_ts = events.column("ts").cast(pa.int64()).take(at).to_numpy()
    keys = pc.dictionary_encode(pa.concat_arrays([
        _key(said).cast(pa.string()), _key(events.take(at)).cast(pa.string())]))
    codes = keys.indices.to_numpy()
    said_codes, login_codes = codes[:said.num_rows], codes[said.num_rows:]
    said_ts = said.column("ts").to_numpy()
    order = np.lexsort((said_ts, said_codes))
    c, t = said_codes[order], said_ts[order]
    first = np.concatenate(([True], (c[1:] != c[:-1]) | (t[1:] - t[:-1] >= OWN_US)))
    tried = counts_at(c[first], t[first], np.ones(int(first.sum()), np.int64),
                      login_codes, login_ts - OWN_US, REFUSAL_REACH_US)
    if not tried.any():
        return events
    i = events.schema.get_field_index("auth_attempts")
    mask = np.zeros(events.num_rows, bool)
    mask[logins[tried > 0]] = True
    values = pa.array(np.minimum(tried[tried > 0], np.iinfo(np.int16).max), pa.int16())
    column = pc.replace_with_mask(events.column(i).combine_chunks(), pa.array(mask), values)
    return events.set_column(i, events.schema.field(i), column)
