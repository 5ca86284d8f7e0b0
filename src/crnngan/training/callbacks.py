"""Training callbacks: the paper's statistics, samples, audio and piano rolls per epoch; the
choice of which adversarial epoch's G a GAN samples from."""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl

from crnngan.data.representation import Normalizer, events_to_notes
from crnngan.evaluation.batch import song_table
from crnngan.evaluation.closeness import Closeness
from crnngan.evaluation.render import save_piano_roll, write_wav
from crnngan.evaluation.statistics import FIGURE3
from crnngan.paths import midi_file
from crnngan.training.sampling import decode, write_midi_files

# What training logs about itself, next to the Figure-3 statistics.
LOSSES = (
    "d_loss",
    "g_loss",
    "g_loss_adv",
    "fm_loss",
    "mle_loss",
    "pretrain_loss",
    "freeze_d",
    "freeze_g",
    "d_acc_real",
    "d_acc_fake",
    "val_loss",
    "val_d_loss",
    "val_pretrain_loss",
    "val_closeness",
)


class EpochStats(pl.Callback):
    """Every ``every`` epochs: decode the fixed-noise batch, measure it, log it.

    Writes one CSV row per measured epoch to ``csv_path`` (the DVC plot of Figure 3) and the
    same numbers to the logger as ``stats/<name>``; every ``artifacts_every`` epochs it also
    logs every song as MIDI and WAV, and a piano roll, to the MLflow run, so the samples can
    be seen and heard in the UI (:func:`write_fixed_samples`).
    """

    def __init__(
        self,
        normalizer: Normalizer,
        tones_per_step: int,
        csv_path: str | Path,
        every: int = 1,
        artifacts_every: int = 5,
        tolerance: float = 0.0,
    ) -> None:
        self.normalizer = normalizer
        self.k = tones_per_step
        self.csv_path = Path(csv_path)
        self.every = max(every, 1)
        self.artifacts_every = artifacts_every
        self.tolerance = tolerance

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        last = epoch + 1 >= trainer.max_epochs
        if not trainer.is_global_zero or ((epoch + 1) % self.every and not last):
            return
        songs = decode(pl_module.generate_fixed().float().cpu().numpy(), self.normalizer, self.k)
        table = song_table(songs, tolerance=self.tolerance)
        stats = {name: float(np.nanmean(v)) if np.any(np.isfinite(v)) else math.nan for name, v in table.items()}
        self._write_row(epoch, stats, trainer)
        if trainer.logger is not None:
            trainer.logger.log_metrics({f"stats/{k}": v for k, v in stats.items() if math.isfinite(v)}, step=epoch)
            if self.artifacts_every and ((epoch + 1) % self.artifacts_every == 0 or last):
                self._log_artifacts(trainer, songs, epoch)

    def _write_row(self, epoch: int, stats: dict[str, float], trainer: pl.Trainer) -> None:
        """Append this epoch, dropping rows of this or later epochs left by an interrupted run."""
        losses = {k: float(trainer.callback_metrics[k]) for k in LOSSES if k in trainer.callback_metrics}
        row = {
            "epoch": epoch,
            **{k: stats[k] for k in FIGURE3},
            **losses,
            **{k: v for k, v in stats.items() if k not in FIGURE3},
        }
        rows = []
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) < epoch]
        rows.append(row)
        fields = list(dict.fromkeys(k for r in rows for k in r))
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def _log_artifacts(self, trainer: pl.Trainer, songs: list[np.ndarray], epoch: int) -> None:
        experiment, run_id = trainer.logger.experiment, trainer.logger.run_id
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"epoch_{epoch:03d}"
            write_fixed_samples(out, songs, epoch)
            experiment.log_artifacts(run_id, str(out), f"samples/epoch_{epoch:03d}")


def closeness_of(module: pl.LightningModule, closeness: Closeness, length: int) -> float:
    """``closeness`` of ``module``'s songs of ``length`` steps: ``closeness.count`` of them from
    its fixed seed, so epochs compare. Sampling draws its own random numbers
    (``GeneratorModule.generate``), so measuring during training leaves its trajectory as it was."""
    features = module.generate(closeness.count, length, seed=closeness.seed).float().cpu().numpy()
    return closeness.score(decode(features, closeness.normalizer, closeness.k), length)


class SelectByCloseness(pl.Callback):
    """After every adversarial epoch (from ``first_epoch`` on): ``measure`` the songs the module
    samples, log the score as ``val_closeness`` and, when it is the lowest so far, save the
    module as ``path``, the checkpoint the sample stage plays (``select_by: closeness``).

    Why: the game does not converge. Once D wins outright, G chasing its features can give
    away what pretraining taught (the loudness, the chords: README), and the last epoch is
    then not the best one. Validation music chooses the epoch, as a validation loss chooses a
    classifier's; the test split, which the evaluate stage reports on, stays unseen. Only
    adversarial epochs compete: a pretrained G alone is the baseline's model, not a GAN's.

    ``measure`` must not touch training's random numbers (:func:`closeness_of`
    does not), so a run selecting trains exactly as one that does not. The best score and its
    epoch are callback state in every checkpoint, so a resumed run keeps choosing among all
    its epochs. Under DDP rank 0 measures and the others take its score.
    """

    def __init__(self, measure: Callable[[pl.LightningModule], float], path: str | Path, first_epoch: int) -> None:
        self.measure, self.path, self.first_epoch = measure, Path(path), first_epoch
        self.best, self.epoch = math.inf, -1

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        if epoch < self.first_epoch:
            return
        score = float(trainer.strategy.broadcast(self.measure(pl_module) if trainer.is_global_zero else 0.0))
        # Logged before EpochStats writes its row (it follows in the callback list), so the
        # score is also a column of epoch_stats.csv.
        pl_module.log("val_closeness", score, on_epoch=True)
        if score < self.best:
            self.best, self.epoch = score, epoch
            trainer.save_checkpoint(self.path, weights_only=True)  # sampling needs no optimiser state

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.epoch = state_dict["best"], state_dict["epoch"]


def write_fixed_samples(out: Path, songs: list[np.ndarray], epoch: int) -> None:
    """Every fixed-noise song as MIDI, a WAV (or, for a song without notes, a text file
    saying so: an empty WAV only fails to load in the UI) and a piano roll of them all."""
    write_midi_files(out, songs, prefix="fixed")
    notes = [events_to_notes(s) for s in songs]
    for i, (onsets, lengths, pitches, velocities) in enumerate(notes):
        name = midi_file(out, i, "fixed")  # its MIDI file's name: the sound goes beside it
        if len(onsets):
            write_wav(name.with_suffix(".wav"), onsets, lengths, np.rint(pitches), velocities)
        else:
            name.with_suffix(".txt").write_text(f"epoch {epoch}, fixed noise {i}: no notes, nothing to play\n")
    save_piano_roll(
        out / "piano_roll.png",
        [(o, l, np.rint(p), v) for o, l, p, v in notes],
        titles=[f"epoch {epoch}, fixed noise {i}" for i in range(len(notes))],
    )
