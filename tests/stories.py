"""sample_logs/: where the files are, and the story read in each MTA and format.

Shared by the tests of the files and events (test_sample_logs) and of detection on them
(test_detect).
"""

from __future__ import annotations

from typing import Any

from tests.conftest import ROOT

__all__ = ["SAMPLES", "ROTATED", "STORIES", "story_options", "SAMPLE_CONFIG", "relayed_from"]

SAMPLES = ROOT / "sample_logs"
SAMPLE_CONFIG = SAMPLES / "config.toml"
ROTATED = ["postfix/rotated/mail.log.2.gz", "postfix/rotated/mail.log.1",
           "postfix/rotated/mail.log"]

#: One day told by each MTA in each format: name -> files (as a user would give them).
STORIES = {
    "postfix-bsd": ["postfix/mail.log"],
    "postfix-rfc3339": ["postfix/mail-rfc3339.log"],
    "postfix-postlog": ["postfix/postfix.log"],
    "postfix-journal": ["postfix/journal.json.gz"],
    "postfix-rotated": ROTATED[::-1],          # shell order; read in rotation order
    "exim-mainlog": ["exim/mainlog"],
    "exim-main+reject": ["exim/rejectlog", "exim/mainlog"],
    "exim-syslog": ["exim/exim-syslog.log"],
    "sendmail": ["sendmail/maillog"],
}


def story_options(rel: str) -> dict[str, Any]:
    """git does not keep the files' times, so year-less formats get the story's year."""
    return {"tz": "UTC"} if "journal" in rel else {"tz": "UTC", "year": 2026}


def relayed_from(sender: str) -> str:
    """Postfix lines of one message relayed out for an unauthenticated client, its MAIL
    FROM chosen by the caller (the hostile-input tests put escapes and markup in it)."""
    return (
        "Mar  3 10:00:00 mx1 postfix/smtpd[10]: connect from evil[203.0.113.66]\n"
        "Mar  3 10:00:01 mx1 postfix/smtpd[10]: 1A2B3C4D5E: client=evil[203.0.113.66]\n"
        f"Mar  3 10:00:01 mx1 postfix/qmgr[11]: 1A2B3C4D5E: from=<{sender}>, size=100, "
        "nrcpt=1 (queue active)\n"
        "Mar  3 10:00:02 mx1 postfix/smtp[12]: 1A2B3C4D5E: to=<x@victim.example.org>, "
        "relay=mx.victim.example.org[198.51.100.5]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, "
        "status=sent (250 OK)\n"
        "Mar  3 10:00:02 mx1 postfix/qmgr[11]: 1A2B3C4D5E: removed\n")
