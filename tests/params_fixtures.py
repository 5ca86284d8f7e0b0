"""Tiny params for tests: the repository's params.yaml with small networks and short runs.

Every test that trains starts from the pipeline's own recipe (params.yaml) with :data:`TINY`
over it and names only what it changes, so no test keeps a copy of the defaults. Fixture:
``tiny_params`` (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from crnngan.config import Params, parse_params
from crnngan.model_config import ModelConfig
from crnngan.tools.overlay import merged

PARAMS_YAML = Path(__file__).resolve().parents[1] / "params.yaml"
TINY_G = {"hidden_g": 8, "batch_size": 4, "epochs": 1}  # what every model reads
TINY_GAN = {**TINY_G, "hidden_d": 8, "pretrain_epochs": 1}
TINY: dict[str, Any] = {
    "preprocess": {"segment_length": 16, "segment_hop": 16},  # the data_dir fixture's segments
    "train": {"accelerator": "cpu", "fixed_noise_samples": 2},
    "models": {"crnngan": TINY_GAN, "crnngan3": TINY_GAN, "baseline": TINY_G},
}


@functools.cache
def _recipe() -> dict[str, Any]:
    return yaml.safe_load(PARAMS_YAML.read_text())


def tiny_raw(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """params.yaml's mapping with :data:`TINY`, then ``overrides``, merged in (a fresh copy,
    for a test that writes a params file)."""
    return merged(merged(_recipe(), TINY), overrides or {})


def tiny_params(overrides: Mapping[str, Any] | None = None) -> Params:
    """:func:`tiny_raw`, validated."""
    return parse_params(tiny_raw(overrides))


def tiny_model(name: str = "crnngan", **overrides: Any) -> ModelConfig:
    """The tiny ``models.<name>`` with ``overrides`` (not validated, so a test can hand a
    module a value the params would refuse)."""
    return dataclasses.replace(tiny_params().models[name], **overrides)
