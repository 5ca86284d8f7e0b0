"""``make screenshots``: the README's pictures, taken by the project from this machine's runs.

    python -m crnngan.tools.screenshots [--store mlruns] [--params params.yaml] [--out docs/images]

Starts the MLflow UI (:mod:`crnngan.tools.ui`) on a free port and photographs it with headless
Chromium (Debian: ``apt-get install chromium``): the runs table in the key-figures view and
the compare view of the latest run of each model; then copies the report's piano-roll panel
beside them. Run it after ``make repro``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from crnngan.config import MODEL_NAMES, load_params

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = "1920,1080"  # pixels; the UI's assistant panel takes the right ~400


def browser() -> str | None:
    """The first headless-capable browser on PATH, or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def browser_command(exe: str, url: str, out: Path, profile: Path) -> list[str]:
    """Headless Chromium photographing ``url`` into ``out``, in a fresh ``profile`` (the UI
    keeps its layout in the browser's storage). The virtual-time budget lets the single-page
    app fetch and draw before the picture is taken. No sandbox: it runs as root in CI."""
    return [
        exe,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW}",
        "--virtual-time-budget=20000",
        f"--screenshot={out}",
        url,
    ]


def compare_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    """The UI's compare view of ``run_ids`` (parallel coordinates, then params and metrics)."""
    return (
        f"{base}/#/compare-runs?runs={quote(json.dumps(run_ids))}"
        f"&experiments={quote(json.dumps([experiment_id]))}&workflowType=machine_learning"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("mlruns"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    args = ap.parse_args(argv)
    exe = browser()
    if exe is None:
        print(f"no browser found ({', '.join(BROWSERS)}); on Debian: apt-get install chromium", file=sys.stderr)
        return 1
    from mlflow import MlflowClient  # deferred: the help text should not wait for MLflow

    from crnngan.tools import ui

    experiment = load_params(args.params).mlflow.experiment
    client = MlflowClient(ui.store_uri(args.store))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        print(f"no experiment {experiment!r} in {args.store}: run `make repro` first", file=sys.stderr)
        return 1
    latest = [
        client.search_runs(
            [found.experiment_id], f"tags.model = '{m}'", max_results=1, order_by=["attributes.start_time DESC"]
        )
        for m in MODEL_NAMES
    ]
    run_ids = [runs[0].info.run_id for runs in latest if runs]
    args.out.mkdir(parents=True, exist_ok=True)
    process, base = ui.start(args.store, ui.free_port())
    try:
        if not ui.wait_ready(base, process):
            print(f"MLflow UI did not come up on {base}", file=sys.stderr)
            return 1
        pages = {
            "mlflow_runs.png": ui.address(base, args.store, experiment),
            "mlflow_compare.png": compare_url(base, found.experiment_id, run_ids),
        }
        for name, url in pages.items():
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run(
                    browser_command(exe, url, args.out / name, Path(profile)),
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=180,
                )
            print(f"wrote {args.out / name}  ({url})")
    finally:
        process.terminate()
        process.wait(timeout=30)
    rolls = args.reports / "figures" / "piano_rolls.png"
    if rolls.exists():
        shutil.copyfile(rolls, args.out / rolls.name)
        print(f"wrote {args.out / rolls.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
