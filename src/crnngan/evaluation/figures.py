"""What the evaluate stage draws, as data and as figures: the histograms' values and colours,
the piano-roll panel's songs, and Figure 3 as training curves (the drawing of histograms and
piano rolls is :mod:`crnngan.evaluation.render`'s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from crnngan.data.representation import events_to_notes
from crnngan.evaluation.labels import LABELS, model_label, ordered, real_label, unit
from crnngan.evaluation.results import Results
from crnngan.evaluation.statistics import FIGURE3
from crnngan.evaluation.windows import real_windows

# One colour per model in every figure; real music in neutral greys (one per layout).
MODEL_COLOURS = {"baseline": "tab:blue", "crnngan": "tab:orange", "crnngan3": "tab:green"}
REAL_COLOURS = {1: "dimgray", 3: "darkgray"}


def figure_colours(results: Results) -> tuple[dict[str, str], list[str]]:
    """Legend label -> colour for :func:`histogram_values`' labels, and the real-music labels."""
    colours = {model_label(m): MODEL_COLOURS.get(m, "black") for m in results.models}
    real = {real_label(results, k): REAL_COLOURS.get(k, "gray") for k in results.real}
    return {**colours, **real}, list(real)


def histogram_values(results: Results, stat: str) -> dict[str, np.ndarray]:
    """Per-song values of ``stat`` by legend label (models, then real music per layout), in
    the report's units."""
    scale = unit(stat)
    values = {model_label(m): scale * results.models[m].table[stat] for m in ordered(list(results.models))}
    values.update({real_label(results, k): scale * r.table[stat] for k, r in sorted(results.real.items())})
    return values


def piano_roll_panel(
    generated: Mapping[str, Sequence[np.ndarray]],
    real_songs: Sequence[np.ndarray],
    steps: int,
    seed: int,
    per_model: int = 2,
) -> tuple[list[tuple[np.ndarray, ...]], list[str]]:
    """Songs and titles for one piano-roll figure: two real windows of ``steps`` events, then
    the first ``per_model`` songs of each model in the report's order (notes as
    (onsets, lengths, pitches, velocities), pitches rounded as the metrics round them)."""

    def notes(song: np.ndarray) -> tuple[np.ndarray, ...]:
        onsets, lengths, pitches, velocities = events_to_notes(song)
        return onsets, lengths, np.rint(pitches), velocities

    songs, titles = [], []
    for i, w in enumerate(real_windows(real_songs, min(steps, max(len(s) for s in real_songs)), per_model, seed)):
        songs.append(notes(w))
        titles.append(f"real music, test window {i + 1}")
    for m in ordered(list(generated)):
        for i, song in enumerate(generated[m][:per_model]):
            songs.append(notes(song))
            titles.append(f"{model_label(m)}, song {i + 1}")
    return songs, titles


def training_curves_figure(
    curves: Mapping[str, Mapping[str, np.ndarray]],
    real: Mapping[str, Mapping[str, float]],
    sampled: Mapping[str, int] | None = None,
) -> Figure:
    """Figure 3 as small multiples: one panel per statistic, each on its own axis and unit,
    one line per model (:data:`MODEL_COLOURS`, the same in every figure) over its epochs, and
    the real-music mean at that model's layout as a dashed line of the same colour.
    Shares are in %. ``sampled``: model -> the epoch its samples come from, where it is not
    the last (a dot on the model's line).
    """
    fig = Figure(figsize=(13, 6.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, stat in zip(axes, FIGURE3):
        scale = unit(stat)
        for model in ordered(list(curves)):
            curve, colour = curves[model], MODEL_COLOURS.get(model, "black")
            if stat in curve:
                ax.plot(curve["epoch"], scale * curve[stat], color=colour, label=model_label(model))
                if model in (sampled or {}):
                    at = curve["epoch"] == sampled[model]
                    ax.plot(curve["epoch"][at], scale * curve[stat][at], "o", color=colour, markersize=6)
            level = real.get(model, {}).get(stat, np.nan)
            if np.isfinite(level):
                ax.axhline(scale * level, color=colour, linestyle="--", linewidth=1)
        ax.set_title(LABELS[stat])
        ax.set_xlabel("epoch")
    if not curves:
        axes[0].text(0.5, 0.5, "no epoch_stats.csv", transform=axes[0].transAxes, ha="center")
    handles = [Line2D([], [], color=MODEL_COLOURS.get(m, "black"), label=model_label(m)) for m in ordered(list(curves))]
    handles.append(Line2D([], [], color="grey", linestyle="--", label="real music (mean, same colour)"))
    if sampled:
        handles.append(Line2D([], [], color="grey", marker="o", linestyle="", label="the epoch sampled"))
    fig.legend(handles=handles, loc="outside right center", fontsize="small")
    return fig
