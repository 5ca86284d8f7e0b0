"""Hyperparameter search: studies, workers, failures, pruning, stale trials, config, apply."""

import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import yaml
from mlflow import MlflowClient
from optuna.trial import TrialState
from params_fixtures import tiny_raw
from stage_scripts import REPO

from crnngan import tracking
from crnngan.config import ConfigError, parse_params
from crnngan.data.preprocess import SongSet
from crnngan.evaluation.closeness import CAP
from crnngan.training.base import NonFiniteLossError
from crnngan.tuning import objective, space, storage
from crnngan.tuning.apply import apply_best
from crnngan.tuning.outputs import best_trial
from crnngan.tuning.runs import sync_trial_runs
from crnngan.tuning.study import run_study

TINY_MODEL = {"layers_g": 1, "layers_d": 1, "batch_size": 8, "curriculum_step": 8, "lr_g": 0.01, "lr_d": 0.01}
TINY_TUNE = {
    "model": "crnngan",
    "study_name": "t",
    "n_trials": 3,
    "pruner": {"kind": "none"},
    "epochs": 1,
    "pretrain_epochs": 1,
    "closeness_songs": 4,
    "real_windows": 8,
    "space": {
        "lr_g": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
        "hidden_g": {"type": "categorical", "choices": [4, 8]},
    },
}


def tiny(**tune_overrides):
    raw = tiny_raw({"models": {"crnngan": TINY_MODEL}})
    raw["tune"] = {**TINY_TUNE, **tune_overrides}  # the whole section: not params.yaml's space as well
    params = parse_params(raw)
    return params, space.parse_tune(params)


def study_runs(uri: str, study: str = "t") -> tuple[list, list]:
    """(parent runs, trial runs) of ``study`` in the store."""
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("crnngan")
    runs = client.search_runs([exp.experiment_id], f"tags.`optuna.study` = '{study}'")
    return (
        [r for r in runs if r.data.tags["optuna.role"] == "study"],
        [r for r in runs if r.data.tags["optuna.role"] == "trial"],
    )


def by_number(trial_runs: list) -> dict[int, object]:
    numbers = [int(r.data.tags["optuna.trial"]) for r in trial_runs]
    assert len(numbers) == len(set(numbers)), f"a trial logged twice: {sorted(numbers)}"
    return dict(zip(numbers, trial_runs))


def test_study_runs_logs_once_per_trial_and_resumes(tmp_path, data_dir, mlflow_tmp):
    params, cfg = tiny(n_trials=2)
    run_study(params, cfg, data_dir, tmp_path)
    params, cfg = tiny(n_trials=3)  # the same study, asked for one more trial
    study = run_study(params, cfg, data_dir, tmp_path)

    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert (tmp_path / "optuna" / "t.log").exists()
    parents, trials = study_runs(mlflow_tmp)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    runs = by_number(trials)
    assert sorted(runs) == [0, 1, 2]
    client = MlflowClient(mlflow_tmp)
    for number, run in runs.items():
        assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert run.data.tags["optuna.state"] == "COMPLETE" and run.info.status == "FINISHED"
        assert run.data.metrics["objective/closeness"] == pytest.approx(study.trials[number].value)
        assert [m.step for m in client.get_metric_history(run.info.run_id, "closeness")] == [0, 1]
        assert study.trials[number].user_attrs["mlflow_run_id"] == run.info.run_id
    best = study.best_trial
    assert (tmp_path / "tune/best_params.yaml").read_text().count(repr(best.params["lr_g"])) == 1
    for name in ("optimization_history.png", "param_importances.png"):
        assert (tmp_path / "tune" / name).stat().st_size > 0
    logged = {a.path for a in client.list_artifacts(parents[0].info.run_id, "tune")}
    assert {"tune/best_params.yaml", "tune/space.json", "tune/optimization_history.png"} <= logged
    assert parents[0].data.metrics["best_closeness"] == pytest.approx(best.value)
    tags = parents[0].data.tags
    assert tags["best_trial"] == str(best.number)
    assert {f"best.{k}": str(v) for k, v in best.params.items()}.items() <= tags.items()
    # make tune-ui: optuna-dashboard reads the same journal file, on 127.0.0.1 only.
    command = storage.dashboard_command(cfg, tmp_path, 8123)
    assert command[1:] == [str(tmp_path / "optuna" / "t.log"), "--host", "127.0.0.1", "--port", "8123"]
    assert Path(command[0]).exists()


def test_two_worker_processes_share_the_journal(tmp_path, data_dir, mlflow_tmp):
    params, cfg = tiny(n_trials=4)
    study = run_study(params, cfg, data_dir, tmp_path, workers=2)

    assert len(study.trials) == 4 and all(t.state == TrialState.COMPLETE for t in study.trials)
    pids = {t.user_attrs["pid"] for t in study.trials}
    assert len(pids) == 2 and psutil.Process().pid not in pids  # two processes, not this one
    parents, trials = study_runs(mlflow_tmp)
    assert len(parents) == 1
    assert sorted(by_number(trials)) == [0, 1, 2, 3]
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parents[0].info.run_id}


