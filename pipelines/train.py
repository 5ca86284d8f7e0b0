"""Stage `train@<model>`: train one model, tracked as an MLflow child run.

Checkpoints go to <out>/checkpoints every epoch. The stage's output is persistent in
dvc.yaml, so when an interrupted run is started again with the same settings, data and code
it resumes from last.ckpt (and logs into the same MLflow run); any change, and a finished
run forced to run again (dvc repro -f), starts afresh (crnngan.training.fit.open_run_dir).
"""

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import mlflow
from pytorch_lightning.utilities import rank_zero_only

import crnngan
from crnngan import tracking
from crnngan.training.callbacks import EpochStats
from crnngan.config import load_params
from crnngan.training.modules import NonFiniteLossError, total_epochs
from crnngan.data.representation import Normalizer
from crnngan.training.fit import (checkpoint_dir, completed, fit, last_checkpoint, open_run_dir, prepare,
                              save_run_state)

log = logging.getLogger("train")


def fingerprint(settings: dict, data_file: Path) -> str:
    """Identity of a training run: settings, training data and code.

    The same things make DVC re-run this stage, so a checkpoint is resumed only when DVC
    re-runs it because the previous run never finished, never after a change.
    """
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(data_file.read_bytes())
    for source in [Path(__file__), *sorted(Path(crnngan.__file__).parent.rglob("*.py"))]:
        h.update(source.read_bytes())
    return h.hexdigest()


def describe_run(model: str, cfg, seed: int) -> str:
    """The run's description in the MLflow UI: what was trained, in one line."""
    phases = (f"{cfg.pretrain_epochs} pretraining + {cfg.epochs} adversarial epochs" if cfg.kind == "gan"
              else f"{cfg.epochs} epochs of next-event regression")
    return (f"{model}: {cfg.tones_per_step} tone(s) per step, {phases}, G {cfg.layers_g}x{cfg.hidden_g} "
            f"with {cfg.hypotheses} candidate(s) per step, seed {seed}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--out", type=Path, help="default: models/<model>")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    if args.model not in params.models:
        log.error("no section models.%s in %s", args.model, args.params)
        return 2
    cfg = params.models[args.model]
    out = args.out or Path("models") / args.model
    if rank_zero_only.rank != 0:
        # Under train.strategy ddp, Lightning runs this command again for every other
        # process: it trains its shard and nothing else. Rank 0 owns the folder, the MLflow
        # run, checkpoints, samples and summaries.
        dm, module, trainer = prepare(params, args.model, args.data, out)
        try:
            fit(module, dm, trainer, checkpoint_dir(out))
        except NonFiniteLossError:
            return 1  # rank 0 reports it
        return 0

    settings = {"model": dataclasses.asdict(cfg), "train": dataclasses.asdict(params.train),
                "seed": params.seed}
    fp = fingerprint(settings, args.data / f"segments_k{cfg.tones_per_step}.npz")
    state = open_run_dir(out, fp)  # resumes only an unfinished run of the same fingerprint
    if last_checkpoint(out).exists():
        log.info("resuming from %s", last_checkpoint(out))

    normalizer = Normalizer.load(args.data / "normalizer.json")
    experiment = params.mlflow.experiment
    tags = tracking.run_tags(model=args.model, stage="train")
    started = time.time()
    try:
        with tracking.parent_run(experiment), mlflow.start_run(
                run_id=state.get("run_id"), run_name=None if "run_id" in state else args.model,
                nested=True, tags=tags) as run:
            state["run_id"] = run.info.run_id
            save_run_state(out, state)
            mlflow.set_tag("mlflow.note.content", describe_run(args.model, cfg, params.seed))
            mlflow.log_params({"model_name": args.model, "seed": params.seed,
                               **{f"model.{k}": v for k, v in settings["model"].items()},
                               **{f"train.{k}": v for k, v in settings["train"].items()},
                               **{f"data.{k}": v for k, v in dataclasses.asdict(normalizer).items()}})
            stats = EpochStats(normalizer, cfg.tones_per_step, out / "epoch_stats.csv",
                               params.train.log_every_n_epochs, params.train.artifacts_every_n_epochs)
            dm, module, trainer = prepare(params, args.model, args.data, out,
                                          tracking.make_logger(run.info.run_id), [stats])
            fit(module, dm, trainer, checkpoint_dir(out))
            if not completed(trainer):
                mlflow.end_run("KILLED")
                log.error("interrupted after %d of %d epochs; run again to resume from %s",
                          trainer.current_epoch, trainer.max_epochs, last_checkpoint(out))
                return 130
            tracking.log_checkpoint(last_checkpoint(out), run.info.run_id)
            mlflow.set_tag("device", str(trainer.strategy.root_device))
            save_run_state(out, {**state, "completed": True})
    except NonFiniteLossError as exc:
        log.error("training stopped: %s (MLflow run marked FAILED)", exc)
        return 1
    summary = {"model": args.model, "epochs": total_epochs(cfg), "wall_seconds": time.time() - started,
               **{k: float(v) for k, v in trainer.callback_metrics.items()}}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info("%s trained: %s", args.model, last_checkpoint(out))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
