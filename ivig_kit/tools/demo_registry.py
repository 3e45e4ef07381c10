"""A synthetic multi-site registry for the per-site reports (``data/demo_registry.csv``).

Nothing here describes a real patient. A seeded generator writes a visit table in the kit's
format (``data/README.md``) for several sites of different sizes, with the things a real registry
has and a report must cope with: two arms, four myositis subtypes, three MMT scales, CK with
each site's upper limit of normal, responders (more often on IVIg), a few confirmed
deteriorations, dropouts, missed and out-of-pattern visits, missing core set measures, and a
companion adverse-event table with a few thromboembolic events.

Site names are deliberately awkward ("Nijmegen UMC" has a space, "Zürich" is not ASCII) and
patient identifiers are strings with leading zeros, prefixed by the site ("AMS-007"), so they
are unique across sites.

Each site draws from its own stream (``default_rng([seed, site_number])``), so adding a site
never changes the others. Regenerate the committed files with ``python -m ivig_kit.tools.demo_registry``.
"""

from __future__ import annotations

import argparse
import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.errors import InputError
from ivig_kit.resources import data_path
from ivig_kit.score.visits import validate_visits

DATA_SOURCE = "synthetic demo registry (not real patients)"
DEFAULT_SEED = 2024
DATA_DIR = data_path("demo_registry.csv").parent
REGISTRY_FILE = "demo_registry.csv"
ADVERSE_EVENTS_FILE = "demo_adverse_events.csv"

#: Visit schedule of the registry (weeks from the first IVIg course or placebo).
SCHEDULED_WEEKS = (0, 4, 8, 12, 16, 24)
ARMS = ("IVIg", "placebo")
SUBTYPES = ("DM", "IMNM", "ASS", "NM/OM")
SUBTYPE_SHARE = (0.40, 0.30, 0.15, 0.15)
#: Unscheduled visits a few patients have (out of the visit pattern).
UNSCHEDULED_WEEKS = (2, 6, 10, 14, 20)
THROMBOEMBOLIC_EVENTS = ("deep vein thrombosis", "pulmonary embolism", "ischaemic stroke")

VISIT_COLUMNS = (
    "site",
    "patient_id",
    "week",
    "visit_date",
    "arm",
    "subtype",
    "sex",
    "age",
    "physician_global",
    "patient_global",
    "extramuscular",
    "haq",
    "mmt",
    "mmt_max",
    "ck",
    "ck_uln",
    "data_source",
)
ADVERSE_EVENT_COLUMNS = ("site", "patient_id", "week", "event", "serious", "related", "data_source")


@dataclass(frozen=True)
class DemoSite:
    """One registry site: its name, the prefix of its patient ids, its size and its local conventions."""

    name: str
    code: str
    patients: int
    mmt_max: int  # 80 MMT-8 one side, 150 MMT-8 both sides, 260 Kendall 13 groups both sides
    ck_uln: int  # U/L, the site laboratory's upper limit of normal
    first_enrolment: str  # ISO date


DEMO_SITES: tuple[DemoSite, ...] = (
    DemoSite("Amsterdam", "AMS", 56, 150, 200, "2022-01-10"),
    DemoSite("Pittsburgh", "PIT", 50, 150, 308, "2022-02-07"),
    DemoSite("Nijmegen UMC", "NIJ", 44, 150, 190, "2022-03-14"),
    DemoSite("Zürich", "ZRH", 38, 260, 190, "2022-02-21"),
    DemoSite("Leuven", "LEU", 30, 80, 170, "2022-05-02"),
    DemoSite("Stockholm", "STO", 26, 80, 200, "2022-04-04"),
    DemoSite("Lyon", "LYO", 20, 260, 195, "2022-06-13"),
    DemoSite("Milano", "MIL", 14, 150, 171, "2022-09-05"),
    DemoSite("Tokyo", "TOK", 10, 80, 248, "2022-10-03"),
)


def demo_sites(count: int) -> tuple[DemoSite, ...]:
    """``count`` sites: the named demo sites first, then numbered ones (e.g. for a 24-site benchmark)."""
    if count < 1:
        raise InputError("count must be >= 1")
    extra = []
    scales, ulns = (150, 80, 260), (200, 190, 170, 308, 220)
    for number in range(len(DEMO_SITES) + 1, count + 1):
        extra.append(
            DemoSite(
                f"Site {number:02d}",
                f"S{number:02d}",
                10 + (number * 7) % 31,
                scales[number % 3],
                ulns[number % 5],
                (datetime.date(2022, 1, 3) + datetime.timedelta(weeks=3 * number)).isoformat(),
            )
        )
    return (DEMO_SITES + tuple(extra))[:count]


