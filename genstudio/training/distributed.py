"""Several processes training one model (launched by torchrun): set-up and the few collective operations.

Gradients are averaged by hand after each backward pass, over exactly the parameters of the optimizer about to
step, as StyleGAN2-ADA does (training/training_loop.py), rather than by wrapping modules in
DistributedDataParallel: a GAN step runs D inside G's loss (and G inside D's) with some parameters frozen, which
DDP's per-module reduction hooks handle badly. Rank 0 alone writes files, logs and reports progress.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # True when `join_world` created the process group (and so destroys it)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def join_world(device_type: str) -> World:
    """Join the process group torchrun describes in RANK / WORLD_SIZE (nccl on CUDA, gloo otherwise)."""
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or "RANK" not in os.environ:
        return World()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=rank, world_size=world_size)
        owns = True
    return World(dist.get_rank(), dist.get_world_size(), local_rank, owns)


def leave_world(world: World) -> None:
    import torch.distributed as dist

    if world.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.active:
        import torch.distributed as dist

        dist.barrier()


def broadcast_modules(world: World, modules: Iterable[torch.nn.Module]) -> None:
    """Give every rank rank 0's parameters and buffers (after each rank built its own initial weights)."""
    if not world.active:
        return
    import torch.distributed as dist

    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_gradients(world: World, params: Iterable[torch.nn.Parameter]) -> None:
    """Average the gradients of `params` over all ranks, in one flat all-reduce."""
    if not world.active:
        return
    import torch
    import torch.distributed as dist

    with_grad = [param for param in params if param.grad is not None]
    if not with_grad:
        return
    flat = torch.cat([param.grad.flatten() for param in with_grad])
    dist.all_reduce(flat)
    flat /= world.world_size
    for param, grad in zip(with_grad, flat.split([param.numel() for param in with_grad]), strict=True):
        param.grad.copy_(grad.view_as(param.grad))


def any_rank(world: World, flag: bool, device: torch.device) -> bool:
    """True on every rank when `flag` is True on any (so all ranks stop together)."""
    if not world.active:
        return flag
    import torch
    import torch.distributed as dist

    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)
