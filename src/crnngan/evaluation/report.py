"""``reports/summary.md``: the evaluation as one page.

Collapse verdicts first, then the piano rolls, the run's settings, the statistics table, the
closeness to real music (at equal steps and at equal duration) and the paper's claims
(:mod:`crnngan.evaluation.claims`), all from one :class:`~crnngan.evaluation.results.Results`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from crnngan.evaluation.claims import SIMILAR_MARGIN
from crnngan.evaluation.labels import (
    LABELS,
    REPORTED,
    fmt,
    model_label,
    ordered,
    real_label,
    unit,
    verdict_text,
)
from crnngan.evaluation.results import ModelResult, RealResult, Results, Stats
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import SHORT_SHARE


def _row_cells(stats: Stats) -> list[str]:
    """ "mean ± CI half-width" per reported statistic."""
    cells = []
    for k in REPORTED:
        s = stats[k]
        half = unit(k) * (s.ci_high - s.ci_low) / 2
        cells.append(f"{fmt(k, s.mean)} ± {half:.1f}" if np.isfinite(half) else fmt(k, s.mean))
    return cells


def _overview(results: Results, order: Sequence[str], missing: Sequence[str], notes: Sequence[str]) -> list[str]:
    """The bullet list: metric mode, sample counts, real windows, missing models, notes."""
    s, models = results.settings, results.models
    mode = (
        "clean: the paper's definitions, pitches rounded to the nearest MIDI number"
        if s.metric_mode == "clean"
        else "legacy: the original code's quirks (pitches truncated, scale test without "
        "modulo, polyphony of the paper snapshot e75e541)"
    )
    counts = [
        f"{model_label(m)} {models[m].n_songs} songs (median "
        f"{models[m].median_events} events, {models[m].empty_songs} empty)"
        for m in order
        if m in models
    ]
    lines = [
        f"- Metric mode: **{mode}**; polyphony tolerance {s.polyphony_tolerance:g} s.",
        f"- Samples: {'; '.join(counts) or 'none'}.",
    ]
    lines += [
        f"- {real_label(results, k).capitalize()}: {r.n_windows} windows from "
        f"{r.test_songs} test songs (seed {s.seed}); compared with the models of that "
        "layout, at the length they were asked for."
        for k, r in sorted(results.real.items())
    ]
    lines += [f"- **{model_label(m)} was not evaluated**: no samples." for m in missing]
    return lines + [f"- {n}" for n in (*results.notes, *notes)]


def _statistics_table(results: Results, order: Sequence[str]) -> list[str]:
    s, models = results.settings, results.models
    lines = [
        f"## Statistics (mean ± half-width of the {100 * s.confidence:g}% bootstrap CI "
        f"of the mean, {s.bootstrap} resamples)",
        "",
        "| | " + " | ".join(LABELS[k] for k in REPORTED) + " |",
        "|---" * (len(REPORTED) + 1) + "|",
    ]
    for m in order:
        cells = _row_cells(models[m].stats) if m in models else ["not evaluated"]
        lines.append(f"| {model_label(m)} | " + " | ".join(cells) + " |")
    lines += [
        f"| {real_label(results, k)} | " + " | ".join(_row_cells(r.stats)) + " |"
        for k, r in sorted(results.real.items())
    ]
    return lines + [
        "",
        "3-tone repetitions count ordered pairs of equal, non-overlapping 3-pitch "
        "windows (i, j >= i + 3), pairs of occurrences rather than distinct patterns: a "
        "100-note song of one held pitch scores 4,560, a motif played 4 times 12. The "
        "rate divides the count by the number of such window pairs (1 for a constant "
        "song), so songs of any length compare.",
    ]


def _verdicts(results: Results, order: Sequence[str]) -> list[str]:
    """One line per model (and real music): collapsed, with the reasons, or not."""
    t = results.settings.collapse_thresholds
    lines = [
        "## Collapse",
        "",
        f"A song set is collapsed when one pitch holds more than {100 * t.max_top_pitch_share:g}% "
        f"of its notes, fewer than {100 * t.min_distinct_share:g}% of its songs are distinct, "
        f"or more than {100 * t.max_short_share:g}% of its songs hold under {SHORT_SHARE:g} x "
        "the real tone count (thresholds: `evaluate` params).",
        "",
    ]
    rows: list[tuple[str, ModelResult | RealResult]] = [
        (model_label(m), results.models[m]) for m in order if m in results.models
    ]
    rows += [(real_label(results, k), r) for k, r in sorted(results.real.items())]
    for label, entry in rows:
        d = entry.diversity
        lines.append(
            f"- **{label}**: {verdict_text(entry.verdict)} ({round(d.distinct_share * d.songs)} "
            f"of {d.songs} songs distinct; most frequent pitch {100 * d.top_pitch_share:.0f}% of notes; "
            f"{100 * d.songs_with_8_pitches:.0f}% of songs with >= 8 pitches; pitch-class "
            f"distance between songs {d.pitch_class_distance:.2f}; {d.mean_notes:.0f} tones per song)."
        )
    return lines


def _closeness_table(results: Results, order: Sequence[str]) -> list[str]:
    lines = [
        "## Closeness to real music",
        "",
        "Distance: mean over Figure 3's six statistics of |mean_gen - mean_real| / std_real, "
        "against real windows of as many steps as the model generated (lower is closer; inf "
        "for a model flagged short, which cannot look close by playing nothing). MGEval (Yang & "
        "Lerch 2018), mean over 10 features: overlapping area OA (higher is closer) and KLD "
        "(lower is closer).",
        "",
        "| model | distance to real | largest gap | MGEval OA | MGEval KLD |",
        "|---|---|---|---|---|",
    ]
    for m in (m for m in order if m in results.models):
        entry = results.models[m]
        d = entry.distance
        worst = max((k for k in d if not np.isnan(d[k])), key=lambda k: d[k], default=None)
        gap = f"{LABELS[worst]} ({d[worst]:.2f} std)" if worst else "n/a"
        mg = entry.mgeval["summary"] if entry.mgeval else None
        oa_kld = f"{mg['oa']:.3f} | {mg['kld']:.3f}" if mg else "n/a | n/a"  # fewer than 2 songs
        lines.append(f"| {model_label(m)} | {entry.closeness:.2f} | {gap} | {oa_kld} |")
    return lines


def _duration_table(results: Results, order: Sequence[str]) -> list[str]:
    """Statistics of every song's first ``seconds`` against real windows of that duration."""
    d = results.duration
    if not d:
        return []
    lines = [
        f"## At equal duration: each song's first {d.seconds:g} s",
        "",
        f"The same statistics on the first {d.seconds:g} s of every song, against "
        f"{d.real.n_windows} real test windows of {d.seconds:g} s (param "
        "`evaluate.compare_seconds`): a model that plays faster than real music is measured "
        "on more tones, a slower one on fewer. Distance as above; inf when the median song "
        f"holds under {SHORT_SHARE:g} x the real tone count in that time.",
        "",
        "| | tones (median) | " + " | ".join(LABELS[k] for k in FIGURE3) + " | distance to real |",
        "|---" * (len(FIGURE3) + 3) + "|",
    ]
    for m in (m for m in order if m in d.models):
        e = d.models[m]
        cells = [fmt(k, e.stats[k].mean) for k in FIGURE3]
        lines.append(f"| {model_label(m)} | {e.median_tones:g} | " + " | ".join(cells) + f" | {e.closeness:.2f} |")
    cells = [fmt(k, d.real.stats[k].mean) for k in FIGURE3]
    return lines + [
        f"| real music ({d.seconds:g} s windows) | {d.real.median_tones:g} | " + " | ".join(cells) + " | - |"
    ]


