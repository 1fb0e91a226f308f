"""The security view none of the peers has: who tried passwords, who probed for a relay,
what got out, and what the rules raised (how much of the traffic was encrypted: `tls`).

Auth failures are the events the credential rules count (a session's SASL warning and
its `auth=0/1` counter are already one failure, and an AUTH the client left unfinished
is none), so these tables agree with `detect`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.report.collect import iso
from logwatch.report.frames import Frames, domain_key, per_value
from logwatch.columns import plain

__all__ = ["auth_view", "relay_attempts", "relay_totals", "plaintext_refusals",
           "postscreen_view", "content_filter_view", "top_clients", "alert_view",
           "shares", "THIS_HOST"]


def _iso(ts: pd.Timestamp) -> str:
    return iso(ts.value // 1000)


def _by(df: pd.DataFrame, key: str, other: str, limit: int | None,
        name: str) -> list[dict[str, Any]]:
    """Rows by `key` (each weighs its `weight`, where there is one), the top `limit`."""
    if df.empty:
        return []
    count = ("weight", "sum") if "weight" in df.columns else ("ts", "size")
    g = df.groupby(key, observed=True).agg(count=count, first=("ts", "min"),
                                           last=("ts", "max"),
                                           distinct=(other, "nunique"))
    g = g.sort_values(["count"], ascending=False, kind="stable").head(limit)
    return [{name: k, "count": int(r["count"]), f"distinct_{other}": int(r["distinct"]),
             "first": _iso(r["first"]), "last": _iso(r["last"])} for k, r in g.iterrows()]


def _connection_of(a: pd.DataFrame) -> pd.Series:
    """Each auth row's connection: its session, else its client's process (Exim without
    connection logging forks one per connection), else NaN."""
    return a["session"].astype("object").where(
        a["session"].notna(),
        a["client_ip"].astype("string") + " " + a["pid"].astype("Int64").astype("string"))


def _logins_by_user(f: Frames, conn: pd.Series, limit: int | None) -> list[dict[str, Any]]:
    """Who logged in from where (logwatch's "SASL authenticated messages"): per username
    and client address, the connections that logged in (a success line: Sendmail's
    AUTH=server, Dovecot's Login) or sent as the user, and the messages they sent over
    SMTP. Postfix and Exim name the user only on what it sends: a login that sent
    nothing is counted in the logins but has no name to list. A login from an address
    a user never used is worth a look even where no rule fires (the credential rules
    skip trusted networks). `conn`: each auth row's connection (`_connection_of`)."""
    a, m = f.auth, f.messages
    ev = a["event"]
    named = a[((ev == "auth_success") | (ev == "received")) & a["sasl_username"].notna()]
    if named.empty:
        return []
    key = ["sasl_username", "client_ip"]
    rows = pd.DataFrame({"sasl_username": named["sasl_username"].astype("object"),
                         "client_ip": named["client_ip"].astype("object"),
                         # a row with neither session nor process is a login of its own
                         "conn": conn[named.index].fillna(pd.Series(
                             named.index.astype(str), index=named.index)),
                         "ts": named["ts"]})
    g = rows.groupby(key, dropna=False, sort=False).agg(
        logins=("conn", "nunique"), first=("ts", "min"), last=("ts", "max"))
    sent = m[m["sasl_username"].notna() & (m["origin"] == "smtp")]
    g["messages"] = sent[key].astype("object").groupby(key, dropna=False).size() \
        .reindex(g.index, fill_value=0)
    g = g.reset_index()
    g = g.sort_values(["logins", "messages", "sasl_username"], ascending=[False, False, True],
                      kind="stable").head(limit)
    return [{"sasl_username": r.sasl_username,
             "client_ip": None if pd.isna(r.client_ip) else r.client_ip,
             "logins": int(r.logins), "messages": int(r.messages), "first": _iso(r.first),
             "last": _iso(r.last)} for r in g.itertuples()]


def _logins(a: pd.DataFrame, conn: pd.Series) -> int:
    """Successful AUTHs. Sendmail logs each (`AUTH=server`); Postfix and Exim log the
    user on every message sent after it, and count AUTHs at the disconnect. So per
    session: the most of its counter, its success lines, and one if it sent as a user.
    Without a session (Exim logs no connection by default), the client's process stands
    for it, as it does for the rules (Exim forks one per connection); lines with
    neither count one each. `conn`: each row's connection (`_connection_of`)."""
    ev = a["event"]
    said = (ev == "auth_success") | ((ev == "received") & a["sasl_username"].notna())
    loose = said & conn.isna()
    per_conn = pd.DataFrame({
        "lines": conn[said & (ev == "auth_success")].value_counts(),
        "sent": conn[said & (ev == "received")].value_counts().clip(upper=1),
        "counted": a["auth_ok"][ev == "disconnect"].groupby(conn).max(),
    }).fillna(0)
    return int(loose.sum() + per_conn.max(axis=1).sum())


def auth_view(f: Frames, limit: int | None) -> dict[str, Any]:
    """Auth failures by client address and by username, per hour, and the logins."""
    a = f.auth
    conn = _connection_of(a)     # one key per row, for both counts of logins
    fail = f.failures
    per_hour = fail.groupby(fail["ts"].dt.hour)["weight"].sum()
    return {
        "failures": int(fail["weight"].sum()), "successes": _logins(a, conn),
        "failures_without_username": int(fail.loc[fail["sasl_username"].isna(),
                                                  "weight"].sum()),
        # the lists below stop at the top N: how many there were in all
        "addresses": int(fail["client_ip"].nunique()),
        "usernames": int(fail["sasl_username"].nunique()),
        "by_ip": _by(fail, "client_ip", "sasl_username", limit, "client_ip"),
        "by_username": _by(fail, "sasl_username", "client_ip", limit, "sasl_username"),
        "per_hour": [{"hour": h, "failures": int(per_hour.get(h, 0))} for h in range(24)],
        "by_service": _by_service(fail),
        "logins_by_username": _logins_by_user(f, conn, limit),
    }


def _by_service(fail: pd.DataFrame) -> list[dict[str, Any]]:
    """Failures per program that refused them (`postfix/smtpd`, `dovecot/imap-login`):
    SMTP submission and IMAP are guessed at by different botnets, and closed by
    different settings."""
    service = fail["mta"].astype("object") + "/" + fail["daemon"].astype("object")
    counts = fail["weight"].groupby(service).sum()
    return [{"service": name, "count": int(n)}
            for name, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))]


