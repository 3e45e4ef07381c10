"""The report's figures: print resolution, A4 width, alt text, legible fonts, legends that never cover data,
drawing on the caller's axes without touching matplotlib's global state."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ivig_kit.reports.content import display, figures, registry_funnel

HOSTILE = "Site $x$ <b>"


def funnel() -> pd.DataFrame:
    """Three sites around a pooled 30%: one far above (alarm), one at 0 scored patients (not drawn)."""
    n = pd.Series([40, 40, 0], index=["North", HOSTILE, "Empty"])
    return registry_funnel.funnel_table(pd.Series([12, 30, 0], index=n.index), n, 0.3)


def trends() -> pd.DataFrame:
    """Two sites over two runs of the batch (the frame of ``trends.site_trends``)."""
    runs = ["2026-01-05T10:00:00", "2026-02-05T10:00:00"]
    return pd.DataFrame(
        {"site": ["North", HOSTILE] * 2, "run_at": [runs[0]] * 2 + [runs[1]] * 2, "responder_percent": [20, 50, 30, 75]}
    )


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


# --- name(data, ax=None) -> Figure, without global side effects -----------------------------------------------

DRAWERS = {
    "tis_over_time_figure": lambda report, ax: figures.tis_over_time_figure(report, ax=ax),
    "responders_figure": lambda report, ax: figures.responders_figure(report, ax=ax),
    "csm_contributions_figure": lambda report, ax: figures.csm_contributions_figure(report, ax=ax),
    "funnel_figure": lambda report, ax: figures.funnel_figure(report, ax=ax),
    "registry_funnel_figure": lambda report, ax: figures.registry_funnel_figure(funnel(), 0.3, ax=ax),
    "registry_trend_figure": lambda report, ax: figures.registry_trend_figure(trends(), ax=ax),
}


@pytest.mark.parametrize("name", DRAWERS)
def test_every_figure_draws_on_the_given_axes_and_leaves_rcparams_alone(name, tiny_report):
    panels = len(tiny_report.arms or ["All"]) if name == "tis_over_time_figure" else 1
    before = dict(matplotlib.rcParams)
    host = Figure(figsize=(8, 4))
    axes = host.subplots(1, panels, squeeze=False)[0]
    given = axes[0] if panels == 1 else list(axes)
    size = tuple(host.get_size_inches())
    drawn = DRAWERS[name](tiny_report, given)
    assert drawn is host and drawn is axes[0].figure
    assert all(ax.has_data() for ax in axes), f"{name} drew nothing on the given axes"
    assert host.get_label().strip(), "no alt text"
    assert tuple(host.get_size_inches()) == size, "the caller's figure was resized"
    assert display.figure_png(host).startswith(b"\x89PNG")  # hostile names drawn as text, not mathtext
    own = DRAWERS[name](tiny_report, None)  # and without axes, a new figure of its own
    assert isinstance(own, Figure) and own is not host and own.axes
    assert dict(matplotlib.rcParams) == before


def test_a_multi_panel_figure_refuses_the_wrong_number_of_axes(tiny_report):
    host = Figure()
    axes = host.subplots(1, len(tiny_report.arms or ["All"]) + 1)
    with pytest.raises(ValueError, match="axes"):
        figures.tis_over_time_figure(tiny_report, ax=list(axes))


def test_the_registry_funnel_names_its_flagged_site_and_trend_its_change():
    table = funnel()
    assert table.loc[HOSTILE, "flag"] == "alarm"  # 75% of 40 against a pooled 30%
    alt = figures.registry_funnel_figure(table, 0.3).get_label()
    assert "Funnel plot of 2 sites" in alt and f"{HOSTILE} (alarm, above)" in alt
    alt = figures.registry_trend_figure(trends()).get_label()
    assert "over 2 runs" in alt and "North 20% to 30%" in alt and f"{HOSTILE} 50% to 75%" in alt
