"""Preparing a batch: everything read and checked before any kernel starts (exit 2, nothing run)."""

from __future__ import annotations

import json

import pytest

from ivig_kit import errors
from ivig_kit.cli import main
from ivig_kit.reports.content import site as report_site
from ivig_kit.reports.content.parameters import MIN_CELL_SIZE, REPORT_PARAMETERS, min_cell_size_problem
from ivig_kit.reports.runner import pool, prepare

from ..helpers import EXAMPLE, FIXTURES, REPO, SITE_REPORT, TINY_EVENTS, write_fixture_notebook, write_registry


@pytest.mark.parametrize("problem", ["bad_value", "unknown_site", "missing_file", "not_a_report", "bad_adverse"])
def test_bad_input_exits_2_with_a_located_message_and_runs_nothing(tmp_path, capsys, problem):
    notebook = write_fixture_notebook(tmp_path / "fixture_report.ipynb")
    data = write_registry(tmp_path / "registry.csv", ["North", "South"])
    args = [str(data), "--out", str(tmp_path / "out"), "--notebook", str(notebook)]
    if problem == "bad_value":
        data.write_text(data.read_text().replace("North,P00X,4,4.2,", "North,P00X,4,12,"))
        expected = "registry.csv: row 2 (line 3), column 'physician_global'"
    elif problem == "unknown_site":
        args += ["--sites", "North", "west"]
        expected = "no site 'west'; the sites are 'North', 'South'"
    elif problem == "missing_file":
        args[0] = str(tmp_path / "nowhere.csv")
        expected = "nowhere.csv: file not found"
    elif problem == "not_a_report":
        args[-1] = str(REPO / "notebooks" / "01_total_improvement_score.ipynb")
        expected = "01_total_improvement_score.ipynb: no code cell is tagged 'parameters'"
    else:
        args += ["--adverse-events", str(tmp_path / "no_events.csv")]
        expected = "no_events.csv: adverse-event table not found"
    assert main(["reports", *args]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.startswith("ivig-kit: error: ")
    assert not (tmp_path / "out").exists()


def test_a_bad_adverse_event_table_stops_the_batch_before_any_site_runs(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    events = TINY_EVENTS.assign(site="North").astype({"week": object})
    events.loc[2, "week"] = "soon"
    events.to_csv(tmp_path / "events.csv", index=False)
    code = main(
        [
            "reports",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--notebook",
            str(notebook),
            "--adverse-events",
            str(tmp_path / "events.csv"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "events.csv: row 3, column 'week': expected a number, got 'soon'" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_jobs_are_capped_at_the_available_cpus(monkeypatch):
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1})
    assert pool.capped_jobs(1000) == (2, "--jobs 1000 capped at 2: the CPUs available to this process")
    assert pool.capped_jobs(2) == (2, "")


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "no_parameters.ipynb",
            "no_parameters.ipynb: no code cell is tagged 'parameters'; a report notebook declares site,",
        ),
        ("broken_parameters.ipynb", "broken_parameters.ipynb: the 'parameters' cell is not valid Python ("),
        ("not_json.ipynb", "not_json.ipynb: not a readable notebook (JSONDecodeError: "),
        (
            "cells_not_a_list.ipynb",
            "cells_not_a_list.ipynb: not a readable notebook (TypeError: 'cells' is not a list)",
        ),
    ],
)
def test_a_notebook_without_a_readable_parameters_cell_is_refused_with_its_name(name, message):
    with pytest.raises(errors.ReportSetupError) as error:
        prepare.notebook_parameters(FIXTURES / name)
    assert str(error.value).startswith(message)


def test_the_parameters_cell_is_read_with_ast_even_with_a_quote_in_a_comment():
    assert prepare.notebook_parameters(FIXTURES / "missing_contract.ipynb") == {"site": "", "data_path": ""}
    declared = prepare.notebook_parameters(FIXTURES / "imports.ipynb")
    assert declared["threshold"] == 2.5 and declared["label"] is None  # not a literal: no default


def test_a_notebook_lacking_the_contracts_parameters_is_refused_before_the_registry_is_read(tmp_path):
    with pytest.raises(
        errors.ReportSetupError,
        match=r"missing_contract.ipynb: its 'parameters' cell lacks "
        r"adverse_events_path, pooled_summary_path, population",
    ):
        prepare.prepare_batch(
            tmp_path / "no-registry.csv", tmp_path / "out", notebook=FIXTURES / "missing_contract.ipynb"
        )


def test_the_bundled_report_notebook_defaults_to_the_kits_minimum_cell_size():
    """The notebook's literal default and the command line's both come from one constant (checked here)."""
    declared = prepare.notebook_parameters(prepare.DEFAULT_NOTEBOOK)
    assert declared["min_cell_size"] == MIN_CELL_SIZE
    assert set(REPORT_PARAMETERS) <= set(declared)


@pytest.mark.parametrize("size", [0, -1, 2.5, True, "5"])
def test_a_bad_minimum_cell_size_is_refused_with_the_kernels_own_message(tmp_path, size):
    with pytest.raises(errors.ReportSetupError) as error:
        prepare.prepare_batch(EXAMPLE, tmp_path / "out", notebook=SITE_REPORT, min_cell_size=size)
    assert str(error.value) == min_cell_size_problem(size)


def test_the_adverse_event_table_beside_a_registry_is_found_by_its_name(tmp_path):
    (tmp_path / "north_registry.csv").write_text("x", encoding="utf-8")
    assert prepare.default_adverse_events(tmp_path / "north_registry.csv") is None
    (tmp_path / "north_adverse_events.csv").write_text("x", encoding="utf-8")
    assert prepare.default_adverse_events(tmp_path / "north_registry.csv") == tmp_path / "north_adverse_events.csv"
    (tmp_path / "b_visits.csv").write_text("x", encoding="utf-8")
    (tmp_path / "b_adverse_events.csv").write_text("x", encoding="utf-8")
    assert prepare.default_adverse_events(tmp_path / "b_visits.csv") == tmp_path / "b_adverse_events.csv"


def test_each_task_records_the_registrys_files_once_and_hashes_its_own_inputs(tmp_path):
    notebook = write_fixture_notebook(tmp_path / "fixture_report.ipynb")
    data = write_registry(tmp_path / "registry.csv", ["North", "South"])
    batch = prepare.prepare_batch(data, tmp_path / "out", notebook=notebook, adverse_events_path="")
    north, south = batch.tasks
    assert north.input_hash != south.input_hash and len(north.input_hash) == 64
    again = prepare.prepare_batch(data, tmp_path / "out", notebook=notebook, adverse_events_path="")
    assert [t.input_hash for t in again.tasks] == [north.input_hash, south.input_hash]  # stable from run to run
    pooled = json.loads(batch.with_inputs([north])[0].pooled_summary)
    assert {k: pooled["registry"][k] for k in ("data_file", "data_sha256", "adverse_events_file")} == {
        **{k: v for k, v in report_site.registry_files(data).items() if k != "adverse_events_sha256"}
    }
    assert batch.data_sha256 == pooled["registry"]["data_sha256"]
