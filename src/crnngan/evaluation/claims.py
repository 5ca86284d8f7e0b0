"""The paper's claims, checked on our run.

The paper publishes no numeric table: its only quantitative result is Figure 3 (statistics
per epoch), and its text states qualitative relations between the models and real music.
:func:`paper_claims` checks those relations on the :class:`~crnngan.evaluation.results.Results`
of one run, :func:`claims_across_seeds` joins the checks of several runs of one recipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np

from crnngan.evaluation.labels import fmt, model_label
from crnngan.evaluation.results import Results, Summary

# Claims in the order of the anchors: targets T1-T5, Figure 3's captions, the conclusion.
CLAIM_ORDER = ("T1", "T2", "T3", "T4", "T5", "F3c", "F3d", "C1", "C2")
# "Similar" in the paper's sense: means within half a real-music standard deviation (a small
# effect in Cohen's terms). The paper gives no margin.
SIMILAR_MARGIN = 0.5
# T5: "scale consistency stabilises after about 10-15 epochs": from epoch 15 on, a linear fit
# drifts less than 5 percentage points. The paper's epochs count its 6 pretraining epochs (the
# original code runs them in the same epoch loop), so its epoch 15 is the game's epoch 9
# (counting from 0); a run that pretrains longer is tested from its game's epoch 9, not from
# the middle of its pretraining.
PLATEAU_EPOCH, PAPER_PRETRAIN_EPOCHS, PLATEAU_DRIFT = 15, 6, 0.05


def _label(who: str) -> str:
    """``crnngan`` -> "C-RNN-GAN"; ``real@crnngan`` -> "real music"."""
    return "real music" if who.startswith("real@") else model_label(who)


def _fmt_ci(stat: str, s: Summary) -> str:
    return f"{fmt(stat, s.mean)} [{fmt(stat, s.ci_low)}, {fmt(stat, s.ci_high)}]"


def _greater(a: Summary, b: Summary) -> str:
    """a > b: "yes" / "no" when the CIs are disjoint, else "inconclusive"."""
    if a.ci_low > b.ci_high:
        return "yes"
    if a.ci_high < b.ci_low:
        return "no"
    return "inconclusive"  # overlapping CIs, or NaN (every comparison with NaN is False)


def _similar(a: Summary, b: Summary, real_std: float) -> str:
    """a ≈ b: "yes" within SIMILAR_MARGIN real stds, "no" beyond it with disjoint CIs."""
    gap = abs(a.mean - b.mean)
    if not np.isfinite(gap) or not np.isfinite(real_std):
        return "inconclusive"
    if gap <= SIMILAR_MARGIN * real_std:
        return "yes"
    return "no" if _greater(a, b) != "inconclusive" else "inconclusive"


# The paper's claims, one a row of paper_claims.tsv (data beside this module): id, the claim,
# where the paper says so, test, side a, side b, statistic. A side is a model or
# "real@<model>", real music at that model's length. ">": a > b, "≈": a ≈ b, "std>": a's
# spread > b's.
_CLAIMS = tuple(
    tuple(line.split("\t"))
    for line in resources.files("crnngan.evaluation").joinpath("paper_claims.tsv").read_text("utf-8").splitlines()[1:]
)


def _pair_claim(results: Results, test: str, a: str, b: str, stat: str) -> tuple[str, str]:
    """(what we measured, agreement) of one two-sided claim."""

    def side(who: str) -> Summary:
        model = who.removeprefix("real@")
        if who == model:
            return results.models[model].stats[stat]
        return results.real_for(model).stats[stat]

    sa, sb = side(a), side(b)
    real_side = next((w for w in (b, a) if w.startswith("real@")), f"real@{a}")
    if test == "std>":
        measured = f"std {_label(a)} {fmt(stat, sa.std)} vs {_label(b)} {fmt(stat, sb.std)} (point estimates)"
        if np.isnan(sa.std) or np.isnan(sb.std):
            return measured, "inconclusive"
        return measured, "yes" if sa.std > sb.std else "no"
    measured = f"{_label(a)} {_fmt_ci(stat, sa)} vs {_label(b)} {_fmt_ci(stat, sb)}"
    if test == ">":
        return measured, _greater(sa, sb)
    real_std = side(real_side).std
    return (
        f"{measured}; margin {SIMILAR_MARGIN:g} real std = {fmt(stat, SIMILAR_MARGIN * real_std)}",
        _similar(sa, sb, real_std),
    )


def _closer(ours: float, theirs: float, lower_is_closer: bool) -> bool | None:
    """Whether ``ours`` is the closer score; None on a tie or NaN."""
    if np.isnan(ours) or np.isnan(theirs) or ours == theirs:
        return None
    return (ours < theirs) == lower_is_closer


def _closeness_claim(results: Results) -> tuple[str, str]:
    """C1: C-RNN-GAN closer to real music than the baseline, by distance and by MGEval OA;
    "inconclusive" when the two measures disagree."""
    gan, base = results.models["crnngan"], results.models["baseline"]
    votes = [_closer(gan.closeness, base.closeness, lower_is_closer=True)]
    measured = f"distance to real {gan.closeness:.2f} vs baseline {base.closeness:.2f}"
    if gan.mgeval and base.mgeval:
        oa_gan, oa_base = gan.mgeval["summary"]["oa"], base.mgeval["summary"]["oa"]
        votes.append(_closer(oa_gan, oa_base, lower_is_closer=False))
        measured += f"; MGEval OA {oa_gan:.2f} vs {oa_base:.2f}"
    if all(v is True for v in votes):
        return measured, "yes"
    return measured, "no" if all(v is False for v in votes) else "inconclusive"


def _game_start(curve: Mapping[str, np.ndarray]) -> int:
    """The curve's first epoch of the game: the first with a D loss (pretraining logs none);
    the paper's 6 pretraining epochs when the curve has no D loss column."""
    game = curve["epoch"][np.isfinite(curve["d_loss"])] if "d_loss" in curve else np.empty(0)
    return int(game.min()) if len(game) else PAPER_PRETRAIN_EPOCHS


