#!/usr/bin/python3
"""Scenario driver for the mail-logwatch recorder (python3 stdlib + swaks).

Drives one MTA listening on loopback through the scenarios described in
recordings/README.md, using swaks with a distinct source address
(--local-interface 127.0.0.N) per scenario, and appends what was *actually*
done (sessions, swaks exit codes, accepted/rejected RCPTs, failed AUTHs, ...)
to a JSON file, so tests can assert detections against reality.

  drive.py --mta postfix --run syslog --phase main      --out F.json
  drive.py --mta postfix --run syslog --phase openrelay --out F.json

The open-relay phase must be run while the MTA is deliberately misconfigured
to relay for 127.0.0.66 (record.sh does that).
"""
import argparse
import base64
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import time

DOMAIN = "example.com"
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2", "carol": "carol-Secret3"}
SWAKS_EXIT = {
    0: "ok", 2: "connect_error", 6: "timeout", 21: "banner_error", 22: "helo_error",
    23: "mail_from_rejected", 24: "no_rcpt_accepted", 25: "data_rejected",
    26: "message_rejected", 27: "quit_error", 28: "auth_failed", 29: "tls_error",
}

ARGS = None


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def log(msg):
    print("[drive %s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), msg), flush=True)


def parse_transcript(out):
    """Return (rcpt_results, auth_codes, queued_text) from a swaks transcript."""
    last_cmd, last_rcpt = None, None
    rcpts, auth_codes = [], []
    queued = None
    for line in out.splitlines():
        m = re.match(r"^ *(->|~>) (.*)$", line)
        if m:
            cmd = m.group(2)
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("RCPT", "MAIL", "AUTH", "DATA", "EHLO", "HELO", "QUIT", "STARTTLS", "RSET"):
                last_cmd = verb
                if verb == "RCPT":
                    mm = re.search(r"<([^>]*)>", cmd)
                    last_rcpt = mm.group(1) if mm else cmd
            elif cmd.strip() == ".":
                last_cmd = "DOT"
            continue
        m = re.match(r"^(<-|<\*\*|<~|<~\*) +(\d{3})([ -])(.*)$", line)
        if m and m.group(3) == " ":
            code = int(m.group(2))
            if last_cmd == "RCPT":
                rcpts.append([last_rcpt, code])
            elif last_cmd == "AUTH" and code != 334:
                auth_codes.append(code)
            elif last_cmd == "DOT":
                queued = m.group(4)
    return rcpts, auth_codes, queued


def swaks(ip, to, frm, port=25, helo=None, auth=None, user=None, password=None,
          tls=False, subject="test", body=None, quit_after=None, extra=()):
    if isinstance(to, str):
        to = [to]
    cmd = ["swaks", "--server", ARGS.server, "--port", str(port), "--local-interface", ip,
           "--from", frm, "--to", ",".join(to), "--timeout", "60",
           "--h-Subject", subject, "--body", body or ("Test message: %s\n" % subject)]
    cmd += ["--ehlo", helo or ("client%s.example.net" % ip.rsplit(".", 1)[1])]
    if tls:
        cmd.append("-tls")
    if auth:
        cmd += ["--auth", auth, "--auth-user", user, "--auth-password", password]
    if quit_after:
        cmd += ["--quit-after", quit_after]
    cmd += list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True)
    rcpts, auth_codes, queued = parse_transcript(p.stdout)
    sess = {
        "time": now(), "client_ip": ip, "port": port, "tls": tls, "helo": cmd[cmd.index("--ehlo") + 1],
        "mail_from": frm, "rcpt_to": to, "swaks_exit": p.returncode,
        "result": SWAKS_EXIT.get(p.returncode, "error_%d" % p.returncode),
        "rcpt_accepted": [r for r, c in rcpts if c < 300],
        "rcpt_rejected": [[r, c] for r, c in rcpts if c >= 400],
        "message_accepted": p.returncode == 0 and quit_after is None,
    }
    if auth:
        sess.update(auth_mech=auth, auth_user=user,
                    auth_ok=(p.returncode != 28 and bool(auth_codes) and auth_codes[-1] < 300))
    if ARGS.verbose or p.returncode not in (0, 24, 28):
        if p.returncode not in (0, 24, 28):
            log("swaks exit %d for %s -> %s:\n%s%s" % (p.returncode, ip, to, p.stdout[-2000:], p.stderr[-500:]))
    return sess


