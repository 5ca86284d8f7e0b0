"""Random-number streams in checkpoints, so a resumed run trains exactly as one that never stopped.

Noise, dropout and pretraining windows draw from torch's global RNG (and CUDA's). A checkpoint
keeps the streams; under DDP each process has its own, and all of them are kept in rank order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

RNG_KEYS = ("torch_rng", "cuda_rng", "torch_rng_ranks", "cuda_rng_ranks")


def pin_threads(threads: int) -> None:
    """Run torch's CPU kernels on ``threads`` threads (0: leave torch's default, one per core).

    A run is bit-identical only at one thread count: a matrix product split over more threads
    sums in another order. Pinning the count makes a machine with more cores train as a
    2-core one of the same instruction set does."""
    if threads:
        torch.set_num_threads(threads)


def rng_states(device: torch.device, gather: Callable[[Tensor], Tensor] | None = None) -> dict[str, Any]:
    """This process's RNG states, and with ``gather`` (the strategy's all_gather, under DDP)
    every process's, as ``(world, N)`` byte tensors."""
    states: dict[str, Any] = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda_rng"] = torch.cuda.get_rng_state_all()
    if gather is not None:
        states["torch_rng_ranks"] = gather(states["torch_rng"].to(device)).cpu()  # (world, N)
        if device.type == "cuda":
            states["cuda_rng_ranks"] = gather(torch.cuda.get_rng_state(device).to(device)).cpu()
    return states


def restore_rng_states(saved: dict[str, Any], world: int, rank: int, device: torch.device) -> None:
    """Continue the streams :func:`rng_states` saved (nothing saved: a fresh run)."""
    ranks = saved.get("torch_rng_ranks")
    if ranks is not None and len(ranks) == world:  # a DDP run resumed on as many processes
        # A copy, not the row view: set_rng_state crashed (segfault) on the view.
        torch.set_rng_state(ranks[rank].clone())
        if "cuda_rng_ranks" in saved and device.type == "cuda":
            torch.cuda.set_rng_state(saved["cuda_rng_ranks"][rank].clone(), device)
        return
    if "torch_rng" in saved:
        torch.set_rng_state(saved["torch_rng"].cpu())
    if "cuda_rng" in saved and device.type == "cuda":
        torch.cuda.set_rng_state_all([state.cpu() for state in saved["cuda_rng"]])
    if world > 1:
        # Every process was seeded alike (and, resumed from another layout, given one
        # stream): each draws its own noise, dropout and windows from here on.
        torch.manual_seed(torch.initial_seed() + rank)
