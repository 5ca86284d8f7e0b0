"""The evaluate stage's logic: generated songs against real music, and the paper's claims.

Real music is measured on windows of the test split holding as many *steps* as the model was
asked to generate (``sample.length``; for C-RNN-GAN-3 a step holds up to three tones), so
every statistic (3-tone repetitions included) compares at equal length and needs no l_r / l_g
normalisation (anchors §2.1). The length is never derived from the model's own output: a
model that emits near-empty songs is compared with full real windows, flagged as short, and
cannot win on distance. Per model: the paper's statistics with bootstrap confidence
intervals, the distance of each mean to real music in real-music standard deviations, MGEval
OA/KLD (:func:`crnngan.evaluation.distributions.compare_sets`) and the collapse indicators of
:mod:`crnngan.evaluation.diversity`, with a verdict when they cross ``evaluate``'s thresholds.

The paper publishes no numeric table: its only quantitative result is Figure 3 (statistics
per epoch), and its text states qualitative relations between the models and real music.
:func:`paper_claims` checks those relations on our run.

Pure functions, apart from :func:`read_epoch_stats`, which reads the file it names.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike

from crnngan.config import EvaluateConfig, SampleConfig
from crnngan.constants import DT
from crnngan.evaluation.distributions import FEATURE_NAMES, compare_sets
from crnngan.evaluation.diversity import CollapseThresholds, diversity, verdict
from crnngan.evaluation.statistics import FIGURE3
from crnngan.data.representation import events_to_notes, events_to_steps, steps_to_events
from crnngan.training.sampling import song_table

# What the report and the metrics files show: Figure 3, the length-free repetition rate and the
# number of tones per song.
REPORTED = (*FIGURE3, "repetitions_rate_3", "num_tones")
PERCENT = ("scale_consistency", "polyphony", "repetitions_rate_3")  # shares, shown in % as Figure 3
LABELS = {"scale_consistency": "scale consistency %", "tone_span": "tone span",
          "unique_tones": "unique tones", "intensity_span": "intensity span",
          "polyphony": "polyphony %", "repetitions_3": "3-tone repetitions",
          "repetitions_rate_3": "3-tone repetition rate %", "num_tones": "tones"}
MODEL_LABELS = {"baseline": "baseline", "crnngan": "C-RNN-GAN", "crnngan3": "C-RNN-GAN-3"}
# One colour per model in every figure; real music in neutral greys (one per layout).
MODEL_COLOURS = {"baseline": "tab:blue", "crnngan": "tab:orange", "crnngan3": "tab:green"}
REAL_COLOURS = {1: "dimgray", 3: "darkgray"}
# Claims in the order of the anchors: targets T1-T5, Figure 3's captions, the conclusion.
CLAIM_ORDER = ("T1", "T2", "T3", "T4", "T5", "F3c", "F3d", "C1", "C2")
# "Similar" in the paper's sense: means within half a real-music standard deviation (a small
# effect in Cohen's terms). The paper gives no margin.
SIMILAR_MARGIN = 0.5
# T5: "scale consistency stabilises after about 10-15 epochs": from epoch 15 on, a linear fit
# drifts less than 5 percentage points.
PLATEAU_EPOCH, PLATEAU_DRIFT = 15, 0.05

Summary = dict[str, float]  # mean, std, n, ci_low, ci_high of one statistic


def _window_starts(choices: Sequence[int], count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` (song, start) pairs, ``choices[i]`` the number of valid starts in song i.

    Round-robin over the songs with a valid start, in a seeded random order, so each gives
    about ``count / songs`` windows (a long song would otherwise dominate), at seeded uniform
    starts, distinct within a song while it has enough of them (the same window twice would
    make real music look repetitive to the collapse indicators)."""
    eligible = np.flatnonzero(np.asarray(choices) > 0)
    rng = np.random.default_rng(seed)
    picks = eligible[rng.permutation(len(eligible))[np.arange(count) % len(eligible)]]  # (count,)
    starts = np.zeros(count, dtype=np.int64)
    for i in np.unique(picks):
        mine = np.flatnonzero(picks == i)  # the windows cut from song i
        starts[mine] = rng.choice(choices[i], size=len(mine), replace=len(mine) > choices[i])
    return list(zip(picks.tolist(), starts.tolist()))


def _window(song: np.ndarray, start: int, stop: int) -> np.ndarray:
    window = np.array(song[start:stop], dtype=np.float32)
    window[0, DT] = 0.0  # a window's first dt is 0, as in a generated song
    return window


def real_windows(songs: Sequence[np.ndarray], window_events: int, count: int,
                 seed: int) -> list[np.ndarray]:
    """``count`` windows of ``window_events`` consecutive events, from songs at least that
    long, picked by :func:`_window_starts`. Raises ``ValueError`` when no song is long enough.
    """
    if window_events < 1 or count < 1:
        raise ValueError(f"window_events and count must be >= 1, got {window_events}, {count}")
    choices = [max(len(s) - window_events + 1, 0) for s in songs]
    if not any(choices):
        longest = max((len(s) for s in songs), default=0)
        raise ValueError(f"no real song has {window_events} events (the longest has {longest})")
    return [_window(songs[i], start, start + window_events) for i, start in _window_starts(choices, count, seed)]


def _onsets(song: np.ndarray) -> np.ndarray:
    """(N,) onset of each event in seconds from the song's first (its first dt ignored)."""
    events = np.array(song, dtype=np.float64)
    if len(events):
        events[0, DT] = 0.0
    return events_to_notes(events)[0]


def within_seconds(song: np.ndarray, seconds: float) -> np.ndarray:
    """The events of ``song`` with onsets in its first ``seconds`` (onset < seconds)."""
    return np.asarray(song)[:int(np.searchsorted(_onsets(song), seconds, side="left"))]


