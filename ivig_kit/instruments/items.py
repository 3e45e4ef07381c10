"""Every item fact of the case report form, in one place: column names, ranges, groups, categories.

Sources (``shared/reference/instruments.md``):

- MMT: IMACS Form 04, Manual Muscle Testing Scoring Sheet: Kendall 0-10 per group; MMT-8 (neck
  flexors, middle deltoid, biceps brachii, wrist extensors, gluteus maximus, gluteus medius,
  quadriceps, ankle dorsiflexors) "tested unilaterally (potential score 0-80), generally on right
  side (unless cannot be tested on right, then use left side)"; Total MMT (MMT-24) 0-260 = axial
  0-20 (neck flexors, neck extensors) + proximal 0-160 (trapezius, deltoid middle, biceps,
  gluteus maximus, gluteus medius, iliopsoas, hamstrings, quadriceps, both sides) + distal 0-80
  (wrist extensors, wrist flexors, ankle dorsiflexors, ankle plantar flexors, both sides). MMT-8
  chosen by Rider et al., Arthritis Care Res 2010;62:465-472. Bilateral MMT-8 0-150 (7 paired
  groups on both sides + neck flexors once) is a documented inference from the form and ProDERM's
  entry criterion "MMT-8 < 142" (no source states it in words).
- HAQ-DI: Stanford HAQ, 20 items in 8 categories, each 0-3; aids/devices and help per category
  (the aid-to-category map below); LOINC 75874-8 for the ">= 6 categories" convention.
- CHAQ: Singh et al., Arthritis Rheum 1994;37:1761-9 (30 items, same 8 domains); NINDS common data
  elements (CHAQ) for the not-applicable rule.
- CMAS: Huber et al., Arthritis Rheum 2004;50:1595-1603 (0-52). Every item's range and the timed
  bands: IMACS Form 05c, the CMAS scoring sheet (NIEHS, cmas_508.pdf), as transcribed item by item in
  the openEHR archetype ``openEHR-EHR-OBSERVATION.cmas_score.v0`` (Clinical Models UK; CKM 1013.1.3320;
  its references cite Form 05c): 5, 2, 5, 3, 6, 3, 3, 4, 3, 4, 4, 4, 3, 3, total 0-52. The 1999 sheet
  (Lovell et al., Arthritis Rheum 1999;42:2213-2219: "potential range 0-51") scores supine to prone
  0-2, as the UpToDate and MedicalAlgorithms copies print it.
- MYOACT: the MDAAT (IMACS), six organ-system VAS of 0-10 cm.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Kendall 0-10 grade of one muscle group (IMACS Form 04).
KENDALL_MAX = 10

#: The MMT-8 groups, in Form 04's order; all but the neck flexors are tested per side.
MMT8_GROUPS = (
    "neck_flexors",
    "deltoid",
    "biceps",
    "wrist_extensors",
    "gluteus_maximus",
    "gluteus_medius",
    "quadriceps",
    "ankle_dorsiflexors",
)
MMT8_PAIRED = MMT8_GROUPS[1:]
#: The Total MMT (MMT-24) groups beyond the MMT-8 (IMACS Form 04): one axial, four paired.
MMT24_AXIAL_EXTRA = ("neck_extensors",)
MMT24_PAIRED_EXTRA = ("trapezius", "iliopsoas", "hamstrings", "wrist_flexors", "ankle_plantar_flexors")
SIDES = ("right", "left")


def mmt8_column(group: str, side: str | None = None) -> str:
    """Canonical column of an MMT-8 grade: ``mmt8_neck_flexors``, ``mmt8_deltoid_right``."""
    return f"mmt8_{group}" if side is None else f"mmt8_{group}_{side}"


def mmt24_column(group: str, side: str | None = None) -> str:
    """Canonical column of a Total-MMT grade outside the MMT-8: ``mmt24_neck_extensors``, ``mmt24_iliopsoas_left``."""
    return f"mmt24_{group}" if side is None else f"mmt24_{group}_{side}"


MMT8_COLUMNS = (mmt8_column("neck_flexors"), *(mmt8_column(g, s) for g in MMT8_PAIRED for s in SIDES))
MMT24_EXTRA_COLUMNS = (
    *(mmt24_column(g) for g in MMT24_AXIAL_EXTRA),
    *(mmt24_column(g, s) for g in MMT24_PAIRED_EXTRA for s in SIDES),
)
#: The scales an MMT total is on: name -> maximum.
MMT_SCALE_MAX = {"unilateral": 80, "bilateral": 150, "total": 260}
#: Optional text column naming a row's MMT scale (else the ``mmt_scale`` option applies).
MMT_SCALE_COLUMN = "mmt_scale"

#: HAQ-DI categories and their number of items (Stanford HAQ).
HAQ_CATEGORIES = {
    "dressing": 2,
    "arising": 2,
    "eating": 3,
    "walking": 2,
    "hygiene": 3,
    "reach": 2,
    "grip": 3,
    "activities": 3,
}
#: Which aids or devices belong to which category (Stanford HAQ; ``activities`` has help only).
HAQ_AIDS = {
    "dressing": ("devices used for dressing (button hook, zipper pull, long-handled shoe horn)",),
    "arising": ("special or built-up chair",),
    "eating": ("built-up or special utensils",),
    "walking": ("cane", "walker", "crutches", "wheelchair"),
    "hygiene": ("bathtub bar", "bathtub seat", "raised toilet seat", "long-handled appliances in the bathroom"),
    "reach": ("long-handled appliances for reach",),
    "grip": ("jar opener (for jars previously opened)",),
    "activities": (),
}
#: CHAQ domains (the HAQ's eight) and their number of items (Singh et al. 1994: 30 items).
CHAQ_DOMAINS = {
    "dressing": 4,
    "arising": 2,
    "eating": 3,
    "walking": 2,
    "hygiene": 5,
    "reach": 4,
    "grip": 5,
    "activities": 5,
}
HAQ_ITEM_MAX = 3


def questionnaire_columns(prefix: str, categories: dict[str, int]) -> dict[str, tuple[str, ...]]:
    """Item, aid and help columns of a questionnaire, by category (``haq_eating_1``, ``haq_eating_aid``)."""
    return {c: tuple(f"{prefix}_{c}_{i}" for i in range(1, n + 1)) for c, n in categories.items()}


def aid_column(prefix: str, category: str) -> str | None:
    """``haq_walking_aid``; ``None`` for ``activities`` (help only)."""
    return None if category == "activities" else f"{prefix}_{category}_aid"


def help_column(prefix: str, category: str) -> str:
    return f"{prefix}_{category}_help"


@dataclass(frozen=True)
class CmasItem:
    """One CMAS manoeuvre: its number, name, maximum, and whether it may be entered in seconds."""

    number: int
    name: str
    maximum: int
    timed: bool = False
    #: the largest score of the original 1999 sheet (0-51), where it differs from IMACS Form 05c
    maximum_1999_sheet: int | None = None


#: Where every CMAS item's range and band comes from (the kit's rule: the 52-point sheet).
CMAS_SOURCE = (
    "IMACS Form 05c, Childhood Myositis Assessment Scale (CMAS) Scoring Sheet (NIEHS cmas_508.pdf), as "
    "transcribed in the openEHR archetype openEHR-EHR-OBSERVATION.cmas_score.v0 (CKM 1013.1.3320)"
)
#: The 14 CMAS items and their maxima on IMACS Form 05c, the 52-point sheet of the validation
#: (Huber et al. 2004: "a 0-52-point scale"). Supine to prone is 0-3 there and 0-2 on the 1999 sheet
#: (0-51); every other item is the same on both (52 - 51 = the one point of supine to prone).
CMAS_ITEMS = (
    CmasItem(1, "head elevation (neck flexion)", 5, timed=True),
    CmasItem(2, "leg raise / touch object", 2),
    CmasItem(3, "straight leg lift / duration", 5, timed=True),
    CmasItem(4, "supine to prone", 3, maximum_1999_sheet=2),
    CmasItem(5, "sit-ups (six variants, 0/1 each)", 6),
    CmasItem(6, "supine to sit", 3),
    CmasItem(7, "arm raise / straighten", 3),
    CmasItem(8, "arm raise / duration", 4, timed=True),
    CmasItem(9, "floor sit", 3),
    CmasItem(10, "all-fours manoeuvre", 4),
    CmasItem(11, "floor rise", 4),
    CmasItem(12, "chair rise", 4),
    CmasItem(13, "stool step", 3),
    CmasItem(14, "pick-up", 3),
)
CMAS_MAX = 52
#: The total of the 1999 sheet (Lovell et al. 1999), for comparison: the kit scores on the 52-point sheet.
CMAS_1999_MAX = 51
#: Timed CMAS items, seconds -> score: lower edges (inclusive) of scores 1, 2, ... ("unable" = 0 s is 0).
#: Items 1 and 3: 1-9 s 1, 10-29 s 2, 30-59 s 3, 60-119 s 4, >= 2 minutes 5. Item 8 (arm raise duration,
#: 0-4): 1-9 s 1, 10-29 s 2, 30-59 s 3, "more than 60 sec" 4 (Form 05c); the kit reads 60 s as 4, the
#: edge items 1 and 3 use, since the sheet leaves exactly 60 s unnamed.
CMAS_TIMED_BANDS = {1: (1, 10, 30, 60, 120), 3: (1, 10, 30, 60, 120), 8: (1, 10, 30, 60)}
CMAS_SECONDS_MAX = 3600.0  # a plausibility limit of ours


def cmas_column(number: int, seconds: bool = False) -> str:
    return f"cmas_{number}_seconds" if seconds else f"cmas_{number}"


#: MYOACT organ systems (MDAAT), each a physician VAS of 0-10 cm; not assessed = empty.
MYOACT_SYSTEMS = ("constitutional", "cutaneous", "skeletal", "gastrointestinal", "pulmonary", "cardiac")
VAS_MAX_CM = 10.0
MYOACT_MAX = VAS_MAX_CM * len(MYOACT_SYSTEMS)


def myoact_column(system: str) -> str:
    return f"myoact_{system}"


@dataclass(frozen=True)
class ItemColumn:
    """One row of the data dictionary: a canonical item column and what it may hold."""

    column: str
    instrument: str
    item: str
    low: float
    high: float
    whole: bool
    label: str


def _item_columns() -> tuple[ItemColumn, ...]:
    rows = []
    for column in MMT8_COLUMNS:
        group = column.removeprefix("mmt8_")
        rows.append(
            ItemColumn(
                column,
                "mmt8",
                group,
                0,
                KENDALL_MAX,
                True,
                f"MMT-8 {group.replace('_', ' ')}, Kendall grade 0-10 (IMACS Form 04)",
            )
        )
    for column in MMT24_EXTRA_COLUMNS:
        group = column.removeprefix("mmt24_")
        rows.append(
            ItemColumn(
                column,
                "mmt24",
                group,
                0,
                KENDALL_MAX,
                True,
                f"Total MMT {group.replace('_', ' ')}, Kendall grade 0-10 (IMACS Form 04)",
            )
        )
    for prefix, instrument, categories in (("haq", "haq", HAQ_CATEGORIES), ("chaq", "chaq", CHAQ_DOMAINS)):
        name = "HAQ-DI" if prefix == "haq" else "CHAQ"
        for category, items in questionnaire_columns(prefix, categories).items():
            for number, column in enumerate(items, 1):
                rows.append(
                    ItemColumn(
                        column,
                        instrument,
                        f"{category} {number}",
                        0,
                        HAQ_ITEM_MAX,
                        True,
                        f"{name} {category} item {number}: 0 without any difficulty, 1 some, 2 much, 3 unable",
                    )
                )
            aid = aid_column(prefix, category)
            if aid:
                rows.append(
                    ItemColumn(
                        aid,
                        instrument,
                        f"{category} aid",
                        0,
                        1,
                        True,
                        f"{name} {category}: aid or device used (1) or not (0): " + ", ".join(HAQ_AIDS[category]),
                    )
                )
            rows.append(
                ItemColumn(
                    help_column(prefix, category),
                    instrument,
                    f"{category} help",
                    0,
                    1,
                    True,
                    f"{name} {category}: help from another person (1) or not (0)",
                )
            )
    for item in CMAS_ITEMS:
        note = "" if item.maximum_1999_sheet is None else f" (0-{item.maximum_1999_sheet} on the 1999 sheet, 0-51)"
        rows.append(
            ItemColumn(
                cmas_column(item.number),
                "cmas",
                item.name,
                0,
                item.maximum,
                True,
                f"CMAS item {item.number}, {item.name}, 0-{item.maximum}{note}",
            )
        )
        if item.timed:
            rows.append(
                ItemColumn(
                    cmas_column(item.number, True),
                    "cmas",
                    f"{item.name} (seconds)",
                    0,
                    CMAS_SECONDS_MAX,
                    False,
                    f"CMAS item {item.number} in seconds (0 = unable), scored with the sheet's bands",
                )
            )
    for system in MYOACT_SYSTEMS:
        rows.append(
            ItemColumn(
                myoact_column(system),
                "myoact",
                system,
                0,
                VAS_MAX_CM,
                False,
                f"MYOACT {system} activity, VAS 0-10 cm (empty = not assessed)",
            )
        )
    return tuple(rows)


#: Every canonical item column, in data-dictionary order.
ITEM_COLUMNS: tuple[ItemColumn, ...] = _item_columns()
ITEM_COLUMN_NAMES = tuple(c.column for c in ITEM_COLUMNS)
ITEMS_BY_COLUMN = {c.column: c for c in ITEM_COLUMNS}
#: Which core set measure each instrument's items build (two instruments of one measure in one visit is an error).
MEASURE_OF_INSTRUMENT = {"mmt8": "mmt", "mmt24": "mmt", "cmas": "mmt", "haq": "haq", "chaq": "haq", "myoact": "myoact"}
