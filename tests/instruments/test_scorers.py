"""Golden values of every scoring divergence, each under each rule (issue 23)."""

import numpy as np
import pandas as pd
import pytest

from ivig_kit.instruments import (
    childhood_disability_index,
    cmas_total,
    disability_index,
    mmt_total,
    myoact_score,
)
from ivig_kit.instruments.items import (
    CHAQ_DOMAINS,
    CMAS_ITEMS,
    HAQ_CATEGORIES,
    MMT8_PAIRED,
)

# --- MMT -------------------------------------------------------------------------------------------


def grades(right=8.0, left=6.0, neck=9.0, **override):
    row = {"mmt8_neck_flexors": neck}
    for group in MMT8_PAIRED:
        row[f"mmt8_{group}_right"], row[f"mmt8_{group}_left"] = right, left
    row.update(override)
    return pd.DataFrame([row])


def test_mmt8_unilateral_right_side():
    assert mmt_total(grades()).values[0] == 9 + 7 * 8


def test_mmt8_unilateral_left_where_right_untestable():
    assert mmt_total(grades(mmt8_biceps_right=np.nan)).values[0] == 9 + 6 * 8 + 6


def test_mmt8_bilateral_neck_once():
    score = mmt_total(grades(), "bilateral")
    assert score.values[0] == 9 + 7 * (8 + 6) and score.maximum[0] == 150


def test_total_mmt_needs_all_26_groups():
    row = grades(10, 10, 10)
    assert np.isnan(mmt_total(row, "total").values[0])  # the MMT-24 groups beyond the MMT-8 are missing
    extra = {
        "mmt24_neck_extensors": 10.0,
        **{
            f"mmt24_{g}_{s}": 10.0
            for g in ("trapezius", "iliopsoas", "hamstrings", "wrist_flexors", "ankle_plantar_flexors")
            for s in ("right", "left")
        },
    }
    score = mmt_total(row.assign(**extra), "total")
    assert score.values[0] == 260 and score.maximum[0] == 260


def test_missing_group_is_missing_unless_prorated():
    row = grades(mmt8_quadriceps_right=np.nan, mmt8_quadriceps_left=np.nan)
    assert np.isnan(mmt_total(row).values[0])
    prorated = mmt_total(row, prorate=True)
    assert prorated.values[0] == pytest.approx((9 + 6 * 8) * 8 / 7)
    assert "prorated" in prorated.rule[0]
    row = grades(**{f"mmt8_{g}_{s}": np.nan for g in MMT8_PAIRED[:3] for s in ("right", "left")})
    assert np.isnan(mmt_total(row, prorate=True).values[0])  # 5 of 8 graded: below 75%


def test_mmt_scale_per_visit():
    score = mmt_total(pd.concat([grades(), grades()]), np.array(["unilateral", "bilateral"], dtype=object))
    assert score.values.tolist() == [65.0, 107.0] and score.maximum.tolist() == [80.0, 150.0]


# --- HAQ -------------------------------------------------------------------------------------------


def haq(answers: dict, aids=(), helps=(), prefix="haq", categories=HAQ_CATEGORIES):
    """One visit: ``answers`` category -> first item's answer (other items 0), aids/help for some categories."""
    row = {}
    for category, n in categories.items():
        if category in answers:
            row.update({f"{prefix}_{category}_{i}": 0.0 for i in range(1, n + 1)})
            row[f"{prefix}_{category}_1"] = answers[category]
    row.update({f"{prefix}_{c}_aid": 1.0 for c in aids})
    row.update({f"{prefix}_{c}_help": 1.0 for c in helps})
    return pd.DataFrame([row])


ALL_ONE = dict.fromkeys(HAQ_CATEGORIES, 1.0)


@pytest.mark.parametrize("rule, expected", [("standard", 10 / 8), ("adi", 8 / 8), ("plus_one", 10 / 8)])
def test_aid_raises_one_to_two_or_adds_one(rule, expected):
    """Aids for walking and reach, each category answered 1: 2 (standard, +1) or 1 (ADI)."""
    assert disability_index(haq(ALL_ONE, aids=("walking", "reach")), rule).values[0] == expected


