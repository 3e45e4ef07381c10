"""The registry report in the batch: made after the sites, linked from the index, with trends across runs,
"since your last report" in the sites' reports, re-used sites keeping their history, a changed pooled
comparison running a site again; and registry.html opened at 1280 and 390 px without sideways scrolling.

Three batches of the bundled site report into one folder, on two sites of the demo registry: the first; the
same again (everything re-used); then with one of Tokyo's patients removed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.reports.content.registry_json import read_registry_summary
from ivig_kit.reports.content.trends import read_history
from ivig_kit.reports.runner.batch import run_batch
from ivig_kit.reports.runner.prepare import prepare_batch
from ivig_kit.reports.runner.registry_run import REGISTRY_FILES

REPO = Path(__file__).resolve().parents[3]
SITES = ["Tokyo", "Milano"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry-runs")
    for name in ("demo_registry.csv", "demo_adverse_events.csv"):
        shutil.copyfile(REPO / "data" / name, root / name)
    data, out = root / "demo_registry.csv", root / "out"

    def run():
        result = run_batch(prepare_batch(data, out, sites=SITES), jobs=2, progress=False)
        index = json.loads((out / "index.json").read_text(encoding="utf-8"))
        return result, {row["site"]: row for row in index["sites"]}, (out / "registry.html").read_text("utf-8")

    runs = {"first": run(), "again": run()}
    visits = pd.read_csv(data, dtype=str, keep_default_na=False)
    dropped = visits[visits["site"] == "Tokyo"]["patient_id"].iloc[0]
    visits[visits["patient_id"] != dropped].to_csv(data, index=False)
    events_path = root / "demo_adverse_events.csv"  # an event of a patient not in the registry is an error
    events = pd.read_csv(events_path, dtype=str, keep_default_na=False)
    events[events["patient_id"] != dropped].to_csv(events_path, index=False)
    runs["changed"] = run()
    return {"runs": runs, "out": out}


def test_the_registry_report_is_made_and_linked_from_the_index(three_runs):
    out = three_runs["out"]
    for key in ("html", "notebook", "summary"):
        assert (out / REGISTRY_FILES[key]).is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="registry.html"' in index and 'href="registry.json"' in index
    page = (out / "registry.html").read_text(encoding="utf-8")
    assert "Figure 1. Responders" in page and "Table 2. Data quality by site" in page
    assert "Tokyo" in page and "Amsterdam" in page  # the coordinating centre sees every site by name


def test_registry_json_matches_its_schema_and_the_pinned_limits(three_runs):
    summary = read_registry_summary(three_runs["out"] / "registry.json")
    target = summary["target"]
    assert target["proportion"] == pytest.approx(target["responders"] / target["patients_scored"], abs=1e-6)
    from ivig_kit.inference import funnel_limits

    for site in summary["sites"]:
        limits = funnel_limits(target["proportion"], site["patients_scored"], 0.95)
        assert site["limits_95"] == pytest.approx([limits.lower, limits.upper], abs=1e-5)
    assert sorted(t["site"] for t in summary["trends"]) == sorted(SITES)
    assert len(summary["trends"][0]["runs"]) == 3


def test_reused_sites_keep_their_history(three_runs):
    result, _rows, _ = three_runs["runs"]["again"]
    assert all(r.reused for r in result.results)
    history = read_history(three_runs["out"] / "history.json")
    assert len(history["runs"]) == 3
    first, again = history["runs"][0]["sites"], history["runs"][1]["sites"]
    assert set(again) == set(SITES) and all(again[s]["reused"] for s in SITES)
    assert all(again[s]["made_at"] == first[s]["made_at"] for s in SITES)
    assert all(again[s]["responders"] == first[s]["responders"] for s in SITES)


def test_a_changed_pooled_comparison_runs_an_unchanged_site_again(three_runs):
    result, rows, _ = three_runs["runs"]["changed"]
    assert {r.site: r.reused for r in result.results} == {"Tokyo": False, "Milano": False}
    _, before, _ = three_runs["runs"]["again"]
    # Milano's own rows did not change; what it is compared with did
    assert rows["Milano"]["made_with"]["input_hash"] != before["Milano"]["made_with"]["input_hash"]


def test_the_changed_sites_reports_say_what_changed_since_their_last_report(three_runs):
    out = three_runs["out"]
    _, rows, _ = three_runs["runs"]["changed"]
    history = read_history(out / "history.json")
    made = history["runs"][0]["sites"]["Tokyo"]["made_at"][:16].replace("T", " ")
    page = (out / rows["Tokyo"]["files"]["html"]).read_text(encoding="utf-8")
    assert "Since your last report" in page and f"Your previous report was made on {made}" in page
    assert "Table 12. Since your last report" in page
    assert history["runs"][2]["sites"]["Tokyo"]["patients"] == history["runs"][0]["sites"]["Tokyo"]["patients"] - 1


def test_the_registry_report_shows_each_sites_trend_across_runs(three_runs):
    _, _, first_page = three_runs["runs"]["first"]
    _, _, page = three_runs["runs"]["changed"]
    assert "appears from the second run" in first_page
    assert "Figure 3. Responders by site at each run" in page
    assert page.count('<th scope="col">20') >= 3  # one column per run in Table 5


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_registry_html_has_no_sideways_scroll(browser, three_runs, artifacts_dir, width):
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto((three_runs["out"] / "registry.html").as_uri(), wait_until="load")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        assert page.locator("figure img").first.get_attribute("alt").startswith("Funnel plot of 9 sites")
        page.screenshot(path=str(artifacts_dir / f"registry_{width}px.png"), full_page=False)
    finally:
        page.close()


def test_a_failing_registry_notebook_keeps_the_earlier_report_and_fails_no_site(tmp_path, capsys):
    import nbformat

    from ivig_kit.reports.runner.registry_run import run_registry_report

    notebook = tmp_path / "broken_registry.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    "data_path = ''\nhistory_path = ''\nsummary_path = ''", metadata={"tags": ["parameters"]}
                ),
                nbformat.v4.new_code_cell("raise ValueError('no registry today')"),
            ],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        ),
        notebook,
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "registry.html").write_text("earlier", encoding="utf-8")
    batch = prepare_batch(REPO / "data" / "demo_registry.csv", out, sites=["Tokyo"], registry=True)
    result = run_registry_report(batch, [], notebook=notebook)
    assert result.status == "failed" and result.error == "ValueError: no registry today"
    assert (out / "registry.html").read_text(encoding="utf-8") == "earlier"
    assert "FAILED  registry report: ValueError: no registry today" in capsys.readouterr().out
    assert read_history(out / "history.json")["runs"]  # the sites' figures are kept all the same
    assert not [p for p in out.iterdir() if "partial" in p.name]
