"""Stored script injection: a registry whose every text field is hostile, rendered by the batch with the real
site-report notebook and opened in headless Chromium. No dialog may fire, no script, event handler, link or
remote image may come from the data, and every hostile value must show literally as text - in the HTML
reports, the index, and the executed notebooks' rich outputs."""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from .helpers import Cells

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "data" / "demo_registry.csv"
ADVERSE_EVENTS = REPO / "data" / "demo_adverse_events.csv"

SITES = {"Tokyo": 'Tokyo <script>alert("site")</script>', "Milano": 'Milano <img src=x onerror=alert("site2")>'}
ARMS = {"IVIg": 'IVIg <img src=x onerror=alert("arm")>', "placebo": 'placebo [x](javascript:alert("arm2"))'}
PATIENT_SUFFIX = '<svg onload=alert("pid")>'
SUBTYPE_SUFFIX = " ![x](http://127.0.0.1:9/subtype.png)"
DATA_SOURCES = {
    "Tokyo": 'synthetic <script>alert("ds1")</script>',
    "Milano": 'synthetic [click](javascript:alert("ds2")) <svg onload=alert("ds3")>',
}
EVENT_SUFFIX = " <img src=x onerror=alert('ae')>"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory) -> Path:
    from ivig_kit.reports.runner.batch import run_batch
    from ivig_kit.reports.runner.prepare import prepare_batch

    root = tmp_path_factory.mktemp("hostile")
    visits = pd.read_csv(REGISTRY, dtype=str, keep_default_na=False)
    visits = visits[visits["site"].isin(SITES)].copy()
    visits["data_source"] = visits["site"].map(DATA_SOURCES)
    visits["patient_id"] = visits["patient_id"] + PATIENT_SUFFIX
    visits["arm"] = visits["arm"].map(ARMS)
    visits["subtype"] = visits["subtype"] + SUBTYPE_SUFFIX
    visits["site"] = visits["site"].map(SITES)
    events = pd.read_csv(ADVERSE_EVENTS, dtype=str, keep_default_na=False)
    events = events[events["site"].isin(SITES)].copy()
    events["patient_id"] = events["patient_id"] + PATIENT_SUFFIX
    events["event"] = events["event"] + EVENT_SUFFIX
    events["site"] = events["site"].map(SITES)
    visits.to_csv(root / "hostile_registry.csv", index=False)
    events.to_csv(root / "hostile_adverse_events.csv", index=False)
    batch = prepare_batch(
        root / "hostile_registry.csv", root / "reports", adverse_events_path=root / "hostile_adverse_events.csv"
    )
    outcome = run_batch(batch, jobs=2, progress=False)
    assert not outcome.failed, [r.error_line() for r in outcome.failed]
    return root / "reports"


def hostile_texts() -> list[str]:
    return [
        *SITES.values(),
        *ARMS.values(),
        PATIENT_SUFFIX,
        SUBTYPE_SUFFIX.strip(),
        *DATA_SOURCES.values(),
        EVENT_SUFFIX.strip(),
    ]


FROM_DATA = """() => {
    const all = Array.from(document.querySelectorAll('*'));
    return {
        handlers: all.filter(e => Array.from(e.attributes).some(a => a.name.toLowerCase().startsWith('on')))
                     .map(e => e.outerHTML.slice(0, 80)),
        scripts: Array.from(document.scripts).map(s => s.outerHTML.slice(0, 80)),
        svgs: document.querySelectorAll('svg').length,
        javascript: Array.from(document.querySelectorAll('[href],[src]'))
                         .map(e => e.getAttribute('href') || e.getAttribute('src'))
                         .filter(u => /^\\s*(javascript|vbscript):/i.test(u)),
        images: Array.from(document.images).map(i => i.getAttribute('src').slice(0, 22)),
    };
}"""


def open_and_check(browser, path: Path, artifacts_dir: Path | None = None) -> str:
    page = browser.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # time for an onerror/onload handler to fire, were there one
        found = page.evaluate(FROM_DATA)
        text = page.locator("body").inner_text()
        if artifacts_dir:
            page.screenshot(path=str(artifacts_dir / "hostile_site_report.png"))
    finally:
        page.close()
    assert not dialogs, f"{path.name}: a dialog fired: {dialogs}"
    assert not found["handlers"], f"{path.name}: event handlers in the page: {found['handlers'][:3]}"
    assert not found["scripts"], f"{path.name}: scripts in the page: {found['scripts'][:3]}"
    assert not found["javascript"], f"{path.name}: javascript: links {found['javascript']}"
    assert all(src.startswith("data:image/svg+xml;") for src in found["images"]), found["images"]
    assert found["svgs"] == 0
    remote = [url for url in requests if not url.startswith(("file:", "data:"))]
    assert not remote, f"{path.name} fetched {remote[:3]}"
    return " ".join(text.split())


def test_hostile_site_reports_run_no_script_and_show_the_text_literally(browser, hostile_reports, artifacts_dir):
    from ivig_kit.reports.runner.tasks import site_slug

    for number, (key, site) in enumerate(SITES.items()):
        report = hostile_reports / f"{site_slug(site)}.html"
        text = open_and_check(browser, report, artifacts_dir if number == 0 else None)
        expected = [
            site,
            *ARMS.values(),
            PATIENT_SUFFIX,
            SUBTYPE_SUFFIX.strip(),
            DATA_SOURCES[key],
            EVENT_SUFFIX.strip(),
        ]
        missing = [value for value in expected if " ".join(value.split()) not in text]
        assert not missing, f"{report.name}: not shown literally: {missing}"


def test_the_hostile_index_runs_no_script_and_shows_the_site_names(browser, hostile_reports):
    text = open_and_check(browser, hostile_reports / "index.html")
    assert all(site in text for site in SITES.values())


def test_the_hostile_registry_report_runs_no_script_and_shows_the_site_names(browser, hostile_reports):
    text = open_and_check(browser, hostile_reports / "registry.html")
    assert all(" ".join(site.split()) in text for site in SITES.values())


def test_the_executed_notebooks_rich_outputs_hold_only_escaped_html(hostile_reports):
    notebooks = sorted(hostile_reports.glob("*.ipynb"))
    assert len(notebooks) == len(SITES) + 1  # and the registry report's
    for path in notebooks:
        outputs = [o for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" for o in c.outputs]
        rich = [o["data"] for o in outputs if "data" in o]
        assert rich and not any("text/markdown" in data for data in rich), "data must never go through Markdown"
        markup = "".join(data.get("text/html", "") for data in rich)
        tags = Cells(markup).tags
        # the kit's own markup (the title is an h1 with the population in small type); every value in it escaped
        assert {tag for tag, _ in tags} <= {
            "h1",
            "small",
            "div",
            "table",
            "caption",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "p",
            "em",
            "strong",
            "ul",
            "li",
            "figure",
            "img",
            "figcaption",
        }
        assert not any(name.lower().startswith("on") for _, attrs in tags for name in attrs)
        assert all(attrs["src"].startswith("data:image/svg+xml;base64,") for tag, attrs in tags if tag == "img")
        for value in hostile_texts():  # markup only in its escaped form (Markdown is inert outside Markdown)
            assert html.escape(value) == value or value not in markup
        shown = 4 if path.name == "registry.ipynb" else 7  # the registry report: site names and data sources
        assert sum(html.escape(value) in markup for value in hostile_texts()) >= shown  # and they are shown
