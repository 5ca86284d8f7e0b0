"""Folder -> dataset: skip reasons in the report, stable splits, train-only normalisation."""

import dataclasses
import hashlib

import numpy as np
import pytest
import torch
from midi_fixtures import (
    BAD_KEY_SIGNATURE,
    NOTE_ON_BAD_VELOCITY,
    chord_file,
    drum_file,
    raw_midi_file,
    scale_file,
    write_midi,
)

from crnngan.config import PreprocessConfig
from crnngan.data.datamodule import EpochShuffle, SegmentDataModule
from crnngan.data.preprocess import NoUsableMidiError, assign_split, load_segments, preprocess_folder, save_preprocessed

CFG = PreprocessConfig(
    segment_length=4, segment_hop=2, val_fraction=0.0, test_fraction=0.0, min_notes=2, workers=1, tones_per_step=(1, 3)
)


def melody(path, pitch0, n=12, start=0):
    return write_midi(path, [[(start + i * 240, start + (i + 1) * 240, pitch0 + i % 5, 70) for i in range(n)]])


def test_bad_files_are_reported_not_fatal(tmp_path):
    scale_file(tmp_path / "good.mid")
    (tmp_path / "empty.mid").write_bytes(b"")
    (tmp_path / "truncated.mid").write_bytes((tmp_path / "good.mid").read_bytes()[:30])
    (tmp_path / "random.midi").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)))
    (tmp_path / "text.mid").write_text("not midi")
    write_midi(tmp_path / "zero.mid", [[]])
    drum_file(tmp_path / "drums_only.mid", with_piano=False)
    # 10**6 ticks at 480 tpb, 120 BPM = 1042 s of silence between two notes
    write_midi(tmp_path / "gap.mid", [[(0, 10, 60, 80), (10**6, 10**6 + 10, 62, 80)]])
    (tmp_path / "notes.txt").write_text("ignored: not a MIDI suffix")
    ds = preprocess_folder(tmp_path, CFG)
    r = ds.report
    reasons = {s["file"]: s["reason"] for s in r["skipped"]}
    assert reasons == {
        "empty.mid": "empty",
        "truncated.mid": "unreadable",
        "random.midi": "unreadable",
        "text.mid": "unreadable",
        "zero.mid": "no-notes",
        "drums_only.mid": "drum-only",
        "gap.mid": "absurd",
    }
    assert r["files_seen"] == 8 and r["files_used"] == 1 and r["files_skipped"] == 7
    assert all(s["detail"] for s in r["skipped"])
    # The manifest names every file once, sorted, with its outcome.
    assert [(m["file"], m["outcome"], m["reason"]) for m in ds.manifest] == sorted(
        [("good.mid", "used", ""), *((f, "skipped", why) for f, why in reasons.items())]
    )
    (good,) = [m for m in ds.manifest if m["outcome"] == "used"]
    assert (good["split"], good["notes"], good["events"]) == ("train", 8, 8)  # the 8-note scale


def test_manifest_file_changes_one_line_per_added_file(tmp_path):
    for i in range(4):
        melody(tmp_path / "midi" / f"s{i}.mid", 50 + 3 * i)
    save_preprocessed(preprocess_folder(tmp_path / "midi", CFG), tmp_path / "a")
    melody(tmp_path / "midi" / "s9.mid", 70)
    save_preprocessed(preprocess_folder(tmp_path / "midi", CFG), tmp_path / "b")
    before = (tmp_path / "a" / "manifest.csv").read_text().splitlines()
    after = (tmp_path / "b" / "manifest.csv").read_text().splitlines()
    assert before[0] == "file,outcome,split,notes,events,repair,reason,detail"
    assert sorted(set(after) - set(before)) == [after[-1]] and set(before) <= set(after)
    assert after[-1].startswith("s9.mid,used,") and len(after) == len(before) + 1


def test_too_many_notes_is_absurd(tmp_path):
    melody(tmp_path / "m.mid", 60, n=30)
    with pytest.raises(NoUsableMidiError, match="absurd"):
        preprocess_folder(tmp_path, dataclasses.replace(CFG, max_notes=20))


def test_no_usable_file_is_a_clear_error(tmp_path):
    (tmp_path / "x.mid").write_text("nope")
    with pytest.raises(NoUsableMidiError, match="no usable MIDI"):
        preprocess_folder(tmp_path, CFG)
    with pytest.raises(NoUsableMidiError, match="does not exist"):
        preprocess_folder(tmp_path / "missing", CFG)


def test_split_is_stable_when_files_are_added():
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(400)]
    before = [assign_split(h, "salt", 0.1, 0.1) for h in hashes[:200]]
    after = [assign_split(h, "salt", 0.1, 0.1) for h in hashes]
    assert after[:200] == before
    counts = np.bincount(after, minlength=3) / len(after)
    assert 0.7 < counts[0] < 0.9 and 0.04 < counts[1] < 0.16 and 0.04 < counts[2] < 0.16
    assert [assign_split(h, "other", 0.1, 0.1) for h in hashes] != after  # the salt matters


