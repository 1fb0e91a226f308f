"""Where every line went: the accounting behind `parse --stats`.

Nothing may disappear silently: a line is a row (possibly `other`), a line of a program
that is not a mail program (counted by program), a blank line, or an unreadable line
(no header we know; counted, with examples and their byte offsets). `unaccounted()`
must be zero; the property tests check exactly that.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SourceStats", "shape_of"]

_EXAMPLES = 5


def shape_of(msgs: pa.Array) -> pa.Array:
    """A message with its variable parts masked, so that unknown lines group by kind."""
    s = pc.replace_substring_regex(msgs, r"<[^>]*>", "<*>")
    s = pc.replace_substring_regex(s, r"\[[^\]]*\]", "[*]")
    s = pc.replace_substring_regex(s, r"\b[0-9A-Za-z]{6,}-[0-9A-Za-z]{6,}-[0-9A-Za-z]{2,}\b",
                                   "MSGID")
    s = pc.replace_substring_regex(s, r"\b[0-9A-F]{6,}\b", "QID")
    s = pc.replace_substring_regex(s, r"[0-9]+", "N")
    return pc.utf8_slice_codeunits(s, 0, 160)


@dataclass
class SourceStats:
    """Counts for one source."""

    source: str
    format: str | None = None
    compression: str | None = None
    lines: int = 0
    blank: int = 0
    unreadable: int = 0
    continuation: int = 0
    unreadable_examples: list[dict[str, object]] = field(default_factory=list)
    mail_lines: int = 0
    rows: int = 0
    foreign: Counter[str] = field(default_factory=Counter)
    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    other_shapes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    other_examples: dict[tuple[str, str, str], dict[str, object]] = field(default_factory=dict)
    repeated_rows: int = 0
    joined_lines: int = 0
    repeats_capped: int = 0   # summaries over quirks.MAX_REPEAT, or a block's MAX_REPEATED_ROWS
    syslog_doubles: int = 0   # lines an MTA sent to syslog twice, counted once
    #: where lines left for the next read start (a split entry whose pieces had not
    #: all come when a live read ended), None when all were parsed
    held_from: int | None = None
    clock: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def count_lines(self, lines: pa.Array, offsets: np.ndarray, ok: np.ndarray,
                    mta: np.ndarray, program: pa.Array) -> None:
        """Account for the lines of a block (before repeat expansion)."""
        n = len(lines)
        self.lines += n
        unread = np.flatnonzero(~ok)
        blank = np.zeros(n, bool)
        if len(unread):
            blank[unread] = pc.equal(pc.utf8_trim_whitespace(
                pc.take(lines, pa.array(unread))), "").to_numpy(zero_copy_only=False)
        self.blank += int(blank.sum())
        bad = np.flatnonzero(~ok & ~blank)
        if self.format == "exim":
            # lines without a stamp in Exim's own logs continue the entry above them
            # (the headers under a reject-log entry, a multi-line panic)
            self.continuation += len(bad)
            return self._count_mail(n, ok, mta, program)
        self.unreadable += len(bad)
        for row in bad[: max(0, _EXAMPLES - len(self.unreadable_examples))].tolist():
            self.unreadable_examples.append(
                {"offset": int(offsets[row]), "line": lines[row].as_py()[:200]})
        self._count_mail(n, ok, mta, program)

    def _count_mail(self, n: int, ok: np.ndarray, mta: np.ndarray, program: pa.Array) -> None:
        self.mail_lines += int((mta >= 0).sum())
        foreign = np.flatnonzero(ok & (mta < 0))
        if len(foreign):
            progs = pc.fill_null(pc.take(program, pa.array(foreign)), "(no program)")
            for item in pc.value_counts(progs).to_pylist():
                self.foreign[item["values"]] += item["counts"]

    def count_events(self, events: pa.Table, other_msgs: pa.Array | None) -> None:
        """Account for the rows made from a block; group `other` rows by shape."""
        self.rows += events.num_rows
        if not events.num_rows:
            return
        note = events.column("line_note").combine_chunks().dictionary_decode()
        self.repeated_rows += int(pc.sum(pc.fill_null(pc.equal(note, "repeated"),
                                                      False).cast(pa.int64())).as_py() or 0)
        mta = events.column("mta").combine_chunks().dictionary_decode()
        ev = events.column("event").combine_chunks().dictionary_decode()
        counts = pa.table({"mta": mta, "event": ev}).group_by(["mta", "event"]).aggregate(
            [([], "count_all")])
        for item in counts.to_pylist():
            self.events[(item["mta"], item["event"])] += item["count_all"]
        if other_msgs is None or not len(other_msgs):
            return
        is_other = pc.equal(ev, "other")
        daemon = pc.filter(events.column("daemon").combine_chunks(), is_other)
        shapes = shape_of(other_msgs)
        offsets = pc.filter(events.column("offset").combine_chunks(), is_other)
        groups = pa.table({
            "mta": pc.filter(mta, is_other), "daemon": pc.fill_null(daemon, ""),
            "shape": shapes, "offset": offsets, "msg": other_msgs,
        }).group_by(["mta", "daemon", "shape"], use_threads=False).aggregate(
            [([], "count_all"), ("offset", "first"), ("msg", "first")])
        for item in groups.to_pylist():
            t = (item["mta"], item["daemon"], item["shape"])
            self.other_shapes[t] += item["count_all"]
            if t not in self.other_examples:
                self.other_examples[t] = {"offset": item["offset_first"],
                                          "line": (item["msg_first"] or "")[:300]}

    def unaccounted(self) -> int:
        """Lines neither made into rows nor counted elsewhere (must be 0)."""
        return (self.lines - self.blank - self.unreadable - self.continuation
                - self.mail_lines - sum(self.foreign.values()))

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "format": self.format, "compression": self.compression,
            "lines": self.lines, "blank": self.blank, "unreadable": self.unreadable,
            "continuation": self.continuation,
            "unreadable_examples": self.unreadable_examples, "mail_lines": self.mail_lines,
            "rows": self.rows, "repeated_rows": self.repeated_rows,
            "joined_lines": self.joined_lines, "repeats_capped": self.repeats_capped,
            "syslog_doubles": self.syslog_doubles,
            "foreign_programs": dict(self.foreign.most_common()),
            "events": [{"mta": m, "event": e, "count": c}
                       for (m, e), c in sorted(self.events.items())],
            "other": [{"mta": m, "daemon": d, "shape": s, "count": c,
                       **self.other_examples.get((m, d, s), {})}
                      for (m, d, s), c in self.other_shapes.most_common()],
            "clock": self.clock, "warnings": self.warnings,
        }
