"""Generated songs against real music: bootstrap summaries and distances to real music.

Real music is measured on windows of the test split of as many steps as the model was asked
to generate (:mod:`crnngan.evaluation.windows`). Per model: the paper's statistics with
bootstrap confidence intervals, the distance of each mean to real music in real-music
standard deviations, MGEval OA/KLD (:func:`crnngan.evaluation.distributions.compare_sets`)
and the collapse indicators of :mod:`crnngan.evaluation.diversity`, with a verdict when they
cross ``evaluate``'s thresholds; optionally the same at equal duration. The findings are the
typed records of :mod:`crnngan.evaluation.results`, which the claims
(:mod:`crnngan.evaluation.claims`), the report (:mod:`crnngan.evaluation.report`) and the
metrics files (:mod:`crnngan.evaluation.metrics`) read.

Pure functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from crnngan.config import EvaluateConfig, SampleConfig
from crnngan.data.representation import events_to_notes, events_to_steps
from crnngan.evaluation.batch import song_table
from crnngan.evaluation.closeness import stat_distance
from crnngan.evaluation.distributions import compare_sets
from crnngan.evaluation.diversity import CollapseThresholds, diversity, verdict
from crnngan.evaluation.labels import REPORTED, model_label
from crnngan.evaluation.results import (
    DurationResult,
    ModelAtDuration,
    ModelResult,
    RealAtDuration,
    RealResult,
    Results,
    Settings,
    Stats,
    Summary,
    Table,
)
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import (
    SHORT_SHARE,
    duration_windows,
    event_onsets,
    short_song_threshold,
    step_windows,
    within_seconds,
)

Measure = Callable[[Sequence[np.ndarray]], tuple[Table, Stats]]  # songs -> (table, stats)


def summarise(table: Mapping[str, ArrayLike], bootstrap: int, confidence: float, seed: int) -> dict[str, Summary]:
    """Per statistic: ``mean``, ``std`` (ddof 1), ``n`` and a percentile-bootstrap CI of the mean.

    NaN values (a statistic undefined for a song) are left out of that statistic only; with
    no finite value everything but ``n`` is NaN. Every statistic is resampled with the same
    ``bootstrap`` draws of songs, as multinomial counts (R, B): the resampled means of all
    statistics are then two matrix products.
    """
    if bootstrap < 1 or not 0.0 < confidence < 1.0:
        raise ValueError(f"need bootstrap >= 1 and 0 < confidence < 1, got {bootstrap}, {confidence}")
    keys = list(table)
    values = np.stack([np.ravel(np.asarray(table[k], dtype=np.float64)) for k in keys])  # (S, B)
    finite = np.isfinite(values)
    clean = np.where(finite, values, 0.0)
    n = finite.sum(axis=1)  # (S,)
    rows = values.shape[1]
    rng = np.random.default_rng(seed)
    draws = (
        rng.multinomial(rows, np.full(rows, 1.0 / rows), size=bootstrap) if rows else np.zeros((bootstrap, 0))
    )  # (R, B) times each song is drawn
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = clean.sum(axis=1) / n
        std = np.sqrt((np.where(finite, values - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1))
        boot = (draws @ clean.T) / (draws @ finite.T)  # (R, S); NaN where a draw has no value
    alpha = (1.0 - confidence) / 2.0
    ci = np.full((2, len(keys)), np.nan)
    ok = n > 0
    ci[:, ok] = np.nanquantile(boot[:, ok], [alpha, 1.0 - alpha], axis=0)
    return {
        k: Summary(
            mean=float(mean[i]),
            std=float(std[i]) if n[i] > 1 else float("nan"),
            n=int(n[i]),
            ci_low=float(ci[0, i]),
            ci_high=float(ci[1, i]),
        )
        for i, k in enumerate(keys)
    }


def _distance(gen: Summary, real: Summary) -> float:
    return stat_distance(gen.mean, real.mean, real.std)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def evaluate_models(
    generated: Mapping[str, Sequence[np.ndarray]],
    real_test_songs: Sequence[np.ndarray],
    cfg: EvaluateConfig,
    seed: int,
    steps: int = SampleConfig.length,
    tones_per_step: Mapping[str, int] | None = None,
) -> Results:
    """Statistics, distances to real music, MGEval and collapse indicators for every model,
    plus real music.

    Real music is measured on ``cfg.real_windows`` test windows of ``steps`` steps in each
    model's layout (``tones_per_step[model]``, default 1), so a model is compared at the
    length it was asked to generate. A model whose median song holds fewer than
    :data:`~crnngan.evaluation.windows.SHORT_SHARE` of the real windows' median tone count is
    ``short``: its closeness is inf, so it cannot look closest by emitting next to nothing.
    Every ``stats`` is :func:`summarise` of :data:`~crnngan.evaluation.labels.REPORTED`.
    """
    tones_per_step = tones_per_step or {}
    thresholds = CollapseThresholds(cfg.collapse_top_pitch_share, cfg.collapse_distinct_share, cfg.collapse_short_share)
    notes: list[str] = []
    real: dict[int, RealResult] = {}
    windows_at: dict[int, list[np.ndarray]] = {}

    def measure(songs: Sequence[np.ndarray]) -> tuple[Table, Stats]:
        table = song_table(songs, tolerance=cfg.polyphony_tolerance, legacy=cfg.legacy)
        return table, summarise({k: table[k] for k in REPORTED}, cfg.bootstrap, cfg.confidence, seed)

    def real_at(k: int) -> RealResult:
        if k not in real:
            longest = max((len(events_to_steps(s, k)) for s in real_test_songs), default=0)
            length = steps
            if steps > longest:  # a fair length is impossible: use the longest that exists
                notes.append(
                    f"{steps}-step real windows (k = {k}) requested, but the longest real "
                    f"song has {longest} steps: {longest}-step windows used"
                )
                length = longest
            windows_at[k] = step_windows(real_test_songs, k, length, cfg.real_windows, seed)
            table, stats = measure(windows_at[k])
            d = diversity(windows_at[k], short_song_threshold(windows_at[k]))
            real[k] = RealResult(
                steps=length,
                n_windows=len(windows_at[k]),
                table=table,
                stats=stats,
                test_songs=sum(len(events_to_steps(s, k)) >= length for s in real_test_songs),
                diversity=d,
                verdict=verdict(d, thresholds),
            )
        return real[k]

    real_at(1)
    models: dict[str, ModelResult] = {}
    for name, songs in generated.items():
        k = tones_per_step.get(name, 1)
        reference = real_at(k)
        lengths = np.array([len(s) for s in songs], dtype=np.int64)
        median = int(np.rint(np.median(lengths))) if lengths.size else 0
        minimum = short_song_threshold(windows_at[k])
        short = median < minimum
        table, stats = measure(songs)
        distance = {s: _distance(stats[s], reference.stats[s]) for s in FIGURE3}
        d = diversity(songs, minimum)
        if short:
            notes.append(
                f"{model_label(name)}: median song of {median} tones, under "
                f"{SHORT_SHARE:g} x the real {minimum / SHORT_SHARE:g}: flagged short, "
                "its distance to real music is not comparable (set to inf)"
            )
        models[name] = ModelResult(
            n_songs=len(songs),
            empty_songs=int(np.sum(lengths == 0)),
            median_events=median,
            real_k=k,
            short=short,
            table=table,
            stats=stats,
            distance=distance,
            closeness=float("inf") if short else _nanmean(list(distance.values())),
            diversity=d,
            verdict=verdict(d, thresholds),
            # MGEval's intra-set distances need two songs per set.
            mgeval=(
                compare_sets([events_to_notes(s) for s in songs], [events_to_notes(s) for s in windows_at[k]])
                if len(songs) >= 2 and len(windows_at[k]) >= 2
                else None
            ),
        )
    duration = None
    if cfg.compare_seconds > 0:
        seconds = cfg.compare_seconds
        longest = max((float(event_onsets(s)[-1]) for s in real_test_songs if len(s)), default=0.0)
        if seconds > longest:  # as for steps: the longest duration that exists
            notes.append(
                f"{seconds:g} s real windows requested, but the longest real song spans "
                f"{longest:.1f} s: the equal-duration comparison uses {longest:.1f} s"
            )
            seconds = longest
        if seconds > 0:
            duration = compare_at_duration(generated, real_test_songs, seconds, cfg, seed, measure)
    settings = Settings(
        metric_mode="legacy" if cfg.legacy else "clean",
        polyphony_tolerance=cfg.polyphony_tolerance,
        bootstrap=cfg.bootstrap,
        confidence=cfg.confidence,
        real_windows=cfg.real_windows,
        seed=seed,
        collapse_thresholds=thresholds,
    )
    return Results(settings=settings, steps=steps, notes=notes, real=real, models=models, duration=duration)


def compare_at_duration(
    generated: Mapping[str, Sequence[np.ndarray]],
    real_test_songs: Sequence[np.ndarray],
    seconds: float,
    cfg: EvaluateConfig,
    seed: int,
    measure: Measure,
) -> DurationResult:
    """The comparison at equal duration: each generated song's first ``seconds`` against real
    test windows of ``seconds`` (:func:`~crnngan.evaluation.windows.duration_windows`), in
    every model's case. A model that plays fast is then measured on more tones than real
    music holds in that time, a slow one on fewer. Songs too sparse (median tones under
    :data:`~crnngan.evaluation.windows.SHORT_SHARE` of the real windows') are ``short`` and
    get closeness inf, as at equal steps; ``measure`` gives a song list's (table, stats)."""
    windows = duration_windows(real_test_songs, seconds, cfg.real_windows, seed)
    _, real_stats = measure(windows)
    minimum = short_song_threshold(windows)
    models = {}
    for name, songs in generated.items():
        cut = [within_seconds(song, seconds) for song in songs]
        _, stats = measure(cut)
        median = float(np.median([len(c) for c in cut])) if cut else 0.0
        distance = {st: _distance(stats[st], real_stats[st]) for st in FIGURE3}
        models[name] = ModelAtDuration(
            median_tones=median,
            short=median < minimum,
            stats=stats,
            distance=distance,
            closeness=float("inf") if median < minimum else _nanmean(list(distance.values())),
        )
    real = RealAtDuration(
        n_windows=len(windows), stats=real_stats, median_tones=float(np.median([len(w) for w in windows]))
    )
    return DurationResult(seconds=seconds, real=real, models=models)
