"""Hyperparameter search with Optuna, tracked in MLflow.

The ``tune`` section of ``params.yaml`` (schema: :class:`TuneConfig`) names a model, a search
space over fields of its :class:`~crnngan.config.ModelConfig`, a short epoch budget and the
objective. Each trial trains that model with the sampled values and scores it on the
**validation** split (the test split stays untouched for the evaluate stage).

Objective ``closeness`` (default, lower is better). Generate ``closeness_songs`` songs of one
training-window length from a fixed seed, decode them, and compute the paper's six Figure-3
statistics per song (:func:`crnngan.training.sampling.song_table`). Real music is measured the same way
on ``real_windows`` validation windows of as many steps as were generated
(:func:`crnngan.evaluation.compare.step_windows`), never of a length taken from the model's output; a
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

Storage. ``storage: ""`` keeps the study in the journal file ``optuna/<study>.log``: safe for
several processes on one host. Any other value is an RDB URL (PostgreSQL/MySQL for several
machines), opened with Optuna's heartbeat (``heartbeat_s``): a trial whose worker has been
silent for three heartbeats is failed, whichever machine it ran on.

Resume. Running the same study again loads it and runs trials until ``n_trials`` of them are
COMPLETE or PRUNED in total; failed trials do not count (a worker gives up after as many
failures as its share of trials, so a persistent error cannot loop). Before that, trials left
RUNNING by a killed worker are marked FAIL (:func:`fail_stale_trials`). With the journal each
trial records its host, PID and the PID's start time, so a trial of this host whose process is
gone is stale at once and one of another host after ``stale_after_s``; with RDB storage the
heartbeat alone decides.

MLflow. One parent run per study, found by its tags ``optuna.study`` and ``optuna.role=study``
and created once under a file lock (across machines, the oldest of any duplicates wins and
the others are deleted). Every trial gets exactly one nested run, created inside the trial
itself and keyed by trial number (tags ``optuna.study``, ``optuna.trial``): Lightning's
per-epoch curves and the objective go there, and tag ``optuna.state`` ends COMPLETE, PRUNED or
FAIL with run status FINISHED, KILLED or FAILED. A trial whose worker died leaves its run
RUNNING; the next invocation gives it the trial's final state instead of logging it again.

Outputs in ``tune/``: ``best_params.yaml`` (a ``models: {<model>: {...}}`` fragment that
:func:`apply_best` writes into ``params.yaml``), ``optimization_history.png`` and
``param_importances.png``, also logged to the study's run.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import math
import multiprocessing as mp
import os
import io
import re
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import optuna
import psutil
import pytorch_lightning as pl
import torch
import yaml
from mlflow import MlflowClient
from mlflow.entities import Run
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url
from tqdm import tqdm

from crnngan import tracking
from crnngan.config import ConfigError, ModelConfig, Params, as_dict, build, parse_params
from crnngan.data.preprocess import SongSet
from crnngan.evaluation.compare import short_song_threshold, stat_distance, step_windows
from crnngan.evaluation.statistics import FIGURE3
from crnngan.training.modules import total_epochs
from crnngan.data.representation import Normalizer, events_to_steps
from crnngan.training.sampling import decode, song_table
from crnngan.training.fit import fit, prepare

log = logging.getLogger(__name__)

CAP = 10.0  # real standard deviations: the worst distance one statistic can add
PRIMARY = ("closeness", "val_loss")
OBJECTIVES = (*PRIMARY, "train_time_s")
STUDY_TAG, TRIAL_TAG, ROLE_TAG, STATE_TAG = "optuna.study", "optuna.trial", "optuna.role", "optuna.state"
RUN_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
# Trial user attributes that identify the worker process, for stale-trial detection.
HOST, PID, PID_STARTED = "host", "pid", "pid_started"


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: ``float``/``int`` in [low, high] (``log`` scale optional),
    or ``categorical`` over ``choices``."""

    type: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PrunerConfig:
    kind: str = "median"  # median | none
    n_startup_trials: int = 3  # complete trials before any pruning
    n_warmup_steps: int = 1  # epochs of a trial never pruned


