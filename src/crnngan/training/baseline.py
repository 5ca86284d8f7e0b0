"""The RNN baseline's LightningModule: the GANs' generator trained by next-event regression alone."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from crnngan.model_config import BaselineConfig
from crnngan.training.base import GeneratorModule, batch_events


class BaselineModule(GeneratorModule):
    """The RNN baseline: the same G trained only by teacher-forced next-event MSE.

    It is the author's "pretraining only" run, so the same length curriculum applies
    (set curriculum_step >= segment_length to train on full windows from the start).
    """

    cfg: BaselineConfig
    validation_loss = monitor = "val_loss"

    def configure_optimizers(self) -> Optimizer:
        return self._optimizer(self.generator.parameters(), self.cfg.lr_g)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x = self._begin_step(batch)  # (B, T, F)
        metrics = self._pretrain_update(self.optimizers(), x, batch_idx, "train_loss")
        self._log_losses(metrics, x.shape[0], prog_bar=("train_loss",))
        self._end_step()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x = batch_events(batch)  # (B, T, F): full windows, no curriculum
        metrics = {"val_loss": self._teacher_forced_loss(self._val_noise(x.shape[0], x.shape[1], batch_idx), x)}
        self._check_finite(metrics, batch_idx)
        self._log_losses(metrics, x.shape[0])
