"""Message lifetimes: rows sharing (host, instance, queue id), cut where an id is reused.

A new lifetime starts at a `received` row, after a `removed` row, and after a gap longer
than a queue lifetime. Every one of those rules looks only at a row and the one before
it in its key, so the same rows give the same lifetimes whether they arrive in one batch
or in many: the batch boundary never decides anything. Lifetimes are aggregated with one
Arrow group-by; parent and child messages (content-filter hand-offs, bounces, forwards,
Sendmail's submission queue) are linked through the ids their lines name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import event_is, in_values, plain, rows_among, to_numpy
from logwatch.correlate.lifetimes import PARENT_REACH_US
from logwatch.schema import MESSAGE_SCHEMA, ORIGINS, REFUSALS, STATUSES

__all__ = ["ROW_COLUMNS", "message_rows", "Segmented", "segment", "aggregate", "unlinked",
           "link_parents", "lifetime_key", "links_of",
           "identify", "is_message", "LINK_SCHEMA", "QUEUE_LIFETIME_US"]

#: Longer than any MTA keeps a message queued (Postfix and Sendmail: 5 days by default).
QUEUE_LIFETIME_US = 7 * 86_400 * 1_000_000

#: The event columns message correlation needs, plus `order` (position in the input),
#: `tls` (TLS negotiated in the session so far) and `user` (authenticated in it so far).
ROW_COLUMNS = ["host", "instance", "queue_id", "mta", "ts", "event", "daemon", "client_ip",
               "client_name", "sasl_username", "helo", "sender", "recipient",
               "orig_recipient", "relay", "size", "nrcpt", "message_id", "status",
               "tls_protocol", "protocol", "session", "child_queue_id", "parent_queue_id"]

#: The transmission types of RFC 3848 (ESMTPSA: over TLS, authenticated), as Sendmail's
#: `proto=` and Exim's `P=` write them: what a received line itself says of its
#: connection, against what its session carried (a pid reused by a new connection).
_PROTOCOL = r"(?i)^(?:utf8)?e?smtp(s?)(a?)$"

#: A parent -> child link, with the parent's client as it stood when the link was logged:
#: the child inherits it (DESIGN.md), so a message that came back from a content filter
#: on 127.0.0.1 is still the remote client's message to the rules.
IDENTITY = ("client_ip", "client_name", "sasl_username")
LINK_SCHEMA = pa.schema([("host", pa.string()), ("child", pa.string()),
                         ("parent", pa.string()), ("kind", pa.string()),
                         ("ts", pa.timestamp("us", tz="UTC"))]
                        + [(name, pa.string()) for name in IDENTITY]
                        + [("identified", pa.bool_())])   # the parent's client was found

_DELIVERY_EVENTS = ("delivery", "handoff")


def message_rows(events: pa.Table, order: np.ndarray, tls: np.ndarray,
                 user: pa.Array, early: pa.Array) -> pa.Table:
    """The rows of `events` that belong to a message (they carry a queue id); `early`:
    the patterns whose lines an MTA writes before the received line (`before_received`),
    told on each row as `early`."""
    has = pc.is_valid(events.column("queue_id")).to_numpy(zero_copy_only=False)
    sel = np.flatnonzero(has)
    take = pa.array(sel)
    cols = {name: plain(pc.take(events.column(name), take)) for name in ROW_COLUMNS}
    cols["order"] = pa.array(order[sel], pa.int64())
    cols["tls"] = pa.array(tls[sel], pa.bool_())
    cols["user"] = pc.take(user, take)
    cols["early"] = in_values(pc.take(events.column("pattern"), take), early)
    return pa.table(cols)


@dataclass
class Segmented:
    """Rows sorted by key and time, each with its lifetime number."""

    rows: pa.Table
    lifetime: np.ndarray          # per row
    starts: np.ndarray            # first row of each lifetime
    ends: np.ndarray              # last row (inclusive) of each lifetime
    key_code: np.ndarray          # per row
    keys: pa.Array                # `lifetime_key` of each key code

    def key_of_rows(self, rows: np.ndarray) -> pa.Array:
        return pc.take(self.keys, pa.array(self.key_code[rows]))

    @property
    def count(self) -> int:
        return len(self.starts)


def lifetime_key(rows: pa.Table) -> pa.Array:
    """(host, instance, queue id) as one string: what a lifetime is cut within."""
    return pc.binary_join_element_wise(
        pc.fill_null(plain(rows.column("host")), ""),
        pc.fill_null(plain(rows.column("instance")), ""), plain(rows.column("queue_id")),
        "\x1f")


def segment(rows: pa.Table) -> Segmented:
    """Sort rows by (host, instance, queue id, time, order) and cut them into lifetimes."""
    n = rows.num_rows
    if n == 0:
        empty = np.empty(0, np.int64)
        return Segmented(rows, empty, empty, empty, empty, pa.array([], pa.string()))
    enc = pc.dictionary_encode(lifetime_key(rows))
    code = enc.indices.to_numpy(zero_copy_only=False)
    ts = rows.column("ts").cast(pa.int64()).fill_null(0).to_numpy()
    order = rows.column("order").to_numpy()
    perm = np.lexsort((order, ts, code))
    rows = rows.take(pa.array(perm))
    code, ts = code[perm], ts[perm]
    received = to_numpy(event_is(rows, "received"))
    removed = to_numpy(event_is(rows, "removed"))
    new_key = np.concatenate(([True], code[1:] != code[:-1]))
    after_removed = np.concatenate(([False], removed[:-1]))
    gap = np.concatenate(([False], np.diff(ts) > QUEUE_LIFETIME_US))
    boundary = new_key | after_removed | gap
    # a row a state of an older version kept has no `early`: null, as it was cut then
    before = to_numpy(pc.or_(event_is(rows, *_BEFORE_FROM),
                             pc.fill_null(rows.column("early"), False)))
    boundary |= received & ~_after_refusals_only(boundary | received, before)
    lifetime = np.cumsum(boundary) - 1
    starts = np.flatnonzero(boundary)
    ends = np.concatenate((starts[1:] - 1, [n - 1]))
    return Segmented(rows, lifetime, starts, ends, code, enc.dictionary)


#: What Sendmail logs of a transaction before its `from=` line: the recipients it refused
#: (`nrcpts=0` when it refused them all); when it refused the whole message at the end
#: of DATA, the refusal and who the message would have gone to (`info`); a quarantine
#: or a discard decided then (check_eoh, a milter). Postfix and Exim log none of these
#: before a message's first line.
_BEFORE_FROM = (*REFUSALS, "info", "hold", "discard")


def _after_refusals_only(starts: np.ndarray, refusal: np.ndarray) -> np.ndarray:
    """Rows whose lifetime so far (from the last of `starts` before them) is refusals
    only (`_BEFORE_FROM`, and the lines written before the received one). A `received`
    line begins a lifetime (a reused id), except after those: they are the message's
    that the `from=` line goes on to name."""
    idx = np.arange(len(starts))
    begun = np.maximum.accumulate(np.where(starts, idx, 0))
    others = np.concatenate(([0], np.cumsum(~refusal)))   # rows not refusals before each
    prev = np.maximum(idx - 1, 0)
    return (idx > 0) & (others[idx] == others[begun[prev]])


def links_of(rows: pa.Table, held: pa.Table, known: pa.Table) -> pa.Table:
    """Parent -> child links: named on parent lines (`queued as`, bounce notices,
    forwards) or on the child's own line (Exim's `<= <> R=parent`).

    `rows` are the new message rows, `held` the rows of lifetimes still open before them
    (the parent's `received` row is in one or the other: a parent is open while it hands
    off or bounces) and `known` the links already made (a parent that is itself a child
    passes on what it inherited).
    """
    notices = rows.filter(pc.is_valid(rows.column("child_queue_id")))
    ev = plain(notices.column("event"))
    status = plain(notices.column("status"))
    kind = pc.case_when(
        pc.make_struct(pc.equal(ev, "handoff"), pc.fill_null(pc.equal(status, "forwarded"), False)),
        "reinjected", "forward")
    named = rows.filter(pc.is_valid(rows.column("parent_queue_id")))
    links = pa.concat_tables([
        _links(notices, notices.column("child_queue_id"), notices.column("queue_id"),
               pc.fill_null(kind, "bounce")),
        _links(named, named.column("queue_id"), named.column("parent_queue_id"),
               pa.array(["bounce"] * named.num_rows, pa.string()))])
    return identify(links, pa.concat_tables([held, rows]), known)


def _host(rows: pa.Table) -> pa.Array:
    """The host as links are joined on it: empty, not null, where the log names none
    (Exim's own mainlog), since null keys never meet in a join."""
    return pc.fill_null(plain(rows.column("host")), "")


def _links(rows: pa.Table, child: pa.ChunkedArray, parent: pa.ChunkedArray,
           kind: pa.Array) -> pa.Table:
    """Links of the lines `rows`, their parent's client still to be found."""
    n = rows.num_rows
    return pa.table({"host": _host(rows), "child": child, "parent": parent,
                     "kind": kind, "ts": rows.column("ts"),
                     **{name: pa.nulls(n, pa.string()) for name in IDENTITY},
                     "identified": pa.array(np.zeros(n, bool))}, schema=LINK_SCHEMA)


def identify(links: pa.Table, pool: pa.Table, known: pa.Table) -> pa.Table:
    """Fill the parent's client on `links`: inherited through `known` links first, else
    the parent's `received` row in `pool`, else what the links already hold.

    Called again when a part read apart is joined to what came before it: for links
    whose parent was received in the earlier part, or whose parent's session user was
    only known there (the part's rows are patched by then).
    """
    if not links.num_rows:
        return links
    inherited = _inherited_identity(links, known)
    own = _received_identity(links, pool)
    held = links.column("identified")
    cols = {}
    for name in IDENTITY:
        cols[name] = pc.if_else(inherited["found"], inherited[name],
                                pc.if_else(own["found"], own[name], links[name]))
    cols["identified"] = pc.or_(pc.or_(inherited["found"], held), own["found"])
    for name, values in cols.items():
        links = links.set_column(links.schema.get_field_index(name), LINK_SCHEMA.field(name),
                                 values)
    return links


def _nearest_before(links: pa.Table, pool: pa.Table, keys: list[str],
                    pool_ts: str) -> pa.Table:
    """For each link (in order), the `pool` row with equal `keys` latest at or before
    the link's time (`found` false where there is none)."""
    probe = pa.table({"link": pa.array(np.arange(links.num_rows)), "host": links["host"],
                      "qid": links["parent"], "at": links["ts"]})
    # the pool rows of the ids asked: a follower's pool holds a day of links, or hours
    # of rows
    pool = pool.filter(in_values(pool.column(keys[1]), plain(links["parent"])))
    j = probe.join(pool, keys=["host", "qid"], right_keys=keys, join_type="inner",
                   use_threads=False)
    j = j.filter(pc.less_equal(j.column(pool_ts), j.column("at")))
    j = j.sort_by([("link", "ascending"), (pool_ts, "descending")])
    link = to_numpy(j.column("link"))
    first = np.flatnonzero(np.concatenate(([True], link[1:] != link[:-1]))) if len(link) else link
    pos = np.full(links.num_rows, -1, np.int64)
    pos[link[first]] = first
    cols = {"found": pa.array(pos >= 0)}
    for name in IDENTITY:
        cols[name] = _take_at(plain(j.column(name)), pos)
    return pa.table(cols)


def _said(rows: pa.Table, group: int) -> pa.Array:
    """Whether each row's protocol says it was not over TLS (group 1) or not
    authenticated (group 2); false where it says nothing (Postfix, a local submission)."""
    proto = plain(rows.column("protocol"))
    said = pc.match_substring_regex(proto, _PROTOCOL)
    part = pc.replace_substring_regex(proto, _PROTOCOL, f"\\{group}")
    return pc.fill_null(pc.and_(said, pc.equal(part, "")), False)


def session_user(rows: pa.Table) -> pa.Array:
    """The user of each row: its own, else its session's, unless its protocol says it
    did not authenticate (Sendmail logs AUTH on a line of its own, in the session)."""
    inherited = pc.if_else(_said(rows, 2), pa.scalar(None, pa.string()), plain(rows["user"]))
    return pc.coalesce(plain(rows["sasl_username"]), inherited)


def _received_identity(links: pa.Table, pool: pa.Table) -> pa.Table:
    """The client of each link's parent, from the parent's `received` row."""
    recv = pool.filter(pc.equal(plain(pool.column("event")), "received"))
    recv = pa.table({"host": _host(recv), "queue_id": recv["queue_id"], "ts": recv["ts"],
                     "client_ip": recv["client_ip"], "client_name": recv["client_name"],
                     "sasl_username": session_user(recv)})
    return _nearest_before(links, recv, ["host", "queue_id"], "ts")


def _inherited_identity(links: pa.Table, known: pa.Table) -> pa.Table:
    """What each link's parent inherited itself, as the child of an earlier link."""
    pool = known.select(["host", "child", "ts", *IDENTITY]).rename_columns(
        ["host", "child", "link_ts", *IDENTITY])
    return _nearest_before(links, pool, ["host", "child"], "link_ts")


_NONE = np.iinfo(np.int64).max


def _first_where(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per segment, the position of the first row where `mask` holds (-1: none)."""
    pos = np.where(mask, np.arange(len(mask), dtype=np.int64), _NONE)
    first = np.minimum.reduceat(pos, starts)
    return np.where(first == _NONE, -1, first)


def _take_at(col: pa.Array, pos: np.ndarray) -> pa.Array:
    return pc.take(plain(col), pa.array(pos, mask=pos < 0))


def _distinct_lists(values: pa.Array, mask: np.ndarray, seg_of: np.ndarray,
                    count: int) -> pa.Array:
    """Per segment, the distinct non-null `values` where `mask`, in order of appearance."""
    keep = mask & to_numpy(pc.is_valid(values))
    rows = np.flatnonzero(keep)
    if not len(rows):
        return pa.ListArray.from_arrays(pa.array(np.zeros(count + 1, np.int32)),
                                        pa.array([], pa.string()))
    enc = pc.dictionary_encode(pc.take(plain(values), pa.array(rows)))
    codes = to_numpy(enc.indices).astype(np.int64)
    combined = seg_of[rows] * (len(enc.dictionary) + 1) + codes
    _, first = np.unique(combined, return_index=True)
    first = np.sort(first)
    owner = seg_of[rows[first]]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=count))))
    items = pc.take(enc.dictionary, pa.array(codes[first]))
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), items)


def _final_status(ev: pa.Array, status: pa.Array, recipient: pa.Array, seg_of: np.ndarray,
                  count: int) -> pa.Array:
    """Each lifetime's outcome from the last status of each of its recipients.

    Precedence, most telling first: expired, still deferred, bounced, verification
    results, delivered; a lifetime with rejects and no delivery is `rejected`.
    """
    is_delivery = to_numpy(pc.is_in(ev, pa.array(list(_DELIVERY_EVENTS))))
    rows = np.flatnonzero(is_delivery & to_numpy(pc.is_valid(status)))
    out = np.full(count, -1, np.int64)
    codes = {s: i for i, s in enumerate(STATUSES)}
    has_reject = np.zeros(count, bool)
    has_reject[seg_of[to_numpy(pc.equal(ev, "reject"))]] = True
    if len(rows):
        rc = to_numpy(pc.dictionary_encode(pc.fill_null(pc.take(recipient, pa.array(rows)), ""))
                 .indices).astype(np.int64)
        st = to_numpy(pc.index_in(pc.take(status, pa.array(rows)), value_set=pa.array(STATUSES)))
        key = seg_of[rows] * (rc.max() + 1) + rc
        # last row of each (lifetime, recipient): rows are in time order
        last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]
        owner = seg_of[rows[last]]
        final = st[last]
        flag = {s: np.zeros(count, bool) for s in STATUSES}
        for s, i in codes.items():
            flag[s][owner[final == i]] = True
        for s, mask in (("sent", flag["sent"] | flag["forwarded"]),
                        ("deliverable", flag["deliverable"]),
                        ("undeliverable", flag["undeliverable"]),
                        ("bounced", flag["bounced"]), ("deferred", flag["deferred"]),
                        ("expired", flag["expired"])):
            out[mask] = codes[s]
    out[(out < 0) & has_reject] = codes["rejected"]
    return pa.DictionaryArray.from_arrays(pa.array(out.astype(np.int32), mask=out < 0),
                                          pa.array(STATUSES))


def link_parents(messages: pa.Table, links: pa.Table) -> pa.Table:
    """`messages` with the parent a link names for them: the link naming the message's
    id on the same host nearest in time (within a day) sets `parent`, `origin` (how it
    came from it) and the parent's client; without one, the message keeps its own.

    Kept apart from `aggregate` because a link can be logged after its child is over:
    a lifetime waiting out the grace is aggregated once and linked again as links come.
    """
    count = messages.num_rows
    if not links.num_rows or not count:
        return messages
    # only messages some link names as its child are joined: a follower links hours of
    # messages, most of them nobody's child, against a day of links, every pass
    named = rows_among(messages.column("queue_id"), plain(links.column("child")))
    if not len(named):
        return messages
    rows = pa.array(named)
    probe = pa.table({"lt": rows, "host": _host(messages).take(rows),
                      "child": messages.column("queue_id").take(rows),
                      "first": messages.column("first_seen").take(rows)})
    j = probe.join(links, keys=["host", "child"], join_type="inner", right_suffix="_l",
                   use_threads=False)
    if not j.num_rows:
        return messages
    dist = pc.abs(pc.subtract(j.column("ts").cast(pa.int64()), j.column("first").cast(pa.int64())))
    j = j.append_column("dist", dist).filter(pc.less_equal(dist, PARENT_REACH_US))
    if not j.num_rows:
        return messages
    j = j.sort_by([("lt", "ascending"), ("dist", "ascending")])
    lt = to_numpy(j.column("lt"))
    pick = pa.array(np.flatnonzero(np.concatenate(([True], lt[1:] != lt[:-1]))))
    mask = np.zeros(count, bool)
    mask[lt[pick.to_numpy()]] = True
    linked = pa.array(mask)
    order = np.full(count, -1, np.int64)
    order[lt[pick.to_numpy()]] = np.arange(len(pick))
    at = pa.array(order, mask=order < 0)

    def taken(name: str) -> pa.Array:
        return pc.take(pc.take(plain(j.column(name)), pick), at)

    origin = pc.if_else(linked, taken("kind"), plain(messages.column("origin")))
    new = {"parent": pc.if_else(linked, taken("parent"), plain(messages.column("parent"))),
           "origin": pa.DictionaryArray.from_arrays(
               pc.index_in(origin, value_set=pa.array(ORIGINS)), pa.array(ORIGINS)),
           **{name: pc.if_else(linked, taken(name), plain(messages.column(name)))
              for name in IDENTITY}}
    for name, values in new.items():
        i = messages.schema.get_field_index(name)
        field = messages.schema.field(name)
        messages = messages.set_column(i, field, values.cast(field.type))
    return messages


#: Events that only a message has. Sendmail and Exim give an id to a transaction before
#: it is accepted, so an id whose lines are only AUTH failures, rejects or a dropped
#: connection is a session's, not a message's, and gets no row.
MESSAGE_EVENTS = ("received", "queued", "delivery", "handoff", "removed", "bounce",
                  "message_id", "hold", "discard")


def is_message(seg: Segmented) -> np.ndarray:
    """Per lifetime: whether any of its rows is a message's event."""
    if not seg.count:
        return np.zeros(0, bool)
    rows = to_numpy(pc.is_in(plain(seg.rows.column("event")), pa.array(MESSAGE_EVENTS)))
    return np.add.reduceat(rows.astype(np.int64), seg.starts) > 0


def aggregate(seg: Segmented, which: np.ndarray, links: pa.Table) -> pa.Table:
    """The messages table rows of the lifetimes `which` (sorted indices into seg's)."""
    return link_parents(unlinked(seg, which), links)


def unlinked(seg: Segmented, which: np.ndarray) -> pa.Table:
    """The messages of the lifetimes `which` from their own lines only: before
    `link_parents` gives a child its parent and the parent's client."""
    count = len(which)
    if not count:
        return MESSAGE_SCHEMA.empty_table()
    lengths = seg.ends[which] - seg.starts[which] + 1
    idx = np.concatenate([np.arange(a, b + 1) for a, b in
                          zip(seg.starts[which], seg.ends[which])]) if count < 64 else \
        np.flatnonzero(np.isin(seg.lifetime, which))
    rows = seg.rows.take(pa.array(idx))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths - 1
    seg_of = np.repeat(np.arange(count), lengths)
    col = {name: plain(rows.column(name)) for name in rows.column_names}
    ev = col["event"]
    status = col["status"]
    is_recv = to_numpy(pc.equal(ev, "received"))
    is_queued = to_numpy(pc.equal(ev, "queued"))
    is_delivery = to_numpy(pc.is_in(ev, pa.array(list(_DELIVERY_EVENTS))))
    valid = {name: to_numpy(pc.is_valid(col[name])) for name in
             ("sender", "size", "nrcpt", "message_id", "parent_queue_id", "client_ip",
              "tls_protocol")}
    first_recv = _first_where(is_recv, starts)
    sender_pos = _first_where(is_queued & valid["sender"], starts)
    for fallback in (_first_where(is_recv & valid["sender"], starts),
                     _first_where(valid["sender"], starts)):
        sender_pos = np.where(sender_pos < 0, fallback, sender_pos)

    def counts(mask: np.ndarray) -> pa.Array:
        return pa.array(np.add.reduceat(mask.astype(np.int64), starts).astype(np.int32))

    def any_of(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.int64), starts) > 0

    st = lambda *names: to_numpy(pc.fill_null(pc.is_in(status, pa.array(list(names))), False))  # noqa: E731
    size = to_numpy(pc.fill_null(col["size"], -1)).astype(np.int64)
    max_size = np.maximum.reduceat(size, starts)
    session_tls = to_numpy(col["tls"]) & ~to_numpy(_said(rows, 1))
    tls_in = any_of(is_recv & (session_tls | valid["tls_protocol"]))
    recv_smtp = any_of(is_recv & valid["client_ip"])
    recv_local = any_of(is_recv & ~valid["client_ip"])
    verify = any_of(st("deliverable", "undeliverable"))
    first_seen = pc.take(col["ts"], pa.array(starts))
    host = pc.take(col["host"], pa.array(starts))
    qid = pc.take(col["queue_id"], pa.array(starts))
    named = _take_at(col["parent_queue_id"], _first_where(valid["parent_queue_id"], starts))
    received_kind = np.where(recv_smtp, "smtp", np.where(recv_local, "local", None))
    # a probe that came in (`sendmail -bv` through pickup) is a submission, as pflogsumm
    # counts it; one the verify daemon made itself has no line of coming in
    origin = pc.coalesce(pc.if_else(pc.is_valid(named), "bounce", pa.scalar(None, pa.string())),
                         pa.array(received_kind, pa.string()),
                         pa.array(np.where(verify, "verify", None), pa.string()))
    out = {
        "host": host, "instance": pc.take(col["instance"], pa.array(starts)), "queue_id": qid,
        "mta": pc.take(col["mta"], pa.array(starts)).dictionary_encode(),
        "first_seen": first_seen, "last_seen": pc.take(col["ts"], pa.array(ends)),
        "origin": pa.DictionaryArray.from_arrays(pc.index_in(origin, value_set=pa.array(ORIGINS)),
                                                 pa.array(ORIGINS)),
        "parent": named,
        "client_ip": _take_at(col["client_ip"], first_recv),
        "client_name": _take_at(col["client_name"], first_recv),
        # the user on the received line (Postfix, Exim) or authenticated in its session
        # before it (Sendmail logs AUTH on a line of its own)
        "sasl_username": _take_at(session_user(rows), first_recv),
        "sender": _take_at(col["sender"], sender_pos),
        "size": pa.array(max_size, mask=max_size < 0),
        "nrcpt": _take_at(col["nrcpt"], _first_where(valid["nrcpt"], starts)),
        "message_id": _take_at(col["message_id"], _first_where(valid["message_id"], starts)),
        "recipients": _distinct_lists(col["recipient"], is_delivery, seg_of, count),
        "orig_recipients": _distinct_lists(col["orig_recipient"], is_delivery, seg_of, count),
        "delivered": counts(st("sent", "forwarded")),
        "deferred": counts(st("deferred")),
        "bounced": counts(st("bounced", "undeliverable")),
        "expired": counts(st("expired")),
        "status": _final_status(ev, status, col["recipient"], seg_of, count),
        # Postfix's `relay=none`: no server was reached (a timeout, a bounce made here)
        "relays": _distinct_lists(col["relay"], is_delivery & ~to_numpy(pc.fill_null(
            pc.equal(col["relay"], "none"), False)), seg_of, count),
        "tls_in": pa.array(tls_in),
        "session": _take_at(col["session"], first_recv),
        "helo": _take_at(col["helo"], first_recv),
        "rejected": counts(to_numpy(pc.equal(ev, "reject"))),
    }
    arrays = [out[f.name] if out[f.name].type == f.type else out[f.name].cast(f.type)
              for f in MESSAGE_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=MESSAGE_SCHEMA)
