"""Every name the pipeline gives a file, in one place.

The folders themselves are dvc.yaml's (each stage script takes them as arguments: data/processed,
models/<model>, samples/<model>, metrics/, reports/); what lies inside each is named here, so a
reader of one stage and the writer of another cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PARAMS = "params.yaml"
# Inside a checkpoint folder (ModelDir.checkpoints, or a tuning trial's temporary one).
LAST_CHECKPOINT = "last.ckpt"  # rewritten every epoch: what sampling and resuming use
BEST_CHECKPOINT = "best.ckpt"  # the epoch of lowest validation loss (monitored modules only)


@dataclass(frozen=True)
class DataDir:
    """The preprocess stage's output (crnngan.data.preprocess), read by training, tuning, evaluation."""

    root: Path

    @property
    def songs(self) -> Path:  # every usable song with its split (crnngan.data.songs layout)
        return Path(self.root) / "songs.npz"

    @property
    def normalizer(self) -> Path:
        return Path(self.root) / "normalizer.json"

    def segments(self, tones_per_step: int) -> Path:  # feature windows per split for one layout k
        return Path(self.root) / f"segments_k{tones_per_step}.npz"

    @property
    def manifest(self) -> Path:  # one row per input file: used or skipped, and why
        return Path(self.root) / "manifest.csv"

    @property
    def report(self) -> Path:
        return Path(self.root) / "preprocess_report.json"


@dataclass(frozen=True)
class ModelDir:
    """A train stage's output folder (models/<model>)."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return Path(self.root) / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_CHECKPOINT

    @property
    def run_state(self) -> Path:  # fingerprint and MLflow run id, for resuming (crnngan.training.fit)
        return Path(self.root) / "run.json"

    @property
    def epoch_stats(self) -> Path:  # the paper's statistics per epoch (crnngan.training.callbacks)
        return Path(self.root) / "epoch_stats.csv"

    @property
    def summary(self) -> Path:
        return Path(self.root) / "train_summary.json"


@dataclass(frozen=True)
class SampleDir:
    """A sample stage's output folder (samples/<model>): MIDI files and the songs as arrays."""

    root: Path

    @property
    def songs(self) -> Path:
        return Path(self.root) / "songs.npz"

    def midi(self, index: int) -> Path:
        return midi_file(Path(self.root), index)


def midi_file(folder: Path, index: int, prefix: str = "song") -> Path:
    """``<folder>/<prefix>_<index>.mid``: the sample stage's songs, the training callback's
    fixed-noise samples (prefix "fixed")."""
    return folder / f"{prefix}_{index:03d}.mid"
