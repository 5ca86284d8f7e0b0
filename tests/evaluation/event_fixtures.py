"""Random event arrays for the evaluation tests."""

import numpy as np

from crnngan.constants import TIME_QUANTUM


def random_song(rng: np.random.Generator, n: int, low: int = 55, high: int = 80) -> np.ndarray:
    """n events: a third of them chord members (dt 0), pitches in [low, high)."""
    ev_ = np.zeros((n, 4), dtype=np.float32)
    ev_[:, 0] = np.where(rng.random(n) < 1 / 3, 0.0, 96 * TIME_QUANTUM)
    ev_[0, 0] = 0.0
    ev_[:, 1] = 192 * TIME_QUANTUM
    ev_[:, 2] = rng.integers(low, high, n)
    ev_[:, 3] = rng.integers(40, 100, n)
    return ev_
