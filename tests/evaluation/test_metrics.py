"""Exact values of the paper's statistics on tiny hand-made songs, clean and legacy."""

import math

import numpy as np
import pytest

from crnngan.constants import TIME_QUANTUM
from crnngan.data.notes import Notes, frequency_to_pitch, pitch_to_frequency
from crnngan.evaluation import statistics as M

TICK = TIME_QUANTUM
BEAT = 384 * TICK  # one quarter note


def beats(*onsets: float) -> np.ndarray:
    return np.array(onsets, dtype=float) * BEAT


# ----------------------------------------------------------------------------- pitch


def test_frequencies_quantise_clean_to_the_nearest_and_legacy_truncated():
    pitches = frequency_to_pitch(np.array([440.0, 460.0, 880.0]))
    # 69 + 12 log2(460/440) = 69.77: nearest 70, truncated 69 (the original's int()).
    np.testing.assert_array_equal(M.quantise_pitch(pitches), [69, 70, 81])
    np.testing.assert_array_equal(M.quantise_pitch(pitches, legacy=True), [69, 69, 81])


def test_quantise_pitch_ties_to_even_and_truncates_towards_zero():
    # rint: 60.5 -> 60, 61.5 -> 62 (ties to even), 60.9 -> 61.
    np.testing.assert_array_equal(M.quantise_pitch([60.5, 61.5, 60.9]), [60, 62, 61])
    # trunc: 60.5 -> 60, 61.5 -> 61, 60.9 -> 60, -0.5 -> -0 (towards zero, like int()).
    legacy = M.quantise_pitch([60.5, 61.5, 60.9, -0.5], legacy=True)
    np.testing.assert_array_equal(legacy, [60, 61, 60, 0])


def test_pitch_to_frequency_inverts_frequency_to_pitch():
    np.testing.assert_allclose(pitch_to_frequency(np.array([69, 81, 57])), [440.0, 880.0, 220.0])
    pitches = np.arange(21, 109)
    np.testing.assert_array_equal(M.quantise_pitch(frequency_to_pitch(pitch_to_frequency(pitches))), pitches)


# ----------------------------------------------------------------------------- polyphony

CHORD_THEN_TWO = beats(0, 0, 0, 1, 2)  # groups of sizes 3, 1, 1
THREE_DYADS = beats(0, 0, 1, 1, 2, 2)  # groups of sizes 2, 2, 2


def test_polyphony_chord_then_two_single_notes():
    # clean: 1 of 3 groups has >= 2 tones.
    assert M.polyphony(CHORD_THEN_TWO) == pytest.approx(1 / 3)
    # paper: groups closed by a later onset are (3, 1): poly 1, mono 1 -> 1/2.
    assert M.polyphony(CHORD_THEN_TWO, legacy="paper") == 0.5
    # head: tones count mono, poly, poly, mono, mono (+2 poly, 3 mono) and the closed
    # groups add poly 1, mono 1: 3 / (3 + 4).
    assert M.polyphony(CHORD_THEN_TWO, legacy="head") == pytest.approx(3 / 7)
    assert M.polyphony(CHORD_THEN_TWO, legacy=True) == 0.5  # True = the paper snapshot


def test_polyphony_three_dyads():
    # clean 3/3; paper counts the first two groups, both poly: 2/2.
    assert M.polyphony(THREE_DYADS) == 1.0
    assert M.polyphony(THREE_DYADS, legacy="paper") == 1.0
    # head: tones mono, poly x3 (+3 poly, 3 mono), closed groups poly 2: 5 / (5 + 3).
    assert M.polyphony(THREE_DYADS, legacy="head") == 0.625


def test_polyphony_edge_cases():
    for legacy in (None, "paper", "head"):
        assert math.isnan(M.polyphony([], legacy=legacy))  # empty song
    # One tone: one mono group; paper has no closed group (the original divides by 0).
    assert M.polyphony([1.0]) == 0.0
    assert math.isnan(M.polyphony([1.0], legacy="paper"))
    assert M.polyphony([1.0], legacy="head") == 0.0  # no poly count -> 0.0
    # One 3-note chord: clean 1/1, paper NaN (never closed), head tones m, p, p: 2/3.
    chord = beats(2, 2, 2)
    assert M.polyphony(chord) == 1.0
    assert math.isnan(M.polyphony(chord, legacy="paper"))
    assert M.polyphony(chord, legacy="head") == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        M.polyphony(chord, legacy="nope")


