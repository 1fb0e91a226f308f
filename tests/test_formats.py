"""Line formats: detection (`parse.formats`), header splitting (`parse.header`) and the
per-row substring helpers it is built on (`parse.slicing`).

Lines are real: the Postfix ones are copied from `recordings/` (Debian Postfix 3.7 through
rsyslog), the Exim ones from `parsers/samples/exim.log` and the crowdsec corpus; the rest
are written in the same shapes with documentation addresses.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.parse.formats import FORMATS, SAMPLE_LINES, detect_format
from logwatch.parse.header import (KIND_BSD, KIND_LOCAL, KIND_NONE, KIND_UTC, parse_tags,
                                   split_header)
from logwatch.parse.slicing import strings_at, substrings, value_offsets
from tests.conftest import parse_events


# Copied from recordings/postfix (run1-syslog: rsyslog writing three formats at once plus
# the journal export; run2-postlog: postlogd), so that a new recording cannot change them.
BSD = [
    'Nov 29 12:32:28 mx1 dovecot: master: Dovecot v2.3.19.1 (9b53102964) starting up withou'
    't any protocols (core dumps disabled)',
    'Nov 29 12:32:30 mx1 postfix/postfix-script[25437]: starting the Postfix mail system',
    'Nov 29 12:32:30 mx1 postfix/master[25439]: daemon started -- version 3.7.11, configura'
    'tion /etc/postfix',
    'Nov 29 12:32:30 mx1 postfix/smtpd[25450]: connect from unknown[127.0.0.10]',
    'Nov 29 12:32:30 mx1 postfix/smtpd[25450]: 35545178314: client=unknown[127.0.0.10]',
    'Nov 29 12:32:30 mx1 postfix/cleanup[25457]: 35545178314: message-id=<20261129123230.02'
    '5449@mx1.example.com>',
    'Nov 29 12:32:30 mx1 postfix/qmgr[25441]: 35545178314: from=<newsletter@example.net>, s'
    'ize=442, nrcpt=1 (queue active)',
    'Nov 29 12:32:30 mx1 postfix/smtpd[25450]: disconnect from unknown[127.0.0.10] ehlo=1 m'
    'ail=1 rcpt=1 data=1 quit=1 commands=5',
]
RFC3339 = [
    '2026-11-29T12:32:28.967058+00:00 mx1 dovecot: master: Dovecot v2.3.19.1 (9b53102964) s'
    'tarting up without any protocols (core dumps disabled)',
    '2026-11-29T12:32:30.079569+00:00 mx1 postfix/postfix-script[25437]: starting the Postf'
    'ix mail system',
    '2026-11-29T12:32:30.087008+00:00 mx1 postfix/master[25439]: daemon started -- version '
    '3.7.11, configuration /etc/postfix',
    '2026-11-29T12:32:30.197258+00:00 mx1 postfix/smtpd[25450]: connect from unknown[127.0.0.10]',
    '2026-11-29T12:32:30.218574+00:00 mx1 postfix/smtpd[25450]: 35545178314: client=unknown'
    '[127.0.0.10]',
    '2026-11-29T12:32:30.219346+00:00 mx1 postfix/cleanup[25457]: 35545178314: message-id=<'
    '20261129123230.025449@mx1.example.com>',
    '2026-11-29T12:32:30.220120+00:00 mx1 postfix/qmgr[25441]: 35545178314: from=<newslette'
    'r@example.net>, size=442, nrcpt=1 (queue active)',
    '2026-11-29T12:32:30.220388+00:00 mx1 postfix/smtpd[25450]: disconnect from unknown[127'
    '.0.0.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5',
]
RFC5424 = [
    '<22>1 2026-11-29T12:32:28.967058+00:00 mx1 dovecot - - -  master: Dovecot v2.3.19.1 (9'
    'b53102964) starting up without any protocols (core dumps disabled)',
    '<22>1 2026-11-29T12:32:30.079569+00:00 mx1 postfix 25437 - -  starting the Postfix'
    ' mail system',
    '<22>1 2026-11-29T12:32:30.087008+00:00 mx1 postfix 25439 - -  daemon started -- versio'
    'n 3.7.11, configuration /etc/postfix',
    '<22>1 2026-11-29T12:32:30.197258+00:00 mx1 postfix 25450 - -  connect from unknown'
    '[127.0.0.10]',
    '<22>1 2026-11-29T12:32:30.218574+00:00 mx1 postfix 25450 - -  35545178314: client=unkn'
    'own[127.0.0.10]',
    '<22>1 2026-11-29T12:32:30.219346+00:00 mx1 postfix 25457 - -  35545178314: message-id='
    '<20261129123230.025449@mx1.example.com>',
    '<22>1 2026-11-29T12:32:30.220120+00:00 mx1 postfix 25441 - -  35545178314: from=<newsl'
    'etter@example.net>, size=442, nrcpt=1 (queue active)',
    '<22>1 2026-11-29T12:32:30.220388+00:00 mx1 postfix 25450 - -  disconnect from unknown['
    '127.0.0.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5',
]
JOURNAL = [
    '{"SYSLOG_FACILITY":"2","_SOURCE_REALTIME_TIMESTAMP":"1795955548966761","_EXE":"/usr/sb'
    'in/dovecot","__CURSOR":"s=589295ef12ae44f99b663eb99802be2b;i=64f;b=5136b59dc7c147ed8c1'
    '6970f4c0bd5fb;m=43ef36de;t=661697c874fd3;x=fe6ade38900ed089","_GID":"0","_RUNTIME_SCOP'
    'E":"system","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":"master: Dovecot'
    ' v2.3.19.1 (9b53102964) starting up without any protocols (core dumps disabled)","_PID'
    '":"25132","_COMM":"dovecot","_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_CMDLINE'
    '":"/usr/sbin/dovecot -c /etc/dovecot/mlw-rec.conf","_CAP_EFFECTIVE":"404e3","_UID":"0"'
    ',"_BOOT_ID":"5136b59dc7c147ed8c16970f4c0bd5fb","PRIORITY":"6","__MONOTONIC_TIMESTAMP":'
    '"1139750622","__REALTIME_TIMESTAMP":"1795955548966867","_TRANSPORT":"syslog","SYSLOG_T'
    'IMESTAMP":"Nov 29 12:32:28 "}',
    '{"SYSLOG_FACILITY":"2","SYSLOG_PID":"25437","_SOURCE_REALTIME_TIMESTAMP":"179595555007'
    '9253","__CURSOR":"s=589295ef12ae44f99b663eb99802be2b;i=651;b=5136b59dc7c147ed8c16970f4'
    'c0bd5fb;m=440030a4;t=661697c984998;x=8935cf2ca2c7ec87","SYSLOG_TIMESTAMP":"Nov 29 12:3'
    '2:30 ","_GID":"0","__MONOTONIC_TIMESTAMP":"1140863140","_HOSTNAME":"mx1","_CAP_EFFECTI'
    'VE":"1fffeffffff","_RUNTIME_SCOPE":"system","__REALTIME_TIMESTAMP":"1795955550079384",'
    '"MESSAGE":"starting the Postfix mail system","_BOOT_ID":"5136b59dc7c147ed8c16970f4c0bd'
    '5fb","_COMM":"postlog","SYSLOG_IDENTIFIER":"postfix/postfix-script","_PID":"25437","_M'
    'ACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_TRANSPORT":"syslog","PRIORITY":"6","_U'
    'ID":"0"}',
]
POSTLOG = [
    'Nov 29 12:34:11 mx1 postfix/postfix-script[26848]: starting the Postfix mail system',
    'Nov 29 12:34:11 mx1 postfix/master[26850]: daemon started -- version 3.7.11, configura'
    'tion /etc/postfix',
    'Nov 29 12:34:12 mx1 postfix/smtpd[26862]: connect from unknown[127.0.0.10]',
    'Nov 29 12:34:12 mx1 postfix/smtpd[26862]: 2AD80178461: client=unknown[127.0.0.10]',
    'Nov 29 12:34:12 mx1 postfix/cleanup[26869]: 2AD80178461: message-id=<20261129123412.02'
    '6861@mx1.example.com>',
    'Nov 29 12:34:12 mx1 postfix/qmgr[26852]: 2AD80178461: from=<newsletter@example.net>, s'
    'ize=442, nrcpt=1 (queue active)',
    'Nov 29 12:34:12 mx1 postfix/smtpd[26862]: disconnect from unknown[127.0.0.10] ehlo=1 m'
    'ail=1 rcpt=1 data=1 quit=1 commands=5',
    'Nov 29 12:34:12 mx1 postfix/local[26870]: 2AD80178461: to=<bob@example.com>, relay=loc'
    'al, delay=0.02, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (delivered to mailbox)',
]
ISO_SYSLOG = [
    "2019-10-22 03:39:17 mx1 exim[29786]: 1iMkSx-0007lY-Js <= alice@example.com "
    "H=mail.example.net [192.0.2.20] P=esmtp S=1234",
    "2019-10-22 03:39:18 mx1 postfix/smtpd[2]: connect from unknown[192.0.2.1]",
    "2019-10-22 03:39:18.250 mx1 postfix/smtpd[2]: disconnect from unknown[192.0.2.1]",
]
EXIM_PLAIN = [
    "2022-06-29 16:04:19 dovecot_login authenticator failed for ([192.0.2.5]) "
    "[192.0.2.4]:55379: 535 Incorrect authentication data (set_id=abuse@example.com)",
    "2022-06-29 15:33:46 H=mail.example.com [192.0.2.4]:53343 F=<info@example.com> rejected "
    "RCPT <toto@example.org>: No Such User Here",
    "2022-06-29 16:04:20 1tUbK1-00000000Yx2-2AbC Completed",
]
EXIM_PID = [
    "2025-01-06 08:00:01 [1201] exim 4.98 daemon started: pid=1201, -q30m, listening for "
    "SMTP on [0.0.0.0]:25 [::]:25 [0.0.0.0]:587",
    "2025-01-06 08:01:11 [2101] 1tUbK1-00000000Yx2-2AbC <= alice@example.net "
    "H=mail.example.net (helo.example.net) [198.51.100.7]:52344 P=esmtps S=4711",
    "2025-01-06 08:01:12 [2102/4] 1tUbK1-00000000Yx2-2AbC => carol@example.org "
    "R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.20]:25",
]
EXIM_MS_ZONE = [
    "2025-01-06 08:01:11.123 +0100 [2101] 1tUbK1-00000000Yx2-2AbC <= alice@example.net "
    "H=mail.example.net [198.51.100.7]:52344 P=esmtps S=4711",
    "2025-01-06 08:01:12.456 +0100 [2102] 1tUbK1-00000000Yx2-2AbC Completed",
]
EXIM_ZONE = [
    "2025-01-06 08:01:11 -0500 1tUbK1-00000000Yx2-2AbC <= alice@example.net P=local S=512",
    "2025-01-06 08:01:12 -0500 1tUbK1-00000000Yx2-2AbC Completed",
]


def _us(iso: str) -> int:
    dt = datetime.fromisoformat(iso)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def header(lines: list[str], fmt: str | None):  # type: ignore[no-untyped-def]
    h, ok = split_header(pa.array(lines, pa.string()), fmt)
    prog, pid = parse_tags(h.tag)
    return h, ok, prog.to_pylist(), pid.to_pylist(), h.messages().to_pylist()


# --- detection -----------------------------------------------------------------------------

@pytest.mark.parametrize("lines,fmt", [
    (BSD, "bsd"), (POSTLOG, "bsd"), (RFC3339, "rfc3339"), (RFC5424, "rfc5424"),
    (JOURNAL, "journal_json"), (ISO_SYSLOG, "iso_syslog"), (EXIM_PLAIN, "exim"),
    (EXIM_PID, "exim"), (EXIM_MS_ZONE, "exim"), (EXIM_ZONE, "exim"),
], ids=["bsd", "postlog", "rfc3339", "rfc5424", "journal", "iso_syslog", "exim",
        "exim_pid", "exim_ms_zone", "exim_zone"])
def test_detect_format(lines: list[str], fmt: str) -> None:
    assert detect_format(lines) == fmt
    for line in lines:  # each line on its own, too
        assert detect_format([line]) == fmt, line


def test_formats_listed() -> None:
    assert set(FORMATS) == {"journal_json", "rfc5424", "rfc3339", "iso_syslog", "exim", "bsd",
                            "dovecot"}
    assert SAMPLE_LINES == 64


def test_detect_dovecots_own_log_and_not_its_neighbours() -> None:
    """Dovecot's own log has a stamp and then the process: a syslog line has a host
    there, Exim's own log a message id, `[pid]` or a capitalised word."""
    assert detect_format(["Jan 29 09:33:58 pop3-login: Info: Aborted login (auth failed, "
                          "1 attempts in 2 secs): user=<grace>, rip=212.9.180.3"]) == "dovecot"
    assert detect_format(["2013-08-11 03:56:40 auth-worker(default): Info: pam(u,1.2.3.4): "
                          "unknown user"]) == "dovecot"
    assert detect_format(["Jan 29 09:33:58 mx1 dovecot: imap-login: Login: user=<b>, "
                          "rip=192.0.2.1"]) == "bsd"
    for exim in ("2026-03-03 10:00:00 1uAbCd-000Abc-1x <= a@example.com H=x [192.0.2.1]",
                 "2026-03-03 10:00:00 [1234] SMTP connection from [192.0.2.1]",
                 "2026-03-03 10:00:00 cwd=/var/spool/exim4 3 args: /usr/sbin/exim4 -Mc x",
                 "2026-03-03 10:00:00 rejected EHLO from [192.0.2.1]: syntactically invalid"):
        assert detect_format([exim]) == "exim", exim


