"""Notebook 05's widgets and exercises without a browser: set values, read what they show."""

import math

import pytest

from ivig_kit.exercises import check_answer, solution_text
from ivig_kit.teaching import core_set_exercises  # noqa: F401  (registers notebook 05's exercises)
from ivig_kit.teaching.core_set_lessons import (
    disagreeing_patients,
    doi_versus_tis,
    rules_side_by_side,
)
from ivig_kit.teaching.item_widgets import HAQForm, MMT8Grader


def test_grader_sums_eight_groups():
    grader = MMT8Grader()
    assert grader.total() == 64 and "64 / 80" in grader.shown.value
    grader.sliders["biceps"].value = 3
    grader.sliders["neck_flexors"].value = 10
    assert grader.total() == 61 and "61 / 80" in grader.shown.value


def test_haq_form_aid_rules():
    form = HAQForm()
    assert form.index() == 0.0 and "8 of 8 categories answered (on the 1/8 grid)" in form.shown.value
    form.items["haq_walking_1"].value = 1
    form.aids["haq_walking_aid"].value = True
    assert (form.index("standard"), form.index("adi"), form.index("plus_one")) == (0.25, 0.125, 0.25)
    assert "HAQ-DI (standard): 0.250" in form.shown.value and "HAQ-ADI: 0.125" in form.shown.value
    for column in ("haq_reach_1", "haq_reach_2"):
        form.items[column].value = None
    assert form.index() == pytest.approx(2 / 7) and "in steps of 1/7" in form.shown.value
    assert math.isnan(form.table().loc["reach", "standard"])


def test_exercises_answers_and_known_mistakes():
    assert check_answer("haq_cane", 1.125).status == "correct"
    assert "HAQ-ADI" in str(check_answer("haq_cane", 0.875))
    assert check_answer("haq_six_answered", 1.5).status == "correct"
    assert "divides by 8" in str(check_answer("haq_six_answered", 1.125))
    assert check_answer("mmt_left_biceps", 63).status == "correct"
    assert "leaves the biceps out" in str(check_answer("mmt_left_biceps", 57))
    assert check_answer("doi_veto", "no").status == "correct"
    assert "veto" in str(check_answer("doi_veto", "yes"))
    assert check_answer("doi_veto", None).status == "unanswered"
    assert "63 of 80" in solution_text("mmt_left_biceps")


def test_rules_side_by_side_changes_the_category():
    table = rules_side_by_side()
    default = table.iloc[0]
    assert (default["MMT week 12"], default["of"], default["TIS"]) == (64, 80, 57.5)
    assert table.loc["MMT-8 both sides (0-150)", "TIS"] == 47.5
    assert table.loc["HAQ always divided by 8 (some calculators)", "category"] == "major"
    assert math.isnan(table.loc["HAQ needs >= 7 categories answered", "TIS"])


def test_2004_and_2016_disagree_both_ways():
    table = doi_versus_tis(disagreeing_patients())
    assert table.loc["A", "TIS"] == 47.5 and not table.loc["A", "2004 improved"] and table.loc["A", "MMT worse (veto)"]
    assert table.loc["B", "TIS"] == 0 and table.loc["B", "2004 improved"]
