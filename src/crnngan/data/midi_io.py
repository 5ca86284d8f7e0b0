"""The only module that touches MIDI files (reading, writing, and music21 corpus export).

Everything outside this module works on plain note arrays in seconds (see constants.py),
so the rest of the package never depends on a file's ticks-per-beat or tempo map.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crnngan.constants import MAX_VELOCITY, REFERENCE_BPM, TICKS_PER_BEAT
from crnngan.data.notes import Notes

MIDI_SUFFIXES = (".mid", ".midi")
# A delta time beyond this many ticks is a corrupt file, not music (2**28 ticks is the
# largest MIDI variable-length value; a real file stays far below 2**24).
MAX_TICK = 1 << 24


class MidiReadError(Exception):
    """A MIDI file that cannot be turned into notes; ``reason`` is a short, stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MidiContent:
    """What :func:`read_notes` found in one file."""

    notes: Notes  # every tone sorted by (onset, pitch): float64 seconds, int16 pitches and velocities 1..127
    drum_notes: int = 0  # tones dropped because they were on a drum track
    repairs: tuple[str, ...] = ()  # what a tolerant re-read fixed (see read_notes), () when none

    def __len__(self) -> int:
        return len(self.notes.onsets)


def find_midi_files(folder: str | Path) -> list[Path]:
    """Every ``.mid``/``.midi`` file under ``folder`` (recursive, case-insensitive), sorted."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)


def ticks_to_seconds(
    ticks: np.ndarray, tempo_ticks: np.ndarray, tempo_bpm: np.ndarray, ticks_per_beat: int
) -> np.ndarray:
    """Convert absolute ticks to seconds under a piecewise-constant tempo map.

    ``tempo_ticks``/``tempo_bpm`` (M,) are the tempo changes sorted by tick. Unlike
    miditoolkit's ``get_tick_to_time_mapping`` this never allocates an array of
    ``max_tick`` entries, so a corrupt file with a huge delta cannot exhaust memory.
    """
    if len(tempo_ticks) == 0 or tempo_ticks[0] > 0:
        # MIDI's default tempo holds until the first explicit change.
        tempo_ticks = np.concatenate([[0], tempo_ticks])
        tempo_bpm = np.concatenate([[REFERENCE_BPM], tempo_bpm])
    sec_per_tick = 60.0 / (np.asarray(tempo_bpm, dtype=np.float64) * ticks_per_beat)  # (M,)
    # Seconds elapsed at each tempo change: (M,)
    starts = np.concatenate([[0.0], np.cumsum(np.diff(tempo_ticks) * sec_per_tick[:-1])])
    seg = np.searchsorted(tempo_ticks, ticks, side="right") - 1  # (N,) active tempo index
    return starts[seg] + (ticks - tempo_ticks[seg]) * sec_per_tick[seg]


def merged_tempo_map(mido_file: Any) -> list[tuple[int, float]]:
    """(tick, bpm) of every ``set_tempo`` of every track, sorted by tick; of several changes at
    one tick the last (in track, then event order) wins. Event times must be absolute.

    miditoolkit 1.0.1's own loader walks the tracks in order, restarts the whole list at any
    tick-0 ``set_tempo`` and drops a change equal to the last one *seen*: a tempo track with a
    change at tick 960, followed by a track restating the first tempo at tick 0 (common in
    sequencer exports), was read at one constant tempo.
    """
    import mido

    at: dict[int, float] = {}
    for track in mido_file.tracks:
        for event in track:
            if event.type == "set_tempo":
                at[int(event.time)] = float(mido.tempo2bpm(event.tempo))
    return sorted(at.items())


@functools.cache
def _midi_file_class() -> type:
    """miditoolkit's MidiFile with the tempo map of :func:`merged_tempo_map` (one parse)."""
    import miditoolkit  # imported lazily: it monkeypatches mido on import

    class MidiFile(miditoolkit.MidiFile):
        @staticmethod
        def _load_tempo_changes(mido_obj: Any) -> list[Any]:
            return [miditoolkit.TempoChange(bpm, tick) for tick, bpm in merged_tempo_map(mido_obj)]

    return MidiFile


# Repairs a tolerant re-read may make, by the parser error that calls for them.
CLIP_DATA_BYTES = "clipped-data-bytes"  # a data byte above 127 clipped to 127 (mido's clip mode)
DROP_BAD_META = "dropped-malformed-meta"  # an undecodable meta event (e.g. a key signature) dropped


def _repair_for(exc: Exception) -> str | None:
    """The repair that gets past ``exc``, if it is one of the two harmless kinds."""
    import mido

    if isinstance(exc, mido.KeySignatureError):
        return DROP_BAD_META
    if isinstance(exc, (OSError, ValueError)) and "data byte must be in range" in str(exc):
        return CLIP_DATA_BYTES
    return None


@contextlib.contextmanager
def _tolerant_meta() -> Iterator[None]:
    """While active, mido turns a meta event it cannot decode into an UnknownMetaMessage
    (which miditoolkit ignores) instead of raising. Meta events carry no notes."""
    import mido.midifiles.midifiles as reader
    from mido.midifiles.meta import UnknownMetaMessage

    strict = reader.build_meta_message

    def tolerant(meta_type: int, data: Any, delta: int = 0) -> Any:
        try:
            return strict(meta_type, data, delta)
        except Exception:  # noqa: BLE001 - any decode failure of a meta event
            return UnknownMetaMessage(meta_type, data, time=delta)

    reader.build_meta_message = tolerant
    try:
        yield
    finally:
        reader.build_meta_message = strict


