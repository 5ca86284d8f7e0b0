"""Throughput benchmark: preprocessing, training steps, sampling, evaluation and memory.

Run as ``python -m benchmarks.bench --out bench/results.json [--quick]``. Every figure is the
median of timed repeats that follow untimed warm-up runs; each result records its own
``warmup`` and ``repeats`` (and the raw times), since the number of repeats adapts to a time
budget: at least ``min_repeats``, then more until ``seconds`` of timed work or
``max_repeats``.

Training steps are timed on the real code path: a ``pl.Trainer`` fits the project's
LightningModule on random (B, T, F) tensors for ``limit_train_batches`` = warm-up + repeats
batches with ``max_epochs=1``, and a callback times each ``training_step`` (from batch start
to batch end, synchronising the GPU). Both players always update (``freeze_ratio`` 0) and
pretraining windows are the full T (``curriculum_step`` = T), so every step does the same work.

The reference implementation below (:class:`ReferenceGenerator`,
:class:`ReferenceDiscriminator`) is the straightforward way to write the same networks: one
``nn.LSTMCell`` call per layer, direction and time step in eager PyTorch. It is timed through
the very same module and Trainer (its networks swapped in), so the speed-up
reference_ms / ours_ms isolates the network implementation.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
import yaml
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from crnngan.models.acceleration import accelerate, bf16_support
from crnngan.config import MODEL_NAMES, ModelConfig, Params, PreprocessConfig, TrainConfig, load_params, parse_params
from crnngan.data.preprocess import load_songs
from crnngan.constants import TIME_QUANTUM
from crnngan.evaluation.statistics import batch_statistics
from crnngan.data.midi_io import find_midi_files, write_notes
from crnngan.models.networks import Discriminator, Generator, gate_outputs, num_flags
from crnngan.data.representation import feature_width
from crnngan.training.modules import create_module
from crnngan.tools.overlay import merged
from crnngan.training.progress import quiet_lightning

# The paper's sizes (Mogren 2016 and the original code), used when configs/paper.yaml is absent.
PAPER_OVERRIDES: dict[str, Any] = dict(
    hidden_g=350, hidden_d=350, layers_g=2, layers_d=2, batch_size=20, noise_dim=4,
    optimizer="sgd", lr_g=0.1, lr_d=0.05, dropout=0.5, clip_norm=5.0,
)
PAPER_LENGTH = 100  # events per sequence in the paper

# Fast paths timed beside the default step (eager unroll, float32), as train-section
# overrides; each is the same function (tests/test_training.py checks losses and weights).
VARIANTS: dict[str, dict[str, Any]] = {
    "compile": {"compile": True},
    "cudagraphs": {"cuda_graphs": True},
    "compile+cudagraphs": {"compile": True, "cuda_graphs": True},
    "bf16": {"precision": "bf16-mixed"},
    "compile+cudagraphs+bf16": {"compile": True, "cuda_graphs": True, "precision": "bf16-mixed"},
}
SPEEDUP_TARGET = 10.0  # the paper config's adversarial step on an H100-class GPU vs the reference

# Dense (no sparsity) peak TFLOP/s from NVIDIA's data sheets, by a part of the device name;
# the first match wins. fp32 is what float32 matmuls reach (PyTorch leaves TF32 off for them).
GPU_PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H200 NVL", {"fp32": 60.0, "bf16": 835.5}),
    ("H200", {"fp32": 67.0, "bf16": 989.5}),
    ("H100 NVL", {"fp32": 60.0, "bf16": 835.5}),
    ("H100 PCIe", {"fp32": 51.0, "bf16": 756.5}),
    ("H100", {"fp32": 67.0, "bf16": 989.5}),  # SXM5
    ("A100", {"fp32": 19.5, "bf16": 312.0}),
]



def bench_metrics(n_songs: int = 1000, n_events: int = 100, seed: int = 0) -> dict[str, float]:
    """Time :func:`crnngan.evaluation.statistics.batch_statistics` (clean) on random songs; returns songs per second.

    Songs have chords (a third of the onset gaps are 0), pitches 48..72 and velocities
    1..127. Returns ``n_songs``, ``n_events``, ``seconds`` and ``songs_per_s``.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 96, 192, 384], size=(n_songs, n_events), p=[1 / 3, 1 / 3, 1 / 6, 1 / 6])
    onsets = np.cumsum(gaps, axis=1) * TIME_QUANTUM
    pitches = rng.integers(48, 73, size=(n_songs, n_events))
    velocities = rng.integers(1, 128, size=(n_songs, n_events))
    lengths = np.full((n_songs, n_events), 192 * TIME_QUANTUM)
    t0 = time.perf_counter()
    batch_statistics(onsets, pitches, velocities, lengths)
    seconds = time.perf_counter() - t0
    return {"n_songs": n_songs, "n_events": n_events, "seconds": seconds,
            "songs_per_s": n_songs / seconds}


