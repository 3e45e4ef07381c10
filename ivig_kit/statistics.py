"""One-sample and paired statistics: intervals for a proportion, a Beta posterior, Wilcoxon as SPSS runs it.

Built on scipy and statsmodels. The pilot (Lim et al. 2021) reports one proportion (8/19 reaching
TIS >= 40) and paired change scores tested with SPSS 24's Wilcoxon signed-rank test; this module
gives the tools to recompute both and to investigate the interval the paper printed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from ivig_kit.errors import InputError

#: Interval methods returned by :func:`proportion_intervals`, in display order.
INTERVAL_METHODS = ("clopper_pearson", "wilson", "jeffreys", "mid_p", "wald", "agresti_coull")

# Our method names -> statsmodels.stats.proportion.proportion_confint names.
_STATSMODELS_METHODS = {"clopper_pearson": "beta", "wilson": "wilson", "jeffreys": "jeffreys",
                        "wald": "normal", "agresti_coull": "agresti_coull"}


def _check_proportion_input(k, n, confidence, integer_count=True) -> None:
    if not 0 < confidence < 1:
        raise InputError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n <= 0 or (integer_count and (int(n) != n or int(k) != k)):
        raise InputError(f"need a count k and a positive whole number n, got k={k!r}, n={n!r}")
    if not 0 <= k <= n:
        raise InputError(f"k must lie between 0 and n, got k={k!r}, n={n!r}")


# --------------------------------------------------------------------------- intervals for k/n

def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for the proportion k/n, as (low, high) fractions."""
    _check_proportion_input(k, n, confidence)
    low, high = proportion_confint(int(k), int(n), alpha=1 - confidence, method="beta")
    return float(low), float(high)


def clopper_pearson_width(k: int, n: int, confidence: float = 0.95) -> float:
    """Total width (high - low) of the exact Clopper-Pearson interval for k/n."""
    low, high = clopper_pearson_interval(k, n, confidence)
    return high - low


def _mid_p_lower_tail(p: float, k: int, n: int) -> float:
    """P(X > k) + P(X = k) / 2 for X ~ Binomial(n, p): rises with p."""
    return stats.binom.sf(k, n, p) + 0.5 * stats.binom.pmf(k, n, p)


def _mid_p_upper_tail(p: float, k: int, n: int) -> float:
    """P(X < k) + P(X = k) / 2 for X ~ Binomial(n, p): falls with p."""
    return stats.binom.cdf(k - 1, n, p) + 0.5 * stats.binom.pmf(k, n, p)


def mid_p_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Lancaster's mid-p exact interval for k/n, as (low, high) fractions.

    The Clopper-Pearson tails with only half the probability of the observed count: the limits are
    the p at which P(X > k) + P(X = k)/2 (low) and P(X < k) + P(X = k)/2 (high) equal (1 - confidence)/2,
    found with scipy's Brent root finder on the binomial distribution. Narrower than Clopper-Pearson
    and no longer guaranteed to cover at the nominal level, but close to it on average.
    """
    _check_proportion_input(k, n, confidence)
    k, n = int(k), int(n)
    tail = (1 - confidence) / 2
    low = 0.0 if k == 0 else optimize.brentq(lambda p: _mid_p_lower_tail(p, k, n) - tail, 0.0, 1.0, xtol=1e-14)
    high = 1.0 if k == n else optimize.brentq(lambda p: _mid_p_upper_tail(p, k, n) - tail, 0.0, 1.0, xtol=1e-14)
    return float(low), float(high)


def proportion_interval(k: int, n: int, method: str = "clopper_pearson",
                        confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for k/n by one of :data:`INTERVAL_METHODS`, as (low, high) fractions in [0, 1]."""
    if method == "mid_p":
        return mid_p_interval(k, n, confidence)
    if method not in _STATSMODELS_METHODS:
        raise InputError(f"unknown interval method {method!r}; choose one of {', '.join(INTERVAL_METHODS)}")
    _check_proportion_input(k, n, confidence)
    low, high = proportion_confint(int(k), int(n), alpha=1 - confidence, method=_STATSMODELS_METHODS[method])
    # statsmodels clips Wald and Agresti-Coull to [0, 1] already; float() drops numpy scalar types.
    return float(low), float(high)


