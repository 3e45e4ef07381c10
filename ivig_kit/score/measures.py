"""Every fact about the instruments of the core set, in one place.

Each :class:`CoreSetMeasure` carries its row of the 2016 ACR/EULAR scoring table (band edges and
points), its direction, the range its change is divided by and the step it is recorded in; the
populations and their category thresholds, and the muscle enzymes, live here too. Anything that
needs one of these facts asks this module; nothing retypes them. The instruments that may stand in
each row (CMAS, CHAQ, ...) and the core sets live in :mod:`ivig_kit.score.core_set_instruments`.
Sources: Aggarwal et al. 2017, Rider et al. 2017 (``shared/reference/tis.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ivig_kit.errors import InputError

Direction = Literal["decrease", "increase"]
Population = Literal["adult", "juvenile"]

#: Values are quantised to this many units per instrument unit before any comparison.
MICRO = 1_000_000


@dataclass(frozen=True)
class CoreSetMeasure:
    """One IMACS core set measure and its row of the ACR/EULAR scoring table."""

    name: str
    label: str
    improves_by: Direction
    #: right-closed upper edges (percent) of bands 1-4; band 5 is everything above the last
    band_edges_percent: tuple[int, int, int, int]
    band_points: tuple[float, float, float, float, float]
    #: the instrument's range (max - min); ``None`` where it is an explicit input per patient
    #: (MMT: ``mmt_max``) or follows the enzyme normalisation option
    scale_range: float | None
    #: smallest step the instrument is recorded in (HAQ items are 0-3, averaged over 8 categories)
    resolution: float
    unit: str = ""
    #: the instruments that may stand in this row (``core_set_instruments.INSTRUMENTS``), the IMACS adult one first
    instruments: tuple[str, ...] = ()

    @property
    def max_points(self) -> float:
        return self.band_points[-1]

    def improvement(self, baseline, follow_up):
        """Signed improvement in the instrument's units (positive = better), exact to six decimals.

        Examples
        --------
        >>> CORE_SET["physician_global"].improvement(1.1, 0.6)
        0.5
        >>> CORE_SET["mmt"].improvement(40, 38)
        -2.0
        """
        baseline_micro, follow_up_micro = to_micro(baseline), to_micro(follow_up)
        change = (
            follow_up_micro - baseline_micro if self.improves_by == "increase" else baseline_micro - follow_up_micro
        )
        result = change / MICRO
        return float(result) if np.ndim(result) == 0 else result


CORE_SET: dict[str, CoreSetMeasure] = {
    m.name: m
    for m in (
        CoreSetMeasure(
            "physician_global",
            "Physician global activity (VAS 0-10 cm)",
            "decrease",
            (5, 15, 25, 40),
            (0.0, 7.5, 15.0, 17.5, 20.0),
            10.0,
            0.1,
            "cm",
            ("physician_global",),
        ),
        CoreSetMeasure(
            "patient_global",
            "Patient global activity (VAS 0-10 cm)",
            "decrease",
            (5, 15, 25, 40),
            (0.0, 2.5, 5.0, 7.5, 10.0),
            10.0,
            0.1,
            "cm",
            ("patient_global", "parent_global"),
        ),
        CoreSetMeasure(
            "mmt",
            "Manual muscle testing (MMT)",
            "increase",
            (2, 10, 20, 30),
            (0.0, 10.0, 20.0, 27.5, 32.5),
            None,
            1.0,
            "",
            ("mmt", "cmas"),
        ),
        CoreSetMeasure(
            "haq",
            "Health Assessment Questionnaire (HAQ 0-3)",
            "decrease",
            (5, 15, 25, 40),
            (0.0, 5.0, 7.5, 7.5, 10.0),
            3.0,
            0.125,
            "",
            ("haq", "chaq"),
        ),
        CoreSetMeasure(
            "enzyme",
            "Most abnormal muscle enzyme",
            "decrease",
            (5, 15, 25, 40),
            (0.0, 2.5, 5.0, 7.5, 7.5),
            None,
            1.0,
            "U/l",
            ("enzyme", "chq_phs"),
        ),
        CoreSetMeasure(
            "extramuscular",
            "Extramuscular activity (MDAAT VAS 0-10 cm)",
            "decrease",
            (5, 15, 25, 40),
            (0.0, 7.5, 12.5, 15.0, 20.0),
            10.0,
            0.1,
            "cm",
            ("extramuscular", "das"),
        ),
    )
}

#: Fixed instrument ranges; MMT's range is the patient's ``mmt_max`` and the enzyme's
#: depends on the chosen :class:`EnzymeNormalisation`.
SCALE_RANGE = {name: m.scale_range for name, m in CORE_SET.items() if m.scale_range is not None}
#: Step each instrument is recorded in.
RESOLUTION = {name: m.resolution for name, m in CORE_SET.items()}

#: Minimal / moderate / major improvement thresholds (TIS >= threshold).
CATEGORY_THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "adult": (20.0, 40.0, 60.0),
    "juvenile": (30.0, 45.0, 70.0),
}
#: The populations the criteria define, by the name every interface uses.
POPULATIONS = tuple(CATEGORY_THRESHOLDS)
CATEGORIES = ("none", "minimal", "moderate", "major")

#: Common MMT scales: MMT-8 one side, MMT-8 both sides, 13 groups both sides. All grade each muscle
#: group 0-10 (the Kendall grading MMT-8 also uses); 0-260 for the pilot is our inference from its
#: baseline median of 211 (13 groups on both sides), not a printed fact.
MMT_SCALES = {
    "MMT-8 unilateral (0-80)": 80,
    "MMT-8 bilateral (0-150)": 150,
    "13 groups bilateral, Kendall 0-10 grades (0-260)": 260,
}


#: Plausible maxima of the inputs, each far above anything clinical, chosen so that every integer
#: product the engine forms in micro-units stays below 2**63 (``tests/score/test_readers.py`` proves
#: it at the bounds). Anything above them is a data-entry error, rejected with its row.
#: Muscle enzymes (U/l): CK in severe rhabdomyolysis is reported up to a few 10^5 U/l.
ENZYME_VALUE_MAX = 10_000_000.0
#: Upper limit of normal of any enzyme (U/l); laboratory ULNs are 5-500 U/l.
ENZYME_ULN_MAX = 100_000.0
#: MMT scale maximum: the largest common scale is Kendall's 13 groups bilateral, 260.
MMT_MAX_LIMIT = 1_000.0
#: Study week: 50 years of follow-up.
WEEK_MAX = 2_600.0
#: k of the ULN x k enzyme range (the calculator's widget allows up to 1000 too).
ULN_MULTIPLIER_MAX = 1_000.0

#: Per-enzyme ULN multipliers of an R (dplyr) script of the TIS that we could not trace to a paper,
#: package or version (hence "r-implementation", a description, not a citation): the enzyme's
#: range is 0..15 x ULN for CK and 0..3 x ULN for AST, ALT and LD. That implementation has no
#: aldolase; 3 (like the other non-CK enzymes) is the kit's own explicit choice. A convention of one
#: implementation, not a rule of the criteria (see ``data/README.md``).
ENZYME_ULN_MULTIPLIER_PRESETS: dict[str, dict[str, float]] = {
    "r-implementation": {"ck": 15.0, "aldolase": 3.0, "alt": 3.0, "ast": 3.0, "ldh": 3.0},
}


@dataclass(frozen=True)
class EnzymeNormalisation:
    """How the most abnormal enzyme's percent change is normalised.

    The published sources do not settle this (see ``tis.md``), so it is an explicit,
    recorded choice: ``relative`` divides the change by the baseline value (the default);
    ``uln_range`` divides it by k x ULN, treating 0..k x ULN as the range, with one
    ``uln_multiplier`` for every enzyme or, per enzyme, ``per_enzyme`` (pairs of enzyme and k,
    e.g. :meth:`preset` ``"r-implementation"``: CK 15, aldolase/ALT/AST/LDH 3).
    """

    method: Literal["relative", "uln_range"] = "relative"
    uln_multiplier: float = 10.0
    per_enzyme: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        if self.method not in ("relative", "uln_range"):
            raise InputError(f"enzyme normalisation must be 'relative' or 'uln_range', not {self.method!r}")
        for name, k in (("all enzymes", self.uln_multiplier), *self.per_enzyme):
            if name != "all enzymes" and name not in ENZYMES:
                raise InputError(f"uln multiplier for {name!r}: not an enzyme; expected one of {', '.join(ENZYMES)}")
            try:
                k = float(k)
            except (TypeError, ValueError):
                raise InputError(f"uln_multiplier ({name}) must be a number, not {k!r}") from None
            if not (np.isfinite(k) and 0 < k <= ULN_MULTIPLIER_MAX):
                raise InputError(
                    f"uln_multiplier ({name}) must be a finite number in (0, {ULN_MULTIPLIER_MAX:g}], not {k!r}"
                )

    @classmethod
    def preset(cls, name: str) -> EnzymeNormalisation:
        """The ``uln_range`` normalisation with a named set of per-enzyme multipliers."""
        if name not in ENZYME_ULN_MULTIPLIER_PRESETS:
            raise InputError(
                f"unknown enzyme preset {name!r}; expected one of {', '.join(ENZYME_ULN_MULTIPLIER_PRESETS)}"
            )
        return cls("uln_range", per_enzyme=tuple(ENZYME_ULN_MULTIPLIER_PRESETS[name].items()))

    def multiplier(self, enzyme: str | None = None) -> float:
        """k of ``enzyme`` (its own if given per enzyme, else ``uln_multiplier``)."""
        per_enzyme = dict(self.per_enzyme)
        if enzyme is not None and enzyme in per_enzyme:
            return float(per_enzyme[enzyme])
        return float(self.uln_multiplier)

    def __str__(self) -> str:
        if self.method == "relative":
            return "relative"
        if not self.per_enzyme:
            return f"uln_range(x{self.uln_multiplier:g})"
        ks = dict(self.per_enzyme)
        return (
            "uln_range("
            + ", ".join(f"{e} x{self.multiplier(e):g}" for e in ENZYMES if e in ks)
            + (f", others x{self.uln_multiplier:g})" if set(ks) != set(ENZYMES) else ")")
        )


def to_micro(values) -> np.ndarray:
    """Quantise measurements to int64 micro-units; NaN becomes 0 (track missingness separately)."""
    arr = np.asarray(values, dtype=float)
    return np.rint(np.nan_to_num(arr, nan=0.0) * MICRO).astype(np.int64)


#: Muscle enzymes the TIS may use (footnote of the scoring table), each with a ``<name>_uln`` column.
ENZYMES = ("ck", "aldolase", "alt", "ast", "ldh")
ENZYME_ULN = {enzyme: f"{enzyme}_uln" for enzyme in ENZYMES}


#: The HAQ-DI (and CHAQ) is the mean of the answered category scores (0-3), 8 categories, at least 6
#: answered (instruments.md): every index is a multiple of 1/8, 1/7 or 1/6.
HAQ_DI_CATEGORIES_ANSWERED = (8, 7, 6)
#: A value written to 2 decimals (1.63 for 13/8) is still one the index can take.
HAQ_DI_WRITTEN_TOLERANCE = 0.005


def off_haq_di_grid(values) -> np.ndarray:
    """Where a HAQ/CHAQ value is one no HAQ-DI can take (not k/8, k/7 or k/6 to 2 decimals); NaN is not flagged.

    >>> off_haq_di_grid([1.625, 1.63, 1.6, 10 / 7]).tolist()
    [False, False, True, False]
    """
    values = np.asarray(values, dtype=float)
    off = np.ones(values.shape, dtype=bool)
    for answered in HAQ_DI_CATEGORIES_ANSWERED:
        nearest = np.round(values * answered) / answered
        off &= ~(np.abs(values - nearest) <= HAQ_DI_WRITTEN_TOLERANCE + 1e-9)
    return off & ~np.isnan(values)
