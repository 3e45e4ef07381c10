"""The item facts: canonical columns (issue 23's contract), the aid-to-category map, CMAS items and bands."""

import numpy as np
import pytest

from ivig_kit.instruments.cmas import timed_item_score
from ivig_kit.instruments.items import (
    CMAS_ITEMS,
    CMAS_MAX,
    HAQ_AIDS,
    HAQ_CATEGORIES,
    ITEM_COLUMN_NAMES,
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


def test_cmas_items_make_the_validated_52_points():
    assert len(CMAS_ITEMS) == 14 and sum(i.maximum for i in CMAS_ITEMS) == CMAS_MAX == 52
    assert [i.maximum for i in CMAS_ITEMS[:7]] == [5, 2, 5, 2, 6, 3, 3]  # printed on the 52-point sheet
    assert CMAS_ITEMS[3].maximum_53_point_sheet == 3  # supine to prone on the older sheet


@pytest.mark.parametrize(
    "seconds, score",
    [(0, 0), (0.5, 0), (1, 1), (9.99, 1), (10, 2), (29, 2), (30, 3), (59.9, 3), (60, 4), (119, 4), (120, 5), (600, 5)],
)
def test_cmas_timed_bands_head_and_leg(seconds, score):
    assert timed_item_score(1, [seconds])[0] == score
    assert timed_item_score(3, [seconds])[0] == score


def test_cmas_arm_raise_duration_stops_at_four():
    assert timed_item_score(8, [59, 60, 500]).tolist() == [3.0, 4.0, 4.0]
    assert np.isnan(timed_item_score(8, [np.nan])[0])


def test_mmt_scale_maxima():
    assert MMT_SCALE_MAX == {"unilateral": 80, "bilateral": 150, "total": 260}