def test_detect_bsd_variants() -> None:
    assert detect_format(["Aug  3 01:02:03 mx1 postfix/qmgr[1]: ABCDEF12345: removed"]) == "bsd"
    assert detect_format(["Aug 3 01:02:03 mx1 postfix/qmgr[1]: ABCDEF12345: removed"]) == "bsd"
    assert detect_format(["Jan 05 01:02:03 mx1 postfix/qmgr[1]: ABCDEF12345: removed"]) == "bsd"
    assert detect_format(["Jan  5 01:02:03.123456 mx1 postfix/qmgr[1]: x"]) == "bsd"


def test_detect_majority_wins() -> None:
    mixed = BSD[:5] + RFC3339[:2] + ["garbage", ""]
    assert detect_format(mixed) == "bsd"
    assert detect_format(RFC3339[:5] + BSD[:2]) == "rfc3339"


def test_detect_tie_takes_the_more_specific_shape() -> None:
    assert detect_format([BSD[0], RFC3339[0]]) == "rfc3339"
    assert detect_format([EXIM_PID[0], ISO_SYSLOG[1]]) == "iso_syslog"


# Exim test suite mainlogs (tests/data/corpora/exim-testsuite, GPL-2.0+) whose first lines
# also read as ISO syslog (host `TLS`, program `session`; host `U=CALLER`, program
# `Warning`; a message id for a host): each was read so and gave no mail at all.
EXIM_SUITE = Path(__file__).parent / "data" / "corpora" / "exim-testsuite" / "test" / "log"
EXIM_LOOKS_SYSLOG = {
    "1164": ["1999-03-02 09:44:33 TLS session: (tls lib connect fn): timed out: callout "
             "unencrypted to 127.0.0.1 [127.0.0.1] (not in hosts_require_tls)",
             "1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= s1@test.ex U=CALLER "
             "P=local-esmtp S=sss"],
    "0483": ["1999-03-02 09:44:33 U=CALLER Warning: sender_data=SenderData "
             "recipient_data=RecipData",
             "1999-03-02 09:44:33 U=CALLER F=<sender@domain1> rejected RCPT <other@domain2>"],
    "1102": ["", "******** SERVER ********",
             "2017-07-30 18:51:05.712 exim x.yz daemon started: pid=p1234, no queue runs, "
             "listening for SMTP on port PORT_D",
             "2017-07-30 18:51:05.712 server cert: CN=server1.example.com",
             "2017-07-30 18:51:05.712 server cert: CN=server1.example.net"],
}


