"""From a folder of MIDI files to a split, segmented, normalised dataset on disk.

On-disk layout written by :func:`save_preprocessed` (no pickles; ``np.load(allow_pickle=False)``):

* ``songs.npz``: all usable songs in the layout of :mod:`crnngan.data.songs`, with per song
  ``split`` (S,) int8 (0 train, 1 val, 2 test), ``names`` (S,) str, ``content_hash`` (S,) str;
* ``normalizer.json``: the :class:`~crnngan.data.representation.Normalizer` fitted on train;
* ``segments_k{k}.npz``: ``train`` / ``val`` / ``test`` feature windows (n, L, feature_width(k)) float32
  for every ``tones_per_step`` k that a model uses;
* ``manifest.csv``: one row per input file, used (split, notes, events) or skipped (reason).
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crnngan.config import PreprocessConfig
from crnngan.data.reading import FileResult, read_midi_songs
from crnngan.data.representation import Normalizer, events_to_steps, feature_width, segment_starts
from crnngan.data.songs import pack, read_packed, unpack, write_packed
from crnngan.paths import DataDir

SPLITS = ("train", "val", "test")


def assign_split(content_hash: str, salt: str, val_fraction: float, test_fraction: float) -> int:
    """Split of one song from its content hash alone (0 train, 1 val, 2 test).

    Depends on nothing but the song's own bytes and the salt, so adding or removing other
    files never moves a song, and identical songs always share a split.
    """
    digest = hashlib.sha256(f"{salt}:{content_hash}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64  # uniform in [0, 1)
    if u < test_fraction:
        return 2
    if u < test_fraction + val_fraction:
        return 1
    return 0


@dataclass
class SongSet:
    """All usable songs, back to back. See the module docstring for the arrays."""

    events: np.ndarray
    offsets: np.ndarray
    split: np.ndarray
    names: np.ndarray
    content_hash: np.ndarray

    PER_SONG = ("split", "names", "content_hash")

    def songs(self, split: int) -> list[np.ndarray]:
        everything = unpack(self.events, self.offsets)
        return [everything[i] for i in np.flatnonzero(self.split == split)]

    def save(self, path: Path) -> None:
        write_packed(path, self.events, self.offsets, **{k: getattr(self, k) for k in self.PER_SONG})

    @classmethod
    def load(cls, path: Path) -> SongSet:
        return cls(**read_packed(path, *cls.PER_SONG))


def build_songset(results: list[FileResult], root: Path, cfg: PreprocessConfig) -> tuple[SongSet, list[dict[str, str]]]:
    """Keep usable songs, drop exact duplicates (same events), assign splits.

    Returns the songs and one skip record per dropped file (duplicates included).
    """
    skipped: list[dict[str, str]] = []
    kept: list[tuple[str, np.ndarray, str]] = []
    seen: dict[str, str] = {}
    for r in results:
        name = os.path.relpath(r.path, root)
        if r.events is None:
            skipped.append({"file": name, "reason": r.reason, "detail": r.detail})
            continue
        digest = hashlib.sha256(np.ascontiguousarray(r.events).tobytes()).hexdigest()
        if digest in seen:
            skipped.append({"file": name, "reason": "duplicate", "detail": f"same notes as {seen[digest]}"})
            continue
        seen[digest] = name
        kept.append((name, r.events, digest))
    if not kept:
        return SongSet(*pack([]), np.zeros(0, np.int8), np.zeros(0, str), np.zeros(0, str)), skipped
    return SongSet(
        *pack([ev for _, ev, _ in kept]),
        split=np.array(
            [assign_split(h, cfg.split_salt, cfg.val_fraction, cfg.test_fraction) for _, _, h in kept], dtype=np.int8
        ),
        names=np.array([n for n, _, _ in kept]),
        content_hash=np.array([h for _, _, h in kept]),
    ), skipped


def make_segments(
    songs: list[np.ndarray], normalizer: Normalizer, tones_per_step: int, length: int, hop: int
) -> np.ndarray:
    """Feature windows (n, length, feature_width(k)) float32 cut from each song's steps.

    Songs shorter than one window contribute none (zero padding would teach silence).
    """
    width = feature_width(tones_per_step)
    windows = []
    for ev in songs:
        feats = normalizer.transform(events_to_steps(ev, tones_per_step), tones_per_step)
        for s in segment_starts(len(feats), length, hop):
            windows.append(feats[s : s + length])
    if not windows:
        return np.zeros((0, length, width), dtype=np.float32)
    return np.stack(windows).astype(np.float32)


def load_segments(data_dir: str | Path, tones_per_step: int) -> dict[str, np.ndarray]:
    """The saved feature windows of every split for ``tones_per_step``."""
    path = DataDir(Path(data_dir)).segments(tones_per_step)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} missing: add {tones_per_step} to preprocess.tones_per_step and re-run preprocess"
        )
    with np.load(path, allow_pickle=False) as z:
        return {s: z[s] for s in SPLITS}


class NoUsableMidiError(RuntimeError):
    """The input folder holds no MIDI file that survives preprocessing."""


MANIFEST_FIELDS = ("file", "outcome", "split", "notes", "events", "repair", "reason", "detail")


def file_manifest(
    results: list[FileResult], songs: SongSet, skipped: list[dict[str, str]], root: Path
) -> list[dict[str, str | int]]:
    """One row per input file, sorted by path: ``used`` (split, notes, events) or ``skipped``
    (reason, detail), and the ``repair`` a tolerant read made. A file added to the input adds
    one row and changes no other."""
    split_of = dict(zip(songs.names.tolist(), songs.split.tolist()))
    why = {s["file"]: s for s in skipped}
    rows = []
    for r in results:
        name = os.path.relpath(r.path, root)
        if name in split_of:
            rows.append(
                {
                    "file": name,
                    "outcome": "used",
                    "split": SPLITS[split_of[name]],
                    "notes": r.notes,
                    "events": len(r.events),
                    "repair": r.repair,
                    "reason": "",
                    "detail": "",
                }
            )
        else:
            rows.append(
                {
                    "file": name,
                    "outcome": "skipped",
                    "split": "",
                    "notes": r.notes,
                    "events": 0 if r.events is None else len(r.events),
                    "repair": r.repair,
                    "reason": why[name]["reason"],
                    "detail": why[name]["detail"],
                }
            )
    return sorted(rows, key=lambda row: row["file"])


@dataclass
class Preprocessed:
    songs: SongSet
    normalizer: Normalizer
    segments: dict[int, dict[str, np.ndarray]]  # tones_per_step -> split -> (n, L, feature_width(k))
    report: dict
    manifest: list[dict[str, str | int]] = field(default_factory=list)  # file_manifest rows


def preprocess_folder(input_dir: str | Path, cfg: PreprocessConfig) -> Preprocessed:
    """Read, filter, split, normalise and segment every MIDI file under ``input_dir``."""
    root = Path(input_dir)
    if not root.is_dir():
        raise NoUsableMidiError(f"input folder {root} does not exist")
    from crnngan.data.midi_io import find_midi_files

    paths = find_midi_files(root)
    results = read_midi_songs(paths, cfg, cfg.workers)
    songs, skipped = build_songset(results, root, cfg)
    if len(songs.names) == 0:
        raise NoUsableMidiError(
            f"no usable MIDI file in {root} ({len(paths)} seen, {len(skipped)} skipped; "
            f"reasons: {sorted({s['reason'] for s in skipped}) or 'no .mid/.midi files'})"
        )
    train_songs = songs.songs(0)
    notes: list[str] = []
    if not train_songs:
        raise NoUsableMidiError("no song landed in the train split; lower val/test fractions")
    normalizer = Normalizer.fit(np.concatenate(train_songs), cfg.pitch_feature, cfg.time_feature)
    segments = {
        k: {
            name: make_segments(songs.songs(i), normalizer, k, cfg.segment_length, cfg.segment_hop)
            for i, name in enumerate(SPLITS)
        }
        for k in cfg.tones_per_step
    }
    short = sum(len(s) < cfg.segment_length for s in train_songs)
    if short:
        notes.append(
            f"{short} train songs are shorter than one segment "
            f"({cfg.segment_length} events) and give no training segment"
        )
    drums = sum(r.drum_notes for r in results if r.events is not None)
    if drums:
        notes.append(f"{drums} drum-track notes excluded (preprocess.include_drums = false)")
    for split in SPLITS[1:]:
        if not np.any(songs.split == SPLITS.index(split)):
            notes.append(f"the {split} split is empty (too few songs for its fraction)")
    reasons: dict[str, int] = {}
    for s in skipped:
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    lengths = np.diff(songs.offsets)
    ev = songs.events
    report = {
        "input_dir": str(root),
        "files_seen": len(paths),
        "files_used": int(len(songs.names)),
        "files_skipped": len(skipped),
        "skipped_by_reason": reasons,
        # Files read only after a repair (crnngan.data.midi_io.read_notes), with the repair.
        "repaired": {os.path.relpath(r.path, root): r.repair for r in results if r.repair},
        "skipped": skipped,
        "notes": notes,
        "songs_per_split": {s: int(np.sum(songs.split == i)) for i, s in enumerate(SPLITS)},
        "events_per_split": {s: int(lengths[songs.split == i].sum()) for i, s in enumerate(SPLITS)},
        "segments": {f"k{k}": {s: int(len(a)) for s, a in seg.items()} for k, seg in segments.items()},
        "stats": {
            "events": int(len(ev)),
            "events_per_song": {
                "min": int(lengths.min()),
                "median": float(np.median(lengths)),
                "max": int(lengths.max()),
            },
            "pitch": {"min": int(ev[:, 2].min()), "max": int(ev[:, 2].max()), "mean": float(ev[:, 2].mean())},
            "velocity": {"min": int(ev[:, 3].min()), "max": int(ev[:, 3].max())},
            "chord_share": float(np.mean(ev[:, 0] == 0)),
            "dt_seconds": {"median": float(np.median(ev[:, 0])), "p99": float(np.quantile(ev[:, 0], 0.99))},
            "length_seconds": {"median": float(np.median(ev[:, 1])), "p99": float(np.quantile(ev[:, 1], 0.99))},
        },
        "normalizer": normalizer.__dict__,
    }
    return Preprocessed(songs, normalizer, segments, report, file_manifest(results, songs, skipped, root))


def save_preprocessed(ds: Preprocessed, out_dir: str | Path) -> None:
    """Write a :class:`Preprocessed` in the layout the module docstring describes."""
    import json

    out = DataDir(Path(out_dir))
    out.root.mkdir(parents=True, exist_ok=True)
    ds.songs.save(out.songs)
    ds.normalizer.save(out.normalizer)
    for k, seg in ds.segments.items():
        np.savez(out.segments(k), **seg)
    out.report.write_text(json.dumps(ds.report, indent=2) + "\n")
    with open(out.manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(ds.manifest)