def _plateau_claim(curve: Mapping[str, np.ndarray]) -> tuple[str, str]:
    """T5 from the per-epoch scale consistency of C-RNN-GAN's fixed-noise batch, tested from
    the epoch of the game that the paper's epoch 15 was."""
    epochs, values = curve["epoch"], curve["scale_consistency"]
    into_game = PLATEAU_EPOCH - PAPER_PRETRAIN_EPOCHS  # the game's epoch 9
    late = (epochs >= _game_start(curve) + into_game) & np.isfinite(values)
    where = (
        f"the game's epochs from {into_game} "
        f"(as the paper's epoch {PLATEAU_EPOCH} after its {PAPER_PRETRAIN_EPOCHS} of pretraining)"
    )
    if late.sum() < 3:
        return f"{int(late.sum())} epochs logged in {where}; the test needs 3", "inconclusive"
    slope = np.polyfit(epochs[late], values[late], 1)[0]
    drift = abs(slope) * (epochs[late].max() - epochs[late].min())
    return (
        f"linear drift over epochs {int(epochs[late].min())}-{int(epochs[late].max())}, {where}: "
        f"{100 * drift:.1f} points (stable below {100 * PLATEAU_DRIFT:.0f})",
        "yes" if drift < PLATEAU_DRIFT else "no",
    )


