"""Simulated follow-on trials (ivig_kit.design.simulation): scored by the engine, bounded, seeded, calibrated;
the vectorised analyses against reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from ivig_kit.design import simulation as design
from ivig_kit.facts import published_value
from ivig_kit.score import total_improvement_score


@pytest.fixture(scope="module")
def small_sim():
    return design.simulate_tis(design.MAIN, 12, 5, seed=9)


def test_t_test_and_ancova_match_scipy_and_ols(small_sim):
    y, seen, ivig = small_sim.tis[..., -1], small_sim.observed[..., -1], small_sim.ivig
    p_t = design.t_test_pvalues(y, ivig, seen)
    p_a = design.ancova_pvalues(y, ivig, small_sim.mmt_baseline, seen)
    for t in range(y.shape[0]):
        keep = seen[t]
        assert p_t[t] == pytest.approx(stats.ttest_ind(y[t, keep & ivig], y[t, keep & ~ivig]).pvalue, rel=1e-9)
        exog = sm.add_constant(np.column_stack([ivig[keep], small_sim.mmt_baseline[t, keep]]).astype(float))
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


def test_simulated_tis_is_on_the_score_grid(small_sim):
    tis = small_sim.tis
    assert tis.shape == (5, 24, len(design.WEEKS))
    assert tis.min() >= 0 and tis.max() <= 100
    assert np.all(np.isclose(tis / 2.5, np.round(tis / 2.5)))
    observed = small_sim.observed
    assert np.all(observed[..., 1:] <= observed[..., :-1])  # once gone, gone


def test_vectorised_scoring_equals_the_whole_table_engine():
    table = design.simulated_visit_table(design.MAIN, 4, 3, seed=11)
    scored = total_improvement_score(table, enzyme_normalisation="relative").sort_values(["site", "patient_id", "week"])
    sim = design.simulate_tis(design.MAIN, 4, 3, seed=11)
    np.testing.assert_array_equal(scored["tis"].to_numpy().reshape(sim.tis.shape), sim.tis)


def test_same_seed_same_trials_other_seed_other_trials():
    first = design.simulate_trials(design.MAIN, 48, 300, seed=12, chunk=100)
    again = design.simulate_trials(design.MAIN, 48, 300, seed=12, chunk=100)
    other = design.simulate_trials(design.MAIN, 48, 300, seed=13, chunk=100)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_entry_criterion_holds_for_every_simulated_patient(small_sim):
    assert (
        small_sim.mmt_baseline.max()
        <= (1 - published_value("time_is_muscle", "min_mmt_loss_percent") / 100) * design.MMT_MAX
    )


def test_frozen_main_scenario_reproduces_its_targets():
    table = design.calibration_table(design.MAIN)
    assert np.allclose(table["simulated mean"], table["target mean"], atol=1.0)
    assert np.sqrt(np.mean(table["simulated SD"] ** 2)) == pytest.approx(design.MAIN.target_sd, abs=1.0)


@pytest.mark.slow
def test_frozen_main_scenario_is_what_calibration_finds():
    assert design.calibrate(design.Scenario()) == design.MAIN


def test_validated_sizes_rejects_what_is_not_a_positive_whole_number():
    sizes = dict(n_trials=400, n_trials_curve=200, n_trials_sensitivity=150, n_trials_assurance=400, seed=2026)
    assert design.validated_sizes(**sizes) == design.SimulationSizes(**sizes)
    assert type(design.validated_sizes(**{**sizes, "seed": np.int64(7)}).seed) is int
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="n_trials_curve"):
            design.validated_sizes(**{**sizes, "n_trials_curve": bad})


@pytest.mark.slow
def test_throughput_benchmark_runs_and_its_two_analyses_agree():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "bench" / "design_throughput.py"
    result = subprocess.run(
        [sys.executable, str(script), "--trials", "200", "--baseline-trials", "5"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr  # the script asserts both analyses give the same p values
    assert "simulated trials/s" in result.stdout and "ratio vectorised / per-trial loop" in result.stdout
