"""The item-level benchmark still runs and agrees with the totals path (on a small input; figures not asserted)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_item_benchmark_runs_and_both_paths_agree():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "instruments_items.py"),
            "--visits",
            "2000",
            "--repeat",
            "1",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ratio items / totals" in result.stdout and "same TIS on both paths" in result.stdout
