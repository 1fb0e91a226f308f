"""The report as one self-contained HTML page, and the layout the Markdown form shares.

The page is mailed, archived and opened offline, perhaps years later as evidence: so it
holds everything itself (inline CSS, inline SVG charts), loads nothing and runs nothing.
Every string that came from a log (a sender is whatever the client typed) goes through
`sanitize.for_html`, and a Content-Security-Policy that forbids scripts and remote loads stands
behind that, should a renderer ever miss one.

`sections` decides what is shown and in which order, as plain parts (facts, tables,
charts); this module and `render_markdown` only write them in their medium, so the two
forms cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from logwatch.report.svg import Series, bar_chart, column_chart
from logwatch.sanitize import for_html

__all__ = ["Column", "Table", "Fact", "Facts", "Chart", "Note", "Section", "sections",
           "period_line", "count", "display", "render_html"]

#: Kinds of figure that are right-aligned.
NUMERIC = frozenset({"count", "bytes", "seconds", "hours", "share"})
#: Bars a chart shows; the table beside it has them all.
CHART_ROWS = 15
#: Rows a table shows before it scrolls in its box (printed, it shows them all).
SCROLL_ROWS = 15
SEVERITIES = ("critical", "high", "medium", "low", "info")

RECEIVED = Series("received", "#2563eb")
DELIVERED = Series("delivered", "#16a34a")
REJECTED = Series("rejected", "#dc2626")
CONNECTIONS = Series("connections", "#94a3b8")
MESSAGES = Series("messages", "#16a34a")
AUTH_FAILURES = Series("auth failures", "#f59e0b")


# -- the layout -------------------------------------------------------------------------------

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
    """`folded`: long detail a reader opens on demand; `tone` "bad": mail got out."""

    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    folded: bool = False
    tone: str = ""


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
    text: str


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
_TRAFFIC = tuple(_c(k, kind="count") for k in ("received", "delivered", "deferred",
                                                 "bounced", "rejected"))
_SPANS = (_c("connections", kind="count"), _c("total_seconds", "total time", "seconds"),
          _c("avg_seconds", "average", "seconds"), _c("max_seconds", "longest", "seconds"))
_SEEN = (_c("first", kind="when"), _c("last", kind="when"))
_ALERT = (_c("severity", kind="severity"), _c("rule"), _c("key", kind="mono"),
          _c("first_seen", "first seen", "when"), _c("last_seen", "last seen", "when"),
          _COUNT, _c("summary"))
_GAP = (_c("from", kind="when"), _c("to", kind="when"), _c("hours", kind="hours"))

#: DESIGN.md's `totals` keys, in its order, as a reader calls them.
TOTALS = {"received": "Received", "delivered": "Delivered", "forwarded": "Forwarded",
          "deferred": "Deferred", "deferrals": "Deferrals", "bounced": "Bounced",
          "rejected": "Rejected", "reject_warnings": "Reject warnings", "held": "Held",
          "discarded": "Discarded", "bytes_received": "Bytes received",
          "bytes_delivered": "Bytes delivered", "senders": "Senders",
          "sending_domains": "Sending domains", "recipients": "Recipients",
          "recipient_domains": "Recipient domains"}


def _hourly(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"hour": f"{r['hour']:02d}:00"} for r in rows]


def _top(rows: ChartRows, what: str) -> tuple[ChartRows, str]:
    note = f"The top {CHART_ROWS} of {len(rows)} {what}." if len(rows) > CHART_ROWS else ""
    return rows[:CHART_ROWS], note


def _many(n: int, one: str, more: str) -> str:
    return f"{n:,} {one if n == 1 else more}"


def _plaintext_logins(inbound: dict[str, Any]) -> Fact:
    """Passwords sent in the clear: worth a red card wherever it is shown."""
    n = inbound["plaintext_auth_sessions"]
    return Fact("Plaintext logins", n, note="sessions with AUTH before TLS",
                tone="bad" if n else "")


def _summary(r: dict[str, Any]) -> Section:
    t, u, sec = r["totals"], r["totals_unique"], r["security"]
    cards = [Fact(label, t[k], "bytes" if k.startswith("bytes_") else "count")
             for k, label in TOTALS.items()]
    alerts = sec["alerts"]
    severities = Counter(a["severity"] for a in alerts["timeline"])
    urgent = severities["critical"] + severities["high"]
    inbound = sec["tls"]["inbound"]
    relay = sum(a["count"] for a in sec["relay_attempts"])
    glance = [
        Fact("Alerts", len(alerts["timeline"]) if alerts["ran"] else None,
             note=", ".join(f"{severities[s]} {s}" for s in SEVERITIES if severities[s])
             if alerts["ran"] else "rules not run", tone="bad" if urgent else ""),
        Fact("Open relay", len(alerts["open_relay"]) if alerts["ran"] else None,
             note="incidents", tone="bad" if alerts["open_relay"] else ""),
        Fact("Auth failures", sec["auth"]["failures"],
             note="from " + _many(len(sec["auth"]["by_ip"]), "address", "addresses")),
        Fact("Relay attempts", relay,
             note="from " + _many(len(sec["relay_attempts"]), "client", "clients")),
        Fact("Inbound TLS", inbound["share"], "share",
             note=f"{inbound['tls_sessions']:,} of {inbound['sessions']:,} sessions"),
        _plaintext_logins(inbound),
        Fact("Unknown lines", r["coverage"]["unknown_lines"],
             tone="warn" if r["coverage"]["unknown_lines"] else ""),
        Fact("Input errors", len(r["coverage"]["errors"]),
             tone="bad" if r["coverage"]["errors"] else ""),
    ]
    both = [{"figure": label, "lines": t[k], "unique": u[k]} for k, label in TOTALS.items()]
    return Section("summary", "Summary", [
        Facts("Grand totals", cards), Facts("Security at a glance", glance),
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


def _domains(r: dict[str, Any]) -> Section:
    return Section("domains", "Domains", [
        Table("Deliveries by recipient domain",
              (_c("domain"), _c("sent", kind="count"), _c("bytes", kind="bytes"),
               _c("deferred", kind="count"), _c("avg_delay", "average delay", "seconds"),
               _c("max_delay", "longest delay", "seconds")), r["delivery_domains"]),
        Table("Received by sending domain",
              (_c("domain"), _c("messages", kind="count"), _c("bytes", kind="bytes")),
              r["receipt_domains"])])


def _users(r: dict[str, Any]) -> Section:
    return Section("users", "Senders and recipients", [
        Table("Senders by message count", _ADDRESS, r["senders_by_count"]),
        Table("Senders by size", _ADDRESS, r["senders_by_size"]),
        Table("Recipients by message count", _ADDRESS, r["recipients_by_count"]),
        Table("Recipients by size", _ADDRESS, r["recipients_by_size"])])


def _connections(r: dict[str, Any]) -> Section:
    s = r["smtp_connections"]
    return Section("connections", "SMTP connections", [
        Facts("Sessions from connect to disconnect", [
            Fact("Connections", s["connections"]),
            Fact("Total time", s["total_seconds"], "seconds"),
            Fact("Average", s["avg_seconds"], "seconds"),
            Fact("Longest", s["max_seconds"], "seconds")]),
        Table("Per day", (_c("day"), *_SPANS), s["per_day"]),
        Table("By client domain", (_c("domain", "client domain"), *_SPANS), s["by_domain"]),
        Table("Per hour", (_c("hour"), *_SPANS), _hourly(s["per_hour"]), folded=True)])


def _delivery_problems(r: dict[str, Any]) -> Section:
    return Section("deferrals", "Deferrals and bounces", [
        Table("Deferrals", (_c("daemon"), _REASON, _COUNT), r["deferrals"]),
        Table("Bounces", (_c("relay"), _REASON, _COUNT), r["bounces"])])


def _rejects(r: dict[str, Any]) -> Section:
    by_class: Counter[str] = Counter()
    for row in r["rejects"]:
        by_class[row["reject_class"] or "unclassified"] += row["count"]
    rows, note = _top([(k, [n]) for k, n in sorted(by_class.items(),
                                                   key=lambda kv: (-kv[1], kv[0]))], "classes")
    outside = r["totals"]["rejected"] - sum(by_class.values())
    if outside > 0:
        note += (f" Counted from the {len(r['rejects'])} reject reasons listed; "
                 f"{outside:,} rejects fall outside them.")
    columns = (_c("daemon"), _c("reject_class", "class"), _REASON, _COUNT)
    return Section("rejects", "Rejects", [
        Chart("Rejects by class", "bars", (REJECTED,), rows, "rejects", note=note.strip()),
        Table("Rejects", columns, r["rejects"]),
        Table("Reject warnings", columns, r["reject_warnings"]),
        Table("Held", columns, r["held"]),
        Table("Discarded", columns, r["discarded"])])


def _problems(r: dict[str, Any]) -> Section:
    columns = (_c("mta"), _c("daemon"), _REASON, _COUNT)
    return Section("problems", "Warnings and errors", [
        Table(title, columns, r["problems"][kind])
        for kind, title in (("warning", "Warnings"), ("error", "Errors"),
                            ("fatal", "Fatal errors"), ("panic", "Panics"))])


def _alert_rows(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a | {"key": ", ".join(f"{k}={v}" for k, v in a["key"].items())} for a in alerts]


def _alerts(a: dict[str, Any]) -> list[Part]:
    if not a["ran"]:
        return [Note("The rules were not run for this report, so there is no alert "
                     "timeline.")]
    return [Table("Alerts", _ALERT, _alert_rows(a["timeline"])),
            Table("Mail relayed for strangers (open relay)", _ALERT,
                  _alert_rows(a["open_relay"]), tone="bad"),
            Table("Foreign senders through local accounts", _ALERT,
                  _alert_rows(a["unknown_sender"]), tone="bad")]


def _tls(tls: dict[str, Any]) -> list[Part]:
    i, o = tls["inbound"], tls["outbound"]
    shares = [{"direction": way, "what": what, "name": name, "count": n}
              for way, d in (("inbound", i), ("outbound", o))
              for what in ("protocols", "ciphers") for name, n in d[what].items()]
    return [Facts("TLS", [
        Fact("Inbound sessions", i["sessions"]),
        Fact("With TLS", i["tls_sessions"], note=f"{i['share']:.1%}" if i["share"] is not None
             else ""),
        _plaintext_logins(i),
        Fact("Outbound TLS connections", o["tls_connections"]),
        Fact("SMTP deliveries", o["smtp_deliveries"])]),
        Table("TLS protocols and ciphers", (_c("direction"), _c("what"), _c("name", kind="mono"),
                                            _COUNT), shares)]


def _security(r: dict[str, Any]) -> Section:
    sec = r["security"]
    auth = sec["auth"]
    by_ip, ip_note = _top([(a["client_ip"] or "unknown", [a["count"]]) for a in auth["by_ip"]],
                          "addresses")
    talkers, talk_note = _top([(c["client_ip"] or "unknown",
                                [c["connections"], c["messages"], c["rejects"],
                                 c["auth_failures"]]) for c in sec["top_clients"]], "clients")
    clients = (_c("client_ip", "client", "mono"), _COUNT)
    return Section("security", "Security", [
        *_alerts(sec["alerts"]),
        Facts("Logins", [Fact("Auth failures", auth["failures"]),
                         Fact("Auth successes", auth["successes"]),
                         Fact("Failures without a username",
                              auth["failures_without_username"])]),
        Chart("Auth failures by client address", "bars", (AUTH_FAILURES,), by_ip,
              "failed logins", note=ip_note),
        Chart("Top talkers", "bars", (CONNECTIONS, MESSAGES, REJECTED, AUTH_FAILURES),
              talkers, "connections, messages, rejects and failed logins", note=talk_note),
        Table("Auth failures by client address",
              (*clients, _c("distinct_sasl_username", "usernames", "count"), *_SEEN),
              auth["by_ip"]),
        Table("Auth failures by username",
              (_c("sasl_username", "username"), _COUNT,
               _c("distinct_client_ip", "addresses", "count"), *_SEEN), auth["by_username"]),
        Table("Relay attempts (relay access denied)",
              (*clients, _c("distinct_rcpt_domain", "recipient domains", "count"), *_SEEN),
              sec["relay_attempts"]),
        *_tls(sec["tls"]),
        Table("Top talkers", (_c("client_ip", "client", "mono"),
                              *(_c(k, kind="count") for k in ("connections", "messages",
                                                              "rejects", "auth_failures"))),
              sec["top_clients"])])


def _coverage(r: dict[str, Any]) -> Section:
    cov = r["coverage"]
    files = [f | {"years": ", ".join(map(str, f["years"]))
                  + (f" ({f['year_from']})" if f["year_from"] else ""),
                  "warnings": "; ".join(f["warnings"])} for f in cov["files"]]
    gaps = [{"source": f["source"], **g} for f in cov["files"] for g in f["gaps"]]
    return Section("coverage", "Coverage", [
        Note(f"What the figures stand on. A gap is a quiet stretch longer than "
             f"{cov['gap_hours']:g} h inside one input; a hole lies between two inputs "
             f"(a missing rotation shows as one)."),
        Table("Inputs", (_c("source", kind="mono"), _c("format"), _c("compression"),
                         _c("lines", kind="count"), _c("mail_lines", "mail lines", "count"),
                         _c("unknown_lines", "unknown", "count"), *_SEEN,
                         _c("years", "years (from)"), _c("warnings")), files),
        Table("SHA-256 of the inputs", (_c("source", kind="mono"), _c("sha256", "SHA-256", "mono")),
              cov["files"]),
        Table("Gaps inside an input", (_c("source", kind="mono"), *_GAP), gaps),
        Table("Holes between inputs", (_c("after", kind="mono"), _c("before", kind="mono"),
                                       *_GAP), cov["holes_between_files"]),
        Table("Lines no parser knew", (_c("mta"), _c("daemon"), _c("shape", kind="mono"),
                                       _COUNT, _c("example", kind="mono")),
              cov["unknown_shapes"]),
        Table("Errors reading the inputs", (_c("error"),), [{"error": e} for e in cov["errors"]]),
        Table("Notes", (_c("note"),), [{"note": n} for n in r["notes"]])])


_BUILDERS: dict[str, Callable[[dict[str, Any]], Section]] = {
    "summary": _summary, "traffic": _traffic, "domains": _domains, "users": _users,
    "connections": _connections, "deferrals": _delivery_problems, "rejects": _rejects,
    "problems": _problems, "security": _security, "coverage": _coverage}
_ORDER = ("summary", "traffic", "domains", "users", "connections", "deferrals", "rejects",
          "problems", "security", "coverage")
#: pflogsumm's --problems-first: what needs someone before the traffic figures.
_PROBLEMS_FIRST = ("summary", "security", "problems", "rejects", "deferrals", "traffic",
                   "domains", "users", "connections", "coverage")


def sections(report: dict[str, Any]) -> list[Section]:
    """The report's sections in reading order (problems first when it asks for that)."""
    order = _PROBLEMS_FIRST if report.get("problems_first") else _ORDER
    return [_BUILDERS[name](report) for name in order]


