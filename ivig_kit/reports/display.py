"""Showing a report's pieces in the notebook: header, key findings, tables, figures and text."""

from __future__ import annotations

import io
from html import escape

import pandas as pd

from ivig_kit.reports.figures import FIGURE_DPI
from ivig_kit.reports.site import SiteReport
from ivig_kit.reports.summary import site_summary
from ivig_kit.score.measures import CATEGORY_THRESHOLDS

# --- Header and findings -------------------------------------------------------------------------------------


SYNTHETIC_BANNER = ('<div style="background:#fff3cd;border:2px solid #d4a72c;padding:8px 12px;margin:6px 0;'
                    'font-size:1.1em" class="synthetic-banner"><strong>SYNTHETIC DATA</strong> &mdash; this report '
                    'is built from {source}. No real patient is described.</div>')


def header_html(report: SiteReport) -> str:
    """The report header: site, data cut-off, run time, and a banner when the data are synthetic."""
    metrics = report.site_metrics
    cutoff = f"week {metrics['last_week']:g}"
    if metrics.get("data_cutoff"):
        cutoff = f"{metrics['data_cutoff']} (last visit at this site; {cutoff})"
    rows = [("Site", report.site), ("Data cut-off", cutoff),
            ("Run time", report.run_time.strftime("%Y-%m-%d %H:%M UTC")),
            ("Patients / visits", f"{metrics['patients']} / {metrics['visits']}"),
            ("TIS thresholds", f"{report.population} ("
                               f"{', '.join(f'{t:g}' for t in CATEGORY_THRESHOLDS[report.population])})"),
            ("Visit table", f"{report.source['data_file']} (SHA-256 {report.source['data_sha256'][:12]}…)")]
    table = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th><td style='text-align:left'>"
                    f"{escape(str(v))}</td></tr>" for k, v in rows)
    banner = SYNTHETIC_BANNER.format(source=escape("; ".join(report.data_sources))) if report.synthetic else ""
    return f"{banner}<table class='site-report-header'>{table}</table>"


def key_findings(report: SiteReport) -> str:
    """The summary in a few Markdown bullet points."""
    summary = site_summary(report)
    lines = [f"- **{summary['patients']} patients** with {summary['visits']} visits up to week "
             f"{summary['last_week']:g}"
             + (f" (data cut-off {summary['data_cutoff']})." if summary["data_cutoff"] else ".")]
    if summary["patients_scored"]:
        lines.append(f"- **Responders** (last complete TIS >= {summary['responder_threshold']:g}): "
                     f"{summary['responders']} of {summary['patients_scored']} "
                     f"({summary['responder_percent']:.0f}%, 95% CI {summary['responder_ci_low']:.0f}–"
                     f"{summary['responder_ci_high']:.0f}%); all sites pooled: "
                     f"{summary['pooled_responder_percent']:.0f}%.")
    lines.append(f"- **Confirmed deteriorations**: {summary['confirmed_deteriorations']} patient(s).")
    if summary["adverse_events"] is not None:
        lines.append(f"- **Adverse events**: {summary['adverse_events']}, of which {summary['serious_adverse_events']} "
                     f"serious and {summary['thromboembolic_events']} thromboembolic.")
    lines.append(f"- **Data quality**: {summary['missing_csm_visits']} visit(s) with a missing CSM value, "
                 f"{summary['missed_visits']} missed scheduled visit(s), {summary['out_of_pattern_visits']} "
                 f"out-of-pattern visit(s).")
    if report.synthetic:
        lines.append("- These data are **synthetic**: the numbers illustrate the report, not any real site.")
    return "\n".join(lines)


# --- Display in a notebook -----------------------------------------------------------------------------------


def figure_png(figure) -> bytes:
    """The figure as PNG bytes (deterministic: no timestamps in the file)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def show_figure(figure, caption: str) -> None:
    """Display a figure as a PNG image followed by its caption."""
    from IPython.display import Image, Markdown, display

    display(Image(data=figure_png(figure), format="png"))
    display(Markdown(f"*{caption}*"))


#: Readable headings for the column names of the tables above (applied when a table is shown).
COLUMN_LABELS = {"n": "n with a complete TIS", "percent": "% responders", "ci_low": "95% CI low (%)",
                 "ci_high": "95% CI high (%)", "median_tis": "median TIS", "patient_id": "patient"}


def show_table(table: pd.DataFrame, caption: str, precision: int = 1, index: bool = True) -> None:
    """Display a table with its caption and readable column headings (an empty table says "none")."""
    from IPython.display import Markdown, display

    if table.empty:
        display(Markdown(f"*{caption}*: none."))
        return
    table = table.rename(columns=COLUMN_LABELS)
    weeks = {column: _format_week for column in table.columns
             if "week" in str(column).lower() and pd.api.types.is_float_dtype(table[column])
             and not str(column).startswith("week ")}
    styler = table.style.format(precision=precision, na_rep="–").format(weeks).set_caption(caption)
    if not index:
        styler = styler.hide(axis="index")
    styler = styler.set_table_styles([{"selector": "caption", "props": "caption-side: top; text-align: left; "
                                                                      "font-style: italic; padding: 4px 0;"}])
    display(styler)


def _format_week(value) -> str:
    return "–" if pd.isna(value) else f"{value:g}"


def show_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))
