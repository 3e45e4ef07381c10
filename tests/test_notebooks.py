"""Notebook contract tests (in the spirit of notebooker's template checks).

Every notebook is committed without outputs; teaching notebooks have the teaching structure
(one title, an Overview with numbered learning objectives, Prerequisites, Imports, sections
separated by ``---``, a Summary with "What's next?", Resources); report notebooks (those with a
cell tagged ``parameters``) have one literal-only ``parameters`` cell whose names are the ones
the CLI passes; and every notebook runs top to bottom under papermill with its defaults.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest

from ivig_kit.reports.content.parameters import REPORT_PARAMETERS
from ivig_kit.reports.content.registry import REGISTRY_PARAMETERS

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"

REPORT_NAMES = {
    "site_report.ipynb",
    "registry_report.ipynb",
}  # report notebooks, besides any other notebook with a `parameters` cell
#: Pages served by Voilà for people who never open a notebook: no lesson structure, but they run like the rest.
APP_NAMES = {"calculator.ipynb"}


def tracked_notebooks() -> set[Path]:
    """Notebooks git tracks anywhere in the repository (none when this is not a git checkout)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.ipynb"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {REPO / name for name in listed.split("\0") if name and (REPO / name).exists()}


NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
# every notebook people open; tests/ holds fixture notebooks that are broken on purpose
COMMITTED = sorted(set(NOTEBOOKS) | {p for p in tracked_notebooks() if "tests" not in p.relative_to(REPO).parts})


def read(path: Path):
    return nbformat.read(path, as_version=4)


def parameter_cells(notebook):
    return [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]


def assigned_names(source: str) -> set[str]:
    """Names a parameters cell assigns (top-level ``name = ...`` statements)."""
    names = set()
    for statement in ast.parse(source).body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def is_report(path: Path) -> bool:
    """A report notebook is the site report or one whose parameters cell takes report parameters; a teaching
    notebook may have a literal-only parameters cell of its own (e.g. simulation sizes in notebook 04)."""
    cells = parameter_cells(read(path))
    return path.name in REPORT_NAMES or any(assigned_names(c.source) & set(REPORT_PARAMETERS) for c in cells)


TEACHING = [p for p in NOTEBOOKS if not is_report(p) and p.name not in APP_NAMES]
REPORTS = [p for p in NOTEBOOKS if is_report(p)]


def name(path: Path) -> str:
    return str(path.relative_to(REPO))


def markdown_without_code(notebook) -> str:
    """The notebook's Markdown with fenced code blocks removed (a `# comment` in a block is no heading)."""
    text = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    return re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.MULTILINE | re.DOTALL)


def section(markdown: str, heading: str) -> str | None:
    """The text under the H2 ``heading`` up to the next H2 (None if there is no such heading)."""
    found = re.search(rf"^## {heading}\s*$(.*?)(?=^## |\Z)", markdown, flags=re.MULTILINE | re.DOTALL)
    return found.group(1) if found else None


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    assert TEACHING, "no teaching notebook (one without a 'parameters' cell)"


@pytest.mark.parametrize("path", COMMITTED, ids=name)
def test_committed_without_outputs(path):
    notebook = read(path)
    with_outputs = [
        i
        for i, c in enumerate(notebook.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not with_outputs, f"{name(path)}: cells {with_outputs} have outputs or execution counts; clear them"
    assert "widgets" not in notebook.metadata, f"{name(path)} carries saved widget state in its metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_declares_the_python3_kernel(path):
    assert read(path).metadata.get("kernelspec", {}).get("name") == "python3"


def structure_problems(notebook) -> list[str]:
    """What the notebook lacks of the teaching structure (empty when it has it all)."""
    markdown = markdown_without_code(notebook)
    problems = []
    titles = re.findall(r"^# \S.*$", markdown, flags=re.MULTILINE)
    if len(titles) != 1:
        problems.append(f"needs exactly one H1 title, found {titles}")
    first = notebook.cells[0] if notebook.cells else None
    if not (first and first.cell_type == "markdown" and first.source.lstrip().startswith("# ")):
        problems.append("must open with its title")
    overview = section(markdown, "Overview")
    if overview is None or len(re.findall(r"^\s*\d+\.\s+\S", overview, flags=re.MULTILINE)) < 2:
        problems.append("needs an '## Overview' with numbered learning objectives")
    for heading in ("Prerequisites", "Imports", "Summary", "Resources"):
        if section(markdown, heading) is None:
            problems.append(f"has no '## {heading}' section")
    if not re.search(r"what's next", section(markdown, "Summary") or "", flags=re.IGNORECASE):
        problems.append('needs a "What\'s next?" in its Summary')
    if not any(c.cell_type == "markdown" and c.source.strip() == "---" for c in notebook.cells):
        problems.append("should separate its sections with '---' cells")
    return problems


def parameter_problems(source: str) -> list[str]:
    """Statements of a parameters cell that are not `name = <literal>` (papermill does not re-derive values)."""
    problems = []
    for statement in ast.parse(source).body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        try:
            literal = statement.value is not None and ast.literal_eval(statement.value) is not Ellipsis
        except (AttributeError, ValueError, TypeError, SyntaxError):
            literal = False
        if not (targets and literal and all(isinstance(t, ast.Name) for t in targets)):
            problems.append(ast.unparse(statement))
    return problems


def test_contract_checks_catch_what_they_should():
    good = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(text)
            for text in (
                "# Title",
                "## Overview\n1. one\n2. two",
                "## Prerequisites\n- x",
                "## Imports",
                "---",
                "## Section\n```python\n# not a title\n```",
                "---",
                "## Summary\n### What's next?",
                "## Resources",
            )
        ]
    )
    assert structure_problems(good) == []
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# One\n# Two\n## Overview\n1. only")])
    assert len(structure_problems(bad)) == 8
    assert parameter_problems('site = "A01"\ndata_path = "../data/x.csv"\nn: int = 3\nt = (1, None)') == []
    assert parameter_problems("import os\nx = os.sep\ny = 2 * 3\nz = f'{x}'\na.b = 1\nprint(1)") == [
        "import os",
        "x = os.sep",
        "y = 2 * 3",
        "z = f'{x}'",
        "a.b = 1",
        "print(1)",
    ]


