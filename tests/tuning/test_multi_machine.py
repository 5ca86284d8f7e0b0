"""A study across machines, simulated on one host: PostgreSQL for Optuna, an MLflow server.

Two tuning workers run as separate processes from separate working copies (as two machines
would), each with MLFLOW_TRACKING_URI at the server and tune.storage at PostgreSQL. One is
killed with SIGKILL mid-trial; the heartbeat must fail its trial and the other must finish the
study, every trial recorded once in Optuna and in MLflow, and the password nowhere in MLflow,
the logs or the outputs. Needs PostgreSQL's server programs (Debian: apt-get install
postgresql; .ci/run installs them) and the psycopg2 driver (the ``postgres`` extra).
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow import MlflowClient
from optuna.trial import TrialState
from params_fixtures import tiny_raw
from stage_scripts import REPO

from crnngan.config import parse_params
from crnngan.tools import ui

PASSWORD = "pw-7Yq2-not-for-logs"
USER = "crnngan"
TINY_MODEL = {"layers_g": 1, "layers_d": 1, "batch_size": 8, "curriculum_step": 8}  # over params_fixtures.TINY
N_TRIALS = 4

pytestmark = pytest.mark.slow  # a database server, an MLflow server and two workers


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else Debian's versioned folder."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """A PostgreSQL server of its own on 127.0.0.1 (password login), with database ``optuna``."""
    pytest.importorskip("psycopg2", reason="the postgres extra (psycopg2-binary) is not installed")
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")
    # PostgreSQL refuses to run as root: then it runs as the postgres account, in a folder that
    # account can reach (pytest's own tmp folders are private to the user).
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="crnngan-pg-"))
    base.chmod(0o755)
    data, pwfile = base / "data", base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    port = ui.free_port()

    def run(*cmd):
        return subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)

    run(initdb, "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256")
    run(
        pg_ctl,
        "-D",
        str(data),
        "-l",
        str(base / "server.log"),
        "-w",
        "start",
        "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
    )
    try:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        subprocess.run(
            [postgres_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "optuna"],
            check=True,
            env=env,
            timeout=60,
        )
        yield f"postgresql+psycopg2://{USER}:{PASSWORD}@127.0.0.1:{port}/optuna"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mlflow_server(tmp_path):
    """A real MLflow tracking server (SQLite behind it) on 127.0.0.1; yields its URL."""
    process, url = ui.start(tmp_path / "server", ui.free_port())
    try:
        assert ui.wait_ready(url, process), "the MLflow server did not answer /health"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def working_copy(folder: Path, storage: str) -> Path:
    """A machine's checkout: the params (study on PostgreSQL, a 1 s heartbeat) and a dvc.yaml
    marking the project root, where the worker keeps its optuna/ and tune/ folders."""
    folder.mkdir()
    raw = tiny_raw(
        {
            "models": {"crnngan": TINY_MODEL},
            "tune": {
                "model": "crnngan",
                "study_name": "across",
                "n_trials": N_TRIALS,
                "pruner": {"kind": "none"},
                "epochs": 1,
                "pretrain_epochs": 1,
                "closeness_songs": 4,
                "real_windows": 8,
                "storage": storage,
                "heartbeat_s": 1,
                "space": {"lr_g": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
            },
        }
    )
    parse_params(raw)
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    (folder / "dvc.yaml").write_text("stages: {}\n")
    return folder


def start_worker(copy: Path, data: Path, tracking: str) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if k != "DVC_ROOT"}, "MLFLOW_TRACKING_URI": tracking}
    return subprocess.Popen(
        [sys.executable, str(REPO / "pipelines" / "tune.py"), "run", "--data", str(data)],
        cwd=copy,
        env=env,
        stdout=open(copy / "worker.log", "w"),
        stderr=subprocess.STDOUT,
    )


def running_trial_of(storage: str, pid: int, timeout_s: float = 180) -> int:
    """The number of the trial worker ``pid`` is running, once it runs one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name="across", storage=storage)
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if t.user_attrs.get("pid") == pid:
                    return t.number
        except KeyError:  # the study does not exist yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"worker {pid} never ran a trial")


def test_two_machines_share_a_postgres_study_and_survive_a_killed_worker(
    tmp_path, data_dir, postgres_url, mlflow_server
):
    copies = [working_copy(tmp_path / name, postgres_url) for name in ("machine_a", "machine_b")]
    survivor = start_worker(copies[0], data_dir, mlflow_server)
    victim = start_worker(copies[1], data_dir, mlflow_server)
    killed = running_trial_of(postgres_url, victim.pid)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert survivor.wait(timeout=600) == 0, (copies[0] / "worker.log").read_text()[-3000:]

    study = optuna.load_study(study_name="across", storage=postgres_url)
    states = {t.number: t.state for t in study.trials}
    assert states[killed] == TrialState.FAIL  # failed by the heartbeat, not left RUNNING
    assert sum(s == TrialState.COMPLETE for s in states.values()) == N_TRIALS
    assert TrialState.RUNNING not in states.values()

    client = MlflowClient(mlflow_server)
    (experiment,) = [e for e in client.search_experiments() if e.name == "crnngan"]
    runs = client.search_runs([experiment.experiment_id], "tags.`optuna.study` = 'across'")
    (parent,) = [r for r in runs if r.data.tags["optuna.role"] == "study"]  # one study run, though both made one
    trials = [r for r in runs if r.data.tags["optuna.role"] == "trial"]
    numbers = sorted(int(r.data.tags["optuna.trial"]) for r in trials)
    assert numbers == sorted(states)  # every trial exactly once, the killed one included
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parent.info.run_id}
    by_number = {int(r.data.tags["optuna.trial"]): r for r in trials}
    assert by_number[killed].info.status == "FAILED" and by_number[killed].data.tags["optuna.state"] == "FAIL"
    assert parent.data.params["tune.storage"].startswith(f"postgresql+psycopg2://{USER}:***@127.0.0.1")

    # The password: in no param or tag of any run, in neither worker's log or outputs.
    for run in runs:
        assert PASSWORD not in repr(run.data.params) + repr(run.data.tags)
    for copy in copies:
        for path in copy.rglob("*"):
            if path.is_file() and path.name != "params.yaml":
                assert PASSWORD.encode() not in path.read_bytes(), path