@pytest.mark.parametrize("name", sorted(EXIM_LOOKS_SYSLOG))
def test_detect_exims_log_whose_lines_also_read_as_iso_syslog(name: str) -> None:
    """A line with Exim's mark after the stamp (a message id, `U=`, `TLS `, the daemon's
    start) makes the sample Exim's, however many of its lines a syslog reading takes."""
    lines = EXIM_LOOKS_SYSLOG[name]
    assert lines == (EXIM_SUITE / name).read_text().splitlines()[:len(lines)]
    assert detect_format(lines) == "exim"


def test_detect_iso_syslog_beyond_doubt_is_not_taken_for_exim() -> None:
    """A syslog line with a `prog[pid]:` tag is no Exim line: the vote decides again."""
    marked = EXIM_LOOKS_SYSLOG["1164"][0]
    assert detect_format(ISO_SYSLOG + [marked]) == "iso_syslog"


def test_an_exim_mainlog_that_starts_like_syslog_is_read_whole(tmp_path: Path) -> None:
    """The reviewer's repro (/tmp/rx-exim/tls2.log) in the test suite's words: a TLS
    diagnostic, then a message received; read as ISO syslog, it gave 0 rows."""
    path = tmp_path / "mainlog"
    path.write_text("\n".join(EXIM_LOOKS_SYSLOG["1164"]) + "\n")
    events, run = parse_events([path], tz="UTC")
    assert run.stats[0].format == "exim"
    assert events.column("event").to_pylist() == ["warning", "received"]
    assert events.column("queue_id").to_pylist()[1] == "10HmaX-000000005vi-0000"


