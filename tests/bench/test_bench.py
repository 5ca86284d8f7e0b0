"""Benchmark harness: every measurement runs on tiny sizes and returns positive finite figures
(no timing assertions). The reference networks' equivalence: test_reference.py."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
import yaml
from params_fixtures import tiny_model, tiny_raw
from stage_scripts import REPO as ROOT

from benchmarks import suite
from benchmarks.bench import _quiet
from benchmarks.derived import add_peak_shares, add_speedups, speedup_target
from benchmarks.evaluation import bench_evaluation, bench_metrics
from benchmarks.gpu_specs import spec_peak
from benchmarks.machine import contention_warning, machine_info, peak_memory
from benchmarks.matmul import bench_matmul
from benchmarks.plan import VARIANTS, default_variants, paper_params
from benchmarks.preprocessing import bench_preprocess
from benchmarks.report import format_table
from benchmarks.sampling import bench_sampling
from benchmarks.suite import run
from benchmarks.timing import Budget
from benchmarks.training_step import bench_training_step, lstm_flops
from crnngan.config import PreprocessConfig, TrainConfig
from crnngan.data.midi_io import write_notes
from crnngan.data.notes import Notes
from crnngan.model_config import ModelConfig

ONE = Budget(warmup=1, min_repeats=1, max_repeats=2, seconds=0.0)
CPU = torch.device("cpu")
TRAIN = TrainConfig(accelerator="cpu")
TIMING_KEYS = {"median_s", "warmup", "repeats", "times_s"}


def positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


def tiny(kind: str = "gan", tones: int = 1) -> ModelConfig:
    return tiny_model("crnngan" if kind == "gan" else kind, tones_per_step=tones, batch_size=3)


def check_timing(result: dict, *rates: str) -> None:
    assert TIMING_KEYS <= result.keys()
    assert result["warmup"] == 1 and result["repeats"] >= 1 and len(result["times_s"]) == result["repeats"]
    for key in ("median_s", *rates):
        assert positive(result[key]), (key, result[key])


def test_budget_counts_warmup_apart():
    b = Budget(warmup=1, min_repeats=2, max_repeats=3, seconds=1.0)
    assert not b.done([9.0, 0.1])  # one timed repeat < min_repeats
    assert not b.done([9.0, 0.1, 0.1])  # enough repeats, not enough seconds
    assert b.done([9.0, 0.6, 0.6])
    assert b.done([9.0, 0.1, 0.1, 0.1])  # max_repeats
    assert b.max_runs == 4
    capped = Budget(warmup=1, min_repeats=3, max_repeats=5, seconds=1.0, cap_s=10.0)
    assert not capped.done([11.0])  # no timed repeat yet
    assert not capped.done([300.0, 0.2])  # a long warm-up (compilation) does not count
    assert capped.done([0.1, 11.0])


def test_contention_warning():
    info = {"load_average_1_5_15": [0.1, 0.1, 0.1], "cpu_cores_usable": 2, "cpu_cores": 2, "torch_threads": 2}
    assert contention_warning(info) is None
    assert "busy" in contention_warning({**info, "load_average_1_5_15": [2.0, 2.0, 2.0]})


def write_scales(folder, files, notes):
    """``files`` MIDI files of ``notes`` distinct tones each (a rising line, one per beat)."""
    paths = [folder / f"scale_{i}.mid" for i in range(files)]
    for path in paths:
        write_notes(path, Notes(np.arange(notes) * 0.5, np.full(notes, 0.4), 48 + np.arange(notes), np.full(notes, 80)))
    return paths


def test_preprocess_counts_files_read_and_notes(tmp_path):
    paths = write_scales(tmp_path, files=3, notes=20)
    (tmp_path / "broken.mid").write_bytes(b"not midi")
    out = bench_preprocess([*paths, tmp_path / "broken.mid"], PreprocessConfig(), [1], ONE)
    assert (out["files"], out["read"], out["notes"]) == (4, 3, 60)
    check_timing(out["by_workers"]["1"], "files_per_s", "notes_per_s")


@pytest.mark.parametrize(
    ("kind", "tones", "phase", "reference"),
    [
        ("gan", 1, "adversarial", False),
        ("gan", 3, "pretrain", False),
        ("baseline", 1, "pretrain", False),
        ("gan", 1, "adversarial", True),
    ],
)
def test_training_step(kind, tones, phase, reference):
    _quiet()
    out = bench_training_step(tiny(kind, tones), phase, 6, ONE, TRAIN, reference=reference, device=CPU)
    check_timing(out, "ms_per_step", "sequences_per_s", "lstm_gflop_per_s", "lstm_gflop_per_step")
    assert out["optimizer_steps_per_step"] == (2 if phase == "adversarial" else 1)
    assert out["batch_size"] == 3 and out["length"] == 6


@pytest.mark.slow  # compiles G's unroll (forward and backward) with Inductor
def test_training_step_on_a_fast_path():
    _quiet()
    fast = dataclasses.replace(TRAIN, **VARIANTS["compile"])
    out = bench_training_step(tiny(), "adversarial", 6, ONE, fast, device=CPU)
    check_timing(out, "ms_per_step")
    assert (out["unroll"], out["precision"]) == ("compile", "32-true")
    assert len(out["warmup_times_s"]) == 1  # where compilation is paid


def test_speedups_peak_shares_and_target():
    def row(median, precision="32-true", gflops=1.0):
        return {"median_s": median, "min_s": median / 2, "precision": precision, "lstm_gflop_per_s": gflops}

    steps = {
        "crnngan/adversarial": row(2.0),
        "crnngan/adversarial[bf16]": row(0.5, "bf16-mixed", 4.0),
        "crnngan/pretrain": row(1.0),
        "crnngan3/adversarial": row(3.0),
        "reference/adversarial": row(10.0),
        "reference/pretrain": row(1.5),
    }
    add_speedups(steps)
    assert steps["crnngan/adversarial"]["speedup"] == 5.0
    assert steps["crnngan/adversarial[bf16]"]["speedup"] == 20.0
    assert steps["crnngan/pretrain"]["speedup"] == steps["crnngan/pretrain"]["speedup_min"] == 1.5
    assert "speedup" not in steps["crnngan3/adversarial"] and "speedup" not in steps["reference/pretrain"]

    peak = {"measured_gflop_per_s": {"fp32": 10.0, "bf16": 40.0}, "spec_tflop_per_s": {"fp32": 0.1, "bf16": 1.0}}
    add_peak_shares({"paper": steps}, peak)
    assert steps["crnngan/adversarial"]["share_of_measured_peak"] == 0.1
    assert steps["crnngan/adversarial[bf16]"]["share_of_measured_peak"] == 0.1  # against the bf16 peak
    assert steps["crnngan/adversarial"]["share_of_spec_peak"] == 0.01
    assert steps["crnngan/adversarial[bf16]"]["share_of_spec_peak"] == 0.004

    target = speedup_target(steps, CPU)
    assert target == {
        "best": "crnngan/adversarial[bf16]",
        "speedup": 20.0,
        "target": 10.0,
        "met": True,
        "on_gpu": False,
    }


def test_spec_peak_and_default_variants():
    assert spec_peak("NVIDIA H100 80GB HBM3") == {"fp32": 67.0, "bf16": 989.5}
    assert spec_peak("NVIDIA H100 PCIe")["fp32"] == 51.0
    assert spec_peak("NVIDIA H200")["bf16"] == 989.5
    assert spec_peak(None) is None and spec_peak("Quadro P1000") is None
    assert default_variants(CPU, quick=True) == []
    assert default_variants(CPU, quick=False) == ["compile"]
    assert default_variants(torch.device("cuda"), quick=True) == list(VARIANTS)


def test_training_step_rejects_an_adversarial_baseline():
    with pytest.raises(ValueError, match="baseline"):
        bench_training_step(tiny("baseline"), "adversarial", 6, ONE, TRAIN, device=CPU)


def test_lstm_flops_counts_cells():
    cfg = tiny_model(hidden_g=10, hidden_d=5, layers_g=2, layers_d=2, batch_size=3)
    g = 7 * 2 * (2 * 3 * 20 * 40)  # T * layers * 2B(in + H)4H, in = H for G
    assert lstm_flops(cfg, 4, 7, "pretrain") == 3 * g
    d = 7 * 2 * (2 * 6 * (4 + 5) * 20 + 2 * 6 * (10 + 5) * 20)  # 2 directions, 2B, in = F then 2H
    assert lstm_flops(cfg, 4, 7, "adversarial") == 3 * g + 5 * d


def test_sampling_evaluation_matmul():
    check_timing(bench_sampling(tiny(), 4, 5, ONE, CPU), "songs_per_s")
    check_timing(bench_evaluation(20, 16, ONE), "songs_per_s")
    check_timing(bench_matmul(8, 8, 8, ONE, CPU), "gflop_per_s")


def test_machine_and_memory():
    info = machine_info()
    assert {"cpu_model", "cpu_cores", "gpu", "torch", "torch_threads", "date"} <= info.keys()
    assert info["cpu_cores"] >= 1 and info["torch_threads"] >= 1
    assert positive(peak_memory()["rss_self_mib"])


def test_paper_params_are_configs_paper_yaml(tmp_path):
    # The paper's sizes, from params.yaml with configs/paper.yaml over it.
    paper = paper_params(ROOT / "params.yaml", ROOT / "configs" / "paper.yaml")
    assert paper.preprocess.segment_length == 100
    for name in ("crnngan", "crnngan3"):
        m = paper.models[name]
        assert (m.hidden_g, m.hidden_d, m.layers_g, m.layers_d, m.batch_size, m.noise_dim) == (350, 350, 2, 2, 20, 4)
        assert (m.optimizer, m.lr_g, m.lr_d, m.dropout, m.clip_norm) == ("sgd", 0.1, 0.05, 0.5, 5.0)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(tiny_raw({"models": {"crnngan": {"batch_size": 32, "optimizer": "adam"}}})))
    overlay = tmp_path / "paper.yaml"
    overlay.write_text("models:\n  crnngan: {hidden_g: 300}\n")
    overlaid = paper_params(params, overlay).models["crnngan"]
    assert (overlaid.hidden_g, overlaid.batch_size, overlaid.optimizer) == (300, 32, "adam")


def test_whole_run_and_report(tmp_path, monkeypatch):
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            tiny_raw(
                {
                    "data": {"midi_dir": str(tmp_path / "no-corpus")},  # -> the synthetic corpus
                    "preprocess": {"segment_length": 8},
                    "sample": {"count": 2, "length": 8},
                }
            )
        )
    )
    overlay = tmp_path / "paper.yaml"
    overlay.write_text(yaml.safe_dump({"models": {"crnngan": {"hidden_g": 12, "hidden_d": 12}}}))
    # A fast path that cannot run is reported, and the rest of the figures survive it.
    monkeypatch.setitem(VARIANTS, "broken", {"precision": "no-such-precision"})
    # A variant this machine cannot run is reported as unsupported, not as a failure.
    monkeypatch.setattr(suite, "bf16_support", lambda device_type: "no bf16 LSTM here (test)")
    _quiet()
    # cudagraphs on a CPU: dropped with a warning, so the variant runs (eagerly) and is reported.
    paper_data = tmp_path / "paper"
    paper_data.mkdir()
    write_scales(paper_data, files=5, notes=20)
    (paper_data / "broken.mid").write_bytes(b"not midi")
    results = run(params, overlay, quick=True, variants=["cudagraphs", "bf16", "broken"], paper_data=paper_data)
    json.dumps(results)  # JSON-ready
    paper_pre = results["preprocess_paper"]
    assert (paper_pre["files"], paper_pre["read"], paper_pre["notes"]) == (6, 5, 100)
    assert set(paper_pre["by_workers"]) == {"1", "0"}
    paper = results["training"]["paper"]
    assert paper["crnngan/adversarial"]["hidden_g"] == 12 and paper["crnngan/adversarial"]["length"] == 25
    assert paper["crnngan/adversarial[cudagraphs]"]["unroll"] == "eager"
    assert "crnngan/adversarial[bf16]" not in paper and "crnngan/adversarial[broken]" not in paper
    assert results["unsupported"] == {
        f"{c}/crnngan/adversarial[bf16]": "no bf16 LSTM here (test)" for c in ("default", "paper")
    }
    assert set(results["failed"]) == {"default/crnngan/adversarial[broken]", "paper/crnngan/adversarial[broken]"}
    assert all(positive(row["speedup"]) for key, row in paper.items() if key.startswith("crnngan/"))
    assert all(positive(row["share_of_measured_peak"]) for row in paper.values())
    assert results["target"]["best"].startswith("crnngan/adversarial") and not results["target"]["on_gpu"]
    table = format_table(results)
    assert "crnngan/adversarial[cudagraphs]" in table and "FAILED paper/crnngan/adversarial[broken]" in table
    assert "UNSUPPORTED paper/crnngan/adversarial[bf16]: this machine cannot run it" in table
    assert "the target does not apply" in table
    assert f"preprocessing: 6 files (5 read), 100 notes from {paper_data}" in table


def test_bench_metrics_reports_throughput():
    result = bench_metrics(n_songs=20, n_events=12)
    assert result["n_songs"] == 20 and result["n_events"] == 12 and result["songs_per_s"] > 0
