"""Fragility indices (ivig_kit.inference.fragility) against brute force and published values."""

import pytest
from scipy import stats

from ivig_kit.inference.fragility import (
    fragility_index,
    fragility_quotient,
    fragility_variants,
    reverse_fragility_index,
)


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


def fragility_by_brute_force(x1, n1, x2, n2, alpha=0.05):
    flips = 0
    if x1 < x2:
        while stats.fisher_exact([[x1 + flips, n1 - x1 - flips], [x2, n2 - x2]])[1] < alpha:
            flips += 1
    else:
        while stats.fisher_exact([[x1, n1 - x1], [x2 + flips, n2 - x2 - flips]])[1] < alpha:
            flips += 1
    return flips


@pytest.mark.parametrize("counts", [(37, 47, 21, 48), (5, 100, 20, 100), (30, 60, 15, 60), (10, 20, 9, 20)])
def test_fragility_index_matches_brute_force(counts):
    result = fragility_index(*counts)
    assert result.index == fragility_by_brute_force(*counts)
    assert len(result.p_values) == result.index + 1
    assert all(p < 0.05 for p in result.p_values[:-1]) and result.p_values[-1] >= 0.05


def test_fragility_index_of_proderm_primary():
    result = fragility_index(37, 47, 21, 48)
    assert (result.index, result.arm, result.significant) == (8, 2, True)
    assert result.path["x2"].tolist() == list(range(21, 30))
    assert fragility_quotient(37, 47, 21, 48) == pytest.approx(8 / 95)
    assert fragility_index(10, 20, 9, 20).significant is False
