"""pipelines/seeds.py: each seed's figures and their spread, from dvc.api.exp_show rows."""

import json

import numpy as np

from crnngan.evaluation import claims_across_seeds

from stage_scripts import load_stage


def test_seed_table_lists_each_seed_and_the_spread():
    seeds = load_stage("seeds")
    rows = [{"Experiment": None, "rev": "workspace", "seed": 42},  # the workspace: not a seed run
            *({"Experiment": f"seed-{s}", "rev": "abc", "State": "Success", "seed": float(s),
               "metrics/crnngan.json:stats.unique_tones.mean": u,
               "metrics/baseline.json:stats.unique_tones.mean": 6.0}
              for s, u in ((1, 10.0), (2, 14.0))),
            # still running: its metrics are the workspace's, not its own
            {"Experiment": "seed-3", "rev": "def", "State": "Running", "seed": 3.0,
             "metrics/crnngan.json:stats.unique_tones.mean": 99.0},
            # an older commit's seed-1 experiment: the newer one above wins
            {"Experiment": "seed-1", "rev": "old", "State": "Success", "seed": 1.0,
             "metrics/crnngan.json:stats.unique_tones.mean": 99.0}]
    assert seeds.metric(rows[1], "crnngan", "stats.unique_tones.mean") == 10.0
    assert np.isnan(seeds.metric(rows[1], "crnngan3", "stats.unique_tones.mean"))
    done = seeds.finished(rows)
    assert [(r["seed"], r["rev"]) for r in done] == [(1, "abc"), (2, "abc")]
    table = seeds.seed_table(done).splitlines()
    gan = table[table.index("crnngan") + 2:table.index("crnngan") + 6]
    assert [line.split()[:2] for line in gan] == [["seed", "1"], ["seed", "2"], ["mean", "12"], ["std", "2.83"]]
    assert "no finished experiment" in seeds.seed_table(seeds.finished(rows[:1]))


def test_claims_are_read_per_seed_and_joined():
    seeds = load_stage("seeds")
    claim = {"id": "T1", "claim": "unique tones: C-RNN-GAN > baseline", "source": "§4", "measured": "..."}
    files = {"r1": json.dumps({"claims": [{**claim, "agrees": "yes"}]}),
             "r2": json.dumps({"claims": [{**claim, "agrees": "no"}]})}
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

Worker status: 1 active, 0 idle
"""
    assert load_stage("seeds").queue_states(status) == {"seed-1": "Running", "seed-2": "Queued", "seed-3": "Failed"}