def test_polyphony_compares_quantised_sorted_onsets():
    # 0.4 tick rounds to tick 0: a chord with the first tone; the input order is irrelevant.
    assert M.polyphony(np.array([BEAT, 0.4 * TICK, 0.0])) == 0.5  # groups {0, 0.4}, {BEAT}


def test_polyphony_tolerance_is_measured_from_the_group_start():
    onsets = np.array([0, 1, 3, 10]) * TICK
    # tolerance 0: four single tones.
    assert M.polyphony(onsets) == 0.0
    # 2 ticks: {0, 1} (1 <= 2), {3} (3 - 0 > 2), {10}: 1 of 3 groups.
    assert M.polyphony(onsets, tolerance=2 * TICK) == pytest.approx(1 / 3)
    # No chaining: 0, 2, 4 with 2 ticks gives {0, 2}, {4} (4 - 0 > 2), not one group.
    assert M.polyphony(np.array([0, 2, 4]) * TICK, tolerance=2 * TICK) == 0.5
    with pytest.raises(ValueError):
        M.polyphony(onsets, tolerance=-1.0)


# ----------------------------------------------------------------------------- scale

D_MAJOR = [62, 64, 66, 67, 69, 71, 73, 74]  # D E F# G A B C# D


def test_scale_consistency_d_major_and_the_legacy_modulo_bug():
    # Clean: all 8 tones in D major (root 2).
    assert M.scale_consistency(D_MAJOR) == (1.0, 2, "major")
    # Legacy: C# (class 1) gives 1 - 2 = -1, never a degree: 7/8. No candidate does
    # better (C major misses F# and C#: 6/8), so D major still wins.
    assert M.scale_consistency(D_MAJOR, legacy=True) == (0.875, 2, "major")


def test_scale_consistency_tie_order_roots_then_major_natural_harmonic():
    # C major scale: C major and A natural minor both score 1; root C comes first.
    assert M.scale_consistency([60, 62, 64, 65, 67, 69, 71, 72]) == (1.0, 0, "major")
    # C, Eb: natural and harmonic minor on C both 1 (major 1/2); natural is listed first.
    for legacy in (False, True):
        assert M.scale_consistency([60, 63], legacy=legacy) == (1.0, 0, "natural_minor")
    # C, Eb, B: only harmonic minor on C holds all three (major and natural: 2/3).
    assert M.scale_consistency([60, 63, 71]) == (1.0, 0, "harmonic_minor")
    # C# alone: no C scale has class 1; C# major is the first candidate that does.
    assert M.scale_consistency([61]) == (1.0, 1, "major")


def test_scale_consistency_rounds_or_truncates_float_pitches():
    # 66.7 -> 67 (G, in C major): 1.0; truncated to 66 (F#): C major holds 4 of 5.
    song = [60, 64, 66.7, 62, 60]
    assert M.scale_consistency(song) == (1.0, 0, "major")
    assert M.scale_consistency(song, legacy=True) == (0.8, 0, "major")


def test_scale_consistency_random_pitches_score_far_below_an_in_key_melody():
    rng = np.random.default_rng(0)
    in_key = rng.choice([60, 62, 64, 65, 67, 69, 71], size=200)
    chromatic = rng.integers(48, 84, size=200)
    assert M.scale_consistency(in_key)[0] == 1.0
    # A uniform chromatic song fits any 7-tone scale about 7/12 = 0.58 of the time.
    assert M.scale_consistency(chromatic)[0] < 0.75


def test_scale_consistency_empty_song():
    score, root, name = M.scale_consistency([])
    assert math.isnan(score) and root is None and name is None


# ----------------------------------------------------------------------------- repetitions

MOTIF = [60, 62, 64] * 4  # n = 12
EQUAL10 = [60] * 10


