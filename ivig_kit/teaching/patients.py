"""Teaching patients and their scores, measure by measure.

A :class:`PatientVisits` is one baseline and one follow-up of a synthetic patient; it is scored by
the engine's one-pair scorer, :func:`ivig_kit.score.pair.score_pair`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import pandas as pd

from ivig_kit.errors import InputError
from ivig_kit.facts import pilot_table2
from ivig_kit.score.core_set_instruments import CORE_SETS, INSTRUMENTS, Instrument, instrument_for
from ivig_kit.score.enzymes import enzyme_scale_range
from ivig_kit.score.measures import CORE_SET, ENZYME_ULN, ENZYMES, EnzymeNormalisation
from ivig_kit.score.pair import score_pair

SYNTHETIC = "synthetic teaching patient"


# --- Patients ------------------------------------------------------------------------


class ScaleLimits(NamedTuple):
    """Lowest and highest value an instrument can record."""

    low: float
    high: float


@dataclass(frozen=True)
class PatientVisits:
    """Baseline and one follow-up of a (synthetic) patient: the six CSMs and their scales.

    ``baseline`` and ``followup`` map each CSM name to its value; the enzyme value is in
    U/l of ``enzyme`` (the one most abnormal at baseline), with upper limit ``enzyme_uln``.
    """

    baseline: Mapping[str, float]
    followup: Mapping[str, float]
    mmt_max: float = 150
    enzyme: str = "ck"
    enzyme_uln: float = 200.0
    followup_week: float = 9
    label: str = SYNTHETIC
    #: the instrument standing in a CSM's row where it is not the adult IMACS one (``{"mmt": "cmas"}``)
    instruments: Mapping[str, str] = field(default_factory=dict)
    #: lowest and highest CHQ physical summary score, when ``chq_phs`` stands for the enzyme
    chq_phs_range: tuple[float, float] | None = None

    def instrument(self, measure: str) -> Instrument:
        """The instrument standing in ``measure``'s row for this patient."""
        return instrument_for(measure, self.instruments.get(measure, CORE_SET[measure].instruments[0]))

    def limits(self, measure: str) -> ScaleLimits:
        """Lowest and highest value the instrument in ``measure``'s row can record (enzyme: no top)."""
        instrument = self.instrument(measure)
        if instrument.name == "mmt":
            return ScaleLimits(0.0, float(self.mmt_max))
        if instrument.name == "chq_phs":
            if self.chq_phs_range is None:
                raise InputError("the CHQ physical summary score needs chq_phs_range=(min, max)")
            return ScaleLimits(float(self.chq_phs_range[0]), float(self.chq_phs_range[1]))
        if instrument.name == "enzyme":
            return ScaleLimits(0.0, float("inf"))
        return ScaleLimits(float(instrument.scale_min), float(instrument.scale_max))

    def __post_init__(self):
        """Both visits must name exactly the six CSMs, and the enzyme must be one the engine knows."""
        for name, values in (("baseline", self.baseline), ("followup", self.followup)):
            unknown = set(values) - set(CORE_SET)
            missing = set(CORE_SET) - set(values)
            if unknown or missing:
                raise InputError(
                    f"{name} needs exactly the six CSMs; missing {sorted(missing)}, unknown {sorted(unknown)}"
                )
        if self.enzyme not in ENZYMES:
            raise InputError(f"enzyme must be one of {ENZYMES}, not {self.enzyme!r}")
        for measure, name in self.instruments.items():
            instrument_for(measure, name)

    def with_followup(self, measure: str, value: float) -> PatientVisits:
        """The same patient with one follow-up value changed."""
        return replace(self, followup={**self.followup, measure: value})

    def visit_table(self) -> pd.DataFrame:
        """The two visits as a visit table the engine scores (see ``data/README.md``)."""
        rows = []
        for week, values in ((0, self.baseline), (self.followup_week, self.followup)):
            row = {"site": "teaching", "patient_id": "synthetic", "week": week}
            for measure in CORE_SET:
                instrument = self.instrument(measure)
                if instrument.name == "enzyme":
                    row.update({self.enzyme: values["enzyme"], ENZYME_ULN[self.enzyme]: self.enzyme_uln})
                else:
                    row[instrument.column] = values[measure]
                if instrument.name == "mmt":
                    row["mmt_max"] = self.mmt_max
                if instrument.name == "chq_phs":
                    row["chq_phs_min"], row["chq_phs_max"] = self.limits("enzyme")
            row["data_source"] = self.label
            rows.append(row)
        return pd.DataFrame(rows)


