"""The evaluate stage: real windows, bootstrap summaries, the paper's claims, the report,
the pipeline end to end, and a sanity check on real Bach chorales."""

import dataclasses
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from crnngan.evaluation import compare as ev
from crnngan import tracking
from crnngan.config import EvaluateConfig
from crnngan.constants import TIME_QUANTUM
from crnngan.data.preprocess import SongSet
from crnngan.training.sampling import save_songs, song_table
from stage_scripts import load_stage

REPO = Path(__file__).resolve().parents[1]
CFG = EvaluateConfig(real_windows=12, bootstrap=200)


def random_song(rng: np.random.Generator, n: int, low: int = 55, high: int = 80) -> np.ndarray:
    """n events: a third of them chord members (dt 0), pitches in [low, high)."""
    ev_ = np.zeros((n, 4), dtype=np.float32)
    ev_[:, 0] = np.where(rng.random(n) < 1 / 3, 0.0, 96 * TIME_QUANTUM)
    ev_[0, 0] = 0.0
    ev_[:, 1] = 192 * TIME_QUANTUM
    ev_[:, 2] = rng.integers(low, high, n)
    ev_[:, 3] = rng.integers(40, 100, n)
    return ev_


# --------------------------------------------------------------------------- real_windows


def test_real_windows_lengths_spread_and_determinism():
    # Song i holds pitch 40 + i only, so a window tells where it was cut from.
    songs = [np.column_stack([np.zeros(n), np.ones(n), np.full(n, 40.0 + i), np.full(n, 64.0)])
             .astype(np.float32) for i, n in enumerate([50, 9, 30, 12, 80])]
    windows = ev.real_windows(songs, 12, 8, seed=3)
    assert len(windows) == 8 and all(w.shape == (12, 4) for w in windows)
    sources = [int(w[0, 2]) - 40 for w in windows]
    # Round-robin over the 4 songs with >= 12 events: each twice, the 9-event song never.
    assert sorted(sources) == [0, 0, 2, 2, 3, 3, 4, 4]
    assert all(w[0, 0] == 0.0 for w in windows)
    again = ev.real_windows(songs, 12, 8, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(windows, again))
    other = ev.real_windows(songs, 12, 8, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(windows, other))
    with pytest.raises(ValueError, match="longest has 80"):
        ev.real_windows(songs, 81, 2, seed=0)


def test_real_windows_are_slices_of_the_song():
    song = np.arange(200, dtype=np.float32).reshape(50, 4) + 1
    for w in ev.real_windows([song], 10, 5, seed=0):
        start = int(np.flatnonzero(song[:, 2] == w[0, 2])[0])
        assert np.array_equal(w[1:], song[start + 1:start + 10])  # dt of the first row is 0


# --------------------------------------------------------------------------- summarise


def test_summarise_hand_table():
    table = {"a": [1.0, 2.0, 3.0, np.nan], "none": [np.nan] * 4, "const": [5.0] * 4}
    s = ev.summarise(table, bootstrap=500, confidence=0.9, seed=0)
    a = s["a"]
    assert (a["mean"], a["std"], a["n"]) == (2.0, 1.0, 3)  # NaN left out
    assert 1.0 <= a["ci_low"] <= 2.0 <= a["ci_high"] <= 3.0
    fields = ("mean", "std", "ci_low", "ci_high")
    assert s["none"]["n"] == 0 and all(math.isnan(s["none"][k]) for k in fields)
    assert [s["const"][k] for k in fields] == [5, 0, 5, 5]
    assert ev.summarise(table, 500, 0.9, seed=0)["a"] == a  # seeded


def test_summarise_ci_matches_the_normal_interval():
    x = np.arange(100.0)  # std 29.01, standard error 2.90
    s = ev.summarise({"x": x}, bootstrap=4000, confidence=0.95, seed=1)["x"]
    half = 1.96 * x.std(ddof=1) / 10
    assert s["ci_low"] < 49.5 < s["ci_high"]
    assert (s["ci_high"] - s["ci_low"]) / 2 == pytest.approx(half, rel=0.1)


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
        "crnngan": ev.real_windows(test, 30, CFG.real_windows, seed=7),
        "baseline": [random_song(rng, 28, 60, 64) for _ in range(8)],
        "crnngan3": [random_song(rng, 60) for _ in range(8)],
    }
    return ev.evaluate_models(generated, test, CFG, seed=7, steps=30, tones_per_step={"crnngan3": 3})


