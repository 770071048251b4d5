"""A cheap guard against allocations that cannot fit: refuse them from their arithmetic, before
the first byte is allocated, instead of being killed by the kernel half-way through."""

GB = 1e9


def available_bytes():
    """Bytes of memory this process may still allocate, or None where that cannot be read.

    Linux: ``MemAvailable`` of /proc/meminfo, capped by the cgroup v2 limit (memory.max minus
    memory.current) when the process runs in one with a limit.
    """
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read())
        if limit != "max" and available is not None:
            available = min(available, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return available


def check_fits(nbytes, what):
    """Raise a one-line ValueError when ``nbytes`` exceed the memory available now.

    Args:
        nbytes: the bytes the caller is about to allocate (an estimate of its peak).
        what: the start of the message, naming the config key or file, e.g.
            ``"data.synthetic: 10 classes x 120 images of 3x32x32"``.
    """
    available = available_bytes()
    if available is not None and nbytes > available:
        raise ValueError(f"{what} need about {nbytes / GB:.1f} GB of memory; "
                         f"{available / GB:.1f} GB is available")