# --- One patient's course ------------------------------------------------------------------------------------

#: Probability of each course by arm: responder / non-responder / deteriorator.
COURSE_SHARE = {"IVIg": (0.75, 0.18, 0.07), "placebo": (0.32, 0.57, 0.11)}
COURSES = ("responder", "non-responder", "deteriorator")
#: Baseline of each CSM: (low, high) of a uniform draw; extramuscular activity depends on the subtype.
BASELINE_VAS = {"physician_global": (3.0, 7.5), "patient_global": (3.0, 8.5)}
EXTRAMUSCULAR_BY_SUBTYPE = {"DM": (2.0, 6.5), "IMNM": (0.0, 1.5), "ASS": (1.0, 4.5), "NM/OM": (0.5, 3.0)}
#: CK at baseline as a multiple of the ULN: (log-mean, log-sd) by subtype (IMNM is the highest).
CK_X_ULN_BY_SUBTYPE = {
    "DM": (np.log(3.0), 0.9),
    "IMNM": (np.log(14.0), 0.7),
    "ASS": (np.log(4.0), 0.8),
    "NM/OM": (np.log(2.5), 0.8),
}
#: Per-visit probability that a CSM value was not recorded.
MISSING_PROBABILITY = {
    "physician_global": 0.006,
    "patient_global": 0.012,
    "extramuscular": 0.02,
    "haq": 0.02,
    "mmt": 0.01,
    "ck": 0.025,
}
MISSED_VISIT_PROBABILITY = 0.03
DROPOUT_PROBABILITY = {"responder": 0.04, "non-responder": 0.10, "deteriorator": 0.35}
OUT_OF_WINDOW_PROBABILITY = 0.012  # a scheduled visit recorded one week early or late
UNSCHEDULED_PROBABILITY = 0.04  # a patient with one extra, unscheduled visit


def _course_fraction(course: str, rng: np.random.Generator, arm: str):
    """Fraction of the way from baseline to the best (positive) or worst (negative) value, by week."""
    if course == "responder":
        magnitude = rng.uniform(0.45, 0.95)
        onset = rng.uniform(3, 8) if arm == "IVIg" else rng.uniform(6, 14)
        return lambda week: magnitude * (1 - np.exp(-week / onset))
    if course == "non-responder":
        magnitude = rng.uniform(-0.12, 0.10)
        return lambda week: magnitude * min(1.0, week / 12)
    magnitude = -rng.uniform(0.5, 0.85)
    worst_by = rng.uniform(5, 10)
    return lambda week: magnitude * min(1.0, week / worst_by)


def _move(value: float, fraction: float, best: float, worst: float) -> float:
    """Move ``value`` a fraction of the way to ``best`` (fraction > 0) or to ``worst`` (fraction < 0)."""
    target = best if fraction >= 0 else worst
    return value + abs(fraction) * (target - value)