def test_evaluate_models_matches_lengths_and_measures_distance(evaluated):
    models, real = evaluated["models"], evaluated["real"]
    # Real windows of the 30 steps asked for, in each layout: never the models' own lengths.
    assert sorted(real) == [1, 3] and real[1]["steps"] == real[3]["steps"] == 30
    assert [models[m]["real_k"] for m in ("crnngan", "baseline", "crnngan3")] == [1, 1, 3]
    assert all(len(w) == 30 for w in ev.step_windows(evaluated_test(), 1, 30, 4, seed=7))
    assert all(r["n_windows"] == CFG.real_windows for r in real.values())
    gan = models["crnngan"]
    assert gan["distance"] == dict.fromkeys(ev.FIGURE3, 0.0) and gan["closeness"] == 0.0
    assert gan["stats"] == real[1]["stats"]
    assert not any(m["short"] for m in models.values()) and gan["verdict"] is None
    # Four pitches against 25: the baseline is far from real music on unique tones.
    assert models["baseline"]["distance"]["unique_tones"] > 3
    assert set(gan["mgeval"]) == {*ev.FEATURE_NAMES, "summary"}
    metrics = ev.model_metrics(evaluated, "baseline")
    json.dumps(metrics, allow_nan=False)
    assert metrics["stats"]["unique_tones"] == models["baseline"]["stats"]["unique_tones"]
    flat = ev.flatten_metrics(metrics)
    assert flat["eval/distance_to_real/unique_tones"] == models["baseline"]["distance"]["unique_tones"]
    assert flat["eval/stats/polyphony/n"] == 8
    # Random real songs never repeat 3 tones (std 0) but the 4-pitch baseline does: an infinite
    # distance, which JSON holds as null and MLflow does not get.
    assert models["baseline"]["distance"]["repetitions_3"] == math.inf == models["baseline"]["closeness"]
    assert metrics["distance_to_real"]["overall"] is None and "eval/distance_to_real/overall" not in flat


def test_summary_markdown_has_every_row(evaluated):
    claims = ev.paper_claims(evaluated)
    md = ev.summary_markdown(evaluated, claims, missing=["extra"], notes=["a note"])
    table_rows = [l.split("|")[1].strip() for l in md.splitlines() if l.startswith("| ")]
    for row in ("baseline", "C-RNN-GAN", "C-RNN-GAN-3", "extra", "real music (30 steps of 1 tone)",
                "real music (30 steps of up to 3 tones)"):
        assert row in table_rows
    assert md.index("## Collapse") < md.index("## Statistics")  # the verdicts come first
    assert "- **C-RNN-GAN**: not collapsed (12 of 12 songs distinct" in md
    assert "paper's claim (qualitative; the paper publishes only Figure 3, no table)" in md
    assert "our run agrees?" in md and "**extra was not evaluated**" in md and "a note" in md
    assert "Metric mode: **clean" in md
    for c in claims:
        assert f"| {c['id']} | {c['claim']} | {c['source']} | {c['measured']} | {c['agrees']} |" in md


# --------------------------------------------------------------------------- claims


def summary(mean: float, low: float, high: float, std: float = 1.0) -> ev.Summary:
    return {"mean": mean, "std": std, "n": 10, "ci_low": low, "ci_high": high}


def hand_results(models: dict[str, dict[str, ev.Summary]], real: dict[str, ev.Summary],
                 closeness: dict[str, float] | None = None) -> dict:
    """Every statistic not given is the same neutral summary on every side."""
    neutral = summary(1.0, 0.9, 1.1)
    filled = {m: {k: s.get(k, neutral) for k in ev.REPORTED} for m, s in models.items()}
    closeness = closeness or {}
    return {"real": {100: {"stats": {k: real.get(k, neutral) for k in ev.REPORTED}}},
            "models": {m: {"stats": s, "real_k": 100, "closeness": closeness.get(m, 1.0),
                           "mgeval": None} for m, s in filled.items()}}


def agreement(rows: list[dict], claim_start: str) -> str:
    (row,) = [r for r in rows if r["claim"].startswith(claim_start)]
    return row["agrees"]


