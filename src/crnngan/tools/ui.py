"""``make ui``: the MLflow UI over ``mlruns/``, light, on 127.0.0.1, announced when it answers.

    python -m crnngan.tools.ui [--port 5000] [--store mlruns] [--params params.yaml]

``mlflow ui`` says it is running seconds before it accepts connections and starts 4 web
workers, a job runner and 6 job consumers (16 processes, ~3 GB) for features this project
does not use. Here it runs with one web worker and no job execution, and the address is
printed only once ``/health`` answers: the experiment's runs table in the key-figures view
that the evaluate stage stores (:mod:`crnngan.runs_view`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from crnngan.config import load_params

HOST = "127.0.0.1"  # never beyond this machine


def store_uri(store: Path) -> str:
    """The tracking URI of the store folder ``store``, wherever it is given from."""
    from crnngan.tracking import store_uri as uri  # MLflow loads only when a store is named

    return uri(store.resolve())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server of a test or a screenshot)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def command(store: Path, port: int) -> list[str]:
    """The ``mlflow ui`` command line over ``store`` (``mlflow.db`` and ``artifacts/``)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store_uri(store),
        "--default-artifact-root",
        str(store.resolve() / "artifacts"),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def environment() -> dict[str, str]:
    """This process's environment without MLflow's job execution (GenAI jobs: 7 processes)."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 120.0) -> bool:
    """Poll ``url``/health until it answers 200 (True), the server exits or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    return False


def start(store: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start the server; returns it and its URL (not yet ready: see :func:`wait_ready`)."""
    store.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(command(store, port), env=environment()), f"http://{HOST}:{port}"


def address(url: str, store: Path, experiment: str) -> str:
    """Where to point the browser: ``experiment``'s runs view, or the UI's home page while the
    store holds no such experiment (no pipeline has run yet)."""
    from mlflow import MlflowClient  # deferred: the server must start first, not wait for this import

    from crnngan.runs_view import runs_view_url

    found = MlflowClient(store_uri(store)).get_experiment_by_name(experiment)
    return url if found is None else runs_view_url(url, found.experiment_id)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--store", type=Path, default=Path("mlruns"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"), help="names the experiment to open")
    args = ap.parse_args(argv)
    process, url = start(args.store, args.port)
    try:
        if not wait_ready(url, process):
            print(f"MLflow UI did not come up on {url}", file=sys.stderr)
            process.terminate()
            return 1
        shown = address(url, args.store, load_params(args.params).mlflow.experiment)
        print(f"MLflow UI ready: {shown}  (Ctrl-C stops it)", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 0


if __name__ == "__main__":
    sys.exit(main())
