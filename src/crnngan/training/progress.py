"""What training prints: one line per epoch in a log file, a live bar only in a terminal, and
none of Lightning's repeated tips and notices.

A progress bar redraws one line; written to a file (``make repro > log``, CI, DVC's queue)
that is minutes of nothing and then one final frame. :class:`EpochLine` logs each epoch
instead, so a log reads as a table of epochs.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import Any, TextIO

import pytorch_lightning as pl

log = logging.getLogger("train")

# Shown per epoch when logged, in this order (the losses of whichever phase is running).
SHOWN = (
    "pretrain_loss",
    "train_loss",
    "d_loss",
    "g_loss",
    "fm_loss",
    "mle_loss",
    "d_acc_real",
    "d_acc_fake",
    "val_loss",
    "val_pretrain_loss",
    "val_closeness",
)

# Lightning's info messages that every training stage would print again, saying nothing
# about this run: a sales tip, and a notice that limit_train_batches=1.0 means all batches.
_NOISE = ("💡 Tip:", "was configured so 100%")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(part in message for part in _NOISE)


def quiet_lightning() -> None:
    """Silence Lightning's repeated tips and notices and a deprecation warning raised inside
    Lightning itself (nothing this project can change), once per process."""
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def interactive(stream: TextIO | None = None) -> bool:
    """Whether progress goes to a terminal (a live bar) rather than a file (epoch lines)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def epoch_line(
    epoch: int,
    epochs: int,
    phase: str,
    metrics: dict[str, float],
    seconds: float,
    sequences_per_s: float | None,
    eta: str,
) -> str:
    """``epoch 3/50 pretrain | pretrain_loss 0.512 val_pretrain_loss 0.498 | 310 seq/s | 4s/epoch | ETA 3m12s``."""
    shown = " ".join(f"{k} {metrics[k]:.3g}" for k in SHOWN if k in metrics)
    speed = f" | {sequences_per_s:,.0f} seq/s" if sequences_per_s else ""
    return (
        f"epoch {epoch + 1}/{epochs} {phase}"
        + (f" | {shown}" if shown else "")
        + f"{speed} | {seconds:.0f}s/epoch | {eta}"
    )


class EpochLine(pl.Callback):
    """Logs one :func:`epoch_line` per finished epoch (Lightning ends an epoch after its
    validation, so the validation losses are in)."""

    def __init__(self, pretrain_epochs: int = 0) -> None:
        self.pretrain_epochs = pretrain_epochs
        self._start = 0.0
        self._sequences = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()
        self._sequences = 0

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # Counted here: the module logs its own throughput after the callbacks' epoch end.
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        self._sequences += int(x.shape[0])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        seconds = time.perf_counter() - self._start
        pretraining = epoch < self.pretrain_epochs
        # At this epoch's pace, for this phase only during pretraining: an adversarial epoch
        # costs about ten pretraining ones, so a whole-run average would mislead.
        if pretraining:
            eta = f"pretraining done in {_duration(seconds * (self.pretrain_epochs - epoch - 1))}"
        else:
            eta = f"ETA {_duration(seconds * (trainer.max_epochs - epoch - 1))}"
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        phase = "pretrain" if pretraining else "adversarial" if "d_loss" in metrics else "train"
        # Lightning keeps every metric's last value: the other phase's losses would linger.
        stale = ("pretrain_loss",) if phase == "adversarial" else ()
        shown = {k: v for k, v in metrics.items() if k not in stale}
        log.info(
            epoch_line(epoch, trainer.max_epochs, phase, shown, seconds, self._sequences / max(seconds, 1e-9), eta)
        )


def progress_callbacks(pretrain_epochs: int, stream: TextIO | None = None) -> tuple[bool, list[pl.Callback]]:
    """(enable Lightning's bar, extra callbacks): the bar in a terminal, epoch lines otherwise."""
    if interactive(stream):
        return True, []
    return False, [EpochLine(pretrain_epochs)]


def describe(module: Any) -> str:
    """One line instead of Lightning's model-summary table: parameters per network."""
    parts = [f"{name} {sum(p.numel() for p in child.parameters()):,}" for name, child in module.named_children()]
    return "parameters: " + ", ".join(parts)
