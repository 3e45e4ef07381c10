"""HTML pages of the batch: one self-contained report per site (code hidden, images embedded, table of
contents) and the index page that lists every site.
"""

from __future__ import annotations

import datetime
import html
import re
from pathlib import Path

from ivig_kit.files import write_atomically
from ivig_kit.reports.tasks import ReportBatch, SiteResult

#: Key figures of a site summary shown in the index: (summary key, column heading).
INDEX_FIGURES = (("patients", "patients"), ("visits", "visits"), ("responder_percent", "responders (TIS>=20) %"),
                 ("confirmed_deteriorations", "confirmed deteriorations"), ("adverse_events", "adverse events"))


# --- HTML export ------------------------------------------------------------------------------------------

_TOC_MARK = "<!--ivig-kit:table-of-contents-->"
# The lab template without anything fetched from the network (no require.js, MathJax or mermaid from a CDN),
# a mark where the table of contents goes, and a little CSS for it and for a printed page.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
nav.ivig-toc { margin: 1em 24px 1.5em; padding: 0.6em 1.2em; max-width: 60em; border: 1px solid #d0d7de;
  border-radius: 6px; background: #f6f8fa; font-family: var(--jp-content-font-family, sans-serif); }
nav.ivig-toc .ivig-toc-title { font-weight: 600; margin: 0.2em 0 0.4em; }
nav.ivig-toc ol { margin: 0; padding-left: 1.2em; }
nav.ivig-toc ol ol { list-style: lower-alpha; }
@media print { nav.ivig-toc { display: none; } }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}
""" + _TOC_MARK + """
{%- endblock body_header -%}
"""
_HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_exporter = None  # one per process: building it loads and compiles the templates


def _html_exporter():
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        _exporter = HTMLExporter(template_name="lab", template_file="ivig_site_report.html.j2",
                                 extra_loaders=[DictLoader({"ivig_site_report.html.j2": _REPORT_TEMPLATE})],
                                 exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                 embed_images=True)
    return _exporter


def export_html(notebook, title: str) -> str:
    """One self-contained HTML page of an executed notebook: code hidden, images embedded, a table of
    contents built from its headings, nothing loaded from the network."""
    body, _ = _html_exporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body.replace(_TOC_MARK, table_of_contents(body), 1)


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
    return ('<nav class="ivig-toc" id="table-of-contents" aria-label="Table of contents">'
            '<p class="ivig-toc-title">Contents</p><ol>' + "".join(items) + "</ol></nav>")


# --- The index page ---------------------------------------------------------------------------------------

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
  padding: 0 1em; color: #1f2328; }
.banner { padding: 0.7em 1em; border-radius: 6px; margin: 1em 0; }
.synthetic { background: #fff8c5; border: 1px solid #d4a72c; }
.failures { background: #ffebe9; border: 1px solid #cf222e; }
table { border-collapse: collapse; width: 100%; font-size: 0.95em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
.status-interrupted { color: #9a6700; font-weight: 600; }
.error { font-family: ui-monospace, monospace; font-size: 0.9em; white-space: pre-wrap; color: #82071e; }
.meta { color: #57606a; font-size: 0.9em; }
"""


def _figure(summary: dict | None, key: str) -> str:
    value = (summary or {}).get(key)
    if value is None or (isinstance(value, float) and value != value):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.1f}" if key.endswith("percent") else f"{value:g}"
    return html.escape(str(value))


def write_index(batch: ReportBatch, results: list[SiteResult], started_at: datetime.datetime, seconds: float,
                runner: str = "") -> Path:
    """Write ``index.json`` (the folder's ledger: every site's row and what it was made with) and ``index.html``
    drawn from it. ``results`` are all the rows of the folder, this run's and those kept from earlier runs."""
    from ivig_kit import __version__
    from ivig_kit.reports.ledger import write_ledger

    out = batch.out_dir
    failed = [r for r in results if not r.ok]
    synthetic = any((r.summary or {}).get("synthetic") for r in results)
    rows = []
    for result in results:
        files = result.files
        if result.ok:
            links = (f'<a href="{html.escape(files["html"])}">report</a> &middot; '
                     f'<a href="{html.escape(files["notebook"])}">notebook</a> &middot; '
                     f'<a href="{html.escape(files["summary"])}">summary</a>')
            note = ""
        else:
            links = []
            if (out / files["failed_notebook"]).exists():
                links.append(f'<a href="{html.escape(files["failed_notebook"])}">failed notebook</a>')
            if (out / files["html"]).exists():
                links.append(f'<a href="{html.escape(files["html"])}">earlier report</a>')
            links = " &middot; ".join(links) or "&ndash;"
            note = f'<div class="error">{html.escape(result.error_line())}</div>'
        made = result.made_with or {}
        made_note = (f'<div class="meta">{html.escape(str(made.get("population", "")))}'
                     + "".join(f", {html.escape(str(k))} {html.escape(str(v))}"
                               for k, v in sorted((made.get("parameters") or {}).items()))
                     + (f"; made {html.escape(result.made_at)}" if result.made_at else "")
                     + (" (re-used: inputs unchanged)" if result.reused else "") + "</div>")
        figures = "".join(f'<td class="number">{_figure(result.summary, key)}</td>' for key, _ in INDEX_FIGURES)
        status = html.escape(result.status)
        rows.append(f'<tr class="site-row" data-status="{status}" data-reused="{str(result.reused).lower()}">'
                    f'<td class="site">{html.escape(result.site)}{note}</td><td class="status-{status}">{status}'
                    f'{made_note}</td>{figures}<td>{links}</td><td class="number">{result.seconds:.1f}</td></tr>')
    heading = "".join(f"<th>{html.escape(label)}</th>" for _, label in INDEX_FIGURES)
    banner = ('<div class="banner synthetic" id="synthetic-banner"><strong>Synthetic data.</strong> These reports '
              'are generated from a synthetic registry; no real patient is described.</div>') if synthetic else ""
    failures = (f'<div class="banner failures" id="failures"><strong>{len(failed)} of {len(results)} site '
                f'report(s) failed or did not finish.</strong> Their error is shown below; an earlier report of '
                f'such a site is left in place.</div>') if failed else ""
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
{banner}
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
    run = {"data_file": batch.data_path.name, "data_sha256": batch.data_sha256,
           "adverse_events_file": adverse if batch.adverse_events_path else "",
           "adverse_events_sha256": batch.adverse_events_sha256, "notebook": batch.notebook.name,
           "notebook_sha256": batch.notebook_sha256, "kit_version": __version__, "population": batch.population,
           "min_cell_size": batch.min_cell_size, "started_at": started_at.isoformat(), "seconds": seconds,
           "runner": runner, "sites_run": [t.site for t in batch.tasks]}
    write_ledger(out, [r.record() for r in results], run)
    write_atomically(out / "index.html", page)
    return out / "index.html"
