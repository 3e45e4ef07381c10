"""The report's figures: print resolution, A4 width, alt text, legible fonts, legends that never cover data,
drawing on the caller's axes without touching matplotlib's global state."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from ivig_kit.reports.content import display, figure_templates, figures, registry_funnel
from ivig_kit.reports.content import site as report_site

from ..helpers import TINY_VISITS

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
        assert display.figure_svg(figure).startswith(b"<?xml")  # drawn: names are text, not mathtext
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
    assert display.figure_svg(host).startswith(b"<?xml")  # hostile names drawn as text, not mathtext
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


# --- Literal text and the SVG ---------------------------------------------------------------------------------

UNPARSABLE = r"Site $\nocommand{x}$"  # mathtext would raise on it: drawing it proves it is literal


def every_figure(report, name: str = UNPARSABLE) -> list[Figure]:
    table = registry_funnel.funnel_table(pd.Series([12, 30], index=["North", name]), pd.Series([40, 40]), 0.3)
    history = trends().replace({HOSTILE: name})
    return [
        figures.tis_over_time_figure(report),
        figures.responders_figure(report),
        figures.csm_contributions_figure(report),
        figures.funnel_figure(report),
        figures.registry_funnel_figure(table, 0.3, ylabel=f"% of {name}"),
        figures.registry_trend_figure(history),
    ]


@pytest.fixture
def hostile_arm_report(tmp_path):
    """The tiny registry's site ``A b``, its IVIg arm named so that mathtext would fail on it."""
    visits = pd.DataFrame(TINY_VISITS)
    visits["arm"] = visits["arm"].replace({"IVIg": UNPARSABLE})
    visits.to_csv(tmp_path / "visits.csv", index=False)
    return report_site.load_site("A b", tmp_path / "visits.csv", None, min_cell_size=1)


@pytest.mark.parametrize("fixture", ["tiny_report", "hostile_arm_report"])
def test_every_text_holding_a_dollar_is_drawn_literally_tick_labels_included(fixture, request):
    made = every_figure(request.getfixturevalue(fixture))
    arms_only = {"tis_over_time_figure", "csm_contributions_figure", "responders_figure"}  # name arms, not the site
    for figure, make in zip(made, [*FIGURES, figures.registry_funnel_figure, figures.registry_trend_figure]):
        display.figure_svg(figure)  # draws every text; mathtext would raise on the names
        texts = figure.findobj(Text)  # now with the tick labels made while drawing
        dollars = [text for text in texts if "$" in text.get_text()]
        if make.__name__.startswith("registry") or (make.__name__ in arms_only) == (fixture == "hostile_arm_report"):
            assert dollars, f"{make.__name__}: no name with a dollar in this figure"
        assert not [text.get_text() for text in dollars if text.get_parse_math()]


def test_on_the_callers_axes_only_the_texts_it_sets_are_made_literal(hostile_arm_report):
    host = Figure()
    ax = host.subplots()
    theirs = ax.text(0.5, 0.5, r"$x^2$")
    figures.registry_funnel_figure(funnel(), 0.3, ylabel=UNPARSABLE, ax=ax)
    display.figure_svg(host)  # mathtext would raise on the label
    assert theirs.get_parse_math() and not ax.yaxis.label.get_parse_math()
    panels = Figure().subplots(1, 2)
    figures.tis_over_time_figure(hostile_arm_report, ax=list(panels))
    assert UNPARSABLE in panels[0].get_title() and not panels[0].title.get_parse_math()
    display.figure_svg(panels[0].figure)


