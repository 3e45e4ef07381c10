"""A reconstructed cohort for the first-line IVIg pilot (Lim et al., Rheumatology 2021).

The pilot's individual patient data are not public. This module builds a *synthetic*
20-patient visit table, deterministic from a seed, that is consistent with what the paper
reports: the subtype mix, patient 2's minimal weakness (MMT 255/260, an effective ceiling),
8/19 with TIS >= 40 by week 9 (at the last assessment; first reached by week 3 in 6, at week 4
in 1, at week 6 in 1), 9 with TIS >= 20 at the end, 3 transient minimal responses, the
amendment rule as stated (every patient after patient 10 with TIS < 40 at week 4 switched; 3
did, one of whom ended early), 7 early ends with rescue medication, every value on its
instrument's grid (HAQ in steps of 1/8), and Table 2's medians and IQRs of the six core set
measures as closely as a pairing search allows. :func:`ivig_kit.trials.pilot.pilot_fidelity_table`
puts every published number next to the reconstructed one. Nothing here is the trial's data.

Construction, in brief: each CSM's 19 baseline values and 19 changes are read off a
piecewise-linear quantile function through the published minimum-free summary (Q1,
median, Q3), so their medians and IQRs match by construction; a seeded search then pairs
changes with patients (stronger changes for intended responders) until the outcome
counts hold exactly and the end-of-study quartiles are closest to Table 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ivig_kit.resources import data_path
from ivig_kit.score.measures import CORE_SET, SCALE_RANGE

DATA_SOURCE = "reconstructed (synthetic) - not the trial's data"
PILOT_MMT_MAX = 260  # Kendall 0-10 in 13 muscle groups on both sides; baseline median 211 rules out 0-80/0-150
CK_ULN = 200.0  # an assumed laboratory upper limit of normal; the paper gives none
DEFAULT_SEED = 2021
RECONSTRUCTED_PATH = data_path("pilot_reconstructed_visits.csv")

#: Table 2 targets (median, Q1, Q3) for baseline, end and change, in the visit-table columns.
#: Read from ``data/published_facts.csv`` by :func:`published_table2_targets`; the fallback
#: order of measures is fixed here.
CSM_COLUMNS = ("physician_global", "patient_global", "mmt", "haq", "ck", "extramuscular")
LIMITS = {
    **{name: (0, scale_range) for name, scale_range in SCALE_RANGE.items()},
    "mmt": (0, PILOT_MMT_MAX),
    "ck": (10, 50_000),
}
#: The step each CSM is recorded in, from the instrument definitions (HAQ: 1/8, the mean of 8 category
#: scores 0-3); CK is a laboratory value in whole U/l.
RESOLUTION = {column: CORE_SET["enzyme" if column == "ck" else column].resolution for column in CSM_COLUMNS}

SUBTYPES = ["DM"] * 8 + ["IMNM"] * 6 + ["NM/OM"] * 4 + ["ASS"]  # the 19 analysed; patient 2 (DM) is added apart
AMENDMENT_FROM_PATIENT = 11  # the amendment came after 10 patients: later patients had a week-4 assessment


@dataclass(frozen=True)
class Course:
    """The intended course of one analysed patient, from the paper's narrative."""

    role: str  # responder_w3 / responder_w4 / responder_w6 / minimal / transient / none
    last_week: int  # 9, or earlier for an early end with rescue medication
    amended: bool = False
    rescue: bool = False


def published_table2_targets() -> pd.DataFrame:
    """Table 2 medians and quartiles of the six CSMs, indexed by (column, timepoint)."""
    from ivig_kit.facts import pilot_table2

    table = pilot_table2()
    table = table[table["measure"].isin(CSM_COLUMNS)]
    return table.set_index(["measure", "timepoint"])[["median", "q1", "q3"]]


def quantile_values(median: float, q1: float, q3: float, n: int, low: float, high: float) -> np.ndarray:
    """``n`` values whose median and linear-interpolation quartiles are the given ones.

    Reads the values off a piecewise-linear quantile function through (0, min), (0.25, Q1),
    (0.5, median), (0.75, Q3), (1, max), with min and max half an IQR-side beyond the
    quartiles and clipped to the instrument's limits.
    """
    minimum = max(low, q1 - (median - q1))
    maximum = min(high, q3 + (q3 - median))
    knots_p = [0, 0.25, 0.5, 0.75, 1]
    knots_v = [min(minimum, q1), q1, median, q3, max(maximum, q3)]
    positions = np.linspace(0, 1, n)
    values = np.interp(positions, knots_p, knots_v)
    # The quartile positions fall between order statistics: put the pair around each quartile
    # symmetrically so that their mean is the quartile exactly, without passing a neighbour.
    for p, target in ((0.25, q1), (0.75, q3)):
        index = p * (n - 1)
        below, above = int(np.floor(index)), int(np.ceil(index))
        if below != above:
            half_gap = (values[above] - values[below]) / 2
            if below > 0:
                half_gap = min(half_gap, (target - values[below - 1]) / 2)
            if above < n - 1:
                half_gap = min(half_gap, (values[above + 1] - target) / 2)
            values[below], values[above] = target - half_gap, target + half_gap
    return values


