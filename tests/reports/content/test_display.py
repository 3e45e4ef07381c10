"""The report's one rendering path: escaping, number formats by column kind, figures with alt text
and numbered captions."""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd
import pytest

from ivig_kit.reports.content import display, figures, tables
from ivig_kit.reports.content import site as report_site
from ivig_kit.reports.content import summary as report_summary

from ..helpers import PAYLOADS, TINY_VISITS, Cells, check_rendered_tables


def test_table_html_escapes_cells_headings_index_and_caption():
    table = pd.DataFrame({payload: [payload] for payload in PAYLOADS}, index=pd.Index(PAYLOADS[:1], name=PAYLOADS[1]))
    page = display.table_html(table, f"Table 1. Site {PAYLOADS[0]}")
    parsed = Cells(page)
    assert {tag for tag, _ in parsed.tags} <= {"div", "table", "caption", "thead", "tbody", "tr", "th", "td"}
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    texts = [text for _, _, text in parsed.cells]
    assert all(payload in texts for payload in PAYLOADS)  # shown literally, as text
    assert parsed.captions == [f"Table 1. Site {PAYLOADS[0]}"]


def test_an_empty_table_says_none_with_its_caption_escaped():
    page = display.table_html(pd.DataFrame(columns=["event"]), "Table 7. <b>x</b>")
    assert page == '<p class="ivig-table-empty" id="table-7"><em>Table 7. &lt;b&gt;x&lt;/b&gt;</em>: none.</p>'


def test_header_and_key_findings_escape_every_data_field(tiny_report):
    report = tiny_report
    for page in (display.header_html(report), display.key_findings_html(report)):
        tags = Cells(page).tags
        assert not [t for t, _ in tags if t in ("script", "img", "svg", "a")]
        assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    header = display.header_html(report)
    assert html.escape(report.site) in header and report.site not in header
    assert html.escape(report.data_sources[0]) in header


def test_figure_html_has_escaped_alt_text_and_a_numbered_caption(tiny_report):
    figure = figures.funnel_figure(tiny_report)
    page = display.figure_html(figure, "Figure 4. Funnel <plot>")
    parsed = Cells(page)
    image = next(attrs for tag, attrs in parsed.tags if tag == "img")
    assert image["src"].startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(image["src"].partition(",")[2]) == display.figure_svg(figure)  # the figure, as SVG
    assert image["alt"] == figure.get_label() and len(image["alt"]) > 60
    assert tiny_report.site in image["alt"]  # meaningful: names what it shows
    assert 'id="figure-4"' in page and "<figcaption" in page and "Funnel &lt;plot&gt;" in page
    assert int(image["width"]) <= figures.MAX_WIDTH_IN * display.CSS_PIXELS_PER_INCH


def test_a_figure_without_alt_text_is_refused():
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match="no alt text"):
        display.figure_html(Figure(), "Figure 9. Nothing.")


@pytest.mark.parametrize(
    "name, values, kind",
    [
        ("n with a complete TIS", [3, 4], "count"),
        ("responders", [1.0, 2.0], "count"),
        ("count", [1, 2], "count"),
        ("% responders", [33.333, 50.0], "percent"),
        ("95% CI low (%)", [0.8, 9.4], "percent"),
        ("share of the mean TIS, All, %", [12.5, 3.0], "percent"),
        ("median TIS", [37.5, 12.25], "score"),
        ("week 4", [37.5, np.nan], "score"),
        ("week", [4.0, 6.5], "week"),
        ("confirmed at week", [8.0, 12.0], "week"),
        ("p value", [0.0123, 0.5], "p"),
        ("adverse events per patient", [0.333, 1.0], "rate"),
        ("arm", ["IVIg", "placebo"], "text"),
        ("flag", [True, False], "text"),
    ],
)
def test_column_kind(name, values, kind):
    assert display.column_kind(name, pd.Series(values)) == kind


def test_a_blank_missing_cell_where_the_caption_says_so_and_an_en_dash_note_otherwise():
    table = pd.DataFrame(
        {"week 4": [69.230769, np.nan], "week 8": [np.nan, 12.0]}, index=pd.Index(["A-01", "A-02"], name="patient")
    )
    blank = Cells(display.table_html(table, "Table 2. TIS (empty: no visit).", missing=""))
    assert [text for tag, _, text in blank.cells if tag == "td"] == ["69.2", "", "", "12.0"]
    assert blank.captions == ["Table 2. TIS (empty: no visit)."]
    dashed = Cells(display.table_html(table, "Table 2. TIS."))
    assert [text for tag, _, text in dashed.cells if tag == "td"] == ["69.2", "–", "–", "12.0"]
    assert dashed.captions == ["Table 2. TIS. –: not available."]


def test_every_table_of_a_report_is_clean(tiny_report):
    from ivig_kit.reports.content.summary import provenance

    makers = [
        tables.enrolment_table,
        tables.tis_by_patient,
        tables.responders_by_visit,
        tables.csm_contributions,
        tables.confirmed_deteriorations,
        tables.adverse_event_table,
        tables.notable_adverse_events,
        tables.data_quality_summary,
        tables.data_quality_listing,
        tables.site_against_pooled,
        provenance,
    ]
    checked = sum(
        check_rendered_tables(display.table_html(make(tiny_report), f"Table {i}. x"))
        for i, make in enumerate(makers, 1)
    )
    assert checked > 50


def test_header_has_the_synthetic_banner_only_for_synthetic_data(report, tiny, tmp_path):
    header = display.header_html(report)
    assert "SYNTHETIC DATA" in header and "A b" in header and "2023-01-13" in header
    real = pd.DataFrame(TINY_VISITS).drop(columns=["data_source", "visit_date"])
    real.to_csv(tmp_path / "real.csv", index=False)
    plain = report_site.load_site("A b", tmp_path / "real.csv", min_cell_size=1)
    assert not plain.synthetic and "SYNTHETIC" not in display.header_html(plain)
    summary = report_summary.site_summary(plain)
    assert summary["adverse_events"] is None and summary["data_cutoff"] is None
    assert type(summary["patients"]) is int and type(summary["responders"]) is int  # counts stay integers


def test_table_html_headings_are_those_of_the_renamed_table():
    table = pd.DataFrame(
        {"n": [3, 4], "percent": [12.5, None], "patient_id": ["a", "b"]},
        index=pd.Index(["x", "y"], name="patient_id"),
    )
    renamed = table.rename(columns=display.COLUMN_LABELS).rename_axis("patient")
    for index in (True, False):
        assert display.table_html(table, "Table 3. x", index=index) == display.table_html(
            renamed, "Table 3. x", index=index
        )
    assert "n with a complete TIS" in display.table_html(table, "Table 3. x")
    levels = pd.DataFrame([[1, 2.5]], columns=pd.MultiIndex.from_tuples([("IVIg", "n"), ("IVIg", "percent")]))
    assert display.table_html(levels, "Table 4. x") == display.table_html(
        levels.rename(columns=display.COLUMN_LABELS), "Table 4. x"
    )