def test_claims_agree_disagree_inconclusive():
    results = hand_results(
        {"crnngan": {"unique_tones": summary(30, 29, 31), "tone_span": summary(10, 9, 11),
                     "intensity_span": summary(50, 40, 60),
                     "scale_consistency": summary(0.90, 0.89, 0.91)},
         "baseline": {"unique_tones": summary(20, 19, 21), "tone_span": summary(20, 19, 21),
                      "intensity_span": summary(45, 35, 55),
                      "scale_consistency": summary(0.91, 0.90, 0.92)}},
        real={"scale_consistency": summary(0.95, 0.94, 0.96, std=0.05)},
        closeness={"crnngan": 0.5, "baseline": 0.8})
    rows = ev.paper_claims(results)
    assert agreement(rows, "unique tones: C-RNN-GAN > baseline") == "yes"
    assert agreement(rows, "tone span: C-RNN-GAN > baseline") == "no"
    assert agreement(rows, "intensity span: C-RNN-GAN > baseline") == "inconclusive"  # CIs overlap
    assert agreement(rows, "scale consistency: C-RNN-GAN ≈ baseline") == "yes"  # 0.01 <= 0.5 * 0.05
    assert agreement(rows, "scale consistency: real music slightly above C-RNN-GAN") == "yes"
    assert agreement(rows, "C-RNN-GAN resembles") == "yes"
    # No C-RNN-GAN-3: its claims are skipped, not failed.
    assert not any("C-RNN-GAN-3" in r["claim"] for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), key=ev.CLAIM_ORDER.index)


def test_similar_claim_needs_disjoint_cis_to_disagree():
    real = {"scale_consistency": summary(0.95, 0.94, 0.96, std=0.05)}
    far = {"crnngan": {"scale_consistency": summary(0.80, 0.79, 0.81)},
           "baseline": {"scale_consistency": summary(0.95, 0.94, 0.96)}}
    claim = "scale consistency: C-RNN-GAN ≈"
    assert agreement(ev.paper_claims(hand_results(far, real)), claim) == "no"
    noisy = {"crnngan": {"scale_consistency": summary(0.80, 0.60, 1.0)},
             "baseline": {"scale_consistency": summary(0.95, 0.75, 1.0)}}
    assert agreement(ev.paper_claims(hand_results(noisy, real)), claim) == "inconclusive"


def test_polyphony_claims_of_crnngan3():
    results = hand_results(
        {"crnngan3": {"polyphony": summary(0.70, 0.65, 0.75)},
         "crnngan": {"polyphony": summary(0.10, 0.05, 0.15)},
         "baseline": {"polyphony": summary(0.72, 0.70, 0.74)}},
        real={"polyphony": summary(0.74, 0.72, 0.76, std=0.2)})
    rows = ev.paper_claims(results)
    assert agreement(rows, "polyphony: C-RNN-GAN-3 > C-RNN-GAN") == "yes"
    assert agreement(rows, "polyphony: C-RNN-GAN-3 > baseline") == "inconclusive"
    assert agreement(rows, "polyphony: C-RNN-GAN-3 ≈ real") == "yes"
    assert agreement(rows, "polyphony: C-RNN-GAN \"scored low\"") == "yes"


def test_resemblance_claim_needs_distance_and_mgeval_to_agree():
    results = hand_results({"crnngan": {}, "baseline": {}}, real={},
                           closeness={"crnngan": 0.4, "baseline": 0.9})
    for gan_oa, expected in ((0.8, "yes"), (0.6, "inconclusive")):
        results["models"]["crnngan"]["mgeval"] = {"summary": {"oa": gan_oa}}
        results["models"]["baseline"]["mgeval"] = {"summary": {"oa": 0.7}}
        assert agreement(ev.paper_claims(results), "C-RNN-GAN resembles") == expected
    results["models"]["crnngan"]["closeness"] = 1.5  # now both measures favour the baseline
    assert agreement(ev.paper_claims(results), "C-RNN-GAN resembles") == "no"


def test_plateau_claim_from_the_training_curve():
    results = hand_results({"crnngan": {}}, real={})
    epochs = np.arange(25.0)
    flat = {"epoch": epochs, "scale_consistency": np.where(epochs < 10, epochs / 20, 0.9)}
    rising = {"epoch": epochs, "scale_consistency": epochs / 30}
    short = {"epoch": epochs[:16], "scale_consistency": np.full(16, 0.9)}
    for curve, expected in ((flat, "yes"), (rising, "no"), (short, "inconclusive")):
        rows = ev.paper_claims(results, {"crnngan": curve})
        assert agreement(rows, "scale consistency of C-RNN-GAN") == expected


# --------------------------------------------------------------------------- the stage