def test_a_file_read_as_no_mail_programs_lines_says_so(tmp_path: Path) -> None:
    """Its lines are no row at all, not even `other`: the stats (and the report's
    coverage) carry a warning that names what they were taken for."""
    path = tmp_path / "mainlog"
    path.write_text("\n".join(EXIM_LOOKS_SYSLOG["1164"]) + "\n")
    events, run = parse_events([path], tz="UTC", fmt="iso_syslog")
    s = run.stats[0]
    assert events.num_rows == 0 and s.mail_lines == 0 and s.unaccounted() == 0
    assert s.warnings == ["none of its 2 log lines is a mail program's (read as iso_syslog: "
                          "session 1, (no program) 1); if it is a mail log, give its format "
                          "with --log-format"]
    _, mail = parse_events([EXIM_SUITE / "0398"], tz="UTC")
    assert mail.stats[0].warnings == []


def test_detect_nothing_known() -> None:
    assert detect_format([]) is None
    assert detect_format(["", "hello world", "{\"a\": 1}", "<13>garbage"]) is None


def test_journal_json_detected_from_real_export() -> None:
    rec = json.loads(JOURNAL[0])
    assert "__REALTIME_TIMESTAMP" in rec  # the line really is a journal export
    assert detect_format(JOURNAL[:1]) == "journal_json"


# --- split_header, per format ------------------------------------------------------------

def test_bsd_recorded_lines() -> None:
    h, ok, prog, pid, msgs = header(BSD, "bsd")
    assert ok.all()
    assert (h.kind == KIND_BSD).all()
    assert h.host.to_pylist() == ["mx1"] * len(BSD)
    assert prog[:5] == ["dovecot", "postfix/postfix-script", "postfix/master", "postfix/smtpd",
                        "postfix/smtpd"]
    assert pid[:5] == [None, 25437, 25439, 25450, 25450]
    assert msgs[3] == "connect from unknown[127.0.0.10]"
    assert msgs[4] == "35545178314: client=unknown[127.0.0.10]"
    assert h.month[3] == 11 and h.day[3] == 29 and h.sod[3] == 12 * 3600 + 32 * 60 + 30
    assert h.frac_us[3] == 0


def test_rfc3339_recorded_lines() -> None:
    h, ok, prog, pid, msgs = header(RFC3339, "rfc3339")
    assert ok.all()
    assert (h.kind == KIND_UTC).all()
    assert h.utc_us[3] == _us("2026-11-29T12:32:30.197258+00:00")
    assert h.host.to_pylist()[3] == "mx1"
    assert prog[3] == "postfix/smtpd" and pid[3] == 25450
    assert msgs[3] == "connect from unknown[127.0.0.10]"


def test_rfc3339_zones() -> None:
    lines = ["2026-11-29T13:32:30+01:00 mx1 postfix/smtpd[1]: connect from a[192.0.2.1]",
             "2026-11-29T13:32:30+0100 mx1 postfix/smtpd[1]: connect from a[192.0.2.1]",
             "2026-11-29T12:32:30Z mx1 postfix/smtpd[1]: connect from a[192.0.2.1]",
             "2026-11-29T07:32:30.5-05:00 mx1 postfix/smtpd[1]: connect from a[192.0.2.1]"]
    h, ok, *_ = header(lines, "rfc3339")
    assert ok.all()
    want = _us("2026-11-29T12:32:30+00:00")
    assert h.utc_us.tolist() == [want, want, want, want + 500_000]


