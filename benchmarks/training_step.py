"""Training-step throughput: ms per step, sequences/s and LSTM FLOP/s of each model's step.

Training steps are timed on the real code path: a ``pl.Trainer`` fits the project's
LightningModule on random (B, T, F) tensors for ``limit_train_batches`` = warm-up + repeats
batches with ``max_epochs=1``, and a callback times each ``training_step`` (from batch start
to batch end, synchronising the GPU). Both players always update (``freeze_ratio`` 0) and
pretraining windows are the full T (``curriculum_step`` = T), so every step does the same work.

With ``reference`` the step runs the networks of :mod:`benchmarks.reference` instead, through
the very same module and Trainer, so the speed-up reference_ms / ours_ms isolates the network
implementation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.machine import default_device
from benchmarks.reference import reference_discriminator, reference_generator
from benchmarks.timing import Budget, summarise, sync
from crnngan.config import TrainConfig
from crnngan.data.representation import feature_width
from crnngan.model_config import ModelConfig
from crnngan.models.acceleration import accelerate
from crnngan.training.kinds import create_module


class _StepTimer(pl.Callback):
    """Times each training batch (training_step plus Lightning's per-batch hooks) and stops
    the fit once ``budget`` is met."""

    def __init__(self, budget: Budget, device: torch.device) -> None:
        self.budget = budget
        self.device = device
        self.times: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        sync(self.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        sync(self.device)
        self.times.append(time.perf_counter() - self._start)
        if self.budget.done(self.times):
            trainer.should_stop = True


def lstm_flops(cfg: ModelConfig, num_features: int, length: int, phase: str) -> float:
    """Matmul FLOPs of the LSTM cell steps in one training step (2 * B * (in + H) * 4H per cell
    step; backward counted as 2x forward where weights get gradients, 1x where only inputs do).

    adversarial: G free-runs once on B sequences (forward + backward in the G phase); D runs
    on 2B (real and fake) in the D phase (weights updated) and again in the G phase (D frozen,
    gradients to its inputs only). pretrain / baseline: G teacher-forced on B sequences.
    """

    def cell(batch: int, inputs: int, hidden: int) -> float:
        return 2.0 * batch * (inputs + hidden) * 4 * hidden

    b = cfg.batch_size
    g = length * cfg.layers_g * cell(b, cfg.hidden_g, cfg.hidden_g)  # G's LSTM input is the H-wide ReLU layer
    if phase != "adversarial":
        return 3 * g
    d_inputs = [num_features] + [2 * cfg.hidden_d] * (cfg.layers_d - 1)
    d = length * 2 * sum(cell(2 * b, n, cfg.hidden_d) for n in d_inputs)  # 2 directions
    return 3 * g + 3 * d + 2 * d


def _bench_config(cfg: ModelConfig, phase: str, length: int) -> ModelConfig:
    """``cfg`` set up so every step of ``phase`` does the same, full work."""
    if phase not in ("adversarial", "pretrain"):
        raise ValueError(f"phase: expected 'adversarial' or 'pretrain', got {phase!r}")
    if cfg.kind == "baseline" and phase != "pretrain":
        raise ValueError("the baseline has only the pretraining (next-event) step")
    # pretrain_epochs decides the phase of epoch 0; curriculum_step = T trains on full windows.
    if cfg.kind == "baseline":  # no pretraining phase, no freezing: its one step
        return dataclasses.replace(cfg, curriculum_step=length)
    return dataclasses.replace(cfg, pretrain_epochs=int(phase == "pretrain"), curriculum_step=length, freeze_ratio=0.0)


def bench_training_step(
    cfg: ModelConfig,
    phase: str,
    length: int,
    budget: Budget,
    train_cfg: TrainConfig | None = None,
    *,
    reference: bool = False,
    device: torch.device | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """ms per training step and sequences/s of ``cfg``'s module, driven by a Trainer.

    ``phase`` "adversarial" is one D update then one G update on the same fake batch;
    "pretrain" is one teacher-forced next-event update of G (the baseline's only step).
    ``reference`` swaps in the :class:`~benchmarks.reference.ReferenceGenerator` /
    :class:`~benchmarks.reference.ReferenceDiscriminator`
    (same initial weights). ``train_cfg`` (default: params.yaml's train defaults) supplies
    precision, determinism and the unroll (``compile``, ``cuda_graphs``; the reference ignores
    these and always runs eagerly).
    """
    device = device or default_device()
    train_cfg = train_cfg or TrainConfig()
    cfg = _bench_config(cfg, phase, length)
    if reference:  # the reference is the paper's plain network: one regression output, raw pitch fed back
        cfg = dataclasses.replace(cfg, hypotheses=1, pitch_head="regression", pitch_classes=False, feed_semitones=False)
    num_features = feature_width(cfg.tones_per_step)
    torch.manual_seed(seed)
    module = create_module(cfg, num_features, length, fixed_samples=1)
    if reference:
        module.generator = reference_generator(module.generator)
        if hasattr(module, "discriminator"):
            module.discriminator = reference_discriminator(module.discriminator)
        unroll = "reference"
    else:
        unroll = accelerate(module.generator, train_cfg.compile, train_cfg.cuda_graphs, device.type)
    # Enough random batches for the longest run; the timer stops the epoch earlier.
    data = torch.randn(budget.max_runs * cfg.batch_size, length, num_features)  # (N, T, F)
    loader = DataLoader(TensorDataset(data), batch_size=cfg.batch_size)
    timer = _StepTimer(budget, device)
    trainer = pl.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        precision=train_cfg.precision,
        deterministic=train_cfg.deterministic,
        max_epochs=1,
        limit_train_batches=budget.max_runs,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer.fit(module, train_dataloaders=loader)
    timing = summarise(timer.times, budget)
    flops = lstm_flops(cfg, num_features, length, phase)
    return {
        **timing,
        "ms_per_step": timing["median_s"] * 1e3,
        "sequences_per_s": cfg.batch_size / timing["median_s"],
        "optimizer_steps_per_step": 2 if phase == "adversarial" else 1,
        "unroll": unroll,
        "precision": train_cfg.precision,
        "batch_size": cfg.batch_size,
        "length": length,
        "hidden_g": cfg.hidden_g,
        "hidden_d": cfg.hidden_d if cfg.kind == "gan" else None,
        "lstm_gflop_per_step": flops / 1e9,
        "lstm_gflop_per_s": flops / timing["median_s"] / 1e9,
        "cuda_max_allocated_mib": (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None),
    }
