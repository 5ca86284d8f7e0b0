"""What the evaluation finds, as typed records (:func:`crnngan.evaluation.compare.evaluate_models`).

:class:`Results` holds the settings, real music per layout (:class:`RealResult`, keyed by
tones per step k), every evaluated model (:class:`ModelResult`) and the comparison at equal
duration (:class:`DurationResult`). A set of songs is described twice: ``table``, statistic
-> (B,) values per song (:func:`crnngan.evaluation.batch.song_table`), and ``stats``,
statistic -> :class:`Summary` of the reported ones (:data:`crnngan.evaluation.labels.REPORTED`).
The claims, the report, the figures and the metrics files all read these records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crnngan.evaluation.diversity import CollapseThresholds, Diversity


@dataclass(frozen=True)
class Summary:
    """One statistic over a set of songs (:func:`crnngan.evaluation.compare.summarise`):
    ``mean``, ``std`` (ddof 1), ``n`` (songs where it is defined) and the bounds of a
    percentile-bootstrap CI of the mean. The field order is the metrics files' key order."""

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float


Table = dict[str, np.ndarray]  # statistic -> (B,) per-song values
Stats = dict[str, Summary]  # statistic -> its summary over the songs


@dataclass(frozen=True)
class Settings:
    """The ``evaluate`` params the results were computed with, as the report states them."""

    metric_mode: str  # "clean" or "legacy"
    polyphony_tolerance: float
    bootstrap: int
    confidence: float
    real_windows: int
    seed: int
    collapse_thresholds: CollapseThresholds


@dataclass(frozen=True)
class RealResult:
    """Real music in one layout: ``n_windows`` test windows of ``steps`` steps, cut from the
    ``test_songs`` songs that long."""

    steps: int
    n_windows: int
    test_songs: int
    table: Table
    stats: Stats
    diversity: Diversity
    verdict: str | None  # "collapsed: <reasons>", None when not collapsed


@dataclass(frozen=True)
class ModelResult:
    """One model's songs against real music of its layout ``real_k`` (tones per step).

    ``distance``: per Figure-3 statistic, |mean_gen - mean_real| / std_real; ``closeness``:
    their mean over the defined ones, inf when the model is ``short`` (its median song holds
    under :data:`crnngan.evaluation.windows.SHORT_SHARE` of the real tone count);
    ``mgeval``: :func:`crnngan.evaluation.distributions.compare_sets`, None for fewer than
    two songs on a side."""

    n_songs: int
    empty_songs: int
    median_events: int
    real_k: int
    short: bool
    table: Table
    stats: Stats
    distance: dict[str, float]
    closeness: float
    mgeval: dict[str, dict[str, float | bool]] | None
    diversity: Diversity
    verdict: str | None


@dataclass(frozen=True)
class RealAtDuration:
    """Real test windows of the comparison's ``seconds``."""

    n_windows: int
    median_tones: float
    stats: Stats


@dataclass(frozen=True)
class ModelAtDuration:
    """A model's songs cut to their first ``seconds``; ``short``, ``distance`` and
    ``closeness`` as in :class:`ModelResult`."""

    median_tones: float
    short: bool
    stats: Stats
    distance: dict[str, float]
    closeness: float


@dataclass(frozen=True)
class DurationResult:
    """The comparison at equal duration (:func:`crnngan.evaluation.compare.compare_at_duration`)."""

    seconds: float
    real: RealAtDuration
    models: dict[str, ModelAtDuration]


@dataclass(frozen=True)
class Results:
    """Everything :func:`crnngan.evaluation.compare.evaluate_models` measured.

    ``steps``: the length the models were asked for; ``notes``: what the report should say
    about the comparison (a shortened window, a model flagged short); ``duration``: None
    when ``evaluate.compare_seconds`` is 0."""

    settings: Settings
    steps: int
    notes: list[str]
    real: dict[int, RealResult]
    models: dict[str, ModelResult]
    duration: DurationResult | None

    def real_for(self, model: str) -> RealResult:
        """Real music in ``model``'s layout (one tone per step if it was not evaluated)."""
        entry = self.models.get(model)
        return self.real[entry.real_k if entry else 1]

    def real_means(self, model: str) -> dict[str, float]:
        """The means of :meth:`real_for`'s statistics."""
        return {k: s.mean for k, s in self.real_for(model).stats.items()}
