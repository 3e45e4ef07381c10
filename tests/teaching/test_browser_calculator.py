"""The TIS calculator in a real JupyterLab, driven through headless Chromium.

Opens a temporary copy of the teaching notebook, runs all cells, moves the physician
global follow-up slider and checks that the total and category shown in the page are the
ones the engine computes for the new values. Leaves a screenshot in ``artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.score.engine import total_improvement_score

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_total_improvement_score.ipynb"
TIMEOUT_MS = 120_000


def engine_score(physician_followup: float) -> tuple[float, str]:
    """The engine's total and category for the calculator's starting patient (the pilot's medians,
    synthetic) with the physician global follow-up changed; the table is written out here."""
    visits = pd.DataFrame({
        "site": ["t", "t"], "patient_id": ["1", "1"], "week": [0, 9],
        "physician_global": [3.8, physician_followup], "patient_global": [6.1, 4.6], "extramuscular": [2.2, 1.0],
        "haq": [2.0, 1.6], "mmt": [211, 227], "mmt_max": [260, 260], "ck": [1199, 196], "ck_uln": [200, 200]})
    row = total_improvement_score(visits).iloc[0]
    return float(row["tis"]), str(row["category"])


def test_engine_expectations_match_hand_computation():
    # 3.8 -> 2.3 cm is 15% (7.5 points), total 40; 3.8 -> 3.5 cm is 3% (0 points), total 32.5.
    assert engine_score(2.3) == (40.0, "moderate")
    assert engine_score(3.5) == (32.5, "minimal")


def shown(page, css: str, timeout_ms: int = TIMEOUT_MS) -> str:
    locator = page.locator(css).first
    locator.wait_for(state="attached", timeout=timeout_ms)
    locator.scroll_into_view_if_needed(timeout=timeout_ms)
    return locator.inner_text().strip()


def wait_for_text(page, css: str, expected: str, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        "([css, expected]) => { const e = document.querySelector(css); return e && e.textContent.trim() === expected; }",
        arg=[css, expected], timeout=timeout_ms)


@pytest.mark.browser
@pytest.mark.slow
def test_moving_a_slider_updates_total_and_category(browser, tmp_path, artifacts_dir):
    from browser import jupyter_lab, open_notebook_and_run_all

    before_tis, before_category = engine_score(2.3)
    after_tis, after_category = engine_score(3.5)
    with jupyter_lab(tmp_path / "lab", [NOTEBOOK]) as url:
        page = browser.new_page()
        try:
            open_notebook_and_run_all(page, url, NOTEBOOK.name, timeout_ms=TIMEOUT_MS)
            assert shown(page, ".tis-total .tis-total-value") == f"{before_tis:g}"
            assert shown(page, ".tis-category .tis-category-value") == before_category

            readout = page.locator(".tis-physician_global-followup .widget-readout").first
            readout.scroll_into_view_if_needed()
            assert readout.inner_text().strip() == "2.3"
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("3.5")
            page.keyboard.press("Enter")

            wait_for_text(page, ".tis-total .tis-total-value", f"{after_tis:g}")
            wait_for_text(page, ".tis-category .tis-category-value", after_category)
            assert shown(page, ".tis-physician_global-followup .widget-readout") == "3.5"
            row = page.locator(".tis-table tr[data-measure='physician_global'] .tis-points").first
            assert row.inner_text().strip() == "0"
            page.locator(".tis-calculator").first.screenshot(path=str(artifacts_dir / "tis_calculator.png"))
            page.screenshot(path=str(artifacts_dir / "tis_calculator_page.png"))
        finally:
            page.close()
