"""Hyperparameter search (Optuna) for one model, outside `dvc repro`.

    python pipelines/tune.py run [--params params.yaml] [--workers N] [--data data/processed]
    python pipelines/tune.py apply [--best tune/best_params.yaml] [--params params.yaml]
    python pipelines/tune.py ui [--port 8080]   # optuna-dashboard on the study's storage

`run` creates or continues the study of params.yaml's `tune` section until it holds
`tune.n_trials` COMPLETE + PRUNED trials, with N worker processes on the same storage, and
writes tune/best_params.yaml and plots. `apply` writes the best values into params.yaml, after
which `dvc repro` retrains with them. See the crnngan.tuning package for the details.
"""

import argparse
import logging
import subprocess
import sys
from pathlib import Path

from crnngan import tracking
from crnngan.config import ConfigError, load_params
from crnngan.paths import PARAMS
from crnngan.tuning.apply import apply_best
from crnngan.tuning.outputs import summary
from crnngan.tuning.space import parse_tune
from crnngan.tuning.storage import counted, dashboard_command, shown_storage

log = logging.getLogger("tune")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run or continue the study")
    run.add_argument("--params", default=PARAMS)
    run.add_argument("--workers", type=int, default=1, help="worker processes on the same storage")
    run.add_argument("--data", type=Path, default=Path("data/processed"))
    apply = sub.add_parser("apply", help="write the best values into params.yaml")
    apply.add_argument("--best", default="tune/best_params.yaml")
    apply.add_argument("--params", default=PARAMS)
    ui = sub.add_parser("ui", help="optuna-dashboard on the study's storage, on 127.0.0.1")
    ui.add_argument("--params", default=PARAMS)
    ui.add_argument("--port", type=int, default=8080)
    args = ap.parse_args(argv)

    try:
        if args.command == "apply":
            values = apply_best(args.best, args.params)
            log.info("%s updated: %s", args.params, ", ".join(f"{k}={v}" for k, v in values.items()))
            return 0
        params = load_params(args.params)
        cfg = parse_tune(params)
    except (ConfigError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    root = tracking.repo_root()
    if args.command == "ui":
        command = dashboard_command(cfg, root, args.port)
        log.info("optuna-dashboard on %s: http://127.0.0.1:%d (Ctrl-C stops it)", shown_storage(cfg, root), args.port)
        try:
            return subprocess.run(command).returncode
        except KeyboardInterrupt:
            return 0
    # Training (torch, Lightning) is loaded only to run trials, not for apply or ui.
    from crnngan.tuning.study import quiet_trial_banners, run_study

    quiet_trial_banners()
    study = run_study(params, cfg, args.data, root, max(args.workers, 1))
    log.info("%s", summary(study, cfg))
    if counted(study) < cfg.n_trials:
        log.warning("study not full yet (timeout or failed trials): run again to continue it")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
