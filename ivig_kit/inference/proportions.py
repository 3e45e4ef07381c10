"""One proportion k/n: exact and approximate intervals, the Beta posterior.

The pilot (Lim et al. 2021) reports one proportion (8/19 reaching TIS >= 40); this module gives the
tools to recompute it. scipy and statsmodels are imported where they are used, so a report kernel
that only needs the exact interval does not pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy.special import betaincinv

from ivig_kit.errors import InputError
from ivig_kit.inference.interval import Interval

#: Interval methods returned by :func:`proportion_intervals`, in display order.
INTERVAL_METHODS = ("clopper_pearson", "wilson", "jeffreys", "mid_p", "wald", "agresti_coull")

# Our method names -> statsmodels.stats.proportion.proportion_confint names.
_STATSMODELS_METHODS = {
    "clopper_pearson": "beta",
    "wilson": "wilson",
    "jeffreys": "jeffreys",
    "wald": "normal",
    "agresti_coull": "agresti_coull",
}


def check_proportion_input(k, n, confidence, integer_count=True) -> None:
    """Raise :class:`InputError` unless 0 <= k <= n, n >= 1 (whole numbers) and 0 < confidence < 1."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n <= 0 or (integer_count and (int(n) != n or int(k) != k)):
        raise InputError(f"need a count k and a positive whole number n, got k={k!r}, n={n!r}")
    if not 0 <= k <= n:
        raise InputError(f"k must lie between 0 and n, got k={k!r}, n={n!r}")


