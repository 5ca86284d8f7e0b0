"""The paper's song statistics for many songs at once: :func:`batch_statistics` computes
:func:`crnngan.evaluation.statistics.song_statistics` vectorised over a padded batch, and
:func:`song_table` applies it to event arrays (the per-epoch training callback, the tuning
objective and the evaluation all measure songs through it, so a song is measured the same way
everywhere).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes
from crnngan.evaluation.statistics import (
    REPETITION_LENGTHS,
    SCALE_MEMBERSHIP,
    STAT_KEYS,
    Legacy,
    PolyphonyVariant,
    polyphony_variant,
    quantise_pitch,
    tolerance_ticks,
    window_pairs,
)


def _batch_polyphony(
    ticks: np.ndarray, valid: np.ndarray, n: np.ndarray, tol: int, variant: PolyphonyVariant | None
) -> np.ndarray:
    """Vectorised :func:`~crnngan.evaluation.statistics.polyphony` on sorted, left-packed ticks (B, N) -> (B,)."""
    # rank[b, t]: position of tone t in its onset group (1 = opens a group). The group start
    # depends on the previous group, so this is one pass over time, vectorised over songs.
    rank = np.ones(ticks.shape, dtype=np.int64)  # (B, N)
    start = ticks[:, 0].copy()  # (B,)
    for t in range(1, ticks.shape[1]):
        same = valid[:, t] & (ticks[:, t] - start <= tol)
        rank[:, t] = np.where(same, rank[:, t - 1] + 1, 1)
        start = np.where(same, start, ticks[:, t])
    groups = np.sum(valid & (rank == 1), axis=1)  # (B,)
    poly_groups = np.sum(valid & (rank == 2), axis=1)  # groups with a second tone
    with np.errstate(divide="ignore", invalid="ignore"):
        if variant is None:
            return np.where(groups > 0, poly_groups / groups, np.nan)
        last_rank = np.take_along_axis(rank, np.maximum(n - 1, 0)[:, None], axis=1)[:, 0]
        poly = poly_groups - (last_rank >= 2)  # the last group is never closed
        counted = groups - 1
        if variant == "paper":
            return np.where(counted > 0, poly / counted, np.nan)
        mono = counted - poly + groups
        poly = poly + np.sum(valid & (rank >= 2), axis=1)
        return np.where(n == 0, np.nan, np.where(poly > 0, poly / (poly + mono), 0.0))


def _batch_repetitions(tones: np.ndarray, n: np.ndarray, legacy: bool) -> tuple[np.ndarray, np.ndarray]:
    """Repetition counts (B, 8) in the chosen mode and clean counts (B, 8), on packed tones."""
    B, N = tones.shape
    counts = np.zeros((B, len(REPETITION_LENGTHS)), dtype=np.int64)
    clean = np.zeros_like(counts)
    # Pairwise equality is (B, N, N): process songs in chunks of about 16 M cells.
    chunk = max(1, (1 << 24) // max(N * N, 1))
    for lo in range(0, B, chunk):
        sl = slice(lo, lo + chunk)
        equal1 = tones[sl, :, None] == tones[sl, None, :]  # (b, N, N) tone i == tone j
        equal = equal1
        for k, l in enumerate(REPETITION_LENGTHS):
            W = N - l + 1  # window starts 0..N-l
            if W <= l:
                break
            # Windows of length l match iff windows of length l-1 match and so do their
            # last tones: (b, W, W).
            equal = equal[:, :W, :W] & equal1[:, l - 1 :, l - 1 :]
            per_j = np.count_nonzero(equal & np.triu(np.ones((W, W), dtype=bool), k=l), axis=1)
            upto = np.cumsum(per_j, axis=1)  # (b, W): pairs whose second window starts <= j
            nn = n[sl]
            # Clipping a negative last start to 0 is safe: upto[:, :l] is 0.
            for out, last, ok in (
                (clean, nn - l, True),
                (counts, nn - l - int(legacy), (l < nn // 2) if legacy else True),
            ):
                got = np.take_along_axis(upto, np.clip(last, 0, W - 1)[:, None], axis=1)[:, 0]
                out[sl, k] = np.where(ok, got, 0)
    return counts, clean


def batch_statistics(
    notes: Notes, mask: ArrayLike | None = None, *, tolerance: float = 0.0, legacy: Legacy = False
) -> dict[str, np.ndarray]:
    """:func:`~crnngan.evaluation.statistics.song_statistics` for a padded batch: notes of
    (B, N) arrays -> dict of (B,) float64.

    ``mask`` (B, N) marks real tones (default: all); masked-out entries may hold anything
    and need not be at the end: the real tones keep their order. Results equal
    :func:`song_statistics` on each song's real tones, NaN conventions included. A 1-D
    input is one song. Cost: O(B N^2) for repetitions (chunked to bound memory), so very
    long single songs are cheaper through :func:`song_statistics`.
    """
    on, length, pitch, vel = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in notes)
    valid = np.ones(on.shape, dtype=bool) if mask is None else np.atleast_2d(np.asarray(mask, bool))
    shapes = [a.shape for a in (on, pitch, vel, length, valid)]
    if len(set(shapes)) != 1:
        raise ValueError(f"batch shapes differ (onsets, pitches, velocities, lengths, mask): {shapes}")
    variant = polyphony_variant(legacy)
    quant = variant is not None
    if on.shape[1] == 0:  # no tone slots at all: one masked-out slot keeps indexing simple
        on, pitch, vel, valid = (np.zeros((len(a), 1), dtype=a.dtype) for a in (on, pitch, vel, valid))
    B, N = on.shape
    # Left-pack the real tones of each song, keeping their order: (B, N), first n[b] real.
    order = np.argsort(~valid, axis=1, kind="stable")
    on, pitch, vel = (np.take_along_axis(a, order, axis=1) for a in (on, pitch, vel))
    n = valid.sum(axis=1)  # (B,)
    valid = np.arange(N)[None, :] < n[:, None]
    tones = quantise_pitch(pitch, quant)
    if not np.all(np.isfinite(tones[valid])):
        raise ValueError("pitches must be finite (drop tones with frequency <= 0 first)")
    tones = np.where(valid, tones, 0.0)
    empty = n == 0

    ticks = np.sort(np.where(valid, np.rint(on / TIME_QUANTUM), np.inf), axis=1)
    ticks = np.where(valid, ticks, 0.0)  # sorted real ticks first, then zeros
    stats = {
        "num_tones": n.astype(np.float64),
        "polyphony": _batch_polyphony(ticks, valid, n, tolerance_ticks(tolerance), variant),
    }

    pc = np.mod(tones, 12).astype(np.int64) + 12 * np.arange(B)[:, None]  # (B, N) song-offset classes
    counts = np.bincount(pc[valid], minlength=12 * B).reshape(B, 12)
    best = np.max(counts @ SCALE_MEMBERSHIP[quant], axis=1)  # (B,)
    with np.errstate(divide="ignore", invalid="ignore"):
        stats["scale_consistency"] = np.where(empty, np.nan, best / n)

    reps, clean = _batch_repetitions(tones, n, quant)
    for k, l in enumerate(REPETITION_LENGTHS):
        stats[f"repetitions_{l}"] = reps[:, k].astype(np.float64)
    for k, l in enumerate(REPETITION_LENGTHS):
        pairs = window_pairs(n, l)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats[f"repetitions_rate_{l}"] = np.where(pairs > 0, clean[:, k] / pairs, np.nan)

    def span(x: np.ndarray) -> np.ndarray:
        hi = np.max(np.where(valid, x, -np.inf), axis=1)
        lo = np.min(np.where(valid, x, np.inf), axis=1)
        return np.where(empty, 0.0, hi - lo)

    sorted_tones = np.sort(np.where(valid, tones, np.inf), axis=1)
    changes = np.count_nonzero((sorted_tones[:, 1:] != sorted_tones[:, :-1]) & valid[:, 1:], axis=1)
    stats.update(tone_span=span(tones), unique_tones=(changes + ~empty).astype(np.float64), intensity_span=span(vel))
    return {key: stats[key] for key in STAT_KEYS}


def padded(songs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Event arrays of varying length -> (B, N_max, 4) zero-padded array and (B, N_max) mask."""
    n_max = max((len(s) for s in songs), default=0)
    out = np.zeros((len(songs), n_max, 4), dtype=np.float64)
    mask = np.zeros((len(songs), n_max), dtype=bool)
    for i, s in enumerate(songs):
        out[i, : len(s)] = s
        mask[i, : len(s)] = True
    return out, mask


def song_table(
    songs: Sequence[np.ndarray], *, tolerance: float = 0.0, legacy: bool | str = False
) -> dict[str, np.ndarray]:
    """The paper's statistics for every song: dict of (B,) arrays (vectorised)."""
    ev, mask = padded(songs)
    onsets = np.cumsum(np.maximum(ev[..., 0], 0.0), axis=1)  # (B, N) absolute onsets
    notes = Notes(onsets, ev[..., 1], ev[..., 2], ev[..., 3])
    return batch_statistics(notes, mask, tolerance=tolerance, legacy=legacy)
