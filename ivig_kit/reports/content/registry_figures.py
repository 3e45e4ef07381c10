"""The registry report's figures: the funnel plot of every site and each site's trend across runs.

Each is ``name(data, ax=None) -> Figure`` without global side effects; the figure's label is its alt text
(a description with the key numbers), as in :mod:`.figures`. Site names are drawn literally (no mathtext).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.inference.funnel import ALARM_LEVEL, ALERT_LEVEL, funnel_limits
from ivig_kit.reports.content.figures import FIGURE_DPI, FONT, MAX_WIDTH_IN, SMALL_FONT


def _axes(ax, width: float, height: float):
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=(min(width, MAX_WIDTH_IN), height), dpi=FIGURE_DPI)
    ax = figure.subplots()
    figure.subplots_adjust(left=0.75 / width, right=1 - 0.2 / width, bottom=0.55 / height, top=1 - 0.2 / height)
    ax.tick_params(labelsize=SMALL_FONT)
    return figure, ax


def _finish(figure, alt: str):
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_parse_math(False)
    figure.set_label(alt)
    return figure


def funnel_plot(funnel: pd.DataFrame, target: float, phi: float = 1.0, ylabel: str = "% responders", ax=None):
    """Each site's percentage against its number of patients, with 95% and 99.8% limits around ``target``.

    Parameters
    ----------
    funnel : DataFrame
        From :func:`ivig_kit.reports.content.registry.funnel_table` (index: site).
    target : float
        The pooled proportion.
    phi : float
        Over-dispersion the limits are widened by (1: exact limits).
    ylabel : str
        The y-axis label.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    """
    figure, ax = _axes(ax, 6.5, 3.6)
    shown = funnel[funnel["patients_scored"] > 0]
    n_max = max(int(shown["patients_scored"].max()) if len(shown) else 2, 2)
    if np.isfinite(target):
        grid = np.arange(1, int(n_max * 1.15) + 2)
        for level, style, name in ((ALERT_LEVEL, "--", "95% limits"), (ALARM_LEVEL, ":", "99.8% limits")):
            limits = funnel_limits(target, grid, level, phi=phi)
            ax.plot(grid, 100 * limits.lower, color="#555555", ls=style, lw=0.9)
            ax.plot(grid, 100 * limits.upper, color="#555555", ls=style, lw=0.9, label=name)
        ax.axhline(100 * target, color="#555555", lw=1, label=f"pooled ({100 * target:.1f}%)")
    colours = {"": "#1f77b4", "alert": "#d97706", "alarm": "#b91c1c"}
    markers = {"": "o", "alert": "s", "alarm": "D"}
    for flag, group in shown.groupby("flag", sort=False):
        ax.scatter(
            group["patients_scored"],
            group["percent"],
            color=colours[flag],
            marker=markers[flag],
            s=28,
            zorder=3,
            label={"": "site", "alert": "alert (outside 95%)", "alarm": "alarm (outside 99.8%)"}[flag],
        )
    for site, row in shown.iterrows():
        ax.annotate(
            str(site),
            (row["patients_scored"], row["percent"]),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=SMALL_FONT - 1,
        )
    ax.set_xlabel("patients with a complete TIS", fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.set_ylim(0, 100)
    ax.set_xlim(0, n_max * 1.15 + 1)
    ax.legend(fontsize=SMALL_FONT - 1, frameon=False, loc="lower right", ncol=2)
    flagged = [f"{s} ({r.flag}, {r.direction})" for s, r in shown[shown["flag"] != ""].iterrows()]
    pooled = f"the pooled {100 * target:.1f}%" if np.isfinite(target) else "no pooled proportion"
    return _finish(
        figure,
        f"Funnel plot of {len(shown)} sites: {ylabel} against patients with a complete TIS, "
        f"with {pooled} and its 95% and 99.8% exact binomial limits"
        + (f" widened for over-dispersion (phi {phi:.2f})" if phi > 1 else "")
        + ". "
        + ("Outside a limit: " + "; ".join(flagged) + "." if flagged else "No site lies outside the limits."),
    )


def trend_figure(trends: pd.DataFrame, ax=None):
    """Each site's responder percentage at each run of the output folder (one line per site).

    ``trends``: from :func:`ivig_kit.reports.content.trends.site_trends`.
    """
    figure, ax = _axes(ax, 6.5, 3.2)
    runs = list(dict.fromkeys(trends["run_at"]))
    position = {run: i for i, run in enumerate(runs)}
    for site, group in trends.groupby("site", sort=False):
        x = [position[r] for r in group["run_at"]]
        ax.plot(x, group["responder_percent"], marker="o", ms=3, lw=1, label=str(site))
    ax.set_xticks(range(len(runs)), [r[:16].replace("T", "\n") for r in runs], fontsize=SMALL_FONT - 1)
    ax.set_ylabel("% responders", fontsize=FONT)
    ax.set_xlabel("run of the batch", fontsize=FONT)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=SMALL_FONT - 1, frameon=False, ncol=3, loc="lower left")
    last = trends[trends["run_at"] == runs[-1]] if runs else trends
    first = trends[trends["run_at"] == runs[0]] if runs else trends
    change = [
        f"{s} {a:.0f}% to {b:.0f}%"
        for s, a, b in zip(
            last["site"], first.set_index("site")["responder_percent"].reindex(last["site"]), last["responder_percent"]
        )
        if pd.notna(a) and pd.notna(b)
    ]
    return _finish(
        figure,
        f"Line chart of each site's responder percentage over {len(runs)} runs, from "
        f"{runs[0][:10] if runs else '-'} to {runs[-1][:10] if runs else '-'}. First to last run: "
        + ("; ".join(change) or "no site in both")
        + ".",
    )