def _claims_table(results: Results, claims: Sequence[Mapping[str, str]]) -> list[str]:
    agreed = sum(c["agrees"] == "yes" for c in claims)
    lines = [
        "## The paper's claims",
        "",
        "The paper publishes no numeric table: its only quantitative result is Figure 3 "
        "(statistics per training epoch), and its text states qualitative relations. "
        f'"yes" / "no": the {100 * results.settings.confidence:g}% CIs are disjoint; '
        f'"inconclusive": they overlap. "≈" holds within {SIMILAR_MARGIN:g} real-music std. '
        f"Our run agrees with {agreed} of {len(claims)} checked claims.",
        "",
        "| # | paper's claim (qualitative; the paper publishes only Figure 3, no table) | "
        "source | what we measured | our run agrees? |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {c['id']} | {c['claim']} | {c['source']} | {c['measured']} | {c['agrees']} |" for c in claims]
    return lines + [
        "",
        "Not checked: the epoch dynamics of Figure 3 other than T5 (complexity "
        "growing with training, repetitions rising for ~25 epochs, C-RNN-GAN-3's zero "
        "outputs around epochs 50-55), which need the paper's long training; see "
        "`figures/training_curves.png`.",
    ]


# Where the report's opening (the collapse verdicts) ends: the MLflow run's description stops here.
LISTEN_HEADING = "## Listen and look"


def summary_markdown(
    results: Results, claims: Sequence[Mapping[str, str]], missing: Sequence[str] = (), notes: Sequence[str] = ()
) -> str:
    """``reports/summary.md``: statistics table, closeness to real music, the paper's claims.

    ``missing``: models without samples (shown as not evaluated); ``notes``: extra lines.
    """
    order = ordered([*results.models, *missing])
    rolls = [
        LISTEN_HEADING,
        "",
        "Two real test windows, then the first two songs of each model "
        "(`samples/<model>/song_000.mid`, ...): ![piano rolls](figures/piano_rolls.png)",
    ]
    sections = (
        _verdicts(results, order),
        rolls,
        _overview(results, order, missing, notes),
        _statistics_table(results, order),
        _closeness_table(results, order),
        _duration_table(results, order),
        _claims_table(results, claims),
    )
    return (
        "\n\n".join("\n".join(lines) for lines in (["# Evaluation: generated music vs real music"], *sections) if lines)
        + "\n"
    )
