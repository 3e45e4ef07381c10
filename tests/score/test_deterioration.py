"""Confirmed deterioration: the reading of "worse by x%", unknown stays unknown, same or any criterion."""

import numpy as np
import pandas as pd
import pytest

from ivig_kit.errors import InputError
from ivig_kit.score.deterioration import (
    CONFIRMATION_LABELS,
    READING_LABELS,
    DeteriorationConfirmation,
    DeteriorationReading,
    composite_response,
)
from ivig_kit.score.engine import total_improvement_score

from .helpers import VISIT_COLUMNS
from .helpers import visit_table as hand_written


def visit_table(rows):
    """(site, patient, week, phys, pat, extra, haq, mmt, mmt_max, ck, ck_uln) tuples; None is missing."""
    return hand_written(rows).astype({c: float for c in VISIT_COLUMNS[2:]})


def as_list(series):
    return [None if v is pd.NA else bool(v) for v in series.array]


def test_week_8_gap_makes_the_criterion_and_the_confirmation_unknown():
    visits = visit_table(
        [
            ("A", "1", 0, 3.0, 5, 0.5, 1, 120, 150, 1000, 200),
            ("A", "1", 4, 5.0, 5, 0.5, 1, 90, 150, 1000, 200),  # physician +2 cm, MMT -30/150 = 20%: met
            ("A", "1", 8, 5.0, 5, 0.5, 1, None, 150, 1000, 200),  # MMT not measured: cannot be judged
            ("A", "1", 12, 5.0, 5, 0.5, 1, 90, 150, 1000, 200),  # met again
        ]
    )
    scores = total_improvement_score(visits)
    assert scores["deterioration_criteria_met"].dtype == "boolean"
    assert as_list(scores["deterioration_criteria_met"]) == [True, None, True]
    # week 8: met at 4 and unknown at 8 is unknown; week 12: unknown at 8 and met at 12 is unknown
    assert as_list(scores["confirmed_deterioration"]) == [False, None, None]
    assert scores["deterioration_unknown"].tolist() == [False, True, True]
    # the file writers keep the empties empty (no "False" for an unknown)
    assert scores["confirmed_deterioration"].isna().sum() == 2


def test_known_measures_settle_a_criterion_despite_a_missing_one():
    visits = visit_table(
        [
            ("A", "1", 0, 3.0, 5, 0.5, 1, 120, 150, 1000, 200),
            ("A", "1", 4, 3.5, 5, 0.5, 1, None, 150, 1000, 200),  # physician only +0.5 cm: MMT cannot matter
            ("B", "2", 0, 3.0, 5, 0.5, 1, 120, 150, 1000, 200),
            ("B", "2", 4, 5.0, 5, 0.5, 1, None, 150, 1000, 200),  # physician +2 cm: MMT decides, unknown
            ("C", "3", 0, 1.0, 1, 0.5, 0.5, 120, 150, 1000, 200),
            ("C", "3", 4, 1.0, 4, 3.5, 1.4, None, 150, 1000, 200),  # three CSMs worse by >= 30% without MMT: met
        ]
    )
    scores = total_improvement_score(visits)
    assert as_list(scores["deterioration_criteria_met"]) == [False, None, True]


@pytest.mark.parametrize("reading, met", [("range", False), ("baseline", True)])
def test_low_baselines_split_the_two_readings(reading, met):
    # physician global 2 -> 3 cm, patient global 2 -> 3 cm, HAQ 0.5 -> 0.75: 50% worse relative to baseline,
    # 10%, 10% and 8.3% of the range
    visits = visit_table(
        [
            ("A", "1", 0, 2.0, 2.0, 0.5, 0.5, 140, 150, 1000, 200),
            ("A", "1", 4, 3.0, 3.0, 0.5, 0.75, 140, 150, 1000, 200),
            ("A", "1", 8, 3.0, 3.0, 0.5, 0.75, 140, 150, 1000, 200),
        ]
    )
    scores = total_improvement_score(visits, deterioration_reading=reading)
    assert as_list(scores["deterioration_criteria_met"]) == [met, met]
    assert as_list(scores["confirmed_deterioration"]) == [False, met]
    assert (scores["deterioration_reading"] == reading).all()


def test_baseline_reading_at_the_mmt_criterion():
    # MMT 60 -> 48 of 150 is 20% of the baseline and 8% of the range; physician +2 cm
    visits = visit_table(
        [("A", "1", 0, 3.0, 5, 0.5, 1, 60, 150, 1000, 200), ("A", "1", 4, 5.0, 5, 0.5, 1, 48, 150, 1000, 200)]
    )
    assert not total_improvement_score(visits)["deterioration_criteria_met"].iloc[0]
    assert total_improvement_score(visits, deterioration_reading="baseline")["deterioration_criteria_met"].iloc[0]


