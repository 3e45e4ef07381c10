"""Figure legends never cover data: every report figure's legend sits outside every axes, inside the figure."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from test_display import tiny_report  # noqa: F401  (the fixture)

from ivig_kit.reports.content import figures

FIGURES = [figures.tis_over_time_figure, figures.responders_figure, figures.csm_contributions_figure,
           figures.funnel_figure]


@pytest.mark.parametrize("make", FIGURES, ids=lambda f: f.__name__)
def test_the_legend_is_outside_every_axes_and_inside_the_figure(make, tiny_report):  # noqa: F811
    figure = make(tiny_report)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = figure.legends + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    assert legends, f"{make.__name__} has no legend"
    whole = figure.bbox
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert whole.x0 - 1 <= box.x0 and box.x1 <= whole.x1 + 1 and whole.y0 - 1 <= box.y0, "legend cut off"
        for ax in figure.axes:
            plotting_area = ax.get_window_extent(renderer)
            assert not box.overlaps(plotting_area), f"{make.__name__}: the legend overlaps the plotting area"
            labels = ax.xaxis.get_tightbbox(renderer)
            assert labels is None or not box.overlaps(labels), f"{make.__name__}: the legend covers the x axis"
