"""Collapse and diversity indicators on hand-made song sets, and the verdict."""

import math

import numpy as np
import pytest

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import pitch_name
from crnngan.evaluation import diversity as dv


def song(pitches, dt=0.5, length=0.25) -> np.ndarray:
    """One tone per pitch, ``dt`` seconds apart (the first at 0)."""
    n = len(pitches)
    ev = np.zeros((n, 4), dtype=np.float32)
    ev[1:, 0] = dt
    ev[:, 1], ev[:, 2], ev[:, 3] = length, pitches, 80
    return ev


def test_distinct_share():
    same = [song([60, 62, 64])] * 4
    assert dv.distinct_share(same) == 1 / 4
    assert dv.distinct_share([song([60, 62, 64]), song([60, 62, 65]), song([60, 62, 64], dt=0.25)]) == 1.0
    # Off-grid noise below half a quantum is the same song; a semitone is not.
    nudged = song([60, 62, 64])
    nudged[1, 0] += 0.2 * TIME_QUANTUM
    nudged[2, 2] += 0.3
    assert dv.distinct_share([song([60, 62, 64]), nudged]) == 0.5
    assert math.isnan(dv.distinct_share([]))


def test_top_pitch_and_its_name():
    songs = [song([62] * 9 + [64]), song([62] * 8 + [60, 65])]
    assert dv.top_pitch(songs) == (62, 17 / 20)
    assert pitch_name(62) == "D4" and pitch_name(60) == "C4" and pitch_name(69) == "A4"
    pitch, share = dv.top_pitch([song([])])
    assert pitch is None and math.isnan(share)


def test_pitch_class_distance():
    c, g = song([60, 64, 67]), song([62, 66, 69])  # C major vs D major triads: disjoint classes
    assert dv.pitch_class_distance([c, c]) == 0.0
    assert dv.pitch_class_distance([c, g]) == pytest.approx(1.0)
    assert dv.pitch_class_distance([c, g, c]) == pytest.approx(2 / 3)  # pairs: 1, 0, 1
    assert dv.pitch_class_distance([c, c + np.array([0, 0, 12, 0], np.float32)]) == 0.0  # octaves alike
    assert math.isnan(dv.pitch_class_distance([c, song([])]))  # one song with notes


def test_short_share_and_songs_with_8_pitches():
    songs = [song(list(range(60, 70))), song([60, 61]), song([])]
    d = dv.diversity(songs, min_notes=5)
    assert d.short_share == 2 / 3 and d.songs_with_8_pitches == 1 / 3 and d.mean_notes == 4.0


def test_verdict_of_a_collapsed_set():
    held = [song([62] * 95 + [64, 65, 66, 67, 69]) for _ in range(44)]
    others = [song([62] * 90 + list(range(70, 80)), dt=0.25 + 0.01 * i) for i in range(19)]
    d = dv.diversity(held + others, min_notes=50)
    assert d.distinct_share == 20 / 63
    assert dv.verdict(d, dv.CollapseThresholds()) == "collapsed: 93% of notes are D4, 20 of 63 songs distinct"


def test_no_verdict_for_varied_songs():
    rng = np.random.default_rng(0)
    songs = [song(rng.integers(55, 80, 100)) for _ in range(32)]
    d = dv.diversity(songs, min_notes=50)
    assert d.distinct_share == 1.0 and d.top_pitch_share < 0.1
    assert dv.verdict(d, dv.CollapseThresholds()) is None