def paper_claims(
    results: Results, curves: Mapping[str, Mapping[str, np.ndarray]] | None = None
) -> list[dict[str, str]]:
    """One row per qualitative claim of the paper whose models were evaluated.

    Rows: ``id`` (anchors §2.5 T1-T5, or F3c / F3d for Figure 3's captions, C1 / C2 for the
    conclusion), ``claim``, ``source``, ``measured`` and ``agrees``: "yes" / "no" when the
    CIs of the two means are disjoint, "inconclusive" when they overlap; "≈" claims hold
    within :data:`SIMILAR_MARGIN` real-music stds. T5 needs ``curves["crnngan"]`` (columns
    of ``epoch_stats.csv``, see :func:`crnngan.evaluation.stage.read_epoch_stats`).
    """
    present = set(results.models)
    rows = []
    for cid, claim, source, test, a, b, stat in _CLAIMS:
        if {a.removeprefix("real@"), b.removeprefix("real@")} <= present:
            measured, agrees = _pair_claim(results, test, a, b, stat)
            rows.append({"id": cid, "claim": claim, "source": source, "measured": measured, "agrees": agrees})
    if {"crnngan", "baseline"} <= present:
        measured, agrees = _closeness_claim(results)
        rows.append(
            {
                "id": "C1",
                "claim": "C-RNN-GAN resembles real music more than the baseline",
                "source": "§5",
                "measured": measured,
                "agrees": agrees,
            }
        )
    if curves and "crnngan" in curves and "scale_consistency" in curves["crnngan"]:
        measured, agrees = _plateau_claim(curves["crnngan"])
        rows.append(
            {
                "id": "T5",
                "claim": "scale consistency of C-RNN-GAN stabilises after about 10-15 epochs",
                "source": "Fig. 3(a)",
                "measured": measured,
                "agrees": agrees,
            }
        )
    return sorted(rows, key=lambda r: CLAIM_ORDER.index(r["id"]))


def claims_json(claims: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """``metrics/claims.json``: the claims table of one run, for :func:`claims_across_seeds`."""
    return {
        "agree": sum(c["agrees"] == "yes" for c in claims),
        "checked": len(claims),
        "claims": [dict(c) for c in claims],
    }


def claims_across_seeds(runs: Mapping[int, Sequence[Mapping[str, str]]]) -> list[dict[str, Any]]:
    """The claims of several runs of one recipe (seed -> :func:`paper_claims` rows), joined.

    A claim agrees across seeds ("yes") only if it agrees in every run, disagrees ("no") only
    if it disagrees in every run, and is "inconclusive" otherwise: one lucky seed does not
    make a result. Rows keep the order of the runs' tables (a claim is known by id and text,
    as F3d holds two); ``seeds`` maps each seed to its run's answer ("-" where that run did
    not check the claim, which makes the claim inconclusive too)."""
    keys: list[tuple[str, str]] = []
    answers: dict[tuple[str, str], dict[int, str]] = {}
    for seed, claims in runs.items():
        for c in claims:
            key = (c["id"], c["claim"])
            if key not in answers:
                keys.append(key)
                answers[key] = {}
            answers[key][seed] = c["agrees"]
    rows = []
    for key in sorted(
        keys, key=lambda k: (CLAIM_ORDER.index(k[0]) if k[0] in CLAIM_ORDER else len(CLAIM_ORDER), keys.index(k))
    ):
        per_seed = {seed: answers[key].get(seed, "-") for seed in runs}
        values = set(per_seed.values())
        overall = values.pop() if len(values) == 1 and values <= {"yes", "no"} else "inconclusive"
        rows.append({"id": key[0], "claim": key[1], "seeds": per_seed, "agrees": overall})
    return rows


def claims_across_seeds_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`claims_across_seeds` as a markdown table with one column per seed."""
    seeds = list(rows[0]["seeds"]) if rows else []
    agreed = sum(r["agrees"] == "yes" for r in rows)
    lines = [
        f"Across {len(seeds)} seeds the recipe agrees with {agreed} of {len(rows)} claims "
        "(yes / no: the same answer in every seed; otherwise inconclusive).",
        "",
        "| # | paper's claim | " + " | ".join(f"seed {s}" for s in seeds) + " | across seeds |",
        "|---" * (len(seeds) + 3) + "|",
    ]
    lines += [
        f"| {r['id']} | {r['claim']} | " + " | ".join(r["seeds"][s] for s in seeds) + f" | {r['agrees']} |"
        for r in rows
    ]
    return "\n".join(lines)
