"""What the report, the figures and the metrics files show, and how they name it: the
reported statistics with their labels and units, and the models' names and order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crnngan.evaluation.results import Results
from crnngan.evaluation.statistics import FIGURE3

# What the report and the metrics files show: Figure 3, the length-free repetition rate and the
# number of tones per song.
REPORTED = (*FIGURE3, "repetitions_rate_3", "num_tones")
PERCENT = ("scale_consistency", "polyphony", "repetitions_rate_3")  # shares, shown in % as Figure 3
LABELS = {
    "scale_consistency": "scale consistency %",
    "tone_span": "tone span",
    "unique_tones": "unique tones",
    "intensity_span": "intensity span",
    "polyphony": "polyphony %",
    "repetitions_3": "3-tone repetitions",
    "repetitions_rate_3": "3-tone repetition rate %",
    "num_tones": "tones",
}
MODEL_LABELS = {"baseline": "baseline", "crnngan": "C-RNN-GAN", "crnngan3": "C-RNN-GAN-3"}


def model_label(name: str) -> str:
    """A model's name as the paper writes it (C-RNN-GAN), or the name itself for others."""
    return MODEL_LABELS.get(name, name)


def verdict_text(verdict: str | None) -> str:
    """A song set's collapse verdict as the report and metrics state it (None: not collapsed)."""
    return verdict or "not collapsed"


def ordered(names: Sequence[str]) -> list[str]:
    """Models in the report's order: baseline, C-RNN-GAN, C-RNN-GAN-3, then any other."""
    known = list(MODEL_LABELS)
    return sorted(dict.fromkeys(names), key=lambda m: known.index(m) if m in known else len(known))


def real_label(results: Results, k: int) -> str:
    """How the report names the real windows of layout ``k``."""
    tones = "1 tone" if k == 1 else f"up to {k} tones"
    return f"real music ({results.real[k].steps} steps of {tones})"


def unit(stat: str) -> float:
    """Factor from stored values to the report's units (% for shares)."""
    return 100.0 if stat in PERCENT else 1.0


def fmt(stat: str, value: float) -> str:
    return f"{unit(stat) * value:.1f}" if np.isfinite(value) else "n/a"
