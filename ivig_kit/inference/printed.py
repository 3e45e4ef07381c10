"""Reading printed numbers back: which interval method printed an interval, and which counts a rounded
percentage can stand for.

Papers print rounded numbers; a reanalysis asks what produced them. The interval search tries every
common method and variant; the count helpers round half up, as a printed percentage is rounded.
Which two-stratum analyses could have printed a p value is :mod:`.stratified_splits`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import (
    proportion_confint,
)

from ivig_kit.errors import InputError
from ivig_kit.inference.proportions import (
    INTERVAL_METHODS,
    check_proportion_input,
    proportion_interval,
)

# --------------------------------------------------------------------------- the printed interval


def _wald_interval(
    proportion: float, n: float, quantile: float, continuity: float = 0.0, variance: float | None = None
) -> tuple[float, float]:
    """proportion +- (quantile * sqrt(variance / n) + continuity); variance defaults to p(1 - p)."""
    variance = proportion * (1 - proportion) if variance is None else variance
    half_width = quantile * math.sqrt(variance / n) + continuity
    return proportion - half_width, proportion + half_width


#: p(1 - p) at its maximum (p = 1/2): the "conservative" variance of sample-size planning.
CONSERVATIVE_VARIANCE = 0.25


def _wilson_continuity_corrected(k: float, n: int, z: float) -> tuple[float, float]:
    # Newcombe (1998), Stat Med 17:857-72, method 4; statsmodels has no continuity-corrected Wilson.
    p = k / n
    low = (
        0.0
        if k == 0
        else (2 * n * p + z**2 - 1 - z * math.sqrt(z**2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) / (2 * (n + z**2))
    )
    high = (
        1.0
        if k == n
        else (2 * n * p + z**2 + 1 + z * math.sqrt(z**2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) / (2 * (n + z**2))
    )
    return max(low, 0.0), min(high, 1.0)


def _likelihood_ratio_interval(k: int, n: int, confidence: float) -> tuple[float, float]:
    cutoff = stats.chi2.ppf(confidence, 1)
    p_hat = k / n

    def deviance(p):
        return 2 * (stats.binom.logpmf(k, n, p_hat) - stats.binom.logpmf(k, n, p)) - cutoff

    low = 0.0 if k == 0 else optimize.brentq(deviance, 1e-12, p_hat)
    high = 1.0 if k == n else optimize.brentq(deviance, p_hat, 1 - 1e-12)
    return low, high


def _interval_candidates(k: int, n: int, printed_proportion: float) -> list[dict]:
    """The search grid of :func:`printed_interval_candidates` as rows (bounds as fractions)."""
    rows = []

    def add(family, description, low, high, *, method, k_used=k, n_used=n, proportion=None, confidence=0.95):
        rows.append(
            {
                "family": family,
                "candidate": description,
                "method": method,
                "k": k_used,
                "n": n_used,
                "proportion": k_used / n_used if proportion is None else proportion,
                "confidence": confidence,
                "low": float(low),
                "high": float(high),
            }
        )

    confidences = (0.90, 0.95, 0.99)
    for confidence in confidences:
        for method in INTERVAL_METHODS:
            add(
                "method and confidence",
                f"{method} {confidence:.0%} for {k}/{n}",
                *proportion_interval(k, n, method, confidence),
                method=method,
                confidence=confidence,
            )

    p = k / n
    for confidence in confidences:
        z = stats.norm.ppf(0.5 + confidence / 2)
        t = stats.t.ppf(0.5 + confidence / 2, n - 1)
        add(
            "Wald variant",
            f"Wald {confidence:.0%}, variance over n - 1",
            *_wald_interval(p, n - 1, z),
            method="wald_n_minus_1",
            confidence=confidence,
        )
        add(
            "Wald variant",
            f"Wald {confidence:.0%}, t quantile ({n - 1} df)",
            *_wald_interval(p, n, t),
            method="wald_t",
            confidence=confidence,
        )
        add(
            "Wald variant",
            f"Wald {confidence:.0%}, t quantile and n - 1",
            *_wald_interval(p, n - 1, t),
            method="wald_t_n_minus_1",
            confidence=confidence,
        )
        add(
            "Wald variant",
            f"Wald {confidence:.0%}, conservative variance 1/4 (p = 1/2 in the standard error)",
            *_wald_interval(p, n, z, variance=CONSERVATIVE_VARIANCE),
            method="wald_conservative",
            confidence=confidence,
        )
        add(
            "continuity correction",
            f"Wald {confidence:.0%} with continuity correction 1/(2n)",
            *_wald_interval(p, n, z, 1 / (2 * n)),
            method="wald_cc",
            confidence=confidence,
        )
        add(
            "continuity correction",
            f"Wilson {confidence:.0%} with continuity correction (Newcombe)",
            *_wilson_continuity_corrected(k, n, z),
            method="wilson_cc",
            confidence=confidence,
        )

    for k_used in range(max(k - 1, 0), k + 2):
        for n_used in range(max(n - 2, 1), n + 2):
            if (k_used, n_used) == (k, n) or k_used > n_used:
                continue
            for method in ("clopper_pearson", "wilson", "wald"):
                add(
                    "neighbouring count",
                    f"{method} 95% for {k_used}/{n_used}",
                    *proportion_interval(k_used, n_used, method),
                    method=method,
                    k_used=k_used,
                    n_used=n_used,
                )
            add(
                "neighbouring count",
                f"Wald 95%, conservative variance 1/4, for {k_used}/{n_used}",
                *_wald_interval(k_used / n_used, n_used, stats.norm.ppf(0.975), variance=CONSERVATIVE_VARIANCE),
                method="wald_conservative",
                k_used=k_used,
                n_used=n_used,
            )

    # The printed point estimate (e.g. 0.42 rather than 8/19) fed to the formulas that accept any proportion.
    z = stats.norm.ppf(0.975)
    q = printed_proportion
    rows_for_printed = {
        "wald": _wald_interval(q, n, z),
        "wald_n_minus_1": _wald_interval(q, n - 1, z),
        "wald_t": _wald_interval(q, n, stats.t.ppf(0.975, n - 1)),
        "wald_cc": _wald_interval(q, n, z, 1 / (2 * n)),
        "wald_conservative": _wald_interval(q, n, z, variance=CONSERVATIVE_VARIANCE),
        "wilson": proportion_confint(q * n, n, alpha=0.05, method="wilson"),
        "wilson_cc": _wilson_continuity_corrected(q * n, n, z),
        "agresti_coull": proportion_confint(q * n, n, alpha=0.05, method="agresti_coull"),
        "clopper_pearson": proportion_confint(q * n, n, alpha=0.05, method="beta"),
        "jeffreys": proportion_confint(q * n, n, alpha=0.05, method="jeffreys"),
    }
    for method, (low, high) in rows_for_printed.items():
        add("printed proportion", f"{method} 95% with p = {q:g} (n = {n})", low, high, method=method, proportion=q)

    # Other software defaults and formulas a reader might meet (SPSS 24's one-sample binomial test offers
    # Clopper-Pearson, Jeffreys and likelihood ratio).
    for confidence in confidences:
        z = stats.norm.ppf(0.5 + confidence / 2)
        add(
            "other method",
            f"likelihood ratio {confidence:.0%}",
            *_likelihood_ratio_interval(k, n, confidence),
            method="likelihood_ratio",
            confidence=confidence,
        )
        add(
            "other method",
            f"Blaker/Sterne-type (statsmodels binom_test) {confidence:.0%}",
            *proportion_confint(k, n, alpha=1 - confidence, method="binom_test"),
            method="binom_test",
            confidence=confidence,
        )
        angle, spread = math.asin(math.sqrt(p)), z / (2 * math.sqrt(n))
        add(
            "other method",
            f"arcsine {confidence:.0%}",
            math.sin(max(angle - spread, 0)) ** 2,
            math.sin(min(angle + spread, math.pi / 2)) ** 2,
            method="arcsine",
            confidence=confidence,
        )
        if 0 < k < n:
            logit, se = math.log(p / (1 - p)), math.sqrt(1 / (n * p * (1 - p)))
            add(
                "other method",
                f"logit {confidence:.0%}",
                stats.logistic.cdf(logit - z * se),
                stats.logistic.cdf(logit + z * se),
                method="logit",
                confidence=confidence,
            )
        add(
            "beta quantile slip",
            f"Beta({k + 1}, {n - k + 1}) quantiles {confidence:.0%} (uniform prior)",
            *np.atleast_1d(stats.beta.ppf([(1 - confidence) / 2, (1 + confidence) / 2], k + 1, n - k + 1)),
            method="bayes_uniform",
            confidence=confidence,
        )
        if 0 < k < n:
            add(
                "beta quantile slip",
                f"Beta({k}, {n - k}) quantiles {confidence:.0%} (Haldane prior)",
                *np.atleast_1d(stats.beta.ppf([(1 - confidence) / 2, (1 + confidence) / 2], k, n - k)),
                method="bayes_haldane",
                confidence=confidence,
            )
    return rows


def printed_interval_candidates(
    k: int, n: int, printed_low: float, printed_high: float, decimals: int = 1, printed_percent: float | None = None
) -> pd.DataFrame:
    """Which computation could have printed the interval ``printed_low, printed_high`` (percent) for k/n?

    Searches a fixed grid of plausible methods and slips, each a row:

    - every method of :data:`INTERVAL_METHODS` at 90%, 95% and 99% confidence for k/n;
    - Wald variants at 90/95/99%: variance over n - 1, a t quantile with n - 1 df, both together, and the
      conservative variance 1/4 (p = 1/2 in the standard error, as in sample-size planning);
    - continuity-corrected Wald (half-width + 1/(2n)) and Wilson (Newcombe 1998, method 4) at 90/95/99%;
    - Clopper-Pearson, Wilson, Wald and conservative-variance Wald at 95% for neighbouring counts,
      k - 1..k + 1 out of n - 2..n + 1;
    - a rounded point estimate instead of k/n (``printed_percent`` / 100; by default k/n rounded to a
      whole percent, 0.42 for 8/19, which the pilot printed as "42.0%") fed to Wald (and its n - 1, t
      and continuity variants), Wilson (with and without correction), Agresti-Coull, and
      Clopper-Pearson and Jeffreys with x = p * n successes;
    - other methods at 90/95/99%: likelihood ratio (offered by SPSS 24), statsmodels' ``binom_test``
      interval, arcsine and logit Wald, and Beta quantiles with the wrong parameters (uniform prior
      Beta(k+1, n-k+1), Haldane Beta(k, n-k)).

    Returns one row per candidate: family, candidate, method, k, n, proportion, confidence, low and high
    (percent), low_rounded and high_rounded (to ``decimals``), distance (|low - printed_low| +
    |high - printed_high|, percentage points, unrounded), low_matches, high_matches and matches (both
    bounds equal the printed ones after rounding). Sorted with full matches first, then by distance.
    The search reports what it finds; it does not assume any candidate matches.
    """
    check_proportion_input(k, n, 0.95)
    printed_proportion = round(k / n, 2) if printed_percent is None else printed_percent / 100
    table = pd.DataFrame(_interval_candidates(int(k), int(n), printed_proportion))
    table["low"] = 100 * table["low"].clip(0, 1)
    table["high"] = 100 * table["high"].clip(0, 1)
    table["low_rounded"] = table["low"].round(decimals)
    table["high_rounded"] = table["high"].round(decimals)
    table["distance"] = (table["low"] - printed_low).abs() + (table["high"] - printed_high).abs()
    tolerance = 0.5 * 10.0 ** -(decimals + 3)
    table["low_matches"] = (table["low_rounded"] - printed_low).abs() < tolerance
    table["high_matches"] = (table["high_rounded"] - printed_high).abs() < tolerance
    table["matches"] = table["low_matches"] & table["high_matches"]
    table = table.sort_values(["matches", "distance"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class IntervalGeometry:
    """Centre and half-width of a printed interval and the standard errors to set beside them.

    Attributes
    ----------
    estimate_percent : float
        100 k / n.
    centre_percent, half_width_percent : float
        Midpoint and half-width of the printed limits (percent).
    implied_standard_error : float
        Half-width / z (a fraction): the standard error a symmetric "estimate +- z SE" would have used.
    wald_standard_error, conservative_standard_error : float
        sqrt(p(1 - p)/n) and sqrt(1/(4n)).
    implied_z_for_wald_se : float
        The quantile the Wald standard error would need to give the printed half-width.
    """

    estimate_percent: float
    centre_percent: float
    half_width_percent: float
    implied_standard_error: float
    wald_standard_error: float
    conservative_standard_error: float
    implied_z_for_wald_se: float

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: quantity, value."""
        return pd.DataFrame(list(vars(self).items()), columns=["quantity", "value"])


