"""Figures of the two trial reanalyses: the pilot (reconstructed cohort; every figure says so) and
ProDERM (published aggregates only). Each function is ``name(data, ax=None) -> Figure``: it draws what
it is given on ``ax`` (a new figure by default) and changes no global matplotlib state.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ivig_kit.inference.two_arm import RISK_DIFFERENCE_METHODS
from ivig_kit.trials.pilot import MINIMAL_THRESHOLD, PRIMARY_THRESHOLD
from ivig_kit.trials.proderm import (
    ENDPOINTS,
    MAJOR,
    MINIMAL,
    MODERATE,
    NO_PATIENT_DATA,
    PRIMARY_WEEK,
    endpoint_intervals,
    mean_tis_over_time,
)

RECONSTRUCTED_NOTE = "Reconstructed (synthetic) cohort - not the trial's patient data"


def svg_figures_with_text() -> None:
    """Show the notebook's figures as SVG with real text (not outlines), so that a figure's labels,
    the synthetic-data label among them, can be read, searched and tested in the saved notebook."""
    import matplotlib
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "ivig-kit"  # stable ids: the same figure gives the same SVG
    set_matplotlib_formats("svg")


def _synthetic_label(ax, data_source: str) -> None:
    """The data's own label inside the axes, bottom left, drawn above everything (a legend cannot hide it)."""
    ax.text(
        0.01,
        0.02,
        f"{RECONSTRUCTED_NOTE}\ndata_source: {data_source}",
        transform=ax.transAxes,
        fontsize=7,
        va="bottom",
        ha="left",
        color="tab:red",
        zorder=10,
        bbox={"facecolor": "white", "edgecolor": "tab:red", "alpha": 0.9, "boxstyle": "round,pad=0.3"},
    )


def tis_over_time_figure(scores: pd.DataFrame, courses: pd.DataFrame, ax=None) -> Figure:
    """Each analysed patient's TIS by week, responders vs not, with the TIS 40 line (cf. the paper's Fig. 3).

    The legend sits outside the axes and the synthetic-data label inside them, above the lines.
    """
    responder = courses.set_index("patient_id")["responder"]
    baseline = scores.groupby("patient_id", as_index=False).first()[["patient_id"]].assign(week=0.0, tis=0.0)
    lines = pd.concat([baseline, scores[["patient_id", "week", "tis"]]]).sort_values(["patient_id", "week"])
    lines = lines[lines["patient_id"].isin(courses.loc[courses["analysed"], "patient_id"])]
    lines["group"] = lines["patient_id"].map(responder).map({True: "TIS >= 40 at the end", False: "not reached"})
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    sns.lineplot(
        data=lines,
        x="week",
        y="tis",
        units="patient_id",
        estimator=None,
        hue="group",
        palette={"TIS >= 40 at the end": "tab:green", "not reached": "tab:grey"},
        marker="o",
        ax=ax,
    )
    ax.axhline(PRIMARY_THRESHOLD, color="tab:red", linestyle="--", linewidth=1)
    ax.axhline(MINIMAL_THRESHOLD, color="tab:orange", linestyle=":", linewidth=1)
    ax.set(
        xlabel="week",
        ylabel="Total Improvement Score",
        ylim=(-12, 100),
        xticks=[0, 3, 4, 6, 9],
        title="TIS over time per patient",
    )
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _synthetic_label(ax, courses["data_source"].iloc[0])
    return ax.figure


def cumulative_responders_figure(cumulative: pd.DataFrame, ax=None) -> Figure:
    """Responders (TIS >= 40 at the end) by the week they first reached it (step plot)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    weeks = [0, *cumulative["week"]]
    counts = [0, *cumulative["responders"]]
    analysed = int(cumulative["analysed"].iloc[0])
    ax.step(weeks, counts, where="post", color="tab:green")
    ax.set(
        xlabel="week",
        ylabel=f"responders (of {analysed})",
        title="Cumulative responders (TIS >= 40)",
        xticks=weeks,
        ylim=(-3, analysed),
    )
    ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    for week, count in zip(weeks[1:], counts[1:]):
        ax.annotate(str(count), (week, count), textcoords="offset points", xytext=(0, 4), ha="center")
    _synthetic_label(ax, cumulative["data_source"].iloc[0])
    return ax.figure


def interval_figure(intervals: pd.DataFrame, printed=None, ax=None) -> Figure:
    """Interval estimates of one proportion by method, with the paper's printed interval for comparison."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    ordered = intervals.reset_index(drop=True)
    for row, item in ordered.iterrows():
        ax.plot([item["low"] * 100, item["high"] * 100], [row, row], color="tab:blue", linewidth=3)
    labels = list(ordered["method"])
    if printed is not None:
        ax.plot([printed[0], printed[1]], [len(ordered)] * 2, color="tab:red", linewidth=3)
        labels.append("as printed in the paper")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="response rate (%)", title="95% intervals for 8/19", xlim=(0, 100))
    return ax.figure


