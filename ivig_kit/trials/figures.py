"""Figures of the two trial reanalyses: the pilot (reconstructed cohort; every figure says so) and
ProDERM (published aggregates only). Each function draws what it is given and returns the figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

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


def tis_over_time_figure(scores: pd.DataFrame, courses: pd.DataFrame, ax=None):
    """Each analysed patient's TIS by week, responders vs not, with the TIS 40 line (cf. the paper's Fig. 3)."""
    responder = courses.set_index("patient_id")["responder"]
    baseline = scores.groupby("patient_id", as_index=False).first()[["patient_id"]].assign(week=0.0, tis=0.0)
    lines = pd.concat([baseline, scores[["patient_id", "week", "tis"]]]).sort_values(["patient_id", "week"])
    lines = lines[lines["patient_id"].isin(courses.loc[courses["analysed"], "patient_id"])]
    lines["group"] = lines["patient_id"].map(responder).map({True: "TIS >= 40 by week 9", False: "not reached"})
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    sns.lineplot(data=lines, x="week", y="tis", units="patient_id", estimator=None, hue="group",
                 palette={"TIS >= 40 by week 9": "tab:green", "not reached": "tab:grey"}, marker="o", ax=ax)
    ax.axhline(PRIMARY_THRESHOLD, color="tab:red", linestyle="--", linewidth=1)
    ax.axhline(MINIMAL_THRESHOLD, color="tab:orange", linestyle=":", linewidth=1)
    ax.set(xlabel="week", ylabel="Total Improvement Score", ylim=(-2, 100), xticks=[0, 3, 4, 6, 9],
           title="TIS over time per patient")
    ax.text(0.01, 0.97, RECONSTRUCTED_NOTE, transform=ax.transAxes, fontsize=8, va="top", color="tab:red")
    ax.legend(title=None, loc="upper right")
    return ax


def cumulative_responders_figure(cumulative: pd.DataFrame, ax=None):
    """Share of analysed patients who had reached TIS >= 40, by week (step plot)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    weeks = [0, *cumulative["week"]]
    counts = [0, *cumulative["responders"]]
    ax.step(weeks, counts, where="post", color="tab:green")
    ax.set(xlabel="week", ylabel=f"responders (of {int(cumulative['analysed'].iloc[0])})",
           title="Cumulative responders (TIS >= 40)", xticks=weeks, ylim=(0, int(cumulative["analysed"].iloc[0])))
    for week, count in zip(weeks[1:], counts[1:]):
        ax.annotate(str(count), (week, count), textcoords="offset points", xytext=(0, 4), ha="center")
    return ax


