"""Closeness of generated songs to real validation music: one number, lower is closer.

The paper's six Figure-3 statistics are computed per song (:func:`crnngan.evaluation.batch.song_table`)
for the generated songs and for ``windows`` real validation windows of as many steps as were
generated (:func:`crnngan.evaluation.windows.step_windows`), never of a length taken from the
model's output. Per statistic the distance is ``|mean_gen - mean_val| / std_val``
(:func:`stat_distance`, also the report's formula), capped at ``CAP`` real standard
deviations; a statistic that no generated song defines (e.g. all songs empty), or that real
music does not vary while the songs do, counts as ``CAP``. The score is the mean over
statistics, so it is always finite and one degenerate statistic cannot swamp the rest; songs
whose median holds under half the real tone count score ``CAP``, so playing next to nothing
cannot pay.

Used as Optuna's default objective (:mod:`crnngan.tuning.objective`) and to choose which
adversarial epoch's G a GAN samples from (``select_by: closeness``,
:class:`crnngan.training.callbacks.SelectByCloseness`), both through
:func:`crnngan.training.callbacks.closeness_of`. Both measure the validation split, never the
test split the evaluate stage reports on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crnngan.data.preprocess import SongSet
from crnngan.data.representation import Normalizer, events_to_steps
from crnngan.evaluation.batch import song_table
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import short_song_threshold, step_windows
from crnngan.paths import DataDir

CAP = 10.0  # real standard deviations: the worst distance one statistic can add


class NoValidationSongs(ValueError):
    """Closeness was asked for where the validation split holds no song to measure against."""


def stat_distance(gen_mean: float, real_mean: float, real_std: float) -> float:
    """One statistic's distance to real music, |mean_gen - mean_real| / std_real: 0 or inf
    when real music has no spread, NaN when either side is undefined. The one formula behind
    the report's "distance to real" (crnngan.evaluation.compare) and :class:`Closeness`, which caps it."""
    gap = abs(gen_mean - real_mean)
    if np.isnan(gap) or np.isnan(real_std):
        return float("nan")
    if real_std > 0:
        return float(gap / real_std)
    return 0.0 if gap == 0 else float("inf")


class Closeness:
    """Closeness of generated songs to real validation music (see the module docstring)."""

    def __init__(
        self,
        val_songs: list[np.ndarray],
        normalizer: Normalizer,
        tones_per_step: int,
        count: int,
        windows: int,
        seed: int,
        tolerance: float = 0.0,
        legacy: bool | str = False,
    ) -> None:
        if not val_songs:
            raise NoValidationSongs("closeness needs validation songs, but the validation split is empty")
        self.val_songs, self.normalizer, self.k = val_songs, normalizer, tones_per_step
        self.count, self.windows, self.seed = count, windows, seed
        self.table_kwargs = {"tolerance": tolerance, "legacy": legacy}
        # steps -> (stat -> (mean, std), tones a song needs not to be short)
        self._real: dict[int, tuple[dict[str, tuple[float, float]], float]] = {}

    @classmethod
    def from_data(cls, data_dir: str | Path, tones_per_step: int, count: int, windows: int, seed: int,
                  tolerance: float = 0.0, legacy: bool | str = False) -> Closeness:  # fmt: skip
        """Against the validation split of the preprocess stage's output ``data_dir``."""
        data = DataDir(Path(data_dir))
        val_songs = SongSet.load(data.songs).songs(1)  # 1 = the validation split
        return cls(val_songs, Normalizer.load(data.normalizer), tones_per_step, count, windows, seed, tolerance, legacy)

    def _real_stats(self, steps: int) -> tuple[dict[str, tuple[float, float]], float]:
        if steps not in self._real:
            longest = max(len(events_to_steps(s, self.k)) for s in self.val_songs)
            windows = step_windows(self.val_songs, self.k, min(steps, longest), self.windows, self.seed)
            table = song_table(windows, **self.table_kwargs)
            self._real[steps] = (
                {
                    s: (float(np.nanmean(table[s])), float(np.nanstd(table[s], ddof=1)))
                    for s in FIGURE3
                    if np.isfinite(table[s]).sum() > 1
                },
                short_song_threshold(windows),
            )
        return self._real[steps]

    def score(self, songs: list[np.ndarray], steps: int) -> float:
        """Mean capped distance of ``songs`` of ``steps`` steps to real windows of as many
        steps; CAP when their median song is short (under half the real tone count), so
        near-empty songs can never look close."""
        real, minimum = self._real_stats(steps)
        if np.median([len(s) for s in songs]) < max(minimum, 1):
            return CAP
        gen = song_table(songs, **self.table_kwargs)
        distances = []
        for stat, (mean, std) in real.items():
            values = gen[stat][np.isfinite(gen[stat])]
            distances.append(min(stat_distance(values.mean(), mean, std), CAP) if values.size else CAP)
        return float(np.mean(distances))
