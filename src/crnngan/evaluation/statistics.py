"""The paper's song statistics (Mogren 2016, §3.1 and Figure 3) as pure numpy functions.

A song is its :class:`~crnngan.data.notes.Notes`, or the arrays of them that a statistic
reads, sorted by onset: onsets and lengths in seconds, pitches as MIDI numbers (floats
allowed) and velocities (0..127). Every tone is a sounding one: drop silent events (velocity 0) first, or mask them in
:func:`crnngan.evaluation.batch.batch_statistics` (the same statistics, vectorised over songs).

Two semantics:

* **clean** (default): the paper's definitions. Pitches are rounded to the nearest MIDI
  number, scales wrap modulo 12, repetitions use every non-overlapping window pair.
* **legacy**: what ``midi_statistics.py`` of olofmogren/c-rnn-gan computes. Pitches are
  truncated as its ``freq_to_tone`` does, the scale test misses the modulo, the repetition
  loops stop one window early, and polyphony follows either the paper snapshot e75e541
  (``"paper"``) or fedfe13..HEAD (``"head"``). ``legacy=True`` means ``"paper"``, the code
  behind Figure 3.

Onsets are compared in ticks of ``constants.TIME_QUANTUM`` (one tick at 384 PPQ and
120 BPM), the integer ticks the original compared in its written MIDI files.

Edge cases (both modes): an empty song has NaN ratios (polyphony, scale consistency,
repetition rates), 0 spans and counts. Legacy polyphony is NaN for the empty song too (the
original dropped empty songs), and NaN for ``"paper"`` when the song has one onset group
(the original divides by zero).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes

PolyphonyVariant = Literal["paper", "head"]
# song_statistics / batch.batch_statistics: False = clean, True = "paper", or a variant name.
Legacy = bool | PolyphonyVariant

# Candidate scales in the original's order: ties go to the first root C..B, then the first
# scale in this order (its dicts iterate in insertion order on Python 3.7+, as HEAD runs).
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
SCALE_NAMES = tuple(SCALES)
# The six curves of the paper's Figure 3 (training logs them per epoch, evaluation reports them).
FIGURE3 = ("scale_consistency", "tone_span", "unique_tones", "intensity_span", "polyphony", "repetitions_3")
REPETITION_LENGTHS = tuple(range(2, 10))  # the original logs l = 2..9; Figure 3 shows l = 3
STAT_KEYS = (
    "num_tones",
    "polyphony",
    "scale_consistency",
    *(f"repetitions_{l}" for l in REPETITION_LENGTHS),
    *(f"repetitions_rate_{l}" for l in REPETITION_LENGTHS),
    "tone_span",
    "unique_tones",
    "intensity_span",
)


def _membership(legacy: bool) -> np.ndarray:
    """(12 pitch classes, 36 candidates) bool; candidate c = root * 3 + scale index."""
    pc = np.arange(12)[:, None]
    root = np.repeat(np.arange(12), len(SCALES))[None, :]
    steps = np.tile(np.arange(len(SCALES)), 12)[None, :]
    # The original tests (pitch % 12) - root without wrapping: classes below the root miss.
    offset = pc - root if legacy else (pc - root) % 12
    table = np.zeros((len(SCALES), 12), dtype=bool)  # (scale, offset 0..11)
    for s, degrees in enumerate(SCALES.values()):
        table[s, list(degrees)] = True
    return (offset >= 0) & table[steps, np.clip(offset, 0, 11)]


SCALE_MEMBERSHIP = {False: _membership(False), True: _membership(True)}


# --------------------------------------------------------------------------- pitch


def quantise_pitch(pitches: ArrayLike, legacy: bool = False) -> np.ndarray:
    """Continuous MIDI pitch -> integer-valued float64 array.

    Clean rounds to the nearest pitch (ties to even, ``numpy.rint``); legacy truncates
    towards zero like the original's ``int(69 + 12 * log2(f / 440))``. NaN stays NaN.
    """
    p = np.asarray(pitches, dtype=np.float64)
    return np.trunc(p) if legacy else np.rint(p)


def _tones(pitches: ArrayLike, legacy: bool) -> np.ndarray:
    """Quantised 1-D pitches; rejects NaN/inf, which equality-based statistics cannot use."""
    tones = quantise_pitch(np.ravel(pitches), legacy)
    if not np.all(np.isfinite(tones)):
        raise ValueError("pitches must be finite (drop tones with frequency <= 0 first)")
    return tones


def tolerance_ticks(tolerance: float) -> int:
    """Seconds -> whole ticks; the epsilon keeps exact multiples of the quantum exact."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return int(np.floor(tolerance / TIME_QUANTUM + 1e-9))


