"""The test suite. Each test process computes on one thread: the suite runs as two pytest-xdist
workers side by side, and a worker whose torch or NumPy threads wait for a core the other worker
holds spends CPU on spinning, not on tests. A thread count set in the environment wins."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in __import__("sys").modules:  # imported before this package: the variable came late
    __import__("torch").set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
