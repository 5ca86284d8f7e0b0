"""The evaluate stage: typed results of hand-made songs (and the tuning objective's use of
the same distance), the pipeline end to end with MLflow, and what the stage imports."""

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from event_fixtures import random_song
from mlflow import MlflowClient
from stage_scripts import REPO, load_stage

from crnngan import tracking
from crnngan.config import EvaluateConfig
from crnngan.data.preprocess import SongSet
from crnngan.data.songs import save_songs
from crnngan.evaluation import mlflow_runs
from crnngan.evaluation.closeness import CAP, Closeness, stat_distance
from crnngan.evaluation.compare import evaluate_models
from crnngan.evaluation.labels import REPORTED
from crnngan.evaluation.metrics import KEY_METRICS, model_metrics, real_metrics
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import SHORT_SHARE

# --------------------------------------------------------------------------- typed results


def tones(pitches: list[int], dt: float = 0.25) -> np.ndarray:
    """Events of one melody: a tone every ``dt`` seconds, all of velocity 64."""
    n = len(pitches)
    return np.column_stack([np.r_[0.0, np.full(n - 1, dt)], np.full(n, dt), pitches, np.full(n, 64.0)]).astype(
        np.float32
    )


HELD, ALTERNATING = tones([60] * 12), tones([60, 67] * 6)  # the two real test songs
HAND_CFG = EvaluateConfig(real_windows=4, bootstrap=20, compare_seconds=0.0)


@pytest.fixture(scope="module")
def hand_made():
    """Every 8-step window of a held C has 1 tone, span 0 and 6 3-tone repetitions, every one
    of C-G alternating 2 tones, span 7 and 2 repetitions; 4 windows take 2 from each song."""
    generated = {"crnngan": [tones([60, 67] * 4)] * 3, "baseline": [tones([60, 62]), tones([60, 62, 64])]}
    return generated, evaluate_models(generated, [HELD, ALTERNATING], HAND_CFG, seed=7, steps=8)


def test_results_of_hand_made_songs(hand_made):
    _, results = hand_made
    assert (results.steps, len(results.notes), results.duration, sorted(results.real)) == (8, 1, None, [1])
    real = results.real[1]
    assert (real.steps, real.n_windows, real.test_songs) == (8, 4, 2)
    assert real.verdict == "collapsed: 75% of notes are C4, 3 of 4 songs distinct"  # two held-C windows are equal
    assert sorted(real.table["unique_tones"]) == [1, 1, 2, 2] and sorted(real.table["repetitions_3"]) == [2, 2, 6, 6]
    assert (real.stats["unique_tones"].mean, real.stats["unique_tones"].std) == (1.5, math.sqrt(1 / 3))
    assert (real.stats["tone_span"].mean, real.stats["polyphony"].std, real.stats["num_tones"].n) == (3.5, 0.0, 4)
    gan = results.models["crnngan"]
    assert (gan.n_songs, gan.empty_songs, gan.median_events, gan.real_k, gan.short) == (3, 0, 8, 1, False)
    unique = gan.stats["unique_tones"]
    assert (unique.mean, unique.std, unique.n, unique.ci_low, unique.ci_high) == (2.0, 0.0, 3, 2.0, 2.0)
    # |2 - 1.5| / sqrt(1/3), |7 - 3.5| / (7 / sqrt(3)), |2 - 4| / (4 / sqrt(3)): sqrt(3) / 2 each;
    # scale consistency (1.0), intensity span (0) and polyphony (0) match real music exactly.
    half_root3 = pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    assert gan.distance == {
        "scale_consistency": 0.0,
        "tone_span": half_root3,
        "unique_tones": half_root3,
        "intensity_span": 0.0,
        "polyphony": 0.0,
        "repetitions_3": half_root3,
    }
    assert gan.closeness == pytest.approx(math.sqrt(3) / 4, rel=1e-12)
    # 2 and 3 tones against the real 8: under SHORT_SHARE of it, so short and never close.
    base = results.models["baseline"]
    assert base.median_events == 2 and base.short and base.closeness == math.inf  # median 2.5 rounds to even
    assert f"baseline: median song of 2 tones, under {SHORT_SHARE:g} x the real 8" in results.notes[0]
    assert (
        model_metrics(results, "crnngan")["real_mean"]["unique_tones"]
        == 1.5
        == results.real_means("crnngan")["unique_tones"]
    )
    assert real_metrics(results)["k1"]["stats"]["unique_tones"]["std"] == math.sqrt(1 / 3)


def test_closeness_scores_with_the_reports_distance(hand_made):
    generated, results = hand_made
    gan = results.models["crnngan"]
    assert all(d < CAP for d in gan.distance.values())  # no distance is capped
    closeness = Closeness(
        [HELD, ALTERNATING], normalizer=None, tones_per_step=1, count=3, windows=HAND_CFG.real_windows, seed=7
    )
    assert closeness.score(generated["crnngan"], 8) == gan.closeness
    report_mean = np.mean(
        [stat_distance(gan.stats[s].mean, results.real[1].stats[s].mean, results.real[1].stats[s].std) for s in FIGURE3]
    )
    assert report_mean == gan.closeness