def _patient_visits(
    site: DemoSite, patient_id: str, arm: str, subtype: str, enrolled: datetime.date, rng: np.random.Generator
) -> tuple[list[dict], str, list[int]]:
    course = str(rng.choice(COURSES, p=COURSE_SHARE[arm]))
    fraction = _course_fraction(course, rng, arm)
    sex = "F" if rng.random() < (0.70 if subtype == "DM" else 0.60) else "M"
    age = int(np.clip(rng.normal(53, 13), 18, 84))
    base = {name: rng.uniform(*limits) for name, limits in BASELINE_VAS.items()}
    base["extramuscular"] = rng.uniform(*EXTRAMUSCULAR_BY_SUBTYPE[subtype])
    base["haq"] = rng.uniform(0.5, 2.25)
    base["mmt"] = rng.uniform(0.55, 0.92) * site.mmt_max
    base["ck"] = site.ck_uln * float(np.clip(np.exp(rng.normal(*CK_X_ULN_BY_SUBTYPE[subtype])), 0.4, 60))
    # each CSM follows the course with its own strength, so patients differ in which CSMs drive the score
    strength = {name: float(np.clip(rng.normal(1.0, 0.25), 0.3, 1.4)) for name in base}

    weeks = list(SCHEDULED_WEEKS)
    if rng.random() < DROPOUT_PROBABILITY[course]:
        weeks = weeks[: int(rng.integers(3, len(weeks)))]  # last visit at week 8, 12 or 16
    weeks = [w for w in weeks if w in (0, weeks[-1]) or rng.random() >= MISSED_VISIT_PROBABILITY]
    weeks = [
        w + int(rng.choice([-1, 1])) if 0 < w < 24 and rng.random() < OUT_OF_WINDOW_PROBABILITY else w for w in weeks
    ]
    if rng.random() < UNSCHEDULED_PROBABILITY:
        extra = int(rng.choice([w for w in UNSCHEDULED_WEEKS if w < weeks[-1]] or [2]))
        weeks = sorted(set(weeks) | {extra})

    rows = []
    for week in weeks:
        step = fraction(week) if week else 0.0
        noise = (lambda sd: rng.normal(0, sd)) if week else (lambda sd: 0.0)
        values = {}
        for name in ("physician_global", "patient_global", "extramuscular"):
            values[name] = round(
                float(np.clip(_move(base[name], step * strength[name], 0.0, 10.0) + noise(0.35), 0, 10)), 1
            )
        haq = _move(base["haq"], step * strength["haq"], 0.0, 3.0) + noise(0.08)
        values["haq"] = float(np.clip(round(haq * 8) / 8, 0, 3))
        mmt = _move(base["mmt"], step * strength["mmt"], site.mmt_max, 0.35 * site.mmt_max)
        values["mmt"] = int(np.clip(round(mmt + noise(0.015 * site.mmt_max)), 0, site.mmt_max))
        ck = _move(base["ck"], step * strength["ck"], 0.5 * site.ck_uln, 4.0 * base["ck"]) * np.exp(noise(0.12))
        values["ck"] = int(max(round(ck), 20))
        for name, probability in MISSING_PROBABILITY.items():
            if rng.random() < (probability / 3 if week == 0 else probability):
                values[name] = None
        visit_date = enrolled + datetime.timedelta(days=7 * week + (int(rng.integers(-3, 4)) if week else 0))
        rows.append(
            {
                "site": site.name,
                "patient_id": patient_id,
                "week": week,
                "visit_date": visit_date.isoformat(),
                "arm": arm,
                "subtype": subtype,
                "sex": sex,
                "age": age,
                **values,
                "mmt_max": site.mmt_max,
                "ck_uln": site.ck_uln,
                "data_source": DATA_SOURCE,
            }
        )
    return rows, course, weeks


# --- Adverse events ------------------------------------------------------------------------------------------

#: Common events: (name, probability per follow-up visit on IVIg, on placebo, P(serious), P(related | IVIg)).
COMMON_EVENTS = (
    ("headache", 0.09, 0.04, 0.01, 0.8),
    ("fever or chills", 0.03, 0.01, 0.0, 0.7),
    ("nausea", 0.04, 0.03, 0.0, 0.5),
    ("infusion reaction", 0.025, 0.008, 0.05, 0.95),
    ("rash", 0.015, 0.01, 0.0, 0.4),
    ("infection", 0.03, 0.03, 0.2, 0.1),
)


def _adverse_events(
    site: DemoSite, patient_id: str, arm: str, course: str, weeks: list[int], rng: np.random.Generator
) -> list[dict]:
    events = []
    for week in weeks[1:]:
        for name, on_ivig, on_placebo, serious, related in COMMON_EVENTS:
            if rng.random() < (on_ivig if arm == "IVIg" else on_placebo):
                events.append(
                    (week, name, rng.random() < serious, rng.random() < (related if arm == "IVIg" else related / 3))
                )
    if course == "deteriorator" and len(weeks) > 2:
        events.append((weeks[2], "myositis flare", rng.random() < 0.3, False))
    return [
        {
            "site": site.name,
            "patient_id": patient_id,
            "week": week,
            "event": name,
            "serious": "yes" if is_serious else "no",
            "related": "yes" if is_related else "no",
            "data_source": DATA_SOURCE,
        }
        for week, name, is_serious, is_related in events
    ]


