"""Lightning training on tiny random data: smoke, step counts, determinism, NaN, the module's
behaviour (sampling, EMA, instance noise), logging. Resuming and loading: test_resume.py;
the fast paths: test_fast_paths.py (all on training_harness.py)."""

import logging

import numpy as np
import pytest
import torch
from params_fixtures import tiny_model
from torch.utils.data import DataLoader, TensorDataset
from training_harness import BATCH, STEPS, TRAIN, RandomData, changed, num_features, train

from crnngan.data.representation import Normalizer
from crnngan.training.base import NonFiniteLossError
from crnngan.training.baseline import BaselineModule
from crnngan.training.fit import build_trainer, fit, prepare
from crnngan.training.gan import GANModule
from crnngan.training.kinds import create_module, total_epochs
from crnngan.training.sampling import generate_events


@pytest.mark.parametrize("tones", [1, 3])  # C-RNN-GAN and C-RNN-GAN-3
def test_gan_one_batch_smoke(tmp_path, tones):
    cfg = tiny_model(tones_per_step=tones)
    trainer, module, start, checkpoint = train(cfg, tmp_path)
    assert isinstance(module, GANModule)
    assert trainer.global_step == 1 + 2  # one pretraining step, then a D and a G step
    assert changed(start, module, "generator.") and changed(start, module, "discriminator.")
    m = trainer.callback_metrics
    for name in (
        "d_loss",
        "g_loss",
        "g_loss_adv",
        "fm_loss",
        "d_acc_real",
        "d_acc_fake",
        "freeze_d",
        "freeze_g",
        "lr_g",
        "lr_d",
        "epoch_time_s",
        "sequences_per_s",
        "val_d_loss",
        "val_g_loss_adv",
        "val_pretrain_loss",
    ):
        assert torch.isfinite(m[name]), name
    assert m["phase"] == 1.0
    # Feature matching (on in the recipe), anchored by the next-event loss.
    torch.testing.assert_close(m["g_loss"], m["fm_loss"] + cfg.mle_weight * m["mle_loss"])
    # No validation loss tells a better GAN: only last.ckpt, which sampling uses.
    assert checkpoint.best_model_path.endswith("last.ckpt") and not (tmp_path / "ckpt" / "best.ckpt").exists()
    assert module.generate(2, 5).shape == (2, 5, num_features(cfg))


def test_gan_without_feature_matching_optimises_adversarial_loss(tmp_path):
    trainer, *_ = train(
        tiny_model(feature_matching=False, mle_weight=0.0, pretrain_epochs=0, optimizer="adam"), tmp_path
    )
    assert trainer.callback_metrics["g_loss"] == trainer.callback_metrics["g_loss_adv"]
    assert trainer.global_step == 2


def test_baseline_one_batch_smoke(tmp_path):
    cfg = tiny_model("baseline", epochs=2, l2=0.01, momentum=0.9)
    trainer, module, start, _ = train(cfg, tmp_path)
    assert isinstance(module, BaselineModule) and not hasattr(module, "discriminator")
    assert trainer.global_step == 2  # one optimiser step per batch
    assert changed(start, module, "generator.")
    for name in ("train_loss", "val_loss", "lr_g", "epoch_time_s", "sequences_per_s"):
        assert torch.isfinite(trainer.callback_metrics[name]), name


@pytest.mark.parametrize(
    "rule, freezes",
    [
        (dict(freeze_rule="loss", freeze_ratio=0.0), 0),
        (dict(freeze_rule="loss", freeze_ratio=1.0), 2),
        (dict(freeze_rule="accuracy", freeze_accuracy=0.0), 2),
        (dict(freeze_rule="accuracy", freeze_accuracy=1.01), 0),
    ],
)
def test_step_counts_follow_phases_and_freezing(tmp_path, rule, freezes):
    # Ratio 1 freezes whichever player has the lower loss from the second batch on, and an
    # accuracy threshold of 0 freezes D from the second batch on: 2 of the 3 adversarial
    # batches skip one of the two steps. A threshold above 1 never freezes.
    trainer, *_ = train(tiny_model(**rule), tmp_path, batches=3)
    assert trainer.global_step == 3 + 2 * 3 - freezes
    m = trainer.callback_metrics
    assert (m["freeze_d"] + m["freeze_g"]).item() == pytest.approx(freezes / 3)
    if rule.get("freeze_rule") == "accuracy":
        assert m["freeze_g"].item() == 0.0  # the accuracy rule freezes D only


def test_pretraining_curriculum_grows_window(tmp_path):
    cfg = tiny_model(pretrain_epochs=2, epochs=0, curriculum_step=4)
    trainer, *_ = train(cfg, tmp_path, batches=2, steps=16)
    assert trainer.global_step == 2 * 2
    m = trainer.callback_metrics
    assert m["phase"] == 0.0 and m["seq_len"] == 8.0  # min(4 * (1 + 1), 16) in the second epoch
    assert "d_loss" not in m


