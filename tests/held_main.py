"""``main.py`` held at one training step until the test lets it go, so that a signal lands at
a known step whatever the machine's speed.

Usage: ``python tests/held_main.py <main.py arguments>`` with HOLD_STEP=N (the 1-based count of
training steps in this process) and HOLD_FD (a pipe's write end). Before step N the process
writes one line to HOLD_FD, then blocks reading its stdin until end of file; a signal that
arrives meanwhile is handled as usual (the trainer notes a stop request), and the step runs
once the test closes stdin.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import main  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

HOLD_STEP = int(os.environ["HOLD_STEP"])
eager_step = Trainer.train_step
calls = []


def held_step(trainer, images, labels):
    calls.append(1)
    if len(calls) == HOLD_STEP:
        with os.fdopen(int(os.environ["HOLD_FD"]), "w") as signal_pipe:
            signal_pipe.write("held\n")
        sys.stdin.read()
    return eager_step(trainer, images, labels)


Trainer.train_step = held_step
sys.exit(main.main(sys.argv[1:]))
