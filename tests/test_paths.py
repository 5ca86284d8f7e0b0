"""crnngan.paths: the names inside the stage folders, as dvc.yaml and the README know them."""

from pathlib import Path

import yaml
from stage_scripts import REPO

from crnngan.paths import DataDir, ModelDir, SampleDir, midi_file


def test_names_inside_each_folder():
    data, model, sample = DataDir(Path("data/processed")), ModelDir(Path("models/crnngan")), SampleDir(Path("s"))
    assert data.songs == Path("data/processed/songs.npz") and data.segments(3) == Path("data/processed/segments_k3.npz")
    assert data.normalizer.name == "normalizer.json" and data.manifest.name == "manifest.csv"
    assert model.last_checkpoint == Path("models/crnngan/checkpoints/last.ckpt")
    assert (model.run_state.name, model.epoch_stats.name, model.summary.name) == (
        "run.json",
        "epoch_stats.csv",
        "train_summary.json",
    )
    assert sample.songs == Path("s/songs.npz") and midi_file(Path("s"), 7) == Path("s/song_007.mid")
    assert midi_file(Path("t"), 0, "fixed") == Path("t/fixed_000.mid")


def test_dvc_yaml_names_the_same_files():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert str(DataDir(Path("data/processed")).normalizer) in stages["sample"]["deps"]
    assert str(DataDir(Path("data/processed")).songs) in stages["evaluate"]["deps"]
    assert str(ModelDir(Path("models/baseline")).epoch_stats) in stages["evaluate"]["deps"]