def interval_figure(intervals: pd.DataFrame, printed=None, ax=None):
    """Interval estimates of one proportion by method, with the paper's printed interval for comparison."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    ordered = intervals.reset_index(drop=True)
    for row, item in ordered.iterrows():
        ax.plot([item["low"] * 100, item["high"] * 100], [row, row], color="tab:blue", linewidth=3)
    labels = list(ordered["method"])
    if printed is not None:
        ax.plot([printed[0], printed[1]], [len(ordered)] * 2, color="tab:red", linewidth=3)
        labels.append("as printed in the paper")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="response rate (%)", title="95% intervals for 8/19", xlim=(0, 100))
    return ax


def posterior_figure(posterior, threshold: float = 0.30, observed: tuple[int, int] | None = None, ax=None):
    """Density of a Beta posterior of the response rate, shading the part above ``threshold``."""
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    rate = np.linspace(0, 1, 501)
    density = posterior.pdf(rate)
    ax.plot(rate * 100, density, color="tab:blue")
    above = rate >= threshold
    ax.fill_between(rate[above] * 100, density[above], color="tab:blue", alpha=0.25,
                    label=f"P(rate > {threshold:.0%}) = {posterior.sf(threshold):.2f}")
    ax.axvline(threshold * 100, color="tab:red", linestyle="--", linewidth=1)
    title = "Posterior of the response rate"
    if observed is not None:
        title += f" after {observed[0]}/{observed[1]} (Beta(1, 1) prior)"
    ax.set(xlabel="response rate (%)", ylabel="density", title=title, xlim=(0, 100))
    ax.legend(loc="upper right")
    return ax


# --- figures of the efficacy endpoints ---

def forest_plot(intervals: pd.DataFrame | None = None, methods=("wald", "newcombe", "score", "agresti_caffo"),
                ax=None):
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
        ax.errorbar(published["published_estimate"], y + offsets[0], capsize=3, color="black", fmt="s",
                    xerr=[[published["published_estimate"] - published["published_low"]],
                          [published["published_high"] - published["published_estimate"]]],
                    label="published (NEJM)" if row_number == 0 else None)
        for colour, (offset, method) in enumerate(zip(offsets[1:], methods)):
            row = rows[rows["method"] == method].iloc[0]
            ax.errorbar(row["estimate"], y + offset, fmt="o", capsize=2, color=f"C{colour}", markersize=4,
                        xerr=[[row["estimate"] - row["low"]], [row["high"] - row["estimate"]]],
                        label=RISK_DIFFERENCE_METHODS[method][0] if row_number == 0 else None)
    counts = nejm.groupby("endpoint")["counts"].first()
    labels = [ENDPOINTS[e].replace(" and ", "\nand ") + f"\n({counts[e]} counts)" for e in endpoints]
    ax.set_yticks(range(len(endpoints) - 1, -1, -1), labels)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"risk difference IVIg - placebo at week {PRIMARY_WEEK}, percentage points (95% CI)")
    ax.set_title(f"ProDERM TIS endpoints: published intervals and the kit's\n({NO_PATIENT_DATA})", fontsize=10)
    ax.figure.legend(fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    return ax.figure


def mean_tis_over_time_figure(table: pd.DataFrame | None = None, ax=None):
    """Published mean TIS at weeks 16, 28 and 40 in both sequences; SD bars where printed (week 16)."""
    table = mean_tis_over_time() if table is None else table
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    sequences = table.groupby("sequence", sort=True)
    for colour, shift, (sequence, rows) in zip(("tab:blue", "tab:orange"), (-0.25, 0.25), sequences):
        ax.errorbar(rows["week"] + shift, rows["mean_tis"], yerr=rows["sd"], fmt="o-", capsize=3, color=colour,
                    label=sequence)
        for week, mean in zip(rows["week"], rows["mean_tis"]):
            ax.annotate(f"{mean:g}", (week, mean), textcoords="offset points", xytext=(6, -12), fontsize=8,
                        color=colour)
    ax.axvspan(PRIMARY_WEEK, table["week"].max() + 2, color="0.92", zorder=0)
    ax.text(PRIMARY_WEEK + 0.5, 97, "open-label: everyone on IVIg", fontsize=8, va="top")
    ax.text(0.5, 97, "double-blind", fontsize=8, va="top")
    for threshold in (MINIMAL, MODERATE, MAJOR):
        ax.axhline(threshold, color="0.6", linestyle=":", linewidth=0.8)
    ax.set(xlim=(0, table["week"].max() + 2), ylim=(0, 100), xlabel="week", ylabel="mean TIS (published)",
           xticks=[0, *sorted(table["week"].unique())],
           title="Mean TIS by sequence (bars: +/- 1 SD, printed for week 16 only)")
    ax.legend(loc="lower right", frameon=False)
    ax.text(0.01, 0.01, f"TIS is 0 at baseline by definition\n{NO_PATIENT_DATA}", transform=ax.transAxes,
            fontsize=7, color="0.3")
    ax.figure.tight_layout()
    return ax.figure


def risk_difference_posterior_figure(draws: np.ndarray, posterior, ax=None):
    """Histogram of posterior draws of the risk difference (from ``comparison``), with P(RD > t) marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(100 * draws, bins=120, density=True, color="tab:blue", alpha=0.6)
    for threshold, probability in posterior.probability_above.items():
        ax.axvline(100 * threshold, color="tab:red", linestyle="--", linewidth=1)
        ax.text(100 * threshold - 0.8, ax.get_ylim()[1] * 0.55, f"P(RD > {100 * threshold:g}) = {probability:.4f}",
                fontsize=8, color="tab:red", rotation=90, ha="right", va="center")
    ax.axvspan(100 * posterior.low, 100 * posterior.high, color="tab:blue", alpha=0.1,
               label=f"{posterior.credibility:.0%} credible interval")
    ax.set(xlabel="risk difference IVIg - placebo, percentage points", ylabel="posterior density",
           title=f"Posterior of the risk difference, Beta{tuple(posterior.prior)} priors")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.figure.tight_layout()
    return ax.figure
