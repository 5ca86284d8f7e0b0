"""Throughput benchmark: preprocessing, training steps, sampling, evaluation and memory.

Run as ``python -m benchmarks.bench --out bench/results.json [--quick]``. Every figure is the
median of timed repeats that follow untimed warm-up runs (benchmarks.timing). The run
(benchmarks.suite) times preprocessing (benchmarks.preprocessing), each model's training step
at the default and the paper configuration, on every fast path and against the per-step
``nn.LSTMCell`` reference (benchmarks.training_step, benchmarks.reference), sampling
(benchmarks.sampling), the paper's statistics (benchmarks.evaluation) and the matmul peak
(benchmarks.matmul, benchmarks.gpu_specs); benchmarks.derived adds speed-ups and shares of
peak, benchmarks.machine the machine and memory, benchmarks.report the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from benchmarks.plan import VARIANTS
from benchmarks.report import format_table
from benchmarks.suite import run
from crnngan.training.progress import quiet_lightning


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
    ap.add_argument(
        "--paper",
        type=Path,
        default=Path("configs/paper.yaml"),
        help="the paper's configuration, as an overlay of --params",
    )
    ap.add_argument(
        "--paper-data",
        type=Path,
        default=Path("data/paper/classical"),
        help="the paper's MIDI (make paper-data); its preprocessing is timed when present",
    )
    ap.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated fast paths to time beside the default step ({', '.join(VARIANTS)}; "
        "'' for none); default: all on a GPU, compile on a CPU, none with --quick on a CPU",
    )
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's, one per core)")
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
