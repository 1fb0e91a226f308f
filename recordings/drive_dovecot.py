#!/usr/bin/python3
"""Scenario driver for recordings/record_dovecot.sh: Dovecot's login services (IMAP, POP3,
submission, ManageSieve) driven by Python's imaplib, poplib, smtplib and a small
ManageSieve client, each connection from its scenario's own loopback address.

Dovecot's log says what its login processes judged; this driver writes down what the
clients did and what the server answered (every attempt, its username, whether its
password was the right one, the reply), so that the tests check the parsed logs against
what happened rather than against what a parser thinks happened.

  drive_dovecot.py drive --run run1-auth-verbose --auth-verbose yes --out RUN.json
  drive_dovecot.py merge --into recordings/dovecot/scenarios.json --version V \
      --debian 12.11 --recordings recordings RUN1.json RUN2.json

The same scenarios drive Dovecot 2.4 for recordings/record_dovecot24.sh, whose merge adds
`--program dovecot24` (its recordings are under recordings/dovecot24/).

Python's standard library only (Debian's /usr/bin/python3).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import imaplib
import json
import poplib
import smtplib
import socket
import sys

import truth  # recordings/truth.py, beside this script
from dataclasses import dataclass
from typing import Any, Callable

SERVER = "127.0.0.1"
PORTS = {"imap": 10143, "pop3": 10110, "submission": 10587, "sieve": 14190}
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2", "carol": "carol-Secret3"}
TIMEOUT = 90.0  # Dovecot delays a failure by 2 s, and anvil's penalty by up to 15 s more


def now() -> str:
    """UTC, as the recorded RFC 3339 stamps are."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def log(msg: str) -> None:
    print(f"[drive {datetime.datetime.now():%H:%M:%S}] {msg}", flush=True)


@dataclass
class Attempt:
    """One password offered: the username, the password, how, and what came back."""

    user: str
    password: str
    mech: str = "PLAIN"

    @property
    def correct(self) -> bool:
        return USERS.get(self.user) == self.password


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


class _IMAP(imaplib.IMAP4):
    """imaplib with the client's source address chosen: Dovecot logs it as rip=."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__(SERVER, PORTS["imap"], timeout=TIMEOUT)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


class _POP3(poplib.POP3):
    """poplib with the client's source address chosen."""

    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__(SERVER, PORTS["pop3"], timeout=TIMEOUT)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


def _reply(exc: Exception) -> str:
    """The server's reply that a client library raised as an exception."""
    said = exc.args[0] if exc.args else exc
    return said.decode(errors="replace") if isinstance(said, bytes) else str(said)


def imap(ip: str, attempts: list[Attempt], end: str) -> dict[str, Any]:
    """One IMAP connection: `LOGIN` (mech LOGIN here means the IMAP command) or
    `AUTHENTICATE PLAIN` per attempt until one is accepted, then `SELECT INBOX`; ends
    with `LOGOUT` (end "logout") or by closing the socket (end "close")."""
    conn = _Conn("imap", ip, end)
    client = _IMAP(ip)
    for a in attempts:
        try:
            if a.mech == "LOGIN":
                typ, data = client.login(a.user, a.password)
            else:
                typ, data = client.authenticate(
                    "PLAIN", lambda _, a=a: f"\0{a.user}\0{a.password}".encode())
            conn.attempt(a, True, f"{typ} {data[-1].decode(errors='replace')}")
            client.select("INBOX")
            break
        except imaplib.IMAP4.abort as exc:
            conn.attempt(a, False, _reply(exc))
            conn.d["server_closed"] = True
            return conn.done()
        except imaplib.IMAP4.error as exc:
            conn.attempt(a, False, _reply(exc))
    if end == "logout":
        client.logout()
    else:
        client.shutdown()
    return conn.done()


def pop3(ip: str, attempts: list[Attempt], end: str) -> dict[str, Any]:
    """One POP3 connection: `USER`/`PASS` (mech LOGIN here) or `AUTH PLAIN` per attempt,
    then `STAT` once in; ends with `QUIT` ("logout") or by closing the socket."""
    conn = _Conn("pop3", ip, end)
    client = _POP3(ip)
    for a in attempts:
        try:
            if a.mech == "LOGIN":
                client.user(a.user)
                reply = client.pass_(a.password)
            else:
                reply = client._shortcmd("AUTH PLAIN " + _plain(a.user, a.password))
            conn.attempt(a, True, reply.decode(errors="replace"))
            client.stat()
            break
        except (poplib.error_proto, OSError) as exc:
            conn.attempt(a, False, _reply(exc))
    if end == "logout":
        try:
            client.quit()
        except (poplib.error_proto, OSError) as exc:
            conn.d["quit_reply"] = _reply(exc)
    else:
        client.close()
    return conn.done()


