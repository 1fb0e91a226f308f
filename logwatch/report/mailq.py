"""pflogsumm's --mailq: what is in the queue now, as the MTA's own `mailq` lists it, put
at the end of the report. Postfix, Exim and Sendmail each install a `mailq`; the one
on PATH is the MTA's. Its output is kept as text for the renderers to escape (a queued
sender is whatever a client typed), and a `mailq` that is missing, fails or hangs is
said in the report rather than left out (pflogsumm prints the heading and nothing).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

__all__ = ["MAILQ_TIMEOUT", "current_queue"]

#: seconds a `mailq` may take (Postfix's asks the queue manager; a stuck one would hang
#: the cron job that waits for the report)
MAILQ_TIMEOUT = 60


def current_queue(command: str = "mailq") -> dict[str, Any]:
    """`command` found on PATH and run: `command` (its path), `exit_status`, `output`
    (its standard output) and `error` (None, or what went wrong, with its standard
    error: Postfix's `mail system is down`)."""
    path = shutil.which(command)
    if path is None:
        return {"command": command, "exit_status": None, "output": "",
                "error": f"--mailq: no {command} on PATH"}
    try:
        done = subprocess.run([path], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=MAILQ_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {"command": path, "exit_status": None, "output": "",
                "error": f"--mailq: {path} gave no answer in {MAILQ_TIMEOUT} s"}
    except OSError as exc:
        return {"command": path, "exit_status": None, "output": "",
                "error": f"--mailq: {path}: {exc.strerror}"}
    said = done.stderr.decode("utf-8", "replace").strip()
    error = None if done.returncode == 0 else \
        f"--mailq: {path} exited with status {done.returncode}" + (f": {said}" if said else "")
    return {"command": path, "exit_status": done.returncode,
            "output": done.stdout.decode("utf-8", "replace"), "error": error}