def test_rfc5424_recorded_lines_header_fields() -> None:
    h, ok, prog, pid, msgs = header(RFC5424, "rfc5424")
    assert ok.all()
    assert (h.kind == KIND_UTC).all()
    assert h.host.to_pylist() == ["mx1"] * len(RFC5424)
    assert prog[0] == "dovecot" and pid[0] is None       # PROCID `-`
    assert prog[3] == "postfix" and pid[3] == 25450      # rsyslog's APP-NAME stops at `/`
    assert h.utc_us[3] == _us("2026-11-29T12:32:30.197258+00:00")
    assert msgs[3].strip() == "connect from unknown[127.0.0.10]"


def test_rfc5424_recorded_message_has_no_leading_space() -> None:
    _, _, _, _, msgs = header(RFC5424, "rfc5424")
    assert msgs[3] == "connect from unknown[127.0.0.10]"
    assert msgs[1] == "starting the Postfix mail system"


def test_rfc5424_structured_data_and_empty_message() -> None:
    lines = [
        '<22>1 2025-11-29T12:32:28Z mx1.example.com postfix/smtpd 12 ID47 '
        '[exampleSDID@32473 iut="3" eventSource="a \\"q\\" ]b"][x@1 y="z"] connect from '
        'unknown[192.0.2.1]',
        "<22>1 2025-11-29T12:32:28.5+01:00 mx1 postfix/qmgr 13 - -",
        "<22>1 2025-11-29T12:32:28Z mx1 postfix/qmgr - - - \ufeffBOM message",
    ]
    h, ok, prog, pid, msgs = header(lines, "rfc5424")
    assert ok.tolist() == [True, True, True]
    assert h.host.to_pylist() == ["mx1.example.com", "mx1", "mx1"]
    assert prog == ["postfix/smtpd", "postfix/qmgr", "postfix/qmgr"]
    assert pid == [12, 13, None]
    assert msgs == ["connect from unknown[192.0.2.1]", "", "BOM message"]
    assert h.utc_us[1] == _us("2025-11-29T11:32:28.5+00:00")


def test_iso_syslog_lines() -> None:
    h, ok, prog, pid, msgs = header(ISO_SYSLOG, "iso_syslog")
    assert ok.all()
    assert (h.kind == KIND_LOCAL).all()  # a local time: the zone comes from the source
    assert h.naive_us.tolist() == [_us("2019-10-22T03:39:17"), _us("2019-10-22T03:39:18"),
                                   _us("2019-10-22T03:39:18.250")]
    assert h.host.to_pylist() == ["mx1"] * 3
    assert prog == ["exim", "postfix/smtpd", "postfix/smtpd"]
    assert pid == [29786, 2, 2]
    assert msgs[1] == "connect from unknown[192.0.2.1]"


def test_iso_syslog_line_without_tag_is_not_exim() -> None:
    lines = ISO_SYSLOG[1:2] + ["2019-10-22 03:40:00 mx1 -- MARK --"]
    h, ok, prog, _, msgs = header(lines, "iso_syslog")
    assert h.host.to_pylist()[1] == "mx1"
    assert prog[1] is None
    assert msgs[1] == "-- MARK --"


def test_exim_native_lines() -> None:
    lines = EXIM_PLAIN + EXIM_PID + EXIM_MS_ZONE + EXIM_ZONE
    h, ok, prog, pid, msgs = header(lines, "exim")
    assert ok.all()
    assert h.host.to_pylist() == [None] * len(lines)   # native logs name no host
    assert prog == ["exim"] * len(lines)
    assert pid == [None, None, None, 1201, 2101, 2102, 2101, 2102, None, None]
    kinds = h.kind.tolist()
    assert kinds == [KIND_LOCAL] * 6 + [KIND_UTC] * 4
    assert h.naive_us[0] == _us("2022-06-29T16:04:19")
    assert h.utc_us[6] == _us("2025-01-06T07:01:11.123+00:00")
    assert h.utc_us[8] == _us("2025-01-06T13:01:11+00:00")
    assert msgs[2] == "1tUbK1-00000000Yx2-2AbC Completed"
    assert msgs[5].startswith("1tUbK1-00000000Yx2-2AbC => carol@example.org")
    assert msgs[7] == "1tUbK1-00000000Yx2-2AbC Completed"


def test_exim_continuation_lines_are_not_read() -> None:
    lines = [EXIM_PID[1], "  Subject: hello", "Envelope-from: <a@example.net>", ""]
    h, ok, *_ = header(lines, "exim")
    assert ok.tolist() == [True, False, False, False]
    assert h.kind.tolist()[1:] == [KIND_NONE] * 3


def test_exim_syslog_line_with_iso_stamp_in_exim_file_keeps_its_host() -> None:
    lines = [EXIM_PID[0], ISO_SYSLOG[0]]
    h, ok, prog, pid, msgs = header(lines, "exim")
    assert ok.all()
    assert h.host.to_pylist() == [None, "mx1"]
    assert pid == [1201, 29786]
    assert msgs[1].startswith("1iMkSx-0007lY-Js <= alice@example.com")


