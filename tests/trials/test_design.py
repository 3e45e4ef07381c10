"""The follow-on trial design: simulated power against closed forms, the engine, seeding, exercises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from ivig_kit.design import figures, planning
from ivig_kit.design import simulation as design
from ivig_kit.design.exercises import DESIGN_EXERCISES
from ivig_kit.score import total_improvement_score
from ivig_kit.teaching.exercises import check_answer, solution_button
from ivig_kit.trials import published_value


def within_mc_error(simulated: float, se: float, expected: float, slack: float = 0.0) -> bool:
    return abs(simulated - expected) <= 4 * se + slack


# --- Closed-form checks --------------------------------------------------------------------------


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
    curve = pd.DataFrame({"n_total": sizes, "analysis": "x", "trials": 10**6,
                          "power": [planning.t_test_power(20, 22.3, n) for n in sizes]})
    for target in (0.8, 0.9):
        closed_form = planning.t_test_sample_size(20, 22.3, target)
        assert abs(planning.sample_size_from_curve(curve, "x", target) - closed_form) <= 2


def test_sample_size_inflates_for_dropout():
    assert planning.t_test_sample_size(20, 22.3, 0.9, 0.10) == 62
    assert planning.t_test_sample_size(20, 22.3, 0.9, 0.0) == 56


# --- The vectorised analyses against reference implementations -----------------------------------


@pytest.fixture(scope="module")
def small_sim():
    return design.simulate_tis(design.MAIN, 12, 5, seed=9)


def test_t_test_and_ancova_match_scipy_and_ols(small_sim):
    y, seen, ivig = small_sim["tis"][..., -1], small_sim["observed"][..., -1], small_sim["ivig"]
    p_t = design.t_test_pvalues(y, ivig, seen)
    p_a = design.ancova_pvalues(y, ivig, small_sim["mmt_baseline"], seen)
    for t in range(y.shape[0]):
        keep = seen[t]
        assert p_t[t] == pytest.approx(stats.ttest_ind(y[t, keep & ivig], y[t, keep & ~ivig]).pvalue, rel=1e-9)
        exog = sm.add_constant(np.column_stack([ivig[keep], small_sim["mmt_baseline"][t, keep]]).astype(float))
        assert p_a[t] == pytest.approx(sm.OLS(y[t, keep], exog).fit().pvalues[1], rel=1e-7)


def test_logrank_matches_statsmodels_survdiff():
    rng = np.random.default_rng(10)
    treated = np.arange(40) >= 20
    event_visit = np.where(rng.random((4, 40)) < np.where(treated, 0.6, 0.3), rng.integers(0, 3, (4, 40)), -1)
    last_visit = np.where(rng.random((4, 40)) < 0.15, rng.integers(-1, 3, (4, 40)), 2)
    event_visit = np.where(event_visit > last_visit, -1, event_visit)
    p = design.logrank_pvalues(event_visit, last_visit, treated, 3)
    for t in range(4):
        time = np.where(event_visit[t] >= 0, event_visit[t], last_visit[t]) + 1.0
        status = (event_visit[t] >= 0).astype(int)
        keep = time > 0  # patients with no visit are never at risk
        assert p[t] == pytest.approx(survdiff(time[keep], status[keep], treated[keep].astype(int))[1], rel=1e-6)


# --- The simulation: the engine, bounds, seeding, calibration ------------------------------------


def test_simulated_tis_is_on_the_score_grid(small_sim):
    tis = small_sim["tis"]
    assert tis.shape == (5, 24, len(design.WEEKS))
    assert tis.min() >= 0 and tis.max() <= 100
    assert np.all(np.isclose(tis / 2.5, np.round(tis / 2.5)))
    observed = small_sim["observed"]
    assert np.all(observed[..., 1:] <= observed[..., :-1])  # once gone, gone


def test_vectorised_scoring_equals_the_whole_table_engine():
    table = design.simulated_visit_table(design.MAIN, 4, 3, seed=11)
    scored = total_improvement_score(table, enzyme_normalisation="relative").sort_values(["site", "patient_id", "week"])
    sim = design.simulate_tis(design.MAIN, 4, 3, seed=11)
    np.testing.assert_array_equal(scored["tis"].to_numpy().reshape(sim["tis"].shape), sim["tis"])


def test_same_seed_same_trials_other_seed_other_trials():
    first = design.simulate_trials(design.MAIN, 48, 300, seed=12, chunk=100)
    again = design.simulate_trials(design.MAIN, 48, 300, seed=12, chunk=100)
    other = design.simulate_trials(design.MAIN, 48, 300, seed=13, chunk=100)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_entry_criterion_holds_for_every_simulated_patient(small_sim):
    assert small_sim["mmt_baseline"].max() <= (1 - published_value("time_is_muscle", "min_mmt_loss_percent") / 100) \
        * design.MMT_MAX


def test_frozen_main_scenario_reproduces_its_targets():
    table = design.calibration_table(design.MAIN)
    assert np.allclose(table["simulated mean"], table["target mean"], atol=1.0)
    assert np.sqrt(np.mean(table["simulated SD"] ** 2)) == pytest.approx(design.MAIN.target_sd, abs=1.0)


def test_frozen_main_scenario_is_what_calibration_finds():
    assert design.calibrate(design.Scenario()) == design.MAIN


def test_anchors_come_from_the_published_facts():
    assert design.proderm_pooled_sd() == pytest.approx(22.27, abs=0.01)
    assert design.pilot_tau_weeks() == pytest.approx(2.25, abs=0.01)
    mean, _sd = planning.assurance_prior()
    assert mean == pytest.approx((48.4 - 21.6) * (8 / 19) / 0.68)
    assert published_value("time_is_muscle", "planned_n") == 48
    assert set(planning.assumptions_table()["basis"]) <= {"published", "anchored", "derived", "assumed",
                                                        "derived + assumed"}


def test_simulated_outputs_are_labelled():
    assert "simulated" in design.power(design.MAIN, 48, 50, seed=1).index.name
    assert "simulated" in design.calibration_table(design.MAIN, n=2000).index.name
    assert "simulated" in planning.assurance(design.MAIN, 48, 50, seed=1).index[0]


def test_validated_sizes_rejects_what_is_not_a_positive_whole_number():
    assert design.validated_sizes(n=3) == {"n": 3}
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError):
            design.validated_sizes(n=bad)


# --- Exercises and widgets -----------------------------------------------------------------------


@pytest.mark.parametrize("exercise", list(DESIGN_EXERCISES))
def test_checks_prompt_when_unanswered_accept_right_and_reject_wrong_answers(exercise):
    spec = DESIGN_EXERCISES[exercise]
    unanswered = check_answer(exercise, None)
    assert unanswered.status == "unanswered" and "Not answered yet" in repr(unanswered)
    assert "Correct" not in repr(unanswered) and spec.explanation not in repr(unanswered)
    assert check_answer(exercise, spec.answer())
    assert not check_answer(exercise, 12345)
    assert not check_answer(exercise, "a lot")
    for wrong, why in spec.mistakes.items():
        verdict = check_answer(exercise, wrong)
        assert verdict.status == "incorrect" and why in repr(verdict)


def test_exercise_answers():
    assert check_answer("design.power_48", 0.86) and not check_answer("design.power_48", 0.99)
    assert check_answer("design.n_90_dropout", 62) and not check_answer("design.n_90_dropout", 56)
    assert check_answer("design.mc_se", 0.02) and not check_answer("design.mc_se", 0.0004)


def test_solution_is_shown_only_after_a_click():
    box = solution_button("design.mc_se")
    button, shown = box.children
    assert shown.value == ""
    button.click()
    assert DESIGN_EXERCISES["design.mc_se"].explanation.split(":")[0] in shown.value


def test_power_widget_follows_its_sliders():
    box = figures.power_widget()
    effect, sd, dropout, _n, result = box.children
    assert "N for 80%: <b>44</b>" in result.value
    effect.value = 15
    assert f"N for 80%: <b>{planning.t_test_sample_size(15, sd.value, 0.8, dropout.value)}</b>" in result.value


def test_throughput_benchmark_runs_and_its_two_analyses_agree():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "bench" / "design_throughput.py"
    result = subprocess.run([sys.executable, str(script), "--trials", "200", "--baseline-trials", "5"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr  # the script asserts both analyses give the same p values
    assert "simulated trials/s" in result.stdout and "ratio vectorised / per-trial loop" in result.stdout
