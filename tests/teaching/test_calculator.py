"""The TIS calculator's logic without a browser: set widget values, read what it displays.

What the calculator shows is compared with hand computation (in the comments) and with the
engine run on a visit table written out here.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.teaching.calculator import TISCalculator

CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")

#: A synthetic test patient on MMT-8 bilateral (0-150), CK ULN 200 U/l. By hand (adult, relative enzyme):
#: physician 3/10 = 30% -> 17.5; patient 2/10 = 20% -> 5; MMT 20/150 = 13.33% -> 20; HAQ 0.3/3 = 10% -> 5;
#: CK 200/1000 = 20% -> 5; extramuscular 1.5/10 = 15% (the edge) -> 7.5. Total 60: adult major (>= 60).
BASELINE = {"physician_global": 5.0, "patient_global": 6.0, "mmt": 100.0, "haq": 1.5, "enzyme": 1000.0,
            "extramuscular": 4.0}
FOLLOWUP = {"physician_global": 2.0, "patient_global": 4.0, "mmt": 120.0, "haq": 1.2, "enzyme": 800.0,
            "extramuscular": 2.5}
SHOWN_PERCENT = {"physician_global": "30.00%", "patient_global": "20.00%", "mmt": "13.33%", "haq": "10.00%",
                 "enzyme": "20.00%", "extramuscular": "15.00%"}
SHOWN_POINTS = {"physician_global": "17.5", "patient_global": "5", "mmt": "20", "haq": "5", "enzyme": "5",
                "extramuscular": "7.5"}


def engine(baseline: dict, followup: dict, mmt_max: float, uln: float = 200.0, population: str = "adult",
           enzyme_normalisation="relative") -> pd.Series:
    """The engine's score of a two-visit table written out by hand (CK as the enzyme)."""
    visits = pd.DataFrame({
        "site": ["s", "s"], "patient_id": ["p", "p"], "week": [0, 9], "mmt_max": [mmt_max, mmt_max],
        **{m: [baseline[m], followup[m]] for m in CSMS if m != "enzyme"},
        "ck": [baseline["enzyme"], followup["enzyme"]], "ck_uln": [uln, uln]})
    return total_improvement_score(visits, population=population, enzyme_normalisation=enzyme_normalisation).iloc[0]


def shown_total(calculator) -> str:
    return re.search(r'class="tis-total-value">([^<]*)<', calculator.total.value).group(1)


def shown_category(calculator) -> str:
    return re.search(r'class="tis-category-value">([^<]*)<', calculator.category.value).group(1)


def shown_rows(calculator) -> dict[str, tuple[str, str]]:
    """Per CSM, the displayed (absolute percent, points)."""
    rows = re.findall(r'<tr data-measure="(\w+)">.*?<td class="tis-percent">([^<]*)</td>'
                      r'<td class="tis-points">([^<]*)</td>', calculator.table.value)
    return {name: (percent, points) for name, percent, points in rows}


def shown_answer(calculator) -> str:
    text = re.search(r'class="tis-what-it-takes-text">(.*)</div>', calculator.what_it_takes.value).group(1)
    return text.replace("&gt;", ">").replace("&#x27;", "'")


@pytest.fixture
def calculator() -> TISCalculator:
    """A calculator with the test patient typed in, widget by widget, on MMT-8 bilateral."""
    calc = TISCalculator()
    calc.mmt_scale.value = 150.0
    for name in CSMS:
        calc.baseline[name].value = BASELINE[name]
        calc.followup[name].value = FOLLOWUP[name]
    return calc


def test_starting_values_are_the_synthetic_median_patient():
    calc = TISCalculator()
    # 7.5 + 2.5 + 10 + 5 + 7.5 + 7.5 (see test_teaching): 40, adult moderate
    assert (shown_total(calc), shown_category(calc)) == ("40", "moderate")
    assert shown_rows(calc)["physician_global"] == ("15.00%", "7.5")
    assert shown_rows(calc)["mmt"] == ("6.15%", "10")  # 16 / 260
    assert "synthetic" in calc.ui.children[0].value


def test_every_slider_set_by_hand_gives_the_hand_computed_display(calculator):
    assert shown_rows(calculator) == {m: (SHOWN_PERCENT[m], SHOWN_POINTS[m]) for m in CSMS}
    assert (shown_total(calculator), shown_category(calculator)) == ("60", "major")
    row = engine(BASELINE, FOLLOWUP, 150)
    assert (row["tis"], row["category"]) == (60.0, "major")
    for name in CSMS:
        assert f"{row[f'{name}_points']:g}" == shown_rows(calculator)[name][1]
        assert f"{row[f'{name}_percent']:.2f}%" == shown_rows(calculator)[name][0]


@pytest.mark.parametrize("measure, value, percent, points, total, category", [
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
])
def test_moving_one_followup_updates_its_row_total_and_category(calculator, measure, value, percent, points,
                                                                 total, category):
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


def test_population_switch_changes_only_the_category(calculator):
    calculator.population.value = "juvenile"
    assert (shown_total(calculator), shown_category(calculator)) == ("60", "moderate")  # juvenile major is 70
    assert "juvenile thresholds: minimal &ge; 30, moderate &ge; 45, major &ge; 70" in calculator.category.value
    assert engine(BASELINE, FOLLOWUP, 150, population="juvenile")["category"] == "moderate"


