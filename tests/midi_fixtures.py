"""Tiny MIDI files built in code, each with a hand-checkable note list.

Fixtures deliberately use miditoolkit directly (not crnngan.data.midi_io) so that the reader
under test is checked against an independent writer.
"""

from __future__ import annotations

from pathlib import Path

import miditoolkit as mtk

# (start_tick, end_tick, pitch, velocity)
C_MAJOR = [(i * 480, (i + 1) * 480, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]


def write_midi(
    path: Path,
    tracks: list[list[tuple[int, int, int, int]]],
    *,
    tpb: int = 480,
    tempi: list[tuple[float, int]] = ((120.0, 0),),
    drum_tracks: tuple[int, ...] = (),
) -> Path:
    """Write notes per track with the given ticks-per-beat and tempo map (bpm, tick)."""
    midi = mtk.MidiFile(ticks_per_beat=tpb)
    midi.tempo_changes = [mtk.TempoChange(bpm, tick) for bpm, tick in tempi]
    for i, notes in enumerate(tracks):
        inst = mtk.Instrument(program=0, is_drum=i in drum_tracks, name=f"t{i}")
        inst.notes = [mtk.Note(velocity=v, pitch=p, start=s, end=e) for s, e, p, v in notes]
        midi.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.dump(str(path))
    return path


def scale_file(path: Path, tpb: int = 480) -> Path:
    """C major scale, eight quarter notes at 120 BPM: every dt and length is 0.5 s."""
    k = tpb / 480
    return write_midi(path, [[(int(s * k), int(e * k), p, v) for s, e, p, v in C_MAJOR]], tpb=tpb)


def chord_file(path: Path) -> Path:
    """C-E-G held for a half note (1 s), then C5 for a quarter note (0.5 s)."""
    return write_midi(path, [[(0, 960, 60, 90), (0, 960, 64, 70), (0, 960, 67, 60), (960, 1440, 72, 100)]])


def tempo_change_file(path: Path) -> Path:
    """Two tracks at 96 tpb; 120 BPM until tick 96, then 60 BPM.

    Track 0: ticks 0, 96, 192 (each 48 ticks); track 1: tick 144 (48 ticks). In seconds the
    onsets are 0, 0.5, 1.5 and 1.0; lengths 0.25 (before the change), then 0.5 each.
    """
    return write_midi(
        path,
        [[(0, 48, 60, 64), (96, 144, 62, 64), (192, 240, 64, 64)], [(144, 192, 48, 50)]],
        tpb=96,
        tempi=[(120.0, 0), (60.0, 96)],
    )


def drum_file(path: Path, with_piano: bool = True) -> Path:
    """A drum track (excluded by default) and, optionally, a one-note piano track."""
    drums = [(i * 240, i * 240 + 60, 36, 100) for i in range(8)]
    tracks = [drums] + ([[(0, 480, 60, 80), (480, 960, 64, 80)]] if with_piano else [])
    return write_midi(path, tracks, drum_tracks=(0,))


def mido_file(path: Path, tracks: list[list[tuple[str, int, int]]], tpb: int = 480) -> Path:
    """A MIDI file written with mido alone, for tempo events in any track: per track a list of
    (kind, absolute tick, value): ("tempo", tick, bpm) or ("note", tick, pitch), each note a
    quarter note at velocity 64."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=tpb)
    for events in tracks:
        msgs = []
        for kind, tick, value in events:
            if kind == "tempo":
                msgs.append((tick, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(value))))
            else:
                msgs.append((tick, 2, mido.Message("note_on", note=value, velocity=64)))
                msgs.append((tick + tpb, 1, mido.Message("note_off", note=value, velocity=0)))
        track, now = mido.MidiTrack(), 0
        for tick, _, msg in sorted(msgs, key=lambda m: m[:2]):
            track.append(msg.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(str(path))
    return path


def raw_midi_file(path: Path, events: bytes, tpb: int = 480) -> Path:
    """A one-track format-0 MIDI file holding exactly the track bytes ``events`` (delta times
    included): for files no well-behaved writer produces."""
    import struct

    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpb)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(events)) + events)
    return path


# Track bytes: delta 0, note-on C4 (0x90 0x3C) with velocity byte 0x90 (above 127); after 480
# ticks (delta 0x83 0x60) its note-off; end of track.
NOTE_ON_BAD_VELOCITY = bytes([0x00, 0x90, 0x3C, 0x90, 0x83, 0x60, 0x80, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00])
# A key-signature meta event with 9 sharps (valid: -7..7), then E4 for 480 ticks.
BAD_KEY_SIGNATURE = bytes(
    [0x00, 0xFF, 0x59, 0x02, 0x09, 0x00, 0x00, 0x90, 0x40, 0x50, 0x83, 0x60, 0x80, 0x40, 0x40, 0x00, 0xFF, 0x2F, 0x00]
)