def test_failing_trial_is_recorded_and_study_goes_on(tmp_path, data_dir, mlflow_tmp, monkeypatch):
    calls = []

    def flaky_fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise NonFiniteLossError("d_loss = nan at epoch 0, batch 0")
        return real_fit(*args, **kwargs)

    real_fit = objective.fit
    monkeypatch.setattr(objective, "fit", flaky_fit)
    params, cfg = tiny(n_trials=2)
    study = run_study(params, cfg, data_dir, tmp_path)

    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]  # failures don't count
    assert study.trials[1].user_attrs["fail_reason"] == "NonFiniteLossError: d_loss = nan at epoch 0, batch 0"
    failed = by_number(study_runs(mlflow_tmp)[1])[1]
    assert failed.data.tags["optuna.state"] == "FAIL" and failed.info.status == "FAILED"
    assert failed.data.tags["optuna.fail_reason"] == study.trials[1].user_attrs["fail_reason"]


def test_pruning_stops_a_trial_worse_than_the_median(tmp_path, data_dir, mlflow_tmp, monkeypatch):
    # Stubbed closeness: two trials at 1.0 per epoch, then a third at 5.0. The third survives
    # its warm-up epoch (step 0) and is pruned at step 1, the first one the pruner may judge.
    values = iter([1.0, 1.0, 1.0, 1.0, 5.0, 5.0])
    monkeypatch.setattr(objective, "closeness_of", lambda module, closeness, length: next(values))
    params, cfg = tiny(pruner={"kind": "median", "n_startup_trials": 2, "n_warmup_steps": 1})
    study = run_study(params, cfg, data_dir, tmp_path)

    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED]
    assert study.trials[2].intermediate_values == {0: 5.0, 1: 5.0}
    pruned = by_number(study_runs(mlflow_tmp)[1])[2]
    assert pruned.data.tags["optuna.state"] == "PRUNED" and pruned.info.status == "KILLED"


def test_stale_running_trials_are_failed_and_their_runs_synced(tmp_path, mlflow_tmp):
    _, cfg = tiny(stale_after_s=0.0)
    study = storage.open_study(cfg, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(dead.pid).create_time()
    dead.wait()
    me = psutil.Process()
    workers = {
        "dead": ("here", dead.pid, started),
        "recycled pid": ("here", me.pid, me.create_time() - 60),
        "alive": ("here", me.pid, me.create_time()),
        "other host, too old": ("elsewhere", 1, 0.0),
    }
    client = MlflowClient(mlflow_tmp)
    exp = tracking.setup("crnngan")
    trials = {}
    for name, (host, pid, pid_started) in workers.items():
        trial = study.ask()
        trial.set_user_attr("pid_started", pid_started)
        trial.set_user_attr("pid", pid)
        trial.set_user_attr("host", socket.gethostname() if host == "here" else host)
        run = client.create_run(
            exp, tags={"optuna.study": "t", "optuna.role": "trial", "optuna.trial": str(trial.number)}
        )
        trials[name] = (trial.number, run.info.run_id)

    unlogged = study.ask()  # its worker died before the trial created its run
    study.tell(unlogged, state=TrialState.FAIL)
    parent = client.create_run(exp).info.run_id

    stale = [trials[n][0] for n in ("dead", "recycled pid", "other host, too old")]
    assert storage.fail_stale_trials(study, cfg) == stale
    sync_trial_runs(study, client, exp, parent)
    sync_trial_runs(study, client, exp, parent)  # a second pass changes nothing
    (made,) = client.search_runs([exp], f"tags.`optuna.trial` = '{unlogged.number}'")
    assert made.info.status == "FAILED" and made.data.tags["mlflow.parentRunId"] == parent
    assert made.data.tags["optuna.state"] == "FAIL" and made.data.tags["optuna.study"] == "t"
    for name, (number, run_id) in trials.items():
        frozen = study.trials[number]
        run = client.get_run(run_id)
        if name == "alive":
            assert frozen.state == TrialState.RUNNING and run.info.status == "RUNNING"
        else:
            assert frozen.state == TrialState.FAIL and frozen.user_attrs["fail_reason"].startswith("stale: ")
            assert run.info.status == "FAILED" and run.data.tags["optuna.state"] == "FAIL"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"bogus": 1}, "tune.bogus"),
        ({"pruner": {"kind": "median", "warmup": 2}}, "tune.pruner.warmup"),
        ({"space": {"hiden_g": {"type": "int", "low": 4, "high": 8}}}, "tune.space.hiden_g"),
        ({"space": {"lr_g": {"type": "float", "lo": 0.1}}}, "tune.space.lr_g.lo"),
        ({"space": {"dropout": {"type": "float", "low": 0.0, "high": 1.5}}}, "tune.space.dropout"),
        ({"space": {"hidden_g": {"type": "float", "low": 4, "high": 8}}}, "tune.space.hidden_g"),
        ({"objective": "accuracy"}, "tune.objective"),
        ({"model": "gan"}, "tune.model"),
    ],
)
def test_bad_tune_section_fails_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        tiny(**overrides)


