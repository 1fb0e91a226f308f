"""Which message lifetime a line belongs to: the same (host, instance, queue id), and a
time inside the lifetime. Queue ids are reused (Postfix's within hours on a busy
server), so the id alone names the wrong message; every stage that takes a line to its
message (enrichment, evidence, trace) asks here."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import in_values, plain, rows_among, to_numpy

__all__ = ["KEY", "PARENT_REACH_US", "rows_in_lifetimes", "parents_of", "id_on_host", "naming"]

_SEP = "\x1f"

KEY = ("host", "instance", "queue_id")

#: How far from its parent's lifetime a child may begin: a day, since queue ids are
#: reused and only the lifetime nearest the child is its parent.
PARENT_REACH_US = 86_400 * 1_000_000


def _keyed(table: pa.Table, extra: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Table:
    return pa.table({**{k: pc.fill_null(plain(table.column(k)), "") for k in KEY}, **extra})


def rows_in_lifetimes(rows: pa.Table, lifetimes: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(row index, lifetime index) for each row of `rows` (KEY and `ts`) that lies in a
    lifetime of `lifetimes` (KEY, `first_seen`, `last_seen`), in the rows' order. Rows
    without a queue id belong to none."""
    if not rows.num_rows or not lifetimes.num_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    with_id = pc.is_valid(rows.column("queue_id"))
    left = _keyed(rows, {"_r": pa.array(np.arange(rows.num_rows)), "ts": rows.column("ts")})
    left = left.filter(with_id)
    # the lifetimes of the ids the rows name: a follower asks of a pass's new rows
    # against the hours of messages it holds
    named = pa.array(rows_among(lifetimes.column("queue_id"),
                                pc.unique(plain(rows.column("queue_id"))).drop_null()))
    cand = lifetimes.select([*KEY, "first_seen", "last_seen"]).take(named)
    right = _keyed(cand, {"_l": named, "_first": cand.column("first_seen"),
                          "_last": cand.column("last_seen")})
    j = left.join(right, keys=list(KEY), join_type="inner", use_threads=False)
    j = j.filter(pc.and_(pc.greater_equal(j.column("ts"), j.column("_first")),
                         pc.less_equal(j.column("ts"), j.column("_last"))))
    r, life = j.column("_r").to_numpy(), j.column("_l").to_numpy()
    order = np.argsort(r, kind="stable")     # in the rows' order, whatever the join's
    return r[order].astype(np.int64), life[order].astype(np.int64)


def parents_of(messages: pa.Table, children: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(child, parent) row pairs of `messages`, by child, for the rows `children` (all:
    None) that name a parent: the lifetime of the id named, on the child's host (any
    instance: a hand-off can cross them), nearest the child's first line. Evidence,
    trace and report all ask here, so that they agree on which lifetime of a reused id
    is the parent."""
    rows = np.arange(messages.num_rows) if children is None else np.asarray(children)
    named = rows[to_numpy(pc.is_valid(messages.column("parent").take(pa.array(rows))))]
    if not len(named):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    messages = messages.select(["host", "queue_id", "parent", "first_seen", "last_seen"])
    kids = messages.take(pa.array(named))
    probe = pa.table({"child": pa.array(named),
                      "at": kids.column("first_seen").cast(pa.int64()),
                      "key": id_on_host(kids.column("host"), kids.column("parent"))})
    # the lifetimes of the ids named (a follower holds hours of others)
    maybe = rows_among(messages.column("queue_id"), pc.unique(plain(kids.column("parent"))))
    cand = messages.take(pa.array(maybe))
    lives = pa.table({"parent": pa.array(maybe),
                      "key": id_on_host(cand.column("host"), cand.column("queue_id")),
                      "first": cand.column("first_seen").cast(pa.int64()),
                      "last": cand.column("last_seen").cast(pa.int64())})
    j = probe.join(lives, keys="key", join_type="inner", use_threads=False)
    dist = pc.max_element_wise(pc.subtract(j["first"], j["at"]),
                               pc.subtract(j["at"], j["last"]), 0)
    j = j.append_column("dist", dist).filter(pc.and_(
        pc.less_equal(dist, PARENT_REACH_US), pc.not_equal(j["child"], j["parent"])))
    j = j.sort_by([("child", "ascending"), ("dist", "ascending")])
    child, parent = to_numpy(j["child"]).astype(np.int64), to_numpy(j["parent"]).astype(np.int64)
    first = np.concatenate(([True], child[1:] != child[:-1])) if len(child) else \
        np.zeros(0, bool)
    return child[first], parent[first]


def id_on_host(host: pa.ChunkedArray | pa.Array, queue_id: pa.ChunkedArray | pa.Array
               ) -> pa.Array:
    """A queue id and its host as one string (null without an id): what names a
    message where its lifetime does not matter, as in a link (which has no instance)."""
    return pc.binary_join_element_wise(pc.fill_null(plain(host), ""), plain(queue_id), _SEP)


def naming(host: pa.ChunkedArray | pa.Array, queue_id: pa.ChunkedArray | pa.Array,
           ids: pa.Array) -> np.ndarray:
    """Per row: whether its message (`id_on_host`) is one of `ids`. The queue id alone
    is asked first, the host only of the rows it lets through: a follower asks this of
    every row it holds on every pass, and joining host and id for each of them cost
    more than the test."""
    qid = plain(queue_id)
    wanted = pc.list_element(pc.split_pattern(ids, _SEP, max_splits=1), 1)
    maybe = rows_among(qid, wanted)
    out = np.zeros(len(qid), bool)
    if len(maybe):
        at = pa.array(maybe)
        out[maybe] = to_numpy(in_values(id_on_host(plain(host).take(at), qid.take(at)), ids))
    return out