def proportion_intervals(k: int, n: int, confidence: float = 0.95) -> pd.DataFrame:
    """The interval for k/n by every method in :data:`INTERVAL_METHODS`: columns method, low, high, width."""
    rows = []
    for method in INTERVAL_METHODS:
        low, high = proportion_interval(k, n, method, confidence)
        rows.append({"method": method, "low": low, "high": high, "width": high - low})
    return pd.DataFrame(rows, columns=["method", "low", "high", "width"])


def sample_size_statement_check(n: int = 20, proportion: float = 0.60, confidence: float = 0.95) -> dict:
    """Exact Clopper-Pearson interval and its width for k = proportion * n successes out of n.

    A planning statement such as "20 patients give an exact 95% CI of total width 0.448 (0.361-0.809)
    assuming a sample proportion of 0.60" is the Clopper-Pearson interval of 12/20.
    """
    k = proportion * n
    if abs(k - round(k)) > 1e-9:
        raise InputError(f"proportion * n must be a whole number of patients, got {proportion} * {n} = {k}")
    k = int(round(k))
    low, high = clopper_pearson_interval(k, n, confidence)
    return {"n": int(n), "k": k, "proportion": k / n, "confidence": confidence,
            "low": low, "high": high, "width": high - low}


# --------------------------------------------------------------------------- the printed interval

def _wald_interval(proportion: float, n: float, quantile: float, continuity: float = 0.0,
                   variance: float | None = None) -> tuple[float, float]:
    """proportion +- (quantile * sqrt(variance / n) + continuity); variance defaults to p(1 - p)."""
    variance = proportion * (1 - proportion) if variance is None else variance
    half_width = quantile * math.sqrt(variance / n) + continuity
    return proportion - half_width, proportion + half_width


#: p(1 - p) at its maximum (p = 1/2): the "conservative" variance of sample-size planning.
CONSERVATIVE_VARIANCE = 0.25