def _relay_denials(f: Frames) -> pd.DataFrame:
    return f.rejects[f.rejects["reject_class"] == "relay_denied"]


def relay_attempts(f: Frames, limit: int | None) -> list[dict[str, Any]]:
    """Relay denials by client: the probes an open-relay test makes."""
    r = _relay_denials(f)
    r = r.assign(rcpt_domain=per_value(r["recipient"], domain_key))
    return _by(r, "client_ip", "rcpt_domain", limit, "client_ip")


def relay_totals(f: Frames) -> dict[str, int]:
    """All relay denials and their clients (`relay_attempts` lists the top N)."""
    r = _relay_denials(f)
    return {"attempts": int(len(r)), "clients": int(r["client_ip"].nunique())}


#: the usernames a client's row names at most (a scanner may try a dictionary of them;
#: `distinct_sasl_username` says how many there were)
_NAMES = 5


def plaintext_refusals(f: Frames, limit: int | None) -> dict[str, Any]:
    """Logins refused because they were offered in the clear where only TLS may carry a
    password (Dovecot's disable_plaintext_auth), by client: no password was judged, so
    they are no auth failures, but the client sends its password unencrypted (a mail
    client set up so, which a user sees fail) or probes whether it may. With the
    usernames it offered, most offered first, where the lines name them (IMAP LOGIN and
    POP3 PASS do; an AUTH PLAIN refused so names none)."""
    rows = f.in_clear
    by_ip = _by(rows, "client_ip", "sasl_username", limit, "client_ip")
    named = rows[rows["sasl_username"].notna()
                 & rows["client_ip"].isin([r["client_ip"] for r in by_ip])]
    names = {ip: _top_of(v, "sasl_username", _NAMES) for ip, v in
             named["sasl_username"].astype("object").groupby(named["client_ip"], observed=True)}
    return {"refusals": len(rows), "clients": int(rows["client_ip"].nunique()),
            "by_ip": [r | {"usernames": names.get(r["client_ip"], [])} for r in by_ip]}


