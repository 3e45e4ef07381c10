"""Two-arm comparisons of a binary outcome: risk difference, ratios, p values, fragility, Bayes.

Arm 1 is the treatment arm and the event is the good outcome (a responder), so a positive risk
difference favours arm 1. Everything works on counts (``x1`` events of ``n1``, ``x2`` of ``n2``):
that is all a published trial gives. The computations are statsmodels' and scipy's; this module
names them, lines them up and documents which is which.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    test_proportions_2indep,
)

from ivig_kit.errors import InputError

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


def _check_counts(x1: int, n1: int, x2: int, n2: int) -> tuple[int, int, int, int]:
    counts = []
    for name, value in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2)):
        if float(value) != int(value) or value < 0:
            raise InputError(f"{name} must be a non-negative whole number, got {value!r}")
        counts.append(int(value))
    x1, n1, x2, n2 = counts
    if n1 == 0 or n2 == 0 or x1 > n1 or x2 > n2:
        raise InputError(f"need 0 <= x <= n and n > 0 in both arms, got {x1}/{n1} and {x2}/{n2}")
    return x1, n1, x2, n2


def _alpha(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    return 1 - confidence


def risk_difference(x1: int, n1: int, x2: int, n2: int) -> float:
    """The observed difference in proportions, arm 1 minus arm 2."""
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    return x1 / n1 - x2 / n2


def risk_difference_interval(x1: int, n1: int, x2: int, n2: int, method: str = "newcombe",
                             confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the risk difference (proportions, arm 1 minus arm 2).

    Methods (``RISK_DIFFERENCE_METHODS``): ``wald``, ``wald_cc`` (Wald widened by
    (1/n1 + 1/n2)/2, as SAS's RISKDIFF(CORRECT)), ``newcombe``, ``score`` (Miettinen-Nurminen,
    alias ``miettinen_nurminen``), ``mee`` (score without the n/(n-1) factor) and
    ``agresti_caffo``. The Wald intervals are not clipped to [-1, 1].
    """
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    method = METHOD_ALIASES.get(method, method)
    if method not in RISK_DIFFERENCE_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(RISK_DIFFERENCE_METHODS)}")
    alpha = _alpha(confidence)
    _, statsmodels_method, correction = RISK_DIFFERENCE_METHODS[method]
    if method in ("score", "mee"):
        return _score_interval_difference(x1, n1, x2, n2, alpha, correction)
    if method == "wald_cc":
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="wald", compare="diff", alpha=alpha)
        widening = (1 / n1 + 1 / n2) / 2
        return float(low - widening), float(high + widening)
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method=statsmodels_method, compare="diff",
                                           alpha=alpha)
    return float(low), float(high)


def _restricted_proportions(x1: int, n1: int, x2: int, n2: int, delta: float) -> tuple[float, float]:
    """Maximum-likelihood p1, p2 under p1 - p2 = delta (Farrington & Manning 1990, closed-form cubic)."""
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + x1 / n1 + theta * x2 / n2 + delta * (theta + 2))
    c = delta ** 2 + delta * (2 * x1 / n1 + theta + 1) + x1 / n1 + theta * x2 / n2
    d = -x1 / n1 * delta * (1 + delta)
    v = b ** 3 / (27 * a ** 3) - b * c / (6 * a ** 2) + d / (2 * a)
    u = math.copysign(1, v) * math.sqrt(max(0.0, b ** 2 / (9 * a ** 2) - c / (3 * a)))
    if u == 0:
        p1 = -b / (3 * a)
    else:
        w = (math.pi + math.acos(min(1.0, max(-1.0, v / u ** 3)))) / 3
        p1 = 2 * u * math.cos(w) - b / (3 * a)
    p1 = min(1.0, max(0.0, p1))
    return p1, min(1.0, max(0.0, p1 - delta))


