"""The report's figures: print resolution, A4 width, alt text, legible fonts, legends that never cover data."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ivig_kit.reports.content import display, figures


def test_every_report_figure_is_print_resolution_a4_wide_and_described(tiny_report):
    made = [
        figures.tis_over_time_figure(tiny_report),
        figures.responders_figure(tiny_report),
        figures.csm_contributions_figure(tiny_report),
        figures.funnel_figure(tiny_report),
    ]
    assert figures.FIGURE_DPI >= 150
    for figure in made:
        assert figure.get_figwidth() <= figures.MAX_WIDTH_IN
        assert figure.get_label().strip(), "no alt text"
        legend = figure.legends[0] if figure.legends else figure.axes[0].get_legend()  # below the axes
        assert min(t.get_fontsize() for t in legend.get_texts()) >= figures.SMALL_FONT >= 8
        assert display.figure_png(figure).startswith(b"\x89PNG")  # drawn: names are text, not mathtext
        assert min(t.get_fontsize() for ax in figure.axes for t in ax.get_xticklabels()) >= 8


# --- Legends never cover data ------------------------------------------------------------------------------

FIGURES = [
    figures.tis_over_time_figure,
    figures.responders_figure,
    figures.csm_contributions_figure,
    figures.funnel_figure,
]


@pytest.mark.parametrize("make", FIGURES, ids=lambda f: f.__name__)
def test_the_legend_is_outside_every_axes_and_inside_the_figure(make, tiny_report):
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
