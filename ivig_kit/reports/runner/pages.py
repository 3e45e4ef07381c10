"""HTML and PDF pages of the batch: one self-contained report per site (code hidden, images embedded, a
table of contents beside the text on wide screens, a print stylesheet with page numbers), its PDF, and the
index page that lists every site.

Links: a report is one file in a folder of reports, so the relative links of the notebook's Markdown
(to the teaching notebooks, to ``data/README.md``) would be dead there. :func:`export_html` points them at
the published repository when a URL is configured (``published_url=`` or the ``IVIG_KIT_PUBLISHED_URL``
environment variable, e.g. ``https://github.com/ivig-kit/ivig-kit/blob/main``) and otherwise keeps their
text without a link. Anchors within the page and absolute URLs are kept.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import os
import posixpath
import re
import shutil
import stat
from pathlib import Path

from ivig_kit.errors import ReportSetupError
from ivig_kit.files import partial_path, write_atomically
from ivig_kit.reports.runner.tasks import ReportBatch, SiteResult
from ivig_kit.score.measures import CATEGORY_THRESHOLDS


def index_figures(population: str = "adult") -> tuple[tuple[str, str], ...]:
    """Key figures of a site summary shown in the index: (summary key, column heading); the responder
    heading names the population's minimal-improvement threshold."""
    minimal = CATEGORY_THRESHOLDS[population][0]
    return (
        ("patients", "patients"),
        ("visits", "visits"),
        ("responder_percent", f"responders (TIS>={minimal:g}) %"),
        ("confirmed_deteriorations", "confirmed deteriorations"),
        ("adverse_events", "adverse events"),
    )


#: The index's key figures for the default (adult) population; see :func:`index_figures`.
INDEX_FIGURES = index_figures("adult")


# --- HTML export ------------------------------------------------------------------------------------------

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
_exporter = None  # one per process: building it loads and compiles the templates


