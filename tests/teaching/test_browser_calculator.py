"""The TIS calculator in a real browser: in JupyterLab (notebook 01) at 1024 and 768 px, and as the
standalone Voilà page (``notebooks/calculator.ipynb``) at 1024 px, driven through headless Chromium.

Each test types values into the calculator's number boxes and checks that the total and category
shown are the ones the engine computes for those values (the visit table is written out here), that
nothing sticks out of the calculator sideways, that bad values are named, and that Reset works.
Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.teaching.patients import RESPONDER

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_total_improvement_score.ipynb"
APP = REPO / "notebooks" / "calculator.ipynb"
TIMEOUT_MS = 150_000


def engine_score(**followup) -> tuple[float, str]:
    """The engine's total and category for the calculator's starting patient (the synthetic responder)
    with some follow-up values changed, through the whole-table engine."""
    visits = RESPONDER.visit_table()
    for measure, value in followup.items():
        visits.loc[1, measure] = value
    row = total_improvement_score(visits).iloc[0]
    return float(row["tis"]), str(row["category"])


def test_engine_expectations_match_hand_computation():
    # Responder: 15 + 2.5 + 10 + 5 + 7.5 + 7.5 = 47.5 (moderate). Physician 6.0 -> 5.5 cm is exactly 5%:
    # 0 points instead of 15, total 32.5 (minimal).
    assert engine_score() == (47.5, "moderate")
    assert engine_score(physician_global=5.5) == (32.5, "minimal")


# --- helpers that drive the page --------------------------------------------------------

#: What sticks out of the calculator sideways (elements whose right edge passes the calculator's),
#: and whether the calculator or the page itself scrolls sideways.
LAYOUT_PROBLEMS = """() => {
    const calc = document.querySelector(".tis-calculator");
    if (!calc) return ["no calculator"];
    const edge = calc.getBoundingClientRect().right + 1;
    const problems = [];
    for (const element of calc.querySelectorAll("*")) {
        const rect = element.getBoundingClientRect();
        if (rect.width > 0 && rect.right > edge && getComputedStyle(element).visibility !== "hidden") {
            const name = `${element.tagName.toLowerCase()}.${element.className}`;
            problems.push(`${name} ends at ${Math.round(rect.right)} > ${Math.round(edge)}`);
        }
    }
    if (calc.scrollWidth > calc.clientWidth + 1) {
        problems.push(`calculator scrolls: ${calc.scrollWidth} > ${calc.clientWidth}`);
    }
    if (edge > window.innerWidth + 1) {
        problems.push(`calculator ends at ${edge} beyond the window (${window.innerWidth})`);
    }
    const page = document.scrollingElement;
    if (page.scrollWidth > window.innerWidth + 1) problems.push(`the page scrolls sideways: ${page.scrollWidth}`);
    const output = calc.closest(".jp-OutputArea-output");
    if (output && output.scrollWidth > output.clientWidth + 1) {
        problems.push(`output scrolls: ${output.scrollWidth} > ${output.clientWidth}`);
    }
    return problems.slice(0, 10);
}"""


def layout_problems(page) -> list[str]:
    return page.evaluate(LAYOUT_PROBLEMS)


def shown(page, css: str, timeout_ms: int = TIMEOUT_MS) -> str:
    locator = page.locator(css).first
    locator.wait_for(state="attached", timeout=timeout_ms)
    locator.scroll_into_view_if_needed(timeout=timeout_ms)
    return locator.inner_text().strip()


def wait_for_text(page, css: str, expected: str, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        "([css, expected]) => { const e = document.querySelector(css); "
        "return e && e.textContent.trim() === expected; }",
        arg=[css, expected],
        timeout=timeout_ms,
    )


def type_value(page, css: str, value) -> None:
    """Type into a number box and commit it (Enter), as a person would."""
    box = page.locator(f"{css} input").first
    box.scroll_into_view_if_needed()
    box.fill(str(value))
    box.press("Enter")


def check_typing_bad_values_and_reset(page) -> None:
    """From the starting patient: a value that scores lower, a value out of range, then Reset."""
    expected_tis, expected_category = engine_score(physician_global=5.5)
    type_value(page, ".tis-physician_global-followup", 5.5)
    wait_for_text(page, ".tis-total .tis-total-value", f"{expected_tis:g}")
    wait_for_text(page, ".tis-category .tis-category-value", expected_category)
    assert shown(page, ".tis-table tr[data-measure='physician_global'] .tis-points") == "0"
    type_value(page, ".tis-physician_global-followup", 11)
    page.wait_for_selector(".tis-errors li", timeout=60_000)
    assert shown(page, ".tis-errors li") == "Physician global follow-up: 11 cm is outside 0-10 cm."
    assert page.locator(".tis-physician_global-followup input").first.input_value() == "11"  # not clamped
    assert page.locator(".tis-total .tis-total-value").count() == 0  # nothing scored from a bad value
    page.locator(".tis-reset button, button.tis-reset").first.click()
    wait_for_text(page, ".tis-total .tis-total-value", "47.5")
    assert page.locator(".tis-physician_global-followup input").first.input_value() == "4.2"


# --- the calculator in JupyterLab -------------------------------------------------------


@pytest.fixture(scope="module")
def lab_page(browser, tmp_path_factory):
    """Notebook 01 opened in a token-less JupyterLab and run top to bottom once, for the tests below."""
    from browser import jupyter_lab, open_notebook_and_run_all

    with jupyter_lab(tmp_path_factory.mktemp("lab"), [NOTEBOOK]) as url:
        page = browser.new_page()
        page.set_viewport_size({"width": 1024, "height": 900})
        try:
            open_notebook_and_run_all(page, url, NOTEBOOK.name, timeout_ms=TIMEOUT_MS)
            yield page
        finally:
            page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_notebook_calculator_at_1024px(lab_page, artifacts_dir):
    page = lab_page
    page.set_viewport_size({"width": 1024, "height": 900})
    tis, category = engine_score()
    shown(page, ".tis-calculator")  # scroll it into view: JupyterLab renders cells in view only
    wait_for_text(page, ".tis-total .tis-total-value", f"{tis:g}", timeout_ms=TIMEOUT_MS)  # widgets render late
    assert shown(page, ".tis-category .tis-category-value") == category
    assert "To reach major" in shown(page, ".tis-what-it-takes-text")  # a useful first answer
    problems = layout_problems(page)
    assert problems == [], "\n".join(problems)
    page.locator(".tis-calculator").first.screenshot(path=str(artifacts_dir / "tis_calculator_1024.png"))
    check_typing_bad_values_and_reset(page)
    page.screenshot(path=str(artifacts_dir / "tis_calculator_page_1024.png"))


@pytest.mark.browser
@pytest.mark.slow
def test_notebook_calculator_at_768px_and_the_jdm_switch(lab_page, artifacts_dir):
    page = lab_page
    page.set_viewport_size({"width": 768, "height": 900})
    page.wait_for_timeout(500)  # let JupyterLab lay the panel out again
    shown(page, ".tis-total .tis-total-value")
    problems = layout_problems(page)
    assert problems == [], "\n".join(problems)
    page.locator(".tis-calculator").first.screenshot(path=str(artifacts_dir / "tis_calculator_768.png"))
    select = page.locator(".tis-core-set select").first
    select.scroll_into_view_if_needed()
    select.select_option("juvenile DM: PRINTO core set (CMAS, CHAQ, parent global, CHQ PhS, DAS)")
    # the synthetic PRINTO child: 15 + 5 + 20 + 5 + 5 + 12.5 = 62.5, juvenile moderate (see test_engine)
    wait_for_text(page, ".tis-total .tis-total-value", "62.5")
    assert shown(page, ".tis-category .tis-category-value") == "moderate"
    assert "DAS (0-20, lower is better)" in shown(page, ".tis-calculator")
    problems = layout_problems(page)
    assert problems == [], "\n".join(problems)
    page.locator(".tis-calculator").first.screenshot(path=str(artifacts_dir / "tis_calculator_768_printo.png"))
    page.screenshot(path=str(artifacts_dir / "tis_calculator_page_768.png"))
    page.locator(".tis-reset button, button.tis-reset").first.click()
    wait_for_text(page, ".tis-total .tis-total-value", "47.5")


# --- the standalone page (Voilà) --------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_voila_calculator_page_at_1024px(browser, tmp_path, artifacts_dir):
    from browser import voila_server

    with voila_server(tmp_path / "voila", APP) as url:
        page = browser.new_page()
        page.set_viewport_size({"width": 1024, "height": 900})
        try:
            page.goto(url, timeout=TIMEOUT_MS)
            wait_for_text(page, ".tis-total .tis-total-value", "47.5", timeout_ms=TIMEOUT_MS)
            assert shown(page, ".tis-category .tis-category-value") == "moderate"
            assert "TISCalculator" not in page.content()  # no code on the page
            assert page.locator(".cm-editor, .jp-CodeMirrorEditor, .jp-InputArea-editor").count() == 0
            assert "from ivig_kit" not in page.inner_text("body")
            page.screenshot(path=str(artifacts_dir / "tis_calculator_voila_1024.png"), full_page=True)
            problems = layout_problems(page)
            assert problems == [], "\n".join(problems)
            check_typing_bad_values_and_reset(page)
            # set several values, then read the total and the category the engine gives for them
            values = {"physician_global": 3.0, "mmt": 141, "extramuscular": 1.0}
            for measure, value in values.items():
                type_value(page, f".tis-{measure}-followup", value)
            tis, category = engine_score(**values)
            wait_for_text(page, ".tis-total .tis-total-value", f"{tis:g}")
            assert shown(page, ".tis-category .tis-category-value") == category
            page.screenshot(path=str(artifacts_dir / "tis_calculator_voila_1024_major.png"), full_page=True)
        finally:
            page.close()