def write_inputs(root: Path) -> None:
    rng = np.random.default_rng(1)
    real = [random_song(rng, 60) for _ in range(5)]
    SongSet(events=np.concatenate(real), offsets=np.cumsum([0] + [len(s) for s in real]),
            split=np.array([0, 2, 2, 2, 1], dtype=np.int8), names=np.array([f"s{i}" for i in range(5)]),
            content_hash=np.array([f"h{i}" for i in range(5)])).save(root / "songs.npz")
    for model in ("crnngan", "baseline"):
        (root / "samples" / model).mkdir(parents=True)
        save_songs(root / "samples" / model / "songs.npz", [random_song(rng, 20) for _ in range(5)])
    (root / "models" / "crnngan").mkdir(parents=True)
    (root / "models" / "crnngan" / "epoch_stats.csv").write_text(
        "epoch,scale_consistency,tone_span,unique_tones,intensity_span,polyphony,repetitions_3,d_loss\n"
        "0,0.8,10,8,30,0.1,40,\n1,0.85,12,9,35,0.2,20,0.7\n2,0.9,14,11,40,0.25,12,0.69\n")
    (root / "params.yaml").write_text(
        "seed: 0\nsample: {count: 5, length: 20}\nevaluate: {real_windows: 8, bootstrap: 50}\n"
        "mlflow: {experiment: crnngan}\n")


def test_stage_writes_every_output_and_logs_to_the_training_run(tmp_path, mlflow_tmp, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    run = MlflowClient(mlflow_tmp).create_run(tracking.setup("crnngan"),
                                              tags={"model": "crnngan", "stage": "train"})
    rc = load_stage("evaluate").main([
        "--params", "params.yaml", "--models", "crnngan", "crnngan3", "baseline",
        "--samples", "samples", "--data", ".", "--train-dir", "models", "--metrics", "metrics",
        "--reports", "reports"])
    assert rc == 0

    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))

    gan = strict((tmp_path / "metrics" / "crnngan.json").read_text())
    assert gan["evaluated"] == 1 and gan["n_songs"] == 5 and gan["real_window_steps"] == 20
    assert set(gan["stats"]) == set(ev.REPORTED) and "overall" in gan["distance_to_real"]
    assert strict((tmp_path / "metrics" / "crnngan3.json").read_text()) == {"evaluated": 0}
    assert strict((tmp_path / "metrics" / "real.json").read_text())["k1"]["n_windows"] == 8
    claims = strict((tmp_path / "metrics" / "claims.json").read_text())
    assert claims["checked"] == len(claims["claims"]) > 0 and {"id", "agrees"} <= set(claims["claims"][0])
    figures = tmp_path / "reports" / "figures"
    assert {p.name for p in figures.iterdir()} == {
        *(f"hist_{k}.png" for k in ev.REPORTED), "training_curves.png", "piano_rolls.png"}
    md = (tmp_path / "reports" / "summary.md").read_text()
    assert "**C-RNN-GAN-3 was not evaluated**" in md and "| T1 |" in md

    logged = MlflowClient(mlflow_tmp).get_run(run.info.run_id).data.metrics
    assert logged["eval/stats/scale_consistency/mean"] == gan["stats"]["scale_consistency"]["mean"]
    assert logged["eval/median_events"] == 20
    # Spreads and counts stay in the JSON artifact, not as one-point charts.
    assert not any(k.endswith(("/ci_low", "/ci_high", "/std", "/n")) for k in logged) and "eval/evaluated" not in logged
    tags = MlflowClient(mlflow_tmp).get_run(run.info.run_id).data.tags
    assert tags["collapse"] == gan["verdict"]
    listed = MlflowClient(mlflow_tmp).list_artifacts(run.info.run_id, "evaluation")
    artifacts = {Path(a.path).name for a in listed}
    assert {"summary.md", "crnngan.json", "training_curves.png"} <= artifacts
    # The pipeline's parent run carries the comparison: one click answers how the run went.
    client = MlflowClient(mlflow_tmp)
    (parent,) = [r for r in client.search_runs([run.info.experiment_id]) if "claims/agree" in r.data.metrics]
    assert "model" not in parent.data.tags
    assert parent.data.metrics["crnngan/unique_tones"] == gan["stats"]["unique_tones"]["mean"]
    assert parent.data.metrics["claims/checked"] == claims["checked"] and "real_k1/unique_tones" in parent.data.metrics
    assert parent.data.tags["collapse.crnngan"] == gan["verdict"]
    assert parent.data.tags["mlflow.note.content"].startswith("# Evaluation")
    shown = {Path(a.path).name for a in client.list_artifacts(parent.info.run_id, "comparison")}
    assert {"summary.md", "claims.json", "piano_rolls.png", "training_curves.png"} <= shown
    assert parent.data.params == {"seed": "0"}
    # The runs table that `make ui` opens shows the key figures, each one a metric this stage logs.
    view = json.loads(client.get_experiment(run.info.experiment_id).tags["mlflow.sharedViewState.key-figures"])
    columns = [c.removeprefix("metrics.`").removesuffix("`") for c in view["selectedColumns"][1:]]
    assert columns == list(ev.KEY_METRICS)
    assert set(columns) <= set(parent.data.metrics) | set(logged) | {"crnngan3/polyphony", "baseline/unique_tones"}


