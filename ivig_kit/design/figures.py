"""Figures and widgets of the follow-on trial design (notebook 04). Every figure of simulated data says so.

Figures follow ``name(table, ax=None) -> Figure``; the widgets wrap closed forms from
:mod:`ivig_kit.design.planning` (instant) and reveal exercise solutions only when asked.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ivig_kit.design import planning
from ivig_kit.design import simulation as design

_LABEL = dict(ha="right", va="bottom", fontsize=9, color="#a00000", fontweight="bold")


def _axes(ax, size=(7, 4.2)):
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax.figure, ax


def _simulated_label(ax, text: str = "SIMULATED") -> None:
    ax.text(0.99, 0.02, text, transform=ax.transAxes, **_LABEL)


def power_curve_figure(table: pd.DataFrame, ax=None, planned_n: int = 48) -> Figure:
    """Simulated power (with 95% Monte Carlo bars) against total N, one line per analysis."""
    fig, ax = _axes(ax)
    for analysis, rows in table.groupby("analysis", sort=False):
        ax.errorbar(rows["n_total"], rows["power"], yerr=1.96 * rows["mc_se"], marker="o", capsize=3, label=analysis)
    for level in (0.8, 0.9):
        ax.axhline(level, color="grey", lw=0.8, ls=":")
    ax.axvline(planned_n, color="black", lw=0.8, ls="--")
    ax.text(planned_n, 0.02, f" planned N = {planned_n}", fontsize=8)
    ax.set(
        xlabel="total N (1:1)",
        ylabel="power (two-sided alpha 0.05)",
        ylim=(0, 1.02),
        title="What N patients can detect (main scenario)",
    )
    ax.legend(fontsize=8, loc="center right")
    _simulated_label(ax, f"SIMULATED: {int(table['trials'].iloc[0])} trials per point")
    return fig


def sensitivity_figure(table: pd.DataFrame, ax=None) -> Figure:
    """Power of the planned t-test at N = 48 as each assumption moves alone; the main value is filled."""
    fig, ax = _axes(ax, (7, 0.7 * table["assumption"].nunique() + 1.5))
    names = list(dict.fromkeys(table["assumption"]))
    for y, name in enumerate(names):
        rows = table[table["assumption"] == name]
        ax.plot(rows["power"], [y] * len(rows), color="#999999", lw=1, zorder=1)
        ax.errorbar(rows["power"], [y] * len(rows), xerr=1.96 * rows["mc_se"], fmt="none", ecolor="#cccccc")
        ax.scatter(
            rows["power"], [y] * len(rows), c=np.where(rows["main"], "#1f77b4", "white"), edgecolors="#1f77b4", zorder=2
        )
        for power, value in zip(rows["power"], rows["value"]):
            ax.annotate(f"{value:g}", (power, y), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
    ax.set_yticks(range(len(names)), names)
    ax.set(
        xlabel="power of the t-test at N = 48",
        xlim=(0, 1.05),
        ylim=(-0.6, len(names) - 0.3),
        title="Sensitivity: one assumption at a time (filled: main scenario)",
    )
    _simulated_label(ax)
    return fig


def tis_distribution_figure(table: pd.DataFrame, ax=None) -> Figure:
    """Distribution of simulated week-12 TIS per arm (columns ``arm``, ``tis``): discreteness and ceiling."""
    fig, ax = _axes(ax)
    bins = np.arange(-1.25, 101.25, 2.5)
    for arm, rows in table.groupby("arm", sort=False):
        ax.hist(rows["tis"], bins=bins, density=True, alpha=0.5, label=f"{arm} (mean {rows['tis'].mean():.1f})")
    ax.axvline(design.MODERATE, color="black", ls="--", lw=0.8)
    ax.text(design.MODERATE, ax.get_ylim()[1] * 0.95, " TIS 40", fontsize=8)
    ax.set(xlabel="week-12 TIS (multiples of 2.5)", ylabel="density", title="Simulated patients at week 12")
    ax.legend(fontsize=8)
    _simulated_label(ax)
    return fig


def week12_table(sim: design.SimulatedTrials) -> pd.DataFrame:
    """Long table (arm, tis) of the observed week-12 TIS of a :func:`design.simulate_tis` result."""
    arms = np.broadcast_to(np.where(sim.ivig, "IVIg + prednisone", "placebo + prednisone"), sim.tis.shape[:2])
    seen = sim.observed[..., -1]
    return pd.DataFrame({"arm": arms[seen], "tis": sim.tis[..., -1][seen]})


# --- Widgets ------------------------------------------------------------------------------------


def power_widget(scenario: design.Scenario = design.MAIN) -> widgets.VBox:
    """Sliders for effect, SD, dropout and N; shows closed-form power and the N for 80% and 90%."""
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="480px")
    effect = widgets.FloatSlider(
        value=scenario.effect, min=2, max=40, step=1, description="effect (TIS points)", style=style, layout=layout
    )
    sd = widgets.FloatSlider(
        value=scenario.target_sd, min=10, max=35, step=0.1, description="SD of TIS", style=style, layout=layout
    )
    dropout = widgets.FloatSlider(
        value=scenario.dropout,
        min=0,
        max=0.4,
        step=0.01,
        description="dropout",
        readout_format=".0%",
        style=style,
        layout=layout,
    )
    n = widgets.IntSlider(value=48, min=12, max=240, step=2, description="total N", style=style, layout=layout)
    result = widgets.HTML()

    def update(_=None):
        power = planning.t_test_power(effect.value, sd.value, n.value, dropout.value)
        n80 = planning.t_test_sample_size(effect.value, sd.value, 0.8, dropout.value)
        n90 = planning.t_test_sample_size(effect.value, sd.value, 0.9, dropout.value)
        result.value = (
            f"<div class='design-power'>Power at N = {n.value}: <b>{power:.1%}</b>; "
            f"N for 80%: <b>{n80}</b>; N for 90%: <b>{n90}</b> "
            f"<br><small>closed form (t-test, TIS treated as normal), Cohen's d = "
            f"{effect.value / sd.value:.2f}; the simulation above checks it for the main scenario"
            "</small></div>"
        )

    for slider, css in ((effect, "effect"), (sd, "sd"), (dropout, "dropout"), (n, "n")):
        slider.observe(update, names="value")
        slider.add_class(f"design-slider-{css}")
    update()
    box = widgets.VBox([effect, sd, dropout, n, result])
    box.add_class("design-power-widget")
    return box