def _wilson_continuity_corrected(k: float, n: int, z: float) -> tuple[float, float]:
    # Newcombe (1998), Stat Med 17:857-72, method 4; statsmodels has no continuity-corrected Wilson.
    p = k / n
    low = 0.0 if k == 0 else (2 * n * p + z**2 - 1 - z * math.sqrt(z**2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))) \
        / (2 * (n + z**2))
    high = 1.0 if k == n else (2 * n * p + z**2 + 1 + z * math.sqrt(z**2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))) \
        / (2 * (n + z**2))
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
        rows.append({"family": family, "candidate": description, "method": method, "k": k_used, "n": n_used,
                     "proportion": k_used / n_used if proportion is None else proportion,
                     "confidence": confidence, "low": float(low), "high": float(high)})

    confidences = (0.90, 0.95, 0.99)
    for confidence in confidences:
        for method in INTERVAL_METHODS:
            add("method and confidence", f"{method} {confidence:.0%} for {k}/{n}",
                *proportion_interval(k, n, method, confidence), method=method, confidence=confidence)

    p = k / n
    for confidence in confidences:
        z = stats.norm.ppf(0.5 + confidence / 2)
        t = stats.t.ppf(0.5 + confidence / 2, n - 1)
        add("Wald variant", f"Wald {confidence:.0%}, variance over n - 1", *_wald_interval(p, n - 1, z),
            method="wald_n_minus_1", confidence=confidence)
        add("Wald variant", f"Wald {confidence:.0%}, t quantile ({n - 1} df)", *_wald_interval(p, n, t),
            method="wald_t", confidence=confidence)
        add("Wald variant", f"Wald {confidence:.0%}, t quantile and n - 1", *_wald_interval(p, n - 1, t),
            method="wald_t_n_minus_1", confidence=confidence)
        add("Wald variant", f"Wald {confidence:.0%}, conservative variance 1/4 (p = 1/2 in the standard error)",
            *_wald_interval(p, n, z, variance=CONSERVATIVE_VARIANCE), method="wald_conservative",
            confidence=confidence)
        add("continuity correction", f"Wald {confidence:.0%} with continuity correction 1/(2n)",
            *_wald_interval(p, n, z, 1 / (2 * n)), method="wald_cc", confidence=confidence)
        add("continuity correction", f"Wilson {confidence:.0%} with continuity correction (Newcombe)",
            *_wilson_continuity_corrected(k, n, z), method="wilson_cc", confidence=confidence)

    for k_used in range(max(k - 1, 0), k + 2):
        for n_used in range(max(n - 2, 1), n + 2):
            if (k_used, n_used) == (k, n) or k_used > n_used:
                continue
            for method in ("clopper_pearson", "wilson", "wald"):
                add("neighbouring count", f"{method} 95% for {k_used}/{n_used}",
                    *proportion_interval(k_used, n_used, method), method=method, k_used=k_used, n_used=n_used)
            add("neighbouring count", f"Wald 95%, conservative variance 1/4, for {k_used}/{n_used}",
                *_wald_interval(k_used / n_used, n_used, stats.norm.ppf(0.975), variance=CONSERVATIVE_VARIANCE),
                method="wald_conservative", k_used=k_used, n_used=n_used)

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
        add("printed proportion", f"{method} 95% with p = {q:g} (n = {n})", low, high,
            method=method, proportion=q)

    # Other software defaults and formulas a reader might meet (SPSS 24's one-sample binomial test offers
    # Clopper-Pearson, Jeffreys and likelihood ratio).
    for confidence in confidences:
        z = stats.norm.ppf(0.5 + confidence / 2)
        add("other method", f"likelihood ratio {confidence:.0%}", *_likelihood_ratio_interval(k, n, confidence),
            method="likelihood_ratio", confidence=confidence)
        add("other method", f"Blaker/Sterne-type (statsmodels binom_test) {confidence:.0%}",
            *proportion_confint(k, n, alpha=1 - confidence, method="binom_test"),
            method="binom_test", confidence=confidence)
        angle, spread = math.asin(math.sqrt(p)), z / (2 * math.sqrt(n))
        add("other method", f"arcsine {confidence:.0%}",
            math.sin(max(angle - spread, 0)) ** 2, math.sin(min(angle + spread, math.pi / 2)) ** 2,
            method="arcsine", confidence=confidence)
        if 0 < k < n:
            logit, se = math.log(p / (1 - p)), math.sqrt(1 / (n * p * (1 - p)))
            add("other method", f"logit {confidence:.0%}", stats.logistic.cdf(logit - z * se),
                stats.logistic.cdf(logit + z * se), method="logit", confidence=confidence)
        add("beta quantile slip", f"Beta({k + 1}, {n - k + 1}) quantiles {confidence:.0%} (uniform prior)",
            *stats.beta.ppf([(1 - confidence) / 2, (1 + confidence) / 2], k + 1, n - k + 1),
            method="bayes_uniform", confidence=confidence)
        if 0 < k < n:
            add("beta quantile slip", f"Beta({k}, {n - k}) quantiles {confidence:.0%} (Haldane prior)",
                *stats.beta.ppf([(1 - confidence) / 2, (1 + confidence) / 2], k, n - k),
                method="bayes_haldane", confidence=confidence)
    return rows


def printed_interval_candidates(k: int, n: int, printed_low: float, printed_high: float,
                                decimals: int = 1, printed_percent: float | None = None) -> pd.DataFrame:
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
    _check_proportion_input(k, n, 0.95)
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


def printed_interval_geometry(k: int, n: int, printed_low: float, printed_high: float,
                              confidence: float = 0.95) -> dict:
    """Centre and half-width of a printed interval (percent) and the standard error they imply.

    A symmetric interval centred on 100 k/n points to a Wald-type "estimate +- z * SE" computation;
    ``implied_standard_error`` (a fraction) is half-width / z, to set beside the Wald standard error
    sqrt(p(1 - p)/n) and the conservative one sqrt(1/(4n)). ``implied_z_for_wald_se`` is the quantile
    the Wald standard error would need. Limits printed to 0.1 leave each of these uncertain in the
    last digit.
    """
    _check_proportion_input(k, n, confidence)
    p = k / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half_width = (printed_high - printed_low) / 2
    wald_se = math.sqrt(p * (1 - p) / n)
    return {"estimate_percent": 100 * p, "centre_percent": (printed_low + printed_high) / 2,
            "half_width_percent": half_width, "implied_standard_error": half_width / 100 / z,
            "wald_standard_error": wald_se, "conservative_standard_error": math.sqrt(CONSERVATIVE_VARIANCE / n),
            "implied_z_for_wald_se": half_width / 100 / wald_se}


# --------------------------------------------------------------------------- Bayesian view

