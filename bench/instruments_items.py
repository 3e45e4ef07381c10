"""Item-level input against the totals-only path: reading, building the core set and scoring 1M visits.

Writes 1,000,000 synthetic visits (200,000 patients x 5 visits) twice, to temporary files: once as
items (15 MMT-8 grades, the 20 HAQ answers with aids and help, the VAS and CK) and once as the totals
those items make; then times, in this process, what ``ivig-kit tis`` does with each file: read
(:func:`ivig_kit.score.core_set.read_core_set`, which validates too) and score
(:func:`ivig_kit.score.engine.total_improvement_score`). Prints both, the ratio items / totals, and
the time of building the core set alone (:func:`~ivig_kit.score.core_set.core_set_from_items`).
Checks the two paths give the same TIS.

    python bench/instruments_items.py [--visits 1000000] [--format parquet|csv] [--repeat 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.instruments.items import (
    HAQ_CATEGORIES,
    MMT8_COLUMNS,
    aid_column,
    help_column,
    questionnaire_columns,
)
from ivig_kit.score.core_set import ItemRules, core_set_from_items, read_core_set
from ivig_kit.score.engine import total_improvement_score

VISITS_PER_PATIENT = 5


def synthetic_items(n_visits: int, seed: int = 23) -> pd.DataFrame:
    """Random item-level visits (synthetic): grades 3-10, HAQ answers 0-3 with some aids, help and blanks."""
    rng = np.random.default_rng(seed)
    n_patients = n_visits // VISITS_PER_PATIENT
    patient = np.repeat(np.arange(n_patients), VISITS_PER_PATIENT)
    columns = {
        "site": np.char.add("S", (patient % 24).astype(str)),
        "patient_id": np.char.zfill(patient.astype(str), 6),
        "week": np.tile(np.arange(VISITS_PER_PATIENT) * 4, n_patients).astype(float),
        "physician_global": rng.integers(0, 101, n_visits) / 10,
        "patient_global": rng.integers(0, 101, n_visits) / 10,
        "extramuscular": rng.integers(0, 101, n_visits) / 10,
        "ck": rng.integers(20, 20000, n_visits).astype(float),
        "ck_uln": 200.0,
    }
    for column in MMT8_COLUMNS:
        grades = rng.integers(3, 11, n_visits).astype(float)
        if column.endswith("_right"):
            grades[rng.random(n_visits) < 0.02] = np.nan  # right side not testable: the left counts
        columns[column] = grades
    for category, items in questionnaire_columns("haq", HAQ_CATEGORIES).items():
        for item in items:
            answers = rng.integers(0, 4, n_visits).astype(float)
            answers[rng.random(n_visits) < 0.03] = np.nan
            columns[item] = answers
        if aid_column("haq", category):
            columns[aid_column("haq", category)] = (rng.random(n_visits) < 0.2).astype(float)
        columns[help_column("haq", category)] = (rng.random(n_visits) < 0.1).astype(float)
    return pd.DataFrame(columns)


def write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def timed(function, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each path; the best is reported")
    args = parser.parse_args()

    items = synthetic_items(args.visits)
    build_seconds, visits = timed(lambda: core_set_from_items(items, ItemRules()), args.repeat)
    item_columns = [c for c in items.columns if c.startswith(("mmt8_", "haq_"))]
    totals = visits.drop(columns=["mmt_rule", "haq_rule"])
    assert not set(item_columns) & set(totals.columns)
    with tempfile.TemporaryDirectory(prefix="ivig-kit-bench-") as folder:
        items_path, totals_path = Path(folder) / f"items.{args.format}", Path(folder) / f"totals.{args.format}"
        write(items, items_path)
        write(totals, totals_path)
        total_improvement_score(read_core_set(totals_path).head(1000), validate=False)  # warm up imports

        def run(path):
            return total_improvement_score(read_core_set(path), validate=False)

        totals_seconds, from_totals = timed(lambda: run(totals_path), args.repeat)
        items_seconds, from_items = timed(lambda: run(items_path), args.repeat)
    pd.testing.assert_series_equal(from_items["tis"], from_totals["tis"])
    n = len(items)
    print(f"visits                              {n:>12,} ({len(item_columns)} item columns, {args.format})")
    print(f"core set from items alone           {build_seconds:>10.3f} s  {n / build_seconds:>12,.0f} visits/s")
    print(f"totals path: read + validate + TIS  {totals_seconds:>10.3f} s  {n / totals_seconds:>12,.0f} visits/s")
    print(f"items path: read + items + TIS      {items_seconds:>10.3f} s  {n / items_seconds:>12,.0f} visits/s")
    print(f"ratio items / totals                {items_seconds / totals_seconds:>10.2f} x")
    print(f"same TIS on both paths              {from_items['tis'].notna().sum():>12,} complete follow-ups")


if __name__ == "__main__":
    main()
