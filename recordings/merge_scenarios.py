#!/usr/bin/python3
"""Merge the per-run scenario files written by drive.py into
recordings/scenarios.json (replacing the entries of the given MTA)."""
import argparse
import datetime
import gzip
import json
import os

HEADER = {
    "description": "What recordings/record.sh really did while the logs under recordings/<mta>/<run>/ "
                   "were written. One entry per (MTA, run); each scenario lists client IPs, SASL "
                   "usernames, envelope senders/recipients, counts derived from the SMTP replies "
                   "swaks actually got, and (except for big scenarios) the individual sessions. "
                   "Times are UTC.",
    "hostname": "mx1 (syslog) / mx1.example.com (MTA)",
    "local_domain": "example.com",
    "local_users": {"alice": "alice-Secret1", "bob": "bob-Secret2", "carol": "carol-Secret3"},
    "sink": "recordings/sink.py on 127.0.0.1:2525 plays example.net/example.org/...; RCPT nosuchuser@* -> 550, "
            "busy@* -> 451; down.example.net is routed to 127.0.0.2:2525 where nothing listens",
}


# "dir" of a run: its path from the repository root (recordings/<mta>/<run>, or
# recordings/debian13/<mta>/<run> for record_debian13.sh)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MAX_SESSIONS = 12     # scenarios with more sessions keep only a sample of them
MAX_RECIPIENTS = 30   # ... and of their recipient list


def compact(sc):
    """Keep scenarios.json small: per-IP breakdown + samples for big scenarios."""
    sc = dict(sc)
    ss = [x for x in sc.get("sessions", []) if "omitted" not in x]
    by_ip = {}
    for x in ss:
        ip = x.get("client_ip")
        if not ip:
            continue
        b = by_ip.setdefault(ip, {"sessions": 0, "messages_accepted": 0, "rcpts_accepted": 0,
                                  "rcpts_rejected": 0, "auth_failures": 0, "auth_successes": 0})
        b["sessions"] += 1
        b["messages_accepted"] += 1 if x.get("message_accepted") else 0
        b["rcpts_accepted"] += len(x.get("rcpt_accepted", [])) if x.get("message_accepted") else 0
        b["rcpts_rejected"] += len(x.get("rcpt_rejected", []))
        if x.get("auth_user"):
            b["auth_successes" if x.get("auth_ok") else "auth_failures"] += 1
    if len(by_ip) > 1:
        sc["counts"] = dict(sc["counts"], by_client_ip=by_ip)
    rc = sc.get("recipients", [])
    if len(rc) > MAX_RECIPIENTS:
        sc["recipients"] = rc[:10]
        sc["recipients_note"] = "first 10 of %d distinct recipients; domains: %s" % (
            len(rc), ", ".join(sorted({r.split("@")[-1] for r in rc})))
    n = sc["counts"].get("sessions", len(ss))
    if n > MAX_SESSIONS:
        sc["sessions"] = ss[:2] + [{"omitted": n - 3}] + ss[-1:]
    order = ["name", "description", "started", "finished", "client_ips", "usernames", "senders",
             "recipients", "recipients_note", "counts"]
    out = {k: sc[k] for k in order if k in sc}
    out.update({k: v for k, v in sc.items() if k not in out and k != "sessions"})
    out["sessions"] = sc.get("sessions", [])
    return out


def dumps(doc):
    """indent=1 JSON, but every session object on one line."""
    marks = {}

    def mark(o):
        k = "@@S%d@@" % len(marks)
        marks[k] = json.dumps(o, separators=(", ", ": "))
        return k
    d = json.loads(json.dumps(doc))
    for r in d.get("runs", []):
        for sc in r.get("scenarios", []):
            sc["sessions"] = [mark(x) for x in sc.get("sessions", [])]
    text = json.dumps(d, indent=1)
    for k, v in marks.items():
        text = text.replace(json.dumps(k), v)
    return text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--into", required=True)
    p.add_argument("--mta", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--debian", required=True)
    p.add_argument("--recordings", required=True)
    p.add_argument("runs", nargs="+")
    a = p.parse_args()
    doc = dict(HEADER, runs=[])
    if os.path.exists(a.into):
        with open(a.into) as f:
            old = json.load(f)
        doc["runs"] = [r for r in old.get("runs", []) if r.get("mta") != a.mta]
    for path in a.runs:
        with open(path) as f:
            run = json.load(f)
        rdir = os.path.join(a.mta, run["run"])
        files = {}
        full = os.path.join(a.recordings, rdir)
        for fn in sorted(os.listdir(full)):
            opener = gzip.open if fn.endswith(".gz") else open
            with opener(os.path.join(full, fn), "rb") as f:
                files[fn] = f.read().count(b"\n")
        entry = {
            "mta": a.mta, "mta_version": a.version, "debian_version": a.debian, "run": run["run"],
            "dir": os.path.relpath(full, REPO), "files_line_counts": files,
            "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "scenarios": [compact(sc) for sc in run["scenarios"]],
        }
        doc["runs"].append(entry)
    order = {"postfix": 0, "exim": 1, "sendmail": 2}
    doc["runs"].sort(key=lambda r: (order.get(r["mta"], 9), r["run"]))
    tmp = a.into + ".tmp"
    with open(tmp, "w") as f:
        f.write(dumps(doc) + "\n")
    os.replace(tmp, a.into)
    print("[merge] %s: %d run(s) of %s merged" % (a.into, len(a.runs), a.mta))


if __name__ == "__main__":
    main()
