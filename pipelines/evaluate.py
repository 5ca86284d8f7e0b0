"""Stage `evaluate`: every model's samples against real test music -> metrics/, reports/, MLflow.

Reads samples/<model>/songs.npz, <data>/songs.npz (the test split) and
<train-dir>/<model>/epoch_stats.csv. Writes metrics/<model>.json and metrics/real.json (DVC
metrics), reports/summary.md, reports/figures/hist_<statistic>.png and
reports/figures/training_curves.png, and logs the same numbers (as eval/...) and files to each
model's training run in MLflow, and the comparison of all of them (key statistics, verdicts,
claims, the report and its figures) into the pipeline's parent run. A model without samples is
left out and named in the report; an MLflow problem only warns.
"""

import argparse
import json
import logging
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from crnngan.evaluation import compare as ev
from crnngan.config import MODEL_NAMES, load_params
from crnngan.data.preprocess import SPLITS, SongSet
from crnngan.evaluation.render import histogram_figure, piano_roll_figure
from crnngan.training.sampling import load_songs
from crnngan.tracking import find_run, parent_run, save_runs_view, tracking_uri

log = logging.getLogger("evaluate")


def log_to_mlflow(experiment: str, model: str, metrics: dict, files: list[Path]) -> None:
    """The model's metrics (eval/...) and the report files, into the run that trained it."""
    try:
        run = find_run(experiment, model, stage="train")
        if run is None:
            log.warning("MLflow: no training run of %s in experiment %s; not logged", model, experiment)
            return
        client = MlflowClient(tracking_uri())
        now = int(time.time() * 1000)
        flat = ev.mlflow_metrics(metrics)
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in flat.items()])
        client.set_tag(run.info.run_id, "collapse", metrics["verdict"])
        for path in files:
            client.log_artifact(run.info.run_id, str(path), "evaluation")
    except Exception as exc:  # noqa: BLE001 - tracking is a convenience; never fail the stage
        log.warning("MLflow: logging %s failed (%s: %s)", model, type(exc).__name__, exc)


def log_comparison(experiment: str, seed: int, metrics: dict[str, float], verdicts: dict[str, str],
                   summary: Path, files: list[Path]) -> None:
    """The comparison into this pipeline's parent run: what one click on it should answer
    (and the seed, so the compare view can set seeds against their figures)."""
    try:
        with parent_run(experiment) as run:
            client = MlflowClient(tracking_uri())
            now = int(time.time() * 1000)
            client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                             params=[Param("seed", str(seed))])
            save_runs_view(run.info.experiment_id, list(ev.KEY_METRICS))
            for model, verdict in verdicts.items():
                client.set_tag(run.info.run_id, f"collapse.{model}", verdict)
            # The run's description in the UI: the report's opening (the verdicts).
            opening = summary.read_text().split("## Listen and look")[0]
            client.set_tag(run.info.run_id, "mlflow.note.content", opening)
            for path in [summary, *files]:
                client.log_artifact(run.info.run_id, str(path), "comparison")
    except Exception as exc:  # noqa: BLE001 - tracking is a convenience; never fail the stage
        log.warning("MLflow: logging the comparison failed (%s: %s)", type(exc).__name__, exc)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--samples", type=Path, default=Path("samples"))
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--train-dir", type=Path, default=Path("models"))
    ap.add_argument("--metrics", type=Path, default=Path("metrics"))
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    args = ap.parse_args(argv)
    params = load_params(args.params)

    generated, missing = {}, []
    for model in args.models:
        path = args.samples / model / "songs.npz"
        if path.exists():
            generated[model] = load_songs(path)
        else:
            log.warning("%s: no %s; evaluating the other models", model, path)
            missing.append(model)
    songs, notes = SongSet.load(args.data / "songs.npz"), []
    # The test split, unless a tiny corpus left it empty: then the next held-out split.
    split = next((i for i in (2, 1, 0) if (songs.split == i).any()), 2)
    if split != 2:
        notes.append(f"the test split is empty: real music comes from the {SPLITS[split]} split")
        log.warning(notes[-1])
    results = ev.evaluate_models(generated, songs.songs(split), params.evaluate, params.seed,
                                 steps=params.sample.length,
                                 tones_per_step={m: params.models[m].tones_per_step
                                                 for m in generated if m in params.models})
    curves = {m: ev.read_epoch_stats(p) for m in args.models
              if (p := args.train_dir / m / "epoch_stats.csv").exists()}
    claims = ev.paper_claims(results, curves)

    for model in args.models:
        write_json(args.metrics / f"{model}.json",
                   ev.model_metrics(results, model) if model in generated else {"evaluated": 0})
    write_json(args.metrics / "real.json", ev.real_metrics(results))
    write_json(args.metrics / "claims.json", ev.claims_json(claims))
    figures = args.reports / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    files = []
    colours, references = ev.figure_colours(results)
    for stat in ev.REPORTED:
        files.append(figures / f"hist_{stat}.png")
        histogram_figure(ev.histogram_values(results, stat), title=ev.LABELS[stat], colours=colours,
                         references=references).savefig(files[-1], dpi=100)
    files.append(figures / "piano_rolls.png")
    rolls, titles = ev.piano_roll_panel(generated, songs.songs(split), params.sample.length, params.seed)
    piano_roll_figure(rolls, titles).savefig(files[-1], dpi=80)
    files.append(figures / "training_curves.png")
    real = {m: ev.real_means(results, m) for m in curves}
    ev.training_curves_figure(curves, real).savefig(files[-1], dpi=100)
    summary = args.reports / "summary.md"
    summary.write_text(ev.summary_markdown(results, claims, missing, notes))

    for model in generated:
        log_to_mlflow(params.mlflow.experiment, model, ev.model_metrics(results, model),
                      [summary, args.metrics / f"{model}.json", *files])
    log_comparison(params.mlflow.experiment, params.seed, ev.comparison_metrics(results, claims),
                   {m: results["models"][m]["verdict"] or "not collapsed" for m in generated}, summary,
                   [args.metrics / "claims.json", *files])
    for c in claims:
        log.info("%-4s %-13s %s", c["id"], c["agrees"], c["claim"])
    log.info("wrote %s, %s and %d figures", args.metrics, summary, len(files))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    raise SystemExit(main())
