"""MLflow tracking helpers, on a private SQLite store per test (fixture ``mlflow_tmp``)."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow import MlflowClient

from crnngan import tracking

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path with a stub `git` first on PATH: tests never query the real repository."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = bin_dir / "git"
    git.write_text(f"#!/bin/sh\necho {FAKE_COMMIT}\n")
    git.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)


def test_default_uri_is_absolute_sqlite_under_repo_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "deep")

    assert tracking.repo_root() == tmp_path
    uri = tracking.tracking_uri()
    assert uri == f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert urlparse(uri).scheme == "sqlite" and Path(uri.removeprefix("sqlite:///")).is_absolute()
    assert (tmp_path / "mlruns").is_dir()


def test_dvc_root_wins_over_cwd(tmp_path, monkeypatch):
    # `dvc exp run --temp/--queue` runs in a temp copy but points DVC_ROOT at the workspace.
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "workspace"))
    assert tracking.repo_root() == tmp_path / "workspace"


def test_env_uri_wins_relative_sqlite_is_anchored_and_file_store_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlruns/mlflow.db")
    assert tracking.tracking_uri(tmp_path) == f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    for uri in ("./mlruns", "file:///tmp/mlruns"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        with pytest.raises(ValueError, match="file store"):
            tracking.tracking_uri()


def test_setup_is_idempotent_and_keeps_artifacts_beside_the_db(mlflow_tmp, tmp_path):
    exp_id = tracking.setup("exp")
    assert tracking.setup("exp") == exp_id
    location = MlflowClient(mlflow_tmp).get_experiment(exp_id).artifact_location
    assert Path(location.removeprefix("file://")) == tmp_path / "mlruns" / "artifacts"


def test_setup_survives_a_concurrent_create(mlflow_tmp, monkeypatch):
    exp_id = MlflowClient(mlflow_tmp).create_experiment("raced")
    lookups = []
    real_lookup = MlflowClient.get_experiment_by_name

    def first_lookup_misses(self, name):
        # The other process creates it between this process's look-up and create.
        lookups.append(name)
        return None if len(lookups) == 1 else real_lookup(self, name)

    monkeypatch.setattr(MlflowClient, "get_experiment_by_name", first_lookup_misses)
    assert tracking.setup("raced") == exp_id


def test_run_tags(monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "lucky-lark")
    monkeypatch.setenv("DVC_STAGE", "train@crnngan")
    tags = tracking.run_tags(model="crnngan", stage="train")
    assert tags == {
        "git.commit": FAKE_COMMIT,
        "dvc.exp_name": "lucky-lark",
        "dvc.stage": "train@crnngan",
        "model": "crnngan",
        "stage": "train",
        "device": tags["device"],
    }
    assert tags["device"]  # "cpu" or a CUDA device name


def test_run_tags_without_git_or_dvc(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no git executable at all
    for var in ("DVC_EXP_NAME", "DVC_STAGE"):
        monkeypatch.delenv(var, raising=False)
    assert set(tracking.run_tags()) == {"device"}


def test_children_share_one_parent_which_tracks_their_status(mlflow_tmp):
    client = MlflowClient(mlflow_tmp)
    children = []
    for model in ("crnngan", "baseline"):  # two stages of one pipeline invocation
        with tracking.child_run("exp", f"train-{model}", tracking.run_tags(model, "train")) as run:
            parent_id = run.data.tags["mlflow.parentRunId"]
            assert client.get_run(parent_id).info.status == "RUNNING"
            children.append(run.info.run_id)

    runs = [client.get_run(run_id) for run_id in children]
    assert runs[0].data.tags["mlflow.parentRunId"] == runs[1].data.tags["mlflow.parentRunId"]
    assert [r.data.tags["model"] for r in runs] == ["crnngan", "baseline"]
    assert all(r.data.tags["git.commit"] == FAKE_COMMIT and r.info.status == "FINISHED" for r in runs)
    parent = client.get_run(runs[0].data.tags["mlflow.parentRunId"])
    assert parent.data.tags[tracking.PIPELINE_TAG] == tracking.pipeline_id()
    assert parent.info.status == "FINISHED"
    assert "mlflow.parentRunId" not in parent.data.tags


def test_failed_stage_marks_child_and_parent_failed(mlflow_tmp):
    with pytest.raises(RuntimeError):
        with tracking.child_run("exp", "train", {"model": "m"}) as run:
            raise RuntimeError("boom")
    client = MlflowClient(mlflow_tmp)
    child = client.get_run(run.info.run_id)
    assert child.info.status == "FAILED"
    assert client.get_run(child.data.tags["mlflow.parentRunId"]).info.status == "FAILED"


def test_a_new_pipeline_id_gets_a_new_parent(mlflow_tmp, monkeypatch):
    parents = []
    for pipeline in ("repro-1", "repro-1", "repro-2"):
        monkeypatch.setenv(tracking.PIPELINE_ENV, pipeline)
        with tracking.child_run("exp", "train", {"model": "m"}) as run:
            parents.append(run.data.tags["mlflow.parentRunId"])
    assert parents[0] == parents[1] != parents[2]


def test_child_nests_under_an_already_active_run(mlflow_tmp):
    with tracking.parent_run("exp", name="study") as parent:
        with tracking.child_run("exp", "trial-0", {"model": "m"}) as child:
            assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert parent.data.tags["mlflow.runName"] == "study"


def test_find_run_returns_the_latest_child_for_a_model(mlflow_tmp):
    assert tracking.find_run("no-such-experiment", "crnngan") is None
    ids = {}
    for model, stage in (("crnngan", "train"), ("crnngan", "train"), ("baseline", "train"), ("crnngan", "evaluate")):
        with tracking.child_run("exp", f"{stage}-{model}", {"model": model, "stage": stage}) as run:
            ids[model, stage] = run.info.run_id  # later runs overwrite: the latest per key
        time.sleep(0.01)  # start times are in ms: keep the order unambiguous

    assert tracking.find_run("exp", "crnngan").info.run_id == ids["crnngan", "evaluate"]
    assert tracking.find_run("exp", "crnngan", stage="train").info.run_id == ids["crnngan", "train"]
    assert tracking.find_run("exp", "baseline").info.run_id == ids["baseline", "train"]
    assert tracking.find_run("exp", "rnn") is None


def test_logger_and_checkpoint_go_to_the_given_run(mlflow_tmp, tmp_path):
    ckpt = tmp_path / "epoch=1-step=8.ckpt"
    ckpt.write_bytes(b"weights")
    with tracking.child_run("exp", "train", {"model": "m"}) as run:
        run_id = run.info.run_id
        logger = tracking.make_logger(run_id)
        logger.log_metrics({"g_loss": 1.5}, step=3)
        assert logger.run_id == run_id and logger.experiment_id == run.info.experiment_id
        tracking.log_checkpoint(ckpt, run_id)

    client = MlflowClient(mlflow_tmp)
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "g_loss")] == [(3, 1.5)]
    assert [a.path for a in client.list_artifacts(run_id, "checkpoints")] == [f"checkpoints/{ckpt.name}"]
    stored = tmp_path / "mlruns" / "artifacts" / run_id / "artifacts" / "checkpoints" / ckpt.name
    assert stored.read_bytes() == b"weights"


STAGE = """
import sys
from crnngan import tracking
with tracking.child_run("pipe", sys.argv[1], {"model": sys.argv[1]}) as run:
    print(run.info.run_id, run.data.tags["mlflow.parentRunId"], flush=True)
