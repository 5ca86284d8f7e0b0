"""The GPU data sheet: dense peak TFLOP/s by GPU name, to set the measured FLOP/s against."""

from __future__ import annotations

# Dense (no sparsity) peak TFLOP/s from NVIDIA's data sheets, by a part of the device name;
# the first match wins. fp32 is what float32 matmuls reach (PyTorch leaves TF32 off for them).
GPU_PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H200 NVL", {"fp32": 60.0, "bf16": 835.5}),
    ("H200", {"fp32": 67.0, "bf16": 989.5}),
    ("H100 NVL", {"fp32": 60.0, "bf16": 835.5}),
    ("H100 PCIe", {"fp32": 51.0, "bf16": 756.5}),
    ("H100", {"fp32": 67.0, "bf16": 989.5}),  # SXM5
    ("A100", {"fp32": 19.5, "bf16": 312.0}),
]


def spec_peak(gpu_name: str | None) -> dict[str, float] | None:
    """Data-sheet peak TFLOP/s of ``gpu_name`` (None for a CPU or an unlisted GPU)."""
    for part, peak in GPU_PEAK_TFLOPS:
        if gpu_name and part in gpu_name:
            return peak
    return None
