"""C-RNN-GAN's LightningModule (C-RNN-GAN-3 with three tones per step): MLE pretraining of G,
then the adversarial game against D (manual optimisation, freezing, feature matching, EMA)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from crnngan.model_config import GANConfig
from crnngan.models.heads import on_semitones
from crnngan.models.losses import (
    discriminator_loss,
    feature_matching_loss,
    freeze_by_accuracy,
    freeze_decision,
    generator_loss,
)
from crnngan.models.networks import Discriminator, Generator
from crnngan.training.base import GeneratorModule, Metrics, batch_events


class GANModule(GeneratorModule):
    """C-RNN-GAN (k = 1) and C-RNN-GAN-3 (k = 3): MLE pretraining, then adversarial epochs."""

    cfg: GANConfig
    validation_loss = "val_pretrain_loss"
    # No best.ckpt: no validation loss tells a better GAN (val_pretrain_loss, the only one on a
    # fixed scale, is lowest at the end of pretraining). With select_by closeness the songs
    # themselves choose an epoch (callbacks.SelectByCloseness, closest.ckpt); else sampling uses last.ckpt.
    monitor = None

    def _add_players(self) -> None:
        if self.cfg.ema_decay > 0:
            # G's weights averaged over the game (Yazici et al. 2019): the game does not settle,
            # and the G of one step swings between narrow and wide pitch ranges from epoch to
            # epoch; the average moves slowly. It samples once the game has begun.
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        c = self.cfg
        self.discriminator = Discriminator(self.num_features, hidden=c.hidden_d, layers=c.layers_d, dropout=c.dropout,
                                           input_dropout=c.dropout_d_input, tones_per_step=c.tones_per_step,
                                           pitch=self.pitch)  # fmt: skip
        freeze_decision(0.0, 0.0, self.cfg.freeze_ratio)  # rejects a bad ratio now, not after pretraining
        # (scaled d_loss, g_loss_adv, d accuracy) of the last batch, for the freeze rule
        self._prev_losses: tuple[float, float, float] | None = None

    def sampler(self) -> Generator:
        """The averaged G once the game has updated it (``ema_decay`` > 0), else G."""
        if self.cfg.ema_decay > 0 and int(self.ema_updates) > 0:
            return self.generator_ema
        return self.generator

    @torch.no_grad()
    def _update_ema(self) -> None:
        """After a G step: the first copies G (the pretrained G starts the average), later ones
        move the average by (1 - ema_decay) towards G."""
        for avg, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            if int(self.ema_updates) == 0:
                avg.copy_(live)
            else:
                avg.lerp_(live, 1.0 - self.cfg.ema_decay)
        self.ema_updates += 1

    def configure_optimizers(self) -> list[Optimizer]:
        return [
            self._optimizer(self.generator.parameters(), self.cfg.lr_g),
            self._optimizer(self.discriminator.parameters(), self.cfg.lr_d),
        ]

    def _instance_noise(self) -> float:
        """Std of the noise added to D's inputs this epoch: ``instance_noise`` at the first
        adversarial epoch, falling linearly to 0 at the last one (0 outside training)."""
        if not self.training or self.cfg.instance_noise == 0 or self.cfg.epochs == 0:
            return 0.0
        done = (self.current_epoch - self.cfg.pretrain_epochs) / self.cfg.epochs
        return self.cfg.instance_noise * max(0.0, 1.0 - done)

    def _judge(self, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """D on real and fake in one batched call -> p_real, p_fake (B,), f_real, f_fake (B, T, 2H)."""
        both = torch.cat([real, fake])  # (2B, T, F)
        sigma = self._instance_noise()
        if sigma:
            both = both + sigma * torch.randn_like(both)
        prob, feats = self.discriminator(both)
        p_real, p_fake = prob.chunk(2)
        f_real, f_fake = feats.chunk(2)
        return p_real, p_fake, f_real, f_fake

    def _d_losses(self, real: Tensor, fake: Tensor) -> Metrics:
        p_real, p_fake, _, _ = self._judge(real, fake)
        return {
            "d_loss": discriminator_loss(p_real, p_fake, self.cfg.label_smoothing),
            "d_acc_real": (p_real > 0.5).float().mean(),
            "d_acc_fake": (p_fake < 0.5).float().mean(),
        }

    def _g_losses(self, real: Tensor, fake: Tensor) -> Metrics:
        _, p_fake, f_real, f_fake = self._judge(real, fake)
        adv = generator_loss(p_fake)
        fm = feature_matching_loss(f_real.detach(), f_fake, self.cfg.feature_matching_form)
        metrics = {"g_loss": fm if self.cfg.feature_matching else adv, "g_loss_adv": adv, "fm_loss": fm}
        if self.cfg.mle_weight > 0:
            # Anchors G to the data while it plays: the pretraining loss on this real batch.
            mle = self._next_event_loss(real, real.shape[1])
            metrics["g_loss"] = metrics["g_loss"] + self.cfg.mle_weight * mle
            metrics["mle_loss"] = mle
        return metrics

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        # Freezing starts afresh each epoch, so a run resumed at an epoch boundary behaves
        # exactly like an uninterrupted one.
        self._prev_losses = None
        # G's rate follows the phase (set from the epoch, so a resumed run gets it right too).
        pretraining = self.current_epoch < self.cfg.pretrain_epochs
        lr = self.cfg.lr_pretrain if pretraining and self.cfg.lr_pretrain > 0 else self.cfg.lr_g
        opt_g = self.trainer.optimizers[0]
        for group in opt_g.param_groups:
            group["lr"] = lr
        if self.current_epoch == self.cfg.pretrain_epochs > 0:
            # The game is another objective: Adam's moment estimates of the pretraining loss
            # would scale G's first adversarial steps by gradients it no longer follows.
            opt_g.state.clear()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x = self._begin_step(batch)  # (B, T, F)
        opt_g, opt_d = self.optimizers()
        if self.current_epoch < self.cfg.pretrain_epochs:
            metrics = self._pretrain_update(opt_g, x, batch_idx, "pretrain_loss")
            self._log_losses(metrics, x.shape[0], prog_bar=("pretrain_loss",))
            self._end_step()
            return

        freeze_d, freeze_g = self._freeze()
        # One fake batch serves both phases; it needs a graph only if G is going to update.
        with torch.set_grad_enabled(not freeze_g):
            fake = self.generator(self._noise(x.shape[0], x.shape[1]))  # (B, T, F)
        if self.cfg.judge_semitones:
            # Real pitches are whole semitones and a tone is played rounded: D then judges the
            # notes a listener hears, not how far between two keys' notes G's output sits.
            fake = on_semitones(fake, self.cfg.tones_per_step, self.scale)
        d = self._update(opt_d, lambda: self._d_losses(x, fake.detach()), "d_loss", batch_idx, freeze_d)
        g = self._update(opt_g, lambda: self._g_losses(x, fake), "g_loss", batch_idx, freeze_g)
        if self.cfg.ema_decay > 0 and not freeze_g:
            self._update_ema()
        d_acc = (d["d_acc_real"] + d["d_acc_fake"]).item() / 2
        prev = (d["d_loss"].item() * self.cfg.freeze_d_scale, g["g_loss_adv"].item(), d_acc)
        if self._world_size() > 1:
            # Every process must freeze the same player (or wait forever for the gradients of
            # one that did not): the next decision is taken on the losses averaged over them.
            mean = self.trainer.strategy.reduce(torch.tensor(prev, device=self.device), reduce_op="mean")
            prev = tuple(mean.tolist())
        self._prev_losses = prev
        frozen = {"freeze_d": float(freeze_d), "freeze_g": float(freeze_g)}  # epoch mean = share frozen
        self._log_losses({**d, **g, **frozen}, x.shape[0], prog_bar=("d_loss", "g_loss"))
        self._end_step()

    def _freeze(self) -> tuple[bool, bool]:
        """(freeze_d, freeze_g) for this batch from the last one's losses, per ``freeze_rule``."""
        if self._prev_losses is None:
            return False, False
        d_loss, g_loss_adv, d_acc = self._prev_losses
        if self.cfg.freeze_rule == "accuracy":
            return freeze_by_accuracy(d_acc, self.cfg.freeze_accuracy)
        return freeze_decision(d_loss, g_loss_adv, self.cfg.freeze_ratio)

    def _epoch_metrics(self) -> dict[str, float]:
        return {
            **super()._epoch_metrics(),
            "lr_d": self.trainer.optimizers[1].param_groups[0]["lr"],
            "instance_noise": self._instance_noise(),
            "phase": float(self.current_epoch >= self.cfg.pretrain_epochs),
        }

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x = batch_events(batch)  # (B, T, F)
        z = self._val_noise(x.shape[0], x.shape[1], batch_idx)
        p_real, p_fake, _, _ = self._judge(x, self.generator(z))
        metrics = {
            "val_d_loss": discriminator_loss(p_real, p_fake, self.cfg.label_smoothing),
            "val_g_loss_adv": generator_loss(p_fake),
            "val_pretrain_loss": self._teacher_forced_loss(z, x),
        }
        self._check_finite(metrics, batch_idx)
        self._log_losses(metrics, x.shape[0])
