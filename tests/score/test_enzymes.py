"""The most abnormal enzyme: exact tie-break, per-enzyme ULN multipliers, and no overflow within the bounds."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from exact_reference import exact, exact_points
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.enzymes import _cross_multiplied_greater, most_abnormal_enzyme
from ivig_kit.score.measures import (
    CORE_SET,
    ENZYME_ULN_MAX,
    ENZYME_ULN_MULTIPLIER_PRESETS,
    ENZYME_VALUE_MAX,
    ENZYMES,
    MICRO,
    MMT_MAX_LIMIT,
    ULN_MULTIPLIER_MAX,
    EnzymeNormalisation,
)

BASE = {"physician_global": 5.0, "patient_global": 5.0, "extramuscular": 5.0, "haq": 1.5, "mmt": 40.0, "mmt_max": 80.0}


def visits(baseline_enzymes: dict, followup_enzymes: dict, order=None) -> pd.DataFrame:
    """One patient, two visits; ``order`` sets the enzyme columns' order in the table."""
    rows = [
        {"site": "A", "patient_id": "1", "week": 0.0, **BASE, **baseline_enzymes},
        {"site": "A", "patient_id": "1", "week": 4.0, **BASE, **followup_enzymes},
    ]
    frame = pd.DataFrame(rows)
    if order:
        columns = [c for c in frame.columns if c not in order] + list(order)
        frame = frame[columns]
    return frame


def test_exact_tie_goes_to_the_footnote_order_not_to_rounding_noise():
    assert 19.81 / 2.83 != 4.2 / 0.6  # in doubles the two 7 x ULN differ; exactly they are equal
    tie = {"ck": 19.81, "ck_uln": 2.83, "alt": 4.2, "alt_uln": 0.6}
    later = {"ck": 9.0, "ck_uln": 2.83, "alt": 4.0, "alt_uln": 0.6}
    for order in (None, ["alt", "alt_uln", "ck", "ck_uln"]):
        row = total_improvement_score(visits(tie, later, order)).iloc[0]
        assert row["enzyme"] == "ck" and row["enzyme_baseline_x_uln"] == pytest.approx(7.0)
    # the same tie with the enzymes the other way round in the footnote: ALT before LDH
    tie = {"ldh": 19.81, "ldh_uln": 2.83, "alt": 4.2, "alt_uln": 0.6}
    later = {"ldh": 9.0, "ldh_uln": 2.83, "alt": 4.0, "alt_uln": 0.6}
    assert total_improvement_score(visits(tie, later, ["ldh", "ldh_uln", "alt", "alt_uln"])).iloc[0]["enzyme"] == "alt"


def test_a_multiple_above_the_other_wins_even_by_one_micro_unit():
    above = {"ck": 19.810001, "ck_uln": 2.83, "alt": 4.2, "alt_uln": 0.6}
    below = {"ck": 19.809999, "ck_uln": 2.83, "alt": 4.2, "alt_uln": 0.6}
    later = {"ck": 9.0, "ck_uln": 2.83, "alt": 4.0, "alt_uln": 0.6}
    assert total_improvement_score(visits(above, later)).iloc[0]["enzyme"] == "ck"
    assert total_improvement_score(visits(below, later)).iloc[0]["enzyme"] == "alt"


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 500)), min_size=5, max_size=5))
def test_choice_equals_the_exact_maximum_multiple(enzymes):
    """Against Fractions: the highest multiple of ULN wins; exact ties go to CK, aldolase, ALT, AST, LDH."""
    baseline = {}
    for name, (value, uln) in zip(ENZYMES, enzymes):
        baseline[name], baseline[f"{name}_uln"] = value / 100, uln / 100
    ratios = [Fraction(value, uln) for value, uln in enzymes]
    expected = ENZYMES[ratios.index(max(ratios))]  # index() finds the first maximum: the footnote order
    assert total_improvement_score(visits(baseline, baseline)).iloc[0]["enzyme"] == expected


def test_the_r_implementation_preset_uses_its_multiplier_per_enzyme():
    normalisation = EnzymeNormalisation.preset("r-implementation")
    assert str(normalisation) == "uln_range(ck x15, aldolase x3, alt x3, ast x3, ldh x3)"
    assert {e: normalisation.multiplier(e) for e in ENZYMES} == ENZYME_ULN_MULTIPLIER_PRESETS["r-implementation"]
    baseline = {"ck": 1000.0, "ck_uln": 200.0, "alt": 300.0, "alt_uln": 30.0}  # CK 5 x ULN, ALT 10 x ULN
    later = {"ck": 1000.0, "ck_uln": 200.0, "alt": 255.0, "alt_uln": 30.0}
    row = total_improvement_score(visits(baseline, later), enzyme_normalisation=normalisation).iloc[0]
    assert row["enzyme"] == "alt" and row["enzyme_percent"] == 50.0 and row["enzyme_points"] == 7.5  # 45 of 3 x 30
    common = total_improvement_score(visits(baseline, later), enzyme_normalisation=EnzymeNormalisation("uln_range"))
    assert common.iloc[0]["enzyme_percent"] == 15.0 and common.iloc[0]["enzyme_points"] == 2.5  # 45 of 10 x 30


