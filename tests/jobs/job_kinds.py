"""Test-only job runners, imported by name in the job's child process (tests/jobs is put on sys.path).

Each follows the runner contract of genstudio.jobs.runners: (params, progress, abort) -> dict.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

from genstudio.errors import UserError
from genstudio.events import Progress


def count(params, progress, abort):
    """Count to params["steps"], sleeping params["sleep"] per step; logs each step; honours abort.

    Resumed (params["resume"]), it pretends the earlier run did all but the last step.
    """
    steps, sleep = int(params.get("steps", 3)), float(params.get("sleep", 0.0))
    first = steps - 1 if params.get("resume") else 0
    reporter = Progress(progress, "Counting", total=steps, abort=abort, done=first)
    for step in range(first, steps):
        reporter.check_abort()
        time.sleep(sleep)
        reporter.update(step + 1, value=float(step))
        reporter.log(f"step {step + 1} of {steps}")
    reporter.finish()
    return {"steps": steps, "resume": bool(params.get("resume")), "pid": os.getpid()}


def crash(params, progress, abort):
    """Die hard: "exit" (os._exit(7)), "kill" (SIGKILL to itself, like the OOM killer) or "segv" (a NULL read)."""
    Progress(progress, "Crashing", total=1).log("about to crash")
    mode = params.get("mode", "exit")
    if mode == "exit":
        os._exit(7)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    ctypes.string_at(0)
    return {}


def fail(params, progress, abort):
    """Raise a UserError (params["user"]) or a bug."""
    if params.get("user", True):
        raise UserError("the input folder\nis empty")
    raise RuntimeError("a bug in a runner")


def wait_for_cancel(params, progress, abort):
    """Report progress until aborted; then return {"cancelled": True} (or, with stubborn=True, never stop)."""
    reporter = Progress(progress, "Waiting", total=None, abort=abort)
    deadline = time.monotonic() + float(params.get("timeout", 30))
    ticks = 0
    while time.monotonic() < deadline:
        if abort() and not params.get("stubborn"):
            return {"cancelled": True, "ticks": ticks}
        ticks += 1
        reporter.update(ticks)
        time.sleep(0.02)
    return {"cancelled": False, "ticks": ticks}
