"""Showing a report's pieces in the notebook: header, key findings, tables, figures and text.

There is **one rendering path** and it escapes: every piece of a report that can hold text from a data
file (site names, patient ids, arms, subtypes, adverse-event text, ``data_source``, file names) is turned
into HTML here, by :func:`table_html`, :func:`figure_html`, :func:`header_html` and
:func:`key_findings_html`, each passing every value, heading and caption through :func:`html.escape`.
Nothing is displayed as Markdown (a Markdown renderer would turn ``[x](javascript:...)`` into a link), and
the executed notebook's rich outputs are the same escaped HTML as the exported page.

Numbers are formatted once, by column kind (:func:`column_kind`): counts as integers, percentages and
scores to one decimal, rates to two, p values to two significant figures, weeks as written; a missing
value is an en dash (or blank where the caption says so), never ``nan`` or ``None``.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape
from typing import TYPE_CHECKING

import pandas as pd

from ivig_kit.reports.content.site import SiteReport
from ivig_kit.reports.content.summary import site_summary
from ivig_kit.reports.content.tables import MISSING, format_value
from ivig_kit.reports.content.trends import previous_from_pooled_summary, short_time, since_last_report
from ivig_kit.score.measures import CATEGORY_THRESHOLDS

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# --- Header and findings -------------------------------------------------------------------------------------


SYNTHETIC_BANNER = (
    '<div style="background:#fff3cd;border:2px solid #d4a72c;padding:8px 12px;margin:6px 0;'
    'font-size:1.1em" class="synthetic-banner"><strong>SYNTHETIC DATA</strong> &mdash; this report '
    "is built from {source}. No real patient is described.</div>"
)


def header_html(report: SiteReport) -> str:
    """The report header: the H1 naming the site, then site, data cut-off, run time, and a banner when the data
    are synthetic (escaped HTML)."""
    metrics = report.site_metrics
    cutoff = f"week {metrics['last_week']:g}"
    if metrics.get("data_cutoff"):
        cutoff = f"{metrics['data_cutoff']} (last visit at this site; {cutoff})"
    rows = [
        ("Site", report.site),
        ("Data cut-off", cutoff),
        ("Run time", report.run_time.strftime("%Y-%m-%d %H:%M UTC")),
        ("Patients / visits", f"{metrics['patients']} / {metrics['visits']}"),
        (
            "TIS thresholds",
            f"{report.population} ({', '.join(f'{t:g}' for t in CATEGORY_THRESHOLDS[report.population])})",
        ),
        ("Visit table", f"{report.source['data_file']} (SHA-256 {report.source['data_sha256'][:12]}…)"),
    ]
    table = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th><td style='text-align:left'>"
        f"{escape(str(v))}</td></tr>"
        for k, v in rows
    )
    banner = SYNTHETIC_BANNER.format(source=escape("; ".join(report.data_sources))) if report.synthetic else ""
    return f"{title_html(report)}{banner}<table class='site-report-header'>{table}</table>"


def title_html(report: SiteReport) -> str:
    """The report's H1: the site and the population, so that nine tabs or printouts are told apart."""
    return (
        f'<h1 class="site-report-title">Site report: {escape(report.site)} '
        f"<small>({escape(report.population)} thresholds)</small></h1>"
    )


def key_findings(report: SiteReport) -> str:
    """The summary in a few sentences, one per line (plain text; shown by :func:`key_findings_html`)."""
    summary = site_summary(report)
    lines = [
        f"{summary['patients']} patients with {summary['visits']} visits up to week "
        f"{summary['last_week']:g}" + (f" (data cut-off {summary['data_cutoff']})." if summary["data_cutoff"] else ".")
    ]
    pooled = summary["pooled_responder_percent"]
    pooled = (
        f"{pooled:.1f}%" if pooled is not None else "not shown (the other sites have too few patients to be shared)"
    )
    if summary["patients_scored"]:
        lines.append(
            f"Responders (last complete TIS >= {summary['responder_threshold']:g}): "
            f"{summary['responders']} of {summary['patients_scored']} "
            f"({summary['responder_percent']:.1f}%, 95% CI {summary['responder_ci_low']:.1f}–"
            f"{summary['responder_ci_high']:.1f}%); all sites pooled: {pooled}."
        )
    lines.append(f"Confirmed deteriorations: {summary['confirmed_deteriorations']} patient(s).")
    if summary["adverse_events"] is not None:
        lines.append(
            f"Adverse events: {summary['adverse_events']}, of which {summary['serious_adverse_events']} "
            f"serious and {summary['thromboembolic_events']} thromboembolic."
        )
    lines.append(
        f"Data quality: {summary['missing_csm_visits']} visit(s) with a missing CSM value, "
        f"{summary['missed_visits']} missed scheduled visit(s), {summary['out_of_pattern_visits']} "
        f"out-of-pattern visit(s)."
    )
    if report.synthetic:
        lines.append("These data are synthetic: the numbers illustrate the report, not any real site.")
    return "\n".join(lines)


