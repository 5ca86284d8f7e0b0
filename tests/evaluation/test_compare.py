"""Generated songs against real music (crnngan.evaluation.compare): bootstrap summaries,
evaluate_models on random and real (Bach) songs, the comparison at equal duration, and the
report built from its results."""

import dataclasses
import json
import math

import numpy as np
import pytest
from event_fixtures import random_song

from crnngan.config import EvaluateConfig
from crnngan.evaluation.batch import song_table
from crnngan.evaluation.claims import paper_claims
from crnngan.evaluation.closeness import stat_distance
from crnngan.evaluation.compare import evaluate_models, summarise
from crnngan.evaluation.distributions import FEATURE_NAMES
from crnngan.evaluation.metrics import flatten_metrics, model_metrics, real_metrics
from crnngan.evaluation.report import summary_markdown
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import SHORT_SHARE, real_windows, step_windows

CFG = EvaluateConfig(real_windows=12, bootstrap=200)


# --------------------------------------------------------------------------- summarise


def test_summarise_hand_table():
    table = {"a": [1.0, 2.0, 3.0, np.nan], "none": [np.nan] * 4, "const": [5.0] * 4}
    s = summarise(table, bootstrap=500, confidence=0.9, seed=0)
    a = s["a"]
    assert (a.mean, a.std, a.n) == (2.0, 1.0, 3)  # NaN left out
    assert 1.0 <= a.ci_low <= 2.0 <= a.ci_high <= 3.0
    fields = ("mean", "std", "ci_low", "ci_high")
    assert s["none"].n == 0 and all(math.isnan(getattr(s["none"], k)) for k in fields)
    assert [getattr(s["const"], k) for k in fields] == [5, 0, 5, 5]
    assert summarise(table, 500, 0.9, seed=0)["a"] == a  # seeded


def test_summarise_ci_matches_the_normal_interval():
    x = np.arange(100.0)  # std 29.01, standard error 2.90
    s = summarise({"x": x}, bootstrap=4000, confidence=0.95, seed=1)["x"]
    half = 1.96 * x.std(ddof=1) / 10
    assert s.ci_low < 49.5 < s.ci_high
    assert (s.ci_high - s.ci_low) / 2 == pytest.approx(half, rel=0.1)


def test_stat_distance_cases():
    assert stat_distance(3.0, 1.0, 4.0) == 0.5  # |3 - 1| / 4
    assert stat_distance(1.0, 1.0, 0.0) == 0.0 and stat_distance(2.0, 1.0, 0.0) == math.inf  # no spread
    assert math.isnan(stat_distance(math.nan, 1.0, 1.0)) and math.isnan(stat_distance(1.0, 1.0, math.nan))


# --------------------------------------------------------------------------- evaluate_models


def evaluated_test() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [random_song(rng, 90) for _ in range(6)]


@pytest.fixture(scope="module")
def evaluated():
    rng = np.random.default_rng(0)
    test = [random_song(rng, 90) for _ in range(6)]
    generated = {
        # The real windows themselves: every distance must be exactly 0.
        "crnngan": real_windows(test, 30, CFG.real_windows, seed=7),
        "baseline": [random_song(rng, 28, 60, 64) for _ in range(8)],
        "crnngan3": [random_song(rng, 60) for _ in range(8)],
    }
    return evaluate_models(generated, test, CFG, seed=7, steps=30, tones_per_step={"crnngan3": 3})


def test_evaluate_models_matches_lengths_and_measures_distance(evaluated):
    models, real = evaluated.models, evaluated.real
    # Real windows of the 30 steps asked for, in each layout: never the models' own lengths.
    assert sorted(real) == [1, 3] and real[1].steps == real[3].steps == 30
    assert [models[m].real_k for m in ("crnngan", "baseline", "crnngan3")] == [1, 1, 3]
    assert all(len(w) == 30 for w in step_windows(evaluated_test(), 1, 30, 4, seed=7))
    assert all(r.n_windows == CFG.real_windows for r in real.values())
    gan = models["crnngan"]
    assert gan.distance == dict.fromkeys(FIGURE3, 0.0) and gan.closeness == 0.0
    assert gan.stats == real[1].stats
    assert not any(m.short for m in models.values()) and gan.verdict is None
    # Four pitches against 25: the baseline is far from real music on unique tones.
    assert models["baseline"].distance["unique_tones"] > 3
    assert set(gan.mgeval) == {*FEATURE_NAMES, "summary"}
    metrics = model_metrics(evaluated, "baseline")
    json.dumps(metrics, allow_nan=False)
    assert metrics["stats"]["unique_tones"] == dataclasses.asdict(models["baseline"].stats["unique_tones"])
    flat = flatten_metrics(metrics)
    assert flat["eval/distance_to_real/unique_tones"] == models["baseline"].distance["unique_tones"]
    assert flat["eval/stats/polyphony/n"] == 8
    # Random real songs never repeat 3 tones (std 0) but the 4-pitch baseline does: an infinite
    # distance, which JSON holds as null and MLflow does not get.
    assert models["baseline"].distance["repetitions_3"] == math.inf == models["baseline"].closeness
    assert metrics["distance_to_real"]["overall"] is None and "eval/distance_to_real/overall" not in flat