@dataclass(frozen=True)
class TuneConfig:
    """The ``tune`` section of ``params.yaml``."""

    model: str = "crnngan"  # which models.<name> to tune
    study_name: str = "crnngan-hpo"
    n_trials: int = 8  # COMPLETE + PRUNED trials the study should reach in total
    timeout_s: float = 0.0  # per invocation and worker; 0 = none
    sampler: str = "tpe"  # tpe | random
    seed: int = 42  # sampler (worker i uses seed + i), closeness noise and real windows
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    storage: str = ""  # "" = journal file optuna/<study>.log; else an RDB URL
    objective: str = "closeness"  # closeness | val_loss
    extra_objectives: tuple[str, ...] = ()  # e.g. [train_time_s]: multi-objective, no pruning
    directions: tuple[str, ...] = ()  # per objective, minimize | maximize; empty = all minimize
    epochs: int = -1  # per-trial override of models.<model>.epochs; -1 = keep
    pretrain_epochs: int = -1  # likewise for pretrain_epochs
    limit_train_batches: float = 0.0  # per-trial override of train.limit_train_batches; 0 = keep
    closeness_songs: int = 32
    real_windows: int = 200
    stale_after_s: float = 86400.0  # journal: RUNNING trials of other hosts older than this are failed
    heartbeat_s: int = 60  # RDB: each worker's heartbeat; a trial 3 beats silent is failed
    space: dict[str, Dimension] = field(default_factory=dict)

    @property
    def objectives(self) -> tuple[str, ...]:
        return (self.objective, *self.extra_objectives)

    @property
    def study_directions(self) -> list[str]:
        return list(self.directions) or ["minimize"] * len(self.objectives)

    @property
    def prunes(self) -> bool:
        return self.pruner.kind == "median" and not self.extra_objectives


def trial_params(params: Params, cfg: TuneConfig, values: Mapping[str, Any]) -> Params:
    """``params`` with the trial's ``values`` in ``models.<model>`` and the trial budget, validated."""
    budget = {k: v for k, v in (("epochs", cfg.epochs), ("pretrain_epochs", cfg.pretrain_epochs)) if v >= 0}
    model = dataclasses.replace(params.models[cfg.model], **{**values, **budget})
    train = (dataclasses.replace(params.train, limit_train_batches=cfg.limit_train_batches)
             if cfg.limit_train_batches > 0 else params.train)
    models = {**params.models, cfg.model: model}
    return parse_params(as_dict(dataclasses.replace(params, train=train, models=models)))


def parse_tune(params: Params) -> TuneConfig:
    """Validate ``params.tune``; a ConfigError names the offending key."""
    if not params.tune:
        raise ConfigError("no tune section in the params file (see configs/tune_default.yaml)")
    cfg: TuneConfig = build(TuneConfig, params.tune, "tune")
    choices = {"tune.sampler": (cfg.sampler, ("tpe", "random")),
               "tune.pruner.kind": (cfg.pruner.kind, ("median", "none")),
               "tune.objective": (cfg.objective, PRIMARY),
               **{f"tune.extra_objectives[{i}]": (o, OBJECTIVES) for i, o in enumerate(cfg.extra_objectives)},
               **{f"tune.directions[{i}]": (d, ("minimize", "maximize"))
                  for i, d in enumerate(cfg.directions)}}
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
    if cfg.model not in params.models:
        raise ConfigError(f"tune.model: no section models.{cfg.model}")
    if len(set(cfg.objectives)) != len(cfg.objectives):
        raise ConfigError(f"tune.extra_objectives: repeats an objective of {list(cfg.objectives)}")
    if cfg.directions and len(cfg.directions) != len(cfg.objectives):
        raise ConfigError(f"tune.directions: need one per objective {list(cfg.objectives)}")
    if not re.fullmatch(r"[\w.-]+", cfg.study_name):
        raise ConfigError(f"tune.study_name: letters, digits, '_', '-', '.' only (a file name), "
                          f"got {cfg.study_name!r}")
    if cfg.storage and "://" not in cfg.storage:
        raise ConfigError(f"tune.storage: expected '' or an RDB URL such as postgresql://..., "
                          f"got {cfg.storage!r}")
    if min(cfg.epochs, cfg.pretrain_epochs) < -1:
        raise ConfigError("tune.epochs/pretrain_epochs: -1 (keep the model's) or >= 0")
    if not 0.0 <= cfg.limit_train_batches <= 1.0:
        raise ConfigError(f"tune.limit_train_batches: a fraction in (0, 1], or 0 to keep, "
                          f"got {cfg.limit_train_batches}")
    for key in ("n_trials", "closeness_songs", "real_windows"):
        if getattr(cfg, key) < (2 if key == "real_windows" else 1):
            raise ConfigError(f"tune.{key}: too small ({getattr(cfg, key)})")
    if not cfg.space:
        raise ConfigError("tune.space: name at least one hyperparameter to search")
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    for name, dim in cfg.space.items():
        key = f"tune.space.{name}"
        if name not in fields:
            raise ConfigError(f"unknown key {key}: not a field of ModelConfig "
                              f"(allowed: {', '.join(sorted(fields))})")
        for value in _candidates(dim, key):
            try:
                trial_params(params, cfg, {name: value})
            except ConfigError as err:
                raise ConfigError(f"{key}: value {value!r} is invalid: {err}") from None
    return cfg


