"""Fast paths for the generator's free-running unroll: torch.compile and CUDA graphs.

The generator is autoregressive, so its T-step loop (:func:`crnngan.models.networks.free_run`) issues
about ten small ops per layer and step: in eager mode a GPU waits on kernel launches and a CPU
on Python. Two switches in ``params.yaml`` (``train.compile``, ``train.cuda_graphs``) pick
how the loop runs; each computes the same function as the eager loop (tests train both ways
and compare losses and weights):

==========  ===========  ===========================================================
compile     cuda_graphs  the unroll
==========  ===========  ===========================================================
false       false        eager fused-cell loop (the default)
true        false        ``torch.compile``: Inductor fuses the loop's pointwise work
                         (forward and backward) into a few generated kernels
false       true         ``torch.compile(backend="cudagraphs")``: the eager kernels,
                         captured once per shape and replayed as one CUDA graph
true        true         ``torch.compile(mode="reduce-overhead")``: both
==========  ===========  ===========================================================

CUDA graphs exist only on NVIDIA GPUs; on a CPU ``cuda_graphs`` is dropped with a warning, so
one params file serves both machines.

Only the training unroll (gradients on) is compiled, once for all batch sizes: on the 2-core
CPU that took about 7 min for T = 100 (cached on disk by Inductor afterwards), and the
compiled step was barely faster than the eager one there (figures in ``bench/``); the gain
is meant for GPUs, where every op of the loop is a kernel launch.
Without gradients (sampling, validation, a frozen G) the eager loop runs.

``train.precision: bf16-mixed`` needs bf16 LSTM kernels on the training device. A CPU's come
from oneDNN, which has them only with AVX-512 (BF16) instructions: on an AVX2-only CPU the
first bf16 LSTM call dies with "could not create a primitive descriptor". :func:`bf16_support`
tries a tiny LSTM once per device type, and :func:`check_precision` turns a "no" into a
:class:`~crnngan.config.ConfigError` naming ``train.precision`` before anything trains
(failing beats a silent fallback: the user asked for a precision and would otherwise get
numbers of another one).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from crnngan.config import ConfigError
from crnngan.models.networks import Generator, free_run

Unroll = Callable[..., Tensor]  # free_run's signature


def unroll_name(compile: bool, cuda_graphs: bool) -> str:
    """A short label of the unroll a setting selects: eager, compile, cudagraphs, compile+cudagraphs."""
    return "+".join([name for name, on in (("compile", compile), ("cudagraphs", cuda_graphs)) if on]) or "eager"


@functools.cache
def _compiled(compile: bool, cuda_graphs: bool) -> Unroll:
    """One compiled unroll per setting, shared by every generator (the weights are inputs).

    fullgraph: the loop must become one graph; a graph break would silently run most of it
    eagerly again, so it raises instead.
    """
    if compile:
        fn = torch.compile(free_run, fullgraph=True, mode="reduce-overhead" if cuda_graphs else None)
    else:
        fn = torch.compile(free_run, fullgraph=True, backend="cudagraphs")

    def unroll(drive: Tensor, masks: Tensor | None, flags: Tensor | None, *weights: Any) -> Tensor:
        if not torch.is_grad_enabled():
            # Sampling, validation and a frozen G's batches: cheap next to the training
            # unroll's forward + backward, and not worth minutes of compiling each on a CPU.
            return free_run(drive, masks, flags, *weights)
        # One graph for every batch size (the last batch of an epoch is smaller) instead of a
        # recompilation for the second size.
        torch._dynamo.maybe_mark_dynamic(drive, 0)
        if masks is not None:
            torch._dynamo.maybe_mark_dynamic(masks, 2)
        if flags is not None:
            torch._dynamo.maybe_mark_dynamic(flags, 1)
        if cuda_graphs:
            # A CUDA graph replay overwrites the previous replay's outputs. Every call starts a
            # new "step": the caller has consumed (or backpropagated through) the last output.
            torch.compiler.cudagraph_mark_step_begin()
        return fn(drive, masks, flags, *weights)

    unroll.__name__ = f"free_run[{unroll_name(compile, cuda_graphs)}]"
    return unroll


def select_unroll(compile: bool, cuda_graphs: bool, device_type: str) -> tuple[Unroll, str]:
    """The unroll for ``train.compile`` / ``train.cuda_graphs`` on a ``device_type`` ("cpu",
    "cuda", ...) device, and its label (:func:`unroll_name` of what actually runs)."""
    if cuda_graphs and device_type != "cuda":
        warnings.warn(
            f"train.cuda_graphs needs a CUDA device, training runs on {device_type}: continuing without CUDA graphs",
            stacklevel=2,
        )
        cuda_graphs = False
    label = unroll_name(compile, cuda_graphs)
    return (free_run if label == "eager" else _compiled(compile, cuda_graphs)), label


def accelerate(generator: Generator, compile: bool, cuda_graphs: bool, device_type: str) -> str:
    """Make ``generator`` run its unroll as selected; returns the label of what it now runs."""
    generator.unroll, label = select_unroll(compile, cuda_graphs, device_type)
    return label


@functools.cache
def bf16_support(device_type: str) -> str | None:
    """None if bf16 autocast runs the models' LSTMs on ``device_type`` ("cpu", "cuda"), else
    why not. Probes a tiny bidirectional nn.LSTM and the fused cell, forward and backward, as
    training would use them; cached, so the probe runs once per process and device type."""
    try:
        device = torch.device(device_type)
        lstm = torch.nn.LSTM(4, 8, 2, batch_first=True, bidirectional=True).to(device)
        x = torch.randn(2, 3, 4, device=device, requires_grad=True)  # (B, T, F)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out, _ = lstm(x)  # (B, T, 16)
            h, _ = torch.lstm_cell(
                x[:, 0],
                (out[:, 0, :8], out[:, 0, 8:]),
                lstm.weight_ih_l0,
                lstm.weight_hh_l0,
                lstm.bias_ih_l0,
                lstm.bias_hh_l0,
            )
        (out.float().sum() + h.float().sum()).backward()
    except (RuntimeError, AssertionError) as exc:  # oneDNN / CUDA refusals; no CUDA build
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def check_precision(precision: str, device_type: str) -> None:
    """Fail fast, naming ``train.precision``, if ``precision`` cannot run on ``device_type``."""
    if not precision.startswith("bf16"):
        return
    reason = bf16_support(device_type)
    if reason is not None:
        raise ConfigError(
            f"train.precision: {precision} is not supported on this {device_type} ({reason}); use 32-true"
        )
