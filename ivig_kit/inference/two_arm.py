"""Two-arm comparisons of a binary outcome: risk difference, ratios, p values, the stratified CMH test.

Arm 1 is the treatment arm and the event is the good outcome (a responder), so a positive risk
difference favours arm 1. Everything works on counts (``x1`` events of ``n1``, ``x2`` of ``n2``):
that is all a published trial gives. The computations are statsmodels' and scipy's; this module
names them, lines them up and documents which is which. The Bayesian view is :mod:`.posterior`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    test_proportions_2indep,
)

from ivig_kit.errors import InputError
from ivig_kit.inference.interval import Interval

# method -> (label, statsmodels method or None when computed here, score variance correction).
# The score intervals are computed here: statsmodels <= 0.15 has a wrong coefficient in the
# Miettinen-Nurminen restricted MLE for compare="diff" (statsmodels issue #10269), which moves
# its score interval for a difference (56/70 vs 48/80: upper 0.3440, Newcombe 1998 prints 0.3382).
RISK_DIFFERENCE_METHODS = {
    "wald": ("Wald (unpooled normal approximation)", "wald", False),
    "wald_cc": ("Wald with continuity correction", None, False),
    "newcombe": ("Newcombe hybrid score (Wilson, method 10)", "newcomb", False),
    "score": ("Miettinen-Nurminen score", None, True),
    "mee": ("Mee / Farrington-Manning score", None, False),
    "agresti_caffo": ("Agresti-Caffo (add one success and one failure per arm)", "agresti-caffo", False),
}
METHOD_ALIASES = {"miettinen_nurminen": "score", "newcomb": "newcombe", "agresti-caffo": "agresti_caffo"}


class IntervalEstimate(NamedTuple):
    """A point estimate with its confidence interval and the method that produced the interval."""

    estimate: float
    low: float
    high: float
    method: str


class TwoArmCounts(NamedTuple):
    """Events and patients per arm: ``x1`` of ``n1`` (arm 1, treatment), ``x2`` of ``n2`` (arm 2)."""

    x1: int
    n1: int
    x2: int
    n2: int


def check_counts(x1: int, n1: int, x2: int, n2: int) -> TwoArmCounts:
    """The four counts as ints; :class:`InputError` unless whole, 0 <= x <= n and n > 0 in both arms."""
    counts = []
    for name, value in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        if float(value) != int(value) or value < 0:
            raise InputError(f"{name} must be a non-negative whole number, got {value!r}")
        counts.append(int(value))
    x1, n1, x2, n2 = counts
    if n1 == 0 or n2 == 0 or x1 > n1 or x2 > n2:
        raise InputError(f"need 0 <= x <= n and n > 0 in both arms, got {x1}/{n1} and {x2}/{n2}")
    return TwoArmCounts(x1, n1, x2, n2)


def alpha_from_confidence(confidence: float) -> float:
    """1 - confidence; :class:`InputError` unless 0 < confidence < 1."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    return 1 - confidence


def risk_difference(x1: int, n1: int, x2: int, n2: int) -> float:
    """The observed difference in proportions, arm 1 minus arm 2."""
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    return x1 / n1 - x2 / n2


def risk_difference_interval(
    x1: int, n1: int, x2: int, n2: int, method: str = "newcombe", confidence: float = 0.95
) -> Interval:
    """Confidence interval of the risk difference (proportions, arm 1 minus arm 2).

    Methods (``RISK_DIFFERENCE_METHODS``): ``wald``, ``wald_cc`` (Wald widened by
    (1/n1 + 1/n2)/2, as SAS's RISKDIFF(CORRECT)), ``newcombe``, ``score`` (Miettinen-Nurminen,
    alias ``miettinen_nurminen``), ``mee`` (score without the n/(n-1) factor) and
    ``agresti_caffo``. The Wald intervals are not clipped to [-1, 1].
    """
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    method = METHOD_ALIASES.get(method, method)
    if method not in RISK_DIFFERENCE_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(RISK_DIFFERENCE_METHODS)}")
    alpha = alpha_from_confidence(confidence)
    _, statsmodels_method, correction = RISK_DIFFERENCE_METHODS[method]
    if method in ("score", "mee"):
        return score_interval_difference(x1, n1, x2, n2, alpha, correction)
    if method == "wald_cc":
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="wald", compare="diff", alpha=alpha)
        widening = (1 / n1 + 1 / n2) / 2
        return Interval(float(low - widening), float(high + widening))
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method=statsmodels_method, compare="diff", alpha=alpha)
    return Interval(float(low), float(high))


class RestrictedProportions(NamedTuple):
    """Maximum-likelihood proportions of arm 1 and arm 2 under a tested difference."""

    p1: np.ndarray
    p2: np.ndarray


