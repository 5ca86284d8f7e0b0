"""Stage `train@<model>`: train one model, tracked as an MLflow child run.

Resumes an interrupted run of the same settings, data and code; see crnngan.training.stage.
"""

import logging
import sys
from pathlib import Path

from crnngan.cli import model_stage_parser
from crnngan.config import load_params
from crnngan.training.stage import train_model

log = logging.getLogger("train")


def main(argv: list[str] | None = None) -> int:
    args = model_stage_parser(__doc__, "models").parse_args(argv)
    params = load_params(args.params)
    if args.model not in params.models:
        log.error("no section models.%s in %s", args.model, args.params)
        return 2
    # This script is code the run depends on, as the package is: it is part of the fingerprint.
    return train_model(params, args.model, args.data, args.out or Path("models") / args.model, [Path(__file__)])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