def default_variants(device: torch.device, quick: bool) -> list[str]:
    """Variants worth timing: all on a GPU; on a CPU only compile (CUDA graphs do not exist
    there and bf16 matmuls have no fast units), and none in a quick run, since compiling the
    unrolled loop takes minutes on a CPU."""
    if device.type == "cuda":
        return list(VARIANTS)
    return [] if quick else ["compile"]


def spec_peak(gpu_name: str | None) -> dict[str, float] | None:
    """Data-sheet peak TFLOP/s of ``gpu_name`` (None for a CPU or an unlisted GPU)."""
    for part, peak in GPU_PEAK_TFLOPS:
        if gpu_name and part in gpu_name:
            return peak
    return None


# ----- timing -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Budget:
    """How many runs a measurement makes: ``warmup`` untimed, then at least ``min_repeats``
    timed, more until ``seconds`` of timed work, at most ``max_repeats``; but once the timed
    runs together took ``cap_s``, that is enough (a busy machine can slow steps 20x). The cap
    leaves warm-up out: there a compiled path spends minutes compiling."""

    warmup: int
    min_repeats: int
    max_repeats: int
    seconds: float
    cap_s: float | None = None  # None: no cap

    def done(self, times: Sequence[float]) -> bool:
        """Whether ``times`` (warm-up runs included) are enough."""
        timed = times[self.warmup:]
        if len(timed) >= self.max_repeats or (timed and self.cap_s is not None and sum(timed) >= self.cap_s):
            return True
        return len(timed) >= self.min_repeats and sum(timed) >= self.seconds

    @property
    def max_runs(self) -> int:
        return self.warmup + self.max_repeats


def summarise(times: Sequence[float], budget: Budget) -> dict[str, Any]:
    """Median of the timed runs (warm-up dropped) with the counts behind it."""
    timed = list(times[budget.warmup:])
    # The minimum is the least disturbed figure when other jobs share the machine.
    return {"median_s": statistics.median(timed), "min_s": min(timed), "warmup": budget.warmup,
            "repeats": len(timed), "times_s": [round(t, 6) for t in timed],
            # A compiled path pays its compilation here, in the first run.
            "warmup_times_s": [round(t, 6) for t in times[:budget.warmup]]}


def _sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: wait for them so a timer sees the work it started.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def repeat(fn: Callable[[], Any], budget: Budget, device: torch.device = torch.device("cpu")
           ) -> dict[str, Any]:
    """Time ``fn()`` per ``budget``; returns :func:`summarise`'s dict."""
    times: list[float] = []
    while not budget.done(times):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return summarise(times, budget)


def default_device() -> torch.device:
    """The GPU when there is one, as training's ``accelerator: auto`` picks."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----- machine and memory -------------------------------------------------------------------

def _cpuinfo(key: str) -> str | None:
    """The first ``key`` line of /proc/cpuinfo (None where there is none)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """The CPU's "model name" from /proc/cpuinfo (the platform's processor string elsewhere)."""
    return _cpuinfo("model name") or platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on; the load average shows whether others shared it."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        # The vector units set the peak FLOP/s that the matmul figures can be read against.
        "cpu_simd": [f for f in ("avx2", "fma", "avx512f", "amx_tile")
                     if f in (_cpuinfo("flags") or "").split()],
        "cpu_mhz": float(mhz) if (mhz := _cpuinfo("cpu MHz")) else None,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if gpu else None,
        "pytorch_lightning": pl.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def contention_warning(info: dict[str, Any]) -> str | None:
    """A warning when other jobs already keep cores busy: torch's threads then wait for one
    another at every op, and steps of many small ops ran up to 20x slower (2-core machine)."""
    loads, cores = info["load_average_1_5_15"], info["cpu_cores_usable"] or info["cpu_cores"]
    if loads is None or not cores or loads[0] + info["torch_threads"] <= cores + 0.5:
        return None
    return (f"busy machine: 1-min load {loads[0]:.1f} before the run + {info['torch_threads']} "
            f"torch threads > {cores} cores; timings are disturbed (--threads 1 suffers least)")


def peak_memory() -> dict[str, float | None]:
    """Peak resident set of this process and of its finished children (MiB), and the peak CUDA
    allocation since the last reset (MiB; None without a GPU)."""
    to_mib = 1024.0  # ru_maxrss is in KiB on Linux
    if sys.platform == "darwin":
        to_mib = 1024.0**2  # ...and in bytes on macOS
    return {
        "rss_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / to_mib,
        "rss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / to_mib,
        "cuda_max_allocated_mib": (torch.cuda.max_memory_allocated() / 2**20
                                   if torch.cuda.is_available() else None),
    }


# ----- reference implementation -------------------------------------------------------------

