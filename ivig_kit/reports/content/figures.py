"""The report figures (matplotlib): one site's, each taking a loaded
:class:`~ivig_kit.reports.content.site.SiteReport`, and the registry report's (the funnel plot of every site and
each site's trend across runs). Each is ``name(data, ax=None) -> Figure``: it draws on ``ax`` when given, else on
a new figure, and changes no global state (the Figure API, never pyplot; ``rcParams`` only inside its own
call, by ``rc_context``).

Every text is drawn literally, never as mathtext (a site or arm name may hold ``$``): each figure function
runs with ``text.parse_math`` off, so the texts it creates (legends, notes, and on a figure of its own the title,
axis labels and tick labels) are literal; on the caller's axes, only the texts it sets are made literal.

Print-ready: drawn at :data:`FIGURE_DPI` (150) and at most :data:`MAX_WIDTH_IN` inches wide, so they are
shown at full size on an A4 page and their smallest text (:data:`SMALL_FONT`) stays readable there.
Each figure's label (``figure.get_label()``) is its alt text, a plain-language description of what it
shows with its key numbers, which :func:`ivig_kit.reports.content.display.figure_html` puts on the image.

A process that forks report kernels makes the site figures' empty axes ahead (:func:`make_figure_templates`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from ivig_kit.inference.funnel import ALARM_LEVEL, ALERT_LEVEL, funnel_limits
from ivig_kit.reports.content import figure_templates
from ivig_kit.reports.content.site import SiteReport
from ivig_kit.reports.content.tables import csm_contributions, responders_by_visit
from ivig_kit.score.measures import CATEGORY_THRESHOLDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

FIGURE_DPI = 150
#: The widest figure, in inches: the text width of an A4 page with 15 mm margins is 7.1 in.
MAX_WIDTH_IN = 7.0
#: Font sizes in points, at print size (the figure is never scaled down on an A4 page).
SMALL_FONT, FONT = 8, 9
ARM_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
#: In force while a figure is drawn: texts literal; tick labels as plain numbers even when the user's
#: rcParams ask for mathtext ones (a literal ``$\mathdefault{20}$`` would show otherwise).
LITERAL_TEXT: dict[RcKeyType, object] = {"text.parse_math": False, "axes.formatter.use_mathtext": False}
_P = ParamSpec("_P")
_R = TypeVar("_R")


# --- Figures -------------------------------------------------------------------------------------------------


#: A site report's figures as :func:`_figure` is asked for them ((width, height[, panels]), margins in inches):
#: :func:`make_figure_templates` makes them ahead. The TIS figure has a panel per arm, each this size.
SITE_FIGURE_SIZES: dict[str, tuple[tuple[float, ...], dict[str, float]]] = {
    "tis panel": ((3.5, 3.4), {}),
    "responders": ((6.5, 3.2), {}),
    "csm contributions": ((7.0, 3.0), {"left": 2.2}),
    "funnel": ((6.0, 3.2), {}),
}
#: Ticks made ahead on each axis of a figure template: more than any report figure shows.
TEMPLATE_TICKS = 10


def _tis_size(panels: int) -> tuple[float, ...]:
    """The TIS figure's (width, height, panels): one panel of ``SITE_FIGURE_SIZES["tis panel"]`` per arm."""
    (width, height), _ = SITE_FIGURE_SIZES["tis panel"]
    return width * panels, height, panels


def _shape(width: float, height: float, columns: int = 1, left: float = 0.8, top: float = 0.35) -> tuple:
    """A new figure's (width, height, panels, left and top margins), never wider than :data:`MAX_WIDTH_IN`."""
    return min(width, MAX_WIDTH_IN), height, columns, left, top


