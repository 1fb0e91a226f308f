"""What the report page shows and in which order, as plain parts: facts, tables, charts.

`sections` turns the report's content into these parts; `render_html` and
`render_markdown` only write them in their medium, so the two forms cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from logwatch.report.collect import PROBLEMS, UNLOGGED_SESSIONS, UNTIMED_SESSIONS
from logwatch.report.coverage import missing_names
from logwatch.report.delays import PERCENTILES, STAGES
from logwatch.report.figures import count, refused, when
from logwatch.report.period import asked, empty_note, mta_rows
from logwatch.report.svg import Series

__all__ = ["NUMERIC", "CHART_ROWS", "SCROLL_ROWS", "SEVERITIES", "SERIES", "Column", "Table",
           "Fact", "Facts", "Chart", "Note", "Section", "Part", "sections", "period_line"]

#: Kinds of figure that are right-aligned.
NUMERIC = frozenset({"count", "bytes", "seconds", "hours", "share"})
#: Bars a chart shows; the table beside it has them all.
CHART_ROWS = 15
#: Rows a table shows before it scrolls in its box (printed, it shows them all).
SCROLL_ROWS = 15
SEVERITIES = ("critical", "high", "medium", "low", "info")

#: Okabe and Ito's hues, darkened to 3:1 or more against white (WCAG 1.4.11), one colour
#: per meaning in every chart: red against green told one in twelve men nothing. On a
#: dark page, lighter ones, 3:1 against its cards and as far apart for colour-blind eyes.
RECEIVED = Series("received", "#006197", "#5b8def")
DELIVERED = Series("delivered", "#009e73", "#7ee787")
REJECTED = Series("rejected", "#a04600", "#e0554a")
CONNECTIONS = Series("connections", "#5c5c5c", "#8b949e")
MESSAGES = Series("messages", DELIVERED.color, DELIVERED.dark)
AUTH_FAILURES = Series("auth failures", "#c48700", "#e6a700")
#: every series a chart may draw
SERIES = (RECEIVED, DELIVERED, REJECTED, CONNECTIONS, MESSAGES, AUTH_FAILURES)


#: A chart's rows: a label and one figure per series.
ChartRows = list[tuple[str, list[float]]]


@dataclass(frozen=True)
class Column:
    """`kind`: text, mono, severity, count, bytes, seconds, hours, share or when."""

    key: str
    heading: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """`folded`: long detail a reader opens on demand; `tone` "bad": mail got out;
    `only_if_rows`: left out when empty, where empty says only that the input has no such
    thing (an Exim or Sendmail log has no postscreen), not that none happened."""

    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] | None       # None: not asked for (`-h 0`), left out
    folded: bool = False
    tone: str = ""
    only_if_rows: bool = False


@dataclass(frozen=True)
class Fact:
    label: str
    value: Any
    kind: str = "count"
    note: str = ""
    tone: str = ""


@dataclass(frozen=True)
class Facts:
    title: str
    items: list[Fact]


@dataclass(frozen=True)
class Chart:
    """`kind` "columns": a group of vertical bars per row; "bars": stacked horizontal."""

    title: str
    kind: str
    series: tuple[Series, ...]
    rows: ChartRows
    x_label: str
    y_label: str = ""
    note: str = ""


@dataclass(frozen=True)
class Note:
    """`tone` "warn": what the reader must see before the figures, not an aside."""

    text: str
    tone: str = ""


Part = Table | Facts | Chart | Note


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    parts: list[Part] = field(default_factory=list)


def _c(key: str, heading: str | None = None, kind: str = "text") -> Column:
    return Column(key, heading or key.replace("_", " "), kind)


_COUNT = _c("count", kind="count")
_REASON = _c("reason")
_ADDRESS = (_c("address"), _c("messages", kind="count"), _c("bytes", kind="bytes"))
#: Per day and per hour, lines as pflogsumm counts them: `deferred` is the deferrals (a
#: message deferred three times counts three), the totals' Deferrals, not their Deferred.
_TRAFFIC = (_c("received", kind="count"), _c("delivered", kind="count"),
            _c("deferred", "deferrals", "count"), _c("bounced", kind="count"),
            _c("rejected", kind="count"))
_SPANS = (_c("connections", kind="count"), _c("total_seconds", "total time", "seconds"),
          _c("avg_seconds", "average", "seconds"), _c("max_seconds", "longest", "seconds"))
_SEEN = (_c("first", kind="when"), _c("last", kind="when"))
_ALERT = (_c("severity", kind="severity"), _c("rule"), _c("key", kind="mono"),
          _c("first_seen", "first seen", "when"), _c("last_seen", "last seen", "when"),
          _COUNT, _c("summary"))
_GAP = (_c("from", kind="when"), _c("to", kind="when"), _c("hours", kind="hours"))
#: the alerts the summary names (medium and above, most severe first)
_WORST = 5

#: DESIGN.md's `totals` keys, in its order (and `expired`, beside `bounced`), as a reader
#: calls them.
TOTALS = {"received": "Received", "delivered": "Delivered", "forwarded": "Forwarded",
          "deferred": "Deferred", "deferrals": "Deferrals", "bounced": "Bounced",
          "expired": "Expired", "rejected": "Rejected", "reject_warnings": "Reject warnings",
          "held": "Held", "discarded": "Discarded", "bytes_received": "Bytes received",
          "bytes_delivered": "Bytes delivered", "senders": "Senders",
          "sending_domains": "Sending domains", "recipients": "Recipients",
          "recipient_domains": "Recipient domains"}


def _hourly(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"hour": f"{r['hour']:02d}:00"} for r in rows]


def _top(rows: ChartRows, what: str, total: int | None = None) -> tuple[ChartRows, str]:
    """The rows a chart shows, and a note when there were more (`total`: how many in
    all, where `rows` are themselves the report's top N)."""
    total = len(rows) if total is None else total
    note = f"The top {min(CHART_ROWS, len(rows))} of {total:,} {what}." \
        if total > min(CHART_ROWS, len(rows)) else ""
    return rows[:CHART_ROWS], note


def _many(n: int, one: str, more: str) -> str:
    return f"{n:,} {one if n == 1 else more}"


def _plaintext_logins(inbound: dict[str, Any]) -> Fact:
    """Passwords sent in the clear: worth a red card wherever it is shown. Sessions that
    tried AUTH and whose TLS no line showed (Exim's) are said apart, not counted."""
    if not inbound["sessions_logged"]:
        return Fact("AUTH without TLS", None, note="sessions not logged")
    n, unknown = inbound["plaintext_auth_sessions"], inbound["auth_tls_unknown_sessions"]
    return Fact("AUTH without TLS", n, note="sessions that tried AUTH before TLS"
                + (f"; TLS of {unknown:,} more not logged" if unknown else ""),
                tone="bad" if n else "")


def _inbound_tls(inbound: dict[str, Any]) -> Fact:
    """The share of the sessions whose TLS the log told."""
    if not inbound["sessions_logged"]:
        return Fact("Inbound TLS", None, note="sessions not logged")
    unknown = inbound["tls_unknown_sessions"]
    return Fact("Inbound TLS", inbound["share"], "share",
                note=f"{inbound['tls_sessions']:,} of {inbound['sessions'] - unknown:,} "
                     "sessions" + (f"; {unknown:,} more not logged" if unknown else ""))


def _outbound_tls(outbound: dict[str, Any]) -> Fact:
    """TLS connections out; not logged where no delivery's TLS could be (Postfix at
    smtp_tls_loglevel 0), and the deliveries of such an MTA said apart where others'
    were."""
    unlogged, why = outbound["unlogged_deliveries"], outbound["unlogged_because"]
    because = f" ({why})" if why else ""
    if unlogged and unlogged == outbound["smtp_deliveries"]:
        return Fact("Outbound TLS connections", None, note="not logged" + because)
    return Fact("Outbound TLS connections", outbound["tls_connections"],
                note=f"TLS of {unlogged:,} deliveries not logged{because}" if unlogged else "")


def _summary(r: dict[str, Any]) -> Section:
    t, u, sec = r["totals"], r["totals_unique"], r["security"]
    cards = [Fact(label, t[k], "bytes" if k.startswith("bytes_") else "count")
             for k, label in TOTALS.items()]
    alerts = sec["alerts"]
    severities = Counter(a["severity"] for a in alerts["timeline"])
    urgent = severities["critical"] + severities["high"]
    inbound = sec["tls"]["inbound"]
    relay = sec["relay_totals"]
    glance = [
        Fact("Alerts", len(alerts["timeline"]) if alerts["ran"] else None,
             note=", ".join(f"{severities[s]} {s}" for s in SEVERITIES if severities[s])
             if alerts["ran"] else "rules not run", tone="bad" if urgent else ""),
        Fact("Open relay", len(alerts["open_relay"]) if alerts["ran"] else None,
             note="incident" if len(alerts["open_relay"]) == 1 else "incidents",
             tone="bad" if alerts["open_relay"] else ""),
        Fact("Auth failures", sec["auth"]["failures"],
             note="from " + _many(sec["auth"]["addresses"], "address", "addresses")),
        Fact("Relay attempts", relay["attempts"],
             note="from " + _many(relay["clients"], "client", "clients")),
        _inbound_tls(inbound),
        _plaintext_logins(inbound),
        Fact("Unknown lines", r["coverage"]["unknown_lines"],
             tone="warn" if r["coverage"]["unknown_lines"] else ""),
        Fact("Input errors", len(r["coverage"]["errors"]),
             tone="bad" if r["coverage"]["errors"] else ""),
    ]
    both = [{"figure": label, "lines": t[k], "unique": u[k]} for k, label in TOTALS.items()]
    worst = [a for a in _most_severe(alerts["timeline"])
             if SEVERITIES.index(a["severity"]) <= SEVERITIES.index("medium")][:_WORST]
    empty = empty_note(r["period"], when)
    return Section("summary", "Summary", [
        *([Note(empty, "warn")] if empty else []),
        Facts("Grand totals", cards), Facts("Security at a glance", glance),
        *([Table("What needs looking at first", _ALERT, _alert_rows(worst))] if worst else []),
        Table("Grand totals, counted two ways",
              (_c("figure"), _c("lines", "as pflogsumm counts", "count"),
               _c("unique", "each message once", "count")), both, folded=True)])


def _traffic(r: dict[str, Any]) -> Section:
    rows = [(f"{h['hour']:02d}", [h["received"], h["delivered"], h["rejected"]])
            for h in r["per_hour"]]
    zone = r["period"]["timezone"]
    return Section("traffic", "Traffic", [
        Chart("Traffic per hour", "columns", (RECEIVED, DELIVERED, REJECTED), rows,
              f"hour of the day ({zone}), summed over the days", "messages"),
        Table("Per day", (_c("day"), *_TRAFFIC), r["per_day"]),
        Table("Per hour", (_c("hour"), *_TRAFFIC), _hourly(r["per_hour"]), folded=True)])


def _delays(d: dict[str, Any]) -> list[Facts | Table]:
    """logwatch's delivery delay percentiles, and where Postfix logged it, where the delay
    went; the deliveries of no known delay are not in them, and the note says how many."""
    left_out = f"; {d['untimed']:,} of no known delay" if d["untimed"] else ""
    names = dict(STAGES)
    figures = tuple(_c(f"p{p}", f"{p}%", "seconds") for p in PERCENTILES)   # as logwatch
    return [Facts("Delivery delays of delivered mail", [
        Fact("Deliveries timed", d["timed"], note=f"of {d['delivered']:,} delivered{left_out}"),
        *(Fact(f"{p}th percentile", d[f"p{p}"], "seconds") for p in PERCENTILES),
        Fact("Longest", d["max"], "seconds")]),
        Table("Where the delay went (Postfix's delays=)",
              (_c("stage"), *figures, _c("max", "longest", "seconds")),
              [s | {"stage": names[s["stage"]]} for s in d["stages"]], only_if_rows=True)]


def _domains(r: dict[str, Any]) -> Section:
    return Section("domains", "Domains", [
        *_delays(r["delivery_delays"]),
        Table("Deliveries by recipient domain",
              (_c("domain"), _c("sent", kind="count"), _c("bytes", kind="bytes"),
               _c("deferred", "deferrals", "count"),
               _c("avg_delay", "average delay", "seconds"),
               _c("max_delay", "longest delay", "seconds")), r["delivery_domains"]),
        Table("Deliveries by transport",
              (_c("transport", kind="mono"), _c("sent", kind="count"), _c("bytes", kind="bytes"),
               _c("deferred", "deferrals", "count"), _c("bounced", kind="count")),
              r["delivery_transports"]),
        Table("Received by sending domain",
              (_c("domain"), _c("messages", kind="count"), _c("bytes", kind="bytes")),
              r["receipt_domains"])])


def _users(r: dict[str, Any]) -> Section:
    return Section("users", "Senders and recipients", [
        Table("Senders by message count", _ADDRESS, r["senders_by_count"]),
        Table("Senders by size", _ADDRESS, r["senders_by_size"]),
        Table("Recipients by message count", _ADDRESS, r["recipients_by_count"]),
        Table("Recipients by size", _ADDRESS, r["recipients_by_size"]),
        Table("Messages with no size data (bytes counted as 0)",
              (_c("queue_id", "queue id", "mono"), _c("recipient", "last recipient")),
              r["messages_without_size"], only_if_rows=True)])


def _connections(r: dict[str, Any]) -> Section:
    s = r["smtp_connections"]
    if not s["logged"]:
        return Section("connections", "SMTP connections", [Note(UNLOGGED_SESSIONS)])
    untimed = s["connections"] - s["timed"]
    return Section("connections", "SMTP connections", [
        Facts("Sessions from connect to disconnect", [
            Fact("Connections", s["connections"],
                 note=f"{untimed:,} {UNTIMED_SESSIONS}" if untimed else ""),
            Fact("Total time", s["total_seconds"], "seconds"),
            Fact("Average", s["avg_seconds"], "seconds"),
            Fact("Longest", s["max_seconds"], "seconds")]),
        Table("Per day", (_c("day"), *_SPANS), s["per_day"]),
        Table("By client domain", (_c("domain", "client domain"), *_SPANS), s["by_domain"]),
        Table("Per hour", (_c("hour"), *_SPANS), _hourly(s["per_hour"]), folded=True)])


def _delivery_problems(r: dict[str, Any]) -> Section:
    return Section("deferrals", "Deferrals and bounces", [
        Table("Deferrals", (_c("daemon"), _REASON, _COUNT), r["deferrals"]),
        Table("Bounces", (_c("relay"), _REASON, _COUNT), r["bounces"]),
        Table("Next hops that could not be reached (each host tried)",
              (_c("daemon"), _c("relay", "host", "mono"), _REASON, _COUNT),
              r["connect_failures"])])


#: of whom a refusal refused, the most refused shown in its row
_WHOM_SHOWN = 3


def _whom(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Refusal rows with whom each refused, in a line: the most refused with their
    counts, and how many in all where there are more."""
    def line(row: dict[str, Any]) -> str:
        shown = ", ".join(f"{refused(w)} ({w['count']})" for w in row["whom"][:_WHOM_SHOWN])
        more = row["whom_distinct"] > _WHOM_SHOWN
        return f"{shown}, ... {row['whom_distinct']} in all" if more else shown
    return None if rows is None else [row | {"whom": line(row)} for row in rows]


def _rejects(r: dict[str, Any]) -> Section:
    rows, note = _top([(c["reject_class"], [c["count"]]) for c in r["reject_classes"]],
                      "classes")
    columns = (_c("daemon"), _c("reject_class", "class"), _c("reject_code", "code"), _REASON,
               _COUNT, _c("whom", "refused (most first)", "mono"))
    return Section("rejects", "Rejects", [
        Chart("Rejects by class", "bars", (REJECTED,), rows, "rejects", note=note),
        Table("Rejects", columns, _whom(r["rejects"])),
        Table("Reject warnings", columns, _whom(r["reject_warnings"])),
        Table("Held", columns, _whom(r["held"])),
        Table("Discarded", columns, _whom(r["discarded"]))])


def _problems(r: dict[str, Any]) -> Section:
    columns = (_c("mta"), _c("daemon"), _REASON, _COUNT)
    return Section("problems", "Warnings, errors and daemon messages", [
        Table(title, columns, r["problems"][kind])
        for kind, title in PROBLEMS.items()])


def _alert_rows(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a | {"key": ", ".join(f"{k}={v}" for k, v in a["key"].items())} for a in alerts]


def _most_severe(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline reordered for a reader: the most severe first, then by time (on a
    busy log the few high alerts sat among hundreds of low ones)."""
    return sorted(alerts, key=lambda a: (SEVERITIES.index(a["severity"]), a["first_seen"]))


def _alerts(a: dict[str, Any]) -> list[Part]:
    if not a["ran"]:
        return [Note("The rules were not run for this report, so there is no alert "
                     "timeline.")]
    return [Table("Alerts, most severe first", _ALERT, _alert_rows(_most_severe(a["timeline"]))),
            Table("Mail relayed for strangers (open relay)", _ALERT,
                  _alert_rows(a["open_relay"]), tone="bad"),
            Table("Foreign senders through local accounts", _ALERT,
                  _alert_rows(a["unknown_sender"]), tone="bad")]


def _tls(tls: dict[str, Any]) -> list[Part]:
    i, o = tls["inbound"], tls["outbound"]
    shares = [{"direction": way, "what": what, "name": name, "count": n,
               "per": d["protocols_per"]}
              for way, d in (("inbound", i), ("outbound", o))
              for what in ("protocols", "ciphers") for name, n in d[what].items()]
    unknown = i["tls_unknown_sessions"]
    return [Facts("TLS", [
        Fact("Inbound sessions", i["sessions"] if i["sessions_logged"] else None,
             note="" if i["sessions_logged"] else "not logged"),
        _inbound_tls(i),
        _plaintext_logins(i),
        Fact("Messages in over TLS", i["tls_messages"], note=f"of {i['messages']:,}"),
        _outbound_tls(o),
        Fact("SMTP deliveries", o["smtp_deliveries"])]),
        *([Note(f"TLS not logged for {unknown:,} inbound sessions"
                + (f" ({i['tls_unknown_because']})" if i["tls_unknown_because"] else "")
                + ": they are left out of the share, and of AUTH without TLS.")]
          if unknown else []),
        Table("TLS protocols and ciphers", (_c("direction"), _c("what"), _c("name", kind="mono"),
                                            _COUNT, _c("per", "counted per")), shares)]


def _security(r: dict[str, Any]) -> Section:
    sec = r["security"]
    auth = sec["auth"]
    by_ip, ip_note = _top([(a["client_ip"] or "unknown", [a["count"]])
                           for a in auth["by_ip"] or ()], "addresses", auth["addresses"])
    talkers, talk_note = _top([(c["client_ip"] or "unknown",   # connections: None unlogged
                                [c["connections"] or 0, c["messages"], c["rejects"],
                                 c["auth_failures"]]) for c in sec["top_clients"] or ()],
                              "clients", sec["clients"])
    charts = [] if auth["by_ip"] is None else [  # -h 0: no client lines, no chart of them
        Chart("Auth failures by client address", "bars", (AUTH_FAILURES,), by_ip,
              "failed logins", note=ip_note),
        Chart("Top talkers", "bars", (CONNECTIONS, MESSAGES, REJECTED, AUTH_FAILURES),
              talkers, "connections, messages, rejected and auth failures", note=talk_note)]
    clients = (_c("client_ip", "client", "mono"), _COUNT)
    return Section("security", "Security", [
        *_alerts(sec["alerts"]),
        Facts("Logins", [Fact("Auth failures", auth["failures"]),
                         Fact("Auth successes", auth["successes"]),
                         Fact("Failures without a username",
                              auth["failures_without_username"])]),
        *charts,
        Table("Auth failures by client address",
              (*clients, _c("distinct_sasl_username", "usernames", "count"), *_SEEN),
              auth["by_ip"]),
        Table("Auth failures by username",
              (_c("sasl_username", "username"), _COUNT,
               _c("distinct_client_ip", "addresses", "count"), *_SEEN), auth["by_username"]),
        Table("Auth failures by service", (_c("service"), _COUNT), auth["by_service"]),
        Table("Logins by username and client",
              (_c("sasl_username", "username"), _c("client_ip", "client", "mono"),
               _c("logins", kind="count"), _c("messages", "messages sent", "count"), *_SEEN),
              auth["logins_by_username"]),
        Table("Auth failures per hour", (_c("hour"), _c("failures", kind="count")),
              _hourly(auth["per_hour"]), folded=True),
        Table("Relay attempts (relaying refused)",
              (*clients, _c("distinct_rcpt_domain", "recipient domains", "count"), *_SEEN),
              sec["relay_attempts"]),
        Table("Logins refused in the clear (no TLS)",
              (_c("client_ip", "client", "mono"), _c("count", "refusals", "count"),
               _c("distinct_sasl_username", "usernames", "count"),
               _c("usernames", "usernames offered, most first"), *_SEEN),
              _offered(sec["plaintext_refusals"]["by_ip"]), only_if_rows=True),
        Table("Postscreen verdicts", (_c("name", "verdict"), _COUNT),
              _named(sec["postscreen"]["verdicts"]), only_if_rows=True),
        Table("Clients postscreen caught",
              (_c("client_ip", "client", "mono"), _c("count", "caught", "count"),
               _c("verdicts"), *_SEEN), sec["postscreen"]["by_ip"], only_if_rows=True),
        Table("Blocklists that listed clients (dnsblog)", (_c("name", "blocklist", "mono"),
                                                           _COUNT),
              _named(sec["postscreen"]["blocklists"]), only_if_rows=True),
        *_content_filter(sec["content_filter"]),
        *_tls(sec["tls"]),
        Table("Top talkers", (_c("client_ip", "client", "mono"),
                              *(_c(k, kind="count") for k in ("connections", "messages",
                                                              "rejects", "auth_failures"))),
              sec["top_clients"])])


def _offered(by_ip: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Each client's usernames in one cell, with the times it offered them (`bob 3,
    alice 1`): whose mail client to set up; none where its lines named none."""
    return None if by_ip is None else [
        r | {"usernames": ", ".join(f"{u['sasl_username']} {u['count']}"
                                    for u in r["usernames"]) or None} for r in by_ip]


def _content_filter(cf: dict[str, Any] | None) -> list[Part]:
    """The content filter's verdicts; harmful mail from our own clients in red."""
    if cf is None:
        return [Facts("Content filter", [Fact("Verdicts", None,
                                              note="not logged (no amavis lines)")])]
    named = (_c("name", kind="mono"), _COUNT)
    return [
        Facts("Content filter", [
            Fact("Verdicts", cf["lines"], note=_many(cf["recipients"], "recipient",
                                                     "recipients")),
            Fact("Blocked", cf["blocked"]),
            Fact("From our clients", cf["from_ours"]),
            Fact("Harmful from our clients", sum(h["count"] for h in cf["harmful_from_ours"]),
                 note="infected, banned or spam", tone="bad" if cf["harmful_from_ours"] else "")]),
        Table("Content filter verdicts",
              (_c("verdict"), _COUNT, _c("recipients", kind="count"),
               _c("blocked", kind="count"), _c("from_outside", "from outside", "count"),
               _c("from_ours", "from our clients", "count")), cf["verdicts"]),
        Table("Harmful mail from our own clients (compromised account or host?)",
              (_c("sender", kind="mono"), _c("client_ip", "client", "mono"), _c("verdict"),
               _COUNT, *_SEEN), cf["harmful_from_ours"], tone="bad", only_if_rows=True),
        Table("Viruses found", named, cf["viruses"], only_if_rows=True),
        Table("Banned parts", named, cf["banned"], only_if_rows=True),
        Table("Senders of blocked mail", (_c("sender", kind="mono"), _COUNT),
              cf["blocked_senders"], only_if_rows=True),
        Table("Clients of blocked mail", (_c("client_ip", "client", "mono"), _COUNT),
              cf["blocked_clients"], only_if_rows=True)]


def _named(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"name": k, "count": n} for k, n in counts.items()]


def _coverage(r: dict[str, Any]) -> Section:
    cov = r["coverage"]
    files = [f | {"years": ", ".join(map(str, f["years"]))
                  + (f" ({f['year_from']})" if f["year_from"] else ""),
                  "warnings": "; ".join(f["warnings"])} for f in cov["files"]]
    gaps = [{"source": f["source"], **g} for f in cov["files"] for g in f["gaps"]]
    missing = [m | {"missing": missing_names(m)} for m in cov["missing_rotations"]]
    return Section("coverage", "Coverage", [
        Note(f"What the figures stand on. A gap is a quiet stretch longer than "
             f"{cov['gap_hours']:g} h inside one input; a hole lies between two inputs of "
             f"one log (a missing rotation may show as one); a rotation whose number lies "
             f"between two inputs' is missing however little time it held (named without "
             f"the compression suffix it may have)."),
        Table("Inputs", (_c("source", kind="mono"), _c("format"), _c("compression"),
                         _c("lines", kind="count"), _c("mail_lines", "mail lines", "count"),
                         _c("unknown_lines", "unknown", "count"), *_SEEN,
                         _c("years", "years (from)"), _c("warnings")), files),
        Table("Warnings about the inputs together", (_c("warning"),),
              [{"warning": w} for w in cov["warnings"]], only_if_rows=True),
        Table("SHA-256 of the inputs", (_c("source", kind="mono"), _c("sha256", "SHA-256", "mono")),
              cov["files"]),
        Table("Gaps inside an input", (_c("source", kind="mono"), *_GAP), gaps),
        Table("Holes between inputs", (_c("after", kind="mono"), _c("before", kind="mono"),
                                       *_GAP), cov["holes_between_files"]),
        Table("Rotations missing between inputs",
              (_c("missing", kind="mono"), _c("count", "files", "count"),
               _c("after", kind="mono"), _c("before", kind="mono")), missing,
              only_if_rows=True),
        Table("Lines no parser knew", (_c("mta"), _c("daemon"), _c("shape", kind="mono"),
                                       _COUNT, _c("example", kind="mono")),
              cov["unknown_shapes"]),
        Table("Errors reading the inputs", (_c("error"),), [{"error": e} for e in cov["errors"]]),
        Table("Notes", (_c("note"),), [{"note": n} for n in r["notes"]])])


def _mailq(r: dict[str, Any]) -> Section:
    """pflogsumm's --mailq: the queue as the MTA's `mailq` listed it, line by line."""
    q = r["mailq"]
    if q is None:
        return Section("mailq", "Current mail queue")
    return Section("mailq", "Current mail queue", [
        *([Note(q["error"])] if q["error"] else []),
        Table(f"Output of {q['command']}", (_c("line", kind="mono"),),
              [{"line": line} for line in q["output"].splitlines()], only_if_rows=True)])


_BUILDERS: dict[str, Callable[[dict[str, Any]], Section]] = {
    "summary": _summary, "traffic": _traffic, "domains": _domains, "users": _users,
    "connections": _connections, "deferrals": _delivery_problems, "rejects": _rejects,
    "problems": _problems, "security": _security, "coverage": _coverage, "mailq": _mailq}
_ORDER = ("summary", "traffic", "domains", "users", "connections", "deferrals", "rejects",
          "problems", "security", "coverage", "mailq")
#: pflogsumm's --problems-first: what needs someone before the traffic figures.
_PROBLEMS_FIRST = ("summary", "security", "problems", "rejects", "deferrals", "traffic",
                   "domains", "users", "connections", "coverage", "mailq")


def sections(report: dict[str, Any]) -> list[Section]:
    """The report's sections in reading order (problems first when it asks for that);
    with quiet (pflogsumm's -q), no empty table."""
    order = _PROBLEMS_FIRST if report.get("problems_first") else _ORDER
    shown = [_shown(_BUILDERS[name](report), bool(report.get("quiet"))) for name in order]
    return [s for s in shown if s.parts]


def _shown(section: Section, quiet: bool) -> Section:
    """`section` without the tables not asked for, nor the empty ones that are shown
    only with rows (all of them, quiet)."""
    return replace(section, parts=[p for p in section.parts if not isinstance(p, Table) or (
        p.rows is not None and (p.rows or not (p.only_if_rows or quiet)))])


def period_line(report: dict[str, Any]) -> str:
    """What the report covers, in one line."""
    p = report["period"]
    span = (f"{when(p['first'])} to {when(p['last'])}" if p["first"]
            else "no mail lines in the period")
    chosen = asked(p, when)
    return "; ".join(x for x in (span, chosen and f"asked for {chosen}",
                                 f"hours and days in {p['timezone']}", mta_rows(p, count),
                                 report.get("generator", "")) if x)