#: A synthetic patient whose values are the pilot's published medians at baseline and at the end
#: (Lim et al. 2021, Table 2; Kendall MMT on 0-260, CK ULN taken as 200 U/l). Medians of different
#: patients, not a real patient; the TIS of the medians is not the median TIS. The HAQ is put on the
#: HAQ-DI's 1/8 grid (the nearest eighth: the printed end median 1.6 becomes 1.625, which prints as 1.6),
#: because no HAQ-DI of 8 answered categories can be 1.6.
def _pilot_medians(timepoint: str) -> dict[str, float]:
    medians = pilot_table2().query("timepoint == @timepoint").set_index("measure")["median"]
    values = {("enzyme" if measure == "ck" else measure): float(value) for measure, value in medians.items()}
    values["haq"] = round(values["haq"] * 8) / 8
    return values


MEDIAN_PATIENT = PatientVisits(
    baseline=_pilot_medians("baseline"),
    followup=_pilot_medians("end"),
    mmt_max=260,
    followup_week=9,
    label="synthetic: the pilot's median baseline and end values (HAQ on the 1/8 grid), not a real patient",
)

#: A synthetic responder with dermatomyositis, MMT-8 on both sides.
RESPONDER = PatientVisits(
    baseline={
        "physician_global": 6.0,
        "patient_global": 7.0,
        "mmt": 110,
        "haq": 1.875,
        "enzyme": 4200,
        "extramuscular": 3.0,
    },
    followup={
        "physician_global": 4.2,
        "patient_global": 5.5,
        "mmt": 121,
        "haq": 1.5,
        "enzyme": 1800,
        "extramuscular": 2.0,
    },
    mmt_max=150,
    followup_week=4,
    label="synthetic teaching patient (responder)",
)

#: A synthetic patient whose changes land exactly on band edges, MMT-8 on one side.
EDGE_PATIENT = PatientVisits(
    baseline={
        "physician_global": 1.1,
        "patient_global": 4.0,
        "mmt": 40,
        "haq": 1.0,
        "enzyme": 900,
        "extramuscular": 2.2,
    },
    followup={
        "physician_global": 0.6,
        "patient_global": 3.5,
        "mmt": 41.6,
        "haq": 1.0,
        "enzyme": 850,
        "extramuscular": 0.7,
    },
    mmt_max=80,
    followup_week=4,
    label="synthetic teaching patient (band edges)",
)


#: A synthetic child with juvenile DM on the IMACS core set: CMAS (0-52), CHAQ, parent global, CK.
CMAS_PATIENT = PatientVisits(
    baseline={
        "physician_global": 5.0,
        "patient_global": 6.0,
        "mmt": 30,
        "haq": 1.5,
        "enzyme": 1000,
        "extramuscular": 4.0,
    },
    followup={
        "physician_global": 3.0,
        "patient_global": 4.0,
        "mmt": 40.4,
        "haq": 1.125,
        "enzyme": 800,
        "extramuscular": 2.5,
    },
    mmt_max=52,
    followup_week=6,
    instruments=CORE_SETS["imacs_jdm"],
    label="synthetic teaching patient (juvenile DM, IMACS core set with CMAS)",
)

