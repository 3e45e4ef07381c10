"""Two-arm comparisons: each checked against a published reference value or an independent computation."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import optimize, stats

from ivig_kit.inference.posterior import risk_difference_posterior, risk_difference_posterior_draws
from ivig_kit.inference.printed import (
    prints_as,
)
from ivig_kit.inference.two_arm import (
    RISK_DIFFERENCE_METHODS,
    TWO_ARM_TESTS,
    cochran_mantel_haenszel,
    effect_measures,
    number_needed_to_treat,
    odds_ratio,
    relative_risk,
    risk_difference,
    risk_difference_interval,
    risk_difference_intervals,
    two_arm_p_values,
)

# Newcombe RG. Interval estimation for the difference between independent proportions: comparison of
# eleven methods. Stat Med 1998;17:873-890, Table II, example (a): 56/70 vs 48/80.
NEWCOMBE_1998_EXAMPLE_A = {
    "wald": (0.0575, 0.3425),  # method 1, asymptotic without continuity correction
    "wald_cc": (0.0441, 0.3559),  # method 2, asymptotic with continuity correction
    "mee": (0.0533, 0.3377),  # method 5, Mee
    "score": (0.0528, 0.3382),  # method 6, Miettinen-Nurminen
    "newcombe": (0.0524, 0.3339),  # method 10, score (Wilson) without continuity correction
}


@pytest.mark.parametrize("method", sorted(NEWCOMBE_1998_EXAMPLE_A))
def test_risk_difference_intervals_match_newcombe_1998(method):
    low, high = risk_difference_interval(56, 70, 48, 80, method=method)
    assert (round(low, 4), round(high, 4)) == NEWCOMBE_1998_EXAMPLE_A[method]


def test_mee_interval_matches_fagerland_2015():
    # Fagerland, Lydersen, Laake. Stat Methods Med Res 2015;24:224-254: 7/34 vs 1/34, score interval 0.028 to 0.34.
    low, high = risk_difference_interval(7, 34, 1, 34, method="mee")
    assert (round(low, 3), round(high, 2)) == (0.028, 0.34)


def wald_by_hand(x1, n1, x2, n2, z=1.959963984540054):
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return p1 - p2 - z * se, p1 - p2 + z * se


def wilson(x, n, z=1.959963984540054):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_by_hand(x1, n1, x2, n2):
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def score_interval_by_numerical_mle(x1, n1, x2, n2, correction, z=1.959963984540054):
    """Independent score interval: the restricted MLE by bounded numerical maximisation."""
    d = x1 / n1 - x2 / n2
    factor = (n1 + n2) / (n1 + n2 - 1) if correction else 1

    def statistic(delta):
        def minus_loglik(p2):
            p1 = p2 + delta
            return -(stats.binom.logpmf(x1, n1, p1) + stats.binom.logpmf(x2, n2, p2))

        result = optimize.minimize_scalar(
            minus_loglik,
            bounds=(max(0, -delta) + 1e-12, min(1, 1 - delta) - 1e-12),
            method="bounded",
            options={"xatol": 1e-13},
        )
        p2 = result.x
        p1 = p2 + delta
        return (d - delta) / math.sqrt(factor * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))

    return (
        optimize.brentq(lambda t: statistic(t) - z, -0.999, d - 1e-9),
        optimize.brentq(lambda t: statistic(t) + z, d + 1e-9, 0.999),
    )


@pytest.mark.parametrize("counts", [(37, 47, 21, 48), (32, 47, 11, 48), (15, 47, 4, 48), (3, 20, 9, 25)])
def test_intervals_agree_with_independent_formulas(counts):
    assert risk_difference_interval(*counts, method="wald") == pytest.approx(wald_by_hand(*counts), abs=1e-12)
    assert risk_difference_interval(*counts, method="newcombe") == pytest.approx(newcombe_by_hand(*counts), abs=1e-12)
    for method, correction in (("score", True), ("mee", False)):
        expected = score_interval_by_numerical_mle(*counts, correction=correction)
        assert risk_difference_interval(*counts, method=method) == pytest.approx(expected, abs=2e-6)


def test_method_aliases_and_unknown_method():
    assert risk_difference_interval(37, 47, 21, 48, method="miettinen_nurminen") == risk_difference_interval(
        37, 47, 21, 48, method="score"
    )
    with pytest.raises(ValueError, match="unknown method"):
        risk_difference_interval(37, 47, 21, 48, method="exact")
    with pytest.raises(ValueError, match="0 <= x <= n"):
        risk_difference_interval(48, 47, 21, 48)


@pytest.mark.parametrize("n1, n2", [(5, 5), (3, 7), (1, 4)])
def test_score_intervals_contain_the_estimate_at_every_corner(n1, n2):
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            d = x1 / n1 - x2 / n2
            for method in ("score", "mee"):
                low, high = risk_difference_interval(x1, n1, x2, n2, method=method)
                assert -1 <= low <= d <= high <= 1 and high - low > 0.05, (x1, n1, x2, n2, method, low, high)


def test_wider_confidence_gives_wider_intervals():
    for method in RISK_DIFFERENCE_METHODS:
        low90, high90 = risk_difference_interval(37, 47, 21, 48, method, confidence=0.90)
        low99, high99 = risk_difference_interval(37, 47, 21, 48, method, confidence=0.99)
        assert low99 < low90 and high90 < high99


def test_intervals_table_has_every_method_once():
    table = risk_difference_intervals(37, 47, 21, 48)
    assert list(table["method"]) == list(RISK_DIFFERENCE_METHODS)
    assert table["estimate"].tolist() == pytest.approx([37 / 47 - 21 / 48] * len(table))
    assert (table["width"] > 0).all()


def test_relative_risk_and_odds_ratio_by_hand():
    rr = relative_risk(37, 47, 21, 48)
    se = math.sqrt(1 / 37 - 1 / 47 + 1 / 21 - 1 / 48)
    assert rr.estimate == pytest.approx((37 / 47) / (21 / 48))
    assert (rr.low, rr.high) == pytest.approx(
        (rr.estimate * math.exp(-1.959964 * se), rr.estimate * math.exp(1.959964 * se)), rel=1e-6
    )
    oratio = odds_ratio(37, 47, 21, 48)
    se = math.sqrt(1 / 37 + 1 / 10 + 1 / 21 + 1 / 27)
    assert oratio.estimate == pytest.approx(37 * 27 / (10 * 21))
    assert (oratio.low, oratio.high) == pytest.approx(
        (oratio.estimate * math.exp(-1.959964 * se), oratio.estimate * math.exp(1.959964 * se)), rel=1e-6
    )
    exact = odds_ratio(37, 47, 21, 48, method="conditional_exact")
    assert exact.low < oratio.low and exact.high > oratio.high  # the exact interval is the wider one


def test_effect_measures_and_empty_cells():
    table = effect_measures(37, 47, 21, 48)
    assert set(table["measure"]) == {"relative risk", "odds ratio"}
    assert ((table["low"] < table["estimate"]) & (table["estimate"] < table["high"])).all()
    with pytest.raises(ValueError, match="log_adjusted"):
        relative_risk(0, 10, 5, 10, method="log")
    assert relative_risk(0, 10, 5, 10, method="log_adjusted").high > 0


def test_number_needed_to_treat():
    nnt = number_needed_to_treat(37, 47, 21, 48, method="wald")
    low, high = wald_by_hand(37, 47, 21, 48)
    assert nnt.estimate == pytest.approx(1 / (37 / 47 - 21 / 48))
    assert (nnt.low, nnt.high) == pytest.approx((1 / high, 1 / low))
    assert not nnt.through_infinity
    unclear = number_needed_to_treat(5, 10, 4, 10)
    assert unclear.through_infinity and unclear.low > 0 > unclear.high


def fisher_by_hand(x1, n1, x2, n2):
    """Two-sided Fisher: sum of hypergeometric tables no more likely than the observed one."""
    total, events = n1 + n2, x1 + x2
    probabilities = {
        k: Fraction(math.comb(events, k) * math.comb(total - events, n1 - k), math.comb(total, n1))
        for k in range(max(0, events - n2), min(events, n1) + 1)
    }
    return float(sum(p for p in probabilities.values() if p <= probabilities[x1]))


def pearson_by_hand(x1, n1, x2, n2, yates=False):
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    deviation = np.abs(table - expected) - (0.5 if yates else 0)
    statistic = float((deviation**2 / expected).sum())
    return statistic, float(stats.chi2.sf(statistic, 1))


def test_p_values_of_the_standard_tests():
    table = two_arm_p_values(37, 47, 21, 48).set_index("test")
    assert list(table.index) == ["fisher", "pearson", "pearson_yates", "barnard", "boschloo"]
    assert table.loc["fisher", "p_value"] == pytest.approx(fisher_by_hand(37, 47, 21, 48), rel=1e-9)
    assert table.loc["pearson", ["statistic", "p_value"]].tolist() == pytest.approx(pearson_by_hand(37, 47, 21, 48))
    assert table.loc["pearson_yates", ["statistic", "p_value"]].tolist() == pytest.approx(
        pearson_by_hand(37, 47, 21, 48, yates=True)
    )
    # unconditional exact tests are at least as powerful as Fisher's here
    assert table.loc["barnard", "p_value"] < table.loc["fisher", "p_value"]
    assert table.loc["boschloo", "p_value"] < table.loc["fisher", "p_value"]


def barnard_by_brute_force(x1, n1, x2, n2):
    """Two-sided Barnard p (pooled z): the largest, over the common proportion, probability of a z at least
    as extreme as the observed one; a grid over the proportion, then a local refinement."""
    k1, k2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    pooled = (k1 + k2) / (n1 + n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.nan_to_num((k1 / n1 - k2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
    extreme = np.abs(z) >= np.abs(z[x1, x2]) - 1e-12

    def probability(p):
        return float((stats.binom.pmf(k1, n1, p) * stats.binom.pmf(k2, n2, p))[extreme].sum())

    grid = np.linspace(0.0005, 0.9995, 2000)
    best = grid[np.argmax([probability(p) for p in grid])]
    refined = optimize.minimize_scalar(lambda p: -probability(p), bounds=(best - 0.001, best + 0.001), method="bounded")
    return max(probability(best), -refined.fun)


# Cases without exactly tied |z| values: scipy compares floats, so a tie off by 4e-16 can drop out.
@pytest.mark.parametrize("counts", [(37, 47, 21, 48), (7, 15, 12, 16)])
def test_barnard_takes_the_arms_as_the_binomial_samples(counts):
    p_value = two_arm_p_values(*counts, tests=("barnard",))["p_value"].iloc[0]
    assert p_value == pytest.approx(barnard_by_brute_force(*counts), rel=1e-4)


def test_p_values_are_symmetric_in_the_arms():
    forward = two_arm_p_values(37, 47, 21, 48, tests=tuple(TWO_ARM_TESTS)).set_index("test")["p_value"]
    backward = two_arm_p_values(21, 48, 37, 47, tests=tuple(TWO_ARM_TESTS)).set_index("test")["p_value"]
    assert forward.to_dict() == pytest.approx(backward.to_dict(), rel=1e-6)


def test_extended_tests_by_hand():
    table = two_arm_p_values(37, 47, 21, 48, tests=tuple(TWO_ARM_TESTS)).set_index("test")["p_value"]
    hypergeom = stats.hypergeom(95, 58, 47)
    assert table["fisher_doubled"] == pytest.approx(2 * hypergeom.sf(36))
    assert table["fisher_mid_p"] == pytest.approx(2 * (hypergeom.sf(37) + 0.5 * hypergeom.pmf(37)))
    z = (37 / 47 - 21 / 48) / math.sqrt(37 * 10 / 47**3 + 21 * 27 / 48**3)
    assert table["wald_unpooled"] == pytest.approx(2 * stats.norm.sf(z))
    z = math.log(37 * 27 / (10 * 21)) / math.sqrt(1 / 37 + 1 / 10 + 1 / 21 + 1 / 27)
    assert table["log_odds_ratio_wald"] == pytest.approx(2 * stats.norm.sf(z))
    with pytest.raises(ValueError, match="unknown test"):
        two_arm_p_values(1, 2, 1, 2, tests=("t_test",))


def test_posterior_agrees_with_independent_monte_carlo():
    posterior = risk_difference_posterior(37, 47, 21, 48, thresholds=(0.0, 0.2))
    generator = np.random.default_rng(7)
    draws = generator.beta(38, 11, 400_000) - generator.beta(22, 28, 400_000)
    assert posterior.probability_above[0.0] == pytest.approx((draws > 0).mean(), abs=2e-4)
    assert posterior.probability_above[0.2] == pytest.approx((draws > 0.2).mean(), abs=3e-3)
    assert (posterior.low, posterior.median, posterior.high) == pytest.approx(
        tuple(np.quantile(draws, [0.025, 0.5, 0.975])), abs=3e-3
    )
    assert posterior.mean == pytest.approx(38 / 49 - 22 / 50)
    assert posterior.summary()["value"].iloc[-1] == posterior.probability_above[0.2]


def test_posterior_of_identical_arms_is_symmetric():
    posterior = risk_difference_posterior(5, 10, 5, 10, thresholds=(0.0,))
    assert posterior.probability_above[0.0] == pytest.approx(0.5, abs=1e-9)
    assert posterior.low == pytest.approx(-posterior.high, abs=1e-8)


def test_posterior_draws_are_seeded():
    first = risk_difference_posterior_draws(37, 47, 21, 48, draws=1000, seed=1)
    assert np.array_equal(first, risk_difference_posterior_draws(37, 47, 21, 48, draws=1000, seed=1))
    assert not np.array_equal(first, risk_difference_posterior_draws(37, 47, 21, 48, draws=1000, seed=2))


def test_risk_difference():
    assert risk_difference(37, 47, 21, 48) == pytest.approx(0.349734, abs=1e-6)


def test_unstratified_cmh_is_pearson_times_n_minus_one_over_n():
    result = cochran_mantel_haenszel([(37, 47, 21, 48)])
    pearson = two_arm_p_values(37, 47, 21, 48, tests=("pearson",))["statistic"].iloc[0]
    assert result.statistic == pytest.approx(pearson * 94 / 95)
    assert round(result.p_value, 5) == 0.00051
    assert not prints_as(result.p_value, "0.0008")
