"""The report's figures: print resolution, A4 width, alt text, legible fonts."""

from __future__ import annotations

from ivig_kit.reports.content import display, figures


def test_every_report_figure_is_print_resolution_a4_wide_and_described(tiny_report):
    made = [figures.tis_over_time_figure(tiny_report), figures.responders_figure(tiny_report),
            figures.csm_contributions_figure(tiny_report), figures.funnel_figure(tiny_report)]
    assert figures.FIGURE_DPI >= 150
    for figure in made:
        assert figure.get_figwidth() <= figures.MAX_WIDTH_IN
        assert figure.get_label().strip(), "no alt text"
        legend = figure.axes[0].get_legend()
        assert min(t.get_fontsize() for t in legend.get_texts()) >= figures.SMALL_FONT >= 8
        assert display.figure_png(figure).startswith(b"\x89PNG")  # drawn: names are text, not mathtext
        assert min(t.get_fontsize() for ax in figure.axes for t in ax.get_xticklabels()) >= 8
