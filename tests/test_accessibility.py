"""axe-core (WCAG 2.0/2.1 A and AA rules) on every page people open: zero violations of any impact.

Pages: the reports' index.html, an adult and a juvenile site report and the registry report (the batch on
the bundled demo registry), the Voilà calculator at 1366x768 and 390x844 (which must also announce an out-of-range value
in a live region, mark the box and keep the message in view), and every page of the course site
(:mod:`ivig_kit.teaching.site`: the executed teaching notebooks), which must also load with every
request to another host blocked. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from browser import axe_violations, voila_server

REPO = Path(__file__).resolve().parents[1]
DEMO_REGISTRY = REPO / "data" / "demo_registry.csv"
CALCULATOR = REPO / "notebooks" / "calculator.ipynb"
TIMEOUT_MS = 150_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def run_batch(out: Path, *options: str) -> Path:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivig_kit.cli",
            "reports",
            str(DEMO_REGISTRY),
            "--out",
            str(out),
            "--sites",
            "Tokyo",
            "--jobs",
            "1",
            "--quiet",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def report_folders(tmp_path_factory) -> dict[str, Path]:
    """The batch on one site of the demo registry, with adult and with juvenile thresholds."""
    root = tmp_path_factory.mktemp("axe-reports")
    return {"adult": run_batch(root / "adult"), "juvenile": run_batch(root / "juvenile", "--population", "juvenile")}


def open_offline(browser, url: str, width: int = 1366, height: int = 900):
    """A page at ``url`` with every request that is not file: or data: aborted and recorded."""
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.blocked = []

    def route(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page


def assert_no_violations(page, what: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{what}: axe-core WCAG A/AA violations:\n" + "\n".join(violations)


def test_reports_index_and_site_reports_pass_axe(browser, report_folders, artifacts_dir):
    for population, folder in report_folders.items():
        report = next(p for p in folder.glob("*.html") if p.name not in ("index.html", "registry.html"))
        assert (folder / "registry.html").is_file(), "the batch makes the coordinating centre's report"
        for path in (folder / "index.html", report, folder / "registry.html"):
            page = open_offline(browser, path.as_uri())
            try:
                assert page.blocked == []
                assert_no_violations(page, f"{population} {path.name}")
            finally:
                page.close()


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    with voila_server(tmp_path_factory.mktemp("voila") / "app", CALCULATOR) as url:
        yield url


#: The live region's text, whether the named box is marked, and whether the message is inside the window.
MESSAGE_STATE = """() => {
    const alert = document.querySelector(".tis-errors [role=alert]");
    const box = document.querySelector(".tis-physician_global-followup");
    const rect = alert ? alert.getBoundingClientRect() : null;
    return {text: alert ? alert.textContent.trim() : "", live: alert ? alert.getAttribute("aria-live") : null,
            marked: box.classList.contains("tis-invalid"),
            border: getComputedStyle(box.querySelector("input")).borderTopWidth,
            inView: rect !== null && rect.top >= 0 && rect.bottom <= window.innerHeight};
}"""


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_voila_calculator_passes_axe_and_announces_a_bad_value(browser, voila_url, artifacts_dir, width, height):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    try:
        page.goto(voila_url, timeout=TIMEOUT_MS)
        page.wait_for_selector(".tis-total .tis-total-value", timeout=TIMEOUT_MS)
        assert page.title() == "Total Improvement Score calculator (ivig-kit)"
        assert_no_violations(page, f"Voilà calculator at {width}x{height}")
        names = page.locator(".tis-number input").evaluate_all(
            "boxes => boxes.map(b => b.labels.length ? b.labels[0].textContent.trim() : '')"
        )
        assert len(names) == 12 and all(names), names
        assert "Physician global follow-up" in names
        page.screenshot(path=str(artifacts_dir / f"tis_calculator_voila_{width}x{height}.png"), full_page=True)
        box = page.locator(".tis-physician_global-followup input").first
        box.scroll_into_view_if_needed()
        box.fill("11")
        box.press("Enter")
        page.wait_for_selector(".tis-errors [role=alert]", timeout=60_000)
        state = page.evaluate(MESSAGE_STATE)
        assert state["text"] == "Cannot score these values:Physician global follow-up: 11 cm is outside 0-10 cm."
        assert state["live"] == "assertive"
        assert state["marked"] and state["border"] == "3px", state
        page.wait_for_function(
            "() => document.querySelector('.tis-physician_global-followup input')"
            ".getAttribute('aria-invalid') === 'true'",
            timeout=30_000,
        )
        aria = page.evaluate("""() => [...document.querySelectorAll('.tis-number input')].map(i =>
            [i.getAttribute('aria-invalid'), i.getAttribute('aria-describedby')])""")
        alert_id = page.locator(".tis-errors .tis-error").get_attribute("id")
        assert aria.count(["true", alert_id]) == 1 and aria.count(["false", None]) == 11, aria
        if width > 1000:  # on a wide screen the message sits beside the grid, in view while typing in it
            assert state["inView"], state
        assert_no_violations(page, f"Voilà calculator at {width}x{height} with a bad value")
        page.screenshot(path=str(artifacts_dir / f"tis_calculator_voila_{width}x{height}_bad_value.png"))
    finally:
        page.close()


def test_voila_console_has_no_widget_version_warnings(browser, voila_url):
    """Voilà's bundled JupyterLab packages and the widget front ends it loads agree (pins in pyproject.toml):
    webpack warns once per shared package whose version an extension was not built for."""
    page = browser.new_page()
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    try:
        page.goto(voila_url, timeout=TIMEOUT_MS)
        page.wait_for_selector(".tis-total .tis-total-value", timeout=TIMEOUT_MS)
    finally:
        page.close()
    assert any("Starting WebSocket" in m for m in messages), messages  # the console was heard: the kernel's line
    unsatisfied = [m for m in messages if "Unsatisfied version" in m or "No satisfying version" in m]
    assert unsatisfied == [], f"{len(unsatisfied)} warnings:\n" + "\n".join(unsatisfied)


def test_course_site_pages_pass_axe_offline(browser, course_site, artifacts_dir):
    assert len(course_site.pages) >= 4
    for path in [course_site.index, *(course_site.folder / p.file_name for p in course_site.pages)]:
        page = open_offline(browser, path.as_uri())
        try:
            assert page.blocked == [], f"{path.name} asked another host for {page.blocked[:3]}"
            assert page.locator("main").count() == 1 and page.locator("header nav").count() == 1
            assert "No description has been provided" not in page.content()
            assert page.locator("img:not([alt]), img[alt='']").count() == 0
            assert_no_violations(page, path.name)
            if path.name.startswith("01"):
                page.screenshot(path=str(artifacts_dir / "course_site_01.png"))
        finally:
            page.close()
