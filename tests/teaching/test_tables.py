"""Teaching tables read like the reports': labels not code names, sensible decimals, an en dash for missing.

Unit tests of :mod:`ivig_kit.teaching.display`, then every table of every executed teaching notebook (the
course site's pages) parsed cell by cell.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ivig_kit.score.measures import CORE_SET
from ivig_kit.teaching import display


class TableCells(HTMLParser):
    """(tag, text) of every th/td inside a <table>."""

    def __init__(self, page: str):
        super().__init__()
        self.cells, self.depth, self.current = [], 0, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.depth += 1
        elif tag in ("th", "td") and self.depth:
            self.current = [tag, ""]

    def handle_endtag(self, tag):
        if tag == "table":
            self.depth -= 1
        elif tag in ("th", "td") and self.current:
            self.cells.append((self.current[0], self.current[1].strip()))
            self.current = None

    def handle_data(self, data):
        if self.current:
            self.current[1] += data


NUMBER = re.compile(r"-?\d+\.(\d+)")


def is_raw_float(text: str) -> bool:
    """A float printed as pandas does (``15.000000``, ``39.473684``): four to eleven decimals with four or
    more significant ones. Two significant figures of a small p value (``0.00069``) are not raw, nor a float's
    exact repr that a floating-point lesson shows on purpose (``5.000000000000001``)."""
    match = NUMBER.fullmatch(text)
    if not match or not 4 <= len(match.group(1)) <= 11:
        return False
    return len(match.group(1).lstrip("0")) >= 4 or text.split(".")[0].lstrip("-") not in ("0", "")


CODE_NAMES = set(CORE_SET) | {"max_points", "scale_range", "mc_se", "p_value"}


def table_problems(page: str) -> list[str]:
    problems = []
    for tag, text in TableCells(page).cells:
        if is_raw_float(text):
            problems.append(f"raw float {text!r}")
        if text in ("nan", "NaN", "None", "<NA>", "NaT"):  # "none" is a word ("control: none"), not a repr
            problems.append(f"missing shown as {text!r}")
        if text in CODE_NAMES or (tag == "th" and re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", text)):
            problems.append(f"code name {text!r} in a {tag}")
    return problems


def test_a_percent_change_table_reads_like_the_reports():
    table = pd.DataFrame(
        {"baseline": [6.0, 110.0], "followup": [4.2, np.nan], "percent": [15.000000, 39.473684], "points": [15, 0]},
        index=pd.Index(["physician_global", "mmt"], name="measure"),
    )
    page = display.table_html(table, caption="Table. Percent change")
    cells = TableCells(page).cells
    assert ("th", CORE_SET["physician_global"].label) in cells and ("th", "follow-up") in cells
    assert ("td", "15.000") in cells and ("td", "39.474") in cells  # one decimal count per column, at most three
    assert ("td", "4.2") in cells and ("td", display.MISSING) in cells and ("td", "15") in cells
    assert table_problems(page) == []
    assert "<caption>Table. Percent change</caption>" in page


def test_numbers_p_values_booleans_and_escaping():
    table = pd.DataFrame(
        {
            "p_value": [0.000812, 0.04567],
            "mc_se": [np.nan, 0.0123456],
            "matches": [True, False],
            "label": ["<script>x</script>", "ok"],
        }
    )
    cells = TableCells(display.table_html(table)).cells
    assert [t for _, t in cells[:4]] == ["p value", "Monte Carlo SE", "matches", "label"]  # no index column
    assert ("td", "0.00081") in cells and ("td", "0.046") in cells
    assert ("td", display.MISSING) in cells and ("td", "0.012") in cells
    assert ("td", "yes") in cells and ("td", "no") in cells
    assert "<script>" not in display.table_html(table)


def test_integers_stay_whole_and_long_tables_say_they_are_cut():
    table = pd.DataFrame({"n": range(100)})
    page = display.table_html(table)
    assert ("td", "99") not in TableCells(page).cells and "40 more rows not shown" in page


def test_figure_alt_text_comes_from_the_label_or_the_titles():
    figure, ax = plt.subplots()
    ax.set_title("Weights")
    ax.set_xlabel("maximum points")
    assert display.figure_alt(figure) == "Figure: Weights, x: maximum points"
    figure.set_label("Bars of the six measures' maximum points")
    html = display.figure_html(figure)
    assert 'alt="Bars of the six measures&#x27; maximum points"' in html
    assert html.startswith('<img src="data:image/png')
    plt.close(figure)


@pytest.mark.notebook
@pytest.mark.slow
def test_every_table_of_the_executed_teaching_notebooks_is_clean(course_site):
    problems = {}
    tables = 0
    for page in course_site.pages:
        text = (course_site.folder / page.file_name).read_text(encoding="utf-8")
        tables += text.count("<table")
        found = table_problems(text)
        if found:
            problems[page.notebook] = found[:8]
    assert tables > 40
    assert problems == {}, problems
