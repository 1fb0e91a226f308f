#!/usr/bin/python3
"""Merge the per-run scenario files written by drive.py into
recordings/scenarios.json (replacing the entries of the given MTA)."""
import argparse
import datetime
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
            with open(os.path.join(full, fn), "rb") as f:
                files[fn] = f.read().count(b"\n")
        entry = {
            "mta": a.mta, "mta_version": a.version, "debian_version": a.debian, "run": run["run"],
            "dir": "recordings/" + rdir, "files_line_counts": files,
            "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "scenarios": run["scenarios"],
        }
        doc["runs"].append(entry)
    order = {"postfix": 0, "exim": 1, "sendmail": 2}
    doc["runs"].sort(key=lambda r: (order.get(r["mta"], 9), r["run"]))
    tmp = a.into + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.into)
    print("[merge] %s: %d run(s) of %s merged" % (a.into, len(a.runs), a.mta))


if __name__ == "__main__":
    main()
