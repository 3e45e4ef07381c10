"""Notebook contract tests (in the spirit of notebooker's template checks).

Every notebook is committed without outputs, teaching notebooks have the teaching
structure, report notebooks have one literal-only ``parameters`` cell matching what the
CLI passes, and every notebook runs top to bottom under papermill with its defaults.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import papermill
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"01_total_improvement_score.ipynb", "02_pilot_reanalysis.ipynb", "03_proderm_reanalysis.ipynb",
            "site_report.ipynb"}


def read(path: Path):
    return nbformat.read(path, as_version=4)


def parameter_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]


def is_report(path: Path) -> bool:
    return bool(parameter_cells(read(path)))


TEACHING = [p for p in NOTEBOOKS if not is_report(p)]
REPORTS = [p for p in NOTEBOOKS if is_report(p)]


def test_every_expected_notebook_exists():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {index} has outputs"


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.name)
def test_teaching_structure(path):
    markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    titles = re.findall(r"^# \S.*$", markdown, flags=re.MULTILINE)
    assert len(titles) == 1, f"{path.name} needs exactly one H1 title, found {titles}"
    overview = re.search(r"^## Overview\s*$(.*?)^## ", markdown, flags=re.MULTILINE | re.DOTALL)
    assert overview, f"{path.name} has no '## Overview' section"
    assert len(re.findall(r"^\s*\d+\.\s+\S", overview.group(1), flags=re.MULTILINE)) >= 2, \
        f"{path.name}: the overview needs numbered learning objectives"
    for heading in ("## Prerequisites", "## Summary", "What's next"):
        assert heading in markdown, f"{path.name} has no {heading!r}"


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_report_parameters_cell_is_literal_only_and_matches_the_cli(path):
    from ivig_kit.reports import REPORT_PARAMETERS

    cells = parameter_cells(read(path))
    assert len(cells) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"
    for statement in ast.parse(cells[0].source).body:
        assert isinstance(statement, (ast.Assign, ast.AnnAssign)), f"not an assignment: {ast.unparse(statement)}"
        ast.literal_eval(statement.value)  # raises on anything but a literal
    names = set(papermill.inspect_notebook(str(path)))
    assert names == set(REPORT_PARAMETERS)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom_with_defaults(path, tmp_path):
    papermill.execute_notebook(str(path), str(tmp_path / path.name), kernel_name="python3",
                               cwd=str(NOTEBOOK_DIR), progress_bar=False)
    executed = read(tmp_path / path.name)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(c.outputs for c in executed.cells if c.cell_type == "code")


@pytest.mark.browser
def test_browser_harness_runs_a_notebook_in_jupyterlab(browser, tmp_path, artifacts_dir):
    from browser import jupyter_lab, open_notebook_and_run_all

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7, 'harness-ok')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "smoke.ipynb"
    nbformat.write(notebook, source)
    with jupyter_lab(tmp_path / "lab", [source]) as url:
        page = browser.new_page()
        try:
            open_notebook_and_run_all(page, url, "smoke.ipynb")
            page.wait_for_selector(".jp-OutputArea-output:has-text('42 harness-ok')", timeout=60_000)
            page.screenshot(path=str(artifacts_dir / "harness_smoke.png"))
        finally:
            page.close()
