"""Exact unconditional intervals, the Cochran-Mantel-Haenszel test over strata, and the Fragility Index
family: each checked against a published value or an independent computation."""

import itertools

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import StratifiedTable

from ivig_kit.inference.exact import exact_unconditional_interval
from ivig_kit.inference.fragility import (
    fragility_index,
    fragility_variants,
    reverse_fragility_index,
)
from ivig_kit.inference.printed import (
    prints_as,
    stratified_p_over_splits,
    stratified_p_summary,
)
from ivig_kit.inference.two_arm import (
    cochran_mantel_haenszel,
    risk_difference_interval,
    two_arm_p_values,
)

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

    p2 = optimize.minimize_scalar(negative_log_likelihood, bounds=(low, high), method="bounded",
                                  options={"xatol": 1e-12}).x
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


def test_unstratified_cmh_is_pearson_times_n_minus_one_over_n():
    result = cochran_mantel_haenszel([(37, 47, 21, 48)])
    pearson = two_arm_p_values(37, 47, 21, 48, tests=("pearson",))["statistic"].iloc[0]
    assert result.statistic == pytest.approx(pearson * 94 / 95)
    assert round(result.p_value, 5) == 0.00051
    assert not prints_as(result.p_value, "0.0008")


def test_stratified_p_of_every_split_equals_statsmodels():
    splits = stratified_p_over_splits(37, 47, 21, 48)
    sample = splits.sample(25, random_state=3)
    for row in sample.itertuples():
        strata = [(row.x1_a, row.n1_a, row.x2_a, row.n2_a),
                  (37 - row.x1_a, 47 - row.n1_a, 21 - row.x2_a, 48 - row.n2_a)]
        expected = StratifiedTable([np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float)
                                    for x1, n1, x2, n2 in strata]).test_null_odds()
        assert row.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_splits_are_every_unordered_split_once():
    splits = stratified_p_over_splits(3, 4, 2, 4)
    brute = set()
    for n1_a, n2_a in itertools.product(range(1, 4), range(1, 4)):
        for x1_a in range(max(0, 3 - (4 - n1_a)), min(3, n1_a) + 1):
            for x2_a in range(max(0, 2 - (4 - n2_a)), min(2, n2_a) + 1):
                split = (n1_a, x1_a, n2_a, x2_a)
                brute.add(min(split, (4 - n1_a, 3 - x1_a, 4 - n2_a, 2 - x2_a)))
    def defined(split):
        n1_a, x1_a, n2_a, x2_a = split
        tables = [np.array([[x1_a, n1_a - x1_a], [x2_a, n2_a - x2_a]], dtype=float),
                  np.array([[3 - x1_a, 1 - n1_a + x1_a], [2 - x2_a, 2 - n2_a + x2_a]], dtype=float)]
        with np.errstate(all="ignore"):
            return np.isfinite(StratifiedTable(tables).test_null_odds().statistic)

    found = set(map(tuple, splits[["n1_a", "x1_a", "n2_a", "x2_a"]].to_numpy()))
    assert len(found) == len(splits)
    assert found == {split for split in brute if defined(split)}


def test_how_many_splits_print_as_0_0008():
    summary = stratified_p_summary(stratified_p_over_splits(37, 47, 21, 48), "0.0008")
    assert summary.splits == 127_711
    assert round(summary.share_printing_as, 4) == 0.0271
    assert summary.min < 1e-9 and summary.max > 0.99
    assert round(summary.median, 5) == 0.00071


def test_prints_as_rounds_half_up():
    assert prints_as([0.00075, 0.000849, 0.00085, 0.00074999], "0.0008").tolist() == [True, True, False, False]


def test_fragility_variants_of_the_proderm_primary_endpoint():
    table = fragility_variants(37, 47, 21, 48).set_index(["test", "arm"])
    assert table.loc[("fisher", 2), "index"] == 8 and table.loc[("fisher", 2), "variant"] == "Walsh (2014)"
    assert table.loc[("fisher", 1), "change"] == "-1 event"
    for (test, arm), row in table.iterrows():
        result = fragility_index(37, 47, 21, 48, test=test, arm=arm)
        assert row["index"] == result.index and row["p_after"] >= 0.05 > row["p_observed"]
    assert table.loc[("pearson", 2), "index"] >= table.loc[("fisher", 2), "index"]


def test_fragility_index_removing_events_from_the_other_arm_by_brute_force():
    flips = 0
    while stats.fisher_exact([[37 - flips, 10 + flips], [21, 27]])[1] < 0.05:
        flips += 1
    assert fragility_index(37, 47, 21, 48, arm=1).index == flips


def test_reverse_fragility_index_of_a_non_significant_result():
    # ProDERM first period, thromboembolic events: 1/52 on IVIg vs 0/48 on placebo (not significant).
    result = reverse_fragility_index(1, 52, 0, 48)
    flips = 0
    while stats.fisher_exact([[1 + flips, 51 - flips], [0, 48]])[1] >= 0.05:
        flips += 1
    assert (result.index, result.arm, result.direction) == (flips, 1, "away from null")
    assert result.p_values[-1] < 0.05 <= result.p_values[-2]
    assert reverse_fragility_index(37, 47, 21, 48).index == 0
    assert fragility_index(1, 52, 0, 48).index == 0
