"""Lightning DataModule serving the preprocessed feature windows to training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from crnngan.data.preprocess import load_segments
from crnngan.data.representation import Normalizer, feature_width
from crnngan.models.heads import DEFAULT_PITCH, PitchScale
from crnngan.paths import DataDir


class EpochShuffle(Sampler[int]):
    """A random order of ``n`` indices that depends only on ``seed`` and the epoch.

    Lightning calls ``set_epoch`` before every epoch, also after resuming from a checkpoint,
    so a resumed run sees the same batches as one that never stopped (a sampler with one
    running generator would restart its sequence at the resume).
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=gen).tolist())


def segment_loader(data: Dataset, batch_size: int, seed: int, shuffle: bool, num_workers: int = 0) -> DataLoader:
    """Batches of ``data`` in an order that depends only on ``seed`` and the epoch, without a
    draw from the global RNG, so training (and a resumed training) is reproducible."""
    return DataLoader(
        data,
        batch_size=batch_size,
        sampler=EpochShuffle(len(data), seed) if shuffle else None,
        # Its own generator: creating the batch iterator would otherwise draw a base seed from
        # the global RNG, which training's noise and dropout also use.
        generator=torch.Generator().manual_seed(seed),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
    )


class SegmentDataModule(pl.LightningDataModule):
    """Batches (B, L, feature_width(k)) float32 of normalised segments for ``tones_per_step`` k.

    Shuffling depends only on ``seed`` and the epoch (:class:`EpochShuffle`), so the batch order
    is reproducible, also across a resume. Data live in memory (the corpus is small), which
    makes workers fork-safe and cheap. With several devices Lightning wraps the sampler in a
    distributed one itself.
    """

    def __init__(
        self, data_dir: str | Path, tones_per_step: int, batch_size: int, num_workers: int = 0, seed: int = 0
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.tones_per_step = tones_per_step
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.splits: dict[str, torch.Tensor] = {}

    @property
    def num_features(self) -> int:
        return feature_width(self.tones_per_step)

    @property
    def pitch_scale(self) -> PitchScale:
        """(pitch_feature, pitch_mean, pitch_std) of the data's Normalizer (the default
        reading when the folder has none, as in tests built on bare segments)."""
        path = DataDir(self.data_dir).normalizer
        if not path.exists():
            return DEFAULT_PITCH
        n = Normalizer.load(path)
        return (n.pitch_feature, n.pitch_mean, n.pitch_std)

    @property
    def segment_length(self) -> int:
        self.setup()
        return int(self.splits["train"].shape[1])

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = {
                k: torch.from_numpy(np.ascontiguousarray(v))
                for k, v in load_segments(self.data_dir, self.tones_per_step).items()
            }
            if len(self.splits["train"]) == 0:
                raise ValueError(
                    f"no training segment for tones_per_step={self.tones_per_step} "
                    f"in {self.data_dir}: lower preprocess.segment_length"
                )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return segment_loader(TensorDataset(self.splits[split]), self.batch_size, self.seed, shuffle, self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        # An empty validation split (tiny corpora) must not break fitting.
        return self._loader("val", shuffle=False) if len(self.splits["val"]) else []
