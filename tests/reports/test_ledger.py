"""The batch's data flow and its output folder: small cells, one batch per folder, the ledger index,
per-site parameters, incremental re-runs and the checks made before anything runs.

Runs use the tiny fixture notebook of ``test_batch.py``; one module-scoped folder is reused by the
ledger tests, in order, so only a few kernels start.
"""

from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pytest
from test_batch import write_fixture_notebook, write_registry
from test_site import BASE, BETTER, TINY_EVENTS, visit

from ivig_kit import errors
from ivig_kit.cli import main
from ivig_kit.reports.content import site
from ivig_kit.reports.runner import ledger, prepare
from ivig_kit.reports.runner import params_file as site_parameters
from ivig_kit.score.visits import read_visits

# --- Small cells --------------------------------------------------------------------------------------------


def registry_with_sizes(sizes: dict[str, int]) -> pd.DataFrame:
    """Every patient a responder (TIS 72.5 at week 4) so a site's rate is 100% and its n is its size."""
    rows = [visit(name, f"{name}-{i:02d}", week, BASE if week == 0 else BETTER, "IVIg")
            for name, size in sizes.items() for i in range(size) for week in (0, 4)]
    return pd.DataFrame(rows)


def summary_for(sizes: dict[str, int], reporting_site: str, min_cell_size: int = 5) -> dict:
    visits = registry_with_sizes(sizes)
    from ivig_kit.score.engine import total_improvement_score

    scores = total_improvement_score(visits, validate=False)
    aggregates = site.registry_aggregates(visits, scores, site._empty_adverse_events(), "adult", min_cell_size)
    return site.pooled_summary(aggregates, reporting_site)


def test_a_one_patient_site_is_never_shown_to_another_site():
    summary = summary_for({"Big": 20, "Other": 12, "Tiny": 1}, "Big")
    column = summary["metric_columns"].index("patients")
    shown = sorted(row[column] for row in summary["other_sites"])
    assert shown == [12]  # "Other" alone; the one-patient site is neither a row nor merged
    # and it is left out of the pooled figures too, so pooled minus shown sites cannot reveal it
    assert summary["pooled_metrics"]["patients"] == 32
    assert summary["registry"]["sites_left_out"] == 1 and summary["registry"]["patients_pooled"] == 32
    assert sum(row[1] for row in summary["pooled_by_week"] if row[0] == 4.0) == 32


def test_small_sites_are_merged_when_the_group_hides_each_member():
    summary = summary_for({"Big": 20, "S1": 3, "S2": 3, "S3": 4}, "Big")
    columns = summary["metric_columns"]
    rows = [dict(zip(columns, row)) for row in summary["other_sites"]]
    assert [(r["patients"], r["merged_sites"]) for r in rows] == [(10, 3)]  # one merged row, not 3, 3, 4
    assert summary["pooled_metrics"]["patients"] == 30
    # a merged site sees the group without itself (still >= 5 patients), never its own figures twice
    own = summary_for({"Big": 20, "S1": 3, "S2": 3, "S3": 4}, "S3")
    rows = [dict(zip(columns, row)) for row in own["other_sites"]]
    assert sorted((r["patients"], r["merged_sites"]) for r in rows) == [(6, 2), (20, 1)]


def test_small_cell_groups_left_out_when_merging_would_not_hide_the_largest():
    # 4 + 2 = 6 >= 5, but without the site of 4 only 2 remain: the site of 2 could read the other off
    assert site.small_cell_groups({"A": 9, "B": 4, "C": 2}, 5) == (["A"], [], ["B", "C"])
    assert site.small_cell_groups({"A": 9, "B": 4, "C": 2}, 1) == (["A", "B", "C"], [], [])


# --- Identifiers ------------------------------------------------------------------------------------------


def test_identifiers_are_nfc_normalised_so_one_site_stays_one(tmp_path):
    composed, decomposed = "Z\u00fcrich", unicodedata.normalize("NFD", "Z\u00fcrich")
    assert composed != decomposed
    rows = pd.DataFrame([visit(composed, "Z-01", 0, BASE, "IVIg"), visit(decomposed, "Z-01", 4, BETTER, "IVIg")])
    rows.to_csv(tmp_path / "visits.csv", index=False)
    visits = read_visits(tmp_path / "visits.csv")
    assert visits["site"].tolist() == [composed, composed]


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u0007"])
def test_invisible_or_bidirectional_characters_in_identifiers_are_rejected(tmp_path, character):
    rows = pd.DataFrame([visit("Leiden", "L-01", 0, BASE, "IVIg"),
                         visit(f"Lei{character}den", "L-01", 4, BETTER, "IVIg")])
    rows.to_csv(tmp_path / "visits.csv", index=False)
    with pytest.raises(errors.VisitTableError) as error:
        read_visits(tmp_path / "visits.csv")
    assert "visits.csv: row 2 (line 3), column 'site'" in str(error.value)
    assert "control characters" in str(error.value)


# --- Before anything runs ---------------------------------------------------------------------------------