def test_summary_markdown_has_every_row(evaluated):
    claims = paper_claims(evaluated)
    md = summary_markdown(evaluated, claims, missing=["extra"], notes=["a note"])
    table_rows = [l.split("|")[1].strip() for l in md.splitlines() if l.startswith("| ")]
    for row in (
        "baseline",
        "C-RNN-GAN",
        "C-RNN-GAN-3",
        "extra",
        "real music (30 steps of 1 tone)",
        "real music (30 steps of up to 3 tones)",
    ):
        assert row in table_rows
    assert md.index("## Collapse") < md.index("## Statistics")  # the verdicts come first
    assert "- **C-RNN-GAN**: not collapsed (12 of 12 songs distinct" in md
    assert "paper's claim (qualitative; the paper publishes only Figure 3, no table)" in md
    assert "our run agrees?" in md and "**extra was not evaluated**" in md and "a note" in md
    assert "Metric mode: **clean" in md
    for c in claims:
        assert f"| {c['id']} | {c['claim']} | {c['source']} | {c['measured']} | {c['agrees']} |" in md


def test_the_report_defines_the_repetition_count_with_checked_numbers(evaluated):
    from crnngan.evaluation.statistics import repetitions

    md = summary_markdown(evaluated, paper_claims(evaluated))
    assert f"one held pitch scores {repetitions([60] * 100):,}" in md
    assert f"a motif played 4 times {repetitions([60, 62, 64] * 4)}" in md


# --------------------------------------------------------------------------- real music


def test_bach_chorales_are_scale_consistent_and_polyphonic(tmp_path):
    from music21 import corpus

    from crnngan.data.midi_io import export_music21_work, read_notes
    from crnngan.data.representation import notes_to_events

    chorales = []
    for work in ("bach/bwv66.6", "bach/bwv1.6", "bach/bwv10.7", "bach/bwv101.7", "bach/bwv102.7"):
        midi = tmp_path / f"{work.split('/')[1]}.mid"
        export_music21_work(corpus.getWork(work), midi)
        chorales.append(notes_to_events(read_notes(midi).notes))
    # The same onsets, lengths and velocities with uniformly random pitches.
    rng = np.random.default_rng(0)
    scrambled = [w.copy() for w in real_windows(chorales, 64, 40, seed=1)]
    for w in scrambled:
        w[:, 2] = rng.integers(36, 85, len(w))
    results = evaluate_models({"crnngan": scrambled}, chorales, EvaluateConfig(real_windows=40), seed=0, steps=64)
    bach = results.real[1].stats
    assert results.real[1].verdict is None  # real Bach is not "collapsed"
    assert bach["scale_consistency"].mean > 0.9  # 0.95 here: one key per window
    assert bach["polyphony"].mean > 0.5  # 0.79 here: four voices, mostly moving together
    assert results.models["crnngan"].stats["scale_consistency"].mean < 0.8  # 0.70 here
    assert song_table(scrambled)["polyphony"].mean() == pytest.approx(bach["polyphony"].mean, abs=0.1)


def test_a_near_empty_model_cannot_win_on_distance():
    rng = np.random.default_rng(1)
    test = [random_song(rng, 90) for _ in range(6)]
    varied = [random_song(rng, 30) for _ in range(8)]
    # Two tones a song cut from real music: per-song statistics can look close to real windows
    # of two events, which is how a near-silent model once scored best.
    empty = [w[:2] for w in real_windows(test, 30, 8, seed=2)]
    results = evaluate_models({"crnngan": varied, "crnngan3": empty}, test, CFG, seed=7, steps=30)
    gan, silent = results.models["crnngan"], results.models["crnngan3"]
    assert silent.short and silent.closeness == math.inf and not gan.short
    assert gan.closeness < silent.closeness
    assert "2 tones, under 0.5 x the real 30: flagged short" in " ".join(results.notes)
    assert silent.verdict == "collapsed: 100% of songs hold under half the real tone count"
    metrics = model_metrics(results, "crnngan3")
    assert metrics["short"] == 1 and metrics["collapsed"] == 1 and metrics["distance_to_real"]["overall"] is None


# --------------------------------------------------------------------------- equal duration


def test_equal_duration_exposes_a_model_that_plays_too_slowly():
    rng = np.random.default_rng(3)
    test = [random_song(rng, 400) for _ in range(4)]
    slow = [w.copy() for w in real_windows(test, 30, 8, seed=1)]
    for w in slow:
        w[:, 0] *= 4  # the same tones, four times as far apart
    cfg = EvaluateConfig(real_windows=12, bootstrap=200, compare_seconds=5.0)
    results = evaluate_models({"crnngan": slow}, test, cfg, seed=7, steps=30)
    # At equal steps the slow model holds real tones and is not short...
    assert not results.models["crnngan"].short
    at = results.duration.models["crnngan"]
    real_tones = results.duration.real.median_tones
    # ... in the same 5 s it plays about a quarter of real music's tones: short, closeness inf.
    assert at.median_tones < SHORT_SHARE * real_tones and at.short and at.closeness == math.inf
    metrics = model_metrics(results, "crnngan")
    assert metrics["at_duration"]["short"] == 1 and metrics["at_duration"]["closeness"] is None
    assert real_metrics(results)["at_duration"]["median_tones"] == real_tones
    md = summary_markdown(results, paper_claims(results))
    assert "## At equal duration: each song's first 5 s" in md and "| real music (5 s windows) |" in md
    off = evaluate_models({"crnngan": slow}, test, dataclasses.replace(cfg, compare_seconds=0.0), seed=7, steps=30)
    assert off.duration is None and "at_duration" not in model_metrics(off, "crnngan")
    assert "equal duration" not in summary_markdown(off, [])
