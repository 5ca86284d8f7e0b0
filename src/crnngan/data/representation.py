"""Pure conversions between notes, the paper's tone events, model steps and features.

* notes: onsets/ends in seconds, MIDI pitch, velocity (what ``midi_io`` reads);
* events (N, 4): one row per tone, columns ``constants.EVENT_FIELDS`` =
  (dt since the previous onset, length, pitch, velocity), times on the ``TIME_QUANTUM`` grid;
* steps (S, 1 + 3k): what one LSTM step emits for ``k`` tones per step (C-RNN-GAN: k=1,
  C-RNN-GAN-3: k=3): the step's dt, then (length, pitch, velocity) per tone slot; a slot
  with velocity 0 is an absent tone (the paper: "absence of a tone is zero intensity");
* features (S, feature_width(k)): steps scaled by a :class:`Normalizer` fitted on the
  training split, with explicit 0/1 flags where an exact zero carries meaning: an onset flag
  (0: the tone sounds with the previous one, a chord; dt = 0) and, for k > 1, a presence
  flag per slot. A regression never hits an exact zero, so G learns these as probabilities
  (thresholded when decoding) instead of D spotting fakes by their missing zeros.
For k=1 steps and events are the same array.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from crnngan.constants import DT, LENGTH, MAX_VELOCITY, PITCH, TIME_QUANTUM, VELOCITY
from crnngan.data.notes import Notes, frequency_to_pitch, pitch_to_frequency


def quantize(seconds: np.ndarray) -> np.ndarray:
    """Snap times to the ``TIME_QUANTUM`` grid (float64 seconds)."""
    return np.rint(np.asarray(seconds, dtype=np.float64) / TIME_QUANTUM) * TIME_QUANTUM


def notes_to_events(notes: Notes) -> np.ndarray:
    """Tones -> events (N, 4) float32, sorted by (onset, pitch).

    Onsets and ends are quantised; a tone shorter than one quantum is kept with one quantum
    (it was played); the same pitch struck twice at the same onset (e.g. doubled across
    tracks) is one tone, keeping the louder/longer. Chord members get dt = 0.
    """
    on = quantize(notes.onsets)
    length = np.maximum(quantize(np.asarray(notes.onsets, np.float64) + notes.lengths) - on, TIME_QUANTUM)
    pitch = np.asarray(notes.pitches, dtype=np.int64)
    vel = np.asarray(notes.velocities, dtype=np.int64)
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


def events_to_notes(events: np.ndarray) -> Notes:
    """Events (N, 4) -> notes, onsets from the cumulative dt."""
    ev = np.asarray(events, dtype=np.float64)
    onsets = np.cumsum(np.maximum(ev[:, DT], 0.0))
    return Notes(onsets, ev[:, LENGTH], ev[:, PITCH], ev[:, VELOCITY])


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


def feature_width(tones_per_step: int) -> int:
    """Model features per step: dt, onset flag, then per tone slot (length, pitch, velocity),
    plus presence for k > 1: 5 for k = 1, 2 + 4k for k > 1."""
    return 5 if tones_per_step == 1 else 2 + 4 * tones_per_step


def log_time(seconds: np.ndarray) -> np.ndarray:
    """Seconds -> log1p(seconds / TIME_QUANTUM): 0 stays 0 (chords keep dt = 0), one tick is
    log 2, and the long tail (lengths up to minutes) is compressed for the LSTM."""
    return np.log1p(np.maximum(np.asarray(seconds, dtype=np.float64), 0.0) / TIME_QUANTUM)


def exp_time(values: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`log_time` on the time grid (the result is snapped to it)."""
    return quantize(np.expm1(np.maximum(np.asarray(values, dtype=np.float64), 0.0)) * TIME_QUANTUM)


