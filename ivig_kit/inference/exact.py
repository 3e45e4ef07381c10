"""Exact unconditional confidence intervals for a risk difference (Santner-Snell, Chan-Zhang).

Each inverts two one-sided exact unconditional tests ("tail method") at alpha / 2, maximising each
tail over the nuisance parameter. Unlike the asymptotic intervals of :mod:`.two_arm`, their p value
need not be monotone in the difference tested, so a limit is searched for, not solved for.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special

from ivig_kit.errors import InputError
from ivig_kit.inference.interval import Interval
from ivig_kit.inference.two_arm import (
    alpha_from_confidence,
    check_counts,
    restricted_proportions_array,
    score_interval_difference,
)

#: statistic -> (label, reference). Both invert two one-sided exact unconditional tests ("tail method"),
#: each at alpha / 2, maximising each tail over the nuisance parameter p2.
EXACT_UNCONDITIONAL_METHODS = {
    "santner_snell": ("Santner-Snell exact unconditional (difference)", "Santner & Snell, JASA 1980;75:386-94"),
    "chan_zhang": ("Chan-Zhang exact unconditional (score)", "Chan & Zhang, Biometrics 1999;55:1202-9"),
}


def _ordering(method: str, n1: int, n2: int, delta: float) -> np.ndarray:
    """The statistic that orders all (n1 + 1) x (n2 + 1) tables: larger = more in favour of arm 1."""
    i, j = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    difference = i / n1 - j / n2
    if method == "santner_snell":
        return difference
    p1, p2 = restricted_proportions_array(i, n1, j, n2, delta)
    variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (difference - delta) / np.sqrt(variance)
    # variance 0 only where the table sits exactly on the boundary it is tested against
    on_boundary = np.where(difference > delta, np.inf, np.where(difference < delta, -np.inf, 0.0))
    return np.where(variance > 0, score, on_boundary)


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


def exact_unconditional_interval(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    method: str = "chan_zhang",
    confidence: float = 0.95,
    delta_step: float = 0.001,
    nuisance_points: int = 201,
) -> Interval:
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
    Interval
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
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    if method not in EXACT_UNCONDITIONAL_METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {list(EXACT_UNCONDITIONAL_METHODS)}")
    half_alpha = alpha_from_confidence(confidence) / 2
    estimate = x1 / n1 - x2 / n2
    asymptotic = score_interval_difference(x1, n1, x2, n2, alpha_from_confidence(confidence), True)

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
                coarse = np.concatenate(
                    [coarse, _coarse_tail_probabilities(x1, n1, x2, n2, grid[index : index + 50], method, 61, upper)]
                )
            rejected, inside = grid[index - 1], grid[index]
            # only points near the threshold need the full search over the nuisance parameter
            if coarse[index] > half_alpha or (coarse[index] > 0.8 * half_alpha and accepted(inside, upper)):
                for _ in range(30):
                    middle = (rejected + inside) / 2
                    rejected, inside = (rejected, middle) if accepted(middle, upper) else (middle, inside)
                return float(inside)
        return float(estimate)

    return Interval(limit(True, -1.0, asymptotic.low), limit(False, 1.0, asymptotic.high))
