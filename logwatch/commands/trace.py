"""`mail-logwatch trace QUERY FILE...`: every line and message touching a queue id, an
address, an IP or a Message-ID (or a domain, a network, a SASL user), in time order,
following `queued as` hand-offs, bounces and forwards (what exigrep and collate.pl do,
for Postfix, Exim and Sendmail alike). Inputs are read twice: a pipe, a FIFO or `-` is
copied to a temporary file first (`trace QUERY <(zcat old.log.gz)` works, as with
exigrep; compressed files are read as they are).

exigrep's own mode, for what no field holds (a return path `P=<...>`, an address in an
Exim `for` list, a reject's text, part of a HELO or an address): `--kind regex` matches
QUERY, an RE2 regular expression, against each line as written, header and all;
`--kind text` looks for it as a piece of text (exigrep -l). Both ignore case unless
-I/--case-sensitive (exigrep -I). Every message with a line that matches comes whole,
with what any trace brings: its parents and children, its session. These two read the
inputs once more, raw, before the two passes.

Text for a person: one block per message, then the lines as `file (byte N): line`, with
control characters shown escaped (log lines are attacker-controlled). `--format jsonl`
for machines: one object per message (`"record": "message"`, the messages table's row),
then one per line (`"record": "event"`, the event row and the `line` it came from).
Exit codes as grep's: 0 something was found, 1 nothing was, 2 bad usage or an unreadable
input (what the other inputs hold is still printed).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.alerts import rfc3339
from logwatch.commands.parse import add_input_options, options_from
from logwatch.commands.say import print_errors, print_notes
from logwatch.output import rows_as_json
from logwatch.pipeline import default_parsers
from logwatch.sanitize import for_terminal, placed_line
from logwatch.spool import as_asked, rereadable
from logwatch.trace import KINDS, Trace, parse_query, trace_files

__all__ = ["register", "run", "trace_text", "placed_lines"]

EXIT_FOUND, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("trace", help="every line and message touching a queue id, "
                       "address, IP or Message-ID, or matching a regular expression",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", metavar="QUERY",
                   help="an IP address; an address or Message-ID (local@domain: both are "
                        "looked for unless --kind says which); a Message-ID in brackets "
                        "(<id@host>: looked for as an address only when no line has it as "
                        "a Message-ID); a queue id; every address of a domain (@domain); "
                        "every client or relay of a network (198.51.100.0/24); with "
                        "--kind user, a SASL username; with --kind regex, a regular "
                        "expression (RE2) any line may match; with --kind text, a piece of "
                        "text any line may contain")
    add_input_options(p)
    p.add_argument("--kind", choices=KINDS, help="what QUERY is, when its shape is ambiguous; "
                   "regex and text are never guessed")
    p.add_argument("-I", "--case-sensitive", action="store_true",
                   help="with --kind regex or text: match case as written (exigrep -I); "
                        "they ignore it by default, as exigrep does")
    p.add_argument("--format", dest="out_format", choices=("text", "lines", "jsonl"),
                   default="text", help="text: the messages, then their lines; lines: the "
                   "lines alone, without the messages' summaries (for grep and less); "
                   "jsonl: both for machines")
    p.set_defaults(run=run)


def _when(us: int | None) -> str:
    return "?" if us is None else rfc3339(us)


def _client(m: dict[str, Any]) -> str:
    if m["client_ip"] is None:   # local submission: a name at most (localhost)
        return m["client_name"] or "-"
    text = f"{m['client_name'] or ''}[{m['client_ip']}]"  # as Sendmail logs a nameless one
    notes = [f"helo {m['helo']}" if m["helo"] else "",
             f"user {m['sasl_username']}" if m["sasl_username"] else "",
             "TLS" if m["tls_in"] else ""]
    return text + "".join(f", {n}" for n in notes if n)


def _status(m: dict[str, Any], events: set[str]) -> str:
    """The outcome, and what exigrep tells too: a message held (Exim: frozen) and one
    still in the queue where the lines end (no `removed`/`Completed`, where the MTA logs
    them)."""
    counts = ", ".join(f"{m[k]} {k}" for k in ("delivered", "deferred", "bounced", "expired",
                                               "rejected") if m[k])
    unfinished = "removed" not in events and any(
        f.mta.name == m["mta"] and f.mta.logs_removal for f in default_parsers().files)
    notes = ["held" if "hold" in events else "",
             "not completed in these lines" if unfinished else ""]
    return (f"{m['status'] or 'unknown'}" + (f" ({counts})" if counts else "")
            + "".join(f"; {n}" for n in notes if n))


def _events_of(messages: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[set[str]]:
    """Each message's events among the traced lines: its host and queue id, within its
    lifetime (a queue id comes back months later as another message)."""
    out: list[set[str]] = [set() for _ in messages]
    at = {(m["host"], m["queue_id"]): [] for m in messages}
    for i, m in enumerate(messages):
        at[(m["host"], m["queue_id"])].append(i)
    for r in rows:
        for i in at.get((r["host"], r["queue_id"]), ()):
            if messages[i]["first_seen"] <= r["ts"] <= messages[i]["last_seen"]:
                out[i].add(r["event"])
    return out


def _message_block(m: dict[str, Any], children: list[str], events: set[str]) -> list[str]:
    where = "/".join(p for p in (m["host"], m["instance"]) if p)
    to = ", ".join(m["recipients"]) or "-"
    if m["orig_recipients"]:
        to += f" (originally {', '.join(m['orig_recipients'])})"
    fields = [("origin", m["origin"] or "-"), ("client", _client(m)),
              ("from", "-" if m["sender"] is None else f"<{m['sender']}>"), ("to", to),
              ("status", _status(m, events)),
              ("size", "-" if m["size"] is None else str(m["size"])),
              ("relays", ", ".join(m["relays"]) or "-"),
              ("message-id", f"<{m['message_id']}>" if m["message_id"] else "-"),
              ("parent", m["parent"] or "-"), ("children", ", ".join(children) or "-")]
    head = (f"message {m['queue_id']}  {where}  {_when(m['first_seen'])} .. "
            f"{_when(m['last_seen'])}")
    return [for_terminal(head)] + [f"  {k:<11}{for_terminal(v)}" for k, v in fields]


def _children(messages: list[dict[str, Any]]) -> dict[tuple[str | None, str], list[str]]:
    """Each traced message's traced children, by (host, queue id)."""
    out: dict[tuple[str | None, str], list[str]] = {}
    for m in messages:
        if m["parent"] is not None:
            out.setdefault((m["host"], m["parent"]), []).append(m["queue_id"])
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def placed_lines(result: Trace) -> list[str]:
    """The traced lines in time order, each after its file and byte offset, once (a
    Sendmail line with several recipients is several rows)."""
    shown: set[tuple[str, int | None]] = set()
    lines = []
    for r in result.events.select(["source", "offset", "line"]).to_pylist():
        if (r["source"], r["offset"]) in shown:
            continue
        shown.add((r["source"], r["offset"]))
        text = r["line"] if r["line"] is not None else "(not readable again)"
        lines.append(placed_line(r["source"], r["offset"], text))
    return lines