def test_enzyme_option_and_uln(calculator):
    assert calculator.uln_multiplier.disabled  # k only matters for the ULN range
    calculator.enzyme_normalisation.value = "uln_range"
    assert not calculator.uln_multiplier.disabled
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


def test_slider_ranges_are_the_instrument_ranges(calculator):
    for name in ("physician_global", "patient_global", "extramuscular"):
        for slider in (calculator.baseline[name], calculator.followup[name]):
            assert (slider.min, slider.max) == (0, 10)
    for slider in (calculator.baseline["haq"], calculator.followup["haq"]):
        assert (slider.min, slider.max) == (0, 3)
    for slider in (calculator.baseline["mmt"], calculator.followup["mmt"]):
        assert (slider.min, slider.max) == (0, 150)
    for box in (calculator.baseline["enzyme"], calculator.followup["enzyme"]):
        assert box.min == 0  # no upper end: a number box, not a slider
    assert dict(calculator.mmt_scale.options) == {"MMT-8 unilateral (0-80)": 80, "MMT-8 bilateral (0-150)": 150,
                                                  "Kendall MMT, 13 groups bilateral (0-260)": 260}


def test_mmt_scale_change_moves_the_mmt_sliders(calculator):
    calculator.mmt_scale.value = 80.0
    assert calculator.baseline["mmt"].max == calculator.followup["mmt"].max == 80
    # values keep their share of the scale: 100/150 x 80 = 53.3, 120/150 x 80 = 64
    assert (calculator.baseline["mmt"].value, calculator.followup["mmt"].value) == (53.3, 64.0)
    # 10.7 / 80 = 13.375% -> 20 points, total unchanged at 60
    assert shown_rows(calculator)["mmt"] == ("13.38%", "20")
    assert engine({**BASELINE, "mmt": 53.3}, {**FOLLOWUP, "mmt": 64}, 80)["mmt_points"] == 20
    calculator.mmt_scale.value = 260.0
    assert calculator.baseline["mmt"].max == calculator.followup["mmt"].max == 260
    assert calculator.followup["mmt"].value == 208.0  # 64 / 80 x 260
    assert calculator.patient().mmt_max == 260


def test_mmt_at_the_ceiling_is_flagged(calculator):
    calculator.baseline["mmt"].value = 150.0
    calculator.followup["mmt"].value = 150.0
    assert shown_rows(calculator)["mmt"] == ("0.00%", "0")
    assert "(baseline at floor/ceiling)" in calculator.table.value
    assert shown_total(calculator) == "40"  # 60 without its 20 MMT points


def test_enzyme_baseline_zero_cannot_be_scored_relative(calculator):
    calculator.baseline["enzyme"].value = 0.0
    calculator.followup["enzyme"].value = 0.0
    assert shown_rows(calculator)["enzyme"] == ("n/a", "0")
    assert shown_total(calculator) == "55"


def test_what_would_it_take_answer(calculator):
    # Adult 60 is already major.
    assert shown_answer(calculator) == "TIS 60 is already major: there is no higher category."
    # As JDM (60, moderate; major needs 70): MMT from 20 to 32.5 points needs more than 30% of 150 = 45,
    # i.e. 146 (145 is exactly 30%, 27.5 points, TIS 67.5).
    calculator.population.value = "juvenile"
    calculator.target_measure.value = "mmt"
    assert shown_answer(calculator) == ("To reach major (TIS >= 70), raise Manual muscle testing (MMT) at follow-up "
                                        "by a further 26, from 120 to 146: the TIS becomes 72.5.")
    assert engine(BASELINE, {**FOLLOWUP, "mmt": 146}, 150, population="juvenile")["tis"] == 72.5
    assert engine(BASELINE, {**FOLLOWUP, "mmt": 145}, 150, population="juvenile")["tis"] == 67.5
    # Extramuscular can reach at most 4/10 = 40% (15 points, not 20): 67.5.
    calculator.target_measure.value = "extramuscular"
    assert shown_answer(calculator).endswith("even its best value gives 15 points, a TIS of 67.5.")


def test_what_would_it_take_follows_the_sliders():
    calc = TISCalculator()
    calc.followup["physician_global"].value = 3.5  # 3% -> 0 points: 32.5, minimal
    assert (shown_total(calc), shown_category(calc)) == ("32.5", "minimal")
    # back to moderate (40) needs the physician's 7.5 points: more than 5%, i.e. 3.2 cm (6%); 3.3 is exactly 5%
    assert shown_answer(calc) == ("To reach moderate (TIS >= 40), lower Physician global activity (VAS 0-10 cm) at "
                                  "follow-up by a further 0.3 cm, from 3.5 to 3.2 cm: the TIS becomes 40.")


def test_result_and_patient_mirror_the_widgets(calculator):
    patient = calculator.patient()
    assert dict(patient.baseline) == BASELINE and dict(patient.followup) == FOLLOWUP
    assert patient.mmt_max == 150 and patient.enzyme == "ck" and patient.enzyme_uln == 200
    assert calculator.result().tis == 60
    assert "application/vnd.jupyter.widget-view+json" in calculator._repr_mimebundle_()
