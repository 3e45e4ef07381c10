"""How the teaching notebooks show tables and figures: one formatting path, read like the site reports.

:func:`use_kit_display` (called once in a notebook's imports cell) makes every DataFrame a notebook shows go
through :func:`table_html` and every matplotlib figure through :func:`figure_html`:

- tables: measure labels instead of code names (``physician_global`` -> "Physician global"), readable
  headings, counts as integers, other numbers with the fewest decimals (at most three) that show every value
  of the column, p values to two significant figures, an en dash for a missing value, everything escaped;
- figures: an embedded PNG with alt text, as in the reports (the figure's label, else its titles and axis
  labels), never nbconvert's "No description has been provided for this image".
"""

from __future__ import annotations

import base64
import io
import math
import re
from html import escape

import numpy as np
import pandas as pd

from ivig_kit.score.measures import CORE_SET

#: What a missing value shows.
MISSING = "–"
#: Most decimals a teaching table shows (a lesson about floating point shows its values as text).
MAX_DECIMALS = 3
#: Rows shown before a long table is cut (the cut is said in a last row).
MAX_ROWS = 60

#: Headings for the code names the teaching tables use; other snake_case names lose their underscores.
LABELS = {
    **{name: spec.label for name, spec in CORE_SET.items()},
    "followup": "follow-up",
    "scale_range": "range",
    "max_points": "max points",
    "tis": "TIS",
    "mc_se": "Monte Carlo SE",
    "p_value": "p value",
    "p_rounded": "p (rounded)",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "n": "n",
    "mmt_max": "MMT maximum",
    "data_source": "data source",
    "patient_id": "patient",
    "at_limit": "at floor/ceiling",
}

_CODE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def label(name) -> str:
    """A readable heading or row label for a column/index name (tuples are joined with a space)."""
    if isinstance(name, tuple):
        return " ".join(label(part) for part in name if str(part))
    if name is None:
        return ""
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    return text.replace("_", " ") if _CODE_NAME.match(text) else text


def is_p_value(name) -> bool:
    text = label(name).lower()
    return text in {"p", "p value", "p-value"} or text.startswith(("p value", "p (", "p-value"))


def decimals_for(values: pd.Series) -> int:
    """The fewest decimals (at most :data:`MAX_DECIMALS`) that show every finite value of a column."""
    finite = [float(v) for v in values if isinstance(v, (int, float, np.number)) and math.isfinite(float(v))]
    needed = 0
    for value in finite:
        text = f"{round(value, MAX_DECIMALS):.{MAX_DECIMALS}f}".rstrip("0")
        needed = max(needed, len(text.split(".")[1]) if "." in text else 0)
    return needed