@pytest.mark.parametrize("rule, expected", [("standard", 2 / 8), ("adi", 0.0), ("plus_one", 1 / 8)])
def test_aid_on_a_zero_answer(rule, expected):
    """The divergence of the '+1' variant: a 0 with an aid becomes 2 (standard), stays 0 (ADI), becomes 1 (+1)."""
    answers = dict.fromkeys(HAQ_CATEGORIES, 0.0)
    assert disability_index(haq(answers, helps=("activities",)), rule).values[0] == expected


def test_aid_leaves_two_and_three():
    answers = {**dict.fromkeys(HAQ_CATEGORIES, 0.0), "walking": 3.0, "grip": 2.0}
    for rule, expected in (("standard", 5 / 8), ("adi", 5 / 8), ("plus_one", 6 / 8)):
        assert disability_index(haq(answers, aids=("walking", "grip")), rule).values[0] == expected


def test_divided_by_categories_answered_not_eight():
    answers = {c: 2.0 for c in list(HAQ_CATEGORIES)[:7]}
    assert disability_index(haq(answers)).values[0] == 2.0
    assert disability_index(haq(answers), denominator="eight").values[0] == 14 / 8


def test_minimum_six_or_seven_categories():
    six = {c: 1.0 for c in list(HAQ_CATEGORIES)[:6]}
    assert disability_index(haq(six)).values[0] == 1.0
    assert np.isnan(disability_index(haq(six), minimum_categories=7).values[0])
    assert np.isnan(disability_index(haq({c: 1.0 for c in list(HAQ_CATEGORIES)[:5]})).values[0])


def test_one_eighth_grid_only_with_all_eight():
    grid = np.arange(0, 25) / 8
    rng = np.random.default_rng(1)
    frames = [haq({c: float(v) for c, v in zip(HAQ_CATEGORIES, rng.integers(0, 4, 8))}) for _ in range(50)]
    values = disability_index(pd.concat(frames)).values
    assert np.isin(values, grid).all()
    seven = disability_index(haq({c: 1.0 for c in list(HAQ_CATEGORIES)[:6]} | {"grip": 2.0})).values[0]
    assert seven == 8 / 7 and seven not in grid


def test_category_is_its_highest_item():
    row = haq(dict.fromkeys(HAQ_CATEGORIES, 0.0)).assign(haq_eating_3=3.0, haq_eating_2=1.0)
    assert disability_index(row).values[0] == 3 / 8


def test_aid_without_answers_does_not_answer_a_category():
    answers = {c: 1.0 for c in list(HAQ_CATEGORIES)[:6]}
    score = disability_index(haq(answers, aids=("grip",)))
    assert score.answered[0] == 6 and score.values[0] == 1.0


def test_rule_named_in_output():
    rule = disability_index(haq(ALL_ONE), "adi", 7, "eight").rule[0]
    assert "HAQ-ADI" in rule and "divided by 8" in rule and ">= 7 of 8" in rule


def test_chaq_not_applicable_left_out_of_the_denominator():
    """NINDS: a domain with only not-applicable answers (entered empty) is not answered."""
    answers = {c: 1.0 for c in CHAQ_DOMAINS if c != "activities"} | {"walking": 2.0}
    score = childhood_disability_index(haq(answers, prefix="chaq", categories=CHAQ_DOMAINS))
    assert score.answered[0] == 7 and score.values[0] == 8 / 7
    assert (
        childhood_disability_index(haq(answers, prefix="chaq", categories=CHAQ_DOMAINS), denominator="eight").values[0]
        == 1.0
    )


# --- CMAS and MYOACT -------------------------------------------------------------------------------


def test_cmas_total_from_scores_and_seconds():
    row = {f"cmas_{i.number}": float(i.maximum) for i in CMAS_ITEMS}
    assert cmas_total(pd.DataFrame([row])).values[0] == 52
    del row["cmas_1"]
    row["cmas_1_seconds"] = 45.0  # 30-59 s: 3
    assert cmas_total(pd.DataFrame([row])).values[0] == 50
    del row["cmas_1_seconds"]
    assert np.isnan(cmas_total(pd.DataFrame([row])).values[0])  # an item missing: missing


def test_myoact_rescaled_over_systems_assessed():
    row = pd.DataFrame([{"myoact_cutaneous": 4.0, "myoact_skeletal": 2.0, "myoact_pulmonary": 0.0}])
    score = myoact_score(row)
    assert score.values[0] == 12.0 and score.answered[0] == 3 and "extramuscular global" in score.rule[0]
    assert np.isnan(myoact_score(pd.DataFrame([{"myoact_cardiac": np.nan}])).values[0])
