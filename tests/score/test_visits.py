"""Reading and validating the visit table: every problem located, all of them in one pass."""

import numpy as np
import pandas as pd
import pytest

from ivig_kit.errors import VisitTableError
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.measures import (
    ENZYME_ULN_MAX,
    ENZYME_VALUE_MAX,
    MMT_MAX_LIMIT,
    WEEK_MAX,
)
from ivig_kit.score.visits import read_visits, validate_visits

HEADER = "site,patient_id,week,physician_global,patient_global,extramuscular,haq,mmt,mmt_max,ck,ck_uln"
GOOD_ROWS = ["A,007,0,5,6,3,2,60,80,2000,200", "A,007,4,3,5,2,1.5,66,80,900,200", "B,12,0,4,4,1,1,120,150,300,170"]


def write_csv(tmp_path, rows, header=HEADER, name="visits.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def rejection(tmp_path, rows, header=HEADER) -> str:
    with pytest.raises(VisitTableError) as caught:
        read_visits(write_csv(tmp_path, rows, header))
    return str(caught.value)


def test_reads_good_csv_with_ids_as_strings(tmp_path):
    visits = read_visits(write_csv(tmp_path, GOOD_ROWS))
    assert visits["patient_id"].tolist() == ["007", "007", "12"]
    assert visits["haq"].dtype == float


def test_reads_csv_with_bom(tmp_path):
    visits = read_visits(write_csv(tmp_path, GOOD_ROWS, encoding="utf-8-sig"))
    assert "site" in visits.columns and visits["site"].iloc[0] == "A"


def test_reads_parquet_and_keeps_string_ids(tmp_path):
    frame = pd.read_csv(write_csv(tmp_path, GOOD_ROWS), dtype={"site": str, "patient_id": str})
    frame.to_parquet(tmp_path / "visits.parquet")
    visits = read_visits(tmp_path / "visits.parquet")
    assert visits["patient_id"].tolist() == ["007", "007", "12"]


def test_optional_columns_pass_through(tmp_path):
    rows = [r + ",IVIg" for r in GOOD_ROWS]
    visits = read_visits(write_csv(tmp_path, rows, HEADER + ",arm"))
    assert visits["arm"].tolist() == ["IVIg"] * 3


def test_missing_identifying_column(tmp_path):
    header = HEADER.replace(",week", "")
    rows = [",".join(r.split(",")[:2] + r.split(",")[3:]) for r in GOOD_ROWS]
    message = rejection(tmp_path, rows, header)
    assert message == (
        "visits.csv: missing required column(s) 'week'; expected site, patient_id, week and the "
        "core set measures (data/README.md)"
    )


def test_absent_measure_column_makes_the_measure_missing_not_the_table_rejected(tmp_path):
    header = HEADER.replace(",haq", "")
    rows = [",".join(r.split(",")[:6] + r.split(",")[7:]) for r in GOOD_ROWS]
    visits = read_visits(write_csv(tmp_path, rows, header))
    assert visits.attrs["absent_measures"] == ["haq"] and visits["haq"].isna().all()
    scores = total_improvement_score(visits, validate=False)
    assert scores["haq_missing"].all() and scores["tis"].isna().all()
    assert (
        scores["points_of_scored_measures"].iloc[0]
        == scores[
            ["physician_global_points", "patient_global_points", "mmt_points", "enzyme_points", "extramuscular_points"]
        ]
        .iloc[0]
        .sum()
    )


def test_a_table_without_any_enzyme_column_is_scored_with_the_enzyme_missing(tmp_path):
    header = HEADER.replace(",ck,ck_uln", "")
    rows = [",".join(r.split(",")[:9]) for r in GOOD_ROWS]
    scores = total_improvement_score(read_visits(write_csv(tmp_path, rows, header)), validate=False)
    assert scores["enzyme_missing"].all() and scores["enzyme_points"].isna().all()
    assert scores["physician_global_points"].iloc[0] == 15.0  # 5 -> 3 cm: 20% of the range


def test_a_table_with_none_of_the_six_measures_is_rejected(tmp_path):
    message = rejection(tmp_path, ["A,007,0", "A,007,4"], "site,patient_id,week")
    assert message == (
        "visits.csv: none of the six core set measures has a column; expected physician_global, "
        "patient_global, extramuscular, haq, mmt with mmt_max, or an enzyme (ck, aldolase, alt, ast, "
        "ldh) with its _uln"
    )


def test_non_numeric_value(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,five,2,1.5,66,80,900,200"]
    assert rejection(tmp_path, rows) == (
        "visits.csv: row 2 (line 3), column 'patient_global': expected a number, got 'five'"
    )


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("physician_global", "11", "expected a VAS value in 0-10 cm, got 11"),
        ("haq", "-1", "expected a HAQ score in 0-3, got -1"),
        ("week", "-4", "expected a week in 0-2600, got -4"),
    ],
)
def test_value_out_of_range(tmp_path, column, value, expected):
    position = HEADER.split(",").index(column)
    cells = GOOD_ROWS[1].split(",")
    cells[position] = value
    message = rejection(tmp_path, [GOOD_ROWS[0], ",".join(cells)])
    assert message == f"visits.csv: row 2 (line 3), column {column!r}: {expected}"


