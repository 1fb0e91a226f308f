"""The lines of the messages an alert names (its evidence), found through one index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.rules_engine.message_lines import MessageLines, rows_with
from tests.conftest import POSTFIX_FILTER

# The content filter's hand-off of tests/conftest.py (4A1B2C3D4E re-injected as
# 5B6C7D8E9F), after another client's message that had the same queue id two hours
# before (queue ids are reused), and before a local submission.
EARLIER = """\
Dec 30 08:00:00 mx1 postfix/smtpd[90]: connect from old.example.org[203.0.113.99]
Dec 30 08:00:01 mx1 postfix/smtpd[90]: 4A1B2C3D4E: client=old.example.org[203.0.113.99]
Dec 30 08:00:01 mx1 postfix/qmgr[50]: 4A1B2C3D4E: from=<carol@example.org>, size=900, nrcpt=1 (queue active)
Dec 30 08:00:02 mx1 postfix/local[99]: 4A1B2C3D4E: to=<dan@example.com>, relay=local, delay=1, delays=0.1/0/0/0.9, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 08:00:02 mx1 postfix/qmgr[50]: 4A1B2C3D4E: removed
Dec 30 08:00:02 mx1 postfix/smtpd[90]: disconnect from old.example.org[203.0.113.99] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
"""
LATER = """\
Dec 30 10:05:00 mx1 postfix/pickup[60]: 6C7D8E9F0A: uid=1000 from=<erin>
Dec 30 10:05:00 mx1 postfix/qmgr[50]: 6C7D8E9F0A: from=<erin@example.com>, size=400, nrcpt=1 (queue active)
Dec 30 10:05:01 mx1 postfix/local[104]: 6C7D8E9F0A: to=<frank@example.com>, relay=local, delay=1, delays=0.1/0/0/0.9, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:05:01 mx1 postfix/qmgr[50]: 6C7D8E9F0A: removed
"""
LOG = EARLIER + POSTFIX_FILTER.lstrip("\n") + LATER


def _tables(tmp_path: Path) -> tuple[pa.Table, pa.Table]:
    path = tmp_path / "mail.log"
    path.write_text(LOG)
    run = ParseRun([str(path)], default_parsers(), ParseOptions(tz="UTC", year=2025))
    parts = list(run.correlated())
    return (pa.concat_tables([e for e, _ in parts]),
            pa.concat_tables([m for _, m in parts]))


def _times(lines: pa.Table, rows: np.ndarray) -> list[str]:
    return [t.strftime("%H:%M:%S") for t in lines.column("ts").take(pa.array(rows)).to_pylist()]


def test_rows_with_finds_every_row_of_each_id_and_none_for_unknown_or_null(
        tmp_path: Path) -> None:
    events, _ = _tables(tmp_path)
    ids = pa.array(["5B6C7D8E9F", "NOSUCHID", None, "4A1B2C3D4E", "5B6C7D8E9F"], pa.string())
    rows, which = rows_with(events.column("queue_id"), ids)
    qids = events.column("queue_id").to_pylist()
    for i, qid in enumerate(ids.to_pylist()):
        want = [r for r, q in enumerate(qids) if qid is not None and q == qid]
        assert sorted(rows[which == i].tolist()) == want
    assert len(rows[which == 0]) == 5 and len(rows[which == 3]) == 9
    assert rows[which == 4].tolist() == rows[which == 0].tolist()    # asked twice, found twice


def test_a_child_brings_its_own_parent_lines_not_an_older_message_of_the_same_id(
        tmp_path: Path) -> None:
    events, messages = _tables(tmp_path)
    qid = messages.column("queue_id").to_pylist()
    child = qid.index("5B6C7D8E9F")
    assert messages.column("parent")[child].as_py() == "4A1B2C3D4E"
    (rows,) = MessageLines(messages, events).rows([np.array([child])])
    taken = events.take(pa.array(rows))
    # the parent's lifetime of 10:00 and the child's, in time order; none of 08:00
    assert _times(events, rows) == sorted(_times(events, rows))
    assert min(_times(events, rows)) == "10:00:01" and max(_times(events, rows)) == "10:00:03"
    assert set(taken.column("queue_id").to_pylist()) == {"4A1B2C3D4E", "5B6C7D8E9F"}
    assert "203.0.113.99" not in taken.column("client_ip").to_pylist()
    assert pc.sum(pc.equal(taken.column("queue_id"), "4A1B2C3D4E")).as_py() == 5


def test_many_alerts_at_once_get_what_each_would_get_alone(tmp_path: Path) -> None:
    events, messages = _tables(tmp_path)
    qid = messages.column("queue_id").to_pylist()
    picks = [np.array([qid.index("5B6C7D8E9F")]), np.array([qid.index("6C7D8E9F0A")]),
             np.arange(messages.num_rows), np.zeros(0, np.int64)]
    finder = MessageLines(messages, events)
    together = finder.rows(picks)
    alone = [finder.rows([p])[0] for p in picks]
    assert [r.tolist() for r in together] == [r.tolist() for r in alone]
    assert _times(events, together[1]) == ["10:05:00", "10:05:00", "10:05:01", "10:05:01"]
    # every line of a message is some message's: all of them, the 08:00 ones included
    assert len(together[2]) == pc.sum(pc.is_valid(events.column("queue_id"))).as_py()
    assert together[3].tolist() == []