#: postscreen's verdicts against a client (PASS and the allow lists let it through)
_CAUGHT = ("PREGREET", "DNSBL", "HANGUP", "BLACKLISTED", "DENYLISTED")
#: postscreen's verdicts that hand the connection on to smtpd
_HANDED_ON = ("PASS NEW", "PASS OLD", "WHITELISTED", "ALLOWLISTED")


def _verdicts(screen: pd.DataFrame) -> pd.Series:
    """postscreen's verdict per row, `DNSBL rank 3` counted as DNSBL."""
    return screen["reason"].astype("object").str.replace(r"^DNSBL rank \d+$", "DNSBL",
                                                         regex=True)


def postscreen_view(f: Frames, limit: int | None) -> dict[str, Any]:
    """What postscreen decided before smtpd saw a client: its verdicts by kind, the
    clients it caught most and how, and the blocklists dnsblog found them on. A client
    postscreen keeps out is otherwise only a count of connections (pflogsumm shows
    none of it)."""
    s = f.screen
    ps = s[s["daemon"] == "postscreen"].assign(verdict=lambda d: _verdicts(d))
    caught = ps[ps["verdict"].isin(_CAUGHT)]
    by_ip = []
    if not caught.empty:
        g = caught.groupby("client_ip", observed=True).agg(
            count=("ts", "size"), first=("ts", "min"), last=("ts", "max"),
            verdicts=("verdict", lambda v: ", ".join(sorted(set(v)))))
        g = g.sort_values("count", ascending=False, kind="stable").head(limit)
        by_ip = [{"client_ip": ip, "count": int(r["count"]), "verdicts": r["verdicts"],
                  "first": _iso(r["first"]), "last": _iso(r["last"])}
                 for ip, r in g.iterrows()]
    listed = s.loc[s["daemon"] == "dnsblog", "reason"]
    return {"verdicts": shares(pa.array(ps["verdict"], pa.string())), "by_ip": by_ip,
            "blocklists": shares(pa.array(listed.astype("object"), pa.string()))}


#: amavis's verdicts that say something is wrong with the content (CLEAN and the
#: unchecked and oversized ones do not)
_HARMFUL = ("INFECTED", "BANNED", "SPAM")
#: amavis's action names that end in these directions are from our own clients
#: (`originating`: @mynetworks or the ORIGINATING policy bank of a submission port)
_OURS = r"(?:Outbound|Internal)\b"


def _named_parts(verdicts: pd.Series, kind: str) -> pd.Series:
    """The names in the parentheses of `kind` verdicts (`INFECTED (a,b)`): viruses, or a
    banned part's type and name, one per value."""
    inner = verdicts[verdicts.str.startswith(f"{kind} (")].str.slice(len(kind) + 2, -1)
    return inner.str.split(",").explode().str.strip().loc[lambda s: s != ""]


def _top_of(values: pd.Series, key: str, limit: int | None) -> list[dict[str, Any]]:
    counts = values.value_counts(sort=True).head(limit)
    return [{key: k, "count": int(n)} for k, n in counts.items()]


