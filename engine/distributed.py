"""Data-parallel set-up for runs started with ``torchrun``.

``torchrun --nproc_per_node=N main.py --config C`` starts N processes with RANK, LOCAL_RANK and
WORLD_SIZE in their environment. Each process trains on its own shard of every global batch;
DistributedDataParallel averages the gradients, and rank 0 alone prints, logs and saves.
Without torchrun the run is a single process and nothing here touches torch.distributed.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """Where this process runs: its rank among ``world_size`` processes and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self):
        """True for the process that prints, logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self):
        return self.world_size > 1


def choose_device(preference, local_rank=0):
    """``torch.device`` for the ``device`` config key ("auto" | "cpu" | "cuda")."""
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: got 'cuda'; no CUDA device is available (use auto or cpu)")
    if preference == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def setup(device_preference):
    """Create the process group when started by torchrun; return this process's Context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Context(rank=0, world_size=1, device=choose_device(device_preference))
    local_rank = int(os.environ["LOCAL_RANK"])
    device = choose_device(device_preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank=dist.get_rank(), world_size=world_size, device=device)


def teardown(context):
    """Destroy the process group, if this run made one."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor, context):
    """Sum ``tensor`` over all processes in place (a no-op for one process); returns it."""
    if context.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