@dataclass(frozen=True)
class Normalizer:
    """Per-column scaling of steps into model features, fitted on the training split.

    * times (dt, length): ``time_feature`` "log" (default) is :func:`log_time`, then divided
      by its std; "linear" divides seconds by their std (closest to the paper's raw ticks).
      Either way 0 stays 0, so chords (dt = 0) survive;
    * pitch: ``pitch_feature`` "midi" (default: log-frequency, one semitone is the same step
      everywhere) or "frequency" (Hz, as the paper), standardised;
    * velocity: standardised, like pitch (dividing by 127 made an error of 0.1 a jump of 13);
    * onset: 1 where dt > 0 (a new onset), 0 for a tone struck with the previous one;
    * presence (k > 1 only): 1 for a sounding slot, 0 for an absent one, whose other features
      are 0. With k = 1 every step is a tone (real data have no absent tone).

    Layout per step: [dt, onset, (length, pitch, velocity[, presence]) per slot].

    Decoding (:meth:`inverse`) bounds what a model emits: times to [0, the training maximum],
    velocity to the training range, pitch to 0..127; a sounding tone lasts at least one
    quantum at velocity >= 1 (with k = 1 every step sounds).
    """

    pitch_feature: str  # "midi" or "frequency"
    dt_scale: float
    length_scale: float
    pitch_mean: float
    pitch_std: float
    time_feature: str = "log"  # "log" or "linear"
    velocity_mean: float = 0.0
    velocity_std: float = float(MAX_VELOCITY)
    dt_max: float = float("inf")  # seconds
    length_max: float = float("inf")
    velocity_min: float = 1.0
    velocity_max: float = float(MAX_VELOCITY)

    @classmethod
    def fit(cls, events: np.ndarray, pitch_feature: str = "midi", time_feature: str = "log") -> Normalizer:
        """Fit on training events (N, 4)."""
        if pitch_feature not in ("frequency", "midi"):
            raise ValueError(f"pitch_feature must be 'frequency' or 'midi', got {pitch_feature!r}")
        if time_feature not in ("log", "linear"):
            raise ValueError(f"time_feature must be 'log' or 'linear', got {time_feature!r}")
        ev = np.asarray(events, dtype=np.float64)
        pitch = ev[:, PITCH] if pitch_feature == "midi" else pitch_to_frequency(ev[:, PITCH])
        warp = log_time if time_feature == "log" else np.asarray

        def scale(x: np.ndarray) -> float:
            # A constant column keeps its units. Its std is not always exactly 0: log_time's
            # rounding leaves ~1e-16 on a constant length, which would scale it to ~1e16.
            return float(np.std(x)) if np.ptp(x) > 0 else 1.0

        return cls(
            pitch_feature=pitch_feature,
            time_feature=time_feature,
            dt_scale=scale(warp(ev[:, DT])),
            length_scale=scale(warp(ev[:, LENGTH])),
            pitch_mean=float(np.mean(pitch)),
            pitch_std=scale(pitch),
            velocity_mean=float(np.mean(ev[:, VELOCITY])),
            velocity_std=scale(ev[:, VELOCITY]),
            dt_max=float(ev[:, DT].max()),
            length_max=float(ev[:, LENGTH].max()),
            velocity_min=float(ev[:, VELOCITY].min()),
            velocity_max=float(ev[:, VELOCITY].max()),
        )

    def _warp(self, seconds: np.ndarray) -> np.ndarray:
        return log_time(seconds) if self.time_feature == "log" else np.asarray(seconds, dtype=np.float64)

    def _unwarp(self, values: np.ndarray) -> np.ndarray:
        return exp_time(values) if self.time_feature == "log" else quantize(np.maximum(values, 0.0))

    def transform(self, steps: np.ndarray, tones_per_step: int) -> np.ndarray:
        """Raw steps (..., 1 + 3k) -> features (..., feature_width(k)) float32."""
        k = tones_per_step
        st = np.asarray(steps, dtype=np.float64)
        slots = st[..., 1:].reshape(*st.shape[:-1], k, 3)  # (..., k, [length, pitch, velocity])
        present = slots[..., 2] > 0  # (..., k)
        pitch = slots[..., 1] if self.pitch_feature == "midi" else pitch_to_frequency(slots[..., 1])
        tone = np.stack(
            [
                self._warp(slots[..., 0]) / self.length_scale,
                (pitch - self.pitch_mean) / self.pitch_std,
                (slots[..., 2] - self.velocity_mean) / self.velocity_std,
            ],
            axis=-1,
        )
        if k > 1:
            tone = np.concatenate([tone * present[..., None], present[..., None]], axis=-1)
        dt = self._warp(st[..., :1]) / self.dt_scale  # (..., 1); 0 for a chord
        onset = (st[..., :1] > 0).astype(np.float64)
        return np.concatenate([dt, onset, tone.reshape(*st.shape[:-1], -1)], axis=-1).astype(np.float32)

    def inverse(self, features: np.ndarray, tones_per_step: int) -> np.ndarray:
        """Features (..., feature_width(k)) -> raw steps (..., 1 + 3k), continuous pitch, the
        bounds of the class docstring applied; onset < 0.5 gives dt = 0 (a chord), presence
        < 0.5 an absent slot (all zeros)."""
        k = tones_per_step
        ft = np.asarray(features, dtype=np.float64)
        slots = ft[..., 2:].reshape(*ft.shape[:-1], k, -1)  # (..., k, 3 or 4)
        length = np.minimum(self._unwarp(slots[..., 0] * self.length_scale), self.length_max)
        pitch = slots[..., 1] * self.pitch_std + self.pitch_mean
        if self.pitch_feature == "frequency":
            pitch = frequency_to_pitch(pitch)
        velocity = np.clip(slots[..., 2] * self.velocity_std + self.velocity_mean, self.velocity_min, self.velocity_max)
        # A sounding tone lasts at least one quantum at velocity >= 1 (else it would vanish).
        length, velocity = np.maximum(length, TIME_QUANTUM), np.maximum(velocity, 1.0)
        raw = np.stack([length, np.clip(pitch, 0.0, 127.0), velocity], axis=-1)  # (..., k, 3)
        if k > 1:
            raw = raw * (slots[..., 3:] >= 0.5)
        # A new onset is at least one quantum after the previous one; otherwise a chord.
        dt = np.clip(self._unwarp(ft[..., :1] * self.dt_scale), TIME_QUANTUM, max(self.dt_max, TIME_QUANTUM))
        dt = np.where(ft[..., 1:2] >= 0.5, dt, 0.0)
        return np.concatenate([dt, raw.reshape(*ft.shape[:-1], 3 * k)], axis=-1)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
