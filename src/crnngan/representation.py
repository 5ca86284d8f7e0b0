"""Pure conversions between notes, the paper's tone events, model steps and features.

* notes: onsets/ends in seconds, MIDI pitch, velocity (what ``midi_io`` reads);
* events (N, 4): one row per tone, columns ``constants.EVENT_FIELDS`` =
  (dt since the previous onset, length, pitch, velocity), times on the ``TIME_QUANTUM`` grid;
* steps (S, 1 + 3k): what one LSTM step emits for ``k`` tones per step (C-RNN-GAN: k=1,
  C-RNN-GAN-3: k=3): the step's dt, then (length, pitch, velocity) per tone slot; a slot
  with velocity 0 is an absent tone (the paper: "absence of a tone is zero intensity");
* features: steps normalised by a :class:`Normalizer` fitted on the training split.
For k=1 steps and events are the same array.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .constants import A4_HZ, A4_PITCH, DT, LENGTH, MAX_VELOCITY, PITCH, TIME_QUANTUM, VELOCITY


def quantize(seconds: np.ndarray) -> np.ndarray:
    """Snap times to the ``TIME_QUANTUM`` grid (float64 seconds)."""
    return np.rint(np.asarray(seconds, dtype=np.float64) / TIME_QUANTUM) * TIME_QUANTUM


def notes_to_events(onsets: np.ndarray, ends: np.ndarray, pitches: np.ndarray,
                    velocities: np.ndarray) -> np.ndarray:
    """Tones -> events (N, 4) float32, sorted by (onset, pitch).

    Times are quantised; a tone shorter than one quantum is kept with one quantum (it was
    played); the same pitch struck twice at the same onset (e.g. doubled across tracks) is
    one tone, keeping the louder/longer. Chord members get dt = 0.
    """
    on = quantize(onsets)
    length = np.maximum(quantize(ends) - on, TIME_QUANTUM)
    pitch = np.asarray(pitches, dtype=np.int64)
    vel = np.asarray(velocities, dtype=np.int64)
    # Sort by onset, pitch, then loudest/longest first so np.unique keeps that one.
    order = np.lexsort((-length, -vel, pitch, on))
    on, length, pitch, vel = on[order], length[order], pitch[order], vel[order]
    ticks = np.rint(on / TIME_QUANTUM).astype(np.int64)
    _, first = np.unique(np.stack([ticks, pitch], axis=1), axis=0, return_index=True)
    first.sort()
    on, length, pitch, vel = on[first], length[first], pitch[first], vel[first]
    dt = np.diff(on, prepend=on[:1])
    events = np.empty((len(on), 4), dtype=np.float32)
    events[:, DT], events[:, LENGTH], events[:, PITCH], events[:, VELOCITY] = dt, length, pitch, vel
    return events


def events_to_notes(events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Events (N, 4) -> (onsets, lengths, pitches, velocities), onsets from the cumulative dt."""
    ev = np.asarray(events, dtype=np.float64)
    onsets = np.cumsum(np.maximum(ev[:, DT], 0.0))
    return onsets, ev[:, LENGTH], ev[:, PITCH], ev[:, VELOCITY]


def events_to_steps(events: np.ndarray, tones_per_step: int) -> np.ndarray:
    """Pack events into steps of up to ``k`` simultaneous tones: (S, 1 + 3k) float32.

    Tones sharing an onset (dt == 0 after the first) fill the slots of one step; a chord
    larger than k continues in the next step with dt = 0, so no tone is lost.
    """
    k = tones_per_step
    if k == 1:
        return np.asarray(events, dtype=np.float32).copy()
    ev = np.asarray(events, dtype=np.float32)
    new_onset = (ev[:, DT] > 0) | (np.arange(len(ev)) == 0)  # (N,) tone opens a chord
    chord_id = np.cumsum(new_onset) - 1  # (N,)
    chord_start = np.flatnonzero(new_onset)[chord_id]  # (N,) index of its chord's first tone
    rank = np.arange(len(ev)) - chord_start  # (N,) position inside the chord
    # Each chord takes ceil(size / k) steps; step index of every tone:
    steps_per_chord = -(-np.bincount(chord_id) // k)  # (C,)
    first_step = np.concatenate([[0], np.cumsum(steps_per_chord)[:-1]])  # (C,)
    step = first_step[chord_id] + rank // k  # (N,)
    slot = rank % k  # (N,)
    out = np.zeros((int(steps_per_chord.sum()), 1 + 3 * k), dtype=np.float32)
    out[first_step, 0] = ev[chord_start[new_onset], DT]
    for j, col in enumerate((LENGTH, PITCH, VELOCITY)):
        out[step, 1 + 3 * slot + j] = ev[:, col]
    return out


def steps_to_events(steps: np.ndarray, tones_per_step: int) -> np.ndarray:
    """Unpack steps (S, 1 + 3k) into events (N, 4); absent slots are dropped.

    The dt of a step whose slots are all absent is carried to the next tone so onsets stay
    where the model put them.
    """
    k = tones_per_step
    st = np.asarray(steps, dtype=np.float64)
    onset = np.cumsum(np.maximum(st[:, 0], 0.0))  # (S,) step onsets
    slots = st[:, 1:].reshape(len(st), k, 3)  # (S, k, [length, pitch, velocity])
    present = (np.rint(slots[..., 2]) >= 1) & (slots[..., 0] > 0)  # (S, k)
    s_idx, k_idx = np.nonzero(present)
    tone = slots[s_idx, k_idx]  # (N, 3)
    on = onset[s_idx]
    order = np.lexsort((tone[:, 1], on))
    on, tone = on[order], tone[order]
    events = np.empty((len(on), 4), dtype=np.float32)
    events[:, DT] = np.diff(on, prepend=on[:1]) if len(on) else on
    events[:, LENGTH], events[:, PITCH], events[:, VELOCITY] = tone[:, 0], tone[:, 1], tone[:, 2]
    return events


def segment_starts(n_items: int, length: int, hop: int) -> np.ndarray:
    """Start indices of full windows of ``length`` items every ``hop`` items (possibly none)."""
    if n_items < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_items - length + 1, hop, dtype=np.int64)


