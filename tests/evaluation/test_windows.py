"""Windows of real music: at equal steps (a seeded round-robin over the songs) and at equal
duration."""

import numpy as np
import pytest

from crnngan.evaluation.windows import duration_windows, real_windows, within_seconds


def test_real_windows_lengths_spread_and_determinism():
    # Song i holds pitch 40 + i only, so a window tells where it was cut from.
    songs = [
        np.column_stack([np.zeros(n), np.ones(n), np.full(n, 40.0 + i), np.full(n, 64.0)]).astype(np.float32)
        for i, n in enumerate([50, 9, 30, 12, 80])
    ]
    windows = real_windows(songs, 12, 8, seed=3)
    assert len(windows) == 8 and all(w.shape == (12, 4) for w in windows)
    sources = [int(w[0, 2]) - 40 for w in windows]
    # Round-robin over the 4 songs with >= 12 events: each twice, the 9-event song never.
    assert sorted(sources) == [0, 0, 2, 2, 3, 3, 4, 4]
    assert all(w[0, 0] == 0.0 for w in windows)
    again = real_windows(songs, 12, 8, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(windows, again))
    other = real_windows(songs, 12, 8, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(windows, other))
    with pytest.raises(ValueError, match="longest has 80"):
        real_windows(songs, 81, 2, seed=0)


def test_real_windows_are_slices_of_the_song():
    song = np.arange(200, dtype=np.float32).reshape(50, 4) + 1
    for w in real_windows([song], 10, 5, seed=0):
        start = int(np.flatnonzero(song[:, 2] == w[0, 2])[0])
        assert np.array_equal(w[1:], song[start + 1 : start + 10])  # dt of the first row is 0


def test_within_seconds_counts_onsets_from_the_first():
    # dt 5 of the first event is ignored: onsets 0, 1, 1, 3, 6.
    song = np.column_stack([[5.0, 1, 0, 2, 3], np.ones(5), np.arange(60.0, 65), np.full(5, 64.0)])
    assert len(within_seconds(song, 3.0)) == 3  # onset < 3
    assert len(within_seconds(song, 3.5)) == 4
    assert len(within_seconds(song, 100.0)) == 5 and len(within_seconds(song[:0], 1.0)) == 0


def test_duration_windows_are_whole_and_distinct():
    # Song 0: ten events one second apart (onsets 0..9); song 1 spans 2 s, too short for 4 s.
    long = np.column_stack([np.ones(10), np.ones(10), np.arange(60.0, 70), np.full(10, 64.0)])
    short = np.column_stack([np.ones(3), np.ones(3), np.full(3, 40.0), np.full(3, 64.0)])
    windows = duration_windows([long, short], 4.0, 6, seed=0)
    # Starts 0..5 have 4 s of song after them: six distinct windows of 4 events each.
    assert [len(w) for w in windows] == [4] * 6
    assert sorted(int(w[0, 2]) for w in windows) == [60, 61, 62, 63, 64, 65]
    assert all(w[0, 0] == 0 and np.array_equal(w[1:, 0], [1, 1, 1]) for w in windows)
    with pytest.raises(ValueError, match="longest spans 9.0 s"):
        duration_windows([long, short], 10.0, 2, seed=0)