def beta_posterior(k: int, n: int, prior: tuple[float, float] = (1, 1)):
    """Posterior of a response rate after k of n responses: frozen ``scipy.stats.beta(a + k, b + n - k)``.

    The default prior Beta(1, 1) is uniform on [0, 1].
    """
    _check_proportion_input(k, n, 0.95)
    a, b = prior
    if a <= 0 or b <= 0:
        raise InputError(f"Beta prior parameters must be positive, got {prior!r}")
    return stats.beta(a + k, b + n - k)


def probability_rate_exceeds(k: int, n: int, threshold: float, prior: tuple[float, float] = (1, 1)) -> float:
    """Posterior probability that the response rate is above ``threshold`` (a fraction), given k of n."""
    if not 0 <= threshold <= 1:
        raise InputError(f"threshold is a rate between 0 and 1, got {threshold!r}")
    return float(beta_posterior(k, n, prior).sf(threshold))


def credible_interval(k: int, n: int, confidence: float = 0.95,
                      prior: tuple[float, float] = (1, 1)) -> tuple[float, float]:
    """Equal-tailed posterior credible interval of the response rate, as (low, high) fractions."""
    _check_proportion_input(k, n, confidence)
    low, high = beta_posterior(k, n, prior).ppf([(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


# --------------------------------------------------------------------------- Wilcoxon signed-rank

def _paired_differences(before: Sequence[float], after: Sequence[float]) -> np.ndarray:
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if before.shape != after.shape or before.ndim != 1:
        raise InputError(f"before and after must be 1-D and of equal length, got {before.shape} and {after.shape}")
    complete = ~(np.isnan(before) | np.isnan(after))  # SPSS drops a pair with a missing value
    return after[complete] - before[complete]


def wilcoxon_signed_rank_spss(before: Sequence[float], after: Sequence[float]) -> dict:
    """Wilcoxon signed-rank test of after - before as SPSS 24 reports it (NPAR TESTS /WILCOXON).

    SPSS drops pairs with a zero difference, gives tied absolute differences their average rank and
    reports an *asymptotic* two-sided P from the normal approximation with the tie correction to the
    variance and no continuity correction, whatever the sample size. That is
    ``scipy.stats.wilcoxon(after, before, zero_method="wilcox", correction=False, method="approx")``.

    Returns a dict: z (from the smaller rank sum, so z <= 0, as SPSS prints it), p (asymptotic, two-sided),
    n (complete pairs), n_nonzero (pairs with a nonzero difference), n_negative, n_positive, n_ties
    (zero differences), negative_rank_sum, positive_rank_sum (ranks of after - before), and based_on
    ("negative ranks" or "positive ranks": the sum z is computed from, as in SPSS's footnote).
    With no nonzero difference there is no test: z and p are NaN.

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
    result = {"n": int(differences.size), "n_nonzero": int(nonzero.size),
              "n_negative": int((nonzero < 0).sum()), "n_positive": int((nonzero > 0).sum()),
              "n_ties": int((differences == 0).sum()),
              "negative_rank_sum": negative_rank_sum, "positive_rank_sum": positive_rank_sum,
              "based_on": "positive ranks" if positive_rank_sum < negative_rank_sum else "negative ranks"}
    if nonzero.size == 0:
        return {"z": math.nan, "p": math.nan, **result}
    test = stats.wilcoxon(nonzero, zero_method="wilcox", correction=False, method="approx")
    return {"z": float(test.zstatistic), "p": float(test.pvalue), **result}


def wilcoxon_scipy_default(before: Sequence[float], after: Sequence[float]) -> dict:
    """What ``scipy.stats.wilcoxon(after, before)`` gives with all its defaults: dict(statistic, p, n_nonzero).

    Shown beside :func:`wilcoxon_signed_rank_spss` to make the difference visible: for small samples
    scipy's default P is exact (no ties or zeros) or from exhaustive permutations (ties or zeros,
    at most 13 differences), whereas SPSS 24 reports the normal approximation. NaN pairs are dropped.
    """
    differences = _paired_differences(before, after)
    n_nonzero = int((differences != 0).sum())
    if n_nonzero == 0:
        return {"statistic": math.nan, "p": math.nan, "n_nonzero": 0}
    test = stats.wilcoxon(differences)
    return {"statistic": float(test.statistic), "p": float(test.pvalue), "n_nonzero": n_nonzero}