def test_mmt_above_its_scale_maximum(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,90,80,900,200"]
    assert rejection(tmp_path, rows) == (
        "visits.csv: row 2 (line 3), column 'mmt': expected an MMT score <= mmt_max, got 90 with mmt_max 80"
    )


def test_duplicate_patient_week(tmp_path):
    rows = GOOD_ROWS + ["A,007,4,3,5,2,1.5,66,80,900,200"]
    message = rejection(tmp_path, rows)
    assert message.startswith(
        "visits.csv: rows 2 and 4 (lines 3 and 5), columns 'site', 'patient_id', "
        "'week': duplicate visit (site 'A', patient '007', week 4)"
    )


def test_mmt_max_changing_within_patient(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,150,900,200"]
    message = rejection(tmp_path, rows)
    assert message == (
        "visits.csv: rows 1 and 2 (lines 2 and 3), column 'mmt_max': changes within "
        "patient '007' of site 'A' (80, 150); expected one MMT scale per patient"
    )


def test_enzyme_without_uln_column(tmp_path):
    header = HEADER + ",aldolase"
    rows = [r + ",8" for r in GOOD_ROWS]
    assert rejection(tmp_path, rows, header) == (
        "visits.csv: column 'aldolase' has no 'aldolase_uln' column; each enzyme needs its upper limit of normal"
    )


def test_enzyme_value_without_uln_on_its_row(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,80,900,"]
    assert rejection(tmp_path, rows) == (
        "visits.csv: row 2 (line 3), column 'ck_uln': expected the ULN of the "
        "'ck' value on the same row, got an empty cell"
    )


def test_empty_file(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(b"")
    with pytest.raises(VisitTableError, match=r"^visits.csv: the file is empty"):
        read_visits(path)


def test_header_only(tmp_path):
    with pytest.raises(VisitTableError, match=r"^visits.csv: no visits"):
        read_visits(write_csv(tmp_path, []))


def test_file_that_is_not_a_table(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(VisitTableError, match=r"^visits.csv: not a CSV table \(binary content\)"):
        read_visits(path)


def test_ragged_text_is_not_a_table(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("Dear colleague,\nplease find the data attached, as discussed, on Monday\n")
    with pytest.raises(VisitTableError, match=r"^visits.csv: not a visit table: its header \('Dear colleague'"):
        read_visits(path)


def test_missing_file(tmp_path):
    with pytest.raises(VisitTableError, match="file not found"):
        read_visits(tmp_path / "nowhere.csv")


def test_many_bad_rows_are_summarised_on_one_line(tmp_path):
    rows = GOOD_ROWS[:1] + [f"A,007,{w},3,5,2,4,66,80,900,200" for w in range(1, 7)]
    message = rejection(tmp_path, rows)
    assert "\n" not in message
    assert message == (
        "visits.csv: rows 2, 3, 4 and 3 more (lines 3, 4, 5 and 3 more), "
        "column 'haq': expected a HAQ score in 0-3, got 4"
    )


def test_empty_cells_are_missing_csms_not_errors(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,,2,1.5,66,80,900,200"]
    visits = read_visits(write_csv(tmp_path, rows))
    assert visits["patient_global"].isna().sum() == 1


def test_row_with_too_many_fields(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,80,900,200,extra,cells"]
    assert rejection(tmp_path, rows) == (
        "visits.csv: not a well-formed CSV table: the header has 11 fields but line 3 has 13"
    )


def test_a_trailing_comma_on_every_row_is_named_not_blamed_on_a_column(tmp_path):
    rows = [r + "," for r in GOOD_ROWS]
    assert rejection(tmp_path, rows) == (
        "visits.csv: not a well-formed CSV table: the header has 11 fields but line 2 has 12, line 3 has 12, "
        "line 4 has 12; every such row ends with an extra empty field (a trailing comma): remove it or name "
        "the column"
    )


def test_a_trailing_comma_on_every_line_header_included_is_harmless(tmp_path):
    visits = read_visits(write_csv(tmp_path, [r + "," for r in GOOD_ROWS], HEADER + ","))
    assert list(visits.columns[:11]) == HEADER.split(",") and "" not in visits.columns


def test_duplicate_column_names_are_rejected(tmp_path):
    rows = [r + ",2" for r in GOOD_ROWS]
    assert rejection(tmp_path, rows, HEADER + ",haq").splitlines()[0] == (
        "visits.csv: column 'haq' appears 2 times (columns 7, 12); expected each column once"
    )


def test_every_error_is_reported_in_one_pass(tmp_path):
    rows = [
        "A,007,0,5,6,3,2,60,80,2000,200",
        "A,007,-1,5,6,3,2,60,80,2000,200",  # week -1
        "A,007,4,12,6,3,2,60,80,2000,200",  # VAS 12
        "A,007,8,5,6,3,4,60,80,2000,200",  # HAQ 4
        "A,007,12,5,6,3,2,90,80,2000,200",  # MMT above its maximum
        "A,007,16,5,6,3,2,60,80,2000,",  # CK without ULN
        "A,007,20,5,six,3,2,60,80,2000,200",  # not a number
    ]
    lines = rejection(tmp_path, rows).splitlines()
    assert lines == [
        "visits.csv: row 2 (line 3), column 'week': expected a week in 0-2600, got -1",
        "visits.csv: row 3 (line 4), column 'physician_global': expected a VAS value in 0-10 cm, got 12",
        "visits.csv: row 7 (line 8), column 'patient_global': expected a number, got 'six'",
        "visits.csv: row 4 (line 5), column 'haq': expected a HAQ score in 0-3, got 4",
        "visits.csv: row 5 (line 6), column 'mmt': expected an MMT score <= mmt_max, got 90 with mmt_max 80",
        "visits.csv: row 6 (line 7), column 'ck_uln': expected the ULN of the 'ck' value on the same row, "
        "got an empty cell",
        "visits.csv: 6 problems (6 cells or rows); nothing was scored",
    ]


def test_problems_are_capped_with_the_total_count(monkeypatch):
    monkeypatch.setattr("ivig_kit.score.problem_report.MAX_PROBLEM_LINES", 5)
    columns = ["physician_global", "patient_global", "extramuscular", "haq", "mmt", "mmt_max", "ck", "ck_uln"]
    frame = pd.DataFrame(
        {
            "site": ["A"] * 4,
            "patient_id": ["1"] * 4,
            "week": [0, 1, 2, 3],
            **{c: ["x"] * 4 for c in columns},
            **{f"{e}": [-1.0] * 4 for e in ["aldolase", "alt", "ast", "ldh"]},
            **{f"{e}_uln": [np.inf] * 4 for e in ["aldolase", "alt", "ast", "ldh"]},
        }
    )
    with pytest.raises(VisitTableError) as caught:
        validate_visits(frame, source="wide.csv", line_offset=2)
    lines = str(caught.value).splitlines()
    assert len(lines) == 5 + 2
    assert lines[0] == (
        "wide.csv: rows 1, 2, 3 and 1 more (lines 2, 3, 4 and 1 more), column 'physician_global': "
        "expected a number, got 'x'"
    )
    assert lines[-2] == "wide.csv: ... and 11 more kinds of problem"
    assert lines[-1] == "wide.csv: 16 problems (64 cells or rows); nothing was scored"


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("ck", "inf", "expected a finite number, got inf"),
        ("ck", "1e12", f"expected a CK value in 0-{ENZYME_VALUE_MAX:,.0f} U/l, got 1000000000000"),
        ("ck_uln", "0", f"expected an upper limit of normal > 0 and <= {ENZYME_ULN_MAX:,.0f}, got 0"),
        ("ck_uln", "1e9", f"expected an upper limit of normal > 0 and <= {ENZYME_ULN_MAX:,.0f}, got 1000000000"),
        ("mmt_max", "inf", "expected a finite number, got inf"),
        ("mmt_max", "5000", f"expected the MMT scale maximum (e.g. 80, 150, 260), in 1-{MMT_MAX_LIMIT:g}, got 5000"),
        ("week", "1e6", f"expected a week in 0-{WEEK_MAX:g}, got 1000000"),
        ("haq", "-inf", "expected a finite number, got -inf"),
    ],
)
def test_bounds_on_every_numeric_column(tmp_path, column, value, expected):
    position = HEADER.split(",").index(column)
    rows = [r.split(",") for r in GOOD_ROWS[:2]]
    rows[1][position] = value
    if column == "mmt_max":
        rows[0][position] = value  # one scale per patient
    message = rejection(tmp_path, [",".join(r) for r in rows])
    assert f"column {column!r}: {expected}" in message.splitlines()[-2 if "\n" in message else 0]


def test_lines_count_quoted_multi_line_fields(tmp_path):
    rows = ['A,007,0,5,6,3,2,60,80,2000,200,"first line\nsecond line"', "A,007,4,3,5,2,9,66,80,900,200,ok"]
    message = rejection(tmp_path, rows, HEADER + ",note")
    assert message == "visits.csv: row 2 (line 4), column 'haq': expected a HAQ score in 0-3, got 9"


def test_vas_in_mm_gets_a_hint_and_is_read_with_the_option(tmp_path):
    rows = ["A,007,0,50,60,30,2,60,80,2000,200", "A,007,4,30,50,20,1.5,66,80,900,200"]
    assert rejection(tmp_path, rows).splitlines()[0] == (
        "visits.csv: rows 1 and 2 (lines 2 and 3), column 'physician_global': expected a VAS value in 0-10 cm, "
        "got 50; most values are above 10: if the VAS was recorded in mm (0-100), pass --vas-unit mm"
    )


def test_vas_in_mm_is_read_with_the_option(tmp_path):
    rows = ["A,007,0,50,60,30,2,60,80,2000,200", "A,007,4,30,50,20,1.5,66,80,900,200"]
    visits = read_visits(write_csv(tmp_path, rows), vas_unit="mm")
    assert visits["physician_global"].tolist() == [5.0, 3.0]


def test_lines_count_blank_lines_that_rows_skip(tmp_path):
    rows = ["", GOOD_ROWS[0], "", "A,007,4,3,5,2,9,66,80,900,200"]
    assert rejection(tmp_path, rows) == "visits.csv: row 2 (line 5), column 'haq': expected a HAQ score in 0-3, got 9"


def test_duplicates_are_found_in_a_table_already_sorted_by_patient_and_week(tmp_path):
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1], GOOD_ROWS[2]]
    assert rejection(tmp_path, rows).startswith(
        "visits.csv: rows 2 and 3 (lines 3 and 4), columns 'site', 'patient_id', 'week': duplicate visit"
    )


def test_a_haq_value_no_haq_di_takes_is_a_warning_not_an_error():
    visits = pd.DataFrame(
        {
            "site": "A",
            "patient_id": ["1", "1", "2", "2"],
            "week": [0, 4, 0, 4],
            "physician_global": 3.0,
            "patient_global": 5.0,
            "extramuscular": 1.0,
            "haq": [1.8, 1.63, 0.9, 10 / 7],
            "mmt": 120,
            "mmt_max": 150,
            "ck": 400,
            "ck_uln": 200,
        }
    )
    typed = validate_visits(visits, source="v.csv")
    notes = typed.attrs["read_notes"]
    assert len(notes) == 1 and notes[0].startswith("v.csv: rows 1 and 3, column 'haq': 1.8, 0.9: no HAQ-DI")
    assert "1/8, 1/7 or 1/6" in notes[0] and "scored as given" in notes[0]
    assert typed["haq"].tolist()[:2] == [1.8, 1.63]  # kept as given, and scored
    assert len(total_improvement_score(visits)) == 2


@pytest.mark.parametrize("name, column", [("example_visits.csv", "haq"), ("example_redcap_export.csv", "haq_di")])
def test_the_example_files_put_every_haq_on_the_haq_di_grid(name, column):
    from pathlib import Path

    from ivig_kit.score.measures import off_haq_di_grid

    values = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / name)[column]
    assert not off_haq_di_grid(values).any() and (values * 8 == (values * 8).round()).all()


def test_the_teaching_patients_put_every_haq_on_the_grid():
    from ivig_kit.score.measures import off_haq_di_grid
    from ivig_kit.teaching import patients

    for name in ("RESPONDER", "EDGE_PATIENT", "CMAS_PATIENT", "PRINTO_PATIENT", "MEDIAN_PATIENT"):
        patient = getattr(patients, name)
        values = [patient.baseline["haq"], patient.followup["haq"]]
        assert not off_haq_di_grid(values).any(), (name, values)
