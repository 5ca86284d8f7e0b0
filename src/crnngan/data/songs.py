"""Sets of songs on disk: event arrays back to back in one ``.npz`` (no pickles).

The one layout, written by preprocess (``data/processed/songs.npz``, the corpus with its
splits: :class:`crnngan.data.preprocess.SongSet`) and by the sample stage
(``samples/<model>/songs.npz``), read by evaluate and tuning:

* ``events`` (N, 4) float32: every song's tone events, one song after the other (columns
  :data:`crnngan.constants.EVENT_FIELDS`);
* ``offsets`` (S + 1,) int64: song i is ``events[offsets[i]:offsets[i + 1]]``;
* optionally more per-song arrays (S,) beside them (the corpus: split, names, content_hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def pack(songs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Songs (each (n_i, 4)) -> ``events`` (sum n_i, 4) float32 and ``offsets`` (S + 1,) int64."""
    lengths = [len(s) for s in songs]
    events = np.concatenate(songs).astype(np.float32) if len(songs) else np.zeros((0, 4), np.float32)
    return events, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def unpack(events: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """The inverse of :func:`pack`: views of ``events``, one per song."""
    return [events[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def write_packed(path: str | Path, events: np.ndarray, offsets: np.ndarray, **per_song: np.ndarray) -> None:
    """Packed songs and any per-song arrays (S,) to ``path``."""
    np.savez(path, events=events, offsets=offsets, **per_song)


def read_packed(path: str | Path, *per_song: str) -> dict[str, np.ndarray]:
    """``events``, ``offsets`` and the named per-song arrays of a file :func:`write_packed` wrote."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in ("events", "offsets", *per_song)}


def save_songs(path: str | Path, songs: Sequence[np.ndarray]) -> None:
    """Songs (each (n_i, 4) tone events) to ``path``."""
    write_packed(path, *pack(songs))


def load_songs(path: str | Path) -> list[np.ndarray]:
    """The songs :func:`save_songs` (or preprocess) wrote to ``path``, each (n_i, 4) float32."""
    packed = read_packed(path)
    return unpack(packed["events"], packed["offsets"])
