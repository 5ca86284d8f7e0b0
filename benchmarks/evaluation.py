"""Evaluation throughput: songs/s of the paper's statistics (vectorised) on random songs."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.timing import Budget, repeat
from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes
from crnngan.evaluation.batch import batch_statistics


def random_notes(n_songs: int, n_events: int, seed: int = 0) -> Notes:
    """A batch of random songs as (S, N) arrays: chords (a third of the onset gaps are 0),
    pitches 48..72, velocities 1..127."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 96, 192, 384], size=(n_songs, n_events), p=[1 / 3, 1 / 3, 1 / 6, 1 / 6])
    onsets = np.cumsum(gaps, axis=1) * TIME_QUANTUM
    pitches = rng.integers(48, 73, size=(n_songs, n_events))
    velocities = rng.integers(1, 128, size=(n_songs, n_events))
    lengths = np.full((n_songs, n_events), 192 * TIME_QUANTUM)
    return Notes(onsets, lengths, pitches, velocities)


def bench_metrics(n_songs: int = 1000, n_events: int = 100, seed: int = 0) -> dict[str, float]:
    """Time :func:`crnngan.evaluation.batch.batch_statistics` (clean) once on :func:`random_notes`.

    Returns ``n_songs``, ``n_events``, ``seconds`` and ``songs_per_s``.
    """
    notes = random_notes(n_songs, n_events, seed)
    t0 = time.perf_counter()
    batch_statistics(notes)
    seconds = time.perf_counter() - t0
    return {"n_songs": n_songs, "n_events": n_events, "seconds": seconds, "songs_per_s": n_songs / seconds}


def bench_evaluation(n_songs: int, n_events: int, budget: Budget) -> dict[str, Any]:
    """songs/s of the paper's statistics (vectorised) on :func:`random_notes`, drawn once."""
    notes = random_notes(n_songs, n_events)
    timing = repeat(lambda: batch_statistics(notes), budget)
    return {**timing, "songs": n_songs, "events": n_events, "songs_per_s": n_songs / timing["median_s"]}