def test_multi_objective_study_runs_without_pruning(tmp_path, data_dir, mlflow_tmp):
    params, cfg = tiny(
        n_trials=2,
        objective="val_loss",
        extra_objectives=["closeness", "train_time_s"],
        pruner={"kind": "median", "n_startup_trials": 0, "n_warmup_steps": 0},
    )
    assert not cfg.prunes and cfg.study_directions == ["minimize"] * 3
    study = run_study(params, cfg, data_dir, tmp_path)

    assert [len(t.values) for t in study.trials] == [3, 3]
    assert all(t.intermediate_values == {} for t in study.trials)  # nothing reported: no pruning
    best = best_trial(study, cfg)
    assert best.values[0] == min(t.values[0] for t in study.trials)
    assert "optimization_history.png" in {p.name for p in (tmp_path / "tune").iterdir()}
    with pytest.raises(ConfigError, match="tune.directions"):
        tiny(extra_objectives=["train_time_s"], directions=["minimize"])


def test_apply_best_edits_only_the_model_lines(tmp_path):
    params_yaml = tmp_path / "params.yaml"
    original = (REPO / "params.yaml").read_text()
    params_yaml.write_text(original)
    best = tmp_path / "best.yaml"
    best.write_text("models:\n  crnngan:\n    lr_g: 0.00123\n    hidden_g: 96\n    feature_matching: false\n")

    assert apply_best(best, params_yaml) == {"lr_g": 0.00123, "hidden_g": 96, "feature_matching": False}
    old, new = original.splitlines(), params_yaml.read_text().splitlines()
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert len(old) == len(new) and len(changed) == 3
    assert (
        "    hidden_g: 64              # the paper: 350 (configs/paper.yaml)",
        "    hidden_g: 96              # the paper: 350 (configs/paper.yaml)",
    ) in changed
    lr_line = next(line for line in old if line.startswith("    lr_g: "))  # crnngan's, the first
    value = lr_line.split()[1]
    (new_lr,) = [b for a, b in changed if a == lr_line]
    assert new_lr.startswith("    lr_g: 0.00123 ") and new_lr.endswith(lr_line.split("#")[1])  # comment kept
    assert ("    feature_matching: true", "    feature_matching: false") in changed
    cfg = parse_params(yaml.safe_load(params_yaml.read_text()))
    assert cfg.models["crnngan"].lr_g == 0.00123 and cfg.models["crnngan3"].lr_g == float(value)

    best.write_text("models:\n  crnngan:\n    dropout: 1.5\n")
    with pytest.raises(ConfigError, match="dropout"):
        apply_best(best, params_yaml)
    assert params_yaml.read_text().splitlines() == new  # nothing written

    def keys(name, *left_out):  # a section's lines after its kind (a model section sets every key)
        section = {k: v for k, v in tiny_raw()["models"][name].items() if k not in ("kind", *left_out)}
        return "".join(f"    {line}\n" for line in yaml.safe_dump(section, sort_keys=False).splitlines())

    small = tmp_path / "small.yaml"
    gan, baseline = keys("crnngan", "label_smoothing"), f"  baseline:\n    kind: baseline\n{keys('baseline')}"
    small.write_text(f"models:  # m\n  crnngan:\n    kind: gan   # k\n{gan}{baseline}")
    best.write_text("models:\n  crnngan:\n    label_smoothing: 0.1\n")
    apply_best(best, small)
    assert (
        small.read_text() == f"models:  # m\n  crnngan:\n    kind: gan   # k\n{gan}    label_smoothing: 0.1\n{baseline}"
    )


def test_closeness_never_rewards_near_empty_songs(data_dir):
    # Validation songs: the data_dir fixture's (48 tones each). Near-empty songs (two tones cut
    # from real ones) once looked closest, measured against 2-tone real windows.
    params, cfg = tiny()
    closeness = objective.tuning_closeness(data_dir, params, cfg)
    real = SongSet.load(data_dir / "songs.npz").songs(1)
    varied = [s[i : i + 16] for s in real for i in (0, 16)]
    empty = [s[:2] for s in varied]
    assert closeness.score(empty, 16) == CAP > closeness.score(varied, 16)
