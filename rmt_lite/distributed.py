"""Processes under torchrun: rank, world size and device (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os

import torch

from .utils import get_device


# ------------------------------------------------------------------------------------------------
def _dist_env() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, world, local


def setup_distributed(device_name: str) -> tuple[int, int, torch.device, bool]:
    """Rank, world size and device; initialises the process group under torchrun (gloo on CPU,
    nccl on CUDA). Returns whether this call created the group (and must destroy it)."""
    import torch.distributed as dist

    rank, world, local = _dist_env()
    if world <= 1:
        return 0, 1, get_device(device_name), False
    device = get_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"device={device_name!r} is not allowed with {world} processes: cpu (gloo) or cuda (nccl)")
    created = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        created = True
    return dist.get_rank(), dist.get_world_size(), device, created


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    import platform

    n = torch.get_num_threads()
    return f"{dev.type} ({platform.processor() or platform.machine()}, {n} thread{'s' if n > 1 else ''})"