def intended_courses(rng: np.random.Generator) -> pd.DataFrame:
    """Patient number, subtype and intended course of the 19 analysed patients.

    Roles follow the paper: 6 responders by week 3, 1 by week 4, 1 by week 6, 1 sustained minimal
    response (the 9 with TIS >= 20 at the end); of the 10 others, 3 had a transient minimal response
    after loading, 3 switched to 2 g/kg every 4 weeks and 7 ended early with rescue medication, one
    of them on the amended regimen.

    The amendment (after patient 10) is applied as the paper states it: every later patient assessed
    at week 4 with TIS < 40 moves to the amended regimen, and exactly 3 did. So each of patients 11-20
    is one of the 3 amended, a responder by week 4 (TIS >= 40 at week 4), or a patient who ended
    before week 4 with rescue medication. ``k`` of the 6 week-3 responders (2 <= k <= 6, seeded) are
    among them; the transient responders, the week-6 responder and the sustained minimal responder
    were enrolled before the amendment.
    """
    numbers = [n for n in range(1, 21) if n != 2]
    post = [int(n) for n in rng.permutation([n for n in numbers if n >= AMENDMENT_FROM_PATIENT])]
    pre = [int(n) for n in rng.permutation([n for n in numbers if n < AMENDMENT_FROM_PATIENT])]
    k = int(rng.integers(2, 7))
    amended, week4_responder, post_w3, post_rescue_w3 = post[:3], post[3], post[4 : 4 + k], post[4 + k :]
    pre_w3, (week6_responder, minimal), pre_others = pre[: 6 - k], pre[6 - k : 8 - k], pre[8 - k :]
    roles = {week4_responder: "responder_w4", week6_responder: "responder_w6", minimal: "minimal"}
    roles.update({n: "responder_w3" for n in post_w3 + pre_w3})
    roles.update({n: "transient" for n in pre_others[:3]})
    roles.update({n: "none" for n in pre_others[3:] + amended + post_rescue_w3})
    # 7 early ends: one amended patient, the post-amendment patients who ended at week 3, and k before
    rescue = {amended[0], *post_rescue_w3, *pre_others[:k]}
    rows = []
    for number, subtype in zip(numbers, rng.permutation(SUBTYPES)):
        last_week = 9
        if number in post_rescue_w3:
            last_week = 3
        elif number in rescue:
            last_week = 6 if number in amended or roles[number] == "transient" else int(rng.choice([3, 6]))
        rows.append(
            {
                "patient_number": number,
                "subtype": subtype,
                "role": roles[number],
                "amended": number in amended,
                "rescue": number in rescue,
                "last_week": last_week,
                "week4_visit": number >= AMENDMENT_FROM_PATIENT,
            }
        )
    return pd.DataFrame(rows)


# --- Pairing search ------------------------------------------------------------------

ROLE_STRENGTH = {
    "responder_w3": 3.0,
    "responder_w4": 3.0,
    "responder_w6": 3.0,
    "minimal": 2.0,
    "transient": 1.0,
    "none": 1.0,
}
IMPROVES_UP = {name for name, measure in CORE_SET.items() if measure.improves_by == "increase"}


def _end_tis(baseline: dict, end: dict) -> np.ndarray:
    """TIS of end against baseline for arrays of any shape (CK as the enzyme, relative change)."""
    from ivig_kit.score.engine import score_measure

    shape = baseline["mmt"].shape
    total = np.zeros(shape)
    for column in CSM_COLUMNS:
        measure = "enzyme" if column == "ck" else column
        scale = {"mmt": PILOT_MMT_MAX, "ck": baseline["ck"].ravel()}.get(column, SCALE_RANGE.get(column))
        points = score_measure(measure, baseline[column].ravel(), end[column].ravel(), scale).points
        total += points.reshape(shape)
    return total


