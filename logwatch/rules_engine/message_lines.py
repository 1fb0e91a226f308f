"""The lines of the messages an alert names, for its evidence.

Every alert of a messages rule needs the lines of its messages (and of their parents: a
content filter's re-injection is told by its parent's lines). Finding them by scanning
every line and every message per alert cost 37 ms an alert on a day of a busy server;
a run with hundreds of such alerts spent seconds there. So all the alerts' queue ids are
looked up together, in one scan of the lines and one of the messages: not an index of
every id either, which a follower would build over hours of lines in a pass that raises
one alert.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import distinct, distinct_pairs, event_is, plain, rows_among, to_numpy
from logwatch.correlate.lifetimes import KEY, parents_of, rows_in_lifetimes
from logwatch.schema import REFUSALS

__all__ = ["rows_with", "MessageLines"]


def rows_with(column: pa.ChunkedArray | pa.Array, ids: pa.Array
              ) -> tuple[np.ndarray, np.ndarray]:
    """(row, position in `ids`) of every row of `column` holding one of `ids` (an id
    given twice is found twice); nulls hold none."""
    col = plain(column)
    rows = rows_among(col, ids)
    found = pa.table({"id": col.take(pa.array(rows)), "row": pa.array(rows)})
    wanted = pa.table({"id": ids, "at": pa.array(np.arange(len(ids)))})
    j = found.join(wanted, keys="id", join_type="inner", use_threads=False)
    order = np.lexsort((j["row"].to_numpy(), j["at"].to_numpy()))
    return j["row"].to_numpy()[order], j["at"].to_numpy()[order]


class MessageLines:
    """The lines (`lines`: host, instance, queue_id, ts, where they are) of the
    messages of many alerts at once, with their parents' lines, in time order."""

    def __init__(self, messages: pa.Table, lines: pa.Table) -> None:
        self.messages, self.lines = messages, lines

    def rows(self, picks: list[np.ndarray]) -> list[np.ndarray]:
        """For each alert's rows of `messages` (`picks[i]`), the rows of `lines` in the
        lifetimes of those messages and of their parents."""
        if not picks or not self.lines.num_rows:
            return [np.zeros(0, np.int64) for _ in picks]
        label = np.repeat(np.arange(len(picks)), [len(p) for p in picks])
        label, picked = self._with_parents(label, np.concatenate(picks).astype(np.int64))
        m = self.messages.take(pa.array(picked))
        near, _ = rows_with(self.lines.column("queue_id"),
                            pc.unique(plain(m.column("queue_id"))))
        near = self._once(np.sort(near))
        line, life = rows_in_lifetimes(self.lines.take(pa.array(near)), m)
        alert, row = distinct_pairs(label[life], near[line])
        take = pa.array(row)
        ts = self.lines.column("ts").take(take).cast(pa.int64()).to_numpy()
        # lines of one second in the order the file has them
        at = pc.fill_null(self.lines.column("offset").take(take), 0).to_numpy()
        order = np.lexsort((row, at, ts, alert))
        alert, row = alert[order], row[order]
        bounds = np.searchsorted(alert, np.arange(len(picks) + 1))
        return [row[bounds[i]:bounds[i + 1]] for i in range(len(picks))]

    def of_refusals(self, events: pa.Table, picks: list[np.ndarray]) -> list[np.ndarray]:
        """For each alert's rows of `events` (`picks[i]`), the rows of `lines` of the
        messages its refusals outside any SMTP session belong to. Sendmail names the
        client only on the transaction's `from=` line, after the refusals: an alert
        keyed by that client shows the line that names it. (A refusal in a session,
        as Postfix's, names its client itself.)"""
        none = [np.zeros(0, np.int64) for _ in picks]
        label = np.repeat(np.arange(len(picks)), [len(p) for p in picks])
        rows = events.select([*KEY, "ts", "event", "session"]).take(
            pa.array(np.concatenate(picks) if picks else np.zeros(0, np.int64)))
        refusing = np.flatnonzero(to_numpy(event_is(rows, *REFUSALS))
                                  & to_numpy(pc.is_valid(rows.column("queue_id")))
                                  & to_numpy(pc.is_null(rows.column("session"))))
        i, m = rows_in_lifetimes(rows.take(pa.array(refusing)), self.messages)
        if not len(m):
            return none
        label, m = distinct_pairs(label[refusing[i]], m)
        bounds = np.searchsorted(label, np.arange(len(picks) + 1))
        return self.rows([m[bounds[k]:bounds[k + 1]] for k in range(len(picks))])

    def _once(self, rows: np.ndarray) -> np.ndarray:
        """`rows` without the second of two rows of one line (the rules' rows and the
        narrow lines both hold some: evidence_table joins them without a copy of either)."""
        if not len(rows):
            return rows
        t = self.lines.take(pa.array(rows))
        placed = np.flatnonzero(pc.is_valid(t["offset"]).to_numpy(zero_copy_only=False))
        where = pa.table({"s": plain(t["source"]).take(pa.array(placed)),
                          "o": t["offset"].take(pa.array(placed)), "i": pa.array(placed)})
        first = where.group_by(["s", "o"], use_threads=False).aggregate([("i", "min")])
        keep = np.ones(len(rows), bool)
        keep[placed] = False
        keep[first["i_min"].to_numpy()] = True
        return rows[keep]

    def _with_parents(self, label: np.ndarray, picked: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """`picked` (each with its alert's `label`) and, for each that has a parent,
        its parent (`parents_of`), under the same label."""
        child, parent = parents_of(self.messages, distinct(picked))
        parent_of = np.full(self.messages.num_rows, -1, np.int64)
        parent_of[child] = parent
        up = parent_of[picked]
        has = up >= 0
        return distinct_pairs(np.concatenate([label, label[has]]),
                              np.concatenate([picked, up[has]]))
