"""The report notebook's contract: its parameters, their validation and the minimum cell size."""

from __future__ import annotations

import papermill
import pytest

from ivig_kit import errors
from ivig_kit.errors import InputError
from ivig_kit.reports.content import parameters

from ..helpers import SITE_REPORT


def test_report_parameters_are_the_notebooks_and_the_contracts():
    assert parameters.REPORT_PARAMETERS == (
        "site",
        "data_path",
        "adverse_events_path",
        "pooled_summary_path",
        "population",
        "min_cell_size",
        "summary_path",
    )
    declared = papermill.inspect_notebook(str(SITE_REPORT))
    assert list(declared) == list(parameters.REPORT_PARAMETERS)
    defaults = {name: declared[name]["default"] for name in declared}
    assert defaults == {
        "site": '"Amsterdam"',
        "data_path": '"bundled:demo_registry.csv"',
        "adverse_events_path": '"bundled:demo_adverse_events.csv"',
        "pooled_summary_path": '""',
        "population": '"adult"',
        "min_cell_size": str(parameters.MIN_CELL_SIZE),
        "summary_path": '""',
    }


def test_valid_parameters_come_back_resolved(tiny, tmp_path):
    checked = parameters.validate_report_parameters("Zürich", str(tiny[0]), "", "juvenile", str(tmp_path / "s.json"))
    assert checked.site == "Zürich" and checked.data_path == tiny[0].resolve()
    assert checked.adverse_events_path is None and checked.population == "juvenile"
    assert checked.summary_path == (tmp_path / "s.json").resolve()
    assert checked.as_dict()["adverse_events_path"] == ""


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((7, "DATA"), r"site must be text, got int 7.*'007' does not become 7"),
        (("", "DATA"), "site is empty"),
        (
            ("Zurich", "DATA"),
            r"site 'Zurich' is not in visits.csv \(did you mean 'Zürich'\?\); its sites are: 'A b', 'Zürich'",
        ),
        (("A b", "DATA", "", "children"), "population must be one of adult, juvenile, not 'children'"),
        (("A b", "nowhere.csv"), "data_path: file not found: 'nowhere.csv'"),
        (("A b", "DATA", "no_events.csv"), "adverse_events_path: file not found: 'no_events.csv'"),
        (("A b", "DATA", "", "adult", "/no/such/folder/s.json"), "summary_path '/no/such/folder/s.json': folder"),
        (("A b", "DATA", "", "adult", "FOLDER"), "is a folder"),
    ],
)
def test_bad_parameters_get_a_clear_message(tiny, tmp_path, arguments, message):
    arguments = [str(tiny[0]) if a == "DATA" else str(tmp_path) if a == "FOLDER" else a for a in arguments]
    with pytest.raises(errors.ReportParameterError, match=message) as raised:
        parameters.validate_report_parameters(*arguments)
    assert isinstance(raised.value, InputError)


def test_all_problems_are_reported_at_once(tiny):
    with pytest.raises(errors.ReportParameterError) as raised:
        parameters.validate_report_parameters(7, "missing.csv", "", "kids")
    assert len(str(raised.value).splitlines()) == 3


def test_a_broken_visit_table_gets_the_located_validation_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("patient,score\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a visit table"):
        parameters.validate_report_parameters("A", str(path))


@pytest.mark.parametrize(
    "value, problem",
    [
        (5, None),
        (1, None),
        (0, "min_cell_size must be a whole number >= 1, got 0"),
        (True, "min_cell_size must be a whole number >= 1, got True"),
        (2.0, "min_cell_size must be a whole number >= 1, got 2.0"),
        ("5", "min_cell_size must be a whole number >= 1, got '5'"),
    ],
)
def test_the_minimum_cell_size_is_checked_in_one_place(value, problem):
    assert parameters.min_cell_size_problem(value) == problem


def test_the_kernel_refuses_a_bad_minimum_cell_size_with_the_same_message(tiny):
    with pytest.raises(errors.ReportParameterError) as error:
        parameters.validate_report_parameters("A b", tiny[0], min_cell_size=0)
    assert str(error.value) == parameters.min_cell_size_problem(0)
    assert parameters.validate_report_parameters("A b", tiny[0]).min_cell_size == parameters.MIN_CELL_SIZE


def test_the_sites_of_a_registry_are_read_in_order_of_appearance_and_nfc(tmp_path):
    import unicodedata

    import pandas as pd

    path = tmp_path / "v.csv"
    pd.DataFrame({"site": ["B", unicodedata.normalize("NFD", "Zürich"), "B", " ", "A"]}).to_csv(path, index=False)
    assert parameters.registry_sites(path) == ["B", "Zürich", "A"]