def test_no_worsening_from_a_zero_baseline_is_not_worse_relative_to_it():
    visits = visit_table(
        [("A", "1", 0, 0.0, 0.0, 0.0, 0.0, 140, 150, 1000, 200), ("A", "1", 4, 0.0, 0.0, 0.0, 0.0, 140, 150, 1000, 200)]
    )
    assert not total_improvement_score(visits, deterioration_reading="baseline")["deterioration_criteria_met"].iloc[0]


@pytest.mark.parametrize("confirmation, confirmed", [("any", True), ("same", False)])
def test_confirmation_with_different_criteria_at_the_two_visits(confirmation, confirmed):
    visits = visit_table(
        [
            ("A", "1", 0, 3.0, 5, 0.5, 1, 120, 150, 1000, 200),
            ("A", "1", 4, 3.0, 5, 2.5, 1, 120, 150, 1000, 200),  # extramuscular +2 cm only
            ("A", "1", 8, 5.0, 5, 0.5, 1, 90, 150, 1000, 200),  # physician +2 cm and MMT -20% only
            ("A", "1", 12, 5.0, 5, 0.5, 1, 90, 150, 1000, 200),  # the same again: confirmed either way
        ]
    )
    scores = total_improvement_score(visits, deterioration_confirmation=confirmation)
    assert as_list(scores["confirmed_deterioration"]) == [False, confirmed, True]
    assert (scores["deterioration_confirmation"] == confirmation).all()


def test_options_are_checked_and_the_defaults_labelled_as_the_kits_reading():
    visits = visit_table(
        [("A", "1", 0, 3.0, 5, 0.5, 1, 120, 150, 1000, 200), ("A", "1", 4, 3.0, 5, 0.5, 1, 120, 150, 1000, 200)]
    )
    with pytest.raises(InputError, match="range, baseline"):
        total_improvement_score(visits, deterioration_reading="of range")
    with pytest.raises(InputError, match="any, same"):
        total_improvement_score(visits, deterioration_confirmation="both")
    scores = total_improvement_score(visits)
    assert scores["deterioration_reading"].iloc[0] == "range"
    assert scores["deterioration_confirmation"].iloc[0] == "any"
    assert "kit's reading" in READING_LABELS[DeteriorationReading.RANGE]
    assert "kit's reading" in CONFIRMATION_LABELS[DeteriorationConfirmation.ANY]
    assert "kit's reading" not in READING_LABELS[DeteriorationReading.BASELINE]


def test_composite_propagates_unknown_and_never_counts_it_as_a_responder():
    visits = visit_table(
        [
            # improves a lot, extramuscular +2 cm at week 4, extramuscular not recorded at week 8, recovered at 12
            ("A", "1", 0, 6.0, 6, 1.0, 2, 100, 150, 2000, 200),
            ("A", "1", 4, 3.0, 3, 3.0, 1, 130, 150, 500, 200),
            ("A", "1", 8, 3.0, 3, None, 1, 130, 150, 500, 200),
            ("A", "1", 12, 3.0, 3, 1.0, 1, 130, 150, 500, 200),
            # the same course with every measure recorded: a responder
            ("B", "2", 0, 6.0, 6, 1.0, 2, 100, 150, 2000, 200),
            ("B", "2", 4, 3.0, 3, 3.0, 1, 130, 150, 500, 200),
            ("B", "2", 8, 3.0, 3, 1.0, 1, 130, 150, 500, 200),
            ("B", "2", 12, 3.0, 3, 1.0, 1, 130, 150, 500, 200),
            # confirmed deterioration at 4 and 8: not a responder whatever the TIS at 12
            ("C", "3", 0, 6.0, 6, 1.0, 2, 100, 150, 2000, 200),
            ("C", "3", 4, 6.0, 6, 3.0, 2, 100, 150, 2000, 200),
            ("C", "3", 8, 6.0, 6, 3.0, 2, 100, 150, 2000, 200),
            ("C", "3", 12, 3.0, 3, 1.0, 1, 130, 150, 500, 200),
            # TIS unknown at week 12 (HAQ not recorded)
            ("D", "4", 0, 6.0, 6, 1.0, 2, 100, 150, 2000, 200),
            ("D", "4", 12, 3.0, 3, 1.0, None, 130, 150, 500, 200),
            # no visit at week 12: a non-responder
            ("E", "5", 0, 6.0, 6, 1.0, 2, 100, 150, 2000, 200),
            ("E", "5", 4, 3.0, 3, 1.0, 1, 130, 150, 500, 200),
        ]
    )
    scores = total_improvement_score(visits)
    composite = composite_response(scores, week=12).set_index("patient_id")
    assert composite.loc["1", "tis"] >= 20 and composite.loc["3", "tis"] >= 20
    assert as_list(composite["confirmed_deterioration"]) == [None, False, True, False, False]
    assert as_list(composite["responder"]) == [None, True, False, None, False]
    assert np.isnan(composite.loc["4", "tis"])