"""

# Stands in for `dvc repro`: runs each stage in turn via `$SHELL -c`, with DVC_STAGE set.
FAKE_DVC = """#!{python}
import os, shlex, subprocess, sys
for stage in sys.argv[1:]:
    cmd = " ".join(shlex.quote(a) for a in (sys.executable, {stage_py!r}, stage))
    subprocess.run(["/bin/sh", "-c", cmd], env=dict(os.environ, DVC_STAGE=stage), check=True)
"""


def test_stage_processes_of_one_dvc_invocation_share_a_parent(mlflow_tmp, tmp_path):
    tracking.setup("pipe")  # as `dvc repro`'s first stage would, before the parallel invocations
    stage_py = tmp_path / "stage.py"
    stage_py.write_text(textwrap.dedent(STAGE))
    dvc = tmp_path / "bin" / "dvc"
    dvc.write_text(FAKE_DVC.format(python=sys.executable, stage_py=str(stage_py)))
    dvc.chmod(0o755)

    # Two invocations at once, e.g. `dvc exp run`s in two workspaces; one is enough to tell apart.
    invocations = [["train@a", "train@b"], ["train@a"]]
    procs = [subprocess.Popen([str(dvc), *stages], stdout=subprocess.PIPE, text=True) for stages in invocations]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]

    (child_a, parent), (child_b, parent_b), (_, other_parent) = (
        line.split() for out in outputs for line in out.splitlines()
    )
    assert child_a != child_b and parent == parent_b != other_parent
    client = MlflowClient(mlflow_tmp)
    for parent_id in (parent, other_parent):
        run = client.get_run(parent_id)
        assert run.data.tags[tracking.PIPELINE_TAG].startswith("dvc:")
        assert run.info.status == "FINISHED"


def test_the_training_logger_logs_metrics_but_leaves_params_to_the_stage(mlflow_tmp):
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_tmp)
    run = client.create_run(tracking.setup("crnngan"))
    logger = tracking.make_logger(run.info.run_id)
    logger.log_hyperparams({"model": {"hidden_g": 64}})  # what save_hyperparameters hands it
    logger.log_metrics({"d_loss": 0.5}, step=3)
    data = client.get_run(run.info.run_id).data
    assert data.params == {} and data.metrics == {"d_loss": 0.5}


def test_a_training_run_describes_itself_in_one_line():
    from params_fixtures import tiny_model

    from crnngan.training import stage as train

    gan = tiny_model("crnngan", pretrain_epochs=30, epochs=20, hidden_g=64, hypotheses=8, pitch_head="regression")
    assert train.describe_run("crnngan", gan, 42) == (
        "crnngan: 1 tone(s) per step, 30 pretraining + 20 adversarial epochs, G 2x64 with 8 candidate(s) "
        "per step and a regression pitch head, seed 42"
    )
    baseline = tiny_model("baseline", epochs=50)
    assert "50 epochs of next-event regression" in train.describe_run("baseline", baseline, 1)
