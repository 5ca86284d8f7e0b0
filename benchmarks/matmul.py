"""Matmul throughput: the hardware's practical peak GFLOP/s, to set the LSTM figures against."""

from __future__ import annotations

from typing import Any

import torch

from benchmarks.machine import default_device
from benchmarks.timing import Budget, repeat


def bench_matmul(
    m: int, k: int, n: int, budget: Budget, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> dict[str, Any]:
    """Achieved GFLOP/s of one (m, k) @ (k, n) matmul in ``dtype``: the hardware's practical
    peak at that shape, to set the LSTM figures against."""
    device = device or default_device()
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    timing = repeat(lambda: a @ b, budget, device)
    flops = 2.0 * m * k * n
    return {
        **timing,
        "shape": [m, k, n],
        "dtype": str(dtype).removeprefix("torch."),
        "gflop_per_s": flops / timing["median_s"] / 1e9,
        "best_gflop_per_s": flops / timing["min_s"] / 1e9,
    }
