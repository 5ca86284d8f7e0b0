"""Sampling throughput: songs/s of each model's free-running generator."""

from __future__ import annotations

from typing import Any

import torch

from benchmarks.machine import default_device
from benchmarks.timing import Budget, repeat
from crnngan.data.representation import feature_width
from crnngan.model_config import ModelConfig
from crnngan.training.kinds import create_module


def bench_sampling(
    cfg: ModelConfig, count: int, length: int, budget: Budget, device: torch.device | None = None, seed: int = 0
) -> dict[str, Any]:
    """songs/s of ``module.generate(count, length)`` (free running, no gradients)."""
    device = device or default_device()
    torch.manual_seed(seed)
    module = create_module(cfg, feature_width(cfg.tones_per_step), length, fixed_samples=1).to(device)
    timing = repeat(lambda: module.generate(count, length), budget, device)
    return {**timing, "songs": count, "length": length, "songs_per_s": count / timing["median_s"]}
