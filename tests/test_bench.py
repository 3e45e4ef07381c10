"""The benchmarks still run (on a small input); their figures are read by people, not asserted."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_tis_throughput_benchmark_runs_and_agrees_with_row_by_row_scorer():
    result = subprocess.run([sys.executable, str(REPO / "bench" / "tis_throughput.py"), "--visits", "5000",
                             "--sample", "1000", "--repeat", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr  # the script asserts both scorers give the same totals
    assert "ratio engine / row-by-row" in result.stdout and "visits/s" in result.stdout


def test_tis_cli_benchmark_runs_the_whole_command():
    result = subprocess.run([sys.executable, str(REPO / "bench" / "tis_cli.py"), "--visits", "2000", "--repeat", "1",
                             "--quick"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr  # the script checks the output's first columns
    assert "csv -> csv" in result.stdout and "x engine" in result.stdout
