"""What readers of the executed trial notebooks see: no solution unless asked for, exercises in their
check-then-button pattern, and the synthetic label inside every table and figure of the reconstructed
cohort (notebook 02). The two notebooks run once for the module."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from ivig_kit.teaching.exercises import EXERCISES
from ivig_kit.trials.exercises import PILOT_EXERCISES, PRODERM_EXERCISES

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TRIAL_NOTEBOOKS = {"02_pilot_reanalysis.ipynb": PILOT_EXERCISES, "03_proderm_reanalysis.ipynb": PRODERM_EXERCISES}
SYNTHETIC = "synthetic"
#: cells that compute from the reconstructed cohort name one of these
COHORT_NAMES = re.compile(r"\b(cohort|courses|cumulative|fidelity)\b")

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("executed")
    result = {}
    for name in TRIAL_NOTEBOOKS:
        papermill.execute_notebook(
            str(NOTEBOOKS / name), str(out / name), kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False
        )
        result[name] = nbformat.read(out / name, as_version=4)
    return result


def output_texts(cell) -> list[str]:
    """Every displayed representation of every output of a cell (text, HTML, SVG, widget references)."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            texts.append(output.text)
        elif output.output_type == "error":
            texts.append("\n".join(output.traceback))
        else:
            texts.append("\n".join(str(value) for value in output.get("data", {}).values()))
    return texts


@pytest.mark.parametrize("name", sorted(TRIAL_NOTEBOOKS))
def test_executed_notebook_shows_no_solution(executed, name):
    notebook = executed[name]
    everything = json.dumps([output_texts(c) for c in notebook.cells]) + json.dumps(notebook.metadata)
    assert "Solution:" not in everything and "Correct:" not in everything
    for key, exercise in EXERCISES.items():
        assert exercise.explanation not in everything, f"{name} shows the solution of {key}"
        assert json.dumps(exercise.explanation)[1:-1] not in everything


@pytest.mark.parametrize("name", sorted(TRIAL_NOTEBOOKS))
def test_every_exercise_is_a_check_followed_by_a_solution_button(executed, name):
    cells = [c for c in executed[name].cells if c.cell_type == "code"]
    checked = []
    for cell, following in itertools.pairwise(cells):
        found = re.search(r'check_answer\("([\w.]+)", answer\)', cell.source)
        if found:
            key = found.group(1)
            checked.append(key)
            assert "answer = None" in cell.source
            assert following.source.strip() == f'solution_button("{key}")'
            assert any("unanswered" in t or "Not answered yet" in t for t in output_texts(cell))
    assert sorted(checked) == sorted(TRIAL_NOTEBOOKS[name]) and len(checked) >= 3


def test_every_output_from_the_reconstructed_cohort_carries_the_synthetic_label(executed):
    cells = [c for c in executed["02_pilot_reanalysis.ipynb"].cells if c.cell_type == "code"]
    tagged = [c for c in cells if "reconstructed" in c.metadata.get("tags", [])]
    untagged_users = [
        c.source
        for c in cells
        if COHORT_NAMES.search(c.source)
        and c not in tagged
        and "check_answer" not in c.source
        and "solution_button" not in c.source
    ]
    assert not untagged_users, "cells computing from the cohort must be tagged 'reconstructed'"
    assert len(tagged) >= 9
    for cell in tagged:
        displays = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        assert displays, f"no output from: {cell.source[:60]}"
        for output in displays:
            shown = {mime: str(value) for mime, value in output.data.items() if mime != "text/plain"}
            assert shown, f"only a text repr from: {cell.source[:60]}"
            for mime, value in shown.items():
                assert SYNTHETIC in value.lower(), f"{mime} of '{cell.source[:60]}' has no synthetic label"


def test_figures_keep_their_text(executed):
    images = [
        o
        for c in executed["02_pilot_reanalysis.ipynb"].cells
        for o in c.get("outputs", [])
        if any(mime.startswith("image/") for mime in o.get("data", {}))
    ]
    assert images and all("image/svg+xml" in o.data for o in images)
    assert all("<text" in o.data["image/svg+xml"] for o in images)  # text, not outlines
