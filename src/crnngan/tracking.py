"""MLflow tracking: one SQLite store under ``mlruns/``, one parent run per pipeline invocation.

Store. ``tracking_uri()`` is ``$MLFLOW_TRACKING_URI`` if set, else
``sqlite:///<repo root>/mlruns/mlflow.db``, always absolute, never the file store (MLflow
>= 3.13 refuses it). Experiments created here keep their artifacts next to the database
(``mlruns/artifacts/<run id>/artifacts/...``), so a temporary store in tests stays in its
temp dir.

Parent runs across processes. Every DVC stage is its own process, yet all stages of one
``dvc repro`` (train@crnngan, train@crnngan3, train@baseline, evaluate, ...) should appear as
children of one parent run. Processes agree on a *pipeline id*, stored on the parent as tag
``crnngan.pipeline_id``; the first stage to look for a parent with that tag creates it, later
ones find it by searching the tag. The id is, first match wins:

1. ``$CRNNGAN_PIPELINE_RUN``, for any launcher that wants to group processes itself
   (e.g. a Makefile exporting one value for several commands, or Optuna workers);
2. under DVC (``$DVC_STAGE`` set): the host, pid and start time of the nearest ancestor
   ``dvc`` process, i.e. the ``dvc repro``/``dvc exp run`` (or the queue's per-experiment
   ``dvc exp exec-run``) that launched the stage, plus ``$DVC_EXP_NAME`` when set. The start
   time makes a recycled pid a different id;
3. otherwise the current process itself: a script run by hand gets a parent of its own (so
   does a stage whose ``dvc`` ancestor cannot be seen, e.g. DVC driven from its Python API).

A single "current parent" file would not do on its own: it cannot tell whether it was left by
this ``dvc repro`` or by an earlier one that failed or ran only some stages; the id can.
Look-up and creation happen under an exclusive lock on ``.pipeline_run.lock`` next to the
database, so processes sharing one id concurrently still create a single parent. The parent
is resumed in-process (fluent ``start_run(run_id=...)``) for the duration of each stage: it
shows RUNNING while any stage runs and FINISHED (FAILED) after the last one succeeded (failed).

Lightning. ``make_logger(run_id)`` attaches an ``MLFlowLogger`` to a run started here, with the
URI passed explicitly: Lightning's default reads ``$MLFLOW_TRACKING_URI`` at import time and
otherwise falls back to the refused file store. With a SQLite URI the logger has no
``save_dir``, so give ``ModelCheckpoint`` an explicit ``dirpath``.

Typical stage::

    with child_run(exp, f"train-{model}", run_tags(model=model, stage="train")) as run:
        trainer = pl.Trainer(logger=make_logger(run.info.run_id), ...)
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import mlflow
import psutil  # a dependency of dvc, hence always installed with this package
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

if TYPE_CHECKING:
    from pytorch_lightning.loggers import MLFlowLogger

PIPELINE_ENV = "CRNNGAN_PIPELINE_RUN"
PIPELINE_TAG = "crnngan.pipeline_id"
LOCK_NAME = ".pipeline_run.lock"
_SQLITE = "sqlite:///"


def repo_root() -> Path:
    """The project root: ``$DVC_ROOT``, else the nearest folder up from cwd with ``dvc.yaml``, else cwd.

    ``dvc exp run --temp``/``--queue`` run stages in a temporary copy but set ``DVC_ROOT`` to
    the real repository, so runs land in the workspace's ``mlruns/`` instead of being lost.
    """
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    cwd = Path.cwd().resolve()
    return next((d for d in (cwd, *cwd.parents) if (d / "dvc.yaml").is_file()), cwd)


def store_uri(store: Path) -> str:
    """The tracking URI of the store folder ``store`` (its SQLite ``mlflow.db``)."""
    return f"{_SQLITE}{store / 'mlflow.db'}"


def tracking_uri(root: str | Path | None = None) -> str:
    """The tracking URI: ``$MLFLOW_TRACKING_URI`` if set, else the SQLite DB in ``<root>/mlruns``.

    A relative ``sqlite:///`` path in the environment is taken relative to the repo root, so
    every stage resolves it to the same file whatever its cwd. File-store URIs are refused.
    """
    base = Path(root).resolve() if root is not None else repo_root()
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        mlruns = base / "mlruns"
        mlruns.mkdir(parents=True, exist_ok=True)
        return store_uri(mlruns)
    if urlparse(uri).scheme in ("", "file"):
        raise ValueError(
            f"MLFLOW_TRACKING_URI={uri!r} is the file store, which MLflow >= 3.13 refuses; "
            "use sqlite:////<absolute path>/mlflow.db"
        )
    if uri.startswith(_SQLITE) and not uri[len(_SQLITE) :].startswith("/"):
        return f"{_SQLITE}{base / uri[len(_SQLITE) :]}"
    return uri


def _state_dir(uri: str) -> Path:
    """Folder for artifacts and the pipeline lock: beside the SQLite DB, else ``<root>/mlruns``."""
    folder = Path(uri[len(_SQLITE) :]).parent if uri.startswith(_SQLITE) else repo_root() / "mlruns"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup(experiment: str) -> str:
    """Point MLflow at :func:`tracking_uri`, create or get ``experiment``, make it active; its id."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        # A remote server chooses its own artifact root; a local store keeps them beside the DB.
        location = str(_state_dir(uri) / "artifacts") if uri.startswith(_SQLITE) else None
        try:
            experiment_id = client.create_experiment(experiment, artifact_location=location)
        except MlflowException as err:
            # Another process created it between our look-up and create: use theirs.
            if err.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment_id = client.get_experiment_by_name(experiment).experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _device() -> str:
    import torch  # deferred: a second or more to import, and only this tag needs it

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def _pipeline_tags() -> dict[str, str]:
    """Tags shared by the parent and its children: code version and DVC experiment."""
    tags = {"git.commit": _git_commit(), "dvc.exp_name": os.environ.get("DVC_EXP_NAME")}
    return {k: v for k, v in tags.items() if v}


