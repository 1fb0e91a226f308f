"""The report as plain text for the cron mail, laid out as pflogsumm lays it out, so that
its readers find their way; every log-derived string has its control characters shown
as escapes (a sender can carry ANSI sequences that would rewrite the reader's terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from logwatch.report.collect import PROBLEMS, UNLOGGED_SESSIONS, UNTIMED_SESSIONS
from logwatch.report.coverage import missing_names
from logwatch.report.delays import PERCENTILES, STAGES
from logwatch.report.period import empty_note, mta_rows
from logwatch.report.figures import refused
from logwatch.sanitize import for_terminal

__all__ = ["render_text", "human_bytes", "human_seconds"]

Row = dict[str, Any]


def human_bytes(n: int) -> str:
    """pflogsumm's units (k, m at 512 of the one below), for a reader's eye; the JSON
    keeps exact bytes."""
    if n > 512 << 20:
        return f"{n // (1 << 20)}m"
    if n > 512 << 10:
        return f"{n // (1 << 10)}k"
    return str(n)


def human_seconds(v: float | None) -> str:
    """pflogsumm's delay units (s, m above a minute, h above an hour): `40.5 m` reads
    where `2429` did not say what it counted. Halves round up, as the decimal figure
    says (an average of exactly 1.15 s is 1.2 s; the float 1.15 printed says 1.1)."""
    if v is None:
        return "-"
    for size, unit in ((3600, "h"), (60, "m")):
        if v > size:
            return f"{_tenths(v / size)} {unit}"
    return f"{_tenths(v)} s"


def _tenths(v: float) -> Decimal:
    return Decimal(str(round(float(v), 6))).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):      # never 1.23457e+06: a month of connection seconds
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return for_terminal(str(v))


#: what a table with no rows says
_NONE = "  none"


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _titled(title: str, rows: Sequence[Row] | None, columns: list[tuple[str, str]],
            fmt: dict[str, Callable[[Any], str]] | None = None) -> list[str]:
    """A section's heading and table; nothing where the options asked for no lines
    (`-h 0`: rows None), as pflogsumm leaves such a section out."""
    return [] if rows is None else _heading(title) + _table(rows, columns, fmt)


def _table(rows: Sequence[Row] | None, columns: list[tuple[str, str]],
           fmt: dict[str, Callable[[Any], str]] | None = None) -> list[str]:
    """Right-aligned numbers, then the last column (a name) left-aligned, as pflogsumm;
    nothing for a list not asked for (`-h 0`)."""
    if rows is None:
        return []
    if not rows:
        return [_NONE]
    fmt = fmt or {}
    cells = [[fmt.get(k, _cell)(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(columns)]
    head = "  ".join(h.rjust(w) if i < len(columns) - 1 else h
                     for i, ((_, h), w) in enumerate(zip(columns, widths)))
    out = ["  " + head, "  " + "-" * len(head)]
    for c in cells:
        out.append("  " + "  ".join(v.rjust(w) if i < len(c) - 1 else v
                                    for i, (v, w) in enumerate(zip(c, widths))))
    return out


def _below(rows: Sequence[Row] | None, columns: list[tuple[str, str]],
           fmt: dict[str, Callable[[Any], str]] | None = None) -> list[str]:
    """A table under a section's summary line, which says already when there is none:
    nothing then, where a bare `none` would not say what there is none of."""
    return [""] + _table(rows, columns, fmt) if rows else []


def _totals(r: dict[str, Any]) -> list[str]:
    t, u = r["totals"], r["totals_unique"]
    # pflogsumm's percentages: of delivered, rejected and discarded together
    whole = max(1, t["delivered"] + t["rejected"] + t["discarded"])
    rejected_pct, discarded_pct = (100 * t[k] // whole for k in ("rejected", "discarded"))
    lines = _heading("Grand Totals") + ["messages", ""]
    for key, label in (("received", "received"), ("delivered", "delivered"),
                       ("forwarded", "forwarded"), ("deferred", "deferred"),
                       ("bounced", "bounced"), ("expired", "expired (queue lifetime)"),
                       ("rejected", f"rejected ({rejected_pct}%)"),
                       ("reject_warnings", "reject warnings"), ("held", "held"),
                       ("discarded", f"discarded ({discarded_pct}%)")):
        extra = f"  ({t['deferrals']} deferrals)" if key == "deferred" and t["deferrals"] else ""
        once = f"   [{u[key]} counting each message once]" if u[key] != t[key] else ""
        lines.append(f"  {t[key]:>8}  {label}{extra}{once}")
    lines.append("")
    for key, label in (("bytes_received", "bytes received"),
                       ("bytes_delivered", "bytes delivered")):
        lines.append(f"  {human_bytes(t[key]):>8}  {label}")
    for key, label in (("senders", "senders"), ("sending_domains", "sending hosts/domains"),
                       ("recipients", "recipients"),
                       ("recipient_domains", "recipient hosts/domains")):
        lines.append(f"  {t[key]:>8}  {label}")
    return lines


_TRAFFIC = [("received", "received"), ("delivered", "delivered"), ("deferred", "deferred"),
            ("bounced", "bounced"), ("rejected", "rejected")]


def _hour_spans(rows: Sequence[Row], r: dict[str, Any]) -> list[Row]:
    """Hours of the day as pflogsumm writes them: `0300-0400`, or with --iso-date-time
    `03:00-04:00` (dates are ISO 8601 either way); the last ends at 2400."""
    form = "{:02d}:00-{:02d}:00" if r["iso_date_time"] else "{:02d}00-{:02d}00"
    return [dict(row, time=form.format(row["hour"], row["hour"] + 1)) for row in rows]


def _traffic(r: dict[str, Any]) -> list[str]:
    days = len(r["per_day"])
    hours = _hour_spans(r["per_hour"], r)
    return (_heading("Per-Day Traffic Summary") + _table(r["per_day"], _TRAFFIC + [("day", "date")])
            + _heading(f"Per-Hour Traffic Summary (zone {r['period']['timezone']}"
                       + (f", summed over {days} days)" if days > 1 else ")"))
            + _table(hours, _TRAFFIC + [("time", "time")]))


def _domains(r: dict[str, Any]) -> list[str]:
    size = {"bytes": human_bytes}
    return (_titled("Host/Domain Summary: Message Delivery", r["delivery_domains"],
                    [("sent", "sent cnt"), ("bytes", "bytes"), ("deferred", "defers"),
                     ("avg_delay", "avg dly"), ("max_delay", "max dly"),
                     ("domain", "host/domain")],
                    {**size, "avg_delay": human_seconds, "max_delay": human_seconds})
            + _titled("Deliveries by transport", r["delivery_transports"],
                      [("sent", "sent cnt"), ("bytes", "bytes"), ("deferred", "defers"),
                       ("bounced", "bounced"), ("transport", "transport")], size)
            + _titled("Host/Domain Summary: Messages Received", r["receipt_domains"],
                      [("messages", "msg cnt"), ("bytes", "bytes"), ("domain", "host/domain")],
                      size))


def _delays(r: dict[str, Any]) -> list[str]:
    """logwatch's "Delivery Delays Percentiles": Postfix's stages where logged, then the
    Total, of delivered mail; the deliveries whose delay is not known are said, as they
    are not in the figures."""
    d = r["delivery_delays"]
    names = dict(STAGES)
    rows = [dict(s, stage=names[s["stage"]]) for s in d["stages"]] + [dict(d, stage="Total")]
    cols = [("timed", "deliveries"), *((f"p{p}", f"{p}%") for p in PERCENTILES),
            ("max", "max"), ("stage", "stage")]
    out = _heading("Delivery Delays Percentiles") + _table(
        rows if d["timed"] else [], cols,
        {f"p{p}": human_seconds for p in PERCENTILES} | {"max": human_seconds})
    if d["untimed"]:
        out.append(f"  {d['untimed']} of {d['delivered']} deliveries left out: no delay "
                   "logged, and their arrival is not in the input")
    return out


def _users(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, title, col in (("senders_by_count", "Senders by message count", "messages"),
                            ("recipients_by_count", "Recipients by message count", "messages"),
                            ("senders_by_size", "Senders by message size", "bytes"),
                            ("recipients_by_size", "Recipients by message size", "bytes")):
        out += _titled(title, r[key], [(col, col), ("address", "address")],
                       {"bytes": human_bytes})
    if r["messages_without_size"]:     # pflogsumm shows it only when there are some
        out += _titled("Messages with no size data", r["messages_without_size"],
                       [("queue_id", "queue id"), ("recipient", "last recipient")])
    return out


def _details(r: dict[str, Any]) -> list[str]:
    out = _titled("Message Deferral Detail", r["deferrals"],
                  [("count", "count"), ("daemon", "daemon"), ("reason", "reason")])
    out += _titled("Message Bounce Detail (by relay)", r["bounces"],
                   [("count", "count"), ("relay", "relay"), ("reason", "reason")])
    for key, title in (("rejects", "Message Reject Detail"),
                       ("reject_warnings", "Message Reject Warning Detail"),
                       ("held", "Message Hold Detail"), ("discarded", "Message Discard Detail")):
        rows = r[key]
        table = _titled(title, rows, [("count", "count"), ("daemon", "daemon"),
                                      ("reject_class", "class"), ("reject_code", "code"),
                                      ("reason", "reason")])
        out += _with_whom(table, rows or [])
    out += _titled("SMTP Delivery Failures", r["connect_failures"],
                   [("count", "count"), ("daemon", "daemon"), ("relay", "host"),
                    ("reason", "reason")])
    return out


def _with_whom(table: list[str], rows: Sequence[Row]) -> list[str]:
    """A refusal table with, under each reason, whom it refused and how often, as
    pflogsumm lists them (the table's row lines are its last, one a row)."""
    if not rows:
        return table
    out = table[:-len(rows)]
    for row, line in zip(rows, table[-len(rows):]):
        out.append(line)
        out += [f"  {w['count']:>12}  {_cell(refused(w))}" for w in row["whom"]]
        if row["whom_distinct"] > len(row["whom"]):
            out.append(f"  {'':>12}  ... {row['whom_distinct']} in all")
    return out


def _connections(r: dict[str, Any]) -> list[str]:
    c = r["smtp_connections"]
    cols = [("connections", "connections"), ("total_seconds", "time conn."),
            ("avg_seconds", "avg./conn."), ("max_seconds", "max. time")]
    if not c["logged"]:
        return _heading("SMTPD Connection Statistics") + [f"  {UNLOGGED_SESSIONS}"]
    days = len(c["per_day"])
    hours = _hour_spans(c["per_hour"], r)
    summary = f"  {c['connections']} connections from {c['hosts']} hosts/domains"
    if c["timed"]:
        summary += (f", {c['total_seconds']} s in all, average {_cell(c['avg_seconds'])} s, "
                    f"longest {_cell(c['max_seconds'])} s")
    if c["timed"] < c["connections"]:
        summary += f"; {c['connections'] - c['timed']} {UNTIMED_SESSIONS}"
    return (_heading("SMTPD Connection Statistics") + [summary]
            + _titled("Per-Day SMTPD Connection Summary", c["per_day"],
                      cols + [("day", "date")])
            + _titled("Per-Hour SMTPD Connection Summary"
                      + (f" (summed over {days} days)" if days > 1 else ""), hours,
                      cols + [("time", "time")])
            + _titled("Host/Domain Summary: SMTPD Connections", c["by_domain"],
                      cols + [("domain", "host/domain")]))


def _problems(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, title in PROBLEMS.items():
        out += _titled(title, r["problems"][key], [
            ("count", "count"), ("mta", "mta"), ("daemon", "daemon"), ("reason", "reason")])
    return out


def _content_filter(cf: dict[str, Any] | None) -> list[str]:
    """The content filter's verdicts, harmful mail from our own clients first after them."""
    out = _heading("Security: content filter")
    if cf is None:
        return out + ["  not logged (no amavis lines)"]
    out += [f"  {cf['lines']} verdicts for {cf['recipients']} recipients, {cf['blocked']} "
            f"blocked, {cf['from_ours']} from our own clients"]
    out += _below(cf["verdicts"], [("count", "verdicts"), ("recipients", "rcpts"),
                                   ("blocked", "blocked"), ("from_outside", "outside"),
                                   ("from_ours", "ours"), ("verdict", "verdict")])
    if cf["harmful_from_ours"]:
        out += ["", "  harmful mail from our own clients (compromised account or host?):"]
        out += _table(cf["harmful_from_ours"], [("count", "count"), ("verdict", "verdict"),
                                                ("client_ip", "client"), ("first", "first"),
                                                ("sender", "sender")])
    for key, col, title in (("viruses", "name", "viruses"), ("banned", "name", "banned parts"),
                              ("blocked_senders", "sender", "senders of blocked mail"),
                              ("blocked_clients", "client_ip", "clients of blocked mail")):
        out.append(f"  {title}: " + _listed(cf[key], col))
    return out


def _listed(rows: list[dict[str, Any]], key: str) -> str:
    """Counted names on one line: `postfix/smtpd 24, dovecot/imap-login 5`."""
    return _cell(", ".join(f"{r[key]} {r['count']}" for r in rows) or None)


def _in_clear(p: dict[str, Any]) -> list[str]:
    """Logins refused for coming without TLS, where there were any (a log without
    Dovecot's lines has none to tell) and their clients were asked for (`-h`)."""
    if not p["refusals"] or p["by_ip"] is None:
        return []
    return _heading("Security: logins refused in the clear (no TLS)") + [
        f"  {p['refusals']} refused from {p['clients']} clients"] + _below(
        p["by_ip"], [("count", "refusals"), ("distinct_sasl_username", "users"),
                     ("first", "first"), ("last", "last"), ("client_ip", "client"),
                     ("usernames", "usernames offered")],
        {"usernames": lambda names: _listed(names, "sasl_username")})


def _postscreen(ps: dict[str, Any]) -> list[str]:
    """postscreen's verdicts, where it gave any: an input without postscreen (Exim,
    Sendmail, a Postfix without it) has no such section, as the page has none."""
    if not (ps["verdicts"] or ps["blocklists"]):
        return []
    return _heading("Security: postscreen") + [
        "  verdicts: " + _counted(ps["verdicts"]),
        "  blocklists: " + _counted(ps["blocklists"])] + _below(
        ps["by_ip"], [("count", "caught"), ("verdicts", "verdicts"), ("first", "first"),
                      ("last", "last"), ("client_ip", "client")])


def _counted(counts: dict[str, int]) -> str:
    """Counts by name on one line: `TLSv1.3 25, TLSv1.2 22`."""
    return _cell(", ".join(f"{k} {v}" for k, v in counts.items()) or None)


def _because(why: str | None) -> str:
    return f" ({_cell(why)})" if why else ""


def _tls(tls: dict[str, Any]) -> list[str]:
    """TLS in and out, with what the log did not tell said apart: sessions none of whose
    lines showed their TLS (Exim's), deliveries of an MTA that logs none (Postfix's
    smtp_tls_loglevel 0)."""
    i, o = tls["inbound"], tls["outbound"]
    share = "-" if i["share"] is None else f"{100 * i['share']:.1f}%"
    known = i["sessions"] - i["tls_unknown_sessions"]
    sessions = (f"{i['tls_sessions']} of {known} SMTP sessions used TLS ({share}); "
                f"{i['plaintext_auth_sessions']} sessions tried AUTH without TLS"
                if i["sessions_logged"] else "SMTP sessions not logged")
    out = _heading("Security: TLS") + [
        f"  inbound: {sessions}; {i['tls_messages']} of {i['messages']} messages came over TLS"]
    if i["tls_unknown_sessions"]:
        tried = i["auth_tls_unknown_sessions"]
        out.append(f"    TLS not logged for {i['tls_unknown_sessions']} more sessions"
                   + (f", {tried} of which tried AUTH" if tried else "")
                   + _because(i["tls_unknown_because"]))
    out.append(_protocols(i))
    unlogged = o["unlogged_deliveries"]
    if unlogged and unlogged == o["smtp_deliveries"]:
        out.append(f"  outbound: TLS not logged for {unlogged} SMTP deliveries"
                   + _because(o["unlogged_because"]))
    else:
        out.append(f"  outbound: {o['tls_connections']} TLS connections for "
                   f"{o['smtp_deliveries']} SMTP deliveries"
                   + (f"; TLS not logged for {unlogged} of them" if unlogged else "")
                   + (_because(o["unlogged_because"]) if unlogged else ""))
    return out + [_protocols(o)]


def _protocols(way: dict[str, Any]) -> str:
    """A direction's TLS protocols, saying what each counts (a session, an Exim
    message, an outbound connection)."""
    per = f" (per {way['protocols_per']})" if way["protocols_per"] else ""
    return f"    protocols{per}: " + _counted(way["protocols"])


def _security(r: dict[str, Any]) -> list[str]:
    s = r["security"]
    auth, tls = s["auth"], s["tls"]
    out = _heading("Security: authentication failures") + [
        f"  {auth['failures']} failures ({auth['failures_without_username']} without a "
        f"username) from {auth['addresses']} addresses for {auth['usernames']} usernames, "
        f"{auth['successes']} logins",
        "  by service: " + _listed(auth["by_service"], "service")]
    out += _below(auth["by_ip"], [("count", "failures"), ("distinct_sasl_username", "users"),
                                  ("first", "first"), ("last", "last"),
                                  ("client_ip", "client")])
    out += _below(auth["by_username"], [("count", "failures"),
                                        ("distinct_client_ip", "clients"),
                                        ("first", "first"), ("last", "last"),
                                        ("sasl_username", "username")])
    out += _below(_hour_spans([h for h in auth["per_hour"] if h["failures"]], r),
                  [("failures", "failures"), ("time", "time")])
    out += _titled("Security: logins by username and client", auth["logins_by_username"], [
        ("logins", "logins"), ("messages", "msgs sent"), ("first", "first"), ("last", "last"),
        ("client_ip", "client"), ("sasl_username", "username")])
    out += _titled("Security: relay attempts", s["relay_attempts"], [
        ("count", "denials"), ("distinct_rcpt_domain", "domains"), ("first", "first"),
        ("last", "last"), ("client_ip", "client")])
    out += _in_clear(s["plaintext_refusals"])
    out += _postscreen(s["postscreen"])
    out += _content_filter(s["content_filter"])
    alerts = s["alerts"]
    out += _heading("Security: alerts over the period")
    if not alerts["ran"]:
        out.append("  rules not run (--no-alerts)")
    else:
        columns = [("first_seen", "first"), ("severity", "severity"), ("rule", "rule"),
                   ("summary", "summary")]
        out += _table(alerts["timeline"], columns)
        for key, title in (("open_relay", "Security: mail relayed for strangers (open relay)"),
                           ("unknown_sender", "Security: foreign senders through local "
                                              "accounts")):
            out += _heading(title) + _table(alerts[key], columns)
    out += _tls(tls)
    out += _titled("Security: top client addresses", s["top_clients"], [
        ("connections", "conns"), ("messages", "msgs"), ("rejects", "rejects"),
        ("auth_failures", "auth fail"), ("client_ip", "client")])
    return out


def _coverage(r: dict[str, Any]) -> list[str]:
    c = r["coverage"]
    out = _heading("Coverage: what this report read")
    for f in c["files"]:
        out.append(f"  {_cell(f['source'])}  {f['format'] or '?'}"
                   f"{', ' + f['compression'] if f['compression'] else ''}, {f['lines']} lines, "
                   f"{f['first'] or '-'} .. {f['last'] or '-'}")
        years = (f"years {f['years']} from {_cell(f['year_from'])}" if f["year_from"]
                 else "years as stamped")
        out.append(f"    sha256 {f['sha256'] or '-'}; {years}; "
                   f"{f['unknown_lines']} lines no parser knew")
        for g in f["gaps"]:
            out.append(f"    quiet {g['hours']} h: {g['from']} .. {g['to']}")
        out += [f"    warning: {_cell(w)}" for w in f["warnings"]]
    out += [f"  warning: {_cell(w)}" for w in c["warnings"]]
    for h in c["holes_between_files"]:
        out.append(f"  hole of {h['hours']} h between {_cell(h['after'])} and "
                   f"{_cell(h['before'])} ({h['from']} .. {h['to']}): a missing rotation?")
    out += [f"  {_missing(m)}" for m in c["missing_rotations"]]
    out += _below(c["unknown_shapes"], [("count", "lines"), ("daemon", "daemon"),
                                        ("shape", "unknown line shape")])
    out += [f"  error: {_cell(e)}" for e in c["errors"]]
    out += [f"  note: {_cell(n)}" for n in r["notes"]]
    return out


def _missing(m: Row) -> str:
    verb = "is" if m["count"] == 1 else "are"
    return (f"missing rotation: {_cell(missing_names(m))} (compressed or not) {verb} not "
            f"among the inputs read, between {_cell(m['after'])} and {_cell(m['before'])}")


def _mailq(q: dict[str, Any] | None) -> list[str]:
    """pflogsumm's --mailq: the queue as the MTA's `mailq` listed it, last; each line
    escaped (a queued sender is whatever a client typed)."""
    if q is None:
        return []
    out = _heading("Current Mail Queue") + [for_terminal(line)
                                            for line in q["output"].splitlines()]
    return out + ([f"  {for_terminal(q['error'])}"] if q["error"] else [])


def _without_empty(lines: list[str]) -> list[str]:
    """pflogsumm's -q: no heading over an empty table. An empty table is its heading's
    `none` (`_table`); both go, found in the laid-out lines so that no section has to
    know."""
    out: list[str] = []
    for line in lines:
        if line == _NONE and len(out) > 2 and out[-3] == "" \
                and out[-1] == "-" * len(out[-2]) != "":
            del out[-3:]
            continue
        out.append(line)
    return out


def render_text(r: dict[str, Any]) -> str:
    """The whole report; with problems_first, what went wrong comes before the traffic;
    with quiet, no heading of an empty table."""
    p = r["period"]
    span = "no mail lines" if p["empty"] else f"{p['first']} .. {p['last']}"
    note = empty_note(p, lambda t: t or "-")
    head = [f"mail-logwatch report: {span} (buckets in {p['timezone']})",
            *([note] if note else []), "MTAs: " + (mta_rows(p, str) or "none")]
    trouble = _details(r) + _problems(r) + _security(r)
    traffic = _traffic(r) + _domains(r) + _delays(r) + _users(r) + _connections(r)
    body = (trouble + traffic) if r["problems_first"] else (traffic + trouble)
    lines = head + _totals(r) + body + _coverage(r) + _mailq(r["mailq"])
    if r["quiet"]:
        lines = _without_empty(lines)
    # one blank line between parts, where a part left out (`-h 0`) left two
    return "\n".join(line for i, line in enumerate(lines)
                     if line or i == 0 or lines[i - 1]) + "\n"
