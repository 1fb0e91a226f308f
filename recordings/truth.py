"""What the drivers of record_dovecot.sh and record_amavis.sh share: their command line
(`drive` one run, `merge` the runs) and the ground-truth file they write.

Each driver writes what it did in a run to a file of its own (`drive`), and the recorder
then gathers the runs into `recordings/<program>/scenarios.json` with the versions and
each recorded file's line count (`merge`), so that a test can tell a line lost from a
line never written.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
from typing import Any, Callable


def line_counts(directory: str) -> dict[str, int]:
    """Lines of each recorded (gzipped) file in `directory`, by name."""
    counts = {}
    for name in sorted(os.listdir(directory)):
        with gzip.open(os.path.join(directory, name), "rb") as fh:
            counts[name] = fh.read().count(b"\n")
    return counts


def runs_of(args: argparse.Namespace, program: str, setting: str) -> list[dict[str, Any]]:
    """The runs `merge` was given, each with its directory, its `setting` (what differs
    between the runs) and its files' line counts."""
    runs = []
    for path in args.runs:
        with open(path) as fh:
            run = json.load(fh)
        rdir = os.path.join(args.recordings, program, run["run"])
        runs.append({"run": run["run"], "dir": f"recordings/{program}/{run['run']}",
                     setting: run[setting], "files_line_counts": line_counts(rdir),
                     "scenarios": run["scenarios"]})
    return runs


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write(path: str, doc: dict[str, Any]) -> None:
    """`doc` as indented JSON, replacing `path` whole (a recorder killed half-way leaves
    the file it had)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


def main(description: str, program: str, setting: tuple[str, dict[str, Any]],
         scenarios: Callable[[], list[dict[str, Any]]],
         about: Callable[[argparse.Namespace], dict[str, Any]]) -> int:
    """`drive --run R --<setting> V --out F`: run `scenarios` and write what was done,
    even when one fails half-way; or `merge --into F --version V --debian D --recordings
    DIR [--program P] RUN...`: the runs of `program` (or of P, a second recording by the
    same driver, such as dovecot24) in one file, headed by what `about` says of them
    (description, versions, ports). `setting` is the option that tells the runs apart
    (`("--auth-verbose", {"choices": ["yes", "no"]})`)."""
    flag, options = setting
    name = flag.lstrip("-").replace("-", "_")
    p = argparse.ArgumentParser(description=description)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--run", required=True)
    d.add_argument(flag, required=True, **options)
    d.add_argument("--out", required=True)
    m = sub.add_parser("merge")
    for option in ("--into", "--version", "--debian", "--recordings"):
        m.add_argument(option, required=True)
    m.add_argument("--program", default=program,
                   help=f"the recordings' directory under --recordings (default {program})")
    m.add_argument("runs", nargs="+")
    args = p.parse_args()
    if args.command == "drive":
        doc: dict[str, Any] = {"run": args.run, name: getattr(args, name), "scenarios": []}
        try:
            doc["scenarios"] = scenarios()
        finally:
            write(args.out, doc)
    else:
        write(args.into, {**about(args), "recorded": now(),
                          "runs": runs_of(args, args.program, name)})
    return 0
