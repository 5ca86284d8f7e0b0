"""The benchmark's plain-text report of the results (:func:`format_table`)."""

from __future__ import annotations

import math
from typing import Any


def _fmt(x: float) -> str:
    """Three significant digits, no exponent for everyday magnitudes."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _loads(loads: list[float] | None) -> str:
    return "n/a" if loads is None else "/".join(f"{x:.1f}" for x in loads)


def _preprocess_lines(pre: dict[str, Any]) -> list[str]:
    lines = [f"preprocessing: {pre['files']} files ({pre['read']} read), {pre['notes']:,} notes from {pre['source']}"]
    for w, t in pre["by_workers"].items():
        default = " (default)" if int(w) == pre["default_workers"] else ""
        lines.append(
            f"  workers={w}{default} ({t['processes']} processes): {_fmt(t['files_per_s'])} "
            f"files/s, {_fmt(t['notes_per_s'])} notes/s  [w{t['warmup']} r{t['repeats']}]"
        )
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
        *([f"WARNING: {results['warning']}"] if results["warning"] else []),
        "",
    ]
    for key in ("preprocess", "preprocess_paper"):
        if key in results:
            lines += _preprocess_lines(results[key])
    lines += [
        "",
        "training steps (Trainer-driven training_step; adversarial = D update + G update)",
        f"  {'model/step':36} {'ms/step':>9} {'(min)':>8} {'seq/s':>7} {'LSTM GFLOP/s':>12} "
        f"{'% peak':>7} {'speed-up':>8} {'(min)':>6}  runs (first run)",
    ]
    for cname, steps in results["training"].items():
        t0 = steps["crnngan/adversarial"]
        lines.append(
            f" {cname} config: B {t0['batch_size']}, T {t0['length']}, H_g {t0['hidden_g']}, H_d {t0['hidden_d']}"
        )
        for key, t in steps.items():
            speedup = f"{t['speedup']:.2f}x {t['speedup_min']:.2f}x" if "speedup" in t else ""
            first = f" ({t['warmup_times_s'][0]:.1f} s)" if t["warmup_times_s"] else ""
            lines.append(
                f"  {key:36} {_fmt(t['ms_per_step']):>9} {_fmt(t['min_s'] * 1e3):>8} "
                f"{_fmt(t['sequences_per_s']):>7} {_fmt(t['lstm_gflop_per_s']):>12} "
                f"{100 * t['share_of_measured_peak']:>6.1f}% {speedup:>15}  "
                f"w{t['warmup']} r{t['repeats']}{first}"
            )
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
        + ("met" if target["met"] else "not met")
        + ("" if target["on_gpu"] else "; measured on a CPU, so the target does not apply")
        + ")",
    ]
    lines += ["", "sampling (module.generate)"]
    for key, t in results["sampling"].items():
        lines.append(
            f"  {key:24} {_fmt(t['songs_per_s']):>8} songs/s of {t['length']} steps [w{t['warmup']} r{t['repeats']}]"
        )
    ev = results["evaluation"]
    lines += [
        "",
        f"evaluation (bench_metrics): {_fmt(ev['songs_per_s'])} songs/s "
        f"({ev['songs']} songs x {ev['events']} events) [w{ev['warmup']} r{ev['repeats']}]",
    ]
    for key, t in results["matmul"].items():
        lines.append(
            f"matmul {key} {t['shape']}: {_fmt(t['gflop_per_s'])} GFLOP/s "
            f"(best {_fmt(t['best_gflop_per_s'])})  [w{t['warmup']} r{t['repeats']}]"
        )
    for key, reason in results["unsupported"].items():
        lines.append(f"UNSUPPORTED {key}: this machine cannot run it ({reason})")
    for key, error in results["failed"].items():
        lines.append(f"FAILED {key}: {error}")
    mem = results["memory"]["final"]
    cuda = mem["cuda_max_allocated_mib"]
    lines.append(
        f"peak RSS: {_fmt(mem['rss_self_mib'])} MiB (process), {_fmt(mem['rss_children_mib'])} MiB "
        f"(largest worker)" + (f"; CUDA max allocated {_fmt(cuda)} MiB" if cuda is not None else "")
    )
    return "\n".join(lines)
