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
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from logwatch.report.collect import PROBLEMS
from logwatch.report.frames import Frames, domain_key, per_value
from logwatch.report.totals import client_keys, received_lines

__all__ = ["kind_stamps", "traffic_per_day", "traffic_per_hour", "delivery_domains",
           "delivery_transports", "receipt_domains", "top_users", "deferrals", "bounces",
           "reject_details", "reject_classes", "smtp_connections", "problems", "short_reason",
           "unsized", "connect_failures", "REASON_WIDTH", "SenderKey"]

_KINDS = ("received", "delivered", "deferred", "bounced", "rejected")
_REASON_NOISE = [
    # addresses, HELO names; not `<>`, which reads as the null sender
    (re.compile(r"<[^>]*>"), "<…>"),
    (re.compile(r"\[(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)\](:\d+)?"),
     "[ip]"),                                            # client and relay addresses
    (re.compile(r"\b[0-9A-Fa-f]{8,}\b"), "…"),           # queue ids, hashes
    (re.compile(r"\s+"), " "),
]


#: The characters a detail table's reason keeps (the rest is `…`), unless pflogsumm's
#: --verbose-msg-detail asks for whole reasons (None).
REASON_WIDTH = 100


def short_reason(reason: str | None, width: int | None = REASON_WIDTH) -> str:
    """A reason with what varies per line folded away, so that alike reasons group; cut
    to `width` characters (None: whole)."""
    if not isinstance(reason, str) or not reason:   # NaN from a categorical
        return "(none)"
    text = reason
    for rx, repl in _REASON_NOISE:
        text = rx.sub(repl, text)
    text = text.strip()
    return text if width is None or len(text) <= width else text[:width - 1] + "…"


def kind_stamps(f: Frames, sized: pd.DataFrame) -> dict[str, pd.Series]:
    """When each received, delivered, deferred, bounced and rejected line was written;
    "rejected" as pflogsumm's per-day and per-hour columns count it: refusals, reject
    warnings, holds and discards (the grand totals tell them apart)."""
    status = sized["status"]
    return {"received": received_lines(f), "delivered": sized.loc[status == "sent", "ts"],
            "deferred": sized.loc[status == "deferred", "ts"],
            "bounced": sized.loc[status == "bounced", "ts"], "rejected": f.rejects["ts"]}


def _day_counts(stamps: pd.Series) -> dict[str, int]:
    """Lines per calendar day of the stamps' zone (midnight found, then a few names)."""
    counts = stamps.dt.normalize().value_counts()
    return {d.strftime("%Y-%m-%d"): int(n) for d, n in counts.items()}


def traffic_per_day(stamps: dict[str, pd.Series],
                    span: tuple[date, date] | None = None) -> list[dict[str, Any]]:
    """Per calendar day of the site's zone (pflogsumm's Per-Day Traffic Summary): the
    days with traffic, and with `span` (--zero-fill) every day from its first to its
    last, a day without any a row of zeros rather than no row."""
    counts = {k: _day_counts(s) for k, s in stamps.items()}
    days = set().union(*counts.values())
    if span is not None:
        days |= {(span[0] + timedelta(n)).isoformat()
                 for n in range((span[1] - span[0]).days + 1)}
    return [{"day": d, **{k: counts[k].get(d, 0) for k in _KINDS}} for d in sorted(days)]


def traffic_per_hour(stamps: dict[str, pd.Series]) -> list[dict[str, Any]]:
    """Per hour of the day, summed over the days (pflogsumm's Per-Hour Summary)."""
    counts = {k: s.dt.hour.value_counts() for k, s in stamps.items()}
    return [{"hour": h, **{k: int(counts[k].get(h, 0)) for k in _KINDS}} for h in range(24)]


def _delay_stats(g: pd.core.groupby.DataFrameGroupBy) -> pd.DataFrame:
    return g.agg(sent=("sent", "sum"), bytes=("bytes", "sum"), deferred=("deferred", "sum"),
                 delay_sum=("sent_delay", "sum"), timed=("timed", "sum"),
                 max_delay=("delay", "max"))


