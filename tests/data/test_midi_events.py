"""MIDI -> events: exact expected events per fixture, round trips, and bad input."""

from pathlib import Path

import numpy as np
import pytest
from midi_fixtures import (
    BAD_KEY_SIGNATURE,
    NOTE_ON_BAD_VELOCITY,
    chord_file,
    drum_file,
    mido_file,
    raw_midi_file,
    scale_file,
    tempo_change_file,
    write_midi,
)

from crnngan.constants import TIME_QUANTUM
from crnngan.data.midi_io import MidiReadError, read_notes, write_notes
from crnngan.data.notes import Notes
from crnngan.data.representation import events_to_notes, events_to_steps, notes_to_events, steps_to_events


def events_of(path: Path, **kw) -> np.ndarray:
    return notes_to_events(read_notes(path, **kw).notes)


def test_c_major_scale_events(tmp_path):
    ev = events_of(scale_file(tmp_path / "scale.mid"))
    expected = np.array(
        [[0.0 if i == 0 else 0.5, 0.5, p, 80] for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])], np.float32
    )
    np.testing.assert_allclose(ev, expected, atol=1e-6)


def test_ticks_per_beat_does_not_change_events(tmp_path):
    np.testing.assert_array_equal(
        events_of(scale_file(tmp_path / "a.mid", tpb=480)), events_of(scale_file(tmp_path / "b.mid", tpb=96))
    )


def test_chord_has_zero_dt(tmp_path):
    ev = events_of(chord_file(tmp_path / "chord.mid"))
    # rows: (dt, length, pitch, velocity); chord members share the onset -> dt 0
    expected = [[0, 1.0, 60, 90], [0, 1.0, 64, 70], [0, 1.0, 67, 60], [1.0, 0.5, 72, 100]]
    np.testing.assert_allclose(ev, np.array(expected, np.float32), atol=1e-6)


def test_two_tracks_and_tempo_change(tmp_path):
    ev = events_of(tempo_change_file(tmp_path / "tempo.mid"))
    # onsets 0, 0.5, 1.0 (track 1), 1.5 -> dt 0, 0.5, 0.5, 0.5
    expected = [[0, 0.25, 60, 64], [0.5, 0.5, 62, 64], [0.5, 0.5, 48, 50], [0.5, 0.5, 64, 64]]
    np.testing.assert_allclose(ev, np.array(expected, np.float32), atol=1e-6)


def test_drums_excluded_by_default(tmp_path):
    path = drum_file(tmp_path / "drums.mid")
    content = read_notes(path)
    assert content.notes.pitches.tolist() == [60, 64] and content.drum_notes == 8
    assert len(read_notes(path, include_drums=True)) == 10


def test_drum_only_is_a_reason(tmp_path):
    with pytest.raises(MidiReadError) as err:
        read_notes(drum_file(tmp_path / "d.mid", with_piano=False))
    assert err.value.reason == "drum-only"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "unreadable"),
        (b"MThd\x00\x00\x00\x06\x00\x01", "unreadable"),  # truncated header
        (bytes(range(256)) * 4, "unreadable"),  # random bytes
        (b"this is a text file, not MIDI\n", "unreadable"),
    ],
)
def test_bad_bytes_raise_midi_read_error(tmp_path, content, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiReadError) as err:
        read_notes(path)
    assert err.value.reason == reason


def test_zero_notes(tmp_path):
    with pytest.raises(MidiReadError) as err:
        read_notes(write_midi(tmp_path / "empty.mid", [[]]))
    assert err.value.reason == "no-notes"


def test_midi_events_midi_round_trip(tmp_path):
    """MIDI -> events -> MIDI -> events is identical on the declared time grid."""
    for make in (scale_file, chord_file, tempo_change_file):
        ev1 = events_of(make(tmp_path / f"{make.__name__}.mid"))
        out = tmp_path / f"{make.__name__}_rt.mid"
        write_notes(out, events_to_notes(ev1))
        ev2 = events_of(out)
        np.testing.assert_array_equal(np.rint(ev1[:, :2] / TIME_QUANTUM), np.rint(ev2[:, :2] / TIME_QUANTUM))
        np.testing.assert_array_equal(ev1[:, 2:], ev2[:, 2:])


def test_notes_snap_to_grid_and_dedupe():
    # Same pitch doubled at one onset (two tracks) is one tone; the louder one is kept.
    ev = notes_to_events(
        Notes(np.array([0.0, 0.0, 0.4]), np.array([0.5, 0.5, 0.0001]), np.array([60, 60, 62]), np.array([50, 90, 70]))
    )
    assert ev[:, 2].tolist() == [60, 62] and ev[0, 3] == 90
    assert ev[1, 1] == pytest.approx(TIME_QUANTUM)  # a too-short tone keeps one quantum


def test_steps_pack_chords_and_round_trip():
    # A 4-note chord, then a single note 1 s later.
    ev = np.array([[0, 1, 60, 80], [0, 1, 64, 80], [0, 1, 67, 80], [0, 1, 72, 80], [1.0, 0.5, 62, 70]], np.float32)
    steps = events_to_steps(ev, 3)
    # 3 tones in step 0, the 4th spills to step 1 (dt 0), the last note in step 2
    assert steps.shape == (3, 10)
    assert steps[:, 0].tolist() == [0, 0, 1.0]
    assert steps[0, [2, 5, 8]].tolist() == [60, 64, 67] and steps[1, 2] == 72
    assert steps[1, 6] == 0 and steps[2, 6] == 0  # absent slots have zero velocity
    np.testing.assert_array_equal(steps_to_events(steps, 3), ev)
    np.testing.assert_array_equal(events_to_steps(ev, 1), ev)