#: A synthetic child with juvenile DM on the PRINTO core set: CHQ physical summary for the enzyme row
#: (range given explicitly, here -10 to 50: no fixed range could be sourced) and DAS (0-20).
PRINTO_PATIENT = PatientVisits(
    baseline={"physician_global": 5.0, "patient_global": 6.0, "mmt": 30, "haq": 1.5, "enzyme": 20, "extramuscular": 12},
    followup={
        "physician_global": 3.0,
        "patient_global": 4.0,
        "mmt": 36,
        "haq": 1.125,
        "enzyme": 30,
        "extramuscular": 8,
    },
    mmt_max=52,
    followup_week=6,
    instruments=CORE_SETS["printo_jdm"],
    chq_phs_range=(-10.0, 50.0),
    label="synthetic teaching patient (juvenile DM, PRINTO core set)",
)


@dataclass(frozen=True)
class PatientScore:
    """The engine's score of one follow-up, arranged measure by measure for teaching."""

    patient: PatientVisits
    population: str
    enzyme_normalisation: EnzymeNormalisation
    breakdown: pd.DataFrame  # one row per CSM
    tis: float
    category: str | None


def as_enzyme_normalisation(option) -> EnzymeNormalisation:
    """Accept the option by name (``"relative"``, ``"uln_range"``) or as an object."""
    return EnzymeNormalisation(option) if isinstance(option, str) else option


def score_patient(
    patient: PatientVisits, population: str = "adult", enzyme_normalisation: EnzymeNormalisation | str = "relative"
) -> PatientScore:
    """Score a patient's follow-up with the engine's one-pair scorer, measure by measure.

    Parameters
    ----------
    patient : PatientVisits
        Baseline and follow-up of the six CSMs, with the MMT scale and the enzyme's ULN.
    population : {"adult", "juvenile"}
        Which category thresholds apply.
    enzyme_normalisation : EnzymeNormalisation or str
        How the enzyme's percent change is normalised.

    Returns
    -------
    PatientScore
        ``breakdown`` has, per CSM: baseline, follow-up, change (positive = better), the range the
        change is divided by, the absolute percent improvement, the points, the maximum points and
        whether the baseline was at the floor/ceiling; then the total and its category.

    Examples
    --------
    >>> score_patient(RESPONDER).tis
    47.5
    """
    normalisation = as_enzyme_normalisation(enzyme_normalisation)
    scored = score_pair(
        patient.baseline,
        patient.followup,
        patient.mmt_max,
        patient.enzyme_uln,
        population,
        normalisation,
        instruments=patient.instruments,
        chq_phs_range=patient.chq_phs_range,
    )
    records = [
        {
            "measure": name,
            "label": INSTRUMENTS[m.instrument].label,
            "instrument": m.instrument,
            "baseline": m.baseline,
            "followup": m.follow_up,
            "change": m.change,
            "scale_range": m.scale_range,
            "percent": m.percent,
            "points": m.points,
            "max_points": CORE_SET[name].max_points,
            "at_limit": m.at_limit,
        }
        for name, m in scored.measures.items()
    ]
    breakdown = pd.DataFrame(records).set_index("measure")
    return PatientScore(patient, population, normalisation, breakdown, scored.tis, scored.category)


def scale_ranges(patient: PatientVisits, normalisation: EnzymeNormalisation | str = "relative") -> pd.Series:
    """The range each CSM's change is divided by: fixed, the MMT maximum, or the enzyme option's.

    Returns
    -------
    pandas.Series
        ``scale_range`` by CSM name, in the core set's order.
    """
    normalisation = as_enzyme_normalisation(normalisation)
    ranges = {}
    for measure in CORE_SET:
        if patient.instrument(measure).name == "enzyme":
            ranges[measure] = float(enzyme_scale_range(patient.baseline["enzyme"], patient.enzyme_uln, normalisation))
        else:
            low, high = patient.limits(measure)
            ranges[measure] = high - low
    return pd.Series(ranges, name="scale_range").rename_axis("measure")
