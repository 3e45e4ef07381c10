"""The lessons of notebook 05 as tables: building the core set from the case report form.

MMT from Kendall grades on three scales, HAQ-DI step by step with aids and help, the rules
calculators disagree on (side by side on one patient, with the TIS each gives), the CMAS items,
MYOACT beside the extramuscular global, and the 2004 IMACS definition against the 2016 TIS.
Everything computes through :mod:`ivig_kit.instruments` and :mod:`ivig_kit.score`; every patient
here is synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.instruments.cmas import timed_item_score
from ivig_kit.instruments.haq import AID_RULES, category_scores, disability_index
from ivig_kit.instruments.items import (
    CMAS_ITEMS,
    CMAS_TIMED_BANDS,
    HAQ_AIDS,
    HAQ_CATEGORIES,
    MMT8_GROUPS,
    MMT8_PAIRED,
    MMT_SCALE_MAX,
    MYOACT_SYSTEMS,
    aid_column,
    help_column,
    mmt8_column,
    myoact_column,
    questionnaire_columns,
)
from ivig_kit.instruments.mmt8 import mmt_total
from ivig_kit.instruments.myoact import myoact_score
from ivig_kit.score.core_set import ItemRules, core_set_from_items
from ivig_kit.score.engine import total_improvement_score

SYNTHETIC = "synthetic teaching patient"
IDS = {"site": "teaching", "patient_id": "05"}


def mmt_scales_table() -> pd.DataFrame:
    """The three MMT totals: groups, sides, maximum, who used it (the pilot 0-260, ProDERM 0-150)."""
    return pd.DataFrame(
        [
            (
                "MMT-8 unilateral",
                "8 (MMT-8)",
                "right; the left where the right cannot be tested",
                MMT_SCALE_MAX["unilateral"],
                "IMACS Form 04",
                "IMACS core set",
            ),
            (
                "MMT-8 bilateral",
                "8 (MMT-8)",
                "both, neck flexors once (7 x 20 + 10)",
                MMT_SCALE_MAX["bilateral"],
                "inference from Form 04 and ProDERM's entry 'MMT-8 < 142'",
                "ProDERM",
            ),
            (
                "Total MMT (MMT-24)",
                "13 (axial 2, proximal 8, distal 4)",
                "both, axial once",
                MMT_SCALE_MAX["total"],
                "IMACS Form 04",
                "the pilot (Kendall MMT, baseline median 211)",
            ),
        ],
        columns=["scale", "muscle groups", "sides", "maximum", "source", "used by"],
    ).set_index("scale")


def example_grades(right: dict | None = None, left: dict | None = None, neck: float = 9.0) -> pd.DataFrame:
    """One visit's MMT-8 grades: right side 8 and left side 7 unless given per group (NaN = not tested)."""
    row = {mmt8_column("neck_flexors"): neck}
    for group in MMT8_PAIRED:
        row[mmt8_column(group, "right")] = (right or {}).get(group, 8.0)
        row[mmt8_column(group, "left")] = (left or {}).get(group, 7.0)
    return pd.DataFrame([row])


def mmt_grades_table(grades: pd.DataFrame) -> pd.DataFrame:
    """The grades of one visit per group and side, and the MMT-8 totals on one and both sides."""
    row = grades.iloc[0]
    table = pd.DataFrame(
        {
            "right": [
                row.get(mmt8_column(g, "right"), np.nan) if g != "neck_flexors" else row[mmt8_column(g)]
                for g in MMT8_GROUPS
            ],
            "left": [row.get(mmt8_column(g, "left"), np.nan) if g != "neck_flexors" else np.nan for g in MMT8_GROUPS],
        },
        index=[g.replace("_", " ") for g in MMT8_GROUPS],
    )
    unilateral, bilateral = mmt_total(grades, "unilateral"), mmt_total(grades, "bilateral")
    table.loc["MMT-8 unilateral (0-80)"] = [unilateral.values[0], np.nan]
    table.loc["MMT-8 bilateral (0-150)"] = [bilateral.values[0], np.nan]
    return table


