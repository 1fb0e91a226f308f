"""`make bench`: time `mail-logwatch parse`, `detect` and `report` against pflogsumm on generated
busy-server logs.

Prints lines/s and peak memory (Pss summed over the process tree, sampled from /proc) for `parse`
to Parquet with correlation and for `detect` with the built-in rules, each on one core
(`taskset -c 0`, `-j 1`) and on two (`-j 2`), and pflogsumm's time on the same file when
it is installed. The figures are written to benchmarks/results/parse.json so that a note
can quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
SIZES = {"1M": 1_000_000, "5M": 5_000_000}


def ensure_log(label: str) -> Path:
    path = DATA / f"postfix-{label}.log"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--lines",
                        str(SIZES[label]), "--out", str(path), "--quiet"], check=True)
    return path


def _tree_rss_kib(pid: int) -> int:
    """Memory of a process and all its descendants, in KiB: the sum of their proportional
    set sizes (Pss), so that pages a forked worker shares with its parent (the
    interpreter, the libraries) count once, not once per process as summed RSS would."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `cmd` and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):   # 1: --fail-on-alert (not used); 2 and 75 fail
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, peak


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


CRON_LINES = 100_000


def cron_runs(exe: str, taskset: str | None, tmp: Path) -> list[tuple[str, str, int, float, int]]:
    """`run` (cron mode) over 100k new lines, start-up included: the first run of a
    source, then the next run after another 100k lines, with the state the first left."""
    log, state, cfg = tmp / "cron" / "mail.log", tmp / "cron" / "state", tmp / "cron.toml"
    log.parent.mkdir()
    cfg.write_text(f'state_dir = "{state}"\n[site]\ntimezone = "UTC"\n'
                   f'[[sources]]\npath = "{log}"\n')
    source = ensure_log("1M")
    with open(source, "rb") as fh:
        chunks = [b"".join(fh.readline() for _ in range(CRON_LINES)) for _ in range(2)]
    out = []
    for name, chunk in zip(("run, first (1 core)", "run, next (1 core)"), chunks):
        with open(log, "ab") as fh:
            fh.write(chunk)
        cmd = [exe, "run", "--quiet", "--config", str(cfg)]
        if taskset:
            cmd = [taskset, "-c", "0", *cmd]
        secs, rss = measure(cmd)
        out.append(("100k", name, CRON_LINES, secs, rss))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the 1M-line log only")
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure (best is kept)")
    args = ap.parse_args()
    labels = ["1M"] if args.quick else ["1M", "5M"]
    exe = shutil.which("mail-logwatch") or str(Path(sys.executable).with_name("mail-logwatch"))
    taskset = shutil.which("taskset")
    pflogsumm = shutil.which("pflogsumm")
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "runs": [],
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "events.parquet"
        for label in labels:
            log = ensure_log(label)
            lines = count_lines(log)
            subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # cache
            cases = [("parse -j 1 (1 core)", ["parse", "--out", str(out), "-j", "1"], "0"),
                     ("parse -j 2 (2 cores)", ["parse", "--out", str(out), "-j", "2"], "0,1"),
                     # alerts go to stdout, which measure() discards
                     ("detect -j 1 (1 core)", ["detect", "-j", "1"], "0"),
                     ("detect -j 2 (2 cores)", ["detect", "-j", "2"], "0,1"),
                     # the report goes to stdout, which measure() discards
                     ("report -j 1 (1 core)", ["report", "--format", "json", "-j", "1"], "0"),
                     ("report -j 2 (2 cores)", ["report", "--format", "json", "-j", "2"],
                      "0,1")]
            for name, (command, *rest), cpus in cases:
                cmd = [exe, command, str(log), "--tz", "UTC", *rest]
                if taskset:
                    cmd = [taskset, "-c", cpus, *cmd]
                best = min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r[0])
                rows.append((label, name, lines, *best))
            if pflogsumm:
                cmd = [pflogsumm, str(log)]
                if taskset:
                    cmd = [taskset, "-c", "0", *cmd]
                best = min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r[0])
                rows.append((label, "pflogsumm (1 core)", lines, *best))
        rows += cron_runs(exe, taskset, Path(tmp))
    base: dict[str, float] = {}
    print(f"{'log':4} {'command':24} {'lines':>9} {'seconds':>8} {'lines/s':>10} "
          f"{'peak RSS':>9} {'vs pflogsumm':>12}")
    for label, name, lines, secs, rss in rows:
        if name.startswith("pflogsumm"):
            base[label] = secs
    for label, name, lines, secs, rss in rows:
        ratio = f"{base[label] / secs:.1f}x" if label in base and not name.startswith("pf") else ""
        print(f"{label:4} {name:24} {lines:9d} {secs:8.2f} {lines / secs:10,.0f} "
              f"{rss / 1024:7.0f}MB {ratio:>12}")
        results["runs"].append({"log": label, "command": name, "lines": lines,
                                "seconds": round(secs, 3), "lines_per_s": round(lines / secs),
                                "peak_rss_mib": round(rss / 1024)})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "parse.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS / 'parse.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