def duration_windows(songs: Sequence[np.ndarray], seconds: float, count: int,
                     seed: int) -> list[np.ndarray]:
    """``count`` windows of ``seconds``: from a seeded event on, every event with an onset
    less than ``seconds`` after it, from songs that last at least that long past the start
    (so no window is cut short by its song's end). Raises ``ValueError`` when none does."""
    if seconds <= 0 or count < 1:
        raise ValueError(f"seconds must be > 0 and count >= 1, got {seconds}, {count}")
    onsets = [_onsets(s) for s in songs]
    # Start i is valid while a later onset lies >= seconds after it: the window is complete.
    choices = [int(np.searchsorted(o, o[-1] - seconds, side="right")) if len(o) else 0 for o in onsets]
    if not any(choices):
        longest = max((float(o[-1]) for o in onsets if len(o)), default=0.0)
        raise ValueError(f"no real song lasts {seconds:g} s (the longest spans {longest:.1f} s of onsets)")
    return [_window(songs[i], start, int(np.searchsorted(onsets[i], onsets[i][start] + seconds, side="left")))
            for i, start in _window_starts(choices, count, seed)]


def step_windows(songs: Sequence[np.ndarray], tones_per_step: int, steps: int, count: int,
                 seed: int) -> list[np.ndarray]:
    """Real windows of ``steps`` model steps (up to ``tones_per_step`` tones each), as events:
    what a model asked for ``steps`` steps is compared with. For k = 1 these are
    :func:`real_windows` of ``steps`` events."""
    if tones_per_step == 1:
        return real_windows(songs, steps, count, seed)
    packed = [events_to_steps(s, tones_per_step) for s in songs]
    return [steps_to_events(w, tones_per_step) for w in real_windows(packed, steps, count, seed)]


# Below this share of the real tone count at the same length, a model's songs count as short.
SHORT_SHARE = 0.5


def short_song_threshold(real_songs: Sequence[np.ndarray]) -> float:
    """Tones a song needs not to be short: SHORT_SHARE of the real windows' median count."""
    return SHORT_SHARE * float(np.median([len(s) for s in real_songs])) if real_songs else 0.0


