"""Thromboembolic events with IVIg in the two trials, from published counts: the rates with exact
intervals, and a news piece's claim checked against the safety paper.
"""

from __future__ import annotations

import pandas as pd

from ivig_kit.facts import published_fact, published_value
from ivig_kit.inference.proportions import clopper_pearson_interval
from ivig_kit.trials.proderm import TRIAL, fact_count


def thromboembolic_claim_check() -> pd.DataFrame:
    """The news piece's "six of the 47 IVIG patients" against the safety paper's 6 of 95 (percent)."""
    patients = fact_count("safety_thromboembolic_patients")
    rows = [
        (
            "news piece",
            fact_count("news_thromboembolic_patients"),
            fact_count("news_thromboembolic_denominator"),
            published_fact(TRIAL, "news_thromboembolic_denominator")["printed"],
            "wrong denominator",
        ),
        (
            "safety paper (Arthritis Res Ther 2024), all IVIg exposure",
            patients,
            fact_count("safety_ivig_exposed_n"),
            f"{patients} of {fact_count('safety_ivig_exposed_n')} patients exposed to IVIg",
            "source",
        ),
    ]
    table = pd.DataFrame(rows, columns=["source", "patients", "denominator", "as printed", "verdict"])
    table["percent"] = 100 * table["patients"] / table["denominator"]
    return table


def thromboembolic_rates(confidence: float = 0.95) -> pd.DataFrame:
    """Thromboembolic events per patient and per infusion with exact (Clopper-Pearson) intervals, in %.

    Per infusion treats the 664 cycles as independent trials with at most one event each: events
    cluster in patients, so that interval is too narrow; it is a rate, not a per-patient risk.
    """
    exposed, cycles = fact_count("safety_ivig_exposed_n"), fact_count("safety_infusion_cycles")
    rows = [
        (
            "ProDERM, all IVIg exposure",
            "patients with an event",
            fact_count("safety_thromboembolic_patients"),
            exposed,
            "patients",
        ),
        (
            "ProDERM, all IVIg exposure",
            "events per infusion cycle",
            fact_count("safety_thromboembolic_events"),
            cycles,
            "infusion cycles",
        ),
        (
            "ProDERM, all IVIg exposure",
            "patients with a related event",
            fact_count("safety_thromboembolic_related_patients"),
            exposed,
            "patients",
        ),
        (
            "ProDERM, all IVIg exposure",
            "related events per infusion cycle",
            fact_count("safety_thromboembolic_related_events"),
            cycles,
            "infusion cycles",
        ),
        (
            "ProDERM, first period, IVIg",
            "patients with an event",
            fact_count("safety_first_period_te_patients_ivig"),
            fact_count("safety_first_period_ivig_n"),
            "patients",
        ),
        (
            "ProDERM, first period, placebo",
            "patients with an event",
            fact_count("safety_first_period_te_patients_placebo"),
            fact_count("safety_first_period_placebo_n"),
            "patients",
        ),
        (
            "pilot, all included",
            "patients with a pulmonary embolism",
            int(published_value("pilot", "pulmonary_embolisms")),
            int(published_value("pilot", "included_n")),
            "patients",
        ),
    ]
    table = pd.DataFrame(rows, columns=["population", "quantity", "events", "denominator", "per"])
    intervals = [clopper_pearson_interval(k, n, confidence) for k, n in zip(table["events"], table["denominator"])]
    table["percent"] = 100 * table["events"] / table["denominator"]
    table["low"] = [100 * interval.low for interval in intervals]
    table["high"] = [100 * interval.high for interval in intervals]
    return table