def polyphony_variant(legacy: Legacy | None) -> PolyphonyVariant | None:
    if legacy is True:
        return "paper"
    if legacy in (None, False, "paper", "head"):
        return legacy or None
    raise ValueError(f"legacy must be a bool, 'paper' or 'head', got {legacy!r}")


# --------------------------------------------------------------------------- per song


def polyphony(onsets: ArrayLike, tolerance: float = 0.0, legacy: Legacy | None = None) -> float:
    """Share of simultaneous onsets.

    Onsets (in ticks) form groups: a group holds every onset at most ``tolerance`` seconds
    after the group's first onset (0 = the paper's "exactly the same start time").

    * clean: share of groups with >= 2 tones. A 3-note chord then two single notes: 1/3.
    * ``"paper"`` (e75e541): each group is counted when the onset changes, so the last
      group never counts; poly / (poly + mono). Same example: 1/2. NaN with one group.
    * ``"head"`` (fedfe13..HEAD): an in-loop block also counts every tone as mono (first
      of its group) or poly (later ones); 0.0 when nothing is poly. Same example: 3/7.

    Empty song: NaN in every mode. One tone: clean 0.0, paper NaN, head 0.0. ``legacy=True``
    means ``"paper"``.
    """
    variant = polyphony_variant(legacy)
    ticks = np.sort(np.rint(np.ravel(onsets) / TIME_QUANTUM))
    if ticks.size == 0:
        return float("nan")
    tol = tolerance_ticks(tolerance)
    sizes: list[int] = []  # tones per onset group, in time order
    start = None
    for t in ticks:
        if start is not None and t - start <= tol:
            sizes[-1] += 1
        else:
            sizes.append(1)
            start = t
    size = np.asarray(sizes)
    if variant is None:
        return float(np.mean(size >= 2))
    counted = size[:-1]  # groups closed by a later onset
    poly = int(np.sum(counted >= 2))
    mono = counted.size - poly
    if variant == "paper":
        return poly / counted.size if counted.size else float("nan")
    poly += int(np.sum(size - 1))  # "head": tones after the first of their group
    mono += size.size  # ... and the first tone of each group
    return poly / (poly + mono) if poly else 0.0


def scale_consistency(pitches: ArrayLike, legacy: bool = False) -> tuple[float, int | None, str | None]:
    """Best share of tones in one scale over 12 roots x (major, natural / harmonic minor).

    Returns ``(score, root pitch class 0..11, scale name)``; ties go to the first candidate
    in the original's order (roots C..B, scales as in :data:`SCALES`); the root's name is
    ``crnngan.data.notes.PITCH_CLASS_NAMES[root]``. Legacy reproduces
    the missing modulo: a tone counts only if ``pitch % 12 - root`` is a scale degree, so a
    D-major scale scores 0.875 instead of 1.0. Empty song: ``(nan, None, None)``.
    """
    tones = _tones(pitches, legacy)
    if tones.size == 0:
        return float("nan"), None, None
    counts = np.bincount(np.mod(tones, 12).astype(np.int64), minlength=12)  # (12,)
    hits = counts @ SCALE_MEMBERSHIP[legacy]  # (36,) tones in each candidate scale
    best = int(np.argmax(hits))  # first maximum = the original's stable sort
    return float(hits[best] / tones.size), best // len(SCALES), SCALE_NAMES[best % len(SCALES)]


def _repetition_count(tones: np.ndarray, length: int, legacy: bool) -> int:
    """Ordered pairs (i, j >= i + length) of equal windows, O(n log n) in memory and time."""
    n = tones.size
    if legacy and length >= n // 2:  # the original's range(2, min(n // 2, 10))
        return 0
    # The last start of the second window: n - length, or one earlier in the original's
    # range(i + l, n - l).
    last = n - length - int(legacy)
    if last < length:
        return 0
    windows = np.lib.stride_tricks.sliding_window_view(tones, length)[: last + 1]  # (W, l)
    ids = np.unique(windows, axis=0, return_inverse=True)[1].reshape(-1)  # (W,)
    # key orders windows by (id, start); for each window i count the later starts of its id
    # that are at least `length` further on, by two binary searches in the sorted keys.
    stride = last + 1 + length
    key = ids * stride + np.arange(last + 1)
    ordered = np.sort(key)
    upper = np.searchsorted(ordered, (ids + 1) * stride)
    lower = np.searchsorted(ordered, key + length)
    return int(np.sum(upper - lower))


