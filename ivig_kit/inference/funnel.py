"""Funnel plots for a proportion: exact control limits, over-dispersion and an outlier policy.

A funnel plot shows each site's proportion against its number of patients, with control limits around a
target (Spiegelhalter DJ, *Stat Med* 2005;24:1185-1202, doi:10.1002/sim.1970). The limits here are exact
binomial limits, made smooth in ``n`` by the interpolation of his appendix A.1.1: with ``F`` the binomial
distribution function (``n`` patients, probability ``target``) and ``r`` the smallest count with
``F(r) >= p``, the limit for probability ``p`` is ``r - alpha`` on the count scale, where
``alpha = (F(r) - p) / (F(r) - F(r - 1))``; divided by ``n`` it is a proportion. Check value (clinical-qikit
0.5.0, stored in ``/work/shared/reference/feedback.md``): target 0.2, n = 50 gives 99.8% count limits 1.739
and 18.957 and 95% count limits 4.220 and 15.355.

Over-dispersion (sites vary more than chance allows) is estimated multiplicatively as Spiegelhalter does:
``phi`` is the mean squared z-score, after winsorising the z-scores at 10% in each tail; the limits can be
widened by ``sqrt(phi)`` around the target (:func:`funnel_limits` with ``phi=``).

Outlier policy (:data:`OUTLIER_POLICY`; ours, following the usual 2 and 3 SD levels): a site outside the
95% limits is an **alert**, outside the 99.8% limits an **alarm**, in either direction.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ivig_kit.errors import InputError

#: Outside these limits a site is an "alert" (about 2 SD).
ALERT_LEVEL = 0.95
#: Outside these limits a site is an "alarm" (about 3 SD).
ALARM_LEVEL = 0.998
#: Share of z-scores winsorised in each tail before ``phi`` is estimated (Spiegelhalter 2005).
WINSOR_SHARE = 0.10
#: The outlier policy the reports state, in words.
OUTLIER_POLICY = (
    "A site outside the 95% limits is an alert, outside the 99.8% limits an alarm, above or below "
    "the target; a flag is a question to the site, not a verdict."
)


class FunnelLimits(NamedTuple):
    """Lower and upper control limits as proportions (arrays when ``n`` is an array).

    Attributes
    ----------
    lower, upper : float or ndarray
        The limits, each in [0, 1].
    """

    lower: float | np.ndarray
    upper: float | np.ndarray


class Overdispersion(NamedTuple):
    """The multiplicative over-dispersion estimate of a funnel plot.

    Attributes
    ----------
    phi : float
        Mean squared winsorised z-score (1 when sites vary as chance allows); NaN with no site.
    z_scores : ndarray
        Each site's z-score before winsorising.
    winsorised : ndarray
        The z-scores after winsorising (:data:`WINSOR_SHARE` in each tail).
    sites : int
        Sites used (those with at least one patient).
    p_value : float
        Chance of a sum of squared (not winsorised) z-scores as large as this without over-dispersion
        (chi-squared, ``sites - 1`` degrees of freedom; NaN with fewer than two sites).
    """

    phi: float
    z_scores: np.ndarray
    winsorised: np.ndarray
    sites: int
    p_value: float


def _check_target(target) -> float:
    try:
        value = float(target)
    except (TypeError, ValueError):
        raise InputError(f"target must be a proportion between 0 and 1, got {target!r}") from None
    if not 0 <= value <= 1:  # also refuses NaN
        raise InputError(f"target must be a proportion between 0 and 1, got {target!r}")
    return value


def _check_level(level) -> float:
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InputError(f"level must lie strictly between 0 and 1 (0.95, 0.998), got {level!r}") from None
    if not 0 < value < 1:
        raise InputError(f"level must lie strictly between 0 and 1 (0.95, 0.998), got {level!r}")
    return value


def _check_n(n) -> np.ndarray:
    values = np.asarray(n, dtype=float)
    bad = ~np.isfinite(values) | (values < 1) | (values != np.round(values))
    if bad.any():
        shown = values[bad].ravel()[0]
        raise InputError(
            f"n must be whole numbers of patients >= 1, got {shown:g}: a site without patients has no funnel limits"
        )
    return values


def interpolated_quantile(p: float, n, target: float) -> np.ndarray:
    """The binomial ``p`` quantile of the count, interpolated as Spiegelhalter 2005 appendix A.1.1.

    Parameters
    ----------
    p : float
        Probability, strictly between 0 and 1.
    n : int or array of int
        Patients (>= 1).
    target : float
        The binomial probability, strictly between 0 and 1.

    Returns
    -------
    ndarray
        ``r - (F(r) - p) / (F(r) - F(r - 1))`` with ``r`` the smallest count with ``F(r) >= p``, in [0, n].
    """
    n = np.asarray(n, dtype=float)
    r = binomial_quantile(p, n, target)
    upper, below = binomial_cdf(r, n, target), binomial_cdf(r - 1, n, target)
    alpha = (upper - p) / (upper - below)
    return np.clip(r - alpha, 0, n)


def binomial_cdf(k, n, target: float) -> np.ndarray:
    """``P(X <= k)`` for ``X ~ Binomial(n, target)``: :func:`scipy.special.bdtr`, 0 below ``k = 0``.

    scipy.special's functions are what ``scipy.stats.binom`` wraps; importing ``scipy.stats`` costs every report
    kernel about 0.8 s, more than the rest of a site's report. Pinned against ``scipy.stats.binom`` in the tests.
    """
    from scipy import special

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    whole = np.maximum(k, 0).astype(np.int64), n.astype(np.int64)
    return np.where(k < 0, 0.0, special.bdtr(*whole, target))


def binomial_quantile(p: float, n, target: float) -> np.ndarray:
    """The smallest count ``r`` in [0, ``n``] with ``P(X <= r) >= p``, ``X ~ Binomial(n, target)``.

    Started from :func:`scipy.special.bdtrik` (the inverse in ``k``) and moved by whole counts until the
    definition holds; where the distribution function equals ``p`` to rounding, ``r`` may differ by one from
    ``scipy.stats.binom.ppf``, which leaves :func:`interpolated_quantile` unchanged (it is continuous there).
    """
    from scipy import special

    n = np.asarray(n, dtype=float)
    r = np.clip(np.ceil(np.nan_to_num(special.bdtrik(p, n, target), nan=0.0)), 0, n)
    for _ in range(4):  # bdtrik is within a count or two of r
        too_low = binomial_cdf(r, n, target) < p
        too_high = (r > 0) & (binomial_cdf(r - 1, n, target) >= p)
        if not (too_low.any() or too_high.any()):
            break
        r = np.clip(r + too_low - too_high, 0, n)
    return r


def winsorised(values, share: float) -> np.ndarray:
    """``values`` with the lowest and highest ``floor(share * len(values))`` set to the nearest kept value, as
    :func:`scipy.stats.mstats.winsorize` does with ``limits=(share, share)`` (pinned against it in the tests)."""
    values = np.array(values, dtype=float)
    count = len(values)
    order = np.argsort(values, kind="stable")
    low, high = int(share * count), count - int(share * count)
    if share and count:
        values[order[:low]] = values[order[low]]
        values[order[high:]] = values[order[high - 1]]
    return values


def funnel_limits(target, n, level: float = ALERT_LEVEL, phi: float = 1.0) -> FunnelLimits:
    """Exact binomial control limits of a proportion around ``target`` for ``n`` patients.

    Parameters
    ----------
    target : float
        The proportion the sites are compared with (e.g. the pooled responder proportion), in [0, 1].
        A target of 0 or 1 gives the degenerate limits (0, 0) or (1, 1).
    n : int or array of int
        Patients per site (>= 1); vectorised.
    level : float
        Two-sided coverage: 0.95 (alert) or 0.998 (alarm) in the reports.
    phi : float
        Multiplicative over-dispersion (:func:`overdispersion`); above 1 the limits are widened by
        ``sqrt(phi)`` around the target (and clipped to [0, 1]); 1 leaves them exact.

    Returns
    -------
    FunnelLimits
        (lower, upper) as proportions: floats for a scalar ``n``, arrays otherwise.

    Raises
    ------
    InputError
        A target outside [0, 1], a level outside (0, 1), an ``n`` under 1 or not whole, or ``phi`` < 1.

    Examples
    --------
    >>> limits = funnel_limits(0.2, 50, 0.998)
    >>> round(50 * limits.lower, 3), round(50 * limits.upper, 3)
    (1.739, 18.957)
    """
    target, level, counts = _check_target(target), _check_level(level), _check_n(n)
    try:
        phi = float(phi)
    except (TypeError, ValueError):
        raise InputError(f"phi must be a number >= 1, got {phi!r}") from None
    if not phi >= 1 or not np.isfinite(phi):
        raise InputError(f"phi must be a number >= 1 (1: no over-dispersion), got {phi!r}")
    tail = (1 - level) / 2
    if target in (0.0, 1.0):
        lower = upper = np.full(counts.shape, target)
    else:
        lower = interpolated_quantile(tail, counts, target) / counts
        upper = interpolated_quantile(1 - tail, counts, target) / counts
    if phi > 1:
        lower = np.clip(target - np.sqrt(phi) * (target - lower), 0, 1)
        upper = np.clip(target + np.sqrt(phi) * (upper - target), 0, 1)
    if counts.ndim == 0:
        return FunnelLimits(float(lower), float(upper))
    return FunnelLimits(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))


def overdispersion(events, n, target, winsor_share: float = WINSOR_SHARE) -> Overdispersion:
    """Spiegelhalter's multiplicative over-dispersion ``phi`` from each site's events of ``n`` patients.

    z-scores ``(events / n - target) / sqrt(target (1 - target) / n)`` are winsorised (the lowest and
    highest ``floor(winsor_share * sites)`` set to the nearest kept value, :func:`winsorised`)
    and ``phi`` is their mean square. Winsorising shrinks ``phi`` (about 0.68 for sites that vary by chance
    alone with 10% tails), so limits are widened only when ``phi`` exceeds 1. Sites with ``n`` = 0 are left out.

    Parameters
    ----------
    events, n : array of int
        Events (responders) and patients per site.
    target : float
        The proportion of the funnel, strictly between 0 and 1.
    winsor_share : float
        Share winsorised in each tail, in [0, 0.5).

    Returns
    -------
    Overdispersion
    """
    from scipy import special

    target = _check_target(target)
    if target in (0.0, 1.0):
        raise InputError(f"over-dispersion needs a target strictly between 0 and 1, got {target!r}")
    if not 0 <= winsor_share < 0.5:
        raise InputError(f"winsor_share must lie in [0, 0.5), got {winsor_share!r}")
    events, n = np.asarray(events, dtype=float).ravel(), np.asarray(n, dtype=float).ravel()
    if events.shape != n.shape or (events < 0).any() or (events > n).any():
        raise InputError("events and n must be as many counts, each 0 <= events <= n")
    keep = n > 0
    events, n = events[keep], n[keep]
    z = (events / n - target) / np.sqrt(target * (1 - target) / n)
    if not len(z):
        return Overdispersion(float("nan"), z, z, 0, float("nan"))
    kept = winsorised(z, winsor_share)
    phi = float(np.mean(kept**2))
    # the chi-squared survival function (scipy.stats.chi2.sf wraps it)
    p_value = float(special.chdtrc(len(z) - 1, float(np.sum(z**2)))) if len(z) > 1 else float("nan")
    return Overdispersion(phi, z, kept, len(z), p_value)


def funnel_flag(events, n, target, phi: float = 1.0) -> str:
    """The outlier policy for one site: ``"alarm"`` (outside 99.8%), ``"alert"`` (outside 95%) or ``""``.

    The observed proportion is compared with the limits themselves (on or inside a limit is not flagged).
    A site without patients, or a target of 0 or 1, is never flagged.
    """
    if n is None or n < 1 or events is None:
        return ""
    proportion = events / n
    for level, flag in ((ALARM_LEVEL, "alarm"), (ALERT_LEVEL, "alert")):
        limits = funnel_limits(target, n, level, phi=phi)
        if proportion < limits.lower - 1e-12 or proportion > limits.upper + 1e-12:
            return flag
    return ""
