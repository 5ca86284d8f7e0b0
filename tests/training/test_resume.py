"""Checkpoints: resuming exactly where a run stopped, refusing other settings, loading a
module back (weights-only), and the run folder's resume rule."""

import dataclasses

import pytest
import pytorch_lightning as pl
import torch
from params_fixtures import tiny_model
from training_harness import STEPS, CountBatches, train

from crnngan.training.fit import completed, load_module, open_run_dir, save_run_state


def test_resume_continues_from_last_checkpoint(tmp_path):
    first, *_ = train(tiny_model(pretrain_epochs=1, epochs=1), tmp_path, batches=2)
    assert (first.current_epoch, first.global_step) == (2, 2 + 4)

    longer = tiny_model(pretrain_epochs=1, epochs=2)  # more epochs extend the same run
    counter = CountBatches()
    second, *_ = train(longer, tmp_path, batches=2, callbacks=[counter])
    assert counter.batches == 2  # only the third epoch ran
    assert (second.current_epoch, second.global_step) == (3, 2 + 4 + 4)
    assert second.callback_metrics["phase"] == 1.0

    done = CountBatches()
    third, *_ = train(longer, tmp_path, batches=2, callbacks=[done])
    assert done.batches == 0 and third.global_step == 10  # a finished run is not retrained


def test_resumed_run_equals_uninterrupted(tmp_path):
    # Stopped after 2 of 3 epochs and resumed, a run ends with the very weights of one that
    # never stopped: the RNG (noise, dropout) and the shuffling continue where they were.
    cfg = tiny_model(pretrain_epochs=1, epochs=2)
    _, whole, _, _ = train(cfg, tmp_path / "whole", batches=3)
    stopped, *_ = train(cfg, tmp_path / "resumed", batches=3, max_epochs=2)
    assert stopped.current_epoch == 2
    resumed, module, _, _ = train(cfg, tmp_path / "resumed", batches=3)
    assert resumed.current_epoch == 3
    expected = whole.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in module.state_dict().items())


def test_last_checkpoint_is_every_epoch_even_without_improvement(tmp_path):
    # lr 0: the monitored validation loss never improves after epoch 0, yet last.ckpt must
    # follow every epoch (Lightning 2.6's save_last alone would stop at epoch 0).
    train(tiny_model("baseline", epochs=3, lr_g=0.0), tmp_path)
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    best = torch.load(tmp_path / "ckpt" / "best.ckpt", weights_only=True)
    assert (saved["epoch"], best["epoch"]) == (2, 0)


class StopAfterFirstEpoch(pl.Callback):
    """What Lightning does on SIGTERM: ask the loop to stop, then return normally."""

    def on_train_epoch_end(self, trainer, pl_module):
        trainer.should_stop = True


def test_interrupted_fit_is_not_completed(tmp_path):
    stopped, *_ = train(tiny_model(epochs=2), tmp_path / "a", callbacks=[StopAfterFirstEpoch()])
    assert stopped.current_epoch == 1 < stopped.max_epochs and not completed(stopped)
    finished, *_ = train(tiny_model(epochs=2), tmp_path / "b")
    assert completed(finished)


def test_resume_refuses_other_settings(tmp_path):
    train(tiny_model(), tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(model.lr_g\)"):
        train(tiny_model(lr_g=0.5), tmp_path)
    with pytest.raises(ValueError, match="holds a GANModule, not a BaselineModule"):
        train(tiny_model("baseline"), tmp_path)


@pytest.mark.parametrize(
    ("name", "hypotheses", "head"),
    [("crnngan", 1, "categorical"), ("crnngan3", 3, "regression"), ("baseline", 3, "regression")],
)
def test_load_module_round_trip(tmp_path, name, hypotheses, head):
    # With the recipe's heads and inputs (3 candidate events) or the categorical pitch head,
    # pitch classes on a data scale.
    cfg = tiny_model(name, tones_per_step=3, hypotheses=hypotheses, pitch_head=head, pitch_classes=True)
    _, module, _, checkpoint = train(cfg, tmp_path, pitch=("midi", 64.0, 9.0))
    for path in (tmp_path / "ckpt" / "last.ckpt", checkpoint.best_model_path):
        loaded = load_module(path)
        assert type(loaded) is type(module) and loaded.cfg == cfg
        assert loaded.hparams == {
            "model": dataclasses.asdict(cfg),
            "num_features": 14,
            "segment_length": STEPS,
            "fixed_samples": 3,
            "fixed_seed": 0,
            "pitch": ("midi", 64.0, 9.0),
        }
        assert loaded.pitch == ("midi", 64.0, 9.0) == loaded.generator.pitch
        state = module.state_dict()
        assert all(torch.equal(state[k], v) for k, v in loaded.state_dict().items())
        torch.testing.assert_close(loaded.generate(2, 6, seed=5), module.generate(2, 6, seed=5))
        torch.testing.assert_close(loaded.generate_fixed(), module.generate_fixed())


def test_the_module_holds_the_config_and_checkpoints_plain_values(tmp_path):
    # One object from the params to the networks: no dict round trip; the checkpoint keeps
    # the config as a plain dict (weights-only loading), which load_module turns back.
    cfg = tiny_model()
    _, module, _, _ = train(cfg, tmp_path)
    assert module.cfg is cfg and module.generator.lstm.hidden_size == cfg.hidden_g
    assert module.discriminator.lstm.hidden_size == cfg.hidden_d
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["hyper_parameters"]
    assert saved["model"] == dataclasses.asdict(cfg) and saved["model"]["kind"] == "gan"


def test_run_dir_resumes_only_an_unfinished_run_of_the_same_fingerprint(tmp_path):
    out = tmp_path / "models" / "m"
    assert open_run_dir(out, "fp1") == {"fingerprint": "fp1"} and out.is_dir()
    save_run_state(out, {"fingerprint": "fp1", "run_id": "r1"})
    (out / "last.ckpt").write_text("weights")
    # Interrupted (never marked completed), same settings: resume, same MLflow run.
    assert open_run_dir(out, "fp1") == {"fingerprint": "fp1", "run_id": "r1"}
    assert (out / "last.ckpt").exists()
    # Other settings: afresh.
    assert open_run_dir(out, "fp2") == {"fingerprint": "fp2"} and not (out / "last.ckpt").exists()
    # Finished, then forced to run again (dvc repro -f): afresh too, in a new run.
    (out / "last.ckpt").write_text("weights")
    save_run_state(out, {"fingerprint": "fp2", "run_id": "r2", "completed": True})
    assert open_run_dir(out, "fp2") == {"fingerprint": "fp2"} and not (out / "last.ckpt").exists()