def pitch_to_frequency(pitch: np.ndarray) -> np.ndarray:
    """MIDI pitch -> Hz (equal temperament, A4 = 440 Hz)."""
    return A4_HZ * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - A4_PITCH) / 12.0)


def frequency_to_pitch(freq: np.ndarray) -> np.ndarray:
    """Hz -> continuous MIDI pitch (no rounding: the metrics decide how to quantise)."""
    f = np.maximum(np.asarray(freq, dtype=np.float64), 1e-3)
    return A4_PITCH + 12.0 * np.log2(f / A4_HZ)


@dataclass(frozen=True)
class Normalizer:
    """Per-column affine scaling of steps into model features, fitted on the training split.

    Time columns and velocity are only divided by a scale, so a zero stays zero and an
    absent tone slot (all zeros) stays all zeros in feature space. Pitch is represented as
    frequency in Hz (the paper) or as the MIDI number, then standardised; absent slots get
    feature 0 rather than the standardised value of 0 Hz.
    """

    pitch_feature: str  # "frequency" or "midi"
    dt_scale: float
    length_scale: float
    pitch_mean: float
    pitch_std: float
    velocity_scale: float = float(MAX_VELOCITY)

    @classmethod
    def fit(cls, events: np.ndarray, pitch_feature: str = "frequency") -> "Normalizer":
        """Fit on training events (N, 4)."""
        if pitch_feature not in ("frequency", "midi"):
            raise ValueError(f"pitch_feature must be 'frequency' or 'midi', got {pitch_feature!r}")
        ev = np.asarray(events, dtype=np.float64)
        pitch = ev[:, PITCH] if pitch_feature == "midi" else pitch_to_frequency(ev[:, PITCH])

        def scale(x: np.ndarray) -> float:
            s = float(np.std(x))
            return s if s > 0 else 1.0

        return cls(pitch_feature=pitch_feature, dt_scale=scale(ev[:, DT]),
                   length_scale=scale(ev[:, LENGTH]), pitch_mean=float(np.mean(pitch)),
                   pitch_std=scale(pitch))

    def transform(self, steps: np.ndarray, tones_per_step: int) -> np.ndarray:
        """Raw steps (..., 1 + 3k) -> features (..., 1 + 3k) float32."""
        st = np.asarray(steps, dtype=np.float64)
        out = np.empty_like(st)
        out[..., 0] = st[..., 0] / self.dt_scale
        slots = st[..., 1:].reshape(*st.shape[:-1], tones_per_step, 3)
        present = slots[..., 2] > 0
        pitch = slots[..., 1] if self.pitch_feature == "midi" else pitch_to_frequency(slots[..., 1])
        feat = np.stack([slots[..., 0] / self.length_scale,
                         np.where(present, (pitch - self.pitch_mean) / self.pitch_std, 0.0),
                         slots[..., 2] / self.velocity_scale], axis=-1)
        out[..., 1:] = feat.reshape(*st.shape[:-1], 3 * tones_per_step)
        return out.astype(np.float32)

    def inverse(self, features: np.ndarray, tones_per_step: int) -> np.ndarray:
        """Features (..., 1 + 3k) -> raw steps with continuous pitch; times and velocity clipped
        to their valid ranges (a model can emit negative durations)."""
        ft = np.asarray(features, dtype=np.float64)
        out = np.empty_like(ft)
        out[..., 0] = np.maximum(ft[..., 0] * self.dt_scale, 0.0)
        slots = ft[..., 1:].reshape(*ft.shape[:-1], tones_per_step, 3)
        pitch = slots[..., 1] * self.pitch_std + self.pitch_mean
        if self.pitch_feature == "frequency":
            pitch = frequency_to_pitch(pitch)
        raw = np.stack([np.maximum(slots[..., 0] * self.length_scale, 0.0),
                        np.clip(pitch, 0.0, 127.0),
                        np.clip(slots[..., 2] * self.velocity_scale, 0.0, MAX_VELOCITY)], axis=-1)
        out[..., 1:] = raw.reshape(*ft.shape[:-1], 3 * tones_per_step)
        return out

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Normalizer":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