def _parse(path: str | Path) -> tuple[Any, tuple[str, ...]]:
    """miditoolkit's MidiFile of ``path``, read strictly first; on a data byte above 127 or an
    undecodable meta event, read again with that repair (both if needed). Returns the file
    and the repairs made; raises what a strict read raised for anything else."""
    repairs: list[str] = []
    while True:
        try:
            with _tolerant_meta() if DROP_BAD_META in repairs else contextlib.nullcontext():
                return _midi_file_class()(str(path), clip=CLIP_DATA_BYTES in repairs), tuple(repairs)
        except Exception as exc:  # noqa: BLE001 - sorted below
            repair = _repair_for(exc)
            if repair is None or repair in repairs:
                raise
            repairs.append(repair)


def read_notes(path: str | Path, *, include_drums: bool = False) -> MidiContent:
    """Read every tone of a MIDI file, honouring its tempo map (:func:`merged_tempo_map`).

    A file that fails only because a data byte is above 127 or a meta event (such as a key
    signature with 9 sharps) cannot be decoded is read again with that repair, named in
    ``MidiContent.repairs``. Raises :class:`MidiReadError` with a reason code (``unreadable``,
    ``absurd``, ``no-notes``, ``drum-only``) instead of any parser exception.
    """
    try:
        midi, repairs = _parse(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure means an unusable file
        raise MidiReadError("unreadable", f"{type(exc).__name__}: {exc}") from exc
    if midi.ticks_per_beat <= 0:
        raise MidiReadError("absurd", f"ticks_per_beat={midi.ticks_per_beat}")
    if midi.max_tick > MAX_TICK:
        raise MidiReadError("absurd", f"last event at tick {midi.max_tick} (> {MAX_TICK})")

    tracks = [inst for inst in midi.instruments if include_drums or not inst.is_drum]
    drum_notes = sum(len(inst.notes) for inst in midi.instruments if inst.is_drum and not include_drums)
    raw = [(n.start, n.end, n.pitch, n.velocity) for inst in tracks for n in inst.notes if n.velocity > 0]
    if not raw:
        if drum_notes:
            raise MidiReadError("drum-only", f"{drum_notes} drum notes and no pitched notes")
        raise MidiReadError("no-notes", "the file contains no note")
    arr = np.asarray(raw, dtype=np.int64)  # (N, 4) ticks, ticks, pitch, velocity

    changes = [(tc.time, tc.tempo) for tc in midi.tempo_changes]  # sorted, one per tick
    tempo_ticks = np.asarray([t for t, _ in changes], dtype=np.int64)
    tempo_bpm = np.asarray([b for _, b in changes], dtype=np.float64)
    if np.any(tempo_bpm <= 0) or not np.all(np.isfinite(tempo_bpm)):
        raise MidiReadError("absurd", "non-positive tempo")
    seconds = ticks_to_seconds(arr[:, :2].ravel(), tempo_ticks, tempo_bpm, midi.ticks_per_beat)
    onsets, ends = seconds.reshape(-1, 2).T
    order = np.lexsort((arr[:, 2], onsets))
    onsets = onsets[order]
    notes = Notes(
        onsets=onsets,
        lengths=np.maximum(ends[order], onsets) - onsets,
        pitches=arr[order, 2].astype(np.int16),
        velocities=np.clip(arr[order, 3], 1, MAX_VELOCITY).astype(np.int16),
    )
    return MidiContent(notes, drum_notes=drum_notes, repairs=repairs)


def write_notes(path: str | Path, notes: Notes, *, program: int = 0) -> None:
    """Write tones (seconds, MIDI pitch, velocity) as a one-track MIDI file.

    The file uses ``TICKS_PER_BEAT`` at ``REFERENCE_BPM`` so one tick equals
    ``constants.TIME_QUANTUM`` and reading it back recovers the same grid values.
    Pitches are rounded to the nearest MIDI number; tones with velocity < 1 or no length
    are absent and not written.
    """
    import miditoolkit

    ticks_per_second = TICKS_PER_BEAT * REFERENCE_BPM / 60.0
    start = np.rint(np.asarray(notes.onsets, dtype=np.float64) * ticks_per_second).astype(np.int64)
    dur = np.rint(np.asarray(notes.lengths, dtype=np.float64) * ticks_per_second).astype(np.int64)
    pitch = np.clip(np.rint(notes.pitches), 0, 127).astype(np.int64)
    vel = np.clip(np.rint(notes.velocities), 0, MAX_VELOCITY).astype(np.int64)
    keep = (vel >= 1) & (dur >= 1) & (start >= 0)

    midi = miditoolkit.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    # A new MidiFile has no tempo at all; without one its tick->time map is all zeros.
    midi.tempo_changes = [miditoolkit.TempoChange(REFERENCE_BPM, 0)]
    inst = miditoolkit.Instrument(program=program, is_drum=False, name="crnngan")
    inst.notes = [
        miditoolkit.Note(velocity=int(v), pitch=int(p), start=int(s), end=int(s + d))
        for s, d, p, v in zip(start[keep], dur[keep], pitch[keep], vel[keep])
    ]
    midi.instruments = [inst]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    midi.dump(str(path))


def export_music21_work(source: str | Path, target: str | Path) -> None:
    """Parse one work bundled with music21 (MusicXML, kern, ABC, ...) and write it as MIDI."""
    from music21 import converter

    score = converter.parse(str(source))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    score.write("midi", fp=str(target))