def raw_session(ip, port, steps):
    """Minimal hand-written SMTP client: steps is a list of lines to send
    (None = just read). Returns the list of (sent, reply) pairs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    s.settimeout(30)
    s.connect((ARGS.server, port))
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            l = f.readline()
            if not l:
                break
            lines.append(l.decode("utf-8", "replace").rstrip("\r\n"))
            if len(l) < 4 or l[3:4] != b"-":
                break
        return lines

    out = [(None, reply())]
    try:
        for st in steps:
            s.sendall(st.encode() + b"\r\n")
            out.append((st, reply()))
    except OSError as e:  # the server may hang up on us (e.g. after a non-SMTP command)
        out.append((None, ["<connection closed by server: %s>" % e.__class__.__name__]))
    s.close()  # abrupt: no QUIT unless it was one of the steps
    return out


class Scenario:
    def __init__(self, name, description):
        self.d = {"name": name, "description": description, "started": now(), "sessions": []}
        self.name = name
        log("scenario %s: %s" % (name, description))

    def add(self, sess):
        self.d["sessions"].append(sess)
        return sess

    def finish(self, **fields):
        self.d["finished"] = now()
        ss = self.d["sessions"]
        ips = sorted({s["client_ip"] for s in ss if "client_ip" in s}, key=lambda a: [int(x) for x in a.split(".")])
        auth = [s for s in ss if s.get("auth_user")]
        counts = {
            "sessions": len(ss),
            "messages_accepted": sum(1 for s in ss if s.get("message_accepted")),
            "rcpts_accepted": sum(len(s.get("rcpt_accepted", [])) for s in ss if s.get("message_accepted")),
            "rcpts_rejected": sum(len(s.get("rcpt_rejected", [])) for s in ss),
            "auth_attempts": len(auth),
            "auth_failures": sum(1 for s in auth if not s.get("auth_ok")),
            "auth_successes": sum(1 for s in auth if s.get("auth_ok")),
        }
        self.d.setdefault("client_ips", ips)
        self.d.setdefault("usernames", sorted({s["auth_user"] for s in auth}))
        self.d.setdefault("senders", sorted({s["mail_from"] for s in ss if s.get("mail_from") is not None}))
        rc = []
        for s in ss:
            for r in s.get("rcpt_to", []):
                if r not in rc:
                    rc.append(r)
        self.d.setdefault("recipients", rc)
        counts.update(fields.pop("counts", {}))
        self.d["counts"] = counts
        self.d.update(fields)
        log("  -> %s" % json.dumps(counts))
        return self.d


def sendmail_local(user, args, text):
    cmd = ["/usr/sbin/sendmail"] + args
    if user != "root":
        cmd = ["runuser", "-u", user, "--"] + cmd
    p = subprocess.run(cmd, input=text, text=True, capture_output=True)
    if p.returncode:
        log("sendmail %s failed rc=%d: %s" % (args, p.returncode, p.stderr))
    return p.returncode


def phase_main(results):
    P, S, STLS = ARGS.smtp_port, ARGS.sub_port, ARGS.sub_tls
    pause = ARGS.pause

    # 1a. normal inbound traffic from five "remote" MTAs to local users
    sc = Scenario("normal_inbound", "inbound mail from 5 remote hosts to local users alice/bob/carol (no auth, port 25)")
    senders = {"127.0.0.10": ("newsletter@example.net", "mail.example.net"),
               "127.0.0.11": ("friend@example.org", "smtp.example.org"),
               "127.0.0.12": ("billing@example.net", "out1.example.net"),
               "127.0.0.13": ("jane@example.org", "mx.example.org"),
               "127.0.0.14": ("ops@example.net", "relay.example.net")}
    locals_ = ["alice@example.com", "bob@example.com", "carol@example.com"]
    n = 0
    for rnd in range(5):
        for ip, (frm, helo) in senders.items():
            n += 1
            to = [locals_[n % 3]] + ([locals_[(n + 1) % 3]] if n % 4 == 0 else [])
            sc.add(swaks(ip, to, frm, port=P, helo=helo, subject="normal inbound %d" % n))
            time.sleep(pause)
    results.append(sc.finish())

    # 1b. normal outbound from authenticated users on the submission port
    sc = Scenario("normal_outbound", "authenticated submission (port %d%s) by alice (127.0.0.15) and bob (127.0.0.16) to example.net/example.org" % (S, "+STARTTLS" if STLS else ""))
    for i in range(5):
        sc.add(swaks("127.0.0.15", "contact%d@example.net" % i, "alice@example.com", port=S, tls=STLS,
                     auth="PLAIN", user="alice", password=USERS["alice"], helo="alice-laptop.example.com",
                     subject="normal outbound alice %d" % i))
        sc.add(swaks("127.0.0.16", ["partner%d@example.org" % i] + (["cc%d@example.net" % i] if i % 2 else []),
                     "bob@example.com", port=S, tls=STLS, auth="LOGIN", user="bob", password=USERS["bob"],
                     helo="bob-desktop.example.com", subject="normal outbound bob %d" % i))
        time.sleep(pause)
    results.append(sc.finish())

    # 1c. local submission through /usr/sbin/sendmail (pickup / cron-like)
    sc = Scenario("local_sendmail", "local mail via /usr/sbin/sendmail: cron-like root->alice, root->bob, carol->friend@example.org")
    msgs = [
        ("root", ["-t"], "alice@example.com",
         "From: root (Cron Daemon)\nTo: alice@example.com\nSubject: Cron <root@mx1> run-parts /etc/cron.daily\n\nall done\n"),
        ("root", ["-f", "root", "bob@example.com"], "bob@example.com",
         "Subject: logrotate report\n\nrotated 3 logs\n"),
        ("carol", ["-t"], "friend@example.org",
         "To: friend@example.org\nSubject: hello from the shell\n\nhi\n"),
    ]
    for user, a, rcpt, text in msgs:
        rc = sendmail_local(user, a, text)
        sc.add({"time": now(), "local_user": user, "mail_from": user, "rcpt_to": [rcpt],
                "rcpt_accepted": [rcpt] if rc == 0 else [], "message_accepted": rc == 0, "exit": rc})
    results.append(sc.finish(client_ips=[]))

    # 1d. deferred deliveries (sink answers 451 / nothing listens on 127.0.0.2:2525)
    sc = Scenario("deferred_delivery", "authenticated users send to busy@example.org (sink: 451) and postmaster@down.example.net (connection refused) -> deferred, stays queued")
    sc.add(swaks("127.0.0.16", "busy@example.org", "bob@example.com", port=S, tls=STLS, auth="LOGIN",
                 user="bob", password=USERS["bob"], helo="bob-desktop.example.com", subject="deferred 451"))
    sc.add(swaks("127.0.0.15", "postmaster@down.example.net", "alice@example.com", port=S, tls=STLS, auth="PLAIN",
                 user="alice", password=USERS["alice"], helo="alice-laptop.example.com", subject="deferred refused"))
    results.append(sc.finish(counts={"deferred_messages": 2}))

    # 1e. bounced delivery (sink answers 550) -> DSN back to alice@example.com
    sc = Scenario("bounced_delivery", "alice sends to nosuchuser@example.net (sink: 550 5.1.1) -> bounce, DSN (null sender) delivered to alice")
    sc.add(swaks("127.0.0.15", "nosuchuser@example.net", "alice@example.com", port=S, tls=STLS, auth="PLAIN",
                 user="alice", password=USERS["alice"], helo="alice-laptop.example.com", subject="will bounce"))
    results.append(sc.finish(counts={"bounced_messages": 1, "dsn_to": "alice@example.com"}))

    # 2. auth burst: 10 failures (LOGIN and PLAIN alternating) for bob from one IP
    sc = Scenario("auth_burst", "127.0.0.21 fails AUTH 10 times (5 LOGIN, 5 PLAIN, alternating) for user bob, one attempt per connection, port %d, no TLS" % P)
    for i in range(10):
        mech = "LOGIN" if i % 2 == 0 else "PLAIN"
        sc.add(swaks("127.0.0.21", "alice@example.com", "bob@example.com", port=P, auth=mech, user="bob",
                     password="guess%d" % i, helo="bruteforce.example.org", subject="auth burst"))
    results.append(sc.finish())

    # 3. password spray: 10 different usernames, one failure each
    sc = Scenario("password_spray", "127.0.0.31 tries 10 different usernames once each (AUTH LOGIN, port %d), all fail" % P)
    for u in ["admin", "info", "test", "support", "sales", "webmaster", "postmaster", "user", "alice", "carol"]:
        sc.add(swaks("127.0.0.31", "bob@example.com", "%s@example.com" % u, port=P, auth="LOGIN", user=u,
                     password="Summer2026!", helo="spray.example.org", subject="spray"))
    results.append(sc.finish())

    # 4. success after failures
    sc = Scenario("success_after_failures", "127.0.0.41 fails AUTH LOGIN 4 times for bob, then logs in as bob and relays one message to friend@example.org (port %d)" % P)
    for i in range(4):
        sc.add(swaks("127.0.0.41", "friend@example.org", "bob@example.com", port=P, auth="LOGIN", user="bob",
                     password="bob%d" % (2020 + i), helo="cracker.example.org", subject="attempt %d" % i))
    sc.add(swaks("127.0.0.41", "friend@example.org", "bob@example.com", port=P, auth="LOGIN", user="bob",
                 password=USERS["bob"], helo="cracker.example.org", subject="got in"))
    results.append(sc.finish())

    # 5. relay probe: unauthenticated RCPTs to external domains
    sc = Scenario("relay_probe", "127.0.0.51, unauthenticated, tries to relay to external domains: 4 sessions with 4+2+1+3 recipients -> relay denied")
    batches = [["victim1@example.net", "victim2@example.org", "victim3@example.net", "victim4@example.org"],
               ["probe@example.net", "probe@example.org"], ["relaytest@example.net"],
               ["a@example.org", "b@example.org", "c@example.net"]]
    for b in batches:
        sc.add(swaks("127.0.0.51", b, "probe@relaycheck.example.org", port=P, helo="relaycheck.example.org",
                     subject="relay test"))
        time.sleep(pause)
    results.append(sc.finish())

    # 7. unknown (foreign) sender domain from an authenticated user
    sc = Scenario("unknown_sender", "carol authenticates from 127.0.0.71 (port %d) but uses envelope sender ceo@bank.example.org, to external recipients (3 messages x 2 rcpts)" % S)
    for i in range(3):
        sc.add(swaks("127.0.0.71", ["finance%d@example.net" % i, "payments%d@example.org" % i], "ceo@bank.example.org",
                     port=S, tls=STLS, auth="PLAIN", user="carol", password=USERS["carol"], helo="carol-pc.example.com",
                     subject="Urgent wire transfer %d" % i, extra=["--h-From", "CEO <ceo@bank.example.org>"]))
    results.append(sc.finish())

    # 8. volume burst
    nmsg = ARGS.burst
    sc = Scenario("volume_burst", "alice (authenticated, 127.0.0.81, port %d) sends %d messages in a burst to external domains; every 25th message has 12 recipients" % (S, nmsg))
    for i in range(nmsg):
        dom = "example.net" if i % 2 else "example.org"
        to = ["bulk%03d@%s" % (i, dom)]
        if i % 25 == 0:
            to = ["list%03d-%02d@%s" % (i, k, dom) for k in range(12)]
        sc.add(swaks("127.0.0.81", to, "alice@example.com", port=S, tls=STLS, auth="PLAIN", user="alice",
                     password=USERS["alice"], helo="alice-laptop.example.com", subject="Special offer %d" % i))
    results.append(sc.finish())

    # extras
    sc = Scenario("auth_then_disconnect", "127.0.0.91: carol authenticates (PLAIN, port %d) and then (a) QUITs without sending, (b) drops the TCP connection without QUIT" % P)
    sc.add(swaks("127.0.0.91", "alice@example.com", "carol@example.com", port=P, auth="PLAIN", user="carol",
                 password=USERS["carol"], helo="idle.example.org", quit_after="AUTH"))
    tok = base64.b64encode(b"\0carol\0" + USERS["carol"].encode()).decode()
    tr = raw_session("127.0.0.91", P, ["EHLO idle.example.org", "AUTH PLAIN " + tok])
    ok = tr[-1][1] and tr[-1][1][-1].startswith("235")
    sc.add({"time": now(), "client_ip": "127.0.0.91", "port": P, "auth_user": "carol", "auth_mech": "PLAIN",
            "auth_ok": bool(ok), "abrupt_disconnect": True, "transcript": tr})
    results.append(sc.finish())

    sc = Scenario("non_smtp_garbage", "127.0.0.92 connects to port %d and sends an HTTP request instead of SMTP" % P)
    tr = raw_session("127.0.0.92", P, ["GET / HTTP/1.1", "Host: mx1.example.com", "User-Agent: Mozilla/5.0", ""])
    sc.add({"time": now(), "client_ip": "127.0.0.92", "port": P, "transcript": tr})
    results.append(sc.finish())

    sc = Scenario("starttls_inbound", "127.0.0.93 delivers one message to carol over STARTTLS on port %d (snakeoil cert)" % P)
    sc.add(swaks("127.0.0.93", "carol@example.com", "partner@example.org", port=P, tls=True, helo="secure.example.org",
                 subject="encrypted hello"))
    results.append(sc.finish())

    sc = Scenario("unknown_local_recipient", "127.0.0.94: RCPT to non-existent dave@example.com (alone: whole session rejected; then together with alice: alice accepted)")
    sc.add(swaks("127.0.0.94", "dave@example.com", "someone@example.net", port=P, helo="typo.example.net",
                 subject="to dave"))
    sc.add(swaks("127.0.0.94", ["dave@example.com", "alice@example.com"], "someone@example.net", port=P,
                 helo="typo.example.net", subject="to dave and alice"))
    results.append(sc.finish())


def phase_openrelay(results):
    P = ARGS.smtp_port
    sc = Scenario("open_relay", "server misconfigured to relay for 127.0.0.66; it relays 5 unauthenticated messages (8 recipients) to external domains, delivered to the sink")
    batches = [["target1@example.net"], ["target2@example.org", "target3@example.org"], ["target4@example.net"],
               ["target5@example.org", "target6@example.net", "target7@example.net"], ["target8@example.org"]]
    for i, b in enumerate(batches):
        sc.add(swaks("127.0.0.66", b, "offers@promo.example.org", port=P, helo="bulk.example.org",
                     subject="Cheap offer %d" % i))
        time.sleep(ARGS.pause)
    results.append(sc.finish())


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mta", required=True)
    p.add_argument("--run", required=True, help="run label, e.g. syslog / postlog / native")
    p.add_argument("--phase", choices=["main", "openrelay"], required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=25)
    p.add_argument("--sub-port", type=int, default=587)
    p.add_argument("--sub-tls", type=int, default=1)
    p.add_argument("--burst", type=int, default=150)
    p.add_argument("--pause", type=float, default=0.2)
    p.add_argument("--verbose", action="store_true")
    ARGS = p.parse_args()
    doc = {"mta": ARGS.mta, "run": ARGS.run, "scenarios": []}
    if os.path.exists(ARGS.out):
        with open(ARGS.out) as f:
            doc = json.load(f)
    res = []
    try:
        (phase_main if ARGS.phase == "main" else phase_openrelay)(res)
    finally:
        doc["scenarios"].extend(res)
        tmp = ARGS.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, ARGS.out)


if __name__ == "__main__":
    sys.exit(main())
