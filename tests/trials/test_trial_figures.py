"""Figures of the trial notebooks: the synthetic label sits inside the axes, where no legend covers it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ivig_kit.trials import figures, pilot, proderm
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
        box.x1, box.y1), "the label lies inside the axes"
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
    question = proderm.stratified_p_value_question()
    crude = {"unstratified CMH": question["unstratified"]["p_value"]}
    fig = figures.stratified_p_figure(question["splits"], crude=crude)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "prints as 0.0008" in labels and any("0.00051" in label for label in labels)
    assert f"{len(question['splits']):,}" in ax.get_title()
    plt.close(fig)