def _new_figure(width: float, height: float, columns: int, left: float, top: float) -> tuple[Figure, list[Axes]]:
    """A figure with ``columns`` panels sharing y and fixed margins (a layout engine would cost a third of the
    drawing time)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=FIGURE_DPI)
    axes = list(figure.subplots(1, columns, sharey=True, squeeze=False)[0])
    figure.subplots_adjust(
        left=left / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - top / height, wspace=0.06
    )
    return figure, axes


def _figure(*size: float, ax: Axes | Sequence[Axes] | None = None, **margins: float) -> tuple[Figure, list[Axes]]:
    """The caller's axes or a new figure of ``size`` (width, height[, panels]) and ``margins`` (``left``, ``top``),
    see :func:`_shape`; a template made ahead for that shape when there is one."""
    shape = _shape(*size, **margins)  # type: ignore[arg-type]
    columns = shape[2]
    if ax is not None:
        axes = [ax] if not isinstance(ax, (Sequence, np.ndarray)) else list(ax)
        if len(axes) != columns:
            raise ValueError(f"this figure draws {columns} panel(s): give as many axes, not {len(axes)}")
        figure = axes[0].figure
    else:
        figure, axes = figure_templates.take(shape) or _new_figure(*shape)
    for panel in axes:
        panel.tick_params(labelsize=SMALL_FONT)
        panel.xaxis.label.set_size(FONT)
        panel.yaxis.label.set_size(FONT)
        panel.title.set_size(FONT)
    return figure, axes


def make_figure_templates(arms: Sequence[int] = (1, 2)) -> None:
    """Make one empty figure of each of a site report's shapes (:data:`SITE_FIGURE_SIZES`; the TIS figure with
    each number of ``arms``), with :data:`TEMPLATE_TICKS` ticks on each axis, for :func:`_figure` to take.

    Done once by a process that forks report kernels (a batch's zygote); see :mod:`.figure_templates`.
    """
    import matplotlib

    asked: list[tuple[tuple[float, ...], dict[str, float]]] = [(_tis_size(n), {}) for n in arms]
    asked += [SITE_FIGURE_SIZES[name] for name in ("responders", "csm contributions", "funnel")]
    with matplotlib.rc_context(LITERAL_TEXT):  # as the figure functions create their ticks
        for size, margins in asked:
            shape = _shape(*size, **margins)  # type: ignore[arg-type]
            figure, axes = _new_figure(*shape)
            for axis in (a for panel in axes for a in (panel.xaxis, panel.yaxis)):
                axis.get_major_ticks(TEMPLATE_TICKS)
            figure_templates.keep(shape, figure, axes)


def _literal_text(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a figure function under :data:`LITERAL_TEXT`, restored on return: every text it creates is literal
    (a walk over the figure's texts afterwards would create every tick only to flag it)."""

    @functools.wraps(draw)
    def drawn(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        import matplotlib

        with matplotlib.rc_context(LITERAL_TEXT):
            return draw(*args, **kwargs)

    return drawn


def _finish(figure: Figure, alt: str) -> Figure:
    """Set the figure's alt text (its label)."""
    figure.set_label(alt)
    return figure


def _legend(figure: Figure, ax: Axes, own: bool, columns: int = 3) -> None:
    """The legend below the axes on a figure of ours; inside the caller's axes, whose figure is not resized."""
    if own:
        legend_below(figure, ax, columns)
    elif ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=SMALL_FONT, frameon=False)


def legend_below(figure, ax, columns: int = 3):
    """The axes' legend under the plotting area, never over data: the figure grows by the legend's rows so
    the axes keep their size in inches (and the print its layout)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    rows = -(-len(labels) // columns)
    extra = 0.2 * rows + 0.1
    width, height = figure.get_size_inches()
    params = figure.subplotpars
    bottom, top = params.bottom * height, (1 - params.top) * height
    figure.set_size_inches(width, height + extra)
    figure.subplots_adjust(bottom=(bottom + extra) / (height + extra), top=1 - top / (height + extra))
    return figure.legend(
        handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=columns, fontsize=SMALL_FONT, frameon=False
    )


def _colour(report: SiteReport, arm: str) -> str:
    arms = report.arms
    return ARM_COLOURS[arms.index(arm) % len(ARM_COLOURS)] if arm in arms else "#444444"


def _threshold_lines(ax, report: SiteReport) -> None:
    for threshold, name in zip(CATEGORY_THRESHOLDS[report.population], ("minimal", "moderate", "major")):
        ax.axhline(threshold, color="grey", lw=0.8, ls="--")
        ax.text(
            0.99,
            threshold,
            f" {name} ({threshold:g})",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=SMALL_FONT,
            color="grey",
        )


def _patient_courses(ax, scores: pd.DataFrame, colour: str) -> None:
    """One translucent line per patient (TIS against week) with a dot at each visit: one collection of lines
    and one set of markers, which draw as separate lines do (overlaps darken) at a fraction of the cost of a
    line object per patient."""
    from matplotlib.collections import LineCollection

    ordered = scores.sort_values(["patient_id", "week"], kind="stable")
    weeks, tis = ordered["week"].to_numpy(dtype=float), ordered["tis"].to_numpy(dtype=float)
    patient = ordered["patient_id"].to_numpy()
    starts = np.flatnonzero(patient[1:] != patient[:-1]) + 1
    courses = [
        np.column_stack(pair) for pair in zip(np.split(weeks, starts), np.split(tis, starts)) if len(pair[0]) > 1
    ]
    ax.add_collection(LineCollection(courses, colors=colour, alpha=0.35, linewidths=0.9))
    ax.plot(weeks, tis, ls="none", color=colour, alpha=0.35, marker=".", ms=3)


@_literal_text
def tis_over_time_figure(report: SiteReport, ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Each patient's TIS at every follow-up visit, one panel per arm; x marks a confirmed deterioration.

    ``ax``: one axes per arm (a single one for a one-arm report), or None for a new figure.
    """
    groups = report.arms or ["All"]
    own = ax is None
    figure, axes = _figure(*_tis_size(len(groups)), ax=ax)
    shown = [c for c in ("patient_id", "week", "tis", "arm", "confirmed_deterioration") if c in report.scores]
    scores = report.scores.loc[report.scores["tis"].notna(), shown]  # every row selection copies the columns
    panels = []  # the alt text's numbers, one per arm
    for ax, arm in zip(axes, groups):
        mine = scores if arm == "All" else scores[scores["arm"] == arm]
        colour = _colour(report, arm)
        _patient_courses(ax, mine, colour)
        median = mine[mine["week"].isin(report.visit_pattern)].groupby("week")["tis"].median()
        ax.plot(median.index, median.values, color="black", lw=2, label="median")
        worse = mine[mine["confirmed_deterioration"].fillna(False).astype(bool)]
        ax.plot(worse["week"], worse["tis"], "x", color="crimson", ms=7, mew=2, label="confirmed deterioration")
        _threshold_lines(ax, report)
        patients = mine["patient_id"].nunique()
        # The caller's title is not literal yet. On a figure of ours, nothing is above the axes: the title's
        # place is fixed, which spares matplotlib a second layout of the y axis at every draw to find it.
        ax.set_title(f"{arm} (n={patients})", parse_math=False, y=1.0 if own else None)
        ax.set(xlabel="week", ylim=(-2, 102), xticks=[w for w in report.visit_pattern if w > 0])
        last = f"median TIS {median.iloc[-1]:.1f} at week {median.index[-1]:g}" if len(median) else "no complete TIS"
        panels.append(f"{arm}: {patients} patients, {last}, {len(worse)} confirmed deterioration mark(s)")
    axes[0].set_ylabel("Total Improvement Score")
    _legend(figure, axes[0], own, columns=2)
    return _finish(
        figure,
        f"Line chart of each patient's Total Improvement Score (0 to 100) against week, one panel "
        f"per arm, with dashed lines at the {report.population} thresholds "
        f"{', '.join(f'{t:g}' for t in CATEGORY_THRESHOLDS[report.population])}. " + "; ".join(panels) + ".",
    )


@_literal_text
def responders_figure(report: SiteReport, table: pd.DataFrame | None = None, ax: Axes | None = None) -> Figure:
    """Responder percentage by scheduled week and arm with 95% CIs, next to all sites pooled."""
    table = responders_by_visit(report) if table is None else table
    own = ax is None
    size, margins = SITE_FIGURE_SIZES["responders"]
    figure, (ax,) = _figure(*size, ax=ax, **margins)
    arms = report.arms or [None]
    for offset, arm in zip(np.linspace(-0.5, 0.5, len(arms)), arms):
        rows = table if arm is None else table[table["arm"] == arm]
        ax.errorbar(
            rows["week"] + offset,
            rows["percent"],
            yerr=[rows["percent"] - rows["ci_low"], rows["ci_high"] - rows["percent"]],
            fmt="o-",
            capsize=3,
            color=_colour(report, arm),
            label=arm or report.site,
        )
    pooled = report.pooled_by_week
    ax.plot(
        pooled["week"], pooled["percent"], color="grey", ls=":", marker="s", ms=4, label="all sites pooled (both arms)"
    )
    ax.set(
        xlabel="week",
        ylabel=f"% with TIS >= {report.threshold:g}",
        ylim=(0, 100),
        xticks=[w for w in report.visit_pattern if w > 0],
    )
    _legend(figure, ax, own)
    last = []
    for arm in arms:
        rows = (table if arm is None else table[table["arm"] == arm]).dropna(subset=["percent"])
        if len(rows):
            row = rows.iloc[-1]
            last.append(
                f"{arm or report.site} {row['percent']:.1f}% at week {row['week']:g} "
                f"(95% CI {row['ci_low']:.1f} to {row['ci_high']:.1f}%)"
            )
    return _finish(
        figure,
        f"Points with 95% confidence bars: percentage of patients with a TIS of at least "
        f"{report.threshold:g} at each scheduled week, by arm, and a dotted grey line for all sites "
        f"pooled. Last week: " + ("; ".join(last) or "no patient scored") + ".",
    )


@_literal_text
def csm_contributions_figure(report: SiteReport, table: pd.DataFrame | None = None, ax: Axes | None = None) -> Figure:
    """Mean points per CSM by arm, against each CSM's maximum."""
    table = csm_contributions(report) if table is None else table
    own = ax is None
    size, margins = SITE_FIGURE_SIZES["csm contributions"]
    figure, (ax,) = _figure(*size, ax=ax, **margins)
    labels = [label.split(" (")[0] for label in table.index]
    positions = np.arange(len(table))
    columns = [c for c in table.columns if c.startswith("mean points") and "All" not in c] or [
        c for c in table.columns if c.startswith("mean points")
    ]
    height = 0.8 / len(columns)
    ax.barh(positions, table["maximum points"], color="none", edgecolor="grey", ls="--", label="maximum")
    for number, column in enumerate(columns):
        arm = column.removeprefix("mean points, ").split(" (")[0]
        ax.barh(
            positions - 0.4 + height * (number + 0.5),
            table[column].fillna(0),
            height=height,
            color=_colour(report, arm),
            label=column.removeprefix("mean points, "),
        )
    ax.set_yticks(positions, labels, fontsize=SMALL_FONT, parse_math=False)
    ax.invert_yaxis()
    ax.set_xlabel("points (at each patient's last complete TIS)")
    _legend(figure, ax, own)
    means = table[[c for c in table.columns if c.startswith("mean points")][-1]]
    ranked = means.dropna().sort_values(ascending=False)
    top = ", ".join(
        f"{label.split(' (')[0]} {value:.1f} of {table.at[label, 'maximum points']:g}"
        for label, value in ranked.head(2).items()
    )
    return _finish(
        figure,
        "Horizontal bar chart of the mean points each of the six core set measures contributes to "
        "the TIS, by arm, against dashed boxes at each measure's maximum. "
        + (f"Largest contributions (all patients): {top}." if top else "No patient has a complete TIS."),
    )


@_literal_text
def funnel_figure(report: SiteReport, ax: Axes | None = None) -> Figure:
    """Responder percentage of every site against its number of scored patients, with pooled control limits.

    Other sites are unnamed grey points: the report compares, it does not rank named sites."""
    own = ax is None
    size, margins = SITE_FIGURE_SIZES["funnel"]
    figure, (ax,) = _figure(*size, ax=ax, **margins)
    pooled_percent = report.pooled_metrics.get("responder_percent")  # None: suppressed, too few patients
    pooled = None if pooled_percent is None else pooled_percent / 100
    n_max = max([report.site_metrics["patients_scored"], *report.other_sites["patients_scored"], 2])
    n = np.arange(1, int(n_max * 1.1) + 2)
    if pooled is not None:  # exact binomial limits, interpolated (Spiegelhalter 2005), as in the registry report
        for level, style in ((0.95, "--"), (0.998, ":")):
            limits = funnel_limits(pooled, n, level)
            ax.plot(n, 100 * limits.lower, color="grey", ls=style, lw=0.8)
            ax.plot(n, 100 * limits.upper, color="grey", ls=style, lw=0.8, label=f"{100 * level:g}% limits")
        ax.axhline(100 * pooled, color="grey", lw=1, label="all sites pooled")
    ax.scatter(
        report.other_sites["patients_scored"],
        report.other_sites["responder_percent"],
        color="lightgrey",
        edgecolor="grey",
        label="other sites",
        zorder=3,
    )
    ax.scatter(
        [report.site_metrics["patients_scored"]],
        [report.site_metrics["responder_percent"]],
        color="crimson",
        s=60,
        label=report.site,
        zorder=4,
    )
    ax.set(xlabel="patients with a complete TIS", ylabel=f"% responders (TIS >= {report.threshold:g})", ylim=(0, 100))
    _legend(figure, ax, own)
    mine = report.site_metrics
    return _finish(
        figure,
        "Funnel plot: percentage of responders of every site against its number of patients with "
        "a complete TIS, "
        + (
            f"with the pooled percentage ({100 * pooled:.1f}%) and its 95% and 99.8% control limits. "
            if pooled is not None
            else "without pooled limits (too few patients in the other sites to be shared). "
        )
        + f"This site, {report.site}: {mine['responder_percent']:.1f}% of "
        f"{mine['patients_scored']} patients; {len(report.other_sites)} other sites as unnamed "
        f"grey points.",
    )


# --- The registry report's figures ----------------------------------------------------------------------------


@_literal_text
def registry_funnel_figure(
    funnel: pd.DataFrame, target: float, phi: float = 1.0, ylabel: str = "% responders", ax: Axes | None = None
) -> Figure:
    """Each site's percentage against its number of patients, with 95% and 99.8% limits around ``target``.

    Parameters
    ----------
    funnel : DataFrame
        From :func:`ivig_kit.reports.content.registry_funnel.funnel_table` (index: site).
    target : float
        The pooled proportion.
    phi : float
        Over-dispersion the limits are widened by (1: exact limits).
    ylabel : str
        The y-axis label.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    Figure
        Its label is the alt text: the flagged sites and the pooled proportion.
    """
    figure, (ax,) = _figure(6.5, 3.6, left=0.75, top=0.2, ax=ax)
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
    ax.set_ylabel(ylabel, fontsize=FONT, parse_math=False)
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


@_literal_text
def registry_trend_figure(trends: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Each site's responder percentage at each run of the output folder (one line per site).

    ``trends``: from :func:`ivig_kit.reports.content.trends.site_trends`.
    """
    figure, (ax,) = _figure(6.5, 3.2, left=0.75, top=0.2, ax=ax)
    runs = list(dict.fromkeys(trends["run_at"]))
    position = {run: i for i, run in enumerate(runs)}
    for site, group in trends.groupby("site", sort=False):
        x = [position[r] for r in group["run_at"]]
        ax.plot(x, group["responder_percent"], marker="o", ms=3, lw=1, label=str(site))
    ax.set_xticks(
        range(len(runs)), [r[:16].replace("T", "\n") for r in runs], fontsize=SMALL_FONT - 1, parse_math=False
    )
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
