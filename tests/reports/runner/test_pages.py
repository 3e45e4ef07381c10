"""Pages of the batch: table of contents, links that work from a folder of reports, the index's
labels, and PDFs."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from ivig_kit.cli import main
from ivig_kit.reports.runner import index_page, pages, pdf
from ivig_kit.reports.runner.tasks import ReportBatch, SiteResult
from ivig_kit.score.measures import CATEGORY_THRESHOLDS


def test_table_of_contents_nests_subsections_and_links_each_heading():
    page = (
        '<h1 id="Site-report">Site report<a class="anchor-link" href="#Site-report">\u00b6</a></h1>'
        '<h2 id="A-&amp;-B">A &amp; <em>B</em></h2><h3 id="sub">Sub</h3><h4 id="deep">too deep</h4>'
        '<h2 id="C">C</h2>'
    )
    toc = pages.table_of_contents(page)
    assert toc.endswith(
        '<ol><li><a href="#A-&amp;-B">A &amp; B</a><ol><li><a href="#sub">Sub</a></li></ol></li>'
        '<li><a href="#C">C</a></li></ol></nav>'
    )
    assert "Site report" not in toc and "too deep" not in toc
    assert '<a href="#T">T</a>' in pages.table_of_contents('<h1 id="T">T</h1>')  # only a title: keep it


def test_relative_links_go_to_the_published_repository_or_lose_their_link():
    page = (
        '<a href="#table-1">Table 1</a> <a href="https://doi.org/x">doi</a> '
        '<a href="01_total_improvement_score.ipynb">01</a> <a href="../data/README.md"><code>data</code></a>'
    )
    published = pages.relink(page, "https://github.com/ivig-kit/ivig-kit/blob/main/")
    assert published == (
        '<a href="#table-1">Table 1</a> <a href="https://doi.org/x">doi</a> '
        '<a href="https://github.com/ivig-kit/ivig-kit/blob/main/notebooks/'
        '01_total_improvement_score.ipynb">01</a> '
        '<a href="https://github.com/ivig-kit/ivig-kit/blob/main/data/README.md"><code>data</code></a>'
    )
    offline = pages.relink(page, None)
    assert offline.count("<a ") == 2 and '<span class="ivig-unlinked"' in offline
    assert ">01</span>" in offline and "<code>data</code></span>" in offline


def test_table_of_contents_comes_after_the_title_and_header():
    page = (
        '<body><main><div class="jp-Cell jp-MarkdownCell"><h1 id="T">T</h1></div>'
        '<div class="jp-Cell jp-CodeCell"><table class="site-report-header"></table></div>'
        '<div class="jp-Cell jp-MarkdownCell"><h2 id="A">A</h2></div></main></body>'
    )
    placed = pages.place_table_of_contents(page, "<nav>TOC</nav>")
    assert placed.index("site-report-header") < placed.index("<nav>TOC</nav>") < placed.index('<h2 id="A">')


def _executed_notebook():
    """A small executed notebook: Markdown, an HTML output holding a table, text that looks like markup, an image
    without alternative text and one with, a PNG output, a stream and an error."""
    import nbformat

    v4 = nbformat.v4
    html_output = v4.new_output(
        "display_data",
        data={
            "text/html": '<table><caption>T &amp; &lt;b&gt;</caption><tr><td class="num">1</td></tr></table>'
            '<img src="data:image/png;base64,iVBORw0KGgo="><img alt="shown" src="data:image/png;base64,iVBORw0KGgo=">'
            '<div class="jp-OutputArea-output">&lt;div class="jp-OutputArea-output"&gt;</div>'
        },
    )
    png_output = v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    stream = v4.new_output("stream", name="stdout", text="a < b & 'c'\n")
    error = v4.new_output("error", ename="ValueError", evalue="bad <value>", traceback=["ValueError: bad <value>"])
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Title\n\nText with *emphasis*, a [link](#x) and `<code>`.\n\n## Section"),
            v4.new_code_cell("x = 1", outputs=[html_output, png_output, stream]),
            v4.new_code_cell("raise ValueError", outputs=[error]),
        ],
        metadata={"language_info": {"name": "python"}},
    )


def test_report_pages_are_nbconverts_html_exporter_pages_without_its_second_parse():
    """The report exporter adds alternative text and ``tabindex`` on the page's text; the document is the one
    nbconvert's own exporter makes with its BeautifulSoup pass (compared after one parse of each)."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    ours = pages.html_exporter()
    stock = HTMLExporter(
        template_name="lab",
        template_file=ours.template_file,
        extra_loaders=ours.extra_loaders,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    notebook = _executed_notebook()
    page, _ = ours.from_notebook_node(notebook, resources={"metadata": {"name": "T"}})
    expected, _ = stock.from_notebook_node(notebook, resources={"metadata": {"name": "T"}})
    assert str(BeautifulSoup(page, features="html.parser")) == expected
    assert page.count(f'alt="{pages.MISSING_ALT}"') == 2 and 'alt="shown"' in page  # the HTML's and the PNG's
    assert page.count('tabindex="0"') == expected.count('tabindex="0"') >= 4


def _batch(tmp_path, population):
    return ReportBatch(
        data_path=tmp_path / "registry.csv",
        out_dir=tmp_path,
        notebook=tmp_path / "r.ipynb",
        tasks=[],
        all_sites=["A"],
        adverse_events_path=None,
        population=population,
        data_sha256="0" * 64,
    )


@pytest.mark.parametrize("population", sorted(CATEGORY_THRESHOLDS))
def test_the_index_names_the_populations_responder_threshold(tmp_path, population):
    result = SiteResult(
        site="A <b>",
        slug="a-1",
        status="ok",
        seconds=1.0,
        attempts=1,
        files={"html": "a-1.html", "notebook": "a-1.ipynb", "summary": "a-1.json"},
        summary={"patients": 3, "responder_percent": 66.66667},
    )
    page = index_page.write_index(
        _batch(tmp_path, population), [result], datetime.datetime.now(datetime.UTC), 1.0
    ).read_text(encoding="utf-8")
    minimal = CATEGORY_THRESHOLDS[population][0]
    assert f"<th>responders (TIS&gt;={minimal:g}) %</th>" in page
    assert "A &lt;b&gt;" in page and "66.7" in page


def test_pdf_without_chromium_is_one_line_and_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys):

    monkeypatch.setenv("IVIG_KIT_CHROMIUM", str(tmp_path / "no-chromium"))
    registry = Path(__file__).resolve().parents[2] / "data" / "demo_registry.csv"
    assert main(["reports", str(registry), "--out", str(tmp_path / "reports"), "--pdf"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("ivig-kit: error: --pdf needs headless Chromium, not found at ")
    assert "Traceback" not in error[0] and not (tmp_path / "reports").exists()


def test_a_chromium_that_fails_to_start_fails_the_sites_pdfs_not_the_batch(tmp_path, monkeypatch):
    (tmp_path / "a-1.html").write_text("<!DOCTYPE html><p>a</p>", encoding="utf-8")
    ok = SiteResult(site="A", slug="a-1", status="ok", seconds=1.0, attempts=1, files={"html": "a-1.html"})
    failed = SiteResult(
        site="B",
        slug="b-1",
        status="failed",
        seconds=1.0,
        attempts=1,
        files={"html": "b-1.html"},
        error={"kind": "cell", "ename": "E", "evalue": "v", "cell_index": 3},
    )
    monkeypatch.setenv("IVIG_KIT_CHROMIUM", "/bin/false")
    pdf.export_site_pdfs(tmp_path, [ok, failed])
    assert ok.status == "failed" and ok.error["kind"] == "pdf" and ok.error_line().startswith(ok.error["ename"])
    assert "PDF not written" in ok.error_line()
    assert failed.error["kind"] == "cell"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-1.html"]  # no partial PDF left
