"""One proportion k/n (ivig_kit.inference.proportions): each expected value comes from a route other than the code
under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ivig_kit.errors import InputError
from ivig_kit.inference import proportions

RESPONDERS, ANALYSED = 8, 19  # pilot primary outcome (Lim et al. 2021)
PRINTED_LOW, PRINTED_HIGH = 19.6, 64.6  # printed as "Clopper-Pearson 95% CI: 19.6, 64.6"


def binomial_pmf(j: int, n: int, p: float) -> float:
    return math.comb(n, j) * p**j * (1 - p) ** (n - j)


# --------------------------------------------------------------------------- Clopper-Pearson and 8/19


def test_clopper_pearson_8_of_19_equals_beta_quantiles():
    low, high = proportions.clopper_pearson_interval(RESPONDERS, ANALYSED)
    assert low == pytest.approx(stats.beta.ppf(0.025, 8, 12), abs=1e-12)
    assert high == pytest.approx(stats.beta.ppf(0.975, 9, 11), abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.2025, 0.6650)


def test_clopper_pearson_limits_solve_the_binomial_tails():
    # Definition: P(X >= 8 | low) = 0.025 and P(X <= 8 | high) = 0.025, summed by hand.
    low, high = proportions.clopper_pearson_interval(RESPONDERS, ANALYSED)
    assert sum(binomial_pmf(j, 19, low) for j in range(8, 20)) == pytest.approx(0.025, abs=1e-9)
    assert sum(binomial_pmf(j, 19, high) for j in range(0, 9)) == pytest.approx(0.025, abs=1e-9)


def test_printed_interval_is_not_the_clopper_pearson_interval():
    low, high = proportions.clopper_pearson_interval(RESPONDERS, ANALYSED)
    exact = (round(100 * low, 1), round(100 * high, 1))
    assert exact == (20.3, 66.5)
    assert exact != (PRINTED_LOW, PRINTED_HIGH)
    # Pinned discrepancy, percentage points: the printed limits sit 0.7 below and 1.9 below the exact ones.
    assert (round(exact[0] - PRINTED_LOW, 1), round(exact[1] - PRINTED_HIGH, 1)) == (0.7, 1.9)
    # And 8/19 is 42.1%, not the printed 42.0%.
    assert round(100 * RESPONDERS / ANALYSED, 1) == 42.1


def test_clopper_pearson_width_and_edges():
    assert proportions.clopper_pearson_width(8, 19) == pytest.approx(
        stats.beta.ppf(0.975, 9, 11) - stats.beta.ppf(0.025, 8, 12)
    )
    low, high = proportions.clopper_pearson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))  # closed form for k = 0
    low, high = proportions.clopper_pearson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 10))


# --------------------------------------------------------------------------- sample-size statement


def test_sample_size_statement_reproduces_to_three_decimals():
    # "20 patients had an exact (Clopper-Pearson) two-sided 95% CI with a total width of 0.448
    # (0.361-0.809) assuming a sample proportion of 0.60": 12/20.
    check = proportions.sample_size_statement_check(n=20, proportion=0.60)
    assert check.k == 12
    assert check.low == pytest.approx(stats.beta.ppf(0.025, 12, 9), abs=1e-12)
    assert check.high == pytest.approx(stats.beta.ppf(0.975, 13, 8), abs=1e-12)
    assert (round(check.low, 3), round(check.high, 3), round(check.width, 3)) == (0.361, 0.809, 0.448)


def test_sample_size_statement_rejects_a_fractional_count():
    with pytest.raises(InputError, match="whole number"):
        proportions.sample_size_statement_check(n=19, proportion=0.60)


# --------------------------------------------------------------------------- mid-p


def brute_force_mid_p(k: int, n: int, confidence: float = 0.95, step: float = 1e-6) -> tuple[float, float]:
    """Mid-p limits as the edges of the set of p not rejected, on a fine grid, pmf summed by hand."""
    grid = np.arange(step, 1, step)
    pmf = np.array([math.comb(n, j) * grid**j * (1 - grid) ** (n - j) for j in range(n + 1)])
    upper_tail = pmf[k + 1 :].sum(axis=0) + 0.5 * pmf[k]  # P(X > k) + P(X = k)/2
    lower_tail = pmf[:k].sum(axis=0) + 0.5 * pmf[k]  # P(X < k) + P(X = k)/2
    tail = (1 - confidence) / 2
    kept = grid[(upper_tail >= tail) & (lower_tail >= tail)]
    return float(kept.min()), float(kept.max())


@pytest.mark.parametrize(("k", "n"), [(8, 19), (1, 10), (12, 20)])
def test_mid_p_interval_matches_brute_force_grid(k, n):
    low, high = proportions.mid_p_interval(k, n)
    grid_low, grid_high = brute_force_mid_p(k, n)
    assert low == pytest.approx(grid_low, abs=2e-6)
    assert high == pytest.approx(grid_high, abs=2e-6)


def test_mid_p_for_8_of_19_pinned_and_inside_clopper_pearson():
    low, high = proportions.mid_p_interval(8, 19)
    assert (round(low, 4), round(high, 4)) == (0.2183, 0.6463)
    cp_low, cp_high = proportions.clopper_pearson_interval(8, 19)
    assert cp_low < low < high < cp_high


def test_mid_p_with_no_events_has_closed_form():
    # k = 0: the upper limit solves P(X = 0)/2 = 0.025, i.e. (1 - p)^n = 0.05.
    low, high = proportions.mid_p_interval(0, 15)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.05 ** (1 / 15), abs=1e-10)


# --------------------------------------------------------------------------- all methods


def test_proportion_intervals_table_against_textbook_formulas():
    table = proportions.proportion_intervals(8, 19).set_index("method")
    assert list(table.index) == ["clopper_pearson", "wilson", "jeffreys", "mid_p", "wald", "agresti_coull"]
    assert list(table.columns) == ["low", "high", "width"]
    z, p, n = 1.959963984540054, 8 / 19, 19
    wald_half = z * math.sqrt(p * (1 - p) / n)
    assert tuple(table.loc["wald", ["low", "high"]]) == pytest.approx((p - wald_half, p + wald_half))
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    wilson_half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert tuple(table.loc["wilson", ["low", "high"]]) == pytest.approx((centre - wilson_half, centre + wilson_half))
    assert tuple(table.loc["jeffreys", ["low", "high"]]) == pytest.approx(
        (stats.beta.ppf(0.025, 8.5, 11.5), stats.beta.ppf(0.975, 8.5, 11.5))
    )
    n_tilde = n + z**2
    p_tilde = (8 + z**2 / 2) / n_tilde
    ac_half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    assert tuple(table.loc["agresti_coull", ["low", "high"]]) == pytest.approx((p_tilde - ac_half, p_tilde + ac_half))
    assert np.allclose(table["width"], table["high"] - table["low"])
    # Rounded to 0.1%, as the notebook shows them.
    assert (100 * table[["low", "high"]]).round(1).to_dict("index") == {
        "clopper_pearson": {"low": 20.3, "high": 66.5},
        "wilson": {"low": 23.1, "high": 63.7},
        "jeffreys": {"low": 22.3, "high": 64.1},
        "mid_p": {"low": 21.8, "high": 64.6},
        "wald": {"low": 19.9, "high": 64.3},
        "agresti_coull": {"low": 23.1, "high": 63.8},
    }


def test_bad_proportion_input_is_an_input_error():
    with pytest.raises(InputError):
        proportions.clopper_pearson_interval(20, 19)
    with pytest.raises(InputError):
        proportions.proportion_intervals(8, 19, confidence=1.0)
    with pytest.raises(InputError, match="unknown interval method"):
        proportions.proportion_interval(8, 19, method="exact")


# --------------------------------------------------------------------------- the printed interval


# --------------------------------------------------------------------------- Bayesian view


def test_beta_posterior_is_beta_of_successes_and_failures():
    posterior = proportions.beta_posterior(8, 19)
    assert posterior.args == (9, 12)
    assert posterior.ppf(0.5) == pytest.approx(stats.beta.ppf(0.5, 9, 12))
    assert proportions.beta_posterior(8, 19, prior=(0.5, 0.5)).mean() == pytest.approx(8.5 / 20)


def test_probability_rate_exceeds_via_the_beta_binomial_identity():
    # For integer a, b: P(Beta(a, b) > x) = P(Binomial(a + b - 1, x) <= a - 1); here a = 9, b = 12.
    expected = sum(binomial_pmf(j, 20, 0.30) for j in range(0, 9))
    assert proportions.probability_rate_exceeds(8, 19, 0.30) == pytest.approx(expected, abs=1e-12)
    assert round(proportions.probability_rate_exceeds(8, 19, 0.30), 3) == 0.887


def test_credible_interval_against_beta_quantiles_and_jeffreys():
    assert proportions.credible_interval(8, 19) == pytest.approx(
        (stats.beta.ppf(0.025, 9, 12), stats.beta.ppf(0.975, 9, 12))
    )
    # With the Jeffreys prior Beta(1/2, 1/2) the equal-tailed credible interval is the Jeffreys interval.
    jeffreys = proportions.proportion_interval(8, 19, "jeffreys")
    assert proportions.credible_interval(8, 19, prior=(0.5, 0.5)) == pytest.approx(jeffreys)
    with pytest.raises(InputError):
        proportions.beta_posterior(8, 19, prior=(0, 1))


# --------------------------------------------------------------------------- Wilcoxon
