"""Typed view of ``params.yaml``.

``params.yaml`` is the single source of hyperparameters. Each top-level section maps onto
one frozen dataclass below; :func:`load_params` builds them and fails fast, naming the
offending key, on unknown keys, missing keys and values of the wrong type. Stage scripts
read only the sections they list in ``dvc.yaml``. The dataclasses' defaults are
params.yaml's values; a model section has none and must set every key its kind reads.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crnngan.model_config import MODEL_KINDS, GANConfig, ModelConfig

# Kept here, not imported from crnngan.models.losses, so that reading params never imports torch.
FM_FORMS = ("batch_moments", "batch_mean", "paired")
VELOCITY_LOSSES = ("squared", "absolute")  # losses.next_event_step_losses' velocity_loss
PITCH_HEADS = ("regression", "categorical")  # networks.Generator's pitch_head
SELECT_BY = ("last", "closeness")  # which adversarial epoch's G samples (training.callbacks)

MODEL_NAMES = ("crnngan", "crnngan3", "baseline")
STRATEGIES = ("auto", "ddp")


class ConfigError(ValueError):
    """A params file that does not match the schema; the message names the key."""


@dataclass(frozen=True)
class CorpusConfig:
    """Stage ``corpus``: which music21-bundled works become the default MIDI corpus."""

    composers: tuple[str, ...] = ("bach", "mozart", "haydn", "monteverdi")
    max_works_per_composer: int = 100  # 0 = every work of the composer
    formats: tuple[str, ...] = (".mxl", ".xml", ".musicxml", ".krn")  # scores, not analyses
    workers: int = 0  # 0 = one per core


@dataclass(frozen=True)
class DataConfig:
    """Where the MIDI comes from. ``data/corpus`` is the embedded corpus (stage ``corpus``)."""

    midi_dir: str = "data/corpus"


@dataclass(frozen=True)
class PreprocessConfig:
    """Stage ``preprocess``: MIDI -> tone events, splits, segments, normalisation."""

    segment_length: int = 100  # events per training segment (the paper: 100)
    segment_hop: int = 50  # events between segment starts
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_salt: str = "crnngan"  # changes every song's split at once; never one at a time
    include_drums: bool = False
    min_notes: int = 8
    max_notes: int = 200_000
    max_gap_seconds: float = 120.0  # a silence longer than this marks a file as absurd
    max_duration_seconds: float = 3600.0
    max_file_mb: float = 20.0
    pitch_feature: str = "midi"  # model input: MIDI number (log-frequency); the paper: "frequency" (Hz)
    time_feature: str = "log"  # dt and length as log1p(t / quantum); the paper: "linear" (raw ticks)
    tones_per_step: tuple[int, ...] = (1, 3)  # write segments for these step layouts
    workers: int = 1  # processes; 0 = one per core


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every model's training run (not the algorithm)."""

    accelerator: str = "auto"
    devices: str | int = "auto"  # auto, or how many (devices: 2, -S train.devices=2)
    strategy: str = "auto"  # auto (one process per machine) | ddp (one process per device, crnngan.training.fit)
    precision: str = "32-true"
    compile: bool = False  # torch.compile the generator's unroll (crnngan.models.acceleration)
    cuda_graphs: bool = False  # replay the unroll as CUDA graphs (GPU only; ignored on CPU)
    num_workers: int = 0
    # torch's CPU threads in training and sampling: a sum split over another number of threads
    # adds in another order, so bits (and then a GAN's trajectory) follow the count; 0 = one per core
    threads: int = 2
    deterministic: bool = True
    log_every_n_epochs: int = 1  # paper statistics of the fixed-noise batch
    artifacts_every_n_epochs: int = 5  # its MIDI, WAV and piano roll to MLflow; 0 = never
    fixed_noise_samples: int = 8
    limit_train_batches: float = 1.0
    # A GAN with select_by closeness: songs generated after every adversarial epoch, and
    # real validation windows they are measured against (crnngan.evaluation.closeness)
    select_songs: int = 64
    select_windows: int = 200


@dataclass(frozen=True)
class SampleConfig:
    """Stage ``sample``: how many songs of which length each trained model writes."""

    count: int = 64
    length: int = 100
    seed: int = 1234