# --- the per-row fallback in a syslog file -----------------------------------------------

def test_fallback_rows_in_a_bsd_file() -> None:
    lines = [
        BSD[3],
        "Aug 3 01:02:03 mx1 postfix/qmgr[1]: ABCDEF12345: removed",        # unpadded day
        "2021-07-17 23:20:49 1m4zYB-0004tW-Ty <= a@example.com H=x [192.0.2.1] P=esmtp S=1",
        "mx1 exim[1]: 2021-07-17 23:20:49 1m4zYB-0004tW-Ty <= a@example.com P=local S=12",
        "Jan  5 01:02:03.123456 mx1 postfix/qmgr[1]: ABCDEF12345: removed",  # fraction
        "Jan 05 01:02:03 mx1 postfix/qmgr[1]: ABCDEF12345: removed",         # postlogd
    ]
    h, ok, prog, pid, msgs = header(lines, "bsd")
    assert ok.all()
    assert h.kind.tolist() == [KIND_BSD, KIND_BSD, KIND_LOCAL, KIND_LOCAL, KIND_BSD, KIND_BSD]
    assert (h.month[1], h.day[1], h.sod[1]) == (8, 3, 3723)
    assert h.host.to_pylist() == ["mx1", "mx1", None, "mx1", "mx1", "mx1"]
    assert prog == ["postfix/smtpd", "postfix/qmgr", "exim", "exim", "postfix/qmgr",
                    "postfix/qmgr"]
    assert pid == [25450, 1, None, 1, 1, 1]
    assert msgs[1] == "ABCDEF12345: removed"
    assert msgs[2].startswith("1m4zYB-0004tW-Ty <= a@example.com")
    # journald's text without a time: Exim's own stamp becomes the row's time
    assert h.naive_us[3] == _us("2021-07-17T23:20:49")
    assert msgs[3].startswith("2021-07-17 23:20:49 1m4zYB-0004tW-Ty")
    assert h.frac_us[4] == 123456
    assert (h.month[5], h.day[5]) == (1, 5)


def test_postlogd_zero_padded_days_whole_file() -> None:
    lines = [f"Jan {d:02d} 0{d % 10}:00:00 mx1 postfix/qmgr[7]: ABCDEF1234{d % 10}: removed"
             for d in range(1, 32)]
    h, ok, prog, *_ = header(lines, "bsd")
    assert ok.all()
    assert h.day.tolist() == list(range(1, 32))
    assert set(prog) == {"postfix/qmgr"}


def test_fallback_rfc3339_line_in_bsd_file_and_bsd_line_in_rfc3339_file() -> None:
    h, ok, prog, *_ = header([BSD[3], RFC3339[3]], "bsd")
    assert ok.all() and h.kind.tolist() == [KIND_BSD, KIND_UTC]
    assert prog == ["postfix/smtpd", "postfix/smtpd"]
    h, ok, prog, *_ = header([RFC3339[3], BSD[3]], "rfc3339")
    assert ok.all() and h.kind.tolist() == [KIND_UTC, KIND_BSD]
    assert prog == ["postfix/smtpd", "postfix/smtpd"]


def test_no_format_reads_every_row_by_fallback() -> None:
    h, ok, prog, *_ = header([BSD[3], RFC3339[3], EXIM_PID[1]], None)
    assert ok.all()
    assert prog == ["postfix/smtpd", "postfix/smtpd", "exim"]


def test_last_message_repeated_has_no_tag() -> None:
    lines = [BSD[3], "Nov 29 12:32:31 mx1 last message repeated 3 times"]
    h, ok, prog, pid, msgs = header(lines, "bsd")
    assert ok.all()
    assert h.host.to_pylist() == ["mx1", "mx1"]
    assert h.tag.to_pylist()[1] is None and prog[1] is None and pid[1] is None
    assert msgs[1] == "last message repeated 3 times"


def test_freebsd_verbose_header() -> None:
    lines = ["Mar  3 10:00:00 <mail.info> mx1 sm-mta[2001]: 52SA0001002001: from=<a@example.org>"]
    h, ok, prog, pid, msgs = header(lines, "bsd")
    assert ok.all()
    assert h.host.to_pylist() == ["mx1"]
    assert prog == ["sm-mta"] and pid == [2001]
    assert msgs == ["52SA0001002001: from=<a@example.org>"]


@pytest.mark.parametrize("fmt", ["bsd", "rfc3339", "rfc5424", "iso_syslog", "exim", None])
def test_garbage_lines_are_not_read(fmt: str | None) -> None:
    lines = ["", "garbage line here", "Nov 29 25:61:00 mx1 postfix/smtpd[1]: bad time",
             "Foo 29 12:00:00 mx1 postfix/smtpd[1]: bad month", "2025-13-45 10:00:00 x y[1]: z",
             "\x00\x00\x00", "\ufffd\ufffd", " " * 40, "<13>", "{not json"]
    h, ok, *_ = header(lines, fmt)
    assert not ok.any()
    assert (h.kind == KIND_NONE).all()


