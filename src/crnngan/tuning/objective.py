"""A trial's objective: train the model with the trial's values, score it after every epoch.

Objective ``closeness`` (default, lower is better). Generate ``closeness_songs`` songs of one
training-window length from a fixed seed, decode them, and compute the paper's six Figure-3
statistics per song (:func:`crnngan.evaluation.batch.song_table`). Real music is measured the same way
on ``real_windows`` validation windows of as many steps as were generated
(:func:`crnngan.evaluation.windows.step_windows`), never of a length taken from the model's output; a
model whose median song holds under half the real tone count scores ``CAP``, so emitting
near-empty songs cannot pay. Per statistic the distance is
``|mean_gen - mean_val| / std_val`` (:func:`crnngan.evaluation.compare.stat_distance`, the report's
formula), capped at ``CAP`` real standard deviations; a statistic that no generated song
defines (e.g. all songs empty), or that real music does not vary while the songs do, counts
as ``CAP``. The
objective is the mean over statistics, so it is always finite and one degenerate statistic
cannot swamp the rest. ``val_loss`` instead takes the model's teacher-forced validation loss
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
import numpy as np
import optuna
import psutil
import pytorch_lightning as pl
import torch
from optuna.trial import TrialState

from crnngan import tracking
from crnngan.config import Params
from crnngan.data.preprocess import SongSet
from crnngan.data.representation import Normalizer, events_to_steps
from crnngan.evaluation.batch import song_table
from crnngan.evaluation.compare import stat_distance
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import short_song_threshold, step_windows
from crnngan.paths import DataDir, ModelDir
from crnngan.training.fit import fit, prepare
from crnngan.training.kinds import total_epochs
from crnngan.training.sampling import decode
from crnngan.tuning.runs import ROLE_TAG, RUN_STATUS, STATE_TAG, STUDY_TAG, TRIAL_TAG
from crnngan.tuning.space import TuneConfig, suggest, trial_params
from crnngan.tuning.storage import HOST, PID, PID_STARTED

CAP = 10.0  # real standard deviations: the worst distance one statistic can add


class Closeness:
    """Closeness of generated songs to real validation music (see the module docstring)."""

    def __init__(
        self,
        val_songs: list[np.ndarray],
        normalizer: Normalizer,
        tones_per_step: int,
        count: int,
        windows: int,
        seed: int,
        tolerance: float = 0.0,
        legacy: bool | str = False,
    ) -> None:
        if not val_songs:
            raise ValueError("closeness needs validation songs, but the validation split is empty")
        self.val_songs, self.normalizer, self.k = val_songs, normalizer, tones_per_step
        self.count, self.windows, self.seed = count, windows, seed
        self.table_kwargs = {"tolerance": tolerance, "legacy": legacy}
        # steps -> (stat -> (mean, std), tones a song needs not to be short)
        self._real: dict[int, tuple[dict[str, tuple[float, float]], float]] = {}

    @classmethod
    def from_data(cls, data_dir: str | Path, params: Params, cfg: TuneConfig) -> Closeness:
        data = DataDir(Path(data_dir))
        return cls(
            SongSet.load(data.songs).songs(1),  # 1 = the validation split
            Normalizer.load(data.normalizer),
            params.models[cfg.model].tones_per_step,
            cfg.closeness_songs,
            cfg.real_windows,
            cfg.seed,
            params.evaluate.polyphony_tolerance,
            params.evaluate.legacy,
        )

    def _real_stats(self, steps: int) -> tuple[dict[str, tuple[float, float]], float]:
        if steps not in self._real:
            longest = max(len(events_to_steps(s, self.k)) for s in self.val_songs)
            windows = step_windows(self.val_songs, self.k, min(steps, longest), self.windows, self.seed)
            table = song_table(windows, **self.table_kwargs)
            self._real[steps] = (
                {
                    s: (float(np.nanmean(table[s])), float(np.nanstd(table[s], ddof=1)))
                    for s in FIGURE3
                    if np.isfinite(table[s]).sum() > 1
                },
                short_song_threshold(windows),
            )
        return self._real[steps]

    def score(self, songs: list[np.ndarray], steps: int) -> float:
        """Mean capped distance of ``songs`` of ``steps`` steps to real windows of as many
        steps; CAP when their median song is short (under half the real tone count), so
        near-empty songs can never look close."""
        real, minimum = self._real_stats(steps)
        if np.median([len(s) for s in songs]) < max(minimum, 1):
            return CAP
        gen = song_table(songs, **self.table_kwargs)
        distances = []
        for stat, (mean, std) in real.items():
            values = gen[stat][np.isfinite(gen[stat])]
            distances.append(min(stat_distance(values.mean(), mean, std), CAP) if values.size else CAP)
        return float(np.mean(distances))

    def __call__(self, module: pl.LightningModule, length: int) -> float:
        """Closeness of ``module``'s songs of ``length`` steps (fixed seed: comparable across epochs)."""
        features = module.generate(self.count, length, seed=self.seed).float().cpu().numpy()
        return self.score(decode(features, self.normalizer, self.k), length)


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
    return lambda trainer, module: closeness(module, trainer.datamodule.segment_length)


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