class ReferenceGenerator(nn.Module):
    """:class:`~crnngan.models.networks.Generator` as a per-step ``nn.LSTMCell`` loop, no fusion.

    Same function: concat(z_t, previous event) -> Linear -> ReLU -> LSTMCell stack (dropout
    between layers) -> dropout -> Linear -> the onset / presence gates when free running.
    Parameter names mirror the cells, not nn.LSTM's.
    """

    def __init__(self, num_features: int, hidden: int, layers: int, noise_dim: int, dropout: float,
                 tones_per_step: int = 1) -> None:
        super().__init__()
        self.num_features = num_features
        self.tones_per_step = tones_per_step
        self.hidden = hidden
        self.dropout = dropout
        self.input = nn.Linear(noise_dim + num_features, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.output = nn.Linear(hidden, num_features)

    def _step(self, z_t: Tensor, prev: Tensor, state: list[tuple[Tensor, Tensor]]
              ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """z_t (B, Z), prev (B, F), per-layer (h, c) each (B, H) -> event (B, F), new state."""
        h = torch.relu(self.input(torch.cat([z_t, prev], dim=-1)))  # (B, H)
        new_state = []
        for i, cell in enumerate(self.cells):
            if i:
                h = F.dropout(h, self.dropout, self.training)
            h, c = cell(h, state[i])
            new_state.append((h, c))
        return self.output(F.dropout(h, self.dropout, self.training)), new_state

    def _initial(self, z: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Zero previous event (B, F) and zero (h, c) (B, H) per layer."""
        zeros = z.new_zeros(z.shape[0], self.hidden)
        return z.new_zeros(z.shape[0], self.num_features), [(zeros, zeros)] * len(self.cells)

    def forward(self, z: Tensor) -> Tensor:
        """Free running: z (B, T, Z) -> (B, T, F), each step fed the previous output."""
        prev, state = self._initial(z)
        # The flags' uniforms, drawn as the Generator draws them: (T, B, flags) in one call.
        flags = torch.rand(z.shape[1], z.shape[0], num_flags(self.tones_per_step), device=z.device, dtype=z.dtype)
        outputs = []
        for t in range(z.shape[1]):
            out, state = self._step(z[:, t], prev, state)
            prev = gate_outputs(out, self.tones_per_step, flags[t])
            outputs.append(prev)
        return torch.stack(outputs, dim=1)

    def teacher_forced(self, z: Tensor, x: Tensor) -> Tensor:
        """z (B, T, Z), x (B, T, F) -> (B, T, F), step t fed the real x_{t-1} (zeros at t = 0)."""
        prev, state = self._initial(z)
        outputs = []
        for t in range(z.shape[1]):
            out, state = self._step(z[:, t], x[:, t - 1] if t else prev, state)
            outputs.append(out)
        return torch.stack(outputs, dim=1)


class ReferenceDiscriminator(nn.Module):
    """:class:`~crnngan.models.networks.Discriminator` as explicit forward and backward ``nn.LSTMCell``
    stacks stepped one time step at a time.

    As in nn.LSTM(bidirectional=True), layer l > 0 of both directions reads the concatenated
    (forward, backward) outputs of layer l - 1, so the directions are joined after every layer.
    """

    def __init__(self, num_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.hidden = hidden
        self.dropout = dropout
        sizes = [num_features] + [2 * hidden] * (layers - 1)  # input width of each layer
        self.forward_cells = nn.ModuleList(nn.LSTMCell(n, hidden) for n in sizes)
        self.backward_cells = nn.ModuleList(nn.LSTMCell(n, hidden) for n in sizes)
        self.classifier = nn.Linear(2 * hidden, 1)

    def _run(self, cell: nn.LSTMCell, x: Tensor, reverse: bool) -> Tensor:
        """One direction of one layer: x (B, T, in) -> outputs (B, T, H) in time order."""
        h = c = x.new_zeros(x.shape[0], self.hidden)
        outputs: list[Tensor] = [h] * x.shape[1]
        for t in (reversed(range(x.shape[1])) if reverse else range(x.shape[1])):
            h, c = cell(x[:, t], (h, c))
            outputs[t] = h
        return torch.stack(outputs, dim=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, T, F) -> (probability real (B,), features (B, T, 2H))."""
        h = F.dropout(x, self.dropout, self.training)
        for i, (fwd, bwd) in enumerate(zip(self.forward_cells, self.backward_cells)):
            if i:  # nn.LSTM's dropout between layers
                h = F.dropout(h, self.dropout, self.training)
            h = torch.cat([self._run(fwd, h, False), self._run(bwd, h, True)], dim=-1)  # (B, T, 2H)
        per_step = torch.sigmoid(self.classifier(h)).squeeze(-1)  # (B, T)
        return per_step.mean(dim=1), h


def _copy_cell(cell: nn.LSTMCell, lstm: nn.LSTM, suffix: str) -> None:
    """Copy nn.LSTM's weights of one layer and direction (``suffix`` "l0", "l1_reverse", ...)
    into ``cell``; both use the gate order (input, forget, cell, output)."""
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(lstm, f"{name}_{suffix}").data)


@torch.no_grad()
def reference_generator(g: Generator) -> ReferenceGenerator:
    """A :class:`ReferenceGenerator` holding a copy of ``g``'s weights (same device, mode);
    ``g`` must be the paper's plain network (one candidate, no pitch classes)."""
    if g.hypotheses != 1 or g.pitch is not None:
        raise ValueError("the reference generator has one output and no pitch classes")
    lstm = g.lstm
    # nn.LSTM holds 0 dropout for one layer; the head uses g.dropout either way.
    ref = ReferenceGenerator(g.num_features, lstm.hidden_size, lstm.num_layers, g.noise_dim, g.dropout.p,
                             g.tones_per_step)
    ref.to(g.input.weight.device).train(g.training)
    ref.input.load_state_dict(g.input.state_dict())
    ref.output.load_state_dict(g.output.state_dict())
    for i, cell in enumerate(ref.cells):
        _copy_cell(cell, lstm, f"l{i}")
    return ref


@torch.no_grad()
def reference_discriminator(d: Discriminator) -> ReferenceDiscriminator:
    """A :class:`ReferenceDiscriminator` holding a copy of ``d``'s weights (same device, mode)."""
    if d.pitch is not None:
        raise ValueError("the reference discriminator sees no pitch classes")
    lstm = d.lstm
    ref = ReferenceDiscriminator(lstm.input_size, lstm.hidden_size, lstm.num_layers, d.input_dropout.p)
    ref.to(d.classifier.weight.device).train(d.training)
    ref.classifier.load_state_dict(d.classifier.state_dict())
    for i in range(lstm.num_layers):
        _copy_cell(ref.forward_cells[i], lstm, f"l{i}")
        _copy_cell(ref.backward_cells[i], lstm, f"l{i}_reverse")
    return ref


# ----- preprocessing ------------------------------------------------------------------------

def write_synthetic_corpus(folder: Path, files: int = 24, notes: int = 400, seed: int = 0) -> list[Path]:
    """``files`` one-track MIDI files of ``notes`` random tones each (a third in chords)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(files):
        gaps = rng.choice([0.0, 0.25, 0.5], size=notes, p=[1 / 3, 1 / 3, 1 / 3])
        path = folder / f"synthetic_{i:03d}.mid"
        write_notes(path, np.cumsum(gaps), np.full(notes, 0.5), rng.integers(48, 73, notes),
                    rng.integers(40, 120, notes))
        paths.append(path)
    return paths


def bench_preprocess(paths: Sequence[Path], cfg: PreprocessConfig, workers: Sequence[int],
                     budget: Budget) -> dict[str, Any]:
    """files/s and notes/s of :func:`crnngan.data.preprocess.load_songs` per worker count (0 = one per
    core; the process pool's start-up is counted, as preprocessing pays it once per run), and
    how many files were read (the rest skipped, each with its reason in the manifest)."""
    results: dict[int, list[Any]] = {}

    def once(w: int) -> Callable[[], None]:
        def load() -> None:
            results[w] = load_songs(paths, cfg, w)
        return load

    # load_songs draws a tqdm bar on stderr; keep it out of the benchmark's report.
    with contextlib.redirect_stderr(io.StringIO()):
        timings = {w: repeat(once(w), budget) for w in workers}
    read = [r for r in results[workers[0]] if r.events is not None]
    n_notes = sum(len(r.events) for r in read)
    out: dict[str, Any] = {"files": len(paths), "read": len(read), "notes": n_notes, "by_workers": {}}
    for w, timing in timings.items():
        n = w or os.cpu_count() or 1
        timing.update(files_per_s=len(paths) / timing["median_s"], notes_per_s=n_notes / timing["median_s"],
                      # as load_songs decides: a pool only for several workers and >= 4 files
                      processes=1 if n == 1 or len(paths) < 4 else min(n, len(paths)))
        out["by_workers"][str(w)] = timing
    return out


# ----- training -----------------------------------------------------------------------------

class _StepTimer(pl.Callback):
    """Times each training batch (training_step plus Lightning's per-batch hooks) and stops
    the fit once ``budget`` is met."""

    def __init__(self, budget: Budget, device: torch.device) -> None:
        self.budget = budget
        self.device = device
        self.times: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        _sync(self.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        _sync(self.device)
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
    return dataclasses.replace(cfg, pretrain_epochs=int(phase == "pretrain"), curriculum_step=length,
                               freeze_ratio=0.0)


def bench_training_step(cfg: ModelConfig, phase: str, length: int, budget: Budget,
                        train_cfg: TrainConfig = TrainConfig(), *, reference: bool = False,
                        device: torch.device | None = None, seed: int = 0) -> dict[str, Any]:
    """ms per training step and sequences/s of ``cfg``'s module, driven by a Trainer.

    ``phase`` "adversarial" is one D update then one G update on the same fake batch;
    "pretrain" is one teacher-forced next-event update of G (the baseline's only step).
    ``reference`` swaps in the :class:`ReferenceGenerator` / :class:`ReferenceDiscriminator`
    (same initial weights). ``train_cfg`` supplies precision, determinism and the unroll
    (``compile``, ``cuda_graphs``; the reference ignores these and always runs eagerly).
    """
    device = device or default_device()
    cfg = _bench_config(cfg, phase, length)
    if reference:  # the reference is the paper's plain network: one output, raw pitch
        cfg = dataclasses.replace(cfg, hypotheses=1, pitch_classes=False)
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
        accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
        precision=train_cfg.precision, deterministic=train_cfg.deterministic,
        max_epochs=1, limit_train_batches=budget.max_runs, num_sanity_val_steps=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[timer],
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
        "unroll": unroll, "precision": train_cfg.precision,
        "batch_size": cfg.batch_size, "length": length, "hidden_g": cfg.hidden_g,
        "hidden_d": cfg.hidden_d if cfg.kind == "gan" else None,
        "lstm_gflop_per_step": flops / 1e9,
        "lstm_gflop_per_s": flops / timing["median_s"] / 1e9,
        "cuda_max_allocated_mib": (torch.cuda.max_memory_allocated(device) / 2**20
                                   if device.type == "cuda" else None),
    }


def bench_matmul(m: int, k: int, n: int, budget: Budget, device: torch.device | None = None,
                 dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """Achieved GFLOP/s of one (m, k) @ (k, n) matmul in ``dtype``: the hardware's practical
    peak at that shape, to set the LSTM figures against."""
    device = device or default_device()
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    timing = repeat(lambda: a @ b, budget, device)
    flops = 2.0 * m * k * n
    return {**timing, "shape": [m, k, n], "dtype": str(dtype).removeprefix("torch."),
            "gflop_per_s": flops / timing["median_s"] / 1e9,
            "best_gflop_per_s": flops / timing["min_s"] / 1e9}


# ----- sampling and evaluation ----------------------------------------------------------------

def bench_sampling(cfg: ModelConfig, count: int, length: int, budget: Budget,
                   device: torch.device | None = None, seed: int = 0) -> dict[str, Any]:
    """songs/s of ``module.generate(count, length)`` (free running, no gradients)."""
    device = device or default_device()
    torch.manual_seed(seed)
    module = create_module(cfg, feature_width(cfg.tones_per_step), length, fixed_samples=1).to(device)
    timing = repeat(lambda: module.generate(count, length), budget, device)
    return {**timing, "songs": count, "length": length, "songs_per_s": count / timing["median_s"]}


def bench_evaluation(n_songs: int, n_events: int, budget: Budget) -> dict[str, Any]:
    """songs/s of :func:`bench_metrics` (the paper's statistics, vectorised);
    its own timer excludes drawing the random songs."""
    times: list[float] = []
    while not budget.done(times):
        times.append(bench_metrics(n_songs, n_events)["seconds"])
    timing = summarise(times, budget)
    return {**timing, "songs": n_songs, "events": n_events, "songs_per_s": n_songs / timing["median_s"]}


# ----- the whole benchmark ------------------------------------------------------------------

def paper_params(params_path: Path, overlay_path: Path) -> Params:
    """params.yaml with the paper overlay when it exists, else with :data:`PAPER_OVERRIDES`."""
    base = yaml.safe_load(params_path.read_text())
    if overlay_path.exists():
        return parse_params(merged(base, yaml.safe_load(overlay_path.read_text()) or {}))
    params = parse_params(base)
    models = {name: dataclasses.replace(m, **PAPER_OVERRIDES) for name, m in params.models.items()}
    preprocess = dataclasses.replace(params.preprocess, segment_length=PAPER_LENGTH)
    return dataclasses.replace(params, models=models, preprocess=preprocess)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Budgets of one benchmark run (``--quick`` or full)."""

    small: Budget  # default-config steps, sampling, evaluation, matmul
    large: Budget  # paper-config steps and sampling: seconds each on a 2-core CPU
    preprocess: Budget
    max_files: int | None  # preprocess at most this many corpus files (None: all)
    paper_length: int | None  # paper-config training sequence length (None: the config's)


PLANS = {
    "full": Plan(small=Budget(2, 5, 30, 2.0, cap_s=30.0), large=Budget(1, 5, 10, 10.0, cap_s=40.0),
                 preprocess=Budget(1, 3, 5, 5.0, cap_s=40.0), max_files=None, paper_length=None),
    # A smoke run: one timed repeat where a step takes seconds, paper-sized nets on T = 25.
    "quick": Plan(small=Budget(1, 3, 5, 0.0, cap_s=10.0), large=Budget(1, 1, 1, 0.0),
                  preprocess=Budget(1, 1, 1, 0.0), max_files=16, paper_length=25),
}


_T0 = time.perf_counter()


def _log(msg: str) -> None:
    """Progress on stderr, stamped with seconds since start-up."""
    print(f"[{time.perf_counter() - _T0:6.0f} s] {msg}", file=sys.stderr, flush=True)


def add_speedups(steps: dict[str, dict[str, Any]]) -> None:
    """Give each crnngan row (fast-path variants included) its speed-up over the reference row
    of its phase: reference / row, from the medians and (``speedup_min``) the fastest repeats."""
    for key, row in steps.items():
        ref = steps.get(f"reference/{key.split('/')[-1].split('[')[0]}")
        if key.startswith("crnngan/") and ref is not None:
            row["speedup"] = ref["median_s"] / row["median_s"]
            row["speedup_min"] = ref["min_s"] / row["min_s"]


def add_peak_shares(training: dict[str, dict[str, dict[str, Any]]], peak: dict[str, Any]) -> None:
    """Give each training row its LSTM FLOP/s as a share of the measured matmul peak of its
    precision and, on a listed GPU, of the data-sheet peak."""
    for steps in training.values():
        for row in steps.values():
            dtype = "bf16" if row["precision"].startswith("bf16") else "fp32"
            measured = peak["measured_gflop_per_s"].get(dtype, peak["measured_gflop_per_s"]["fp32"])
            row["share_of_measured_peak"] = row["lstm_gflop_per_s"] / measured
            spec = peak["spec_tflop_per_s"]
            row["share_of_spec_peak"] = row["lstm_gflop_per_s"] / (spec[dtype] * 1e3) if spec else None


def speedup_target(steps: dict[str, dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """The fastest crnngan adversarial path of ``steps`` (the paper config) against the
    reference, and whether it reaches :data:`SPEEDUP_TARGET` (a target set for GPUs)."""
    rows = {k: v for k, v in steps.items() if k.startswith("crnngan/adversarial")}
    best = min(rows, key=lambda k: rows[k]["median_s"])
    speedup = rows[best]["speedup"]
    return {"best": best, "speedup": speedup, "target": SPEEDUP_TARGET,
            "met": speedup >= SPEEDUP_TARGET, "on_gpu": device.type == "cuda"}


def run(params_path: Path, overlay_path: Path, quick: bool, variants: Sequence[str] | None = None,
        paper_data: Path | None = None) -> dict[str, Any]:
    """Every measurement; returns the JSON-ready results. ``variants`` (names of
    :data:`VARIANTS`) defaults to :func:`default_variants`. ``paper_data``: a folder of the
    paper's MIDI (``make paper-data``) whose preprocessing is timed too, once serial and once
    with one process per core (a single pass each: the full set takes minutes)."""
    start = time.perf_counter()
    plan = PLANS["quick" if quick else "full"]
    device = default_device()
    variants = default_variants(device, quick) if variants is None else list(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    params = load_params(params_path)
    configs = {"default": params, "paper": paper_params(params_path, overlay_path)}
    machine = machine_info()
    results: dict[str, Any] = {
        "machine": machine, "warning": contention_warning(machine), "mode": "quick" if quick else "full",
        "device": str(device), "plans": dataclasses.asdict(plan), "variants": variants, "memory": {},
    }

    _log("preprocessing ...")
    corpus = Path(params.data.midi_dir)
    paths = find_midi_files(corpus) if corpus.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        source = str(corpus)
        if not paths:
            paths, source = write_synthetic_corpus(Path(tmp)), "synthetic (crnngan.data.midi_io.write_notes)"
        paths = paths[:plan.max_files]
        # Serial, the configured default and one process per core (0), each once.
        workers = list(dict.fromkeys([1, params.preprocess.workers, 0]))
        pre = bench_preprocess(paths, params.preprocess, workers, plan.preprocess)
    results["preprocess"] = {"source": source, "default_workers": params.preprocess.workers, **pre}
    if paper_data is not None and paper_data.is_dir():
        _log(f"preprocessing the paper's data in {paper_data} ...")
        paths = find_midi_files(paper_data)[:plan.max_files]
        pre = bench_preprocess(paths, params.preprocess, [1, 0], Budget(0, 1, 1, 0.0))
        results["preprocess_paper"] = {"source": str(paper_data), "default_workers": None, **pre}
    results["memory"]["after_preprocess"] = peak_memory()

    results["training"] = {}
    results["sampling"] = {}
    failed: dict[str, str] = results.setdefault("failed", {})  # key -> the error, for the report
    # key -> why this machine cannot run the variant at all (not a failure of the code)
    unsupported: dict[str, str] = results.setdefault("unsupported", {})
    for cname, p in configs.items():
        budget = plan.small if cname == "default" else plan.large
        length = (cname == "paper" and plan.paper_length) or p.preprocess.segment_length
        train: dict[str, Any] = {}
        for name in MODEL_NAMES:
            cfg = p.models[name]
            phases = ("adversarial", "pretrain") if cfg.kind == "gan" else ("pretrain",)
            for phase in phases:
                _log(f"training step: {cname} {name} {phase} ...")
                train[f"{name}/{phase}"] = bench_training_step(cfg, phase, length, budget, p.train,
                                                              device=device, seed=p.seed)
            _log(f"sampling: {cname} {name} ...")
            results["sampling"][f"{cname}/{name}"] = bench_sampling(
                cfg, p.sample.count, p.sample.length, budget, device, p.seed)
        for variant in variants:
            key = f"{cname}/crnngan/adversarial[{variant}]"
            precision = VARIANTS[variant].get("precision", p.train.precision)
            reason = bf16_support(device.type) if precision.startswith("bf16") else None
            if reason is not None:
                _log(f"training step: {cname} crnngan adversarial [{variant}]: unsupported here ({reason})")
                unsupported[key] = reason
                continue
            _log(f"training step: {cname} crnngan adversarial [{variant}] ...")
            try:
                train[f"crnngan/adversarial[{variant}]"] = bench_training_step(
                    p.models["crnngan"], "adversarial", length, budget,
                    dataclasses.replace(p.train, **VARIANTS[variant]), device=device, seed=p.seed)
            except Exception as exc:  # noqa: BLE001 - one failing fast path must not cost the others' figures
                _log(f"  failed: {exc!r}")
                failed[key] = repr(exc)
        for phase in ("adversarial", "pretrain"):
            _log(f"training step: {cname} reference {phase} ...")
            train[f"reference/{phase}"] = bench_training_step(
                p.models["crnngan"], phase, length, budget, p.train, reference=True, device=device, seed=p.seed)
        add_speedups(train)
        results["training"][cname] = train
        results["memory"][f"after_{cname}_config"] = peak_memory()

    _log("evaluation, matmul peak ...")
    results["evaluation"] = bench_evaluation(1000, 100, plan.small)
    paper = configs["paper"].models["crnngan"]
    h = paper.hidden_g
    results["matmul"] = {
        # One LSTM cell step of the paper's G: (B, in + H) @ (in + H, 4H).
        "lstm_cell_shape": bench_matmul(paper.batch_size, 2 * h, 4 * h, plan.small, device),
        "large_square": bench_matmul(2048, 2048, 2048, plan.small, device),
    }
    measured = {"fp32": results["matmul"]["large_square"]["gflop_per_s"]}
    if device.type == "cuda":
        # A GPU's practical peak needs a larger problem, and bf16 has its own tensor-core peak.
        for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            big = bench_matmul(8192, 8192, 8192, plan.small, device, dtype)
            results["matmul"][f"large_square_{name}_8192"] = big
            measured[name] = big["gflop_per_s"]
    results["peak"] = {"measured_gflop_per_s": measured, "spec_tflop_per_s": spec_peak(machine["gpu"])}
    add_peak_shares(results["training"], results["peak"])
    results["target"] = speedup_target(results["training"]["paper"], device)
    results["memory"]["final"] = peak_memory()
    results["machine"]["load_average_1_5_15_at_end"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None)
    results["wall_s"] = time.perf_counter() - start
    return results


def _fmt(x: float) -> str:
    """Three significant digits, no exponent for everyday magnitudes."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _loads(loads: list[float] | None) -> str:
    return "n/a" if loads is None else "/".join(f"{x:.1f}" for x in loads)


def _preprocess_lines(pre: dict[str, Any]) -> list[str]:
    lines = [f"preprocessing: {pre['files']} files ({pre['read']} read), {pre['notes']:,} notes "
             f"from {pre['source']}"]
    for w, t in pre["by_workers"].items():
        default = " (default)" if int(w) == pre["default_workers"] else ""
        lines.append(f"  workers={w}{default} ({t['processes']} processes): {_fmt(t['files_per_s'])} "
                     f"files/s, {_fmt(t['notes_per_s'])} notes/s  [w{t['warmup']} r{t['repeats']}]")
    return lines


def format_table(results: dict[str, Any]) -> str:
    """The results as a readable plain-text report."""
    m = results["machine"]
    lines = [
        f"crnngan benchmark ({results['mode']}) on {m['cpu_model']}, {m['cpu_cores']} cores, "
        f"{m['torch_threads']} torch threads, GPU: {m['gpu'] or 'none'}; torch {m['torch']}; {m['date']}",
        f"{m['cpu_mhz'] or '?'} MHz, SIMD {', '.join(m['cpu_simd']) or 'unknown'}; "
        f"load average (1, 5, 15 min) at start {_loads(m['load_average_1_5_15'])}, "
        f"at end {_loads(m['load_average_1_5_15_at_end'])}; whole run {results['wall_s']:.0f} s",
        "figures: median of the timed repeats (r) after warm-up (w)",
        *([f"WARNING: {results['warning']}"] if results["warning"] else []), "",
    ]
    for key in ("preprocess", "preprocess_paper"):
        if key in results:
            lines += _preprocess_lines(results[key])
    lines += ["", "training steps (Trainer-driven training_step; adversarial = D update + G update)",
              f"  {'model/step':36} {'ms/step':>9} {'(min)':>8} {'seq/s':>7} {'LSTM GFLOP/s':>12} "
              f"{'% peak':>7} {'speed-up':>8} {'(min)':>6}  runs (first run)"]
    for cname, steps in results["training"].items():
        t0 = steps["crnngan/adversarial"]
        lines.append(f" {cname} config: B {t0['batch_size']}, T {t0['length']}, "
                     f"H_g {t0['hidden_g']}, H_d {t0['hidden_d']}")
        for key, t in steps.items():
            speedup = (f"{t['speedup']:.2f}x {t['speedup_min']:.2f}x" if "speedup" in t else "")
            first = f" ({t['warmup_times_s'][0]:.1f} s)" if t["warmup_times_s"] else ""
            lines.append(f"  {key:36} {_fmt(t['ms_per_step']):>9} {_fmt(t['min_s'] * 1e3):>8} "
                         f"{_fmt(t['sequences_per_s']):>7} {_fmt(t['lstm_gflop_per_s']):>12} "
                         f"{100 * t['share_of_measured_peak']:>6.1f}% {speedup:>15}  "
                         f"w{t['warmup']} r{t['repeats']}{first}")
    peak = results["peak"]
    target = results["target"]
    spec = peak["spec_tflop_per_s"]
    lines += [
        "  [variant] = the same step on a fast path (crnngan.models.acceleration): compile = torch.compile "
        "of G's unroll, cudagraphs = CUDA graphs, bf16 = bf16-mixed precision; the first run pays "
        "compilation",
        "  speed-up = reference_ms / crnngan_ms of the same step (> 1: ours is faster), from the "
        "medians and (min) from the fastest repeats; the reference is the per-step nn.LSTMCell loop",
        "  LSTM GFLOP/s: 2*B*(in+H)*4H per cell step, backward 2x forward (1x for D in the G phase), "
        "over the median time; % peak: of the measured large matmul of the same precision "
        f"({', '.join(f'{k} {_fmt(v)} GFLOP/s' for k, v in peak['measured_gflop_per_s'].items())})"
        + (f"; data-sheet peak {spec['fp32']:g} TFLOP/s fp32, {spec['bf16']:g} bf16" if spec else ""),
        f"  paper config, fastest adversarial path {target['best']}: {target['speedup']:.1f}x the "
        f"reference (target >= {target['target']:g}x on an H100-class GPU: "
        + ("met" if target["met"] else "not met") + ("" if target["on_gpu"] else "; measured on a CPU, "
                                                     "so the target does not apply") + ")",
    ]
    lines += ["", "sampling (module.generate)"]
    for key, t in results["sampling"].items():
        lines.append(f"  {key:24} {_fmt(t['songs_per_s']):>8} songs/s of {t['length']} steps "
                     f"[w{t['warmup']} r{t['repeats']}]")
    ev = results["evaluation"]
    lines += ["", f"evaluation (bench_metrics): {_fmt(ev['songs_per_s'])} songs/s "
                  f"({ev['songs']} songs x {ev['events']} events) [w{ev['warmup']} r{ev['repeats']}]"]
    for key, t in results["matmul"].items():
        lines.append(f"matmul {key} {t['shape']}: {_fmt(t['gflop_per_s'])} GFLOP/s "
                     f"(best {_fmt(t['best_gflop_per_s'])})  [w{t['warmup']} r{t['repeats']}]")
    for key, reason in results["unsupported"].items():
        lines.append(f"UNSUPPORTED {key}: this machine cannot run it ({reason})")
    for key, error in results["failed"].items():
        lines.append(f"FAILED {key}: {error}")
    mem = results["memory"]["final"]
    cuda = mem["cuda_max_allocated_mib"]
    lines.append(f"peak RSS: {_fmt(mem['rss_self_mib'])} MiB (process), {_fmt(mem['rss_children_mib'])} MiB "
                 f"(largest worker)" + (f"; CUDA max allocated {_fmt(cuda)} MiB" if cuda is not None else ""))
    return "\n".join(lines)


def _quiet() -> None:
    """Silence Lightning's per-fit banners and advice; the report is the output."""
    quiet_lightning()  # the tips and warnings training silences; then every banner too
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*but have no `val_dataloader`.*")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results.json"))
    ap.add_argument("--quick", action="store_true", help="fewer repeats and files (a smoke run)")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--paper", type=Path, default=Path("configs/paper.yaml"),
                    help="paper overlay; the paper's sizes are built in when it is absent")
    ap.add_argument("--paper-data", type=Path, default=Path("data/paper/classical"),
                    help="the paper's MIDI (make paper-data); its preprocessing is timed when present")
    ap.add_argument("--variants", default=None,
                    help=f"comma-separated fast paths to time beside the default step ({', '.join(VARIANTS)}; "
                         "'' for none); default: all on a GPU, compile on a CPU, none with --quick on a CPU")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default: torch's, one per core)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    _quiet()
    variants = None if args.variants is None else [v for v in args.variants.split(",") if v]
    results = run(args.params, args.paper, args.quick, variants, args.paper_data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(results))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
