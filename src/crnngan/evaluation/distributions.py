"""MGEval-style comparison of a generated set of songs with a reference set.

Yang & Lerch, "On the evaluation of generative models in music" (2018), reimplemented with
numpy/scipy (the reference code, RichardYang40148/mgeval, needs Python-2 ``midi``):

1. per-song features (:func:`song_features`): pitch-class, interval, inter-onset-interval
   and note-length histograms, and scalar features;
2. per feature, Euclidean distances: intra-set (each song against every *other* song of its
   set, both orders: S (S - 1) values for S songs) and inter-set (every reference song
   against every generated song: S T values);
3. the two distance samples compared are smoothed into Gaussian KDEs evaluated on one
   common grid (MGEval's ``kl_dist`` used two different grids) with one shared kernel:
   Scott's rule on their pooled within-sample spread (MGEval gave each sample its own
   Scott bandwidth; for equally sized, equally spread samples the two agree). A shared
   kernel keeps a difference in smoothing from reading as a difference in distribution;
4. overlapping area OA = integral of min(p, q) and KL divergence KLD(p || q), with p the
   intra-reference and q the inter-set density. High OA and low KLD: generated songs sit
   as far from reference songs as reference songs sit from each other. The same numbers
   with p = intra-generated are reported as ``oa_gen`` / ``kld_gen``.

Degenerate samples: a distance sample with zero spread (a mode-collapsed set gives all-zero
intra-set distances; a feature equal in every song, all-zero distances everywhere) has no
KDE of its own (``scipy.stats.gaussian_kde`` raises ``LinAlgError``). Here it is a point
mass smoothed by the shared kernel, so values stay finite and comparable, and
``degenerate`` is True. If both samples are constant there is no kernel: OA 1 and KLD 0 at
the same distance, else OA 0 and the largest KLD of two disjoint two-point densities.
KLD is always finite (:data:`SMOOTHING`): a collapsed model used to score "inf" on every
feature, which ranked nothing.

Comparing a set with itself: the inter-set distances are the intra-set ones plus the S zero
self-distances, so with a shared kernel the inter density is (1 - 1/S) p + (1/S) k_0 and
OA >= 1 - 1/S, KLD <= -log(1 - 1/S) (not exactly 1 and 0: that is the protocol).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist
from scipy.stats import entropy

from crnngan.constants import REFERENCE_BPM
from crnngan.data.notes import Notes
from crnngan.evaluation.statistics import quantise_pitch

# Duration classes in beats: 0 (a chord's inter-onset interval; also lengths under 1/8
# beat) and MGEval's twelve note-length classes (16th, 8th triplet, dotted 16th, 8th,
# quarter triplet, dotted 8th, quarter, half triplet, dotted quarter, half, dotted half,
# whole). A duration goes to the nearest class.
DURATION_CLASSES_BEATS = np.array([0, 1 / 4, 1 / 3, 3 / 8, 1 / 2, 2 / 3, 3 / 4, 1, 4 / 3, 3 / 2, 2, 3, 4])
MAX_INTERVAL = 12  # interval histogram bins: -12..+12 semitones, wider leaps clipped
FEATURE_NAMES = (
    "pitch_count",
    "pitch_range",
    "pitch_class_histogram",
    "avg_pitch_interval",
    "interval_histogram",
    "note_count",
    "mean_ioi",
    "ioi_histogram",
    "mean_note_length",
    "note_length_histogram",
)
# KDE grid: at least 8 points per narrowest bandwidth, within these bounds.
_GRID_MIN, _GRID_MAX = 512, 4096
# KLD is computed on densities mixed with this much of the uniform density on their grid
# (additive smoothing), so it is finite even where the supports are disjoint: at most about
# log(grid points / SMOOTHING), 14-22 nats. OA uses the unsmoothed densities.
SMOOTHING = 1e-6


def _smoothed_kld(p: np.ndarray, q: np.ndarray) -> float:
    """KLD(p || q) of two densities on one grid, each mixed with SMOOTHING of the uniform."""
    uniform = 1.0 / p.size
    return float(entropy((1 - SMOOTHING) * p + SMOOTHING * uniform, (1 - SMOOTHING) * q + SMOOTHING * uniform))


def _histogram(indices: np.ndarray, bins: int) -> np.ndarray:
    """Shares of ``indices`` per bin, (bins,); zeros when there are none."""
    counts = np.bincount(indices, minlength=bins).astype(np.float64)
    return counts / counts.sum() if indices.size else counts


def _duration_histogram(seconds: np.ndarray) -> np.ndarray:
    """Shares of durations per :data:`DURATION_CLASSES_BEATS` class, (13,)."""
    beats = seconds * REFERENCE_BPM / 60.0
    nearest = np.argmin(np.abs(beats[:, None] - DURATION_CLASSES_BEATS[None, :]), axis=1)
    return _histogram(nearest, DURATION_CLASSES_BEATS.size)


def song_features(onsets: ArrayLike, pitches: ArrayLike, lengths: ArrayLike) -> dict[str, np.ndarray]:
    """MGEval-style features of one song, each a 1-D float64 array (scalars have shape (1,)).

    Pitches are rounded to the nearest MIDI number. Intervals are between consecutive tones
    in the given order (MGEval's ``avg_pitch_shift``); inter-onset intervals are between
    consecutive sorted onsets, 0 for chord members. Undefined values (no tone, or no
    interval) are 0 and empty histograms are all zeros, so distances stay finite.
    """
    on = np.sort(np.ravel(np.asarray(onsets, dtype=np.float64)))
    rounded = quantise_pitch(np.ravel(pitches))
    if not np.all(np.isfinite(rounded)):
        raise ValueError("pitches must be finite")
    tones = rounded.astype(np.int64)
    length = np.ravel(np.asarray(lengths, dtype=np.float64))
    steps = np.diff(tones)  # (n - 1,) signed semitones
    ioi = np.diff(on)  # (n - 1,) seconds
    n = tones.size
    scalars = {
        "pitch_count": np.unique(tones).size,
        "pitch_range": np.ptp(tones) if n else 0,
        "avg_pitch_interval": np.mean(np.abs(steps)) if steps.size else 0.0,
        "note_count": n,
        "mean_ioi": np.mean(ioi) if ioi.size else 0.0,
        "mean_note_length": np.mean(length) if n else 0.0,
    }
    features = {k: np.array([v], dtype=np.float64) for k, v in scalars.items()}
    features["pitch_class_histogram"] = _histogram(np.mod(tones, 12), 12)
    leaps = np.clip(steps, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL  # bin index 0..24
    features["interval_histogram"] = _histogram(leaps, 2 * MAX_INTERVAL + 1)
    features["ioi_histogram"] = _duration_histogram(ioi)
    features["note_length_histogram"] = _duration_histogram(length)
    return {k: features[k] for k in FEATURE_NAMES}


def set_features(songs: Sequence[Notes]) -> dict[str, np.ndarray]:
    """:func:`song_features` of every song, stacked: feature name -> (S, D) array."""
    per_song = [song_features(s.onsets, s.pitches, s.lengths) for s in songs]
    return {k: np.stack([f[k] for f in per_song]) for k in FEATURE_NAMES}


def intra_set_distances(features: np.ndarray) -> np.ndarray:
    """Leave-one-out Euclidean distances within one set: (S, D) -> (S (S - 1),), both orders."""
    d = cdist(features, features)  # (S, S)
    return d[~np.eye(len(features), dtype=bool)]


def inter_set_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between every song of ``a`` (S, D) and of ``b`` (T, D): (S T,)."""
    return cdist(a, b).ravel()


def _is_constant(samples: np.ndarray) -> bool:
    """Zero spread up to rounding: where ``gaussian_kde`` raises ``LinAlgError``."""
    return float(np.ptp(samples)) <= 1e-9 * max(1.0, float(np.max(np.abs(samples))))


def _shared_bandwidth(p: np.ndarray, q: np.ndarray) -> float:
    """One kernel std for both samples: Scott's rule on the pooled within-sample std and
    the mean sample size; 0 when both samples are constant.

    For two samples of equal size and spread this is ``gaussian_kde``'s own bandwidth.
    """
    if _is_constant(p) and _is_constant(q):
        return 0.0
    squares = np.sum((p - p.mean()) ** 2) + np.sum((q - q.mean()) ** 2)
    spread = np.sqrt(squares / (p.size + q.size - 2))
    return float(spread * ((p.size + q.size) / 2) ** (-1 / 5))


def _kde_on_grid(samples: np.ndarray, bandwidth: float, grid: np.ndarray) -> np.ndarray:
    """Gaussian KDE on an even grid, normalised to sum 1: (G,).

    Linear binning onto the grid, then convolution with the (untruncated) Gaussian kernel:
    O(n + G^2) instead of ``gaussian_kde``'s O(n G), so a million distances stay cheap.
    """
    step = grid[1] - grid[0]
    pos = (samples - grid[0]) / step  # fractional grid index of each sample
    left = np.clip(np.floor(pos).astype(np.int64), 0, grid.size - 2)
    frac = pos - left
    weights = np.bincount(left, 1 - frac, minlength=grid.size) + np.bincount(
        left + 1, frac, minlength=grid.size
    )  # (G,)
    offsets = np.arange(-(grid.size - 1), grid.size) * step  # (2G - 1,)
    density = np.convolve(weights, np.exp(-0.5 * (offsets / bandwidth) ** 2), mode="valid")  # (G,)
    return density / density.sum()


def compare_distance_samples(p: ArrayLike, q: ArrayLike) -> dict[str, float | bool]:
    """OA and KLD(p || q) of the KDEs of two distance samples, on a common grid.

    Both KDEs use :func:`_shared_bandwidth`. The grid spans both samples plus 6 bandwidths
    on each side with 8 points per bandwidth (512..4096 points); both densities are
    normalised to unit mass on it, so identical samples give OA 1 and KLD 0 up to rounding.
    ``degenerate``: either sample is constant (see the module docstring).
    """
    p, q = np.ravel(np.asarray(p, dtype=np.float64)), np.ravel(np.asarray(q, dtype=np.float64))
    if p.size == 0 or q.size == 0:
        raise ValueError("distance samples must not be empty")
    degenerate = _is_constant(p) or _is_constant(q)
    bandwidth = _shared_bandwidth(p, q)
    if bandwidth == 0.0:  # two point masses: one grid point, or two far apart
        same = abs(p.mean() - q.mean()) <= 1e-9 * max(1.0, abs(float(p.mean())))
        kld = 0.0 if same else _smoothed_kld(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
        return {"oa": float(same), "kld": kld, "degenerate": degenerate}
    lo = min(p.min(), q.min()) - 6 * bandwidth
    hi = max(p.max(), q.max()) + 6 * bandwidth
    grid = np.linspace(lo, hi, int(np.clip(np.ceil(8 * (hi - lo) / bandwidth), _GRID_MIN, _GRID_MAX)))
    dp, dq = _kde_on_grid(p, bandwidth, grid), _kde_on_grid(q, bandwidth, grid)
    return {"oa": float(np.minimum(dp, dq).sum()), "kld": _smoothed_kld(dp, dq), "degenerate": degenerate}


def compare_features(generated: np.ndarray, reference: np.ndarray) -> dict[str, float | bool]:
    """MGEval relative comparison of one feature: (S, D) generated vs (T, D) reference.

    Returns ``oa``/``kld`` (intra-reference vs inter), ``oa_gen``/``kld_gen``
    (intra-generated vs inter), ``degenerate`` (a constant distance sample) and the mean
    distances ``intra_ref_mean``, ``intra_gen_mean``, ``inter_mean``.
    """
    if len(generated) < 2 or len(reference) < 2:
        raise ValueError("each set needs at least 2 songs for intra-set distances")
    intra_ref, intra_gen = intra_set_distances(reference), intra_set_distances(generated)
    inter = inter_set_distances(reference, generated)
    ref_side = compare_distance_samples(intra_ref, inter)
    gen_side = compare_distance_samples(intra_gen, inter)
    return {
        "oa": ref_side["oa"],
        "kld": ref_side["kld"],
        "oa_gen": gen_side["oa"],
        "kld_gen": gen_side["kld"],
        "degenerate": bool(ref_side["degenerate"] or gen_side["degenerate"]),
        "intra_ref_mean": float(intra_ref.mean()),
        "intra_gen_mean": float(intra_gen.mean()),
        "inter_mean": float(inter.mean()),
    }


def compare_sets(
    generated_songs: Sequence[Notes], reference_songs: Sequence[Notes]
) -> dict[str, dict[str, float | bool]]:
    """:func:`compare_features` for every feature in :data:`FEATURE_NAMES`, plus ``summary``.

    Velocities are not used.
    ``summary`` holds the mean ``oa``, ``kld`` and ``oa_gen`` over features and ``degenerate``
    (any feature's).
    """
    gen, ref = set_features(generated_songs), set_features(reference_songs)
    results = {k: compare_features(gen[k], ref[k]) for k in FEATURE_NAMES}
    per_feature = list(results.values())
    results["summary"] = {
        **{key: float(np.mean([r[key] for r in per_feature])) for key in ("oa", "kld", "oa_gen")},
        "degenerate": any(r["degenerate"] for r in per_feature),
    }
    return results
