"""Where a study lives, and the repair of trials whose worker died.

Storage. ``storage: ""`` keeps the study in the journal file ``optuna/<study>.log``: safe for
several processes on one host. Any other value is an RDB URL (PostgreSQL/MySQL for several
machines), opened with Optuna's heartbeat (``heartbeat_s``): a trial whose worker has been
silent for three heartbeats is failed, whichever machine it ran on.

Stale trials. Before a study is resumed (:func:`crnngan.tuning.study.run_study`), trials left
RUNNING by a killed worker are marked FAIL (:func:`fail_stale_trials`). With the journal each
trial records its host, PID and the PID's start time, so a trial of this host whose process is
gone is stale at once and one of another host after ``stale_after_s``; with RDB storage the
heartbeat alone decides.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from datetime import datetime
from pathlib import Path

import optuna
import psutil
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url

from crnngan.tuning.space import TuneConfig

log = logging.getLogger(__name__)

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
# Trial user attributes that identify the worker process, for stale-trial detection.
HOST, PID, PID_STARTED = "host", "pid", "pid_started"


def storage_location(cfg: TuneConfig, root: Path) -> str:
    """Where the study lives: the RDB URL, or the journal file ``optuna/<study>.log``."""
    return cfg.storage or str(root / "optuna" / f"{cfg.study_name}.log")


def shown_storage(cfg: TuneConfig, root: Path) -> str:
    """:func:`storage_location` as it may be logged and shown: the database password hidden."""
    location = storage_location(cfg, root)
    return make_url(location).render_as_string(hide_password=True) if cfg.storage else location


def dashboard_command(cfg: TuneConfig, root: Path, port: int) -> list[str]:
    """``make tune-ui``: optuna-dashboard on the study's storage, bound to 127.0.0.1."""
    script = Path(sys.executable).parent / "optuna-dashboard"  # installed beside this interpreter
    return [str(script), storage_location(cfg, root), "--host", "127.0.0.1", "--port", str(port)]


def open_study(cfg: TuneConfig, root: Path, worker: int = 0) -> optuna.Study:
    """Create or load the study; worker ``i`` seeds its sampler with ``seed + i`` so that
    parallel workers do not draw the same random start-up trials."""
    if cfg.storage:
        storage: optuna.storages.BaseStorage = optuna.storages.RDBStorage(
            cfg.storage, heartbeat_interval=cfg.heartbeat_s, grace_period=3 * cfg.heartbeat_s
        )
    else:
        path = Path(storage_location(cfg, root))
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    sampler_cls = optuna.samplers.TPESampler if cfg.sampler == "tpe" else optuna.samplers.RandomSampler
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=cfg.pruner.n_startup_trials, n_warmup_steps=cfg.pruner.n_warmup_steps
        )
        if cfg.prunes
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        storage=storage,
        study_name=cfg.study_name,
        pruner=pruner,
        sampler=sampler_cls(seed=cfg.seed + worker),
        directions=cfg.study_directions,
        load_if_exists=True,
    )


def counted(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: COMPLETE and PRUNED."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def _alive(pid: int, started: float) -> bool:
    """Whether process ``pid`` still runs and is the same process (not a recycled pid)."""
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except psutil.Error:
        return False


def _died_here(trial: FrozenTrial) -> bool:
    """Whether the trial's worker ran on this host and its process is gone."""
    attrs = trial.user_attrs
    return attrs.get(HOST) == socket.gethostname() and not _alive(attrs[PID], attrs[PID_STARTED])


def _stale_reason(trial: FrozenTrial, cfg: TuneConfig) -> str | None:
    """Why a RUNNING trial of the journal's study is dead (None: it may still run)."""
    attrs = trial.user_attrs
    if attrs.get(HOST) == socket.gethostname():
        return f"worker pid {attrs[PID]} on {attrs[HOST]} died mid-trial" if _died_here(trial) else None
    if trial.datetime_start is None:
        return None
    age = (datetime.now(trial.datetime_start.tzinfo) - trial.datetime_start).total_seconds()
    if age > cfg.stale_after_s:
        return f"RUNNING for {age:.0f} s (> stale_after_s) on host {attrs.get(HOST, 'unknown')}"
    return None


def fail_stale_trials(study: optuna.Study, cfg: TuneConfig) -> list[int]:
    """Mark RUNNING trials whose worker is gone as FAIL, with the reason; their numbers."""
    running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    if cfg.storage:
        # RDB: the heartbeat decides, for every host alike (a pid says nothing on a machine
        # that merely shares this one's host name). Optuna also does this at each trial start.
        optuna.storages.fail_stale_trials(study)
        states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
        failed = [n for n in running if states[n] == TrialState.FAIL]
        for number in failed:
            log.warning("trial %d marked FAIL: no heartbeat for %d s", number, 3 * cfg.heartbeat_s)
        return failed
    # The storage and trial ids are private, but a study offers no public way to end another
    # process's trial; Optuna's own fail_stale_trials uses the same calls.
    storage, failed = study._storage, []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = _stale_reason(trial, cfg)
        if reason is None:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "fail_reason", f"stale: {reason}")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:  # it finished meanwhile after all
            continue
        log.warning("trial %d marked FAIL: %s", trial.number, reason)
        failed.append(trial.number)
    return failed


def await_heartbeat(study: optuna.Study, cfg: TuneConfig) -> None:
    """RDB storage, before this worker exits: wait (at most four heartbeats) until the
    heartbeat has failed the RUNNING trials whose process on this host is gone, so a study that
    filled up while a killed worker's trial was still within its grace period does not end
    with that trial RUNNING. Trials of other hosts are left to the heartbeat and later runs:
    nothing here can tell a live one from a dead one sooner."""
    deadline = time.monotonic() + 4 * cfg.heartbeat_s
    while time.monotonic() < deadline:
        if not any(_died_here(t) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
            return
        fail_stale_trials(study, cfg)
        time.sleep(min(1.0, cfg.heartbeat_s))
