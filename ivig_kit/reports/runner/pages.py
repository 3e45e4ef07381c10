"""The HTML page of a site report: one self-contained file (code hidden, images embedded, a table of contents
beside the text on wide screens, a print stylesheet with page numbers). The index page that lists every site is
:mod:`.index_page`; printing pages to PDF is :mod:`.pdf`.

Links: a report is one file in a folder of reports, so the relative links of the notebook's Markdown
(to the teaching notebooks, to ``data/README.md``) would be dead there. :func:`export_html` points them at
the published repository when a URL is configured (``published_url=`` or the ``IVIG_KIT_PUBLISHED_URL``
environment variable, e.g. ``https://github.com/ivig-kit/ivig-kit/blob/main``) and otherwise keeps their
text without a link. Anchors within the page and absolute URLs are kept.
"""

from __future__ import annotations

import html
import os
import posixpath
import re

from ivig_kit.errors import ReportSetupError

_TOC_MARK = "<!--ivig-kit:table-of-contents-->"
#: The report's own CSS: side table of contents on wide screens, tables that scroll on a phone, and a print
#: stylesheet (A4, page numbers in the bottom margin, table of contents kept, wide tables wrapped).
REPORT_CSS = """
nav.ivig-toc { margin: 1em 0 1.5em; padding: 0.6em 1.2em; max-width: 60em; border: 1px solid #d0d7de;
  border-radius: 6px; background: #f6f8fa; font-family: var(--jp-content-font-family, sans-serif); }
nav.ivig-toc .ivig-toc-title { font-weight: 600; margin: 0.2em 0 0.4em; }
nav.ivig-toc ol { margin: 0; padding-left: 1.2em; }
nav.ivig-toc ol ol { list-style: lower-alpha; }
.ivig-table { overflow-x: auto; max-width: 100%; margin: 0.3em 0 1em; }
.jp-RenderedHTMLCommon .ivig-table table { margin: 0; table-layout: auto; }
.jp-RenderedHTMLCommon .ivig-table caption { caption-side: top; text-align: left; font-style: italic;
  padding: 4px 0; color: #1f2328; }
.jp-RenderedHTMLCommon .ivig-table table th, .jp-RenderedHTMLCommon .ivig-table table td { text-align: left;
  vertical-align: top; }
.jp-RenderedHTMLCommon .ivig-table table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ivig-figure img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown { overflow-wrap: break-word; }
.jp-RenderedHTMLCommon a, .jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited {
  text-decoration: underline !important; }
.site-report-header td { overflow-wrap: anywhere; }
@media screen and (min-width: 1280px) {
  nav.ivig-toc { position: fixed; top: 1em; left: 1em; width: 15em; max-height: calc(100vh - 2em);
    overflow-y: auto; margin: 0; z-index: 10; }
  body.jp-Notebook > main { margin-left: 17em; }
}
@media screen and (max-width: 600px) {
  body.jp-Notebook { padding: 8px !important; }
  .jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { padding-left: 0 !important; padding-right: 0 !important; }
}
@page { size: A4; margin: 15mm 15mm 18mm 15mm;
  @bottom-center { content: "Page " counter(page) " of " counter(pages); font-family: sans-serif; font-size: 9pt;
    color: #57606a; } }
@media print {
  body.jp-Notebook, body.jp-Notebook > main { margin: 0 !important; padding: 0 !important; }
  .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea-child, .jp-OutputArea-output, .jp-RenderedHTMLCommon
    { padding-left: 0 !important; padding-right: 0 !important; margin-left: 0 !important; overflow: visible !important;
      max-width: 100% !important; }
  .jp-OutputPrompt, .jp-InputPrompt, .jp-Collapser { display: none !important; }
  nav.ivig-toc { position: static; background: none; break-inside: avoid; }
  .ivig-table { overflow: visible; }
  .jp-RenderedHTMLCommon .ivig-table table { width: 100%; font-size: 8pt; }
  .jp-RenderedHTMLCommon .ivig-table table th, .jp-RenderedHTMLCommon .ivig-table table td {
    overflow-wrap: anywhere; word-break: break-word; padding: 2px 4px; }
  tr, figure, .synthetic-banner, .site-report-header { break-inside: avoid; }
  h1, h2, h3, caption { break-after: avoid; }
}
"""
# The lab template without anything fetched from the network (no require.js, MathJax or mermaid from a CDN),
# a mark where the table of contents goes, and the report's CSS.
_REPORT_TEMPLATE = (
    """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">"""
    + REPORT_CSS
    + """</style>
{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}
"""
    + _TOC_MARK
    + """
{%- endblock body_header -%}
"""
)
_HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_CELL_START = re.compile(r'<div\s+class="jp-Cell\b')
_LINK = re.compile(r'<a\s+href="([^"]*)"([^>]*)>(.*?)</a>', re.DOTALL)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
#: What nbconvert's HTML exporter gives an image without alternative text, and the elements it makes focusable.
MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)")
_FOCUSABLE = re.compile(
    r'<div\b(?=[^>]*\sclass="(?:[^"]*\s)?jp-(?:OutputArea-output|Cell-inputWrapper)[\s"])(?![^>]*\stabindex=)'
)
_exporter = None  # one per process: building it loads and compiles the templates


def html_exporter():
    """This process's nbconvert exporter of report pages (built once: it loads and compiles the templates)."""
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader

        _exporter = _report_exporter_class()(
            template_name="lab",
            template_file="ivig_site_report.html.j2",
            extra_loaders=[DictLoader({"ivig_site_report.html.j2": _REPORT_TEMPLATE})],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
            optimistic_validation=True,  # the notebook is validated once, not after each of a dozen preprocessors
        )
    return _exporter


