"""Paired change scores (ivig_kit.inference.paired): the Wilcoxon signed-rank test as SPSS and as scipy compute it,
checked against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ivig_kit.errors import InputError
from ivig_kit.inference import paired


def test_wilcoxon_spss_hand_computed_with_ties_and_zeros():
    before = [10, 12, 9, 15, 11, 14, 8, 13]
    after = [12, 12, 6, 18, 13, 10, 11, 13]
    # after - before = 2, 0, -3, 3, 2, -4, 3, 0. Drop the two zeros; |d| = 2, 3, 3, 2, 4, 3 get ranks
    # 1.5 (the 2s), 4 (the 3s), 6 (the 4). W+ = 1.5 + 4 + 1.5 + 4 = 11, W- = 4 + 6 = 10.
    # Mean n(n+1)/4 = 10.5; variance 6*7*13/24 - [(2^3-2) + (3^3-3)]/48 = 22.75 - 0.625 = 22.125.
    result = paired.wilcoxon_signed_rank_spss(before, after)
    z = (10 - 10.5) / math.sqrt(22.125)
    assert result.z == pytest.approx(z, abs=1e-12)
    assert result.p == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=1e-12)
    assert (result.n, result.n_nonzero, result.n_ties) == (8, 6, 2)
    assert (result.n_negative, result.n_positive) == (2, 4)
    assert (result.negative_rank_sum, result.positive_rank_sum) == (10.0, 11.0)
    assert result.based_on == "negative ranks"


def test_wilcoxon_spss_is_asymptotic_where_scipy_default_is_exact():
    before = np.arange(8.0)
    after = before + np.arange(1, 9)  # eight distinct positive changes
    spss = paired.wilcoxon_signed_rank_spss(before, after)
    # W- = 0, mean 18, variance 8*9*17/24 = 51, no ties, no continuity correction.
    assert spss.z == pytest.approx(-18 / math.sqrt(51), abs=1e-12)
    assert spss.p == pytest.approx(math.erfc(18 / math.sqrt(51) / math.sqrt(2)), abs=1e-12)
    assert round(spss.p, 4) == 0.0117
    default = paired.wilcoxon_scipy_default(before, after)
    # Exact: only the all-positive and all-negative sign patterns are as extreme, 2 / 2^8.
    assert default.p == pytest.approx(2 / 256, abs=1e-15)
    assert default.statistic == 0.0


def test_wilcoxon_spss_drops_incomplete_pairs_and_handles_no_change():
    result = paired.wilcoxon_signed_rank_spss([1.0, 2.0, np.nan, 4.0], [2.0, 4.0, 5.0, np.nan])
    assert (result.n, result.n_nonzero) == (2, 2)
    unchanged = paired.wilcoxon_signed_rank_spss([1, 2, 3], [1, 2, 3])
    assert unchanged.n_nonzero == 0 and math.isnan(unchanged.p)
    with pytest.raises(InputError):
        paired.wilcoxon_signed_rank_spss([1, 2, 3], [1, 2])