def _score_interval_difference(x1, n1, x2, n2, alpha, correction) -> tuple[float, float]:
    """Score interval of p1 - p2: every delta whose score statistic |d - delta| / sd(delta) <= z, with sd
    from the restricted MLE (Miettinen & Nurminen 1985 with the N/(N-1) factor; Mee 1984 without)."""
    difference = x1 / n1 - x2 / n2
    z = stats.norm.isf(alpha / 2)
    factor = (n1 + n2) / (n1 + n2 - 1) if correction else 1.0

    def excess(delta):  # > 0 outside the interval, < 0 inside
        p1, p2 = _restricted_proportions(x1, n1, x2, n2, delta)
        variance = factor * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return (difference - delta) ** 2 - z ** 2 * variance

    step = 1e-9  # at delta = difference the variance can be 0 (0/n vs 0/n); look just beside it
    bounds = []
    for edge, inner in ((-1.0, difference - step), (1.0, difference + step)):
        if abs(edge - difference) <= step or excess(inner) >= 0:
            bounds.append(difference if abs(edge - difference) > step else edge)
        elif excess(edge) <= 0:
            bounds.append(edge)
        else:
            bounds.append(optimize.brentq(excess, edge, inner, xtol=1e-12))
    return float(bounds[0]), float(bounds[1])


# --- exact unconditional intervals ---

#: statistic -> (label, reference). Both invert two one-sided exact unconditional tests ("tail method"),
#: each at alpha / 2, maximising each tail over the nuisance parameter p2.
EXACT_UNCONDITIONAL_METHODS = {
    "santner_snell": ("Santner-Snell exact unconditional (difference)", "Santner & Snell, JASA 1980;75:386-94"),
    "chan_zhang": ("Chan-Zhang exact unconditional (score)", "Chan & Zhang, Biometrics 1999;55:1202-9"),
}


def _restricted_proportions_array(x1, n1, x2, n2, delta):
    """:func:`_restricted_proportions` for arrays of counts (same cubic, elementwise)."""
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + x1 / n1 + theta * x2 / n2 + delta * (theta + 2))
    c = delta ** 2 + delta * (2 * x1 / n1 + theta + 1) + x1 / n1 + theta * x2 / n2
    d = -x1 / n1 * delta * (1 + delta)
    v = b ** 3 / (27 * a ** 3) - b * c / (6 * a ** 2) + d / (2 * a)
    u = np.where(v >= 0, 1.0, -1.0) * np.sqrt(np.maximum(0.0, b ** 2 / (9 * a ** 2) - c / (3 * a)))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.pi + np.arccos(np.clip(v / u ** 3, -1.0, 1.0))) / 3
        p1 = np.where(u == 0, -b / (3 * a), 2 * u * np.cos(w) - b / (3 * a))
    p1 = np.clip(p1, 0.0, 1.0)
    return p1, np.clip(p1 - delta, 0.0, 1.0)


def _ordering(method: str, n1: int, n2: int, delta: float) -> np.ndarray:
    """The statistic that orders all (n1 + 1) x (n2 + 1) tables: larger = more in favour of arm 1."""
    i, j = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    difference = i / n1 - j / n2
    if method == "santner_snell":
        return difference
    p1, p2 = _restricted_proportions_array(i, n1, j, n2, delta)
    variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (difference - delta) / np.sqrt(variance)
    # variance 0 only where the table sits exactly on the boundary it is tested against
    return np.where(variance > 0, score, np.where(difference > delta, np.inf, np.where(difference < delta, -np.inf, 0.0)))


def _binomial_pmf(n: int, p: np.ndarray) -> np.ndarray:
    """P(X = 0..n) for X ~ Binomial(n, p), one row per p (vectorised, exact at p = 0 and 1)."""
    k = np.arange(n + 1)[None, :]
    p = np.asarray(p, dtype=float)[:, None]
    return np.exp(_log_choose(n) + special.xlogy(k, p) + special.xlog1py(n - k, -p))


@functools.lru_cache(maxsize=32)
def _log_choose(n: int) -> np.ndarray:
    k = np.arange(n + 1)[None, :]
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def _tail_probability(x1, n1, x2, n2, delta, method, nuisance_points, upper: bool) -> float:
    """Exact unconditional P(T >= t_obs) (``upper``) or P(T <= t_obs) at p1 - p2 = delta, maximised over p2."""
    statistic = _ordering(method, n1, n2, delta)
    observed = statistic[x1, x2]
    tolerance = 1e-10 * max(1.0, abs(observed)) if np.isfinite(observed) else 0.0
    tail = ((statistic >= observed - tolerance) if upper else (statistic <= observed + tolerance)).astype(float)

    def probability(p2):
        return ((_binomial_pmf(n1, np.clip(p2 + delta, 0, 1)) @ tail) * _binomial_pmf(n2, p2)).sum(axis=1)

    low, high = max(0.0, -delta), min(1.0, 1.0 - delta)
    grid = np.linspace(low, high, nuisance_points)
    values = probability(grid)
    best_value = values.max()
    for _ in range(3):  # zoom in around the grid maximum, 21 points at a time
        best = int(np.argmax(values))
        grid = np.linspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], 21)
        values = probability(grid)
        best_value = max(best_value, values.max())
    return float(min(1.0, best_value))


