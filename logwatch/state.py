"""What cron and follow modes remember: one SQLite database in `state_dir`, WAL mode.

Everything a run changes is written in one transaction (`State.commit`): the sources'
marks, the correlation state, the rule history, the alert ledger and the outbox. A run
killed at any moment before the commit leaves the previous state whole, and the next run
reads the same lines again and reaches the same alerts; after it, the lines are never
read again and the alerts are in the outbox, delivered or retried later. A follower
commits its ledger and outbox each pass and the rest at checkpoints (live.py says why
that too loses nothing). Tables travel as Arrow IPC; nothing is pickled (state is data,
never code).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from logwatch.columns import in_schema
from logwatch.config import SEVERITIES
from logwatch.correlate.correlator import ROW_SCHEMA, SETTLING_SCHEMA, CorrelationState
from logwatch.correlate.messages import LINK_SCHEMA
from logwatch.correlate.sessions import OpenSessions
from logwatch.errors import ConfigError
from logwatch.parse.auth_lines import AUTH_KEYS
from logwatch.sources.journald import JournalMark
from logwatch.sources.tail import Mark

#: What a full, read-only or vanished state directory raises
STATE_ERRORS = (sqlite3.Error, OSError)


def unwritable(state_dir: str | Path, exc: BaseException) -> str:
    """The message for a state that cannot be written: nothing of the pass was committed,
    so no line is lost; the next pass reads the same lines again."""
    return (f"cannot use the state in {state_dir} ({exc}): nothing of this pass was "
            "committed, and its lines are read again when it can be")


#: SQL ranking an outbox item by severity, most severe first
_SEVERITY_ORDER = "CASE severity " + " ".join(
    f"WHEN '{name}' THEN {-rank}" for rank, name in enumerate(SEVERITIES)) + " ELSE 1 END"

__all__ = ["State", "STATE_FILE", "LedgerEntry", "OutboxItem", "table_bytes", "table_of",
           "STATE_ERRORS", "unwritable"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS marks (source TEXT PRIMARY KEY, mark TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    rule TEXT NOT NULL, key TEXT NOT NULL, alert_id TEXT NOT NULL,
    first_us INTEGER NOT NULL, last_us INTEGER NOT NULL, count INTEGER NOT NULL,
    alerted_count INTEGER NOT NULL, alerted_at REAL NOT NULL,
    PRIMARY KEY (rule, key));
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, severity TEXT NOT NULL,
    payload TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL, last_error TEXT, delivered_at REAL, note TEXT,
    held_until REAL);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, next_try);
CREATE INDEX IF NOT EXISTS ledger_ended ON ledger (rule, last_us);
"""


#: State tables are compressed: a busy follower's checkpoint is a few hundred MB of
#: Arrow, which LZ4 makes about a third at the speed of copying it, and the write to
#: SQLite, not the encoding, is what a follower waits for.
_IPC = pa.ipc.IpcWriteOptions(compression="lz4")


#: the database in a state_dir
STATE_FILE = "state.sqlite"
#: days that delivered alerts, and incidents of rules no longer configured, are kept
KEEP_DAYS = 30


def table_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC) as out:
        out.write_table(table)
    return sink.getvalue().to_pybytes()


