"""pipelines/seeds.py: each seed's figures and their spread, from dvc.api.exp_show rows."""

import json
import subprocess

import numpy as np

from crnngan.evaluation.claims import claims_across_seeds
from crnngan.tools import seeds


def test_seed_table_lists_each_seed_and_the_spread():
    rows = [
        {"Experiment": None, "rev": "workspace", "seed": 42},  # the workspace: not a seed run
        *(
            {
                "Experiment": f"seed-{s}",
                "rev": "abc",
                "State": "Success",
                "seed": float(s),
                "metrics/crnngan.json:stats.unique_tones.mean": u,
                "metrics/baseline.json:stats.unique_tones.mean": 6.0,
            }
            for s, u in ((1, 10.0), (2, 14.0))
        ),
        # still running: its metrics are the workspace's, not its own
        {
            "Experiment": "seed-3",
            "rev": "def",
            "State": "Running",
            "seed": 3.0,
            "metrics/crnngan.json:stats.unique_tones.mean": 99.0,
        },
        # an older commit's seed-1 experiment: the newer one above wins
        {
            "Experiment": "seed-1",
            "rev": "old",
            "State": "Success",
            "seed": 1.0,
            "metrics/crnngan.json:stats.unique_tones.mean": 99.0,
        },
    ]
    assert seeds.metric(rows[1], "crnngan", "stats.unique_tones.mean") == 10.0
    assert np.isnan(seeds.metric(rows[1], "crnngan3", "stats.unique_tones.mean"))
    done = seeds.finished(rows)
    assert [(r["seed"], r["rev"]) for r in done] == [(1, "abc"), (2, "abc")]
    table = seeds.seed_table(done).splitlines()
    gan = table[table.index("crnngan") + 2 : table.index("crnngan") + 6]
    assert [line.split()[:2] for line in gan] == [["seed", "1"], ["seed", "2"], ["mean", "12"], ["std", "2.83"]]
    assert "no finished experiment" in seeds.seed_table(seeds.finished(rows[:1]))


def test_claims_are_read_per_seed_and_joined():
    claim = {"id": "T1", "claim": "unique tones: C-RNN-GAN > baseline", "source": "§4", "measured": "..."}
    files = {
        "r1": json.dumps({"claims": [{**claim, "agrees": "yes"}]}),
        "r2": json.dumps({"claims": [{**claim, "agrees": "no"}]}),
    }
    done = [{"seed": 1, "rev": "r1"}, {"seed": 2, "rev": "r2"}, {"seed": 3, "rev": "before-claims-json"}]
    claims = seeds.seed_claims(done, files.get)
    assert list(claims) == [1, 2]  # seed 3's experiment has no claims file
    (row,) = claims_across_seeds(claims)
    assert row["seeds"] == {1: "yes", 2: "no"} and row["agrees"] == "inconclusive"


def test_queue_status_is_parsed():
    status = """Task     Name    Created    Status
5327ae4  seed-1  10:46 AM   Running
7ba5f7f  seed-2  10:46 AM   Queued
f65a4a1  seed-3  10:46 AM   Failed
d4098cc  seed-1  09:12 AM   Success

Worker status: 1 active, 0 idle
"""
    assert seeds.queue_states(status) == {
        "5327ae4": ("seed-1", "Running"),
        "7ba5f7f": ("seed-2", "Queued"),
        "f65a4a1": ("seed-3", "Failed"),
        "d4098cc": ("seed-1", "Success"),
    }


def test_run_waits_for_its_own_tasks_not_earlier_ones_of_the_same_name(monkeypatch):
    old = "5327ae4  seed-1  10:46 AM   Success\n"
    statuses = iter(
        [
            old,  # before queueing: an earlier seed-1, finished
            "d4098cc  seed-1  12:59 PM   Running\n" + old,
            "d4098cc  seed-1  12:59 PM   Failed\n" + old,
        ]
    )
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd[:3])
        stdout = next(statuses) if cmd[:3] == ["dvc", "queue", "status"] else ""
        return subprocess.CompletedProcess(cmd, 0, stdout=stdout)

    monkeypatch.setattr(seeds.subprocess, "run", fake_run)
    monkeypatch.setattr(seeds.time, "sleep", lambda s: None)
    assert seeds.run([1]) == 1  # waited past "Running" and saw its own task fail
    assert calls.count(["dvc", "queue", "status"]) == 3


def test_compare_fits_120_columns_one_line_per_experiment():
    rows = [
        {
            "Experiment": None,
            "rev": "workspace",
            "seed": 42.0,
            "metrics/crnngan.json:stats.unique_tones.mean": 14.4,
            "metrics/crnngan.json:collapsed": 0,
        },
        {
            "Experiment": "seed-1",
            "rev": "abc",
            "State": "Success",
            "seed": 1.0,
            "metrics/baseline.json:stats.scale_consistency.mean": 0.712,
        },
        {"Experiment": "seed-2", "rev": "def", "State": "Queued", "seed": 2.0},
    ]
    lines = seeds.compare_table(rows).splitlines()
    assert len(lines) == 4 and max(map(len, lines)) <= 120  # two header lines, the queued row left out
    assert lines[2].split()[:4] == ["workspace", "42", "14.4", "nan"]
    assert lines[3].split()[:2] == ["seed-1", "1"] and lines[3].split()[-2] == "0.712"
