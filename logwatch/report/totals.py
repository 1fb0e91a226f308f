"""Grand totals with pflogsumm's meanings (`totals`), and each message once (`totals_unique`).

pflogsumm counts lines: a message re-injected by a content filter is received twice
and delivered twice (once to the filter), as its FAQ says. `totals` does the same so
that the two can be compared figure by figure; `totals_unique` follows the lifetimes
the correlation built and counts each message, and each delivery out of the system,
once.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from logwatch.report.frames import Frames, address_key, domain_key, per_value, sender_key

__all__ = ["RECEIVED_ORIGINS", "sized_deliveries", "received_lines", "received_messages",
           "received_keys", "totals", "client_domain", "client_keys"]

#: Origins of messages that entered from outside the queue (pflogsumm's "received":
#: an smtpd `client=` line or a pickup line); bounces and forwards are made here.
RECEIVED_ORIGINS = ("smtp", "local", "reinjected")


def sized_deliveries(f: Frames, ignore_case: bool = False, uucp: bool = False) -> pd.DataFrame:
    """Each delivery row with the size of its message lifetime (0 when the log does not
    say, as pflogsumm counts it, and `sized` False), the recipient as pflogsumm counts
    it (`rcpt_key`: never VERP-folded, as `--verp-mung` folds senders only), and whether
    a message here continues it: a hand-off (to a content filter) out of the very
    lifetime a re-injected child names as parent; a queue id reused months later is
    another message. A delivery that logged no delay (Exim without +queue_time) took
    the time since its message arrived, where the input has the arrival line."""
    d = f.deliveries.reset_index(drop=True)
    life = d["lifetime_row"].to_numpy()
    # -1 (in no lifetime) takes the NaN put last
    sizes = np.append(f.messages["size"].to_numpy(dtype=float, na_value=np.nan), np.nan)
    d["sized"] = ~np.isnan(sizes[life])
    d["size"] = np.nan_to_num(sizes[life], nan=0).astype("int64")
    d["delay"] = d["delay"].fillna(_since_arrival(f, d, life))
    up = f.messages["parent_row"][f.messages["origin"] == "reinjected"].to_numpy()
    d["continued"] = (d["event"] == "handoff").to_numpy() & np.isin(life, up[up >= 0])
    d["rcpt_key"] = per_value(d["recipient"], lambda a: address_key(a, 0, ignore_case, uucp))
    return d


def _since_arrival(f: Frames, d: pd.DataFrame, life: np.ndarray) -> pd.Series:
    """Seconds from each delivery's message arrival (its lifetime's first line, where
    that is the line that received it: the lifetime has an origin) to the delivery;
    NaN where the arrival is not in the input."""
    m = f.messages
    arrived = m["first_seen"].where(m["origin"].notna())
    at = pd.concat([arrived, pd.Series([pd.NaT], dtype=arrived.dtype)], ignore_index=True)
    return (d["ts"] - at.iloc[life].set_axis(d.index)).dt.total_seconds()


def received_lines(f: Frames) -> pd.Series:
    """When each message that entered from outside was received, a line each, as
    pflogsumm's "received" counts them. A bounce made here is none, whatever its MTA
    logs of it (Sendmail a `from=<>, ..., relay=[RESPONSE]` line, Exim `<= <> R=`,
    Postfix nothing): its lifetime's origin says so, the origin that keeps its bytes
    and sender out of `received_keys`. Only that is left out: a line in no lifetime (its
    message begun before the period) is kept."""
    origin = f.messages["origin"]
    made_here = (origin.notna() & ~origin.isin(RECEIVED_ORIGINS)).to_numpy()
    life = f.received["lifetime_row"].to_numpy()
    return f.received.loc[~np.append(made_here, False)[life], "ts"]


def received_messages(f: Frames, unique: bool) -> pd.DataFrame:
    """Messages that entered the system; `unique`: not a re-injection of one already
    counted (a content filter's child, Sendmail's submission queue hop)."""
    m = f.messages
    keep = m["origin"].isin(RECEIVED_ORIGINS)
    if unique:
        keep &= m["parent"].isna() & (m["origin"] != "reinjected")
    return m[keep]


def client_domain(client: str | None) -> str | None:
    """pflogsumm's `gimme_domain` for `name[ip]`: the IP for unknown clients, else the
    name's last two labels (three for a two-letter country second level)."""
    if not isinstance(client, str):
        return None
    m = re.match(r"^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$", client)
    return f"{m.group(2)}.{m.group(3)}".lower() if m else client