def restricted_proportions_array(x1, n1, x2, n2, delta) -> RestrictedProportions:
    """Maximum-likelihood p1, p2 under p1 - p2 = delta, elementwise over arrays of counts
    (Farrington & Manning 1990, closed-form cubic)."""
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + x1 / n1 + theta * x2 / n2 + delta * (theta + 2))
    c = delta**2 + delta * (2 * x1 / n1 + theta + 1) + x1 / n1 + theta * x2 / n2
    d = -x1 / n1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u = np.where(v >= 0, 1.0, -1.0) * np.sqrt(np.maximum(0.0, b**2 / (9 * a**2) - c / (3 * a)))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.pi + np.arccos(np.clip(v / u**3, -1.0, 1.0))) / 3
        p1 = np.where(u == 0, -b / (3 * a), 2 * u * np.cos(w) - b / (3 * a))
    p1 = np.clip(p1, 0.0, 1.0)
    return RestrictedProportions(p1, np.clip(p1 - delta, 0.0, 1.0))


def _restricted_proportions(x1: int, n1: int, x2: int, n2: int, delta: float) -> tuple[float, float]:
    """Maximum-likelihood p1, p2 under p1 - p2 = delta for one table (see :func:`restricted_proportions_array`)."""
    p1, p2 = restricted_proportions_array(x1, n1, x2, n2, delta)
    return float(p1), float(p2)


def score_interval_difference(x1: int, n1: int, x2: int, n2: int, alpha: float, correction: bool) -> Interval:
    """Score interval of p1 - p2: every delta whose score statistic |d - delta| / sd(delta) <= z, with sd
    from the restricted MLE (Miettinen & Nurminen 1985 with the N/(N-1) factor; Mee 1984 without)."""
    difference = x1 / n1 - x2 / n2
    z = stats.norm.isf(alpha / 2)
    factor = (n1 + n2) / (n1 + n2 - 1) if correction else 1.0

    def excess(delta):  # > 0 outside the interval, < 0 inside
        p1, p2 = _restricted_proportions(x1, n1, x2, n2, delta)
        variance = factor * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return (difference - delta) ** 2 - z**2 * variance

    step = 1e-9  # at delta = difference the variance can be 0 (0/n vs 0/n); look just beside it
    bounds = []
    for edge, inner in ((-1.0, difference - step), (1.0, difference + step)):
        if abs(edge - difference) <= step or excess(inner) >= 0:
            bounds.append(difference if abs(edge - difference) > step else edge)
        elif excess(edge) <= 0:
            bounds.append(edge)
        else:
            bounds.append(optimize.brentq(excess, edge, inner, xtol=1e-12))
    return Interval(float(bounds[0]), float(bounds[1]))


def risk_difference_intervals(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95, methods=tuple(RISK_DIFFERENCE_METHODS)
) -> pd.DataFrame:
    """The risk difference with its interval by each method: method, label, estimate, low, high, width."""
    estimate = risk_difference(x1, n1, x2, n2)
    rows = []
    for method in methods:
        low, high = risk_difference_interval(x1, n1, x2, n2, method=method, confidence=confidence)
        rows.append(
            {
                "method": method,
                "label": RISK_DIFFERENCE_METHODS[METHOD_ALIASES.get(method, method)][0],
                "estimate": estimate,
                "low": low,
                "high": high,
                "width": high - low,
            }
        )
    return pd.DataFrame(rows)


RATIO_METHODS = {"log": "log", "log_adjusted": "log-adjusted", "score": "score"}
ODDS_RATIO_METHODS = {
    "logit": "logit",
    "logit_adjusted": "logit-adjusted",
    "logit_smoothed": "logit-smoothed",
    "score": "score",
    "conditional_exact": None,
}


def relative_risk(
    x1: int, n1: int, x2: int, n2: int, method: str = "log", confidence: float = 0.95
) -> IntervalEstimate:
    """Risk ratio p1/p2 with its interval: ``log`` (Katz), ``log_adjusted`` or ``score`` (Koopman)."""
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    if method not in RATIO_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(RATIO_METHODS)}")
    try:
        low, high = confint_proportions_2indep(
            x1, n1, x2, n2, method=RATIO_METHODS[method], compare="ratio", alpha=alpha_from_confidence(confidence)
        )
    except ZeroDivisionError:
        raise InputError(
            f"the {method!r} interval needs events in both arms ({x1}/{n1}, {x2}/{n2}); use 'log_adjusted'"
        ) from None
    estimate = (x1 / n1) / (x2 / n2) if x2 else math.inf
    return IntervalEstimate(float(estimate), float(low), float(high), method)


