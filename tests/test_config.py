"""params.yaml's schema: one set of defaults, the keys each model kind reads, failing fast."""

import dataclasses

import pytest
import torch
import yaml
from params_fixtures import PARAMS_YAML, tiny_raw

from crnngan.config import ConfigError, Params, build_model, parse_params
from crnngan.model_config import BaselineConfig, GANConfig


def keys(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_dataclass_defaults_are_params_yaml():
    # Every section but the models' (which have no defaults) and tune's (its own schema).
    recipe = parse_params(yaml.safe_load(PARAMS_YAML.read_text()))
    defaults = parse_params({})
    for section in (f.name for f in dataclasses.fields(Params) if f.name not in ("models", "tune")):
        assert getattr(defaults, section) == getattr(recipe, section), section


def test_each_section_of_params_yaml_sets_exactly_its_kind_s_keys():
    models = yaml.safe_load(PARAMS_YAML.read_text())["models"]
    assert set(models["crnngan"]) == set(models["crnngan3"]) == keys(GANConfig)
    assert set(models["baseline"]) == keys(BaselineConfig) < keys(GANConfig)


@pytest.mark.parametrize("key, value", [("lr_d", 0.001), ("freeze_rule", "loss"), ("pretrain_epochs", 0)])
def test_a_baseline_section_with_a_gan_key_fails_naming_it(key, value):
    with pytest.raises(ConfigError, match=rf"models\.baseline\.{key}: a kind baseline model does not read it"):
        parse_params(tiny_raw({"models": {"baseline": {key: value}}}))


def test_a_missing_or_misspelt_model_key_or_kind_fails_naming_it():
    raw = tiny_raw()
    del raw["models"]["crnngan3"]["lr_d"]
    with pytest.raises(ConfigError, match=r"missing key models\.crnngan3\.lr_d"):
        parse_params(raw)
    with pytest.raises(ConfigError, match=r"unknown key models\.crnngan\.hiden_g"):
        parse_params(tiny_raw({"models": {"crnngan": {"hiden_g": 8}}}))
    with pytest.raises(ConfigError, match=r"models\.crnngan\.kind: expected 'gan' or 'baseline', got 'vae'"):
        parse_params(tiny_raw({"models": {"crnngan": {"kind": "vae"}}}))


@pytest.mark.parametrize("model", ["crnngan", "baseline"])
def test_an_unknown_velocity_loss_fails_naming_the_key(model):
    with pytest.raises(
        ConfigError, match=rf"models\.{model}\.velocity_loss: expected one of squared, absolute, got 'l1'"
    ):
        parse_params(tiny_raw({"models": {model: {"velocity_loss": "l1"}}}))


def test_a_negative_teacher_noise_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"models\.baseline\.teacher_noise: must be >= 0, got -0.1"):
        parse_params(tiny_raw({"models": {"baseline": {"teacher_noise": -0.1}}}))


def test_a_model_config_is_its_dict_and_back():
    for cfg in parse_params(tiny_raw()).models.values():
        assert build_model(dataclasses.asdict(cfg)) == cfg
    with pytest.raises(ValueError):  # the class is the kind
        dataclasses.replace(parse_params(tiny_raw()).models["baseline"], kind="gan")


def test_train_devices_take_a_count_or_auto_and_bad_values_name_the_key():
    assert parse_params({"train": {"devices": 2, "strategy": "ddp"}}).train.devices == 2  # -S train.devices=2
    assert parse_params({"train": {"devices": "auto"}}).train.devices == "auto"
    with pytest.raises(ConfigError, match=r"train\.devices: expected str \| int, got 1\.5"):
        parse_params({"train": {"devices": 1.5}})
    with pytest.raises(ConfigError, match=r"train\.devices: expected str \| int, got True"):
        parse_params({"train": {"devices": True}})
    with pytest.raises(ConfigError, match=r"train\.strategy: expected one of auto, ddp, got 'fsdp'"):
        parse_params({"train": {"strategy": "fsdp"}})


def test_train_threads_pin_torch_and_a_negative_count_names_the_key(monkeypatch):
    from crnngan.training.rng import pin_threads

    assert parse_params({}).train.threads == 2
    with pytest.raises(ConfigError, match=r"train\.threads must be >= 0 \(0 = one per core\), got -1"):
        parse_params({"train": {"threads": -1}})
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    calls: list[int] = []
    pin_threads(3)
    pin_threads(0)  # torch's default stays
    assert calls == [3]


def test_a_bad_pitch_head_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"models\.baseline\.pitch_head: expected one of regression, categorical"):
        parse_params(tiny_raw({"models": {"baseline": {"pitch_head": "softmax"}}}))
    # The categorical head replaces the candidates: with K > 1 the key to change is named.
    with pytest.raises(ConfigError, match=r"models\.baseline\.hypotheses: must be 1 with pitch_head categorical"):
        parse_params(tiny_raw({"models": {"baseline": {"pitch_head": "categorical", "hypotheses": 4}}}))
    for share in (0.0, 1.5):
        with pytest.raises(ConfigError, match=r"models\.crnngan\.pitch_top_p: expected a share in \(0, 1\]"):
            parse_params(tiny_raw({"models": {"crnngan": {"pitch_top_p": share}}}))
    ok = parse_params(tiny_raw({"models": {"baseline": {"pitch_head": "categorical"}}}))
    assert ok.models["baseline"].pitch_head == "categorical"
