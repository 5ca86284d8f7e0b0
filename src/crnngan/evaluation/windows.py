"""Windows of real music that generated songs are compared with.

Real music is measured on windows of the test split holding as many *steps* as the model was
asked to generate (``sample.length``; for C-RNN-GAN-3 a step holds up to three tones), so
every statistic (3-tone repetitions included) compares at equal length and needs no l_r / l_g
normalisation (anchors §2.1): :func:`step_windows`. The length is never derived from the
model's own output: a model that emits near-empty songs is compared with full real windows,
and a song holding under :data:`SHORT_SHARE` of the real windows' tones counts as short
(:func:`short_song_threshold`). :func:`duration_windows` cuts windows of equal *duration*
instead, for the comparison at equal seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crnngan.constants import DT
from crnngan.data.representation import events_to_notes, events_to_steps, steps_to_events

# Below this share of the real tone count at the same length, a model's songs count as short.
SHORT_SHARE = 0.5


def _window_starts(choices: Sequence[int], count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` (song, start) pairs, ``choices[i]`` the number of valid starts in song i.

    Round-robin over the songs with a valid start, in a seeded random order, so each gives
    about ``count / songs`` windows (a long song would otherwise dominate), at seeded uniform
    starts, distinct within a song while it has enough of them (the same window twice would
    make real music look repetitive to the collapse indicators)."""
    eligible = np.flatnonzero(np.asarray(choices) > 0)
    rng = np.random.default_rng(seed)
    picks = eligible[rng.permutation(len(eligible))[np.arange(count) % len(eligible)]]  # (count,)
    starts = np.zeros(count, dtype=np.int64)
    for i in np.unique(picks):
        mine = np.flatnonzero(picks == i)  # the windows cut from song i
        starts[mine] = rng.choice(choices[i], size=len(mine), replace=len(mine) > choices[i])
    return list(zip(picks.tolist(), starts.tolist()))


def _window(song: np.ndarray, start: int, stop: int) -> np.ndarray:
    window = np.array(song[start:stop], dtype=np.float32)
    window[0, DT] = 0.0  # a window's first dt is 0, as in a generated song
    return window


def real_windows(songs: Sequence[np.ndarray], window_events: int, count: int, seed: int) -> list[np.ndarray]:
    """``count`` windows of ``window_events`` consecutive events, from songs at least that
    long, picked by :func:`_window_starts`. Raises ``ValueError`` when no song is long enough.
    """
    if window_events < 1 or count < 1:
        raise ValueError(f"window_events and count must be >= 1, got {window_events}, {count}")
    choices = [max(len(s) - window_events + 1, 0) for s in songs]
    if not any(choices):
        longest = max((len(s) for s in songs), default=0)
        raise ValueError(f"no real song has {window_events} events (the longest has {longest})")
    return [_window(songs[i], start, start + window_events) for i, start in _window_starts(choices, count, seed)]


def event_onsets(song: np.ndarray) -> np.ndarray:
    """(N,) onset of each event in seconds from the song's first (its first dt ignored)."""
    events = np.array(song, dtype=np.float64)
    if len(events):
        events[0, DT] = 0.0
    return events_to_notes(events).onsets


def within_seconds(song: np.ndarray, seconds: float) -> np.ndarray:
    """The events of ``song`` with onsets in its first ``seconds`` (onset < seconds)."""
    return np.asarray(song)[: int(np.searchsorted(event_onsets(song), seconds, side="left"))]


def duration_windows(songs: Sequence[np.ndarray], seconds: float, count: int, seed: int) -> list[np.ndarray]:
    """``count`` windows of ``seconds``: from a seeded event on, every event with an onset
    less than ``seconds`` after it, from songs that last at least that long past the start
    (so no window is cut short by its song's end). Raises ``ValueError`` when none does."""
    if seconds <= 0 or count < 1:
        raise ValueError(f"seconds must be > 0 and count >= 1, got {seconds}, {count}")
    onsets = [event_onsets(s) for s in songs]
    # Start i is valid while a later onset lies >= seconds after it: the window is complete.
    choices = [int(np.searchsorted(o, o[-1] - seconds, side="right")) if len(o) else 0 for o in onsets]
    if not any(choices):
        longest = max((float(o[-1]) for o in onsets if len(o)), default=0.0)
        raise ValueError(f"no real song lasts {seconds:g} s (the longest spans {longest:.1f} s of onsets)")
    return [
        _window(songs[i], start, int(np.searchsorted(onsets[i], onsets[i][start] + seconds, side="left")))
        for i, start in _window_starts(choices, count, seed)
    ]


def step_windows(
    songs: Sequence[np.ndarray], tones_per_step: int, steps: int, count: int, seed: int
) -> list[np.ndarray]:
    """Real windows of ``steps`` model steps (up to ``tones_per_step`` tones each), as events:
    what a model asked for ``steps`` steps is compared with. For k = 1 these are
    :func:`real_windows` of ``steps`` events."""
    if tones_per_step == 1:
        return real_windows(songs, steps, count, seed)
    packed = [events_to_steps(s, tones_per_step) for s in songs]
    return [steps_to_events(w, tones_per_step) for w in real_windows(packed, steps, count, seed)]


def short_song_threshold(real_songs: Sequence[np.ndarray]) -> float:
    """Tones a song needs not to be short: SHORT_SHARE of the real windows' median count."""
    return SHORT_SHARE * float(np.median([len(s) for s in real_songs])) if real_songs else 0.0
