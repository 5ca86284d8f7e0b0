"""MGEval-style features, distances and OA/KLD, including the mode-collapse case."""

import math

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from crnngan.data.notes import Notes
from crnngan.evaluation import distributions as D

BEAT = 0.5  # seconds per quarter note at the reference 120 BPM


def test_song_features_hand_example():
    # A dyad (60, 64) then 62 and 75, one beat apart; lengths 1, 1, 1/2 and 4 beats.
    f = D.song_features(
        onsets=[0, 0, BEAT, 2 * BEAT], pitches=[60, 64, 62, 75], lengths=[BEAT, BEAT, BEAT / 2, 4 * BEAT]
    )
    assert tuple(f) == D.FEATURE_NAMES
    assert f["pitch_count"][0] == 4 and f["pitch_range"][0] == 15  # 75 - 60
    assert f["avg_pitch_interval"][0] == pytest.approx(19 / 3)  # |+4| + |-2| + |+13|, over 3
    assert f["note_count"][0] == 4
    assert f["mean_ioi"][0] == pytest.approx(BEAT * 2 / 3)  # IOIs 0, 1, 1 beats
    assert f["mean_note_length"][0] == pytest.approx(0.8125)  # (1 + 1 + 0.5 + 4) beats / 4 * 0.5 s
    pch = np.zeros(12)
    pch[[0, 4, 2, 3]] = 1 / 4  # C, E, D, D# (75 % 12 = 3)
    np.testing.assert_allclose(f["pitch_class_histogram"], pch)
    intervals = np.zeros(25)
    intervals[[12 + 4, 12 - 2, 12 + 12]] = 1 / 3  # +13 is clipped to +12
    np.testing.assert_allclose(f["interval_histogram"], intervals)
    ioi = np.zeros(13)
    ioi[[0, 7]] = [1 / 3, 2 / 3]  # class 0 (chord) once, class 7 (1 beat) twice
    np.testing.assert_allclose(f["ioi_histogram"], ioi)
    lengths = np.zeros(13)
    lengths[[7, 4, 12]] = [2 / 4, 1 / 4, 1 / 4]  # 1 beat twice, 1/2 beat, 4 beats
    np.testing.assert_allclose(f["note_length_histogram"], lengths)


def test_song_features_empty_and_single_tone_are_zero_not_nan():
    empty = D.song_features([], [], [])
    assert all(np.all(v == 0) for v in empty.values())
    one = D.song_features([0.0], [60], [BEAT])
    # One tone: count 1, pitch class C, length class 1 beat; no interval, no IOI.
    assert one["note_count"][0] == 1 and one["pitch_count"][0] == 1 and one["pitch_range"][0] == 0
    assert one["avg_pitch_interval"][0] == 0 and one["mean_ioi"][0] == 0
    assert one["pitch_class_histogram"][0] == 1 and one["note_length_histogram"][7] == 1
    assert not one["interval_histogram"].any() and not one["ioi_histogram"].any()


def test_intra_and_inter_set_distances():
    a = np.array([[0.0], [3.0], [4.0]])
    # Leave-one-out, both orders: |0-3|, |0-4|, |3-0|, |3-4|, |4-0|, |4-3|.
    np.testing.assert_array_equal(D.intra_set_distances(a), [3, 4, 3, 1, 4, 1])
    # Every row of a against every row of b: 3 x 2 values.
    np.testing.assert_array_equal(D.inter_set_distances(a, np.array([[0.0], [1.0]])), [0, 1, 3, 2, 4, 3])


def test_binned_kde_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 300), rng.normal(4, 0.5, 200)])
    # For one sample compared with itself the shared bandwidth is scipy's Scott bandwidth.
    bandwidth = D._shared_bandwidth(x, x)
    reference = gaussian_kde(x)
    assert bandwidth == pytest.approx(math.sqrt(reference.covariance[0, 0]), rel=1e-12)
    grid = np.linspace(x.min() - 4, x.max() + 4, 800)
    exact = reference(grid) / reference(grid).sum()
    # Linear binning on a grid of ~bandwidth/13 steps: error well under 0.1% of the peak.
    assert np.max(np.abs(D._kde_on_grid(x, bandwidth, grid) - exact)) < 1e-3 * exact.max()


def test_identical_distance_samples_overlap_fully():
    x = np.random.default_rng(1).gamma(2.0, 1.0, 500)
    result = D.compare_distance_samples(x, x)
    # Same kernel, same grid, same samples: the two densities are the same array.
    assert result["oa"] == pytest.approx(1.0, abs=1e-12)
    assert result["kld"] == pytest.approx(0.0, abs=1e-12)
    assert result["degenerate"] is False


def test_disjoint_distance_samples_do_not_overlap():
    rng = np.random.default_rng(2)
    result = D.compare_distance_samples(rng.normal(1, 0.1, 400), rng.normal(5, 0.1, 400))
    # 40 pooled stds apart: the kernels underflow to 0 long before they meet. KLD stays
    # finite (smoothing): about log(grid / SMOOTHING), here log(512 / 1e-6) = 20.1.
    assert result["oa"] < 1e-9 and 15 < result["kld"] < math.log(D._GRID_MAX / D.SMOOTHING)
    half = D.compare_distance_samples(rng.normal(1, 0.5, 400), rng.normal(1.5, 0.5, 400))
    # One std apart: OA of two unit normals one std apart is 2 Phi(-1/2) = 0.62.
    assert 0.5 < half["oa"] < 0.75 and 0 < half["kld"] < 1


