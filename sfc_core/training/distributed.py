"""The few torch.distributed pieces training needs, so one code path serves one process and
`torchrun --nproc_per_node N` (gloo on CPU, nccl on GPU) alike."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import pick_device


@dataclass(frozen=True)
class Context:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup() -> Context:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); else a one-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Context(0, 1, pick_device())
    use_cuda = torch.cuda.is_available() and os.environ.get("SFC_DEVICE", "cuda") != "cpu"
    if use_cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device("cuda", torch.cuda.current_device()) if use_cuda else torch.device("cpu")
    return Context(dist.get_rank(), world_size, device)


def teardown(context: Context) -> None:
    if context.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: Context) -> None:
    if context.world_size > 1:
        dist.barrier()


def reduce(values: list[float], context: Context, op: str = "sum") -> list[float]:
    """Sum (or min) a few numbers over all ranks."""
    if context.world_size == 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=context.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MIN)
    return tensor.tolist()


def max_difference_from_rank0(tensor: torch.Tensor, context: Context) -> float:
    """Largest absolute difference between this tensor on any rank and on rank 0 (0.0: in sync)."""
    if context.world_size == 1:
        return 0.0
    gathered = [torch.empty_like(tensor) for _ in range(context.world_size)]
    dist.all_gather(gathered, tensor)
    return max((g - gathered[0]).abs().max().item() for g in gathered)