def format_cell(value, decimals: int | None, p_value: bool = False) -> str:
    """One cell as text (not yet escaped): missing -> en dash, booleans yes/no, numbers by the column's rule."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.number)):
        number = float(value)
        if math.isnan(number):
            return MISSING
        if math.isinf(number):
            return "∞" if number > 0 else "−∞"
        if p_value and 0 < abs(number) < 1:
            return np.format_float_positional(number, precision=2, fractional=False, trim="-")
        if decimals is None or isinstance(value, (int, np.integer)):
            return f"{int(number)}" if number.is_integer() else f"{number:g}"
        return f"{number:.{decimals}f}"
    text = str(value)
    return LABELS.get(text, text) if text in CORE_SET else text


def table_html(table: pd.DataFrame, caption: str | None = None, index: bool = True) -> str:
    """A teaching table as escaped HTML with readable headings and numbers (see the module docstring).

    Parameters
    ----------
    table : DataFrame
        Any table a lesson computes; it is not changed.
    caption : str, optional
        Shown above the table.
    index : bool
        Show the index (unnamed ranges 0..n-1 are left out).

    Returns
    -------
    str
        ``<div class="ivig-table"><table>...`` with ``scope`` on every heading.

    Examples
    --------
    >>> "15.000000" in table_html(pd.DataFrame({"physician_global": [15.0, 39.473684]}))
    False
    """
    shown = table.head(MAX_ROWS)
    plain_range = isinstance(table.index, pd.RangeIndex) and table.index.name is None
    index = index and not plain_range
    rules = {}
    for position, column in enumerate(shown.columns):
        values = shown.iloc[:, position]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        integer = pd.api.types.is_integer_dtype(values)
        rules[position] = (None if integer or not numeric else decimals_for(values), is_p_value(column))
    corner = escape(label(" / ".join(str(n) for n in table.index.names if n is not None))) if index else None
    head = ([f'<th scope="col">{corner}</th>' if corner else "<td></td>"] if index else []) + [
        f'<th scope="col">{escape(label(column))}</th>' for column in shown.columns
    ]
    rows = []
    for key, row in zip(shown.index, shown.itertuples(index=False, name=None)):
        text = format_cell(key, None) if isinstance(key, (int, float, np.number)) else label(key)
        cells = [f'<th scope="row">{escape(text)}</th>'] if index else []
        for position, value in enumerate(row):
            decimals, p_value = rules[position]
            numeric = isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
            attributes = ' class="num"' if numeric else ""
            cells.append(f"<td{attributes}>{escape(format_cell(value, decimals, p_value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if len(table) > MAX_ROWS:
        rows.append(f'<tr><td colspan="{len(head)}">… {len(table) - MAX_ROWS} more rows not shown</td></tr>')
    caption_html = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="ivig-table"><table>{caption_html}<thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def figure_alt(figure) -> str:
    """Alt text for a figure: its label if set (as the reports' figures do), else its titles and axis labels."""
    if figure.get_label() and not figure.get_label().startswith("_"):
        return figure.get_label()
    parts = []
    if figure._suptitle is not None and figure._suptitle.get_text():
        parts.append(figure._suptitle.get_text())
    for ax in figure.axes:
        words = [
            ax.get_title(),
            ax.get_xlabel() and f"x: {ax.get_xlabel()}",
            ax.get_ylabel() and f"y: {ax.get_ylabel()}",
        ]
        text = ", ".join(w for w in words if w)
        if text and text not in parts:
            parts.append(text)
    return "Figure: " + "; ".join(parts) if parts else "Figure of the lesson above (no title)"


def figure_html(figure) -> str:
    """The figure with alt text (escaped) at its size in CSS pixels: inline SVG with real text when the notebook
    asked for SVG figures (``set_matplotlib_formats("svg")``), else an embedded PNG."""
    alt = escape(figure_alt(figure))
    buffer = io.BytesIO()
    if "svg" in inline_figure_formats():
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        svg = buffer.getvalue().decode("utf-8")
        svg = svg[svg.index("<svg") :].replace("<svg", f'<svg role="img" aria-label="{alt}"', 1)
        return f'<div class="ivig-figure" style="max-width:100%;overflow-x:auto">{svg}</div>'
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    width = round(figure.get_figwidth() * 96)
    return f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%;height:auto" width="{width}">'


def inline_figure_formats() -> set[str]:
    """The figure formats the notebook shows (``png``, ``svg``...; empty outside a kernel)."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return set()
    shell = get_ipython()
    if shell is None:
        return set()
    formatters = shell.display_formatter.formatters
    return {
        mime.split("/")[1].split("+")[0]
        for mime, formatter in formatters.items()
        if mime.startswith("image/") and Figure in formatter.type_printers
    }


def use_kit_display() -> None:
    """Show every DataFrame and matplotlib figure of this notebook the kit's way (outside IPython: nothing).

    The inline backend is switched on first, because switching it (or ``set_matplotlib_formats``) drops every
    figure formatter; the figure formatter is put back before each cell for the same reason.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.run_line_magic("matplotlib", "inline")
    register_formatters(shell)
    if register_formatters not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", register_formatters)


def register_formatters(shell=None, *_) -> None:
    """Register :func:`table_html` and :func:`figure_html` as the HTML formatters of DataFrames and figures."""
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = shell if hasattr(shell, "display_formatter") else get_ipython()
    html_formatter = shell.display_formatter.formatters["text/html"]
    html_formatter.for_type(pd.DataFrame, table_html)
    html_formatter.for_type(Figure, figure_html)