def test_duplicates_are_dropped_and_reported(tmp_path):
    melody(tmp_path / "a.mid", 60)
    melody(tmp_path / "b" / "copy.mid", 60)  # same notes, another folder
    melody(tmp_path / "c.mid", 70)
    ds = preprocess_folder(tmp_path, CFG)
    assert list(ds.songs.names) == ["a.mid", "c.mid"]
    dup = [s for s in ds.report["skipped"] if s["reason"] == "duplicate"]
    assert dup == [{"file": "b/copy.mid", "reason": "duplicate", "detail": "same notes as a.mid"}]


def test_normalizer_is_fit_on_train_only(tmp_path):
    for i in range(30):
        melody(tmp_path / f"s{i:02d}.mid", 40 + i)
    cfg = dataclasses.replace(CFG, val_fraction=0.2, test_fraction=0.2)
    ds = preprocess_folder(tmp_path, cfg)
    split = ds.songs.split
    assert set(split.tolist()) == {0, 1, 2}
    train = np.concatenate(ds.songs.songs(0))
    assert ds.normalizer.pitch_feature == "midi"  # the default: MIDI numbers, not Hz
    assert ds.normalizer.pitch_mean == pytest.approx(train[:, 2].mean())
    assert ds.normalizer.dt_max == train[:, 0].max() and ds.normalizer.velocity_min == train[:, 3].min()
    everything = ds.songs.events[:, 2].mean()
    assert ds.normalizer.pitch_mean != pytest.approx(everything)


def test_saved_dataset_feeds_the_datamodule(tmp_path):
    for i in range(6):
        melody(tmp_path / "midi" / f"s{i}.mid", 50 + 3 * i)
    chord_file(tmp_path / "midi" / "chord.mid")
    ds = preprocess_folder(tmp_path / "midi", CFG)
    save_preprocessed(ds, tmp_path / "out")
    seg = load_segments(tmp_path / "out", 1)
    # 6 melodies of 12 events, windows of 4 every 2 events -> 5 windows each; chord.mid has
    # 4 events -> 1 window
    assert seg["train"].shape == (31, 4, 5)
    assert (
        load_segments(tmp_path / "out", 3)["train"].shape[2] == 14
    )  # dt, onset, 3 x (length, pitch, velocity, presence)
    order1 = torch.cat([b[0] for b in _loader(tmp_path / "out", 3)])
    order2 = torch.cat([b[0] for b in _loader(tmp_path / "out", 3)])
    assert order1.shape == (31, 4, 5) and order1.dtype == torch.float32
    assert torch.equal(order1, order2)  # same seed -> same shuffled order
    assert not torch.equal(order1, torch.cat([b[0] for b in _loader(tmp_path / "out", 4)]))
    with pytest.raises(FileNotFoundError, match="preprocess.tones_per_step"):
        load_segments(tmp_path / "out", 2)


def test_epoch_shuffle_depends_on_seed_and_epoch_only():
    sampler = EpochShuffle(10, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(10)) and first == list(sampler)  # a permutation, repeatable
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(second) == list(range(10))
    fresh = EpochShuffle(10, seed=3)
    fresh.set_epoch(1)  # as after resuming at epoch 1: the same order as a run that never stopped
    assert list(fresh) == second
    assert list(EpochShuffle(10, seed=4)) != first


def _loader(path, seed):
    dm = SegmentDataModule(path, tones_per_step=1, batch_size=8, seed=seed)
    dm.setup()
    return dm.train_dataloader()


def test_repaired_files_are_used_and_say_so(tmp_path):
    # Two tones each (min_notes is 2): one file with a velocity byte above 127, one with a
    # 9-sharp key signature; both are read with their repair and the manifest names it.
    second = bytes([0x00, 0x90, 0x3E, 0x50, 0x83, 0x60, 0x80, 0x3E, 0x40])  # then D4 for 480 ticks
    end = bytes([0x00, 0xFF, 0x2F, 0x00])
    raw_midi_file(tmp_path / "byte.mid", NOTE_ON_BAD_VELOCITY[:-4] + second + end)
    raw_midi_file(tmp_path / "key.mid", BAD_KEY_SIGNATURE[:-4] + second + end)
    ds = preprocess_folder(tmp_path, CFG)
    assert ds.report["files_used"] == 2 and ds.report["repaired"] == {
        "byte.mid": "clipped-data-bytes",
        "key.mid": "dropped-malformed-meta",
    }
    assert [(m["file"], m["outcome"], m["repair"], m["notes"]) for m in ds.manifest] == [
        ("byte.mid", "used", "clipped-data-bytes", 2),
        ("key.mid", "used", "dropped-malformed-meta", 2),
    ]
