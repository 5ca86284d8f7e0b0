"""The LightningModule both models build on: G, its optimiser recipe, one player's update,
pretraining, sampling, the non-finite check, per-epoch throughput and resumable RNG state.

Batches are (B, T, F) float tensors of normalised events (or a 1-tuple holding one). The
module keeps the :class:`~crnngan.model_config.ModelConfig` it is given and saves its
arguments as plain values (the config as a dict), so a checkpoint loads with
``torch.load(weights_only=True)`` and :func:`crnngan.training.fit.load_module` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.optim import Optimizer

from crnngan.data.representation import feature_width
from crnngan.model_config import ModelConfig
from crnngan.models.heads import DEFAULT_PITCH, PitchScale, perturb_fed
from crnngan.models.losses import categorical_pitch_loss, hypotheses_loss
from crnngan.models.networks import Generator
from crnngan.training.rng import RNG_KEYS, restore_rng_states, rng_states

Metrics = dict[str, Tensor]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stops instead of stepping on it."""


def batch_events(batch: Tensor | tuple[Tensor, ...] | list[Tensor]) -> Tensor:
    """The (B, T, F) tensor of a batch that is a bare tensor or a 1-tuple."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


class GeneratorModule(pl.LightningModule):
    """What both models share: G, the optimiser recipe, one player's update, pretraining,
    sampling, the non-finite check and per-epoch throughput."""

    # The validation loss on a fixed scale (teacher-forced next-event loss), for the tuner.
    validation_loss: ClassVar[str]
    # Validation loss the best checkpoint is chosen by (lower is better); None: no best.ckpt.
    monitor: ClassVar[str | None]
    cfg: ModelConfig

    def __init__(
        self,
        model: ModelConfig,
        num_features: int,
        segment_length: int,
        fixed_samples: int = 8,
        fixed_seed: int = 0,
        pitch: PitchScale = DEFAULT_PITCH,
    ) -> None:
        """``model`` is the model's section of the params (the module's ``cfg``);
        ``fixed_samples`` sequences of ``segment_length`` steps are drawn from the fixed noise
        (seeded by ``fixed_seed``); ``pitch`` maps the pitch feature back to MIDI numbers (the
        data's Normalizer), for the networks' pitch classes (``pitch_classes``)."""
        super().__init__()
        # Plain values only, so the checkpoint stays loadable with weights_only=True.
        self.save_hyperparameters(
            {
                "model": dataclasses.asdict(model),
                "num_features": num_features,
                "segment_length": segment_length,
                "fixed_samples": fixed_samples,
                "fixed_seed": fixed_seed,
                "pitch": pitch,
            }
        )
        self.automatic_optimization = False
        self.cfg = model
        expected = feature_width(self.cfg.tones_per_step)
        if num_features != expected:
            raise ValueError(
                f"num_features={num_features} but tones_per_step={self.cfg.tones_per_step} "
                f"needs {expected} features per step"
            )
        if self.cfg.optimizer not in ("sgd", "adam"):
            raise ValueError(f"model.optimizer: expected 'sgd' or 'adam', got {self.cfg.optimizer!r}")
        self.num_features = num_features
        # Checkpoints store hyperparameters as YAML, which turns the tuple into a list.
        scale = (str(pitch[0]), float(pitch[1]), float(pitch[2]))
        self.scale: PitchScale = scale  # the pitch feature's scale, whatever the options
        self.pitch: PitchScale | None = scale if self.cfg.pitch_classes else None
        self.semitones: PitchScale | None = scale if self.cfg.feed_semitones else None
        self.pitch_head: PitchScale | None = scale if self.cfg.pitch_head == "categorical" else None
        c = self.cfg  # params.yaml's section -> the network: one hop
        self.generator = Generator(num_features, hidden=c.hidden_g, layers=c.layers_g, noise_dim=c.noise_dim,
                                   dropout=c.dropout, tones_per_step=c.tones_per_step, hypotheses=c.hypotheses,
                                   pitch=self.pitch, semitones=self.semitones, pitch_head=self.pitch_head,
                                   top_p=c.pitch_top_p)  # fmt: skip
        # Seeded independently of the global RNG so every run and model share the same noise.
        fixed = torch.rand(
            fixed_samples,
            segment_length,
            self.cfg.noise_dim,
            generator=torch.Generator().manual_seed(fixed_seed),
        )
        self.register_buffer("fixed_noise", fixed)  # (fixed_samples, segment_length, Z)
        self._epoch_start = 0.0
        self._last_step_end = 0.0
        self._epoch_sequences = 0
        self._resume_rng: dict[str, Any] = {}  # the RNG states of a checkpoint, see on_save_checkpoint
        self._add_players()

    def _add_players(self) -> None:
        """Networks beyond G (the GAN's discriminator); built last so G's initial weights do
        not depend on the model kind."""

    # ----- sampling -------------------------------------------------------------------------
    def _noise(self, n: int, length: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ U[0, 1]^(n, length, Z) on the module's device."""
        return torch.rand(n, length, self.cfg.noise_dim, device=self.device, dtype=self.dtype, generator=generator)

    @torch.no_grad()
    def _free_run(self, z: Tensor, dropout_seed: int) -> Tensor:
        """:meth:`sampler` free-running on z, with dropout active if ``sample_dropout`` (as the
        original code sampled) and in eval mode otherwise, restoring its mode afterwards.
        Dropout masks and the flags' (and candidates') uniforms are drawn from torch's RNG
        seeded with ``dropout_seed`` inside a fork, so sampling is reproducible and leaves the
        training RNG stream untouched."""
        generator = self.sampler()
        was_training = generator.training
        generator.train(self.cfg.sample_dropout)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices, device_type=self.device.type):
                torch.manual_seed(dropout_seed)
                return generator(z)
        finally:
            generator.train(was_training)

    def sampler(self) -> Generator:
        """The generator that samples (and plays the fixed noise): G itself here."""
        return self.generator

    def generate(self, n: int, length: int, seed: int | None = None) -> Tensor:
        """(n, length, F) normalised events; a given ``seed`` always gives the same output."""
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, ()))
        gen = torch.Generator(device=self.device).manual_seed(seed)
        return self._free_run(self._noise(n, length, gen), seed)

    def generate_fixed(self) -> Tensor:
        """(fixed_samples, segment_length, F) from the fixed noise (and fixed dropout masks),
        comparable across epochs."""
        return self._free_run(self.fixed_noise, self.hparams.fixed_seed)

    # ----- optimisation ---------------------------------------------------------------------
    def _optimizer(self, params: Any, lr: float) -> Optimizer:
        """SGD (with momentum) or Adam; L2 is weight_decay, i.e. a (l2 / 2) * ||w||^2 penalty."""
        if self.cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=self.cfg.l2)
        return torch.optim.SGD(params, lr=lr, momentum=self.cfg.momentum, weight_decay=self.cfg.l2)

    def _world_size(self) -> int:
        """Processes training together (DDP), 1 outside a Trainer."""
        return self._trainer.world_size if self._trainer is not None else 1

    def _check_finite(self, metrics: Metrics, batch_idx: int) -> None:
        """Raise NonFiniteLossError naming the first non-finite entry (one device sync).

        Under DDP every process raises if any has a non-finite loss: one raising alone would
        leave the others waiting for its gradients in the next all-reduce."""
        names = list(metrics)
        finite = torch.isfinite(torch.stack([metrics[k].detach().float() for k in names]))
        ok = bool(finite.all())
        if self._world_size() > 1:
            ok = self.trainer.strategy.reduce_boolean_decision(ok, all=True)
        if not ok:
            where = f"at epoch {self.current_epoch}, batch {batch_idx}"
            if bool(finite.all()):
                raise NonFiniteLossError(f"a non-finite loss on another process {where}; stopping with it")
            bad = names[int((~finite).nonzero()[0])]
            raise NonFiniteLossError(
                f"{bad} = {metrics[bad].item()} {where}; "
                "stopping instead of training on it (lower the learning rate or check the data)"
            )

    def _update(
        self, opt: Any, compute: Callable[[], Metrics], key: str, batch_idx: int, frozen: bool = False
    ) -> Metrics:
        """One player's step: toggle -> losses -> zero_grad -> backward(metrics[key]) -> clip
        -> step -> untoggle. A frozen player's losses are still measured, without a graph,
        because the next batch's freeze decision needs them."""
        if frozen:
            with torch.no_grad():
                metrics = compute()
            self._check_finite(metrics, batch_idx)
            return metrics
        with self.toggled_optimizer(opt):
            metrics = compute()
            self._check_finite(metrics, batch_idx)  # before backward: never step on NaN
            opt.zero_grad()
            self.manual_backward(metrics[key])
            if self.cfg.clip_norm > 0:
                self.clip_gradients(opt, gradient_clip_val=self.cfg.clip_norm, gradient_clip_algorithm="norm")
            opt.step()
        return {k: v.detach() for k, v in metrics.items()}

    def _teacher_forced_loss(self, z: Tensor, x: Tensor, fed: Tensor | None = None) -> Tensor:
        """G's next-event loss on real events x (B, T, F) with noise z (B, T, Z), ``fed``
        (B, T, F) fed as the previous events in x's place if given."""
        c = self.cfg
        out = self.generator.teacher_forced(z, x, fed)
        if self.pitch_head is not None:
            return categorical_pitch_loss(out, x, c.tones_per_step, self.pitch_head, c.velocity_loss)
        return hypotheses_loss(out, x, c.tones_per_step, c.hypotheses, c.velocity_loss)

    def _next_event_loss(self, x: Tensor, length: int) -> Tensor:
        """Teacher-forced next-event loss on a random window of ``length`` steps of x (B, T, F),
        G fed the window perturbed by ``teacher_noise`` (training only: validation feeds real
        events, so its loss keeps one scale)."""
        start = int(torch.randint(0, x.shape[1] - length + 1, ()))
        window = x[:, start : start + length]  # (B, L, F)
        z = self._noise(x.shape[0], length)
        # No draw at 0, so a run without it keeps the random stream of one made before it existed.
        std = self.cfg.teacher_noise
        fed = perturb_fed(window, self.cfg.tones_per_step, std) if std > 0 else None
        return self._teacher_forced_loss(z, window, fed)

    def _curriculum_length(self, steps: int) -> int:
        """Pretraining length: short windows first, growing by curriculum_step per epoch."""
        return min(self.cfg.curriculum_step * (self.current_epoch + 1), steps)

    def _pretrain_update(self, opt: Any, x: Tensor, batch_idx: int, key: str) -> dict[str, Tensor | float]:
        length = self._curriculum_length(x.shape[1])
        metrics = self._update(opt, lambda: {key: self._next_event_loss(x, length)}, key, batch_idx)
        return {**metrics, "seq_len": float(length)}

    def _log_losses(self, metrics: dict[str, Tensor | float], batch_size: int, prog_bar: tuple[str, ...] = ()) -> None:
        # Under DDP an epoch's value is the mean over every process's batches (one reduction
        # per metric at the epoch's end), not rank 0's alone.
        sync = self._world_size() > 1
        for name, value in metrics.items():
            self.log(
                name,
                value,
                on_step=False,
                on_epoch=True,
                prog_bar=name in prog_bar,
                batch_size=batch_size,
                sync_dist=sync,
            )
        # Logged as "step", the epoch becomes the step of every per-epoch metric in the logger
        # (Lightning pops it): losses, validation and the Figure-3 statistics share one axis.
        self.log("step", float(self.current_epoch), on_step=False, on_epoch=True, batch_size=batch_size, sync_dist=sync)

    # ----- per-epoch bookkeeping ------------------------------------------------------------
    def _begin_step(self, batch: Any) -> Tensor:
        x = batch_events(batch)
        if x.ndim != 3 or x.shape[-1] != self.num_features:
            raise ValueError(f"expected a (B, T, {self.num_features}) batch, got {tuple(x.shape)}")
        self._epoch_sequences += x.shape[0]
        return x

    def _end_step(self) -> None:
        # Epoch time is measured up to the last training step, so validation is not counted.
        self._last_step_end = time.perf_counter()

    def on_train_epoch_start(self) -> None:
        self._epoch_start = self._last_step_end = time.perf_counter()
        self._epoch_sequences = 0

    def _epoch_metrics(self) -> dict[str, float]:
        elapsed = max(self._last_step_end - self._epoch_start, 1e-9)
        return {
            "epoch_time_s": elapsed,
            # All processes together: the mean over them (sync_dist) of world x its own rate.
            "sequences_per_s": self._world_size() * self._epoch_sequences / elapsed,
            "lr_g": self.trainer.optimizers[0].param_groups[0]["lr"],
        }

    def on_train_epoch_end(self) -> None:
        self.log_dict(self._epoch_metrics(), on_step=False, on_epoch=True, sync_dist=self._world_size() > 1)

    def _val_noise(self, batch_size: int, length: int, batch_idx: int) -> Tensor:
        """Validation noise seeded per batch: val losses are comparable across epochs and do
        not draw from the training RNG stream."""
        gen = torch.Generator(device=self.device).manual_seed(self.hparams.fixed_seed + batch_idx)
        return self._noise(batch_size, length, gen)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lets crnngan.training.fit.load_module pick the class without guessing.
        checkpoint["crnngan_module"] = type(self).__name__
        # This hook runs on every process (only rank 0 writes the file): all ranks' streams are gathered.
        gather = self.trainer.strategy.all_gather if self._world_size() > 1 else None
        checkpoint.update(rng_states(self.device, gather))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Applied when training starts: after Lightning's sanity-check validation.
        self._resume_rng = {k: checkpoint[k] for k in RNG_KEYS if k in checkpoint}

    def on_train_start(self) -> None:
        restore_rng_states(self._resume_rng, self._world_size(), self.global_rank, self.device)
        self._resume_rng = {}
