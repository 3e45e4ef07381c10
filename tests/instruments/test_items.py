"""The item facts: canonical columns (issue 23's contract), the aid-to-category map, CMAS items and bands."""

import numpy as np
import pytest

from ivig_kit.instruments.cmas import timed_item_score
from ivig_kit.instruments.items import (
    CMAS_1999_MAX,
    CMAS_ITEMS,
    CMAS_MAX,
    CMAS_SOURCE,
    CMAS_TIMED_BANDS,
    HAQ_AIDS,
    HAQ_CATEGORIES,
    ITEM_COLUMN_NAMES,
    ITEMS_BY_COLUMN,
    MMT8_COLUMNS,
    MMT_SCALE_MAX,
)

GROUPS = (
    "deltoid",
    "biceps",
    "wrist_extensors",
    "gluteus_maximus",
    "gluteus_medius",
    "quadriceps",
    "ankle_dorsiflexors",
)


def test_canonical_mmt8_columns():
    assert ("mmt8_neck_flexors", *(f"mmt8_{g}_{s}" for g in GROUPS for s in ("right", "left"))) == MMT8_COLUMNS


def test_canonical_haq_columns():
    items = {
        "dressing": 2,
        "arising": 2,
        "eating": 3,
        "walking": 2,
        "hygiene": 3,
        "reach": 2,
        "grip": 3,
        "activities": 3,
    }
    assert items == HAQ_CATEGORIES and sum(items.values()) == 20
    expected = [f"haq_{c}_{i}" for c, n in items.items() for i in range(1, n + 1)]
    expected += [f"haq_{c}_aid" for c in items if c != "activities"] + [f"haq_{c}_help" for c in items]
    assert set(expected) <= set(ITEM_COLUMN_NAMES)
    assert "haq_activities_aid" not in ITEM_COLUMN_NAMES  # activities: help only


def test_canonical_cmas_columns():
    assert {f"cmas_{i}" for i in range(1, 15)} <= set(ITEM_COLUMN_NAMES)
    assert {"cmas_1_seconds", "cmas_3_seconds", "cmas_8_seconds"} <= set(ITEM_COLUMN_NAMES)


def test_aid_to_category_map():
    """Stanford HAQ: which aid or device raises which category (instruments.md)."""
    assert HAQ_AIDS["walking"] == ("cane", "walker", "crutches", "wheelchair")
    assert HAQ_AIDS["arising"] == ("special or built-up chair",)
    assert HAQ_AIDS["eating"] == ("built-up or special utensils",)
    assert HAQ_AIDS["hygiene"] == (
        "bathtub bar",
        "bathtub seat",
        "raised toilet seat",
        "long-handled appliances in the bathroom",
    )
    assert HAQ_AIDS["reach"] == ("long-handled appliances for reach",)
    assert "jar opener" in HAQ_AIDS["grip"][0]
    assert "button hook" in HAQ_AIDS["dressing"][0]
    assert HAQ_AIDS["activities"] == ()


#: Each item's maximum on IMACS Form 05c, the CMAS scoring sheet (NIEHS cmas_508.pdf), as the openEHR
#: archetype openEHR-EHR-OBSERVATION.cmas_score.v0 (Clinical Models UK, CKM 1013.1.3320) transcribes it:
#: the highest coded value of each item, "5|More than 2 min", ..., "3|No difficulty" (pick-up).
FORM_05C_MAXIMA = {
    1: 5,  # head lift: "More than 2 min"
    2: 2,  # leg raise / touch object: "Able and touch"
    3: 5,  # straight leg lift: "More than 2 min"
    4: 3,  # supine to prone: "Easily"
    5: 6,  # sit-ups: "Total sit-up score" 0..6
    6: 3,  # supine to sit: "No difficulty"
    7: 3,  # arm raise / straighten: "Elbows in full extension"
    8: 4,  # arm raise duration: "More than 60 sec"
    9: 3,  # floor sit: "No difficulty"
    10: 4,  # all fours: "Maintains balance with lift and extend"
    11: 4,  # floor rise: "No difficulty"
    12: 4,  # chair rise: "No difficulty"
    13: 3,  # stool step: "Able"
    14: 3,  # pick-up: "No difficulty"
}


@pytest.mark.parametrize("number, maximum", FORM_05C_MAXIMA.items())
def test_cmas_item_maximum_is_form_05c(number, maximum):
    assert CMAS_ITEMS[number - 1].number == number
    assert CMAS_ITEMS[number - 1].maximum == maximum
    assert ITEMS_BY_COLUMN[f"cmas_{number}"].high == maximum  # the range validation refuses above it


def test_cmas_items_make_the_validated_52_points():
    # Form 05c's "Total CMAS score" is 0..52, as in Huber et al. 2004 ("a 0-52-point scale")
    assert len(CMAS_ITEMS) == 14 and sum(i.maximum for i in CMAS_ITEMS) == CMAS_MAX == 52


def test_the_1999_sheet_differs_in_supine_to_prone_only():
    # Lovell et al. 1999: "potential range 0-51"; the 1999 sheet (UpToDate, MedicalAlgorithms copies)
    # scores supine to prone 0-2
    differing = {i.number: i.maximum_1999_sheet for i in CMAS_ITEMS if i.maximum_1999_sheet is not None}
    assert differing == {4: 2}
    assert sum(i.maximum_1999_sheet or i.maximum for i in CMAS_ITEMS) == CMAS_1999_MAX == 51
    assert "0-2 on the 1999 sheet" in ITEMS_BY_COLUMN["cmas_4"].label
    assert "IMACS Form 05c" in CMAS_SOURCE


@pytest.mark.parametrize(
    "seconds, score",
    [(0, 0), (0.5, 0), (1, 1), (9.99, 1), (10, 2), (29, 2), (30, 3), (59.9, 3), (60, 4), (119, 4), (120, 5), (600, 5)],
)
def test_cmas_timed_bands_head_and_leg(seconds, score):
    # Form 05c: unable 0, 1-9 sec 1, 10-29 sec 2, 30-59 sec 3, 60-119 sec 4, more than 2 min 5
    assert timed_item_score(1, [seconds])[0] == score
    assert timed_item_score(3, [seconds])[0] == score


@pytest.mark.parametrize(
    "seconds, score",
    [(0, 0), (1, 1), (9.5, 1), (10, 2), (29, 2), (30, 3), (59, 3), (59.9, 3), (60, 4), (61, 4), (500, 4)],
)
def test_cmas_arm_raise_duration_band_is_form_05c(seconds, score):
    # Form 05c, item 8: unable 0, 1-9 sec 1, 10-29 sec 2, 30-59 sec 3, "More than 60 sec" 4 (the top: 0-4)
    assert timed_item_score(8, [seconds])[0] == score
    assert CMAS_TIMED_BANDS[8] == (1, 10, 30, 60)


def test_cmas_timed_score_of_an_empty_time_is_empty():
    assert np.isnan(timed_item_score(8, [np.nan])[0])


def test_mmt_scale_maxima():
    assert MMT_SCALE_MAX == {"unilateral": 80, "bilateral": 150, "total": 260}