def client_keys(client_name: pd.Series, client_ip: pd.Series) -> pd.Series:
    """The client as pflogsumm names it: its name's domain, its address when the name
    is `unknown` or missing."""
    named = per_value(client_name, lambda c: None if c == "unknown" else client_domain(c))
    return named.where(named.notna(), client_ip.astype("object"))


def _sending_domains(keys: pd.Series, origin: pd.Series, client: pd.Series) -> pd.Series:
    """The domain each message is counted under, as pflogsumm does: the sender's, else
    for a local submission of the null sender `from=<>` itself, else the client's. A
    local submission from a bare local name (Sendmail's submission program logs
    `from=root`; Postfix's cleanup qualifies it) is under no domain, where pflogsumm
    would count the name as one."""
    domain = per_value(keys, lambda k: k.rsplit("@", 1)[1] if "@" in k else None)
    local = (origin == "local").to_numpy()
    null = (keys == sender_key("")).to_numpy()
    fallback = np.where(local, np.where(null, keys.to_numpy(dtype=object), None),
                        client.to_numpy(dtype=object))
    return domain.where(domain.notna(), pd.Series(fallback, index=keys.index))


def received_keys(f: Frames, verp: int = 0, ignore_case: bool = False,
                  uucp: bool = False) -> pd.DataFrame:
    """Queued received messages as pflogsumm counts their senders: address (its
    spelling), sending domain, size, and `unique` (not a re-injection). A message
    refused before it was queued has no size line and is no sender."""
    msgs = received_messages(f, unique=False)
    msgs = msgs[msgs["sender"].notna() & msgs["size"].notna()]
    keys = per_value(msgs["sender"], lambda s: sender_key(s, verp, ignore_case, uucp))
    domains = _sending_domains(keys, msgs["origin"],
                               client_keys(msgs["client_name"], msgs["client_ip"]))
    unique = (msgs["parent"].isna() & (msgs["origin"] != "reinjected")).to_numpy()
    return pd.DataFrame({"address": keys.to_numpy(), "domain": domains.to_numpy(),
                         "size": msgs["size"].to_numpy(), "unique": unique})


#: a message's lifetime, wherever its lines are (-1: in none, its id then tells it)
_LIFETIME = ["host", "instance", "queue_id", "lifetime_row"]


def totals(f: Frames, sized: pd.DataFrame, senders: pd.DataFrame,
           unique: bool) -> dict[str, Any]:
    """DESIGN.md's `totals` keys, with pflogsumm's meanings (see the module doc), and
    `expired`, which pflogsumm has not: messages returned to their sender because their
    time in the queue ran out (Postfix's `status=expired`, Sendmail's `return to sender:
    Cannot send message for ...`, Exim's `cancelled by timeout_frozen_after`: one line
    of the message, no recipient's, so none of them is `bounced`); lines, or messages
    with `unique`. `sized` and `senders` from sized_deliveries and received_keys."""
    deliveries = sized[~sized["continued"]] if unique else sized
    status = deliveries["status"]
    sent = deliveries[status == "sent"]
    expired = deliveries[status == "expired"]
    deferred = sized[sized["status"] == "deferred"]
    rej = f.rejects["event"]
    senders = senders[senders["unique"]] if unique else senders
    rcpts = sent["rcpt_key"].dropna()
    return {
        "received": int(len(received_messages(f, True) if unique else received_lines(f))),
        "delivered": int(len(sent)),
        "forwarded": int((status == "forwarded").sum()),
        "deferred": int(deferred[["host", "queue_id"]].drop_duplicates().shape[0]),
        "deferrals": int(len(deferred)),
        "bounced": int((status == "bounced").sum()),
        "expired": int(len(expired.drop_duplicates(_LIFETIME) if unique else expired)),
        "rejected": int((rej == "reject").sum()),
        "reject_warnings": int((rej == "reject_warning").sum()),
        "held": int((rej == "hold").sum()),
        "discarded": int((rej == "discard").sum()),
        "bytes_received": int(senders["size"].sum()),
        "bytes_delivered": int(sent["size"].sum()),
        "senders": int(senders["address"].nunique()),
        "sending_domains": int(senders["domain"].dropna().nunique()),
        "recipients": int(rcpts.nunique()),
        "recipient_domains": int(per_value(rcpts, domain_key).nunique()),
    }