# --------------------------------------------------------------------------- intervals for k/n


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) two-sided interval for the proportion k/n.

    The beta quantiles of the exact binomial test, computed with ``scipy.special.betaincinv``
    (the same numbers as statsmodels' ``proportion_confint(method="beta")``, checked in the tests)
    so that a report kernel need not import statsmodels.

    Parameters
    ----------
    k, n : int
        Successes and trials, ``0 <= k <= n``, ``n >= 1``.
    confidence : float
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    Interval
        ``(low, high)`` as fractions in [0, 1].

    Examples
    --------
    >>> [round(v, 4) for v in clopper_pearson_interval(8, 19)]
    [0.2025, 0.665]
    """
    check_proportion_input(k, n, confidence)
    k, n, alpha = int(k), int(n), 1 - confidence
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
    return Interval(low, high)


def clopper_pearson_width(k: int, n: int, confidence: float = 0.95) -> float:
    """Total width (high - low) of the exact Clopper-Pearson interval for k/n."""
    low, high = clopper_pearson_interval(k, n, confidence)
    return high - low


def _mid_p_lower_tail(p: float, k: int, n: int) -> float:
    """P(X > k) + P(X = k) / 2 for X ~ Binomial(n, p): rises with p."""
    from scipy import stats

    return stats.binom.sf(k, n, p) + 0.5 * stats.binom.pmf(k, n, p)


def _mid_p_upper_tail(p: float, k: int, n: int) -> float:
    """P(X < k) + P(X = k) / 2 for X ~ Binomial(n, p): falls with p."""
    from scipy import stats

    return stats.binom.cdf(k - 1, n, p) + 0.5 * stats.binom.pmf(k, n, p)


def mid_p_interval(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Lancaster's mid-p exact interval for k/n, as (low, high) fractions.

    The Clopper-Pearson tails with only half the probability of the observed count: the limits are
    the p at which P(X > k) + P(X = k)/2 (low) and P(X < k) + P(X = k)/2 (high) equal (1 - confidence)/2,
    found with scipy's Brent root finder on the binomial distribution. Narrower than Clopper-Pearson
    and no longer guaranteed to cover at the nominal level, but close to it on average.
    """
    check_proportion_input(k, n, confidence)
    k, n = int(k), int(n)
    tail = (1 - confidence) / 2
    from scipy import optimize

    low = 0.0 if k == 0 else optimize.brentq(lambda p: _mid_p_lower_tail(p, k, n) - tail, 0.0, 1.0, xtol=1e-14)
    high = 1.0 if k == n else optimize.brentq(lambda p: _mid_p_upper_tail(p, k, n) - tail, 0.0, 1.0, xtol=1e-14)
    return Interval(float(low), float(high))


def proportion_interval(k: int, n: int, method: str = "clopper_pearson", confidence: float = 0.95) -> Interval:
    """Two-sided interval for k/n by one of :data:`INTERVAL_METHODS`, as (low, high) fractions in [0, 1]."""
    if method == "mid_p":
        return mid_p_interval(k, n, confidence)
    if method == "clopper_pearson":
        return clopper_pearson_interval(k, n, confidence)
    if method not in _STATSMODELS_METHODS:
        raise InputError(f"unknown interval method {method!r}; choose one of {', '.join(INTERVAL_METHODS)}")
    check_proportion_input(k, n, confidence)
    from statsmodels.stats.proportion import (
        proportion_confint,  # statsmodels costs a report kernel ~0.6 s
    )

    low, high = proportion_confint(int(k), int(n), alpha=1 - confidence, method=_STATSMODELS_METHODS[method])
    # statsmodels clips Wald and Agresti-Coull to [0, 1] already; float() drops numpy scalar types.
    return Interval(float(low), float(high))


def proportion_intervals(k: int, n: int, confidence: float = 0.95) -> pd.DataFrame:
    """The interval for k/n by every method in :data:`INTERVAL_METHODS`: columns method, low, high, width."""
    rows = []
    for method in INTERVAL_METHODS:
        low, high = proportion_interval(k, n, method, confidence)
        rows.append({"method": method, "low": low, "high": high, "width": high - low})
    return pd.DataFrame(rows, columns=["method", "low", "high", "width"])


@dataclass(frozen=True)
class SampleSizeStatement:
    """The exact interval a planning statement "n patients give a CI of width w" rests on.

    Attributes
    ----------
    n, k : int
        Patients and the successes the assumed proportion stands for (``k = proportion * n``).
    proportion, confidence : float
        The assumed sample proportion (k / n) and the two-sided confidence level.
    low, high, width : float
        The Clopper-Pearson limits (fractions) and their total width.
    """

    n: int
    k: int
    proportion: float
    confidence: float
    low: float
    high: float
    width: float


def sample_size_statement_check(n: int = 20, proportion: float = 0.60, confidence: float = 0.95) -> SampleSizeStatement:
    """Exact Clopper-Pearson interval and its width for k = proportion * n successes out of n.

    A planning statement such as "20 patients give an exact 95% CI of total width 0.448 (0.361-0.809)
    assuming a sample proportion of 0.60" is the Clopper-Pearson interval of 12/20.

    Returns
    -------
    SampleSizeStatement
        n, k, proportion, confidence, low, high and width.
    """
    k = proportion * n
    if abs(k - round(k)) > 1e-9:
        raise InputError(f"proportion * n must be a whole number of patients, got {proportion} * {n} = {k}")
    k = round(k)
    interval = clopper_pearson_interval(k, n, confidence)
    return SampleSizeStatement(
        n=int(n),
        k=k,
        proportion=k / n,
        confidence=confidence,
        low=interval.low,
        high=interval.high,
        width=interval.width,
    )


# --------------------------------------------------------------------------- Bayesian view


def beta_posterior(k: int, n: int, prior: tuple[float, float] = (1, 1)):
    """Posterior of a response rate after k of n responses: frozen ``scipy.stats.beta(a + k, b + n - k)``.

    The default prior Beta(1, 1) is uniform on [0, 1].
    """
    check_proportion_input(k, n, 0.95)
    a, b = prior
    if a <= 0 or b <= 0:
        raise InputError(f"Beta prior parameters must be positive, got {prior!r}")
    from scipy import (
        stats,  # imported on use: report kernels only need the exact interval
    )

    return stats.beta(a + k, b + n - k)


def probability_rate_exceeds(k: int, n: int, threshold: float, prior: tuple[float, float] = (1, 1)) -> float:
    """Posterior probability that the response rate is above ``threshold`` (a fraction), given k of n."""
    if not 0 <= threshold <= 1:
        raise InputError(f"threshold is a rate between 0 and 1, got {threshold!r}")
    return float(beta_posterior(k, n, prior).sf(threshold))


def credible_interval(k: int, n: int, confidence: float = 0.95, prior: tuple[float, float] = (1, 1)) -> Interval:
    """Equal-tailed posterior credible interval of the response rate, as (low, high) fractions."""
    check_proportion_input(k, n, confidence)
    low, high = beta_posterior(k, n, prior).ppf([(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(float(low), float(high))
