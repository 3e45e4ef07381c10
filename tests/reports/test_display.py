"""The report's one rendering path: escaping, number formats by column kind, figures with alt text and
numbered captions, links that work from a folder of reports, and the index's population-aware labels."""

from __future__ import annotations

import datetime
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ivig_kit.reports.content import display, figures
from ivig_kit.reports.content import site as report_site
from ivig_kit.reports.runner import pages
from ivig_kit.reports.runner.tasks import ReportBatch, SiteResult
from ivig_kit.score.measures import CATEGORY_THRESHOLDS

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
            "[x](javascript:alert(1))", "![x](http://127.0.0.1:9/x.png)", "a & b < c"]


class Cells(HTMLParser):
    """The text of every cell of every table, with the cell's data-kind, and every tag met."""

    def __init__(self, page: str):
        super().__init__()
        self.cells, self.tags, self.captions, self._cell, self._caption = [], [], [], None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._cell = [tag, dict(attrs).get("data-kind"), ""]
        if tag == "caption":
            self._caption = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell:
            self.cells.append(tuple(self._cell))
            self._cell = None
        if tag == "caption":
            self.captions.append(self._caption)
            self._caption = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data
        if self._caption is not None:
            self._caption += data


# --- Escaping -------------------------------------------------------------------------------------------------


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
    assert image["src"].startswith("data:image/png;base64,")
    assert image["alt"] == figure.get_label() and len(image["alt"]) > 60
    assert tiny_report.site in image["alt"]  # meaningful: names what it shows
    assert 'id="figure-4"' in page and "<figcaption" in page and "Funnel &lt;plot&gt;" in page
    assert int(image["width"]) <= figures.MAX_WIDTH_IN * display.CSS_PIXELS_PER_INCH


def test_a_figure_without_alt_text_is_refused():
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match="no alt text"):
        display.figure_html(Figure(), "Figure 9. Nothing.")


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


# --- Number formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, values, kind", [
    ("n with a complete TIS", [3, 4], "count"), ("responders", [1.0, 2.0], "count"), ("count", [1, 2], "count"),
    ("% responders", [33.333, 50.0], "percent"), ("95% CI low (%)", [0.8, 9.4], "percent"),
    ("share of the mean TIS, All, %", [12.5, 3.0], "percent"), ("median TIS", [37.5, 12.25], "score"),
    ("week 4", [37.5, np.nan], "score"), ("week", [4.0, 6.5], "week"), ("confirmed at week", [8.0, 12.0], "week"),
    ("p value", [0.0123, 0.5], "p"), ("adverse events per patient", [0.333, 1.0], "rate"),
    ("arm", ["IVIg", "placebo"], "text"), ("flag", [True, False], "text"),
])
def test_column_kind(name, values, kind):
    assert display.column_kind(name, pd.Series(values)) == kind


@pytest.mark.parametrize("value, kind, text", [
    (69.230769, "percent", "69.2"), (69.25, "score", "69.2"), (3.0, "count", "3"), (np.int64(12), "count", "12"),
    (0.33333, "rate", "0.33"), (6.5, "week", "6.5"), (4.0, "week", "4"), (0.0123, "p", "0.012"), (0.5, "p", "0.50"),
    (0.04999, "p", "0.050"), (0.0004, "p", "<0.001"), (np.nan, "score", "–"), (None, "text", "–"),
    (pd.NA, "count", "–"), ("AMS-002", "text", "AMS-002"),
])
def test_format_value(value, kind, text):
    assert display.format_value(value, kind) == text


def test_a_blank_missing_cell_where_the_caption_says_so_and_an_en_dash_note_otherwise():
    table = pd.DataFrame({"week 4": [69.230769, np.nan], "week 8": [np.nan, 12.0]},
                         index=pd.Index(["A-01", "A-02"], name="patient"))
    blank = Cells(display.table_html(table, "Table 2. TIS (empty: no visit).", missing=""))
    assert [text for tag, _, text in blank.cells if tag == "td"] == ["69.2", "", "", "12.0"]
    assert blank.captions == ["Table 2. TIS (empty: no visit)."]
    dashed = Cells(display.table_html(table, "Table 2. TIS."))
    assert [text for tag, _, text in dashed.cells if tag == "td"] == ["69.2", "–", "–", "12.0"]
    assert dashed.captions == ["Table 2. TIS. –: not available."]


#: The decimals each kind of cell may show (p values: two significant figures, at most 3 decimals + "<").
ALLOWED = {"count": re.compile(r"-?\d+"), "percent": re.compile(r"-?\d+\.\d"), "score": re.compile(r"-?\d+\.\d"),
           "rate": re.compile(r"-?\d+\.\d\d"), "week": re.compile(r"-?\d+(\.\d{1,2})?"),
           "p": re.compile(r"<0\.001|0\.0*[1-9]\d|1\.0")}


def check_rendered_tables(page: str) -> int:
    """Every cell of every table: no nan/None, numbers by kind with their decimals, text numbers <= 2 decimals;
    returns the number of numeric cells checked."""
    checked = 0
    for _tag, kind, text in Cells(page).cells:
        text = text.strip()
        assert text.lower() not in ("nan", "none", "<na>", "nat"), f"{text!r} in a table"
        assert not re.search(r"\b(nan|None|NaN)\b", text), f"{text!r} in a table"
        if kind and text not in ("", display.MISSING):
            assert ALLOWED[kind].fullmatch(text), f"{kind} cell {text!r}"
            checked += 1
        else:
            assert not re.search(r"\d\.\d{3,}", text), f"too many decimals in {text!r}"
    return checked