def submission(ip: str, attempts: list[Attempt], end: str) -> dict[str, Any]:
    """One submission connection: `EHLO`, then `AUTH PLAIN` per attempt (one mechanism
    only: smtplib's login() would try PLAIN and then LOGIN, two attempts for one call);
    ends with `QUIT` or by closing the socket. No message is sent."""
    conn = _Conn("submission", ip, end)
    client = smtplib.SMTP(SERVER, PORTS["submission"], local_hostname="client.example.net",
                          timeout=TIMEOUT, source_address=(ip, 0))
    client.ehlo()
    conn.d["auth_offered"] = client.has_extn("auth")
    for a in attempts:
        code, text = client.docmd("AUTH", "PLAIN " + _plain(a.user, a.password))
        conn.attempt(a, code == 235, f"{code} {text.decode(errors='replace')}")
        if code == 235:
            break
    if end == "logout":
        client.quit()
    else:
        client.close()
    return conn.done()


class _Sieve:
    """The few ManageSieve commands needed (RFC 5804): socket and line reader."""

    def __init__(self, ip: str) -> None:
        self.sock = socket.create_connection((SERVER, PORTS["sieve"]), TIMEOUT,
                                             source_address=(ip, 0))
        self.file = self.sock.makefile("rb")
        self.greeting = self.response()

    def response(self) -> str:
        """Lines up to the one that starts with OK, NO or BYE: that one."""
        while True:
            line = self.file.readline().decode(errors="replace").rstrip("\r\n")
            if not line or line.split(" ", 1)[0] in ("OK", "NO", "BYE"):
                return line

    def command(self, text: str) -> str:
        self.sock.sendall(text.encode() + b"\r\n")
        return self.response()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def sieve(ip: str, attempts: list[Attempt], end: str) -> dict[str, Any]:
    """One ManageSieve connection: `AUTHENTICATE "PLAIN"` per attempt, `LISTSCRIPTS` once
    in; ends with `LOGOUT` or by closing the socket."""
    conn = _Conn("sieve", ip, end)
    client = _Sieve(ip)
    for a in attempts:
        reply = client.command(f'AUTHENTICATE "PLAIN" "{_plain(a.user, a.password)}"')
        conn.attempt(a, reply.startswith("OK"), reply)
        if reply.startswith("OK"):
            client.command("LISTSCRIPTS")
            break
    if end == "logout":
        client.command("LOGOUT")
    client.close()
    return conn.done()


class _Conn:
    """What one connection did, as the ground truth keeps it."""

    def __init__(self, service: str, ip: str, end: str) -> None:
        self.d: dict[str, Any] = {"time": now(), "service": service, "port": PORTS[service],
                                  "client_ip": ip, "end": end, "attempts": []}

    def attempt(self, a: Attempt, accepted: bool, reply: str) -> None:
        self.d["attempts"].append({"user": a.user, "mech": a.mech, "correct": a.correct,
                                   "accepted": accepted, "reply": reply})

    def done(self) -> dict[str, Any]:
        """Summarise: the connection logged in, or failed (tried and never got in), or
        never tried."""
        tried = self.d["attempts"]
        self.d["logged_in"] = any(t["accepted"] for t in tried)
        self.d["failed"] = bool(tried) and not self.d["logged_in"]
        self.d["finished"] = now()
        return self.d


Client = Callable[[str, list[Attempt], str], dict[str, Any]]
CLIENTS: dict[str, Client] = {"imap": imap, "pop3": pop3, "submission": submission,
                              "sieve": sieve}