def test_the_largest_integer_products_fit_in_int64():
    """Every product the engine forms, at the bounds, with room to spare (int64 max is about 9.2e18)."""
    limit = 2**63 - 1
    enzyme_micro = int(ENZYME_VALUE_MAX) * MICRO
    range_micro = int(ENZYME_ULN_MAX * ULN_MULTIPLIER_MAX) * MICRO
    widest_edge = max(max(m.band_edges_percent) for m in CORE_SET.values())
    assert enzyme_micro * 100 < limit and range_micro * widest_edge < limit and enzyme_micro * widest_edge < limit
    assert int(MMT_MAX_LIMIT) * MICRO * 100 < limit
    # the float quotients of the micro-unit integers are exact integers below 2**53
    assert enzyme_micro < 2**53 and int(ENZYME_ULN_MAX) * MICRO < 2**53


values_at_bounds = st.one_of(
    st.sampled_from([0.0, 0.000001, ENZYME_VALUE_MAX, ENZYME_VALUE_MAX - 0.000001]),
    st.integers(0, int(ENZYME_VALUE_MAX)).map(float),
)
ulns_at_bounds = st.one_of(
    st.sampled_from([0.000001, 0.01, ENZYME_ULN_MAX]), st.integers(1, int(ENZYME_ULN_MAX)).map(float)
)


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(
    baseline=values_at_bounds,
    followup=values_at_bounds,
    uln=ulns_at_bounds,
    k=st.sampled_from([1.0, 3.0, 15.0, ULN_MULTIPLIER_MAX]),
    method=st.sampled_from(["relative", "uln_range"]),
)
def test_enzyme_points_at_the_bounds_equal_exact_arithmetic(baseline, followup, uln, k, method):
    """int64 arithmetic cannot overflow within the bounds: the engine agrees with unbounded Fractions."""
    table = visits({"ck": baseline, "ck_uln": uln}, {"ck": followup, "ck_uln": uln})
    row = total_improvement_score(table, enzyme_normalisation=EnzymeNormalisation(method, k)).iloc[0]
    scale = exact(baseline) if method == "relative" else exact(uln) * Fraction(k)
    if scale == 0:
        assert row["enzyme_at_limit"] and row["enzyme_points"] == 0
        return
    percent = (exact(baseline) - exact(followup)) * 100 / scale
    assert row["enzyme_points"] == exact_points("enzyme", percent)
    assert np.sign(row["enzyme_percent"]) == np.sign(percent)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(st.integers(1, int(MMT_MAX_LIMIT)), st.data())
def test_mmt_points_at_the_bounds_equal_exact_arithmetic(mmt_max, data):
    baseline = data.draw(st.integers(0, mmt_max))
    followup = data.draw(st.integers(0, mmt_max))
    table = visits({"ck": 100.0, "ck_uln": 200.0}, {"ck": 100.0, "ck_uln": 200.0})
    table["mmt_max"] = float(mmt_max)
    table["mmt"] = [float(baseline), float(followup)]
    row = total_improvement_score(table).iloc[0]
    assert row["mmt_points"] == exact_points("mmt", Fraction(followup - baseline, mmt_max) * 100)


def test_cross_multiplication_beyond_int64_falls_back_to_exact_integers():
    big = np.array([int(ENZYME_VALUE_MAX) * MICRO], dtype=np.int64)
    uln = np.array([int(ENZYME_ULN_MAX) * MICRO], dtype=np.int64)
    assert big.astype(float)[0] * uln[0] > 2**63  # the product itself would overflow int64
    assert _cross_multiplied_greater(big, uln, big - 1, uln)[0]
    assert not _cross_multiplied_greater(big - 1, uln, big, uln)[0]
    assert not _cross_multiplied_greater(big, uln, big, uln)[0]  # equal is not greater


def test_the_followed_enzyme_comes_back_with_its_values_by_name():
    table = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "a", "b", "b"],
            "week": [0, 4, 0, 4],
            "ck": [1000.0, 500.0, np.nan, np.nan],
            "ck_uln": 200.0,
            "alt": [300.0, 240.0, 90.0, 60.0],
            "alt_uln": 30.0,
        }
    )
    followed = most_abnormal_enzyme(table, np.array([0, 2]), np.array([1, 3]))
    # patient a: CK 5 x ULN, ALT 10 x ULN -> ALT; patient b: no CK -> ALT (3 x ULN)
    assert followed.names == ["ck", "alt"] and followed.choice.tolist() == [1, 1]
    assert followed.baseline.tolist() == [300.0, 90.0] and followed.followup.tolist() == [240.0, 60.0]
    assert followed.uln.tolist() == [30.0, 30.0]
    nothing = most_abnormal_enzyme(table[["site", "patient_id", "week"]], np.array([0]), np.array([1]))
    assert nothing.names == [] and nothing.choice.tolist() == [-1] and np.isnan(nothing.baseline).all()