def one_grade_worth_table() -> pd.DataFrame:
    """What one Kendall grade is worth as an absolute percent of each scale, and MMT points it can earn."""
    rows = []
    for scale, top in MMT_SCALE_MAX.items():
        rows.append(
            {
                "scale": scale,
                "maximum": top,
                "one grade, % of range": round(100 / top, 2),
                "grades for > 2% (first MMT points)": int(np.floor(2 * top / 100)) + 1,
                "grades for > 10% (20 points)": int(np.floor(10 * top / 100)) + 1,
            }
        )
    return pd.DataFrame(rows).set_index("scale")


# --- HAQ ---------------------------------------------------------------------------------------------


def haq_visit(answers: dict[str, tuple], aids=(), helps=()) -> pd.DataFrame:
    """One HAQ visit from ``category -> answers of its items`` (missing categories unanswered) and aids/help."""
    row = {}
    for category, columns in questionnaire_columns("haq", HAQ_CATEGORIES).items():
        for column, value in zip(columns, answers.get(category, ())):
            row[column] = np.nan if value is None else float(value)
        aid = aid_column("haq", category)
        if aid:
            row[aid] = float(category in aids)
        row[help_column("haq", category)] = float(category in helps)
    return pd.DataFrame([row])


#: A synthetic HAQ: walking with a cane, hygiene with a bathtub seat, help to dress; eating answered 0-0-1.
EXAMPLE_HAQ = haq_visit(
    {
        "dressing": (1, 0),
        "arising": (1, 1),
        "eating": (0, 0, 1),
        "walking": (1, 2),
        "hygiene": (0, 1, 0),
        "reach": (1, 0),
        "grip": (0, 1, 1),
        "activities": (1, 0, 0),
    },
    aids=("walking", "hygiene"),
    helps=("dressing",),
)


def haq_step_by_step(visit: pd.DataFrame = EXAMPLE_HAQ) -> pd.DataFrame:
    """Per category: the answers, the highest, aids/help used, and the category score under each aid rule."""
    row = visit.iloc[0]
    rows = []
    scored = {rule: category_scores(visit, aid_rule=rule) for rule in AID_RULES}
    for category, columns in questionnaire_columns("haq", HAQ_CATEGORIES).items():
        answers = [row.get(c, np.nan) for c in columns]
        aid = aid_column("haq", category)
        used = [
            what
            for what, column in (("aid", aid), ("help", help_column("haq", category)))
            if column and row.get(column, 0) == 1
        ]
        rows.append(
            {
                "category": category,
                "answers": " ".join("-" if np.isnan(a) else f"{a:g}" for a in answers),
                "highest": np.nanmax(answers) if not np.isnan(answers).all() else np.nan,
                "aid or help": ", ".join(used) or "",
                **{f"score ({rule})": scored[rule][category][0] for rule in AID_RULES},
            }
        )
    table = pd.DataFrame(rows).set_index("category")
    for rule in AID_RULES:
        table.loc["HAQ index", f"score ({rule})"] = disability_index(visit, rule).values[0]
    return table


def aid_map_table() -> pd.DataFrame:
    """Which aids and devices raise which category (Stanford HAQ)."""
    return pd.DataFrame(
        {"aids or devices": [", ".join(HAQ_AIDS[c]) or "(help from another person only)" for c in HAQ_CATEGORIES]},
        index=list(HAQ_CATEGORIES),
    )


def haq_grid_table() -> pd.DataFrame:
    """How many HAQ values exist between 0 and 3 with 8, 7 or 6 categories answered, and their step."""
    rows = []
    for answered in (8, 7, 6):
        values = {round(k / answered, 9) for k in range(3 * answered + 1)}
        rows.append(
            {
                "categories answered": answered,
                "step": f"1/{answered} = {1 / answered:.4f}",
                "possible values": len(values),
                "on the 1/8 grid": sum(abs(v * 8 - round(v * 8)) < 1e-9 for v in values),
            }
        )
    return pd.DataFrame(rows).set_index("categories answered")


# --- Rules side by side ----------------------------------------------------------------------------


