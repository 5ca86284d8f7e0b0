"""A trial's objective: train the model with the trial's values, score it after every epoch.

Objective ``closeness`` (default, lower is better): ``closeness_songs`` songs of one
training-window length from a fixed seed, against ``real_windows`` validation windows of as
many steps, by :class:`crnngan.evaluation.closeness.Closeness` (the mean over the paper's six
statistics of the capped distance in real standard deviations; near-empty songs score its
``CAP``). ``val_loss`` instead takes the model's teacher-forced validation loss
(``val_pretrain_loss`` for a GAN, ``val_loss`` for the baseline). Either is reported after every
epoch, so a :class:`~optuna.pruners.MedianPruner` can stop a poor trial early. Extra
objectives (``closeness``, ``val_loss``, ``train_time_s``) turn the study multi-objective;
Optuna cannot prune those, so pruning is then off.

Every trial logs into exactly one nested MLflow run of its own (:func:`_trial_run`; the tags
are :mod:`crnngan.tuning.runs`'s).
"""

from __future__ import annotations

import gc
import math
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import optuna
import psutil
import pytorch_lightning as pl
import torch
from optuna.trial import TrialState

from crnngan import tracking
from crnngan.config import Params
from crnngan.evaluation.closeness import Closeness
from crnngan.paths import ModelDir
from crnngan.training.callbacks import closeness_of
from crnngan.training.fit import fit, prepare
from crnngan.training.kinds import total_epochs
from crnngan.tuning.runs import ROLE_TAG, RUN_STATUS, STATE_TAG, STUDY_TAG, TRIAL_TAG
from crnngan.tuning.space import TuneConfig, suggest, trial_params
from crnngan.tuning.storage import HOST, PID, PID_STARTED


def tuning_closeness(data_dir: str | Path, params: Params, cfg: TuneConfig) -> Closeness:
    """The study's closeness measure: ``cfg``'s song and window counts and seed, the evaluate
    stage's metric settings."""
    return Closeness.from_data(
        data_dir,
        params.models[cfg.model].tones_per_step,
        cfg.closeness_songs,
        cfg.real_windows,
        cfg.seed,
        params.evaluate.polyphony_tolerance,
        params.evaluate.legacy,
    )


class TrialReporter(pl.Callback):
    """After every training epoch (validation included): measure, log, report, maybe prune.

    ``measure(trainer, module)`` gives the objective; the last value is kept in ``last``.
    Pruning raises :class:`optuna.TrialPruned`, which ends ``trainer.fit``.
    """

    def __init__(
        self, trial: optuna.Trial, name: str, measure: Callable[[pl.Trainer, pl.LightningModule], float], prune: bool
    ) -> None:
        self.trial, self.name, self.measure, self.prune = trial, name, measure, prune
        self.last = math.nan

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        self.last = self.measure(trainer, pl_module)
        if trainer.logger is not None:
            trainer.logger.log_metrics({self.name: self.last}, step=epoch)
        if self.prune:  # Trial.report raises for multi-objective studies
            self.trial.report(self.last, step=epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}: {self.name} = {self.last:.4g}")


def _measure(name: str, closeness: Closeness | None) -> Callable[[pl.Trainer, pl.LightningModule], float]:
    """The per-epoch measurement of objective ``name`` (closeness or val_loss)."""
    if name == "val_loss":
        return _val_loss
    return lambda trainer, module: closeness_of(module, closeness, trainer.datamodule.segment_length)


def _val_loss(trainer: pl.Trainer, module: pl.LightningModule) -> float:
    if module.validation_loss not in trainer.callback_metrics:
        raise ValueError(f"{module.validation_loss} was not logged: is the validation split empty?")
    return float(trainer.callback_metrics[module.validation_loss])


@dataclass(frozen=True)
class Job:
    """What a worker needs to run trials of a study (picklable, for spawned processes)."""

    params: Params
    cfg: TuneConfig
    data_dir: Path
    root: Path  # optuna/ (journal) and tune/ (outputs) live here
    tracking_uri: str
    experiment_id: str
    parent_run_id: str


@contextmanager
def _trial_run(job: Job, trial: optuna.Trial, values: Mapping[str, Any]) -> Iterator[mlflow.ActiveRun]:
    """The trial's one nested MLflow run, ended with the trial's state (tag and status)."""
    tags = {
        **tracking.run_tags(model=job.cfg.model, stage="tune"),
        STUDY_TAG: job.cfg.study_name,
        TRIAL_TAG: str(trial.number),
        ROLE_TAG: "trial",
    }
    run = mlflow.start_run(
        run_name=f"trial-{trial.number}", experiment_id=job.experiment_id, parent_run_id=job.parent_run_id, tags=tags
    )
    trial.set_user_attr("mlflow_run_id", run.info.run_id)
    budget = total_epochs(trial_params(job.params, job.cfg, values).models[job.cfg.model])
    mlflow.log_params({**values, "tune.epochs": budget})
    state = TrialState.FAIL
    try:
        yield run
        state = TrialState.COMPLETE
    except optuna.TrialPruned:
        state = TrialState.PRUNED
        raise
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        trial.set_user_attr("fail_reason", reason)
        mlflow.set_tag("optuna.fail_reason", reason)
        raise
    finally:
        mlflow.set_tag(STATE_TAG, state.name)
        mlflow.end_run(RUN_STATUS[state])


def objective(trial: optuna.Trial, job: Job, closeness: Closeness | None) -> float | tuple[float, ...]:
    """Train the model with the trial's values for the budget; the objective value(s)."""
    me = psutil.Process()
    # HOST goes last: once it is there, so are the others (see
    # crnngan.tuning.storage._stale_reason).
    trial.set_user_attr(PID_STARTED, me.create_time())
    trial.set_user_attr(PID, me.pid)
    trial.set_user_attr(HOST, socket.gethostname())
    values = suggest(trial, job.cfg.space)
    try:
        with _trial_run(job, trial, values) as run, tempfile.TemporaryDirectory(prefix="trial-") as tmp:
            reporter = TrialReporter(trial, job.cfg.objective, _measure(job.cfg.objective, closeness), job.cfg.prunes)
            logger = tracking.make_logger(run.info.run_id)
            dm, module, trainer = prepare(
                trial_params(job.params, job.cfg, values), job.cfg.model, job.data_dir, tmp, logger, [reporter]
            )
            # The study's tqdm bar is the progress display; every trial's batch bars and model
            # summary would bury it.
            trainer.callbacks[:] = [
                c for c in trainer.callbacks if not isinstance(c, (pl.callbacks.ProgressBar, pl.callbacks.ModelSummary))
            ]
            started = time.perf_counter()
            fit(module, dm, trainer, ModelDir(Path(tmp)).checkpoints)
            result = {job.cfg.objective: reporter.last, "train_time_s": time.perf_counter() - started}
            for name in job.cfg.extra_objectives:
                result.setdefault(name, _measure(name, closeness)(trainer, module))
            result = {name: result[name] for name in job.cfg.objectives}
            mlflow.log_metrics({f"objective/{k}": v for k, v in result.items()})
            if not all(math.isfinite(v) for v in result.values()):
                raise ValueError(f"non-finite objective {result}")
    finally:
        if torch.cuda.is_available():  # hand the trial's GPU memory (an OOM's too) to the next trial
            gc.collect()  # the trainer and module hold reference cycles
            torch.cuda.empty_cache()
    return tuple(result.values()) if len(result) > 1 else result[job.cfg.objective]
