"""Choosing the adversarial epoch a GAN samples from by closeness to validation music."""

import csv
import json

import pytest
import torch
from mlflow import MlflowClient
from params_fixtures import tiny_model
from training_harness import train

from crnngan.config import ConfigError
from crnngan.paths import ModelDir
from crnngan.training.callbacks import SelectByCloseness
from crnngan.training.fit import fit, load_module, prepare
from crnngan.training.stage import selection, train_model


class Scripted:
    """A measure with scores set by the test; records the epochs it was asked about and the
    sampler's weights it saw."""

    def __init__(self, scores):
        self.scores, self.epochs, self.weights = iter(scores), [], []

    def __call__(self, module):
        self.epochs.append(module.current_epoch)
        self.weights.append({k: v.clone() for k, v in module.sampler().state_dict().items()})
        return next(self.scores)


def test_the_closest_adversarial_epoch_is_saved(tmp_path):
    # Epoch 0 pretrains and is never measured; game epochs 1, 2, 3 score 3.0, 1.0, 2.0:
    # closest.ckpt holds epoch 2, with the sampler's weights as they were then.
    measure = Scripted([3.0, 1.0, 2.0])
    selector = SelectByCloseness(measure, tmp_path / "closest.ckpt", first_epoch=1)
    _, module, _, _ = train(tiny_model(pretrain_epochs=1, epochs=3, ema_decay=0.5), tmp_path, callbacks=[selector])
    assert measure.epochs == [1, 2, 3]
    assert (selector.best, selector.epoch) == (1.0, 2)
    assert torch.load(tmp_path / "closest.ckpt", weights_only=True)["epoch"] == 2
    chosen = load_module(tmp_path / "closest.ckpt").sampler().state_dict()
    assert all(torch.equal(v, measure.weights[1][k]) for k, v in chosen.items())
    assert not all(torch.equal(v, measure.weights[2][k]) for k, v in chosen.items())  # epoch 3's differs
    assert float(module.trainer.callback_metrics["val_closeness"]) == 2.0  # the last epoch's score


def test_a_resumed_run_chooses_among_all_its_epochs(tmp_path):
    # Epochs 1-2 score 1.0 and 2.0; stopped there and resumed, epoch 3 (1.5) must not replace
    # epoch 1: the best score so far travels in last.ckpt.
    cfg = tiny_model(pretrain_epochs=1, epochs=3)
    first = SelectByCloseness(Scripted([1.0, 2.0]), tmp_path / "closest.ckpt", first_epoch=1)
    train(cfg, tmp_path, max_epochs=3, callbacks=[first])
    again = SelectByCloseness(Scripted([1.5]), tmp_path / "closest.ckpt", first_epoch=1)
    trainer, *_ = train(cfg, tmp_path, callbacks=[again])
    assert trainer.current_epoch == 4
    assert (again.best, again.epoch) == (1.0, 1)
    assert torch.load(tmp_path / "closest.ckpt", weights_only=True)["epoch"] == 1


@pytest.mark.slow  # ~15 s: two short trainings on the synthetic corpus
def test_selecting_by_closeness_trains_exactly_as_keeping_the_last(tmp_path, data_dir, tiny_params):
    # Measuring generates songs from a seed of its own, so the run that selects ends with the
    # weights of the run that does not; only which checkpoint is sampled differs.
    finals = {}
    for select_by in ("closeness", "last"):
        params = tiny_params({"models": {"crnngan": {"pretrain_epochs": 1, "epochs": 2, "select_by": select_by}}})
        out = ModelDir(tmp_path / select_by)
        selector = selection(params, "crnngan", data_dir, out)
        assert len(selector) == (select_by == "closeness")
        dm, module, trainer = prepare(params, "crnngan", data_dir, out.root, callbacks=selector)
        fit(module, dm, trainer, out.checkpoints)
        finals[select_by] = module.state_dict()
        assert out.sampling_checkpoint == (out.closest_checkpoint if selector else out.last_checkpoint)
    assert all(torch.equal(v, finals["last"][k]) for k, v in finals["closeness"].items())
    assert 1 <= torch.load(ModelDir(tmp_path / "closeness").closest_checkpoint, weights_only=True)["epoch"] <= 2


def test_no_selection_for_the_baseline_or_a_gan_without_a_game(tiny_params, data_dir, tmp_path):
    params = tiny_params({"models": {"crnngan": {"epochs": 0}}})
    assert selection(params, "crnngan", data_dir, ModelDir(tmp_path)) == []
    assert selection(params, "baseline", data_dir, ModelDir(tmp_path)) == []


def test_select_by_must_be_known(tiny_params):
    with pytest.raises(ConfigError, match=r"models.crnngan.select_by"):
        tiny_params({"models": {"crnngan": {"select_by": "best"}}})
    with pytest.raises(ConfigError, match=r"train.select_windows"):
        tiny_params({"train": {"select_windows": 1}})
    with pytest.raises(ConfigError, match=r"models.baseline.select_by"):  # G's keys alone
        tiny_params({"models": {"baseline": {"select_by": "last"}}})


@pytest.mark.slow  # ~10 s: the train stage on the synthetic corpus, tracked
def test_the_train_stage_records_the_chosen_epoch(tmp_path, data_dir, tiny_params, mlflow_tmp):
    params = tiny_params({"models": {"crnngan": {"pretrain_epochs": 1, "epochs": 2, "select_by": "closeness"}}})
    out = ModelDir(tmp_path / "crnngan")
    assert train_model(params, "crnngan", data_dir, out.root) == 0
    rows = list(csv.DictReader(out.epoch_stats.open()))
    scores = {int(r["epoch"]): float(r["val_closeness"]) for r in rows if r["val_closeness"]}
    assert sorted(scores) == [1, 2]  # the game's epochs only
    summary = json.loads(out.summary.read_text())
    assert summary["selected_epoch"] == min(scores, key=scores.get)
    assert summary["selected_closeness"] == pytest.approx(min(scores.values()))
    assert torch.load(out.closest_checkpoint, weights_only=True)["epoch"] == summary["selected_epoch"]
    run = MlflowClient().get_run(json.loads(out.run_state.read_text())["run_id"])
    assert run.data.metrics["selected_epoch"] == summary["selected_epoch"]
    logged = {a.path.split("/")[-1] for a in MlflowClient().list_artifacts(run.info.run_id, "checkpoints")}
    assert {"last.ckpt", "closest.ckpt"} <= logged
