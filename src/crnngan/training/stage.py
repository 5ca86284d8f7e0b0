"""The train stage: train one model, tracked as an MLflow child run (pipelines/train.py).

Checkpoints go to ``<out>/checkpoints`` every epoch. The stage's output is persistent in
dvc.yaml, so when an interrupted run is started again with the same settings, data and code
it resumes from last.ckpt (and logs into the same MLflow run); any change, and a finished
run forced to run again (dvc repro -f), starts afresh (:func:`crnngan.training.fit.open_run_dir`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import mlflow
from pytorch_lightning.utilities import rank_zero_only

import crnngan
from crnngan import tracking
from crnngan.config import Params
from crnngan.data.representation import Normalizer
from crnngan.evaluation.closeness import Closeness, NoValidationSongs
from crnngan.model_config import GANConfig, ModelConfig
from crnngan.paths import DataDir, ModelDir
from crnngan.training.base import NonFiniteLossError
from crnngan.training.callbacks import EpochStats, SelectByCloseness, closeness_of
from crnngan.training.fit import completed, fit, open_run_dir, prepare, save_run_state
from crnngan.training.kinds import total_epochs
from crnngan.training.rng import pin_threads

log = logging.getLogger("train")


def fingerprint(settings: dict, data_file: Path, scripts: Iterable[Path] = ()) -> str:
    """Identity of a training run: settings, training data and code (the package and ``scripts``).

    The same things make DVC re-run the stage, so a checkpoint is resumed only when DVC
    re-runs it because the previous run never finished, never after a change.
    """
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(data_file.read_bytes())
    for source in [*scripts, *sorted(Path(crnngan.__file__).parent.rglob("*.py"))]:
        h.update(source.read_bytes())
    return h.hexdigest()


def describe_run(model: str, cfg: ModelConfig, seed: int) -> str:
    """The run's description in the MLflow UI: what was trained, in one line."""
    phases = (
        f"{cfg.pretrain_epochs} pretraining + {cfg.epochs} adversarial epochs"
        if cfg.kind == "gan"
        else f"{cfg.epochs} epochs of next-event regression"
    )
    return (
        f"{model}: {cfg.tones_per_step} tone(s) per step, {phases}, G {cfg.layers_g}x{cfg.hidden_g} "
        f"with {cfg.hypotheses} candidate(s) per step and a {cfg.pitch_head} pitch head, seed {seed}"
    )


def selection(params: Params, model: str, data_dir: Path, out: ModelDir) -> list[SelectByCloseness]:
    """The callback choosing which adversarial epoch a GAN samples from (``select_by:
    closeness``): none for the baseline, a GAN keeping its last G, or one without a game. A
    corpus too small for a validation split leaves nothing to choose by: the run says so and
    samples its last epoch."""
    cfg = params.models[model]
    if not isinstance(cfg, GANConfig) or cfg.select_by != "closeness" or cfg.epochs == 0:
        return []
    t = params.train
    try:
        closeness = Closeness.from_data(data_dir, cfg.tones_per_step, t.select_songs, t.select_windows, params.seed)
    except NoValidationSongs:
        log.warning("%s: select_by closeness, but the validation split is empty: sampling the last epoch", model)
        return []
    return [
        SelectByCloseness(
            lambda module: closeness_of(module, closeness, module.hparams.segment_length),
            out.closest_checkpoint,
            first_epoch=cfg.pretrain_epochs,
        )
    ]


def train_model(params: Params, model: str, data_dir: Path, out_dir: Path, scripts: Iterable[Path] = ()) -> int:
    """Train ``model`` on ``data_dir`` into ``out_dir``; returns the stage's exit status
    (0 trained, 1 a non-finite loss stopped it, 130 interrupted: run again to resume)."""
    cfg = params.models[model]
    out = ModelDir(out_dir)
    pin_threads(params.train.threads)
    if rank_zero_only.rank != 0:
        # Under train.strategy ddp, Lightning runs the command again for every other
        # process: it trains its shard and nothing else. Rank 0 owns the folder, the MLflow
        # run, checkpoints, samples and summaries.
        dm, module, trainer = prepare(
            params, model, data_dir, out_dir, callbacks=selection(params, model, data_dir, out)
        )
        try:
            fit(module, dm, trainer, out.checkpoints)
        except NonFiniteLossError:
            return 1  # rank 0 reports it
        return 0

    settings = {"model": dataclasses.asdict(cfg), "train": dataclasses.asdict(params.train), "seed": params.seed}
    state = open_run_dir(out_dir, fingerprint(settings, DataDir(data_dir).segments(cfg.tones_per_step), scripts))
    if out.last_checkpoint.exists():
        log.info("resuming from %s", out.last_checkpoint)
    normalizer = Normalizer.load(DataDir(data_dir).normalizer)
    started = time.time()
    try:
        with (
            tracking.parent_run(params.mlflow.experiment),
            mlflow.start_run(
                run_id=state.get("run_id"),
                run_name=None if "run_id" in state else model,
                nested=True,
                tags=tracking.run_tags(model=model, stage="train"),
            ) as run,
        ):
            state["run_id"] = run.info.run_id
            save_run_state(out_dir, state)
            mlflow.set_tag("mlflow.note.content", describe_run(model, cfg, params.seed))
            mlflow.log_params(
                {
                    "model_name": model,
                    "seed": params.seed,
                    **{f"model.{k}": v for k, v in settings["model"].items()},
                    **{f"train.{k}": v for k, v in settings["train"].items()},
                    **{f"data.{k}": v for k, v in dataclasses.asdict(normalizer).items()},
                }
            )
            stats = EpochStats(
                normalizer,
                cfg.tones_per_step,
                out.epoch_stats,
                params.train.log_every_n_epochs,
                params.train.artifacts_every_n_epochs,
            )
            selector = selection(params, model, data_dir, out)
            dm, module, trainer = prepare(
                params, model, data_dir, out_dir, tracking.make_logger(run.info.run_id), [*selector, stats]
            )
            fit(module, dm, trainer, out.checkpoints)
            if not completed(trainer):
                mlflow.end_run("KILLED")
                log.error(
                    "interrupted after %d of %d epochs; run again to resume from %s",
                    trainer.current_epoch,
                    trainer.max_epochs,
                    out.last_checkpoint,
                )
                return 130
            tracking.log_checkpoint(out.last_checkpoint, run.info.run_id)
            chosen = {}
            if selector:
                chosen = {"selected_epoch": selector[0].epoch, "selected_closeness": selector[0].best}
                mlflow.log_metrics(chosen)
                tracking.log_checkpoint(out.closest_checkpoint, run.info.run_id)
                log.info("%s samples from epoch %d (closeness to validation music %.3f)", model, *chosen.values())
            mlflow.set_tag("device", str(trainer.strategy.root_device))
            save_run_state(out_dir, {**state, "completed": True})
    except NonFiniteLossError as exc:
        log.error("training stopped: %s (MLflow run marked FAILED)", exc)
        return 1
    summary = {
        "model": model,
        "epochs": total_epochs(cfg),
        "wall_seconds": time.time() - started,
        **{k: float(v) for k, v in trainer.callback_metrics.items()},
        **chosen,
    }
    out.summary.write_text(json.dumps(summary, indent=2) + "\n")
    log.info("%s trained: %s", model, out.last_checkpoint)
    return 0
