"""Notes -> pictures and sound, for looking at and listening to samples (e.g. in the MLflow UI).

Pure functions apart from the ``save_*``/``write_*`` helpers, which only write the given file.
A song is four equal-length 1-D arrays: ``onsets`` and ``lengths`` in seconds, ``pitches`` as
MIDI numbers and ``velocities`` in 0..127.

Figures are built on :class:`matplotlib.figure.Figure` directly rather than through pyplot,
so nothing needs a display, no backend is switched globally, and figures are not kept alive
by pyplot's registry (training logs one per epoch). ``mlflow.log_figure`` accepts them as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy.io import wavfile

from crnngan.constants import MAX_VELOCITY
from crnngan.data.notes import Notes, pitch_name, pitch_to_frequency

ArrayLike = np.ndarray | Sequence[float]

SAMPLE_RATE = 16000
ATTACK_S = 0.005  # long enough that the onset does not click, short enough to sound percussive
RELEASE_S = 0.05  # fade-out appended after each note's end, so note-offs do not click
DECAY_S = 1.5  # time constant of the exponential decay: a piano-like fade, not an organ
HARMONICS = (1.0, 0.4, 0.15)  # relative amplitudes of partials 1, 2, 3
NOTE_GAIN = 0.15  # peak of a velocity-127 note: four-voice chords stay below full scale
# Samples synthesised per step. Small enough that the temporaries stay in reused heap memory
# (a few MB) instead of fresh pages, and memory stays bounded whatever the note lengths.
_CHUNK_SAMPLES = 1 << 17


def _as_arrays(
    onsets: ArrayLike, lengths: ArrayLike, pitches: ArrayLike, velocities: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate one song and return it as float64 arrays."""
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in (onsets, lengths, pitches, velocities))
    if any(a.ndim != 1 or a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"song arrays must be 1-D of equal length, got {[a.shape for a in arrays]}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("song arrays must be finite")
    if (arrays[0] < 0).any() or (arrays[1] < 0).any():
        raise ValueError("onsets and lengths must be non-negative")
    return arrays  # type: ignore[return-value]


def _pitch_label(pitch: float, _pos: int) -> str:
    """Axis label of a MIDI pitch in scientific notation (60 -> C4)."""
    return pitch_name(int(pitch))


def piano_roll_figure(songs: Sequence[Notes], titles: Sequence[str] | None = None) -> Figure:
    """One piano-roll subplot per song, stacked on a shared time axis; colour is velocity."""
    if not songs:
        raise ValueError("piano_roll_figure needs at least one song")
    titles = list(titles) if titles is not None else [""] * len(songs)
    if len(titles) != len(songs):
        raise ValueError(f"{len(titles)} titles for {len(songs)} songs")

    fig = Figure(figsize=(10, 1.0 + 2.2 * len(songs)), layout="constrained")
    axes = fig.subplots(len(songs), 1, sharex=True, squeeze=False)[:, 0]
    norm = Normalize(0, MAX_VELOCITY)
    cmap = colormaps["viridis"]
    end = 0.0
    for ax, song, title in zip(axes, songs, titles):
        onsets, lengths, pitches, velocities = _as_arrays(*song)
        if onsets.size == 0:
            ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center")
            ax.set_yticks([])
        else:
            # One polygon per note in a single collection: far faster than a Rectangle each.
            x0, x1 = onsets, onsets + lengths
            y0, y1 = pitches - 0.4, pitches + 0.4
            verts = np.stack([np.column_stack(c) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))], axis=1)
            ax.add_collection(PolyCollection(verts, facecolors=cmap(norm(velocities)), edgecolors="none"))
            ax.set_ylim(pitches.min() - 2, pitches.max() + 2)
            end = max(end, float(x1.max()))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            ax.yaxis.set_major_formatter(FuncFormatter(_pitch_label))
        ax.set_ylabel("pitch")
        ax.set_title(title, fontsize="medium")
    axes[0].set_xlim(0.0, end if end > 0 else 1.0)  # shared, so this sets every subplot
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(ScalarMappable(norm, cmap), ax=list(axes), label="velocity")
    return fig


