"""train.strategy ddp on CPU: two gloo processes train every model, and the stage runs under it.

What a GAN with manual optimisation can get wrong under DDP, checked batch by batch: the
processes' weights drifting apart, a frozen player moving, two processes training on the same
sequences, every process logging and writing, and a resumed run that does not continue.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from params_fixtures import tiny_raw
from stage_scripts import REPO

from crnngan.config import parse_params
from crnngan.data.preprocess import SPLITS, Preprocessed, make_segments, save_preprocessed

TINY = {"layers_g": 1, "curriculum_step": 16}  # over params_fixtures.TINY
GAN = {**TINY, "layers_d": 1}
MODELS = {
    # D frozen on every adversarial batch but the first of each epoch (its accuracy is >= 0).
    "crnngan": {**GAN, "freeze_rule": "accuracy", "freeze_accuracy": 0.0, "select_by": "closeness"},
    "crnngan3": GAN,
    "baseline": {**TINY, "epochs": 2},
}

pytestmark = pytest.mark.slow  # each run starts two Python processes with torch and Lightning


@pytest.fixture(scope="module")
def ddp_data(tmp_path_factory, random_songs) -> Path:
    """:func:`random_songs` as 16-step segments for k = 1 and 3, an even number per split so
    that two processes' shards are disjoint (DistributedSampler pads an odd one)."""
    song_set, normalizer = random_songs
    segments = {}
    for k in (1, 3):
        cut = {name: make_segments(song_set.songs(i), normalizer, k, 16, 16) for i, name in enumerate(SPLITS)}
        segments[k] = {name: s[: len(s) // 2 * 2] for name, s in cut.items()}
    folder = tmp_path_factory.mktemp("ddp_data")
    save_preprocessed(Preprocessed(song_set, normalizer, segments, {}), folder)
    return folder


def write_params(path: Path, models: dict) -> Path:
    raw = tiny_raw({"train": {"devices": 2, "strategy": "ddp", "artifacts_every_n_epochs": 1}, "models": models})
    parse_params(raw)
    path.write_text(yaml.safe_dump(raw))
    return path


def run(args: list[str], cwd: Path = REPO) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-30000:]


def probe(tmp_path: Path, data: Path, model: str, out: str, models: dict | None = None) -> list[dict]:
    params = write_params(tmp_path / f"{out}.yaml", models or MODELS)
    run([str(REPO / "tests" / "ddp_probe.py"), str(params), model, str(data), str(tmp_path / out)])
    return [json.loads((tmp_path / out / f"rank_{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.parametrize("model", list(MODELS))
def test_two_processes_train_in_step_on_disjoint_shards(tmp_path, ddp_data, model):
    ranks = probe(tmp_path, ddp_data, model, "run")
    assert [r["world"] for r in ranks] == [2, 2]
    a, b = ranks[0]["batches"], ranks[1]["batches"]
    # The same steps, and after every one of them the same weights on both processes.
    assert [(x["epoch"], x["batch"]) for x in a] == [(x["epoch"], x["batch"]) for x in b] and len(a) >= 4
    assert [(x["g"], x["d"]) for x in a] == [(x["g"], x["d"]) for x in b]
    assert len({x["g"] for x in a}) == len(a)  # G moved at every step
    # Each process draws its own noise (seeded alike, the fakes of both would be one batch twice).
    assert all(x["rng"] != y["rng"] for x, y in zip(a, b))
    for epoch in ("0", "1"):
        seen = [set(r["seen"][epoch]) for r in ranks]
        assert not seen[0] & seen[1]  # each sequence on one process only
        assert len(seen[0]) == len(seen[1]) == len(ranks[0]["seen"][epoch])  # half each, no repeats
    if model == "crnngan":
        game = [x for x in a if x["epoch"] == 1]
        assert [x["frozen_d"] for x in game] == [False] + [True] * (len(game) - 1)
        before = [x["d"] for x in a if x["epoch"] == 0][-1]
        # D learns on its one unfrozen batch and never moves while frozen, on either process.
        assert game[0]["d"] != before and {x["d"] for x in game} == {game[0]["d"]}


def test_a_resumed_ddp_run_ends_as_one_that_never_stopped(tmp_path, ddp_data):
    whole = probe(tmp_path, ddp_data, "crnngan3", "whole")
    short = {**MODELS, "crnngan3": {**MODELS["crnngan3"], "epochs": 0}}
    probe(tmp_path, ddp_data, "crnngan3", "resumed", short)  # stops after pretraining ...
    resumed = probe(tmp_path, ddp_data, "crnngan3", "resumed")  # ... and continues from last.ckpt
    assert [x["epoch"] for x in resumed[0]["batches"]] == [1] * len(resumed[0]["batches"])
    # Each process's own noise stream was restored: the same weights as the uninterrupted run.
    for r in (0, 1):
        assert resumed[r]["batches"][-1]["g"] == whole[r]["batches"][-1]["g"]
        assert resumed[r]["batches"][-1]["d"] == whole[r]["batches"][-1]["d"]


def test_the_train_stage_under_ddp_logs_and_writes_once(tmp_path, ddp_data, mlflow_tmp):
    params = write_params(tmp_path / "params.yaml", MODELS)
    out = tmp_path / "models" / "crnngan"
    run(
        [
            "pipelines/train.py",
            "--model",
            "crnngan",
            "--params",
            str(params),
            "--data",
            str(ddp_data),
            "--out",
            str(out),
        ]
    )
    client = MlflowClient(mlflow_tmp)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    children = [r for r in runs if r.data.tags.get("model") == "crnngan"]
    assert len(children) == 1 and len(runs) == 2  # one model run under one pipeline run
    logged = children[0].data
    assert logged.params["train.strategy"] == "ddp" and "d_loss" in logged.metrics
    assert [m.step for m in client.get_metric_history(children[0].info.run_id, "stats/unique_tones")] == [0, 1]
    # Rank 0 measured the one game epoch, both ranks agreed to keep it, one file was written.
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["closest.ckpt", "last.ckpt"]
    assert logged.metrics["selected_epoch"] == 1
    rows = (out / "epoch_stats.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]  # one writer: no row twice
    samples = client.list_artifacts(children[0].info.run_id, "samples/epoch_001")
    names = [Path(a.path).name for a in samples]  # MIDI and WAV (or a note: no notes) per song, one roll
    assert len(names) == 5 and {n.split(".")[0] for n in names} == {"fixed_000", "fixed_001", "piano_roll"}
