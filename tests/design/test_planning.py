"""Power of the follow-on trial (ivig_kit.design.planning): the simulated twins meet the closed forms within
Monte Carlo error; sample sizes, anchors and assurance."""

from __future__ import annotations

import pandas as pd
import pytest

from ivig_kit.design import planning
from ivig_kit.design import simulation as design
from ivig_kit.facts import published_value


def within_mc_error(simulated: float, se: float, expected: float, slack: float = 0.0) -> bool:
    return abs(simulated - expected) <= 4 * se + slack


@pytest.mark.parametrize("effect, sd, n_per_arm", [(20, 22.3, 24), (10, 22.3, 40), (8, 20.0, 15)])
def test_simulated_t_test_power_matches_statsmodels(effect, sd, n_per_arm):
    power, se = planning.simulated_normal_power(effect, sd, n_per_arm, 6000, seed=5)
    assert within_mc_error(power, se, planning.t_test_power(effect, sd, 2 * n_per_arm))


def test_type_one_error_is_alpha():
    power, se = planning.simulated_normal_power(0.0, 22.3, 24, 8000, seed=6)
    assert within_mc_error(power, se, 0.05)


@pytest.mark.parametrize("p_control, p_ivig, n_per_arm", [(0.30, 0.50, 100), (0.42, 0.76, 60), (0.23, 0.68, 40)])
def test_simulated_proportion_power_matches_the_two_proportion_formula(p_control, p_ivig, n_per_arm):
    power, se = planning.simulated_proportion_power(p_control, p_ivig, n_per_arm, 6000, seed=7)
    # the formula is itself a normal approximation: allow a percentage point beyond Monte Carlo error
    assert within_mc_error(power, se, planning.two_proportion_power(p_control, p_ivig, n_per_arm), slack=0.01)
    assert within_mc_error(power, se, planning.arcsine_power(p_control, p_ivig, n_per_arm), slack=0.015)


def test_main_scenario_t_test_power_matches_the_closed_form_within_mc_error():
    table = design.power(design.MAIN, 48, 3000, seed=8)
    row = table.loc[design.ANALYSES["p_t_test"]]
    closed = planning.t_test_power(design.MAIN.effect, design.MAIN.target_sd, 48, design.MAIN.dropout)
    # the TIS is bounded and banded, not normal: a little slack beyond Monte Carlo error
    assert within_mc_error(row["power"], row["mc_se"], closed, slack=0.02)


def test_sample_size_from_a_curve_recovers_the_closed_form():
    sizes = [24, 32, 48, 64, 80]
    curve = pd.DataFrame(
        {
            "n_total": sizes,
            "analysis": "x",
            "trials": 10**6,
            "power": [planning.t_test_power(20, 22.3, n) for n in sizes],
        }
    )
    for target in (0.8, 0.9):
        closed_form = planning.t_test_sample_size(20, 22.3, target)
        assert abs(planning.sample_size_from_curve(curve, "x", target) - closed_form) <= 2


def test_sample_size_inflates_for_dropout():
    assert planning.t_test_sample_size(20, 22.3, 0.9, 0.10) == 62
    assert planning.t_test_sample_size(20, 22.3, 0.9, 0.0) == 56


def test_anchors_come_from_the_published_facts():
    assert design.proderm_pooled_sd() == pytest.approx(22.27, abs=0.01)
    assert design.pilot_tau_weeks() == pytest.approx(2.25, abs=0.01)
    mean, _sd = planning.assurance_prior()
    assert mean == pytest.approx((48.4 - 21.6) * (8 / 19) / 0.68)
    assert published_value("time_is_muscle", "planned_n") == 48
    assert set(planning.assumptions_table()["basis"]) <= {
        "published",
        "anchored",
        "derived",
        "assumed",
        "derived + assumed",
    }


def test_simulated_outputs_are_labelled():
    assert "simulated" in design.power(design.MAIN, 48, 50, seed=1).index.name
    assert "simulated" in design.calibration_table(design.MAIN, n=2000).index.name
    assert "simulated" in planning.assurance(design.MAIN, 48, 50, seed=1).index[0]
