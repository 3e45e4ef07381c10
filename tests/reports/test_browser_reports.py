"""The reports as people see them: index.html, a site report and its PDF, opened from disk in headless Chromium.

Runs `ivig-kit reports --pdf` with the real site-report notebook on two sites of the bundled demo registry,
then checks that each page renders (title, table of contents, figures decoded, no error banner), loads
nothing from the network, has clean tables, described and numbered figures, a side table of contents on a
wide screen, reflows at 390 px, fits an A4 page in print, and that the PDF has numbered A4 pages and every
link of the folder works. Screenshots and two PDF pages go to artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from .helpers import Cells, check_rendered_tables

REPO = Path(__file__).resolve().parents[2]
SITE_REPORT = REPO / "notebooks" / "site_report.ipynb"
DEMO_REGISTRY = REPO / "data" / "demo_registry.csv"
SITES = ["Zürich", "Tokyo"]  # a non-ASCII name, and the smallest site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-reports") / "reports"
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
            *SITES,
            "--jobs",
            "2",
            "--quiet",
            "--pdf",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
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
        missing = page.evaluate(
            "(ids) => ids.filter(id => !document.getElementById(decodeURIComponent(id.slice(1))))", targets
        )
        assert not missing, f"table-of-contents links without a heading: {missing}"
        images = page.locator("img")
        assert images.count() >= 1
        decoded = page.evaluate(
            "() => Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
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


def zurich_report(report_folder) -> Path:
    return next(report_folder.glob("zurich-*.html"))


def test_every_table_of_a_rendered_report_has_bounded_decimals_and_no_nan(report_folder):
    page = zurich_report(report_folder).read_text(encoding="utf-8")
    assert check_rendered_tables(page) > 100
    captions = Cells(page).captions
    assert [int(re.match(r"Table (\d+)\.", c).group(1)) for c in captions] == list(range(1, len(captions) + 1))
    assert len(captions) >= 9  # an empty table (no deterioration) is a line "Table N. ...: none."
    assert "Table 2. TIS by patient and week (empty: no visit, or a CSM missing)." in captions


def test_every_figure_has_alt_text_and_a_numbered_caption(report_folder):
    page = zurich_report(report_folder).read_text(encoding="utf-8")
    assert "No description has been provided" not in page
    parsed = Cells(page)
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    assert len(images) == 4
    assert all(
        len(attrs.get("alt", "")) > 80 and attrs["src"].startswith("data:image/svg+xml;base64,") for attrs in images
    )
    captions = re.findall(r"<figcaption[^>]*>(Figure (\d+)\. [^<]+)</figcaption>", page)
    assert [int(number) for _, number in captions] == [1, 2, 3, 4]
    assert all(f'id="figure-{n}"' in page for n in range(1, 5))


def test_the_table_of_contents_stays_beside_the_text_on_a_wide_screen(browser, report_folder, artifacts_dir):
    page = browser.new_page()
    page.set_viewport_size({"width": 1600, "height": 900})
    try:
        page.goto(zurich_report(report_folder).as_uri(), wait_until="load")
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        toc = page.locator("nav#table-of-contents").bounding_box()
        heading = page.locator("h2").last.bounding_box()
        assert 0 <= toc["y"] < 900 and toc["x"] + toc["width"] <= heading["x"], (toc, heading)
        page.screenshot(path=str(artifacts_dir / "site_report_wide.png"))
    finally:
        page.close()


@pytest.mark.parametrize("name", ["index.html", "zurich"])
def test_pages_reflow_at_390_px(browser, report_folder, artifacts_dir, name):
    path = report_folder / name if name.endswith(".html") else zurich_report(report_folder)
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(path.as_uri(), wait_until="load")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts_dir / f"{Path(name).stem}_390px.png"))
    finally:
        page.close()


# Elements whose right edge passes the page, outside a box that scrolls sideways (a wide table on screen).
WIDER_THAN_PAGE = """(width) => Array.from(document.querySelectorAll('body *'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def test_in_print_no_element_is_wider_than_an_a4_page(browser, report_folder):
    page = browser.new_page()
    page.set_viewport_size({"width": 680, "height": 1000})  # A4 less 2 x 15 mm margins, in CSS px
    try:
        page.goto(zurich_report(report_folder).as_uri(), wait_until="load")
        page.emulate_media(media="print")
        assert page.locator("nav#table-of-contents").is_visible()  # the table of contents is printed
        assert page.evaluate(WIDER_THAN_PAGE, 680) == []
    finally:
        page.close()


def pdf_text(path: Path, *pages) -> str:
    first_last = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return subprocess.run(
        ["pdftotext", "-layout", *first_last, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_pdf_has_numbered_a4_pages_contents_and_every_table(report_folder, artifacts_dir):
    if not shutil.which("pdftoppm"):  # skipped locally; in CI, .ci/run installs poppler-utils
        message = "poppler-utils (pdftotext, pdftoppm) not installed"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    pdfs = sorted(p for p in report_folder.glob("*.pdf") if p.name != "registry.pdf")  # the sites' own
    assert len(pdfs) == len(SITES)
    pdf = next(report_folder.glob("zurich-*.pdf"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert re.search(r"Page size:.*\(A4\)", info), info
    text = pdf_text(pdf)
    numbers = [int(n) for n, total in re.findall(r"Page (\d+) of (\d+)", text) if int(total) == pages]
    assert numbers == list(range(1, pages + 1)), "every page has its number"
    assert "Contents" in pdf_text(pdf, 1, 2)  # the table of contents is kept near the start
    assert all(f"Table {n}." in text for n in range(1, 12))
    assert all(f"Figure {n}." in text for n in range(1, 5))
    summary = json.loads(next(report_folder.glob("zurich-*.json")).read_text(encoding="utf-8"))
    assert summary["data_sha256"] in re.sub(r"\s", "", text), "the provenance table is cut at the margin"
    assert "nan" not in text.split()
    provenance_page = next(n for n in range(pages, 0, -1) if "Table 11." in pdf_text(pdf, n))
    for number, name in ((1, "site_report_page1"), (provenance_page, "site_report_provenance_page")):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "90",
                "-f",
                str(number),
                "-l",
                str(number),
                "-singlefile",
                str(pdf),
                str(artifacts_dir / name),
            ],
            check=True,
        )
        assert (artifacts_dir / f"{name}.png").stat().st_size > 10_000


class Links(HTMLParser):
    def __init__(self, page: str):
        super().__init__()
        self.targets, self.ids = [], set()
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) is not None and not (tag == "img" and attrs[name].startswith("data:")):
                self.targets.append(attrs[name])


def test_every_link_in_the_reports_folder_works(report_folder):
    checked, broken = 0, []
    for path in sorted(report_folder.glob("*.html")):
        links = Links(path.read_text(encoding="utf-8"))
        for target in links.targets:
            checked += 1
            if target.startswith("#"):
                if unquote(target[1:]) not in links.ids:
                    broken.append((path.name, target))
            elif re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                if not target.startswith(("https://", "mailto:")):
                    broken.append((path.name, target))
            elif not (report_folder / unquote(target.split("#")[0])).is_file():
                broken.append((path.name, target))
    assert checked > 20
    assert not broken, f"dead links: {broken[:5]}"
