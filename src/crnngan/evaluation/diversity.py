"""Collapse and diversity indicators of a set of songs: pure functions over event arrays.

The paper's statistics describe one song at a time, so a model that plays the same held pitch
in every song can still "agree" with claims such as "C-RNN-GAN has more unique tones than the
baseline" (4.0 against 3.5, with real music at 23). These indicators look at the set:

* ``distinct_share``: distinct songs / songs (identical songs give 1 / n, all different 1.0);
* ``top_pitch_share``: the share of all notes that are the set's most frequent pitch;
* ``pitch_class_distance``: the mean over song pairs of the total-variation distance between
  their pitch-class histograms (0: every song uses the pitch classes alike; 1: disjoint);
* ``short_share``: the share of songs with fewer notes than ``min_notes`` (e.g. half the
  real tone count at the same length), empty songs included;
* ``songs_with_8_pitches``: the share of songs with at least 8 distinct pitches.

A song is an (N, 4) event array (dt, length, pitch, velocity); pitches are rounded to MIDI
numbers and times to the event grid, so two songs are the same when they play the same
notes at the same times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from crnngan.constants import PITCH, TIME_QUANTUM
from crnngan.data.notes import pitch_name
from crnngan.data.representation import events_to_notes


def _pitches(song: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(song, dtype=np.float64)[:, PITCH]).astype(np.int64)


def song_key(song: np.ndarray) -> bytes:
    """What makes two songs the same: rounded pitches, onsets and lengths on the grid."""
    onsets, lengths, _, _ = events_to_notes(song)
    ticks, length = np.rint(onsets / TIME_QUANTUM), np.rint(lengths / TIME_QUANTUM)
    return np.stack([ticks, _pitches(song), length], axis=1).astype(np.int64).tobytes()


def distinct_share(songs: Sequence[np.ndarray]) -> float:
    """Distinct songs / songs; NaN for no song."""
    if not songs:
        return float("nan")
    return len({song_key(s) for s in songs}) / len(songs)


def top_pitch(songs: Sequence[np.ndarray]) -> tuple[int | None, float]:
    """The most frequent pitch of all notes and its share of them ((None, NaN) without notes)."""
    counts = Counter(int(p) for s in songs for p in _pitches(s))
    if not counts:
        return None, float("nan")
    pitch, n = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))  # ties: the lower pitch
    return pitch, n / sum(counts.values())


def pitch_class_histograms(songs: Sequence[np.ndarray]) -> np.ndarray:
    """(S, 12) pitch-class shares per song; a song without notes has an all-zero row."""
    out = np.zeros((len(songs), 12))
    for i, s in enumerate(songs):
        p = _pitches(s)
        if len(p):
            out[i] = np.bincount(p % 12, minlength=12) / len(p)
    return out


def pitch_class_distance(songs: Sequence[np.ndarray]) -> float:
    """Mean total-variation distance between the pitch-class histograms of every pair of
    songs with notes; NaN for fewer than two such songs."""
    hist = pitch_class_histograms(songs)
    hist = hist[hist.sum(axis=1) > 0]  # (S', 12)
    n = len(hist)
    if n < 2:
        return float("nan")
    tv = 0.5 * np.abs(hist[:, None, :] - hist[None, :, :]).sum(axis=-1)  # (S', S')
    return float(tv[np.triu_indices(n, k=1)].mean())


def short_share(songs: Sequence[np.ndarray], min_notes: float) -> float:
    """The share of songs holding fewer than ``min_notes`` notes; NaN for no song."""
    if not songs:
        return float("nan")
    return float(np.mean([len(s) < min_notes for s in songs]))


@dataclass(frozen=True)
class Diversity:
    """The indicators of one song set (see the module docstring)."""

    songs: int
    distinct_share: float
    top_pitch: int | None
    top_pitch_share: float
    pitch_class_distance: float
    short_share: float
    songs_with_8_pitches: float
    mean_notes: float

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def diversity(songs: Sequence[np.ndarray], min_notes: float) -> Diversity:
    """All indicators of ``songs``; ``min_notes``: below it a song counts as short."""
    pitch, share = top_pitch(songs)
    many = [len(np.unique(_pitches(s))) >= 8 for s in songs]
    return Diversity(
        songs=len(songs),
        distinct_share=distinct_share(songs),
        top_pitch=pitch,
        top_pitch_share=share,
        pitch_class_distance=pitch_class_distance(songs),
        short_share=short_share(songs, min_notes),
        songs_with_8_pitches=float(np.mean(many)) if songs else float("nan"),
        mean_notes=float(np.mean([len(s) for s in songs])) if songs else float("nan"),
    )


@dataclass(frozen=True)
class CollapseThresholds:
    """When a song set counts as collapsed (``evaluate`` params)."""

    max_top_pitch_share: float = 0.5  # one pitch holds more than half of all notes
    min_distinct_share: float = 0.9  # fewer than 90% of the songs are distinct
    max_short_share: float = 0.25  # more than a quarter of the songs are short


def verdict(d: Diversity, t: CollapseThresholds) -> str | None:
    """ "collapsed: <reasons>" when any threshold is crossed, else None."""
    reasons = []
    if d.top_pitch is not None and d.top_pitch_share > t.max_top_pitch_share:
        reasons.append(f"{100 * d.top_pitch_share:.0f}% of notes are {pitch_name(d.top_pitch)}")
    if d.songs and d.distinct_share < t.min_distinct_share:
        reasons.append(f"{round(d.distinct_share * d.songs)} of {d.songs} songs distinct")
    if d.songs and d.short_share > t.max_short_share:
        reasons.append(f"{100 * d.short_share:.0f}% of songs hold under half the real tone count")
    return "collapsed: " + ", ".join(reasons) if reasons else None
