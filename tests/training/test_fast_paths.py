"""The unroll's fast paths (compile, CUDA graphs, bf16) against eager float32, and the
switches that choose them (prepare, the bf16 probe)."""

import dataclasses
import os
import subprocess
import sys
import warnings

import pytest
import torch
from params_fixtures import tiny_model
from training_harness import TRAIN, changed, train

from crnngan.config import ConfigError
from crnngan.models import acceleration
from crnngan.models.acceleration import bf16_support
from crnngan.models.networks import free_run
from crnngan.training.fit import prepare

# Each fast path against the straightforward one (eager fp32, same device) on the same seed
# and data: two pretraining and two adversarial batches, then every logged loss and weight.
# compile / CUDA graphs: the same maths, reordered, so float32 round-off only. bf16-mixed:
# matmuls in bfloat16 (8 bits of mantissa), so agreement to about 1e-2. The CUDA cases run
# only where a GPU is (CI has none); `pytest -k fast_paths` on a GPU machine checks them.
GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
# oneDNN runs bf16 LSTMs only on CPUs with AVX-512: elsewhere the case is skipped, saying why.
CPU_BF16 = pytest.mark.skipif(
    bf16_support("cpu") is not None, reason=f"this CPU cannot run bf16 LSTMs: {bf16_support('cpu')}"
)
FAST_PATHS = [
    pytest.param("cpu", dict(compile=True), 1e-5, id="compile"),
    # On a CPU: compile alone, after a warning.
    pytest.param("cpu", dict(compile=True, cuda_graphs=True), 1e-5, id="compile+cudagraphs-on-cpu"),
    pytest.param("cpu", dict(precision="bf16-mixed"), 3e-2, id="bf16-mixed", marks=CPU_BF16),
    pytest.param("gpu", dict(compile=True), 1e-4, id="cuda-compile", marks=GPU),
    pytest.param("gpu", dict(cuda_graphs=True), 1e-4, id="cuda-cudagraphs", marks=GPU),
    pytest.param("gpu", dict(compile=True, cuda_graphs=True), 1e-4, id="cuda-compile+cudagraphs", marks=GPU),
    pytest.param(
        "gpu",
        dict(compile=True, cuda_graphs=True, precision="bf16-mixed"),
        3e-2,
        id="cuda-compile+cudagraphs+bf16",
        marks=GPU,
    ),
]


@pytest.mark.slow  # Inductor compiles forward and backward of the unroll: ~20 s on a cold cache
@pytest.mark.parametrize(("accelerator", "fast", "tol"), FAST_PATHS)
def test_fast_paths_give_the_same_losses(tmp_path, accelerator, fast, tol):
    cfg = tiny_model(pretrain_epochs=1, epochs=1)
    eager = dataclasses.replace(TRAIN, accelerator=accelerator)
    _, ref, _, _ = train(cfg, tmp_path / "eager", batches=2, steps=4, train_cfg=eager)
    ref_metrics = dict(ref.trainer.callback_metrics)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, module, start, _ = train(
            cfg, tmp_path / "fast", batches=2, steps=4, train_cfg=dataclasses.replace(eager, **fast)
        )
    # The fast path really ran: a compiled or graphed unroll, or bf16 autocast.
    graphs = fast.get("cuda_graphs", False) and accelerator == "gpu"
    assert (module.generator.unroll is free_run) != (fast.get("compile", False) or graphs)
    assert module.trainer.precision == fast.get("precision", "32-true")
    warned = any("cuda_graphs needs a CUDA device" in str(w.message) for w in caught)
    assert warned == (fast.get("cuda_graphs", False) and accelerator == "cpu")
    metrics = module.trainer.callback_metrics
    names = (
        "d_loss",
        "g_loss",
        "g_loss_adv",
        "fm_loss",
        "d_acc_real",
        "val_d_loss",
        "val_g_loss_adv",
        "val_pretrain_loss",
    )
    for name in names:
        torch.testing.assert_close(
            metrics[name].float(),
            ref_metrics[name].float(),
            atol=tol,
            rtol=tol,
            msg=lambda m, name=name: f"{name}: {m}",
        )
    weights = ref.state_dict()
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value.float(), weights[key].float(), atol=tol, rtol=tol)
    # ...and training moved them, so agreeing is not agreeing on the initial weights.
    assert changed(start, module, "generator.") and changed(start, module, "discriminator.")


@pytest.mark.parametrize(
    ("switches", "compiled"),
    [
        ({}, False),
        ({"compile": True}, True),
        ({"cuda_graphs": True}, False),  # no CUDA here: eager
    ],
)
def test_prepare_applies_the_unroll_switches(tmp_path, data_dir, tiny_params, switches, compiled):
    params = tiny_params({"train": switches})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, module, _ = prepare(params, "crnngan", data_dir, tmp_path)
    assert (module.generator.unroll is not free_run) == compiled
    assert any("cuda_graphs" in str(w.message) for w in caught) == ("cuda_graphs" in switches)


def test_bf16_on_a_device_without_it_fails_fast_naming_the_key(tmp_path, data_dir, tiny_params, monkeypatch):
    monkeypatch.setattr(acceleration, "bf16_support", lambda device_type: "no bf16 LSTM (test)")
    params = tiny_params({"train": {"precision": "bf16-mixed"}})
    with pytest.raises(
        ConfigError,
        match=r"train\.precision: bf16-mixed is not supported on this cpu "
        r"\(no bf16 LSTM \(test\)\)",
    ):
        prepare(params, "crnngan", data_dir, tmp_path)
    acceleration.check_precision("32-true", "cpu")  # full precision never asks


def test_bf16_probe_sees_a_cpu_without_avx512():
    # ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN behave as on an AVX2-only CPU, where a bf16 LSTM
    # cannot be built (the failure CI met on such a machine). A fresh process: the ISA cap
    # is read once, when oneDNN starts.
    code = (
        "from crnngan.models.acceleration import bf16_support; r = bf16_support('cpu'); "
        "print(r); assert r is not None and 'primitive descriptor' in r"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