@pytest.fixture
def tiny_inputs(tmp_path):
    notebook = write_fixture_notebook(tmp_path / "fixture_report.ipynb")
    data = write_registry(tmp_path / "registry.csv", ["North", "South", "East"])
    return notebook, data


def test_a_bad_adverse_event_table_stops_the_batch_before_any_site_runs(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    events = TINY_EVENTS.assign(site="North").astype({"week": object})
    events.loc[2, "week"] = "soon"
    events.to_csv(tmp_path / "events.csv", index=False)
    code = main(["reports", str(data), "--out", str(tmp_path / "out"), "--notebook", str(notebook),
                 "--adverse-events", str(tmp_path / "events.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "events.csv: row 3, column 'week': expected a number, got 'soon'" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_jobs_are_capped_at_the_available_cpus(monkeypatch):
    monkeypatch.setattr(prepare.os, "sched_getaffinity", lambda pid: {0, 1})
    assert prepare.capped_jobs(1000) == (2, "--jobs 1000 capped at 2: the CPUs available to this process")
    assert prepare.capped_jobs(2) == (2, "")


DECLARED = {"site": "AMS", "data_path": "", "adverse_events_path": "", "pooled_summary_path": "",
            "population": "adult", "min_cell_size": 5, "summary_path": "", "fail": False, "sleep_s": 0}


def test_a_params_file_gives_each_site_its_values_over_the_defaults_row(tmp_path):
    (tmp_path / "p.csv").write_text("site,population,sleep_s\n*,adult,1\nSouth,juvenile,\n", encoding="utf-8")
    values = site_parameters.read_site_parameters(tmp_path / "p.csv", DECLARED, ["North", "South"])
    assert values == {"North": {"population": "adult", "sleep_s": 1},
                      "South": {"population": "juvenile", "sleep_s": 1}}
    (tmp_path / "p.yaml").write_text('"*": {fail: false}\nSouth: {fail: true, population: juvenile}\n',
                                     encoding="utf-8")
    values = site_parameters.read_site_parameters(tmp_path / "p.yaml", DECLARED, ["North", "South"])
    assert values == {"North": {"fail": False}, "South": {"fail": True, "population": "juvenile"}}


def test_every_problem_of_a_params_file_is_located_at_once(tmp_path):
    (tmp_path / "p.csv").write_text("site,populaton,summary_path,sleep_s\n"
                                    "Nowhere,adult,,1\nSouth,adult,x.json,soon\nSouth,,,\n", encoding="utf-8")
    with pytest.raises(errors.ReportSetupError) as error:
        site_parameters.read_site_parameters(tmp_path / "p.csv", DECLARED, ["North", "South"], "report.ipynb")
    lines = str(error.value).splitlines()
    assert lines == [
        "p.csv: line 2, column 'site': no site 'Nowhere' in the visit table",
        "p.csv: line 3, column 'populaton': 'populaton' is not a parameter of report.ipynb (did you mean "
        "'population'?); settable: population, fail, sleep_s",
        "p.csv: line 3, column 'summary_path': 'summary_path' is set by ivig-kit reports itself and cannot be set "
        "per site; settable: population, fail, sleep_s",
        "p.csv: line 3, column 'sleep_s': expected a whole number, got 'soon'",
        "p.csv: line 4, column 'site': 'South' already has a row (line 3)",
    ]


def test_a_bad_params_file_exits_2_before_anything_runs(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    (tmp_path / "p.csv").write_text("site,population\nNorth,children\n", encoding="utf-8")
    code = main(["reports", str(data), "--out", str(tmp_path / "out"), "--notebook", str(notebook),
                 "--params", str(tmp_path / "p.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "p.csv: line 2, column 'population': population must be one of adult, juvenile" in err
    assert not (tmp_path / "out").exists()


def test_a_folder_with_an_index_the_kit_did_not_write_is_refused(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<h1>Our team's wiki</h1>", encoding="utf-8")
    code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "holds an index.html that ivig-kit did not write" in err and "--force" in err
    assert (out / "index.html").read_text(encoding="utf-8") == "<h1>Our team's wiki</h1>"
    assert ledger.read_ledger(out, force=True) == {"sites": {}}


def test_a_second_batch_into_a_locked_folder_fails_at_once(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    out = tmp_path / "out"
    out.mkdir()
    with ledger.batch_lock(out):
        code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet"])
    printed = capsys.readouterr()
    err = printed.err
    assert code == 2 and "site(s) of" not in printed.out  # refused before the registry was read
    assert "another ivig-kit reports batch (process " in err and "is writing to this folder" in err
    assert sorted(p.name for p in out.iterdir()) == [".ivig-kit.lock"]  # nothing run, nothing written


def test_stale_partial_files_and_temporary_folders_of_dead_batches_are_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".north-1234abcd.k2j3h4g5.partial.html"
    stale.write_text("half", encoding="utf-8")
    keep = out / "notes.partial.txt"  # not the kit's pattern
    keep.write_text("mine", encoding="utf-8")
    dead = tmp_path / "ivig-kit-site-dead"
    dead.mkdir()
    (dead / ledger.OWNER_FILE).write_text("999999999 1\n", encoding="ascii")  # no such process
    alive = tmp_path / "ivig-kit-site-alive"
    alive.mkdir()
    pid = __import__("os").getpid()
    (alive / ledger.OWNER_FILE).write_text(f"{pid} {ledger._start_time(pid)}\n")
    foreign = tmp_path / "ivig-kit-site-foreign"  # no owner file: not provably ours
    foreign.mkdir()
    assert ledger.sweep_partial_files(out) == [stale]
    assert ledger.sweep_stale_tempdirs(str(tmp_path)) == [dead]
    assert keep.exists() and alive.exists() and foreign.exists()


# --- The ledger and incremental re-runs (one folder, in order) --------------------------------------------


@pytest.fixture(scope="module")
def ledger_runs(tmp_path_factory):
    """Five runs into one folder: all sites; all again; all after North's data changed; --sites North with
    --params; --sites South --force."""
    root = tmp_path_factory.mktemp("ledger")
    notebook = write_fixture_notebook(root / "fixture_report.ipynb")
    data = write_registry(root / "registry.csv", ["North", "South", "East"])
    out = root / "out"

    def run(*extra):
        code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet", "--jobs", "2",
                     *map(str, extra)])
        return code, json.loads((out / "index.json").read_text(encoding="utf-8"))

    runs = {"first": run()}
    html = {s: (out / r["files"]["html"]).stat().st_mtime_ns for s, r in
            ((r["site"], r) for r in runs["first"][1]["sites"])}
    runs["again"] = run("--jobs", "1000")
    again_index = (out / "index.html").read_text(encoding="utf-8")
    visits = pd.read_csv(data, dtype=str, keep_default_na=False)
    visits.loc[(visits["site"] == "North") & (visits["week"] == "4"), "haq"] = "0.1"
    visits.to_csv(data, index=False)
    (root / "p.csv").write_text("site,population\nNorth,juvenile\n", encoding="utf-8")
    runs["changed"] = run()
    runs["north"] = run("--sites", "North", "--params", root / "p.csv")
    runs["force"] = run("--sites", "South", "--force")
    return {"runs": runs, "out": out, "html_mtime": html, "again_index": again_index}


def rows(record):
    return {r["site"]: r for r in record["sites"]}


def test_an_unchanged_rerun_reuses_every_report(ledger_runs):
    code, record = ledger_runs["runs"]["again"]
    assert code == 0
    assert {s: (r["status"], r["reused"]) for s, r in rows(record).items()} == {
        "North": ("ok", True), "South": ("ok", True), "East": ("ok", True)}
    first = rows(ledger_runs["runs"]["first"][1])
    assert all(r["made_with"] == first[s]["made_with"] and r["made_at"] == first[s]["made_at"]
               for s, r in rows(record).items())
    # the index says so on each row, and no time was spent on it in this run
    index = ledger_runs["again_index"]
    assert index.count("(re-used: inputs unchanged)") == 3
    assert index.count('<td class="number" data-label="seconds">&ndash;</td>') == 3


def test_only_the_site_whose_data_changed_runs_again(ledger_runs):
    code, record = ledger_runs["runs"]["changed"]
    assert code == 0
    assert {s: r["reused"] for s, r in rows(record).items()} == {"North": False, "South": True, "East": True}
    first = rows(ledger_runs["runs"]["first"][1])
    assert rows(record)["North"]["made_with"]["input_hash"] != first["North"]["made_with"]["input_hash"]


def test_a_sites_run_updates_its_rows_and_keeps_the_others(ledger_runs):
    code, record = ledger_runs["runs"]["north"]
    assert code == 0
    by_site = rows(record)
    assert list(by_site) == ["North", "South", "East"]  # every site still listed, in registry order
    assert by_site["North"]["reused"] is False and by_site["North"]["made_with"]["population"] == "juvenile"
    executed = json.loads((ledger_runs["out"] / by_site["North"]["files"]["notebook"]).read_text(encoding="utf-8"))
    assert executed["metadata"]["papermill"]["parameters"]["population"] == "juvenile"
    assert by_site["South"]["made_with"]["population"] == "adult"  # kept as it was made
    assert record["latest_run"]["sites_run"] == ["North"]
    index = (ledger_runs["out"] / "index.html").read_text(encoding="utf-8")
    assert index.count('class="site-row"') == 3


def test_force_runs_an_unchanged_site_again(ledger_runs):
    code, record = ledger_runs["runs"]["force"]
    assert code == 0 and rows(record)["South"]["reused"] is False
    assert rows(record)["South"]["made_at"] >= rows(ledger_runs["runs"]["first"][1])["South"]["made_at"]


def test_the_index_and_its_ledger_show_no_local_folder(ledger_runs):
    out = ledger_runs["out"]
    for name in ("index.html", "index.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert str(out.parent) not in text and "/tmp" not in text and "ivig-kit-site-" not in text
