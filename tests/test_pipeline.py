"""`dvc repro` end to end on a tiny params override, in a temporary copy of the repo."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from params_fixtures import tiny_raw
from stage_scripts import REPO

from crnngan.config import parse_params

TINY_MODEL = {"batch_size": 8, "curriculum_step": 8}
TINY = {  # over params_fixtures.TINY
    "corpus": {"composers": ["bach"], "max_works_per_composer": 6, "workers": 1},
    "preprocess": {"workers": 1},
    "train": {"artifacts_every_n_epochs": 1},
    "models": {
        "crnngan": {**TINY_MODEL, "select_by": "closeness"},  # tests/training/test_selection.py has
        "crnngan3": {**TINY_MODEL, "select_by": "closeness"},  # a validation split to choose by
        "baseline": TINY_MODEL,
    },
    "sample": {"count": 4, "length": 16},
    "evaluate": {"real_windows": 8, "bootstrap": 50},
}


def copy_repo(dest: Path) -> None:
    """The tracked and not-ignored files of the working tree, as a fresh git repo."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for stale in ("dvc.lock",):
        (dest / stale).unlink(missing_ok=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=dest, check=True)


def dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_dvc_repro_tiny(tmp_path, mlflow_tmp):
    repo = tmp_path / "repo"
    copy_repo(repo)
    params = tiny_raw(TINY)  # params.yaml is the copy's
    parse_params(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params))

    result = dvc(["repro"], repo)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    report = json.loads((repo / "data/processed/preprocess_report.json").read_text())
    assert report["files_seen"] == 6 and report["files_used"] == 6
    for model in ("crnngan", "crnngan3", "baseline"):
        assert (repo / f"models/{model}/checkpoints/last.ckpt").exists()
        assert len(list((repo / f"samples/{model}").glob("*.mid"))) == 4
        metrics = json.loads((repo / f"metrics/{model}.json").read_text())
        assert metrics["evaluated"] == 1 and metrics["n_songs"] == 4
    # Six songs leave the validation split empty: nothing to choose an epoch by, and the run says so.
    for model in ("crnngan", "crnngan3"):
        assert f"{model}: select_by closeness, but the validation split is empty" in result.stderr
        assert not (repo / f"models/{model}/checkpoints/closest.ckpt").exists()
    assert (repo / "reports/summary.md").exists()
    # dvc plots show works offline: image plots, nothing loaded from the network.
    shown = dvc(["plots", "show", "--out", str(tmp_path / "plots")], repo)
    assert shown.returncode == 0, shown.stderr[-2000:]
    html = (tmp_path / "plots" / "index.html").read_text()
    assert html.count("<img") == 6 and "http://" not in html and "https://" not in html

    # Nothing changed -> nothing re-runs; one model's params changed -> only that model.
    assert "didn't change" in dvc(["repro"], repo).stdout
    # A finished run forced to run again retrains, in a new MLflow run (it used to hand
    # back the finished checkpoint without a word).
    state = json.loads((repo / "models/baseline/run.json").read_text())
    assert state["completed"]
    forced = dvc(["repro", "-f", "-s", "train@baseline"], repo)
    assert forced.returncode == 0, forced.stdout[-3000:] + forced.stderr[-3000:]
    again = json.loads((repo / "models/baseline/run.json").read_text())
    assert again["completed"] and again["run_id"] != state["run_id"]
    assert "resuming" not in forced.stdout + forced.stderr
    # The forced run changed nothing the other models depend on: a dry run skips their stages.
    dry = dvc(["repro", "--dry"], repo)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "'train@crnngan' didn't change" in dry.stdout and "'train@crnngan3' didn't change" in dry.stdout
    params["models"]["baseline"]["lr_g"] = 0.002
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    status = dvc(["status"], repo).stdout
    assert "train@baseline" in status and "train@crnngan:" not in status and "train@crnngan3" not in status
