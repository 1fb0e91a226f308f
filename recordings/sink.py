#!/usr/bin/python3
"""Tiny SMTP sink for the mail-logwatch recorder (python3 stdlib only).

It plays the "remote" mail servers of example.net / example.org / ... on
loopback, so that the MTA under test really delivers (status=sent) to it.

Per-recipient behaviour (local part of RCPT TO, case-insensitive):
  nosuchuser@...  -> 550 5.1.1 (the MTA bounces the message, DSN to sender)
  busy@...        -> 451 4.3.0 (the MTA defers the message)
  anything else   -> 250

Every accepted transaction is appended as one JSON object per line to the
--log file (time, peer, helo, mail_from, accepted/rejected rcpts, size,
message-id, subject), so the recorder can check what was really delivered.

Usage: sink.py [--listen 127.0.0.1] [--port 2525] [--log sink.jsonl] [--pidfile F]
"""
import argparse
import asyncio
import datetime
import json
import os
import re
import signal

HOSTNAME = "sink.example.net"
COUNTER = 0


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def addr_of(arg):
    m = re.search(r"<([^>]*)>", arg)
    return m.group(1) if m else arg.split(":", 1)[-1].strip().split()[0] if arg else ""


class Session:
    def __init__(self, reader, writer, logf):
        self.r, self.w, self.logf = reader, writer, logf
        self.peer = writer.get_extra_info("peername")
        self.helo = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts, self.rejected = [], []

    async def send(self, line):
        self.w.write((line + "\r\n").encode())
        await self.w.drain()

    async def data(self):
        global COUNTER
        await self.send("354 End data with <CR><LF>.<CR><LF>")
        size, headers_done = 0, False
        msgid = subject = None
        while True:
            line = await self.r.readline()
            if not line:
                return False
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]
            size += len(line)
            if not headers_done:
                if line.strip() == b"":
                    headers_done = True
                else:
                    low = line.lower()
                    if low.startswith(b"message-id:"):
                        msgid = line.split(b":", 1)[1].strip().decode("ascii", "replace")
                    elif low.startswith(b"subject:"):
                        subject = line.split(b":", 1)[1].strip().decode("ascii", "replace")
        COUNTER += 1
        qid = "SINK%06d" % COUNTER
        rec = {
            "time": now(), "queue_id": qid, "peer": self.peer[0], "helo": self.helo,
            "mail_from": self.mail_from, "rcpts": self.rcpts, "rejected_rcpts": self.rejected,
            "size": size, "message_id": msgid, "subject": subject,
        }
        self.logf.write(json.dumps(rec) + "\n")
        self.logf.flush()
        await self.send("250 2.0.0 Ok: queued as %s" % qid)
        self.reset()
        return True

    async def run(self):
        await self.send("220 %s ESMTP sink" % HOSTNAME)
        while True:
            raw = await self.r.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.helo = arg
                self.reset()
                for l in ("250-%s" % HOSTNAME, "250-PIPELINING", "250-SIZE 52428800",
                          "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8"):
                    self.w.write((l + "\r\n").encode())
                await self.w.drain()
            elif verb == "HELO":
                self.helo = arg
                self.reset()
                await self.send("250 %s" % HOSTNAME)
            elif verb == "MAIL":
                self.reset()
                self.mail_from = addr_of(arg)
                await self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpt = addr_of(arg)
                local = rcpt.split("@", 1)[0].lower()
                if self.mail_from is None:
                    await self.send("503 5.5.1 Error: need MAIL command")
                elif local == "nosuchuser":
                    self.rejected.append([rcpt, 550])
                    await self.send("550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
                elif local == "busy":
                    self.rejected.append([rcpt, 451])
                    await self.send("451 4.3.0 <%s>: Temporary lookup failure, try again later" % rcpt)
                else:
                    self.rcpts.append(rcpt)
                    await self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not self.rcpts:
                    await self.send("554 5.5.1 Error: no valid recipients")
                elif not await self.data():
                    return
            elif verb == "RSET":
                self.reset()
                await self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                await self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                await self.send("221 2.0.0 Bye")
                return
            else:
                await self.send("502 5.5.2 Error: command not recognized")


async def main(args):
    logf = open(args.log, "a", buffering=1) if args.log else open(os.devnull, "w")

    async def handle(reader, writer):
        try:
            await Session(reader, writer, logf).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    server = await asyncio.start_server(handle, args.listen, args.port, reuse_address=True)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--log")
    p.add_argument("--pidfile")
    asyncio.run(main(p.parse_args()))
