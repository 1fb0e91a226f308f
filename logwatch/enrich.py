"""Site facts onto the events and messages tables: the columns the rules select on.

DESIGN.md names them: domains, `client_net`, `authenticated`, `client_trusted`,
`sender_local`, `recipient_local` (judged on the recipient as accepted, `orig_recipient`
where present, so an alias or `.forward` to a remote mailbox is not relaying) and
`relayed_external`. Two more serve the credential rules: `auth_failures` (a session's
SASL warning and its `auth=0/1` counter are one failure, not two) and `attempt` (the
SMTP session, or the process for MTAs that fork one per connection, so that a relay
probe to twenty recipients is one attempt); `logins` (successful AUTHs, counted the same
way); on messages, `account` (whose mail it is: SASL user, trusted client or local).

Every per-value judgement runs once per distinct value (`per_value`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import event_is, plain, rows_among, to_numpy
from logwatch.correlate.lifetimes import id_on_host, naming, rows_in_lifetimes
from logwatch.kept import compacted
from logwatch.schema import MESSAGE_SCHEMA, REFUSALS
from logwatch.sitefacts import SiteFacts, domains_of, normalized_senders

__all__ = ["enrich_events", "enrich_messages", "infer_local_domains", "per_value",
           "per_values", "each", "allowlisted", "EVENT_COLUMNS", "MESSAGE_COLUMNS",
           "DERIVED_ROWS", "ENRICHED_MESSAGES", "enrich_events_onto", "changed_messages",
           "clients_taken", "enrichment_key", "refusal_weights"]

#: Bumped when an enriched column comes to mean something else: a history stored
#: enriched by an older release is then enriched again (`enrichment_key`).
ENRICHMENT_VERSION = 2

#: Enriched columns and their types, per table (rule files are checked against them).
EVENT_COLUMNS: dict[str, pa.DataType] = {
    "sender_domain": pa.string(), "recipient_domain": pa.string(),
    "client_net": pa.string(), "authenticated": pa.bool_(), "client_trusted": pa.bool_(),
    "sender_local": pa.bool_(), "recipient_local": pa.bool_(),
    "relayed_external": pa.bool_(), "allowlisted": pa.bool_(),
    "auth_failures": pa.int32(), "logins": pa.int32(), "attempt": pa.string(),
    "message_sender": pa.string(), "message_origin": pa.string(),
}
MESSAGE_COLUMNS: dict[str, pa.DataType] = {
    "sender_domain": pa.string(), "sender_norm": pa.string(), "sender_known": pa.bool_(),
    "sender_local": pa.bool_(), "recipient_domains": pa.list_(pa.string()),
    "client_net": pa.string(), "authenticated": pa.bool_(), "client_trusted": pa.bool_(),
    "recipient_local": pa.bool_(), "relayed_external": pa.bool_(),
    "external_recipients": pa.int32(), "first_deferred": pa.timestamp("us", tz="UTC"),
    "account": pa.string(), "allowlisted": pa.bool_(),
}

#: The messages table with its enriched columns (what live mode keeps between passes).
ENRICHED_MESSAGES = pa.schema(list(MESSAGE_SCHEMA) + [pa.field(n, ty)
                                                      for n, ty in MESSAGE_COLUMNS.items()])

#: Events that prove a successful AUTH when they carry a username (a failure line
#: carries the name that was tried).
_LOGIN_EVENTS = ("received", "auth_success")


def _unanswered(table: pa.Table) -> pa.Array:
    """AUTHs whose password was never judged: failed on our side (`SASL PLAIN
    authentication failed: Connection lost to authentication server`, a warning naming
    its mechanism), abandoned by the client (`*`), refused for its mechanism or left in
    the middle (`lost connection after AUTH`: lines that carry one tried AUTH). They
    weigh nothing, but they are what the disconnect's `auth=0/1` counted: during a
    Dovecot restart every phone would otherwise be failing to log in, and a scanner
    asking whether AUTH is offered would be guessing passwords (fail2ban counts neither)."""
    named = pc.and_(event_is(table, "warning"), pc.is_valid(table.column("sasl_method")))
    left = pc.and_(pc.invert(event_is(table, "disconnect")),
                   pc.fill_null(pc.greater(table.column("auth_tried"), 0), False))
    return pc.or_(named, left)


def _counter(table: pa.Table, name: str) -> pa.Array:
    return pc.and_(event_is(table, "disconnect"),
                   pc.fill_null(pc.greater(table.column(name), 0), False))


#: Per derived column, the rows where it can be non-zero: what a reader must keep for
#: it (see rules_engine.needs).
DERIVED_ROWS: dict[str, Callable[[pa.Table], pa.Array]] = {
    "auth_failures": lambda t: pc.or_(pc.or_(event_is(t, "auth_failure"), _unanswered(t)),
                                      _counter(t, "auth_tried")),
    "logins": lambda t: pc.or_(pc.and_(event_is(t, *_LOGIN_EVENTS),
                                       pc.is_valid(t.column("sasl_username"))),
                               _counter(t, "auth_ok")),
    "relayed_external": lambda t: event_is(t, "delivery"),
}



def per_values(col: pa.Array | pa.ChunkedArray,
               *fns: Callable[[pa.Array], pa.Array]) -> list[pa.Array]:
    """Each of `fns` (of an array) of every value of a string column: asked of its
    distinct values, null among them, and taken back to the rows; the column is encoded
    once for all of them."""
    enc = pc.dictionary_encode(plain(col), null_encoding="encode")
    return [pc.take(fn(enc.dictionary), enc.indices) for fn in fns]


def per_value(col: pa.Array | pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array]
              ) -> pa.Array:
    """`per_values` with one question."""
    return per_values(col, fn)[0]


def each(fn: Callable[[Any], Any], type_: pa.DataType) -> Callable[[pa.Array], pa.Array]:
    """A question about one value (a client address, which `ipaddress` reads) as one
    about an array, for `per_value`."""
    return lambda values: pa.array([fn(v) for v in values.to_pylist()], type_)


def _valid(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.is_valid(plain(col))


def _accepted(table: pa.Table) -> pa.Array:
    """The recipient as the server accepted it: before alias and .forward expansion."""
    return pc.coalesce(plain(table.column("orig_recipient")), plain(table.column("recipient")))


def _is_local_delivery(table: pa.Table) -> pa.Array:
    """Deliveries with no remote address: Postfix's local, virtual, pipe and LMTP over
    a unix socket, Exim's local transports, Sendmail's local mailer."""
    return pc.and_(event_is(table, "delivery"),
                   pc.is_null(table.column("relay_ip")))


def infer_local_domains(events: pa.Table, limit: int = 50) -> list[str]:
    """The domains of recipients delivered here (local transports, status sent): what a
    site with no `local_domains` in its config evidently is. Most frequent first."""
    sent = pc.fill_null(pc.equal(plain(events.column("status")), "sent"), False)
    rows = events.filter(pc.and_(_is_local_delivery(events), sent))
    if not rows.num_rows:
        return []
    domains = per_value(_accepted(rows), domains_of).drop_null()
    counts = pc.value_counts(domains).to_pylist()
    counts.sort(key=lambda c: (-c["counts"], c["values"]))
    return [c["values"] for c in counts[:limit]]


def _with_counter(events: pa.Table, lines: np.ndarray, counted: np.ndarray,
                  told: np.ndarray | None = None) -> pa.Array:
    """What each line of `lines` weighs (mostly one), plus, on a disconnect whose
    `auth=N/M` counter reports `counted` beyond the lines of its session (and the `told`
    ones, which the counter counts but which weigh nothing), the difference: the
    counter and a line are one event, never two, and a counter without lines is not
    lost."""
    out = lines.astype(np.int32)
    told = lines > 0 if told is None else (lines > 0) | told
    session = plain(events.column("session"))
    has_session = _valid(session).to_numpy(zero_copy_only=False)
    disc = (counted > 0) & has_session
    if disc.any():
        enc = pc.dictionary_encode(session)
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
        at = told & has_session
        per_session = np.bincount(codes[at], np.maximum(out[at], 1),
                                  minlength=len(enc.dictionary))
        out[disc] += np.maximum(counted[disc] - per_session[codes[disc]], 0).astype(np.int32)
    return pa.array(out)


def refusal_weights(events: pa.Table) -> np.ndarray:
    """What each row weighs as refused passwords: a refusal the passwords it says were
    refused (Dovecot's `auth failed, 3 attempts`), one where it says none; a login
    those its connection had refused before it (Dovecot's, told by its auth service:
    parse.refusals); anything else none. The rules and the report weigh them alike."""
    attempts = pc.fill_null(events.column("auth_attempts"), 0).to_numpy(
        zero_copy_only=False).astype(np.int32)
    return np.where(to_numpy(event_is(events, "auth_failure")), np.maximum(attempts, 1),
                    np.where(to_numpy(event_is(events, "auth_success")), attempts, 0))


def _auth_counts(events: pa.Table) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(authenticated, auth_failures, logins) per row."""
    ev = plain(events.column("event"))
    has_user = _valid(events.column("sasl_username"))
    authenticated = pc.and_(has_user, pc.is_in(ev, pa.array(_LOGIN_EVENTS)))
    tried = pc.fill_null(events.column("auth_tried"), 0).to_numpy(zero_copy_only=False)
    ok = pc.fill_null(events.column("auth_ok"), 0).to_numpy(zero_copy_only=False)
    failed = refusal_weights(events)
    unanswered = pc.fill_null(_unanswered(events), False).to_numpy(zero_copy_only=False)
    return (authenticated,
            _with_counter(events, failed, (tried.astype(np.int32) - ok).clip(0), unanswered),
            _with_counter(events, authenticated.to_numpy(zero_copy_only=False),
                          ok.astype(np.int32)))


def _attempt(events: pa.Table) -> pa.Array:
    """The session, else host/daemon/pid (Exim and Sendmail fork per connection), else,
    for Exim's mainlog without `+pid`, the client, sender and second: the RCPTs of one
    transaction are logged together."""
    host = pc.fill_null(plain(events.column("host")), "")
    by_pid = pc.binary_join_element_wise(
        host, pc.fill_null(plain(events.column("daemon")), ""),
        pc.cast(events.column("pid"), pa.string()), " ")
    second = pc.cast(pc.divide(events.column("ts").cast(pa.int64()), 1_000_000), pa.string())
    by_transaction = pc.binary_join_element_wise(
        host, plain(events.column("client_ip")),
        pc.fill_null(plain(events.column("sender")), ""), second, " ")
    return pc.coalesce(plain(events.column("session")), by_pid, by_transaction)


def allowlisted(table: pa.Table, facts: SiteFacts, normalized: pa.Array,
                ip: pa.Array | None = None) -> pa.Array:
    """Rows an allowlist exempts: by client address (`ip`, when its answer is known
    already), SASL user or (`normalized`) sender."""
    if ip is None:
        ip = per_value(table.column("client_ip"), each(facts.allows_ip, pa.bool_()))
    user = per_value(table.column("sasl_username"), facts.allowed_users)
    sender = per_value(normalized, facts.allowed_senders)
    return pc.or_(pc.or_(pc.fill_null(ip, False), pc.fill_null(user, False)),
                  pc.fill_null(sender, False))


def _about_clients(table: pa.Table, facts: SiteFacts) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(client_net, client_trusted, allowlisted by address) per row, each distinct client
    address parsed once (`SiteFacts.about_addresses`)."""
    enc = pc.dictionary_encode(plain(table.column("client_ip")), null_encoding="encode")
    return tuple(pc.take(a, enc.indices)   # type: ignore[return-value]
                 for a in facts.about_addresses(enc.dictionary))


def _appended(table: pa.Table, columns: dict[str, pa.Array],
              types: dict[str, pa.DataType]) -> pa.Table:
    for name, values in columns.items():
        table = table.append_column(pa.field(name, types[name]), values.cast(types[name]))
    return table


def _message_context(events: pa.Table, messages: pa.Table | None
                     ) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The sender, origin and client of the message each event row belongs to (a
    delivery line does not repeat its envelope sender, and backscatter is told by it)."""
    n = events.num_rows
    if messages is None or not messages.num_rows:
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    i, m = rows_in_lifetimes(events, messages)
    where = np.full(n, -1, np.int64)
    where[i] = m
    at = pa.array(where, mask=where < 0)
    return tuple(pc.take(plain(messages.column(name)), at)   # type: ignore[return-value]
                 for name in ("sender", "origin", "client_ip"))


def _without_client(events: pa.Table) -> pa.Array:
    """Refusals that name no client: Sendmail refuses a recipient on a line of its own
    (`<x@example.com>... User unknown`) and names the client on the transaction's
    `from=` line, logged after the refusals. They take their message's client."""
    return pc.and_(event_is(events, *REFUSALS),
                   pc.is_null(events.column("client_ip")))


def _with_client(events: pa.Table, client: pa.Array) -> pa.Table:
    """`events` whose refusals without a client have their message's (`client`)."""
    at = events.schema.get_field_index("client_ip")
    field = events.schema.field(at)
    filled = pc.if_else(_without_client(events), client, plain(events.column(at)))
    return events.set_column(at, field, filled.cast(field.type))


def enrich_events(events: pa.Table, facts: SiteFacts,
                  messages: pa.Table | None = None) -> pa.Table:
    """`events` with EVENT_COLUMNS appended (the message columns from `messages`), and
    refusals without a client given their message's."""
    msg_sender, msg_origin, msg_client = _message_context(events, messages)
    events = _with_client(events, msg_client)
    sender_domain, norm = per_values(events.column("sender"), domains_of, normalized_senders)
    accepted_domain = per_value(_accepted(events), domains_of)
    external, recipient_local = per_values(accepted_domain, facts.external_domains,
                                           facts.local_domains)
    external = pc.fill_null(external, False)
    is_delivery = event_is(events, "delivery")
    nets, trusted, ip_allowed = _about_clients(events, facts)
    authenticated, failures, logins = _auth_counts(events)
    return _appended(events, {
        "sender_domain": sender_domain,
        "recipient_domain": per_value(events.column("recipient"), domains_of),
        "client_net": nets,
        "authenticated": authenticated,
        "client_trusted": trusted,
        "sender_local": per_value(sender_domain, facts.local_domains),
        "recipient_local": recipient_local,
        "relayed_external": pc.and_(is_delivery, external),
        "allowlisted": allowlisted(events, facts, norm, ip_allowed),
        "auth_failures": failures,
        "logins": logins,
        "attempt": _attempt(events),
        "message_sender": msg_sender,
        "message_origin": msg_origin,
    }, EVENT_COLUMNS)


def enrichment_key(facts: SiteFacts) -> str:
    """What a history enriched with `facts` by this release is stored under: a run
    that finds the same key enriches only its new rows."""
    made_with = json.dumps([ENRICHMENT_VERSION, facts.key,
                            [(n, str(t)) for n, t in EVENT_COLUMNS.items()]])
    return hashlib.sha256(made_with.encode()).hexdigest()


def enrich_events_onto(rich: pa.Table, events: pa.Table, facts: SiteFacts,
                       messages: pa.Table, changed: pa.Array | None) -> pa.Table:
    """`enrich_events(events, facts, messages)`, when its first rows were enriched
    before, with the same facts, into `rich`: what a follower keeps from pass to pass,
    and what a cron run finds stored.

    Only the rows after those are enriched now, each with the earlier rows of its
    session beside it (a disconnect's AUTH counter counts against its session's
    lines). An earlier row's own columns cannot change, but the message it belongs to
    can: for earlier rows of the messages `changed` names (`id_on_host`: those with
    new lines, kept here or not, or made a child by a new line; None: every earlier
    row, for a history stored a chunk at a time, each as its messages were when it was
    written), the message columns are looked up again, and a refusal without a client
    takes the client its message has now (Sendmail's `from=` line follows the
    refusals: see `clients_taken`).
    """
    done = rich.num_rows
    earlier, new = events.slice(0, done), events.slice(done)
    sessions = pc.unique(plain(new.column("session"))).drop_null()
    context = rows_among(earlier.column("session"), sessions)
    part = pa.concat_tables([earlier.take(pa.array(context)), new]).combine_chunks()
    added = enrich_events(part, facts, messages).slice(len(context))
    again = np.arange(done) if changed is None else np.flatnonzero(
        naming(earlier.column("host"), earlier.column("queue_id"), changed))
    if len(again):
        rows = earlier.take(pa.array(again))
        sender, origin, client = _message_context(rows, messages)
        rich = _replaced(rich, again, {"message_sender": sender, "message_origin": origin})
        # a refusal without a client whose message names one now: the whole row again,
        # since its client decides its network, trust and allow list
        refill = to_numpy(pc.and_(_without_client(rows), pc.is_valid(client)))
        if refill.any():
            redo = enrich_events(rows.filter(pa.array(refill)), facts, messages)
            rich = _replaced(rich, again[refill], {n: redo.column(n) for n in rich.column_names})
    return compacted(pa.concat_tables([rich, added.cast(rich.schema)]))


def clients_taken(events: pa.Table, rich: pa.Table, done: int, changed: pa.Array
                  ) -> np.ndarray:
    """The rows before `done` of `events` (enriched: `rich`) that took a client from a
    message `changed` names: a pass that judges only the groups its new rows reach must
    judge theirs too, as their rows are new to those groups."""
    earlier = events.slice(0, done)
    # the few refusals without a client first: a follower holds hours of rows
    maybe = np.flatnonzero(to_numpy(_without_client(earlier)))
    at = pa.array(maybe)
    took = to_numpy(pc.is_valid(rich.column("client_ip").take(at))) & naming(
        earlier.column("host").take(at), earlier.column("queue_id").take(at), changed)
    return maybe[took]


def _replaced(table: pa.Table, rows: np.ndarray, columns: dict[str, Any]) -> pa.Table:
    """`table` with the values of `columns` at its (ascending) `rows`."""
    mask = np.zeros(table.num_rows, bool)
    mask[rows] = True
    for name, values in columns.items():
        i = table.schema.get_field_index(name)
        col = plain(table.column(i))
        table = table.set_column(i, table.schema.field(i), pc.replace_with_mask(
            col, pa.array(mask), plain(values).cast(col.type)).cast(table.schema.field(i).type))
    return table


def changed_messages(ids: list[pa.Array], links: pa.Table, new: pa.Table) -> pa.Array:
    """The messages (`id_on_host`) that lines changed: those the lines name (`ids`, of
    every line read, kept by the rules or not), and those made a child by a link one
    of the lines made (a link's time is its line's; `new` are the kept lines)."""
    made = links.slice(0, 0)
    if new.num_rows:
        earliest = pc.min(new.column("ts")).cast(links.schema.field("ts").type)
        made = links.filter(pc.greater_equal(links.column("ts"), earliest))
    return pc.unique(pa.chunked_array(
        [*ids, id_on_host(made.column("host"), made.column("child"))],
        pa.string())).drop_null()


def _deliveries(messages: pa.Table, events: pa.Table) -> pa.Table:
    """The delivery rows of each message (column `m`: its index), by key and time."""
    rows = events.filter(event_is(events, "delivery"))
    i, m = rows_in_lifetimes(rows, messages)
    take = pa.array(i)
    return pa.table({"m": pa.array(m), "ts": rows.column("ts").take(take),
                     "accepted": _accepted(rows).take(take),
                     "status": plain(rows.column("status")).take(take)})


def enrich_messages(messages: pa.Table, events: pa.Table, facts: SiteFacts) -> pa.Table:
    """`messages` with MESSAGE_COLUMNS appended; `events` give the per-recipient facts
    (delivery status, accepted recipient) that the messages' lists no longer pair."""
    n = messages.num_rows
    d = _deliveries(messages, events)
    m = d.column("m").to_numpy()
    domain = per_value(d.column("accepted"), domains_of)
    external, local = (pc.fill_null(a, False).to_numpy(zero_copy_only=False) for a in
                       per_values(domain, facts.external_domains, facts.local_domains))
    status = d.column("status")
    sent = pc.fill_null(pc.equal(status, "sent"), False).to_numpy(zero_copy_only=False)
    deferred = pc.fill_null(pc.equal(status, "deferred"), False).to_numpy(zero_copy_only=False)

    has_rcpt = np.bincount(m, minlength=n) > 0
    all_local = np.bincount(m, weights=(~local).astype(np.int64), minlength=n) == 0
    ext_sent = pa.table({"m": d.column("m"), "r": pc.utf8_lower(d.column("accepted"))}).filter(
        pa.array(external & sent)).group_by("m", use_threads=False).aggregate(
        [("r", "count_distinct")])
    external_count = np.zeros(n, np.int32)
    external_count[ext_sent.column("m").to_numpy()] = ext_sent.column("r_count_distinct").to_numpy()

    ts = d.column("ts").cast(pa.int64()).to_numpy()
    first_def = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_def, m[deferred], ts[deferred])

    domains = pa.table({"m": d.column("m"), "d": domain}).filter(pc.is_valid(domain)).group_by(
        "m", use_threads=False).aggregate([("d", "distinct")])
    where = np.full(n, -1, np.int64)
    where[domains.column("m").to_numpy()] = np.arange(domains.num_rows)
    rcpt_domains = pc.take(domains.column("d_distinct"), pa.array(where, mask=where < 0))

    norm, sender_domain = per_values(messages.column("sender"), normalized_senders,
                                     domains_of)
    nets, trusted, ip_allowed = _about_clients(messages, facts)
    return _appended(messages, {
        "sender_domain": sender_domain,
        "sender_norm": norm,
        "sender_known": per_value(norm, facts.known_senders_of),
        "sender_local": per_value(sender_domain, facts.local_domains),
        "recipient_domains": rcpt_domains,
        "client_net": nets,
        "authenticated": _valid(messages.column("sasl_username")),
        "client_trusted": trusted,
        "recipient_local": pa.array(all_local, mask=~has_rcpt),
        "relayed_external": pa.array(external_count > 0),
        "external_recipients": pa.array(external_count),
        "first_deferred": pa.array(first_def, pa.int64(),
                                   mask=first_def == np.iinfo(np.int64).max).cast(
            pa.timestamp("us", tz="UTC")),
        "account": _account(messages, trusted),
        "allowlisted": allowlisted(messages, facts, norm, ip_allowed),
    }, MESSAGE_COLUMNS)


def _account(messages: pa.Table, trusted: pa.Array) -> pa.Array:
    """Who sent the message on whose behalf we relay: the SASL user, else the trusted
    client's address (a web app, a printer), else `local` for mail submitted on this
    host; null for mail from untrusted strangers (not ours to answer for)."""
    ip = plain(messages.column("client_ip"))
    local = pc.equal(plain(messages.column("origin")), "local")
    return pc.coalesce(plain(messages.column("sasl_username")),
                       pc.if_else(pc.fill_null(trusted, False), ip, pa.scalar(None, pa.string())),
                       pc.if_else(pc.fill_null(local, False), "local",
                                  pa.scalar(None, pa.string())))
