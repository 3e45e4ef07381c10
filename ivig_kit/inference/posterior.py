"""The Bayesian view of a two-arm binary outcome: the posterior of the risk difference p1 - p2.

Independent Beta priors on each arm's proportion, as in :mod:`.two_arm` arm 1 is the treatment arm
and a positive difference favours it. The posterior summaries come from one-dimensional numerical
integration (deterministic); the draws are seeded Monte Carlo, e.g. for a histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from ivig_kit.inference.two_arm import check_counts


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
        rows = [
            ("posterior mean", self.mean),
            ("posterior median", self.median),
            (f"{self.credibility:.0%} credible interval, low", self.low),
            (f"{self.credibility:.0%} credible interval, high", self.high),
        ]
        rows += [(f"P(RD > {threshold:g})", probability) for threshold, probability in self.probability_above.items()]
        return pd.DataFrame(rows, columns=["quantity", "value"])


def _probability_difference_above(beta_1, beta_2, threshold: float) -> float:
    # P(p1 - p2 > t) = integral over p2 of f2(p2) * P(p1 > p2 + t).
    low, high = max(0.0, -threshold), min(1.0, 1.0 - threshold)
    # Tell quad where the mass is, so that a sharp posterior (large arms) is not stepped over.
    peaks = [p for p in (beta_2.mean(), beta_1.mean() - threshold) if low < p < high]
    inside, _ = integrate.quad(
        lambda p: beta_2.pdf(p) * beta_1.sf(p + threshold),
        low,
        high,
        limit=200,
        epsabs=1e-12,
        epsrel=1e-10,
        points=peaks or None,
    )
    # p2 below `low` (only when t < 0): p1 > p2 + t always holds there.
    below = beta_2.cdf(low) if low > 0 else 0.0
    return float(min(1.0, max(0.0, inside + below)))


def risk_difference_posterior(
    x1: int, n1: int, x2: int, n2: int, prior=(1, 1), thresholds=(0.0, 0.2), credibility: float = 0.95
) -> RiskDifferencePosterior:
    """Posterior of the risk difference with Beta(prior) on each arm's proportion.

    Returns the mean, the median and an equal-tailed credible interval, and P(RD > t) for each
    threshold; all by one-dimensional numerical integration, so the result is deterministic.
    """
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    a, b = prior
    posterior_1, posterior_2 = (a + x1, b + n1 - x1), (a + x2, b + n2 - x2)
    beta_1, beta_2 = stats.beta(*posterior_1), stats.beta(*posterior_2)

    def cdf(d):
        return 1 - _probability_difference_above(beta_1, beta_2, d)

    def quantile(q):
        return optimize.brentq(lambda d: cdf(d) - q, -1 + 1e-12, 1 - 1e-12, xtol=1e-10)

    tail = (1 - credibility) / 2
    return RiskDifferencePosterior(
        prior=tuple(prior),
        posterior_1=posterior_1,
        posterior_2=posterior_2,
        mean=float(beta_1.mean() - beta_2.mean()),
        median=quantile(0.5),
        low=quantile(tail),
        high=quantile(1 - tail),
        credibility=credibility,
        probability_above={float(t): _probability_difference_above(beta_1, beta_2, t) for t in thresholds},
    )


def risk_difference_posterior_draws(
    x1: int, n1: int, x2: int, n2: int, prior=(1, 1), draws: int = 100_000, seed: int = 2022
) -> np.ndarray:
    """Monte Carlo draws of p1 - p2 from the same posterior (seeded), e.g. for a histogram."""
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    a, b = prior
    generator = np.random.default_rng(seed)
    return generator.beta(a + x1, b + n1 - x1, draws) - generator.beta(a + x2, b + n2 - x2, draws)
