"""Piano rolls, histograms and sine synthesis."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.io import wavfile

from crnngan.evaluation import render

SR = 16000
# A4 for 0.5 s, then a 1 s gap, then a two-note chord at 1.5 s for 0.25 s.
SONG = (
    np.array([0.0, 1.5, 1.5]),
    np.array([0.5, 0.25, 0.25]),
    np.array([69, 60, 64]),
    np.array([100, 80, 127]),
)
EMPTY = (np.zeros(0), np.zeros(0), np.zeros(0, dtype=int), np.zeros(0, dtype=int))


def rms(audio: np.ndarray, t0: float, t1: float) -> float:
    return float(np.sqrt(np.mean(audio[int(t0 * SR) : int(t1 * SR)].astype(np.float64) ** 2)))


def test_wav_duration_rate_and_where_it_sounds(tmp_path):
    path = render.write_wav(tmp_path / "out" / "song.wav", *SONG, sample_rate=SR)
    rate, pcm = wavfile.read(path)
    assert rate == SR and pcm.dtype == np.int16 and pcm.ndim == 1
    assert len(pcm) == round((1.75 + render.RELEASE_S) * SR)

    audio = pcm / 32767.0
    assert rms(audio, 0.05, 0.45) > 0.02  # the A4
    assert rms(audio, 1.55, 1.70) > 0.02  # the chord
    gap_start = 0.5 + render.RELEASE_S
    assert np.all(pcm[int(gap_start * SR) + 1 : int(1.5 * SR)] == 0)  # exact silence between


def test_synthesis_is_in_range_and_fades_in_and_out():
    audio = render.synthesize(*SONG, sample_rate=SR)
    assert audio.dtype == np.float32
    assert np.abs(audio).max() <= 1.0

    # Clicks come from notes starting or stopping at full amplitude: check the envelope ends.
    note = np.abs(render.synthesize([0.0], [0.5], [69], [127], sample_rate=SR))
    peak = note.max()
    assert note[: int(0.001 * SR)].max() < 0.3 * peak  # 1 ms into the attack
    assert note[-int(0.005 * SR) :].max() < 0.15 * peak  # the last 5 ms of the release
    assert note[-1] == 0.0


def test_dense_cluster_is_scaled_into_range():
    n = 40  # all 40 notes at full velocity at once would peak far above 1
    audio = render.synthesize(np.zeros(n), np.full(n, 0.2), np.arange(40, 40 + n), np.full(n, 127))
    assert 0.9 < np.abs(audio).max() <= 1.0


def test_notes_above_nyquist_are_silent():
    audio = render.synthesize([0.0], [0.2], [127], [127], sample_rate=8000)  # G9 is ~12.5 kHz
    assert np.all(audio == 0)


def test_sixty_seconds_of_four_voices_synthesise():
    # How fast this runs is make bench's business, not a test's (no timing assertions).
    rng = np.random.default_rng(0)
    n = 4 * 120  # four voices of quarter notes at 120 BPM for 60 s
    onsets = np.repeat(np.arange(120) * 0.5, 4)
    audio = render.synthesize(onsets, np.full(n, 0.5), rng.integers(40, 90, n), rng.integers(40, 127, n))
    assert len(audio) >= 60 * SR
    assert np.abs(audio).max() <= 1.0 and np.abs(audio[:SR]).max() > 0


def test_empty_song():
    assert render.synthesize(*EMPTY).shape == (0,)


def test_invalid_song_is_refused():
    with pytest.raises(ValueError, match="equal length"):
        render.synthesize([0.0, 1.0], [1.0], [60], [64])
    with pytest.raises(ValueError, match="non-negative"):
        render.synthesize([0.0], [-1.0], [60], [64])


def test_piano_roll_png_with_an_empty_song(tmp_path):
    path = render.save_piano_roll(tmp_path / "roll.png", [SONG, EMPTY], titles=["song", "empty"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_piano_roll_figure_stacks_one_subplot_per_song():
    fig = render.piano_roll_figure([SONG, SONG, EMPTY])
    assert isinstance(fig, Figure)
    rolls = [ax for ax in fig.axes if ax.get_ylabel() == "pitch"]  # the rest is the colour bar
    assert len(rolls) == 3
    assert rolls[0].get_xlim() == (0.0, 1.75)
    with pytest.raises(ValueError):
        render.piano_roll_figure([])


def test_histogram_figure(tmp_path):
    rng = np.random.default_rng(1)
    fig = render.histogram_figure(
        {"real": rng.normal(size=500), "generated": rng.normal(1, size=200), "none": []},
        title="pitch range",
        bins=20,
    )
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "real (n=500)",
        "generated (n=200)",
        "none (n=0)",
    ]
    fig.savefig(tmp_path / "hist.png")
    render.histogram_figure({"all empty": [np.nan]}, title="x").savefig(tmp_path / "empty.png")


def test_histogram_colours_and_filled_references():
    fig = render.histogram_figure(
        {"model": [1, 2, 2, 3], "real": [2, 3, 3, 4]},
        colours={"model": "tab:orange", "real": "dimgray"},
        references=["real"],
    )
    ax = fig.axes[0]
    model, real = ax.patches  # one step outline, one filled area
    assert model.get_edgecolor()[:3] == pytest.approx((1.0, 0.498, 0.055), abs=1e-3)  # tab:orange
    assert not model.get_fill() and real.get_fill() and real.get_alpha() == 0.35


def test_every_fixed_sample_gets_midi_and_sound_and_an_empty_one_a_note(tmp_path):
    from crnngan.training.callbacks import write_fixed_samples

    song = np.array([[0.0, 0.5, 60, 80], [0.5, 0.5, 64, 80]], dtype=np.float32)  # dt, length, pitch, velocity
    write_fixed_samples(tmp_path, [song, song[:0], song], epoch=4)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in names if n.endswith(".wav")] == ["fixed_000.wav", "fixed_002.wav"]
    assert all((tmp_path / n).stat().st_size > 1000 for n in ("fixed_000.wav", "fixed_002.wav"))
    assert (tmp_path / "fixed_001.txt").read_text() == "epoch 4, fixed noise 1: no notes, nothing to play\n"
    assert "piano_roll.png" in names and {"fixed_000.mid", "fixed_002.mid"} <= set(names)


def test_training_curves_mark_the_epoch_sampled():
    from crnngan.evaluation.figures import training_curves_figure
    from crnngan.evaluation.statistics import FIGURE3

    curve = {"epoch": np.arange(4.0), **{s: np.array([1.0, 2.0, 3.0, 4.0]) for s in FIGURE3}}
    marked = training_curves_figure({"crnngan": curve, "baseline": curve}, {}, {"crnngan": 2})
    ax = marked.axes[FIGURE3.index("unique_tones")]
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [(list(d.get_xdata()), list(d.get_ydata())) for d in dots] == [([2.0], [3.0])]  # crnngan's epoch 2 only
    plain = training_curves_figure({"crnngan": curve}, {})
    assert not [line for line in plain.axes[0].lines if line.get_marker() == "o"]
