"""The MLflow runs of a study: one parent run, one nested run per trial.

MLflow. One parent run per study, found by its tags ``optuna.study`` and ``optuna.role=study``
and created once under a file lock (across machines, the oldest of any duplicates wins and
the others are deleted). Every trial gets exactly one nested run, created inside the trial
itself and keyed by trial number (tags ``optuna.study``, ``optuna.trial``;
:func:`crnngan.tuning.objective._trial_run`): Lightning's
per-epoch curves and the objective go there, and tag ``optuna.state`` ends COMPLETE, PRUNED or
FAIL with run status FINISHED, KILLED or FAILED. A trial whose worker died leaves its run
RUNNING; the next invocation gives it the trial's final state instead of logging it again.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from mlflow import MlflowClient
from mlflow.entities import Run
from optuna.trial import TrialState

from crnngan import tracking
from crnngan.config import as_dict
from crnngan.tuning.space import TuneConfig
from crnngan.tuning.storage import shown_storage

STUDY_TAG, TRIAL_TAG, ROLE_TAG, STATE_TAG = "optuna.study", "optuna.trial", "optuna.role", "optuna.state"
RUN_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}


def sync_trial_runs(study: optuna.Study, client: MlflowClient, experiment_id: str, parent_run_id: str) -> None:
    """Bring the trials' MLflow runs in line with the study, so every finished trial is in
    MLflow exactly once, with its final state.

    A worker killed mid-trial leaves its run RUNNING: once its trial is FAIL
    (:func:`crnngan.tuning.storage.fail_stale_trials`) the run gets that state, in place. A
    worker killed before its trial created a run leaves none: the trial gets one here, nested under
    the study's run (if two processes race to make it, the oldest stays, as for the study's run).
    """
    query = f"tags.`{STUDY_TAG}` = '{study.study_name}' and tags.`{ROLE_TAG}` = 'trial'"

    def runs_of(extra: str = "") -> list[Run]:
        return client.search_runs([experiment_id], query + extra, max_results=10_000)

    runs = {int(r.data.tags[TRIAL_TAG]): r for r in runs_of()}
    for trial in study.get_trials(deepcopy=False):
        if trial.state not in RUN_STATUS:  # still running: its worker's business
            continue
        run = runs.get(trial.number)
        if run is None:
            reason = trial.user_attrs.get("fail_reason", "its worker died before logging the trial")
            tags = {
                STUDY_TAG: study.study_name,
                TRIAL_TAG: str(trial.number),
                ROLE_TAG: "trial",
                STATE_TAG: trial.state.name,
                "optuna.fail_reason": reason,
                "mlflow.parentRunId": parent_run_id,
            }
            mine = client.create_run(experiment_id, run_name=f"trial-{trial.number}", tags=tags).info.run_id
            client.set_terminated(mine, RUN_STATUS[trial.state])
            twins = runs_of(f" and tags.`{TRIAL_TAG}` = '{trial.number}'")
            if min(twins, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id != mine:
                client.delete_run(mine)
        elif run.info.status == "RUNNING":
            client.set_tag(run.info.run_id, STATE_TAG, trial.state.name)
            client.set_terminated(run.info.run_id, RUN_STATUS[trial.state])


def study_run(cfg: TuneConfig, client: MlflowClient, experiment_id: str, root: Path) -> str:
    """The study's parent MLflow run id, created (with the settings as params) if none exists."""
    query = f"tags.`{STUDY_TAG}` = '{cfg.study_name}' and tags.`{ROLE_TAG}` = 'study'"

    def oldest() -> str | None:
        runs = client.search_runs([experiment_id], query, max_results=100)
        return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id if runs else None

    # The lock serialises the processes of this host; `oldest` settles a race between hosts.
    lock = root / "optuna" / f"{cfg.study_name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with tracking._locked(lock):
        found = oldest()
        if found:
            return found
        tags = {**tracking.run_tags(stage="tune"), STUDY_TAG: cfg.study_name, ROLE_TAG: "study"}
        mine = client.create_run(experiment_id, run_name=f"study:{cfg.study_name}", tags=tags).info.run_id
        flat = {f"tune.{k}": v for k, v in as_dict(cfg).items() if k not in ("space", "pruner")}
        flat["tune.storage"] = shown_storage(cfg, root) if cfg.storage else ""  # never the password
        flat.update({f"tune.pruner.{k}": v for k, v in as_dict(cfg.pruner).items()})
        for key, value in flat.items():
            client.log_param(mine, key, value)
        winner = oldest()
        if winner != mine:
            client.delete_run(mine)
        return winner
