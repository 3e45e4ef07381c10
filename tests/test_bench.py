"""The benchmarks still run (on a small input) and print their figures; the targets are checked by
`make bench` (`--check`), on a machine quiet enough to measure them, and their checking is tested here."""

import datetime
import importlib.util
import json
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
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_reports_benchmark_targets_are_checked():
    bench = reports_bench()
    assert (
        bench.missed_targets(
            naive_over_batch=12.4,
            unchanged_share=0.05,
            marginal_small=0.4,
            marginal_large=0.44,
            startup=2.5,
            marginal=0.45,
            pdf_overhead=0.2,
        )
        == []
    )
    assert bench.missed_targets() == []  # nothing measured, nothing missed
    assert bench.missed_targets(naive_over_batch=5.7) == ["naive / batch 5.70x < 12x"]
    assert bench.missed_targets(unchanged_share=0.12) == ["unchanged re-run 12.0% >= 10% of the full run"]
    assert bench.missed_targets(startup=9.2) == ["start-up 9.20 s > 3 s"]
    assert bench.missed_targets(marginal=1.0) == ["marginal cost 1.00 s > 0.5 s per site"]
    assert bench.missed_targets(pdf_overhead=1.5) == ["--pdf overhead 1.50 s > 0.3 s per site"]
    assert bench.missed_targets(marginal_small=0.5, marginal_large=0.7) == ["marginal cost ratio 1.40 > 1.2"]
    # a negative slope is noise, never a pass
    assert "too busy" in bench.missed_targets(marginal_small=-0.2, marginal_large=0.5)[0]


def test_the_median_run_is_the_middle_one_with_the_median_start_up():
    bench = reports_bench()
    runs = [bench.BatchRun(seconds=s, reused=0, worker_seconds=[], startup=u) for s, u in ((9, 3), (7, 1), (8, None))]
    middle = bench.median_run(runs)
    assert (middle.seconds, middle.startup) == (8, 2) and middle.spread == " (median of 9.0, 7.0, 8.0 s)"
    assert bench.median_run(runs[:1]).spread == "" and bench.median_run(runs[:1]).startup == 3


def test_reports_benchmark_reads_start_up_from_the_first_cell_papermill_timed(tmp_path):
    bench = reports_bench()
    launched = datetime.datetime(2026, 12, 8, 12, 0, 0, tzinfo=datetime.UTC)
    for name, start in [("a-1.ipynb", "2026-12-08T12:00:04.5"), ("b-2.ipynb", "2026-12-08T12:00:02.25Z")]:
        cells = [
            {"cell_type": "markdown", "metadata": {}},
            {"cell_type": "code", "metadata": {"papermill": {"start_time": start}}},
            {"cell_type": "code", "metadata": {"papermill": {"start_time": "2026-12-08T12:00:01"}}},  # not the first
        ]
        (tmp_path / name).write_text(json.dumps({"cells": cells}), encoding="utf-8")
    (tmp_path / "c-3.failed.ipynb").write_text("not read", encoding="utf-8")
    assert bench.first_cell_after(tmp_path, launched) == 2.25
    assert bench.first_cell_after(tmp_path / "c-3.failed.ipynb", launched) is None  # nothing there: n/a


NUMBER = r"-?\d+(?:\.\d+)?"


@pytest.mark.slow
def test_reports_benchmark_prints_every_figure_of_one_small_run():
    command = [sys.executable, str(REPO / "bench" / "reports_batch.py"), "--sites", "2", "--small", "1"]
    command += ["--large", "0", "--skip-naive", "--skip-pdf", "--breakdown-sites", "1", "--repeat", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr  # without --check a missed target is printed only
    out = result.stdout
    for line in [
        rf"start-up: {NUMBER} s \(launch to first cell; target <= 3 s\)",
        rf"batch: {NUMBER} s for 2 sites \(--jobs 2\) \(median of {NUMBER}, {NUMBER} s\)",
        rf"marginal cost: {NUMBER} s per site \(against 1 sites in {NUMBER} s \(median of {NUMBER}, {NUMBER} s\); "
        r"target <= 0.5 s\)",
        r"--pdf overhead: n/a per site \(--skip-pdf\) \(target <= 0.3 s\)",
        r"ratio naive / batch: n/a \(target >= 12x\)",
        rf"re-run unchanged: {NUMBER} s = {NUMBER}% of the full run",
        rf"import of the runner .*: {NUMBER} s",
        rf"registry reading and validation \(read_visits\): {NUMBER} s",
        rf"scoring \(total_improvement_score, validated again\): {NUMBER} s",
        rf"summaries and the rest of prepare_batch .*: {NUMBER} s",
        rf"slices \(batch.with_inputs, 2 sites\): {NUMBER} s",
        rf"zygote start-up to ready: {NUMBER} s",
        *[rf"  {part} per site: {NUMBER} s" for part in ("worker", "kernel start", "kernel stop", "cells")],
        *[rf"  {part} per site: {NUMBER} s" for part in ("papermill overhead", "HTML export")],
        rf"cells \(median s\): \[0\] site = .*: {NUMBER} \| ",
        rf"floor per site \(.*\): {NUMBER} s",
        rf"floor of the machine per site \(2 such processes at once; each process {NUMBER}x slower than alone\): "
        rf"{NUMBER} s",
        r"load average before [\d. ]+",
        r"load average after [\d. ]+",
        r"scale ratio --large / 9 sites: n/a",
        rf"summary\n  ratio: n/a\n  start-up: {NUMBER} s\n  marginal: {NUMBER} s per site\n  pdf overhead: n/a",
        rf"  peak RSS: n/a / n/a MB .*\n  floor per site: {NUMBER} s \(alone\); {NUMBER} s of the machine\n"
        rf"  worker per site: {NUMBER} s",
    ]:
        assert re.search(line, out), f"{line!r} not in:\n{out}"


@pytest.mark.slow
def test_reports_benchmark_measures_the_parents_peak_memory_and_index_of_a_scale_registry(tmp_path):
    bench = reports_bench()
    run, slope = bench.scale_run(tmp_path, count=2, small=1, jobs=1, ran=None)
    assert run.peak_rss_mb > 10 and run.seconds > 0 and len(run.worker_seconds) == 2
    assert 10 < run.prepared_rss_mb <= run.peak_rss_mb  # the peak once the registry was read and scored
    assert all(size > 0 for size in run.index_mb)
    assert isinstance(slope, float)
