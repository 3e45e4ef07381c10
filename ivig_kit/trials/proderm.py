"""Reanalysis of ProDERM (Aggarwal et al., N Engl J Med 2022) from its published aggregates.

The kit has no patient-level ProDERM data: everything here starts from the counts, percentages
and means in ``data/published_facts.csv`` (read through :mod:`ivig_kit.trials`), and nothing is
reconstructed into patients. Counts the paper does not print (the secondary endpoints) are
derived from the printed percentages and arm sizes, checked to be unique, and labelled derived.
The sponsor's p value is :mod:`.sponsor_p_value`, the thromboembolic events :mod:`.thromboembolism`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from ivig_kit.facts import published_count, published_fact, published_value
from ivig_kit.inference.exact import (
    EXACT_UNCONDITIONAL_METHODS,
    exact_unconditional_interval,
)
from ivig_kit.inference.printed import (
    counts_matching_percent,
    printed_decimals,
    round_half_up,
)
from ivig_kit.inference.two_arm import (
    RISK_DIFFERENCE_METHODS,
    TwoArmCounts,
    risk_difference,
    risk_difference_interval,
)
from ivig_kit.score.measures import CATEGORY_THRESHOLDS

TRIAL = "proderm"
ARMS = ("IVIg", "placebo")
MINIMAL, MODERATE, MAJOR = CATEGORY_THRESHOLDS["adult"]
ENDPOINTS = {
    "primary": f"TIS >= {MINIMAL:g} and no confirmed deterioration",
    "tis40": f"TIS >= {MODERATE:g}",
    "tis60": f"TIS >= {MAJOR:g}",
}
# Protocol design (trials.md), not results: the weeks at which the endpoints were read.
PRIMARY_WEEK = 16
PILOT_PRIMARY_WEEK = 9
NO_PATIENT_DATA = "Published aggregates only: the kit has no patient-level ProDERM data"


def fact_value(key: str) -> float:
    """A published ProDERM number (``data/published_facts.csv``) by its key."""
    return published_value(TRIAL, key)


def fact_count(key: str) -> int:
    """A published ProDERM count by its key."""
    return published_count(TRIAL, key)


def fact_decimals(key: str) -> int:
    """Decimals of a ProDERM number as printed."""
    return printed_decimals(published_fact(TRIAL, key)["printed"])


class ArmSizes(NamedTuple):
    """Randomised patients per arm."""

    ivig: int
    placebo: int


def arm_sizes() -> ArmSizes:
    """Randomised patients per arm (IVIg, placebo): the denominators of every efficacy endpoint."""
    return ArmSizes(fact_count("primary_ivig_n"), fact_count("primary_placebo_n"))


# --- counts ---


def derived_secondary_counts() -> pd.DataFrame:
    """Counts behind the printed TIS >= 40 and TIS >= 60 percentages (derived, not published).

    For each endpoint and arm: every count k with round_half_up(100 k / n) equal to the printed
    percent (``candidates``), whether it is ``unique``, and the ``count`` when it is. Then the
    derived difference is checked against the printed difference.
    """
    sizes = dict(zip(ARMS, arm_sizes()))
    rows = []
    for endpoint in ("tis40", "tis60"):
        for arm, arm_key in zip(ARMS, ("ivig", "placebo")):
            key = f"{endpoint}_{arm_key}_percent"
            percent = fact_value(key)
            decimals = fact_decimals(key)
            candidates = counts_matching_percent(percent, sizes[arm], decimals=decimals)
            rows.append(
                {
                    "endpoint": endpoint,
                    "definition": ENDPOINTS[endpoint],
                    "arm": arm,
                    "printed_percent": percent,
                    "n": sizes[arm],
                    "candidates": candidates,
                    "unique": len(candidates) == 1,
                    "count": candidates[0] if len(candidates) == 1 else np.nan,
                    "kind": "derived",
                }
            )
    table = pd.DataFrame(rows)
    table["count"] = table["count"].astype("Int64")
    return table


def derived_difference_check() -> pd.DataFrame:
    """Do the derived counts give the printed risk differences? endpoint, difference (pp), rounded, printed."""
    rows = []
    for endpoint, x1, n1, x2, n2, kind in endpoint_counts().itertuples(index=False):
        difference = 100 * risk_difference(x1, n1, x2, n2)
        printed = fact_value(f"{endpoint}_difference")
        decimals = fact_decimals(f"{endpoint}_difference")
        rounded = rounded_half_up(difference, decimals)
        rows.append(
            {
                "endpoint": endpoint,
                "counts": kind,
                "difference_pp": difference,
                "rounded": rounded,
                "printed": printed,
                "matches": rounded == printed,
            }
        )
    return pd.DataFrame(rows)


def endpoint_counts() -> pd.DataFrame:
    """Responders per arm of the three TIS endpoints: endpoint, x1, n1 (IVIg), x2, n2 (placebo), counts.

    ``counts`` says where they come from: "published" (primary) or "derived" (unique derivation
    from printed percentages). Raises if a derivation is not unique.
    """
    n1, n2 = arm_sizes()
    rows = [
        (
            "primary",
            fact_count("primary_ivig_responders"),
            n1,
            fact_count("primary_placebo_responders"),
            n2,
            "published",
        )
    ]
    derived = derived_secondary_counts()
    if not derived["unique"].all():
        ambiguous = derived.loc[~derived["unique"], ["endpoint", "arm", "candidates"]].to_dict("records")
        raise ValueError(f"the printed percentages do not pin a unique count: {ambiguous}")
    for endpoint, group in derived.groupby("endpoint", sort=False):
        counts = group.set_index("arm")["count"]
        rows.append((endpoint, int(counts["IVIg"]), n1, int(counts["placebo"]), n2, "derived"))
    return pd.DataFrame(rows, columns=["endpoint", "x1", "n1", "x2", "n2", "counts"])


def primary_table() -> pd.DataFrame:
    """The primary endpoint as a 2x2 table (rows IVIg, placebo, total; columns responders, non-responders, total)."""
    x1, n1, x2, n2 = primary_counts()
    table = pd.DataFrame(
        {"responders": [x1, x2], "non-responders": [n1 - x1, n2 - x2]}, index=pd.Index(ARMS, name="arm")
    )
    table.loc["total"] = table.sum()
    table["total"] = table.sum(axis=1)
    table["responders, %"] = (100 * table["responders"] / table["total"]).round(1)
    return table


def primary_counts() -> TwoArmCounts:
    """Primary endpoint responders and arm sizes: (x1, n1) IVIg, (x2, n2) placebo (published)."""
    n1, n2 = arm_sizes()
    return TwoArmCounts(fact_count("primary_ivig_responders"), n1, fact_count("primary_placebo_responders"), n2)


# --- intervals against the published ones ---

PUBLISHED_INTERVALS = {  # reference -> (endpoint, key of the difference, keys of the limits)
    "NEJM, primary": ("primary", "primary_difference", "primary_ci_low", "primary_ci_high"),
    "sponsor website, primary": (
        "primary",
        "primary_label_difference",
        "primary_label_ci_low",
        "primary_label_ci_high",
    ),
    "NEJM, TIS >= 40": ("tis40", "tis40_difference", "tis40_ci_low", "tis40_ci_high"),
    "NEJM, TIS >= 60": ("tis60", "tis60_difference", "tis60_ci_low", "tis60_ci_high"),
}


def rounded_half_up(value: float, decimals: int) -> float:
    """``value`` rounded half up to ``decimals``, as the papers print it."""
    return float(round_half_up(float(value), decimals))


def endpoint_intervals(confidence: float = 0.95, methods=tuple(RISK_DIFFERENCE_METHODS)) -> pd.DataFrame:
    """Each published risk-difference interval against every method, in percentage points.

    One row per (published interval, method): the kit's estimate and limits, the same rounded half
    up to the decimals the source printed, the published numbers, and ``reproduces`` (estimate and
    both limits equal at the published precision).
    """
    counts = endpoint_counts().set_index("endpoint")
    rows = []
    for reference, (endpoint, difference_key, low_key, high_key) in PUBLISHED_INTERVALS.items():
        x1, n1, x2, n2, kind = counts.loc[endpoint]
        decimals = max(fact_decimals(k) for k in (difference_key, low_key, high_key))
        estimate = 100 * risk_difference(x1, n1, x2, n2)
        for method in methods:
            low, high = (100 * v for v in risk_difference_interval(x1, n1, x2, n2, method, confidence))
            row = {
                "reference": reference,
                "endpoint": endpoint,
                "counts": kind,
                "method": method,
                "estimate": estimate,
                "low": low,
                "high": high,
                "decimals": decimals,
                "estimate_rounded": rounded_half_up(estimate, decimals),
                "low_rounded": rounded_half_up(low, decimals),
                "high_rounded": rounded_half_up(high, decimals),
                "published_estimate": fact_value(difference_key),
                "published_low": fact_value(low_key),
                "published_high": fact_value(high_key),
            }
            row["reproduces"] = (row["estimate_rounded"], row["low_rounded"], row["high_rounded"]) == (
                row["published_estimate"],
                row["published_low"],
                row["published_high"],
            )
            rows.append(row)
    return pd.DataFrame(rows)


def reproducing_methods(intervals: pd.DataFrame | None = None) -> pd.Series:
    """For each published interval, the methods that reproduce it at its printed precision."""
    intervals = endpoint_intervals() if intervals is None else intervals
    return (
        intervals[intervals["reproduces"]]
        .groupby("reference", sort=False)["method"]
        .agg(list)
        .reindex(list(PUBLISHED_INTERVALS))
        .apply(lambda m: m if isinstance(m, list) else [])
    )


def reproduction_summary(intervals: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per published interval: as printed, then each method's interval at the same precision,
    marked "= published" where it reproduces estimate and both limits."""
    intervals = endpoint_intervals() if intervals is None else intervals

    def text(estimate, low, high, decimals):
        return f"{estimate:.{decimals}f} ({low:.{decimals}f}, {high:.{decimals}f})"

    rows = {}
    for reference, group in intervals.groupby("reference", sort=False):
        first = group.iloc[0]
        decimals = int(first["decimals"])
        row = {
            "published": text(first["published_estimate"], first["published_low"], first["published_high"], decimals),
            "counts": first["counts"],
        }
        for item in group.itertuples():
            row[item.method] = text(item.estimate_rounded, item.low_rounded, item.high_rounded, decimals) + (
                " = published" if item.reproduces else ""
            )
        rows[reference] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def exact_and_asymptotic_intervals(confidence: float = 0.95) -> pd.DataFrame:
    """The primary risk difference (percentage points) by asymptotic and exact unconditional methods."""
    x1, n1, x2, n2 = primary_counts()
    rows = []
    for method in ("wald", "newcombe", "score"):
        low, high = risk_difference_interval(x1, n1, x2, n2, method, confidence)
        rows.append({"method": RISK_DIFFERENCE_METHODS[method][0], "kind": "asymptotic", "low": low, "high": high})
    for method, (label, reference) in EXACT_UNCONDITIONAL_METHODS.items():
        low, high = exact_unconditional_interval(x1, n1, x2, n2, method, confidence)
        rows.append({"method": f"{label} [{reference}]", "kind": "exact unconditional", "low": low, "high": high})
    table = pd.DataFrame(rows)
    table[["low", "high"]] *= 100
    table["width"] = table["high"] - table["low"]
    return table