def _thromboembolic_events(
    site_visits: dict[str, list[int]], arms: dict[str, str], rng: np.random.Generator, site: DemoSite
) -> list[dict]:
    """About one thromboembolic event per 25 IVIg patients (ProDERM: 8 events in 95 exposed), rarely on placebo."""
    events = []
    for patient_id, weeks in site_visits.items():
        rate = 0.05 if arms[patient_id] == "IVIg" else 0.01
        if len(weeks) > 1 and rng.random() < rate:
            events.append(
                {
                    "site": site.name,
                    "patient_id": patient_id,
                    "week": int(rng.choice(weeks[1:])),
                    "event": str(rng.choice(THROMBOEMBOLIC_EVENTS, p=(0.5, 0.35, 0.15))),
                    "serious": "yes",
                    "related": "yes" if arms[patient_id] == "IVIg" else "no",
                    "data_source": DATA_SOURCE,
                }
            )
    return events


# --- The registry --------------------------------------------------------------------------------------------


def _site_tables(site: DemoSite, site_number: int, seed: int) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng([seed, site_number])
    # screening numbers with gaps (screen failures), zero-padded: "AMS-007"
    numbers = np.sort(rng.choice(np.arange(1, int(site.patients * 1.25) + 2), size=site.patients, replace=False))
    arms = [arm for _ in range(0, site.patients, 4) for arm in rng.permutation(ARMS * 2)][: site.patients]
    first = datetime.date.fromisoformat(site.first_enrolment)
    enrolled = sorted(first + datetime.timedelta(days=int(d)) for d in rng.integers(0, 420, site.patients))
    visits, events, visit_weeks, arm_of = [], [], {}, {}
    for number, arm, day in zip(numbers, arms, enrolled):
        patient_id = f"{site.code}-{number:03d}"
        subtype = str(rng.choice(SUBTYPES, p=SUBTYPE_SHARE))
        rows, course, weeks = _patient_visits(site, patient_id, str(arm), subtype, day, rng)
        visits += rows
        events += _adverse_events(site, patient_id, str(arm), course, weeks, rng)
        visit_weeks[patient_id], arm_of[patient_id] = weeks, str(arm)
    events += _thromboembolic_events(visit_weeks, arm_of, rng, site)
    return visits, events


def generate_demo_registry(
    seed: int = DEFAULT_SEED, sites: tuple[DemoSite, ...] = DEMO_SITES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic registry: ``(visits, adverse_events)``, deterministic from ``seed``.

    ``visits`` is a valid visit table (checked with :func:`ivig_kit.score.visits.validate_visits`) with the
    pass-through columns visit_date, arm, subtype, sex, age and data_source; ``adverse_events`` has one
    row per event: site, patient_id, week, event, serious and related ("yes"/"no"), data_source.
    """
    if len({s.name for s in sites}) != len(sites) or len({s.code for s in sites}) != len(sites):
        raise InputError("site names and codes must be unique")
    visits, events = [], []
    for number, site in enumerate(sites, start=1):
        site_visits, site_events = _site_tables(site, number, seed)
        visits += site_visits
        events += site_events
    visits = pd.DataFrame(visits, columns=list(VISIT_COLUMNS))
    for column in ("mmt", "ck"):
        visits[column] = visits[column].astype("Int64")
    validate_visits(visits, source="demo registry")
    events = pd.DataFrame(events, columns=list(ADVERSE_EVENT_COLUMNS))
    order = {site.name: rank for rank, site in enumerate(sites)}
    events = events.sort_values(
        ["site", "patient_id", "week", "event"], key=lambda s: s.map(order) if s.name == "site" else s, kind="stable"
    ).reset_index(drop=True)
    return visits, events


def write_demo_registry(
    directory: Path | str = DATA_DIR, seed: int = DEFAULT_SEED, sites: tuple[DemoSite, ...] = DEMO_SITES
) -> tuple[Path, Path]:
    """Write ``demo_registry.csv`` and ``demo_adverse_events.csv`` (UTF-8) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    visits, events = generate_demo_registry(seed, sites)
    paths = directory / REGISTRY_FILE, directory / ADVERSE_EVENTS_FILE
    visits.to_csv(paths[0], index=False, encoding="utf-8", lineterminator="\n")
    events.to_csv(paths[1], index=False, encoding="utf-8", lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ivig_kit.tools.demo_registry",
        description="Regenerate the synthetic demo registry (not real patients).",
    )
    parser.add_argument("--out", default=str(DATA_DIR), help="folder to write the two CSV files to (default: data/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--sites",
        type=int,
        default=len(DEMO_SITES),
        help=f"number of sites (default {len(DEMO_SITES)}; more adds numbered sites)",
    )
    args = parser.parse_args(argv)
    for path in write_demo_registry(args.out, args.seed, demo_sites(args.sites)):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
