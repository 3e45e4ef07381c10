"""The calculator's per-CSM breakdown as an HTML table: points earned out of the maximum as a bar,
numbers never in exponent form, the columns the inputs already show dropped when the calculator is
narrow."""

from __future__ import annotations

import html

from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.measures import CORE_SET
from ivig_kit.teaching.patients import PatientScore
from ivig_kit.teaching.plain_numbers import plain_number

#: In a narrow calculator (a phone, or JupyterLab at 768 px with its file browser open) the table keeps
#: the measure, percent and points, and drops the columns the inputs above already show.
NARROW_CSS = (
    ".tis-calculator{container-type:inline-size}@container (max-width: 560px){.tis-breakdown .tis-wide{display:none}}"
)


def percent_heading(score: PatientScore) -> str:
    """The heading of the percent column: absolute (of the range), and what the enzyme's percent is of."""
    if "enzyme" not in set(score.breakdown.get("instrument", [])):
        return "% of range"
    option = score.enzyme_normalisation
    if option.method == "relative":
        return "% of range (enzyme: relative, % of baseline)"
    return f"% of range (enzyme: range-normalised, of {option.uln_multiplier:g} x ULN)"


def breakdown_html(score: PatientScore) -> str:
    """Per-CSM table with a bar of points earned out of the maximum; numbers never in exponent form."""
    rows = []
    for name, row in score.breakdown.iterrows():
        instrument = INSTRUMENTS[row.get("instrument", CORE_SET[name].instruments[0])]
        width = 100 * row["points"] / row["max_points"]
        bar = (
            f'<div style="background:#ddd;width:100%;min-width:3em;height:0.9em"><div style="background:#1f77b4;'
            f'width:{width:.0f}%;height:100%"></div></div>'
        )
        flag = " (baseline at floor/ceiling)" if row["at_limit"] else ""
        percent = "n/a" if row["percent"] != row["percent"] else f"{row['percent']:.2f}%"
        short = score.patient.enzyme.upper() if instrument.name == "enzyme" else instrument.short
        rows.append(
            f'<tr data-measure="{name}"><td>{html.escape(short)}{flag}</td>'
            f'<td class="tis-wide">{plain_number(row["baseline"])}</td>'
            f'<td class="tis-wide">{plain_number(row["followup"])}</td>'
            f'<td class="tis-wide">{plain_number(row["change"])}</td>'
            f'<td class="tis-wide">{plain_number(row["scale_range"])}</td>'
            f'<td class="tis-percent">{percent}</td>'
            f'<td class="tis-points">{row["points"]:g}</td><td style="white-space:nowrap">/ {row["max_points"]:g}</td>'
            f"<td>{bar}</td></tr>"
        )
    header = (
        '<tr><th>measure</th><th class="tis-wide">baseline</th><th class="tis-wide">follow-up</th>'
        '<th class="tis-wide">improvement</th><th class="tis-wide">range</th>'
        f'<th class="tis-percent-heading">{html.escape(percent_heading(score))}</th>'
        "<th>points</th><th>max</th><th></th></tr>"
    )
    return (
        f"<style>{NARROW_CSS}</style>"
        f'<table class="tis-breakdown" style="width:100%;table-layout:auto;font-size:0.9em">'
        f"{header}{''.join(rows)}</table>"
    )
