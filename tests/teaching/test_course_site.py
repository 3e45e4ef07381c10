"""The course site's pieces, without executing anything: widgets become a Binder note, contents, no CDN."""

from __future__ import annotations

import re

import nbformat

from ivig_kit.teaching import site

WIDGET = {
    "output_type": "display_data",
    "metadata": {},
    "data": {site.WIDGET_MIME: {"model_id": "x", "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"},
}


def tiny_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A lesson\n\nText with a [link](https://example.org)."),
        nbformat.v4.new_markdown_cell("## 1. First part"),
        nbformat.v4.new_code_cell("calculator", outputs=[nbformat.from_dict(WIDGET)]),
        nbformat.v4.new_markdown_cell("## 2. Second part\n\n$x^2$"),
    ]
    notebook.metadata["widgets"] = {"state": {}}
    return notebook


def test_a_widget_becomes_a_note_with_the_binder_link():
    notebook = tiny_notebook()
    assert site.replace_widgets(notebook, "https://mybinder.org/v2/gh/o/r/main?labpath=notebooks/a.ipynb") == 1
    data = notebook.cells[2].outputs[0]["data"]
    assert site.WIDGET_MIME not in data and "needs a live Python kernel" in data["text/html"]
    assert 'href="https://mybinder.org/v2/gh/o/r/main?labpath=notebooks/a.ipynb"' in data["text/html"]
    assert "widgets" not in notebook.metadata


def test_a_page_has_landmarks_contents_under_the_title_and_nothing_from_another_host():
    notebook = tiny_notebook()
    site.replace_widgets(notebook, site.BINDER_URL.format(name="a.ipynb"))
    pages = [site.CoursePage("A lesson", "a.html", "a.ipynb"), site.CoursePage("B", "b.html", "b.ipynb")]
    page = site.export_page(notebook, site.notebook_title(notebook), site.navigation_html(pages, "a.html"), "foot")
    assert "<title>A lesson | ivig-kit course</title>" in page
    assert page.count("<main") == 1 and "<header" in page and "<footer" in page and 'href="#content"' in page
    assert page.index("</h1>") < page.index('aria-label="Contents of this page"') < page.index('<h2 id="1.-First-part"')
    assert re.search(r'<a (aria-current="page" href="a.html"|href="a.html" aria-current="page")>A lesson</a>', page)
    for remote in ("<script src=", "cdnjs", "cdn.jsdelivr", "unpkg.com", "fonts.googleapis", "mathjax"):
        assert remote not in page.lower(), remote


def test_the_title_is_the_first_heading():
    assert site.notebook_title(tiny_notebook()) == "A lesson"
    assert site.notebook_title(nbformat.v4.new_notebook()) == "Notebook"


def test_no_course_notebook_holds_tex_the_offline_site_would_show_raw():
    """The site loads no MathJax (nothing from another host), so a formula must be written as text."""
    tex = re.compile(r"\$\$|(?<![\\\w])\$[^$\s][^$\n]*\$")
    for path in site.course_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert not tex.search(cell.source), f"{path.name}: TeX in {cell.source[:80]!r}"
