"""Start ``main.py`` held at one training step (``tests/held_main.py``) and wait for it there:
the test then signals a process whose position is known, with no sleep and no deadline."""
import os
import subprocess
import sys

from tests.runs_helper import ENV, REPO

HELD_MAIN = os.path.join(REPO, "tests", "held_main.py")


def start_held(args, step, cwd=REPO, env=ENV):
    """Run ``main.py args`` until just before its ``step``-th training step (1-based) and
    return the held process (stdin, stdout and stderr are pipes; closing stdin lets it go).
    Fails if the process ends before it gets there."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen([sys.executable, HELD_MAIN, *args], cwd=cwd,
                               env=dict(env, HOLD_STEP=str(step), HOLD_FD=str(write_end)),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, pass_fds=(write_end,))
    os.close(write_end)
    with os.fdopen(read_end) as held:
        line = held.readline()   # end of file if the process ends first
    if line != "held\n":
        _, err = process.communicate()
        raise AssertionError(f"main.py ended before step {step}: {err}")
    return process


def release(process):
    """Let a held process go on; returns (stdout, stderr) once it has ended."""
    return process.communicate(input="")