def run_tags(model: str | None = None, stage: str | None = None) -> dict[str, str]:
    """Tags for a child run; keys whose value is unknown (no git, not under DVC) are left out."""
    tags = {
        **_pipeline_tags(),
        "dvc.stage": os.environ.get("DVC_STAGE"),
        "model": model,
        "stage": stage,
        "device": _device(),
    }
    return {k: v for k, v in tags.items() if v}


def _is_dvc(cmdline: list[str]) -> bool:
    # `.venv/bin/dvc ...` runs as [python, .../dvc, ...]; also `python -m dvc ...`.
    launcher = any(Path(arg).name in ("dvc", "dvc.exe") for arg in cmdline[:2])
    return launcher or cmdline[1:3] == ["-m", "dvc"]


def pipeline_id() -> str:
    """The id shared by all processes of this pipeline invocation (see the module docstring)."""
    if os.environ.get(PIPELINE_ENV):
        return os.environ[PIPELINE_ENV]
    owner, kind = psutil.Process(), "proc"
    if os.environ.get("DVC_STAGE"):
        for proc in owner.parents():
            try:
                if _is_dvc(proc.cmdline()):
                    owner, kind = proc, "dvc"
                    break
            except psutil.Error:  # an ancestor owned by another user, or already gone
                continue
    key = f"{kind}:{socket.gethostname()}:{owner.pid}:{owner.create_time():.2f}"
    exp_name = os.environ.get("DVC_EXP_NAME")
    return f"{key}:{exp_name}" if exp_name else key


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _parent_run_id(uri: str, experiment_id: str, name: str | None) -> str:
    """This pipeline's parent run in the experiment, created if no stage has made it yet."""
    client = MlflowClient(uri)
    key = pipeline_id()
    with _locked(_state_dir(uri) / LOCK_NAME):
        found = client.search_runs([experiment_id], f"tags.`{PIPELINE_TAG}` = '{key}'", max_results=1)
        if found:
            return found[0].info.run_id
        exp_name = os.environ.get("DVC_EXP_NAME")
        # Short enough for the runs table's name column: the DVC experiment, or when it started.
        default = exp_name or f"{datetime.now():%d %b %H:%M:%S}"
        run = client.create_run(experiment_id, run_name=name or default, tags={PIPELINE_TAG: key, **_pipeline_tags()})
        return run.info.run_id


@contextmanager
def parent_run(experiment: str, name: str | None = None) -> Iterator[mlflow.ActiveRun]:
    """Make this pipeline's parent run the active run; ``name`` is used only if it is created."""
    experiment_id = setup(experiment)
    run_id = _parent_run_id(tracking_uri(), experiment_id, name)
    # System metrics belong to the stage's child run; sampling them twice would double the load.
    with mlflow.start_run(run_id=run_id, log_system_metrics=False) as run:
        yield run


@contextmanager
def child_run(
    experiment: str,
    name: str,
    tags: dict[str, str] | None = None,
    log_system_metrics: bool | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start a run nested under the active run, or under this pipeline's parent if none is active.

    ``log_system_metrics=None`` leaves it to ``$MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``.
    """
    with ExitStack() as stack:
        if mlflow.active_run() is None:
            stack.enter_context(parent_run(experiment))
        yield stack.enter_context(
            mlflow.start_run(run_name=name, nested=True, tags=tags, log_system_metrics=log_system_metrics)
        )


def find_run(experiment: str, model: str, stage: str | None = None) -> Run | None:
    """The most recently started run tagged ``model`` (and ``stage``, if given), or None.

    Only child runs carry a ``model`` tag, so this never returns a parent. It is not limited to
    the current pipeline: when DVC skipped an unchanged training stage, the run that trained
    the model in use belongs to an earlier pipeline.
    """
    client = MlflowClient(tracking_uri())
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    query = f"tags.model = '{model}'" + (f" and tags.stage = '{stage}'" if stage else "")
    runs = client.search_runs([found.experiment_id], query, max_results=1, order_by=["attributes.start_time DESC"])
    return runs[0] if runs else None


def make_logger(run_id: str) -> MLFlowLogger:
    """A Lightning ``MLFlowLogger`` that logs into the existing run ``run_id``: metrics only.
    The stage logs every param itself (``model.<key>``); Lightning would log each a second
    time from ``save_hyperparameters`` (as ``model/<key>``)."""
    from pytorch_lightning.loggers import MLFlowLogger  # deferred: importing Lightning is slow

    class MetricsOnly(MLFlowLogger):
        def log_hyperparams(self, params: Any) -> None:
            """Params are the stage's to log, once."""

    return MetricsOnly(tracking_uri=tracking_uri(), run_id=run_id)


def log_checkpoint(path: str | Path, run_id: str, artifact_path: str = "checkpoints") -> None:
    """Upload a checkpoint file to ``run_id`` under ``artifact_path``."""
    MlflowClient(tracking_uri()).log_artifact(run_id, str(path), artifact_path)
