"""Trainer construction, resumable fitting and checkpoint loading.

Typical use (seed before building the module, so its initial weights follow the seed)::

    trainer = build_trainer(params.train, total_epochs(cfg), out_dir, logger, seed=params.seed)
    module = create_module(cfg, num_features, segment_length, params.train.fixed_noise_samples)
    checkpoint = fit(module, datamodule, trainer, ModelDir(out_dir).checkpoints)
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import Logger
from pytorch_lightning.strategies import DDPStrategy

from crnngan.config import Params, TrainConfig, build_model
from crnngan.data.datamodule import SegmentDataModule
from crnngan.models.acceleration import accelerate, check_precision
from crnngan.paths import BEST_CHECKPOINT, LAST_CHECKPOINT, ModelDir
from crnngan.training.baseline import BaselineModule
from crnngan.training.gan import GANModule
from crnngan.training.kinds import MODULES, create_module, pretrain_epochs, total_epochs
from crnngan.training.progress import describe, progress_callbacks, quiet_lightning

log = logging.getLogger("train")


def strategy(name: str) -> str | DDPStrategy:
    """Lightning's strategy for ``train.strategy``.

    ``ddp``: one process per device (Lightning starts the others by running the same command
    again; gloo on CPU, NCCL on GPU), each training on its shard of every epoch's batches with
    its own noise, gradients averaged at every backward. ``find_unused_parameters``: each
    backward of this GAN reaches only one player (D's on detached fakes, G's through a D whose
    parameters are toggled off, pretraining without D), which DDP must be told.
    """
    if name == "ddp":
        return DDPStrategy(find_unused_parameters=True)
    return name


def build_trainer(
    train_cfg: TrainConfig,
    max_epochs: int,
    out_dir: str | Path,
    logger: Logger | Iterable[Logger] | bool | None = None,
    callbacks: Iterable[Callback] = (),
    *,
    seed: int,
    pretrain_epochs: int = 0,
) -> pl.Trainer:
    """A Trainer per ``train_cfg``, after seeding every RNG (and DataLoader workers) with ``seed``.

    ``logger`` None or False means no logger. Checkpointing is added by :func:`fit`, which
    knows the module's validation loss; do not pass a ModelCheckpoint here. Progress is a
    live bar in a terminal and one line per epoch otherwise (``pretrain_epochs`` names the
    phase in it), without Lightning's repeated tips and model-summary table.
    """
    pl.seed_everything(seed, workers=True)
    quiet_lightning()
    bar, progress = progress_callbacks(pretrain_epochs)
    return pl.Trainer(
        accelerator=train_cfg.accelerator,
        devices=train_cfg.devices,
        strategy=strategy(train_cfg.strategy),
        precision=train_cfg.precision,
        deterministic=train_cfg.deterministic,
        max_epochs=max_epochs,
        # None, not 1.0: Lightning announces an explicit 1.0 in every run.
        limit_train_batches=None if train_cfg.limit_train_batches == 1.0 else train_cfg.limit_train_batches,
        default_root_dir=str(out_dir),
        logger=logger if logger is not None else False,
        callbacks=[*callbacks, *progress],
        enable_checkpointing=False,
        enable_progress_bar=bar,
        enable_model_summary=False,
        log_every_n_steps=1,
    )


def prepare(
    params: Params,
    model_name: str,
    data_dir: str | Path,
    out_dir: str | Path,
    logger: Logger | None = None,
    callbacks: Iterable[Callback] = (),
) -> tuple[SegmentDataModule, GANModule | BaselineModule, pl.Trainer]:
    """DataModule, freshly seeded module and Trainer for ``params.models[model_name]``.

    Raises ConfigError (naming ``train.precision``) when the precision cannot run on the
    Trainer's device, e.g. bf16-mixed on a CPU without AVX-512."""
    cfg = params.models[model_name]
    dm = SegmentDataModule(data_dir, cfg.tones_per_step, cfg.batch_size, params.train.num_workers, params.seed)
    trainer = build_trainer(
        params.train,
        total_epochs(cfg),
        out_dir,
        logger,
        callbacks,
        seed=params.seed,
        pretrain_epochs=pretrain_epochs(cfg),
    )
    device_type = trainer.strategy.root_device.type
    check_precision(params.train.precision, device_type)  # before any training, naming the key
    module = create_module(cfg, dm.num_features, dm.segment_length, params.train.fixed_noise_samples, dm.pitch_scale)
    log.info("%s: %s", model_name, describe(module))
    accelerate(module.generator, params.train.compile, params.train.cuda_graphs, device_type)
    return dm, module, trainer