def test_mixed_good_and_garbage_rows_keep_their_places() -> None:
    lines = ["garbage", BSD[3], "", BSD[4], "\x00junk", RFC3339[5]]
    h, ok, prog, pid, msgs = header(lines, "bsd")
    assert ok.tolist() == [False, True, False, True, False, True]
    assert [p for p, o in zip(prog, ok) if o] == ["postfix/smtpd", "postfix/smtpd",
                                                  "postfix/cleanup"]
    assert h.kind.tolist() == [KIND_NONE, KIND_BSD, KIND_NONE, KIND_BSD, KIND_NONE, KIND_UTC]
    assert msgs[1] == "connect from unknown[127.0.0.10]"


def test_header_messages_rows_skip_limit() -> None:
    h, ok, *_ = header(BSD[:5], "bsd")
    assert h.messages(np.array([3, 4])).to_pylist() == [
        "connect from unknown[127.0.0.10]", "35545178314: client=unknown[127.0.0.10]"]
    assert h.messages(np.array([4]), skip=13).to_pylist() == ["client=unknown[127.0.0.10]"]
    assert h.messages(np.array([3]), limit=7).to_pylist() == ["connect"]
    assert h.messages(np.array([3]), skip=1000).to_pylist() == [""]
    assert h.messages(np.array([], np.int64)).to_pylist() == []


def test_parse_tags() -> None:
    tags = pa.array(["postfix/smtpd[25450]", "exim", "postfix/submission/smtpd[1]", None,
                     "prog[9999999999]", "sm-mta[2147483647]", "sm-mta[2147483646]",
                     "prog[99999999999]", "[123]", "x[12", "a b"])
    prog, pid = parse_tags(tags)
    assert prog.to_pylist() == ["postfix/smtpd", "exim", "postfix/submission/smtpd", None,
                                "prog", "sm-mta", "sm-mta", "prog", None, None, None]
    # a pid that does not fit int32 is dropped, the program kept, however many digits
    assert pid.to_pylist() == [25450, None, 1, None, None, 2147483647, 2147483646, None, None, None,
                               None]
    assert pid.type == pa.int32()


def test_split_header_empty_block() -> None:
    h, ok = split_header(pa.array([], pa.string()), "bsd")
    assert len(ok) == 0 and len(h.kind) == 0


def test_same_lines_in_two_formats_give_the_same_events(tmp_path: Path) -> None:
    """rsyslog wrote the same messages as BSD and RFC 3339 lines at the same time."""
    a, b = tmp_path / "traditional.log", tmp_path / "rfc3339.log"
    a.write_text("".join(f"{ln}\n" for ln in BSD))
    b.write_text("".join(f"{ln}\n" for ln in RFC3339))
    events, run = parse_events([a, b], tz="UTC", year=2026)
    sa, sb = run.stats
    assert (sa.format, sb.format) == ("bsd", "rfc3339")
    assert sa.unreadable == sb.unreadable == 0
    assert sa.events == sb.events  # same lines, two formats: the same events
    ea = events.filter(pc.equal(events["source"], str(a)))
    eb = events.filter(pc.equal(events["source"], str(b)))
    for col in ("event", "program", "pid", "queue_id", "client_ip", "host", "seq"):
        assert ea[col].to_pylist() == eb[col].to_pylist(), col
    # the BSD stamps are the RFC 3339 ones without the fraction
    assert [t.replace(microsecond=0) for t in eb["ts"].to_pylist()] == ea["ts"].to_pylist()


# --- substrings / strings_at against Python slicing ---------------------------------------

_CHARS = st.sampled_from(["a", "Z", " ", ":", "[", "]", "0", "\x00", "é", "€", "日", "🙂",
                          "\ufffd"])


@st.composite
def rows_and_cuts(draw):  # type: ignore[no-untyped-def]
    rows = draw(st.lists(st.lists(_CHARS, max_size=40), min_size=1, max_size=20))
    texts, starts, lengths = [], [], []
    for chars in rows:
        text = "".join(chars)
        bounds = [0]
        for c in chars:
            bounds.append(bounds[-1] + len(c.encode()))
        i = draw(st.integers(0, len(bounds) - 1))
        j = draw(st.integers(i, len(bounds) - 1))
        start, length = bounds[i], bounds[j] - bounds[i]
        # sometimes ask for more than there is: it is clipped to the row
        if draw(st.booleans()):
            length = bounds[-1] - start + draw(st.integers(0, 50))
        if draw(st.integers(0, 9)) == 0:
            start = bounds[-1] + draw(st.integers(0, 5))
        texts.append(text)
        starts.append(start)
        lengths.append(length)
    return texts, starts, lengths


def _py_slice(text: str, start: int, length: int) -> str:
    raw = text.encode()
    start = min(start, len(raw))
    return raw[start:start + max(length, 0)].decode()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(case=rows_and_cuts(), lead=st.integers(0, 3))
def test_substrings_match_python_slicing(case, lead: int) -> None:  # type: ignore[no-untyped-def]
    texts, starts, lengths = case
    # a sliced array (non-zero offset) must work as well as a fresh one
    arr = pa.array(["pad"] * lead + texts, pa.string())[lead:]
    got = substrings(arr, np.array(starts), np.array(lengths))
    assert got.type == pa.string()
    got.validate(full=True)
    assert got.to_pylist() == [_py_slice(t, s, n) for t, s, n in zip(texts, starts, lengths)]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(case=rows_and_cuts())