def estimand_scenarios() -> pd.DataFrame:
    """The primary difference under the published composite and under hypothetical other handlings of the
    intercurrent events (switching after confirmed deterioration, not completing the first period).

    The composite counts every patient with confirmed deterioration (so every placebo switcher) as a
    non-responder, and the denominators are all randomised patients. The other rows are *hypothetical*
    extremes against IVIg, to show how far the estimand choice could move the difference.
    """
    x1, n1, x2, n2 = primary_counts()
    switched = fact_count("placebo_switched_early")
    not_completed = n2 - fact_count("completed_first_period_placebo")
    rows = [
        ("published composite: deterioration = non-response, all randomised", x2),
        (f"hypothetical: the {not_completed} placebo non-completers as responders", x2 + not_completed),
        (
            f"hypothetical: the {switched} placebo switchers as responders (treatment policy, best case for placebo)",
            x2 + switched,
        ),
        ("hypothetical: both", x2 + switched + not_completed),
    ]
    table = []
    for scenario, placebo_responders in rows:
        low, high = risk_difference_interval(x1, n1, placebo_responders, n2, "newcombe")
        table.append(
            {
                "scenario": scenario,
                "IVIg": f"{x1}/{n1}",
                "placebo": f"{placebo_responders}/{n2}",
                "difference": 100 * risk_difference(x1, n1, placebo_responders, n2),
                "newcombe_low": 100 * low,
                "newcombe_high": 100 * high,
            }
        )
    return pd.DataFrame(table)