def _coarse_tail_probabilities(x1, n1, x2, n2, deltas, method, nuisance_points, upper: bool) -> np.ndarray:
    """:func:`_tail_probability` on a p2 grid only (no zooming), for many deltas at once: a lower bound."""
    fractions = np.linspace(0, 1, nuisance_points)
    results = []
    for delta in deltas:  # one matrix product per delta; the p2 grid is vectorised
        statistic = _ordering(method, n1, n2, delta)
        observed = statistic[x1, x2]
        tolerance = 1e-10 * max(1.0, abs(observed)) if np.isfinite(observed) else 0.0
        tail = ((statistic >= observed - tolerance) if upper else (statistic <= observed + tolerance)).astype(float)
        p2 = max(0.0, -delta) + fractions * (min(1.0, 1.0 - delta) - max(0.0, -delta))
        results.append((((_binomial_pmf(n1, np.clip(p2 + delta, 0, 1)) @ tail) * _binomial_pmf(n2, p2)).sum(1)).max())
    return np.array(results)


def exact_unconditional_interval(x1: int, n1: int, x2: int, n2: int, method: str = "chan_zhang",
                                 confidence: float = 0.95, delta_step: float = 0.001,
                                 nuisance_points: int = 201) -> tuple[float, float]:
    """Exact unconditional confidence interval of p1 - p2 by the tail method.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and patients in arm 1 and arm 2.
    method : {"chan_zhang", "santner_snell"}
        The statistic that orders the tables: the score statistic under p1 - p2 = delta (Chan and
        Zhang 1999) or the plain difference (Santner and Snell 1980; SAS ``RISKDIFF(METHOD=NOSCORE)``).
    confidence : float
        Two-sided confidence level; each one-sided test is at (1 - confidence) / 2.
    delta_step : float
        Step of the scan over delta; each limit is then refined by bisection.
    nuisance_points : int
        Grid over the nuisance parameter p2; the maximum is refined by zooming in three times.

    Returns
    -------
    tuple of float
        ``(low, high)``: the smallest delta whose upper-tail p exceeds alpha / 2, the largest whose
        lower-tail p does.

    Notes
    -----
    The maximised tail p values are not monotone in delta: with the score ordering, tables change
    places as delta moves, and the p value saw-tooths (for 37/47 vs 21/48 the upper-tail p is above
    0.025 at delta = 0.122-0.125, below it at 0.125-0.135, above again from 0.135). The accepted set
    need not be an interval; the limits are its outermost points found on the scan, which starts 0.2
    outside the Miettinen-Nurminen limits (further if needed) and moves inward, so a tooth narrower
    than ``delta_step`` can be missed. Every table of both arms is scored at once (numpy).
    """
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    if method not in EXACT_UNCONDITIONAL_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(EXACT_UNCONDITIONAL_METHODS)}")
    half_alpha = _alpha(confidence) / 2
    estimate = x1 / n1 - x2 / n2
    asymptotic = _score_interval_difference(x1, n1, x2, n2, _alpha(confidence), True)

    def accepted(delta, upper):
        return _tail_probability(x1, n1, x2, n2, delta, method, nuisance_points, upper=upper) > half_alpha

    def limit(upper: bool, sign: float, start: float):
        margin = 0.2
        while True:  # widen the scan until its outer end is rejected (or at the edge of [-1, 1])
            outer = float(np.clip(start + sign * margin, -1, 1))
            if abs(outer) == 1.0 or not accepted(outer, upper):
                break
            margin *= 2
        if accepted(outer, upper):
            return outer
        steps = max(int(np.ceil(abs(estimate - outer) / delta_step)), 1)
        grid = np.linspace(outer, estimate, steps + 1)
        coarse = np.concatenate([_coarse_tail_probabilities(x1, n1, x2, n2, grid[:1], method, 61, upper)])
        for index in range(1, len(grid)):
            if index >= len(coarse):  # coarse lower bounds of the maximum, 50 deltas at a time
                coarse = np.concatenate([coarse, _coarse_tail_probabilities(
                    x1, n1, x2, n2, grid[index:index + 50], method, 61, upper)])
            rejected, inside = grid[index - 1], grid[index]
            # only points near the threshold need the full search over the nuisance parameter
            if coarse[index] > half_alpha or (coarse[index] > 0.8 * half_alpha and accepted(inside, upper)):
                for _ in range(30):
                    middle = (rejected + inside) / 2
                    rejected, inside = (rejected, middle) if accepted(middle, upper) else (middle, inside)
                return float(inside)
        return float(estimate)

    return limit(True, -1.0, asymptotic[0]), limit(False, 1.0, asymptotic[1])


