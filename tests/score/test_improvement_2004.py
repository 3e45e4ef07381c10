"""The 2004 IMACS definition of improvement (Rider et al. 2004) on hand-made visits: the count, the
thresholds at their edges, the MMT veto, and the missing-measure cases (unknown, never False)."""

import numpy as np
import pandas as pd
import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.improvement_2004 import improvement_2004

MEASURES = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")
BASE = {"physician_global": 5.0, "patient_global": 5.0, "mmt": 60.0, "haq": 1.0, "enzyme": 1000.0, "extramuscular": 2.0}


def doi(**followup):
    """The 2004 DOI of one visit: baseline BASE, follow-up BASE changed by ``followup`` (None = missing)."""
    follow = {m: np.nan if followup.get(m, BASE[m]) is None else followup.get(m, BASE[m]) for m in MEASURES}
    result = improvement_2004({m: [BASE[m]] for m in MEASURES}, {m: [follow[m]] for m in MEASURES})
    value = result.improved[0]
    return None if value is pd.NA else bool(value)


def test_three_improved_by_20_percent_is_improvement():
    assert doi(physician_global=4.0, patient_global=4.0, haq=0.8) is True  # each exactly 20% better


def test_two_improved_is_not():
    assert doi(physician_global=4.0, patient_global=4.0) is False


def test_just_under_20_percent_does_not_count():
    assert doi(physician_global=4.0, patient_global=4.0, haq=0.81) is False


def test_up_to_two_worse_by_25_percent_allowed():
    assert doi(physician_global=4.0, patient_global=4.0, haq=0.8, enzyme=1250.0, extramuscular=2.5) is True


def test_three_worse_is_not():
    assert doi(physician_global=2.0, patient_global=2.0, mmt=80.0, haq=1.25, enzyme=1250.0, extramuscular=2.5) is False


def test_mmt_veto():
    """MMT worse by 25% vetoes, even with five measures improved."""
    assert doi(physician_global=2.0, patient_global=2.0, haq=0.5, enzyme=200.0, extramuscular=1.0, mmt=45.0) is False
    assert doi(physician_global=2.0, patient_global=2.0, haq=0.5, enzyme=200.0, extramuscular=1.0, mmt=45.1) is True


def test_missing_measure_decides_nothing_when_three_improved_and_room_for_it():
    assert doi(physician_global=4.0, patient_global=4.0, haq=0.8, enzyme=None) is True


def test_missing_measure_that_could_be_the_third_worse_leaves_it_unknown():
    assert (
        doi(physician_global=4.0, patient_global=4.0, haq=0.8, enzyme=1250.0, extramuscular=2.5, mmt=70.0) is True
    )  # (nothing missing: two worse allowed)
    assert doi(physician_global=4.0, haq=0.8, mmt=75.0, patient_global=6.25, enzyme=1250.0, extramuscular=None) is None
    assert doi(physician_global=4.0, haq=0.8, mmt=75.0, patient_global=6.2, enzyme=1250.0, extramuscular=None) is True


def test_missing_mmt_could_veto_so_unknown():
    assert doi(physician_global=4.0, patient_global=4.0, haq=0.8, mmt=None) is None


def test_missing_measure_that_could_be_the_third_improved_leaves_it_unknown():
    assert doi(physician_global=4.0, patient_global=4.0, haq=None) is None


def test_false_whatever_the_missing_measures():
    assert doi(physician_global=4.0, haq=None) is False  # at most 2 improved
    assert doi(physician_global=4.0, patient_global=4.0, haq=None, mmt=40.0) is False  # veto known


def test_engine_output_column_nullable():
    visits = pd.DataFrame(
        {
            "site": "A",
            "patient_id": ["1", "1", "2", "2", "3", "3"],
            "week": [0, 4] * 3,
            "physician_global": [5, 4, 5, 2, 5, 4],
            "patient_global": [5, 4, 5, 2, 5, 4],
            "extramuscular": [2, 2, 2, 1, 2, 2],
            "haq": [1, 0.8, 1, 0.5, 1, 0.8],
            "mmt": [60, 60, 60, 45, 60, np.nan],
            "mmt_max": 80,
            "ck": [1000, 1000, 1000, 200, 1000, 1250],
            "ck_uln": 200,
        }
    )
    scores = total_improvement_score(visits)
    assert scores["imacs_2004_improved"].dtype == "boolean"
    decided = scores["imacs_2004_improved"]
    assert decided.iloc[0] is np.True_ or decided.iloc[0]
    assert not decided.iloc[1] and decided.isna().tolist() == [False, False, True]
    # patient 2: TIS high (MMT worsening scores 0, no penalty) while the 2004 veto says not improved
    assert scores["tis"].iloc[1] >= 20


@pytest.mark.parametrize("baseline, followup, expected", [(0.0, 0.0, False), (0.0, 0.5, False)])
def test_vas_from_zero(baseline, followup, expected):
    """A VAS at 0 cannot improve; a rise from 0 counts as worse (unbounded relative change, the kit's choice)."""
    base = {**{m: [BASE[m]] for m in MEASURES}, "extramuscular": [baseline]}
    follow = {
        **{m: [BASE[m]] for m in MEASURES},
        "physician_global": [4.0],
        "patient_global": [4.0],
        "haq": [0.8],
        "extramuscular": [followup],
    }
    result = improvement_2004(base, follow)
    assert int(result.n_worse[0]) == (followup > baseline)
    assert bool(result.improved[0]) is True
