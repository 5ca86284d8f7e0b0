"""The model representation: log-time warp, MIDI-number pitch, bounded decoding, presence."""

import numpy as np
import pytest

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes
from crnngan.data.representation import (
    Normalizer,
    events_to_notes,
    events_to_steps,
    exp_time,
    feature_width,
    log_time,
    notes_to_events,
    steps_to_events,
)


def test_log_time_keeps_zero_and_inverts_exactly_on_the_grid():
    assert log_time(np.array([0.0]))[0] == 0.0  # a chord's dt = 0 stays 0
    assert log_time(np.array([TIME_QUANTUM]))[0] == pytest.approx(np.log(2))  # one tick
    ticks = np.concatenate([np.arange(0, 5000), np.array([10**5, 768 * 163.5, 10**6])])
    seconds = ticks * TIME_QUANTUM
    np.testing.assert_array_equal(exp_time(log_time(seconds)), seconds)
    # A model's value a little off the grid decodes to the nearest tick, never below 0.
    assert exp_time(np.array([np.log(2) + 1e-3]))[0] == TIME_QUANTUM
    assert exp_time(np.array([-3.0]))[0] == 0.0


def test_feature_width():
    assert (feature_width(1), feature_width(3)) == (5, 14)


# Two onsets: a C major triad (dt 0 inside the chord), then E4 alone 0.5 s later.
NOTES = Notes(
    np.array([0.0, 0.0, 0.0, 0.5]),
    np.array([1.0, 1.0, 1.0, 0.75]),
    np.array([60, 64, 67, 64]),
    np.array([80, 70, 60, 90]),
)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("time_feature, pitch_feature", [("log", "midi"), ("linear", "frequency")])
def test_transform_inverse_round_trip(k, time_feature, pitch_feature):
    events = notes_to_events(NOTES)
    norm = Normalizer.fit(events, pitch_feature, time_feature)
    steps = events_to_steps(events, k)
    feats = norm.transform(steps, k)
    assert feats.shape == (len(steps), feature_width(k))
    back = norm.inverse(feats, k)
    np.testing.assert_allclose(back, steps, atol=1e-4)
    np.testing.assert_array_equal(back[:, 0], steps[:, 0])  # times land exactly on the grid
    np.testing.assert_array_equal(steps_to_events(back, k)[:, 2].round(), events[:, 2])


def test_a_constant_column_keeps_its_units():
    # Seven tones of 0.25 s at one loudness. The mean of seven log_time(0.25) rounds (numpy
    # sums fewer than 8 values in order, the same on every CPU), so the std is ~1e-16, not 0.
    events = np.array([[0.0, 0.25, 60 + i, 80] for i in range(7)])
    assert 0 < np.std(log_time(events[:, 1])) < 1e-15
    norm = Normalizer.fit(events)
    assert (norm.length_scale, norm.velocity_std) == (1.0, 1.0)
    feats = norm.transform(events_to_steps(events, 1), 1)  # (7, 5): [dt, onset, length, pitch, velocity]
    # in log ticks, unscaled
    np.testing.assert_allclose(feats[:, 2], np.full(7, np.log1p(0.25 / TIME_QUANTUM)), rtol=1e-6)
    np.testing.assert_array_equal(feats[:, 4], 0.0)


def test_presence_column_for_several_tones_per_step():
    events = notes_to_events(NOTES)
    norm = Normalizer.fit(events)
    feats = norm.transform(events_to_steps(events, 3), 3)  # (2 steps, 14)
    presence = feats[:, 5::4]  # (steps, slots): [dt, onset, (length, pitch, velocity, presence) x 3]
    np.testing.assert_array_equal(presence, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(feats[:, 1], [0, 1])  # onset: the song's start, then a new onset
    # An absent slot is all zeros, presence included.
    np.testing.assert_array_equal(feats[1, 6:], np.zeros(8))
    # Decoding thresholds presence at 0.5.
    soft = feats.copy()
    soft[1, 9] = 0.6  # slot 2 of step 2 now "sounds" (with the zero features' tone)
    soft[0, 13] = 0.4  # slot 3 of step 1 is dropped
    out = steps_to_events(norm.inverse(soft, 3), 3)
    assert len(out) == 4 and sorted(out[:, 2].round().tolist()) == sorted([60.0, 64.0, 64.0, round(norm.pitch_mean)])


def test_decoding_is_bounded_by_the_training_data():
    events = notes_to_events(NOTES)
    norm = Normalizer.fit(events)
    # [dt, onset, length, pitch, velocity]
    wild = np.array([[100.0, 1.0, 100.0, 0.0, 40.0], [-100.0, 1.0, -100.0, 0.0, -40.0], [100.0, 0.4, 0.0, 0.0, 0.0]])
    raw = norm.inverse(wild, 1)
    assert raw[0, 0] == norm.dt_max == 0.5 and raw[0, 1] == norm.length_max == 1.0
    # A new onset is at least one quantum after the last, and a tone lasts at least one.
    assert raw[1, 0] == TIME_QUANTUM and raw[1, 1] == TIME_QUANTUM
    assert (raw[0, 3], raw[1, 3]) == (90.0, 60.0)  # the training velocity range
    assert raw[2, 0] == 0.0  # onset flag below 0.5: a chord member, whatever dt says


def test_notes_count_tones_and_unpack_in_one_order():
    notes = events_to_notes(np.array([[0.0, 0.5, 60, 80], [0.0, 0.25, 64, 70], [0.5, 1.0, 67, 90]]))
    assert len(notes) == 3
    onsets, lengths, pitches, velocities = notes
    assert onsets.tolist() == [0.0, 0.0, 0.5] and lengths.tolist() == [0.5, 0.25, 1.0]
    assert pitches.tolist() == [60, 64, 67] and velocities.tolist() == [80, 70, 90]
    # notes -> events -> notes is exact on the grid (lengths of whole quanta)
    np.testing.assert_array_equal(notes_to_events(notes), [[0.0, 0.5, 60, 80], [0.0, 0.25, 64, 70], [0.5, 1.0, 67, 90]])
