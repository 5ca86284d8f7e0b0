"""Running a study: one or several worker processes on the same storage.

Resume. Running the same study again loads it and runs trials until ``n_trials`` of them are
COMPLETE or PRUNED in total; failed trials do not count (a worker gives up after as many
failures as its share of trials, so a persistent error cannot loop). Before that, trials left
RUNNING by a killed worker are marked FAIL (:func:`crnngan.tuning.storage.fail_stale_trials`)
and the trials' MLflow runs brought in line (:func:`crnngan.tuning.runs.sync_trial_runs`);
afterwards the outputs are written (:func:`crnngan.tuning.outputs.write_outputs`).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from pathlib import Path

import mlflow
import optuna
import torch
from mlflow import MlflowClient
from optuna.trial import FrozenTrial
from tqdm import tqdm

from crnngan import tracking
from crnngan.config import Params
from crnngan.tuning.objective import Job, objective, tuning_closeness
from crnngan.tuning.outputs import write_outputs
from crnngan.tuning.runs import study_run, sync_trial_runs
from crnngan.tuning.space import TuneConfig
from crnngan.tuning.storage import COUNTED, await_heartbeat, counted, fail_stale_trials, open_study

log = logging.getLogger(__name__)


class _Quota:
    """Stops a worker's ``optimize`` after ``share`` COMPLETE + PRUNED trials of its own, after
    ``share`` failed ones (a persistent error must not loop forever), or once the study is full."""

    def __init__(self, share: int, target: int, bar: tqdm) -> None:
        self.share, self.target, self.bar = share, target, bar
        self.done = self.failed = 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state in COUNTED:
            self.done += 1
            self.bar.update()
        else:
            self.failed += 1
        total = counted(study)
        self.bar.set_postfix(study=f"{total}/{self.target}", failed=self.failed, last=trial.state.name)
        if self.done >= self.share or self.failed >= self.share or total >= self.target:
            study.stop()


def _optimize(job: Job, worker: int, share: int) -> None:
    """Run trials in this process until its ``share`` is done (see :class:`_Quota`)."""
    mlflow.set_tracking_uri(job.tracking_uri)
    study = open_study(job.cfg, job.root, worker)
    closeness = tuning_closeness(job.data_dir, job.params, job.cfg) if "closeness" in job.cfg.objectives else None
    with tqdm(total=share, desc=f"{job.cfg.study_name} [{worker}]", unit="trial", position=worker) as bar:
        study.optimize(
            lambda t: objective(t, job, closeness),
            timeout=job.cfg.timeout_s or None,
            catch=(Exception,),
            callbacks=[_Quota(share, job.cfg.n_trials, bar)],
        )


def quiet_trial_banners() -> None:
    """Silence the banners Lightning logs for every trial (devices, seed); the tips and
    warnings every training silences are :func:`crnngan.training.progress.quiet_lightning`'s."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _worker(job: Job, worker: int, n_trials: int, threads: int) -> None:
    """Entry point of a spawned worker process."""
    logging.basicConfig(level=logging.INFO, format=f"[{worker}] %(name)s: %(message)s")
    quiet_trial_banners()
    os.environ["MLFLOW_TRACKING_URI"] = job.tracking_uri  # what tracking.make_logger reads
    torch.set_num_threads(threads)
    _optimize(job, worker, n_trials)


def run_study(
    params: Params, cfg: TuneConfig, data_dir: str | Path, root: str | Path, workers: int = 1
) -> optuna.Study:
    """Run the study until it holds ``cfg.n_trials`` COMPLETE + PRUNED trials; write the outputs.

    ``workers`` > 1 runs that many processes on the same storage. The study, the parent run
    and the stale-trial clean-up happen here first, once, so workers never race to create them.
    """
    root = Path(root).resolve()
    experiment_id = tracking.setup(params.mlflow.experiment)
    uri = tracking.tracking_uri()
    client = MlflowClient(uri)
    study = open_study(cfg, root)
    if "closeness" in cfg.objectives:  # fail before any training when validation data is missing
        tuning_closeness(data_dir, params, cfg)
    if cfg.pruner.kind != "none" and not cfg.prunes:
        log.warning("pruning is off: Optuna cannot prune multi-objective studies")
    job = Job(
        params, cfg, Path(data_dir).resolve(), root, uri, experiment_id, study_run(cfg, client, experiment_id, root)
    )
    client.update_run(job.parent_run_id, status="RUNNING")
    status = "FAILED"
    try:
        fail_stale_trials(study, cfg)
        sync_trial_runs(study, client, experiment_id, job.parent_run_id)
        remaining = cfg.n_trials - counted(study)
        shares = [remaining // workers + (i < remaining % workers) for i in range(workers)]
        shares = [n for n in shares if n > 0]
        log.info(
            "study %s: %d of %d trials done; %d to run on %d worker(s)",
            cfg.study_name,
            counted(study),
            cfg.n_trials,
            max(remaining, 0),
            len(shares),
        )
        if len(shares) == 1:
            _optimize(job, 0, shares[0])
        elif shares:
            _spawn(job, shares)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if cfg.storage:
            await_heartbeat(study, cfg)
        fail_stale_trials(study, cfg)  # a worker that died leaves its trial RUNNING
        sync_trial_runs(study, client, experiment_id, job.parent_run_id)
        write_outputs(study, cfg, root / "tune", client, job.parent_run_id)
        client.set_terminated(job.parent_run_id, status)
    return study


def _spawn(job: Job, shares: list[int]) -> None:
    threads = max(1, (os.cpu_count() or 1) // len(shares))
    ctx = mp.get_context("spawn")  # fork would copy this process's torch and MLflow state
    procs = [
        ctx.Process(target=_worker, args=(job, i, n, threads), name=f"tune-worker-{i}") for i, n in enumerate(shares)
    ]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    bad = [f"{p.name} exit code {p.exitcode}" for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"workers failed: {', '.join(bad)}")