def window_pairs(n: int | np.ndarray, length: int) -> int | np.ndarray:
    """Number of non-overlapping ordered window pairs: m (m + 1) / 2 with m = n - 2l + 1."""
    m = np.maximum(n - 2 * length + 1, 0)
    return m * (m + 1) // 2


def _rate(clean_count: int, n: int, length: int) -> float:
    """Repeating share of the window pairs of an n-tone song; NaN when there are none."""
    pairs = window_pairs(n, length)
    return float(clean_count / pairs) if pairs else float("nan")


def repetitions(pitches: ArrayLike, length: int = 3, legacy: bool = False) -> int:
    """Count of ordered pairs of equal, non-overlapping ``length``-tone windows.

    Pairs (i, j) with j >= i + length and tones[i:i+l] == tones[j:j+l]; only pitches and
    their order count, not timing. Clean uses every window; legacy reproduces the original:
    the second window never starts at the last possible position, and lengths
    ``l >= n // 2`` give 0. (60, 62, 64) x 4: clean l=3 gives 12, legacy 9. Empty song: 0.
    """
    return _repetition_count(_tones(pitches, legacy), length, legacy)


def repetitions_rate(pitches: ArrayLike, length: int = 3, legacy: bool = False) -> float:
    """Clean :func:`repetitions` divided by the number of non-overlapping window pairs.

    The share of window pairs that repeat, in [0, 1] (1 for a constant song), so songs of
    different lengths compare (the paper instead scaled real songs by l_r / l_g). ``legacy``
    only selects truncating pitch quantisation: the original has no rate. NaN when the song
    is shorter than ``2 * length``.
    """
    tones = _tones(pitches, legacy)
    return _rate(_repetition_count(tones, length, False), tones.size, length)


def all_repetitions(pitches: ArrayLike, legacy: bool = False) -> dict[int, int]:
    """:func:`repetitions` for every length in :data:`REPETITION_LENGTHS` (2..9)."""
    tones = _tones(pitches, legacy)
    return {l: _repetition_count(tones, l, legacy) for l in REPETITION_LENGTHS}


def tone_span(pitches: ArrayLike, legacy: bool = False) -> float:
    """Highest minus lowest quantised pitch, in semitones; 0 for an empty song."""
    tones = _tones(pitches, legacy)
    return float(np.ptp(tones)) if tones.size else 0.0


def unique_tones(pitches: ArrayLike, legacy: bool = False) -> int:
    """Number of distinct quantised pitches; 0 for an empty song."""
    return int(np.unique(_tones(pitches, legacy)).size)


def intensity_span(velocities: ArrayLike) -> float:
    """Highest minus lowest velocity; 0 for an empty song."""
    v = np.ravel(np.asarray(velocities, dtype=np.float64))
    return float(np.ptp(v)) if v.size else 0.0


def song_statistics(notes: Notes, *, tolerance: float = 0.0, legacy: Legacy = False) -> dict[str, float]:
    """All statistics of one song's notes, keyed by :data:`STAT_KEYS`.

    ``legacy``: False (clean), True / ``"paper"`` or ``"head"`` (the polyphony variant; the
    other statistics are the same in both snapshots). ``repetitions_rate_l`` is the clean
    rate in every mode (on legacy-quantised pitches in legacy mode). ``lengths`` is checked
    for shape only: no statistic uses tone lengths.
    """
    arrays = [np.ravel(np.asarray(a, dtype=np.float64)) for a in notes]
    if len({a.size for a in arrays}) != 1:
        raise ValueError(f"song arrays differ in length: {[a.size for a in arrays]}")
    on, _, pitch, vel = arrays
    variant = polyphony_variant(legacy)
    quant = variant is not None
    tones = _tones(pitch, quant)
    stats = {
        "num_tones": float(tones.size),
        "polyphony": polyphony(on, tolerance, variant),
        "scale_consistency": scale_consistency(tones, quant)[0],
    }
    clean = all_repetitions(tones)  # tones are integers already: no second quantisation
    counts = all_repetitions(tones, legacy=True) if quant else clean
    stats.update({f"repetitions_{l}": float(c) for l, c in counts.items()})
    stats.update({f"repetitions_rate_{l}": _rate(c, tones.size, l) for l, c in clean.items()})
    stats.update(
        tone_span=tone_span(tones, quant),
        unique_tones=float(unique_tones(tones, quant)),
        intensity_span=intensity_span(vel),
    )
    return stats