def _round(column: str, values: np.ndarray) -> np.ndarray:
    """Values on their instrument's grid (:data:`RESOLUTION`), free of binary noise (0.1 steps print as 0.1)."""
    step = RESOLUTION[column]
    return np.round(np.round(np.asarray(values, dtype=float) / step) * step, 6)


def _pools(targets: pd.DataFrame, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each CSM's n baseline values and n changes, matching Table 2's median and IQR."""
    pools = {}
    for column in CSM_COLUMNS:
        low, high = LIMITS[column]
        base, change = targets.loc[(column, "baseline")], targets.loc[(column, "change")]
        pools[column] = (
            _round(column, quantile_values(base["median"], base["q1"], base["q3"], n, low, high)),
            _round(column, quantile_values(change["median"], change["q1"], change["q3"], n, -(high - low), high - low)),
        )
    return pools


def _pair_tables(column: str, base_pool: np.ndarray, change_pool: np.ndarray):
    """Points, end value and feasibility of every (baseline value, change) pair of one CSM."""
    from ivig_kit.score.engine import score_measure

    base = np.repeat(base_pool[:, None], len(change_pool), axis=1)
    change = np.repeat(change_pool[None, :], len(base_pool), axis=0)
    end = _round(column, base + change)
    measure = "enzyme" if column == "ck" else column
    scale = {"mmt": np.full(base.size, PILOT_MMT_MAX), "ck": base.ravel()}.get(column)
    if scale is None:
        scale = np.full(base.size, SCALE_RANGE[column])
    points = score_measure(measure, base.ravel(), end.ravel(), scale).points.reshape(base.shape)
    low, high = LIMITS[column]
    return points, end, (end >= low) & (end <= high)


class Pairing(NamedTuple):
    """Each CSM's baseline values and changes over the patients, in ``courses`` order (CSM column -> array)."""

    baseline: dict[str, np.ndarray]
    change: dict[str, np.ndarray]


def search_pairing(
    courses: pd.DataFrame, targets: pd.DataFrame, rng: np.random.Generator, steps: int = 20_000
) -> Pairing:
    """Pair each CSM's baseline values and changes with patients by simulated annealing.

    The multisets of baselines and changes are fixed (so Table 2's baseline and change
    quartiles hold by construction); the search moves them between patients until every
    end value is within its instrument's limits, the responders end at TIS >= 40, the
    sustained minimal responder in [20, 40) and the others below 20, and the end-of-study
    quartiles are as close to Table 2 as it can get them (loss in units of published IQR).
    Returns a :class:`Pairing`: baseline and change arrays per CSM over the patients, in ``courses`` order.
    """
    n = len(courses)
    role = courses["role"].to_numpy()
    responders = np.isin(role, ["responder_w3", "responder_w4", "responder_w6"])
    minimal = role == "minimal"
    others = ~responders & ~minimal
    pools = _pools(targets, n)
    tables = {c: _pair_tables(c, *pools[c]) for c in CSM_COLUMNS}
    end_targets = {c: targets.loc[(c, "end")] for c in CSM_COLUMNS}

    # Start from a rank-correlated assignment: the strongest changes to intended responders.
    strength = courses["role"].map(ROLE_STRENGTH).to_numpy() + 0.1 * rng.standard_normal(n)
    patient_rank = np.argsort(-strength)
    base_index, change_index = {}, {}
    for column in CSM_COLUMNS:
        base_pool, change_pool = pools[column]
        best_first = np.argsort(-change_pool) if column in IMPROVES_UP else np.argsort(change_pool)
        change_index[column] = np.empty(n, dtype=int)
        change_index[column][patient_rank] = best_first
        roomy_first = np.argsort(base_pool) if column in IMPROVES_UP else np.argsort(-base_pool)
        base_index[column] = np.empty(n, dtype=int)
        base_index[column][patient_rank] = roomy_first

    def csm_state(column):
        points, end, feasible = tables[column]
        b, d = base_index[column], change_index[column]
        return points[b, d], end[b, d], feasible[b, d]

    positions = np.array([0.25, 0.5, 0.75]) * (n - 1)
    lower, weight = np.floor(positions).astype(int), positions - np.floor(positions)
    upper = np.minimum(lower + 1, n - 1)

    def end_loss(column, end):
        t = end_targets[column]
        ordered = np.sort(end)
        q1, median, q3 = ordered[lower] * (1 - weight) + ordered[upper] * weight  # numpy's linear quantiles
        return (abs(median - t["median"]) + abs(q1 - t["q1"]) + abs(q3 - t["q3"])) / max(t["q3"] - t["q1"], 1e-9)

    def total_loss(points_by_csm, infeasible, losses):
        tis = sum(points_by_csm.values())
        violation = (
            np.clip(40 - tis[responders], 0, None).sum()
            + np.clip(20 - tis[minimal], 0, None).sum()
            + np.clip(tis[minimal] - 37.5, 0, None).sum()
            + np.clip(tis[others] - 17.5, 0, None).sum()
        )
        return 100.0 * violation + 1000.0 * infeasible + sum(losses.values())

    points, infeasible_count, losses = {}, {}, {}
    for column in CSM_COLUMNS:
        p, e, f = csm_state(column)
        points[column], infeasible_count[column], losses[column] = p, int((~f).sum()), end_loss(column, e)
    current = total_loss(points, sum(infeasible_count.values()), losses)
    temperatures = np.geomspace(5.0, 0.005, steps)
    for temperature in temperatures:
        column = CSM_COLUMNS[rng.integers(len(CSM_COLUMNS))]
        which = base_index if rng.random() < 0.4 else change_index
        i, j = rng.integers(n), rng.integers(n - 1)
        j += j >= i
        which[column][[i, j]] = which[column][[j, i]]
        p, e, f = csm_state(column)
        saved = points[column], infeasible_count[column], losses[column]
        points[column], infeasible_count[column], losses[column] = p, int((~f).sum()), end_loss(column, e)
        candidate = total_loss(points, sum(infeasible_count.values()), losses)
        if candidate <= current or rng.random() < np.exp((current - candidate) / temperature):
            current = candidate
        else:
            which[column][[i, j]] = which[column][[j, i]]
            points[column], infeasible_count[column], losses[column] = saved
    if current >= 100.0 * 2.5:  # any remaining violation is at least one 2.5-point band
        raise RuntimeError(f"no pairing met the published outcome counts (loss {current:.1f})")
    baseline = {c: pools[c][0][base_index[c]] for c in CSM_COLUMNS}
    change = {c: tables[c][1][base_index[c], change_index[c]] - baseline[c] for c in CSM_COLUMNS}
    return Pairing(baseline, change)


# --- Visits ----------------------------------------------------------------------------


def _visit_values(baseline: dict, change: dict, fraction: float) -> dict:
    return {c: _round(c, baseline[c] + fraction * change[c]) for c in CSM_COLUMNS}


def _tis_of(baseline: dict, values: dict) -> float:
    as_arrays = {c: np.atleast_1d(np.asarray(v, dtype=float)) for c, v in baseline.items()}
    return float(_end_tis(as_arrays, {c: np.atleast_1d(np.asarray(v, dtype=float)) for c, v in values.items()})[0])


def _largest_fraction_below(baseline: dict, change: dict, threshold: float) -> float:
    """The largest share of the end change (on a 0.05 grid) whose TIS stays below ``threshold``."""
    for percent in range(95, 0, -5):
        if _tis_of(baseline, _visit_values(baseline, change, percent / 100)) < threshold:
            return percent / 100
    return 0.0


def _transient_values(baseline: dict, change_pools: dict) -> dict:
    """Week-3 values of a transient responder: a minimal improvement (TIS 20-37.5) after loading."""
    for scale in (step / 20 for step in range(6, 41)):
        values = {}
        for column in CSM_COLUMNS:
            low, high = LIMITS[column]
            pool = change_pools[column]
            typical_gain = np.quantile(pool, 0.75 if column in IMPROVES_UP else 0.25)
            values[column] = float(_round(column, np.clip(baseline[column] + scale * typical_gain, low, high)))
        if 20 <= _tis_of(baseline, values) < 40:
            return values
    raise RuntimeError("no transient improvement found")


def _patient_rows(number: int, subtype: str, weeks_and_values, **extra) -> list[dict]:
    return [
        {
            "site": "pilot",
            "patient_id": f"{number:02d}",
            "week": week,
            **values,
            "mmt_max": PILOT_MMT_MAX,
            "ck_uln": CK_ULN,
            "subtype": subtype,
            **extra,
            "data_source": DATA_SOURCE,
        }
        for week, values in weeks_and_values
    ]


def reconstruct_pilot_cohort(seed: int = DEFAULT_SEED, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reconstructed 20-patient pilot visit table (synthetic; see the module docstring)."""
    rng = np.random.default_rng(seed)
    targets = published_table2_targets() if targets is None else targets
    courses = intended_courses(rng)
    baseline, change = search_pairing(courses, targets, rng)
    change_pools = {c: _pools(targets, len(courses))[c][1] for c in CSM_COLUMNS}
    rows = []
    for index, course in enumerate(courses.itertuples(index=False)):
        base = {c: float(baseline[c][index]) for c in CSM_COLUMNS}
        delta = {c: float(change[c][index]) for c in CSM_COLUMNS}
        weeks = [w for w in (3, 4, 6, 9) if w <= course.last_week and (w != 4 or course.week4_visit)]
        fractions = {w: min(1.0, w / course.last_week) for w in weeks}  # steady course by default
        if course.role in ("responder_w3", "minimal"):
            fractions = {w: 1.0 for w in weeks}
        elif course.role == "responder_w4":
            early = _largest_fraction_below(base, delta, 40)
            fractions = {w: (early if w < 4 else 1.0) for w in weeks}
        elif course.role == "responder_w6":
            early = _largest_fraction_below(base, delta, 40)
            fractions = {w: (early * (0.8 if w == 3 else 1.0) if w < 6 else 1.0) for w in weeks}
        visits = [(0, base)]
        for week in weeks:
            if course.role == "transient" and week == 3:
                visits.append((week, _transient_values(base, change_pools)))
            else:
                visits.append((week, _visit_values(base, delta, fractions[week])))
        regimen = "amended: 2 g/kg every 4 weeks from week 4" if course.amended else "standard"
        rows += _patient_rows(
            course.patient_number,
            course.subtype,
            visits,
            analysed=True,
            excluded_reason="",
            regimen=regimen,
            ended_early_with_rescue=course.rescue,
        )
    rows += _patient_rows(
        2,
        "DM",
        _patient_two_visits(),
        analysed=False,
        excluded_reason="minimal weakness: MMT at an effective ceiling at baseline",
        regimen="standard",
        ended_early_with_rescue=False,
    )
    visits = (
        pd.DataFrame(rows)
        .sort_values(["patient_id", "week"], key=lambda s: s.astype(str).str.zfill(3) if s.name == "patient_id" else s)
        .reset_index(drop=True)
    )
    return visits[
        [
            "site",
            "patient_id",
            "week",
            "physician_global",
            "patient_global",
            "extramuscular",
            "haq",
            "mmt",
            "mmt_max",
            "ck",
            "ck_uln",
            "subtype",
            "analysed",
            "excluded_reason",
            "regimen",
            "ended_early_with_rescue",
            "data_source",
        ]
    ]


def effective_mmt_ceiling(mmt_max: int = PILOT_MMT_MAX) -> int:
    """The lowest whole MMT score from which no improvement can earn MMT points (a ceiling effect)."""
    from ivig_kit.score.engine import effective_mmt_ceiling as ceiling

    return int(ceiling(mmt_max))


def _patient_two_visits():
    """Patient 2 (DM): minimal weakness (the paper), MMT 255/260, from where even full strength adds at most
    5/260 = 1.9% (no MMT points): an effective ceiling, so the paper excluded the patient."""
    ceiling = effective_mmt_ceiling()
    baseline = {
        "physician_global": 4.0,
        "patient_global": 6.0,
        "extramuscular": 2.0,
        "haq": 1.5,
        "mmt": float(ceiling),
        "ck": 2500.0,
    }
    end = {
        "physician_global": 3.0,
        "patient_global": 4.5,
        "extramuscular": 1.5,
        "haq": 1.25,
        "mmt": float(min(ceiling + 3, PILOT_MMT_MAX)),
        "ck": 1500.0,
    }
    middle = {c: float(_round(c, (baseline[c] + end[c]) / 2)) for c in CSM_COLUMNS}
    return [(0, baseline), (3, middle), (6, end), (9, end)]


def write_reconstructed_cohort(path: Path = RECONSTRUCTED_PATH, seed: int = DEFAULT_SEED) -> Path:
    """Regenerate ``data/pilot_reconstructed_visits.csv`` from the seed."""
    reconstruct_pilot_cohort(seed).to_csv(path, index=False)
    return path


def read_reconstructed_cohort(path: Path = RECONSTRUCTED_PATH) -> pd.DataFrame:
    """The committed reconstructed cohort, validated as a visit table."""
    from ivig_kit.score.visits import read_visits

    visits = read_visits(path)
    for flag in ("analysed", "ended_early_with_rescue"):  # pass-through columns arrive as text
        visits[flag] = visits[flag].map({"True": True, "False": False, True: True, False: False}).astype(bool)
    return visits
