"""make ui: the MLflow server comes up light on 127.0.0.1 and serves the pipeline's runs."""

from pathlib import Path

import psutil
import pytest
from mlflow import MlflowClient

from crnngan import runs_view, tracking
from crnngan.tools import ui


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
    process, url = ui.start(tmp_path / "mlruns", ui.free_port())
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


def test_the_address_opens_the_key_figures_view_once_the_experiment_exists(tmp_path, mlflow_tmp):
    store = Path(mlflow_tmp.removeprefix("sqlite:///")).parent
    assert ui.address("http://127.0.0.1:5123", store, "crnngan") == "http://127.0.0.1:5123"
    experiment_id = tracking.setup("crnngan")
    assert ui.address("http://127.0.0.1:5123", store, "crnngan") == (
        f"http://127.0.0.1:5123/#/experiments/{experiment_id}/runs"
        "?workflowType=machine_learning&viewStateShareKey=key-figures"
    )


def test_the_runs_view_names_its_columns_as_the_ui_keys_them():
    state = runs_view.runs_view_state(["claims/agree", "eval/stats/unique_tones/mean"])
    assert state["selectedColumns"] == [
        "attributes.`Duration`",
        "metrics.`claims/agree`",
        "metrics.`eval/stats/unique_tones/mean`",
    ]
    assert state["orderByKey"] == "attributes.start_time" and state["orderByAsc"] is False


def test_screenshots_open_the_compare_view_headless_in_a_fresh_profile(tmp_path):
    from crnngan.tools import screenshots

    url = screenshots.compare_url("http://127.0.0.1:5123", "1", ["a1", "b2"])
    assert url == (
        "http://127.0.0.1:5123/#/compare-runs?runs=%5B%22a1%22%2C%20%22b2%22%5D"
        "&experiments=%5B%221%22%5D&workflowType=machine_learning"
    )
    cmd = screenshots.browser_command("chromium", url, tmp_path / "x.png", tmp_path / "profile")
    assert cmd[0] == "chromium" and cmd[-1] == url and "--headless=new" in cmd
    assert f"--screenshot={tmp_path / 'x.png'}" in cmd and f"--user-data-dir={tmp_path / 'profile'}" in cmd
