"""Spike baselines across live passes: each pass keeps two hours of rows, yet
`volume_spike` weighs an hour against days of the same account's hours, written down
per key and interval as the passes go (rules_engine/baselines.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from logwatch.config import Config, load_config
from logwatch.live import Memory, run_pass
from logwatch.rules_engine.baselines import BASELINE_SCHEMA, PastCounts, past_counts
from logwatch.state import State, table_bytes, table_of

START = datetime(2026, 3, 1, tzinfo=UTC)


def _hour(hour: int, messages: int, first_id: int) -> str:
    """`messages` relayed out for the account alice within the hour `hour` after START."""
    out = []
    for i in range(messages):
        t = (START + timedelta(hours=hour, seconds=i * 3600 // max(messages, 1) + 1)).isoformat()
        qid = f"{first_id + i:010X}"
        out += [f"{t} mx1 postfix/smtpd[100]: {qid}: client=client.example.net[192.0.2.10], "
                "sasl_method=PLAIN, sasl_username=alice",
                f"{t} mx1 postfix/qmgr[11]: {qid}: from=<alice@example.com>, size=100, "
                "nrcpt=1 (queue active)",
                f"{t} mx1 postfix/smtp[12]: {qid}: to=<bob@partner.example.org>, "
                "relay=mx.partner.example.org[198.51.100.5]:25, delay=1, "
                "delays=0/0/0/1, dsn=2.0.0, status=sent (250 OK)",
                f"{t} mx1 postfix/qmgr[11]: {qid}: removed"]
    return "\n".join(out) + "\n"


def _config(tmp_path: Path, name: str) -> Config:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'state_dir = "{tmp_path / name}"\n[site]\nlocal_domains = ["example.com"]\n'
                    f'timezone = "UTC"\n[[sources]]\npath = "{tmp_path / "mail.log"}"\n')
    return load_config(path)


def _spikes(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if a["rule"] == "volume_spike"]


@pytest.mark.parametrize("follower", [False, True], ids=["cron", "follow"])
def test_a_spike_is_weighed_against_days_the_passes_no_longer_hold(
        tmp_path: Path, follower: bool) -> None:
    """Three days of ten messages an hour, read six hours a pass, then an hour of
    sixty: against its own median of ten it is a spike; with only the two hours a pass
    keeps there would be too little history to say (and sixty is under the ceiling)."""
    cfg = _config(tmp_path, "state")
    log = Path(cfg.sources[0].path or "")
    state = State(cfg.state_dir)
    memory = Memory() if follower else None
    try:
        for day_part in range(12):
            with open(log, "a") as fh:
                for hour in range(day_part * 6, day_part * 6 + 6):
                    fh.write(_hour(hour, 10, hour * 100))
            assert _spikes(run_pass(cfg, state, memory=memory).alerts) == []
        with open(log, "a") as fh:
            fh.write(_hour(72, 60, 72 * 100))
        (alert,) = _spikes(run_pass(cfg, state, memory=memory).alerts)
        if memory is not None:
            memory.checkpoint(state)
        stored = table_of(state.blob("history.baselines") or b"")
        since = json.loads(state.blob("history.baselines.since") or b"{}")
    finally:
        state.close()
    assert alert["key"] == {"account": "alice"} and alert["count"] == 60
    assert alert["details"]["expected"] == 10 and alert["details"]["history_intervals"] == 72
    # per hour and key, not per message: 72 hours over (the spike's is not yet), four
    # key sets, two measures
    assert stored.num_rows == 72 * 4 * 2
    assert since["volume_spike"] == int(START.timestamp()) // 3600


def test_counts_read_back_are_the_counts_written() -> None:
    """The counts go to the state as one table and come back split by rule and
    interval, whatever order their rows are in; a key absent from an interval counted
    whole had none there, and one never counted has no intervals."""
    rows = [("volume_spike", 0, "alice", "messages", 10, 3.0),
            ("bounce_surge", 0, "example.net", "messages", 10, 12.0),
            ("volume_spike", 0, "alice", "messages", 11, 5.0),
            ("volume_spike", 1, "bob", "recipients", 10, 7.0)]
    table = pa.table(dict(zip(BASELINE_SCHEMA.names, map(list, zip(*rows)))),
                     schema=BASELINE_SCHEMA)
    past = past_counts(table_of(table_bytes(table)), {"volume_spike": 9})
    spike = past["volume_spike"]
    assert spike.since == 9 and sorted(spike.intervals) == [10, 11]
    wanted = [(0, "alice", "messages"), (1, "bob", "recipients"), (0, "bob", "messages")]
    got: dict[tuple[int, str, str], dict[int, float]] = {w: {} for w in wanted}
    for keyset, key, measure in wanted:
        for which, interval, value in zip(*(a.tolist() for a in spike.values_of(
                keyset, measure, ["nobody", key]))):
            assert which == 1
            got[keyset, key, measure][interval] = value
    assert got == {
        (0, "alice", "messages"): {10: 3.0, 11: 5.0}, (1, "bob", "recipients"): {10: 7.0},
        (0, "bob", "messages"): {}}
    assert past["bounce_surge"].since == 10
    again = pa.concat_tables([p.table() for p in past.values()])
    assert sorted(tuple(r.values()) for r in again.to_pylist()) == sorted(rows)


def test_an_interval_counted_again_is_read_back_as_last_counted() -> None:
    """A follower counts the last whole interval again at every pass, since a late line
    may still land in it: the counts read back are the last ones, and the same counts
    again leave the lookup table as it was, rather than rebuilding weeks of counts."""
    def counts(alice: float, interval: int = 10) -> pa.Table:
        return pa.table({"rule": ["volume_spike"], "keyset": [0], "key": ["alice"],
                         "measure": ["messages"], "interval": [interval], "value": [alice]},
                        schema=BASELINE_SCHEMA)

    def alice(past: PastCounts) -> list[float]:
        return past.values_of(0, "messages", ["alice"])[2].tolist()

    past = PastCounts()
    past.record(counts(3.0), 10, 10, 0)
    assert alice(past) == [3.0]
    looked_up = past.joined
    past.record(counts(3.0), 10, 10, 0)
    assert alice(past) == [3.0] and past.joined is looked_up
    past.record(counts(4.0), 10, 10, 0)
    assert alice(past) == [4.0]
    past.record(counts(5.0, interval=11), 11, 11, 11)     # interval 10 is forgotten
    assert alice(past) == [5.0] and sorted(past.intervals) == [11]
