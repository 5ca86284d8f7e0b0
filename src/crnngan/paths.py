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
LAST_CHECKPOINT = "last.ckpt"  # rewritten every epoch: what resuming (and, by default, sampling) uses
BEST_CHECKPOINT = "best.ckpt"  # the epoch of lowest validation loss (monitored modules only)
# A GAN with select_by closeness: the adversarial epoch closest to validation music, what it samples
CLOSEST_CHECKPOINT = "closest.ckpt"


class _Inside:
    """A file (or folder) of a fixed name inside a folder record's ``root``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, folder: _Folder, owner: type) -> Path:
        return Path(folder.root) / self.name


@dataclass(frozen=True)
class _Folder:
    root: Path


class DataDir(_Folder):
    """The preprocess stage's output (crnngan.data.preprocess), read by training, tuning, evaluation."""

    songs = _Inside("songs.npz")  # every usable song with its split (crnngan.data.songs layout)
    normalizer = _Inside("normalizer.json")
    manifest = _Inside("manifest.csv")  # one row per input file: used or skipped, and why
    report = _Inside("preprocess_report.json")

    def segments(self, tones_per_step: int) -> Path:  # feature windows per split for one layout k
        return Path(self.root) / f"segments_k{tones_per_step}.npz"


class ModelDir(_Folder):
    """A train stage's output folder (models/<model>)."""

    checkpoints = _Inside("checkpoints")
    run_state = _Inside("run.json")  # fingerprint and MLflow run id, for resuming (crnngan.training.fit)
    epoch_stats = _Inside("epoch_stats.csv")  # the paper's statistics per epoch (crnngan.training.callbacks)
    summary = _Inside("train_summary.json")

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_CHECKPOINT

    @property
    def closest_checkpoint(self) -> Path:
        return self.checkpoints / CLOSEST_CHECKPOINT

    @property
    def sampling_checkpoint(self) -> Path:
        """What the sample stage plays: the chosen epoch where training chose one, else the last."""
        return self.closest_checkpoint if self.closest_checkpoint.exists() else self.last_checkpoint


class SampleDir(_Folder):
    """A sample stage's output folder (samples/<model>): MIDI files and the songs as arrays."""

    songs = _Inside("songs.npz")  # and the MIDI files, named by midi_file


def midi_file(folder: Path, index: int, prefix: str = "song") -> Path:
    """``<folder>/<prefix>_<index>.mid``: the sample stage's songs, the training callback's
    fixed-noise samples (prefix "fixed")."""
    return folder / f"{prefix}_{index:03d}.mid"