def summarise(table: Mapping[str, ArrayLike], bootstrap: int, confidence: float,
              seed: int) -> dict[str, Summary]:
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
    draws = (rng.multinomial(rows, np.full(rows, 1.0 / rows), size=bootstrap) if rows
             else np.zeros((bootstrap, 0)))  # (R, B) times each song is drawn
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = clean.sum(axis=1) / n
        std = np.sqrt((np.where(finite, values - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1))
        boot = (draws @ clean.T) / (draws @ finite.T)  # (R, S); NaN where a draw has no value
    alpha = (1.0 - confidence) / 2.0
    ci = np.full((2, len(keys)), np.nan)
    ok = n > 0
    ci[:, ok] = np.nanquantile(boot[:, ok], [alpha, 1.0 - alpha], axis=0)
    return {k: {"mean": float(mean[i]), "std": float(std[i]) if n[i] > 1 else float("nan"),
                "n": int(n[i]), "ci_low": float(ci[0, i]), "ci_high": float(ci[1, i])}
            for i, k in enumerate(keys)}


def _mgeval_songs(songs: Sequence[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    """Event arrays -> the (onsets, pitches, velocities, lengths) tuples of ``distributions``."""
    return [(o, p, v, l) for o, l, p, v in map(events_to_notes, songs)]


def stat_distance(gen_mean: float, real_mean: float, real_std: float) -> float:
    """One statistic's distance to real music, |mean_gen - mean_real| / std_real: 0 or inf
    when real music has no spread, NaN when either side is undefined. The one formula behind
    the report's "distance to real" and the tuning objective (crnngan.tuning), which caps it."""
    gap = abs(gen_mean - real_mean)
    if np.isnan(gap) or np.isnan(real_std):
        return float("nan")
    if real_std > 0:
        return float(gap / real_std)
    return 0.0 if gap == 0 else float("inf")


def _distance(gen: Summary, real: Summary) -> float:
    return stat_distance(gen["mean"], real["mean"], real["std"])


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def evaluate_models(generated: Mapping[str, Sequence[np.ndarray]],
                    real_test_songs: Sequence[np.ndarray], cfg: EvaluateConfig, seed: int,
                    steps: int = SampleConfig.length,
                    tones_per_step: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Statistics, distances to real music, MGEval and collapse indicators for every model,
    plus real music.

    Real music is measured on ``cfg.real_windows`` test windows of ``steps`` steps in each
    model's layout (``tones_per_step[model]``, default 1), so a model is compared at the
    length it was asked to generate. A model whose median song holds fewer than
    :data:`SHORT_SHARE` of the real windows' median tone count is ``short``: its closeness is
    inf, so it cannot look closest by emitting next to nothing. Returns ``settings``,
    ``steps``, ``notes``, ``real`` {k: {steps, n_windows, test_songs, table, stats,
    diversity, verdict}} and ``models`` {name: {n_songs, empty_songs, median_events, real_k,
    short, table, stats, distance, closeness, mgeval, diversity, verdict}}; ``table`` holds
    per-song values, ``stats`` :func:`summarise` of :data:`REPORTED`.
    """
    tones_per_step = tones_per_step or {}
    thresholds = CollapseThresholds(cfg.collapse_top_pitch_share, cfg.collapse_distinct_share,
                                    cfg.collapse_short_share)
    notes: list[str] = []
    real: dict[int, dict[str, Any]] = {}
    windows_at: dict[int, list[np.ndarray]] = {}

    def measure(songs: Sequence[np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Summary]]:
        table = song_table(songs, tolerance=cfg.polyphony_tolerance, legacy=cfg.legacy)
        return table, summarise({k: table[k] for k in REPORTED}, cfg.bootstrap, cfg.confidence, seed)

    def real_at(k: int) -> dict[str, Any]:
        if k not in real:
            longest = max((len(events_to_steps(s, k)) for s in real_test_songs), default=0)
            length = steps
            if steps > longest:  # a fair length is impossible: use the longest that exists
                notes.append(f"{steps}-step real windows (k = {k}) requested, but the longest real "
                             f"song has {longest} steps: {longest}-step windows used")
                length = longest
            windows_at[k] = step_windows(real_test_songs, k, length, cfg.real_windows, seed)
            table, stats = measure(windows_at[k])
            d = diversity(windows_at[k], short_song_threshold(windows_at[k]))
            real[k] = {"steps": length, "n_windows": len(windows_at[k]), "table": table, "stats": stats,
                       "test_songs": sum(len(events_to_steps(s, k)) >= length for s in real_test_songs),
                       "diversity": d, "verdict": verdict(d, thresholds)}
        return real[k]

    real_at(1)
    models: dict[str, dict[str, Any]] = {}
    for name, songs in generated.items():
        k = tones_per_step.get(name, 1)
        reference = real_at(k)
        lengths = np.array([len(s) for s in songs], dtype=np.int64)
        median = int(np.rint(np.median(lengths))) if lengths.size else 0
        minimum = short_song_threshold(windows_at[k])
        short = median < minimum
        table, stats = measure(songs)
        distance = {s: _distance(stats[s], reference["stats"][s]) for s in FIGURE3}
        d = diversity(songs, minimum)
        if short:
            notes.append(f"{MODEL_LABELS.get(name, name)}: median song of {median} tones, under "
                         f"{SHORT_SHARE:g} x the real {minimum / SHORT_SHARE:g}: flagged short, "
                         "its distance to real music is not comparable (set to inf)")
        models[name] = {
            "n_songs": len(songs), "empty_songs": int(np.sum(lengths == 0)), "median_events": median,
            "real_k": k, "short": short, "table": table, "stats": stats, "distance": distance,
            "closeness": float("inf") if short else _nanmean(list(distance.values())),
            "diversity": d, "verdict": verdict(d, thresholds),
            # MGEval's intra-set distances need two songs per set.
            "mgeval": (compare_sets(_mgeval_songs(songs), _mgeval_songs(windows_at[k]))
                       if len(songs) >= 2 and len(windows_at[k]) >= 2 else None),
        }
    duration = None
    if cfg.compare_seconds > 0:
        seconds = cfg.compare_seconds
        longest = max((float(_onsets(s)[-1]) for s in real_test_songs if len(s)), default=0.0)
        if seconds > longest:  # as for steps: the longest duration that exists
            notes.append(f"{seconds:g} s real windows requested, but the longest real song spans "
                         f"{longest:.1f} s: the equal-duration comparison uses {longest:.1f} s")
            seconds = longest
        if seconds > 0:
            duration = compare_at_duration(generated, real_test_songs, seconds, cfg, seed, measure)
    settings = {"metric_mode": "legacy" if cfg.legacy else "clean",
                "polyphony_tolerance": cfg.polyphony_tolerance, "bootstrap": cfg.bootstrap,
                "confidence": cfg.confidence, "real_windows": cfg.real_windows, "seed": seed,
                "collapse_thresholds": dataclasses.asdict(thresholds)}
    return {"settings": settings, "steps": steps, "notes": notes, "real": real, "models": models,
            "duration": duration}


def compare_at_duration(generated: Mapping[str, Sequence[np.ndarray]], real_test_songs: Sequence[np.ndarray],
                        seconds: float, cfg: EvaluateConfig, seed: int,
                        measure: Callable[[Sequence[np.ndarray]], tuple[dict[str, np.ndarray], dict[str, Summary]]],
                        ) -> dict[str, Any]:
    """The comparison at equal duration: each generated song's first ``seconds`` against real
    test windows of ``seconds`` (:func:`duration_windows`), in every model's case. A model
    that plays fast is then measured on more tones than real music holds in that time, a slow
    one on fewer. Songs too sparse (median tones under :data:`SHORT_SHARE` of the real
    windows') are ``short`` and get closeness inf, as at equal steps. Returns ``seconds``,
    ``real`` {n_windows, median_tones, stats} and ``models`` {name: {median_tones, short,
    stats, distance, closeness}}; ``measure`` gives a song list's (table, stats)."""
    windows = duration_windows(real_test_songs, seconds, cfg.real_windows, seed)
    _, real_stats = measure(windows)
    minimum = short_song_threshold(windows)
    models = {}
    for name, songs in generated.items():
        cut = [within_seconds(song, seconds) for song in songs]
        _, stats = measure(cut)
        median = float(np.median([len(c) for c in cut])) if cut else 0.0
        distance = {st: _distance(stats[st], real_stats[st]) for st in FIGURE3}
        models[name] = {"median_tones": median, "short": median < minimum, "stats": stats, "distance": distance,
                        "closeness": float("inf") if median < minimum else _nanmean(list(distance.values()))}
    return {"seconds": seconds, "real": {"n_windows": len(windows), "stats": real_stats,
                                         "median_tones": float(np.median([len(w) for w in windows]))},
            "models": models}


# --------------------------------------------------------------------------- metrics files


def _finite(value: float) -> float | None:
    """JSON has no NaN/inf (DVC and strict parsers reject them): None instead."""
    return float(value) if np.isfinite(value) else None


def _stats_json(stats: Mapping[str, Summary]) -> dict[str, dict[str, float | None]]:
    return {k: {field: (int(v) if field == "n" else _finite(v)) for field, v in s.items()}
            for k, s in stats.items()}


def real_means(results: Mapping[str, Any], model: str) -> dict[str, float]:
    """Real-music means in ``model``'s layout (one tone per step if it was not evaluated)."""
    entry = results["models"].get(model)
    return {k: s["mean"] for k, s in results["real"][entry["real_k"] if entry else 1]["stats"].items()}


def _diversity_json(d: Any) -> dict[str, float | int | None]:
    return {k: (v if v is None or isinstance(v, int) else _finite(v)) for k, v in d.as_dict().items()}


def _duration_json(entry: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    return {"seconds": seconds, "median_tones": entry["median_tones"], "short": int(entry["short"]),
            "closeness": _finite(entry["closeness"]),
            "means": {k: _finite(v["mean"]) for k, v in entry["stats"].items()}}


def model_metrics(results: Mapping[str, Any], model: str) -> dict[str, Any]:
    """``metrics/<model>.json``: JSON-ready, non-finite values as None."""
    m = results["models"][model]
    mgeval = m["mgeval"] or {}
    return {
        "evaluated": 1, "n_songs": m["n_songs"], "empty_songs": m["empty_songs"],
        "median_events": m["median_events"], "real_window_steps": results["real"][m["real_k"]]["steps"],
        "tones_per_step": m["real_k"], "short": int(m["short"]), "collapsed": int(m["verdict"] is not None),
        "verdict": m["verdict"] or "not collapsed", "diversity": _diversity_json(m["diversity"]),
        "stats": _stats_json(m["stats"]),
        "real_mean": {k: _finite(v) for k, v in real_means(results, model).items()},
        "distance_to_real": {**{k: _finite(v) for k, v in m["distance"].items()},
                             "overall": _finite(m["closeness"])},
        **({"at_duration": _duration_json(results["duration"]["models"][model], results["duration"]["seconds"])}
           if results.get("duration") else {}),
        "mgeval": {**{k: _finite(mgeval["summary"][k]) for k in ("oa", "kld", "oa_gen")
                      if "summary" in mgeval},
                   "features": {f: {"oa": _finite(mgeval[f]["oa"]), "kld": _finite(mgeval[f]["kld"])}
                                for f in FEATURE_NAMES if f in mgeval}},
    }


def real_metrics(results: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics/real.json``: real music in windows of the sample length, one entry per layout
    (``k1``: one tone per step, as C-RNN-GAN and the baseline; ``k3``: C-RNN-GAN-3's), and in
    windows of ``compare_seconds`` (``at_duration``)."""
    out: dict[str, Any] = {
        f"k{k}": {"window_steps": r["steps"], "n_windows": r["n_windows"], "test_songs": r["test_songs"],
                  "verdict": r["verdict"] or "not collapsed", "diversity": _diversity_json(r["diversity"]),
                  "stats": _stats_json(r["stats"])}
        for k, r in sorted(results["real"].items())}
    if results.get("duration"):
        d = results["duration"]
        out["at_duration"] = {"seconds": d["seconds"], "n_windows": d["real"]["n_windows"],
                              "median_tones": d["real"]["median_tones"], "stats": _stats_json(d["real"]["stats"])}
    return out


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "eval") -> dict[str, float]:
    """Nested metrics -> {"prefix/a/b": value} of the numbers only (None skipped), for MLflow."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}/{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            flat[name] = float(value)
    return flat


# Leaves kept out of MLflow's metrics: one-point spreads and counts would each become a chart
# of one bar before the training curves; they stay in the run's metrics/<model>.json artifact.
DETAIL_LEAVES = ("std", "n", "ci_low", "ci_high", "evaluated")


def mlflow_metrics(metrics: Mapping[str, Any], prefix: str = "eval") -> dict[str, float]:
    """:func:`flatten_metrics` without the :data:`DETAIL_LEAVES`: what MLflow charts."""
    return {k: v for k, v in flatten_metrics(metrics, prefix).items() if k.rsplit("/", 1)[-1] not in DETAIL_LEAVES}


# The columns of the runs table in the MLflow UI (``tracking.save_runs_view``): the parent
# runs' comparison (:func:`comparison_metrics`), then the same figures on each model's run.
KEY_METRICS = ("claims/agree", "crnngan/unique_tones", "crnngan/scale_consistency", "crnngan3/polyphony",
               "baseline/unique_tones", "eval/stats/unique_tones/mean", "eval/stats/scale_consistency/mean",
               "eval/stats/polyphony/mean", "eval/collapsed")


def comparison_metrics(results: Mapping[str, Any], claims: Sequence[Mapping[str, str]]) -> dict[str, float]:
    """The pipeline's parent run in MLflow: every model and real music side by side, one
    metric per (who, statistic) mean (``crnngan/unique_tones``, ``real_k1/unique_tones``),
    each model's closeness and collapse flag (1 = collapsed), and how many claims agree."""
    out: dict[str, float] = {}
    for name, m in results["models"].items():
        out.update({f"{name}/{k}": v["mean"] for k, v in m["stats"].items()})
        out[f"{name}/closeness"] = m["closeness"]
        out[f"{name}/collapsed"] = float(m["verdict"] is not None)
    for k, r in results["real"].items():
        out.update({f"real_k{k}/{stat}": v["mean"] for stat, v in r["stats"].items()})
    out["claims/agree"] = float(sum(c["agrees"] == "yes" for c in claims))
    out["claims/checked"] = float(len(claims))
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


# --------------------------------------------------------------------------- claims


def _label(who: str) -> str:
    """``crnngan`` -> "C-RNN-GAN"; ``real@crnngan`` -> "real music"."""
    return "real music" if who.startswith("real@") else MODEL_LABELS.get(who, who)


def _unit(stat: str) -> float:
    """Factor from stored values to the report's units (% for shares)."""
    return 100.0 if stat in PERCENT else 1.0


def _fmt(stat: str, value: float) -> str:
    return f"{_unit(stat) * value:.1f}" if np.isfinite(value) else "n/a"


def _fmt_ci(stat: str, s: Summary) -> str:
    return f"{_fmt(stat, s['mean'])} [{_fmt(stat, s['ci_low'])}, {_fmt(stat, s['ci_high'])}]"


def _greater(a: Summary, b: Summary) -> str:
    """a > b: "yes" / "no" when the CIs are disjoint, else "inconclusive"."""
    if a["ci_low"] > b["ci_high"]:
        return "yes"
    if a["ci_high"] < b["ci_low"]:
        return "no"
    return "inconclusive"  # overlapping CIs, or NaN (every comparison with NaN is False)


def _similar(a: Summary, b: Summary, real_std: float) -> str:
    """a ≈ b: "yes" within SIMILAR_MARGIN real stds, "no" beyond it with disjoint CIs."""
    gap = abs(a["mean"] - b["mean"])
    if not np.isfinite(gap) or not np.isfinite(real_std):
        return "inconclusive"
    if gap <= SIMILAR_MARGIN * real_std:
        return "yes"
    return "no" if _greater(a, b) != "inconclusive" else "inconclusive"


# (id, the paper's claim, where it says so, test, side a, side b, statistic). A side is a model
# or "real@<model>", real music at that model's length. ">": a > b, "≈": a ≈ b, "std>": a's
# spread > b's.
_CLAIMS = (
    ("T1", "unique tones: C-RNN-GAN > baseline (the baseline's are \"consistently much lower\")",
     "Fig. 3(b)", ">", "crnngan", "baseline", "unique_tones"),
    ("T2", "tone span: C-RNN-GAN > baseline", "§4", ">", "crnngan", "baseline", "tone_span"),
    ("T2", "intensity span: C-RNN-GAN > baseline", "§4", ">", "crnngan", "baseline", "intensity_span"),
    ("T3", "scale consistency: C-RNN-GAN ≈ baseline", "Fig. 3(b)", "≈", "crnngan", "baseline",
     "scale_consistency"),
    ("T3", "scale consistency: real music slightly above C-RNN-GAN", "Fig. 3(d)", ">",
     "real@crnngan", "crnngan", "scale_consistency"),
    ("T3", "scale consistency: real music slightly above the baseline", "Fig. 3(d)", ">",
     "real@baseline", "baseline", "scale_consistency"),
    ("T4", "polyphony: C-RNN-GAN-3 > C-RNN-GAN", "§4, Fig. 3(c)", ">", "crnngan3", "crnngan",
     "polyphony"),
    ("T4", "polyphony: C-RNN-GAN-3 > baseline", "Fig. 3(c)", ">", "crnngan3", "baseline", "polyphony"),
    ("T4", "polyphony: C-RNN-GAN-3 ≈ real music", "Fig. 3(d)", "≈", "crnngan3", "real@crnngan3",
     "polyphony"),
    ("F3c", "tone span: C-RNN-GAN-3 > C-RNN-GAN", "Fig. 3(c)", ">", "crnngan3", "crnngan", "tone_span"),
    ("F3c", "unique tones: C-RNN-GAN-3 > C-RNN-GAN", "Fig. 3(c)", ">", "crnngan3", "crnngan",
     "unique_tones"),
    ("F3c", "intensity span: C-RNN-GAN-3 > C-RNN-GAN", "Fig. 3(c)", ">", "crnngan3", "crnngan",
     "intensity_span"),
    ("F3c", "3-tone repetitions: C-RNN-GAN-3 > C-RNN-GAN", "Fig. 3(c)", ">", "crnngan3", "crnngan",
     "repetitions_3"),
    ("F3d", "intensity span: real music ≈ C-RNN-GAN", "Fig. 3(d)", "≈", "real@crnngan", "crnngan",
     "intensity_span"),
    ("F3d", "scale consistency varies more in real music than in C-RNN-GAN", "Fig. 3(d)", "std>",
     "real@crnngan", "crnngan", "scale_consistency"),
    ("F3d", "3-tone repetitions: real music much higher than C-RNN-GAN (here at equal length, "
     "no l_r/l_g scaling)", "Fig. 3(d)", ">", "real@crnngan", "crnngan", "repetitions_3"),
    ("C2", "polyphony: C-RNN-GAN \"scored low\" (below real music)", "§5", ">", "real@crnngan",
     "crnngan", "polyphony"),
)


def _pair_claim(results: Mapping[str, Any], test: str, a: str, b: str, stat: str) -> tuple[str, str]:
    """(what we measured, agreement) of one two-sided claim."""
    def side(who: str) -> Summary:
        model = who.removeprefix("real@")
        if who == model:
            return results["models"][model]["stats"][stat]
        return results["real"][results["models"][model]["real_k"]]["stats"][stat]

    sa, sb = side(a), side(b)
    real_side = next((w for w in (b, a) if w.startswith("real@")), f"real@{a}")
    if test == "std>":
        measured = (f"std {_label(a)} {_fmt(stat, sa['std'])} vs {_label(b)} "
                    f"{_fmt(stat, sb['std'])} (point estimates)")
        if np.isnan(sa["std"]) or np.isnan(sb["std"]):
            return measured, "inconclusive"
        return measured, "yes" if sa["std"] > sb["std"] else "no"
    measured = f"{_label(a)} {_fmt_ci(stat, sa)} vs {_label(b)} {_fmt_ci(stat, sb)}"
    if test == ">":
        return measured, _greater(sa, sb)
    real_std = side(real_side)["std"]
    return (f"{measured}; margin {SIMILAR_MARGIN:g} real std = {_fmt(stat, SIMILAR_MARGIN * real_std)}",
            _similar(sa, sb, real_std))


def _closer(ours: float, theirs: float, lower_is_closer: bool) -> bool | None:
    """Whether ``ours`` is the closer score; None on a tie or NaN."""
    if np.isnan(ours) or np.isnan(theirs) or ours == theirs:
        return None
    return (ours < theirs) == lower_is_closer


def _closeness_claim(results: Mapping[str, Any]) -> tuple[str, str]:
    """C1: C-RNN-GAN closer to real music than the baseline, by distance and by MGEval OA;
    "inconclusive" when the two measures disagree."""
    gan, base = results["models"]["crnngan"], results["models"]["baseline"]
    votes = [_closer(gan["closeness"], base["closeness"], lower_is_closer=True)]
    measured = f"distance to real {gan['closeness']:.2f} vs baseline {base['closeness']:.2f}"
    if gan["mgeval"] and base["mgeval"]:
        oa_gan, oa_base = gan["mgeval"]["summary"]["oa"], base["mgeval"]["summary"]["oa"]
        votes.append(_closer(oa_gan, oa_base, lower_is_closer=False))
        measured += f"; MGEval OA {oa_gan:.2f} vs {oa_base:.2f}"
    if all(v is True for v in votes):
        return measured, "yes"
    return measured, "no" if all(v is False for v in votes) else "inconclusive"


def _plateau_claim(curve: Mapping[str, np.ndarray]) -> tuple[str, str]:
    """T5 from the per-epoch scale consistency of C-RNN-GAN's fixed-noise batch."""
    epochs, values = curve["epoch"], curve["scale_consistency"]
    late = (epochs >= PLATEAU_EPOCH) & np.isfinite(values)
    if late.sum() < 3:
        return (f"{int(late.sum())} epochs logged from epoch {PLATEAU_EPOCH} on; the test needs 3",
                "inconclusive")
    slope = np.polyfit(epochs[late], values[late], 1)[0]
    drift = abs(slope) * (epochs[late].max() - epochs[late].min())
    return (f"linear drift over epochs {int(epochs[late].min())}-{int(epochs[late].max())}: "
            f"{100 * drift:.1f} points (stable below {100 * PLATEAU_DRIFT:.0f})",
            "yes" if drift < PLATEAU_DRIFT else "no")


def paper_claims(results: Mapping[str, Any],
                 curves: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> list[dict[str, str]]:
    """One row per qualitative claim of the paper whose models were evaluated.

    Rows: ``id`` (anchors §2.5 T1-T5, or F3c / F3d for Figure 3's captions, C1 / C2 for the
    conclusion), ``claim``, ``source``, ``measured`` and ``agrees``: "yes" / "no" when the
    CIs of the two means are disjoint, "inconclusive" when they overlap; "≈" claims hold
    within :data:`SIMILAR_MARGIN` real-music stds. T5 needs ``curves["crnngan"]`` (columns
    of ``epoch_stats.csv``, see :func:`read_epoch_stats`).
    """
    present = set(results["models"])
    rows = []
    for cid, claim, source, test, a, b, stat in _CLAIMS:
        if {a.removeprefix("real@"), b.removeprefix("real@")} <= present:
            measured, agrees = _pair_claim(results, test, a, b, stat)
            rows.append({"id": cid, "claim": claim, "source": source, "measured": measured,
                         "agrees": agrees})
    if {"crnngan", "baseline"} <= present:
        measured, agrees = _closeness_claim(results)
        rows.append({"id": "C1", "claim": "C-RNN-GAN resembles real music more than the baseline",
                     "source": "§5", "measured": measured, "agrees": agrees})
    if curves and "crnngan" in curves and "scale_consistency" in curves["crnngan"]:
        measured, agrees = _plateau_claim(curves["crnngan"])
        rows.append({"id": "T5", "claim": "scale consistency of C-RNN-GAN stabilises after "
                     "about 10-15 epochs", "source": "Fig. 3(a)", "measured": measured,
                     "agrees": agrees})
    return sorted(rows, key=lambda r: CLAIM_ORDER.index(r["id"]))


def claims_json(claims: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """``metrics/claims.json``: the claims table of one run, for :func:`claims_across_seeds`."""
    return {"agree": sum(c["agrees"] == "yes" for c in claims), "checked": len(claims),
            "claims": [dict(c) for c in claims]}


def claims_across_seeds(runs: Mapping[int, Sequence[Mapping[str, str]]]) -> list[dict[str, Any]]:
    """The claims of several runs of one recipe (seed -> :func:`paper_claims` rows), joined.

    A claim agrees across seeds ("yes") only if it agrees in every run, disagrees ("no") only
    if it disagrees in every run, and is "inconclusive" otherwise: one lucky seed does not
    make a result. Rows keep the order of the runs' tables (a claim is known by id and text,
    as F3d holds two); ``seeds`` maps each seed to its run's answer ("-" where that run did
    not check the claim, which makes the claim inconclusive too)."""
    keys: list[tuple[str, str]] = []
    answers: dict[tuple[str, str], dict[int, str]] = {}
    for seed, claims in runs.items():
        for c in claims:
            key = (c["id"], c["claim"])
            if key not in answers:
                keys.append(key)
                answers[key] = {}
            answers[key][seed] = c["agrees"]
    rows = []
    for key in sorted(keys, key=lambda k: (CLAIM_ORDER.index(k[0]) if k[0] in CLAIM_ORDER else len(CLAIM_ORDER),
                                           keys.index(k))):
        per_seed = {seed: answers[key].get(seed, "-") for seed in runs}
        values = set(per_seed.values())
        overall = values.pop() if len(values) == 1 and values <= {"yes", "no"} else "inconclusive"
        rows.append({"id": key[0], "claim": key[1], "seeds": per_seed, "agrees": overall})
    return rows


def claims_across_seeds_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`claims_across_seeds` as a markdown table with one column per seed."""
    seeds = list(rows[0]["seeds"]) if rows else []
    agreed = sum(r["agrees"] == "yes" for r in rows)
    lines = [f"Across {len(seeds)} seeds the recipe agrees with {agreed} of {len(rows)} claims "
             "(yes / no: the same answer in every seed; otherwise inconclusive).", "",
             "| # | paper's claim | " + " | ".join(f"seed {s}" for s in seeds) + " | across seeds |",
             "|---" * (len(seeds) + 3) + "|"]
    lines += [f"| {r['id']} | {r['claim']} | " + " | ".join(r["seeds"][s] for s in seeds) + f" | {r['agrees']} |"
              for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- report


def _ordered(names: Sequence[str]) -> list[str]:
    """Models in the report's order: baseline, C-RNN-GAN, C-RNN-GAN-3, then any other."""
    known = list(MODEL_LABELS)
    return sorted(dict.fromkeys(names), key=lambda m: known.index(m) if m in known else len(known))


def real_label(results: Mapping[str, Any], k: int) -> str:
    """How the report names the real windows of layout ``k``."""
    tones = "1 tone" if k == 1 else f"up to {k} tones"
    return f"real music ({results['real'][k]['steps']} steps of {tones})"


def figure_colours(results: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Legend label -> colour for :func:`histogram_values`' labels, and the real-music labels."""
    colours = {MODEL_LABELS.get(m, m): MODEL_COLOURS.get(m, "black") for m in results["models"]}
    real = {real_label(results, k): REAL_COLOURS.get(k, "gray") for k in results["real"]}
    return {**colours, **real}, list(real)


def histogram_values(results: Mapping[str, Any], stat: str) -> dict[str, np.ndarray]:
    """Per-song values of ``stat`` by legend label (models, then real music per layout), in
    the report's units."""
    scale = _unit(stat)
    values = {MODEL_LABELS.get(m, m): scale * results["models"][m]["table"][stat]
              for m in _ordered(list(results["models"]))}
    values.update({real_label(results, k): scale * r["table"][stat]
                   for k, r in sorted(results["real"].items())})
    return values


def _row_cells(stats: Mapping[str, Summary]) -> list[str]:
    """"mean ± CI half-width" per reported statistic."""
    cells = []
    for k in REPORTED:
        s = stats[k]
        half = _unit(k) * (s["ci_high"] - s["ci_low"]) / 2
        cells.append(f"{_fmt(k, s['mean'])} ± {half:.1f}" if np.isfinite(half) else _fmt(k, s["mean"]))
    return cells


def _overview(results: Mapping[str, Any], order: Sequence[str], missing: Sequence[str],
              notes: Sequence[str]) -> list[str]:
    """The bullet list: metric mode, sample counts, real windows, missing models, notes."""
    s, models = results["settings"], results["models"]
    mode = ("clean: the paper's definitions, pitches rounded to the nearest MIDI number"
            if s["metric_mode"] == "clean" else
            "legacy: the original code's quirks (pitches truncated, scale test without "
            "modulo, polyphony of the paper snapshot e75e541)")
    counts = [f"{MODEL_LABELS.get(m, m)} {models[m]['n_songs']} songs (median "
              f"{models[m]['median_events']} events, {models[m]['empty_songs']} empty)"
              for m in order if m in models]
    lines = [f"- Metric mode: **{mode}**; polyphony tolerance {s['polyphony_tolerance']:g} s.",
             f"- Samples: {'; '.join(counts) or 'none'}."]
    lines += [f"- {real_label(results, k).capitalize()}: {r['n_windows']} windows from "
              f"{r['test_songs']} test songs (seed {s['seed']}); compared with the models of that "
              "layout, at the length they were asked for." for k, r in sorted(results["real"].items())]
    lines += [f"- **{MODEL_LABELS.get(m, m)} was not evaluated**: no samples." for m in missing]
    return lines + [f"- {n}" for n in (*results["notes"], *notes)]


def _statistics_table(results: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    s, models = results["settings"], results["models"]
    lines = [f"## Statistics (mean ± half-width of the {100 * s['confidence']:g}% bootstrap CI "
             f"of the mean, {s['bootstrap']} resamples)", "",
             "| | " + " | ".join(LABELS[k] for k in REPORTED) + " |", "|---" * (len(REPORTED) + 1) + "|"]
    for m in order:
        cells = _row_cells(models[m]["stats"]) if m in models else ["not evaluated"]
        lines.append(f"| {MODEL_LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    lines += [f"| {real_label(results, k)} | " + " | ".join(_row_cells(r["stats"])) + " |"
              for k, r in sorted(results["real"].items())]
    return lines + ["", "3-tone repetitions count ordered pairs of equal, non-overlapping 3-pitch "
                    "windows (i, j >= i + 3), pairs of occurrences rather than distinct patterns: a "
                    "100-note song of one held pitch scores 4,560, a motif played 4 times 12. The "
                    "rate divides the count by the number of such window pairs (1 for a constant "
                    "song), so songs of any length compare."]


def _verdicts(results: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    """One line per model (and real music): collapsed, with the reasons, or not."""
    t = results["settings"]["collapse_thresholds"]
    lines = ["## Collapse", "",
             f"A song set is collapsed when one pitch holds more than {100 * t['max_top_pitch_share']:g}% "
             f"of its notes, fewer than {100 * t['min_distinct_share']:g}% of its songs are distinct, "
             f"or more than {100 * t['max_short_share']:g}% of its songs hold under {SHORT_SHARE:g} x "
             "the real tone count (thresholds: `evaluate` params).", ""]
    rows = [(MODEL_LABELS.get(m, m), results["models"][m]) for m in order if m in results["models"]]
    rows += [(real_label(results, k), r) for k, r in sorted(results["real"].items())]
    for label, entry in rows:
        d = entry["diversity"]
        lines.append(f"- **{label}**: {entry['verdict'] or 'not collapsed'} ({round(d.distinct_share * d.songs)} "
                     f"of {d.songs} songs distinct; most frequent pitch {100 * d.top_pitch_share:.0f}% of notes; "
                     f"{100 * d.songs_with_8_pitches:.0f}% of songs with >= 8 pitches; pitch-class "
                     f"distance between songs {d.pitch_class_distance:.2f}; {d.mean_notes:.0f} tones per song).")
    return lines


def _closeness_table(results: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    lines = ["## Closeness to real music", "",
             "Distance: mean over Figure 3's six statistics of |mean_gen - mean_real| / std_real, "
             "against real windows of as many steps as the model generated (lower is closer; inf "
             "for a model flagged short, which cannot look close by playing nothing). MGEval (Yang & "
             "Lerch 2018), mean over 10 features: overlapping area OA (higher is closer) and KLD "
             "(lower is closer).", "",
             "| model | distance to real | largest gap | MGEval OA | MGEval KLD |",
             "|---|---|---|---|---|"]
    for m in (m for m in order if m in results["models"]):
        entry = results["models"][m]
        d = entry["distance"]
        worst = max((k for k in d if not np.isnan(d[k])), key=lambda k: d[k], default=None)
        gap = f"{LABELS[worst]} ({d[worst]:.2f} std)" if worst else "n/a"
        mg = entry["mgeval"]["summary"] if entry["mgeval"] else None
        oa_kld = f"{mg['oa']:.3f} | {mg['kld']:.3f}" if mg else "n/a | n/a"  # fewer than 2 songs
        lines.append(f"| {MODEL_LABELS.get(m, m)} | {entry['closeness']:.2f} | {gap} | {oa_kld} |")
    return lines


def _duration_table(results: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    """Statistics of every song's first ``seconds`` against real windows of that duration."""
    d = results.get("duration")
    if not d:
        return []
    lines = [f"## At equal duration: each song's first {d['seconds']:g} s", "",
             f"The same statistics on the first {d['seconds']:g} s of every song, against "
             f"{d['real']['n_windows']} real test windows of {d['seconds']:g} s (param "
             "`evaluate.compare_seconds`): a model that plays faster than real music is measured "
             "on more tones, a slower one on fewer. Distance as above; inf when the median song "
             f"holds under {SHORT_SHARE:g} x the real tone count in that time.", "",
             "| | tones (median) | " + " | ".join(LABELS[k] for k in FIGURE3) + " | distance to real |",
             "|---" * (len(FIGURE3) + 3) + "|"]
    for m in (m for m in order if m in d["models"]):
        e = d["models"][m]
        cells = [_fmt(k, e["stats"][k]["mean"]) for k in FIGURE3]
        lines.append(f"| {MODEL_LABELS.get(m, m)} | {e['median_tones']:g} | " + " | ".join(cells)
                     + f" | {e['closeness']:.2f} |")
    cells = [_fmt(k, d["real"]["stats"][k]["mean"]) for k in FIGURE3]
    return lines + [f"| real music ({d['seconds']:g} s windows) | {d['real']['median_tones']:g} | "
                    + " | ".join(cells) + " | - |"]


def _claims_table(results: Mapping[str, Any], claims: Sequence[Mapping[str, str]]) -> list[str]:
    agreed = sum(c["agrees"] == "yes" for c in claims)
    lines = ["## The paper's claims", "",
             "The paper publishes no numeric table: its only quantitative result is Figure 3 "
             "(statistics per training epoch), and its text states qualitative relations. "
             f"\"yes\" / \"no\": the {100 * results['settings']['confidence']:g}% CIs are disjoint; "
             f"\"inconclusive\": they overlap. \"≈\" holds within {SIMILAR_MARGIN:g} real-music std. "
             f"Our run agrees with {agreed} of {len(claims)} checked claims.", "",
             "| # | paper's claim (qualitative; the paper publishes only Figure 3, no table) | "
             "source | what we measured | our run agrees? |", "|---|---|---|---|---|"]
    lines += [f"| {c['id']} | {c['claim']} | {c['source']} | {c['measured']} | {c['agrees']} |"
              for c in claims]
    return lines + ["", "Not checked: the epoch dynamics of Figure 3 other than T5 (complexity "
                    "growing with training, repetitions rising for ~25 epochs, C-RNN-GAN-3's zero "
                    "outputs around epochs 50-55), which need the paper's long training; see "
                    "`figures/training_curves.png`."]


def summary_markdown(results: Mapping[str, Any], claims: Sequence[Mapping[str, str]],
                     missing: Sequence[str] = (), notes: Sequence[str] = ()) -> str:
    """``reports/summary.md``: statistics table, closeness to real music, the paper's claims.

    ``missing``: models without samples (shown as not evaluated); ``notes``: extra lines.
    """
    order = _ordered([*results["models"], *missing])
    rolls = ["## Listen and look", "", "Two real test windows, then the first two songs of each model "
             "(`samples/<model>/song_000.mid`, ...): ![piano rolls](figures/piano_rolls.png)"]
    sections = (_verdicts(results, order), rolls, _overview(results, order, missing, notes),
                _statistics_table(results, order),
                _closeness_table(results, order), _duration_table(results, order),
                _claims_table(results, claims))
    return "\n\n".join("\n".join(lines) for lines in
                       (["# Evaluation: generated music vs real music"], *sections) if lines) + "\n"


def piano_roll_panel(generated: Mapping[str, Sequence[np.ndarray]], real_songs: Sequence[np.ndarray],
                     steps: int, seed: int, per_model: int = 2) -> tuple[list[tuple[np.ndarray, ...]], list[str]]:
    """Songs and titles for one piano-roll figure: two real windows of ``steps`` events, then
    the first ``per_model`` songs of each model in the report's order (notes as
    (onsets, lengths, pitches, velocities), pitches rounded as the metrics round them)."""
    def notes(song: np.ndarray) -> tuple[np.ndarray, ...]:
        onsets, lengths, pitches, velocities = events_to_notes(song)
        return onsets, lengths, np.rint(pitches), velocities

    songs, titles = [], []
    for i, w in enumerate(real_windows(real_songs, min(steps, max(len(s) for s in real_songs)), per_model, seed)):
        songs.append(notes(w))
        titles.append(f"real music, test window {i + 1}")
    for m in _ordered(list(generated)):
        for i, song in enumerate(generated[m][:per_model]):
            songs.append(notes(song))
            titles.append(f"{MODEL_LABELS.get(m, m)}, song {i + 1}")
    return songs, titles


# --------------------------------------------------------------------------- training curves


def read_epoch_stats(path: str | Path) -> dict[str, np.ndarray]:
    """``epoch_stats.csv`` -> column -> float array (empty cells, e.g. GAN losses while
    pretraining, are NaN)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0]) if rows else []
    return {c: np.array([float(r[c]) if r.get(c) not in ("", None) else np.nan for r in rows])
            for c in columns}


def training_curves_figure(curves: Mapping[str, Mapping[str, np.ndarray]],
                           real: Mapping[str, Mapping[str, float]]) -> Figure:
    """Figure 3 as small multiples: one panel per statistic, each on its own axis and unit,
    one line per model (:data:`MODEL_COLOURS`, the same in every figure) over its epochs, and
    the real-music mean at that model's layout as a dashed line of the same colour.
    Shares are in %.
    """
    fig = Figure(figsize=(13, 6.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, stat in zip(axes, FIGURE3):
        scale = _unit(stat)
        for model in _ordered(list(curves)):
            curve, colour = curves[model], MODEL_COLOURS.get(model, "black")
            if stat in curve:
                ax.plot(curve["epoch"], scale * curve[stat], color=colour, label=MODEL_LABELS.get(model, model))
            level = real.get(model, {}).get(stat, np.nan)
            if np.isfinite(level):
                ax.axhline(scale * level, color=colour, linestyle="--", linewidth=1)
        ax.set_title(LABELS[stat])
        ax.set_xlabel("epoch")
    if not curves:
        axes[0].text(0.5, 0.5, "no epoch_stats.csv", transform=axes[0].transAxes, ha="center")
    handles = [Line2D([], [], color=MODEL_COLOURS.get(m, "black"), label=MODEL_LABELS.get(m, m))
               for m in _ordered(list(curves))]
    handles.append(Line2D([], [], color="grey", linestyle="--", label="real music (mean, same colour)"))
    fig.legend(handles=handles, loc="outside right center", fontsize="small")
    return fig