class Scenario:
    """A named group of connections; `finish` adds the counts the tests compare."""

    def __init__(self, name: str, description: str) -> None:
        self.d: dict[str, Any] = {"name": name, "description": description, "started": now(),
                                  "connections": []}
        log(f"scenario {name}: {description}")

    def connect(self, service: str, ip: str, attempts: list[Attempt] | None = None,
                end: str = "logout") -> dict[str, Any]:
        conn = CLIENTS[service](ip, attempts or [], end)
        self.d["connections"].append(conn)
        return conn

    def finish(self) -> dict[str, Any]:
        conns = self.d["connections"]
        tried = [t for c in conns for t in c["attempts"]]
        self.d["finished"] = now()
        self.d["client_ips"] = sorted({c["client_ip"] for c in conns},
                                      key=lambda a: [int(x) for x in a.split(".")])
        self.d["usernames"] = sorted({t["user"] for t in tried})
        self.d["counts"] = {
            "connections": len(conns),
            "attempts": len(tried),
            "attempts_refused": sum(1 for t in tried if not t["accepted"]),
            "failed_connections": sum(1 for c in conns if c["failed"]),
            "logins": sum(1 for c in conns if c["logged_in"]),
            "no_attempt_connections": sum(1 for c in conns if not c["attempts"]),
        }
        log(f"  -> {json.dumps(self.d['counts'])}")
        return self.d


