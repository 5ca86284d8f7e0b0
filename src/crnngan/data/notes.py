"""The one shape of a song as notes, the one MIDI-number <-> frequency pair, and pitch names.

A song is a :class:`Notes`: what a MIDI file holds (crnngan.data.midi_io reads and writes it),
what events decode to (crnngan.data.representation), what the pictures, sound and MGEval
features take (crnngan.evaluation). Always in this order: onsets, lengths, pitches, velocities.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from crnngan.constants import A4_HZ, A4_PITCH


@dataclass(frozen=True)
class Notes:
    """One song's tones, four arrays (N,) sorted by onset: onsets and lengths in seconds,
    MIDI pitches (continuous where a model generated them), MIDI velocities.

    ``len()`` is the number of tones; iterating gives the four arrays in this order, so
    ``onsets, lengths, pitches, velocities = notes`` unpacks it."""

    onsets: np.ndarray
    lengths: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray

    def __len__(self) -> int:
        return len(self.onsets)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.onsets, self.lengths, self.pitches, self.velocities))


PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """MIDI number -> scientific pitch name: 60 -> "C4", 62 -> "D4"."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def pitch_to_frequency(pitch: np.ndarray) -> np.ndarray:
    """MIDI pitch -> Hz (equal temperament, A4 = 69 = 440 Hz)."""
    return A4_HZ * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - A4_PITCH) / 12.0)


def frequency_to_pitch(freq: np.ndarray) -> np.ndarray:
    """Hz -> continuous MIDI pitch (no rounding: the statistics decide how to quantise);
    frequencies under 1 mHz are read as 1 mHz, so the log stays finite."""
    f = np.maximum(np.asarray(freq, dtype=np.float64), 1e-3)
    return A4_PITCH + 12.0 * np.log2(f / A4_HZ)
