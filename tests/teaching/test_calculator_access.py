"""The calculator's accessibility on the Python side: every box has a name, a rejected box is marked."""

from __future__ import annotations

from ivig_kit.teaching.calculator import TISCalculator


def test_every_number_box_has_a_name_that_follows_the_instrument():
    calculator = TISCalculator()
    names = [w.description for w in (*calculator.baseline.values(), *calculator.followup.values())]
    assert len(set(names)) == 12 and "Physician global follow-up" in names and "CK baseline" in names
    calculator.core_set.value = "printo_jdm"
    names = {w.description for w in calculator.followup.values()}
    assert "CMAS follow-up" in names and "DAS follow-up" in names


def test_a_rejected_value_marks_its_box_for_screen_readers_and_sight_and_a_fix_clears_it():
    calculator = TISCalculator()
    calculator.followup["physician_global"].value = 11.0
    assert calculator.invalid_marks.invalid == ["tis-physician_global-followup"]
    assert "tis-invalid" in calculator.followup["physician_global"]._dom_classes
    assert 'role="alert"' in calculator.errors.value and "Physician global follow-up: 11 cm" in calculator.errors.value
    calculator.followup["physician_global"].value = 4.0
    assert calculator.invalid_marks.invalid == []
    assert "tis-invalid" not in calculator.followup["physician_global"]._dom_classes
    assert calculator.errors.value == ""
