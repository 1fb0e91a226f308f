"""Exim's reject and panic logs: read for what the main log does not already say.

Exim writes each rejection to the main log and again, with the message's headers, to
the reject log; most panics go to both logs too. Given the main log as well, a reject or
panic log entry that repeats a main-log entry is dropped (identified by time, event,
queue id, client, recipient and reason); an entry found only there (a `log_reject_target`
that names only the reject log, a panic that skipped the main log) is kept. Given alone,
the reject log is read like any log. The header lines that follow an entry are counted as
continuation lines.

Which file is a reject or panic log is told by its name, in the forms `log_file_path`
gives it (`%slog`: `rejectlog`; `%s.log`: `reject.log`; with `exim_`/`exim4-` in front
or a `%D` date in it) and logrotate keeps it (`.1`, `-20250106`, `.gz`), or by its
content: a rejection's header dump (`Envelope-from: <a>`, `Envelope-to: <b>` on lines
of their own) is written to the reject log only. The name decides where the head shows
no dump (connection and RCPT rejections have none, nor do panics); the content decides
for a copy under another name.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["is_secondary", "SecondaryLogs"]

_NAME = re.compile(r"(?:^|/)(?:exim4?[-_.])?(?:reject|panic)(?:[-_.]?\d{6,8})?[-_.]?log"
                   r"(?:[-_.][^/]*)?$")
_HEADER_DUMP = re.compile(r"^Envelope-(?:from|to): <", re.MULTILINE)
_KEY_COLUMNS = ("ts", "event", "queue_id", "client_ip", "recipient", "reason")


def is_secondary(name: str, head: str = "") -> bool:
    """Whether `name` is an Exim reject or panic log, by its name or by the header dump
    in `head` (the start of its text, where it was read)."""
    return bool(_NAME.search(name) or _HEADER_DUMP.search(head))


def _keys(events: pa.Table) -> pa.Array:
    parts = []
    for name in _KEY_COLUMNS:
        col = events.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        parts.append(pc.fill_null(col.cast(pa.string()), ""))
    return pc.binary_join_element_wise(*parts, "\x1f")


class SecondaryLogs:
    """Entries of reject/panic logs, checked off as the main logs repeat them."""

    def __init__(self, tables: list[pa.Table]) -> None:
        self.events = pa.concat_tables(tables) if tables else None
        self._keys = _keys(self.events) if self.events is not None else None
        self._seen = np.zeros(self.events.num_rows if self.events is not None else 0, bool)

    def observe(self, events: pa.Table) -> None:
        """Mark the entries that `events` (from a main log) repeat."""
        if self._keys is None or not len(self._keys) or not events.num_rows:
            return
        found = pc.is_in(self._keys, value_set=_keys(events))
        self._seen |= found.to_numpy(zero_copy_only=False)

    def remainder(self) -> pa.Table | None:
        """The entries no main log repeated."""
        if self.events is None:
            return None
        return self.events.filter(pa.array(~self._seen))

    @property
    def repeated(self) -> int:
        return int(self._seen.sum())