def printed_interval_geometry(
    k: int, n: int, printed_low: float, printed_high: float, confidence: float = 0.95
) -> IntervalGeometry:
    """Centre and half-width of a printed interval (percent) and the standard error they imply.

    A symmetric interval centred on 100 k/n points to a Wald-type "estimate +- z * SE" computation;
    ``implied_standard_error`` (a fraction) is half-width / z, to set beside the Wald standard error
    sqrt(p(1 - p)/n) and the conservative one sqrt(1/(4n)). ``implied_z_for_wald_se`` is the quantile
    the Wald standard error would need. Limits printed to 0.1 leave each of these uncertain in the
    last digit.

    Returns
    -------
    IntervalGeometry
        The quantities above; ``to_frame()`` lists them as a table.
    """
    check_proportion_input(k, n, confidence)
    p = k / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half_width = (printed_high - printed_low) / 2
    wald_se = math.sqrt(p * (1 - p) / n)
    return IntervalGeometry(
        estimate_percent=100 * p,
        centre_percent=(printed_low + printed_high) / 2,
        half_width_percent=half_width,
        implied_standard_error=half_width / 100 / z,
        wald_standard_error=wald_se,
        conservative_standard_error=math.sqrt(CONSERVATIVE_VARIANCE / n),
        implied_z_for_wald_se=half_width / 100 / wald_se,
    )