def rules_patient() -> pd.DataFrame:
    """A synthetic patient as items at baseline and week 12: MMT-8 grades on both sides, the 20 HAQ answers
    with aids and help (reach and grip unanswered at week 12), the three VAS and CK."""
    baseline = example_grades(
        right={"deltoid": 6, "gluteus_medius": 5, "quadriceps": 6},
        left={"deltoid": 6, "gluteus_medius": 6, "quadriceps": 6},
        neck=6,
    )
    followup = example_grades(
        right={"deltoid": 8, "wrist_extensors": 9, "gluteus_medius": 7, "quadriceps": 8, "ankle_dorsiflexors": 9},
        left={"deltoid": 7, "gluteus_medius": 7, "quadriceps": 7},
        neck=7,
    )
    haq_baseline = haq_visit(
        {
            "dressing": (1, 1),
            "arising": (2, 1),
            "eating": (1, 0, 0),
            "walking": (1, 1),
            "hygiene": (1, 0, 1),
            "reach": (1, 1),
            "grip": (1, 0, 0),
            "activities": (2, 1, 1),
        },
        aids=("walking", "hygiene", "arising"),
        helps=("activities",),
    )
    haq_followup = haq_visit(
        {
            "dressing": (1, 0),
            "arising": (1, 1),
            "eating": (0, 0, 0),
            "walking": (1, 0),
            "hygiene": (0, 0, 1),
            "reach": (None, None),
            "grip": (None, None, None),
            "activities": (1, 1, 0),
        },
        aids=("walking", "hygiene"),
    )
    visits = pd.concat(
        [pd.concat([baseline, haq_baseline], axis=1), pd.concat([followup, haq_followup], axis=1)], ignore_index=True
    )
    visits.insert(0, "week", [0.0, 12.0])
    visits.insert(0, "patient_id", IDS["patient_id"])
    visits.insert(0, "site", IDS["site"])
    return visits.assign(
        physician_global=[6.0, 4.4],
        patient_global=[6.5, 5.0],
        extramuscular=[3.0, 2.1],
        ck=[2400.0, 1300.0],
        ck_uln=200.0,
        data_source=SYNTHETIC,
    )


#: The rule sets compared: the kit's default first, then one divergence each.
RULE_SETS = {
    "kit default: MMT-8 one side, HAQ-DI standard, / answered, >= 6": ItemRules(),
    "MMT-8 both sides (0-150)": ItemRules(mmt_scale="bilateral"),
    "HAQ-ADI (aids and help ignored)": ItemRules(haq_aid_rule="adi"),
    "HAQ '+1' for an aid (textbook variant)": ItemRules(haq_aid_rule="plus_one"),
    "HAQ always divided by 8 (some calculators)": ItemRules(haq_denominator="eight"),
    "HAQ needs >= 7 categories answered": ItemRules(haq_minimum=7),
}


def rules_side_by_side(visits: pd.DataFrame | None = None, rule_sets: dict | None = None) -> pd.DataFrame:
    """One patient's totals and TIS under each rule set: what a calculator's rule does to the result."""
    visits = rules_patient() if visits is None else visits
    rows = []
    for label, rules in (rule_sets or RULE_SETS).items():
        table = core_set_from_items(visits, rules)
        scores = total_improvement_score(table).iloc[0]
        rows.append(
            {
                "rules": label,
                "MMT baseline": table["mmt"].iloc[0],
                "MMT week 12": table["mmt"].iloc[1],
                "of": table["mmt_max"].iloc[0],
                "MMT points": scores["mmt_points"],
                "HAQ baseline": round(table["haq"].iloc[0], 3),
                "HAQ week 12": round(table["haq"].iloc[1], 3),
                "HAQ points": scores["haq_points"],
                "TIS": scores["tis"],
                "category": scores["category"],
            }
        )
    return pd.DataFrame(rows).set_index("rules")


# --- CMAS and MYOACT -------------------------------------------------------------------------------


def cmas_items_table() -> pd.DataFrame:
    """The 14 CMAS items: range on IMACS Form 05c (0-52), timed or not, and the range on the 1999 sheet (0-51)."""
    return pd.DataFrame(
        [
            {
                "item": i.number,
                "manoeuvre": i.name,
                "range": f"0-{i.maximum}",
                "timed": "yes (seconds allowed)" if i.timed else "",
                "1999 sheet (0-51)": f"0-{i.maximum_1999_sheet}" if i.maximum_1999_sheet else "same",
            }
            for i in CMAS_ITEMS
        ]
    ).set_index("item")


def cmas_timed_bands_table(seconds=(0, 5, 10, 29, 30, 60, 119, 120, 180)) -> pd.DataFrame:
    """Seconds held -> score for the timed items (head elevation, leg lift: 0-5; arm raise duration: 0-4)."""
    return pd.DataFrame(
        {f"item {item}": timed_item_score(item, seconds).astype(int) for item in CMAS_TIMED_BANDS},
        index=pd.Index(seconds, name="seconds"),
    )


