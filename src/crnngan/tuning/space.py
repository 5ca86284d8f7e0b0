"""The ``tune`` section's schema and the search space it describes.

The ``tune`` section of ``params.yaml`` (schema: :class:`TuneConfig`) names a model, a search
space over fields of its :class:`~crnngan.model_config.ModelConfig`, a short epoch budget and the
objective (:mod:`crnngan.tuning.objective`). Each trial trains that model with the sampled
values (:func:`suggest`) and scores it on the **validation** split (the test split stays
untouched for the evaluate stage). :func:`parse_tune` validates the section, every extreme
value of every dimension included, against the model schema before any trial runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from crnngan.config import ConfigError, Params, as_dict, build, parse_params

PRIMARY = ("closeness", "val_loss")
OBJECTIVES = (*PRIMARY, "train_time_s")


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
    budget = {
        k: v
        for k, v in (("epochs", cfg.epochs), ("pretrain_epochs", cfg.pretrain_epochs))
        if v >= 0 and hasattr(params.models[cfg.model], k)
    }  # a baseline has no pretraining
    model = dataclasses.replace(params.models[cfg.model], **{**values, **budget})
    train = (
        dataclasses.replace(params.train, limit_train_batches=cfg.limit_train_batches)
        if cfg.limit_train_batches > 0
        else params.train
    )
    models = {**params.models, cfg.model: model}
    return parse_params(as_dict(dataclasses.replace(params, train=train, models=models)))


def parse_tune(params: Params) -> TuneConfig:
    """Validate ``params.tune``; a ConfigError names the offending key."""
    if not params.tune:
        raise ConfigError("no tune section in the params file (see configs/tune_default.yaml)")
    cfg: TuneConfig = build(TuneConfig, params.tune, "tune")
    choices = {
        "tune.sampler": (cfg.sampler, ("tpe", "random")),
        "tune.pruner.kind": (cfg.pruner.kind, ("median", "none")),
        "tune.objective": (cfg.objective, PRIMARY),
        **{f"tune.extra_objectives[{i}]": (o, OBJECTIVES) for i, o in enumerate(cfg.extra_objectives)},
        **{f"tune.directions[{i}]": (d, ("minimize", "maximize")) for i, d in enumerate(cfg.directions)},
    }
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
        raise ConfigError(f"tune.study_name: letters, digits, '_', '-', '.' only (a file name), got {cfg.study_name!r}")
    if cfg.storage and "://" not in cfg.storage:
        raise ConfigError(f"tune.storage: expected '' or an RDB URL such as postgresql://..., got {cfg.storage!r}")
    if min(cfg.epochs, cfg.pretrain_epochs) < -1:
        raise ConfigError("tune.epochs/pretrain_epochs: -1 (keep the model's) or >= 0")
    if not 0.0 <= cfg.limit_train_batches <= 1.0:
        raise ConfigError(
            f"tune.limit_train_batches: a fraction in (0, 1], or 0 to keep, got {cfg.limit_train_batches}"
        )
    for key in ("n_trials", "closeness_songs", "real_windows"):
        if getattr(cfg, key) < (2 if key == "real_windows" else 1):
            raise ConfigError(f"tune.{key}: too small ({getattr(cfg, key)})")
    if not cfg.space:
        raise ConfigError("tune.space: name at least one hyperparameter to search")
    fields = {f.name for f in dataclasses.fields(params.models[cfg.model]) if f.init}  # its kind's keys
    for name, dim in cfg.space.items():
        key = f"tune.space.{name}"
        if name not in fields:
            raise ConfigError(
                f"unknown key {key}: not a key of models.{cfg.model} (allowed: {', '.join(sorted(fields))})"
            )
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
