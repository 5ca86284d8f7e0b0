"""make ui: the MLflow server comes up light on 127.0.0.1 and serves the pipeline's runs."""

import socket

import psutil
import pytest
from mlflow import MlflowClient

from crnngan import tracking, ui


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_binds_locally_with_one_worker(tmp_path):
    cmd = ui.command(tmp_path, 5123)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--workers") + 1] == "1"
    assert f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}" in cmd
    assert ui.environment()["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


@pytest.mark.slow  # the server takes ~10-25 s to start on 2 cores
def test_the_ui_serves_runs_metrics_and_artifacts(tmp_path, mlflow_tmp):
    client = MlflowClient(mlflow_tmp)
    run = client.create_run(tracking.setup("crnngan"), tags={"model": "crnngan"})
    client.log_metric(run.info.run_id, "eval/stats/unique_tones/mean", 14.4)
    (tmp_path / "summary.md").write_text("# Evaluation\n")
    client.log_artifact(run.info.run_id, str(tmp_path / "summary.md"), "evaluation")
    process, url = ui.start(tmp_path / "mlruns", free_port())
    try:
        assert ui.wait_ready(url, process), "the server did not answer /health"
        server = MlflowClient(url)  # through the REST API, as the browser's UI does
        (found,) = server.search_runs([run.info.experiment_id])
        assert found.data.metrics["eval/stats/unique_tones/mean"] == 14.4
        assert [a.path for a in server.list_artifacts(found.info.run_id, "evaluation")] == ["evaluation/summary.md"]
        # One web worker, no job runner or consumers: mlflow ui's default started 16 processes.
        assert len(psutil.Process(process.pid).children(recursive=True)) <= 2
    finally:
        process.terminate()
        process.wait(timeout=30)
