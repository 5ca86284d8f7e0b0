"""The paper's statistics for a padded batch of songs equal them song by song, and
song_table measures event arrays with them."""

import numpy as np
import pytest

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes
from crnngan.data.representation import events_to_notes
from crnngan.evaluation import statistics as M
from crnngan.evaluation.batch import batch_statistics, padded, song_table

TICK = TIME_QUANTUM


def random_batch(rng: np.random.Generator, B: int, N: int):
    onsets = np.cumsum(rng.choice([0, 0, 1, 2, 5], size=(B, N)), axis=1) * TICK
    # Few pitch values (and off-grid floats) so windows repeat and rounding matters.
    pitches = rng.integers(60, 63, size=(B, N)) + rng.uniform(-0.7, 0.7, size=(B, N))
    velocities = rng.integers(1, 128, size=(B, N)).astype(float)
    lengths = np.full((B, N), 0.25)
    mask = rng.random((B, N)) < rng.random((B, 1))  # holes anywhere, varied fill
    mask[0] = False  # an empty song
    mask[1] = False
    mask[1, 7] = True  # a one-tone song
    return onsets, pitches, velocities, lengths, mask


@pytest.mark.parametrize("legacy", [False, True, "head"])
@pytest.mark.parametrize("tolerance", [0.0, 3 * TICK])
def test_batch_statistics_equals_song_statistics(legacy, tolerance):
    onsets, pitches, velocities, lengths, mask = random_batch(np.random.default_rng(7), 40, 30)
    batch = batch_statistics(Notes(onsets, lengths, pitches, velocities), mask, tolerance=tolerance, legacy=legacy)
    assert tuple(batch) == M.STAT_KEYS
    for b in range(len(mask)):
        m = mask[b]
        notes = Notes(onsets[b, m], lengths[b, m], pitches[b, m], velocities[b, m])
        song = M.song_statistics(notes, tolerance=tolerance, legacy=legacy)
        np.testing.assert_array_equal([batch[k][b] for k in M.STAT_KEYS], list(song.values()), err_msg=f"song {b}")


def test_batch_statistics_without_mask_and_without_slots():
    onsets, pitches, velocities, lengths, _ = random_batch(np.random.default_rng(3), 4, 25)
    batch = batch_statistics(Notes(onsets, lengths, pitches, velocities))
    song = M.song_statistics(Notes(onsets[2], lengths[2], pitches[2], velocities[2]))
    np.testing.assert_array_equal([batch[k][2] for k in M.STAT_KEYS], list(song.values()))
    none = batch_statistics(Notes(*[np.zeros((3, 0))] * 4))
    assert np.all(none["num_tones"] == 0) and np.all(np.isnan(none["polyphony"]))


def test_song_table_measures_each_event_array_as_its_notes():
    rng = np.random.default_rng(5)
    songs = [
        np.column_stack(
            [rng.choice([0, 96 * TICK], n), np.full(n, 0.5), rng.integers(55, 70, n), rng.integers(1, 128, n)]
        )
        for n in (12, 0, 5)
    ]
    events, mask = padded(songs)
    assert events.shape == (3, 12, 4) and mask.sum(axis=1).tolist() == [12, 0, 5]
    table = song_table(songs, tolerance=TICK)
    for b, song in enumerate(songs):
        expected = M.song_statistics(events_to_notes(song), tolerance=TICK)
        np.testing.assert_array_equal([table[k][b] for k in M.STAT_KEYS], list(expected.values()))
