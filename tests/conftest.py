"""Shared fixtures: the repository's paths and a helper that parses files in-process."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from logwatch.pipeline import ParseOptions, ParseRun, default_parsers

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


#: Postfix with an amavis-style content filter on 127.0.0.1:10024: 4A1B2C3D4E is handed
#: to the filter, which re-injects it as 5B6C7D8E9F (lines of the shape Debian's Postfix
#: writes; see recordings/).
POSTFIX_FILTER = """
Dec 30 10:00:00 mx1 postfix/smtpd[100]: connect from mail.example.net[198.51.100.7]
Dec 30 10:00:00 mx1 postfix/smtpd[100]: Anonymous TLS connection established from mail.example.net[198.51.100.7]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Dec 30 10:00:01 mx1 postfix/smtpd[100]: 4A1B2C3D4E: client=mail.example.net[198.51.100.7]
Dec 30 10:00:01 mx1 postfix/cleanup[101]: 4A1B2C3D4E: message-id=<m1@example.net>
Dec 30 10:00:01 mx1 postfix/qmgr[50]: 4A1B2C3D4E: from=<alice@example.net>, size=2000, nrcpt=1 (queue active)
Dec 30 10:00:01 mx1 postfix/smtpd[100]: disconnect from mail.example.net[198.51.100.7] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7
Dec 30 10:00:02 mx1 postfix/smtpd[200]: connect from localhost[127.0.0.1]
Dec 30 10:00:02 mx1 postfix/smtpd[200]: 5B6C7D8E9F: client=localhost[127.0.0.1]
Dec 30 10:00:02 mx1 postfix/cleanup[101]: 5B6C7D8E9F: message-id=<m1@example.net>
Dec 30 10:00:02 mx1 postfix/qmgr[50]: 5B6C7D8E9F: from=<alice@example.net>, size=2300, nrcpt=1 (queue active)
Dec 30 10:00:02 mx1 postfix/smtp[102]: 4A1B2C3D4E: to=<bob@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.2, delays=0.1/0/0.1/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5B6C7D8E9F)
Dec 30 10:00:02 mx1 postfix/qmgr[50]: 4A1B2C3D4E: removed
Dec 30 10:00:02 mx1 postfix/smtpd[200]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Dec 30 10:00:03 mx1 postfix/local[103]: 5B6C7D8E9F: to=<bob@example.com>, relay=local, delay=0.3, delays=0.1/0/0/0.2, dsn=2.0.0, status=sent (delivered to mailbox)
Dec 30 10:00:03 mx1 postfix/qmgr[50]: 5B6C7D8E9F: removed
"""

@pytest.fixture(scope="session")
def parsers():
    return default_parsers()


def parse_events(paths: list[Path | str], **options) -> tuple[pa.Table, ParseRun]:
    """Parse files with the built-in parsers; return all events and the run (for stats)."""
    run = ParseRun([str(p) for p in paths], default_parsers(), ParseOptions(**options))
    tables = list(run.events())
    from logwatch.schema import EVENT_SCHEMA
    table = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return table, run
