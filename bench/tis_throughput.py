"""Throughput of the vectorised TIS engine against a straightforward row-by-row scorer.

Targets on a 2-core machine: >= 1,000,000 visits/s, >= 50x the row-by-row scorer, < 1.5 GB peak.

Scores 1,000,000 synthetic visits (200,000 patients x 5 visits) with
``total_improvement_score`` and times a plain Python loop over rows on a sample, in the
same process, then prints visits per second, the ratio and peak memory.

    python bench/tis_throughput.py [--visits 1000000] [--sample 20000]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from decimal import Decimal

import numpy as np
import pandas as pd

from ivig_kit.score import CORE_SET, SCALE_RANGE, category, total_improvement_score
from ivig_kit.score.visits import validate_visits

VISITS_PER_PATIENT = 5


def synthetic_visits(n_visits: int, seed: int = 2016) -> pd.DataFrame:
    """Random visits on realistic scales, one decimal place, 5 per patient; marked synthetic."""
    rng = np.random.default_rng(seed)
    n_patients = n_visits // VISITS_PER_PATIENT
    patient = np.repeat(np.arange(n_patients), VISITS_PER_PATIENT)
    mmt_max = rng.choice([80, 150, 260], n_patients)[patient]
    return pd.DataFrame(
        {
            "site": np.char.add("S", (patient % 24).astype(str)),
            "patient_id": np.char.zfill(patient.astype(str), 6),
            "week": np.tile(np.arange(VISITS_PER_PATIENT) * 4, n_patients).astype(float),
            "physician_global": rng.integers(0, 101, n_visits) / 10,
            "patient_global": rng.integers(0, 101, n_visits) / 10,
            "extramuscular": rng.integers(0, 101, n_visits) / 10,
            "haq": rng.integers(0, 25, n_visits) / 8,
            "mmt": np.floor(rng.uniform(0.4, 1.0, n_visits) * mmt_max),
            "mmt_max": mmt_max.astype(float),
            "ck": rng.integers(20, 20000, n_visits).astype(float),
            "ck_uln": 200.0,
            "aldolase": rng.integers(20, 300, n_visits) / 10,
            "aldolase_uln": 7.6,
        }
    )


def row_by_row_tis(visits: pd.DataFrame) -> dict[tuple, float]:
    """The straightforward scorer: loop over rows, exact decimals, band lookup per CSM."""
    baseline = {}
    totals = {}
    for row in visits.sort_values(["site", "patient_id", "week"]).itertuples(index=False):
        key = (row.site, row.patient_id)
        if key not in baseline:
            ratios = {"ck": row.ck / row.ck_uln, "aldolase": row.aldolase / row.aldolase_uln}
            baseline[key] = (row, max(ratios, key=ratios.get))
            continue
        base, enzyme = baseline[key]
        total = 0.0
        for measure, spec in CORE_SET.items():
            name = enzyme if measure == "enzyme" else measure
            before, after = Decimal(repr(getattr(base, name))), Decimal(repr(getattr(row, name)))
            scale = {"mmt": Decimal(repr(base.mmt_max)), "enzyme": before}.get(
                measure, Decimal(repr(SCALE_RANGE.get(measure, 1)))
            )
            change = after - before if spec.improves_by == "increase" else before - after
            percent = change * 100 / scale
            total += spec.band_points[sum(percent > edge for edge in spec.band_edges_percent)]
        totals[(row.site, row.patient_id, row.week)] = total
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="visits scored by the row-by-row loop")
    parser.add_argument("--repeat", type=int, default=3, help="timed engine runs; the best is reported")
    args = parser.parse_args()

    visits = synthetic_visits(args.visits)
    total_improvement_score(visits.head(1000), validate=False)  # warm up imports and caches

    engine_seconds = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        scores = total_improvement_score(visits, validate=False)
        engine_seconds = min(engine_seconds, time.perf_counter() - start)
    del scores
    tracemalloc.start()  # a separate run: tracing slows allocation down several-fold
    scores = total_improvement_score(visits, validate=False)
    _, engine_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    start = time.perf_counter()
    validate_visits(visits)
    validate_seconds = time.perf_counter() - start

    sample = visits.head(args.sample)
    start = time.perf_counter()
    looped = row_by_row_tis(sample)
    loop_seconds = time.perf_counter() - start
    vectorised_scores = total_improvement_score(sample, validate=False)
    vectorised = dict(
        zip(
            zip(vectorised_scores["site"], vectorised_scores["patient_id"], vectorised_scores["week"]),
            vectorised_scores["tis"],
        )
    )
    assert looped == vectorised, "row-by-row and vectorised scorers disagree"

    engine_rate = len(visits) / engine_seconds
    loop_rate = len(sample) / loop_seconds
    print(f"visits scored                 {len(visits):>12,} ({len(scores):,} follow-up rows)")
    print(f"vectorised engine, best of {args.repeat}   {engine_seconds:>12.3f} s  {engine_rate:>12,.0f} visits/s")
    print(
        f"validation (vectorised), once {validate_seconds:>12.3f} s  {len(visits) / validate_seconds:>12,.0f} visits/s"
    )
    print(
        f"engine + validation           {engine_seconds + validate_seconds:>12.3f} s  "
        f"{len(visits) / (engine_seconds + validate_seconds):>12,.0f} visits/s"
    )
    print(f"row-by-row loop ({len(sample):,} visits) {loop_seconds:>8.3f} s  {loop_rate:>12,.0f} visits/s")
    print(f"ratio engine / row-by-row     {engine_rate / loop_rate:>12.1f} x")
    print(f"peak memory allocated while scoring {engine_peak / 2**20:>6.0f} MiB (tracemalloc)")
    print(f"peak RSS of the process       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:>12.0f} MiB")
    print(f"categories                    {dict(pd.Series(category(scores['tis'])).value_counts())}")


if __name__ == "__main__":
    main()
