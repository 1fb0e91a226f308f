"""The event and message schemas: the contract every stage and every outside check reads.

Columns are only ever added here, never renamed (DESIGN.md marks both tables as contract).
Closed vocabularies live here too, so that the parser definitions can be validated against
them and a typo in `parsers/*.toml` is refused at load time rather than producing a silent
new event name.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "EVENTS",
    "REFUSALS",
    "STATUSES",
    "REJECT_CLASSES",
    "ORIGINS",
    "LINE_NOTES",
    "EVENT_SCHEMA",
    "MESSAGE_SCHEMA",
    "TS_TYPE",
    "DICT",
    "FIELD_TYPES",
    "empty_events",
]

#: Event vocabulary. The first block is DESIGN.md's; the second extends it for lines that
#: are known and useful but fit none of those (a postscreen verdict is neither a connect
#: nor a reject, and "lost connection after AUTH" matters to the credential rules).
EVENTS: tuple[str, ...] = (
    "connect", "disconnect", "tls", "auth_failure", "auth_success", "received", "queued",
    "delivery", "reject", "reject_warning", "message_id", "handoff", "removed", "bounce",
    "hold", "discard", "warning", "error", "fatal", "panic", "other",
    # extensions
    "screen",          # postscreen / dnsblog verdicts (PASS, PREGREET, DNSBL, HANGUP, ...)
    "lost_connection", # client went away or timed out mid-session
    "protocol_error",  # too many errors, non-SMTP command, did not issue MAIL, SMTP attack
    "info",            # a known line that carries no event of its own (statistics, starts)
    "filter",          # a content filter's verdict on a message (amavis: Passed CLEAN, Blocked
                       # SPAM, ...): neither a delivery nor a reject of the MTA's own
    "daemon",          # the MTA's master process started, reloaded or stopped (`reason`
                       # says which): pflogsumm's "Master daemon messages"
)

#: Events that refuse a recipient of a transaction (a warning of one included). Sendmail
#: logs them before the transaction's `from=` line, which names the client they lack:
#: correlation, enrichment and the alerts' evidence each take that into account.
REFUSALS: tuple[str, ...] = ("reject", "reject_warning")

STATUSES: tuple[str, ...] = (
    "sent", "deferred", "bounced", "expired", "deliverable", "undeliverable", "forwarded",
    "rejected",
)

REJECT_CLASSES: tuple[str, ...] = (
    "relay_denied", "unknown_recipient", "unknown_sender", "rbl", "helo", "client",
    "greylist", "rate_limit", "verify", "policy", "spam", "tls", "other",
)

ORIGINS: tuple[str, ...] = ("smtp", "local", "bounce", "forward", "reinjected", "verify")

#: Marks on a row whose line was altered on the way in (see parse.quirks).
LINE_NOTES: tuple[str, ...] = ("repeated", "joined", "truncated", "invalid_utf8")

TS_TYPE = pa.timestamp("us", tz="UTC")
DICT = pa.dictionary(pa.int32(), pa.string())

_EVENT_FIELDS: list[pa.Field] = [
    pa.field("ts", TS_TYPE),
    pa.field("seq", pa.int64()),
    pa.field("host", pa.string()),
    pa.field("mta", DICT),
    pa.field("instance", pa.string()),
    pa.field("daemon", pa.string()),
    pa.field("program", pa.string()),
    pa.field("pid", pa.int32()),
    pa.field("queue_id", pa.string()),
    pa.field("session", pa.string()),
    pa.field("event", DICT),
    pa.field("client_ip", pa.string()),
    pa.field("client_name", pa.string()),
    pa.field("client_port", pa.int32()),
    pa.field("helo", pa.string()),
    pa.field("sasl_method", pa.string()),
    pa.field("sasl_username", pa.string()),
    pa.field("sender", pa.string()),
    pa.field("recipient", pa.string()),
    pa.field("orig_recipient", pa.string()),
    pa.field("relay", pa.string()),
    pa.field("relay_ip", pa.string()),
    pa.field("size", pa.int64()),
    pa.field("nrcpt", pa.int32()),
    pa.field("delay", pa.float64()),
    pa.field("dsn", pa.string()),
    pa.field("status", DICT),
    pa.field("reject_class", DICT),
    pa.field("reject_code", pa.int16()),
    pa.field("reason", pa.string()),
    pa.field("message_id", pa.string()),
    pa.field("tls_protocol", pa.string()),
    pa.field("tls_cipher", pa.string()),
    pa.field("source", pa.string()),
    pa.field("source_fp", pa.string()),
    pa.field("offset", pa.int64()),
    pa.field("cursor", pa.string()),
    # extensions ---------------------------------------------------------------------
    # A message continues under another id: the child named on the parent's line
    # (`queued as`, `forwarded as`, a bounce notification) or the parent named on the
    # child's line (Exim's `R=` on a bounce).
    pa.field("child_queue_id", pa.string()),
    pa.field("parent_queue_id", pa.string()),
    # Postfix's disconnect counters (`ehlo=1 auth=0/1 quit=1 commands=2/3`), raw and the
    # AUTH pair the credential rules need.
    pa.field("commands", pa.string()),
    pa.field("auth_ok", pa.int16()),
    pa.field("auth_tried", pa.int16()),
    # the passwords a refusal line reports refused (Dovecot's `auth failed, 3 attempts`;
    # null: the line is one), or that a login's connection had refused before it
    # (Dovecot's, told by its auth service: parse.refusals)
    pa.field("auth_attempts", pa.int16()),
    pa.field("protocol", pa.string()),   # SMTP/ESMTP/ESMTPSA/local... as logged
    # A content filter's verdict (event `filter`): `Passed` or `Blocked`, amavis's word for
    # whether the line's recipients got the message, and what it did, as it logs it
    # (`RelayedInbound`, `DiscardedOutbound,Quarantined`: the direction is in the names).
    pa.field("disposition", pa.string()),
    pa.field("actions", pa.string()),
    pa.field("pattern", DICT),           # id of the parser pattern that took the line
    pa.field("line_note", DICT),         # see LINE_NOTES
    # Which transport made a delivery attempt (eximstats' "Deliveries by transport"), by
    # the MTA's own name for it: Exim's `T=` (`remote_smtp`, `local_delivery`), Sendmail's
    # `mailer=` (`esmtp`, `local`, `relay`), Postfix's master.cf service: what local,
    # virtual and pipe log as `relay=` (`dovecot`), and for smtp, lmtp, error, retry and
    # discard the service their syslog name gives (`postfix/relay/smtp`: relay), else the
    # daemon's (`smtp`). Null where the line does not tell (Postfix's qmgr, RFC 5424's
    # APP-NAME cut at the slash).
    pa.field("transport", pa.string()),
    # Where a Postfix delivery's `delay` went, from its `delays=a/b/c/d`: before the queue
    # manager (the message's arrival included), in it (waiting for a delivery agent: a
    # congested queue or transport), connection set-up (DNS, HELO, TLS) and the
    # transmission. logwatch prints their percentiles; slow mail is told apart by them (a
    # slow client, a full queue, a slow DNS or a slow peer). Exim and Sendmail do not log
    # the split.
    pa.field("delay_before_qmgr", pa.float64()),
    pa.field("delay_in_qmgr", pa.float64()),
    pa.field("delay_conn_setup", pa.float64()),
    pa.field("delay_transmission", pa.float64()),
]

EVENT_SCHEMA = pa.schema(_EVENT_FIELDS)

#: Types by field name, for the parser definitions (a named group must be one of these).
FIELD_TYPES: dict[str, pa.DataType] = {f.name: f.type for f in _EVENT_FIELDS}

MESSAGE_SCHEMA = pa.schema([
    pa.field("host", pa.string()),
    pa.field("instance", pa.string()),
    pa.field("queue_id", pa.string()),
    pa.field("mta", DICT),
    pa.field("first_seen", TS_TYPE),
    pa.field("last_seen", TS_TYPE),
    pa.field("origin", DICT),
    pa.field("parent", pa.string()),
    pa.field("client_ip", pa.string()),
    pa.field("client_name", pa.string()),
    pa.field("sasl_username", pa.string()),
    pa.field("sender", pa.string()),
    pa.field("size", pa.int64()),
    pa.field("nrcpt", pa.int32()),
    pa.field("message_id", pa.string()),
    pa.field("recipients", pa.list_(pa.string())),
    pa.field("orig_recipients", pa.list_(pa.string())),
    pa.field("delivered", pa.int32()),
    pa.field("deferred", pa.int32()),
    pa.field("bounced", pa.int32()),
    pa.field("expired", pa.int32()),
    pa.field("status", DICT),
    pa.field("relays", pa.list_(pa.string())),
    pa.field("tls_in", pa.bool_()),
    # extensions
    pa.field("session", pa.string()),
    pa.field("helo", pa.string()),
    pa.field("rejected", pa.int32()),   # recipients refused after the id was assigned
])


def empty_events() -> pa.Table:
    """An events table with no rows, for sources that yield nothing."""
    return EVENT_SCHEMA.empty_table()
