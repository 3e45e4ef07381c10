"""Shared by the teaching tests: the engine's score of a two-visit table written out by hand."""

import pandas as pd

from ivig_kit.score.engine import total_improvement_score

MEASURES = ("physician_global", "patient_global", "extramuscular", "haq", "mmt")


def engine_row(
    baseline: dict,
    followup: dict,
    mmt_max: float,
    uln: float = 200.0,
    population: str = "adult",
    enzyme_normalisation="relative",
    week: float = 4,
) -> pd.Series:
    """The engine's score of a two-visit table (baseline and ``week``) written out by hand (CK as the enzyme)."""
    visits = pd.DataFrame(
        {
            "site": ["s", "s"],
            "patient_id": ["p", "p"],
            "week": [0, week],
            **{m: [baseline[m], followup[m]] for m in MEASURES},
            "mmt_max": [mmt_max, mmt_max],
            "ck": [baseline["enzyme"], followup["enzyme"]],
            "ck_uln": [uln, uln],
        }
    )
    return total_improvement_score(visits, population=population, enzyme_normalisation=enzyme_normalisation).iloc[0]