def test_same_seed_same_weights_different_seed_different(tmp_path):
    cfg = tiny_model()
    weights = [
        train(cfg, tmp_path / f"run{i}", seed=seed, batches=2)[1].state_dict() for i, seed in enumerate((7, 7, 8))
    ]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert any(not torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


@pytest.mark.parametrize(
    "cfg, loss",
    [
        (tiny_model(), "pretrain_loss"),
        (tiny_model(pretrain_epochs=0), "d_loss"),
        (tiny_model("baseline"), "train_loss"),
    ],
)
def test_nan_raises_before_any_update(tmp_path, cfg, loss):
    with pytest.raises(NonFiniteLossError, match=rf"{loss} = nan at epoch 0, batch 0"):
        trainer = build_trainer(TRAIN, total_epochs(cfg), tmp_path, seed=0)
        module = create_module(cfg, num_features(cfg), STEPS)
        start = {k: v.clone() for k, v in module.state_dict().items()}
        fit(module, RandomData(num_features(cfg), nan=True), trainer, tmp_path / "ckpt")
    assert not changed(start, module, "")
    assert trainer.global_step == 0


@pytest.mark.parametrize("sample_dropout", [False, True])
def test_generate_is_seeded_and_leaves_mode_and_rng_alone(sample_dropout):
    module = create_module(tiny_model(dropout=0.5, sample_dropout=sample_dropout), 5, STEPS, fixed_samples=3)
    module.train()
    rng = torch.get_rng_state()
    a, b, c = (module.generate(2, 5, seed=s) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)  # dropout masks are seeded too
    assert module.generator.training
    assert torch.equal(torch.get_rng_state(), rng)  # training's RNG stream is not consumed
    assert module.generate_fixed().shape == (3, STEPS, 5)
    assert torch.equal(module.generate_fixed(), module.generate_fixed())
    # Dropout at sampling is a different function of the same noise than eval mode.
    module.generator.eval()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(module.hparams.fixed_seed)  # the draws generate_fixed makes
        eval_mode = module.generator(module.fixed_noise)
    assert torch.equal(eval_mode, module.generate_fixed()) == (not sample_dropout)


def test_module_rejects_inconsistent_arguments():
    with pytest.raises(ValueError, match="num_features"):
        GANModule(tiny_model(tones_per_step=3), 4, STEPS)
    with pytest.raises(ValueError, match="optimizer"):
        GANModule(tiny_model(optimizer="rmsprop"), 5, STEPS)
    with pytest.raises(ValueError, match="freeze ratio"):
        GANModule(tiny_model(freeze_ratio=1.5), 5, STEPS)


@pytest.mark.slow  # ~10 s: a few epochs of a small GAN on the synthetic corpus
def test_gan_samples_differ_from_each_other(tmp_path, data_dir, tiny_params):
    # The default recipe's GAN settings on songs drawn from eight pitches: every sample must
    # be its own sequence, playing several pitches. Paired feature matching with eval-mode
    # sampling gave one sequence for nearly every z, and one regression output (hypotheses 1)
    # still ended on one held pitch: this test failed on both.
    params = tiny_params(
        {
            "models": {
                "crnngan": {"hidden_g": 16, "hidden_d": 16, "pretrain_epochs": 6, "epochs": 3, "curriculum_step": 16}
            }
        }
    )
    dm, module, trainer = prepare(params, "crnngan", data_dir, tmp_path)
    trainer.enable_progress_bar = False
    fit(module, dm, trainer, tmp_path / "ckpt")
    norm = Normalizer.load(data_dir / "normalizer.json")
    songs = generate_events(module, norm, count=8, length=16, seed=0, progress=False)
    sequences = {tuple(np.rint(s[:, 2]).astype(int)) for s in songs}
    assert len(sequences) == 8
    assert np.mean([len(np.unique(np.rint(s[:, 2]))) for s in songs]) >= 3


def test_the_game_starts_with_fresh_adam_moments_for_g(tmp_path):
    # 2 pretraining batches, then 2 adversarial ones: G's Adam state restarts at the phase
    # boundary, so its step count is the adversarial steps only; D's counts its own.
    cfg = tiny_model(pretrain_epochs=1, epochs=1, optimizer="adam")
    _, module, _, _ = train(cfg, tmp_path, batches=2)
    opt_g, opt_d = module.trainer.optimizers
    steps = {int(state["step"]) for state in opt_g.state.values()}
    assert steps == {2} and {int(state["step"]) for state in opt_d.state.values()} == {2}
    assert opt_g.param_groups[0]["lr"] == cfg.lr_g


def test_instance_noise_falls_linearly_over_the_adversarial_epochs(tmp_path):
    # 1 pretraining epoch, then 2 adversarial ones: the std is 0.4 in the first adversarial
    # epoch and 0.4 * (1 - 1/2) = 0.2 in the last (what the epoch metric shows at the end).
    trainer, module, _, _ = train(tiny_model(instance_noise=0.4, pretrain_epochs=1, epochs=2), tmp_path)
    assert trainer.callback_metrics["instance_noise"].item() == pytest.approx(0.2)
    module.eval()
    assert module._instance_noise() == 0.0  # never outside training


def test_ema_starts_at_g_then_averages_and_samples():
    module = create_module(tiny_model(ema_decay=0.75), 5, STEPS, fixed_samples=2)
    g, avg = module.generator, module.generator_ema
    assert module.sampler() is g  # before the game: G itself
    first = [p.detach().clone() for p in g.parameters()]
    module._update_ema()
    assert module.sampler() is avg and all(torch.equal(a, b) for a, b in zip(avg.parameters(), first))
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    module._update_ema()
    assert all(torch.allclose(a, b + 0.25) for a, b in zip(avg.parameters(), first))
    assert not any(p.requires_grad for p in avg.parameters()) and int(module.ema_updates) == 2
    assert {"generator_ema.output.weight", "ema_updates"} <= set(module.state_dict())
    sampled = module.generate(2, 4, seed=1)  # by the average, which differs from G by 0.75
    with torch.no_grad():
        for p, a in zip(g.parameters(), avg.parameters()):
            p.copy_(a)
        module.ema_updates.zero_()  # G samples again, now holding the average's weights
    assert module.sampler() is g and torch.equal(module.generate(2, 4, seed=1), sampled)


def test_a_log_file_gets_one_line_per_epoch(tmp_path, caplog):
    # pytest captures stderr, as a log file would: no bar, an epoch line per epoch instead.
    cfg = tiny_model(pretrain_epochs=1, epochs=1)
    with caplog.at_level(logging.INFO, logger="train"):
        train(cfg, tmp_path, pretrain_epochs=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "train" and r.getMessage().startswith("epoch ")]
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/2 pretrain", "epoch 2/2 adversarial"]
    assert "pretrain_loss" in lines[0] and lines[0].endswith("pretraining done in 0s")
    # The game's line shows its own losses, not pretraining's last one, and the time left.
    assert "d_loss" in lines[1] and "pretrain_loss" not in lines[1].split() and lines[1].endswith("ETA 0s")
    assert all(" seq/s | " in line for line in lines)  # this epoch's throughput, counted by the callback


def test_every_logged_metric_is_on_the_epoch_axis(tmp_path):
    from pytorch_lightning.loggers import Logger

    class Recorder(Logger):
        name, version = "recorder", 0
        calls: list = []

        def log_metrics(self, metrics, step=None):
            self.calls.append((step, set(metrics)))

        def log_hyperparams(self, params):
            pass

    recorder = Recorder()
    cfg = tiny_model(pretrain_epochs=1, epochs=2)
    trainer = build_trainer(TRAIN, total_epochs(cfg), tmp_path, logger=recorder, seed=0, pretrain_epochs=1)
    module = create_module(cfg, num_features(cfg), STEPS, fixed_samples=3)
    data = torch.randn(3 * BATCH, STEPS, num_features(cfg))  # 3 batches an epoch
    loader = DataLoader(TensorDataset(data), batch_size=BATCH)
    trainer.fit(module, loader, loader)
    steps = {step for step, _ in recorder.calls}
    assert steps == {0, 1, 2}  # epochs, not batches (3 an epoch)
    assert any("val_d_loss" in names for _, names in recorder.calls) and not any("step" in n for _, n in recorder.calls)


def test_teacher_noise_perturbs_what_g_is_fed_in_training_only():
    # Same weights, same batch, same random stream: the training loss differs with noise on
    # the fed events, the validation loss (real events fed) does not.
    x = torch.randn(BATCH, STEPS, 5)
    x[..., 1] = 1.0  # every step an onset
    modules = []
    for noise in (0.0, 0.5):
        torch.manual_seed(0)
        modules.append(create_module(tiny_model(teacher_noise=noise), 5, STEPS))
    losses = []
    for module in modules:
        torch.manual_seed(1)
        losses.append(module._next_event_loss(x, STEPS))
    assert not torch.allclose(losses[0], losses[1])
    z = torch.rand(BATCH, STEPS, 4)
    torch.testing.assert_close(modules[0]._teacher_forced_loss(z, x), modules[1]._teacher_forced_loss(z, x))


@pytest.mark.parametrize("judge", [False, True])
def test_d_judges_the_tones_as_played_with_judge_semitones(tmp_path, monkeypatch, judge):
    # One pretraining batch, then one adversarial one: record what D is shown as fake in
    # training (validation judges too).
    shown = []
    judge_fn = GANModule._judge

    def record(self, real, fake):
        if self.training:
            shown.append(fake)
        return judge_fn(self, real, fake)

    monkeypatch.setattr(GANModule, "_judge", record)
    pitch = ("midi", 60.0, 12.0)  # feature = (MIDI - 60) / 12
    # A regression head: the categorical one plays MIDI numbers already, rounded or not.
    train(tiny_model(judge_semitones=judge, pitch_head="regression", hypotheses=8), tmp_path, pitch=pitch)
    d_step, g_step = shown  # (B, T, 5) each: [dt, onset, length, pitch, velocity]
    midi = g_step[..., 3] * 12.0 + 60.0
    assert torch.equal(d_step, g_step.detach())  # one fake batch serves both players
    assert torch.allclose(midi, midi.round(), atol=1e-4) == judge  # G's raw output is between semitones
    assert g_step.requires_grad  # straight-through: G's step still reaches its output