def trace_text(result: Trace) -> str:
    """The trace for a terminal or a mail: messages first, then the lines in time order."""
    table = result.messages
    for name in ("first_seen", "last_seen"):   # as microseconds, for rfc3339
        table = table.set_column(table.schema.get_field_index(name), name,
                                 pc.cast(table[name], pa.int64()))
    messages = table.to_pylist()
    keyed = result.events.select(["host", "queue_id", "event", "ts"])
    keyed = keyed.set_column(3, "ts", pc.cast(keyed["ts"], pa.int64()))
    events = _events_of(messages, keyed.to_pylist())
    lines = placed_lines(result)
    kinds = " or ".join(k.replace("-", " ") for k in result.query.kinds)
    if result.query.case_sensitive:
        kinds += ", case-sensitive"
    if result.asked is not None:
        kinds += f"; no {' or '.join(k.replace('-', ' ') for k in result.asked.kinds)} matched"
    out = [f"trace {for_terminal(result.query.value)} ({kinds}): "
           f"{_count(len(messages), 'message')}, {_count(len(lines), 'line')}", ""]
    children = _children(messages)
    for m, seen in zip(messages, events):
        out += _message_block(m, children.get((m["host"], m["queue_id"]), []), seen) + [""]
    return "\n".join(out + lines) + "\n"


def _tagged(table: pa.Table, record: str) -> pa.Table:
    return table.append_column("record", pa.array([record] * table.num_rows, pa.string()))


def _as_asked(result: Trace, asked: dict[str, str]) -> Trace:
    """`result` with the spool files named as the inputs were."""
    if not asked:
        return result
    sources = result.events["source"]
    named = pa.array([as_asked(s, asked) for s in sources.to_pylist()], sources.type)
    events = result.events.set_column(result.events.schema.get_field_index("source"),
                                      "source", named)
    return replace(result, events=events, errors=[as_asked(e, asked) for e in result.errors],
                   warnings=[as_asked(w, asked) for w in result.warnings])


def run(args: argparse.Namespace) -> int:
    query = parse_query(args.query, args.kind, args.case_sensitive)
    with rereadable(args.files) as (names, asked):
        result = _as_asked(trace_files(names, default_parsers(), options_from(args), query),
                           asked)
    if args.out_format == "jsonl":
        for table, record in ((result.messages, "message"), (result.events, "event")):
            for line in rows_as_json(_tagged(table, record)):
                sys.stdout.write(line + "\n")
    elif args.out_format == "lines":
        sys.stdout.writelines(line + "\n" for line in placed_lines(result))
    else:
        sys.stdout.write(trace_text(result))
    sys.stdout.flush()
    if result.asked is not None:
        print(f"mail-logwatch: trace: no line has the Message-ID <{for_terminal(query.value)}>"
              f"; traced as the address {for_terminal(query.value)} instead", file=sys.stderr)
    if not result.found and args.kind is None and query.kinds == ("queue-id",):
        # a bare word is read as a queue id: say what else it could have been asked as
        word = for_terminal(query.value)
        print(f"mail-logwatch: trace: no queue id {word} in these lines; a SASL username "
              f"is asked as --kind user {word}, a domain as @{word}, any part of a line as "
              f"--kind text {word}", file=sys.stderr)
    print_notes(result.warnings)
    print_errors(result.errors)
    if result.errors:
        return EXIT_USAGE
    return EXIT_FOUND if result.found else EXIT_NOTHING