def myoact_example() -> pd.DataFrame:
    """A synthetic visit's MYOACT (two systems not assessed) beside its extramuscular global VAS."""
    systems = {
        "constitutional": 1.0,
        "cutaneous": 4.5,
        "skeletal": 0.5,
        "gastrointestinal": np.nan,
        "pulmonary": 2.0,
        "cardiac": np.nan,
    }
    visit = pd.DataFrame([{myoact_column(s): v for s, v in systems.items()}])
    score = myoact_score(visit)
    table = pd.DataFrame({"VAS (cm)": [systems[s] for s in MYOACT_SYSTEMS]}, index=list(MYOACT_SYSTEMS))
    table.loc["MYOACT, sum of the 4 assessed x 6/4 (0-60)"] = score.values[0]
    table.loc["extramuscular global VAS (the TIS measure, 0-10)"] = 3.5
    return table


# --- 2004 against 2016 -----------------------------------------------------------------------------


def disagreeing_patients() -> pd.DataFrame:
    """Two synthetic patients on whom the 2004 definition and the 2016 TIS disagree, one each way.

    A: large absolute improvements but MMT-8 falls by over a quarter of its baseline (the 2004 veto;
    the TIS scores worsening 0 and goes on). B: low baselines, so small absolute changes are large
    relative ones: three measures improve by >= 20% of baseline, but by under 5% of their range.
    """
    rows = [
        ("A", 0, 6.0, 6.0, 4.0, 1.5, 60, 1000),
        ("A", 12, 3.0, 4.0, 2.0, 1.2, 44, 600),
        ("B", 0, 1.0, 1.5, 0.5, 0.25, 76, 220),
        ("B", 12, 0.7, 1.1, 0.3, 0.25, 76, 210),
    ]
    visits = pd.DataFrame(
        rows, columns=["patient_id", "week", "physician_global", "patient_global", "extramuscular", "haq", "mmt", "ck"]
    )
    return visits.assign(site="teaching", mmt_max=80.0, ck_uln=200.0, data_source=SYNTHETIC)


def doi_versus_tis(visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per follow-up visit: the TIS and its category beside the 2004 definition and its counts."""
    from ivig_kit.score.improvement_2004 import improvement_2004

    visits = disagreeing_patients() if visits is None else visits
    scores = total_improvement_score(visits)
    measures = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")
    base = visits.sort_values("week").groupby("patient_id").first()
    follow = visits.sort_values("week").groupby("patient_id").last()
    columns = {m: ("ck" if m == "enzyme" else m) for m in measures}
    decided = improvement_2004(
        {m: base[c].to_numpy(float) for m, c in columns.items()},
        {m: follow[c].to_numpy(float) for m, c in columns.items()},
    )
    return pd.DataFrame(
        {
            "TIS": scores.set_index("patient_id")["tis"],
            "category": scores.set_index("patient_id")["category"],
            "2004 improved": scores.set_index("patient_id")["imacs_2004_improved"],
            "improved >= 20% of baseline": decided.n_improved,
            "worse >= 25%": decided.n_worse,
            "MMT worse (veto)": decided.mmt_worse,
        },
        index=base.index,
    )


def relative_and_absolute_table(visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each measure's change as % of baseline (2004) and % of range (2016) for each patient."""
    visits = disagreeing_patients() if visits is None else visits
    ranges = {"physician_global": 10, "patient_global": 10, "extramuscular": 10, "haq": 3, "mmt": 80}
    rows = []
    for patient, group in visits.sort_values("week").groupby("patient_id"):
        first, last = group.iloc[0], group.iloc[-1]
        for measure, top in {**ranges, "ck": None}.items():
            change = (last[measure] - first[measure]) if measure == "mmt" else (first[measure] - last[measure])
            rows.append(
                {
                    "patient": patient,
                    "measure": measure,
                    "baseline": first[measure],
                    "week 12": last[measure],
                    "% of baseline": round(100 * change / first[measure], 1),
                    "% of range": round(100 * change / (top or first[measure]), 1),
                }
            )
    return pd.DataFrame(rows).set_index(["patient", "measure"])
