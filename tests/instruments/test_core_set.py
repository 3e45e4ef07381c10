"""Item-level input end to end: `ivig-kit core-set` and `ivig-kit tis` on items give the TIS of the totals;
every item problem is located in one pass (exit 2); the example file is what its generator writes."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.cli import main
from ivig_kit.score.core_set import ItemRules, read_core_set
from ivig_kit.tools.item_examples import item_dictionary, item_level_visits

REPO = Path(__file__).resolve().parents[2]
ITEMS = REPO / "data" / "example_items.csv"
TOTALS = REPO / "data" / "pilot_reconstructed_visits.csv"
IDS = {"site": str, "patient_id": str}


def test_committed_examples_equal_a_fresh_generation(tmp_path):
    totals = pd.read_csv(TOTALS, dtype=IDS)
    committed = pd.read_csv(ITEMS, dtype=IDS)
    pd.testing.assert_frame_equal(committed, pd.read_csv(_written(item_level_visits(totals), tmp_path), dtype=IDS))
    dictionary = pd.read_csv(REPO / "data" / "item_dictionary.csv")
    pd.testing.assert_frame_equal(dictionary, pd.read_csv(_written(item_dictionary(), tmp_path)))


def _written(frame, folder):
    path = folder / "fresh.csv"
    frame.to_csv(path, index=False, float_format="%g", lineterminator="\n")
    return path


def test_core_set_then_tis_equals_the_totals_path(tmp_path, capsys):
    visits, from_items, direct, from_totals = (tmp_path / n for n in ("v.csv", "a.csv", "b.csv", "c.csv"))
    assert main(["core-set", str(ITEMS), "--out", str(visits)]) == 0
    assert main(["tis", str(visits), "--out", str(from_items)]) == 0
    assert main(["tis", str(ITEMS), "--out", str(direct)]) == 0
    assert main(["tis", str(TOTALS), "--out", str(from_totals)]) == 0
    a, b, c = (pd.read_csv(p, dtype=IDS) for p in (from_items, direct, from_totals))
    assert c["tis"].notna().sum() == 61
    for column in ("tis", "mmt_points", "haq_points", "imacs_2004_improved"):
        pd.testing.assert_series_equal(a[column], c[column])
        pd.testing.assert_series_equal(b[column], c[column])
    table = pd.read_csv(visits, dtype=IDS)
    assert list(table.columns[:3]) == ["site", "patient_id", "week"]
    assert {"mmt", "mmt_max", "haq", "mmt_rule", "haq_rule"} <= set(table.columns)
    assert (table["mmt_max"] == 260).all() and table["mmt_rule"].str.startswith("Total MMT 0-260").all()
    assert table["haq_rule"].dropna().str.startswith("HAQ-DI: aids/help raise").all()


def test_rule_options_change_the_totals_and_say_so(tmp_path):
    standard = read_core_set(ITEMS)
    adi = read_core_set(ITEMS, rules=ItemRules(haq_aid_rule="adi"))
    assert (adi["haq"] <= standard["haq"]).all() and (adi["haq"] < standard["haq"]).any()
    assert adi["haq_rule"].dropna().str.startswith("HAQ-ADI").all()


def write_items(tmp_path, rows):
    path = tmp_path / "items.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


BASE = {"site": "A", "patient_id": "001", "physician_global": 5.0, "patient_global": 5.0, "extramuscular": 2.0}
GRADES = {
    "mmt8_neck_flexors": 8,
    **{
        f"mmt8_{g}_right": 8
        for g in (
            "deltoid",
            "biceps",
            "wrist_extensors",
            "gluteus_maximus",
            "gluteus_medius",
            "quadriceps",
            "ankle_dorsiflexors",
        )
    },
}


def test_every_item_problem_located_in_one_pass(tmp_path, capsys):
    rows = [
        {**BASE, "week": 0, **GRADES},
        {**BASE, "week": 4, **GRADES, "mmt8_biceps_right": 11},
        {**BASE, "week": 8, **GRADES, "physician_global": 12},
    ]
    rows[0]["cmas_4"] = 4
    rows[1]["haq_eating_1"] = 1.5
    path = write_items(tmp_path, rows)
    assert main(["core-set", str(path), "--out", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "items.csv: row 2 (line 3), column 'mmt8_biceps_right': expected a whole number in 0-10" in err
    assert "row 2 (line 3), column 'haq_eating_1': expected a whole number in 0-3" in err
    assert (
        "row 1 (line 2), column 'cmas_4': expected a whole number in 0-3 (CMAS item 4, supine to prone, 0-3 "
        "(0-2 on the 1999 sheet, 0-51))" in err
    )
    assert "row 1 (line 2), column 'cmas_4': expected items of one instrument for 'mmt'" in err
    assert "row 3 (line 4), column 'physician_global': expected a VAS value in 0-10 cm, got 12" in err
    assert "nothing was scored" in err
    assert not (tmp_path / "v.csv").exists()


def test_cmas_sheets_52_on_form_05c_and_51_at_best_on_the_1999_sheet(tmp_path):
    """A supine-to-prone 3 is Form 05c's best score (no longer refused); a child at the best of the 1999
    sheet (supine to prone 0-2) scores 51 on the kit's 0-52 sheet."""
    from ivig_kit.instruments.items import CMAS_ITEMS

    best = {f"cmas_{i.number}": i.maximum for i in CMAS_ITEMS}
    best_1999 = {f"cmas_{i.number}": i.maximum_1999_sheet or i.maximum for i in CMAS_ITEMS}
    rows = [{**BASE, "week": 0, **best}, {**BASE, "week": 4, **best_1999}]
    visits = read_core_set(write_items(tmp_path, rows))
    assert (rows[0]["cmas_4"], rows[1]["cmas_4"]) == (3, 2)
    assert visits["cmas"].tolist() == [52, 51]