def test_tick_labels_are_plain_numbers_even_when_the_user_asks_for_mathtext(tiny_report):
    with matplotlib.rc_context({"axes.formatter.use_mathtext": True}):
        figure = figures.funnel_figure(tiny_report)
        display.figure_svg(figure)
    labels = [t.get_text() for ax in figure.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert "100" in labels and not [label for label in labels if "$" in label]


def test_the_same_figure_gives_the_same_svg_bytes(tiny_report):
    first = [display.figure_svg(figure) for figure in every_figure(tiny_report)]
    again = [display.figure_svg(figure) for figure in every_figure(tiny_report)]
    assert first == again
    assert all(svg.startswith(b"<?xml") and b"<dc:date>" not in svg for svg in first)
    assert display.SVG_PARAMETERS["svg.fonttype"] == "path"
    assert all(b"<text" not in svg for svg in first)  # text as outlines: the same picture without our fonts


@pytest.fixture
def one_arm_report(tmp_path):
    """The tiny registry's site ``A b`` with every patient in one arm (a TIS figure of one panel)."""
    visits = pd.DataFrame(TINY_VISITS).assign(arm="IVIg")
    visits.to_csv(tmp_path / "visits.csv", index=False)
    return report_site.load_site("A b", tmp_path / "visits.csv", None, min_cell_size=1)


@pytest.mark.parametrize("fixture", ["one_arm_report", "tiny_report"])
def test_figures_drawn_on_templates_made_ahead_are_byte_identical_and_each_template_is_taken_once(
    fixture, request, monkeypatch
):
    """A zygote makes the site figures' empty axes ahead (make_figure_templates): a figure drawn on one gives
    the same SVG bytes as one made on the spot, each template serves one figure, the caller's axes none."""
    report = request.getfixturevalue(fixture)
    makers = [
        figures.tis_over_time_figure,
        figures.responders_figure,
        figures.csm_contributions_figure,
        figures.funnel_figure,
    ]
    monkeypatch.setattr(figure_templates, "_pool", {})
    plain = [display.figure_svg(make(report)) for make in makers]
    figures.make_figure_templates(arms=(len(report.arms),))
    made = [made_ahead[0][0] for made_ahead in figure_templates._pool.values()]
    assert len(made) == 4 and all(len(pairs) == 1 for pairs in figure_templates._pool.values())
    drawn = [make(report) for make in makers]
    assert drawn == made  # each figure on its template, in the order the report draws them
    assert not any(figure_templates._pool.values())  # each taken once
    assert [display.figure_svg(figure) for figure in drawn] == plain
    assert makers[0](report) is not made[0]  # made on the spot now
    figures.make_figure_templates(arms=(1,))
    before = {shape: len(pairs) for shape, pairs in figure_templates._pool.items()}
    figures.funnel_figure(report, ax=Figure().subplots())
    assert {shape: len(pairs) for shape, pairs in figure_templates._pool.items()} == before  # the caller's axes


def test_a_template_is_not_taken_under_other_rcparams(tiny_report, monkeypatch):
    """A notebook that sets its own style before drawing gets its style: a template made under other rcParams is
    left alone and the figure made on the spot."""
    style = {"xtick.color": "red", "axes.facecolor": "#eeeeee"}
    monkeypatch.setattr(figure_templates, "_pool", {})
    with matplotlib.rc_context(style):
        on_the_spot = display.figure_svg(figures.funnel_figure(tiny_report))
    figures.make_figure_templates(arms=(len(tiny_report.arms),))
    size, margins = figures.SITE_FIGURE_SIZES["funnel"]
    funnel_shape = figures._shape(*size, **margins)
    template = figure_templates._pool[funnel_shape][0][0]
    with matplotlib.rc_context(style):
        styled = figures.funnel_figure(tiny_report)
        assert display.figure_svg(styled) == on_the_spot
    assert styled is not template and len(figure_templates._pool[funnel_shape]) == 1  # left alone
    assert figures.funnel_figure(tiny_report) is template  # taken under the rcParams it was made with


def test_a_template_is_taken_whatever_backend_shows_it(monkeypatch):
    """A kernel sets its backend and interactive mode after the fork: neither changes how a figure is drawn."""
    monkeypatch.setattr(figure_templates, "_pool", {})
    figure = Figure()
    figure_templates.keep(("shape",), figure, [])
    with matplotlib.rc_context({"interactive": True}):
        assert figure_templates.take(("shape",)) == (figure, [])
    assert figure_templates.take(("shape",)) is None  # taken once
    assert set(figure_templates.NOT_STYLE) <= set(matplotlib.rcParams) and not set(figure_templates.style()) & {
        "backend",
        "interactive",
    }