def key_findings_html(report: SiteReport) -> str:
    """The key findings as an escaped HTML list, the words before the first colon in bold."""
    items = []
    for line in key_findings(report).splitlines():
        head, colon, rest = line.partition(": ")
        items.append(
            f"<li><strong>{escape(head)}</strong>: {escape(rest)}</li>" if colon else f"<li>{escape(line)}</li>"
        )
    return '<ul class="ivig-key-findings">' + "".join(items) + "</ul>"


# --- Tables: one formatting path -------------------------------------------------------------------------------

#: Readable headings for the column names of the report's tables (applied when a table is shown).
COLUMN_LABELS = {
    "n": "n with a complete TIS",
    "percent": "% responders",
    "ci_low": "95% CI low (%)",
    "ci_high": "95% CI high (%)",
    "median_tis": "median TIS",
    "patient_id": "patient",
}

_COUNT_NAMES = re.compile(r"^(n|n .*|count|responders|patients|events|visits)$|, n$", re.IGNORECASE)


def column_kind(name, values: pd.Series) -> str:
    """How a column's values are shown: ``text``, ``count``, ``percent``, ``score``, ``rate``, ``p`` or ``week``.

    Decided from the (readable) column name first, then the dtype: a name with ``%`` or "percent" is a
    percentage, "p value" a p value, a name ending in "week" (not "week 4", a TIS column) a week; integer
    columns and count names (n, responders, ...) are counts; "per patient" is a rate; other numbers are scores.
    """
    text = str(name).strip().lower()
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        return "text"
    if text in {"p", "p value", "p-value", "p_value"} or text.startswith(("p value", "p-value")):
        return "p"
    if "%" in text or "percent" in text:
        return "percent"
    if text.endswith("week") or text == "weeks":
        return "week"
    if pd.api.types.is_integer_dtype(values) or _COUNT_NAMES.search(text):
        return "count"
    if "per patient" in text or "rate" in text:
        return "rate"
    return "score"


def _caption_id(caption: str) -> str | None:
    match = re.match(r"\s*(Table|Figure)\s+(\d+)\.", caption)
    return f"{match.group(1).lower()}-{match.group(2)}" if match else None


