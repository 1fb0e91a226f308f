"""pflogsumm's sections beyond the grand totals: traffic per day and hour, host/domain
summaries, top senders and recipients, deferral, bounce and reject details, SMTP
connection statistics, and warnings, fatal errors and panics.

Everything is counted the way `totals` counts it (line-based, as pflogsumm does), so
the sections add up to the totals. Reasons are grouped after removing what differs
from line to line (addresses, client names, numbers in brackets), as pflogsumm's
trimmers do, or a thousand rejects of one kind would be a thousand groups.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from logwatch.report.frames import Frames, address_key, domain_key, per_value
from logwatch.report.totals import client_domain, received_keys

__all__ = ["traffic_per_day", "traffic_per_hour", "delivery_domains", "receipt_domains",
           "top_users", "deferrals", "bounces", "reject_details", "smtp_connections",
           "problems", "short_reason"]

_KINDS = ("received", "delivered", "deferred", "bounced", "rejected")
_REASON_NOISE = [
    (re.compile(r"<[^>]*>"), "<>"),                      # addresses, HELO names
    (re.compile(r"\[(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)\](:\d+)?"),
     "[ip]"),                                            # client and relay addresses
    (re.compile(r"\b[0-9A-Fa-f]{8,}\b"), "…"),           # queue ids, hashes
    (re.compile(r"\s+"), " "),
]


def short_reason(reason: str | None, limit: int = 100) -> str:
    """A reason with what varies per line folded away, so that alike reasons group."""
    if not isinstance(reason, str) or not reason:   # NaN from a categorical
        return "(none)"
    text = reason
    for rx, repl in _REASON_NOISE:
        text = rx.sub(repl, text)
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _kind_stamps(f: Frames, sized: pd.DataFrame) -> dict[str, pd.Series]:
    status = sized["status"].astype("string")
    rejected = f.rejects[f.rejects["event"].astype("string") == "reject"]
    return {"received": f.received["ts"], "delivered": sized.loc[status == "sent", "ts"],
            "deferred": sized.loc[status == "deferred", "ts"],
            "bounced": sized.loc[status == "bounced", "ts"], "rejected": rejected["ts"]}


def traffic_per_day(f: Frames, sized: pd.DataFrame) -> list[dict[str, Any]]:
    """Per calendar day of the site's zone (pflogsumm's Per-Day Traffic Summary)."""
    counts = {k: s.dt.strftime("%Y-%m-%d").value_counts() for k, s in
              _kind_stamps(f, sized).items()}
    days = sorted(set().union(*[c.index for c in counts.values()]))
    return [{"day": d, **{k: int(counts[k].get(d, 0)) for k in _KINDS}} for d in days]


def traffic_per_hour(f: Frames, sized: pd.DataFrame) -> list[dict[str, Any]]:
    """Per hour of the day, summed over the days (pflogsumm's Per-Hour Summary)."""
    counts = {k: s.dt.hour.value_counts() for k, s in _kind_stamps(f, sized).items()}
    return [{"hour": h, **{k: int(counts[k].get(h, 0)) for k in _KINDS}} for h in range(24)]


def _delay_stats(g: pd.core.groupby.DataFrameGroupBy) -> pd.DataFrame:
    return g.agg(sent=("sent", "sum"), bytes=("bytes", "sum"), deferred=("deferred", "sum"),
                 delay_sum=("sent_delay", "sum"), max_delay=("delay", "max"))


def delivery_domains(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Host/Domain Summary: Message Delivery, by recipient domain, most mail first."""
    status = sized["status"].astype("string")
    sent = (status == "sent").fillna(False)
    deferred = (status == "deferred").fillna(False)
    d = pd.DataFrame({
        "domain": per_value(sized["recipient"], domain_key),
        "sent": sent.astype(int), "deferred": deferred.astype(int),
        "bytes": np.where(sent, sized["size"], 0),
        "sent_delay": np.where(sent, sized["delay"].fillna(0), 0.0),
        "delay": np.where(sent | deferred, sized["delay"], np.nan)})
    d = d[(sent | deferred) & d["domain"].notna()]
    out = _delay_stats(d.groupby("domain"))
    out = out.sort_values(["sent", "bytes"], ascending=False).head(limit)
    return [{"domain": dom, "sent": int(r.sent), "bytes": int(r.bytes),
             "deferred": int(r.deferred),
             "avg_delay": round(r.delay_sum / r.sent, 2) if r.sent else None,
             "max_delay": None if pd.isna(r.max_delay) else round(float(r.max_delay), 2)}
            for dom, r in out.iterrows()]


def receipt_domains(f: Frames, limit: int | None, verp: int = 0) -> list[dict[str, Any]]:
    """Host/Domain Summary: Messages Received, by sending domain."""
    r = received_keys(f, False, verp).groupby("domain").agg(messages=("size", "size"),
                                                      bytes=("size", "sum"))
    r = r.sort_values(["messages", "bytes"], ascending=False).head(limit)
    return [{"domain": d, "messages": int(x.messages), "bytes": int(x.bytes)}
            for d, x in r.iterrows()]


def _ranked(g: pd.DataFrame, by: str, limit: int | None) -> list[dict[str, Any]]:
    top = g.sort_values([by, "address"], ascending=[False, True]).head(limit)
    return [{"address": a, "messages": int(x.messages), "bytes": int(x.bytes)}
            for a, x in top.set_index("address").iterrows()]


def top_users(f: Frames, sized: pd.DataFrame, limit: int | None,
              verp: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Senders and recipients by message count and by size (pflogsumm's -u)."""
    senders = received_keys(f, False, verp).groupby("address", as_index=False).agg(
        messages=("size", "size"), bytes=("size", "sum"))
    sent = sized[(sized["status"].astype("string") == "sent").fillna(False)]
    rcpt = pd.DataFrame({"address": per_value(sent["recipient"], lambda a: address_key(a, verp)),
                         "size": sent["size"]}).dropna(subset=["address"])
    rcpts = rcpt.groupby("address", as_index=False).agg(messages=("size", "size"),
                                                        bytes=("size", "sum"))
    return {"senders_by_count": _ranked(senders, "messages", limit),
            "senders_by_size": _ranked(senders, "bytes", limit),
            "recipients_by_count": _ranked(rcpts, "messages", limit),
            "recipients_by_size": _ranked(rcpts, "bytes", limit)}


def _grouped(df: pd.DataFrame, keys: list[str], limit: int | None) -> list[dict[str, Any]]:
    if df.empty:
        return []
    g = df.groupby(keys, dropna=False, observed=True).size().reset_index(name="count")
    g = g.sort_values(["count", *keys], ascending=[False] + [True] * len(keys)).head(limit)
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} | {"count": int(row["count"])}
            for row in g.to_dict("records")]


