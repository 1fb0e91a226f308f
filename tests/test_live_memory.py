"""What live passes skip, and that skipping changes nothing: a follower's passes carry
their state in memory (live.py: `Memory`) and enrich only their own rows, and every
live pass judges only the groups its new rows reach (runner.py: `_scopes`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyarrow as pa

from logwatch.config import Allowlist, Config, Site, load_config
from logwatch.correlate.correlator import Correlator
from logwatch.correlate.lifetimes import id_on_host
from logwatch.enrich import (changed_messages, enrich_events, enrich_events_onto,
                             enrich_messages)
from logwatch.history import stored_history
from logwatch.live import Memory, run_pass
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.rules_engine.loader import load_rules
from logwatch.rules_engine.runner import run_rules
from logwatch.sitefacts import SiteFacts
from logwatch.state import State
from tests.conftest import ROOT

#: after the generated log's last line (it crosses New Year 2026 at about 60%)
MTIME = datetime(2026, 1, 1, 6, 0, tzinfo=UTC).timestamp()


def _alerts(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((a["rule"], str(a["key"]), a["count"], a["notice"], a["first_seen"],
                   a["last_seen"], a["summary"]) for a in alerts)


def _rows(table: pa.Table) -> list[str]:
    return sorted(str(r) for r in table.to_pylist())


def _generated(tmp_path: Path) -> Path:
    source = tmp_path / "generated.log"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--lines",
                    "40000", "--out", str(source), "--quiet"], check=True)
    return source


@pytest.mark.parametrize("told", [True, False], ids=["changed-told", "all-again"])
def test_enriching_only_the_new_rows_gives_what_enriching_all_gives(tmp_path: Path,
                                                                   told: bool) -> None:
    """Between the two batches messages end (their rows' message columns change), and
    sessions go on (a disconnect's AUTH counter counts its session's earlier lines).
    Told which messages changed (a follower), or not (a cron run's stored history,
    whose chunks have the message columns of when each was written)."""
    run = ParseRun([str(_generated(tmp_path))], default_parsers(),
                   ParseOptions(tz="UTC", year=2025))
    events = pa.concat_tables(list(run.events()))
    facts = SiteFacts.from_config(Site(local_domains=["example.com"]), Allowlist())
    correlator = Correlator(default_parsers())
    cut = events.num_rows // 2
    first, ended = correlator.process(events.slice(0, cut))
    rich = enrich_events(first, facts, pa.concat_tables([ended, correlator.provisional()]))
    second, ended_now = correlator.process(events.slice(cut))
    fresh = pa.concat_tables([ended_now, correlator.provisional()])
    everything = pa.concat_tables([first, second])
    known = pa.concat_tables([ended, fresh])
    want = enrich_events(everything.combine_chunks(), facts, known)
    changed = changed_messages([id_on_host(second.column("host"), second.column("queue_id"))],
                               correlator.state.links, second)
    got = enrich_events_onto(rich, everything, facts, known, changed if told else None)
    assert got.to_pylist() == want.to_pylist()
    assert rich.column("message_sender").to_pylist() != \
        want.slice(0, cut).column("message_sender").to_pylist()    # some did change


def _judged(path: Path, year: int) -> tuple[pa.Table, pa.Table]:
    """A log's events and messages, enriched as one batch enriches them."""
    run = ParseRun([str(path)], default_parsers(), ParseOptions(tz="UTC", year=year))
    parts = list(run.correlated())
    events = pa.concat_tables([e for e, _ in parts]).combine_chunks()
    messages = pa.concat_tables([m for _, m in parts]).sort_by("last_seen")
    facts = SiteFacts.from_config(Site(local_domains=["example.com"]), Allowlist())
    return enrich_events(events, facts, messages), enrich_messages(messages, events, facts)


def _new_alerts_as_without_scopes(events: pa.Table, messages: pa.Table, rules: list[Any],
                                  cut: int) -> tuple[int, bool]:
    """Check that the rules find, looking only at the groups that the events from row
    `cut` on (and the messages since the first of them) reach, what they find looking
    at all rows, less what a pass over the rows before found (the ledger has those);
    the number of such alerts, and whether looking at fewer groups found fewer."""
    since = events.column("ts")[cut].value
    new_from = {"events": cut,
                "messages": int(np.searchsorted(
                    messages.column("last_seen").cast(pa.int64()).to_numpy(), since))}

    def seen(alerts: list[Any]) -> list[tuple[Any, ...]]:
        return sorted((a.rule, str(a.key), a.count, a.first_us, a.last_us, a.summary)
                      for a in alerts)

    every = seen(run_rules(rules, events, messages).alerts)
    scoped = seen(run_rules(rules, events, messages, new_from=new_from).alerts)
    # a row at the cut's second may end an incident that the earlier pass found whole
    earlier = seen(run_rules(rules, events.slice(0, cut),
                             messages.slice(0, new_from["messages"])).alerts)
    assert set(scoped) <= set(every)
    new = [a for a in every if a[4] >= since and a not in earlier]
    assert new == [a for a in scoped if a[4] >= since and a not in earlier], cut
    return len(new), len(scoped) < len(every)


def test_judging_only_the_groups_new_rows_reach_misses_no_incident_they_touch(
        tmp_path: Path) -> None:
    """The last third of a generated log as a pass's new rows."""
    events, messages = _judged(_generated(tmp_path), 2025)
    found, fewer = _new_alerts_as_without_scopes(events, messages, load_rules(Config()),
                                                 events.num_rows * 2 // 3)
    assert found >= 3 and fewer


@pytest.mark.parametrize("log", ["postfix/mail.log", "exim/mainlog", "sendmail/maillog"])
def test_a_pass_that_brings_a_login_after_failures_finds_it_as_one_batch_does(
        log: str) -> None:
    """The sample logs' login after failures, cut before each of its rows and at
    twenty other places: a sequence looks only at the keys with both failures and
    logins, and those it must not miss (the login that completes it, the failures
    that a burst rule it supersedes counts)."""
    events, messages = _judged(ROOT / "sample_logs" / log, 2026)
    rules = load_rules(Config())
    (login,) = [a for a in run_rules(rules, events, messages).alerts
                if a.rule == "auth_success_after_failures"]
    ts = events.column("ts").cast(pa.int64()).to_numpy()
    story = np.flatnonzero((ts >= login.first_us) & (ts <= login.last_us) & np.array(
        [k == login.key["client_ip"] for k in events.column("client_ip").to_pylist()]))
    assert len(story) >= 4
    for cut in sorted({*story.tolist(), *range(0, events.num_rows, events.num_rows // 20)}):
        found, _ = _new_alerts_as_without_scopes(events, messages, rules, cut)
        assert found >= 1 or cut > story[-1]


_SPRAY = "".join(f"2026-03-03 03:4{i}:02 [2471] dovecot_login authenticator failed for (User) "
                 f"[203.0.113.45]: 535 Incorrect authentication data (set_id={name})\n"
                 for i, name in enumerate(["admin", "info", "sales", "test", "office"]))
_BURST = "".join(f"2026-03-03T03:4{i}:02+00:00 mx1 postfix/smtpd[7]: warning: unknown"
                 f"[203.0.113.45]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
                 for i in range(5))
#: a session that failed four times, told by its AUTH counter alone, then a fifth
_COUNTED = ("2026-03-03T03:40:00+00:00 mx1 postfix/smtpd[8]: connect from unknown"
            "[203.0.113.45]\n"
            "2026-03-03T03:40:02+00:00 mx1 postfix/smtpd[8]: disconnect from unknown"
            "[203.0.113.45] ehlo=1 auth=0/4 quit=1 commands=2/6\n") + _BURST.splitlines(True)[-1]


@pytest.mark.parametrize(("rule", "text"), [("password_spray", _SPRAY),
                                            ("auth_failure_burst", _BURST),
                                            ("auth_failure_burst", _COUNTED)],
                         ids=["names", "failures", "weighed"])
def test_as_many_rows_as_the_threshold_alert_in_the_pass_of_the_last(
        tmp_path: Path, rule: str, text: str) -> None:
    """A key is left out of a threshold or distinct rule's scope when its rows cannot
    make the threshold: five names or failures (a row weighs as many as its session's
    AUTH counter says), the fifth in the last row, the only new one, are just enough."""
    log = tmp_path / "mail.log"
    log.write_text(text)
    events, messages = _judged(log, 2026)
    rules = [r for r in load_rules(Config()) if r.id == rule]
    assert rules[0].threshold == 5
    assert _new_alerts_as_without_scopes(events, messages, rules,
                                         events.num_rows - 1) == (1, False)


@pytest.mark.parametrize("seconds_a_pass", [0.0, 3600.0], ids=["kept", "written-each-pass"])
def test_passes_carried_in_memory_decide_what_cron_passes_decide(
        tmp_path: Path, seconds_a_pass: float) -> None:
    """Kept in memory throughout, or written by the checkpoint thread after every pass
    while the next one runs (its clock moves an hour a pass): the same alerts as cron
    passes, the same history."""
    lines = _generated(tmp_path).read_bytes().splitlines(keepends=True)
    log = tmp_path / "mail.log"
    log.touch()
    # no local_domains: the facts are inferred, and change as deliveries come
    configs = []
    for name in ("cron", "follow"):
        path = tmp_path / f"{name}.toml"
        path.write_text(f'state_dir = "{tmp_path / name}"\n[site]\ntimezone = "UTC"\n'
                        f'[[sources]]\npath = "{log}"\n')
        configs.append(load_config(path))
    cron, follow = (State(cfg.state_dir) for cfg in configs)
    now = [0.0]
    memory = Memory(clock=lambda: now[0])
    raised = 0
    try:
        step = len(lines) // 9
        for start in range(0, len(lines), step):
            with open(log, "ab") as fh:
                fh.writelines(lines[start:start + step])
            os.utime(log, (MTIME, MTIME))
            now[0] += seconds_a_pass
            by_cron = run_pass(configs[0], cron)
            by_follower = run_pass(configs[1], follow, memory=memory)
            assert _alerts(by_follower.alerts) == _alerts(by_cron.alerts)
            raised += len(by_cron.alerts)
        if memory.writer is not None:
            memory.writer.join()
        # written by the thread after the last pass, or not at all (then written now)
        assert memory.unsaved == (seconds_a_pass == 0) and memory.failure is None
        memory.checkpoint(follow)
        for name in ("events", "lines", "messages"):
            # the follower writes its events without their enrichment (Carried.save)
            followed = stored_history(follow, name)
            by_cron = stored_history(cron, name).select(followed.column_names)
            assert _rows(followed) == _rows(by_cron), name
        assert "attempt" not in stored_history(follow, "events").column_names
        assert "attempt" in stored_history(cron, "events").column_names
    finally:
        cron.close()
        follow.close()
    assert raised >= 5


def _kept_messages(state: State) -> list[dict[str, Any]]:
    kept = stored_history(state, "messages")
    return [] if kept is None else kept.to_pylist()


def _one_log_site(tmp_path: Path) -> tuple[Path, Config]:
    """A site reading one log, `mail.log` (not there yet), in UTC, state beside it."""
    log = tmp_path / "mail.log"
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\nlocal_domains = '
                        f'["example.com"]\ntimezone = "UTC"\n[[sources]]\npath = "{log}"\n')
    return log, load_config(cfg_path)


def test_a_message_delivered_over_two_passes_counts_every_recipient(tmp_path: Path) -> None:
    """Its first delivery is read by one pass, its second and its end by the next:
    the message the rules keep has both external recipients (the first delivery line
    comes from the correlation state, which holds the lines of unfinished messages)."""
    log, cfg = _one_log_site(tmp_path)
    head = "2026-03-03T10:00:0{} mx1 postfix/"
    log.write_text(
        head.format(1) + "smtpd[100]: 7D3F2A1B9C: client=client.example.net[192.0.2.10], "
        "sasl_method=PLAIN, sasl_username=alice\n"
        + head.format(1) + "qmgr[11]: 7D3F2A1B9C: from=<alice@example.com>, size=100, "
        "nrcpt=2 (queue active)\n"
        + head.format(2) + "smtp[12]: 7D3F2A1B9C: to=<bob@partner.example.org>, "
        "relay=mx.partner.example.org[198.51.100.5]:25, delay=1, delays=0/0/0/1, "
        "dsn=2.0.0, status=sent (250 OK)\n")
    state = State(cfg.state_dir)
    try:
        run_pass(cfg, state)
        with open(log, "a") as fh:
            fh.write(head.format(5) + "smtp[13]: 7D3F2A1B9C: to=<carol@other.example.net>, "
                     "relay=mx.other.example.net[198.51.100.6]:25, delay=4, "
                     "delays=0/0/0/4, dsn=2.0.0, status=sent (250 OK)\n"
                     + head.format(5) + "qmgr[11]: 7D3F2A1B9C: removed\n")
        run_pass(cfg, state)
        kept = _kept_messages(state)
        # settling for a minute first: a later line brings it to its end
        with open(log, "a") as fh:
            fh.write("2026-03-03T10:02:00+00:00 mx1 postfix/anvil[9]: statistics: max "
                     "connection rate 1/60s for (smtp:192.0.2.10) at Mar  3 10:00:01\n")
        run_pass(cfg, state)
        kept += _kept_messages(state)
    finally:
        state.close()
    (message,) = {m["queue_id"]: m for m in kept}.values()
    assert message["queue_id"] == "7D3F2A1B9C" and message["external_recipients"] == 2
    assert sorted(message["recipient_domains"]) == ["other.example.net", "partner.example.org"]


def _failures(ip: str, at: datetime, n: int) -> str:
    return "".join(f"{(at + timedelta(seconds=s)).isoformat()} mx1 postfix/smtpd[7]: warning: "
                   f"unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
                   for s in range(n))


def test_a_cron_run_enriches_only_its_new_rows_unless_the_site_changed(tmp_path: Path
                                                                      ) -> None:
    """The history is stored enriched, under its facts' key: the next run enriches its
    own rows only. Once the site changes, the stored rows are enriched again and
    written again whole; trusted now, the failures are no longer held (a run that
    took them as stored would have held them untrusted for hours)."""
    from logwatch.enrich import enrichment_key
    from logwatch.history import HistoryStore

    log = tmp_path / "mail.log"
    config = tmp_path / "config.toml"

    def configured(domains: str, trusted: str) -> Config:
        config.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\n'
                          f'local_domains = [{domains}]\n'
                          f'trusted_networks = [{trusted}]\ntimezone = "UTC"\n'
                          f'[[sources]]\npath = "{log}"\n')
        return load_config(config)

    def run(cfg: Config, lines: str) -> tuple[list[bool] | None, int, int]:
        """The stored rows' trust (None: none stored), how many rows the run
        enriched, and in how many chunks they are stored; checks the store's key."""
        with log.open("a") as fh:
            fh.write(lines)
        state = State(cfg.state_dir)
        enriched: list[int] = []
        try:
            with pytest.MonkeyPatch.context() as mp:
                import logwatch.enrich as enrich
                import logwatch.live as live
                real = enrich.enrich_events
                mp.setattr(enrich, "enrich_events", lambda events, *a: enriched.append(
                    events.num_rows) or real(events, *a))
                mp.setattr(live, "enrich_events", enrich.enrich_events)
                run_pass(cfg, state)
            assert HistoryStore.load(state)[0].enriched == enrichment_key(
                SiteFacts.from_config(cfg.site, cfg.allow))
            stored = stored_history(state, "events")
            return (None if stored is None else stored.column("client_trusted").to_pylist(),
                    sum(enriched), len(state.blobs("history.events.rows.")))
        finally:
            state.close()

    ours, untrusted = '"example.com"', '"127.0.0.1/32"'
    ip, start = "198.51.100.7", datetime(2026, 3, 3, 10, tzinfo=UTC)
    assert run(configured(ours, untrusted), _failures(ip, start + timedelta(minutes=0), 3)) == ([False] * 3, 3, 1)
    assert run(configured(ours, untrusted), _failures(ip, start + timedelta(minutes=1), 2)) == ([False] * 5, 2, 2)
    ours = '"example.com", "example.org"'
    assert run(configured(ours, untrusted), _failures(ip, start + timedelta(minutes=2), 1)) == ([False] * 6, 6, 1)
    trusting = '"127.0.0.1/32", "198.51.100.0/24"'
    assert run(configured(ours, trusting), _failures(ip, start + timedelta(minutes=3), 1)) == (None, 7, 0)


def test_the_ledger_and_outbox_forget_what_can_no_longer_matter(tmp_path: Path) -> None:
    """Years of following must not pile up: an incident's ledger entry goes once the
    log is past its rule's history and cooldown (twice over) and past the week a log
    read again may hold (LEDGER_KEEP_US), a delivered alert after thirty days; a
    recent one stays, and so does what is still waiting."""
    log, cfg = _one_log_site(tmp_path)
    start = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    log.write_text(_failures("203.0.113.70", start, 6))
    state = State(cfg.state_dir)
    key = json.dumps({"client_ip": "203.0.113.70"})
    try:
        assert [a["rule"] for a in run_pass(cfg, state).alerts] == ["auth_failure_burst"]
        with state.commit() as db:
            for ago_days, delivered in ((40, True), (2, True), (40, False)):
                State.enqueue(db, f"old-{ago_days}-{delivered}", "low", {"route": "x"})
                if delivered:
                    db.execute("UPDATE outbox SET delivered_at = ? WHERE alert_id = ?",
                               (time.time() - ago_days * 86_400,
                                f"old-{ago_days}-{delivered}"))
        with open(log, "a") as fh:          # six hours on: within twice (6 h + 1 h)
            fh.write(_failures("203.0.113.71", start + timedelta(hours=6), 1))
        run_pass(cfg, state)
        assert state.ledger("auth_failure_burst", key) is not None
        with open(log, "a") as fh:          # a day on: past it, within the week
            fh.write(_failures("203.0.113.71", start + timedelta(days=1), 1))
        run_pass(cfg, state)
        assert state.ledger("auth_failure_burst", key) is not None
        with open(log, "a") as fh:          # nine days on: past both
            fh.write(_failures("203.0.113.71", start + timedelta(days=9), 1))
        run_pass(cfg, state)
        assert state.ledger("auth_failure_burst", key) is None
        left = {item.alert_id for item in state.recent()}
    finally:
        state.close()
    assert left == {"old-2-True", "old-40-False"}


def test_a_log_rewritten_in_place_tells_no_incident_twice(tmp_path: Path) -> None:
    """`sed -i` on the current log (a day of it) makes the next run read it again from
    its start: the morning's burst, long past its rule's window and cooldown, is found
    again and is not told again; a burst in the new lines is."""
    log, cfg = _one_log_site(tmp_path)
    start = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    connects = "".join(f"{(start - timedelta(minutes=m)).isoformat()} mx1 postfix/smtpd[7]: "
                       "connect from unknown[198.51.100.1]\n" for m in range(20, 0, -1))
    log.write_text(connects + _failures("203.0.113.80", start, 6)
                   + _failures("203.0.113.81", start + timedelta(hours=14), 1)
                   + _failures("203.0.113.82", start + timedelta(hours=15), 1))
    state = State(cfg.state_dir)
    try:
        assert [a["key"] for a in run_pass(cfg, state).alerts] == [
            {"client_ip": "203.0.113.80"}]
        kept = log.read_text().splitlines(keepends=True)[:-1]     # the last line deleted
        log.write_text("".join(kept) + _failures("203.0.113.83", start + timedelta(hours=16),
                                                 5))
        again = run_pass(cfg, state)
    finally:
        state.close()
    assert any("rewritten in place" in w for w in again.warnings)
    assert [a["key"] for a in again.alerts] == [{"client_ip": "203.0.113.83"}]


LATE_LINK = """\
2026-03-03T10:00:01+00:00 mx1 postfix/smtpd[100]: 4A1B2C3D4E: client=mail.example.net[198.51.100.7]
2026-03-03T10:00:01+00:00 mx1 postfix/qmgr[50]: 4A1B2C3D4E: from=<alice@example.net>, size=2000, nrcpt=1 (queue active)
2026-03-03T10:00:02+00:00 mx1 postfix/smtpd[200]: 5B6C7D8E9F: client=localhost[127.0.0.1]
2026-03-03T10:00:02+00:00 mx1 postfix/qmgr[50]: 5B6C7D8E9F: from=<alice@example.net>, size=2300, nrcpt=1 (queue active)
2026-03-03T10:00:03+00:00 mx1 postfix/local[103]: 5B6C7D8E9F: to=<bob@example.com>, relay=local, delay=0.3, delays=0.1/0/0/0.2, dsn=2.0.0, status=sent (delivered to mailbox)
2026-03-03T10:00:03+00:00 mx1 postfix/qmgr[50]: 5B6C7D8E9F: removed
2026-03-03T10:00:13+00:00 mx1 postfix/smtp[102]: 4A1B2C3D4E: to=<bob@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=12, delays=0.1/0/0.1/12, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5B6C7D8E9F)
2026-03-03T10:00:13+00:00 mx1 postfix/qmgr[50]: 4A1B2C3D4E: removed
"""


def test_a_link_made_by_a_later_pass_changes_its_childs_earlier_lines(tmp_path: Path) -> None:
    """The content filter's re-injection is over before the `queued as` line comes, in
    the next pass: the child's lines from the pass before now belong to a re-injected
    message, and only the new link says so (none of the child's own lines is new)."""
    path = tmp_path / "mail.log"
    path.write_text(LATE_LINK)
    run = ParseRun([str(path)], default_parsers(), ParseOptions(tz="UTC"))
    events = pa.concat_tables(list(run.events()))
    facts = SiteFacts.from_config(Site(local_domains=["example.com"]), Allowlist())
    correlator = Correlator(default_parsers())
    first, ended = correlator.process(events.slice(0, 6))
    rich = enrich_events(first, facts, pa.concat_tables([ended, correlator.provisional()]))
    second, ended_now = correlator.process(events.slice(6))
    known = pa.concat_tables([ended, ended_now, correlator.provisional()])
    everything = pa.concat_tables([first, second])
    changed = changed_messages([id_on_host(second.column("host"), second.column("queue_id"))],
                               correlator.state.links, second)
    got = enrich_events_onto(rich, everything, facts, known, changed)
    assert got.to_pylist() == enrich_events(everything.combine_chunks(), facts,
                                            known).to_pylist()
    child = [r["message_origin"] for r in got.to_pylist() if r["queue_id"] == "5B6C7D8E9F"]
    assert child == ["reinjected"] * 4
    assert "smtp" in rich.column("message_origin").to_pylist()[2:6]


WEBMAIL_THEN_DELIVERY = (
    # a trusted webmail client sends as a foreign sender in one pass; the delivery comes
    # in the next (the rules keep the client= row only while a rule may count it)
    """\
2026-03-03T10:20:00+00:00 mx1 postfix/smtpd[2178]: connect from webmail.example.com[192.0.2.10]
2026-03-03T10:20:01+00:00 mx1 postfix/smtpd[2178]: 422DF1B2F93: client=webmail.example.com[192.0.2.10], sasl_method=PLAIN, sasl_username=carol
2026-03-03T10:20:01+00:00 mx1 postfix/cleanup[2179]: 422DF1B2F93: message-id=<x1@example.com>
2026-03-03T10:20:01+00:00 mx1 postfix/qmgr[1187]: 422DF1B2F93: from=<carol@gmail.invalid>, size=1300, nrcpt=1 (queue active)
2026-03-03T10:20:01+00:00 mx1 postfix/smtpd[2178]: disconnect from webmail.example.com[192.0.2.10] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6
""",
    """\
2026-03-03T10:25:02+00:00 mx1 postfix/smtp[2180]: 422DF1B2F93: to=<friend@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=1.1, delays=0.34/0.01/0.34/0.44, dsn=2.0.0, status=sent (250 OK)
2026-03-03T10:25:02+00:00 mx1 postfix/qmgr[1187]: 422DF1B2F93: removed
""")


Evidence = dict[str, list[str]]


def _in_passes(tmp_path: Path, parts: tuple[str, ...]) -> tuple[Evidence, Evidence,
                                                                 list[set[str]]]:
    """Each part read by a cron pass of its own: the alerts' evidence lines, the same
    from `detect` over the whole log, and the queue ids of the lines each pass kept."""
    from logwatch.detection import detect_files

    log = tmp_path / "mail.log"
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[site]\n'
                      'local_domains = ["example.com"]\n'
                      'trusted_networks = ["127.0.0.1/32", "192.0.2.10/32"]\n'
                      f'timezone = "UTC"\n[[sources]]\npath = "{log}"\n')
    cfg = load_config(config)
    alerts, held = [], []
    for part in parts:
        with log.open("a") as fh:
            fh.write(part)
        state = State(cfg.state_dir)
        try:
            alerts += run_pass(cfg, state).alerts
            held.append(set(stored_history(state, "lines").column("queue_id").to_pylist()))
        finally:
            state.close()
    followed = {a["rule"]: [e["line"] for e in a["evidence"]] for a in alerts}
    at_once = {a.rule: [e.line for e in a.evidence]
               for a in detect_files([str(log)], cfg, ParseOptions()).detection.alerts}
    return followed, at_once, held


def test_a_message_alert_in_a_later_pass_has_the_evidence_detect_gives(tmp_path: Path) -> None:
    """The client= line that names the account is evidence whether the message is read
    in one go or over two passes, and once (found by a review)."""
    followed, at_once, _ = _in_passes(tmp_path, WEBMAIL_THEN_DELIVERY)
    assert followed == at_once
    lines = followed["unknown_sender_relay"]
    assert len(lines) == 3 and "client=webmail.example.com" in lines[0]


DEFERRED_FOR_HOURS = (
    # the webmail message of above, deferred for three hours (longer than any message
    # rule looks back); a local message received beside it ends at once
    WEBMAIL_THEN_DELIVERY[0] + """\
2026-03-03T10:20:03+00:00 mx1 postfix/smtp[2180]: 422DF1B2F93: to=<friend@example.net>, relay=none, delay=2, delays=0.3/0/1.7/0, dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.5]:25: Connection timed out)
2026-03-03T10:21:00+00:00 mx1 postfix/pickup[2190]: 5C7E1A2B3D: uid=1000 from=<dave@example.com>
2026-03-03T10:21:00+00:00 mx1 postfix/qmgr[1187]: 5C7E1A2B3D: from=<dave@example.com>, size=400, nrcpt=1 (queue active)
2026-03-03T10:21:00+00:00 mx1 postfix/local[2191]: 5C7E1A2B3D: to=<erin@example.com>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)
2026-03-03T10:21:00+00:00 mx1 postfix/qmgr[1187]: 5C7E1A2B3D: removed
""",
    """\
2026-03-03T13:25:02+00:00 mx1 postfix/smtp[2180]: 422DF1B2F93: to=<friend@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=10861, delays=10860/0.01/0.34/0.44, dsn=2.0.0, status=sent (250 OK)
2026-03-03T13:25:02+00:00 mx1 postfix/qmgr[1187]: 422DF1B2F93: removed
""")


def test_a_message_open_for_hours_keeps_its_lines_and_an_ended_one_lets_them_go(
        tmp_path: Path) -> None:
    """The lines of messages are kept for the messages rules' spans (two hours), and
    the lines of a message not over yet for as long as it lasts: the webmail message
    delivered three hours on is told with its client= line, as `detect` tells it,
    while the local message that ended at once is no longer held."""
    followed, at_once, held = _in_passes(tmp_path, DEFERRED_FOR_HOURS)
    assert held[0] == {"422DF1B2F93", "5C7E1A2B3D"}
    assert "5C7E1A2B3D" not in held[1]
    assert followed == at_once
    assert "client=webmail.example.com" in followed["unknown_sender_relay"][0]


def test_a_rule_added_between_runs_may_read_a_column_the_history_lacks(tmp_path: Path
                                                                      ) -> None:
    """The history holds the columns the rules of its run read. A site's new rule that
    reads another (`tls_protocol`) stopped every run after it with a KeyError; the held
    rows now have it null, and the new rule judges the new ones."""
    log = tmp_path / "mail.log"
    rules = tmp_path / "rules.d"
    rules.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\nrule_dirs = ["{rules}"]\n'
                      '[site]\nlocal_domains = ["example.com"]\ntimezone = "UTC"\n'
                      f'[[sources]]\npath = "{log}"\n')
    start = datetime(2026, 3, 3, 10, tzinfo=UTC)
    log.write_text(_failures("198.51.100.7", start, 3))

    def run() -> list[dict[str, Any]]:
        state = State(load_config(config).state_dir)
        try:
            return run_pass(load_config(config), state).alerts
        finally:
            state.close()

    assert run() == []
    (rules / "tls.toml").write_text(
        '[[rule]]\nid = "old_tls"\ntitle = "Old TLS"\nkind = "threshold"\n'
        'severity = "low"\ndescription = "Clients still on TLSv1."\n'
        'group_by = ["client_ip"]\nthreshold = 2\nwindow = "10m"\n'
        'summary = "$count TLSv1 sessions from $client_ip"\n'
        '[rule.where]\nevent = "tls"\ntls_protocol = "TLSv1"\n')
    with log.open("a") as fh:
        for s in (300, 301):
            fh.write(f"{(start + timedelta(seconds=s)).isoformat()} mx1 postfix/smtpd[8]: "
                     "Anonymous TLS connection established from unknown[198.51.100.8]: "
                     "TLSv1 with cipher AES256-SHA (256/256 bits)\n")
    assert [(a["rule"], a["key"], a["count"]) for a in run()] == [
        ("old_tls", {"client_ip": "198.51.100.8"}, 2)]