def mean_tis_over_time() -> pd.DataFrame:
    """Published mean TIS by week and sequence (IVIg first; placebo then IVIg), with SD where printed."""
    rows = []
    for key, sequence in (
        ("mean_tis_w16_ivig", "IVIg first"),
        ("mean_tis_w16_placebo", "placebo then IVIg"),
        ("mean_tis_w28_ivig_first", "IVIg first"),
        ("mean_tis_w40_ivig_first", "IVIg first"),
        ("mean_tis_w28_switched", "placebo then IVIg"),
        ("mean_tis_w40_switched", "placebo then IVIg"),
    ):
        week = int(re.search(r"_w(\d+)_", key).group(1))
        sd_key = key.replace("mean_", "sd_")
        try:
            sd = fact_value(sd_key)
        except KeyError:
            sd = np.nan
        blinded = week <= PRIMARY_WEEK
        rows.append(
            {
                "sequence": sequence,
                "week": week,
                "mean_tis": fact_value(key),
                "sd": sd,
                "period": "double-blind" if blinded else "open-label extension",
                "treatment_so_far": ("IVIg" if sequence == "IVIg first" else "placebo")
                if blinded
                else ("IVIg" if sequence == "IVIg first" else f"IVIg since week {PRIMARY_WEEK}"),
                "key": key,
            }
        )
    return pd.DataFrame(rows).sort_values(["sequence", "week"], ignore_index=True)