def test_repetitions_motif_legacy():
    # Original loops: i < n - 2l, i + l <= j < n - l, lengths l < n // 2 = 6. Equal
    # windows start in the same phase mod 3; the second window starts at most n - l - 1.
    # l=2: starts <= 9: (60,62) {0,3,6,9} 6 pairs; (62,64) {1,4,7} 3; (64,60) {2,5,8} 3: 12.
    # l=3: starts <= 8: {0,3,6}, {1,4,7}, {2,5,8}: 3 + 3 + 3 = 9.
    # l=4: starts <= 7: {0,3,6}: (0,6) only (3 - 0 < 4); {1,4,7}: (1,7); {2,5}: none: 2.
    # l=5: starts <= 6: {0,3,6}: (0,6): 1.
    expected = {2: 12, 3: 9, 4: 2, 5: 1, 6: 0, 7: 0, 8: 0, 9: 0}
    assert M.all_repetitions(MOTIF, legacy=True) == expected
    assert M.repetitions(MOTIF, 3, legacy=True) == 9


def test_repetitions_motif_clean():
    # Every window, starts 0..n-l:
    # l=2: {0,3,6,9} 6 + {1,4,7,10} 6 + {2,5,8} 3 = 15.   l=3: {0,3,6,9} 6 + 3 + 3 = 12.
    # l=4: {0,3,6} -> (0,6); {1,4,7} -> (1,7); {2,5,8} -> (2,8): 3.
    # l=5: {0,3,6} -> (0,6); {1,4,7} -> (1,7): 2.   l=6: (0,6): 1.   l>=7: 2l > 12: 0.
    expected = {2: 15, 3: 12, 4: 3, 5: 2, 6: 1, 7: 0, 8: 0, 9: 0}
    assert M.all_repetitions(MOTIF) == expected
    assert M.repetitions(MOTIF) == 12


def test_repetitions_equal_notes_both_modes():
    # Every window pair matches. Clean: m = n - 2l + 1 first starts, m (m + 1) / 2 pairs:
    # l=2: m=7 -> 28; l=3: m=5 -> 15; l=4: m=3 -> 6; l=5: m=1 -> 1.
    assert M.all_repetitions(EQUAL10) == {2: 28, 3: 15, 4: 6, 5: 1, 6: 0, 7: 0, 8: 0, 9: 0}
    # Legacy drops the last start: (m - 1) m / 2 = 21, 10, 3; l = 5 is not < 10 // 2.
    assert M.all_repetitions(EQUAL10, legacy=True) == {2: 21, 3: 10, 4: 3, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0}


def test_repetitions_legacy_length_cutoff():
    # n=5, l=2: the clean pairs (0,2), (0,3), (1,3) all match; the original only tries
    # l < 5 // 2 = 2, so none.
    assert M.repetitions([60] * 5, 2) == 3
    assert M.repetitions([60] * 5, 2, legacy=True) == 0


def test_repetitions_quantise_before_comparing():
    song = [60.4, 59.6] * 3
    # Clean: all round to 60, n=6, l=2: m=3 -> 6 pairs.
    assert M.repetitions(song, 2) == 6
    # Legacy: 60, 59, 60, 59, 60, 59; starts <= 3: (60,59) at 0,2 and (59,60) at 1,3: 2.
    assert M.repetitions(song, 2, legacy=True) == 2


def test_repetitions_rate():
    # Equal notes: every pair repeats.
    assert M.repetitions_rate(EQUAL10, 2) == 1.0
    # Motif, l=3: 12 repeating of m (m + 1) / 2 = 28 pairs (m = 12 - 6 + 1 = 7).
    assert M.repetitions_rate(MOTIF, 3) == pytest.approx(12 / 28)
    # No repeated pitch: 0; shorter than 2l: no pair, NaN.
    assert M.repetitions_rate(list(range(60, 70)), 2) == 0.0
    assert math.isnan(M.repetitions_rate([60] * 5, 3))


def test_repetitions_empty_song():
    assert M.all_repetitions([]) == dict.fromkeys(M.REPETITION_LENGTHS, 0)
    assert math.isnan(M.repetitions_rate([], 2))


# ----------------------------------------------------------------------------- spans


