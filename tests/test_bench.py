"""The benchmarks still run (on a small input) and print their figures; the targets are checked by
`make bench` (`--check`), on a machine quiet enough to measure them, and their checking is tested here."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_tis_throughput_benchmark_runs_and_agrees_with_row_by_row_scorer():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "tis_throughput.py"),
            "--visits",
            "5000",
            "--sample",
            "1000",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr  # the script asserts both scorers give the same totals
    assert "ratio engine / row-by-row" in result.stdout and "visits/s" in result.stdout


def test_tis_cli_benchmark_runs_the_whole_command():
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "tis_cli.py"), "--visits", "2000", "--repeat", "1", "--quick"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr  # the script checks the output's first columns
    assert "csv -> csv" in result.stdout and "x engine" in result.stdout


def reports_bench():
    spec = importlib.util.spec_from_file_location("reports_batch_bench", REPO / "bench" / "reports_batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_benchmark_targets_are_checked():
    bench = reports_bench()
    assert (
        bench.missed_targets(naive_over_batch=3.4, unchanged_share=0.05, marginal_small=0.5, marginal_large=0.55) == []
    )
    assert bench.missed_targets() == []  # nothing measured, nothing missed
    assert bench.missed_targets(naive_over_batch=2.9) == ["naive / batch 2.90x < 3x"]
    assert bench.missed_targets(unchanged_share=0.12) == ["unchanged re-run 12.0% >= 10% of the full run"]
    assert bench.missed_targets(marginal_small=0.5, marginal_large=0.7) == ["marginal cost ratio 1.40 > 1.2"]
    # a negative slope is noise, never a pass
    assert "too busy" in bench.missed_targets(marginal_small=-0.2, marginal_large=0.5)[0]


@pytest.mark.slow
def test_reports_benchmark_runs_on_one_site_and_prints_its_ratios():
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "reports_batch.py"), "--sites", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"ratio naive / batch: [\d.]+x \(target >= 3x\)", result.stdout)
    assert re.search(r"naive marginal cost: [\d.]+ s per site", result.stdout)
    assert re.search(r"re-run unchanged: [\d.]+ s = [\d.]+% of the full run", result.stdout)
    assert "(1 re-used)" in result.stdout


@pytest.mark.slow
def test_reports_benchmark_compares_the_per_site_cost_of_a_small_and_a_large_registry():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "reports_batch.py"),
            "--sites",
            "2",
            "--small",
            "1",
            "--large",
            "10",
            "--large-run",
            "2",
            "--skip-naive",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # without --check a missed target is printed only
    assert re.search(
        r"marginal seconds per site: -?[\d.]+ at 9 sites, -?[\d.]+ at 10 sites \(ratio -?[\d.]+; "
        r"target <= 1.20\)",
        result.stdout,
    )
    assert re.search(r"one site in its worker: [\d.]+ at 9 sites, [\d.]+ at 10 sites", result.stdout)
    assert "ratio naive / batch" not in result.stdout
