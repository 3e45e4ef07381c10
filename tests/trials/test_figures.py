"""Figures of the trial notebooks: the synthetic label sits inside the axes, where no legend covers it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ivig_kit.trials import figures, pilot, proderm, sponsor_p_value
from ivig_kit.trials.reconstruct import DATA_SOURCE, read_reconstructed_cohort


@pytest.fixture(scope="module")
def courses():
    cohort = read_reconstructed_cohort()
    return cohort, pilot.patient_courses(cohort)


def synthetic_label(fig):
    ax = fig.axes[0]
    labels = [t for t in ax.texts if "synthetic" in t.get_text().lower()]
    assert len(labels) == 1, "one synthetic label inside the axes"
    return ax, labels[0]


def check_label_visible(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax, label = synthetic_label(fig)
    box = label.get_window_extent(renderer)
    assert ax.get_window_extent(renderer).contains(box.x0, box.y0) and ax.get_window_extent(renderer).contains(
        box.x1, box.y1
    ), "the label lies inside the axes"
    legend = ax.get_legend()
    if legend is not None:
        assert not legend.get_window_extent(renderer).overlaps(box), "the legend must not cover the label"
    assert label.get_zorder() > max(line.get_zorder() for line in ax.lines)
    assert DATA_SOURCE in label.get_text()


def test_tis_over_time_label_is_not_hidden(courses):
    cohort, course_table = courses
    fig = figures.tis_over_time_figure(pilot.pilot_scores(cohort), course_table)
    check_label_visible(fig)
    plt.close(fig)


def test_cumulative_responders_label_is_not_hidden(courses):
    _, course_table = courses
    fig = figures.cumulative_responders_figure(pilot.cumulative_responders(course_table))
    check_label_visible(fig)
    plt.close(fig)


def test_stratified_p_figure_marks_what_prints_as_the_website_p():
    question = sponsor_p_value.stratified_p_value_question()
    fig = figures.stratified_p_figure(question.splits, crude={"unstratified CMH": question.unstratified.p_value})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "prints as 0.0008" in labels and any("0.00051" in label for label in labels)
    assert f"{len(question.splits):,}" in ax.get_title()
    plt.close(fig)


@pytest.mark.slow
def test_every_figure_returns_its_figure_drawn_on_the_axes_given(courses):
    """name(data, ax=None) -> Figure: each draws on the axes it is handed and changes no matplotlib setting."""
    from ivig_kit.inference import posterior as risk_posterior
    from ivig_kit.inference import proportions
    from ivig_kit.inference.stratified_splits import stratified_p_over_splits

    cohort, course_table = courses
    x1, n1, x2, n2 = proderm.primary_counts()
    posterior = risk_posterior.risk_difference_posterior(x1, n1, x2, n2)
    drawings = {
        "tis_over_time_figure": lambda ax: figures.tis_over_time_figure(
            pilot.pilot_scores(cohort), course_table, ax=ax
        ),
        "cumulative_responders_figure": lambda ax: figures.cumulative_responders_figure(
            pilot.cumulative_responders(course_table), ax=ax
        ),
        "interval_figure": lambda ax: figures.interval_figure(
            proportions.proportion_intervals(8, 19), printed=(19.6, 64.6), ax=ax
        ),
        "posterior_figure": lambda ax: figures.posterior_figure(proportions.beta_posterior(8, 19), ax=ax),
        "forest_figure": lambda ax: figures.forest_figure(ax=ax),
        "mean_tis_over_time_figure": lambda ax: figures.mean_tis_over_time_figure(ax=ax),
        "risk_difference_posterior_figure": lambda ax: figures.risk_difference_posterior_figure(
            risk_posterior.risk_difference_posterior_draws(x1, n1, x2, n2, draws=2000), posterior, ax=ax
        ),
        "stratified_p_figure": lambda ax: figures.stratified_p_figure(stratified_p_over_splits(5, 8, 2, 8), ax=ax),
    }
    assert set(drawings) == {name for name in dir(figures) if name.endswith("_figure")}
    before = dict(matplotlib.rcParams)
    for name, draw in drawings.items():
        figure, ax = plt.subplots()
        assert draw(ax) is figure, name
        assert ax.has_data() or ax.texts, name
        plt.close(figure)
    assert dict(matplotlib.rcParams) == before
