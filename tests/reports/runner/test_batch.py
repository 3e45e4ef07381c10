"""The batch: failure isolation, safe file names, string identifiers, a dask LocalCluster run, and
privacy with the real report notebook.

Most tests run a tiny fixture report notebook on a few relabelled sites of the example table, so they
test the runner and not the real report."""

from __future__ import annotations

import html
import json
import re

import nbformat
import pandas as pd
import pytest

from ivig_kit.reports.runner import batch, index_page, prepare, tasks

from ..helpers import (
    AWKWARD_SITES,
    DEMO_REGISTRY,
    run_reports_cli,
    visible_text,
    write_fixture_notebook,
    write_registry,
)

pytestmark = pytest.mark.slow  # each test runs kernels: seconds, not milliseconds


@pytest.fixture(scope="module")
def awkward_batch(tmp_path_factory):
    """Run 1 reports on 'Broken' alone (it succeeds); run 2 on every site with 'Broken' made to fail."""
    root = tmp_path_factory.mktemp("awkward")
    notebook = write_fixture_notebook(root / "fixture_report.ipynb")
    data = write_registry(root / "registry.csv", AWKWARD_SITES)
    out = root / "reports"
    first = run_reports_cli(data, "--out", out, "--notebook", notebook, "--sites", "Broken", "--jobs", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    slug = tasks.site_slug("Broken")
    earlier = {suffix: (out / f"{slug}{suffix}").read_bytes() for suffix in (".html", ".ipynb", ".json")}
    (root / "params.csv").write_text("site,fail\n*,false\nBroken,true\n", encoding="utf-8")
    second = run_reports_cli(data, "--out", out, "--notebook", notebook, "--jobs", "2", "--params", root / "params.csv")
    return {
        "out": out,
        "data": data,
        "earlier": earlier,
        "first": first,
        "second": second,
        "index": (out / "index.html").read_text(encoding="utf-8"),
        "record": json.loads((out / "index.json").read_text(encoding="utf-8")),
    }


def site_record(batch, site):
    return next(r for r in batch["record"]["sites"] if r["site"] == site)


def test_a_failing_site_does_not_stop_the_others_and_the_exit_status_says_so(awkward_batch):
    assert awkward_batch["second"].returncode == 1, awkward_batch["second"].stderr
    statuses = {r["site"]: r["status"] for r in awkward_batch["record"]["sites"]}
    assert statuses == {site: "failed" if site == "Broken" else "ok" for site in AWKWARD_SITES}
    assert re.search(r"FAILED\s+'Broken': ValueError: cannot report on Broken", awkward_batch["second"].stdout)
    assert "5 ok, 1 failed" in awkward_batch["second"].stdout


def test_the_index_shows_the_failed_cells_error(awkward_batch):
    broken = site_record(awkward_batch, "Broken")
    assert (broken["error"]["kind"], broken["error"]["ename"]) == ("cell", "ValueError")
    assert broken["error"]["evalue"] == "cannot report on Broken"
    row = re.search(r'<tr class="site-row" data-status="failed"[^>]*>.*?</tr>', awkward_batch["index"], re.DOTALL)
    assert row and "Broken" in row.group(0)
    assert "ValueError: cannot report on Broken" in row.group(0)
    assert 'id="failures"' in awkward_batch["index"]


def test_a_failed_site_keeps_its_earlier_report_and_leaves_no_partial_file(awkward_batch):
    out, slug = awkward_batch["out"], tasks.site_slug("Broken")
    for suffix, content in awkward_batch["earlier"].items():
        assert (out / f"{slug}{suffix}").read_bytes() == content, f"{slug}{suffix} was overwritten"
    failed = nbformat.read(out / f"{slug}.failed.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in failed.cells for o in c.get("outputs", []))
    assert f'href="{slug}.html">earlier report' in awkward_batch["index"]
    assert not [
        p.name for p in out.iterdir() if (p.name.startswith(".") and p.name != ".ivig-kit.lock") or "partial" in p.name
    ]


def test_unsafe_site_names_get_safe_unique_files_and_a_report(awkward_batch):
    out = awkward_batch["out"]
    names = {p.name for p in out.iterdir()}
    assert all(
        re.fullmatch(r"[a-z0-9-]+(\.failed)?\.(html|ipynb|json)|index\.(html|json)|\.ivig-kit\.lock", n) for n in names
    ), names
    assert not (out.parent / "up").exists() and not (out / "a").exists()
    for site in AWKWARD_SITES[:-1]:
        record = site_record(awkward_batch, site)
        assert record["status"] == "ok"
        page = (out / record["files"]["html"]).read_text(encoding="utf-8")
        assert f"site={site!r} type=str" in page.replace("&#x27;", "'").replace("&#39;", "'")
        assert json.loads((out / record["files"]["summary"]).read_text(encoding="utf-8"))["site"] == site
        assert f'href="{record["files"]["html"]}"' in awkward_batch["index"]


def test_string_identifiers_stay_strings_end_to_end(awkward_batch):
    out, record = awkward_batch["out"], site_record(awkward_batch, "007")
    summary = json.loads((out / record["files"]["summary"]).read_text(encoding="utf-8"))
    assert summary["site"] == "007" and summary["patients"] == 1
    page = (out / record["files"]["html"]).read_text(encoding="utf-8")
    assert "<title>Site report: 007</title>" in page
    assert (
        "site=&#x27;007&#x27; type=str patients=[&#x27;007&#x27;]" in page
        or "site='007' type=str patients=['007']" in page
    )
    executed = nbformat.read(out / record["files"]["notebook"], as_version=4)
    injected = executed.metadata.papermill.parameters
    assert injected["site"] == "007" and injected["population"] == "adult"
    # the kernel's own slice and summary, by file name: no local or temporary folder in the notebook
    assert injected["data_path"] == f"{record['slug']}.visits.parquet"
    assert injected["summary_path"] == f"{record['slug']}.json"
    assert "ivig-kit-" not in (out / record["files"]["notebook"]).read_text(encoding="utf-8")
    assert '<td class="site">007</td>' in awkward_batch["index"]


def test_site_report_html_is_self_contained_with_code_hidden_and_a_table_of_contents(awkward_batch):
    out, record = awkward_batch["out"], site_record(awkward_batch, "Zürich")
    page = (out / record["files"]["html"]).read_text(encoding="utf-8")
    assert 'id="table-of-contents"' in page and '<a href="#Patients">Patients</a>' in page
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)
    assert "read_visits(data_path)" not in page  # the code is hidden
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)  # nothing from the network


