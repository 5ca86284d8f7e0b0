"""Reading a folder's MIDI files into tone events, each file's outcome with its reason.

Bad input never raises: every file comes back as a :class:`FileResult`, with events or with
the reason (and detail) it is unusable, which preprocess writes into its manifest.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from crnngan.config import PreprocessConfig
from crnngan.constants import DT
from crnngan.data.midi_io import MidiReadError, read_notes
from crnngan.data.representation import notes_to_events


@dataclass(frozen=True)
class FileResult:
    """Outcome of reading one file: events, or the reason it was skipped."""

    path: str
    events: np.ndarray | None = None
    reason: str = ""
    detail: str = ""
    drum_notes: int = 0
    notes: int = 0  # tones read (events: after merging a pitch struck twice at one onset)
    repair: str = ""  # what a tolerant re-read fixed ("+"-joined), "" for a clean read


def load_song(path: str, cfg: PreprocessConfig) -> FileResult:
    """Read one file into events, or say why it is unusable (never raises on bad input)."""
    try:
        size = os.path.getsize(path)
        if size == 0:
            return FileResult(path, reason="empty", detail="0 bytes")
        if size > cfg.max_file_mb * 2**20:
            return FileResult(path, reason="absurd", detail=f"{size / 2**20:.1f} MiB file")
        content = read_notes(path, include_drums=cfg.include_drums)
    except MidiReadError as exc:
        return FileResult(path, reason=exc.reason, detail=exc.detail)
    except OSError as exc:
        return FileResult(path, reason="unreadable", detail=str(exc))
    if len(content) > cfg.max_notes:
        return FileResult(path, reason="absurd", detail=f"{len(content)} notes (> {cfg.max_notes})")
    events = notes_to_events(content.notes)
    gap = float(events[:, DT].max())
    end = float((content.notes.onsets + content.notes.lengths).max())
    if gap > cfg.max_gap_seconds:
        return FileResult(path, reason="absurd", detail=f"{gap:.0f} s without an onset")
    if end > cfg.max_duration_seconds:
        return FileResult(path, reason="absurd", detail=f"{end:.0f} s long")
    if len(events) < cfg.min_notes:
        return FileResult(path, reason="too-few-notes", detail=f"{len(events)} < {cfg.min_notes}")
    return FileResult(
        path, events=events, drum_notes=content.drum_notes, notes=len(content), repair="+".join(content.repairs)
    )


def _load_song_star(args: tuple[str, PreprocessConfig]) -> FileResult:
    return load_song(*args)


def read_midi_songs(paths: Iterable[Path], cfg: PreprocessConfig, workers: int = 0) -> list[FileResult]:
    """Read files in parallel (``workers`` processes, 0 = one per core), in input order."""
    jobs = [(str(p), cfg) for p in paths]
    n = workers or os.cpu_count() or 1
    bar = dict(total=len(jobs), desc="preprocess", unit="file", mininterval=1.0)
    if n == 1 or len(jobs) < 4:
        return [load_song(*j) for j in tqdm(jobs, **bar)]
    with mp.get_context("spawn").Pool(min(n, len(jobs))) as pool:
        return list(tqdm(pool.imap(_load_song_star, jobs, chunksize=4), **bar))
