"""The ivig-kit command line: scores the bundled example, rejects bad input with exit 2 and no traceback."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "example_visits.csv"
REQUIRED_OUTPUT = ["site", "patient_id", "week", "physician_global_points", "patient_global_points", "mmt_points",
                   "haq_points", "enzyme_points", "extramuscular_points", "tis", "category"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ivig_kit.cli", *map(str, args)], capture_output=True, text=True)


def test_tis_scores_the_bundled_example(tmp_path):
    out = tmp_path / "scores.csv"
    result = run_cli("tis", EXAMPLE, "--out", out)
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(out, dtype={"site": str, "patient_id": str})
    assert list(scores.columns[:3]) == ["site", "patient_id", "week"]
    assert set(REQUIRED_OUTPUT) <= set(scores.columns)
    visits = pd.read_csv(EXAMPLE, dtype=str)
    assert len(scores) == len(visits) - visits[["site", "patient_id"]].drop_duplicates().shape[0]
    assert "001" in set(scores["patient_id"])  # leading zeros survive the round trip
    first = scores.iloc[0]
    assert (first["patient_id"], first["week"], first["tis"], first["category"]) == ("001", 4, 47.5, "moderate")


def test_population_and_enzyme_options_reach_the_output(tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["tis", str(EXAMPLE), "--out", str(out), "--population", "juvenile",
                 "--enzyme-normalisation", "uln_range", "--uln-multiplier", "5"]) == 0
    scores = pd.read_csv(out)
    assert set(scores["population"]) == {"juvenile"}
    assert set(scores["enzyme_normalisation"]) == {"uln_range(x5)"}


def test_tis_prints_a_summary_without_out():
    result = run_cli("tis", EXAMPLE)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == REQUIRED_OUTPUT


@pytest.mark.parametrize("content, located", [
    ("site,patient_id,week\nA,1,0\n", "missing required column(s) 'physician_global'"),
    (EXAMPLE.read_text().replace("AMS,001,4,4.2,", "AMS,001,4,11,"), "row 2 (line 3), column 'physician_global'"),
    ("", "the file is empty"),
])
def test_bad_input_exits_2_with_one_located_line(tmp_path, content, located):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run_cli("tis", path, "--out", tmp_path / "scores.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivig-kit: error: bad.csv: ") and located in lines[0]
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize("command", [[], ["tis"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "usage: ivig-kit" in result.stdout