def fit(
    module: GANModule | BaselineModule,
    datamodule: pl.LightningDataModule,
    trainer: pl.Trainer,
    ckpt_dir: str | Path,
) -> ModelCheckpoint:
    """Train ``module``, checkpointing every epoch into ``ckpt_dir``; resume if possible.

    ``ckpt_dir/last.ckpt`` is rewritten every epoch and ``best.ckpt`` keeps the epoch with the
    lowest ``module.monitor`` (a module without one, the GAN, has no best.ckpt). When
    ``last.ckpt`` already exists the run continues from it (weights, optimiser state, epoch
    and step counters), so an interrupted run is not restarted
    and a finished one returns at once. A ``last.ckpt`` of other settings (anything but
    ``model.epochs``, which may grow to extend a run) is refused with a ValueError.
    Returns the callback of ``best.ckpt`` (of ``last.ckpt`` without a monitor).
    """
    if trainer.checkpoint_callbacks:
        raise ValueError("fit() adds its own ModelCheckpoint; build the Trainer with build_trainer()")
    ckpt_dir = Path(ckpt_dir)
    last = ckpt_dir / LAST_CHECKPOINT
    resume = last.exists()
    if resume:
        _check_resumable(last, module)
    # Two callbacks: since Lightning 2.6 `save_last` only writes when the monitored metric
    # improved, which would freeze last.ckpt once a GAN's validation loss stops falling.
    latest = ModelCheckpoint(
        dirpath=ckpt_dir, filename=last.stem, monitor=None, save_top_k=1, every_n_epochs=1, enable_version_counter=False
    )
    trainer.callbacks.append(latest)
    best = latest
    if module.monitor is not None:
        best = ModelCheckpoint(
            dirpath=ckpt_dir,
            filename=Path(BEST_CHECKPOINT).stem,
            monitor=module.monitor,
            mode="min",
            save_top_k=1,
            every_n_epochs=1,
            enable_version_counter=False,
        )
        # Appended after construction because the monitored loss depends on the module.
        trainer.callbacks.append(best)
    trainer.fit(module, datamodule=datamodule, ckpt_path=last if resume else None, weights_only=True)
    return best


def completed(trainer: pl.Trainer) -> bool:
    """Whether ``fit`` trained every epoch. Lightning turns Ctrl-C and SIGTERM into a graceful,
    normal return, so a caller that exits 0 after an interrupted fit would let DVC record a
    half-trained model as done."""
    return not trainer.interrupted and trainer.current_epoch >= trainer.max_epochs


def _flat_settings(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """Module hparams as {"model.lr_g": ..., "num_features": ...}, without model.epochs."""
    flat = {f"model.{k}": v for k, v in hparams["model"].items() if k != "epochs"}
    flat.update((k, v) for k, v in hparams.items() if k != "model")
    return flat


def _check_resumable(path: Path, module: GANModule | BaselineModule) -> None:
    """Refuse to continue a checkpoint of another configuration.

    Resuming restores the optimiser state (learning rates included), so a changed setting
    would otherwise be silently ignored. Only ``epochs`` may change: it extends a run.
    """
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("crnngan_module") != type(module).__name__:
        raise ValueError(f"{path} holds a {saved.get('crnngan_module')}, not a {type(module).__name__}")
    old, new = _flat_settings(saved["hyper_parameters"]), _flat_settings(module.hparams)
    diff = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if diff:
        raise ValueError(
            f"{path} was trained with other settings ({', '.join(diff)}); "
            f"delete {path.parent} to start afresh or restore the settings to resume"
        )


def load_module(path: str | Path, map_location: str | torch.device = "cpu") -> GANModule | BaselineModule:
    """Rebuild the module saved in checkpoint ``path`` (weights-only loading, no pickled code)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    name = checkpoint.get("crnngan_module")
    classes = {cls.__name__: cls for cls in MODULES.values()}  # the checkpoint names its module class
    if name not in classes:
        raise ValueError(f"{path} is not a crnngan checkpoint (module {name!r})")
    model = build_model(checkpoint["hyper_parameters"]["model"])  # the module takes the config, not its dict
    return classes[name].load_from_checkpoint(path, map_location=map_location, weights_only=True, model=model)


def open_run_dir(out_dir: str | Path, fingerprint: str) -> dict[str, Any]:
    """Prepare a training stage's output folder; returns its run state, to be saved with
    :func:`save_run_state`: ``{"fingerprint", "run_id"?, "completed"?}``.

    The folder is resumed (its checkpoints and MLflow run kept) only for a run of the same
    ``fingerprint`` (settings, data and code) that did not finish: an interrupted run goes on
    where it stopped. A run of other settings, and a finished one that DVC runs again (``dvc
    repro -f``, e.g. to measure run-to-run variance), start afresh in an empty folder and a
    new MLflow run; resuming a finished run would hand back the old model without training.
    """
    out = Path(out_dir)
    state_file = ModelDir(out).run_state
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state.get("fingerprint") != fingerprint or state.get("completed"):
        shutil.rmtree(out, ignore_errors=True)
        state = {"fingerprint": fingerprint}
    out.mkdir(parents=True, exist_ok=True)
    return state


def save_run_state(out_dir: str | Path, state: Mapping[str, Any]) -> None:
    ModelDir(Path(out_dir)).run_state.write_text(json.dumps(dict(state), indent=2) + "\n")