def _candidates(dim: Dimension, key: str) -> list[Any]:
    """The extreme values a dimension can take (checked against the model schema)."""
    if dim.type == "categorical":
        if not dim.choices:
            raise ConfigError(f"{key}.choices: a categorical needs at least one choice")
        return list(dim.choices)
    if dim.type not in ("float", "int"):
        raise ConfigError(f"{key}.type: expected float, int or categorical, got {dim.type!r}")
    if not dim.low < dim.high or (dim.log and dim.low <= 0):
        raise ConfigError(f"{key}: need low < high (and low > 0 with log), got {dim.low}, {dim.high}")
    if dim.type == "int":
        if dim.low != int(dim.low) or dim.high != int(dim.high):
            raise ConfigError(f"{key}: int bounds must be whole numbers, got {dim.low}, {dim.high}")
        return [int(dim.low), int(dim.high)]
    return [dim.low, dim.high]


def suggest(trial: optuna.Trial, space: Mapping[str, Dimension]) -> dict[str, Any]:
    """Sample the trial's values of ``space``."""
    values: dict[str, Any] = {}
    for name, d in space.items():
        if d.type == "float":
            values[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
        elif d.type == "int":
            values[name] = trial.suggest_int(name, int(d.low), int(d.high), log=d.log)
        else:
            values[name] = trial.suggest_categorical(name, list(d.choices))
    return values


# --------------------------------------------------------------------------- objective


class Closeness:
    """Closeness of generated songs to real validation music (see the module docstring)."""

    def __init__(self, val_songs: list[np.ndarray], normalizer: Normalizer, tones_per_step: int,
                 count: int, windows: int, seed: int, tolerance: float = 0.0,
                 legacy: bool | str = False) -> None:
        if not val_songs:
            raise ValueError("closeness needs validation songs, but the validation split is empty")
        self.val_songs, self.normalizer, self.k = val_songs, normalizer, tones_per_step
        self.count, self.windows, self.seed = count, windows, seed
        self.table_kwargs = {"tolerance": tolerance, "legacy": legacy}
        # steps -> (stat -> (mean, std), tones a song needs not to be short)
        self._real: dict[int, tuple[dict[str, tuple[float, float]], float]] = {}

    @classmethod
    def from_data(cls, data_dir: str | Path, params: Params, cfg: TuneConfig) -> Closeness:
        data_dir = Path(data_dir)
        return cls(SongSet.load(data_dir / "songs.npz").songs(1),  # 1 = the validation split
                   Normalizer.load(data_dir / "normalizer.json"), params.models[cfg.model].tones_per_step,
                   cfg.closeness_songs, cfg.real_windows, cfg.seed,
                   params.evaluate.polyphony_tolerance, params.evaluate.legacy)

    def _real_stats(self, steps: int) -> tuple[dict[str, tuple[float, float]], float]:
        if steps not in self._real:
            longest = max(len(events_to_steps(s, self.k)) for s in self.val_songs)
            windows = step_windows(self.val_songs, self.k, min(steps, longest), self.windows, self.seed)
            table = song_table(windows, **self.table_kwargs)
            self._real[steps] = ({s: (float(np.nanmean(table[s])), float(np.nanstd(table[s], ddof=1)))
                                  for s in FIGURE3 if np.isfinite(table[s]).sum() > 1},
                                 short_song_threshold(windows))
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

    def __init__(self, trial: optuna.Trial, name: str,
                 measure: Callable[[pl.Trainer, pl.LightningModule], float], prune: bool) -> None:
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
    tags = {**tracking.run_tags(model=job.cfg.model, stage="tune"), STUDY_TAG: job.cfg.study_name,
            TRIAL_TAG: str(trial.number), ROLE_TAG: "trial"}
    run = mlflow.start_run(run_name=f"trial-{trial.number}", experiment_id=job.experiment_id,
                           parent_run_id=job.parent_run_id, tags=tags)
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
    # HOST goes last: once it is there, so are the others (see _stale_reason).
    trial.set_user_attr(PID_STARTED, me.create_time())
    trial.set_user_attr(PID, me.pid)
    trial.set_user_attr(HOST, socket.gethostname())
    values = suggest(trial, job.cfg.space)
    try:
        with _trial_run(job, trial, values) as run, tempfile.TemporaryDirectory(prefix="trial-") as tmp:
            reporter = TrialReporter(trial, job.cfg.objective, _measure(job.cfg.objective, closeness),
                                     job.cfg.prunes)
            logger = tracking.make_logger(run.info.run_id)
            dm, module, trainer = prepare(trial_params(job.params, job.cfg, values), job.cfg.model,
                                          job.data_dir, tmp, logger, [reporter])
            # The study's tqdm bar is the progress display; every trial's batch bars and model
            # summary would bury it.
            trainer.callbacks[:] = [c for c in trainer.callbacks if not isinstance(
                c, (pl.callbacks.ProgressBar, pl.callbacks.ModelSummary))]
            started = time.perf_counter()
            fit(module, dm, trainer, Path(tmp) / "checkpoints")
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


# --------------------------------------------------------------------------- study and storage


def storage_location(cfg: TuneConfig, root: Path) -> str:
    """Where the study lives: the RDB URL, or the journal file ``optuna/<study>.log``."""
    return cfg.storage or str(root / "optuna" / f"{cfg.study_name}.log")


def shown_storage(cfg: TuneConfig, root: Path) -> str:
    """:func:`storage_location` as it may be logged and shown: the database password hidden."""
    location = storage_location(cfg, root)
    return make_url(location).render_as_string(hide_password=True) if cfg.storage else location


def dashboard_command(cfg: TuneConfig, root: Path, port: int) -> list[str]:
    """``make tune-ui``: optuna-dashboard on the study's storage, bound to 127.0.0.1."""
    script = Path(sys.executable).parent / "optuna-dashboard"  # installed beside this interpreter
    return [str(script), storage_location(cfg, root), "--host", "127.0.0.1", "--port", str(port)]


def open_study(cfg: TuneConfig, root: Path, worker: int = 0) -> optuna.Study:
    """Create or load the study; worker ``i`` seeds its sampler with ``seed + i`` so that
    parallel workers do not draw the same random start-up trials."""
    if cfg.storage:
        storage: optuna.storages.BaseStorage = optuna.storages.RDBStorage(
            cfg.storage, heartbeat_interval=cfg.heartbeat_s, grace_period=3 * cfg.heartbeat_s)
    else:
        path = Path(storage_location(cfg, root))
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    sampler_cls = optuna.samplers.TPESampler if cfg.sampler == "tpe" else optuna.samplers.RandomSampler
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=cfg.pruner.n_startup_trials,
                                          n_warmup_steps=cfg.pruner.n_warmup_steps)
              if cfg.prunes else optuna.pruners.NopPruner())
    return optuna.create_study(storage=storage, study_name=cfg.study_name, pruner=pruner,
                               sampler=sampler_cls(seed=cfg.seed + worker),
                               directions=cfg.study_directions, load_if_exists=True)


