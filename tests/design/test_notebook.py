"""Notebook 04 executed top to bottom: outputs show prompts and buttons, never a solution or a verdict."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from ivig_kit.design import planning
from ivig_kit.design import simulation as design
from ivig_kit.design.exercises import DESIGN_EXERCISES

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_trial_design.ipynb"


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for k, v in output.get("data", {}).items() if k != "image/png")
        parts.append(output.get("evalue", ""))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    output = tmp_path_factory.mktemp("nb04") / NOTEBOOK.name
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(output),
        kernel_name="python3",
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
        parameters={"n_trials": 200, "n_trials_curve": 100, "n_trials_sensitivity": 80, "n_trials_assurance": 200},
    )
    return nbformat.read(output, as_version=4)


@pytest.mark.notebook
def test_run_all_reveals_no_solution_and_no_verdict(executed):
    outputs = [output_text(c) for c in executed.cells if c.cell_type == "code"]
    text = "\n".join(outputs)
    assert "Correct" not in text
    assert "Not quite" not in text
    assert "Solution:" not in text
    for spec in DESIGN_EXERCISES.values():
        assert spec.explanation not in text
    assert sum("Not answered yet" in o for o in outputs) == len(DESIGN_EXERCISES)
    assert sum("Show the solution" in o for o in outputs) == len(DESIGN_EXERCISES)


@pytest.mark.notebook
def test_every_exercise_has_a_check_cell_with_a_none_placeholder_and_a_solution_button():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [c.source for c in notebook.cells if c.cell_type == "code"]
    for exercise in DESIGN_EXERCISES:
        assert any(f'check_answer("{exercise}"' in s and "= None" in s for s in sources), exercise
        assert any(f'solution_button("{exercise}")' in s for s in sources), exercise


@pytest.mark.notebook
def test_tables_of_simulated_data_say_so(executed):
    text = "\n".join(output_text(c) for c in executed.cells if c.cell_type == "code")
    assert text.count("simulated") >= 6
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.browser
@pytest.mark.slow
def test_in_jupyterlab_solutions_open_on_click_and_the_widget_follows_its_slider(browser, tmp_path, artifacts_dir):
    from browser import jupyter_lab, open_notebook_and_run_all

    main = design.MAIN
    expected = f"Power at N = 60: {planning.t_test_power(main.effect, main.target_sd, 60, main.dropout):.1%}"
    with jupyter_lab(tmp_path / "lab", [NOTEBOOK]) as url:
        page = browser.new_page()
        try:
            open_notebook_and_run_all(page, url, NOTEBOOK.name, timeout_ms=180_000)
            widget = page.locator(".design-power-widget .design-power").first
            widget.wait_for(state="attached", timeout=120_000)
            assert "Power at N = 48" in widget.inner_text()
            assert page.locator(".exercise-solution-text").count() == 0

            button = page.locator(".exercise-design-mc-se button").first
            button.scroll_into_view_if_needed()
            button.click()
            page.locator(".exercise-design-mc-se .exercise-solution-text").first.wait_for(timeout=30_000)
            assert page.locator(".exercise-solution-text").count() == 1

            readout = page.locator(".design-slider-n .widget-readout").first
            readout.scroll_into_view_if_needed()
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("60")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(text) => [...document.querySelectorAll('.design-power')].some(e => e.textContent.includes(text))",
                arg=expected,
                timeout=60_000,
            )
            page.locator(".design-power-widget").first.screenshot(path=str(artifacts_dir / "design_power_widget.png"))
        finally:
            page.close()


def test_the_summary_quotes_what_the_notebook_computes_or_its_monte_carlo_error():
    import math
    import re

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    summary = next(c.source for c in notebook.cells if c.source.startswith("## Summary"))
    main = design.MAIN
    closed = planning.t_test_power(main.effect, main.target_sd, 48, main.dropout)
    assert f"about {closed:.2f} (section 3)" in summary  # the closed form printed in section 3
    parameters = next(c.source for c in notebook.cells if c.source.startswith("n_trials = "))
    n_trials = int(re.search(r"n_trials = (\d+)", parameters).group(1))
    mc_se = math.sqrt(closed * (1 - closed) / n_trials)
    assert f"+/- {mc_se:.2f} at {n_trials} trials" in summary
    assert "when it appears" not in summary and "BMJ Open 2023" in summary
