"""Reading and validating the visit table: every bad input gets one located message."""

import pandas as pd
import pytest

from ivig_kit.errors import VisitTableError
from ivig_kit.score.visits import read_visits

HEADER = "site,patient_id,week,physician_global,patient_global,extramuscular,haq,mmt,mmt_max,ck,ck_uln"
GOOD_ROWS = ["A,007,0,5,6,3,2,60,80,2000,200", "A,007,4,3,5,2,1.5,66,80,900,200",
             "B,12,0,4,4,1,1,120,150,300,170"]


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


def test_missing_required_column(tmp_path):
    header = HEADER.replace(",haq", "")
    rows = [",".join(r.split(",")[:6] + r.split(",")[7:]) for r in GOOD_ROWS]
    message = rejection(tmp_path, rows, header)
    assert message == ("visits.csv: missing required column(s) 'haq'; expected site, patient_id, week, "
                       "physician_global, patient_global, extramuscular, haq, mmt, mmt_max and enzymes with their ULN")


def test_non_numeric_value(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,five,2,1.5,66,80,900,200"]
    assert rejection(tmp_path, rows) == ("visits.csv: row 2 (line 3), column 'patient_global': "
                                         "expected a number, got 'five'")


@pytest.mark.parametrize("column, value, expected", [
    ("physician_global", "11", "expected a VAS value in 0-10 cm, got 11"),
    ("haq", "-1", "expected a HAQ score in 0-3, got -1"),
    ("week", "-4", "expected a week >= 0, got -4"),
])
def test_value_out_of_range(tmp_path, column, value, expected):
    position = HEADER.split(",").index(column)
    cells = GOOD_ROWS[1].split(",")
    cells[position] = value
    message = rejection(tmp_path, [GOOD_ROWS[0], ",".join(cells)])
    assert message == f"visits.csv: row 2 (line 3), column {column!r}: {expected}"


def test_mmt_above_its_scale_maximum(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,90,80,900,200"]
    assert rejection(tmp_path, rows) == ("visits.csv: row 2 (line 3), column 'mmt': expected an MMT score "
                                         "<= mmt_max, got 90 with mmt_max 80")


def test_duplicate_patient_week(tmp_path):
    rows = GOOD_ROWS + ["A,007,4,3,5,2,1.5,66,80,900,200"]
    message = rejection(tmp_path, rows)
    assert message.startswith("visits.csv: rows 2 and 4 (lines 3 and 5), columns 'site', 'patient_id', "
                              "'week': duplicate visit (site 'A', patient '007', week 4)")


def test_mmt_max_changing_within_patient(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,150,900,200"]
    message = rejection(tmp_path, rows)
    assert message == ("visits.csv: rows 1 and 2 (lines 2 and 3), column 'mmt_max': changes within "
                       "patient '007' of site 'A' (80, 150); expected one MMT scale per patient")


def test_enzyme_without_uln_column(tmp_path):
    header = HEADER + ",aldolase"
    rows = [r + ",8" for r in GOOD_ROWS]
    assert rejection(tmp_path, rows, header) == ("visits.csv: column 'aldolase' has no 'aldolase_uln' column; "
                                                 "each enzyme needs its upper limit of normal")


def test_enzyme_value_without_uln_on_its_row(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,80,900,"]
    assert rejection(tmp_path, rows) == ("visits.csv: row 2 (line 3), column 'ck_uln': expected the ULN of the "
                                         "'ck' value on the same row, got an empty cell")


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
    assert message == ("visits.csv: rows 2, 3, 4 and 3 more (lines 3, 4, 5 and 3 more), "
                       "column 'haq': expected a HAQ score in 0-3, got 4")


def test_empty_cells_are_missing_csms_not_errors(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,,2,1.5,66,80,900,200"]
    visits = read_visits(write_csv(tmp_path, rows))
    assert visits["patient_global"].isna().sum() == 1


def test_row_with_too_many_fields(tmp_path):
    rows = GOOD_ROWS[:1] + ["A,007,4,3,5,2,1.5,66,80,900,200,extra,cells"]
    with pytest.raises(VisitTableError, match=r"^visits.csv: not a well-formed CSV table \(.*line 3, saw 13"):
        read_visits(write_csv(tmp_path, rows))