def content_filter_view(f: Frames, limit: int | None) -> dict[str, Any] | None:
    """What the content filter (amavis) found: verdicts by kind and direction, the
    viruses and banned parts, who sent the blocked mail, and mail from our own clients
    found harmful (a compromised account or host: what is worth acting on first).

    A verdict line is one verdict for the recipients it names: the figures count lines
    (the verdicts), and recipients beside them. None where the log has no verdict line
    (no content filter, or one that logs none): not logged, not zero."""
    rows = f.filtered
    if rows.empty:
        return None
    rows = rows.assign(kind=rows["reason"].astype("object").str.replace(
        r"^(BAD-HEADER)-\d+$|^(\S+) \(.*$", lambda m: m.group(1) or m.group(2), regex=True),
        ours=rows["actions"].astype("object").fillna("").str.contains(_OURS, regex=True))
    lines = rows.drop_duplicates(["source", "seq"])
    verdicts = []
    for kind, g in lines.groupby("kind", sort=False):
        verdicts.append({
            "verdict": kind, "count": len(g),
            "recipients": int((rows["kind"] == kind).sum()),
            "blocked": int((g["disposition"] == "Blocked").sum()),
            "from_outside": int((~g["ours"]).sum()), "from_ours": int(g["ours"].sum())})
    verdicts.sort(key=lambda v: (-v["count"], v["verdict"]))
    reason = lines["reason"].astype("object")
    blocked = lines[lines["disposition"] == "Blocked"]
    alarming = lines[lines["ours"] & lines["kind"].isin(_HARMFUL)]
    ours = []
    if not alarming.empty:
        g = alarming.groupby(["sender", "client_ip", "kind"], dropna=False, sort=False).agg(
            count=("ts", "size"), first=("ts", "min"), last=("ts", "max"))
        g = g.sort_values("count", ascending=False, kind="stable").head(limit)
        ours = [{"sender": s, "client_ip": None if pd.isna(ip) else ip, "verdict": k,
                 "count": int(r["count"]), "first": _iso(r["first"]), "last": _iso(r["last"])}
                for (s, ip, k), r in g.iterrows()]
    return {
        "verdicts": verdicts, "lines": len(lines), "recipients": len(rows),
        "blocked": len(blocked), "from_ours": int(lines["ours"].sum()),
        "viruses": _top_of(_named_parts(reason, "INFECTED"), "name", limit),
        "banned": _top_of(_named_parts(reason, "BANNED"), "name", limit),
        "blocked_senders": _top_of(blocked["sender"].astype("object").fillna("<>"),
                                   "sender", limit),
        "blocked_clients": _top_of(blocked["client_ip"].astype("object").dropna(),
                                   "client_ip", limit),
        "harmful_from_ours": ours,
    }


def shares(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Occurrences of each value, most first (then by name, for a stable report)."""
    counts = pc.value_counts(plain(values).drop_null()).to_pylist()
    return {c["values"]: c["counts"] for c in sorted(counts, key=lambda c: (-c["counts"],
                                                                          c["values"]))}


#: the addresses a host's own programs connect from
THIS_HOST = ["127.0.0.1", "::1"]


def top_clients(f: Frames, limit: int | None) -> tuple[list[dict[str, Any]], int]:
    """Client addresses by activity (connections, messages, rejects, auth failures),
    the top `limit`, and how many there were. Not the host's own (a content filter's
    re-injection from 127.0.0.1 is no client: it topped every filtering server's list)."""
    s = f.sessions
    # connect lines (a session's own, or with Exim's [pid] the daemon's), less the
    # connections postscreen handed on to smtpd, whose session has its own connect line
    screened = f.screen[(f.screen["daemon"] == "postscreen")]
    passed = screened.loc[_verdicts(screened).isin(_HANDED_ON), "client_ip"]
    connects = pd.concat([s.loc[s["connected"], "client_ip"].astype("object"),
                          f.connects["client_ip"].astype("object")]).value_counts()
    counted = {k: v.astype("object").value_counts() for k, v in {
        "messages": f.messages.loc[f.messages["origin"] == "smtp", "client_ip"],
        "rejects": f.rejects.loc[f.rejects["event"] == "reject", "client_ip"],
    }.items()}
    fail = f.failures
    counted["auth_failures"] = fail["weight"].groupby(fail["client_ip"].astype("object")).sum()
    cols = {"connections": connects.sub(passed.astype("object").value_counts(),
                                        fill_value=0).clip(lower=0), **counted}
    table = pd.DataFrame(cols)
    table = table[~table.index.isin(THIS_HOST)]
    if table.empty:
        return [], 0
    table = table.fillna(0).astype(int)
    table["activity"] = table.sum(axis=1)
    top = table.sort_values(["activity"], ascending=False, kind="stable").head(limit)
    return ([{"client_ip": ip, **{k: int(r[k]) for k in cols}} for ip, r in top.iterrows()],
            len(table))


def alert_view(alerts: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The rules' alerts over the period as a timeline, and the messages that got out
    (open relay, foreign senders through our accounts) picked out."""
    if alerts is None:
        return {"ran": False, "timeline": [], "open_relay": [], "unknown_sender": []}
    timeline = sorted(({k: a[k] for k in ("id", "rule", "severity", "key", "first_seen",
                                          "last_seen", "count", "summary")}
                       for a in alerts), key=lambda a: (a["first_seen"], a["rule"]))
    return {"ran": True, "timeline": timeline,
            "open_relay": [a for a in timeline if a["rule"] == "open_relay"],
            "unknown_sender": [a for a in timeline if a["rule"] == "unknown_sender_relay"]}