def scenarios() -> list[dict[str, Any]]:
    """Every scenario once, in order; each address belongs to one scenario."""
    done = []
    a, b, c = ("alice", USERS["alice"]), ("bob", USERS["bob"]), ("carol", USERS["carol"])

    sc = Scenario("normal_logins", "alice over IMAP (LOGIN twice, AUTHENTICATE PLAIN once) "
                  "from 127.0.0.101, bob over POP3 (USER/PASS, AUTH PLAIN) from 127.0.0.102, "
                  "carol over submission (AUTH PLAIN) from 127.0.0.103, alice over ManageSieve "
                  "from 127.0.0.104; every one logs in with the right password")
    sc.connect("imap", "127.0.0.101", [Attempt(*a, mech="LOGIN")])
    sc.connect("imap", "127.0.0.101", [Attempt(*a)])
    sc.connect("imap", "127.0.0.101", [Attempt(*a, mech="LOGIN")], end="close")
    sc.connect("pop3", "127.0.0.102", [Attempt(*b, mech="LOGIN")])
    sc.connect("pop3", "127.0.0.102", [Attempt(*b)])
    sc.connect("submission", "127.0.0.103", [Attempt(*c)])
    sc.connect("sieve", "127.0.0.104", [Attempt(*a)])
    done.append(sc.finish())

    sc = Scenario("wrong_password_once", "one wrong password per connection, then LOGOUT/QUIT "
                  "or a closed socket: bob over IMAP twice from 127.0.0.105, POP3 from "
                  "127.0.0.106, submission from 127.0.0.107, ManageSieve from 127.0.0.108")
    sc.connect("imap", "127.0.0.105", [Attempt("bob", "bob-Secret", mech="LOGIN")])
    sc.connect("imap", "127.0.0.105", [Attempt("bob", "Bob-secret2")], end="close")
    sc.connect("pop3", "127.0.0.106", [Attempt("bob", "bob-secret2", mech="LOGIN")])
    sc.connect("submission", "127.0.0.107", [Attempt("bob", "bob-Secret3")])
    sc.connect("sieve", "127.0.0.108", [Attempt("bob", "bob-Secret4")])
    done.append(sc.finish())

    sc = Scenario("several_wrong_in_one_connection", "three wrong IMAP LOGINs for carol in one "
                  "connection from 127.0.0.110, then the socket closed; two wrong POP3 "
                  "USER/PASS for carol in one connection from 127.0.0.111, then QUIT")
    sc.connect("imap", "127.0.0.110",
               [Attempt("carol", f"carol-Secret{i}", mech="LOGIN") for i in (4, 5, 6)],
               end="close")
    sc.connect("pop3", "127.0.0.111",
               [Attempt("carol", f"carol-Secret{i}", mech="LOGIN") for i in (7, 8)])
    done.append(sc.finish())

    sc = Scenario("unknown_user", "dave, who does not exist, over IMAP and POP3 from "
                  "127.0.0.112, one attempt per connection")
    sc.connect("imap", "127.0.0.112", [Attempt("dave", "dave-Secret4", mech="LOGIN")])
    sc.connect("pop3", "127.0.0.112", [Attempt("dave", "dave-Secret4", mech="LOGIN")])
    done.append(sc.finish())

    sc = Scenario("brute_force", "127.0.0.115 guesses bob's password over IMAP: 6 connections, "
                  "one wrong LOGIN each")
    for i in range(6):
        sc.connect("imap", "127.0.0.115", [Attempt("bob", f"guess{i}", mech="LOGIN")])
    done.append(sc.finish())

    sc = Scenario("password_spray", "127.0.0.116 tries one password (Summer2026!) for 6 "
                  "usernames over IMAP, one connection each (alice and carol exist)")
    for user in ("admin", "info", "test", "support", "alice", "carol"):
        sc.connect("imap", "127.0.0.116", [Attempt(user, "Summer2026!", mech="LOGIN")])
    done.append(sc.finish())

    sc = Scenario("guess_succeeds", "127.0.0.117 fails carol's IMAP login 4 times, one "
                  "connection each, then logs in as carol")
    for i in range(4):
        sc.connect("imap", "127.0.0.117", [Attempt("carol", f"carol{2020 + i}", mech="LOGIN")])
    sc.connect("imap", "127.0.0.117", [Attempt(*c, mech="LOGIN")])
    done.append(sc.finish())

    sc = Scenario("guess_succeeds_in_one_connection", "127.0.0.118 tries 3 wrong passwords "
                  "for alice and then the right one, all in one IMAP connection")
    sc.connect("imap", "127.0.0.118",
               [Attempt("alice", f"alice{2020 + i}", mech="LOGIN") for i in range(3)]
               + [Attempt(*a, mech="LOGIN")])
    done.append(sc.finish())

    sc = Scenario("no_attempt", "127.0.0.120 connects to each service and leaves without "
                  "a login: IMAP and POP3 closing the socket, IMAP LOGOUT, POP3 QUIT, "
                  "submission QUIT, ManageSieve LOGOUT")
    sc.connect("imap", "127.0.0.120", end="close")
    sc.connect("pop3", "127.0.0.120", end="close")
    sc.connect("imap", "127.0.0.120")
    sc.connect("pop3", "127.0.0.120")
    sc.connect("submission", "127.0.0.120")
    sc.connect("sieve", "127.0.0.120")
    done.append(sc.finish())

    sc = Scenario("plaintext_refused", "127.0.0.201, outside login_trusted_networks, is not "
                  "secured (ssl = no): bob's right password offered in the clear over IMAP "
                  "(LOGIN then LOGOUT, LOGIN then a closed socket, AUTHENTICATE PLAIN), POP3 "
                  "(USER/PASS, AUTH PLAIN), submission and ManageSieve (AUTH PLAIN), one "
                  "connection each")
    sc.connect("imap", "127.0.0.201", [Attempt(*b, mech="LOGIN")])
    sc.connect("imap", "127.0.0.201", [Attempt(*b, mech="LOGIN")], end="close")
    sc.connect("imap", "127.0.0.201", [Attempt(*b)])
    sc.connect("pop3", "127.0.0.201", [Attempt(*b, mech="LOGIN")])
    sc.connect("pop3", "127.0.0.201", [Attempt(*b)])
    sc.connect("submission", "127.0.0.201", [Attempt(*b)])
    sc.connect("sieve", "127.0.0.201", [Attempt(*b)])
    done.append(sc.finish())
    return done


# The recordings this driver makes (merge --program), and the recorder of each
RECORDERS = {"dovecot": "record_dovecot.sh", "dovecot24": "record_dovecot24.sh"}


def about(args: argparse.Namespace) -> dict[str, Any]:
    """What heads the ground-truth file of the runs."""
    return {
        "description": f"What recordings/{RECORDERS.get(args.program, 'record_dovecot.sh')} "
                       f"really did while the logs under recordings/{args.program}/<run>/ "
                       "were written: per scenario, every connection "
                       "with its client address, service, each password attempt (username, "
                       "whether the password was the right one, whether the server accepted "
                       "it, its reply) and how it ended. Times are UTC.",
        "dovecot_version": args.version,
        "debian_version": args.debian,
        "hostname": "mx1 (syslog) / mx1.example.com (Dovecot)",
        "users": USERS,
        "ports": PORTS,
    }


if __name__ == "__main__":
    sys.exit(truth.main(__doc__.splitlines()[0], "dovecot",
                        ("--auth-verbose", {"choices": ["yes", "no"]}), scenarios, about))
