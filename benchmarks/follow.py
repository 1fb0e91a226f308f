"""`make bench` (follow part): does `follow` keep up with a busy server, and how soon
does an alert leave after the line that completes it?

A writer appends lines of the benchmark log at RATE lines/s for SECONDS seconds, in
tenth-of-a-second slices, with a planted burst of SASL failures from a fresh address
every BURST_EVERY seconds; the follower (`mail-logwatch follow`, one core) prints alerts
as JSON lines. Reported: alert latency per burst (from writing the burst's fifth line to
the alert on stdout), how long after the writer stops the follower has alerted on
every burst, and the follower's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.run import RESULTS, ensure_log  # noqa: E402


def _burst(n: int, stamp: str) -> bytes:
    ip = f"198.18.{n // 250}.{n % 250 + 1}"
    return b"".join(
        f"{stamp} mx1 postfix/smtpd[9{n:04d}]: warning: unknown[{ip}]: SASL LOGIN "
        f"authentication failed: UGFzc3dvcmQ6\n".encode() for _ in range(5))


def next_line(source: BinaryIO) -> bytes:
    """The benchmark log's next line, from its start again when it runs out."""
    line = source.readline()
    if not line:
        source.seek(0)
        line = source.readline()
    return line


def _peak_rss_mib(pid: int) -> int | None:
    """The follower's peak resident memory so far, in MiB: the kernel's high-water mark
    (VmHWM) of its one process, exact where run.py's sampled Pss of a tree could miss
    a short peak."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines()
               if line.startswith("VmHWM:")), None)
    return None if kb is None else kb // 1024


def _zone() -> str:
    """The machine's zone, which the stamps written here are in."""
    from logwatch.parse.clock import machine_zone
    return machine_zone()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--burst-every", type=float, default=10.0)
    args = ap.parse_args()
    exe = shutil.which("mail-logwatch") or str(Path(sys.executable).with_name("mail-logwatch"))
    source = open(ensure_log("1M"), "rb")
    with tempfile.TemporaryDirectory() as tmp:
        log, cfg = Path(tmp) / "mail.log", Path(tmp) / "config.toml"
        log.touch()
        cfg.write_text(f'state_dir = "{tmp}/state"\n[site]\ntimezone = "{_zone()}"\n'
                       f'[[sources]]\npath = "{log}"\n')
        cmd = [exe, "follow", "--config", str(cfg)]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
        follower = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(Path(tmp) / "err", "w"),
                                    text=True)
        seen: dict[str, float] = {}

        def watch() -> None:
            assert follower.stdout is not None
            for line in follower.stdout:
                alert = json.loads(line)
                if alert["rule"] == "auth_failure_burst":
                    seen.setdefault(alert["key"]["client_ip"], time.time())

        threading.Thread(target=watch, daemon=True).start()
        time.sleep(2)                                   # start-up
        planted: dict[str, float] = {}
        written = 0
        start = time.time()
        next_burst = start + 1
        with open(log, "ab") as out:
            while time.time() - start < args.seconds:
                slice_start = time.time()
                # the benchmark log's lines, stamped now: the rules' history then holds
                # what a live server's would (an old stamp would fall out of it at once)
                now = time.strftime("%b %e %H:%M:%S", time.localtime()).encode()
                chunk = b"".join(now + next_line(source)[15:] for _ in range(args.rate // 10))
                out.write(chunk)
                written += args.rate // 10
                if time.time() >= next_burst:
                    n = len(planted)
                    stamp = time.strftime("%b %e %H:%M:%S", time.localtime())
                    out.write(_burst(n, stamp))
                    out.flush()
                    planted[f"198.18.{n // 250}.{n % 250 + 1}"] = time.time()
                    next_burst += args.burst_every
                out.flush()
                time.sleep(max(0.0, 0.1 - (time.time() - slice_start)))
        stopped = time.time()
        deadline = stopped + 120
        while time.time() < deadline and not set(planted) <= set(seen):
            time.sleep(0.2)
        caught_up = time.time() - stopped
        peak_mib = _peak_rss_mib(follower.pid)
        follower.terminate()
        follower.wait(timeout=60)
        missing = sorted(set(planted) - set(seen))
        if missing:   # what the follower said, and the lines of the bursts it missed
            print((Path(tmp) / "err").read_text()[-2000:], file=sys.stderr)
            with open(log, "rb") as fh:
                print([line for line in fh if any(ip.encode() in line for ip in missing)],
                      file=sys.stderr)
    latencies = [seen[ip] - t for ip, t in planted.items() if ip in seen]
    # the worst of each minute: whether a longer run, with more history, is slower
    by_minute: dict[int, float] = {}
    for ip, t in planted.items():
        if ip in seen:
            minute = int((t - start) // 60)
            by_minute[minute] = max(by_minute.get(minute, 0.0), seen[ip] - t)
    result = {"rate": args.rate, "seconds": args.seconds, "lines": written,
              "achieved_rate": round(written / (stopped - start)),
              "bursts": len(planted), "alerted": len(latencies),
              "latency_max_s": round(max(latencies), 2) if latencies else None,
              "latency_median_s": round(sorted(latencies)[len(latencies) // 2], 2)
              if latencies else None,
              "latency_max_by_minute_s": [round(by_minute[m], 2) for m in sorted(by_minute)],
              "all_alerted_after_writer_stopped_s": round(caught_up, 2),
              "follower_peak_rss_mib": peak_mib}
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "follow.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if latencies and len(latencies) == len(planted) else 1


if __name__ == "__main__":
    raise SystemExit(main())
