"""The numbers the evaluate stage writes: ``metrics/<model>.json`` and ``metrics/real.json``
(DVC metrics), and the flat metric dicts it logs to MLflow (each model's training run, and
the comparison of all of them in the pipeline's parent run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crnngan.evaluation.distributions import FEATURE_NAMES
from crnngan.evaluation.diversity import Diversity
from crnngan.evaluation.labels import verdict_text
from crnngan.evaluation.results import ModelAtDuration, Results, Stats


def _finite(value: float) -> float | None:
    """JSON has no NaN/inf (DVC and strict parsers reject them): None instead."""
    return float(value) if np.isfinite(value) else None


def _stats_json(stats: Stats) -> dict[str, dict[str, float | None]]:
    return {
        k: {field: (int(v) if field == "n" else _finite(v)) for field, v in dataclasses.asdict(s).items()}
        for k, s in stats.items()
    }


def _diversity_json(d: Diversity) -> dict[str, float | int | None]:
    return {k: (v if v is None or isinstance(v, int) else _finite(v)) for k, v in d.as_dict().items()}


def _duration_json(entry: ModelAtDuration, seconds: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "median_tones": entry.median_tones,
        "short": int(entry.short),
        "closeness": _finite(entry.closeness),
        "means": {k: _finite(v.mean) for k, v in entry.stats.items()},
    }


def model_metrics(results: Results, model: str) -> dict[str, Any]:
    """``metrics/<model>.json``: JSON-ready, non-finite values as None."""
    m = results.models[model]
    mgeval = m.mgeval or {}
    return {
        "evaluated": 1,
        "n_songs": m.n_songs,
        "empty_songs": m.empty_songs,
        "median_events": m.median_events,
        "real_window_steps": results.real[m.real_k].steps,
        "tones_per_step": m.real_k,
        "short": int(m.short),
        "collapsed": int(m.verdict is not None),
        "verdict": verdict_text(m.verdict),
        "diversity": _diversity_json(m.diversity),
        "stats": _stats_json(m.stats),
        "real_mean": {k: _finite(v) for k, v in results.real_means(model).items()},
        "distance_to_real": {**{k: _finite(v) for k, v in m.distance.items()}, "overall": _finite(m.closeness)},
        **(
            {"at_duration": _duration_json(results.duration.models[model], results.duration.seconds)}
            if results.duration
            else {}
        ),
        "mgeval": {
            **{k: _finite(mgeval["summary"][k]) for k in ("oa", "kld", "oa_gen") if "summary" in mgeval},
            "features": {
                f: {"oa": _finite(mgeval[f]["oa"]), "kld": _finite(mgeval[f]["kld"])}
                for f in FEATURE_NAMES
                if f in mgeval
            },
        },
    }


def real_metrics(results: Results) -> dict[str, Any]:
    """``metrics/real.json``: real music in windows of the sample length, one entry per layout
    (``k1``: one tone per step, as C-RNN-GAN and the baseline; ``k3``: C-RNN-GAN-3's), and in
    windows of ``compare_seconds`` (``at_duration``)."""
    out: dict[str, Any] = {
        f"k{k}": {
            "window_steps": r.steps,
            "n_windows": r.n_windows,
            "test_songs": r.test_songs,
            "verdict": verdict_text(r.verdict),
            "diversity": _diversity_json(r.diversity),
            "stats": _stats_json(r.stats),
        }
        for k, r in sorted(results.real.items())
    }
    if results.duration:
        d = results.duration
        out["at_duration"] = {
            "seconds": d.seconds,
            "n_windows": d.real.n_windows,
            "median_tones": d.real.median_tones,
            "stats": _stats_json(d.real.stats),
        }
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


# The columns of the runs table in the MLflow UI (``crnngan.runs_view.save_runs_view``): the parent
# runs' comparison (:func:`comparison_metrics`), then the same figures on each model's run.
KEY_METRICS = (
    "claims/agree",
    "crnngan/unique_tones",
    "crnngan/scale_consistency",
    "crnngan3/polyphony",
    "baseline/unique_tones",
    "eval/stats/unique_tones/mean",
    "eval/stats/scale_consistency/mean",
    "eval/stats/polyphony/mean",
    "eval/collapsed",
)


def comparison_metrics(results: Results, claims: Sequence[Mapping[str, str]]) -> dict[str, float]:
    """The pipeline's parent run in MLflow: every model and real music side by side, one
    metric per (who, statistic) mean (``crnngan/unique_tones``, ``real_k1/unique_tones``),
    each model's closeness and collapse flag (1 = collapsed), and how many claims agree."""
    out: dict[str, float] = {}
    for name, m in results.models.items():
        out.update({f"{name}/{k}": v.mean for k, v in m.stats.items()})
        out[f"{name}/closeness"] = m.closeness
        out[f"{name}/collapsed"] = float(m.verdict is not None)
    for k, r in results.real.items():
        out.update({f"real_k{k}/{stat}": v.mean for stat, v in r.stats.items()})
    out["claims/agree"] = float(sum(c["agrees"] == "yes" for c in claims))
    out["claims/checked"] = float(len(claims))
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}
