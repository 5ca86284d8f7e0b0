"""Several seeds as DVC experiments (``make seeds``, ``make seeds-show``, ``make compare``).

A GAN's figures swing with the seed, so a recipe is judged on several. :func:`run` queues one
experiment per seed (the whole pipeline with ``seed`` overridden) and waits for DVC's queue
worker to finish them one after the other; :func:`seed_table` takes the rows of every
experiment of the current commit and its ancestors (``dvc.api.exp_show``, read by
pipelines/seeds.py; the newest experiment of each seed, :func:`finished`) and gives, per
model, each seed's key statistics and collapse flag, then their mean and standard deviation
over the seeds; :func:`seed_claims` the paper's claims per seed (a claim holds across seeds
only if every seed agrees: ``crnngan.evaluation.claims.claims_across_seeds``).
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from crnngan.config import MODEL_NAMES
from crnngan.evaluation.labels import MODEL_LABELS

log = logging.getLogger("seeds")
# metrics/<model>.json paths shown, with their column labels.
COLUMNS = {
    "stats.unique_tones.mean": "unique",
    "stats.tone_span.mean": "span",
    "stats.scale_consistency.mean": "scale",
    "stats.polyphony.mean": "poly",
    "stats.num_tones.mean": "tones",
    "diversity.distinct_share": "distinct",
    "diversity.songs_with_8_pitches": ">=8 pitches",
    "collapsed": "collapsed",
}


def queue_states(status: str) -> dict[str, tuple[str, str]]:
    """``dvc queue status`` output -> {task id: (experiment name, Queued | Running | Success |
    Failed)}. Keyed by task: the queue keeps earlier runs of the same name (a seed run again
    on a later commit), which must not count as this run's."""
    states = {}
    for line in status.splitlines():
        words = line.split()
        if len(words) >= 3 and words[-1] in ("Queued", "Running", "Success", "Failed"):
            states[words[0]] = (words[1], words[-1])
    return states


def _queue() -> dict[str, tuple[str, str]]:
    status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
    return queue_states(status)


def run(seeds: Sequence[int]) -> int:
    before = set(_queue())  # tasks of earlier runs
    for seed in seeds:
        subprocess.run(["dvc", "exp", "run", "--queue", "-n", f"seed-{seed}", "-S", f"seed={seed}"], check=True)
    subprocess.run(["dvc", "queue", "start", "-j", "1"], check=True)
    started = time.monotonic()
    while True:
        mine = {task: entry for task, entry in _queue().items() if task not in before}
        busy = sorted(name for name, state in mine.values() if state in ("Queued", "Running"))
        if not busy:
            break
        log.info("%s still queued or running (%.0f min)", ", ".join(busy), (time.monotonic() - started) / 60)
        time.sleep(60)
    failed = sorted(name for name, state in mine.values() if state == "Failed")
    for name in failed:
        log.error("%s failed (dvc queue logs %s tells why)", name, name)
    return 1 if failed else 0


def metric(row: Mapping[str, Any], model: str, path: str) -> float:
    """The value of metrics/<model>.json's ``path`` in an exp_show row (NaN if absent).

    exp_show names a metric ``<file>:<path>`` when several files hold the same path."""
    for key, value in row.items():
        if key.endswith(f"{model}.json:{path}"):
            return float(value) if isinstance(value, (int, float)) else float("nan")
    return float("nan")


def finished(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The latest finished experiment of each seed, with ``seed`` as an int."""
    done, seen = [], set()
    for r in rows:  # newest commit first
        # exp_show gives params as floats (seed 2.0); queued and running rows hold the
        # workspace's stale metrics, so only finished ones count.
        seed = r.get("seed")
        if r.get("Experiment") and r.get("State") == "Success" and isinstance(seed, (int, float)):
            if int(seed) not in seen:
                seen.add(int(seed))
                done.append({**r, "seed": int(seed)})
    return done


def seed_claims(
    done: Sequence[Mapping[str, Any]], read: Callable[[str], str | None]
) -> dict[int, list[dict[str, str]]]:
    """seed -> its experiment's claims (``metrics/claims.json`` at the experiment's commit,
    ``read(rev)`` giving that file's text or None); seeds whose experiment predates the file
    are left out."""
    out = {}
    for r in done:
        text = read(r["rev"])
        if text is not None:
            out[r["seed"]] = json.loads(text)["claims"]
    return out


def git_claims(rev: str) -> str | None:
    shown = subprocess.run(["git", "show", f"{rev}:metrics/claims.json"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def seed_table(done: Sequence[Mapping[str, Any]]) -> str:
    """Per model: one line per seed's experiment (:func:`finished`), then the mean and std."""
    if not done:
        return "no finished experiment with a seed param: run `python pipelines/seeds.py run 1 2 3` first"
    lines = []
    header = f"{'':12}" + "".join(f"{label:>12}" for label in COLUMNS.values())
    for model in MODEL_NAMES:
        lines += ["", model, header]
        values = np.array([[metric(r, model, path) for path in COLUMNS] for r in done])  # (seeds, columns)
        for r, row in zip(done, values):
            lines.append(f"{'seed ' + str(r['seed']):12}" + "".join(f"{v:>12.3g}" for v in row))
        with warnings.catch_warnings():  # one seed: no std (NaN), which is what it says
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0, ddof=1)
        lines.append(f"{'mean':12}" + "".join(f"{v:>12.3g}" for v in mean))
        lines.append(f"{'std':12}" + "".join(f"{v:>12.3g}" for v in std))
    return "\n".join(lines[1:])


# make compare: per model, these metrics/<model>.json paths, short enough for 120 columns.
COMPARE = {
    "stats.unique_tones.mean": "uniq",
    "stats.tone_span.mean": "span",
    "stats.scale_consistency.mean": "scale",
    "collapsed": "coll",
}


def compare_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per experiment (and the workspace and commits): its seed and, per model, the
    :data:`COMPARE` columns; what ``dvc exp show`` would print in 465 columns."""
    models = {m: MODEL_LABELS[m] for m in MODEL_NAMES}
    width = 6 * len(COMPARE)
    lines = [
        f"{'':22}{'':>6}" + "".join(f"  {label:^{width}}" for label in models.values()),
        f"{'experiment':22}{'seed':>6}" + "".join("  " + "".join(f"{c:>6}" for c in COMPARE.values()) for _ in models),
    ]
    for r in rows:
        if r.get("State") in ("Queued", "Running"):
            continue  # their metrics are the workspace's
        name = str(r.get("Experiment") or r.get("rev"))[:21]
        seed = r.get("seed")
        cells = []
        for model in models:
            values = [metric(r, model, path) for path in COMPARE]
            cells.append("".join(f"{v:>6.3g}" for v in values))
        lines.append(f"{name:22}{'' if seed is None else int(seed):>6}" + "".join(f"  {c}" for c in cells))
    return "\n".join(lines)
