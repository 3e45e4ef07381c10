"""Exact unconditional intervals of a risk difference (ivig_kit.inference.exact): each checked against a
published value or an independent computation."""

import numpy as np
import pytest
from scipy import optimize, stats

from ivig_kit.inference.exact import exact_unconditional_interval
from ivig_kit.inference.two_arm import risk_difference_interval

# SAS PROC FREQ, RISKDIFF(METHOD=NOSCORE) in the EXACT statement, as printed in the vignette
# "Unconditional Exact Confidence Interval for Difference in Proportions" of the R package tern, and
# Santner & Snell (JASA 1980;75:386-94, section 4) for 0/2 vs 2/2 at 90%.
SANTNER_SNELL_REFERENCES = [
    ((40, 78, 5, 17), 0.95, (-0.0466, 0.4676)),
    ((27, 57, 3, 3), 0.95, (-0.9057, 0.1197)),
    ((27, 57, 3, 3), 0.99, (-0.9586, 0.2677)),
    ((0, 2, 2, 2), 0.90, (-1.0, 0.0543)),
]


@pytest.mark.parametrize("counts, confidence, expected", SANTNER_SNELL_REFERENCES)
def test_santner_snell_interval_matches_sas(counts, confidence, expected):
    low, high = exact_unconditional_interval(*counts, method="santner_snell", confidence=confidence)
    assert (round(low, 4), round(high, 4)) == expected


def restricted_mle_by_optimisation(x1, n1, x2, n2, delta):
    """p2 maximising the binomial likelihood under p1 = p2 + delta (numerically, not by the cubic)."""
    low, high = max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12

    def negative_log_likelihood(p2):
        return -(stats.binom.logpmf(x1, n1, p2 + delta) + stats.binom.logpmf(x2, n2, p2))

    p2 = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-12}
    ).x
    return p2 + delta, p2


def chan_zhang_upper_tail_by_loops(x1, n1, x2, n2, delta, grid=2001):
    """Independent Chan-Zhang upper-tail p: score of every table by loops, maximum over a fine p2 grid."""

    def score(i, j):
        p1, p2 = restricted_mle_by_optimisation(i, n1, j, n2, delta)
        variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        return (i / n1 - j / n2 - delta) / np.sqrt(variance)

    observed = score(x1, x2)
    tail = [(i, j) for i in range(n1 + 1) for j in range(n2 + 1) if score(i, j) >= observed - 1e-7]
    p2 = np.linspace(max(0.0, -delta), min(1.0, 1.0 - delta), grid)
    return max(sum(stats.binom.pmf(i, n1, p2 + delta) * stats.binom.pmf(j, n2, p2) for i, j in tail))


@pytest.mark.slow
def test_chan_zhang_lower_limit_against_an_independent_computation():
    # 7/34 vs 1/34 (Fagerland, Lydersen & Laake 2015): the limit is where the upper-tail p reaches 0.025.
    low, _ = exact_unconditional_interval(7, 34, 1, 34, method="chan_zhang")
    assert chan_zhang_upper_tail_by_loops(7, 34, 1, 34, low + 2e-4) > 0.025
    assert chan_zhang_upper_tail_by_loops(7, 34, 1, 34, low - 2e-3) < 0.025


def test_exact_intervals_of_the_proderm_primary_endpoint():
    chan_zhang = exact_unconditional_interval(37, 47, 21, 48, method="chan_zhang")
    santner_snell = exact_unconditional_interval(37, 47, 21, 48, method="santner_snell")
    assert tuple(round(v, 4) for v in chan_zhang) == (0.1218, 0.5265)
    assert tuple(round(v, 4) for v in santner_snell) == (0.1562, 0.5328)
    # wider than the asymptotic Miettinen-Nurminen interval they are built around, and both exclude 0
    score = risk_difference_interval(37, 47, 21, 48, method="score")
    assert chan_zhang[0] < score[0] and chan_zhang[1] > score[1] and chan_zhang[0] > 0


def test_exact_interval_p_values_are_not_monotone_in_delta():
    from ivig_kit.inference.exact import _tail_probability

    p = [_tail_probability(37, 47, 21, 48, d, "chan_zhang", 201, upper=True) for d in (0.124, 0.126, 0.136)]
    assert p[0] > 0.025 > p[1] and p[2] > 0.025  # the saw-tooth that makes the accepted set not an interval


def test_exact_interval_rejects_unknown_methods():
    with pytest.raises(ValueError, match="unknown method"):
        exact_unconditional_interval(1, 2, 1, 2, method="barnard")