def _with_reason(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df[cols].astype("object").copy()
    out["reason"] = per_value(df["reason"], short_reason).fillna("(none)")
    return out


def deferrals(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Message Deferral Detail: by daemon and reason."""
    rows = sized[(sized["status"].astype("string") == "deferred").fillna(False)]
    return _grouped(_with_reason(rows, ["daemon"]), ["daemon", "reason"], limit)


def bounces(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Message Bounce Detail: by relay and reason."""
    rows = sized[(sized["status"].astype("string") == "bounced").fillna(False)]
    return _grouped(_with_reason(rows, ["relay"]), ["relay", "reason"], limit)


def reject_details(f: Frames, limit: int | None) -> dict[str, list[dict[str, Any]]]:
    """Reject, reject warning, hold and discard details: by daemon, class and reason."""
    r = f.rejects
    out = {}
    for name, events in (("rejects", ("reject",)), ("reject_warnings", ("reject_warning",
                                                                         "warning")),
                         ("held", ("hold",)), ("discarded", ("discard",))):
        rows = r[r["event"].astype("string").isin(events)]
        out[name] = _grouped(_with_reason(rows, ["daemon", "reject_class"]),
                             ["daemon", "reject_class", "reason"], limit)
    return out


def smtp_connections(f: Frames, limit: int | None) -> dict[str, Any]:
    """SMTP connection statistics (pflogsumm's --smtpd-stats): sessions from connect to
    disconnect, their number and length per day, hour and client domain."""
    s = f.sessions
    s = s[s["daemon"].astype("string") == "smtpd"]
    if s.empty:
        return {"connections": 0, "total_seconds": 0.0, "avg_seconds": None,
                "max_seconds": None, "per_day": [], "per_hour": [], "by_domain": []}
    ev = s["event"].astype("string")
    spans = s.assign(connect=ev == "connect", disconnect=ev == "disconnect").groupby(
        "session", observed=True).agg(start=("ts", "min"), end=("ts", "max"),
                                      connected=("connect", "any"),
                                      closed=("disconnect", "any"),
                                      client=("client_name", "first"),
                                      ip=("client_ip", "first"))
    spans = spans[spans["connected"] & spans["closed"]]
    spans["seconds"] = (spans["end"] - spans["start"]).dt.total_seconds()
    named = per_value(spans["client"], lambda c: None if c == "unknown" else client_domain(c))
    spans["domain"] = named.where(named.notna(), spans["ip"].astype("object"))

    def per(key: pd.Series, name: str) -> list[dict[str, Any]]:
        g = spans.groupby(key).agg(connections=("seconds", "size"),
                                   total_seconds=("seconds", "sum"),
                                   max_seconds=("seconds", "max"))
        g["avg_seconds"] = g["total_seconds"] / g["connections"]
        return [{name: k, "connections": int(r.connections),
                 "total_seconds": round(float(r.total_seconds), 1),
                 "avg_seconds": round(float(r.avg_seconds), 1),
                 "max_seconds": round(float(r.max_seconds), 1)} for k, r in g.iterrows()]

    by_domain = sorted(per(spans["domain"], "domain"),
                       key=lambda r: (-r["connections"], str(r["domain"])))[:limit]
    return {"connections": int(len(spans)),
            "total_seconds": round(float(spans["seconds"].sum()), 1),
            "avg_seconds": round(float(spans["seconds"].mean()), 1) if len(spans) else None,
            "max_seconds": round(float(spans["seconds"].max()), 1) if len(spans) else None,
            "per_day": per(spans["end"].dt.strftime("%Y-%m-%d"), "day"),
            "per_hour": per(spans["end"].dt.hour, "hour"),
            "by_domain": by_domain}


def problems(f: Frames, limit: int | None) -> dict[str, list[dict[str, Any]]]:
    """Warnings, errors, fatal errors and panics, by daemon and reason."""
    p = f.problems
    ev = p["event"].astype("string")
    return {name: _grouped(_with_reason(p[ev == name], ["mta", "daemon"]),
                           ["mta", "daemon", "reason"], limit)
            for name in ("warning", "error", "fatal", "panic")}
