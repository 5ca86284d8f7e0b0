"""Preprocessing throughput: files/s and notes/s of the corpus reader, per worker count."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import Budget, repeat
from crnngan.config import PreprocessConfig
from crnngan.data.midi_io import write_notes
from crnngan.data.notes import Notes
from crnngan.data.reading import read_midi_songs


def write_synthetic_corpus(folder: Path, files: int = 24, notes: int = 400, seed: int = 0) -> list[Path]:
    """``files`` one-track MIDI files of ``notes`` random tones each (a third in chords)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(files):
        gaps = rng.choice([0.0, 0.25, 0.5], size=notes, p=[1 / 3, 1 / 3, 1 / 3])
        path = folder / f"synthetic_{i:03d}.mid"
        write_notes(
            path, Notes(np.cumsum(gaps), np.full(notes, 0.5), rng.integers(48, 73, notes), rng.integers(40, 120, notes))
        )
        paths.append(path)
    return paths


def bench_preprocess(
    paths: Sequence[Path], cfg: PreprocessConfig, workers: Sequence[int], budget: Budget
) -> dict[str, Any]:
    """files/s and notes/s of :func:`crnngan.data.reading.read_midi_songs` per worker count
    (0 = one per core; the process pool's start-up is counted, as preprocessing pays it once
    per run), and how many files were read (the rest skipped, each with its reason in the
    manifest)."""
    results: dict[int, list[Any]] = {}

    def once(w: int) -> Callable[[], None]:
        def load() -> None:
            results[w] = read_midi_songs(paths, cfg, w)

        return load

    # read_midi_songs draws a tqdm bar on stderr; keep it out of the benchmark's report.
    with contextlib.redirect_stderr(io.StringIO()):
        timings = {w: repeat(once(w), budget) for w in workers}
    read = [r for r in results[workers[0]] if r.events is not None]
    n_notes = sum(len(r.events) for r in read)
    out: dict[str, Any] = {"files": len(paths), "read": len(read), "notes": n_notes, "by_workers": {}}
    for w, timing in timings.items():
        n = w or os.cpu_count() or 1
        timing.update(
            files_per_s=len(paths) / timing["median_s"],
            notes_per_s=n_notes / timing["median_s"],
            # as read_midi_songs decides: a pool only for several workers and >= 4 files
            processes=1 if n == 1 or len(paths) < 4 else min(n, len(paths)),
        )
        out["by_workers"][str(w)] = timing
    return out