def test_every_table_of_a_report_is_clean(tiny_report):
    from ivig_kit.reports.content import tables
    from ivig_kit.reports.content.summary import provenance

    makers = [tables.enrolment_table, tables.tis_by_patient, tables.responders_by_visit, tables.csm_contributions,
              tables.confirmed_deteriorations, tables.adverse_event_table, tables.notable_adverse_events,
              tables.data_quality_summary, tables.data_quality_listing, tables.site_against_pooled, provenance]
    checked = sum(check_rendered_tables(display.table_html(make(tiny_report), f"Table {i}. x"))
                  for i, make in enumerate(makers, 1))
    assert checked > 50


# --- Pages: table of contents, links, index ------------------------------------------------------------------


def test_relative_links_go_to_the_published_repository_or_lose_their_link():
    page = ('<a href="#table-1">Table 1</a> <a href="https://doi.org/x">doi</a> '
            '<a href="01_total_improvement_score.ipynb">01</a> <a href="../data/README.md"><code>data</code></a>')
    published = pages.relink(page, "https://github.com/ivig-kit/ivig-kit/blob/main/")
    assert published == ('<a href="#table-1">Table 1</a> <a href="https://doi.org/x">doi</a> '
                         '<a href="https://github.com/ivig-kit/ivig-kit/blob/main/notebooks/'
                         '01_total_improvement_score.ipynb">01</a> '
                         '<a href="https://github.com/ivig-kit/ivig-kit/blob/main/data/README.md"><code>data</code></a>')
    offline = pages.relink(page, None)
    assert offline.count("<a ") == 2 and '<span class="ivig-unlinked"' in offline
    assert ">01</span>" in offline and "<code>data</code></span>" in offline


def test_table_of_contents_comes_after_the_title_and_header():
    page = ('<body><main><div class="jp-Cell jp-MarkdownCell"><h1 id="T">T</h1></div>'
            '<div class="jp-Cell jp-CodeCell"><table class="site-report-header"></table></div>'
            '<div class="jp-Cell jp-MarkdownCell"><h2 id="A">A</h2></div></main></body>')
    placed = pages._place_table_of_contents(page, "<nav>TOC</nav>")
    assert placed.index("site-report-header") < placed.index("<nav>TOC</nav>") < placed.index('<h2 id="A">')


def _batch(tmp_path, population):
    return ReportBatch(data_path=tmp_path / "registry.csv", out_dir=tmp_path, notebook=tmp_path / "r.ipynb",
                       tasks=[], all_sites=["A"], adverse_events_path=None, population=population,
                       data_sha256="0" * 64)


@pytest.mark.parametrize("population", sorted(CATEGORY_THRESHOLDS))
def test_the_index_names_the_populations_responder_threshold(tmp_path, population):
    result = SiteResult(site="A <b>", slug="a-1", status="ok", seconds=1.0, attempts=1,
                        files={"html": "a-1.html", "notebook": "a-1.ipynb", "summary": "a-1.json"},
                        summary={"patients": 3, "responder_percent": 66.66667})
    page = pages.write_index(_batch(tmp_path, population), [result], datetime.datetime.now(datetime.UTC),
                             1.0).read_text(encoding="utf-8")
    minimal = CATEGORY_THRESHOLDS[population][0]
    assert f"<th>responders (TIS&gt;={minimal:g}) %</th>" in page
    assert "A &lt;b&gt;" in page and "66.7" in page


# --- Fixtures ---------------------------------------------------------------------------------------------------


HOSTILE_SITE = r"A <script>alert(1)</script> $\nocommand$"  # and mathtext matplotlib would fail on


@pytest.fixture
def tiny_report(tmp_path):
    """The hand-checked two-site registry of test_site.py, its site names and free text made hostile."""
    from test_site import TINY_EVENTS, TINY_VISITS

    visits = pd.DataFrame(TINY_VISITS)
    visits["site"] = visits["site"].replace({"A b": HOSTILE_SITE})
    visits["data_source"] = "synthetic <img src=x onerror=alert(1)>"
    events = TINY_EVENTS.assign(site=TINY_EVENTS["site"].replace({"A b": HOSTILE_SITE}))
    data, adverse = tmp_path / "visits.csv", tmp_path / "events.csv"
    visits.to_csv(data, index=False)
    events.to_csv(adverse, index=False)
    return report_site.load_site(HOSTILE_SITE, data, adverse)



def test_pdf_without_chromium_is_one_line_and_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys):
    from ivig_kit.cli import main

    monkeypatch.setenv("IVIG_KIT_CHROMIUM", str(tmp_path / "no-chromium"))
    registry = Path(__file__).resolve().parents[2] / "data" / "demo_registry.csv"
    assert main(["reports", str(registry), "--out", str(tmp_path / "reports"), "--pdf"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("ivig-kit: error: --pdf needs headless Chromium, not found at ")
    assert "Traceback" not in error[0] and not (tmp_path / "reports").exists()


def test_a_chromium_that_fails_to_start_fails_the_sites_pdfs_not_the_batch(tmp_path, monkeypatch):
    (tmp_path / "a-1.html").write_text("<!DOCTYPE html><p>a</p>", encoding="utf-8")
    ok = SiteResult(site="A", slug="a-1", status="ok", seconds=1.0, attempts=1, files={"html": "a-1.html"})
    failed = SiteResult(site="B", slug="b-1", status="failed", seconds=1.0, attempts=1, files={"html": "b-1.html"},
                        error={"kind": "cell", "ename": "E", "evalue": "v", "cell_index": 3})
    monkeypatch.setenv("IVIG_KIT_CHROMIUM", "/bin/false")
    pages.export_site_pdfs(tmp_path, [ok, failed])
    assert ok.status == "failed" and ok.error["kind"] == "pdf" and ok.error_line().startswith(ok.error["ename"])
    assert "PDF not written" in ok.error_line()
    assert failed.error["kind"] == "cell"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-1.html"]  # no partial PDF left
