"""The evaluate stage (pipelines/evaluate.py): every model's samples against real test music.

Reads samples/<model>/songs.npz, <data>/songs.npz (the test split),
<train-dir>/<model>/epoch_stats.csv and train_summary.json (which epoch the samples come
from). Writes metrics/<model>.json, metrics/real.json and metrics/claims.json (DVC metrics),
reports/summary.md, reports/figures/hist_<statistic>.png, reports/figures/piano_rolls.png and
reports/figures/training_curves.png, and logs the same numbers and files to MLflow
(:mod:`crnngan.evaluation.mlflow_runs`). A model without samples is left out and named in the
report.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from crnngan.config import Params
from crnngan.data.preprocess import SPLITS, SongSet
from crnngan.data.songs import load_songs
from crnngan.evaluation.claims import claims_json, paper_claims
from crnngan.evaluation.compare import evaluate_models
from crnngan.evaluation.figures import figure_colours, histogram_values, piano_roll_panel, training_curves_figure
from crnngan.evaluation.labels import LABELS, REPORTED, model_label, verdict_text
from crnngan.evaluation.metrics import comparison_metrics, model_metrics, real_metrics
from crnngan.evaluation.mlflow_runs import log_comparison, log_to_mlflow
from crnngan.evaluation.render import histogram_figure, piano_roll_figure
from crnngan.evaluation.report import summary_markdown
from crnngan.evaluation.results import Results
from crnngan.paths import DataDir, ModelDir, SampleDir

log = logging.getLogger("evaluate")


def read_epoch_stats(path: str | Path) -> dict[str, np.ndarray]:
    """``epoch_stats.csv`` -> column -> float array (empty cells, e.g. GAN losses while
    pretraining, are NaN)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0]) if rows else []
    return {c: np.array([float(r[c]) if r.get(c) not in ("", None) else np.nan for r in rows]) for c in columns}


def sampled_epochs(train_dir: Path, models: Sequence[str]) -> dict[str, tuple[int, float]]:
    """Model -> (epoch, closeness to validation music) of the models whose samples come from an
    epoch chosen by closeness (``select_by: closeness``, recorded in ``train_summary.json``);
    the others play their last epoch."""
    chosen = {}
    for model in models:
        path = ModelDir(train_dir / model).summary
        summary = json.loads(path.read_text()) if path.exists() else {}
        if "selected_epoch" in summary:
            chosen[model] = (int(summary["selected_epoch"]), float(summary["selected_closeness"]))
    return chosen


def sampling_notes(chosen: Mapping[str, tuple[int, float]]) -> list[str]:
    """The report's word on which G was measured, per model that did not play its last epoch."""
    return [
        f"{model_label(m)}'s songs come from epoch {e} (the numbering of `epoch_stats.csv` and the "
        f"training curves, where it is marked), the adversarial epoch whose songs were closest to "
        f"validation music (distance {c:.2f}; `select_by: closeness`); the other models play their last epoch"
        for m, (e, c) in chosen.items()
    ]


def load_generated(samples: Path, models: Sequence[str]) -> tuple[dict[str, list[np.ndarray]], list[str]]:
    """Each model's songs from ``samples/<model>``, and the models without samples."""
    generated, missing = {}, []
    for model in models:
        path = SampleDir(samples / model).songs
        if path.exists():
            generated[model] = load_songs(path)
        else:
            log.warning("%s: no %s; evaluating the other models", model, path)
            missing.append(model)
    return generated, missing


def load_real(data: Path) -> tuple[list[np.ndarray], list[str]]:
    """The real songs to compare with, and a note for the report when they are not the test split."""
    songs, notes = SongSet.load(DataDir(data).songs), []
    # The test split, unless a tiny corpus left it empty: then the next held-out split.
    split = next((i for i in (2, 1, 0) if (songs.split == i).any()), 2)
    if split != 2:
        notes.append(f"the test split is empty: real music comes from the {SPLITS[split]} split")
        log.warning(notes[-1])
    return songs.songs(split), notes


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_figures(
    figures: Path,
    results: Results,
    generated: Mapping[str, Sequence[np.ndarray]],
    real_songs: Sequence[np.ndarray],
    curves: Mapping[str, Mapping[str, np.ndarray]],
    params: Params,
    sampled: Mapping[str, int] | None = None,
) -> list[Path]:
    """The histograms of every reported statistic, the piano rolls and the training curves."""
    figures.mkdir(parents=True, exist_ok=True)
    files = []
    colours, references = figure_colours(results)
    for stat in REPORTED:
        files.append(figures / f"hist_{stat}.png")
        histogram_figure(
            histogram_values(results, stat), title=LABELS[stat], colours=colours, references=references
        ).savefig(files[-1], dpi=100)
    files.append(figures / "piano_rolls.png")
    rolls, titles = piano_roll_panel(generated, real_songs, params.sample.length, params.seed)
    piano_roll_figure(rolls, titles).savefig(files[-1], dpi=80)
    files.append(figures / "training_curves.png")
    real = {m: results.real_means(m) for m in curves}
    training_curves_figure(curves, real, sampled).savefig(files[-1], dpi=100)
    return files


def evaluate_stage(
    params: Params, models: Sequence[str], samples: Path, data: Path, train_dir: Path, metrics: Path, reports: Path
) -> int:
    """Evaluate ``models``' samples, write metrics/ and reports/, log to MLflow; returns 0."""
    generated, missing = load_generated(samples, models)
    real_songs, notes = load_real(data)
    results = evaluate_models(
        generated,
        real_songs,
        params.evaluate,
        params.seed,
        steps=params.sample.length,
        tones_per_step={m: params.models[m].tones_per_step for m in generated if m in params.models},
    )
    curves = {m: read_epoch_stats(p) for m in models if (p := ModelDir(train_dir / m).epoch_stats).exists()}
    claims = paper_claims(results, curves)
    chosen = sampled_epochs(train_dir, models)

    per_model = {m: model_metrics(results, m) for m in generated}
    for model in models:
        write_json(metrics / f"{model}.json", per_model.get(model, {"evaluated": 0}))
    write_json(metrics / "real.json", real_metrics(results))
    write_json(metrics / "claims.json", claims_json(claims))
    sampled = {m: e for m, (e, _) in chosen.items()}
    files = write_figures(reports / "figures", results, generated, real_songs, curves, params, sampled)
    summary = reports / "summary.md"
    summary.write_text(summary_markdown(results, claims, missing, [*notes, *sampling_notes(chosen)]))

    for model in generated:
        log_to_mlflow(params.mlflow.experiment, model, per_model[model], [summary, metrics / f"{model}.json", *files])
    log_comparison(
        params.mlflow.experiment,
        params.seed,
        comparison_metrics(results, claims),
        {m: verdict_text(results.models[m].verdict) for m in generated},
        summary,
        [metrics / "claims.json", *files],
    )
    for c in claims:
        log.info("%-4s %-13s %s", c["id"], c["agrees"], c["claim"])
    log.info("wrote %s, %s and %d figures", metrics, summary, len(files))
    return 0
