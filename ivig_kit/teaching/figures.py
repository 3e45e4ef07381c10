"""Teaching figures (matplotlib/seaborn). Each function is ``name(table, ax=None) -> Figure``: it draws
what it is given on ``ax`` (a new figure by default), computes nothing a test could not check in the
table itself, and changes no global matplotlib state.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ivig_kit.score.measures import CORE_SET

# --- Teaching figures ---


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """The axes to draw on: the caller's, or one of a new figure of ``size`` inches."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def band_step_figure(band_steps: pd.DataFrame, ax: np.ndarray | None = None) -> Figure:
    """Points against absolute percent improvement, one panel per CSM (from ``teaching.band_steps``).

    Drawn with ``steps-pre`` so each level holds up to and including its right edge; a
    filled dot marks that closed end (exactly 5% scores the lower level). ``ax``: one axes per CSM
    (in the table's order), e.g. the array of ``plt.subplots(2, 3)``; a new 2 x 3 figure by default.
    """
    labels = list(dict.fromkeys(band_steps["label"]))
    if ax is None:
        rows = -(-len(labels) // 3)
        _, ax = plt.subplots(rows, 3, figsize=(10.5, 2.8 * rows), sharey=True, layout="constrained")
    panels = np.asarray(ax).ravel()
    if len(panels) < len(labels):
        raise ValueError(f"need {len(labels)} axes, one per CSM, got {len(panels)}")
    for label, panel in zip(labels, panels):
        rows = band_steps[band_steps["label"] == label]
        panel.plot(rows["percent"], rows["points"], drawstyle="steps-pre", color="C0")
        edges = rows.iloc[1:-1]
        panel.scatter(edges["percent"], edges["points"], s=18, zorder=3, color="C0")
        panel.axvline(0, color="grey", linewidth=0.6, linestyle=":")
        panel.set_title(label, fontsize=9)
        panel.set_xticks(rows["percent"].iloc[1:-1])
        panel.set_xlabel("absolute percent improvement")
    for panel in panels[::3]:
        panel.set_ylabel("points")
    figure = panels[0].figure
    figure.suptitle("ACR/EULAR TIS bands (right-closed: a dot is the top of its band)")
    return figure


def weights_figure(core_set: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Maximum points of each CSM (from ``teaching.core_set_table``), largest first."""
    table = core_set.reset_index().sort_values("max points", ascending=False)
    ax = _axes(ax, (7, 3))
    sns.barplot(data=table, y="instrument", x="max points", ax=ax, color="C0")
    for container in ax.containers:
        ax.bar_label(container, fmt="%g", padding=3)
    ax.set_xlim(0, 40)
    ax.set_ylabel("")
    ax.set_xlabel("maximum points (of 100)")
    ax.set_title("Weights: MMT and the physician's global carry more than half")
    return ax.figure


def patient_points_figure(breakdown: pd.DataFrame, title: str = "", ax: Axes | None = None) -> Figure:
    """Points earned against the maximum, per CSM (from ``teaching.score_patient(...).breakdown``)."""
    table = breakdown.reset_index()
    ax = _axes(ax, (7, 3))
    sns.barplot(data=table, y="label", x="max_points", ax=ax, color="0.85", label="maximum")
    sns.barplot(data=table, y="label", x="points", ax=ax, color="C0", label="earned")
    ax.bar_label(ax.containers[-1], fmt="%g", padding=3)
    ax.set_xlim(0, 35)
    ax.set_ylabel("")
    ax.set_xlabel("points")
    ax.legend(loc="lower right")
    ax.set_title(title or f"TIS {table['points'].sum():g}")
    return ax.figure


def ceiling_effect_figure(
    ceiling: pd.DataFrame, marks: dict[str, float] | None = None, ax: Axes | None = None
) -> Figure:
    """Best MMT points still reachable against the MMT baseline (from ``teaching.ceiling_effect_table``).

    ``marks`` labels baselines with vertical lines, e.g. ``{"pilot median": 211}``.
    """
    ax = _axes(ax, (7, 3))
    scales = ceiling["mmt_max"].unique()
    sns.lineplot(
        data=ceiling.assign(scale=[f"0-{m:g}" for m in ceiling["mmt_max"]]),
        x="mmt baseline",
        y="best MMT points",
        hue="scale",
        drawstyle="steps-post",
        estimator=None,
        ax=ax,
        palette="deep",
        legend=len(scales) > 1,
    )
    for index, (label, baseline) in enumerate((marks or {}).items()):
        ax.axvline(baseline, color=f"C{index + 3}", linestyle="--", linewidth=1)
        ax.annotate(label, (baseline, CORE_SET["mmt"].max_points), rotation=90, va="top", ha="right", fontsize=8)
    ax.set_ylim(-1, CORE_SET["mmt"].max_points + 2)
    ax.set_xlabel(f"MMT baseline (scale 0-{scales[0]:g})" if len(scales) == 1 else "MMT baseline")
    ax.set_ylabel("best MMT points reachable")
    ax.set_title("The ceiling effect: the higher the baseline, the fewer MMT points are left")
    return ax.figure


def deterioration_figure(table: pd.DataFrame, thresholds: dict[str, float], ax: Axes | None = None) -> Figure:
    """Worsening at each follow-up as a share of its ProDERM criterion (from
    ``deterioration_lessons.deterioration_table``).

    Physician global worsening is drawn as a percent of its 2 cm criterion and MMT worsening as a
    percent of its 20% criterion, so 100% is "criterion met" for both; the two consecutive visits that
    confirm the deterioration are shaded. ``thresholds`` is ``deterioration_lessons.DETERIORATION_THRESHOLDS``.
    """
    ax = _axes(ax, (7, 4))
    for index, (column, threshold) in enumerate(thresholds.items()):
        share = 100 * table[column] / threshold
        ax.plot(
            table["week"],
            share,
            marker="o",
            color=f"C{index}",
            label=f"{column}, as % of its criterion ({threshold:g})",
        )
    ax.axhline(100, color="grey", linestyle="--", linewidth=1)
    ax.annotate("criterion met", (table["week"].min(), 100), xytext=(2, 3), textcoords="offset points", fontsize=8)
    confirmed = table.index[table["confirmed deterioration"].fillna(False).astype(bool)]
    for position in confirmed:
        first, second = table.loc[position - 1, "week"], table.loc[position, "week"]
        ax.axvspan(first - 0.6, second + 0.6, color="C3", alpha=0.12)
        ax.annotate("confirmed: two consecutive visits", ((first + second) / 2, 5), ha="center", fontsize=8)
    ax.set_xticks(table["week"])
    ax.set_xlabel("follow-up week")
    ax.set_ylabel("worsening, % of criterion")
    ax.set_ylim(0, max(130, float(ax.get_ylim()[1])))
    source = ", ".join(table["data_source"].unique()) if "data_source" in table else ""
    ax.set_title(f"Confirmed deterioration (ProDERM definition){chr(10) + source if source else ''}", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, frameon=False)
    return ax.figure
