"""Timing harness: a :class:`Budget` of warm-up and timed runs, and the medians behind every figure.

Every figure is the median of timed repeats that follow untimed warm-up runs; each result
records its own ``warmup`` and ``repeats`` (and the raw times), since the number of repeats
adapts to a time budget: at least ``min_repeats``, then more until ``seconds`` of timed work
or ``max_repeats``.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch


@dataclasses.dataclass(frozen=True)
class Budget:
    """How many runs a measurement makes: ``warmup`` untimed, then at least ``min_repeats``
    timed, more until ``seconds`` of timed work, at most ``max_repeats``; but once the timed
    runs together took ``cap_s``, that is enough (a busy machine can slow steps 20x). The cap
    leaves warm-up out: there a compiled path spends minutes compiling."""

    warmup: int
    min_repeats: int
    max_repeats: int
    seconds: float
    cap_s: float | None = None  # None: no cap

    def done(self, times: Sequence[float]) -> bool:
        """Whether ``times`` (warm-up runs included) are enough."""
        timed = times[self.warmup :]
        if len(timed) >= self.max_repeats or (timed and self.cap_s is not None and sum(timed) >= self.cap_s):
            return True
        return len(timed) >= self.min_repeats and sum(timed) >= self.seconds

    @property
    def max_runs(self) -> int:
        return self.warmup + self.max_repeats


def summarise(times: Sequence[float], budget: Budget) -> dict[str, Any]:
    """Median of the timed runs (warm-up dropped) with the counts behind it."""
    timed = list(times[budget.warmup :])
    # The minimum is the least disturbed figure when other jobs share the machine.
    return {
        "median_s": statistics.median(timed),
        "min_s": min(timed),
        "warmup": budget.warmup,
        "repeats": len(timed),
        "times_s": [round(t, 6) for t in timed],
        # A compiled path pays its compilation here, in the first run.
        "warmup_times_s": [round(t, 6) for t in times[: budget.warmup]],
    }


def sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: wait for them so a timer sees the work it started.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def repeat(fn: Callable[[], Any], budget: Budget, device: torch.device | None = None) -> dict[str, Any]:
    """Time ``fn()`` per ``budget`` on ``device`` (default CPU); returns :func:`summarise`'s dict."""
    device = device or torch.device("cpu")
    times: list[float] = []
    while not budget.done(times):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return summarise(times, budget)