def test_strings_at_match_python_slicing(case) -> None:  # type: ignore[no-untyped-def]
    texts, starts, lengths = case
    arr = pa.array(texts, pa.string())
    offs = value_offsets(arr)
    buf = arr.buffers()[2]
    if buf is None:  # every row empty
        buf = pa.py_buffer(b"")
    row_len = offs[1:] - offs[:-1]
    s = np.minimum(np.array(starts), row_len)
    n = np.minimum(np.array(lengths), row_len - s)
    got = strings_at(buf, offs[:-1] + s, n)
    got.validate(full=True)
    assert got.to_pylist() == [_py_slice(t, a, b) for t, a, b in zip(texts, s.tolist(),
                                                                     n.tolist())]


def test_strings_at_near_the_end_of_the_buffer() -> None:
    data = b"0123456789abcdef"
    buf = pa.py_buffer(data)
    for start in range(len(data) + 1):
        for length in range(0, len(data) - start + 1):
            got = strings_at(buf, np.array([start]), np.array([length]))
            assert got.to_pylist() == [data[start:start + length].decode()], (start, length)


def test_substrings_with_nulls_and_empty() -> None:
    arr = pa.array(["hello world", None, "", "abc"])
    got = substrings(arr, np.array([6, 0, 0, 1]), np.array([5, 3, 3, 1]))
    assert got.to_pylist() == ["world", "", "", "b"]
    assert substrings(pa.array([], pa.string()), np.array([]), np.array([])).to_pylist() == []
    assert substrings(pa.array(["", ""]), np.array([0, 0]), np.array([1, 1])).to_pylist() == [
        "", ""]


def test_utf8_in_host_tag_and_message() -> None:
    lines = ["Mar  3 10:00:00 mx1 postfix/smtpd[1]: Grüße é connect from unknown[192.0.2.7]",
             "Mar  3 10:00:00 mxé postfix/smtpd[1]: x",
             "Mar  3 10:00:00 mx1 pöstfix[1]: x",
             "2025-03-03T10:00:00Z mxé postfix/smtpd[1]: y"]
    h, ok, prog, pid, msgs = header(lines, "bsd")
    assert ok.all()
    assert h.host.to_pylist() == ["mx1", "mxé", "mx1", "mxé"]
    assert prog == ["postfix/smtpd", "postfix/smtpd", "pöstfix", "postfix/smtpd"]
    assert msgs == ["Grüße é connect from unknown[192.0.2.7]", "x", "x", "y"]


def test_file_whose_head_is_not_a_log_is_read_row_by_row(tmp_path: Path) -> None:
    body = "".join(f"{ln}\n" for ln in BSD + POSTLOG)
    plain_path = tmp_path / "plain.log"
    plain_path.write_text(body)
    path = tmp_path / "mail.log"
    path.write_text("\n" * (SAMPLE_LINES + 36) + body)
    events, run = parse_events([path], year=2026, tz="UTC")
    s = run.stats[0]
    assert s.format is None            # nothing to detect in the first 64 lines
    assert s.blank == SAMPLE_LINES + 36 and s.unaccounted() == 0
    plain, plain_run = parse_events([plain_path], year=2026, tz="UTC")
    assert plain_run.stats[0].format == "bsd"
    # every line a row (Dovecot's master starting up too)
    assert events.num_rows == plain.num_rows == len(BSD + POSTLOG)
    for col in ("event", "ts", "program", "pid", "queue_id", "client_ip"):
        assert events[col].to_pylist() == plain[col].to_pylist(), col


@pytest.mark.parametrize("lines", [[""], ["", ""]])
def test_bsd_block_of_empty_lines(lines: list[str]) -> None:
    h, ok = split_header(pa.array(lines, pa.string()), "bsd")
    assert not ok.any()


def test_messages_limit_does_not_cut_a_character() -> None:
    h, ok, *_ = header(["Mar  3 10:00:00 mx1 postfix/smtp[1]: 5F3AB2C0F1: to=<andrea\u00fc"
                        "@example.de>, relay=local"], "bsd")
    assert ok.all()
    head = h.messages(limit=23)   # what block.py asks for Postfix (max_length 21 + ": ")
    head.validate(full=True)
    assert head.to_pylist()[0] in ("5F3AB2C0F1: to=<andrea", "5F3AB2C0F1: to=<andrea\u00fc")


@pytest.mark.parametrize("recipient", ["andrea\u00fc@example.de", "j\u00fcrgen@example.de"],
                         ids=["non-ascii-at-the-cut", "non-ascii-inside"])
def test_smtputf8_recipient_line_is_parsed(tmp_path: Path, recipient: str) -> None:
    """The first at the 23-byte head cut that block.py makes, the second past it."""
    path = tmp_path / "mail.log"
    path.write_text(
        f"Mar  3 10:00:00 mx1 postfix/smtp[100]: 5F3AB2C0F1: to=<{recipient}>, "
        "relay=mx.example.de[192.0.2.30]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, "
        "status=sent (250 OK)\n", encoding="utf-8")
    events, _ = parse_events([path], year=2025, tz="UTC")
    assert events.select(["event", "queue_id", "recipient", "status"]).to_pylist() == [
        {"event": "delivery", "queue_id": "5F3AB2C0F1", "recipient": recipient,
         "status": "sent"}]
