"""Logs recorded from Debian's own Postfix, Exim and Sendmail, Debian 12's (recordings/) and
Debian 13's (recordings/debian13/: Postfix 3.10 with Dovecot 2.4, Exim 4.98, Sendmail
8.18), against what the recorder really did (scenarios.json beside them: counts from the
SMTP replies swaks got).

Every format a server wrote must give the same counts: the auth failures of the burst, the
usernames of the spray, the relay denials of the probe, the messages of the open relay,
of the forged sender and of the volume burst.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from tests.conftest import ROOT

RECORDINGS = ROOT / "recordings"
#: the runs of both releases
RUNS = [run for truth in ("scenarios.json", "debian13/scenarios.json")
        for run in json.loads((RECORDINGS / truth).read_text())["runs"]]
# Exim's reject log repeats its main log: it is read together with it, as a user would.
_MAIN_WITH = {"mainlog.gz": ["rejectlog.gz"]}


def _cases() -> list[Any]:
    out = []
    for run in RUNS:
        for name in sorted(run["files_line_counts"]):
            if name.startswith("sink") or name == "rejectlog.gz":
                continue
            rel = run["dir"].removeprefix("recordings/")
            out.append(pytest.param(run, name, id=f"{rel}/{name}"))
    return out


@lru_cache(maxsize=None)
def _parse(directory: str, name: str) -> tuple[pa.Table, pa.Table, tuple[Any, ...]]:
    paths = [str(Path(directory) / n) for n in [name, *_MAIN_WITH.get(name, [])]]
    run = ParseRun(paths, default_parsers(), ParseOptions(year=2026, tz="UTC", host="mx1"))
    events, messages = [], []
    for ev, msg in run.correlated():
        events.append(ev)
        messages.append(msg)
    assert not run.errors, run.errors
    return pa.concat_tables(events), pa.concat_tables(messages), tuple(run.stats)


def _scenario(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["scenarios"] if s["name"] == name)


def _rows(table: pa.Table, **where: Any) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist()
            if all((r[k] in v) if isinstance(v, (set, list)) else r[k] == v
                   for k, v in where.items())]


@pytest.mark.parametrize("run,name", _cases())
def test_every_line_is_read(run: dict[str, Any], name: str) -> None:
    _, _, stats = _parse(str(ROOT / run["dir"]), name)
    for s in stats:
        assert s.unreadable == 0 and s.unaccounted() == 0, s.as_dict()
        other = sum(c for (_, e), c in s.events.items() if e == "other")
        assert other <= 0.01 * s.mail_lines, s.as_dict()["other"]


@pytest.mark.parametrize("run,name", _cases())
def test_credential_scenarios(run: dict[str, Any], name: str) -> None:
    events, _, _ = _parse(str(ROOT / run["dir"]), name)
    for scenario in ("auth_burst", "password_spray", "success_after_failures"):
        sc = _scenario(run, scenario)
        failures = _rows(events, event="auth_failure", client_ip=set(sc["client_ips"]))
        assert len(failures) == sc["counts"]["auth_failures"], scenario
        logged = {r["sasl_username"] for r in failures} - {None}
        if logged:  # the MTA names the user it refused
            assert logged <= set(sc["usernames"]), scenario
    spray = _scenario(run, "password_spray")
    users = {r["sasl_username"] for r in _rows(events, event="auth_failure",
                                                client_ip=set(spray["client_ips"]))}
    if users - {None}:
        assert users == set(spray["usernames"])


@pytest.mark.parametrize("run,name", _cases())
def test_relay_probe(run: dict[str, Any], name: str) -> None:
    events, _, _ = _parse(str(ROOT / run["dir"]), name)
    sc = _scenario(run, "relay_probe")
    denied = _rows(events, event="reject", reject_class="relay_denied",
                   client_ip=set(sc["client_ips"]))
    assert len(denied) == sc["counts"]["rcpts_rejected"]


@pytest.mark.parametrize("run,name", _cases())
def test_messages_of_the_scenarios(run: dict[str, Any], name: str) -> None:
    _, messages, _ = _parse(str(ROOT / run["dir"]), name)
    for scenario in ("open_relay", "unknown_sender", "volume_burst", "normal_inbound"):
        sc = _scenario(run, scenario)
        got = _rows(messages, client_ip=set(sc["client_ips"]))
        assert len(got) == sc["counts"]["messages_accepted"], scenario
        recipients = sum(len(m["recipients"]) for m in got)
        assert recipients == sc["counts"]["rcpts_accepted"], scenario
    relay = _rows(messages, client_ip=set(_scenario(run, "open_relay")["client_ips"]))
    assert all(m["sasl_username"] is None and m["origin"] == "smtp" and m["delivered"] >= 1
               for m in relay)
    forged = _rows(messages, sender="ceo@bank.example.org")
    assert len(forged) == _scenario(run, "unknown_sender")["counts"]["messages_accepted"]
    assert {m["sasl_username"] for m in forged} == {"carol"}
    burst = _rows(messages, sasl_username="alice",
                  client_ip=set(_scenario(run, "volume_burst")["client_ips"]))
    assert len(burst) == 150


def _refusals(paths: list[Path]) -> Counter[str]:
    run = ParseRun([str(p) for p in paths], default_parsers(), ParseOptions(year=2026, tz="UTC"))
    events = pa.concat_tables(list(run.events()))
    assert not run.errors, run.errors
    return Counter(e for e in events.column("event").to_pylist()
                   if e in ("reject", "auth_failure"))


@pytest.mark.parametrize("main,reject", [
    ("main.log", "reject.log"), ("main.log.1.gz", "reject.log.1.gz"),
    ("main.log-20261130.gz", "reject.log-20261130.gz"),
    ("exim_mainlog", "exim_rejectlog_20261129"),
])
def test_exims_reject_log_by_any_name_it_is_given_is_counted_once(
        tmp_path: Path, main: str, reject: str) -> None:
    """`log_file_path = /var/log/exim/%s.log` names the logs main.log, reject.log and
    panic.log (and `%D` puts a date in): reject.log repeats main.log's refusals and
    authenticator failures, and given together it doubled them (12 rejects read 24)."""
    run1 = RECORDINGS / "exim" / "run1-default"
    for src, name in ((run1 / "mainlog.gz", main), (run1 / "rejectlog.gz", reject)):
        data = gzip.decompress(src.read_bytes())
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    alone = _refusals([tmp_path / main])
    assert alone["reject"] == 12 and alone["auth_failure"] > 20
    assert _refusals([tmp_path / main, tmp_path / reject]) == alone


def test_a_reject_log_under_another_name_is_known_by_its_header_dump(tmp_path: Path) -> None:
    """A copy named nothing like Exim's: a rejection's header dump (`Envelope-from: <a>`
    on a line of its own) is written to the reject log only. The Exim test suite's 0028
    (tests/data/corpora, GPL-2.0+): two refusals, each in both logs."""
    suite = ROOT / "tests" / "data" / "corpora" / "exim-testsuite" / "test"
    main, rejects = tmp_path / "0028-main", tmp_path / "0028-refused"
    main.write_bytes((suite / "log" / "0028").read_bytes())
    rejects.write_bytes((suite / "rejectlog" / "0028").read_bytes())
    assert b"\nEnvelope-from: <" in rejects.read_bytes()
    assert _refusals([main]) == {"reject": 2}
    assert _refusals([main, rejects]) == {"reject": 2}
