"""Which two-stratum analyses could have printed a p value: the Cochran-Mantel-Haenszel p of every
split of a 2x2 table's counts into two strata, by the arm imbalance allowed within a stratum.

A paper may print a stratified p value without its strata; the pooled counts bound what such an
analysis could have given. A p value "prints as" a printed one by :func:`.printed.prints_as`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ivig_kit.inference.printed import prints_as


def stratified_p_over_splits(
    x1: int, n1: int, x2: int, n2: int, correction: bool = False, both_arms: bool = True
) -> pd.DataFrame:
    """The Cochran-Mantel-Haenszel p value of every split of a 2x2 table's counts into two strata.

    What is enumerated are **count configurations**: the patients and responders of each arm in
    stratum A (stratum B holds the rest), each unordered pair of strata once. One configuration
    stands for many ways of putting the 95 patients into strata (``partitions``); most
    configurations are strata no randomisation makes (e.g. 37 IVIg patients with 1 placebo
    patient), see :func:`stratified_p_by_imbalance`.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and patients per arm of the pooled table.
    correction : bool
        Continuity correction of the CMH statistic (statsmodels' ``test_null_odds`` default: none).
    both_arms : bool
        Require patients of both arms in both strata (the default). ``False`` also allows a stratum
        with one arm only (it contributes nothing to the statistic), as a small randomisation
        stratum can be; every stratum still holds at least one patient.

    Returns
    -------
    pandas.DataFrame
        One row per configuration: ``n1_a, x1_a, n2_a, x2_a`` (stratum A), ``statistic`` (1-df CMH
        chi-square), ``p_value`` and ``partitions`` (the number of ways to choose stratum A's patients
        from the labelled patients: a float, exact to 15 digits). Configurations whose CMH statistic is
        undefined (no variance in either stratum) are left out. Computed for all configurations at once
        with numpy; each row equals statsmodels' ``StratifiedTable.test_null_odds`` on the same two strata.
    """
    low = 1 if both_arms else 0

    def arm_splits(x, n):
        sizes, events = [], []
        for size in range(low, n + 1 - low):
            for k in range(max(0, x - (n - size)), min(x, size) + 1):
                sizes.append(size)
                events.append(k)
        return np.array(sizes), np.array(events)

    m1, y1 = (a[:, None] for a in arm_splits(x1, n1))
    m2, y2 = (a[None, :] for a in arm_splits(x2, n2))
    difference: np.ndarray | float = 0.0
    variance: np.ndarray | float = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for size_1, events_1, size_2, events_2 in ((m1, y1, m2, y2), (n1 - m1, x1 - y1, n2 - m2, x2 - y2)):
            total, events = size_1 + size_2, events_1 + events_2
            informative = total > 1  # a stratum of one patient (or one arm) adds nothing
            difference = difference + np.where(informative, events_1 - size_1 * events / total, 0.0)
            variance = variance + np.where(
                informative, size_1 * size_2 * events * (total - events) / (total**2 * (total - 1.0)), 0.0
            )
        statistic = (np.maximum(np.abs(difference) - (0.5 if correction else 0.0), 0.0)) ** 2 / variance
    shape = np.broadcast_shapes(m1.shape, m2.shape)
    frame = pd.DataFrame(
        {
            name: np.broadcast_to(values, shape).ravel()
            for name, values in (("n1_a", m1), ("x1_a", y1), ("n2_a", m2), ("x2_a", y2), ("statistic", statistic))
        }
    )
    counts = frame[["n1_a", "x1_a", "n2_a", "x2_a"]].to_numpy()
    # each split appears twice (A and B swapped): keep the one whose A sorts first; no stratum is empty
    key = counts @ np.array([10**9, 10**6, 10**3, 1])
    complement = np.array([n1, x1, n2, x2]) - counts
    size_a = counts[:, 0] + counts[:, 2]
    keep = (
        (key < complement @ np.array([10**9, 10**6, 10**3, 1]))
        & np.isfinite(frame["statistic"].to_numpy())
        & (size_a > 0)
        & (size_a < n1 + n2)
    )
    frame = frame[keep]
    partitions = (
        special.comb(x1, frame["x1_a"])
        * special.comb(n1 - x1, frame["n1_a"] - frame["x1_a"])
        * special.comb(x2, frame["x2_a"])
        * special.comb(n2 - x2, frame["n2_a"] - frame["x2_a"])
    )
    return frame.assign(p_value=stats.chi2.sf(frame["statistic"], 1), partitions=partitions).reset_index(drop=True)


def within_imbalance(splits: pd.DataFrame, n1: int, n2: int, imbalance: int | None) -> np.ndarray:
    """Configurations whose arms differ by at most ``imbalance`` patients in each of the two strata."""
    if imbalance is None:
        return np.ones(len(splits), dtype=bool)
    a = (splits["n1_a"] - splits["n2_a"]).abs().to_numpy()
    b = ((n1 - splits["n1_a"]) - (n2 - splits["n2_a"])).abs().to_numpy()
    return (a <= imbalance) & (b <= imbalance)


#: Allowed within-stratum imbalances shown by default (None: no limit).
IMBALANCES = (0, 1, 2, 4, 5, None)


def stratified_p_by_imbalance(
    x1: int, n1: int, x2: int, n2: int, printed: str, imbalances=IMBALANCES, both_arms: bool = False
) -> pd.DataFrame:
    """How often two-stratum CMH p values print as ``printed``, by the arm imbalance allowed in each stratum.

    Randomisation stratified by a factor keeps the arms close within each stratum (permuted blocks:
    a difference of a few patients), so a configuration with 37 IVIg and 1 placebo patient in one
    stratum says little about what a stratified analysis of the trial could have given. Each share is
    computed two ways: each count configuration weighted once, and each way of putting the labelled
    patients into two strata (patient partitions) weighted once.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and patients per arm of the pooled table.
    printed : str
        The printed p value, e.g. ``"0.0008"`` (see :func:`prints_as`).
    imbalances : iterable of int or None
        Largest allowed ``|arm 1 - arm 2|`` in each stratum; ``None`` is no limit.
    both_arms : bool
        Passed to :func:`stratified_p_over_splits`; by default a small stratum may hold one arm only.

    Returns
    -------
    pandas.DataFrame
        One row per allowed imbalance: ``allowed imbalance`` (text), ``configurations``, ``min_p``,
        ``max_p``, ``share_of_configurations`` and ``share_of_partitions`` printing as ``printed``
        (fractions; NaN where no configuration is allowed: with arms of 47 and 48 patients no split
        balances both strata exactly).
    """
    splits = stratified_p_over_splits(x1, n1, x2, n2, both_arms=both_arms)
    printing = prints_as(splits["p_value"], printed)
    rows = []
    for imbalance in imbalances:
        allowed = within_imbalance(splits, n1, n2, imbalance)
        weights = splits["partitions"].to_numpy()[allowed]
        p = splits["p_value"].to_numpy()[allowed]
        rows.append(
            {
                "allowed imbalance": "unlimited" if imbalance is None else f"<= {imbalance}",
                "configurations": int(allowed.sum()),
                "min_p": float(p.min()) if len(p) else np.nan,
                "max_p": float(p.max()) if len(p) else np.nan,
                "share_of_configurations": float(printing[allowed].mean()) if len(p) else np.nan,
                "share_of_partitions": float((weights * printing[allowed]).sum() / weights.sum()) if len(p) else np.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StratifiedPSummary:
    """How the CMH p values over every two-stratum split spread.

    Attributes
    ----------
    splits : int
        Splits with a defined CMH statistic.
    min, median, max : float
        Range and median of their p values.
    share_printing_as : float
        Fraction of splits whose p value prints as ``printed``.
    printed : str
        The printed p value looked for ("0.0008").
    share_below_005 : float
        Fraction of splits with p < 0.05.
    """

    splits: int
    min: float
    median: float
    max: float
    share_printing_as: float
    printed: str
    share_below_005: float


def stratified_p_summary(splits: pd.DataFrame, printed: str) -> StratifiedPSummary:
    """How the CMH p values of :func:`stratified_p_over_splits` spread, and how many print as ``printed``."""
    p = splits["p_value"]
    share = float(prints_as(p, printed).mean())
    return StratifiedPSummary(
        splits=len(splits),
        min=float(p.min()),
        median=float(p.median()),
        max=float(p.max()),
        share_printing_as=share,
        printed=printed,
        share_below_005=float((p < 0.05).mean()),
    )
