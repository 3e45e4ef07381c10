"""Per-site parameters (`--params`): values over the defaults row, every problem located at once."""

from __future__ import annotations

import pytest

from ivig_kit import errors
from ivig_kit.cli import main
from ivig_kit.reports.runner import params_file

DECLARED = {
    "site": "AMS",
    "data_path": "",
    "adverse_events_path": "",
    "pooled_summary_path": "",
    "population": "adult",
    "min_cell_size": 5,
    "summary_path": "",
    "fail": False,
    "sleep_s": 0,
}


def test_a_params_file_gives_each_site_its_values_over_the_defaults_row(tmp_path):
    (tmp_path / "p.csv").write_text("site,population,sleep_s\n*,adult,1\nSouth,juvenile,\n", encoding="utf-8")
    values = params_file.read_site_parameters(tmp_path / "p.csv", DECLARED, ["North", "South"])
    assert values == {"North": {"population": "adult", "sleep_s": 1}, "South": {"population": "juvenile", "sleep_s": 1}}
    (tmp_path / "p.yaml").write_text(
        '"*": {fail: false}\nSouth: {fail: true, population: juvenile}\n', encoding="utf-8"
    )
    values = params_file.read_site_parameters(tmp_path / "p.yaml", DECLARED, ["North", "South"])
    assert values == {"North": {"fail": False}, "South": {"fail": True, "population": "juvenile"}}


def test_every_problem_of_a_params_file_is_located_at_once(tmp_path):
    (tmp_path / "p.csv").write_text(
        "site,populaton,summary_path,sleep_s\nNowhere,adult,,1\nSouth,adult,x.json,soon\nSouth,,,\n", encoding="utf-8"
    )
    with pytest.raises(errors.ReportSetupError) as error:
        params_file.read_site_parameters(tmp_path / "p.csv", DECLARED, ["North", "South"], "report.ipynb")
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
    code = main(
        [
            "reports",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--notebook",
            str(notebook),
            "--params",
            str(tmp_path / "p.csv"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "p.csv: line 2, column 'population': population must be one of adult, juvenile" in err
    assert not (tmp_path / "out").exists()


def test_notebook_defaults_are_the_literals_a_parameters_cell_assigns():
    source = (
        'site = "AMS"  # it\'s a comment with a quote\nsize: int = 5\nratio = 0.5\nlabel = f"{site}"\nx, y = 1, 2\n'
    )
    assert params_file.notebook_defaults(source) == {"site": "AMS", "size": 5, "ratio": 0.5, "label": None}
    with pytest.raises(SyntaxError):
        params_file.notebook_defaults("site = (")
