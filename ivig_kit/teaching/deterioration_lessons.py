"""The confirmed-deterioration lessons of the TIS notebook: a synthetic patient who worsens, the worsening
the ProDERM definition looks at, the two readings of "worse by 30%" and a visit with a measure missing.

Everything computes through :mod:`ivig_kit.score`; every patient here is synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.score.deterioration import (
    DETERIORATION_ANY_THREE_PERCENT,
    DETERIORATION_MMT_PERCENT,
    DETERIORATION_VAS_CM,
    READING_LABELS,
    DeteriorationReading,
)
from ivig_kit.score.engine import absolute_percent_improvement, relative_percent_improvement, total_improvement_score
from ivig_kit.score.measures import CORE_SET

DETERIORATION_LABEL = "synthetic teaching patient (deterioration)"


def deterioration_example() -> pd.DataFrame:
    """A synthetic patient on MMT-8 both sides (0-150) who worsens at weeks 4 and 8, then recovers."""
    base = {
        "site": "teaching",
        "patient_id": "synthetic",
        "patient_global": 4.0,
        "extramuscular": 1.0,
        "haq": 1.0,
        "mmt_max": 150,
        "ck": 400,
        "ck_uln": 200,
        "data_source": DETERIORATION_LABEL,
    }
    visits = [(0, 3.0, 120), (4, 5.0, 90), (8, 5.2, 88), (12, 3.5, 110)]  # week, physician global, MMT
    return pd.DataFrame(
        [{**base, "week": week, "physician_global": physician, "mmt": mmt} for week, physician, mmt in visits]
    )


def deterioration_table(visits: pd.DataFrame) -> pd.DataFrame:
    """Per follow-up visit: the worsening the ProDERM definition looks at, whether it is met, and confirmed.

    Worsening is against baseline, in cm for the VAS measures and in percent of the range for MMT;
    the columns come from the engine's per-measure percents (``total_improvement_score``).
    """
    scores = total_improvement_score(visits)
    non_enzyme = ("physician_global", "patient_global", "mmt", "haq", "extramuscular")
    return pd.DataFrame(
        {
            "week": scores["week"],
            "physician worse (cm)": 0.0
            - scores["physician_global_percent"] * CORE_SET["physician_global"].scale_range / 100,
            "MMT worse (% of range)": -scores["mmt_percent"],
            "extramuscular worse (cm)": 0.0
            - scores["extramuscular_percent"] * CORE_SET["extramuscular"].scale_range / 100,
            f"CSMs worse by >= {DETERIORATION_ANY_THREE_PERCENT}%": sum(
                (-scores[f"{m}_percent"] >= DETERIORATION_ANY_THREE_PERCENT).astype(int) for m in non_enzyme
            ),
            "criteria met": scores["deterioration_criteria_met"],
            "confirmed deterioration": scores["confirmed_deterioration"],
            "data_source": scores["data_source"],
        }
    ).reset_index(drop=True)


DETERIORATION_THRESHOLDS = {
    "physician worse (cm)": DETERIORATION_VAS_CM,
    "MMT worse (% of range)": DETERIORATION_MMT_PERCENT,
}


def deterioration_readings_table() -> pd.DataFrame:
    """A low-baseline patient (physician and patient global 2 -> 3 cm, HAQ 0.5 -> 0.75 at two visits) under
    both readings of "worse by 30%": of the scale's range (the kit's reading) and of the baseline value."""
    base = {
        "site": "teaching",
        "patient_id": "low baseline",
        "extramuscular": 0.5,
        "mmt": 140,
        "mmt_max": 150,
        "ck": 300,
        "ck_uln": 200,
        "data_source": "synthetic teaching patient (low baseline)",
    }
    visits = pd.DataFrame(
        [
            {**base, "week": week, "physician_global": g, "patient_global": g, "haq": haq}
            for week, g, haq in [(0, 2.0, 0.5), (4, 3.0, 0.75), (8, 3.0, 0.75)]
        ]
    )
    rows = []
    for reading in DeteriorationReading:
        scores = total_improvement_score(visits, deterioration_reading=reading)
        worse = {}
        for m in ("physician_global", "patient_global", "haq"):
            before, after = visits[m].iloc[0], visits[m].iloc[1]
            percent = (
                absolute_percent_improvement(m, before, after, CORE_SET[m].scale_range)
                if reading is DeteriorationReading.RANGE
                else relative_percent_improvement(m, before, after)
            )
            worse[f"{m.replace('_', ' ')}: {before:g} -> {after:g}, % worse"] = round(-float(percent), 1)
        confirmed = scores.loc[scores["confirmed_deterioration"].fillna(False).astype(bool), "week"]
        rows.append(
            {
                "reading": READING_LABELS[reading],
                **worse,
                "criteria met at weeks 4 and 8": ", ".join(str(v) for v in scores["deterioration_criteria_met"]),
                "confirmed at week": confirmed.min() if len(confirmed) else "never",
                "data_source": base["data_source"],
            }
        )
    return pd.DataFrame(rows)


def deterioration_gap_example() -> pd.DataFrame:
    """The deterioration example with a criterion met at weeks 4 and 12 and MMT not measured at week 8."""
    visits = deterioration_example()
    visits = pd.concat([visits, visits.iloc[[1]].assign(week=16)], ignore_index=True)
    visits.loc[visits["week"] == 8, "mmt"] = np.nan
    visits.loc[visits["week"] == 12, ["physician_global", "mmt"]] = [5.0, 90]
    visits["data_source"] = "synthetic teaching patient (deterioration, MMT not measured at week 8)"
    scores = total_improvement_score(visits)
    return scores[
        [
            "week",
            "mmt_missing",
            "deterioration_criteria_met",
            "confirmed_deterioration",
            "deterioration_unknown",
            "data_source",
        ]
    ]