def test_an_mlflow_failure_only_warns(monkeypatch, caplog):
    stage = load_stage("evaluate")

    def broken(*args, **kwargs):
        raise RuntimeError("store unreachable")

    monkeypatch.setattr(stage, "find_run", broken)
    with caplog.at_level(logging.WARNING, logger="evaluate"):
        stage.log_to_mlflow("crnngan", "crnngan", {"a": 1.0}, [])
    assert "store unreachable" in caplog.text


# --------------------------------------------------------------------------- real music


def test_bach_chorales_are_scale_consistent_and_polyphonic(tmp_path):
    from music21 import corpus

    from crnngan.data.midi_io import export_music21_work, read_notes
    from crnngan.data.representation import notes_to_events

    chorales = []
    for work in ("bach/bwv66.6", "bach/bwv1.6", "bach/bwv10.7", "bach/bwv101.7", "bach/bwv102.7"):
        midi = tmp_path / f"{work.split('/')[1]}.mid"
        export_music21_work(corpus.getWork(work), midi)
        notes = read_notes(midi)
        chorales.append(notes_to_events(notes.onsets, notes.ends, notes.pitches, notes.velocities))
    # The same onsets, lengths and velocities with uniformly random pitches.
    rng = np.random.default_rng(0)
    scrambled = [w.copy() for w in ev.real_windows(chorales, 64, 40, seed=1)]
    for w in scrambled:
        w[:, 2] = rng.integers(36, 85, len(w))
    results = ev.evaluate_models({"crnngan": scrambled}, chorales, EvaluateConfig(real_windows=40),
                                 seed=0, steps=64)
    bach = results["real"][1]["stats"]
    assert results["real"][1]["verdict"] is None  # real Bach is not "collapsed"
    assert bach["scale_consistency"]["mean"] > 0.9  # 0.95 here: one key per window
    assert bach["polyphony"]["mean"] > 0.5  # 0.79 here: four voices, mostly moving together
    assert results["models"]["crnngan"]["stats"]["scale_consistency"]["mean"] < 0.8  # 0.70 here
    assert song_table(scrambled)["polyphony"].mean() == pytest.approx(bach["polyphony"]["mean"], abs=0.1)


def test_a_near_empty_model_cannot_win_on_distance():
    rng = np.random.default_rng(1)
    test = [random_song(rng, 90) for _ in range(6)]
    varied = [random_song(rng, 30) for _ in range(8)]
    # Two tones a song cut from real music: per-song statistics can look close to real windows
    # of two events, which is how a near-silent model once scored best.
    empty = [w[:2] for w in ev.real_windows(test, 30, 8, seed=2)]
    results = ev.evaluate_models({"crnngan": varied, "crnngan3": empty}, test, CFG, seed=7, steps=30)
    gan, silent = results["models"]["crnngan"], results["models"]["crnngan3"]
    assert silent["short"] and silent["closeness"] == math.inf and not gan["short"]
    assert gan["closeness"] < silent["closeness"]
    assert "2 tones, under 0.5 x the real 30: flagged short" in " ".join(results["notes"])
    assert silent["verdict"] == "collapsed: 100% of songs hold under half the real tone count"
    metrics = ev.model_metrics(results, "crnngan3")
    assert metrics["short"] == 1 and metrics["collapsed"] == 1 and metrics["distance_to_real"]["overall"] is None


def test_the_report_defines_the_repetition_count_with_checked_numbers(evaluated):
    from crnngan.evaluation.statistics import repetitions

    md = ev.summary_markdown(evaluated, ev.paper_claims(evaluated))
    assert f"one held pitch scores {repetitions([60] * 100):,}" in md
    assert f"a motif played 4 times {repetitions([60, 62, 64] * 4)}" in md


# --------------------------------------------------------------------------- equal duration


