"""Preparing a batch: everything read and checked before any kernel starts (exit 2, nothing run)."""

from __future__ import annotations

import pytest

from ivig_kit.cli import main
from ivig_kit.reports.runner import (
    prepare,
)

from ..helpers import REPO, TINY_EVENTS, write_fixture_notebook, write_registry


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
    code = main(["reports", str(data), "--out", str(tmp_path / "out"), "--notebook", str(notebook),
                 "--adverse-events", str(tmp_path / "events.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "events.csv: row 3, column 'week': expected a number, got 'soon'" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_jobs_are_capped_at_the_available_cpus(monkeypatch):
    monkeypatch.setattr(prepare.os, "sched_getaffinity", lambda pid: {0, 1})
    assert prepare.capped_jobs(1000) == (2, "--jobs 1000 capped at 2: the CPUs available to this process")
    assert prepare.capped_jobs(2) == (2, "")