def counted(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: COMPLETE and PRUNED."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def _alive(pid: int, started: float) -> bool:
    """Whether process ``pid`` still runs and is the same process (not a recycled pid)."""
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:
        return False


def _died_here(trial: FrozenTrial) -> bool:
    """Whether the trial's worker ran on this host and its process is gone."""
    attrs = trial.user_attrs
    return attrs.get(HOST) == socket.gethostname() and not _alive(attrs[PID], attrs[PID_STARTED])


def _stale_reason(trial: FrozenTrial, cfg: TuneConfig) -> str | None:
    """Why a RUNNING trial of the journal's study is dead (None: it may still run)."""
    attrs = trial.user_attrs
    if attrs.get(HOST) == socket.gethostname():
        return f"worker pid {attrs[PID]} on {attrs[HOST]} died mid-trial" if _died_here(trial) else None
    if trial.datetime_start is None:
        return None
    age = (datetime.now(trial.datetime_start.tzinfo) - trial.datetime_start).total_seconds()
    if age > cfg.stale_after_s:
        return f"RUNNING for {age:.0f} s (> stale_after_s) on host {attrs.get(HOST, 'unknown')}"
    return None


def fail_stale_trials(study: optuna.Study, cfg: TuneConfig) -> list[int]:
    """Mark RUNNING trials whose worker is gone as FAIL, with the reason; their numbers."""
    running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    if cfg.storage:
        # RDB: the heartbeat decides, for every host alike (a pid says nothing on a machine
        # that merely shares this one's host name). Optuna also does this at each trial start.
        optuna.storages.fail_stale_trials(study)
        states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
        failed = [n for n in running if states[n] == TrialState.FAIL]
        for number in failed:
            log.warning("trial %d marked FAIL: no heartbeat for %d s", number, 3 * cfg.heartbeat_s)
        return failed
    # The storage and trial ids are private, but a study offers no public way to end another
    # process's trial; Optuna's own fail_stale_trials uses the same calls.
    storage, failed = study._storage, []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = _stale_reason(trial, cfg)
        if reason is None:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", f"stale: {reason}")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:  # it finished meanwhile after all
            continue
        log.warning("trial %d marked FAIL: %s", trial.number, reason)
        failed.append(trial.number)
    return failed


def await_heartbeat(study: optuna.Study, cfg: TuneConfig) -> None:
    """RDB storage, before this worker exits: wait (at most four heartbeats) until the
    heartbeat has failed the RUNNING trials whose process on this host is gone, so a study that
    filled up while a killed worker's trial was still within its grace period does not end
    with that trial RUNNING. Trials of other hosts are left to the heartbeat and later runs:
    nothing here can tell a live one from a dead one sooner."""
    deadline = time.monotonic() + 4 * cfg.heartbeat_s
    while time.monotonic() < deadline:
        if not any(_died_here(t) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
            return
        fail_stale_trials(study, cfg)
        time.sleep(min(1.0, cfg.heartbeat_s))


def sync_trial_runs(study: optuna.Study, client: MlflowClient, experiment_id: str, parent_run_id: str) -> None:
    """Bring the trials' MLflow runs in line with the study, so every finished trial is in
    MLflow exactly once, with its final state.

    A worker killed mid-trial leaves its run RUNNING: once its trial is FAIL (above) the run
    gets that state, in place. A worker killed before its trial created a run leaves none: the
    trial gets one here, nested under the study's run (if two processes race to make it, the
    oldest stays, as for the study's run).
    """
    query = f"tags.`{STUDY_TAG}` = '{study.study_name}' and tags.`{ROLE_TAG}` = 'trial'"

    def runs_of(extra: str = "") -> list[Run]:
        return client.search_runs([experiment_id], query + extra, max_results=10_000)

    runs = {int(r.data.tags[TRIAL_TAG]): r for r in runs_of()}
    for trial in study.get_trials(deepcopy=False):
        if trial.state not in RUN_STATUS:  # still running: its worker's business
            continue
        run = runs.get(trial.number)
        if run is None:
            reason = trial.user_attrs.get("fail_reason", "its worker died before logging the trial")
            tags = {STUDY_TAG: study.study_name, TRIAL_TAG: str(trial.number), ROLE_TAG: "trial",
                    STATE_TAG: trial.state.name, "optuna.fail_reason": reason, "mlflow.parentRunId": parent_run_id}
            mine = client.create_run(experiment_id, run_name=f"trial-{trial.number}", tags=tags).info.run_id
            client.set_terminated(mine, RUN_STATUS[trial.state])
            twins = runs_of(f" and tags.`{TRIAL_TAG}` = '{trial.number}'")
            if min(twins, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id != mine:
                client.delete_run(mine)
        elif run.info.status == "RUNNING":
            client.set_tag(run.info.run_id, STATE_TAG, trial.state.name)
            client.set_terminated(run.info.run_id, RUN_STATUS[trial.state])


def study_run(cfg: TuneConfig, client: MlflowClient, experiment_id: str, root: Path) -> str:
    """The study's parent MLflow run id, created (with the settings as params) if none exists."""
    query = f"tags.`{STUDY_TAG}` = '{cfg.study_name}' and tags.`{ROLE_TAG}` = 'study'"

    def oldest() -> str | None:
        runs = client.search_runs([experiment_id], query, max_results=100)
        return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id if runs else None

    # The lock serialises the processes of this host; `oldest` settles a race between hosts.
    lock = root / "optuna" / f"{cfg.study_name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with tracking._locked(lock):
        found = oldest()
        if found:
            return found
        tags = {**tracking.run_tags(stage="tune"), STUDY_TAG: cfg.study_name, ROLE_TAG: "study"}
        mine = client.create_run(experiment_id, run_name=f"study:{cfg.study_name}", tags=tags).info.run_id
        flat = {f"tune.{k}": v for k, v in as_dict(cfg).items() if k not in ("space", "pruner")}
        flat["tune.storage"] = shown_storage(cfg, root) if cfg.storage else ""  # never the password
        flat.update({f"tune.pruner.{k}": v for k, v in as_dict(cfg.pruner).items()})
        for key, value in flat.items():
            client.log_param(mine, key, value)
        winner = oldest()
        if winner != mine:
            client.delete_run(mine)
        return winner


# --------------------------------------------------------------------------- running


class _Quota:
    """Stops a worker's ``optimize`` after ``share`` COMPLETE + PRUNED trials of its own, after
    ``share`` failed ones (a persistent error must not loop forever), or once the study is full."""

    def __init__(self, share: int, target: int, bar: tqdm) -> None:
        self.share, self.target, self.bar = share, target, bar
        self.done = self.failed = 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state in COUNTED:
            self.done += 1
            self.bar.update()
        else:
            self.failed += 1
        total = counted(study)
        self.bar.set_postfix(study=f"{total}/{self.target}", failed=self.failed, last=trial.state.name)
        if self.done >= self.share or self.failed >= self.share or total >= self.target:
            study.stop()


def _optimize(job: Job, worker: int, share: int) -> None:
    """Run trials in this process until its ``share`` is done (see :class:`_Quota`)."""
    mlflow.set_tracking_uri(job.tracking_uri)
    study = open_study(job.cfg, job.root, worker)
    closeness = (Closeness.from_data(job.data_dir, job.params, job.cfg)
                 if "closeness" in job.cfg.objectives else None)
    with tqdm(total=share, desc=f"{job.cfg.study_name} [{worker}]", unit="trial", position=worker) as bar:
        study.optimize(lambda t: objective(t, job, closeness), timeout=job.cfg.timeout_s or None,
                       catch=(Exception,), callbacks=[_Quota(share, job.cfg.n_trials, bar)])


def quiet_trial_banners() -> None:
    """Silence the banners Lightning logs for every trial (devices, seed); the tips and
    warnings every training silences are :func:`crnngan.training.progress.quiet_lightning`'s."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _worker(job: Job, worker: int, n_trials: int, threads: int) -> None:
    """Entry point of a spawned worker process."""
    logging.basicConfig(level=logging.INFO, format=f"[{worker}] %(name)s: %(message)s")
    quiet_trial_banners()
    os.environ["MLFLOW_TRACKING_URI"] = job.tracking_uri  # what tracking.make_logger reads
    torch.set_num_threads(threads)
    _optimize(job, worker, n_trials)


def run_study(params: Params, cfg: TuneConfig, data_dir: str | Path, root: str | Path,
              workers: int = 1) -> optuna.Study:
    """Run the study until it holds ``cfg.n_trials`` COMPLETE + PRUNED trials; write the outputs.

    ``workers`` > 1 runs that many processes on the same storage. The study, the parent run
    and the stale-trial clean-up happen here first, once, so workers never race to create them.
    """
    root = Path(root).resolve()
    experiment_id = tracking.setup(params.mlflow.experiment)
    uri = tracking.tracking_uri()
    client = MlflowClient(uri)
    study = open_study(cfg, root)
    if "closeness" in cfg.objectives:  # fail before any training when validation data is missing
        Closeness.from_data(data_dir, params, cfg)
    if cfg.pruner.kind != "none" and not cfg.prunes:
        log.warning("pruning is off: Optuna cannot prune multi-objective studies")
    job = Job(params, cfg, Path(data_dir).resolve(), root, uri, experiment_id,
              study_run(cfg, client, experiment_id, root))
    client.update_run(job.parent_run_id, status="RUNNING")
    status = "FAILED"
    try:
        fail_stale_trials(study, cfg)
        sync_trial_runs(study, client, experiment_id, job.parent_run_id)
        remaining = cfg.n_trials - counted(study)
        shares = [remaining // workers + (i < remaining % workers) for i in range(workers)]
        shares = [n for n in shares if n > 0]
        log.info("study %s: %d of %d trials done; %d to run on %d worker(s)",
                 cfg.study_name, counted(study), cfg.n_trials, max(remaining, 0), len(shares))
        if len(shares) == 1:
            _optimize(job, 0, shares[0])
        elif shares:
            _spawn(job, shares)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if cfg.storage:
            await_heartbeat(study, cfg)
        fail_stale_trials(study, cfg)  # a worker that died leaves its trial RUNNING
        sync_trial_runs(study, client, experiment_id, job.parent_run_id)
        write_outputs(study, cfg, root / "tune", client, job.parent_run_id)
        client.set_terminated(job.parent_run_id, status)
    return study


def _spawn(job: Job, shares: list[int]) -> None:
    threads = max(1, (os.cpu_count() or 1) // len(shares))
    ctx = mp.get_context("spawn")  # fork would copy this process's torch and MLflow state
    procs = [ctx.Process(target=_worker, args=(job, i, n, threads), name=f"tune-worker-{i}")
             for i, n in enumerate(shares)]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    bad = [f"{p.name} exit code {p.exitcode}" for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"workers failed: {', '.join(bad)}")


# --------------------------------------------------------------------------- outputs


def best_trial(study: optuna.Study, cfg: TuneConfig) -> FrozenTrial | None:
    """The best COMPLETE trial; for several objectives the Pareto-optimal one best in the first."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    if len(cfg.objectives) == 1:
        return study.best_trial
    sign = 1.0 if cfg.study_directions[0] == "minimize" else -1.0
    return min(study.best_trials, key=lambda t: sign * t.values[0])


def write_outputs(study: optuna.Study, cfg: TuneConfig, out_dir: Path,
                  client: MlflowClient | None = None, run_id: str | None = None) -> list[Path]:
    """``best_params.yaml`` and the two plots in ``out_dir``, logged to ``run_id`` if given."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    best = best_trial(study, cfg)
    if best is None:
        log.warning("study %s has no complete trial yet: no outputs written", cfg.study_name)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    best_yaml = out_dir / "best_params.yaml"
    header = (f"# Best trial of study {cfg.study_name}: #{best.number}, "
              + ", ".join(f"{o} = {v:.6g}" for o, v in zip(cfg.objectives, best.values))
              + "\n# Write it into params.yaml with: python pipelines/tune.py apply\n")
    best_yaml.write_text(header + yaml.safe_dump({"models": {cfg.model: best.params}}, sort_keys=False))
    target = (lambda t: t.values[0]) if len(cfg.objectives) > 1 else None
    plots = {"optimization_history.png": ovm.plot_optimization_history}
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= 2:
        plots["param_importances.png"] = ovm.plot_param_importances
    else:
        log.info("fewer than 2 complete trials: no parameter importances")
    written = [best_yaml]
    for name, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            ax = plot(study, target=target, target_name=cfg.objective)
        ax.figure.savefig(out_dir / name, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
        written.append(out_dir / name)
    if client is not None and run_id is not None:
        for path in written:
            client.log_artifact(run_id, str(path), "tune")
        client.log_text(run_id, json.dumps({k: as_dict(d) for k, d in cfg.space.items()}, indent=2),
                        "tune/space.json")
        # The best trial's values as tags (params are immutable; a continued study moves its best).
        client.set_tag(run_id, "best_trial", str(best.number))
        for key, value in best.params.items():
            client.set_tag(run_id, f"best.{key}", str(value))
        states = [t.state for t in study.get_trials(deepcopy=False)]
        for key, value in {f"best_{cfg.objective}": best.values[0], "best_trial": best.number,
                           **{f"trials_{s.name.lower()}": states.count(s) for s in RUN_STATUS}}.items():
            client.log_metric(run_id, key, float(value))
    return written


# --------------------------------------------------------------------------- apply


def set_values(text: str, section: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """``text`` with the ``values`` of the mapping at ``section`` replaced (a key missing from it
    is appended), by a YAML round trip (ruamel.yaml, installed with DVC): comments, their
    columns, key order and every other line are kept."""
    from ruamel.yaml import YAML  # deferred: only tune-apply needs it

    yml = YAML()  # round-trip mode
    yml.preserve_quotes = True  # "" stays "", not ''
    yml.width = 4096  # never fold a long line
    doc = yml.load(text)
    node = doc
    for name in section:
        if not isinstance(node, Mapping) or name not in node:
            raise ConfigError(f"no mapping {'.'.join(section)} to edit")
        node = node[name]
    if not isinstance(node, Mapping):
        raise ConfigError(f"{'.'.join(section)} is not a mapping")
    node.update(values)
    out = io.StringIO()
    yml.dump(doc, out)
    return out.getvalue()


def apply_best(best_yaml: str | Path, params_yaml: str | Path) -> dict[str, Any]:
    """Write ``best_yaml``'s ``models.<model>`` values into ``params_yaml`` in place.

    Only those lines change; the result must pass :func:`~crnngan.config.parse_params` and read
    back to the new values, otherwise nothing is written. Returns the applied values.
    """
    best = yaml.safe_load(Path(best_yaml).read_text())
    models = best.get("models") if isinstance(best, dict) else None
    if not isinstance(models, dict) or len(models) != 1 or not isinstance(next(iter(models.values())), dict):
        raise ConfigError(f"{best_yaml}: expected exactly 'models: {{<model>: {{key: value, ...}}}}'")
    (model, values), = models.items()
    path = Path(params_yaml)
    text = set_values(path.read_text(), ("models", model), values)
    cfg = parse_params(yaml.safe_load(text)).models[model]
    wrong = [k for k, v in values.items() if getattr(cfg, k) != v]
    if wrong:
        raise ConfigError(f"editing {path} did not give the new value of models.{model}.{wrong[0]}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return values
