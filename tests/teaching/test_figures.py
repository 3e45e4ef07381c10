"""The teaching figures: each returns a matplotlib figure with the expected axes and marks.

Checks the drawn data (line vertices, bar widths, titles), not pixels. The input tables are
written out here, so a plot that draws something other than its table fails.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ivig_kit.score.measures import CORE_SET
from ivig_kit.teaching import figures

LABELS = {name: spec.label for name, spec in CORE_SET.items()}
POINTS = {
    "physician_global": [0, 0, 7.5, 15, 17.5, 20],
    "patient_global": [0, 0, 2.5, 5, 7.5, 10],
    "mmt": [0, 0, 10, 20, 27.5, 32.5],
    "haq": [0, 0, 5, 7.5, 7.5, 10],
    "enzyme": [0, 0, 2.5, 5, 7.5, 7.5],
    "extramuscular": [0, 0, 7.5, 12.5, 15, 20],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def band_steps_by_hand() -> pd.DataFrame:
    """The published band table at each edge, typed in (tis.md)."""
    rows = []
    for name, points in POINTS.items():
        edges = (2, 10, 20, 30) if name == "mmt" else (5, 15, 25, 40)
        for percent, value in zip((-10, *edges, 60), points):
            rows.append({"measure": name, "label": LABELS[name], "percent": float(percent), "points": value})
    return pd.DataFrame(rows)


def test_band_step_figure_has_one_right_closed_step_panel_per_csm():
    figure = figures.band_step_figure(band_steps_by_hand())
    assert isinstance(figure, plt.Figure)
    panels = {ax.get_title(): ax for ax in figure.axes}
    assert set(panels) == set(LABELS.values())
    for name, label in LABELS.items():
        ax = panels[label]
        steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-pre"]
        assert len(steps) == 1
        assert list(steps[0].get_ydata()) == POINTS[name]
        edges = [2, 10, 20, 30] if name == "mmt" else [5, 15, 25, 40]
        assert list(steps[0].get_xdata()) == [-10, *edges, 60]
        # a dot at the closed top of each band: (edge, the lower band's points)
        dots = ax.collections[-1].get_offsets()
        assert dots.tolist() == [[edge, points] for edge, points in zip(edges, POINTS[name][1:5])]
        assert list(ax.get_xticks()) == edges
    assert figure.axes[0].get_ylabel() == "points"


def test_band_step_figure_draws_on_the_axes_it_is_given():
    figure, axes = plt.subplots(3, 2)
    assert figures.band_step_figure(band_steps_by_hand(), ax=axes) is figure
    assert {ax.get_title() for ax in axes.ravel()} == set(LABELS.values())
    with pytest.raises(ValueError, match="need 6 axes"):
        figures.band_step_figure(band_steps_by_hand(), ax=axes[0])


def core_set_by_hand() -> pd.DataFrame:
    maxima = {"physician_global": 20, "patient_global": 10, "mmt": 32.5, "haq": 10, "enzyme": 7.5, "extramuscular": 20}
    return pd.DataFrame(
        {"measure": list(maxima), "instrument": [LABELS[m] for m in maxima], "max points": list(maxima.values())}
    ).set_index("measure")


def test_weights_figure_draws_the_maxima_largest_first():
    figure = figures.weights_figure(core_set_by_hand())
    assert isinstance(figure, plt.Figure) and len(figure.axes) == 1
    ax = figure.axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [32.5, 20, 20, 10, 10, 7.5]
    assert ax.get_yticklabels()[0].get_text() == LABELS["mmt"]
    assert [text.get_text() for text in ax.texts] == ["32.5", "20", "20", "10", "10", "7.5"]
    assert sum(widths) == 100


def test_patient_points_figure_draws_earned_against_maximum():
    breakdown = pd.DataFrame(
        {
            "measure": list(LABELS),
            "label": list(LABELS.values()),
            "points": [7.5, 2.5, 10, 5, 7.5, 7.5],
            "max_points": [20, 10, 32.5, 10, 7.5, 20],
        }
    ).set_index("measure")
    figure = figures.patient_points_figure(breakdown)
    ax = figure.axes[0]
    maximum, earned = ax.containers
    assert [bar.get_width() for bar in maximum] == [20, 10, 32.5, 10, 7.5, 20]
    assert [bar.get_width() for bar in earned] == [7.5, 2.5, 10, 5, 7.5, 7.5]
    assert ax.get_title() == "TIS 40"  # 7.5 + 2.5 + 10 + 5 + 7.5 + 7.5
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["maximum", "earned"]
    assert figures.patient_points_figure(breakdown, "a synthetic patient").axes[0].get_title() == "a synthetic patient"
    existing = plt.subplots()[1]
    assert figures.patient_points_figure(breakdown, ax=existing) is existing.figure


def test_ceiling_effect_figure_one_step_line_per_scale_and_the_marks():
    # best MMT points by hand: 0-80 scale, baselines 70 (10/80 = 12.5% -> 20), 78 (2.5% -> 10), 79 (1.25% -> 0)
    ceiling = pd.DataFrame({"mmt_max": [80, 80, 80], "mmt baseline": [70, 78, 79], "best MMT points": [20, 10, 0]})
    figure = figures.ceiling_effect_figure(ceiling, marks={"effective ceiling": 79})
    ax = figure.axes[0]
    steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(steps) == 1
    assert list(steps[0].get_xdata()) == [70, 78, 79] and list(steps[0].get_ydata()) == [20, 10, 0]
    marks = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [list(line.get_xdata()) for line in marks] == [[79, 79]]
    assert [text.get_text() for text in ax.texts] == ["effective ceiling"]
    assert ax.get_xlabel() == "MMT baseline (scale 0-80)" and ax.get_legend() is None
    assert ax.get_ylim()[1] > 32.5


def test_ceiling_effect_figure_with_two_scales_has_a_legend():
    ceiling = pd.DataFrame(
        {"mmt_max": [80, 80, 150, 150], "mmt baseline": [70, 79, 140, 147], "best MMT points": [20, 0, 10, 0]}
    )
    ax = figures.ceiling_effect_figure(ceiling).axes[0]
    steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post" and len(line.get_xdata())]
    assert sorted(np.asarray(line.get_xdata()).tolist() for line in steps) == [[70, 79], [140, 147]]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["0-80", "0-150"]
    assert ax.get_xlabel() == "MMT baseline"
    existing = plt.subplots()[1]
    assert figures.ceiling_effect_figure(ceiling, ax=existing) is existing.figure
    assert figures.weights_figure(core_set_by_hand(), ax=existing) is existing.figure


def test_teaching_figures_leave_matplotlib_settings_alone():
    before = dict(matplotlib.rcParams)
    figures.band_step_figure(band_steps_by_hand())
    figures.weights_figure(core_set_by_hand())
    assert dict(matplotlib.rcParams) == before


def test_deterioration_figure_draws_each_worsening_as_a_share_of_its_criterion():
    # written out by hand: physician +2.0 / +2.2 / +0.5 cm, MMT 20 / 21.33 / 6.67 % worse; confirmed at week 8
    table = pd.DataFrame(
        {
            "week": [4.0, 8.0, 12.0],
            "physician worse (cm)": [2.0, 2.2, 0.5],
            "MMT worse (% of range)": [20.0, 64 / 3, 20 / 3],
            "confirmed deterioration": [False, True, False],
            "data_source": ["synthetic teaching patient (deterioration)"] * 3,
        }
    )
    fig = figures.deterioration_figure(table, {"physician worse (cm)": 2.0, "MMT worse (% of range)": 20.0})
    ax = fig.axes[0]
    physician, mmt = ax.get_lines()[:2]
    assert list(physician.get_ydata()) == pytest.approx([100, 110, 25])
    assert list(mmt.get_ydata()) == pytest.approx([100, 106.667, 33.333], abs=1e-3)
    assert [line.get_ydata()[0] for line in ax.get_lines()[2:]] == [100]  # the criterion line
    shaded = [p for p in ax.patches]
    assert len(shaded) == 1 and shaded[0].get_x() == pytest.approx(3.4)  # weeks 4 and 8, shaded together
    assert "synthetic" in ax.get_title()
    (existing,) = plt.subplots(1, 1)[1:]  # an axis passed in is drawn on, and its figure returned
    assert figures.deterioration_figure(table, {"physician worse (cm)": 2.0}, ax=existing) is existing.figure