def period_line(report: dict[str, Any]) -> str:
    """What the report covers, in one line."""
    p = report["period"]
    span = (f"{when(p['first'])} to {when(p['last'])}" if p["first"]
            else "no mail lines in the period")
    chosen = " ".join(f"{k} {when(p[k])}" for k in ("since", "until") if p[k])
    mtas = ", ".join(f"{m} {count(n)} rows" for m, n in p["mtas"].items())
    return "; ".join(x for x in (span, chosen and f"asked for {chosen}",
                                 f"hours and days in {p['timezone']}", mtas,
                                 report.get("generator", "")) if x)


# -- figures as a reader reads them ---------------------------------------------------------

def count(n: float | None) -> str:
    if n is None:
        return "–"
    return f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")


def size(n: int | None) -> str:
    """Bytes in binary units, three figures (the exact number goes beside it)."""
    if n is None:
        return "–"
    if n < 1024:
        return f"{n} B"
    value, unit = float(n), "B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024:
            break
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{count(round(seconds, 2))} s"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


def when(stamp: str | None) -> str:
    """An RFC 3339 instant as `2026-03-03 04:20:07 UTC` (other offsets kept)."""
    if not stamp:
        return "–"
    try:
        t = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    offset = t.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else " " + t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S") + zone


def display(value: Any, kind: str) -> str:
    """A value as the tables show it, unescaped."""
    if value is None:
        return "–"
    if kind == "count":
        return count(value)
    if kind == "bytes":
        return size(value)
    if kind == "seconds":
        return duration(value)
    if kind == "hours":
        return f"{count(value)} h"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "when":
        return when(value)
    return str(value)