# --------------------------------------------------------------------------- the stage


def write_inputs(root: Path) -> None:
    rng = np.random.default_rng(1)
    real = [random_song(rng, 60) for _ in range(5)]
    SongSet(
        events=np.concatenate(real),
        offsets=np.cumsum([0] + [len(s) for s in real]),
        split=np.array([0, 2, 2, 2, 1], dtype=np.int8),
        names=np.array([f"s{i}" for i in range(5)]),
        content_hash=np.array([f"h{i}" for i in range(5)]),
    ).save(root / "songs.npz")
    for model in ("crnngan", "baseline"):
        (root / "samples" / model).mkdir(parents=True)
        save_songs(root / "samples" / model / "songs.npz", [random_song(rng, 20) for _ in range(5)])
    (root / "models" / "crnngan").mkdir(parents=True)
    (root / "models" / "crnngan" / "epoch_stats.csv").write_text(
        "epoch,scale_consistency,tone_span,unique_tones,intensity_span,polyphony,repetitions_3,d_loss\n"
        "0,0.8,10,8,30,0.1,40,\n1,0.85,12,9,35,0.2,20,0.7\n2,0.9,14,11,40,0.25,12,0.69\n"
    )
    # Its samples come from epoch 1, chosen by closeness (the train stage's record of it).
    (root / "models" / "crnngan" / "train_summary.json").write_text(
        '{"model": "crnngan", "epochs": 3, "selected_epoch": 1, "selected_closeness": 0.4567}'
    )
    (root / "params.yaml").write_text(
        "seed: 0\nsample: {count: 5, length: 20}\nevaluate: {real_windows: 8, bootstrap: 50}\n"
        "mlflow: {experiment: crnngan}\n"
    )


def test_stage_writes_every_output_and_logs_to_the_training_run(tmp_path, mlflow_tmp, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_inputs(tmp_path)
    run = MlflowClient(mlflow_tmp).create_run(tracking.setup("crnngan"), tags={"model": "crnngan", "stage": "train"})
    rc = load_stage("evaluate").main(
        [
            "--params",
            "params.yaml",
            "--models",
            "crnngan",
            "crnngan3",
            "baseline",
            "--samples",
            "samples",
            "--data",
            ".",
            "--train-dir",
            "models",
            "--metrics",
            "metrics",
            "--reports",
            "reports",
        ]
    )
    assert rc == 0

    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))

    gan = strict((tmp_path / "metrics" / "crnngan.json").read_text())
    assert gan["evaluated"] == 1 and gan["n_songs"] == 5 and gan["real_window_steps"] == 20
    assert set(gan["stats"]) == set(REPORTED) and "overall" in gan["distance_to_real"]
    assert strict((tmp_path / "metrics" / "crnngan3.json").read_text()) == {"evaluated": 0}
    assert strict((tmp_path / "metrics" / "real.json").read_text())["k1"]["n_windows"] == 8
    claims = strict((tmp_path / "metrics" / "claims.json").read_text())
    assert claims["checked"] == len(claims["claims"]) > 0 and {"id", "agrees"} <= set(claims["claims"][0])
    figures = tmp_path / "reports" / "figures"
    assert {p.name for p in figures.iterdir()} == {
        *(f"hist_{k}.png" for k in REPORTED),
        "training_curves.png",
        "piano_rolls.png",
    }
    md = (tmp_path / "reports" / "summary.md").read_text()
    assert "**C-RNN-GAN-3 was not evaluated**" in md and "| T1 |" in md
    assert "- C-RNN-GAN's songs come from epoch 1 (" in md and "(distance 0.46;" in md
    assert "Baseline's songs come" not in md

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
    assert columns == list(KEY_METRICS)
    assert set(columns) <= set(parent.data.metrics) | set(logged) | {"crnngan3/polyphony", "baseline/unique_tones"}


def test_an_mlflow_failure_only_warns(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("store unreachable")

    monkeypatch.setattr(mlflow_runs, "find_run", broken)
    with caplog.at_level(logging.WARNING, logger="evaluate"):
        mlflow_runs.log_to_mlflow("crnngan", "crnngan", {"a": 1.0}, [])
    assert "store unreachable" in caplog.text


def test_the_stage_loads_neither_torch_nor_training():
    # Evaluating songs needs no deep learning: the stage starts fast and runs without a GPU stack.
    code = (
        "import sys; from stage_scripts import load_stage; load_stage('evaluate'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'pytorch_lightning', "
        "'lightning') or m.startswith('crnngan.training')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "tests", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
