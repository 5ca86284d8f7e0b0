"""Figures derived from the measurements: each step's speed-up over the reference, its share
of the matmul and data-sheet peaks, and whether the paper config meets the speed-up target."""

from __future__ import annotations

from typing import Any

import torch

SPEEDUP_TARGET = 10.0  # the paper config's adversarial step on an H100-class GPU vs the reference


def add_speedups(steps: dict[str, dict[str, Any]]) -> None:
    """Give each crnngan row (fast-path variants included) its speed-up over the reference row
    of its phase: reference / row, from the medians and (``speedup_min``) the fastest repeats."""
    for key, row in steps.items():
        ref = steps.get(f"reference/{key.split('/')[-1].split('[')[0]}")
        if key.startswith("crnngan/") and ref is not None:
            row["speedup"] = ref["median_s"] / row["median_s"]
            row["speedup_min"] = ref["min_s"] / row["min_s"]


def add_peak_shares(training: dict[str, dict[str, dict[str, Any]]], peak: dict[str, Any]) -> None:
    """Give each training row its LSTM FLOP/s as a share of the measured matmul peak of its
    precision and, on a listed GPU, of the data-sheet peak."""
    for steps in training.values():
        for row in steps.values():
            dtype = "bf16" if row["precision"].startswith("bf16") else "fp32"
            measured = peak["measured_gflop_per_s"].get(dtype, peak["measured_gflop_per_s"]["fp32"])
            row["share_of_measured_peak"] = row["lstm_gflop_per_s"] / measured
            spec = peak["spec_tflop_per_s"]
            row["share_of_spec_peak"] = row["lstm_gflop_per_s"] / (spec[dtype] * 1e3) if spec else None


def speedup_target(steps: dict[str, dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """The fastest crnngan adversarial path of ``steps`` (the paper config) against the
    reference, and whether it reaches :data:`SPEEDUP_TARGET` (a target set for GPUs)."""
    rows = {k: v for k, v in steps.items() if k.startswith("crnngan/adversarial")}
    best = min(rows, key=lambda k: rows[k]["median_s"])
    speedup = rows[best]["speedup"]
    return {
        "best": best,
        "speedup": speedup,
        "target": SPEEDUP_TARGET,
        "met": speedup >= SPEEDUP_TARGET,
        "on_gpu": device.type == "cuda",
    }
