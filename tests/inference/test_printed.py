"""Reading printed numbers back (ivig_kit.inference.printed): interval candidates, counts behind percentages,
stratified p values; each expected value comes from a route other than the code under test."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from ivig_kit.inference import printed, proportions
from ivig_kit.inference.printed import (
    counts_matching_percent,
    prints_as,
    round_half_up,
)
from ivig_kit.inference.stratified_splits import (
    stratified_p_by_imbalance,
    stratified_p_over_splits,
    stratified_p_summary,
)

RESPONDERS, ANALYSED = 8, 19  # pilot primary outcome (Lim et al. 2021)
PRINTED_LOW, PRINTED_HIGH = 19.6, 64.6  # printed as "Clopper-Pearson 95% CI: 19.6, 64.6"


def test_stratified_p_of_every_split_equals_statsmodels():
    splits = stratified_p_over_splits(37, 47, 21, 48)
    sample = splits.sample(25, random_state=3)
    for row in sample.itertuples():
        strata = [
            (row.x1_a, row.n1_a, row.x2_a, row.n2_a),
            (37 - row.x1_a, 47 - row.n1_a, 21 - row.x2_a, 48 - row.n2_a),
        ]
        expected = StratifiedTable(
            [np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float) for x1, n1, x2, n2 in strata]
        ).test_null_odds()
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
        tables = [
            np.array([[x1_a, n1_a - x1_a], [x2_a, n2_a - x2_a]], dtype=float),
            np.array([[3 - x1_a, 1 - n1_a + x1_a], [2 - x2_a, 2 - n2_a + x2_a]], dtype=float),
        ]
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


def test_candidate_grid_covers_the_documented_slips():
    candidates = printed.printed_interval_candidates(RESPONDERS, ANALYSED, PRINTED_LOW, PRINTED_HIGH)
    on_8_of_19 = candidates[
        (candidates["k"] == 8) & (candidates["n"] == 19) & (candidates["family"] == "method and confidence")
    ]
    assert set(zip(on_8_of_19["method"], on_8_of_19["confidence"])) == {
        (method, confidence) for method in proportions.INTERVAL_METHODS for confidence in (0.90, 0.95, 0.99)
    }
    neighbours = candidates[candidates["family"] == "neighbouring count"]
    assert set(zip(neighbours["k"], neighbours["n"])) == {(k, n) for k in (7, 8, 9) for n in (17, 18, 19, 20)} - {
        (8, 19)
    }
    for method in ("wald_n_minus_1", "wald_t", "wald_cc", "wilson_cc", "wald_conservative"):
        assert method in set(candidates["method"])
    assert 0.42 in set(candidates.loc[candidates["family"] == "printed proportion", "proportion"])
    # Full matches first, then by distance to the printed limits.
    ordered = candidates.sort_values(["matches", "distance"], ascending=[False, True], kind="stable")
    assert list(ordered.index) == list(candidates.index)


def test_continuity_corrected_wilson_candidate_matches_brute_force():
    # Newcombe's method 4 is the set of p with |8/19 - p| - 1/38 <= z * sqrt(p(1 - p)/19).
    candidates = printed.printed_interval_candidates(RESPONDERS, ANALYSED, PRINTED_LOW, PRINTED_HIGH)
    row = candidates[
        (candidates["method"] == "wilson_cc")
        & (candidates["k"] == 8)
        & (candidates["proportion"] == 8 / 19)
        & (candidates["confidence"] == 0.95)
    ]
    grid = np.arange(1e-6, 1, 1e-6)
    kept = grid[np.abs(8 / 19 - grid) - 1 / 38 <= 1.959963984540054 * np.sqrt(grid * (1 - grid) / 19)]
    assert row["low"].item() == pytest.approx(100 * kept.min(), abs=1e-3)
    assert row["high"].item() == pytest.approx(100 * kept.max(), abs=1e-3)


def test_printed_interval_investigation_finds_only_the_conservative_wald():
    candidates = printed.printed_interval_candidates(RESPONDERS, ANALYSED, PRINTED_LOW, PRINTED_HIGH)
    matches = candidates[candidates["matches"]]
    # Finding (pinned): of the whole grid, only 8/19 +- 1.96 * sqrt(1/4 / 19) rounds to "19.6, 64.6".
    assert list(matches["method"]) == ["wald_conservative"]
    assert (matches["k"].item(), matches["n"].item(), matches["confidence"].item()) == (8, 19, 0.95)
    half = 1.959963984540054 * math.sqrt(0.25 / 19)
    assert (round(100 * (8 / 19 - half), 1), round(100 * (8 / 19 + half), 1)) == (PRINTED_LOW, PRINTED_HIGH)
    # No Clopper-Pearson candidate (any confidence, any neighbouring count) reproduces both limits.
    assert not candidates.loc[candidates["method"] == "clopper_pearson", "matches"].any()


def test_candidates_find_an_interval_printed_from_its_own_method():
    wilson_low, wilson_high = stats.binomtest(8, 19).proportion_ci(method="wilson")
    candidates = printed.printed_interval_candidates(8, 19, round(100 * wilson_low, 1), round(100 * wilson_high, 1))
    assert "wilson" in set(candidates.loc[candidates["matches"], "method"])
    nothing = printed.printed_interval_candidates(8, 19, 5.0, 95.0)
    assert not nothing["matches"].any()


def test_printed_interval_geometry_points_to_a_symmetric_interval():
    geometry = printed.printed_interval_geometry(RESPONDERS, ANALYSED, PRINTED_LOW, PRINTED_HIGH)
    assert geometry.centre_percent == pytest.approx(42.1)
    assert geometry.half_width_percent == pytest.approx(22.5)
    assert geometry.conservative_standard_error == pytest.approx(math.sqrt(1 / 76))
    assert geometry.implied_standard_error == pytest.approx(0.225 / 1.959963984540054)
    assert round(geometry.implied_z_for_wald_se, 2) == 1.99


def counts_by_integer_arithmetic(percent, n):
    # round half up of 100k/n: floor((200k + n) / (2n))
    return [k for k in range(n + 1) if (200 * k + n) // (2 * n) == percent]


@pytest.mark.parametrize("percent, n", [(68, 47), (23, 48), (32, 47), (8, 48), (79, 47), (44, 48), (50, 3)])
def test_counts_matching_percent_by_integer_arithmetic(percent, n):
    assert counts_matching_percent(percent, n) == counts_by_integer_arithmetic(percent, n)


def test_counts_matching_percent_rounds_halves_up_exactly():
    assert counts_matching_percent(13, 8) == [1]  # 12.5% prints as 13 (float round() says 12)
    assert counts_matching_percent(12, 8) == []
    assert counts_matching_percent(1, 200) == [1, 2]  # 0.5% -> 1, 1.0% -> 1
    assert counts_matching_percent(71.1, 45, decimals=1) == [32]
    assert counts_matching_percent(42.1, 19, decimals=1) == [8] and counts_matching_percent(42.0, 19, 1) == []
    assert str(round_half_up(Fraction(1, 8) * 100)) == "13"
    with pytest.raises(ValueError, match="decimals"):
        counts_matching_percent(12.5, 8)


def _independent_configurations(x1, n1, x2, n2):
    """Every unordered two-stratum configuration with its CMH p and patient partitions, by plain loops and math."""
    found = []
    for m1 in range(n1 + 1):
        for y1 in range(max(0, x1 - (n1 - m1)), min(x1, m1) + 1):
            for m2 in range(n2 + 1):
                for y2 in range(max(0, x2 - (n2 - m2)), min(x2, m2) + 1):
                    a, b = (m1, y1, m2, y2), (n1 - m1, x1 - y1, n2 - m2, x2 - y2)
                    if m1 + m2 == 0 or m1 + m2 == n1 + n2 or not a < b:
                        continue
                    difference = variance = 0.0
                    for s1, e1, s2, e2 in (a, b):
                        t, e = s1 + s2, e1 + e2
                        if t > 1:
                            difference += e1 - s1 * e / t
                            variance += s1 * s2 * e * (t - e) / (t * t * (t - 1))
                    if variance > 0:
                        p = math.erfc(math.sqrt(difference**2 / variance / 2))  # chi-square, 1 df
                        weight = (
                            math.comb(x1, y1)
                            * math.comb(n1 - x1, m1 - y1)
                            * math.comb(x2, y2)
                            * math.comb(n2 - x2, m2 - y2)
                        )
                        found.append((m1, m2, min(m1, n1 - m1, m2, n2 - m2) > 0, p, weight))
    return found


def test_share_printing_0_0008_by_allowed_imbalance_pinned_and_recomputed_independently():
    table = stratified_p_by_imbalance(37, 47, 21, 48, "0.0008").set_index("allowed imbalance")
    # the numbers: no configuration balances both strata exactly (47 vs 48); within 2: 12,517 with
    # p at most 0.00106, 0.02% print 0.0008; within 4: 0.9%; within 5: 4.3%; partitions: 4.25% unrestricted
    assert table.loc["<= 0", "configurations"] == 0 and np.isnan(table.loc["<= 0", "share_of_configurations"])
    assert table.loc["<= 2", "configurations"] == 12_517 and round(table.loc["<= 2", "max_p"], 5) == 0.00106
    assert round(100 * table.loc["<= 2", "share_of_configurations"], 2) == 0.02
    assert round(100 * table.loc["<= 4", "share_of_configurations"], 1) == 0.9
    assert round(100 * table.loc["<= 5", "share_of_configurations"], 1) == 4.3
    assert round(100 * table.loc["unlimited", "share_of_partitions"], 2) == 4.25
    assert table.loc["<= 2", "share_of_partitions"] < 1e-20  # the few that print pile up responders
    both_arms = stratified_p_by_imbalance(37, 47, 21, 48, "0.0008", imbalances=(None,), both_arms=True).iloc[0]
    assert both_arms["configurations"] == 127_711 and round(100 * both_arms["share_of_configurations"], 1) == 2.7
    assert round(100 * both_arms["share_of_partitions"], 2) == 4.25

    found = _independent_configurations(37, 47, 21, 48)
    for limit, row in table.iterrows():
        d = math.inf if limit == "unlimited" else int(limit.split()[-1])
        chosen = [(p, w) for m1, m2, _, p, w in found if abs(m1 - m2) <= d and abs((47 - m1) - (48 - m2)) <= d]
        assert len(chosen) == row["configurations"]
        if chosen:
            printing = [(0.00075 <= p < 0.00085, w) for p, w in chosen]
            assert sum(hit for hit, _ in printing) / len(chosen) == pytest.approx(row["share_of_configurations"])
            exact = Fraction(sum(w for hit, w in printing if hit), sum(w for _, w in printing))
            assert float(exact) == pytest.approx(row["share_of_partitions"], rel=1e-9, abs=1e-30)
    assert sum(1 for *_, both, _p, _w in found if both) == 127_711