def extension_responder_candidates() -> pd.DataFrame:
    """Which (responders, denominator) fit the printed week-40 responder percentages?

    The denominators at week 40 are not printed; any n up to the patients who completed the first
    period in that sequence is tried. More than one pair fits, so these counts stay unknown.
    """
    rows = []
    for key, sequence, completed_key in (
        ("responders_w40_ivig_first_percent", "IVIg first", "completed_first_period_ivig"),
        ("responders_w40_switched_percent", "placebo then IVIg", "completed_first_period_placebo"),
    ):
        percent, decimals = fact_value(key), fact_decimals(key)
        for n in range(1, fact_count(completed_key) + 1):
            for k in counts_matching_percent(percent, n, decimals=decimals):
                rows.append({"sequence": sequence, "printed_percent": percent, "responders": k, "n": n})
    return pd.DataFrame(rows)


# --- the pilot beside ProDERM ---


def pilot_vs_proderm_table() -> pd.DataFrame:
    """Populations, regimens, endpoints and results of the two trials side by side (published numbers)."""

    def pilot(key):
        return (
            int(published_value("pilot", key))
            if published_value("pilot", key).is_integer()
            else published_value("pilot", key)
        )

    n1, n2 = arm_sizes()
    x1, _, x2, _ = primary_counts()
    subtypes = ", ".join(
        f"{label} {pilot('subtype_' + key)}"
        for key, label in (("dm", "DM"), ("imnm", "IMNM"), ("nm_om", "NM/overlap"), ("ass", "ASS"))
    )
    tis40 = endpoint_counts().set_index("endpoint").loc["tis40"]
    rows = {
        "design": (
            "phase 2, open label, single arm",
            "phase 3, randomised 1:1, double-blind, placebo-controlled; then open-label IVIg for all",
        ),
        "patients": (
            f"{pilot('included_n')} included, {pilot('analysed_n')} analysed",
            f"{fact_count('n_randomised')} randomised ({n1} IVIg, {n2} placebo) at {fact_count('n_sites')} sites",
        ),
        "population": (
            f"newly diagnosed IIM, IVIg first line: {subtypes}",
            "adults with definite or probable dermatomyositis and active disease (MMT-8 below the entry "
            "cut-off and at least two other abnormal core set measures), on or after standard therapy",
        ),
        "IVIg regimen": (
            f"{pilot('loading_dose_g_per_kg')} g/kg loading, then {pilot('maintenance_dose_g_per_kg')} "
            f"g/kg at weeks 3 and 6 ({pilot('amended_regimen')} patients moved to "
            f"{pilot('loading_dose_g_per_kg')} g/kg every 4 weeks)",
            f"{fact_value('dose_g_per_kg'):g} g/kg every {fact_count('interval_weeks')} weeks",
        ),
        "control": ("none", "placebo (crossover to IVIg after deterioration or at week 16)"),
        "primary endpoint": (
            f"TIS >= {MODERATE:g} (moderate) by week {PILOT_PRIMARY_WEEK}: at the last assessment "
            "(week 9 or the premature end)",
            f"TIS >= {MINIMAL:g} (minimal) at week {PRIMARY_WEEK} and no confirmed deterioration",
        ),
        "primary result": (
            f"{pilot('primary_responders')}/{pilot('analysed_n')} "
            f"({100 * pilot('primary_responders') / pilot('analysed_n'):.0f}%)",
            f"IVIg {x1}/{n1} ({100 * x1 / n1:.0f}%) vs placebo {x2}/{n2} ({100 * x2 / n2:.0f}%)",
        ),
        f"TIS >= {MODERATE:g}": (
            f"{pilot('primary_responders')}/{pilot('analysed_n')} at the last assessment "
            f"(week {PILOT_PRIMARY_WEEK} or the premature end)",
            f"IVIg {tis40['x1']}/{n1} vs placebo {tis40['x2']}/{n2} at week {PRIMARY_WEEK} (derived counts)",
        ),
        f"TIS >= {MINIMAL:g}": (
            f"{pilot('tis20_by_week9')}/{pilot('analysed_n')} at the last assessment "
            f"(week {PILOT_PRIMARY_WEEK} or the premature end)",
            f"IVIg {x1}/{n1} vs placebo {x2}/{n2} (with no confirmed deterioration)",
        ),
        "thromboembolism": (
            f"{pilot('pulmonary_embolisms')} pulmonary embolism (patient with ovarian cancer found during the study)",
            f"{fact_count('safety_thromboembolic_patients')} patients, "
            f"{fact_count('safety_thromboembolic_events')} events in "
            f"{fact_count('safety_infusion_cycles')} infusion cycles",
        ),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["pilot (Lim 2021)", "ProDERM (Aggarwal 2022)"])
