"""Notebook 04's figures and widget (ivig_kit.design.figures): drawn data, the SIMULATED label, no global state."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ivig_kit.design import figures, planning
from ivig_kit.design import simulation as design


def test_power_widget_follows_its_sliders():
    box = figures.power_widget()
    effect, sd, dropout, _n, result = box.children
    assert "N for 80%: <b>44</b>" in result.value
    effect.value = 15
    assert f"N for 80%: <b>{planning.t_test_sample_size(15, sd.value, 0.8, dropout.value)}</b>" in result.value


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_power_curve_figure_draws_each_analysis_with_its_mc_bars():
    table = pd.DataFrame(
        {
            "analysis": ["t-test", "t-test", "log-rank", "log-rank"],
            "n_total": [24, 48, 24, 48],
            "power": [0.5, 0.8, 0.3, 0.6],
            "mc_se": [0.02, 0.01, 0.02, 0.02],
            "trials": 200,
        }
    )
    figure = figures.power_curve_figure(table, planned_n=48)
    ax = figure.axes[0]
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [list(line.get_ydata()) for line in lines] == [[0.5, 0.8], [0.3, 0.6]]
    caps = [list(line.get_ydata()) for line in ax.get_lines() if line.get_marker() == "_"]
    assert [0.5 - 1.96 * 0.02, 0.8 - 1.96 * 0.01] in [pytest.approx(cap) for cap in caps]  # 95% MC bars
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["t-test", "log-rank"]
    assert any(t.get_text() == "SIMULATED: 200 trials per point" for t in ax.texts)


def test_sensitivity_figure_fills_the_main_value_only():
    table = pd.DataFrame(
        {
            "assumption": ["effect", "effect", "dropout"],
            "value": [10, 20, 0.1],
            "power": [0.4, 0.86, 0.85],
            "mc_se": [0.02, 0.02, 0.02],
            "main": [False, True, True],
        }
    )
    ax = figures.sensitivity_figure(table).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["effect", "dropout"]
    faces = [
        tuple(c.get_facecolors()[i][:3])
        for c in ax.collections
        if len(c.get_offsets()) == 2
        for i in range(2)
        if c.get_facecolors().shape[0] == 2
    ]
    assert (1.0, 1.0, 1.0) in faces  # the non-main value of "effect" is hollow
    assert any(t.get_text() == "SIMULATED" for t in ax.texts)


def test_week12_table_and_distribution_keep_the_observed_patients_of_each_arm():
    # 1 trial, 4 patients (2 per arm), 2 visits; patient 2 dropped out before week 12
    sim = design.SimulatedTrials(
        tis=np.array([[[10, 20.0], [5, 40.0], [0, 60.0], [15, 80.0]]]),
        observed=np.array([[[True, True], [True, True], [True, False], [True, True]]]),
        ivig=np.array([False, False, True, True]),
        mmt_baseline=np.full((1, 4), 200.0),
    )
    table = figures.week12_table(sim)
    assert table.to_dict("list") == {
        "arm": ["placebo + prednisone", "placebo + prednisone", "IVIg + prednisone"],
        "tis": [20.0, 40.0, 80.0],
    }
    ax = figures.tis_distribution_figure(table).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "placebo + prednisone (mean 30.0)",
        "IVIg + prednisone (mean 80.0)",
    ]


def test_figures_draw_on_the_axes_given_and_leave_matplotlib_settings_alone():
    before = dict(matplotlib.rcParams)
    _, ax = plt.subplots()
    table = pd.DataFrame({"arm": ["placebo", "IVIg"], "tis": [20.0, 45.0]})
    assert figures.tis_distribution_figure(table, ax=ax) is ax.figure
    assert dict(matplotlib.rcParams) == before
