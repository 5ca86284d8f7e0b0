"""The paper's claims checked on hand-made results, and the same claims across seeds."""

import dataclasses

import numpy as np

from crnngan.evaluation.claims import (
    CLAIM_ORDER,
    claims_across_seeds,
    claims_across_seeds_markdown,
    claims_json,
    paper_claims,
)
from crnngan.evaluation.diversity import CollapseThresholds, diversity
from crnngan.evaluation.labels import REPORTED
from crnngan.evaluation.results import ModelResult, RealResult, Results, Settings, Summary


def summary(mean: float, low: float, high: float, std: float = 1.0) -> Summary:
    return Summary(mean=mean, std=std, n=10, ci_low=low, ci_high=high)


def hand_results(
    models: dict[str, dict[str, Summary]], real: dict[str, Summary], closeness: dict[str, float] | None = None
) -> Results:
    """Every statistic not given is the same neutral summary on every side; the fields no
    claim reads are placeholders."""
    neutral = summary(1.0, 0.9, 1.1)
    closeness = closeness or {}
    nobody = diversity([], 0.0)
    filled = {
        m: ModelResult(
            n_songs=10,
            empty_songs=0,
            median_events=30,
            real_k=100,
            short=False,
            table={},
            stats={k: s.get(k, neutral) for k in REPORTED},
            distance={},
            closeness=closeness.get(m, 1.0),
            mgeval=None,
            diversity=nobody,
            verdict=None,
        )
        for m, s in models.items()
    }
    reference = RealResult(
        steps=30,
        n_windows=10,
        test_songs=5,
        table={},
        diversity=nobody,
        verdict=None,
        stats={k: real.get(k, neutral) for k in REPORTED},
    )
    settings = Settings(
        metric_mode="clean",
        polyphony_tolerance=0.0,
        bootstrap=100,
        confidence=0.95,
        real_windows=10,
        seed=0,
        collapse_thresholds=CollapseThresholds(),
    )
    return Results(settings=settings, steps=30, notes=[], real={100: reference}, models=filled, duration=None)


def claim_row(rows: list[dict], claim_start: str) -> dict:
    (row,) = [r for r in rows if r["claim"].startswith(claim_start)]
    return row


def agreement(rows: list[dict], claim_start: str) -> str:
    return claim_row(rows, claim_start)["agrees"]


def test_claims_agree_disagree_inconclusive():
    results = hand_results(
        {
            "crnngan": {
                "unique_tones": summary(30, 29, 31),
                "tone_span": summary(10, 9, 11),
                "intensity_span": summary(50, 40, 60),
                "scale_consistency": summary(0.90, 0.89, 0.91),
            },
            "baseline": {
                "unique_tones": summary(20, 19, 21),
                "tone_span": summary(20, 19, 21),
                "intensity_span": summary(45, 35, 55),
                "scale_consistency": summary(0.91, 0.90, 0.92),
            },
        },
        real={"scale_consistency": summary(0.95, 0.94, 0.96, std=0.05)},
        closeness={"crnngan": 0.5, "baseline": 0.8},
    )
    rows = paper_claims(results)
    assert agreement(rows, "unique tones: C-RNN-GAN > baseline") == "yes"
    assert agreement(rows, "tone span: C-RNN-GAN > baseline") == "no"
    assert agreement(rows, "intensity span: C-RNN-GAN > baseline") == "inconclusive"  # CIs overlap
    assert agreement(rows, "scale consistency: C-RNN-GAN ≈ baseline") == "yes"  # 0.01 <= 0.5 * 0.05
    assert agreement(rows, "scale consistency: real music slightly above C-RNN-GAN") == "yes"
    assert agreement(rows, "C-RNN-GAN resembles") == "yes"
    # No C-RNN-GAN-3: its claims are skipped, not failed.
    assert not any("C-RNN-GAN-3" in r["claim"] for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), key=CLAIM_ORDER.index)


def test_similar_claim_needs_disjoint_cis_to_disagree():
    real = {"scale_consistency": summary(0.95, 0.94, 0.96, std=0.05)}
    far = {
        "crnngan": {"scale_consistency": summary(0.80, 0.79, 0.81)},
        "baseline": {"scale_consistency": summary(0.95, 0.94, 0.96)},
    }
    claim = "scale consistency: C-RNN-GAN ≈"
    assert agreement(paper_claims(hand_results(far, real)), claim) == "no"
    noisy = {
        "crnngan": {"scale_consistency": summary(0.80, 0.60, 1.0)},
        "baseline": {"scale_consistency": summary(0.95, 0.75, 1.0)},
    }
    assert agreement(paper_claims(hand_results(noisy, real)), claim) == "inconclusive"