def table_html(
    table: pd.DataFrame, caption: str, index: bool = True, missing: str = MISSING, kinds: dict | None = None
) -> str:
    """The escaped HTML of a table with its caption (an empty table says "none").

    Parameters
    ----------
    table : DataFrame
        Column names are replaced by :data:`COLUMN_LABELS` where they have one.
    caption : str
        "Table N. ..." gives the table the id ``table-N`` for cross-references.
    index : bool
        Show the index (its name heads the first column).
    missing : str
        What a missing cell shows: an en dash (the default; the caption then says so) or ``""`` (blank,
        when the caption explains what an empty cell means).
    kinds : dict, optional
        Column kinds overriding :func:`column_kind`.

    Returns
    -------
    str
        A ``<div class="ivig-table">`` holding the table; every cell, heading and the caption escaped,
        numeric cells with ``data-kind`` (count, percent, score, rate, p, week).
    """
    anchor = _caption_id(caption)
    id_attribute = f' id="{anchor}"' if anchor else ""
    if table.empty:
        return f'<p class="ivig-table-empty"{id_attribute}><em>{escape(caption)}</em>: none.</p>'
    if isinstance(table.columns, pd.MultiIndex):  # renamed level by level
        table = table.rename(columns=COLUMN_LABELS)
    columns = [COLUMN_LABELS.get(column, column) for column in table.columns]  # no renamed copy of the table
    index_name = COLUMN_LABELS.get(table.index.name, table.index.name)
    kinds = {
        **{label: column_kind(label, table.iloc[:, position]) for position, label in enumerate(columns)},
        **(kinds or {}),
    }
    any_missing = bool(table.isna().to_numpy().any())
    if missing and any_missing and missing not in caption:
        caption = caption.rstrip() + f" {missing}: not available."
    head = [escape(str(index_name or "")) if index else None] + [escape(str(column)) for column in columns]
    header = "".join(f'<th scope="col">{h}</th>' for h in head if h is not None)
    rows = []
    for label, row in zip(table.index, table.itertuples(index=False, name=None)):
        cells = [f'<th scope="row">{escape(format_value(label, "text", missing))}</th>'] if index else []
        for column, value in zip(columns, row):
            kind = kinds[column]
            attributes = "" if kind == "text" else f' class="num" data-kind="{kind}"'
            cells.append(f"<td{attributes}>{escape(format_value(value, kind, missing))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="ivig-table"><table{id_attribute}><caption>{escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- Figures ---------------------------------------------------------------------------------------------------

CSS_PIXELS_PER_INCH = 96
#: How a figure is written as SVG (per call, never in the caller's rcParams). Text is drawn as outlines
#: (``path``), not as ``<text>`` in a font the viewer may lack: the picture is the same on every machine and in
#: the PDF. No date and a fixed salt for the ids of clip paths and glyphs: the same figure gives the same bytes.
SVG_PARAMETERS: dict[RcKeyType, object] = {"svg.fonttype": "path", "svg.hashsalt": "ivig-kit"}


def figure_svg(figure) -> bytes:
    """The figure as SVG bytes (see :data:`SVG_PARAMETERS`): vector, so sharp at any zoom and in print.

    Parameters
    ----------
    figure : matplotlib Figure
        Drawn at its size in inches.

    Returns
    -------
    bytes
        UTF-8 SVG without a date; the same figure always gives the same bytes.
    """
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(SVG_PARAMETERS):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def figure_html(figure, caption: str, alt: str | None = None) -> str:
    """A ``<figure>``: the SVG embedded as an image (whose scripts never run), its alt text and its numbered
    caption, all escaped.

    Parameters
    ----------
    figure : matplotlib Figure
        Shown at its size in inches (96 CSS pixels per inch, never wider than the page).
    caption : str
        "Figure N. ..." gives the figure the id ``figure-N``.
    alt : str, optional
        What the image shows, for a reader who cannot see it; by default the figure's label, which the
        report's figure functions set to such a description. A figure without either is refused.
    """
    alt = alt or figure.get_label()
    if not alt or not alt.strip():
        raise ValueError(f"figure {caption[:40]!r} has no alt text: pass alt= or set the figure's label")
    anchor = _caption_id(caption)
    id_attribute = f' id="{anchor}"' if anchor else ""
    width = round(figure.get_figwidth() * CSS_PIXELS_PER_INCH)
    data = base64.b64encode(figure_svg(figure)).decode("ascii")
    return (
        f'<figure class="ivig-figure"{id_attribute} style="margin:0.5em 0">'
        f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" width="{width}" '
        f'style="max-width:100%;height:auto">'
        f'<figcaption style="font-style:italic;max-width:{width}px">{escape(caption)}</figcaption></figure>'
    )


# --- Display in a notebook -----------------------------------------------------------------------------------


def show_html(text: str) -> None:
    """Display HTML this module built (and escaped); never pass it text from a data file."""
    from IPython.display import HTML, display

    display(HTML(text))


def show_table(
    table: pd.DataFrame, caption: str, index: bool = True, missing: str = MISSING, kinds: dict | None = None
) -> None:
    """Display a table with its caption (see :func:`table_html`)."""
    show_html(table_html(table, caption, index=index, missing=missing, kinds=kinds))


def show_figure(figure, caption: str, alt: str | None = None) -> None:
    """Display a figure with its alt text and numbered caption (see :func:`figure_html`)."""
    show_html(figure_html(figure, caption, alt))


def show_key_findings(report: SiteReport) -> None:
    """Display the key findings (see :func:`key_findings_html`)."""
    show_html(key_findings_html(report))


def since_last_report_html(report) -> str:
    """The "since your last report" section of a site report (escaped HTML): when the previous report was
    made and its figures against this report's (``report``: a loaded site report)."""
    previous = previous_from_pooled_summary(report.parameters.pooled_summary_path)
    if previous is None:
        return (
            "<p><em>No earlier report of this site in this output folder: from the next run of the batch, this "
            "section compares the site's figures with those of its previous report.</em></p>"
        )
    when = short_time(previous["made_at"])
    intro = (
        f"<p>Your previous report was made on {escape(when)} (batch run {escape(short_time(previous['run_at']))}"
        f", visit table {escape(previous['data_file'])}). Pooled figures are shown to whole percentages, as "
        f"sites see them.</p>"
    )
    table = since_last_report(site_summary(report), previous)
    return intro + table_html(table, "Table 12. Since your last report: this site and all sites pooled, then and now.")
