"""The evaluation in MLflow: each model's metrics (``eval/...``) and the report's files into
the run that trained it, and the comparison of all of them into the pipeline's parent run.
Tracking is a convenience: an MLflow problem only warns, it never fails the stage."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from crnngan.evaluation.metrics import KEY_METRICS, mlflow_metrics
from crnngan.evaluation.report import LISTEN_HEADING
from crnngan.runs_view import save_runs_view
from crnngan.tracking import find_run, parent_run, tracking_uri

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
        flat = mlflow_metrics(metrics)
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in flat.items()])
        client.set_tag(run.info.run_id, "collapse", metrics["verdict"])
        for path in files:
            client.log_artifact(run.info.run_id, str(path), "evaluation")
    except Exception as exc:  # noqa: BLE001 - tracking is a convenience; never fail the stage
        log.warning("MLflow: logging %s failed (%s: %s)", model, type(exc).__name__, exc)


def log_comparison(
    experiment: str, seed: int, metrics: dict[str, float], verdicts: dict[str, str], summary: Path, files: list[Path]
) -> None:
    """The comparison into this pipeline's parent run: what one click on it should answer
    (and the seed, so the compare view can set seeds against their figures)."""
    try:
        with parent_run(experiment) as run:
            client = MlflowClient(tracking_uri())
            now = int(time.time() * 1000)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                params=[Param("seed", str(seed))],
            )
            save_runs_view(run.info.experiment_id, list(KEY_METRICS))
            for model, verdict in verdicts.items():
                client.set_tag(run.info.run_id, f"collapse.{model}", verdict)
            # The run's description in the UI: the report's opening (the verdicts).
            opening = summary.read_text().split(LISTEN_HEADING)[0]
            client.set_tag(run.info.run_id, "mlflow.note.content", opening)
            for path in [summary, *files]:
                client.log_artifact(run.info.run_id, str(path), "comparison")
    except Exception as exc:  # noqa: BLE001 - tracking is a convenience; never fail the stage
        log.warning("MLflow: logging the comparison failed (%s: %s)", type(exc).__name__, exc)
