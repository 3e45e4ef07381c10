"""Paired change scores: the Wilcoxon signed-rank test as SPSS computes it and as scipy does by default.

The pilot tested its change scores with SPSS 24; the two conventions (zeros, ties, normal
approximation with or without continuity correction) give different P values on the same data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ivig_kit.errors import InputError

# --------------------------------------------------------------------------- Wilcoxon signed-rank


@dataclass(frozen=True)
class SignedRankSPSS:
    """The Wilcoxon signed-rank test of after - before as SPSS 24 prints it.

    Attributes
    ----------
    z : float
        From the smaller rank sum, so z <= 0, as SPSS prints it (NaN when no difference is nonzero).
    p : float
        Asymptotic two-sided P (NaN when no difference is nonzero).
    n : int
        Complete pairs.
    n_nonzero, n_negative, n_positive, n_ties : int
        Pairs with a nonzero, negative, positive and zero difference.
    negative_rank_sum, positive_rank_sum : float
        Rank sums of the negative and positive differences.
    based_on : str
        "negative ranks" or "positive ranks": the sum z is computed from, as in SPSS's footnote.
    """

    z: float
    p: float
    n: int
    n_nonzero: int
    n_negative: int
    n_positive: int
    n_ties: int
    negative_rank_sum: float
    positive_rank_sum: float
    based_on: str


@dataclass(frozen=True)
class SignedRankScipy:
    """What ``scipy.stats.wilcoxon`` gives with its defaults.

    Attributes
    ----------
    statistic : float
        scipy's statistic (the smaller rank sum); NaN when no difference is nonzero.
    p : float
        Two-sided P (exact, permutation or asymptotic as scipy chooses); NaN when no difference is nonzero.
    n_nonzero : int
        Pairs with a nonzero difference.
    """

    statistic: float
    p: float
    n_nonzero: int


def _paired_differences(before: Sequence[float], after: Sequence[float]) -> np.ndarray:
    first, second = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if first.shape != second.shape or first.ndim != 1:
        raise InputError(f"before and after must be 1-D and of equal length, got {first.shape} and {second.shape}")
    complete = ~(np.isnan(first) | np.isnan(second))  # SPSS drops a pair with a missing value
    return second[complete] - first[complete]


def wilcoxon_signed_rank_spss(before: Sequence[float], after: Sequence[float]) -> SignedRankSPSS:
    """Wilcoxon signed-rank test of after - before as SPSS 24 reports it (NPAR TESTS /WILCOXON).

    SPSS drops pairs with a zero difference, gives tied absolute differences their average rank and
    reports an *asymptotic* two-sided P from the normal approximation with the tie correction to the
    variance and no continuity correction, whatever the sample size. That is
    ``scipy.stats.wilcoxon(after, before, zero_method="wilcox", correction=False, method="approx")``.

    Returns a :class:`SignedRankSPSS`: z, p, the counts of pairs and the rank sums. With no nonzero
    difference there is no test: z and p are NaN.

    How scipy's defaults differ (:func:`wilcoxon_scipy_default`): ``method="auto"`` uses the *exact*
    null distribution when there are at most 50 nonzero differences and no ties or zeros, and with
    ties or zeros an exhaustive permutation P when there are at most 13 differences, so small samples
    get a different P from SPSS. ``zero_method="wilcox"`` and ``correction=False`` are scipy's
    defaults too; ``zero_method="pratt"`` (keep zeros in the ranking) or ``correction=True`` would
    move the P further from SPSS.
    """
    differences = _paired_differences(before, after)
    nonzero = differences[differences != 0]
    ranks = stats.rankdata(np.abs(nonzero))  # average ranks for ties
    negative_rank_sum = float(ranks[nonzero < 0].sum())
    positive_rank_sum = float(ranks[nonzero > 0].sum())
    z, p = math.nan, math.nan
    if nonzero.size:
        test = stats.wilcoxon(nonzero, zero_method="wilcox", correction=False, method="approx")
        # method="approx" sets zstatistic; scipy-stubs does not declare it
        z, p = float(test.zstatistic), float(test.pvalue)  # type: ignore[attr-defined]
    return SignedRankSPSS(
        z=z,
        p=p,
        n=int(differences.size),
        n_nonzero=int(nonzero.size),
        n_negative=int((nonzero < 0).sum()),
        n_positive=int((nonzero > 0).sum()),
        n_ties=int((differences == 0).sum()),
        negative_rank_sum=negative_rank_sum,
        positive_rank_sum=positive_rank_sum,
        based_on="positive ranks" if positive_rank_sum < negative_rank_sum else "negative ranks",
    )


def wilcoxon_scipy_default(before: Sequence[float], after: Sequence[float]) -> SignedRankScipy:
    """What ``scipy.stats.wilcoxon(after, before)`` gives with all its defaults: statistic, p, n_nonzero.

    Shown beside :func:`wilcoxon_signed_rank_spss` to make the difference visible: for small samples
    scipy's default P is exact (no ties or zeros) or from exhaustive permutations (ties or zeros,
    at most 13 differences), whereas SPSS 24 reports the normal approximation. NaN pairs are dropped.
    """
    differences = _paired_differences(before, after)
    n_nonzero = int((differences != 0).sum())
    if n_nonzero == 0:
        return SignedRankScipy(statistic=math.nan, p=math.nan, n_nonzero=0)
    test = stats.wilcoxon(differences)
    return SignedRankScipy(statistic=float(test.statistic), p=float(test.pvalue), n_nonzero=n_nonzero)
