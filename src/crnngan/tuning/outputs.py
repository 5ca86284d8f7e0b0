"""What a study leaves in ``tune/``: its best trial's values and two plots.

Outputs in ``tune/``: ``best_params.yaml`` (a ``models: {<model>: {...}}`` fragment that
:func:`crnngan.tuning.apply.apply_best` writes into ``params.yaml``), ``optimization_history.png``
and ``param_importances.png``, also logged to the study's run.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import optuna
import yaml
from mlflow import MlflowClient
from optuna.trial import FrozenTrial, TrialState

from crnngan.config import as_dict
from crnngan.tuning.runs import RUN_STATUS
from crnngan.tuning.space import TuneConfig
from crnngan.tuning.storage import counted

log = logging.getLogger(__name__)


def best_trial(study: optuna.Study, cfg: TuneConfig) -> FrozenTrial | None:
    """The best COMPLETE trial; for several objectives the Pareto-optimal one best in the first."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    if len(cfg.objectives) == 1:
        return study.best_trial
    sign = 1.0 if cfg.study_directions[0] == "minimize" else -1.0
    return min(study.best_trials, key=lambda t: sign * t.values[0])


def summary(study: optuna.Study, cfg: TuneConfig) -> str:
    """The line ``make tune`` ends with: how full the study is, and its best trial."""
    best = best_trial(study, cfg)
    return f"study {cfg.study_name}: {counted(study)}/{cfg.n_trials} trials COMPLETE or PRUNED; best: " + (
        f"trial {best.number}, {cfg.objective} = {best.values[0]:.4g}" if best else "none"
    )


def write_outputs(
    study: optuna.Study, cfg: TuneConfig, out_dir: Path, client: MlflowClient | None = None, run_id: str | None = None
) -> list[Path]:
    """``best_params.yaml`` and the two plots in ``out_dir``, logged to ``run_id`` if given."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    best = best_trial(study, cfg)
    if best is None:
        log.warning("study %s has no complete trial yet: no outputs written", cfg.study_name)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    best_yaml = out_dir / "best_params.yaml"
    header = (
        f"# Best trial of study {cfg.study_name}: #{best.number}, "
        + ", ".join(f"{o} = {v:.6g}" for o, v in zip(cfg.objectives, best.values))
        + "\n# Write it into params.yaml with: python pipelines/tune.py apply\n"
    )
    best_yaml.write_text(header + yaml.safe_dump({"models": {cfg.model: best.params}}, sort_keys=False))
    target = (lambda t: t.values[0]) if len(cfg.objectives) > 1 else None
    plots = {"optimization_history.png": ovm.plot_optimization_history}
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= 2:
        plots["param_importances.png"] = ovm.plot_param_importances
    else:
        log.info("fewer than 2 complete trials: no parameter importances")
    written = [best_yaml]
    for name, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            ax = plot(study, target=target, target_name=cfg.objective)
        ax.figure.savefig(out_dir / name, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
        written.append(out_dir / name)
    if client is not None and run_id is not None:
        for path in written:
            client.log_artifact(run_id, str(path), "tune")
        client.log_text(run_id, json.dumps({k: as_dict(d) for k, d in cfg.space.items()}, indent=2), "tune/space.json")
        # The best trial's values as tags (params are immutable; a continued study moves its best).
        client.set_tag(run_id, "best_trial", str(best.number))
        for key, value in best.params.items():
            client.set_tag(run_id, f"best.{key}", str(value))
        states = [t.state for t in study.get_trials(deepcopy=False)]
        for key, value in {
            f"best_{cfg.objective}": best.values[0],
            "best_trial": best.number,
            **{f"trials_{s.name.lower()}": states.count(s) for s in RUN_STATUS},
        }.items():
            client.log_metric(run_id, key, float(value))
    return written