def odds_ratio(x1: int, n1: int, x2: int, n2: int, method: str = "logit", confidence: float = 0.95) -> IntervalEstimate:
    """Odds ratio with its interval: ``logit`` (Woolf), ``logit_adjusted``, ``logit_smoothed``,
    ``score``, or ``conditional_exact`` (scipy: conditional maximum likelihood estimate with the exact
    interval from the noncentral hypergeometric distribution)."""
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    if method not in ODDS_RATIO_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(ODDS_RATIO_METHODS)}")
    if method == "conditional_exact":
        result = stats.contingency.odds_ratio([[x1, n1 - x1], [x2, n2 - x2]], kind="conditional")
        interval = result.confidence_interval(confidence_level=confidence)
        return IntervalEstimate(float(result.statistic), float(interval.low), float(interval.high), method)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # statsmodels' score search probes odds ratio 0
            low, high = confint_proportions_2indep(
                x1,
                n1,
                x2,
                n2,
                method=ODDS_RATIO_METHODS[method],
                compare="odds-ratio",
                alpha=alpha_from_confidence(confidence),
            )
    except ZeroDivisionError:
        raise InputError(
            f"the {method!r} interval needs no empty cell ({x1}/{n1}, {x2}/{n2}); "
            "use 'logit_adjusted', 'logit_smoothed' or 'conditional_exact'"
        ) from None
    denominator = x2 * (n1 - x1)
    estimate = x1 * (n2 - x2) / denominator if denominator else math.inf
    return IntervalEstimate(float(estimate), float(low), float(high), method)


