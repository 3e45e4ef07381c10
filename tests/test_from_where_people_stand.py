"""What a newcomer meets first: the papermill command from the repository root, --help, a mistyped site."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivig_kit.cli import build_parser
from ivig_kit.reports.content.parameters import bundled_or_given
from ivig_kit.reports.runner.prepare import closest_site
from ivig_kit.resources import data_path
from ivig_kit.score.readers import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", ["tis", "reports"])
def test_help_lists_every_accepted_input_format(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES, *EXCEL_SUFFIXES):
        assert suffix in text, f"{command} --help does not name {suffix}"


SITES = ["Amsterdam", "Nijmegen UMC", "Zürich", "São Paulo"]


@pytest.mark.parametrize("typed,expected", [("Zurich", "Zürich"), ("zürich", "Zürich"), ("ZURICH", "Zürich"),
                                            ("nijmegen umc", "Nijmegen UMC"), ("Sao Paolo", "São Paulo"),
                                            ("Amsterdm", "Amsterdam"), ("Tokyo", None)])
def test_a_mistyped_site_gets_the_closest_name(typed, expected):
    assert closest_site(typed, SITES) == expected


def test_an_unknown_site_on_the_command_line_is_answered_with_a_suggestion(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ivig_kit.cli", "reports", str(data_path("demo_registry.csv")),
                             "--out", str(tmp_path / "out"), "--sites", "Zurich"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "'Zurich' -> did you mean 'Zürich'?" in result.stderr


def test_bundled_parameter_values_resolve_against_the_kit_not_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bundled_or_given("bundled:demo_registry.csv") == data_path("demo_registry.csv")
    assert bundled_or_given("mine.csv") == tmp_path / "mine.csv"


@pytest.mark.notebook
@pytest.mark.slow
def test_papermill_cli_runs_the_site_report_from_the_repository_root(tmp_path):
    out = tmp_path / "tokyo.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", "notebooks/site_report.ipynb", str(out), "-k", "python3",
                             "-p", "site", "Tokyo"], cwd=REPO, capture_output=True, text=True, timeout=400,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = json.loads(out.read_text(encoding="utf-8"))
    shown = "".join("".join(o.get("data", {}).get("text/html", "")) for c in notebook["cells"]
                    for o in c.get("outputs", []))
    assert "Site report: Tokyo" in shown
