#!/usr/bin/python3
"""Sanity-check the recordings against recordings/scenarios.json.

For every (MTA, run) it checks that each log file's lines have the expected
format, that all syslog formats (and the journal export) of one run hold the
same messages, and that a few scenario counts found with simple regexes in the
run's primary log equal what drive.py really did (failed AUTHs of the burst,
spray usernames, relay-denied RCPTs, open-relay / burst messages, ...).
python3 stdlib only; exit status 1 if anything does not match.

  python3 recordings/verify.py [--mta postfix] [--scenarios recordings/debian13/scenarios.json]
"""
import argparse
import gzip
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FORMATS = {  # file name -> regex every line must match
    "syslog-traditional.log.gz": r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d mx1 [\w/.-]+(\[\d+\])?: ",
    "postfix.log.gz": r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d mx1 postfix[\w/.-]*\[\d+\]: ",
    "syslog-rfc3339.log.gz": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d mx1 [\w/.-]+(\[\d+\])?: ",
    "syslog-rfc5424.log.gz": r"^<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d mx1 \S+ (\d+|-) - - ",
    "mainlog.gz": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3} [+-]\d{4} \[\d+\])? ",
    "rejectlog.gz": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3} [+-]\d{4} \[\d+\])? ",
    "paniclog.gz": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
}

IP = r"\[{ip}\]"
PATTERNS = {  # per MTA: auth failure (user group 1), auth success (user), relay denied RCPT, accepted message
    "postfix": {
        "auth_fail": r"warning: \S+\[{ip}\]: SASL (?:LOGIN|PLAIN) authentication failed: .*sasl_username=(\S+)",
        "auth_ok": r": client=\S+\[{ip}\], sasl_method=\w+, sasl_username=(\S+)",
        "relay_denied": r"NOQUEUE: reject: RCPT from \S+\[{ip}\]: 554 5\.7\.1 .*Relay access denied",
        "accepted": r": [0-9A-F]+: client=\S+\[{ip}\]",
    },
    "exim": {
        "auth_fail": r"(?:LOGIN|PLAIN) authenticator failed for .*\[{ip}\]: 535 .*\(set_id=([^)]+)\)",
        "auth_ok": r" <= \S+ .*\[{ip}\] .*A=(?:PLAIN|LOGIN):(\S+)",
        "relay_denied": r"\[{ip}\] F=<[^>]*> rejected RCPT <[^>]+>: relay not permitted",
        "accepted": r" <= \S+ .*\[{ip}\] ",
    },
    "sendmail": {
        "auth_fail": r"AUTH failure \((?:LOGIN|PLAIN)\): .* user=(\S+), relay=\[{ip}\]",
        "auth_ok": r"AUTH=server, relay=\[{ip}\], authid=([^,]+), mech=",
        "relay_denied": r"ruleset=check_rcpt, arg1=<[^>]+>, relay=\[{ip}\], reject=550 5\.7\.1 .*Relaying denied",
        "accepted": r"from=<[^>]*>, size=\d+, class=\S+, nrcpts=[1-9]\d*, msgid=.*relay=\[{ip}\]",
    },
}
PRIMARY = {("postfix", "run1-syslog"): "syslog-traditional.log.gz", ("postfix", "run2-postlog"): "postfix.log.gz",
           ("exim", "run1-default"): "mainlog.gz", ("exim", "run2-pid-millisec"): "mainlog.gz",
           ("sendmail", "run1-syslog"): "syslog-traditional.log.gz"}