def save_piano_roll(
    path: str | Path, songs: Sequence[Notes], titles: Sequence[str] | None = None, dpi: int = 100
) -> Path:
    """Write :func:`piano_roll_figure` to ``path`` (format from the suffix, e.g. PNG)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    piano_roll_figure(songs, titles).savefig(path, dpi=dpi)
    return path


def synthesize(
    onsets: ArrayLike,
    lengths: ArrayLike,
    pitches: ArrayLike,
    velocities: ArrayLike,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Additive sine synthesis of one song; mono float32 in [-1, 1].

    Each note is a few harmonic partials under an attack/decay envelope, followed by a
    ``RELEASE_S`` fade, so the audio lasts ``max(onset + length) + RELEASE_S`` seconds
    (empty for a song without notes). Partials at or above Nyquist are dropped (no aliasing).
    """
    onsets, lengths, pitches, velocities = _as_arrays(onsets, lengths, pitches, velocities)
    if onsets.size == 0:
        return np.zeros(0, dtype=np.float32)
    start = np.round(onsets * sample_rate).astype(np.int64)
    hold = np.round(lengths * sample_rate).astype(np.int64)
    release = max(1, round(RELEASE_S * sample_rate))
    total = hold + release  # samples each note contributes
    n_out = int((start + total).max())

    freqs = pitch_to_frequency(pitches)
    gain = NOTE_GAIN * velocities / MAX_VELOCITY
    partials = [
        (h, (gain * rel * (h * freqs < sample_rate / 2)).astype(np.float32)) for h, rel in enumerate(HARMONICS, 1)
    ]

    hold_f = hold.astype(np.float32)
    last_f = (total - 1).astype(np.float32)
    out = np.zeros(n_out, dtype=np.float64)
    # All samples of a chunk of notes are laid out in one flat array (note index `idx`, sample
    # within the note `k`) and summed into the output with bincount: no per-note Python loop.
    cuts = np.searchsorted(np.cumsum(total), np.arange(_CHUNK_SAMPLES, total.sum(), _CHUNK_SAMPLES))
    for notes in np.split(np.arange(onsets.size), np.unique(cuts)):
        if notes.size == 0:
            continue
        counts = total[notes]
        idx = np.repeat(notes, counts)
        k = np.arange(idx.size) - np.repeat(np.cumsum(counts) - counts, counts)
        # Phase is wrapped in float64 (long notes need the precision); everything after is
        # float32, whose vectorised sin is ~25x faster than float64's, the bulk of the cost.
        phase = (2.0 * np.pi * np.mod(freqs[idx] * k / sample_rate, 1.0)).astype(np.float32)
        wave = sum(amp[idx] * np.sin(h * phase) for h, amp in partials)
        kf = k.astype(np.float32)
        envelope = (
            np.minimum(np.float32(1.0), kf * np.float32(1.0 / (ATTACK_S * sample_rate)))
            * np.exp(np.minimum(kf, hold_f[idx]) * np.float32(-1.0 / (DECAY_S * sample_rate)))
            # 1 while the note is held, then linear to exactly 0 on the note's last sample.
            * np.clip((last_f[idx] - kf) * np.float32(1.0 / release), 0.0, 1.0)
        )
        pos = start[idx] + k
        first = pos.min()
        out[first : pos.max() + 1] += np.bincount(pos - first, weights=envelope * wave)

    peak = np.abs(out).max()
    if peak > 1.0:  # dense clusters can still add up past full scale; scale rather than clip
        out /= peak
    return out.astype(np.float32)


def write_wav(
    path: str | Path,
    onsets: ArrayLike,
    lengths: ArrayLike,
    pitches: ArrayLike,
    velocities: ArrayLike,
    sample_rate: int = SAMPLE_RATE,
) -> Path:
    """Synthesize one song and write it as a 16-bit mono WAV (playable in the MLflow UI)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = synthesize(onsets, lengths, pitches, velocities, sample_rate)
    wavfile.write(path, sample_rate, np.round(audio * 32767).astype(np.int16))
    return path


def histogram_figure(
    values_by_name: Mapping[str, ArrayLike],
    title: str = "",
    bins: int | str | Sequence[float] = 30,
    colours: Mapping[str, str] | None = None,
    references: Sequence[str] = (),
) -> Figure:
    """Overlaid density histograms on shared bin edges, e.g. generated vs real statistics.

    ``colours`` fixes a colour per name (the same model in the same colour in every figure);
    names in ``references`` (real music) are drawn as filled, translucent areas behind the
    outlined others. Non-finite values are dropped; a name with no values left is listed in
    the legend only.
    """
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    arrays = {name: np.asarray(v, dtype=np.float64).ravel() for name, v in values_by_name.items()}
    arrays = {name: v[np.isfinite(v)] for name, v in arrays.items()}
    pooled = np.concatenate([np.zeros(0), *arrays.values()])
    if pooled.size == 0:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center")
    else:
        # Shared edges: densities on different bins would not be comparable by eye.
        edges = np.histogram_bin_edges(pooled, bins=bins)
        colours = colours or {}
        for name, values in arrays.items():
            label = f"{name} (n={values.size})"
            style = (
                {"histtype": "stepfilled", "alpha": 0.35}
                if name in references
                else {"histtype": "step", "linewidth": 1.8}
            )
            if values.size:
                ax.hist(values, bins=edges, density=True, label=label, color=colours.get(name), **style)
            else:
                ax.plot([], [], label=label, color=colours.get(name))
        ax.legend()
    ax.set_title(title)
    ax.set_ylabel("density")
    return fig