def test_index_lists_key_figures_links_and_the_synthetic_banner(awkward_batch):
    index = awkward_batch["index"]
    assert 'id="synthetic-banner"' in index and "Synthetic data" in index
    assert index.count('class="site-row"') == len(AWKWARD_SITES)
    assert all(html.escape(heading) in index for _, heading in index_page.INDEX_FIGURES)
    zurich = re.search(
        r'<tr class="site-row" data-status="ok"[^>]*><td class="site">Zürich</td>.*?</tr>', index, re.DOTALL
    )
    figures = re.findall(r'<td class="number"[^>]*>([^<]*)</td>', zurich.group(0)) if zurich else []
    assert figures[:5] == ["1", "3", "50.0", "0", "1"]  # patients, visits, responders %, deteriorations, AEs
    # when it was made: to the minute, kept on one line (the ISO stamp broke over four lines of a narrow column)
    assert re.search(
        r'made <time datetime="\d{4}-\d\d-\d\dT[\d:]{8}[+-][\d:]{5}">\d{4}-\d\d-\d\d \d\d:\d\d</time>', zurich.group(0)
    )
    assert "a/b" in index and "../up" in index  # shown as names, never used as paths
    assert f"index: {awkward_batch['out'] / 'index.html'}" in awkward_batch["second"].stdout


@pytest.mark.slow
def test_the_same_batch_runs_on_a_dask_cluster_without_a_shared_file_system(tmp_path, monkeypatch):
    """The tasks carry the slices and the notebook as bytes: the registry, the notebook and the output folder
    are gone or out of reach for the workers, which run in a folder of their own."""
    import pickle

    from distributed import LocalCluster

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    notebook = write_fixture_notebook(inputs / "fixture_report.ipynb")
    data = write_registry(inputs / "registry.csv", ["North", "South", "007"])
    prepared = prepare.prepare_batch(data, tmp_path / "out", notebook=notebook)
    for task in prepared.with_inputs(prepared.tasks):
        assert str(tmp_path).encode() not in pickle.dumps(task)  # no path of ours travels with a task
    for path in inputs.iterdir():
        path.unlink()
    inputs.rmdir()  # nothing left for a worker to read, had it tried
    workers = tmp_path / "elsewhere"
    workers.mkdir()
    monkeypatch.chdir(workers)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", local_directory=str(workers)
    ) as cluster:
        result = batch.run_batch(prepared, scheduler=cluster.scheduler_address, progress=False)
    assert [(r.site, r.status) for r in result.results] == [("North", "ok"), ("South", "ok"), ("007", "ok")], [
        r.error_line() for r in result.results
    ]
    record = json.loads((tmp_path / "out" / "index.json").read_text(encoding="utf-8"))
    assert record["latest_run"]["runner"].startswith("dask scheduler")
    assert json.loads((tmp_path / "out" / record["sites"][2]["files"]["summary"]).read_text())["site"] == "007"
    assert not list(workers.glob("*.ipynb")) and not list(workers.glob("*.parquet"))


@pytest.mark.slow
@pytest.mark.notebook
def test_each_site_report_holds_only_its_own_patients(tmp_path):
    """Every site's HTML, executed notebook and JSON summary of the bundled demo registry is checked for the
    patient identifiers of every other site (aggregates of other sites are allowed, identifiers are not)."""
    out = tmp_path / "reports"
    result = run_reports_cli(DEMO_REGISTRY, "--out", out, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    visits = pd.read_csv(DEMO_REGISTRY, dtype=str, keep_default_na=False)
    patients = visits.groupby("site")["patient_id"].agg(set).to_dict()
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert sorted(r["site"] for r in record["sites"]) == sorted(patients)

    def identifiers(ids):
        return re.compile(
            r"(?<![A-Za-z0-9_-])("
            + "|".join(map(re.escape, sorted(ids, key=len, reverse=True)))
            + r")(?![A-Za-z0-9_-])"
        )

    for entry in record["sites"]:
        site = entry["site"]
        others = set().union(*(ids for other, ids in patients.items() if other != site)) - patients[site]
        assert others, "the privacy check needs other sites' patients to look for"
        pattern = identifiers(others)
        for kind in ("html", "notebook", "summary"):
            text = visible_text((out / entry["files"][kind]).read_text(encoding="utf-8"))
            leaked = sorted(set(pattern.findall(text)))
            assert not leaked, f"{entry['files'][kind]} ({site!r}) shows other sites' patients {leaked[:5]}"
        # The same search does find the site's own patients in its report, so it would see a leak.
        own_page = visible_text((out / entry["files"]["html"]).read_text(encoding="utf-8"))
        assert identifiers(patients[site]).search(own_page), f"{site!r}: no own patient id found in its report"
        summary = json.loads((out / entry["files"]["summary"]).read_text(encoding="utf-8"))
        assert summary["site"] == site and summary["synthetic"] is True
