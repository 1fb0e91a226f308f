"""Sendmail's sessions: one process per connection, no connect line. Lines written for
these tests in the shape of sample_logs/sendmail/maillog (Sendmail 8.17 on Debian)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from logwatch.config import load_config
from logwatch.detection import detect_files
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.report.build import ReportOptions, build_report
from logwatch.trace import parse_query, trace_files
from tests.stories import SAMPLE_CONFIG

DAY = {"year": 2026, "tz": "UTC"}

#: carol logs in over TLS in process 3000; forty minutes later a stranger's connection
#: gets the same pid (pid_max wraps on a busy host) and relays without AUTH or TLS
PID_REUSED = """\
Mar  3 10:00:00 mx1 sm-mta[3000]: STARTTLS=server, relay=[198.51.100.31], version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256
Mar  3 10:00:01 mx1 sm-mta[3000]: AUTH=server, relay=[198.51.100.31], authid=carol, mech=PLAIN, bits=0
Mar  3 10:00:04 mx1 sm-mta[3000]: 623A04g1003000: from=<carol@example.com>, size=2065, class=0, nrcpts=1, msgid=<a1@example.com>, bodytype=8BITMIME, proto=ESMTPSA, daemon=MSA, relay=[198.51.100.31]
Mar  3 10:00:05 mx1 sm-mta[3001]: 623A04g1003000: to=<jane@example.org>, delay=00:00:01, xdelay=00:00:00, mailer=esmtp, pri=140659, relay=mx.example.org. [198.51.100.20], dsn=2.0.0, stat=Sent (Ok: queued as 4d0zdivHRIpQ1)
Mar  3 10:40:04 mx1 sm-mta[3000]: 623Ae4zz003000: from=<spam@evil.example>, size=1065, class=0, nrcpts=1, msgid=<s1@evil.example>, proto=ESMTP, daemon=MTA, relay=[203.0.113.66]
Mar  3 10:40:05 mx1 sm-mta[3002]: 623Ae4zz003000: to=<victim@example.net>, delay=00:00:01, xdelay=00:00:00, mailer=esmtp, pri=140659, relay=mx.example.net. [198.51.100.21], dsn=2.0.0, stat=Sent (Ok: queued as 4d0zdivHRIpQ2)
"""

#: a queue run (process 3100) delivering three messages to three hosts, each after its
#: STARTTLS=client to that host
QUEUE_RUN = """\
Mar  3 10:00:01 mx1 sm-mta[3001]: 623A01aa003001: from=<alice@example.com>, size=500, class=0, nrcpts=1, msgid=<m1@example.com>, proto=ESMTPSA, daemon=MSA, relay=[192.0.2.10]
Mar  3 10:00:01 mx1 sm-mta[3002]: 623A01bb003002: from=<bob@example.com>, size=500, class=0, nrcpts=1, msgid=<m2@example.com>, proto=ESMTPSA, daemon=MSA, relay=[192.0.2.10]
Mar  3 10:00:01 mx1 sm-mta[3003]: 623A01cc003003: from=<carol@example.com>, size=500, class=0, nrcpts=1, msgid=<m3@example.com>, proto=ESMTPSA, daemon=MSA, relay=[192.0.2.10]
Mar  3 10:30:00 mx1 sm-mta[3100]: STARTTLS=client, relay=mx.one.example., version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256
Mar  3 10:30:01 mx1 sm-mta[3100]: 623A01aa003001: to=<a@one.example>, delay=00:30:00, xdelay=00:00:01, mailer=esmtp, pri=120500, relay=mx.one.example. [198.51.100.1], dsn=2.0.0, stat=Sent (ok)
Mar  3 10:30:02 mx1 sm-mta[3100]: STARTTLS=client, relay=mx.two.example., version=TLSv1.2, verify=FAIL, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256/256
Mar  3 10:30:03 mx1 sm-mta[3100]: 623A01bb003002: to=<b@two.example>, delay=00:30:02, xdelay=00:00:01, mailer=esmtp, pri=120500, relay=mx.two.example. [198.51.100.2], dsn=2.0.0, stat=Sent (ok)
Mar  3 10:30:04 mx1 sm-mta[3100]: STARTTLS=client, relay=mx.three.example., version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256
Mar  3 10:30:05 mx1 sm-mta[3100]: 623A01cc003003: to=<c@three.example>, delay=00:30:04, xdelay=00:00:01, mailer=esmtp, pri=120500, relay=mx.three.example. [198.51.100.3], dsn=2.0.0, stat=Sent (ok)
"""


def _log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "maillog"
    path.write_text(text)
    return path


def _messages(path: Path) -> dict[str, dict]:
    run = ParseRun([str(path)], default_parsers(), ParseOptions(**DAY))
    done = pa.concat_tables([m for _, m in run.correlated()])
    return {m["queue_id"]: m for m in done.to_pylist()}


def test_a_pid_reused_by_another_client_is_another_connection(tmp_path: Path) -> None:
    """The stranger was neither carol nor encrypted, and relayed for a foreign sender:
    the open relay is said (it was missed: the stranger inherited carol's login)."""
    path = _log(tmp_path, PID_REUSED)
    msgs = _messages(path)
    carol, stranger = msgs["623A04g1003000"], msgs["623Ae4zz003000"]
    assert (carol["sasl_username"], carol["tls_in"]) == ("carol", True)
    assert (stranger["sasl_username"], stranger["tls_in"]) == (None, False)
    alerts = detect_files([str(path)], load_config(SAMPLE_CONFIG),
                          ParseOptions(**DAY)).detection.alerts
    assert [(a.rule, a.key.get("client_ip")) for a in alerts if a.rule == "open_relay"] == \
        [("open_relay", "203.0.113.66")]
    assert not [a for a in alerts if a.rule == "unknown_sender_relay"]


def test_a_queue_runs_starttls_is_outbound_and_goes_with_its_own_delivery(
        tmp_path: Path) -> None:
    path = _log(tmp_path, QUEUE_RUN)
    rep, errors = build_report([str(path)], load_config(SAMPLE_CONFIG), ParseOptions(**DAY),
                               ReportOptions(alerts=False))
    assert errors == []
    tls = rep["security"]["tls"]
    assert tls["inbound"]["protocols"] == {} and tls["inbound"]["tls_messages"] == 0
    assert (tls["outbound"]["tls_connections"], tls["outbound"]["smtp_deliveries"]) == (3, 3)
    assert tls["outbound"]["protocols"] == {"TLSv1.3": 2, "TLSv1.2": 1}
    traced = trace_files([str(path)], default_parsers(), ParseOptions(**DAY),
                         parse_query("623A01bb003002", None))
    lines = traced.events["line"].to_pylist()
    assert [t.split("]: ", 1)[1][:40] for t in lines] == [
        "623A01bb003002: from=<bob@example.com>, ",
        "STARTTLS=client, relay=mx.two.example., ",
        "623A01bb003002: to=<b@two.example>, dela"]


#: the queue run's first two deliveries, both to one relay, a handshake each; and a slow
#: delivery (xdelay 1m30s) after its handshake
_RUN = QUEUE_RUN.splitlines(keepends=True)
SAME_RELAY = "".join(
    _RUN[:2] + _RUN[3:5]
    + [line.replace("two.example", "one.example").replace(".2]", ".1]") for line in _RUN[5:7]]
    + ["Mar  3 10:40:00 mx1 sm-mta[3200]: STARTTLS=client, relay=mx.big.example., "
       "version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256\n",
       "Mar  3 10:41:30 mx1 sm-mta[3200]: 623A01bb003002: to=<big@big.example>, "
       "delay=00:41:29, xdelay=00:01:30, mailer=esmtp, pri=120500, relay=mx.big.example. "
       "[198.51.100.9], dsn=2.0.0, stat=Sent (ok)\n"])


def test_each_delivery_takes_the_last_handshake_of_its_process_to_its_relay(
        tmp_path: Path) -> None:
    """Not alice's handshake with the same relay a moment before, and not lost when the
    delivery took a minute and a half (found by a review)."""
    path = _log(tmp_path, SAME_RELAY)
    traced = trace_files([str(path)], default_parsers(), ParseOptions(**DAY),
                         parse_query("623A01bb003002", None))
    assert [t.split("]: ", 1)[1][:44] for t in traced.events["line"].to_pylist()] == [
        "623A01bb003002: from=<bob@example.com>, size",
        "STARTTLS=client, relay=mx.one.example., vers",
        "623A01bb003002: to=<b@one.example>, delay=00",
        "STARTTLS=client, relay=mx.big.example., vers",
        "623A01bb003002: to=<big@big.example>, delay="]
    assert "version=TLSv1.2" in traced.events["line"][1].as_py()


def test_outbound_tls_is_counted_once_per_connection(tmp_path: Path) -> None:
    """Sendmail can log the TLS version on to= lines too: the handshake is the one
    count. A handshake with this host's own MTA (the submission queue) is not outbound
    (found by a review)."""
    path = _log(tmp_path, """\
Mar  3 10:00:01 mx1 sm-mta[3001]: 623A01aa003001: from=<alice@example.com>, size=500, class=0, nrcpts=2, msgid=<m1@example.com>, proto=ESMTPSA, daemon=MSA, relay=[192.0.2.10]
Mar  3 10:00:02 mx1 sendmail[3050]: STARTTLS=client, relay=[127.0.0.1], version=TLSv1.3, verify=FAIL, cipher=TLS_AES_256_GCM_SHA384, bits=256/256
Mar  3 10:30:00 mx1 sm-mta[3100]: STARTTLS=client, relay=mx.one.example., version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256
Mar  3 10:30:01 mx1 sm-mta[3100]: 623A01aa003001: to=<a@one.example>,<b@one.example>, delay=00:30:00, xdelay=00:00:01, mailer=esmtp, tls_verify=OK, tls_version=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, pri=120500, relay=mx.one.example. [198.51.100.1], dsn=2.0.0, stat=Sent (ok)
""")
    rep, errors = build_report([str(path)], load_config(SAMPLE_CONFIG), ParseOptions(**DAY),
                               ReportOptions(alerts=False))
    assert errors == []
    out = rep["security"]["tls"]["outbound"]
    assert (out["tls_connections"], out["smtp_deliveries"]) == (1, 2)


def test_the_same_client_reusing_a_pid_is_told_by_the_protocol(tmp_path: Path) -> None:
    """Both connections from one address (a NAT): the session cannot tell them apart,
    but the second from= says proto=ESMTP, neither TLS nor AUTH, so its message is not
    carol's, and relaying it is an open relay (found by a review)."""
    path = _log(tmp_path, PID_REUSED.replace("198.51.100.31", "203.0.113.66"))
    msgs = _messages(path)
    assert (msgs["623A04g1003000"]["sasl_username"], msgs["623A04g1003000"]["tls_in"]) == \
        ("carol", True)
    assert (msgs["623Ae4zz003000"]["sasl_username"], msgs["623Ae4zz003000"]["tls_in"]) == \
        (None, False)
    alerts = detect_files([str(path)], load_config(SAMPLE_CONFIG),
                          ParseOptions(**DAY)).detection.alerts
    assert [a.key.get("client_ip") for a in alerts if a.rule == "open_relay"] == \
        ["203.0.113.66"]


def test_a_follower_state_saved_before_the_protocol_column_loads(tmp_path: Path) -> None:
    """The rows a follower holds between passes gained `protocol`: a state written by the
    version before is read with it null, not refused (which would stop the follower)."""
    from logwatch.correlate.correlator import ROW_SCHEMA, CorrelationState
    from logwatch.state import State

    path = _log(tmp_path, PID_REUSED)
    run = ParseRun([str(path)], default_parsers(), ParseOptions(**DAY))
    parts = list(run.correlated())
    rows = pa.concat_tables([e for e, _ in parts])
    held = pa.table({f.name: rows.column(f.name).cast(f.type) if f.name in rows.column_names
                     else pa.nulls(rows.num_rows, f.type) for f in ROW_SCHEMA
                     if f.name != "protocol"})
    state = State(tmp_path / "state")
    try:
        with state.commit() as db:
            State.put_correlation(db, CorrelationState(rows=held))
        loaded = state.correlation()
    finally:
        state.close()
    assert loaded is not None and loaded.rows.schema == ROW_SCHEMA
    assert loaded.rows.num_rows == rows.num_rows and loaded.rows["protocol"].null_count == \
        rows.num_rows
