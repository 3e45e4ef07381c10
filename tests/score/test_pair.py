"""One follow-up scored against its baseline (ivig_kit.score.pair): the same numbers as the whole-table engine,
checked on hand-computed patients, at the scale limits and with every input problem named."""

import math

import pandas as pd
import pytest
from exact_reference import exact_percent, exact_points
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig_kit.errors import InputError
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.measures import CORE_SET, EnzymeNormalisation
from ivig_kit.score.pair import MeasureScore, PairScore, score_pair

BASELINE = {
    "physician_global": 6.0,
    "patient_global": 7.0,
    "mmt": 110,
    "haq": 1.8,
    "enzyme": 4200,
    "extramuscular": 3.0,
}
LATER = {"physician_global": 4.2, "patient_global": 5.5, "mmt": 121, "haq": 1.5, "enzyme": 1800, "extramuscular": 2.0}


def engine_row(baseline, later, mmt_max, uln, population="adult", normalisation="relative") -> pd.Series:
    """The whole-table engine on the same two visits (CK as the followed enzyme)."""
    columns = {
        "physician_global": "physician_global",
        "patient_global": "patient_global",
        "mmt": "mmt",
        "haq": "haq",
        "enzyme": "ck",
        "extramuscular": "extramuscular",
    }
    visits = pd.DataFrame(
        [
            {
                "site": "s",
                "patient_id": "p",
                "week": week,
                "mmt_max": mmt_max,
                "ck_uln": uln,
                **{columns[m]: values[m] for m in CORE_SET},
            }
            for week, values in ((0, baseline), (4, later))
        ]
    )
    return total_improvement_score(visits, population=population, enzyme_normalisation=normalisation).iloc[0]


def test_hand_computed_patient():
    # physician 1.8/10 = 18% -> 15; patient 1.5/10 = 15% -> 2.5 (right-closed); MMT 11/150 = 7.3% -> 10;
    # HAQ 0.3/3 = 10% -> 5; CK 2400/4200 = 57% -> 7.5; extramuscular 1/10 = 10% -> 7.5. Total 47.5.
    pair = score_pair(BASELINE, LATER, mmt_max=150, enzyme_uln=200)
    assert isinstance(pair, PairScore) and all(isinstance(m, MeasureScore) for m in pair.measures.values())
    assert {m: s.points for m, s in pair.measures.items()} == {
        "physician_global": 15.0,
        "patient_global": 2.5,
        "mmt": 10.0,
        "haq": 5.0,
        "enzyme": 7.5,
        "extramuscular": 7.5,
    }
    assert (pair.tis, pair.category, pair.population) == (47.5, "moderate", "adult")
    haq = pair.measures["haq"]
    assert (haq.change, haq.scale_range, haq.percent) == pytest.approx((0.3, 3.0, 10.0), abs=1e-12)
    assert (haq.baseline, haq.follow_up, haq.instrument, haq.at_limit) == (1.8, 1.5, "haq", False)
    assert str(pair.enzyme_normalisation) == "relative"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=6, max_size=6),
    st.lists(st.integers(0, 100), min_size=6, max_size=6),
    st.sampled_from(["adult", "juvenile"]),
    st.sampled_from(["relative", "uln_range"]),
)
def test_equals_the_whole_table_engine(before, after, population, normalisation):
    scale = {
        "physician_global": 0.1,
        "patient_global": 0.1,
        "mmt": 1.5,
        "haq": 0.03,
        "enzyme": 50.0,
        "extramuscular": 0.1,
    }
    baseline = {m: v * scale[m] + (1.0 if m == "enzyme" else 0.0) for m, v in zip(CORE_SET, before)}
    later = {m: v * scale[m] for m, v in zip(CORE_SET, after)}
    pair = score_pair(
        baseline, later, mmt_max=150, enzyme_uln=200, population=population, enzyme_normalisation=normalisation
    )
    row = engine_row(baseline, later, 150, 200, population, EnzymeNormalisation(normalisation))
    assert [pair.measures[m].points for m in CORE_SET] == [row[f"{m}_points"] for m in CORE_SET]
    assert pair.tis == row["tis"] and pair.category == row["category"]


def test_band_edges_are_exact_whatever_floating_point_does():
    # physician 1.1 -> 0.6 is exactly 5% (0.5/10), though in doubles 1.1 - 0.6 = 0.5000000000000001: the
    # lowest band is right-closed, so exactly 5% scores 0 and one micro-unit more scores the next band
    for followup in (0.6, 0.599999):
        pair = score_pair(
            {**BASELINE, "physician_global": 1.1}, {**LATER, "physician_global": followup}, mmt_max=150, enzyme_uln=200
        )
        expected = exact_points("physician_global", exact_percent("physician_global", 1.1, followup, 10))
        assert pair.measures["physician_global"].points == float(expected)
    assert float(exact_points("physician_global", exact_percent("physician_global", 1.1, 0.6, 10))) == 0.0


def test_a_missing_measure_makes_the_total_missing_and_a_limit_is_flagged():
    pair = score_pair(BASELINE, {**LATER, "haq": float("nan")}, mmt_max=150, enzyme_uln=200)
    assert math.isnan(pair.measures["haq"].points) and math.isnan(pair.tis) and pair.category is None
    at_floor = score_pair({**BASELINE, "haq": 0.0}, LATER, mmt_max=150, enzyme_uln=200)
    assert at_floor.measures["haq"].at_limit and at_floor.measures["haq"].points == 0.0


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="population must be 'adult' or 'juvenile'"):
        score_pair(BASELINE, LATER, mmt_max=150, enzyme_uln=200, population="child")
    jdm = {"enzyme": "chq_phs"}
    with pytest.raises(InputError, match="give chq_phs_range"):
        score_pair(BASELINE, LATER, mmt_max=150, enzyme_uln=200, instruments=jdm)
    with pytest.raises(InputError, match="max > min"):
        score_pair(BASELINE, LATER, mmt_max=150, enzyme_uln=200, instruments=jdm, chq_phs_range=(50, -10))
    with pytest.raises(InputError, match="cannot stand for"):
        score_pair(BASELINE, LATER, mmt_max=150, enzyme_uln=200, instruments={"haq": "cmas"})
