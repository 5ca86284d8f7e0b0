"""Stage `train@<model>`: train one model, tracked as an MLflow child run.

Resumes an interrupted run of the same settings, data and code; see crnngan.training.stage.
"""

import argparse
import logging
import sys
from pathlib import Path

from crnngan.config import load_params
from crnngan.paths import PARAMS
from crnngan.training.stage import train_model

log = logging.getLogger("train")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--params", default=PARAMS)
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--out", type=Path, help="default: models/<model>")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    if args.model not in params.models:
        log.error("no section models.%s in %s", args.model, args.params)
        return 2
    # This script is code the run depends on, as the package is: it is part of the fingerprint.
    return train_model(params, args.model, args.data, args.out or Path("models") / args.model, [Path(__file__)])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
