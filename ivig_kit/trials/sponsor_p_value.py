"""ProDERM's sponsor-website p = 0.0008 against the published counts: which two-arm test prints it,
and how far a stratified (Cochran-Mantel-Haenszel) analysis on unpublished strata could.

Starts from the published primary counts (:func:`.proderm.primary_counts`); nothing is reconstructed
into patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

from ivig_kit.facts import published_fact
from ivig_kit.inference.printed import prints_as
from ivig_kit.inference.stratified_splits import (
    IMBALANCES,
    StratifiedPSummary,
    stratified_p_by_imbalance,
    stratified_p_over_splits,
    stratified_p_summary,
)
from ivig_kit.inference.two_arm import (
    TWO_ARM_TESTS,
    CochranMantelHaenszel,
    cochran_mantel_haenszel,
    two_arm_p_values,
)
from ivig_kit.trials.proderm import TRIAL, fact_decimals, fact_value, primary_counts, rounded_half_up


@dataclass(frozen=True)
class PValueInvestigation:
    """Can the sponsor website's p = 0.0008 be reproduced from the published counts?

    ``tests``: every test of ``two_arm.TWO_ARM_TESTS`` with its p value, rounded to the website's
    decimals, whether it prints as the website's p and whether it is below the NEJM's bound.
    ``needed``: the range of a 1-df chi-square statistic (and |z|) that would print as the website's
    p. ``reproduced``: whether any test does.
    """

    label_p: float
    decimals: int
    nejm_bound: float
    tests: pd.DataFrame
    needed: pd.DataFrame
    reproduced: bool

    @property
    def explanation(self) -> str:
        if self.reproduced:
            matching = ", ".join(self.tests.loc[self.tests["prints_as_label"], "test"])
            return f"p = {self.label_p:g} is reproduced by: {matching}."
        chi2_low, chi2_high = self.needed.loc["chi-square (1 df)", ["low", "high"]]
        crude = self.tests.set_index("test").loc[["pearson", "pearson_yates"], "statistic"]
        return (
            f"No standard test on the 2x2 table prints as p = {self.label_p:g}. It needs a 1-df chi-square "
            f"between {chi2_low:.2f} and {chi2_high:.2f}, between Yates' ({crude['pearson_yates']:.2f}) and "
            f"the uncorrected Pearson ({crude['pearson']:.2f}) statistic of the crude table: a different "
            "analysis, e.g. a Cochran-Mantel-Haenszel test on randomisation strata or a covariate-adjusted "
            "model, whose strata or covariates are not published (see stratified_p_value_question)."
        )


def sponsor_p_value_investigation() -> PValueInvestigation:
    """Every two-arm test of the primary counts against the sponsor website's p = 0.0008 (and NEJM's P < 0.001)."""
    label_p = fact_value("primary_label_p")
    decimals = fact_decimals("primary_label_p")
    bound = fact_value("primary_p_upper")
    tests = two_arm_p_values(*primary_counts(), tests=tuple(TWO_ARM_TESTS))
    tests["p_rounded"] = [rounded_half_up(p, decimals) for p in tests["p_value"]]
    tests["prints_as_label"] = tests["p_rounded"] == label_p
    tests["below_nejm_bound"] = tests["p_value"] < bound
    half_step = 0.5 * 10**-decimals
    p_high, p_low = label_p + half_step, label_p - half_step  # p in [p_low, p_high) prints as label_p
    needed = pd.DataFrame(
        {
            "low": [stats.chi2.isf(p_high, 1), stats.norm.isf(p_high / 2)],
            "high": [stats.chi2.isf(p_low, 1), stats.norm.isf(p_low / 2)],
        },
        index=pd.Index(["chi-square (1 df)", "|z|"], name="statistic"),
    )
    return PValueInvestigation(
        label_p=label_p,
        decimals=decimals,
        nejm_bound=bound,
        tests=tests,
        needed=needed,
        reproduced=bool(tests["prints_as_label"].any()),
    )


STRATIFIED_CONCLUSION = (
    "The counts cannot settle where p = 0.0008 came from. The unstratified CMH test gives "
    "{crude:.5f}; {share:.1%} of all two-stratum count configurations print as 0.0008, but most "
    "of them are strata no randomisation makes, and the share depends entirely on how unbalanced "
    "the arms may be within a stratum (stratified_p_by_allowed_imbalance). A "
    "stratified test on the unpublished strata, a covariate-adjusted model or more than two "
    "strata are equally possible routes; without the protocol's analysis it cannot be checked."
)


def stratified_p_by_allowed_imbalance(imbalances=IMBALANCES) -> pd.DataFrame:
    """The share of two-stratum CMH p values of the primary table printing as the website's p, by allowed imbalance.

    Each row allows the arms to differ by at most that many patients in each stratum (a stratum may
    hold one arm only), counting configurations once and patient partitions once; see
    :func:`ivig_kit.inference.stratified_splits.stratified_p_by_imbalance`. Percentages in the returned shares
    columns (``% of configurations``, ``% of patient partitions``).
    """
    label = published_fact(TRIAL, "primary_label_p")["printed"].replace("p = ", "")
    table = stratified_p_by_imbalance(*primary_counts(), label, imbalances=imbalances)
    return table.assign(
        **{
            f"% of configurations printing {label}": 100 * table["share_of_configurations"],
            f"% of patient partitions printing {label}": 100 * table["share_of_partitions"],
        }
    ).drop(columns=["share_of_configurations", "share_of_partitions"])


@dataclass(frozen=True)
class StratifiedPValueQuestion:
    """How far the published counts settle the sponsor's p = 0.0008.

    Attributes
    ----------
    unstratified : CochranMantelHaenszel
        The CMH test on the crude table.
    unstratified_prints_as_label : bool
        Whether its p value prints as the website's p.
    splits : pandas.DataFrame
        The CMH p of every split of 37/47 vs 21/48 into two strata with both arms in each
        (:func:`ivig_kit.inference.stratified_splits.stratified_p_over_splits`).
    summary : StratifiedPSummary
        Range, median and the share printing as the website's p.
    conclusion : str
        One sentence.
    """

    unstratified: CochranMantelHaenszel
    unstratified_prints_as_label: bool
    splits: pd.DataFrame
    summary: StratifiedPSummary
    conclusion: str


def stratified_p_value_question() -> StratifiedPValueQuestion:
    """How far the counts settle p = 0.0008: the unstratified CMH test and every two-stratum split.

    Returns
    -------
    StratifiedPValueQuestion
        The unstratified CMH test, the CMH p of every split, their summary and a one-sentence conclusion.
    """
    label = published_fact(TRIAL, "primary_label_p")["printed"].replace("p = ", "")
    crude = cochran_mantel_haenszel([primary_counts()])
    splits = stratified_p_over_splits(*primary_counts())
    summary = stratified_p_summary(splits, label)
    return StratifiedPValueQuestion(
        unstratified=crude,
        unstratified_prints_as_label=bool(prints_as(crude.p_value, label)),
        splits=splits,
        summary=summary,
        conclusion=STRATIFIED_CONCLUSION.format(share=summary.share_printing_as, crude=crude.p_value),
    )
