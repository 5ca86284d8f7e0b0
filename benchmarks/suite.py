"""The whole benchmark: every measurement in turn, on the default and the paper config,
returned as one JSON-ready dict (:func:`run`)."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.derived import add_peak_shares, add_speedups, speedup_target
from benchmarks.evaluation import bench_evaluation
from benchmarks.gpu_specs import spec_peak
from benchmarks.machine import contention_warning, default_device, load_average, machine_info, peak_memory
from benchmarks.matmul import bench_matmul
from benchmarks.plan import PLANS, VARIANTS, default_variants, paper_params
from benchmarks.preprocessing import bench_preprocess, write_synthetic_corpus
from benchmarks.sampling import bench_sampling
from benchmarks.timing import Budget
from benchmarks.training_step import bench_training_step
from crnngan.config import MODEL_NAMES, load_params
from crnngan.data.midi_io import find_midi_files
from crnngan.models.acceleration import bf16_support

_T0 = time.perf_counter()


def _log(msg: str) -> None:
    """Progress on stderr, stamped with seconds since start-up."""
    print(f"[{time.perf_counter() - _T0:6.0f} s] {msg}", file=sys.stderr, flush=True)


def run(
    params_path: Path,
    overlay_path: Path,
    quick: bool,
    variants: Sequence[str] | None = None,
    paper_data: Path | None = None,
) -> dict[str, Any]:
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
        "machine": machine,
        "warning": contention_warning(machine),
        "mode": "quick" if quick else "full",
        "device": str(device),
        "plans": dataclasses.asdict(plan),
        "variants": variants,
        "memory": {},
    }

    _log("preprocessing ...")
    corpus = Path(params.data.midi_dir)
    paths = find_midi_files(corpus) if corpus.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        source = str(corpus)
        if not paths:
            paths, source = write_synthetic_corpus(Path(tmp)), "synthetic (crnngan.data.midi_io.write_notes)"
        paths = paths[: plan.max_files]
        # Serial, the configured default and one process per core (0), each once.
        workers = list(dict.fromkeys([1, params.preprocess.workers, 0]))
        pre = bench_preprocess(paths, params.preprocess, workers, plan.preprocess)
    results["preprocess"] = {"source": source, "default_workers": params.preprocess.workers, **pre}
    if paper_data is not None and paper_data.is_dir():
        _log(f"preprocessing the paper's data in {paper_data} ...")
        paths = find_midi_files(paper_data)[: plan.max_files]
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
                train[f"{name}/{phase}"] = bench_training_step(
                    cfg, phase, length, budget, p.train, device=device, seed=p.seed
                )
            _log(f"sampling: {cname} {name} ...")
            results["sampling"][f"{cname}/{name}"] = bench_sampling(
                cfg, p.sample.count, p.sample.length, budget, device, p.seed
            )
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
                    p.models["crnngan"],
                    "adversarial",
                    length,
                    budget,
                    dataclasses.replace(p.train, **VARIANTS[variant]),
                    device=device,
                    seed=p.seed,
                )
            except Exception as exc:  # noqa: BLE001 - one failing fast path must not cost the others' figures
                _log(f"  failed: {exc!r}")
                failed[key] = repr(exc)
        for phase in ("adversarial", "pretrain"):
            _log(f"training step: {cname} reference {phase} ...")
            train[f"reference/{phase}"] = bench_training_step(
                p.models["crnngan"], phase, length, budget, p.train, reference=True, device=device, seed=p.seed
            )
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
    results["machine"]["load_average_1_5_15_at_end"] = load_average()
    results["wall_s"] = time.perf_counter() - start
    return results
