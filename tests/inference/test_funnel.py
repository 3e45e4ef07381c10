"""Funnel-plot limits: the published check value, brute force, band edges, degenerate input, over-dispersion."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import binom

import ivig_kit.inference
from ivig_kit.errors import InputError
from ivig_kit.inference.funnel import (
    ALARM_LEVEL,
    ALERT_LEVEL,
    binomial_cdf,
    binomial_quantile,
    funnel_flag,
    funnel_limits,
    interpolated_quantile,
    overdispersion,
    winsorised,
)


def brute_force_count_limit(p: float, n: int, target: float) -> float:
    """Spiegelhalter's appendix A.1.1 by hand: exact sums of binomial terms, a linear search for the quantile."""
    cdf, previous = 0.0, 0.0
    for r in range(n + 1):
        previous, cdf = cdf, cdf + math.comb(n, r) * target**r * (1 - target) ** (n - r)
        if cdf >= p:
            return max(0.0, r - (cdf - p) / (cdf - previous))
    return float(n)


def scipy_count_limit(p: float, n: int, target: float) -> float:
    r = binom.ppf(p, n, target)
    return r - (binom.cdf(r, n, target) - p) / (binom.cdf(r, n, target) - binom.cdf(r - 1, n, target))


def test_found_by_name():
    assert ivig_kit.inference.funnel_limits is funnel_limits


@pytest.mark.parametrize("level, lower, upper", [(0.998, 1.739, 18.957), (0.95, 4.220, 15.355)])
def test_published_check_value(level, lower, upper):
    """clinical-qikit 0.5.0: target 0.2, n = 50 (feedback.md)."""
    limits = funnel_limits(0.2, 50, level)
    assert round(50 * limits.lower, 3) == lower and round(50 * limits.upper, 3) == upper
    if level == 0.998:
        assert round(limits.lower, 5) == 0.03478 and round(limits.upper, 5) == 0.37914


@pytest.mark.parametrize("target", [0.05, 0.2, 0.37, 0.5, 0.81])
@pytest.mark.parametrize("level", [ALERT_LEVEL, ALARM_LEVEL, 0.9])
def test_matches_brute_force_and_scipy_for_every_n(target, level):
    n = np.arange(1, 121)
    limits = funnel_limits(target, n, level)
    tail = (1 - level) / 2
    expected_lower = [brute_force_count_limit(tail, k, target) / k for k in n]
    expected_upper = [brute_force_count_limit(1 - tail, k, target) / k for k in n]
    np.testing.assert_allclose(limits.lower, expected_lower, atol=1e-9)
    np.testing.assert_allclose(limits.upper, expected_upper, atol=1e-9)
    np.testing.assert_allclose(
        limits.upper[40:], [scipy_count_limit(1 - tail, k, target) / k for k in n[40:]], atol=1e-12
    )
    assert (limits.lower <= limits.upper).all()


def test_scalar_n_gives_floats_and_arrays_give_arrays():
    assert isinstance(funnel_limits(0.3, 20).lower, float)
    assert funnel_limits(0.3, [20, 30]).lower.shape == (2,)


@pytest.mark.parametrize("n, p", [(50, 0.975), (50, 0.001), (23, 0.025), (80, 0.999)])
def test_smooth_across_a_band_edge(n, p):
    """Where the binomial quantile jumps (F(r) = p as the target moves), the interpolated limit does not."""
    r = int(binom.ppf(p, n, 0.3))
    edge = brentq(lambda t: binom.cdf(r, n, t) - p, 0.01, 0.99)  # the target at which the quantile changes
    level = 1 - 2 * min(p, 1 - p)
    side = "upper" if p > 0.5 else "lower"
    before = getattr(funnel_limits(edge - 1e-9, n, level), side)
    after = getattr(funnel_limits(edge + 1e-9, n, level), side)
    assert int(binom.ppf(p, n, edge - 1e-7)) != int(binom.ppf(p, n, edge + 1e-7))  # a real jump
    assert abs(after - before) < 1e-6  # the raw quantile / n jumps by 1/n
    assert abs(after - before) < 1e-3 / n


def test_nearly_monotone_in_n_unlike_the_raw_quantile():
    n = np.arange(10, 200)
    upper = funnel_limits(0.2, n, 0.95).upper
    raw = binom.ppf(0.975, n, 0.2) / n
    assert np.abs(np.diff(upper)).max() < np.abs(np.diff(raw)).max() / 2