def test_tone_span_unique_tones_intensity_span():
    # Clean: 60, 67, 56 (55.6 rounded) -> span 11; legacy truncates to 55 -> 12.
    assert M.tone_span([60, 67, 55.6]) == 11.0
    assert M.tone_span([60, 67, 55.6], legacy=True) == 12.0
    # Clean: 60, 60, 62, 61 -> 3 distinct; legacy: 60, 60, 61, 61 -> 2.
    assert M.unique_tones([60, 60.4, 61.6, 61.2]) == 3
    assert M.unique_tones([60, 60.4, 61.6, 61.2], legacy=True) == 2
    assert M.intensity_span([20, 100, 64]) == 80.0  # 100 - 20
    # Empty song: 0; one tone: 0 span, 1 tone.
    assert M.tone_span([]) == 0.0 and M.unique_tones([]) == 0 and M.intensity_span([]) == 0.0
    assert M.tone_span([64]) == 0.0 and M.unique_tones([64]) == 1 and M.intensity_span([90]) == 0.0


def test_non_finite_pitches_are_rejected():
    with pytest.raises(ValueError):
        M.unique_tones([60, np.nan])


# ----------------------------------------------------------------------------- song


SONG = Notes(CHORD_THEN_TWO, [0.5] * 5, [60, 64, 66.7, 62, 60], [10, 20, 30, 40, 50])


def test_song_statistics_clean():
    stats = M.song_statistics(SONG)
    assert tuple(stats) == M.STAT_KEYS
    # Tones 60 64 67 62 60 (66.7 rounds to G): all in C major.
    # Repetitions: no two equal 2-tone windows; rate l=2: 0 of m (m + 1) / 2 = 3 pairs
    # (m = 5 - 4 + 1 = 2); l >= 3 needs 2l <= 5 tones: no pairs, NaN.
    expected = {
        "num_tones": 5,
        "polyphony": 1 / 3,
        "scale_consistency": 1.0,
        "tone_span": 7,
        "unique_tones": 4,
        "intensity_span": 40,  # 67-60, 50-10
        "repetitions_rate_2": 0.0,
    }
    expected.update({f"repetitions_{l}": 0 for l in M.REPETITION_LENGTHS})
    expected.update({f"repetitions_rate_{l}": np.nan for l in range(3, 10)})
    np.testing.assert_allclose([stats[k] for k in expected], list(expected.values()))


def test_song_statistics_legacy():
    stats = M.song_statistics(SONG, legacy=True)
    # Tones 60 64 66 62 60 (66.7 truncates to F#): C major holds 4 of 5; span 66 - 60.
    # Polyphony of the paper snapshot: 1/2.
    assert (stats["polyphony"], stats["scale_consistency"], stats["tone_span"]) == (0.5, 0.8, 6.0)
    assert stats["unique_tones"] == 4.0 and stats["intensity_span"] == 40.0
    assert M.song_statistics(SONG, legacy="head")["polyphony"] == pytest.approx(3 / 7)


def test_song_statistics_edge_cases():
    empty = M.song_statistics(Notes([], [], [], []))
    assert all(
        math.isnan(empty[k])
        for k in M.STAT_KEYS
        if k in ("polyphony", "scale_consistency") or k.startswith("repetitions_rate")
    )
    assert all(empty[k] == 0 for k in ("num_tones", "tone_span", "unique_tones", "intensity_span"))
    assert all(empty[f"repetitions_{l}"] == 0 for l in M.REPETITION_LENGTHS)
    one = M.song_statistics(Notes([0.0], [0.5], [60], [64]))
    # One tone: one mono group, fits any scale, one pitch, no span.
    assert [one[k] for k in ("polyphony", "scale_consistency", "unique_tones", "tone_span")] == [0, 1, 1, 0]
    assert math.isnan(M.song_statistics(Notes([0.0], [0.5], [60], [64]), legacy=True)["polyphony"])
    with pytest.raises(ValueError):
        M.song_statistics(Notes([0.0, 1.0], [0.5], [60], [64]))
    with pytest.raises(ValueError):
        M.song_statistics(Notes([0.0], [0.5], [60], [64]), legacy="nope")