def test_point_masses():
    spread = np.linspace(0.0, 1.0, 50)
    # Both constant: no kernel; same value -> OA 1, KLD 0, else OA 0 and the KLD of two
    # disjoint two-point densities smoothed by 1e-6: (1 - e/2) log((1 - e/2) / (e/2)) + ...
    same = D.compare_distance_samples(np.zeros(6), np.zeros(4))
    apart = D.compare_distance_samples(np.zeros(6), np.ones(4))
    assert same == {"oa": 1.0, "kld": 0.0, "degenerate": True}
    e = D.SMOOTHING
    hi, lo = 1 - e / 2, e / 2
    assert apart["oa"] == 0.0 and apart["kld"] == pytest.approx(hi * math.log(hi / lo) + lo * math.log(lo / hi))
    # One constant (scipy's gaussian_kde raises LinAlgError on it): smoothed with the
    # other's kernel, finite, flagged.
    mixed = D.compare_distance_samples(np.zeros(30), spread)
    assert 0 < mixed["oa"] < 1 and math.isfinite(mixed["kld"]) and mixed["degenerate"] is True


# ----------------------------------------------------------------------------- sets


def random_song(rng, n, pitches, gaps, lengths):
    """n >= len(pitches) tones using every pitch of ``pitches`` in random order."""
    onsets = np.concatenate([[0.0], np.cumsum(rng.choice(gaps, n - 1))])
    tones = rng.permutation(np.resize(pitches, n)).astype(float)
    return Notes(onsets, rng.choice(lengths, n), tones, np.full(n, 64.0))


def reference_set(rng, size=24):
    return [
        random_song(rng, int(rng.integers(30, 41)), [60, 62, 64, 65, 67, 69], [0.25, 0.5, 1.0], [0.25, 0.5])
        for _ in range(size)
    ]


def test_compare_sets_identical_sets():
    songs = reference_set(np.random.default_rng(3))
    result = D.compare_sets(songs, songs)
    assert set(result) == {*D.FEATURE_NAMES, "summary"}
    S = len(songs)
    # Inter-set distances = intra-set ones plus the S zero self-distances; with one kernel
    # the inter density is (1 - a) p + a k0 with a = 1/S, so OA >= 1 - a and
    # KLD(p || q) <= -log(1 - a) (q >= (1 - a) p). Exact bounds (1e-9: rounding only).
    for name in D.FEATURE_NAMES:
        r = result[name]
        assert r["oa"] >= 1 - 1 / S - 1e-9, name
        assert r["kld"] <= -math.log(1 - 1 / S) + 1e-9, name
        assert (r["oa_gen"], r["kld_gen"]) == (r["oa"], r["kld"])
    # Every song uses all 6 pitches over 9 semitones: constant features, exact overlap.
    assert result["pitch_count"]["oa"] == 1.0 and result["pitch_count"]["degenerate"] is True
    assert result["summary"]["oa"] >= 1 - 1 / S


def test_compare_sets_disjoint_sets():
    rng = np.random.default_rng(4)
    reference = reference_set(rng)
    generated = [
        random_song(rng, int(rng.integers(90, 101)), np.arange(20, 100), [0.0, 0.125], [0.1, 2.0]) for _ in range(24)
    ]
    result = D.compare_sets(generated, reference)
    # Counts, spreads, intervals and timings are far apart: the inter-set distances lie
    # well beyond the reference's intra-set ones. (Pitch-class histograms are bounded
    # and overlap partly.)
    for name in (
        "note_count",
        "pitch_range",
        "avg_pitch_interval",
        "interval_histogram",
        "mean_ioi",
        "ioi_histogram",
        "mean_note_length",
        "note_length_histogram",
    ):
        assert result[name]["oa"] < 1e-3, name
    assert result["summary"]["oa"] < 0.1 and result["summary"]["kld"] > 10


def test_compare_sets_mode_collapsed_generator_does_not_crash():
    reference = reference_set(np.random.default_rng(5))
    collapsed = [reference[0]] * 10  # one song, ten times: all intra-set distances are 0
    result = D.compare_sets(collapsed, reference)
    healthy = D.compare_sets(reference[:12], reference[12:])
    assert result["summary"]["degenerate"] is True
    for name in D.FEATURE_NAMES:
        r = result[name]
        assert r["degenerate"] is True and r["intra_gen_mean"] == 0.0
        assert 0.0 <= r["oa_gen"] <= 1.0 and math.isfinite(r["kld_gen"])
    # The collapse shows on the generated side: intra-generated (all 0) vs inter overlaps
    # far less than for a healthy split of the reference set.
    assert result["summary"]["oa_gen"] < healthy["summary"]["oa_gen"] - 0.2


def test_compare_sets_needs_two_songs_per_set():
    songs = reference_set(np.random.default_rng(6), size=3)
    with pytest.raises(ValueError):
        D.compare_sets(songs[:1], songs)
