"""The reports as people see them: index.html and a site report opened from disk in headless Chromium.

Runs `ivig-kit reports` with the real site-report notebook on two sites of the bundled demo registry,
then checks that each page renders (title, table of contents, figures decoded, no error banner) and
loads nothing from the network. Screenshots go to artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE_REPORT = REPO / "notebooks" / "site_report.ipynb"
DEMO_REGISTRY = REPO / "data" / "demo_registry.csv"
SITES = ["Zürich", "Tokyo"]  # a non-ASCII name, and the smallest site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory) -> Path:
    if not (SITE_REPORT.exists() and DEMO_REGISTRY.exists()):
        if os.environ.get("CI"):
            pytest.fail("notebooks/site_report.ipynb or data/demo_registry.csv is missing")
        pytest.skip("the site-report notebook or the demo registry is not there yet")
    out = tmp_path_factory.mktemp("browser-reports") / "reports"
    result = subprocess.run([sys.executable, "-m", "ivig_kit.cli", "reports", str(DEMO_REGISTRY), "--out", str(out),
                             "--sites", *SITES, "--jobs", "2", "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def open_page(browser, url: str):
    """A new page at ``url`` that records every request, console error and uncaught page error."""
    page = browser.new_page()
    page.requests, page.problems = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(url, wait_until="load")
    return page


def assert_offline_and_clean(page):
    remote = [url for url in page.requests if not url.startswith(("file:", "data:"))]
    assert not remote, f"the page fetched {remote[:3]}: reports must be self-contained"
    assert not page.problems, f"browser errors: {page.problems[:3]}"


def test_index_renders_every_site_with_status_figures_and_links(browser, report_folder, artifacts_dir):
    page = open_page(browser, (report_folder / "index.html").as_uri())
    try:
        assert page.title() == "Site reports: demo_registry.csv"
        assert page.locator("#synthetic-banner").is_visible()
        assert page.locator("#failures").count() == 0  # no error banner
        rows = page.locator("tr.site-row")
        assert rows.count() == len(SITES)
        assert [rows.nth(i).locator("td.site").inner_text() for i in range(rows.count())] == SITES
        assert all(rows.nth(i).get_attribute("data-status") == "ok" for i in range(rows.count()))
        figures = rows.nth(0).locator("td.number").all_inner_texts()
        summary = json.loads(next(report_folder.glob("zurich-*.json")).read_text(encoding="utf-8"))
        assert figures[:2] == [str(summary["patients"]), str(summary["visits"])]
        page.screenshot(path=str(artifacts_dir / "reports_index.png"), full_page=True)
        assert_offline_and_clean(page)
        with page.expect_navigation():
            rows.nth(0).get_by_role("link", name="report").click()
        assert page.title() == "Site report: Zürich"
    finally:
        page.close()


def test_site_report_renders_with_contents_figures_and_no_error(browser, report_folder, artifacts_dir):
    report = next(report_folder.glob("zurich-*.html"))
    page = open_page(browser, report.as_uri())
    try:
        assert page.title() == "Site report: Zürich"
        toc = page.locator("nav#table-of-contents")
        assert toc.is_visible()
        links = toc.locator("a")
        assert links.count() >= 5
        targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
        missing = page.evaluate("(ids) => ids.filter(id => !document.getElementById(decodeURIComponent(id.slice(1))))",
                                targets)
        assert not missing, f"table-of-contents links without a heading: {missing}"
        images = page.locator("img")
        assert images.count() >= 1
        decoded = page.evaluate(
            "() => Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
        assert decoded >= 1, "no figure image was decoded"
        text = page.locator("body").inner_text()
        assert "Zürich" in text and "synthetic" in text.lower()
        assert "An Exception was encountered" not in text and "Traceback" not in text  # papermill's error banner
        assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0  # code hidden
        page.screenshot(path=str(artifacts_dir / "site_report.png"))
        links.nth(1).click()
        assert page.evaluate("() => window.location.hash") == targets[1]
        assert_offline_and_clean(page)
    finally:
        page.close()
