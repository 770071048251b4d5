"""``main.py`` that, once its first epoch has ended and ``last.pt`` holds it, waits for a stop
signal (SIGINT or SIGTERM, what a study sends when its budget is used up) and only then goes on,
so that a budget stops the run at that known point whatever the machine's speed.

Usage: ``python tests/stop_waiting_main.py <main.py arguments>`` (the ``main`` of a scheduler).
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import main  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

eager_end_epoch = Trainer._end_epoch


def end_epoch_then_wait(trainer, epoch, seconds):
    """The usual end of epoch; after the first, block until the trainer's stop flag is set.

    A signal that arrives after ``set_wakeup_fd`` writes a byte to the pipe, so the read below
    returns even when the signal came between the flag's check and the read."""
    if epoch == 0:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end)
    eager_end_epoch(trainer, epoch, seconds)
    while epoch == 0 and not trainer.stop_requested:
        os.read(read_end, 1)


Trainer._end_epoch = end_epoch_then_wait
sys.exit(main.main(sys.argv[1:]))
