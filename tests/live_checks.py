"""What the cron-mode matrices (rotated files, the journal) check after their passes:
each line parsed once, each failure given to the rules once, one alert for the burst.

A test harness inherits it and fills `cfg`, `written`, `failures` (pids written),
`parsed`, `rules_saw` (pids seen) and `passes` (the committed PassResults).
"""

from __future__ import annotations

import pyarrow.compute as pc

from logwatch.config import Config
from logwatch.history import stored_history
from logwatch.live import PassResult
from logwatch.state import State

__all__ = ["ATTACKER", "LiveChecks", "diff"]

ATTACKER = "203.0.113.45"


def diff(got: list[int], want: list[int]) -> str:
    dup = sorted({p for p in got if got.count(p) > 1})
    lost = sorted(set(want) - set(got))
    return f"read twice: {dup}; never read: {lost}; order: {got} vs {want}"


class LiveChecks:
    cfg: Config
    written: list[int]
    failures: list[int]
    parsed: list[int]
    rules_saw: list[int]
    passes: list[PassResult]

    def alerts(self) -> list[dict]:
        return [a for r in self.passes for a in r.alerts]

    def history_failures(self) -> list[int]:
        """The attacker's failures kept in the rule history between runs."""
        state = State(self.cfg.state_dir)
        try:
            t = stored_history(state, "events")
        finally:
            state.close()
        if t is None or not t.num_rows:
            return []
        return t.filter(pc.equal(t.column("client_ip"), ATTACKER)).column("pid").to_pylist()

    def check_once(self) -> None:
        """Each line parsed once, in order; each failure seen by the rules once."""
        assert self.parsed == self.written, diff(self.parsed, self.written)
        assert self.rules_saw == self.failures, diff(self.rules_saw, self.failures)
        assert sorted(self.history_failures()) == self.failures

    def check_one_alert(self, in_pass: int | None = None) -> dict:
        alerts = self.alerts()
        assert [(a["rule"], a["notice"]) for a in alerts] == [("auth_failure_burst", "new")], \
            alerts
        alert = alerts[0]
        assert alert["key"] == {"client_ip": ATTACKER} and alert["count"] >= 5
        if in_pass is not None:
            assert self.passes[in_pass].alerts == [alert]
        return alert