@pytest.mark.parametrize("path", TEACHING, ids=name)
def test_teaching_structure(path):
    problems = structure_problems(read(path))
    assert not problems, f"{name(path)}: " + "; ".join(problems)


@pytest.mark.parametrize("path", [p for p in TEACHING if parameter_cells(read(p))], ids=name)
def test_teaching_parameters_cell_is_literal_only(path):
    cells = parameter_cells(read(path))
    assert len(cells) == 1 and cells[0].cell_type == "code", f"{name(path)}: at most one code cell tagged 'parameters'"
    problems = parameter_problems(cells[0].source)
    assert not problems, f"{name(path)}: the parameters cell must hold only `name = literal`: {problems}"


@pytest.mark.parametrize("path", REPORTS, ids=name)
def test_report_parameters_cell_is_literal_only_and_matches_the_cli(path):
    cells = parameter_cells(read(path))
    assert len(cells) == 1, f"{name(path)} must have exactly one cell tagged 'parameters'"
    assert cells[0].cell_type == "code"
    problems = parameter_problems(cells[0].source)
    assert not problems, (
        f"{name(path)}: the parameters cell must hold only `name = literal` (derive values "
        f"in the next cell): {problems}"
    )
    names = list(papermill.inspect_notebook(str(path)))
    expected = REGISTRY_PARAMETERS if path.name == "registry_report.ipynb" else REPORT_PARAMETERS
    assert sorted(names) == sorted(expected), (
        f"{name(path)} declares {names}; `ivig-kit reports` passes {list(expected)}"
    )


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=name)
def test_runs_top_to_bottom_with_defaults(path, tmp_path):
    output = tmp_path / path.name
    papermill.execute_notebook(str(path), str(output), kernel_name="python3", cwd=str(NOTEBOOK_DIR), progress_bar=False)
    executed = read(output)
    code = [c for c in executed.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for c in code), f"{name(path)}: not every code cell ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert any(c.outputs for c in code), f"{name(path)} ran but showed nothing"
    from ivig_kit.teaching.exercises import (
        solution_outputs,  # running all cells must give no answer away
    )

    shown = solution_outputs(executed)
    assert not shown, f"{name(path)} shows solutions when all cells run: {shown}"


@pytest.mark.browser
def test_browser_harness_runs_a_notebook_in_jupyterlab(browser, jupyter_lab, tmp_path, artifacts_dir):
    from browser import open_notebook_and_run_all

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Harness smoke test"),
            nbformat.v4.new_code_cell("answer = 6 * 7"),
            nbformat.v4.new_code_cell(""),
            nbformat.v4.new_code_cell("print(answer, 'harness-ok')"),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "smoke.ipynb"
    nbformat.write(notebook, source)
    url = jupyter_lab([source])
    page = browser.new_page()
    try:
        open_notebook_and_run_all(page, url, "smoke.ipynb")
        output = page.locator(".jp-OutputArea-output", has_text="harness-ok").first
        output.wait_for(timeout=30_000)
        assert output.inner_text().strip() == "42 harness-ok"
        page.screenshot(path=str(artifacts_dir / "harness_smoke.png"))
    finally:
        page.close()


@pytest.mark.browser
def test_browser_harness_reports_a_failing_cell(browser, jupyter_lab, tmp_path):
    from browser import open_notebook_and_run_all

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("raise ValueError('on purpose')"), nbformat.v4.new_code_cell("print('never')")]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "broken.ipynb")
    page = browser.new_page()
    try:
        with pytest.raises(AssertionError, match="ValueError: on purpose"):
            open_notebook_and_run_all(page, jupyter_lab([tmp_path / "broken.ipynb"]), "broken.ipynb")
    finally:
        page.close()
