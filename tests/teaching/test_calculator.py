"""The TIS calculator's logic without a browser: set widget values, read what it displays.

What the calculator shows is compared with hand computation (in the comments) and with the
engine run on a visit table written out here.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ivig_kit.teaching.calculator import TISCalculator
from ivig_kit.teaching.next_category import what_would_it_take
from ivig_kit.teaching.patients import MEDIAN_PATIENT, RESPONDER

from .helpers import engine_row

CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")

#: A synthetic test patient on MMT-8 bilateral (0-150), CK ULN 200 U/l. By hand (adult, relative enzyme):
#: physician 3/10 = 30% -> 17.5; patient 2/10 = 20% -> 5; MMT 20/150 = 13.33% -> 20; HAQ 0.3/3 = 10% -> 5;
#: CK 200/1000 = 20% -> 5; extramuscular 1.5/10 = 15% (the edge) -> 7.5. Total 60: adult major (>= 60).
BASELINE = {
    "physician_global": 5.0,
    "patient_global": 6.0,
    "mmt": 100.0,
    "haq": 1.5,
    "enzyme": 1000.0,
    "extramuscular": 4.0,
}
FOLLOWUP = {
    "physician_global": 2.0,
    "patient_global": 4.0,
    "mmt": 120.0,
    "haq": 1.2,
    "enzyme": 800.0,
    "extramuscular": 2.5,
}
SHOWN_PERCENT = {
    "physician_global": "30.00%",
    "patient_global": "20.00%",
    "mmt": "13.33%",
    "haq": "10.00%",
    "enzyme": "20.00%",
    "extramuscular": "15.00%",
}
SHOWN_POINTS = {
    "physician_global": "17.5",
    "patient_global": "5",
    "mmt": "20",
    "haq": "5",
    "enzyme": "5",
    "extramuscular": "7.5",
}


def shown_total(calculator) -> str:
    return re.search(r'class="tis-total-value">([^<]*)<', calculator.total.value).group(1)


def shown_category(calculator) -> str:
    return re.search(r'class="tis-category-value">([^<]*)<', calculator.category.value).group(1)


def shown_rows(calculator) -> dict[str, tuple[str, str]]:
    """Per CSM, the displayed (absolute percent, points)."""
    rows = re.findall(
        r'<tr data-measure="(\w+)">.*?<td class="tis-percent">([^<]*)</td>'
        r'<td class="tis-points">([^<]*)</td>',
        calculator.table.value,
    )
    return {name: (percent, points) for name, percent, points in rows}


def shown_answer(calculator) -> str:
    text = re.search(r'class="tis-what-it-takes-text">(.*)</div>', calculator.what_it_takes.value).group(1)
    return text.replace("&gt;", ">").replace("&#x27;", "'")


@pytest.fixture
def calculator() -> TISCalculator:
    """A calculator with the test patient typed in, widget by widget, on MMT-8 bilateral."""
    calc = TISCalculator()
    calc.strength.value = "mmt:150"
    for name in CSMS:
        calc.baseline[name].value = BASELINE[name]
        calc.followup[name].value = FOLLOWUP[name]
    return calc


def test_starts_on_a_patient_whose_next_category_is_reachable():
    calc = TISCalculator()
    # the synthetic responder (see test_lessons): 15 + 2.5 + 10 + 5 + 7.5 + 7.5 = 47.5, adult moderate
    assert (shown_total(calc), shown_category(calc)) == ("47.5", "moderate")
    assert "synthetic" in calc.note.value
    # the first learner state is a useful answer, not a "cannot reach": MMT 121 -> 141 of 150 gives 27.5 points
    assert calc.target_measure.value == "mmt"
    assert shown_answer(calc) == (
        "To reach major (TIS >= 60), raise Manual muscle testing (MMT) at follow-up by "
        "a further 20, from 121 to 141: the TIS becomes 65."
    )
    assert what_would_it_take(RESPONDER, "physician_global").reachable is False  # why the physician is not chosen


def test_every_slider_set_by_hand_gives_the_hand_computed_display(calculator):
    assert shown_rows(calculator) == {m: (SHOWN_PERCENT[m], SHOWN_POINTS[m]) for m in CSMS}
    assert (shown_total(calculator), shown_category(calculator)) == ("60", "major")
    row = engine(BASELINE, FOLLOWUP, 150)
    assert (row["tis"], row["category"]) == (60.0, "major")
    for name in CSMS:
        assert f"{row[f'{name}_points']:g}" == shown_rows(calculator)[name][1]
        assert f"{row[f'{name}_percent']:.2f}%" == shown_rows(calculator)[name][0]


@pytest.mark.parametrize(
    "measure, value, percent, points, total, category",
    [
        # physician 5 -> 3.5: 15% -> 7.5 (10 fewer): 50 moderate
        ("physician_global", 3.5, "15.00%", "7.5", "50", "moderate"),
        # patient 6 -> 1.9: 41% -> 10 (5 more): 65
        ("patient_global", 1.9, "41.00%", "10", "65", "major"),
        # MMT 100 -> 115 of 150: exactly 10% -> 10 (10 fewer): 50
        ("mmt", 115.0, "10.00%", "10", "50", "moderate"),
        # HAQ 1.5 -> 1.65: worse -> 0 (5 fewer): 55
        ("haq", 1.65, "-5.00%", "0", "55", "moderate"),
        # CK 1000 -> 590: 41% -> 7.5 (2.5 more): 62.5
        ("enzyme", 590.0, "41.00%", "7.5", "62.5", "major"),
        # extramuscular 4 -> 2.4: 16% -> 12.5 (5 more): 65
        ("extramuscular", 2.4, "16.00%", "12.5", "65", "major"),
    ],
)
def test_moving_one_followup_updates_its_row_total_and_category(
    calculator, measure, value, percent, points, total, category
):
    calculator.followup[measure].value = value
    assert shown_rows(calculator)[measure] == (percent, points)
    assert (shown_total(calculator), shown_category(calculator)) == (total, category)
    row = engine(BASELINE, {**FOLLOWUP, measure: value}, 150)
    assert (f"{row['tis']:g}", row["category"]) == (total, category)


def test_moving_a_baseline_updates_the_display(calculator):
    # physician baseline 5 -> 2.5 with follow-up 2.0: 5% -> 0 (17.5 fewer): 42.5
    calculator.baseline["physician_global"].value = 2.5
    assert shown_rows(calculator)["physician_global"] == ("5.00%", "0")
    assert (shown_total(calculator), shown_category(calculator)) == ("42.5", "moderate")


def as_imacs_jdm(calculator):
    """Switch to the JDM IMACS core set, then type the test patient back in on MMT-8 bilateral (same ranges)."""
    calculator.core_set.value = "imacs_jdm"
    calculator.strength.value = "mmt:150"
    for name in CSMS:
        calculator.baseline[name].value = BASELINE[name]
        calculator.followup[name].value = FOLLOWUP[name]


def test_core_set_switch_loads_the_jdm_instruments_and_thresholds(calculator):
    calculator.core_set.value = "imacs_jdm"
    # the synthetic CMAS patient (see test_engine): 15 + 5 + 20 + 5 + 5 + 7.5 = 57.5, juvenile moderate
    assert (shown_total(calculator), shown_category(calculator)) == ("57.5", "moderate")
    assert calculator.strength.value == "cmas"
    assert "CMAS (0-52, higher is better)" in calculator.row_labels["mmt"].value
    assert "CHAQ (0-3" in calculator.row_labels["haq"].value
    assert "Parent global" in calculator.row_labels["patient_global"].value
    assert "juvenile thresholds: minimal &ge; 30, moderate &ge; 45, major &ge; 70" in calculator.category.value
    calculator.core_set.value = "printo_jdm"
    # 15 + 5 + 20 + 5 + CHQ PhS 10/60 -> 5 + DAS 4/20 -> 12.5 = 62.5
    assert (shown_total(calculator), shown_category(calculator)) == ("62.5", "moderate")
    assert "CHQ PhS (-10 to 50, higher is better)" in calculator.row_labels["enzyme"].value
    assert "DAS (0-20" in calculator.row_labels["extramuscular"].value
    assert calculator.chq_options.layout.display == "flex" and calculator.enzyme_options.layout.display == "none"
    assert "CHQ PhS" in calculator.table.value and "enzyme:" not in calculator.table.value
    # same values, adult against juvenile thresholds
    as_imacs_jdm(calculator)
    assert (shown_total(calculator), shown_category(calculator)) == ("60", "moderate")  # juvenile major is 70
    assert engine(BASELINE, FOLLOWUP, 150, population="juvenile")["category"] == "moderate"


def test_reset_returns_to_the_starting_patient(calculator):
    calculator.core_set.value = "printo_jdm"
    calculator.followup["physician_global"].value = 9.0
    calculator.reset()
    assert calculator.core_set.value == "adult" and calculator.strength.value == "mmt:150"
    assert (shown_total(calculator), shown_category(calculator)) == ("47.5", "moderate")
    assert calculator.followup["physician_global"].value == 4.2


def test_enzyme_option_and_uln(calculator):
    assert calculator.uln_multiplier.disabled  # k only matters for the ULN range
    assert "enzyme: relative, % of baseline" in calculator.table.value
    calculator.enzyme_normalisation.value = "uln_range"
    assert not calculator.uln_multiplier.disabled
    assert "enzyme: range-normalised, of 10 x ULN" in calculator.table.value
    # 200 U/l fall over 10 x 200 = 2000: 10% -> 2.5 (2.5 fewer): 57.5, no longer major
    assert shown_rows(calculator)["enzyme"] == ("10.00%", "2.5")
    assert (shown_total(calculator), shown_category(calculator)) == ("57.5", "moderate")
    row = engine(BASELINE, FOLLOWUP, 150, enzyme_normalisation="uln_range")
    assert (row["tis"], row["category"]) == (57.5, "moderate")
    calculator.uln_multiplier.value = 5  # over 1000: 20% -> 5
    assert shown_rows(calculator)["enzyme"] == ("20.00%", "5")
    calculator.enzyme_uln.value = 50  # over 5 x 50 = 250: 80% -> 7.5
    assert shown_rows(calculator)["enzyme"] == ("80.00%", "7.5")
    assert shown_total(calculator) == "62.5"


def shown_errors(calculator) -> list[str]:
    return [e.replace("&#x27;", "'") for e in re.findall(r"<li>(.*?)</li>", calculator.errors.value)]


@pytest.mark.parametrize(
    "measure, visit, value, message",
    [
        ("physician_global", "followup", 11.0, "Physician global follow-up: 11 cm is outside 0-10 cm."),
        ("haq", "baseline", 3.5, "HAQ baseline: 3.5 is outside 0-3."),
        ("mmt", "followup", 151.0, "MMT follow-up: 151 is outside 0-150."),
        (
            "enzyme",
            "followup",
            0.0,
            "CK follow-up: 0 U/l is not a measured level; enter a value above 0 and up to 1,000,000 U/l.",
        ),
        (
            "enzyme",
            "baseline",
            99_999_999.0,
            "CK baseline: 99,999,999 U/l is not a measured level; enter a value above 0 and up to 1,000,000 U/l.",
        ),
    ],
)
def test_a_bad_value_is_named_not_clamped(calculator, measure, visit, value, message):
    widget = getattr(calculator, visit)[measure]
    widget.value = value
    assert widget.value == value  # kept as typed
    assert shown_errors(calculator) == [message]
    assert calculator.total.value == calculator.table.value == ""  # nothing scored from a bad value
    assert "e+" not in calculator.errors.value
    widget.value = (BASELINE if visit == "baseline" else FOLLOWUP)[measure]
    assert calculator.errors.value == "" and shown_total(calculator) == "60"


def test_every_bad_value_is_named_at_once(calculator):
    calculator.followup["physician_global"].value = -1.0
    calculator.enzyme_uln.value = 0.0
    calculator.enzyme_normalisation.value = "uln_range"
    calculator.uln_multiplier.value = 0.0
    assert shown_errors(calculator) == [
        "Physician global follow-up: -1 cm is outside 0-10 cm.",
        "ULN: 0 U/l; enter a value above 0 and up to 1,000,000 U/l.",
        "k: 0; enter a multiplier above 0 and up to 1,000.",
    ]


def test_strength_instrument_sets_the_range(calculator):
    assert dict((v, k) for k, v in calculator.strength.options) == {
        "mmt:80": "MMT-8 unilateral (0-80)",
        "mmt:150": "MMT-8 bilateral (0-150)",
        "mmt:260": "13 groups bilateral, Kendall 0-10 grades (0-260)",
        "cmas": "Childhood Myositis Assessment Scale (CMAS 0-52)",
    }
    calculator.strength.value = "mmt:260"  # 20 / 260 = 7.69% -> 10 points: 50
    assert shown_rows(calculator)["mmt"] == ("7.69%", "10")
    assert engine(BASELINE, FOLLOWUP, 260)["tis"] == 50.0 == float(shown_total(calculator))
    calculator.strength.value = "mmt:80"  # 100 and 120 do not fit 0-80: named, never rescaled or clamped
    assert shown_errors(calculator) == ["MMT baseline: 100 is outside 0-80.", "MMT follow-up: 120 is outside 0-80."]
    assert calculator.patient().mmt_max == 80


def test_mmt_at_the_ceiling_is_flagged(calculator):
    calculator.baseline["mmt"].value = 150.0
    calculator.followup["mmt"].value = 150.0
    assert shown_rows(calculator)["mmt"] == ("0.00%", "0")
    assert "(baseline at floor/ceiling)" in calculator.table.value
    assert shown_total(calculator) == "40"  # 60 without its 20 MMT points


def test_large_enzyme_values_are_shown_without_exponents(calculator):
    calculator.baseline["enzyme"].value = 1_000_000.0
    calculator.followup["enzyme"].value = 250_000.0
    assert (
        '<td class="tis-wide">1,000,000</td><td class="tis-wide">250,000</td><td class="tis-wide">750,000</td>'
        in calculator.table.value
    )
    assert "e+" not in calculator.table.value + calculator.what_it_takes.value


def test_what_would_it_take_answer(calculator):
    # Adult 60 is already major.
    assert shown_answer(calculator) == "TIS 60 is already major: there is no higher category."
    # As JDM (60, moderate; major needs 70): MMT from 20 to 32.5 points needs more than 30% of 150 = 45,
    # i.e. 146 (145 is exactly 30%, 27.5 points, TIS 67.5).
    as_imacs_jdm(calculator)
    calculator.target_measure.value = "mmt"
    assert shown_answer(calculator) == (
        "To reach major (TIS >= 70), raise Manual muscle testing (MMT) at follow-up "
        "by a further 26, from 120 to 146: the TIS becomes 72.5."
    )
    assert engine(BASELINE, {**FOLLOWUP, "mmt": 146}, 150, population="juvenile")["tis"] == 72.5
    assert engine(BASELINE, {**FOLLOWUP, "mmt": 145}, 150, population="juvenile")["tis"] == 67.5
    # Extramuscular can reach at most 4/10 = 40% (15 points, not 20): 67.5.
    calculator.target_measure.value = "extramuscular"
    assert shown_answer(calculator).endswith("even its best value gives 15 points, a TIS of 67.5.")


def test_what_would_it_take_follows_the_inputs():
    calc = TISCalculator(patient=MEDIAN_PATIENT)
    calc.followup["physician_global"].value = 3.5  # 3% -> 0 points: 32.5, minimal
    assert (shown_total(calc), shown_category(calc)) == ("32.5", "minimal")
    # back to moderate (40) needs the physician's 7.5 points: more than 5%, i.e. 3.2 cm (6%); 3.3 is exactly 5%
    assert shown_answer(calc) == (
        "To reach moderate (TIS >= 40), lower Physician global activity (VAS 0-10 cm) at "
        "follow-up by a further 0.3 cm, from 3.5 to 3.2 cm: the TIS becomes 40."
    )


def test_result_and_patient_mirror_the_widgets(calculator):
    patient = calculator.patient()
    assert dict(patient.baseline) == BASELINE and dict(patient.followup) == FOLLOWUP
    assert patient.mmt_max == 150 and patient.enzyme == "ck" and patient.enzyme_uln == 200
    assert calculator.result().tis == 60
    assert "application/vnd.jupyter.widget-view+json" in calculator._repr_mimebundle_()


def engine(
    baseline: dict,
    followup: dict,
    mmt_max: float,
    uln: float = 200.0,
    population: str = "adult",
    enzyme_normalisation="relative",
) -> pd.Series:
    """The engine's score of the calculator's two visits (follow-up at week 9)."""
    return engine_row(baseline, followup, mmt_max, uln, population, enzyme_normalisation, week=9)