# --- counts behind printed percentages ---


def round_half_up(value, decimals: int = 0) -> Decimal:
    """Round as journals do (exactly, halves away from zero for positive numbers), not as float round()."""
    exact = Fraction(value) if not isinstance(value, float) else Fraction(str(value))
    scaled = exact * 10**decimals
    whole = math.floor(scaled + Fraction(1, 2))
    return Decimal(whole).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def counts_matching_percent(percent: float, n: int, decimals: int = 0) -> list[int]:
    """Every count k in 0..n whose percentage 100k/n, rounded half up to ``decimals``, prints as ``percent``.

    The arithmetic is exact (fractions), so 100k/n exactly halfway between two printed values rounds
    up, as journals round; a float ``percent`` is read from its shortest decimal form (68.0 -> 68).
    """
    if n <= 0 or int(n) != n:
        raise InputError(f"n must be a positive whole number, got {n!r}")
    target = Decimal(str(percent)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if target != Decimal(str(percent)):
        raise InputError(f"{percent} has more than {decimals} decimals")
    return [k for k in range(int(n) + 1) if round_half_up(Fraction(100 * k, int(n)), decimals) == target]


def printed_decimals(printed: str, position: int = -1) -> int:
    """Decimals of a number as printed: the last number by default ("16.70" -> 2, "p = 0.0008" -> 4),
    or the one at ``position`` (0: the estimate of "3.8 (3.2-4.0)" -> 1). A number printed as a word
    ("one") has none."""
    numbers = re.findall(r"\d+(?:\.(\d+))?", str(printed))
    return len(numbers[position]) if numbers else 0


# --- which analyses could have printed a p value ---


def prints_as(values, printed: str):
    """Elementwise: does each non-negative value round half up to the number ``printed`` ("0.0008")?"""
    decimals = printed_decimals(printed)
    target = float(re.findall(r"\d+(?:\.\d+)?", str(printed))[-1])
    half_step = 0.5 * 10.0**-decimals
    values = np.asarray(values, dtype=float)
    # round half up: [target - half, target + half); widened by a hair for binary fractions of the edges
    return (values >= target - half_step - 1e-15) & (values < target + half_step - 1e-15)
