"""What one benchmark run measures: its budgets (full or ``--quick``), the fast-path variants
and the two configurations, params.yaml's default and the paper's (configs/paper.yaml)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import yaml

from benchmarks.timing import Budget
from crnngan.config import Params
from crnngan.tools.overlay import overlaid

# Fast paths timed beside the default step (eager unroll, float32), as train-section
# overrides; each is the same function (tests/training/test_fast_paths.py checks losses and weights).
VARIANTS: dict[str, dict[str, Any]] = {
    "compile": {"compile": True},
    "cudagraphs": {"cuda_graphs": True},
    "compile+cudagraphs": {"compile": True, "cuda_graphs": True},
    "bf16": {"precision": "bf16-mixed"},
    "compile+cudagraphs+bf16": {"compile": True, "cuda_graphs": True, "precision": "bf16-mixed"},
}


def default_variants(device: torch.device, quick: bool) -> list[str]:
    """Variants worth timing: all on a GPU; on a CPU only compile (CUDA graphs do not exist
    there and bf16 matmuls have no fast units), and none in a quick run, since compiling the
    unrolled loop takes minutes on a CPU."""
    if device.type == "cuda":
        return list(VARIANTS)
    return [] if quick else ["compile"]


def paper_params(params_path: Path, overlay_path: Path) -> Params:
    """params.yaml with the paper overlay (configs/paper.yaml) merged in."""
    return overlaid(yaml.safe_load(overlay_path.read_text()) or {}, params_path)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Budgets of one benchmark run (``--quick`` or full)."""

    small: Budget  # default-config steps, sampling, evaluation, matmul
    large: Budget  # paper-config steps and sampling: seconds each on a 2-core CPU
    preprocess: Budget
    max_files: int | None  # preprocess at most this many corpus files (None: all)
    paper_length: int | None  # paper-config training sequence length (None: the config's)


PLANS = {
    "full": Plan(
        small=Budget(2, 5, 30, 2.0, cap_s=30.0),
        large=Budget(1, 5, 10, 10.0, cap_s=40.0),
        preprocess=Budget(1, 3, 5, 5.0, cap_s=40.0),
        max_files=None,
        paper_length=None,
    ),
    # A smoke run: one timed repeat where a step takes seconds, paper-sized nets on T = 25.
    "quick": Plan(
        small=Budget(1, 3, 5, 0.0, cap_s=10.0),
        large=Budget(1, 1, 1, 0.0),
        preprocess=Budget(1, 1, 1, 0.0),
        max_files=16,
        paper_length=25,
    ),
}
