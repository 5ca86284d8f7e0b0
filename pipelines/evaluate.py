"""Stage `evaluate`: every model's samples against real test music -> metrics/, reports/, MLflow.

Reads samples/<model>/songs.npz, <data>/songs.npz (the test split) and
<train-dir>/<model>/epoch_stats.csv. Writes metrics/<model>.json and metrics/real.json (DVC
metrics), reports/summary.md, reports/figures/hist_<statistic>.png and
reports/figures/training_curves.png, and logs the same numbers (as eval/...) and files to each
model's training run in MLflow, and the comparison of all of them (key statistics, verdicts,
claims, the report and its figures) into the pipeline's parent run. A model without samples is
left out and named in the report; an MLflow problem only warns. See crnngan.evaluation.stage.
"""

import argparse
import logging
import sys
from pathlib import Path

from crnngan.config import MODEL_NAMES, load_params
from crnngan.evaluation.stage import evaluate_stage
from crnngan.paths import PARAMS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    ap.add_argument("--params", default=PARAMS)
    ap.add_argument("--samples", type=Path, default=Path("samples"))
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--train-dir", type=Path, default=Path("models"))
    ap.add_argument("--metrics", type=Path, default=Path("metrics"))
    ap.add_argument("--reports", type=Path, default=Path("reports"))
    args = ap.parse_args(argv)
    return evaluate_stage(
        load_params(args.params), args.models, args.samples, args.data, args.train_dir, args.metrics, args.reports
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