def risk_difference_intervals(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95,
                              methods=tuple(RISK_DIFFERENCE_METHODS)) -> pd.DataFrame:
    """The risk difference with its interval by each method: method, label, estimate, low, high, width."""
    estimate = risk_difference(x1, n1, x2, n2)
    rows = []
    for method in methods:
        low, high = risk_difference_interval(x1, n1, x2, n2, method=method, confidence=confidence)
        rows.append({"method": method, "label": RISK_DIFFERENCE_METHODS[METHOD_ALIASES.get(method, method)][0],
                     "estimate": estimate, "low": low, "high": high, "width": high - low})
    return pd.DataFrame(rows)


RATIO_METHODS = {"log": "log", "log_adjusted": "log-adjusted", "score": "score"}
ODDS_RATIO_METHODS = {"logit": "logit", "logit_adjusted": "logit-adjusted", "logit_smoothed": "logit-smoothed",
                      "score": "score", "conditional_exact": None}


def relative_risk(x1: int, n1: int, x2: int, n2: int, method: str = "log",
                  confidence: float = 0.95) -> IntervalEstimate:
    """Risk ratio p1/p2 with its interval: ``log`` (Katz), ``log_adjusted`` or ``score`` (Koopman)."""
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    if method not in RATIO_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(RATIO_METHODS)}")
    try:
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method=RATIO_METHODS[method], compare="ratio",
                                               alpha=_alpha(confidence))
    except ZeroDivisionError:
        raise InputError(f"the {method!r} interval needs events in both arms ({x1}/{n1}, {x2}/{n2}); "
                         "use 'log_adjusted'") from None
    estimate = (x1 / n1) / (x2 / n2) if x2 else math.inf
    return IntervalEstimate(float(estimate), float(low), float(high), method)


def odds_ratio(x1: int, n1: int, x2: int, n2: int, method: str = "logit",
               confidence: float = 0.95) -> IntervalEstimate:
    """Odds ratio with its interval: ``logit`` (Woolf), ``logit_adjusted``, ``logit_smoothed``,
    ``score``, or ``conditional_exact`` (scipy: conditional maximum likelihood estimate with the exact
    interval from the noncentral hypergeometric distribution)."""
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    if method not in ODDS_RATIO_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(ODDS_RATIO_METHODS)}")
    if method == "conditional_exact":
        result = stats.contingency.odds_ratio([[x1, n1 - x1], [x2, n2 - x2]], kind="conditional")
        interval = result.confidence_interval(confidence_level=confidence)
        return IntervalEstimate(float(result.statistic), float(interval.low), float(interval.high), method)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # statsmodels' score search probes odds ratio 0
            low, high = confint_proportions_2indep(x1, n1, x2, n2, method=ODDS_RATIO_METHODS[method],
                                                   compare="odds-ratio", alpha=_alpha(confidence))
    except ZeroDivisionError:
        raise InputError(f"the {method!r} interval needs no empty cell ({x1}/{n1}, {x2}/{n2}); "
                         "use 'logit_adjusted', 'logit_smoothed' or 'conditional_exact'") from None
    denominator = x2 * (n1 - x1)
    estimate = x1 * (n2 - x2) / denominator if denominator else math.inf
    return IntervalEstimate(float(estimate), float(low), float(high), method)


