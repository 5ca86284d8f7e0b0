"""The training tests' harness: tiny random data, a one-call train(), weight-change checks."""

import pytorch_lightning as pl
import torch
from torch.utils.data import TensorDataset

from crnngan.config import TrainConfig
from crnngan.data.datamodule import segment_loader
from crnngan.data.representation import feature_width
from crnngan.model_config import ModelConfig
from crnngan.models.acceleration import accelerate
from crnngan.models.heads import DEFAULT_PITCH
from crnngan.training.fit import build_trainer, fit
from crnngan.training.kinds import create_module, total_epochs

BATCH, STEPS = 4, 8
TRAIN = TrainConfig(accelerator="cpu", devices="auto")


class RandomData(pl.LightningDataModule):
    """Fixed random events: training batches are 1-tuples, validation batches bare tensors."""

    def __init__(self, num_features: int, batches: int = 1, steps: int = STEPS, nan: bool = False):
        super().__init__()
        gen = torch.Generator().manual_seed(123)
        self.train = torch.randn(batches * BATCH, steps, num_features, generator=gen)
        if nan:  # at every step: a pretraining window starts at a random step
            self.train[:, :, 0] = float("nan")
        self.val = torch.randn(BATCH, steps, num_features, generator=gen)

    # Loaders as SegmentDataModule builds them: shuffled by epoch, no draws from the global RNG.
    def train_dataloader(self):
        return segment_loader(TensorDataset(self.train), BATCH, seed=0, shuffle=True)

    def val_dataloader(self):
        return segment_loader(self.val, BATCH, seed=0, shuffle=False)


def num_features(cfg: ModelConfig) -> int:
    return feature_width(cfg.tones_per_step)


def train(
    cfg,
    tmp_path,
    *,
    seed=0,
    batches=1,
    steps=STEPS,
    max_epochs=None,
    nan=False,
    callbacks=(),
    train_cfg=TRAIN,
    pitch=DEFAULT_PITCH,
    pretrain_epochs=0,
):
    """Seed + Trainer, then the module (so its initial weights follow the seed), then fit."""
    trainer = build_trainer(
        train_cfg,
        max_epochs or total_epochs(cfg),
        tmp_path,
        callbacks=callbacks,
        seed=seed,
        pretrain_epochs=pretrain_epochs,
    )
    module = create_module(cfg, num_features(cfg), steps, fixed_samples=3, pitch=pitch)
    accelerate(module.generator, train_cfg.compile, train_cfg.cuda_graphs, trainer.strategy.root_device.type)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    checkpoint = fit(module, RandomData(num_features(cfg), batches, steps, nan), trainer, tmp_path / "ckpt")
    return trainer, module, start, checkpoint


def changed(start, module, prefix):
    return any(not torch.equal(start[k], v) for k, v in module.state_dict().items() if k.startswith(prefix))


class CountBatches(pl.Callback):
    def __init__(self):
        self.batches = 0

    def on_train_batch_end(self, *args):
        self.batches += 1