@pytest.mark.parametrize("target, expected", [(0, (0.0, 0.0)), (1, (1.0, 1.0))])
def test_degenerate_targets(target, expected):
    assert tuple(funnel_limits(target, 10, 0.998)) == expected
    np.testing.assert_array_equal(funnel_limits(target, [1, 5]).upper, [expected[1]] * 2)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"target": 0.2, "n": 0}, "n must be whole numbers"),
        ({"target": 0.2, "n": [5, 0]}, "n must be whole"),
        ({"target": 0.2, "n": 2.5}, "n must be whole"),
        ({"target": 1.2, "n": 5}, "target must be a proportion"),
        ({"target": float("nan"), "n": 5}, "target must be"),
        ({"target": "x", "n": 5}, "target must be"),
        ({"target": 0.2, "n": 5, "level": 1}, "level must lie"),
        ({"target": 0.2, "n": 5, "phi": 0.5}, "phi must be"),
    ],
)
def test_bad_input_is_a_clear_input_error(kwargs, words):
    with pytest.raises(InputError, match=words):
        funnel_limits(**kwargs)


def test_overdispersion_phi_is_the_mean_square_of_winsorised_z_scores():
    events, n, target = (
        np.array([2, 5, 9, 14, 30, 1, 7, 8, 6, 20]),
        np.array([10, 20, 30, 40, 50, 8, 25, 22, 30, 40]),
        0.3,
    )
    result = overdispersion(events, n, target)
    z = (events / n - target) / np.sqrt(target * (1 - target) / n)
    ordered = np.sort(z)  # 10 sites: winsorising 10% in each tail replaces the lowest and the highest
    kept = np.clip(z, ordered[1], ordered[-2])
    assert result.sites == 10
    assert result.phi == pytest.approx(np.mean(kept**2))
    assert result.phi < np.mean(z**2)
    np.testing.assert_allclose(result.z_scores, z)


def test_overdispersion_widens_the_limits_by_sqrt_phi():
    exact = funnel_limits(0.3, 40, 0.95)
    wide = funnel_limits(0.3, 40, 0.95, phi=4)
    assert wide.upper - 0.3 == pytest.approx(2 * (exact.upper - 0.3))
    assert 0.3 - wide.lower == pytest.approx(min(0.3, 2 * (0.3 - exact.lower)))


def test_chance_variation_gives_phi_under_one_and_no_widening():
    """Winsorising 10% tails of standard normal z-scores gives E[phi] of about 0.68: no widening by chance."""
    rng = np.random.default_rng(25)
    n = rng.integers(20, 200, size=400)
    result = overdispersion(rng.binomial(n, 0.3), n, 0.3)
    assert 0.55 < result.phi < 0.85 and result.p_value > 0.001
    spread = overdispersion(rng.binomial(n, rng.uniform(0.1, 0.5, size=400)), n, 0.3)
    assert spread.phi > 2 and spread.p_value < 1e-6


def test_outlier_policy():
    assert funnel_flag(10, 50, 0.2) == ""  # on target
    assert funnel_flag(17, 50, 0.2) == "alert"  # above 15.355, below 18.957
    assert funnel_flag(20, 50, 0.2) == "alarm"
    assert funnel_flag(1, 50, 0.2) == "alarm"
    assert funnel_flag(4, 50, 0.2) == "alert"
    assert funnel_flag(20, 50, 0.2, phi=4) == ""  # widened by over-dispersion
    assert funnel_flag(0, 0, 0.2) == ""


@pytest.mark.parametrize("target", [0.01, 0.2, 1 / 3, 0.5, 0.77, 0.99])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.5, 0.975, 0.999])
def test_the_scipy_special_binomial_is_scipy_stats_binomial(target, p):
    """The funnel does without scipy.stats (0.8 s of import in every report kernel): its distribution function
    is scipy.stats.binom's, its quantile is the definition's, and the limits are scipy.stats' to 1e-9."""
    from scipy.stats import binom

    n = np.arange(1, 301)
    k = np.arange(-1, 1501)
    np.testing.assert_allclose(binomial_cdf(k, 1500, target), binom.cdf(k, 1500, target), rtol=1e-9, atol=1e-12)
    r = binomial_quantile(p, n, target)
    assert (binomial_cdf(r, n, target) >= p).all()
    assert not ((r > 0) & (binomial_cdf(r - 1, n, target) >= p)).any()
    near = np.abs(r - binom.ppf(p, n, target))
    assert near.max() <= 1  # one count apart only where F(r) equals p to rounding
    expected = [scipy_count_limit(p, int(m), target) for m in n]
    np.testing.assert_allclose(interpolated_quantile(p, n, target), np.clip(expected, 0, n), atol=1e-9)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.25, 0.49])
def test_winsorised_is_scipys_winsorize(share):
    from scipy.stats.mstats import winsorize

    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 9, 10, 11, 57):
        for values in (rng.normal(size=size), rng.integers(0, 3, size=size).astype(float)):  # with ties
            expected = np.asarray(winsorize(values, limits=(share, share)), dtype=float)
            np.testing.assert_array_equal(winsorised(values, share), expected)


def test_overdispersion_p_value_is_the_chi_squared_tail():
    from scipy.stats import chi2

    events, n = np.array([2, 5, 9, 14, 30, 1]), np.array([10, 20, 30, 40, 50, 8])
    result = overdispersion(events, n, 0.3)
    assert result.p_value == pytest.approx(chi2.sf(np.sum(result.z_scores**2), 5), rel=1e-12)
