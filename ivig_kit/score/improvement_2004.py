"""The 2004 IMACS preliminary definition of improvement (DOI), beside the 2016 TIS.

"3 of any 6 core set measures improved by >= 20%, with no more than 2 worse by >= 25% (which could
not include manual muscle testing)" (Rider LG et al., Arthritis Rheum 2004;50:2281-2290,
doi:10.1002/art.20349). Percent change is **relative to baseline** (change / baseline), unlike the
TIS's absolute change (change / range). It is count-based with a veto, and scores worsening, so the
two can disagree in both directions.

Choices of the kit (not settled by the source):

- The six measures are the TIS's, with the same instrument per row (CMAS for MMT, CHAQ for HAQ
  where that is the instrument) and the same **most abnormal enzyme at baseline**, followed; the
  extramuscular measure is the extramuscular global VAS (MDAAT), not MYOACT.
- A measure at 0 at baseline has an unbounded relative change: any improvement from 0 (MMT/CMAS)
  counts as >= 20% improved, any rise from 0 of a VAS, HAQ or enzyme counts as >= 25% worse; 0 -> 0
  is unchanged.
- The 2004 juvenile DOI's own thresholds were not sourced; the adult definition is applied to every
  population.

**Missing measures.** A missing measure (baseline or follow-up) may be improved, worse or neither. The
result is ``True`` only when it holds whatever the missing measures are: at least 3 known improved,
MMT known and not worse, and the known worse plus the missing at most 2. It is ``False`` when no
values of the missing measures could make it hold: MMT known worse, or 3 or more known worse, or
fewer than 3 improved even if every missing measure improved. Otherwise it is unknown (``<NA>``),
never ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Measures improved by at least this percent (of baseline) count as improved.
IMPROVED_PERCENT = 20
#: Measures worse by at least this percent (of baseline) count as worse.
WORSE_PERCENT = 25
MINIMUM_IMPROVED = 3
MAXIMUM_WORSE = 2
#: The measure that may never be among the worse.
VETO_MEASURE = "mmt"


@dataclass(frozen=True)
class Improvement2004:
    """The 2004 DOI per follow-up visit.

    Attributes
    ----------
    improved : pandas.arrays.BooleanArray
        ``True``, ``False`` or ``<NA>`` (decision depends on a missing measure).
    n_improved, n_worse, n_missing : numpy.ndarray
        Measures known improved by >= 20%, known worse by >= 25%, and missing.
    mmt_worse : numpy.ndarray
        MMT known worse by >= 25% (the veto).
    """

    improved: pd.arrays.BooleanArray
    n_improved: np.ndarray
    n_worse: np.ndarray
    n_missing: np.ndarray
    mmt_worse: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "imacs_2004_improved": self.improved,
                "imacs_2004_n_improved": self.n_improved,
                "imacs_2004_n_worse": self.n_worse,
                "imacs_2004_n_missing": self.n_missing,
                "imacs_2004_mmt_worse": self.mmt_worse,
            }
        )


def measure_status(baseline, followup, increases) -> tuple[np.ndarray, np.ndarray]:
    """Per visit, whether a measure improved by >= 20% and whether it is worse by >= 25% of baseline.

    Values are exact integers (the engine's micro-units) or floats of whole micro-units; comparisons are
    cross-multiplied (``change x 100 >= 20 x |baseline|``) so band edges are exact.
    """
    baseline = np.asarray(baseline, dtype=np.int64)
    followup = np.asarray(followup, dtype=np.int64)
    improvement = np.where(increases, followup - baseline, baseline - followup)
    size = np.abs(baseline)
    improved = (improvement > 0) & (improvement * 100 >= IMPROVED_PERCENT * size)
    worse = (improvement < 0) & (-improvement * 100 >= WORSE_PERCENT * size)
    return improved, worse


def decide(
    improved: dict[str, np.ndarray], worse: dict[str, np.ndarray], missing: dict[str, np.ndarray]
) -> Improvement2004:
    """The 2004 DOI from each measure's status (module docstring: when a missing measure leaves it unknown)."""
    known = {m: ~missing[m] for m in missing}
    n_improved = sum((improved[m] & known[m]).astype(np.int8) for m in missing)
    n_worse = sum((worse[m] & known[m]).astype(np.int8) for m in missing)
    n_missing = sum(missing[m].astype(np.int8) for m in missing)
    mmt_worse = worse[VETO_MEASURE] & known[VETO_MEASURE]
    certainly = (
        (n_improved >= MINIMUM_IMPROVED) & known[VETO_MEASURE] & ~mmt_worse & (n_worse + n_missing <= MAXIMUM_WORSE)
    )
    impossible = mmt_worse | (n_worse > MAXIMUM_WORSE) | (n_improved + n_missing < MINIMUM_IMPROVED)
    values = pd.array(np.where(certainly, True, False), dtype="boolean")
    values[~certainly & ~impossible] = pd.NA
    return Improvement2004(
        values,
        np.asarray(n_improved, dtype=np.int8),
        np.asarray(n_worse, dtype=np.int8),
        np.asarray(n_missing, dtype=np.int8),
        np.asarray(mmt_worse),
    )


def improvement_2004_of_pairs(pairs, directions: dict[str, str]) -> Improvement2004:
    """The 2004 DOI from the engine's per-measure baseline/follow-up pairs (micro-units).

    ``pairs[measure]`` has ``baseline``, ``followup``, ``missing`` and ``increases`` (per visit, or
    ``None`` for the measure's own direction, given in ``directions`` as ``"increase"``/``"decrease"``).
    """
    improved, worse, missing = {}, {}, {}
    for measure, pair in pairs.items():
        increases = pair.increases if pair.increases is not None else directions[measure] == "increase"
        improved[measure], worse[measure] = measure_status(pair.baseline, pair.followup, increases)
        missing[measure] = np.asarray(pair.missing, dtype=bool)
    return decide(improved, worse, missing)


def imacs_2004_improved(pairs) -> pd.arrays.BooleanArray:
    """The ``imacs_2004_improved`` output column of :func:`ivig_kit.score.engine.total_improvement_score`."""
    from ivig_kit.score.measures import CORE_SET

    return improvement_2004_of_pairs(pairs, {m: s.improves_by for m, s in CORE_SET.items()}).improved


def improvement_2004(baseline: dict, followup: dict) -> Improvement2004:
    """The 2004 DOI from plain values per measure (NaN = missing), e.g. for a notebook.

    Parameters
    ----------
    baseline, followup : dict
        Measure name (``physician_global``, ``patient_global``, ``mmt``, ``haq``, ``enzyme``,
        ``extramuscular``) -> array of values; MMT improves by rising, the others by falling.

    Examples
    --------
    >>> import numpy as np
    >>> base = {
    ...     "physician_global": [5.0],
    ...     "patient_global": [5.0],
    ...     "mmt": [60.0],
    ...     "haq": [1.0],
    ...     "enzyme": [1000.0],
    ...     "extramuscular": [2.0],
    ... }
    >>> follow = {
    ...     "physician_global": [3.0],
    ...     "patient_global": [3.0],
    ...     "mmt": [60.0],
    ...     "haq": [0.8],
    ...     "enzyme": [1000.0],
    ...     "extramuscular": [2.0],
    ... }
    >>> bool(improvement_2004(base, follow).improved[0])
    True
    >>> follow["mmt"] = [40.0]  # MMT worse by a third: the veto
    >>> bool(improvement_2004(base, follow).improved[0])
    False
    """
    from ivig_kit.score.measures import CORE_SET, to_micro

    improved, worse, missing = {}, {}, {}
    for measure, spec in CORE_SET.items():
        b = np.asarray(baseline[measure], dtype=float)
        f = np.asarray(followup[measure], dtype=float)
        missing[measure] = np.isnan(b) | np.isnan(f)
        improved[measure], worse[measure] = measure_status(
            to_micro(np.nan_to_num(b)), to_micro(np.nan_to_num(f)), spec.improves_by == "increase"
        )
    return decide(improved, worse, missing)