def _exact(value: Any, kind: str) -> str | None:
    """The figure behind a rounded one, for the tooltip."""
    if value is None:
        return None
    if kind == "bytes":
        return f"{value:,} bytes"
    if kind == "seconds" and value >= 60:
        return f"{value:,} s"
    if kind == "when":
        return str(value)
    return None


# -- HTML -------------------------------------------------------------------------------------

_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'")
#: How wide a column of each kind tends to be (numbers: 1); a table wider than
#: HALF_WIDTH, or with a column of long text, spans the page.
_WIDTH = {"text": 2, "mono": 2, "when": 3}
HALF_WIDTH = 8
_LONG_TEXT = frozenset({"reason", "summary", "shape", "example", "error", "note", "sha256",
                        "warnings"})

_CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff;--accent:#2563eb;
--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#0f172a;color:#f8fafc;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:650}
header p{margin:0;color:#cbd5e1}
nav{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);
padding:8px 32px;white-space:nowrap;overflow-x:auto}
nav a{color:var(--accent);text-decoration:none;margin-right:18px}
main{padding:4px 32px 32px;max-width:1440px}
section{margin-top:26px}
h2{font-size:18px;margin:0 0 12px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:13px;margin:0 0 6px;color:#374151}
.parts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px 22px;
align-items:start}
.wide{grid-column:1/-1}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 12px}
.card .label{display:block;color:var(--muted);font-size:11px;text-transform:uppercase;
letter-spacing:.04em}
.card .value{display:block;font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .note{display:block;color:var(--muted);font-size:12px;min-height:1em}
.card.bad{border-color:var(--bad);background:#fef2f2}.card.bad .value{color:var(--bad)}
.card.warn{border-color:var(--warn);background:#fffbeb}.card.warn .value{color:var(--warn)}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f1f5f9;font-size:12px;font-weight:600;color:#374151}
td{overflow-wrap:break-word}
.tbl{overflow:auto;border:1px solid var(--line)}
.tbl table{border:0}
.tall{max-height:30em}
.tall th{position:sticky;top:0}
tbody tr:nth-child(even){background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.when{white-space:nowrap}
.empty,.note{color:var(--muted);font-size:12px;margin:4px 0 0}
.empty{font-style:italic}
.block.bad h3{color:var(--bad)}.block.bad .tbl{border-color:var(--bad)}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 14px}
figcaption{font-weight:600;margin-bottom:6px}
svg{display:block;max-width:100%;height:auto}
figure.wide svg{width:100%}
.sev{display:inline-block;white-space:nowrap;padding:0 7px;border-radius:9px;font-size:12px;
font-weight:600;background:#e5e7eb}
.sev-critical{background:#7f1d1d;color:#fff}.sev-high{background:#dc2626;color:#fff}
.sev-medium{background:#fde68a}.sev-low{background:#dbeafe}
summary{cursor:pointer;font-weight:600;font-size:13px;color:#374151;margin-bottom:6px}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
@media print{nav{display:none}body{background:#fff}.tall{max-height:none}}
"""


def _attr(value: str | None, name: str = "title") -> str:
    return "" if value is None else f' {name}="{for_html(value)}"'


def _cell(value: Any, kind: str) -> str:
    text = for_html(display(value, kind))
    if kind == "severity" and value in SEVERITIES:
        text = f'<span class="sev sev-{value}">{text}</span>'
    elif kind == "when" and value:
        text = f"<time{_attr(value, 'datetime')}>{text}</time>"
    cls = "num" if kind in NUMERIC else kind if kind in ("mono", "when") else ""
    return f"<td{_attr(cls or None, 'class')}{_attr(_exact(value, kind))}>{text}</td>"


def _table(t: Table) -> str:
    wide = (any(c.key in _LONG_TEXT for c in t.columns)
            or sum(_WIDTH.get(c.kind, 1) for c in t.columns) > HALF_WIDTH)
    classes = " ".join(x for x in ("block", "wide" if wide else "", t.tone) if x)
    if not t.rows:
        return f'<div class="{classes}"><h3>{for_html(t.title)}</h3><p class="empty">None.</p></div>'
    head = "".join(f"<th{_attr('num' if c.kind in NUMERIC else None, 'class')}>"
                   f"{for_html(c.heading)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c.key), c.kind) for c in t.columns) + "</tr>"
                   for row in t.rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    table = f'<div class="tbl{" tall" if len(t.rows) > SCROLL_ROWS else ""}">{table}</div>'
    if t.folded:
        return (f'<details class="{classes}"><summary>{for_html(t.title)} '
                f'({len(t.rows):,} rows)</summary>{table}</details>')
    return f'<div class="{classes}"><h3>{for_html(t.title)}</h3>{table}</div>'


def _facts(f: Facts) -> str:
    cards = "".join(
        f'<div class="card{" " + x.tone if x.tone else ""}"><span class="label">'
        f'{for_html(x.label)}</span><span class="value"{_attr(_exact(x.value, x.kind))}>'
        f'{for_html(display(x.value, x.kind))}</span><span class="note">{for_html(x.note)}</span></div>'
        for x in f.items)
    return (f'<div class="block wide"><h3>{for_html(f.title)}</h3>'
            f'<div class="cards">{cards}</div></div>')


def _chart(c: Chart) -> str:
    if not c.rows:
        svg = '<p class="empty">Nothing to draw.</p>'
    elif c.kind == "columns":
        svg = column_chart(c.title, c.series, c.rows, c.x_label, c.y_label)
    else:
        svg = bar_chart(c.title, c.series, c.rows, c.x_label)
    note = f'<p class="note">{for_html(c.note)}</p>' if c.note else ""
    return (f'<figure class="chart{" wide" if c.kind == "columns" else ""}">'
            f"<figcaption>{for_html(c.title)}</figcaption>{svg}{note}</figure>")


def _note(n: Note) -> str:
    return f'<p class="wide note">{for_html(n.text)}</p>'


_WRITERS: dict[type, Callable[[Any], str]] = {Table: _table, Facts: _facts, Chart: _chart,
                                             Note: _note}


def render_html(report: dict[str, Any]) -> str:
    """The report as one HTML5 page that needs nothing else to be read."""
    parts = sections(report)
    nav = "".join(f'<a href="#{s.id}">{for_html(s.title)}</a>' for s in parts)
    body = "".join(f'<section id="{s.id}"><h2>{for_html(s.title)}</h2><div class="parts">'
                   + "".join(_WRITERS[type(p)](p) for p in s.parts) + "</div></section>"
                   for s in parts)
    period = period_line(report)
    generator = report.get("generator", "mail-logwatch")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator"{_attr(generator, "content")}>\n'
        f"<title>Mail log report: {for_html(period)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<header><h1>Mail log report</h1><p>{for_html(period)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>{body}</main>\n"
        f"<footer>Written by {for_html(generator)}. Bytes are rounded where shown; hover for the "
        "exact figure. The JSON form of this report has every figure.</footer>\n"
        "</body>\n</html>\n")