def effect_measures(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> pd.DataFrame:
    """Relative risk and odds ratio by each method: measure, method, estimate, low, high."""
    rows = [{"measure": "relative risk", **relative_risk(x1, n1, x2, n2, m, confidence)._asdict()}
            for m in RATIO_METHODS]
    rows += [{"measure": "odds ratio", **odds_ratio(x1, n1, x2, n2, m, confidence)._asdict()}
             for m in ODDS_RATIO_METHODS]
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


def number_needed_to_treat(x1: int, n1: int, x2: int, n2: int, method: str = "newcombe",
                           confidence: float = 0.95) -> NumberNeededToTreat:
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
    one_sided = min(stats.fisher_exact(table, alternative="greater").pvalue,
                    stats.fisher_exact(table, alternative="less").pvalue)
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
        log_estimate, se = ((table.log_oddsratio, table.log_oddsratio_se) if kind == "odds"
                            else (table.log_riskratio, table.log_riskratio_se))
        z = log_estimate / se
        return z, 2 * stats.norm.sf(abs(z))
    return test


# name -> (description, function returning (statistic or None, two-sided p))
TWO_ARM_TESTS = {
    "fisher": ("Fisher's exact test (two-sided, tables as or less likely)",
               lambda x1, n1, x2, n2: (None, stats.fisher_exact(_table(x1, n1, x2, n2)).pvalue)),
    "pearson": ("Pearson chi-square, no continuity correction", _chi2(False)),
    "pearson_yates": ("Pearson chi-square with Yates' continuity correction", _chi2(True)),
    "barnard": ("Barnard's unconditional exact test (pooled score statistic)", _unconditional(stats.barnard_exact)),
    "boschloo": ("Boschloo's unconditional exact test", _unconditional(stats.boschloo_exact)),
    "fisher_doubled": ("Fisher's exact test, one-sided p doubled", _fisher_doubled),
    "fisher_mid_p": ("Fisher mid-p (one-sided mid-p doubled)", _fisher_mid_p),
    "likelihood_ratio": ("likelihood-ratio (G) test", _chi2(False, "log-likelihood")),
    "wald_unpooled": ("Wald z test of the risk difference (unpooled variance)", _statsmodels_z("wald")),
    "miettinen_nurminen": ("Miettinen-Nurminen score test of the risk difference",
                           _statsmodels_z("score", correction=True)),
    "agresti_caffo": ("Agresti-Caffo z test of the risk difference", _statsmodels_z("agresti-caffo")),
    "log_odds_ratio_wald": ("Wald z test of the log odds ratio (as in a logistic regression)",
                            _log_ratio_wald("odds")),
    "log_risk_ratio_wald": ("Wald z test of the log risk ratio", _log_ratio_wald("risk")),
}
STANDARD_TESTS = ("fisher", "pearson", "pearson_yates", "barnard", "boschloo")


def two_arm_p_values(x1: int, n1: int, x2: int, n2: int, tests=STANDARD_TESTS) -> pd.DataFrame:
    """Two-sided p values of no difference between the arms: test, description, statistic, p_value.

    ``tests`` names entries of ``TWO_ARM_TESTS`` (default: Fisher, Pearson with and without Yates,
    Barnard, Boschloo; pass ``tuple(TWO_ARM_TESTS)`` for all)."""
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    rows = []
    for name in tests:
        if name not in TWO_ARM_TESTS:
            raise InputError(f"unknown test {name!r}; expected one of {list(TWO_ARM_TESTS)}")
        description, test = TWO_ARM_TESTS[name]
        statistic, p_value = test(x1, n1, x2, n2)
        rows.append({"test": name, "description": description,
                     "statistic": np.nan if statistic is None else float(statistic), "p_value": float(p_value)})
    return pd.DataFrame(rows)


# --- stratified analysis ---

def cochran_mantel_haenszel(strata, correction: bool = False) -> dict:
    """Cochran-Mantel-Haenszel test of no association across strata (statsmodels ``StratifiedTable``).

    ``strata``: (x1, n1, x2, n2) per stratum; one stratum gives the unstratified CMH test, whose
    statistic is Pearson's times (N - 1) / N. Returns statistic, p_value, the Mantel-Haenszel
    common odds ratio and the number of strata.
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    tables = [_table(*_check_counts(*stratum)) for stratum in strata]
    if not tables:
        raise InputError("need at least one stratum")
    stratified = StratifiedTable([table.astype(float) for table in tables])
    test = stratified.test_null_odds(correction=correction)
    return {"statistic": float(test.statistic), "p_value": float(test.pvalue),
            "odds_ratio_mh": float(stratified.oddsratio_pooled), "strata": len(tables)}


# --- Bayesian view ---

@dataclass(frozen=True)
class RiskDifferencePosterior:
    """Posterior of p1 - p2 under independent Beta priors (by numerical integration, not sampling)."""

    prior: tuple[float, float]
    posterior_1: tuple[float, float]
    posterior_2: tuple[float, float]
    mean: float
    median: float
    low: float
    high: float
    credibility: float
    probability_above: dict[float, float]

    def summary(self) -> pd.DataFrame:
        """One row per quantity: name and value."""
        rows = [("posterior mean", self.mean), ("posterior median", self.median),
                (f"{self.credibility:.0%} credible interval, low", self.low),
                (f"{self.credibility:.0%} credible interval, high", self.high)]
        rows += [(f"P(RD > {threshold:g})", probability) for threshold, probability in self.probability_above.items()]
        return pd.DataFrame(rows, columns=["quantity", "value"])


def _probability_difference_above(beta_1, beta_2, threshold: float) -> float:
    # P(p1 - p2 > t) = integral over p2 of f2(p2) * P(p1 > p2 + t).
    low, high = max(0.0, -threshold), min(1.0, 1.0 - threshold)
    # Tell quad where the mass is, so that a sharp posterior (large arms) is not stepped over.
    peaks = [p for p in (beta_2.mean(), beta_1.mean() - threshold) if low < p < high]
    inside, _ = integrate.quad(lambda p: beta_2.pdf(p) * beta_1.sf(p + threshold), low, high, limit=200,
                               epsabs=1e-12, epsrel=1e-10, points=peaks or None)
    # p2 below `low` (only when t < 0): p1 > p2 + t always holds there.
    below = beta_2.cdf(low) if low > 0 else 0.0
    return float(min(1.0, max(0.0, inside + below)))


def risk_difference_posterior(x1: int, n1: int, x2: int, n2: int, prior=(1, 1), thresholds=(0.0, 0.2),
                              credibility: float = 0.95) -> RiskDifferencePosterior:
    """Posterior of the risk difference with Beta(prior) on each arm's proportion.

    Returns the mean, the median and an equal-tailed credible interval, and P(RD > t) for each
    threshold; all by one-dimensional numerical integration, so the result is deterministic.
    """
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    a, b = prior
    posterior_1, posterior_2 = (a + x1, b + n1 - x1), (a + x2, b + n2 - x2)
    beta_1, beta_2 = stats.beta(*posterior_1), stats.beta(*posterior_2)

    def cdf(d):
        return 1 - _probability_difference_above(beta_1, beta_2, d)

    def quantile(q):
        return optimize.brentq(lambda d: cdf(d) - q, -1 + 1e-12, 1 - 1e-12, xtol=1e-10)

    tail = (1 - credibility) / 2
    return RiskDifferencePosterior(
        prior=tuple(prior), posterior_1=posterior_1, posterior_2=posterior_2,
        mean=float(beta_1.mean() - beta_2.mean()), median=quantile(0.5),
        low=quantile(tail), high=quantile(1 - tail), credibility=credibility,
        probability_above={float(t): _probability_difference_above(beta_1, beta_2, t) for t in thresholds})


def risk_difference_posterior_draws(x1: int, n1: int, x2: int, n2: int, prior=(1, 1), draws: int = 100_000,
                                    seed: int = 2022) -> np.ndarray:
    """Monte Carlo draws of p1 - p2 from the same posterior (seeded), e.g. for a histogram."""
    x1, n1, x2, n2 = _check_counts(x1, n1, x2, n2)
    a, b = prior
    generator = np.random.default_rng(seed)
    return generator.beta(a + x1, b + n1 - x1, draws) - generator.beta(a + x2, b + n2 - x2, draws)