def posterior_figure(posterior, threshold: float = 0.30, observed: tuple[int, int] | None = None, ax=None) -> Figure:
    """Density of a Beta posterior of the response rate, shading the part above ``threshold``."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    rate = np.linspace(0, 1, 501)
    density = posterior.pdf(rate)
    ax.plot(rate * 100, density, color="tab:blue")
    above = rate >= threshold
    ax.fill_between(
        rate[above] * 100,
        density[above],
        color="tab:blue",
        alpha=0.25,
        label=f"P(rate > {threshold:.0%}) = {posterior.sf(threshold):.2f}",
    )
    ax.axvline(threshold * 100, color="tab:red", linestyle="--", linewidth=1)
    title = "Posterior of the response rate"
    if observed is not None:
        title += f" after {observed[0]}/{observed[1]} (Beta(1, 1) prior)"
    ax.set(xlabel="response rate (%)", ylabel="density", title=title, xlim=(0, 100))
    ax.legend(loc="upper right")
    return ax.figure


# --- figures of the efficacy endpoints ---


def forest_figure(
    intervals: pd.DataFrame | None = None, methods=("wald", "newcombe", "score", "agresti_caffo"), ax=None
) -> Figure:
    """Risk differences of the three TIS endpoints (percentage points): the NEJM's published interval
    (black) and the kit's intervals by several methods, one row per endpoint."""
    intervals = endpoint_intervals() if intervals is None else intervals
    nejm = intervals[intervals["reference"].str.startswith("NEJM")]
    endpoints = list(dict.fromkeys(nejm["endpoint"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.2 + 1.1 * len(endpoints)), layout="constrained")
    offsets = np.linspace(0.25, -0.25, len(methods) + 1)
    for row_number, endpoint in enumerate(endpoints):
        rows = nejm[nejm["endpoint"] == endpoint]
        y = len(endpoints) - 1 - row_number
        published = rows.iloc[0]
        ax.errorbar(
            published["published_estimate"],
            y + offsets[0],
            capsize=3,
            color="black",
            fmt="s",
            xerr=[
                [published["published_estimate"] - published["published_low"]],
                [published["published_high"] - published["published_estimate"]],
            ],
            label="published (NEJM)" if row_number == 0 else None,
        )
        for colour, (offset, method) in enumerate(zip(offsets[1:], methods)):
            row = rows[rows["method"] == method].iloc[0]
            ax.errorbar(
                row["estimate"],
                y + offset,
                fmt="o",
                capsize=2,
                color=f"C{colour}",
                markersize=4,
                xerr=[[row["estimate"] - row["low"]], [row["high"] - row["estimate"]]],
                label=RISK_DIFFERENCE_METHODS[method][0] if row_number == 0 else None,
            )
    counts = nejm.groupby("endpoint")["counts"].first()
    labels = [ENDPOINTS[e].replace(" and ", "\nand ") + f"\n({counts[e]} counts)" for e in endpoints]
    ax.set_yticks(range(len(endpoints) - 1, -1, -1), labels)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"risk difference IVIg - placebo at week {PRIMARY_WEEK}, percentage points (95% CI)")
    ax.set_title(f"ProDERM TIS endpoints: published intervals and the kit's\n({NO_PATIENT_DATA})", fontsize=10)
    ax.figure.legend(fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    return ax.figure


def mean_tis_over_time_figure(table: pd.DataFrame | None = None, ax=None) -> Figure:
    """Published mean TIS at weeks 16, 28 and 40 in both sequences; SD bars where printed (week 16)."""
    table = mean_tis_over_time() if table is None else table
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    sequences = table.groupby("sequence", sort=True)
    for colour, shift, (sequence, rows) in zip(("tab:blue", "tab:orange"), (-0.25, 0.25), sequences):
        ax.errorbar(
            rows["week"] + shift, rows["mean_tis"], yerr=rows["sd"], fmt="o-", capsize=3, color=colour, label=sequence
        )
        for week, mean in zip(rows["week"], rows["mean_tis"]):
            ax.annotate(
                f"{mean:g}", (week, mean), textcoords="offset points", xytext=(6, -12), fontsize=8, color=colour
            )
    ax.axvspan(PRIMARY_WEEK, table["week"].max() + 2, color="0.92", zorder=0)
    ax.text(PRIMARY_WEEK + 0.5, 97, "open-label: everyone on IVIg", fontsize=8, va="top")
    ax.text(0.5, 97, "double-blind", fontsize=8, va="top")
    for threshold in (MINIMAL, MODERATE, MAJOR):
        ax.axhline(threshold, color="0.6", linestyle=":", linewidth=0.8)
    ax.set(
        xlim=(0, table["week"].max() + 2),
        ylim=(0, 100),
        xlabel="week",
        ylabel="mean TIS (published)",
        xticks=[0, *sorted(table["week"].unique())],
        title="Mean TIS by sequence (bars: +/- 1 SD, printed for week 16 only)",
    )
    ax.legend(loc="lower right", frameon=False)
    ax.text(
        0.01,
        0.01,
        f"TIS is 0 at baseline by definition\n{NO_PATIENT_DATA}",
        transform=ax.transAxes,
        fontsize=7,
        color="0.3",
    )
    return ax.figure


def risk_difference_posterior_figure(draws: np.ndarray, posterior, ax=None) -> Figure:
    """Histogram of posterior draws of the risk difference (from ``comparison``), with P(RD > t) marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    ax.hist(100 * draws, bins=120, density=True, color="tab:blue", alpha=0.6)
    for threshold, probability in posterior.probability_above.items():
        ax.axvline(100 * threshold, color="tab:red", linestyle="--", linewidth=1)
        ax.text(
            100 * threshold - 0.8,
            ax.get_ylim()[1] * 0.55,
            f"P(RD > {100 * threshold:g}) = {probability:.4f}",
            fontsize=8,
            color="tab:red",
            rotation=90,
            ha="right",
            va="center",
        )
    ax.axvspan(
        100 * posterior.low,
        100 * posterior.high,
        color="tab:blue",
        alpha=0.1,
        label=f"{posterior.credibility:.0%} credible interval",
    )
    ax.set(
        xlabel="risk difference IVIg - placebo, percentage points",
        ylabel="posterior density",
        title=f"Posterior of the risk difference, Beta{tuple(posterior.prior)} priors",
    )
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    return ax.figure


def stratified_p_figure(splits: pd.DataFrame, printed: str = "0.0008", crude: dict | None = None, ax=None) -> Figure:
    """Distribution of the CMH p value over every two-stratum split of the primary table (log scale),
    with the band of values that print as ``printed`` and, if given, the crude tests' p values."""
    from ivig_kit.inference.printed import printed_decimals

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    logs = np.log10(splits["p_value"].clip(lower=1e-12))
    ax.hist(logs, bins=120, color="tab:blue", alpha=0.7)
    target, half = float(printed), 0.5 * 10 ** -printed_decimals(printed)
    ax.axvspan(
        np.log10(target - half), np.log10(target + half), color="tab:red", alpha=0.3, label=f"prints as {printed}"
    )
    for (name, p_value), style in zip((crude or {}).items(), ("-", "--", ":", "-.")):
        ax.axvline(np.log10(p_value), color="black", linestyle=style, linewidth=1, label=f"{name}: {p_value:.5f}")
    ax.set(
        xlabel="log10 of the stratified (CMH) p value",
        ylabel="count configurations (each once)",
        title=f"CMH p over all {len(splits):,} two-stratum count configurations of 37/47 vs 21/48",
    )
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.text(
        0.99,
        0.97,
        NO_PATIENT_DATA + ";\nevery split is hypothetical",
        transform=ax.transAxes,
        fontsize=7,
        ha="right",
        va="top",
        color="0.3",
    )
    return ax.figure
