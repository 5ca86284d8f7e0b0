"""Generated features -> tone events -> MIDI, audio and pictures.

Shared by the per-epoch training callback, the ``sample`` stage and the tuning objective, so a
song is decoded the same way everywhere (and measured the same way, by
:func:`crnngan.evaluation.batch.song_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from crnngan.data.midi_io import write_notes
from crnngan.data.representation import Normalizer, events_to_notes, steps_to_events
from crnngan.data.songs import save_songs
from crnngan.paths import SampleDir, midi_file


def decode(features: np.ndarray, normalizer: Normalizer, tones_per_step: int) -> list[np.ndarray]:
    """Model output (B, L, feature_width(k)) -> one event array (N_i, 4) per song (absent tones dropped)."""
    raw = normalizer.inverse(features, tones_per_step)  # (B, L, 1 + 3k) seconds, pitch, velocity
    return [steps_to_events(r, tones_per_step) for r in raw]


@torch.no_grad()
def generate_events(
    module: torch.nn.Module,
    normalizer: Normalizer,
    count: int,
    length: int,
    seed: int,
    batch_size: int = 64,
    progress: bool = True,
) -> list[np.ndarray]:
    """Sample ``count`` songs of ``length`` steps, decoded to events.

    Batch ``i`` uses seed ``seed + i``, so a given (seed, batch_size) always gives the same songs.
    """
    k = module.hparams.model["tones_per_step"]
    songs: list[np.ndarray] = []
    starts = range(0, count, batch_size)
    for i, start in enumerate(tqdm(starts, desc="sample", unit="batch", disable=not progress)):
        n = min(batch_size, count - start)
        feats = module.generate(n, length, seed=seed + i).float().cpu().numpy()
        songs.extend(decode(feats, normalizer, k))
    return songs


def write_midi_files(out_dir: Path, songs: Sequence[np.ndarray], prefix: str = "song") -> list[Path]:
    """One MIDI file per song, named by :func:`crnngan.paths.midi_file`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ev in enumerate(songs):
        path = midi_file(out_dir, i, prefix)
        write_notes(path, events_to_notes(ev))
        paths.append(path)
    return paths


def sample_to_dir(
    checkpoint: Path, normalizer_path: Path, out_dir: Path, count: int, length: int, seed: int, device: str = "auto"
) -> list[np.ndarray]:
    """Load a checkpoint, generate ``count`` songs, write MIDI files + ``songs.npz`` to ``out_dir``."""
    from crnngan.training.fit import load_module

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    module = load_module(checkpoint, map_location=device)
    songs = generate_events(module, Normalizer.load(normalizer_path), count, length, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_songs(SampleDir(out_dir).songs, songs)
    write_midi_files(out_dir, songs)
    return songs