@dataclass(frozen=True)
class EvaluateConfig:
    """Stage ``evaluate``: statistics over generated songs and real windows."""

    polyphony_tolerance: float = 0.0  # seconds between onsets that still count as together
    legacy: bool = False  # reproduce the original code's metric quirks
    real_windows: int = 200  # real test-split windows, of the generated length
    compare_seconds: float = 20.0  # also compare every song's first this many seconds (0: only at equal steps)
    bootstrap: int = 1000
    confidence: float = 0.95
    # A song set is collapsed (a verdict in the report, a tag on the MLflow run) when one pitch
    # holds more than this share of its notes ...
    collapse_top_pitch_share: float = 0.5
    collapse_distinct_share: float = 0.9  # ... or fewer than this share of its songs differ
    collapse_short_share: float = 0.25  # ... or more than this share are short (< half the real tones)


@dataclass(frozen=True)
class MlflowConfig:
    experiment: str = "crnngan"


@dataclass(frozen=True)
class Params:
    seed: int = 42
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    data: DataConfig = field(default_factory=DataConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    sample: SampleConfig = field(default_factory=SampleConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    # The Optuna section is validated by crnngan.tuning.space, which owns its schema.
    tune: dict[str, Any] = field(default_factory=dict)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert it (lists -> tuples)."""
    origin = typing.get_origin(tp)
    if tp is ModelConfig:
        return build_model(value, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return build(tp, value, key)
    if origin is dict:
        _, val_tp = typing.get_args(tp)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return {k: _coerce(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        return tuple(_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and tp is not bool or not isinstance(value, tp):  # a bool is no count
        raise ConfigError(f"{key}: expected {getattr(tp, '__name__', tp)}, got {value!r}")
    return value


def _keys(cls: type) -> list[str]:
    """The keys a params mapping gives dataclass ``cls`` (its fields but ``kind``)."""
    return [f.name for f in dataclasses.fields(cls) if f.init]


def build(cls: type, mapping: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``mapping``; unknown keys, missing keys and wrong types raise."""
    hints = typing.get_type_hints(cls)
    names = set(_keys(cls))
    where = f"{prefix}." if prefix else ""
    unknown = sorted(set(mapping) - names)
    if unknown:
        raise ConfigError(f"unknown key {where}{unknown[0]} (allowed: {', '.join(sorted(names))})")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.name not in mapping
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing key {where}{missing[0]}")
    kwargs = {
        name: _coerce(value, hints[name], f"{prefix}.{name}" if prefix else name) for name, value in mapping.items()
    }
    return cls(**kwargs)


def build_model(mapping: Mapping[str, Any], prefix: str = "model") -> ModelConfig:
    """The config of one ``models.<name>`` section, of the class its ``kind`` names. A key that
    kind does not read (a GAN key such as ``lr_d`` in a baseline section) raises, naming it."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{prefix}: expected a mapping, got {type(mapping).__name__}")
    kind = mapping.get("kind")
    if kind not in MODEL_KINDS:
        raise ConfigError(f"{prefix}.kind: expected {' or '.join(map(repr, MODEL_KINDS))}, got {kind!r}")
    cls = MODEL_KINDS[kind]
    keys = {k: v for k, v in mapping.items() if k != "kind"}
    for key in keys:
        if key not in _keys(cls) and any(key in _keys(other) for other in MODEL_KINDS.values()):
            raise ConfigError(
                f"{prefix}.{key}: a kind {kind} model does not read it (allowed: {', '.join(sorted(_keys(cls)))})"
            )
    return build(cls, keys, prefix)


def _check_model(m: ModelConfig, where: str) -> None:
    """Value checks of one model section (``where``: models.<name>)."""
    gan = isinstance(m, GANConfig)
    if m.optimizer not in ("sgd", "adam"):
        raise ConfigError(f"{where}.optimizer: expected 'sgd' or 'adam', got {m.optimizer!r}")
    if m.pitch_head not in PITCH_HEADS:
        raise ConfigError(f"{where}.pitch_head: expected one of {', '.join(PITCH_HEADS)}, got {m.pitch_head!r}")
    if m.pitch_head == "categorical" and m.hypotheses != 1:
        raise ConfigError(
            f"{where}.hypotheses: must be 1 with pitch_head categorical (it replaces candidates), got {m.hypotheses}"
        )
    if not 0.0 < m.pitch_top_p <= 1.0:
        raise ConfigError(f"{where}.pitch_top_p: expected a share in (0, 1], got {m.pitch_top_p}")
    if m.velocity_loss not in VELOCITY_LOSSES:
        raise ConfigError(
            f"{where}.velocity_loss: expected one of {', '.join(VELOCITY_LOSSES)}, got {m.velocity_loss!r}"
        )
    for key in (
        "tones_per_step",
        "hidden_g",
        "layers_g",
        "noise_dim",
        "hypotheses",
        "batch_size",
        "curriculum_step",
        *(("hidden_d", "layers_d") if gan else ()),
    ):
        if getattr(m, key) < 1:
            raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(m, key)}")
    for key in ("dropout", *(("dropout_d_input", "ema_decay") if gan else ())):
        if not 0.0 <= getattr(m, key) < 1.0:
            raise ConfigError(f"{where}.{key}: must be in [0, 1), got {getattr(m, key)}")
    for key in ("teacher_noise", *(("mle_weight", "lr_pretrain", "instance_noise") if gan else ())):
        if getattr(m, key) < 0:
            raise ConfigError(f"{where}.{key}: must be >= 0, got {getattr(m, key)}")
    if m.epochs < 0 or gan and m.pretrain_epochs < 0:
        raise ConfigError(f"{where}.epochs/pretrain_epochs: must be >= 0")
    if not gan:
        return
    if m.feature_matching_form not in FM_FORMS:
        raise ConfigError(
            f"{where}.feature_matching_form: expected one of {', '.join(FM_FORMS)}, got {m.feature_matching_form!r}"
        )
    if m.freeze_rule not in ("loss", "accuracy"):
        raise ConfigError(f"{where}.freeze_rule: expected 'loss' or 'accuracy', got {m.freeze_rule!r}")
    if m.select_by not in SELECT_BY:
        raise ConfigError(f"{where}.select_by: expected one of {', '.join(SELECT_BY)}, got {m.select_by!r}")


def _check(params: Params) -> None:
    """Value checks that types alone cannot express."""
    for name in params.models:
        if name not in MODEL_NAMES:
            raise ConfigError(f"unknown key models.{name} (allowed: {', '.join(MODEL_NAMES)})")
    for name, m in params.models.items():
        _check_model(m, f"models.{name}")
    if params.train.strategy not in STRATEGIES:
        raise ConfigError(f"train.strategy: expected one of {', '.join(STRATEGIES)}, got {params.train.strategy!r}")
    if params.train.threads < 0:
        raise ConfigError(f"train.threads must be >= 0 (0 = one per core), got {params.train.threads}")
    if params.train.select_songs < 1:
        raise ConfigError(f"train.select_songs: must be >= 1, got {params.train.select_songs}")
    if params.train.select_windows < 2:  # real music's standard deviation needs two
        raise ConfigError(f"train.select_windows: must be >= 2, got {params.train.select_windows}")
    p = params.preprocess
    if p.segment_length < 2 or p.segment_hop < 1:
        raise ConfigError("preprocess.segment_length must be >= 2 and segment_hop >= 1")
    if not (0 <= p.val_fraction < 1 and 0 <= p.test_fraction < 1 and p.val_fraction + p.test_fraction < 1):
        raise ConfigError("preprocess.val_fraction/test_fraction: each in [0, 1), sum < 1")
    if p.pitch_feature not in ("frequency", "midi"):
        raise ConfigError(f"preprocess.pitch_feature: expected 'frequency' or 'midi', got {p.pitch_feature!r}")
    if p.time_feature not in ("log", "linear"):
        raise ConfigError(f"preprocess.time_feature: expected 'log' or 'linear', got {p.time_feature!r}")
    for name, m in params.models.items():
        if m.tones_per_step not in p.tones_per_step:
            raise ConfigError(
                f"models.{name}.tones_per_step={m.tones_per_step} is not in "
                f"preprocess.tones_per_step {list(p.tones_per_step)}"
            )
    if params.sample.count < 1 or params.sample.length < 1:
        raise ConfigError("sample.count and sample.length must be >= 1")


def parse_params(raw: Mapping[str, Any]) -> Params:
    """Validate an already-loaded params mapping."""
    params = build(Params, raw or {})
    _check(params)
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return parse_params(raw)


def as_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict form of a config dataclass (for logging and checkpoints)."""
    return dataclasses.asdict(obj)
