"""How much of the SMTP traffic was encrypted, and what the log cannot tell of it.

Each MTA tells TLS its own way, and the parser definitions say which (`MtaSpec`):
Postfix and Sendmail write a line for each session that started TLS, so a session
without one was plaintext; Exim writes `X=` only on what a session did (a message, a
refusal), so a session that did neither told nothing, and counted as plaintext it made
an Exim server look half unencrypted. Outbound, Exim and Sendmail say a delivery's TLS
by default and Postfix does not (smtp_tls_loglevel 0): only there is a log with no such
line silent rather than plaintext. What a log does not tell is counted apart and said,
never taken for 0.

Sets of session ids, so done in Arrow: pandas compares such strings one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import plain
from logwatch.parse.definitions import MtaSpec
from logwatch.pipeline import default_parsers
from logwatch.report.collect import Collected
from logwatch.report.security import THIS_HOST, shares

__all__ = ["tls_coverage"]

_TLS_NAMES = ["tls_protocol", "tls_cipher"]
#: a handshake with this host's own MTA (Sendmail's submission queue handing over)
_LOOPBACK = r"^\[?(?:127\.|::1\]?$|ipv6:::1|localhost)"
#: what a message's key is, in the messages table and on its received line
_MESSAGE_KEY = ["host", "instance", "queue_id"]


def _specs() -> dict[str, MtaSpec]:
    return {f.mta.name: f.mta for f in default_parsers().files}


def _names(which: Callable[[MtaSpec], bool]) -> pa.Array:
    return pa.array(sorted(n for n, m in _specs().items() if which(m)), pa.string())


def _of(table: pa.Table, which: Callable[[MtaSpec], bool]) -> pa.Array:
    """Whether each row's MTA is one `which` picks."""
    return pc.fill_null(pc.is_in(plain(table["mta"]), _names(which)), False)


def _said(mtas: set[str], note: Callable[[MtaSpec], str | None]) -> str | None:
    """Why these MTAs did not tell something, as the report says it (`Postfix:
    smtp_tls_loglevel 0`); None where none of them says why."""
    specs = _specs()
    return "; ".join(f"{m.capitalize()}: {note(specs[m])}" for m in sorted(mtas)
                     if note(specs[m])) or None


def _first_per_session(tls: pa.Table) -> pa.Table:
    """One TLS row per session (its first): Sendmail's STARTTLS=server and its `from=`
    lines tell one handshake, and the shares are of sessions."""
    rows = pa.table({"session": plain(tls["session"]), "_i": np.arange(tls.num_rows)})
    first = rows.group_by("session", use_threads=False).aggregate([("_i", "min")])
    return tls.take(pa.array(np.sort(first["_i_min"].to_numpy())))


def _key(t: pa.Table) -> dict[str, pa.Array]:
    """A message's key, to join on: a join matches no null, and a native Exim log names
    no host."""
    return {c: pc.fill_null(plain(t[c]), "") for c in _MESSAGE_KEY}


def _tls_of_messages(tls: pa.Table, received: pa.Table) -> pa.Table:
    """The TLS of the messages received over SMTP, each once, from their received
    lines (Exim's `X=` on `<=`), for the MTAs whose sessions log no TLS line of their
    own: their protocols count messages whatever the log_selector (Exim's sessions are
    seen only with +pid, and a session that sent nothing shows no TLS)."""
    rows = tls.filter(pc.and_(pc.and_(pc.equal(plain(tls["event"]), "received"),
                                      pc.is_valid(tls["tls_protocol"])),
                              _of(tls, lambda m: not m.logs_session_tls)))
    keyed = pa.table(_key(rows) | {c: plain(rows[c]) for c in _TLS_NAMES})
    return keyed.join(pa.table(_key(received)), _MESSAGE_KEY, join_type="inner",
                      use_threads=False)


def _sessions(c: Collected) -> tuple[dict[str, Any], pa.Table]:
    """SMTP sessions that started TLS, those whose TLS no line told, and AUTH over
    plaintext (passwords in the clear); and the TLS rows of the sessions."""
    spans, tls = c.sessions, c.tls
    # postscreen's sessions are screening, not SMTP, and Dovecot's are IMAP. The host's
    # own sessions (a content filter re-injecting, Sendmail's submission queue, webmail
    # on the same machine) are not inbound: counted, they halved the share of a
    # filtering server.
    smtp = pc.and_(pc.and_(
        pc.fill_null(pc.not_equal(plain(spans["daemon"]), "postscreen"), True),
        pc.invert(pc.fill_null(pc.is_in(plain(spans["client_ip"]), pa.array(THIS_HOST)),
                               False))), _of(spans, lambda m: m.smtp_sessions))
    inbound = spans.filter(smtp)
    ids = plain(inbound["session"])
    tls_in = tls.filter(pc.is_in(plain(tls["session"]), value_set=ids))
    showing = pa.array(sorted(default_parsers().patterns_with("shows_session_tls")),
                       pa.string())
    # every session of an MTA that logs each one's TLS; else those with a line showing it
    told = pc.unique(pa.concat_arrays([
        ids.filter(_of(inbound, lambda m: m.logs_session_tls)),
        plain(tls_in["session"]).filter(pc.fill_null(
            pc.is_in(plain(tls_in["pattern"]), value_set=showing), False))]))
    with_tls = tls_in.filter(pc.is_valid(tls_in["tls_protocol"]))
    encrypted = pc.unique(plain(with_tls["session"]))
    untold = pc.invert(pc.is_in(ids, value_set=told))
    auth = pc.unique(plain(c.auth["session"]).drop_null())
    auth = auth.filter(pc.is_in(auth, value_set=ids))
    auth_told = auth.filter(pc.is_in(auth, value_set=told))
    return {
        "sessions": len(ids), "tls_sessions": len(encrypted),
        "share": round(len(encrypted) / len(told), 4) if len(told) else None,
        "plaintext_auth_sessions": int(pc.sum(pc.invert(pc.is_in(
            auth_told, value_set=encrypted))).as_py() or 0),
        "tls_unknown_sessions": int(pc.sum(untold).as_py() or 0),
        "auth_tls_unknown_sessions": len(auth) - len(auth_told),
        "tls_unknown_because": _said(set(plain(inbound["mta"]).filter(untold).to_pylist()),
                                     lambda m: m.session_tls_shown_on)}, with_tls