def test_polyphony_claims_of_crnngan3():
    results = hand_results(
        {
            "crnngan3": {"polyphony": summary(0.70, 0.65, 0.75)},
            "crnngan": {"polyphony": summary(0.10, 0.05, 0.15)},
            "baseline": {"polyphony": summary(0.72, 0.70, 0.74)},
        },
        real={"polyphony": summary(0.74, 0.72, 0.76, std=0.2)},
    )
    rows = paper_claims(results)
    assert agreement(rows, "polyphony: C-RNN-GAN-3 > C-RNN-GAN") == "yes"
    assert agreement(rows, "polyphony: C-RNN-GAN-3 > baseline") == "inconclusive"
    assert agreement(rows, "polyphony: C-RNN-GAN-3 ≈ real") == "yes"
    assert agreement(rows, 'polyphony: C-RNN-GAN "scored low"') == "yes"


def test_resemblance_claim_needs_distance_and_mgeval_to_agree():
    results = hand_results({"crnngan": {}, "baseline": {}}, real={}, closeness={"crnngan": 0.4, "baseline": 0.9})
    models = results.models
    for gan_oa, expected in ((0.8, "yes"), (0.6, "inconclusive")):
        models["crnngan"] = dataclasses.replace(models["crnngan"], mgeval={"summary": {"oa": gan_oa}})
        models["baseline"] = dataclasses.replace(models["baseline"], mgeval={"summary": {"oa": 0.7}})
        assert agreement(paper_claims(results), "C-RNN-GAN resembles") == expected
    models["crnngan"] = dataclasses.replace(models["crnngan"], closeness=1.5)  # both measures favour the baseline
    assert agreement(paper_claims(results), "C-RNN-GAN resembles") == "no"


def test_plateau_claim_from_the_training_curve():
    results = hand_results({"crnngan": {}}, real={})
    epochs = np.arange(25.0)
    flat = {"epoch": epochs, "scale_consistency": np.where(epochs < 10, epochs / 20, 0.9)}
    rising = {"epoch": epochs, "scale_consistency": epochs / 30}
    short = {"epoch": epochs[:16], "scale_consistency": np.full(16, 0.9)}
    for curve, expected in ((flat, "yes"), (rising, "no"), (short, "inconclusive")):
        rows = paper_claims(results, {"crnngan": curve})
        assert agreement(rows, "scale consistency of C-RNN-GAN") == expected


def test_plateau_claim_starts_as_many_epochs_into_the_game_as_the_paper():
    # 30 pretraining epochs (no D loss) then 20 of the game. The paper's epoch 15, after its 6
    # pretraining epochs, is the game's epoch 9: here epoch 39.
    results = hand_results({"crnngan": {}}, real={})
    epochs = np.arange(50.0)
    d_loss = np.where(epochs < 30, np.nan, 1.3)
    # Falls by 20 points through pretraining and the game's first 9 epochs, then flat at 0.8.
    settles = np.where(epochs < 39, 1 - epochs / 195, 0.8)
    curve = {"epoch": epochs, "scale_consistency": settles, "d_loss": d_loss}
    rows = paper_claims(results, {"crnngan": curve})
    assert agreement(rows, "scale consistency of C-RNN-GAN") == "yes"
    assert "epochs 39-49, the game's epochs from 9" in claim_row(rows, "scale consistency of C-RNN-GAN")["measured"]
    # The same curve read without D losses (the paper's 6 pretraining epochs) tests from epoch 15.
    rows = paper_claims(results, {"crnngan": {"epoch": epochs, "scale_consistency": settles}})
    assert agreement(rows, "scale consistency of C-RNN-GAN") == "no"
    # Drifting 6 points over the game's epochs 9-19 is not stable.
    drifts = np.where(epochs < 39, 0.9, 0.9 - (epochs - 39) * 0.006)
    rows = paper_claims(results, {"crnngan": {"epoch": epochs, "scale_consistency": drifts, "d_loss": d_loss}})
    assert agreement(rows, "scale consistency of C-RNN-GAN") == "no"


def test_claims_across_seeds_need_every_seed():
    def run(t1, t2, c1=None):
        rows = [{"id": "T1", "claim": "a", "agrees": t1}, {"id": "T2", "claim": "b", "agrees": t2}]
        return rows + ([{"id": "C1", "claim": "c", "agrees": c1}] if c1 else [])

    rows = claims_across_seeds({1: run("yes", "no", "yes"), 2: run("yes", "no"), 3: run("yes", "yes", "yes")})
    assert [(r["id"], r["agrees"]) for r in rows] == [("T1", "yes"), ("T2", "inconclusive"), ("C1", "inconclusive")]
    assert rows[2]["seeds"] == {1: "yes", 2: "-", 3: "yes"}  # seed 2 did not check C1
    all_no = claims_across_seeds({1: run("no", "inconclusive"), 2: run("no", "inconclusive")})
    assert [r["agrees"] for r in all_no] == ["no", "inconclusive"]  # inconclusive everywhere stays so
    md = claims_across_seeds_markdown(rows)
    assert "agrees with 1 of 3 claims" in md and "| T2 | b | no | no | yes | inconclusive |" in md
    assert claims_json(run("yes", "no")) == {"agree": 1, "checked": 2, "claims": run("yes", "no")}