def html_exporter():
    """This process's nbconvert exporter of report pages (built once: it loads and compiles the templates)."""
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        _exporter = HTMLExporter(
            template_name="lab",
            template_file="ivig_site_report.html.j2",
            extra_loaders=[DictLoader({"ivig_site_report.html.j2": _REPORT_TEMPLATE})],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return _exporter


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


# --- The index page ---------------------------------------------------------------------------------------

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
  padding: 0 1em; color: #1f2328; }
.banner { padding: 0.7em 1em; border-radius: 6px; margin: 1em 0; }
.synthetic { background: #fff8c5; border: 1px solid #d4a72c; }
.failures { background: #ffebe9; border: 1px solid #cf222e; }
.coordinator { background: #ddf4ff; border: 1px solid #54aeff; }
table { border-collapse: collapse; width: 100%; font-size: 0.95em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
.status-interrupted { color: #9a6700; font-weight: 600; }
.error { font-family: ui-monospace, monospace; font-size: 0.9em; white-space: pre-wrap; color: #82071e; }
.meta { color: #57606a; font-size: 0.9em; overflow-wrap: anywhere; }
.meta time { white-space: nowrap; }
td.site { overflow-wrap: break-word; }
a { text-decoration: underline; }
@media screen and (max-width: 700px) {
  body { margin: 1em auto; padding: 0 0.6em; }
  h1 { font-size: 1.5em; }
  table#sites, #sites tbody, #sites tr, #sites td { display: block; width: auto; }
  #sites thead { display: none; }
  #sites tr { border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 0.8em; padding: 0.4em 0.7em; }
  #sites td { border: none; padding: 0.12em 0; text-align: left; }
  #sites td[data-label]::before { content: attr(data-label) ": "; color: #57606a; }
  #sites td.site { font-weight: 600; font-size: 1.1em; }
}
@media print { table#sites { font-size: 8pt; } a { color: inherit; } }
"""


def _figure(summary: dict | None, key: str) -> str:
    value = (summary or {}).get(key)
    if value is None or (isinstance(value, float) and value != value):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.1f}" if key.endswith("percent") else f"{value:g}"
    return html.escape(str(value))


def _made_at(stamp: str) -> str:
    """When a report was made, to the minute and unbroken (``2026-12-01 08:53``); the exact time in ``datetime``."""
    try:
        when = datetime.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return html.escape(str(stamp))
    return f'<time datetime="{html.escape(stamp)}">{when:%Y-%m-%d %H:%M}</time>'


def is_own_file_name(name) -> bool:
    """True for a plain file name of the output folder as the kit writes them (``<slug>-<hash>.<ext>``): no
    folder, no ``..``, no scheme, nothing hidden. Rows of the ledger are checked by :mod:`.ledger_schema`;
    this is the last guard before a name becomes a link or a path."""
    return isinstance(name, str) and _OWN_NAME.fullmatch(name) is not None


_OWN_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8}\.(?:html|ipynb|json|failed\.ipynb|pdf)")


def _link(out: Path, name, label: str, must_exist: bool = True) -> str:
    """A relative link to the kit's own file ``name`` in ``out`` (a regular file there, not a symbolic link,
    when ``must_exist``); nothing for any other name."""
    if not is_own_file_name(name):
        return ""
    if must_exist:
        try:
            if not stat.S_ISREG(os.lstat(out / name).st_mode):
                return ""
        except OSError:
            return ""
    return f'<a href="{html.escape(name)}">{label}</a>'


def write_index(
    batch: ReportBatch, results: list[SiteResult], started_at: datetime.datetime, seconds: float, runner: str = ""
) -> Path:
    """Write ``index.json`` (the folder's ledger: every site's row and what it was made with) and ``index.html``
    drawn from it. ``results`` are all the rows of the folder, this run's and those kept from earlier runs."""
    from ivig_kit import __version__
    from ivig_kit.reports.runner.ledger import write_ledger

    out = batch.out_dir
    known = set(batch.all_sites) if batch.all_sites else None
    failed = [r for r in results if not r.ok]
    synthetic = any((r.summary or {}).get("synthetic") for r in results)
    rows = []
    for result in results:
        files = result.files
        if result.ok:
            links = " &middot; ".join(
                _link(out, files.get(key), label, must_exist=False)
                for key, label in (("html", "report"), ("notebook", "notebook"), ("summary", "summary"), ("pdf", "PDF"))
                if files.get(key)
            )
            note = ""
        else:
            links = (
                " &middot; ".join(
                    filter(
                        None,
                        (
                            _link(out, files.get("failed_notebook"), "failed notebook"),
                            _link(out, files.get("html"), "earlier report"),
                        ),
                    )
                )
                or "&ndash;"
            )
            note = f'<div class="error">{html.escape(result.error_line())}</div>'
        if known is not None and result.site not in known:
            note += (
                '<div class="meta gone">not in the current registry '
                f"(<code>{html.escape(batch.data_path.name)}</code>): kept from an earlier run</div>"
            )
        made = result.made_with or {}
        made_note = (
            f'<div class="meta">{html.escape(str(made.get("population", "")))}'
            + "".join(
                f", {html.escape(str(k))} {html.escape(str(v))}"
                for k, v in sorted((made.get("parameters") or {}).items())
            )
            + (f"; made {_made_at(result.made_at)}" if result.made_at else "")
            + (" (re-used: inputs unchanged)" if result.reused else "")
            + "</div>"
        )
        figures = "".join(
            f'<td class="number" data-label="{html.escape(label)}">{_figure(result.summary, key)}</td>'
            for key, label in index_figures(batch.population)
        )
        status = html.escape(result.status)
        gone = "true" if known is not None and result.site not in known else "false"
        rows.append(
            f'<tr class="site-row" data-status="{status}" data-reused="{str(result.reused).lower()}" '
            f'data-gone="{gone}">'
            f'<td class="site">{html.escape(result.site)}{note}</td><td class="status-{status}" '
            f'data-label="status">{status}{made_note}</td>{figures}<td data-label="files">{links}</td>'
            f'<td class="number" data-label="seconds">{"&ndash;" if result.reused else f"{result.seconds:.1f}"}'
            f"</td></tr>"
        )
    heading = "".join(f"<th>{html.escape(label)}</th>" for _, label in index_figures(batch.population))
    banner = (
        (
            '<div class="banner synthetic" id="synthetic-banner"><strong>Synthetic data.</strong> These reports '
            "are generated from a synthetic registry; no real patient is described.</div>"
        )
        if synthetic
        else ""
    )
    failures = (
        (
            f'<div class="banner failures" id="failures"><strong>{len(failed)} of {len(results)} site '
            f"report(s) failed or did not finish.</strong> Their error is shown below; an earlier report of "
            f"such a site is left in place.</div>"
        )
        if failed
        else ""
    )
    adverse = batch.adverse_events_path.name if batch.adverse_events_path else "none"
    reused = sum(r.reused for r in results)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Site reports: {html.escape(batch.data_path.name)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>Site reports</h1>
<div class="banner coordinator" id="coordinator-view"><strong>Coordinator's view.</strong> This page lists every
site's patients and outcomes, small sites included: do not share this folder. Hand each site its own report
(<code>ivig-kit reports ... --handout DIR</code> writes one zip per site with only that site's files).</div>
{banner}
{_registry_link(out)}
<p class="meta">Data <code>{html.escape(batch.data_path.name)}</code> (SHA-256 {batch.data_sha256[:12]}&hellip;),
adverse events <code>{html.escape(adverse)}</code>, population {html.escape(batch.population)},
minimum cell size {batch.min_cell_size}, notebook <code>{html.escape(batch.notebook.name)}</code>.<br>
Latest run {started_at:%Y-%m-%d %H:%M:%S %Z} on {html.escape(runner)}: {len(results) - len(failed)} ok
({reused} re-used), {len(failed)} failed or unfinished, {seconds:.1f} s.</p>
{failures}
<table id="sites">
<thead><tr><th>site</th><th>status</th>{heading}<th>files</th><th>seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    run = {
        "data_file": batch.data_path.name,
        "data_sha256": batch.data_sha256,
        "adverse_events_file": adverse if batch.adverse_events_path else "",
        "adverse_events_sha256": batch.adverse_events_sha256,
        "notebook": batch.notebook.name,
        "notebook_sha256": batch.notebook_sha256,
        "kit_version": __version__,
        "population": batch.population,
        "min_cell_size": batch.min_cell_size,
        "started_at": started_at.isoformat(),
        "seconds": seconds,
        "runner": runner,
        "sites_run": [t.site for t in batch.tasks],
    }
    write_ledger(out, [r.record() for r in results], run)
    write_atomically(out / "index.html", page)
    return out / "index.html"


def _registry_link(out: Path) -> str:
    """The link to the coordinating centre's registry report, when the folder has one."""
    if not (out / "registry.html").is_file():
        return ""
    pdf = ' (<a href="registry.pdf">PDF</a>)' if (out / "registry.pdf").is_file() else ""
    return (
        f'<p id="registry-report"><a href="registry.html">Registry report</a>{pdf}: every site against the '
        f"pooled responders (funnel plot), data quality and trends across runs, for the coordinating centre "
        f'(<a href="registry.json">registry.json</a>).</p>'
    )


# --- PDF ----------------------------------------------------------------------------------------------------

#: Where ``--pdf`` looks for Chromium (``$IVIG_KIT_CHROMIUM`` first), and the flags a closed, rootful
#: container needs.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> Path:
    """The headless Chromium (and Playwright, which drives it) that ``--pdf`` needs; a
    :class:`~ivig_kit.errors.ReportSetupError` with one clear line when either is missing."""
    configured = os.environ.get("IVIG_KIT_CHROMIUM")
    candidates = [configured] if configured else [*CHROMIUM_PATHS, shutil.which("chromium") or ""]
    found = next((Path(c) for c in candidates if c and os.access(c, os.X_OK) and Path(c).is_file()), None)
    if found is None:
        where = configured or ", ".join(CHROMIUM_PATHS)
        raise ReportSetupError(
            f"--pdf needs headless Chromium, not found at {where}: install it (Debian: apt-get "
            f"install chromium) or set IVIG_KIT_CHROMIUM to its path, or drop --pdf"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ReportSetupError(
            "--pdf needs the Playwright package to drive Chromium: pip install 'ivig-kit[pdf]' "
            "(no browser download needed), or drop --pdf"
        ) from None
    return found


@contextlib.contextmanager
def pdf_printer(chromium: Path | None = None):
    """Yield ``print(html_path, pdf_path)``, printing pages to A4 PDF with one headless Chromium (JavaScript
    off, nothing but local files loaded). Each PDF is written under a temporary name and renamed into place."""
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS), headless=True)
        try:
            context = browser.new_context(java_script_enabled=False)
            context.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort(),
            )

            def print_pdf(html_path, pdf_path) -> Path:
                html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
                partial = partial_path(pdf_path.parent, pdf_path.name)
                page = context.new_page()
                try:
                    page.goto(html_path.as_uri(), wait_until="load")
                    page.emulate_media(media="print")
                    page.pdf(
                        path=str(partial), prefer_css_page_size=True, print_background=True, outline=True, tagged=True
                    )
                    os.replace(partial, pdf_path)
                finally:
                    page.close()
                    with contextlib.suppress(FileNotFoundError):
                        partial.unlink()
                return pdf_path

            yield print_pdf
        finally:
            browser.close()


def export_site_pdfs(out_dir, results: list[SiteResult]) -> None:
    """Print the report of every successful site to ``<slug>.pdf`` beside its HTML (one Chromium for all).
    A site whose PDF fails is marked failed with the error; its earlier PDF, if any, stays."""
    out_dir = Path(out_dir)
    done = [r for r in results if r.ok]
    for result in done:  # a name that is not the kit's own never becomes a path (the ledger is checked too)
        if not is_own_file_name(result.files.get("html")) or not result.files["html"].endswith(".html"):
            _pdf_failed(result, ReportSetupError(f"{result.files.get('html')!r} is not the kit's own report name"))
    done = [r for r in done if r.ok]
    if not done:
        return
    try:
        with pdf_printer() as print_pdf:
            for result in done:
                html_name = result.files["html"]
                pdf_name = str(Path(html_name).with_suffix(".pdf"))
                try:
                    if not stat.S_ISREG(os.lstat(out_dir / html_name).st_mode):
                        raise ReportSetupError(f"{html_name}: not a regular file; the kit does not follow links")
                    print_pdf(out_dir / html_name, out_dir / pdf_name)
                    result.files = {**result.files, "pdf": pdf_name}
                except Exception as error:  # a page Chromium cannot print: this site fails, the others go on
                    _pdf_failed(result, error)
    except Exception as error:  # Chromium would not start, or died: every site still without its PDF fails
        for result in done:
            if result.ok and "pdf" not in result.files:
                _pdf_failed(result, error)


def _pdf_failed(result: SiteResult, error: Exception) -> None:
    lines = str(error).strip().splitlines()
    result.status = "failed"
    result.error = {
        "kind": "pdf",
        "ename": type(error).__name__,
        "evalue": "PDF not written: " + (lines[0] if lines else "no message"),
        "cell_index": None,
    }