def test_empty_step_carries_its_dt():
    # A step with no tone (all velocities 0) still advances time for the next tone.
    steps = np.array([[0, 1, 60, 80], [0.5, 1, 62, 0], [0.5, 1, 64, 80]], np.float32)
    ev = steps_to_events(steps, 1)
    assert ev[:, 0].tolist() == [0.0, 1.0] and ev[:, 2].tolist() == [60, 64]


def test_tempo_change_survives_a_restated_tempo_in_another_track(tmp_path):
    # Track 0: 120 BPM, then 60 BPM from tick 960. Track 1 restates 120 BPM at tick 0 (as
    # sequencer exports do) and plays quarter notes at ticks 0, 960 and 1440. miditoolkit's
    # own loader restarts its tempo list at track 1's tick-0 event and reads 0, 1.0, 1.5 s.
    path = mido_file(
        tmp_path / "restated.mid",
        [
            [("tempo", 0, 120), ("tempo", 960, 60)],
            [("tempo", 0, 120), ("note", 0, 60), ("note", 960, 62), ("note", 1440, 64)],
        ],
    )
    notes = read_notes(path).notes
    np.testing.assert_allclose(notes.onsets, [0.0, 1.0, 2.0])  # 1440: 1 s + 480 ticks at 60 BPM
    np.testing.assert_allclose(notes.lengths, [0.5, 1.0, 1.0])


def test_tempo_changes_in_a_later_track(tmp_path):
    # No tempo in track 0 (MIDI's default 120 BPM holds); track 1 changes to 60 at tick 480
    # and back to 120 at tick 1440 (and, for the tie rule, sets 90 then 120 at tick 1440).
    path = mido_file(
        tmp_path / "later.mid",
        [
            [("note", 0, 48)],
            [("tempo", 480, 60), ("tempo", 1440, 90), ("tempo", 1440, 120), ("note", 960, 60), ("note", 1920, 62)],
        ],
    )
    notes = read_notes(path).notes
    # 960: 480 ticks at 120 (0.5 s) + 480 at 60 (1 s) = 1.5 s; 1920: 0.5 + 960 at 60 (2 s) +
    # 480 at 120 (0.5 s) = 3.0 s; had 90 BPM won the tie, 3.17 s.
    np.testing.assert_allclose(notes.onsets, [0.0, 1.5, 3.0])
    assert notes.pitches.tolist() == [48, 60, 62]


def test_a_tempo_change_is_not_a_duplicate_of_its_one_tempo_twin(tmp_path):
    notes = [("note", t, p) for t, p in ((0, 60), (960, 62), (1920, 64))]
    changed = read_notes(mido_file(tmp_path / "a.mid", [[("tempo", 0, 120), ("tempo", 960, 60)], notes]))
    constant = read_notes(mido_file(tmp_path / "b.mid", [[("tempo", 0, 120)], [("tempo", 0, 120), *notes]]))
    assert not np.array_equal(changed.notes.onsets, constant.notes.onsets)


@pytest.mark.parametrize(
    "data, repair, pitch, velocity",
    [
        (NOTE_ON_BAD_VELOCITY, "clipped-data-bytes", 60, 127),  # a data byte above 127, clipped
        (BAD_KEY_SIGNATURE, "dropped-malformed-meta", 64, 80),
    ],  # a key signature with 9 sharps, dropped
)
def test_a_repairable_file_is_read_and_its_repair_reported(tmp_path, data, repair, pitch, velocity):
    content = read_notes(raw_midi_file(tmp_path / "f.mid", data))
    assert content.repairs == (repair,)
    notes = content.notes
    assert notes.pitches.tolist() == [pitch] and notes.velocities.tolist() == [velocity]
    np.testing.assert_allclose([notes.onsets[0], notes.lengths[0]], [0.0, 0.5])


def test_a_file_with_both_faults_gets_both_repairs(tmp_path):
    # Both faults in one file: both repairs, in the order met.
    both = read_notes(raw_midi_file(tmp_path / "both.mid", BAD_KEY_SIGNATURE[:6] + NOTE_ON_BAD_VELOCITY))
    assert both.repairs == ("dropped-malformed-meta", "clipped-data-bytes")
    assert both.notes.velocities.tolist() == [127]
    # A well-formed file needs no repair.
    assert read_notes(scale_file(tmp_path / "scale.mid")).repairs == ()


@pytest.mark.parametrize(
    "data",
    [
        NOTE_ON_BAD_VELOCITY[:7],  # the track ends inside the note-off: truncated
        bytes([0x00, 0xF4, 0x3C]),  # an undefined status byte
    ],
    ids=["truncated", "undefined-status"],
)
def test_really_broken_files_stay_unreadable(tmp_path, data):
    with pytest.raises(MidiReadError, match="unreadable"):
        read_notes(raw_midi_file(tmp_path / "broken.mid", data))