def test_a_total_beside_its_items_is_refused(tmp_path, capsys):
    path = write_items(tmp_path, [{**BASE, "week": 0, **GRADES, "mmt": 64, "mmt_max": 80}])
    assert main(["tis", str(path)]) == 2
    assert "column 'mmt': expected a 'mmt' total or its items on a visit, not both" in capsys.readouterr().err


def test_mapping_maps_an_export_onto_item_columns(tmp_path, capsys):
    """A site's own item names (``grade_1`` ...) scored through --mapping, unchanged."""
    source = {f"grade_{i}": column for i, column in enumerate(GRADES)}
    export = pd.DataFrame(
        [
            {
                "record_id": "001",
                "dag": "A",
                "visit": w,
                "md_vas": 5.0,
                "pt_vas": 5.0,
                "em_vas": 2.0,
                **{name: 8 + (w > 0) for name in source},
            }
            for w in (0, 4)
        ]
    )
    path = tmp_path / "export.csv"
    export.to_csv(path, index=False)
    mapping = tmp_path / "map.yaml"
    lines = [
        "columns:",
        "  record_id: patient_id",
        "  dag: site",
        "  visit: week",
        "  md_vas: physician_global",
        "  pt_vas: patient_global",
        "  em_vas: extramuscular",
        *(f"  {s}: {c}" for s, c in source.items()),
    ]
    mapping.write_text("\n".join(lines) + "\n")
    out = tmp_path / "v.csv"
    assert main(["core-set", str(path), "--mapping", str(mapping), "--out", str(out)]) == 0, capsys.readouterr().err
    table = pd.read_csv(out)
    assert table["mmt"].tolist() == [64, 72] and table["mmt_max"].tolist() == [80, 80]


@pytest.mark.parametrize("option", [["--mmt-scale", "both"], ["--haq-minimum", "5"]])
def test_bad_rule_options_exit_2(tmp_path, option):
    result = subprocess.run(
        [sys.executable, "-m", "ivig_kit.cli", "core-set", str(ITEMS), "--out", str(tmp_path / "v.csv"), *option],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_core_set_has_help():
    result = subprocess.run(
        [sys.executable, "-m", "ivig_kit.cli", "core-set", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "--haq-aid-rule" in result.stdout and "--mmt-scale" in result.stdout


def test_juvenile_items_cmas_in_seconds_and_chaq(tmp_path):
    """CMAS (timed item 1 in seconds) and CHAQ items become cmas and chaq; the TIS picks them as the JDM instruments."""
    from ivig_kit.instruments.items import CHAQ_DOMAINS, CMAS_ITEMS

    rows = []
    for week, better in ((0, 0), (12, 1)):
        row = {
            "site": "J",
            "patient_id": "k1",
            "week": week,
            "physician_global": 5 - 2 * better,
            "parent_global": 6 - 2 * better,
            "extramuscular": 3 - better,
            "ck": [900, 400][better],
            "ck_uln": 200,
            **{f"cmas_{i.number}": max(i.maximum - 2 + better, 0) for i in CMAS_ITEMS if i.number != 1},
            "cmas_1_seconds": [15, 45][better],
            "chaq_walking_aid": 1,
        }
        for domain, n in CHAQ_DOMAINS.items():
            row.update({f"chaq_{domain}_{k}": ([2, 1][better] if k == 1 else 0) for k in range(1, n + 1)})
        rows.append(row)
    visits = read_core_set(write_items(tmp_path, rows))
    # CMAS: items 2-14 at maximum - 2 (or 0) and + 1 at week 12; item 1 from 15 s (2) and 45 s (3)
    assert visits["cmas"].tolist() == [23, 37]
    assert visits["chaq"].tolist() == [2.0, 9 / 8]  # walking's 1 raised to 2 by the aid at week 12
    assert visits["mmt_rule"].str.startswith("CMAS 0-52").all() and visits["haq_rule"].str.startswith("CHAQ").all()
    out = tmp_path / "s.csv"
    assert main(["tis", str(write_items(tmp_path, rows)), "--population", "juvenile", "--out", str(out)]) == 0
    scores = pd.read_csv(out)
    assert (scores["mmt_instrument"].iloc[0], scores["haq_instrument"].iloc[0], scores["tis"].iloc[0]) == (
        "cmas",
        "chaq",
        70.0,
    )