def warm_up_exporter() -> None:
    """Build this process's exporter and export a small page with what a report holds (Markdown, a table, an
    image), so that a process forked afterwards inherits the compiled templates and regular expressions."""
    import nbformat

    v4 = nbformat.v4
    output = v4.new_output(
        "display_data",
        data={"text/html": '<table><tr><td>1</td></tr></table><img alt="a" src="data:image/png;base64,AA==">'},
    )
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# T\n\nA [link](#x), *text* and `code`.\n\n## S"),
            v4.new_code_cell("", outputs=[output]),
        ],
        metadata={"language_info": {"name": "python"}},
    )
    export_html(notebook, title="warm-up", published_url="")


def _report_exporter_class():
    """nbconvert's ``HTMLExporter`` whose last step (alternative text for images that have none, ``tabindex`` on
    output areas and input wrappers) is done on the page's text instead of a BeautifulSoup parse and
    re-serialisation of the whole page, which took 40% of the export of a report (every element of its
    stylesheet and tables parsed in Python). The result is the same document (pinned by a test)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node up to its BeautifulSoup pass (nbconvert 7.17)
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            page = _IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', page)
            return _FOCUSABLE.sub('<div tabindex="0"', page), resources

    return ReportExporter


def export_html(notebook, title: str, published_url: str | None = None) -> str:
    """One self-contained HTML page of an executed notebook: code hidden, images embedded, a table of
    contents built from its headings (after the report's header, before the first section), relative links
    pointed at ``published_url`` (default: ``$IVIG_KIT_PUBLISHED_URL``) or unlinked, nothing loaded from the
    network."""
    body, _ = html_exporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    body = body.replace(_TOC_MARK, "", 1)
    body = place_table_of_contents(body, table_of_contents(body))
    published = published_url_setting() if published_url is None else published_url
    return relink(body, published or None)


def published_url_setting() -> str | None:
    """``$IVIG_KIT_PUBLISHED_URL`` if set: an ``http://`` or ``https://`` address with a host and no quotes,
    spaces or angle brackets; anything else (``javascript:``, ``file:``) is a :class:`ReportSetupError`."""
    value = os.environ.get("IVIG_KIT_PUBLISHED_URL", "").strip()
    if not value:
        return None
    if not _PUBLISHED.fullmatch(value):
        raise ReportSetupError(
            f"IVIG_KIT_PUBLISHED_URL must be an http:// or https:// address (e.g. "
            f"https://github.com/ivig-kit/ivig-kit/blob/main), got {value[:80]!r}"
        )
    return value


_PUBLISHED = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[^\s\"'<>`]*)?", re.IGNORECASE)


def place_table_of_contents(page: str, toc: str) -> str:
    """Put the table of contents before the cell holding the first section heading (H2), so that the
    title and the report's header come first; at the top of the body when there is no H2."""
    first = re.search(r"<h2\b", page)
    starts = [m.start() for m in _CELL_START.finditer(page, 0, first.start())] if first else []
    if starts:
        return page[: starts[-1]] + toc + page[starts[-1] :]
    main = page.find("<main>")
    at = main + len("<main>") if main >= 0 else page.find(">", page.find("<body")) + 1
    return page[:at] + toc + page[at:]


def relink(page: str, published_url: str | None = None, folder: str = "notebooks") -> str:
    """Links that work from a folder of reports: ``#anchors`` and absolute URLs stay; a relative link (written
    relative to the notebook's ``folder`` in the repository) becomes ``published_url`` + its path in the
    repository, or, without a published URL, its text without a link."""

    def replace(match: re.Match) -> str:
        href, rest, inner = html.unescape(match.group(1)), match.group(2), match.group(3)
        if not href or href.startswith("#") or _SCHEME.match(href):
            return match.group(0)
        path = posixpath.normpath(posixpath.join(folder, href))
        if published_url and not path.startswith(".."):
            target = published_url.rstrip("/") + "/" + path
            return f'<a href="{html.escape(target)}"{rest}>{inner}</a>'
        return f'<span class="ivig-unlinked" title="{html.escape(path)} in the ivig-kit repository">{inner}</span>'

    return _LINK.sub(replace, page)


def table_of_contents(page: str) -> str:
    """A ``<nav>`` linking the sections (H2, with their H3s nested) of an exported page by the ids nbconvert
    gives its headings; the H1 title is left out unless there is nothing else."""
    headings = []
    for level, anchor, inner in _HEADING.findall(page):
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("\u00b6", "").strip()
        if text:
            headings.append((int(level), anchor, text))
    if any(level > 1 for level, _, _ in headings):
        headings = [h for h in headings if h[0] > 1]
    top = min((level for level, _, _ in headings), default=1)
    items, open_sublist = [], False
    for level, anchor, text in headings:
        link = f'<a href="#{anchor}">{html.escape(text)}</a>'  # the id is attribute text already
        if level == top:
            if open_sublist:
                items.append("</ol></li>")
            elif items:
                items.append("</li>")
            items.append(f"<li>{link}")
            open_sublist = False
        else:
            if not items:
                items.append("<li>")
            if not open_sublist:
                items.append("<ol>")
                open_sublist = True
            items.append(f"<li>{link}</li>")
    if items:
        items.append("</ol></li>" if open_sublist else "</li>")
    return (
        '<nav class="ivig-toc" id="table-of-contents" aria-label="Table of contents">'
        '<p class="ivig-toc-title">Contents</p><ol>' + "".join(items) + "</ol></nav>"
    )