def lines(path):
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def message_of(fn, line):
    if fn == "syslog-rfc5424.log.gz":
        return line.split(" ", 7)[7][1:]  # rsyslog's %msg% keeps the leading space
    return line.split(": ", 1)[1] if ": " in line else line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mta")
    ap.add_argument("--scenarios", default=os.path.join(HERE, "scenarios.json"),
                    help="e.g. recordings/debian13/scenarios.json (record_debian13.sh)")
    a = ap.parse_args()
    with open(a.scenarios) as f:
        doc = json.load(f)
    bad = 0

    def check(what, got, want):
        nonlocal bad
        ok = got == want
        bad += not ok
        print("  %-4s %-58s got %-6s want %s" % ("ok" if ok else "FAIL", what, got, want))

    for run in doc["runs"]:
        mta, label = run["mta"], run["run"]
        if a.mta and mta != a.mta:
            continue
        d = os.path.join(os.path.dirname(HERE), run["dir"])  # recordings/[debian13/]<mta>/<run>
        print("%s %s (%s)" % (mta, label, run["mta_version"]))
        msgs = {}
        for fn in sorted(os.listdir(d)):
            if fn == "journal.json.gz":
                ok = 0
                js = []
                for l in lines(os.path.join(d, fn)):
                    j = json.loads(l)
                    ok += "MESSAGE" in j and j.get("SYSLOG_FACILITY") == "2"
                    js.append(j["MESSAGE"])
                check("%s: JSON objects with MESSAGE, facility mail" % fn, ok, len(js))
                msgs[fn] = sorted(js)
            elif fn in FORMATS:
                ls = lines(os.path.join(d, fn))
                rx = re.compile(FORMATS[fn])
                check("%s: lines in expected format" % fn, sum(1 for l in ls if rx.match(l)), len(ls))
                if fn.startswith("syslog-"):
                    msgs[fn] = sorted(message_of(fn, l) for l in ls)
        if len(msgs) > 1:
            ref = next(iter(msgs.values()))
            check("same messages in %s" % ", ".join(sorted(msgs)), all(m == ref for m in msgs.values()), True)
        text = lines(os.path.join(d, PRIMARY[(mta, label)]))
        P = PATTERNS[mta]

        def grep(kind, ip):
            rx = re.compile(P[kind].format(ip=re.escape(ip)))
            return [m for m in (rx.search(l) for l in text) if m]

        sc = {s["name"]: s for s in run["scenarios"]}
        print("  (regexes on %s)" % PRIMARY[(mta, label)])
        s = sc["auth_burst"]; ip = s["client_ips"][0]
        f = grep("auth_fail", ip)
        check("auth_burst: failed AUTH from %s" % ip, len(f), s["counts"]["auth_failures"])
        check("auth_burst: usernames", sorted({m.group(1) for m in f}), s["usernames"])
        s = sc["password_spray"]; ip = s["client_ips"][0]
        f = grep("auth_fail", ip)
        check("password_spray: failed AUTH from %s" % ip, len(f), s["counts"]["auth_failures"])
        check("password_spray: distinct usernames", len({m.group(1) for m in f}), len(s["usernames"]))
        s = sc["success_after_failures"]; ip = s["client_ips"][0]
        check("success_after_failures: failures from %s" % ip, len(grep("auth_fail", ip)), s["counts"]["auth_failures"])
        check("success_after_failures: successes from %s" % ip, [m.group(1) for m in grep("auth_ok", ip)],
              ["bob"] * s["counts"]["auth_successes"])
        s = sc["relay_probe"]; ip = s["client_ips"][0]
        check("relay_probe: relay-denied RCPTs from %s" % ip, len(grep("relay_denied", ip)), s["counts"]["rcpts_rejected"])
        for name in ("open_relay", "volume_burst", "unknown_sender", "normal_inbound"):
            s = sc[name]
            got = sum(len(grep("accepted", ip)) for ip in s["client_ips"])
            check("%s: messages accepted from %s" % (name, ",".join(s["client_ips"])), got, s["counts"]["messages_accepted"])
        s = sc["unknown_sender"]
        check("unknown_sender: lines with ceo@bank.example.org >= messages",
              sum("ceo@bank.example.org" in l for l in text) >= s["counts"]["messages_accepted"], True)
        sink = [json.loads(l) for l in lines(os.path.join(d, "sink.jsonl.gz"))]
        want = sum(sc[n]["counts"]["rcpts_accepted"] for n in
                   ("normal_outbound", "success_after_failures", "unknown_sender", "volume_burst", "open_relay")) + 1
        check("sink: recipients delivered (incl. carol's local mail)", sum(len(x["rcpts"]) for x in sink), want)
    print("%s" % ("all checks passed" if not bad else "%d check(s) FAILED" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