def effect_measures(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> pd.DataFrame:
    """Relative risk and odds ratio by each method: measure, method, estimate, low, high."""
    rows = [
        {"measure": "relative risk", **relative_risk(x1, n1, x2, n2, m, confidence)._asdict()} for m in RATIO_METHODS
    ]
    rows += [
        {"measure": "odds ratio", **odds_ratio(x1, n1, x2, n2, m, confidence)._asdict()} for m in ODDS_RATIO_METHODS
    ]
    return pd.DataFrame(rows)[["measure", "method", "estimate", "low", "high"]]


class NumberNeededToTreat(NamedTuple):
    """1 / risk difference, with the interval from the risk difference's interval (Altman 1998).

    When the risk-difference interval excludes 0, the interval is (1/high, 1/low). When it
    includes 0, the confidence set runs from ``low`` (to benefit) through infinity to ``high``
    (a negative number: to harm), and ``through_infinity`` is True.
    """

    estimate: float
    low: float
    high: float
    through_infinity: bool
    method: str


def number_needed_to_treat(
    x1: int, n1: int, x2: int, n2: int, method: str = "newcombe", confidence: float = 0.95
) -> NumberNeededToTreat:
    """Patients to treat with arm 1 instead of arm 2 for one more event (here: one more responder)."""
    difference = risk_difference(x1, n1, x2, n2)
    rd_low, rd_high = risk_difference_interval(x1, n1, x2, n2, method=method, confidence=confidence)

    def inverse(value):
        return math.inf if value == 0 else 1 / value

    through_infinity = rd_low <= 0 <= rd_high
    low, high = inverse(rd_high), inverse(rd_low)
    return NumberNeededToTreat(inverse(difference), low, high, through_infinity, method)


# --- p values ---


def _table(x1, n1, x2, n2):
    """Rows are the arms, columns events and non-events."""
    return np.array([[x1, n1 - x1], [x2, n2 - x2]])


def _unconditional(test):
    # scipy's Barnard and Boschloo tests take each *column* as one binomial sample.
    def run(x1, n1, x2, n2):
        result = test(_table(x1, n1, x2, n2).T)
        return (result.statistic if test is stats.barnard_exact else None), result.pvalue

    return run


def _fisher_mid_p(x1, n1, x2, n2):
    # Lancaster's mid-p, doubled from the one-sided tail in the observed direction.
    distribution = stats.hypergeom(n1 + n2, x1 + x2, n1)
    expected = n1 * (x1 + x2) / (n1 + n2)
    tail = distribution.sf(x1) if x1 >= expected else distribution.cdf(x1 - 1)
    return None, min(1.0, 2 * (tail + 0.5 * distribution.pmf(x1)))


def _fisher_doubled(x1, n1, x2, n2):
    table = _table(x1, n1, x2, n2)
    one_sided = min(
        stats.fisher_exact(table, alternative="greater").pvalue, stats.fisher_exact(table, alternative="less").pvalue
    )
    return None, min(1.0, 2 * one_sided)


def _chi2(correction, lambda_=None):
    def test(x1, n1, x2, n2):
        result = stats.chi2_contingency(_table(x1, n1, x2, n2), correction=correction, lambda_=lambda_)
        return result.statistic, result.pvalue

    return test


def _statsmodels_z(method, correction=False):
    def test(x1, n1, x2, n2):
        result = test_proportions_2indep(x1, n1, x2, n2, method=method, compare="diff", correction=correction)
        return result.statistic, result.pvalue

    return test


def _log_ratio_wald(kind):
    def test(x1, n1, x2, n2):
        table = Table2x2(_table(x1, n1, x2, n2))
        log_estimate, se = (
            (table.log_oddsratio, table.log_oddsratio_se)
            if kind == "odds"
            else (table.log_riskratio, table.log_riskratio_se)
        )
        z = log_estimate / se
        return z, 2 * stats.norm.sf(abs(z))

    return test


# name -> (description, function returning (statistic or None, two-sided p))
TWO_ARM_TESTS = {
    "fisher": (
        "Fisher's exact test (two-sided, tables as or less likely)",
        lambda x1, n1, x2, n2: (None, stats.fisher_exact(_table(x1, n1, x2, n2)).pvalue),
    ),
    "pearson": ("Pearson chi-square, no continuity correction", _chi2(False)),
    "pearson_yates": ("Pearson chi-square with Yates' continuity correction", _chi2(True)),
    "barnard": ("Barnard's unconditional exact test (pooled score statistic)", _unconditional(stats.barnard_exact)),
    "boschloo": ("Boschloo's unconditional exact test", _unconditional(stats.boschloo_exact)),
    "fisher_doubled": ("Fisher's exact test, one-sided p doubled", _fisher_doubled),
    "fisher_mid_p": ("Fisher mid-p (one-sided mid-p doubled)", _fisher_mid_p),
    "likelihood_ratio": ("likelihood-ratio (G) test", _chi2(False, "log-likelihood")),
    "wald_unpooled": ("Wald z test of the risk difference (unpooled variance)", _statsmodels_z("wald")),
    "miettinen_nurminen": (
        "Miettinen-Nurminen score test of the risk difference",
        _statsmodels_z("score", correction=True),
    ),
    "agresti_caffo": ("Agresti-Caffo z test of the risk difference", _statsmodels_z("agresti-caffo")),
    "log_odds_ratio_wald": ("Wald z test of the log odds ratio (as in a logistic regression)", _log_ratio_wald("odds")),
    "log_risk_ratio_wald": ("Wald z test of the log risk ratio", _log_ratio_wald("risk")),
}
STANDARD_TESTS = ("fisher", "pearson", "pearson_yates", "barnard", "boschloo")


def two_arm_p_values(x1: int, n1: int, x2: int, n2: int, tests=STANDARD_TESTS) -> pd.DataFrame:
    """Two-sided p values of no difference between the arms: test, description, statistic, p_value.

    ``tests`` names entries of ``TWO_ARM_TESTS`` (default: Fisher, Pearson with and without Yates,
    Barnard, Boschloo; pass ``tuple(TWO_ARM_TESTS)`` for all)."""
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    rows = []
    for name in tests:
        if name not in TWO_ARM_TESTS:
            raise InputError(f"unknown test {name!r}; expected one of {list(TWO_ARM_TESTS)}")
        description, test = TWO_ARM_TESTS[name]
        statistic, p_value = test(x1, n1, x2, n2)
        rows.append(
            {
                "test": name,
                "description": description,
                "statistic": np.nan if statistic is None else float(statistic),
                "p_value": float(p_value),
            }
        )
    return pd.DataFrame(rows)


# --- stratified analysis ---


@dataclass(frozen=True)
class CochranMantelHaenszel:
    """The Cochran-Mantel-Haenszel test of no association across strata.

    Attributes
    ----------
    statistic : float
        The 1-df CMH chi-square.
    p_value : float
        Its two-sided p value.
    odds_ratio_mh : float
        The Mantel-Haenszel common odds ratio.
    strata : int
        Number of strata.
    """

    statistic: float
    p_value: float
    odds_ratio_mh: float
    strata: int


def cochran_mantel_haenszel(strata, correction: bool = False) -> CochranMantelHaenszel:
    """Cochran-Mantel-Haenszel test of no association across strata (statsmodels ``StratifiedTable``).

    ``strata``: (x1, n1, x2, n2) per stratum; one stratum gives the unstratified CMH test, whose
    statistic is Pearson's times (N - 1) / N. Returns statistic, p_value, the Mantel-Haenszel
    common odds ratio and the number of strata.
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    tables = [_table(*check_counts(*stratum)) for stratum in strata]
    if not tables:
        raise InputError("need at least one stratum")
    stratified = StratifiedTable([table.astype(float) for table in tables])
    test = stratified.test_null_odds(correction=correction)
    return CochranMantelHaenszel(
        statistic=float(test.statistic),
        p_value=float(test.pvalue),
        odds_ratio_mh=float(stratified.oddsratio_pooled),
        strata=len(tables),
    )
