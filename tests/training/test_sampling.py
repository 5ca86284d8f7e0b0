"""A trained checkpoint -> MIDI files that parse back with the expected notes."""

import numpy as np
import pytest
import torch
from params_fixtures import tiny_model
from training_harness import RandomData

from crnngan.config import TrainConfig
from crnngan.constants import TIME_QUANTUM
from crnngan.data.midi_io import read_notes
from crnngan.data.representation import Normalizer, feature_width
from crnngan.data.songs import load_songs
from crnngan.evaluation.batch import song_table
from crnngan.training.fit import build_trainer, fit
from crnngan.training.kinds import create_module, total_epochs
from crnngan.training.sampling import sample_to_dir


@pytest.mark.parametrize("tones", [1, 3])
def test_checkpoint_to_midi(tmp_path, tones):
    # One regressed event per step, and G itself samples (no average of Gs): pinning G's head
    # below pins the songs.
    cfg = tiny_model(tones_per_step=tones, hypotheses=1, pitch_head="regression", ema_decay=0.0)
    features = feature_width(tones)
    trainer = build_trainer(TrainConfig(accelerator="cpu"), total_epochs(cfg), tmp_path, seed=0)
    module = create_module(cfg, features, 8, fixed_samples=2)
    fit(module, RandomData(features), trainer, tmp_path / "ckpt")
    # Pin G's output to a known step so the expected notes are exact: every step sounds k
    # tones (pitches 60, 64, 67 in feature space (p - 60) / 4), 0.25 s apart, 0.5 s long;
    # a song starts with its first tone, so onsets are 0, 0.25, ..., 2.75 (every step a new onset). With k = 3 each
    # slot's presence logit is 10 (sounding).
    slots = [[0.5, (p - 60) / 4, 0.6] + [10.0] * (tones > 1) for p in (60, 64, 67)[:tones]]
    with torch.no_grad():
        module.generator.output.weight.zero_()
        module.generator.output.bias.copy_(torch.tensor([0.25, 10.0] + sum(slots, [])))  # onset logit 10
    trainer.save_checkpoint(tmp_path / "pinned.ckpt")
    norm = Normalizer("midi", dt_scale=1.0, length_scale=1.0, pitch_mean=60.0, pitch_std=4.0, time_feature="linear")
    norm.save(tmp_path / "norm.json")

    songs = sample_to_dir(
        tmp_path / "pinned.ckpt", tmp_path / "norm.json", tmp_path / "out", count=3, length=12, seed=7
    )
    again = load_songs(tmp_path / "out" / "songs.npz")
    assert len(songs) == 3 and all(np.array_equal(a, b) for a, b in zip(songs, again))
    for i in range(3):
        notes = read_notes(tmp_path / "out" / f"song_{i:03d}.mid").notes
        assert len(notes) == 12 * tones
        np.testing.assert_allclose(np.unique(notes.onsets), 0.25 * np.arange(12), atol=TIME_QUANTUM)
        assert sorted(set(notes.pitches.tolist())) == [60, 64, 67][:tones]
        assert set(notes.velocities.tolist()) == {round(0.6 * 127)}

    # A trained (not pinned) checkpoint samples deterministically for a seed.
    first = sample_to_dir(
        tmp_path / "ckpt" / "last.ckpt", tmp_path / "norm.json", tmp_path / "a", count=4, length=8, seed=3
    )
    second = sample_to_dir(
        tmp_path / "ckpt" / "last.ckpt", tmp_path / "norm.json", tmp_path / "b", count=4, length=8, seed=3
    )
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert set(song_table(songs)) >= {"polyphony", "scale_consistency", "tone_span"}