def delivery_domains(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Host/Domain Summary: Message Delivery, by recipient domain, most mail first."""
    sent = (sized["status"] == "sent").to_numpy()
    deferred = (sized["status"] == "deferred").to_numpy()
    d = pd.DataFrame({
        "domain": per_value(sized["rcpt_key"], domain_key),
        "sent": sent.astype(int), "deferred": deferred.astype(int),
        "bytes": np.where(sent, sized["size"], 0),
        "sent_delay": np.where(sent, sized["delay"].fillna(0), 0.0),
        # Exim logs a delivery's delay only with +deliver_time (DT=): the average is over
        # the deliveries that said how long they took, and unknown when none did
        "timed": (sent & sized["delay"].notna()).astype(int),
        "delay": np.where(sent | deferred, sized["delay"], np.nan)})
    d = d[(sent | deferred) & d["domain"].notna()]
    out = _delay_stats(d.groupby("domain"))
    out = out.sort_values(["sent", "bytes"], ascending=False).head(limit)
    return [{"domain": dom, "sent": int(r.sent), "bytes": int(r.bytes),
             "deferred": int(r.deferred),
             # to the microsecond: a text rounding 0.95 (of 0.9525) again would say 0.9
             "avg_delay": round(r.delay_sum / r.timed, 6) if r.timed else None,
             "max_delay": None if pd.isna(r.max_delay) else round(float(r.max_delay), 2)}
            for dom, r in out.iterrows()]


def delivery_transports(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Deliveries by transport (eximstats' table, for every MTA): per transport, the
    recipients it delivered and their bytes, counted as the domain summary counts them
    (so that they add up to the totals), and its deferrals and bounces; most mail
    first. A null transport: the lines did not name one (Postfix's qmgr deferring for a
    transport it holds back, rsyslog's RFC 5424 APP-NAME cut before the daemon)."""
    status = sized["status"]
    sent, deferred, bounced = ((status == s).to_numpy() for s in ("sent", "deferred",
                                                                   "bounced"))
    d = pd.DataFrame({"transport": sized["transport"].astype("object"),
                      "sent": sent.astype(int), "bytes": np.where(sent, sized["size"], 0),
                      "deferred": deferred.astype(int), "bounced": bounced.astype(int)})
    g = d[sent | deferred | bounced].groupby("transport", dropna=False).sum()
    rows = [{"transport": None if pd.isna(t) else t, **{k: int(v) for k, v in r.items()}}
            for t, r in g.iterrows()]
    rows.sort(key=lambda r: (-r["sent"], -r["bytes"], -r["deferred"], -r["bounced"],
                             r["transport"] is None, r["transport"] or ""))
    return rows[:limit]


def receipt_domains(senders: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Host/Domain Summary: Messages Received, by sending domain (`received_keys`)."""
    r = senders.groupby("domain").agg(messages=("size", "size"), bytes=("size", "sum"))
    r = r.sort_values(["messages", "bytes"], ascending=False).head(limit)
    return [{"domain": d, "messages": int(x.messages), "bytes": int(x.bytes)}
            for d, x in r.iterrows()]


def _ranked(g: pd.DataFrame, by: str, limit: int | None) -> list[dict[str, Any]]:
    top = g.sort_values([by, "address"], ascending=[False, True]).head(limit)
    return [{"address": a, "messages": int(x.messages), "bytes": int(x.bytes)}
            for a, x in top.set_index("address").iterrows()]


def top_users(senders: pd.DataFrame, sized: pd.DataFrame,
              limit: int | None) -> dict[str, list[dict[str, Any]]]:
    """Senders and recipients by message count and by size (pflogsumm's -u)."""
    by_sender = senders.groupby("address", as_index=False).agg(messages=("size", "size"),
                                                              bytes=("size", "sum"))
    sent = sized[sized["status"] == "sent"]
    rcpts = sent.dropna(subset=["rcpt_key"]).groupby("rcpt_key", as_index=False).agg(
        messages=("size", "size"), bytes=("size", "sum")).rename(
        columns={"rcpt_key": "address"})
    return {"senders_by_count": _ranked(by_sender, "messages", limit),
            "senders_by_size": _ranked(by_sender, "bytes", limit),
            "recipients_by_count": _ranked(rcpts, "messages", limit),
            "recipients_by_size": _ranked(rcpts, "bytes", limit)}


def unsized(sized: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    """Messages with no size data (pflogsumm's): delivered, but the line that gives
    their size (Postfix's qmgr `from=`, Exim's `<=`, Sendmail's `from=`) is not in
    the log, so their bytes count as 0: a log that starts mid-message, or lines lost.
    Each with the last recipient delivered, by queue id."""
    rows = sized[(sized["status"] == "sent") & ~sized["sized"]]
    last = rows.groupby("queue_id", observed=True)["rcpt_key"].last().sort_index()
    return [{"queue_id": q, "recipient": None if pd.isna(r) else r}
            for q, r in last.head(limit).items()]


def _grouped(df: pd.DataFrame, keys: list[str], limit: int | None) -> list[dict[str, Any]]:
    if df.empty:
        return []
    g = df.groupby(keys, dropna=False, observed=True).size().reset_index(name="count")
    g = g.sort_values(["count", *keys], ascending=[False] + [True] * len(keys)).head(limit)
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} | {"count": int(row["count"])}
            for row in g.to_dict("records")]


def _with_reason(df: pd.DataFrame, cols: list[str], width: int | None) -> pd.DataFrame:
    out = df[cols].astype("object").copy()
    out["reason"] = per_value(df["reason"], lambda r: short_reason(r, width)).fillna("(none)")
    return out


def deferrals(sized: pd.DataFrame, limit: int | None,
              width: int | None = REASON_WIDTH) -> list[dict[str, Any]]:
    """Message Deferral Detail: by daemon and reason."""
    rows = sized[sized["status"] == "deferred"]
    return _grouped(_with_reason(rows, ["daemon"], width), ["daemon", "reason"], limit)


#: what the bounce detail lists: recipients bounced, and messages returned to their
#: sender when their time in the queue ran out (the totals' `expired`; pflogsumm lists
#: the first only)
_RETURNED = ("bounced", "expired")


def bounces(sized: pd.DataFrame, limit: int | None,
            width: int | None = REASON_WIDTH) -> list[dict[str, Any]]:
    """Message Bounce Detail: by relay and reason."""
    rows = sized[sized["status"].isin(_RETURNED)]
    return _grouped(_with_reason(rows, ["relay"], width), ["relay", "reason"], limit)


def connect_failures(f: Frames, limit: int | None,
                     width: int | None = REASON_WIDTH) -> list[dict[str, Any]]:
    """pflogsumm's smtp delivery failures: the next hops a delivery agent could not
    connect to, by daemon, host and reason. A deferral names the last host it tried;
    these are every one (both MX hosts of a domain down, a relay refusing on one
    address of two). pflogsumm 1.1.5 reads only an older Postfix's form (`connect to
    mx[ip]: Connection refused (port 25)`), and so lists none from a current Postfix."""
    c = f.connect_failures
    rows = _with_reason(c, ["daemon"], width)
    rows["relay"] = c["relay"].astype("object").where(c["relay"].fillna("") != "",
                                                      c["relay_ip"].astype("object"))
    return _grouped(rows, ["daemon", "relay", "reason"], limit)


#: Whom pflogsumm lists under a reject reason: the sender of a refused sender, the
#: recipient of a refused recipient (by class, or by Postfix's words for a refusal of
#: another class: `Sender address rejected: not owned by user`, greylisting's
#: `Recipient address rejected: ...`), else the client.
_REFUSED_ADDRESS = {"sender": ("unknown_sender", r"^Sender address rejected"),
                    "recipient": ("unknown_recipient",
                                  r"^(?:Recipient address rejected|User unknown)")}
_REFUSAL = ["daemon", "reject_class", "reject_code", "reason"]


def _refused_whom(rows: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Whom each refusal refused, and whether that is the sender itself."""
    whom = rows["client_ip"].astype("object")
    sender = np.zeros(len(rows), bool)
    for col, (cls, words) in _REFUSED_ADDRESS.items():
        said = per_value(rows["reason"], lambda r, w=words: re.match(w, r) is not None)
        theirs = ((rows["reject_class"] == cls).to_numpy() | said.fillna(False).to_numpy(bool)
                  ) & rows[col].notna().to_numpy()
        whom = whom.mask(theirs, rows[col].astype("object"))
        sender = np.where(theirs, col == "sender", sender)
    return whom.fillna("unknown"), sender


#: what pflogsumm's --rej-add-from adds no sender to: it names the client as logged
_PIPELINING = "Improper use of SMTP command pipelining"

#: The sender's address as --rej-add-from appends it (pflogsumm's `(from)`), `""` for
#: the null sender, None where the line names none.
SenderKey = Callable[[str], str | None]


def _appended_senders(rows: pd.DataFrame, of_sender: np.ndarray,
                      key: SenderKey) -> tuple[np.ndarray, np.ndarray]:
    """pflogsumm's --rej-add-from: whether a sender goes beside each client or recipient
    refused (a refused sender is listed by its own address already; not under
    pipelining), and which (NaN: not appended, or the line named none)."""
    senders = per_value(rows["sender"], key).to_numpy()
    pipelining = per_value(rows["reason"], lambda r: _PIPELINING in r).fillna(False)
    appended = ~of_sender & ~pipelining.to_numpy(bool)
    return appended, np.where(appended & pd.notna(senders), senders, np.nan)


def _refusals(rows: pd.DataFrame, limit: int | None, width: int | None,
              add_from: SenderKey | None) -> list[dict[str, Any]]:
    """Refusals by daemon, class, reply code and reason, each with whom it refused
    (`whom`, most first, and how many in all): pflogsumm's second level, the harvested
    addresses under `User unknown`, the prober under `Relay access denied`; with
    `add_from` (--rej-add-from), the sender beside each client or recipient."""
    detail = _with_reason(rows, _REFUSAL[:-1], width)
    detail["group"] = detail.groupby(_REFUSAL, dropna=False, observed=True,
                                     sort=False).ngroup().to_numpy()
    party, of_sender = _refused_whom(rows)
    detail["whom"] = party.to_numpy()
    keys = ["group", "whom"]
    if add_from is not None:
        detail["appended"], detail["sender"] = _appended_senders(rows, of_sender, add_from)
        keys += ["appended", "sender"]
    counted = (detail.groupby(keys, dropna=False).size().rename("count").reset_index()
               .sort_values(["group", "count", *keys[1:]],
                            ascending=[True, False, *(True for _ in keys[1:])]))
    whom = {g: (len(t), [_whom_entry(r) for r in t.to_dict("records")][:limit])
            for g, t in counted.groupby("group")}
    out = []
    for row in _grouped(detail.drop(columns=keys[1:]), _REFUSAL + ["group"], limit):
        distinct, top = whom[row.pop("group")]
        code = row["reject_code"]       # grouped as a float
        out.append(row | {"reject_code": None if code is None else int(code),
                          "whom": top, "whom_distinct": distinct})
    return out


def _whom_entry(counted: dict[str, Any]) -> dict[str, Any]:
    """One of whom a refusal refused, with the sender --rej-add-from appends (None: the
    line named none, which pflogsumm shows as `<>`, as it shows the null sender)."""
    entry = {"value": counted["whom"], "count": int(counted["count"])}
    if counted.get("appended"):
        entry["sender"] = None if pd.isna(counted["sender"]) else counted["sender"]
    return entry


def reject_details(f: Frames, limit: int | None, width: int | None = REASON_WIDTH,
                   add_from: SenderKey | None = None) -> dict[str, list[dict[str, Any]]]:
    """Reject, reject warning, hold and discard details: by daemon, class, reply code
    (a 4xx refusal is temporary: greylisting, a rate limit, a lookup that failed; the
    client will come back) and reason, with whom each refused."""
    r = f.rejects
    return {name: _refusals(r[r["event"] == event], limit, width, add_from)
            for name, event in (("rejects", "reject"), ("reject_warnings", "reject_warning"),
                                ("held", "hold"), ("discarded", "discard"))}


def reject_classes(f: Frames) -> list[dict[str, Any]]:
    """Every reject by class (RBL, client, helo, sender, recipient, ...), counted over all
    rejects rather than the top reasons listed: the chart's figures, and a JSON reader's."""
    r = f.rejects[f.rejects["event"] == "reject"]
    classes = r["reject_class"].astype("object").fillna("unclassified")
    return _grouped(pd.DataFrame({"reject_class": classes}), ["reject_class"], None)


#: how long before a process's first line the daemon's connect line may be its own
_FORK_SLACK = pd.Timedelta(minutes=5)


def _connected_at(spans: pd.DataFrame, connects: pd.DataFrame) -> pd.DataFrame:
    """Spans that logged no connect line of their own start at the latest connect line
    from their client before them: Exim with `[pid]` logs the connection under the
    daemon's pid, and its process's first line may come long after (a client that
    says nothing until the timeout has the close as its first line)."""
    spans = spans.copy()
    alone = spans[~spans["connected"] & spans["client_ip"].notna()]
    if alone.empty or connects.empty:
        return spans
    left = pd.DataFrame({"start": alone["start"], "client_ip": alone["client_ip"].astype(str),
                         "row": alone.index}).sort_values("start", kind="stable")
    right = pd.DataFrame({"at": connects["ts"].to_numpy(),
                          "client_ip": connects["client_ip"].astype(str).to_numpy()}
                         ).dropna().sort_values("at", kind="stable")
    right["at"] = right["at"].dt.tz_convert(left["start"].dt.tz)
    found = pd.merge_asof(left, right, left_on="start", right_on="at", by="client_ip",
                          direction="backward", tolerance=_FORK_SLACK).dropna(subset=["at"])
    spans.loc[found["row"].to_numpy(), "start"] = found["at"].to_numpy()
    return spans


def _times(total: float, timed: int, longest: float) -> dict[str, float | None]:
    """The length of the sessions seen to close: unknown (None), not 0, where none was."""
    if not timed:
        return {"total_seconds": None, "avg_seconds": None, "max_seconds": None}
    total = float(total)
    return {"total_seconds": round(total, 1), "avg_seconds": round(total / timed, 1),
            "max_seconds": round(float(longest), 1)}


def smtp_connections(f: Frames, limit: int | None) -> dict[str, Any]:
    """SMTP connection statistics (pflogsumm's --smtpd-stats): SMTP sessions (not
    postscreen's screening), their number and length per day, hour and client domain.
    A session counts at its close, as pflogsumm counts it (one the input's end cut off
    does not), or where its MTA logs no close (Sendmail: a session is its process) at
    its connect line; its length is then unknown and left out of the times, which are
    of the `timed` sessions. A session starts at its connect line, or where an MTA
    logs none (Exim with `[pid]`: the daemon logs it under its own pid), at the first
    line of the process that served the connection."""
    s = f.sessions
    # connect lines seen (a session's own or the daemon's), or nothing came over SMTP
    logged = bool(s["connected"].any() or len(f.connects)
                  or not (f.messages["origin"] == "smtp").any())
    counted = s["closed"] | (s["connected"] & ~s["closes"])
    spans = _connected_at(s[(s["daemon"] != "postscreen") & counted], f.connects)
    if spans.empty or not logged:
        return {"logged": logged, "connections": 0, "timed": 0, "hosts": 0,
                "total_seconds": 0.0, "avg_seconds": None, "max_seconds": None,
                "per_day": [], "per_hour": [], "by_domain": []}
    spans["seconds"] = (spans["end"] - spans["start"]).dt.total_seconds().where(
        spans["closed"])
    spans["domain"] = client_keys(spans["client_name"], spans["client_ip"])
    at = spans["end"].where(spans["closed"], spans["start"])

    def per(key: pd.Series, name: str) -> list[dict[str, Any]]:
        g = spans.groupby(key).agg(connections=("seconds", "size"), timed=("seconds", "count"),
                                   total_seconds=("seconds", "sum"),
                                   max_seconds=("seconds", "max"))
        return [{name: k, "connections": int(r.connections),
                 **_times(r.total_seconds, r.timed, r.max_seconds)} for k, r in g.iterrows()]

    by_domain = sorted(per(spans["domain"], "domain"),
                       key=lambda r: (-r["connections"], str(r["domain"])))
    timed = int(spans["seconds"].count())
    return {"logged": True, "connections": int(len(spans)), "timed": timed,
            "hosts": len(by_domain),
            **_times(spans["seconds"].sum(), timed, spans["seconds"].max()),
            "per_day": per(at.dt.strftime("%Y-%m-%d"), "day"),
            "per_hour": per(at.dt.hour, "hour"),
            "by_domain": by_domain[:limit]}


def problems(f: Frames, limits: dict[str, int | None],
             width: int | None = REASON_WIDTH) -> dict[str, list[dict[str, Any]]]:
    """Warnings, errors, fatal errors and panics, by daemon and reason; `limits` by
    kind."""
    p = f.problems
    return {name: _grouped(_with_reason(p[p["event"] == name], ["mta", "daemon"], width),
                           ["mta", "daemon", "reason"], limits[name])
            for name in PROBLEMS}
