"""The index page of a folder of reports: ``index.html``, one row per site (status, key figures, links to its
files), drawn from ``index.json``, the folder's ledger, written beside it."""

from __future__ import annotations

import datetime
import html
import os
import stat
from pathlib import Path

from ivig_kit.files import write_atomically
from ivig_kit.reports.runner.file_names import is_own_file_name
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
