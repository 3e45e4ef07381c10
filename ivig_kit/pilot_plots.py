"""Figures of the pilot reanalysis (reconstructed cohort; every figure says so)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ivig_kit.pilot import PRIMARY_THRESHOLD, MINIMAL_THRESHOLD

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
