"""Machine facts: the device timed, the CPU and GPU the figures were measured on, the load
that shared the machine, and peak memory."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch


def default_device() -> torch.device:
    """The GPU when there is one, as training's ``accelerator: auto`` picks."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _cpuinfo(key: str) -> str | None:
    """The first ``key`` line of /proc/cpuinfo (None where there is none)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """The CPU's "model name" from /proc/cpuinfo (the platform's processor string elsewhere)."""
    return _cpuinfo("model name") or platform.processor() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    """What the figures were measured on; the load average shows whether others shared it."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        # The vector units set the peak FLOP/s that the matmul figures can be read against.
        "cpu_simd": [f for f in ("avx2", "fma", "avx512f", "amx_tile") if f in (_cpuinfo("flags") or "").split()],
        "cpu_mhz": float(mhz) if (mhz := _cpuinfo("cpu MHz")) else None,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if gpu else None,
        "pytorch_lightning": pl.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15": load_average(),
    }


def contention_warning(info: dict[str, Any]) -> str | None:
    """A warning when other jobs already keep cores busy: torch's threads then wait for one
    another at every op, and steps of many small ops ran up to 20x slower (2-core machine)."""
    loads, cores = info["load_average_1_5_15"], info["cpu_cores_usable"] or info["cpu_cores"]
    if loads is None or not cores or loads[0] + info["torch_threads"] <= cores + 0.5:
        return None
    return (
        f"busy machine: 1-min load {loads[0]:.1f} before the run + {info['torch_threads']} "
        f"torch threads > {cores} cores; timings are disturbed (--threads 1 suffers least)"
    )


def peak_memory() -> dict[str, float | None]:
    """Peak resident set of this process and of its finished children (MiB), and the peak CUDA
    allocation since the last reset (MiB; None without a GPU)."""
    to_mib = 1024.0  # ru_maxrss is in KiB on Linux
    if sys.platform == "darwin":
        to_mib = 1024.0**2  # ...and in bytes on macOS
    return {
        "rss_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / to_mib,
        "rss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / to_mib,
        "cuda_max_allocated_mib": (torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None),
    }