def test_within_seconds_counts_onsets_from_the_first():
    # dt 5 of the first event is ignored: onsets 0, 1, 1, 3, 6.
    song = np.column_stack([[5.0, 1, 0, 2, 3], np.ones(5), np.arange(60.0, 65), np.full(5, 64.0)])
    assert len(ev.within_seconds(song, 3.0)) == 3  # onset < 3
    assert len(ev.within_seconds(song, 3.5)) == 4
    assert len(ev.within_seconds(song, 100.0)) == 5 and len(ev.within_seconds(song[:0], 1.0)) == 0


def test_duration_windows_are_whole_and_distinct():
    # Song 0: ten events one second apart (onsets 0..9); song 1 spans 2 s, too short for 4 s.
    long = np.column_stack([np.ones(10), np.ones(10), np.arange(60.0, 70), np.full(10, 64.0)])
    short = np.column_stack([np.ones(3), np.ones(3), np.full(3, 40.0), np.full(3, 64.0)])
    windows = ev.duration_windows([long, short], 4.0, 6, seed=0)
    # Starts 0..5 have 4 s of song after them: six distinct windows of 4 events each.
    assert [len(w) for w in windows] == [4] * 6
    assert sorted(int(w[0, 2]) for w in windows) == [60, 61, 62, 63, 64, 65]
    assert all(w[0, 0] == 0 and np.array_equal(w[1:, 0], [1, 1, 1]) for w in windows)
    with pytest.raises(ValueError, match="longest spans 9.0 s"):
        ev.duration_windows([long, short], 10.0, 2, seed=0)


def test_equal_duration_exposes_a_model_that_plays_too_slowly():
    rng = np.random.default_rng(3)
    test = [random_song(rng, 400) for _ in range(4)]
    slow = [w.copy() for w in ev.real_windows(test, 30, 8, seed=1)]
    for w in slow:
        w[:, 0] *= 4  # the same tones, four times as far apart
    cfg = EvaluateConfig(real_windows=12, bootstrap=200, compare_seconds=5.0)
    results = ev.evaluate_models({"crnngan": slow}, test, cfg, seed=7, steps=30)
    # At equal steps the slow model holds real tones and is not short...
    assert not results["models"]["crnngan"]["short"]
    at = results["duration"]["models"]["crnngan"]
    real_tones = results["duration"]["real"]["median_tones"]
    # ... in the same 5 s it plays about a quarter of real music's tones: short, closeness inf.
    assert at["median_tones"] < ev.SHORT_SHARE * real_tones and at["short"] and at["closeness"] == math.inf
    metrics = ev.model_metrics(results, "crnngan")
    assert metrics["at_duration"]["short"] == 1 and metrics["at_duration"]["closeness"] is None
    assert ev.real_metrics(results)["at_duration"]["median_tones"] == real_tones
    md = ev.summary_markdown(results, ev.paper_claims(results))
    assert "## At equal duration: each song's first 5 s" in md and "| real music (5 s windows) |" in md
    off = ev.evaluate_models({"crnngan": slow}, test, dataclasses.replace(cfg, compare_seconds=0.0), seed=7, steps=30)
    assert off["duration"] is None and "at_duration" not in ev.model_metrics(off, "crnngan")
    assert "equal duration" not in ev.summary_markdown(off, [])


# --------------------------------------------------------------------------- several seeds


def test_claims_across_seeds_need_every_seed():
    def run(t1, t2, c1=None):
        rows = [{"id": "T1", "claim": "a", "agrees": t1}, {"id": "T2", "claim": "b", "agrees": t2}]
        return rows + ([{"id": "C1", "claim": "c", "agrees": c1}] if c1 else [])
    rows = ev.claims_across_seeds({1: run("yes", "no", "yes"), 2: run("yes", "no"), 3: run("yes", "yes", "yes")})
    assert [(r["id"], r["agrees"]) for r in rows] == [("T1", "yes"), ("T2", "inconclusive"), ("C1", "inconclusive")]
    assert rows[2]["seeds"] == {1: "yes", 2: "-", 3: "yes"}  # seed 2 did not check C1
    all_no = ev.claims_across_seeds({1: run("no", "inconclusive"), 2: run("no", "inconclusive")})
    assert [r["agrees"] for r in all_no] == ["no", "inconclusive"]  # inconclusive everywhere stays so
    md = ev.claims_across_seeds_markdown(rows)
    assert "agrees with 1 of 3 claims" in md and "| T2 | b | no | no | yes | inconclusive |" in md
    assert ev.claims_json(run("yes", "no")) == {"agree": 1, "checked": 2, "claims": run("yes", "no")}