def table_of(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


@dataclass
class LedgerEntry:
    """The last alert of one (rule, key): an incident that continues within the rule's
    cooldown is the same incident, re-alerted only when it has grown enough."""

    rule: str
    key: str
    alert_id: str
    first_us: int
    last_us: int
    count: int
    alerted_count: int
    alerted_at: float


@dataclass
class OutboxItem:
    id: int
    alert_id: str
    severity: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    created: float
    delivered_at: float | None
    note: str | None = None
    #: held for its destination's digest until then (alerts below medium)
    held_until: float | None = None


def _mark(stored: dict[str, Any]) -> Mark:
    """A file's mark as stored. A state written before the instant read up to and the
    auth lines had fields of their own kept them among the last line's fields (`carry`):
    they are taken out of it, so that an upgrade loses neither."""
    carry = stored.get("carry")
    if carry and "read_up_to_us" not in stored:
        carry = dict(carry)
        stored = {**stored, "read_up_to_us": carry.pop("read_up_to_us", 0),
                  "auth": {k: carry.pop(k) for k in AUTH_KEYS if k in carry},
                  "carry": carry if "msg" in carry else None}
    return Mark(**stored)


def _cursor(stored: dict[str, Any]) -> JournalMark:
    """A journal's mark as stored; a state written before the auth lines had a field of
    their own kept them beside the cursor."""
    auth = stored.get("auth")
    if auth is None:
        auth = {k: stored[k] for k in AUTH_KEYS if k in stored}
    return JournalMark(stored["journal_cursor"], stored.get("realtime_us"), auth)


class State:
    """The state database; one per `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"state_dir {state_dir}: cannot create: {exc.strerror}") from exc
        self.path = state_dir / STATE_FILE
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
        if "note" not in columns:   # a state from before actions
            self.db.execute("ALTER TABLE outbox ADD COLUMN note TEXT")
        if "held_until" not in columns:   # a state from before digests were held
            self.db.execute("ALTER TABLE outbox ADD COLUMN held_until REAL")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def commit(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is written, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:   # a failed COMMIT leaves it open: the next BEGIN
                self.db.execute("ROLLBACK")   # would fail
            raise

    # -- marks: files' offsets, and journals' cursors (told apart by `journal_cursor`) ---
    def marks(self) -> dict[str, Mark]:
        rows = ((src, json.loads(m)) for src, m in self.db.execute(
            "SELECT source, mark FROM marks"))
        return {src: _mark(m) for src, m in rows if "journal_cursor" not in m}

    def cursors(self) -> dict[str, JournalMark]:
        rows = ((src, json.loads(m)) for src, m in self.db.execute(
            "SELECT source, mark FROM marks"))
        return {src: _cursor(m) for src, m in rows if "journal_cursor" in m}

    @staticmethod
    def put_cursor(db: sqlite3.Connection, source: str, mark: JournalMark) -> None:
        db.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (source, json.dumps(
            {"journal_cursor": mark.cursor, "realtime_us": mark.realtime_us,
             "auth": mark.auth})))

    @staticmethod
    def put_mark(db: sqlite3.Connection, source: str, mark: Mark | None) -> None:
        if mark is None:
            db.execute("DELETE FROM marks WHERE source = ?", (source,))
        else:
            db.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)",
                       (source, json.dumps(dataclasses.asdict(mark))))

    # -- blobs: correlation state and rule history -------------------------------------------
    def blob(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def blobs(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every blob whose key begins with `prefix`, in the order of their keys."""
        return [(key, bytes(value)) for key, value in self.db.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix))]

    @staticmethod
    def put_blob(db: sqlite3.Connection, key: str, value: bytes) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def correlation(self) -> CorrelationState | None:
        raw = self.blob("correlation")
        if raw is None:
            return None
        head = json.loads(self.blob("correlation.meta") or b"{}")
        rows, links = table_of(raw), table_of(self.blob("correlation.links") or b"")
        settling = self.blob("correlation.settling")
        # tables an earlier version wrote: a column added since is null (an upgrade must
        # not lose the messages a follower was holding)
        return CorrelationState(sessions=OpenSessions(**head["sessions"]),
                                rows=in_schema(rows, ROW_SCHEMA),
                                links=links.cast(LINK_SCHEMA),
                                settling=SETTLING_SCHEMA.empty_table() if settling is None
                                else in_schema(table_of(settling), SETTLING_SCHEMA),
                                max_us=head["max_us"], min_us=head["min_us"],
                                rows_seen=head["rows_seen"])

    @classmethod
    def put_correlation(cls, db: sqlite3.Connection, st: CorrelationState) -> None:
        cls.put_blob(db, "correlation", table_bytes(st.rows))
        cls.put_blob(db, "correlation.links", table_bytes(st.links))
        cls.put_blob(db, "correlation.settling", table_bytes(st.settling))
        cls.put_blob(db, "correlation.meta", json.dumps({
            "sessions": dataclasses.asdict(st.sessions), "max_us": st.max_us,
            "min_us": st.min_us, "rows_seen": st.rows_seen}).encode())

    # -- ledger -----------------------------------------------------------------------------
    def ledger(self, rule: str, key: str) -> LedgerEntry | None:
        row = self.db.execute("SELECT * FROM ledger WHERE rule = ? AND key = ?",
                              (rule, key)).fetchone()
        return None if row is None else LedgerEntry(*row)

    @staticmethod
    def put_ledger(db: sqlite3.Connection, e: LedgerEntry) -> None:
        db.execute("INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   dataclasses.astuple(e))

    @staticmethod
    def forget(db: sqlite3.Connection, before_us: dict[str, int], now: float) -> None:
        """Drop what can no longer matter, so that years of following do not pile up:
        ledger entries of each rule that ended before `before_us[rule]` (no incident
        found later can continue them), those of rules gone for KEEP_DAYS, and
        deliveries done KEEP_DAYS ago (`alerts` shows the recent ones)."""
        for rule, horizon in before_us.items():
            db.execute("DELETE FROM ledger WHERE rule = ? AND last_us < ?", (rule, horizon))
        gone = now - KEEP_DAYS * 86_400
        marks = ",".join("?" * len(before_us))
        db.execute(f"DELETE FROM ledger WHERE rule NOT IN ({marks}) AND alerted_at < ?",
                   (*before_us, gone))
        db.execute("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                   (gone,))

    # -- outbox -----------------------------------------------------------------------------
    @staticmethod
    def enqueue(db: sqlite3.Connection, alert_id: str, severity: str,
                payload: dict[str, Any], hold: float = 0) -> None:
        """Queue a delivery, due now or, held for a digest, `hold` seconds from now."""
        now = time.time()
        db.execute("INSERT INTO outbox (alert_id, severity, payload, created, next_try, "
                   "held_until) VALUES (?, ?, ?, ?, ?, ?)",
                   (alert_id, severity, json.dumps(payload), now, now + hold,
                    now + hold if hold else None))

    @staticmethod
    def sent_of_rule(db: sqlite3.Connection, route: str, rule: str, since: float) -> int:
        """Messages of `rule` (alone or as its flood's digest) queued for `route` since
        then to go at once, not held for a digest."""
        return db.execute(
            "SELECT count(*) FROM outbox WHERE created >= ? AND held_until IS NULL AND "
            "json_extract(payload, '$.route') = ? AND (json_extract(payload, '$.alert.rule') "
            "= ? OR json_extract(payload, '$.alert.details.rule') = ?)",
            (since, route, rule, rule)).fetchone()[0]

    def due(self, now: float) -> list[OutboxItem]:
        """What is due, the most severe first (then as queued): with a time budget per
        pass, a flood of low alerts must not keep a critical one waiting."""
        return self._items(f"delivered_at IS NULL AND next_try <= ? ORDER BY {_SEVERITY_ORDER}, "
                           "id", (now,))

    def held(self, route: str) -> list[OutboxItem]:
        """Every undelivered item held for `route`'s digest, due or not, oldest first:
        when the first is due they go as one message."""
        return [i for i in self._items("delivered_at IS NULL AND held_until IS NOT NULL "
                                       "ORDER BY id", ())
                if i.payload["route"] == route]

    def _items(self, where: str, args: tuple[Any, ...]) -> list[OutboxItem]:
        rows = self.db.execute(
            "SELECT id, alert_id, severity, payload, attempts, last_error, created, "
            f"delivered_at, note, held_until FROM outbox WHERE {where}", args).fetchall()
        return [OutboxItem(i, a, s, json.loads(p), n, e, c, d, o, h)
                for i, a, s, p, n, e, c, d, o, h in rows]

    def pending_count(self, now: float | None = None) -> int:
        """Deliveries that wait: due and not yet made, or failed. One held for a digest
        that is not due yet is not waiting on anything."""
        return self.db.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND (held_until IS NULL "
            "OR next_try <= ? OR attempts > 0)",
            (time.time() if now is None else now,)).fetchone()[0]

    def held_count(self) -> int:
        """Deliveries held for a digest that is not due yet."""
        return self.db.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND held_until IS NOT "
            "NULL AND next_try > ? AND attempts = 0", (time.time(),)).fetchone()[0]

    def pending_errors(self, limit: int = 3) -> list[str]:
        """Why what waits in the outbox waits, latest first, each reason once (already
        redacted where it was recorded)."""
        rows = self.db.execute(
            "SELECT last_error FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT "
            "NULL GROUP BY last_error ORDER BY max(id) DESC LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def recent(self, limit: int = 50) -> list[OutboxItem]:
        return self._items("1 ORDER BY id DESC LIMIT ?", (limit,))

    def delivered(self, item_id: int, note: str | None = None) -> None:
        """Done; `note` keeps what an action printed (its outcome, for `alerts`)."""
        with self.commit() as db:
            db.execute("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, "
                       "last_error = NULL, note = ? WHERE id = ?",
                       (time.time(), note, item_id))

    def failed(self, item_id: int, error: str, retry_in: float) -> None:
        with self.commit() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                       "next_try = ? WHERE id = ?", (error, time.time() + retry_in, item_id))

    def dropped(self, item_id: int, reason: str) -> None:
        """Given up on for good (its destination is gone): no longer pending."""
        with self.commit() as db:
            db.execute("UPDATE outbox SET delivered_at = ?, last_error = ? WHERE id = ?",
                       (time.time(), reason, item_id))
