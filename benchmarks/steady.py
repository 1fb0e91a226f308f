"""`make bench` (steady part): what a follower costs once its history is full.

`follow.py` runs in real time, so it sees a follower's first minutes only; the rules keep
up to six hours of rows, links a day. Here the follower's own pass (`run_pass` with its
`Memory`, as `mail-logwatch follow` calls it) runs back to back on lines of the benchmark
log stamped with a log clock that moves PASS seconds a pass, at RATE lines per second of
log time: seven hours of a server at 333 lines/s take a few minutes. Checkpoints are due
by the log's clock, as often as a follower in real time writes them. Reported per hour of
log time: the median and worst pass, the rows the follower carries (the rules' events,
the messages, the lines kept for evidence) and its resident memory. `--live-passes N`
then makes N passes of one second of log each, as a follower in real time makes them on
a server of that rate: what it costs to follow a quiet server once its history is full.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.follow import next_line  # noqa: E402
from benchmarks.run import RESULTS, ensure_log  # noqa: E402
from logwatch.config import load_config  # noqa: E402
from logwatch.history import Kept  # noqa: E402
from logwatch.live import Memory, deliver_outbox, run_pass  # noqa: E402
from logwatch.state import State  # noqa: E402

#: where the log clock starts: a fixed instant, so runs are alike
_START = 1_790_000_000


def _rss_mib() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) // 1024 for line in status.splitlines()
                if line.startswith("VmRSS:"))


def _stamped(source: BinaryIO, count: int, start: int, seconds: int) -> bytes:
    """`count` lines of the log, their BSD stamps replaced by ones spread evenly over
    `seconds` of log time from `start`."""
    stamps = [time.strftime("%b %e %H:%M:%S", time.gmtime(start + s)).encode()
              for s in range(seconds)]
    return b"".join(stamps[i * seconds // count] + next_line(source)[15:]
                    for i in range(count))


def _rows(kept: Kept | None) -> int:
    return 0 if kept is None else kept.table.num_rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=int, default=333, help="lines per second of log time")
    ap.add_argument("--hours", type=float, default=7.0, help="hours of log time")
    ap.add_argument("--pass-seconds", type=int, default=60,
                    help="seconds of log time each pass reads")
    ap.add_argument("--live-passes", type=int, default=0,
                    help="then this many passes of one second of log each")
    ap.add_argument("--out", default="steady.json", help="file name under results/")
    args = ap.parse_args()
    # one core, as the other benchmarks (the checkpoint's thread shares it)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    source = open(ensure_log("1M"), "rb")
    per_pass = args.rate * args.pass_seconds
    passes = int(args.hours * 3600 / args.pass_seconds)
    hours: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        log, cfg_path = Path(tmp) / "mail.log", Path(tmp) / "config.toml"
        log.touch()
        cfg_path.write_text(f'state_dir = "{tmp}/state"\n[site]\ntimezone = "UTC"\n'
                            f'[[sources]]\npath = "{log}"\n')
        cfg = load_config(cfg_path)
        now = [float(_START)]
        state, memory = State(cfg.state_dir), Memory(clock=lambda: now[0])
        times: list[float] = []

        def one_pass(start: int, seconds: int) -> float:
            """Append `seconds` of log from `start`, and time the pass that reads it."""
            with open(log, "ab") as f:
                f.write(_stamped(source, args.rate * seconds, start, seconds))
            now[0] = start + seconds
            started = time.perf_counter()
            run_pass(cfg, state, memory=memory)
            deliver_outbox(cfg, state)
            return time.perf_counter() - started

        for i in range(passes):
            times.append(one_pass(_START + i * args.pass_seconds, args.pass_seconds))
            log_hours = (i + 1) * args.pass_seconds / 3600
            if log_hours.is_integer() or i == passes - 1:
                carried = memory.carried
                assert carried is not None
                hours.append({
                    "log_hours": round(log_hours, 2),
                    "pass_median_s": round(statistics.median(times), 3),
                    "pass_worst_s": round(max(times), 3),
                    "events_kept": _rows(carried.events),
                    "messages_kept": _rows(carried.messages),
                    "lines_kept": _rows(carried.lines),
                    "rss_mib": _rss_mib()})
                print(json.dumps(hours[-1]), flush=True)
                times = []
        end = _START + passes * args.pass_seconds
        live = [one_pass(end + i, 1) for i in range(args.live_passes)]
        memory.checkpoint(state)
        state.close()
    result: dict[str, Any] = {"rate_lines_per_s": args.rate,
                              "pass_log_seconds": args.pass_seconds,
                              "lines_per_pass": per_pass, "hours": hours}
    if live:
        result["one_second_passes"] = {"passes": len(live),
                                       "median_s": round(statistics.median(live), 3),
                                       "worst_s": round(max(live), 3)}
        print(json.dumps(result["one_second_passes"]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