def _inbound(c: Collected, mtas: list[str]) -> dict[str, Any]:
    """The sessions' TLS, the messages received over TLS, and the protocols and
    ciphers, each MTA's counted in its unit: sessions where each logs its TLS, else
    messages (what Exim, which logs no connection by default, can tell)."""
    sessions, with_tls = _sessions(c)
    m = c.messages
    received = m.filter(pc.and_(pc.equal(plain(m["origin"]), "smtp"), pc.is_null(m["parent"])))
    per_session = _first_per_session(with_tls.filter(_of(with_tls,
                                                         lambda s: s.logs_session_tls)))
    counted = pa.concat_tables([pa.table({n: plain(t[n]) for n in _TLS_NAMES}) for t in
                                (per_session, _tls_of_messages(c.tls, received))])
    specs = _specs()
    units = {"session" if specs[n].logs_session_tls else "message"
             for n in mtas if specs[n].smtp_sessions}
    return sessions | {
        "messages": received.num_rows,
        "tls_messages": int(pc.sum(pc.fill_null(received["tls_in"], False)).as_py() or 0),
        "protocols_per": " or ".join(u for u in ("session", "message") if u in units) or None,
        "protocols": shares(counted["tls_protocol"]),
        "ciphers": shares(counted["tls_cipher"])}


def _handshakes_out(tls: pa.Table) -> pa.Table:
    """TLS lines of no inbound session: Postfix's smtp and Sendmail's STARTTLS=client,
    to another host."""
    out = tls.filter(pc.and_(pc.equal(plain(tls["event"]), "tls"), pc.is_null(tls["session"])))
    local = pc.fill_null(pc.match_substring_regex(plain(out["relay"]), _LOOPBACK), False)
    out = out.filter(pc.invert(local))
    return pa.table({c: plain(out[c]) for c in ["mta", *_TLS_NAMES]})


def _tls_on_deliveries(remote: pa.Table) -> pa.Table:
    """The outbound TLS of the MTAs that log it on the delivery (Exim's `X=`), once per
    connection: the recipients it delivered together share the message, host and
    second."""
    rows = remote.filter(pc.and_(_of(remote, lambda m: m.delivery_tls == "delivery"),
                                 pc.is_valid(remote["tls_protocol"])))
    once = pa.table({c: plain(rows[c]) for c in ("mta", "host", "queue_id", "relay_ip", "ts",
                                                 *_TLS_NAMES)}).group_by(
        ["mta", "host", "queue_id", "relay_ip", "ts"], use_threads=False).aggregate(
        [(c, "first") for c in _TLS_NAMES])
    return once.select(["mta", *(f"{c}_first" for c in _TLS_NAMES)]).rename_columns(
        ["mta", *_TLS_NAMES])


def _outbound(c: Collected) -> dict[str, Any]:
    """TLS connections made for deliveries, against SMTP deliveries to another host;
    the deliveries of an MTA that logs no delivery's TLS by default and logged none
    (Postfix at smtp_tls_loglevel 0) are not known to be plaintext: counted apart."""
    d = c.deliveries
    remote = d.filter(pc.fill_null(pc.and_(pc.equal(plain(d["event"]), "delivery"),
                                           pc.is_valid(d["relay_ip"])), False))
    sent = remote.filter(pc.fill_null(pc.equal(plain(remote["status"]), "sent"), False))
    per_mta = {r["values"]: r["counts"]
               for r in pc.value_counts(plain(sent["mta"])).to_pylist()}
    out = pa.concat_tables([_handshakes_out(c.tls), _tls_on_deliveries(remote)],
                           promote_options="permissive")
    specs, logging = _specs(), set(plain(out["mta"]).to_pylist())
    silent = {m for m in per_mta if specs[m].delivery_tls is None and m not in logging}
    unlogged = sum(per_mta[m] for m in silent)
    return {"logged": not unlogged, "tls_connections": out.num_rows,
            "smtp_deliveries": sent.num_rows, "unlogged_deliveries": unlogged,
            "unlogged_because": _said(silent, lambda m: m.delivery_tls_unlogged),
            "protocols_per": "connection",
            "protocols": shares(out["tls_protocol"]), "ciphers": shares(out["tls_cipher"])}


def tls_coverage(c: Collected, mtas: list[str]) -> dict[str, Any]:
    """Inbound and outbound TLS; `mtas`: the MTAs of the input (whose units the
    inbound protocols are counted in)."""
    return {"inbound": _inbound(c, mtas), "outbound": _outbound(c)}
