"""How many patients' outcomes a two-arm result hinges on: the Fragility Index (Walsh et al. 2014),
its reverse for non-significant results (Khan et al. 2020) and its variants by another test or arm.

Arm 1 is the treatment arm, events are counts per arm, as in :mod:`ivig_kit.inference.two_arm`,
whose tests (``TWO_ARM_TESTS``) decide significance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ivig_kit.errors import InputError
from ivig_kit.inference.two_arm import TWO_ARM_TESTS, check_counts


@dataclass(frozen=True)
class FragilityResult:
    """A Fragility Index and how it was reached.

    ``index``: outcomes changed, one patient at a time in ``arm``, until the result crosses ``alpha``
    by ``test`` (0 when it never had to); ``significant``: whether the observed table was below
    ``alpha``; ``direction``: ``"toward null"`` (Walsh's index of a significant result) or
    ``"away from null"`` (the reverse index of a non-significant one). ``path``: one row per step
    (flips, x1, x2, p_value), starting from the observed table.
    """

    index: int
    arm: int
    alpha: float
    significant: bool
    path: pd.DataFrame = field(repr=False)
    test: str = "fisher"
    direction: str = "toward null"

    @property
    def p_values(self) -> list[float]:
        return self.path["p_value"].tolist()


def _p_value(test: str, counts, n1: int, n2: int) -> float:
    if test not in TWO_ARM_TESTS:
        raise InputError(f"unknown test {test!r}; expected one of {list(TWO_ARM_TESTS)}")
    return float(TWO_ARM_TESTS[test][1](counts[0], n1, counts[1], n2)[1])


def _flip_until_crossed(x1, n1, x2, n2, alpha, test, arm, toward_null) -> FragilityResult:
    counts, sizes = [x1, x2], (n1, n2)
    fewer = 1 if x1 < x2 else 2
    arm = fewer if arm is None else arm
    if arm not in (1, 2):
        raise InputError(f"arm must be 1, 2 or None, got {arm!r}")
    # toward the null the arm with fewer events gains events and the other loses; away from it, the reverse
    step = 1 if (arm == fewer) == toward_null else -1
    rows, flips = [], 0
    while True:
        p_value = _p_value(test, counts, n1, n2)
        rows.append({"flips": flips, "x1": counts[0], "x2": counts[1], "p_value": p_value})
        if (p_value >= alpha) == toward_null:
            break
        if not 0 <= counts[arm - 1] + step <= sizes[arm - 1]:
            raise InputError(f"arm {arm} has no more outcomes to change and p is still on the same side of {alpha}")
        counts[arm - 1] += step
        flips += 1
    return FragilityResult(
        index=flips,
        arm=arm,
        alpha=alpha,
        significant=rows[0]["p_value"] < alpha,
        path=pd.DataFrame(rows),
        test=test,
        direction="toward null" if toward_null else "away from null",
    )


def fragility_index(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05, test: str = "fisher", arm: int | None = None
) -> FragilityResult:
    """Fragility Index of Walsh et al. (J Clin Epidemiol 2014;67:622-8), and its variants.

    Walsh's index (the defaults): in the arm with fewer events (arm 2 on a tie), turn one non-event
    into an event at a time and recompute the two-sided Fisher exact test until p >= alpha; 0 when
    the result was not significant to begin with.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and patients per arm.
    alpha : float
        The significance threshold.
    test : str
        A key of ``two_arm.TWO_ARM_TESTS``: the index "by the other test" (e.g. ``"pearson"``).
    arm : {1, 2} or None
        The arm whose outcomes change. ``None``: the arm with fewer events, which gains events
        (Walsh). The arm with more events *loses* events instead.

    Returns
    -------
    FragilityResult
    """
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    return _flip_until_crossed(x1, n1, x2, n2, alpha, test, arm, toward_null=True)


def reverse_fragility_index(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05, test: str = "fisher", arm: int | None = None
) -> FragilityResult:
    """Reverse Fragility Index (Khan et al., JAMA Netw Open 2020;3:e2012469) of a non-significant result.

    Outcomes change one patient at a time *away* from the null until p < alpha: by default the arm
    with more events gains events; giving the other arm makes it lose events instead. 0 for a result that is
    already significant. Parameters as :func:`fragility_index`.
    """
    x1, n1, x2, n2 = check_counts(x1, n1, x2, n2)
    more = 2 if x1 < x2 else 1
    return _flip_until_crossed(x1, n1, x2, n2, alpha, test, more if arm is None else arm, toward_null=False)


def fragility_quotient(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> float:
    """Fragility Index divided by the total sample size (Ahmed et al. 2016)."""
    return fragility_index(x1, n1, x2, n2, alpha).index / (n1 + n2)


def fragility_variants(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05, tests=("fisher", "pearson", "barnard")
) -> pd.DataFrame:
    """Walsh's Fragility Index beside its variants: every ``test``, changing each arm.

    One row per (test, arm): variant, test, arm, change ("+1 event" or "-1 event" per step), direction,
    index, p_observed, p_after (the p value once the index is reached). For a non-significant table
    the rows are reverse Fragility Indices.
    """
    rows = []
    fewer = 1 if x1 < x2 else 2
    for test in tests:
        observed = _p_value(test, [x1, x2], n1, n2)
        index = fragility_index if observed < alpha else reverse_fragility_index
        for arm in (fewer, 3 - fewer):
            result = index(x1, n1, x2, n2, alpha, test=test, arm=arm)
            moved = result.path.iloc[-1][f"x{arm}"] - result.path.iloc[0][f"x{arm}"]
            walsh = test == "fisher" and arm == fewer and result.significant
            rows.append(
                {
                    "variant": "Walsh (2014)" if walsh else ("reverse" if not result.significant else "variant"),
                    "test": test,
                    "arm": arm,
                    "change": "+1 event" if moved >= 0 else "-1 event",
                    "direction": result.direction,
                    "index": result.index,
                    "p_observed": result.p_values[0],
                    "p_after": result.p_values[-1],
                }
            )
    return pd.DataFrame(rows)
