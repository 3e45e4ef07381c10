"""Real-world visit files: European CSV dialects, encodings, Excel, Parquet and column mappings."""

import codecs

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ivig_kit.errors import VisitTableError
from ivig_kit.resources import data_path
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.mapping import ColumnMapping
from ivig_kit.score.visits import read_visits

HEADER = "site,patient_id,week,physician_global,patient_global,extramuscular,haq,mmt,mmt_max,ck,ck_uln"
ROWS = [
    "Zürich,007,0,5.5,6,3,2.25,60,80,2000,200",
    "Zürich,007,4,3.2,5,2,1.5,66,80,900,200",
    "Zürich,012,0,4,4,1,1,120,150,300,170",
    "Zürich,012,4,4,3.5,1,1,121,150,290,170",
]


def european(rows=ROWS, header=HEADER) -> str:
    """The same table as a German/French Excel exports it: semicolons and decimal commas."""
    return "\n".join([header.replace(",", ";"), *(r.replace(",", ";").replace(".", ",") for r in rows)]) + "\n"


def tis_of(visits) -> list:
    return total_improvement_score(visits, validate=False)["tis"].tolist()


@pytest.fixture
def reference(tmp_path):
    path = tmp_path / "reference.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return read_visits(path)


def test_semicolons_and_decimal_commas_are_detected(tmp_path, reference):
    path = tmp_path / "export.csv"
    path.write_text(european(), encoding="utf-8")
    visits = read_visits(path)
    assert visits["haq"].tolist() == reference["haq"].tolist() == [2.25, 1.5, 1.0, 1.0]
    assert tis_of(visits) == tis_of(reference)


def test_ambiguous_decimal_mark_gets_a_hint(tmp_path):
    text = european().replace("1,5;66", "1.5;66")  # one decimal point among decimal commas
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VisitTableError) as caught:
        read_visits(path)
    assert str(caught.value) == (
        "export.csv: cannot tell the decimal mark: the first rows have both decimal commas "
        "(4 cells) and decimal points (1 cells); pass --decimal , or --decimal ."
    )


def test_a_decimal_point_in_a_decimal_comma_file_is_located_with_a_hint(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(european().replace("1,5;66", "1.5;66"), encoding="utf-8")
    with pytest.raises(VisitTableError) as caught:
        read_visits(path, decimal=",")
    assert str(caught.value) == (
        "export.csv: row 2 (line 3), column 'haq': expected a number (read with decimal "
        "commas; pass --decimal . if the file uses decimal points), got '1.5'"
    )


def test_quoted_decimal_commas_in_a_comma_file_get_a_hint(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("\n".join([HEADER, ROWS[0], ROWS[1].replace(",1.5,", ',"1,5",')]) + "\n", encoding="utf-8")
    with pytest.raises(
        VisitTableError,
        match=r"column 'haq': expected a number \(decimal commas\? pass --decimal ,\), "
        r"got '1,5'$",
    ):
        read_visits(path)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path, reference):
    path = tmp_path / "visits.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + ("\n".join([HEADER, *ROWS]) + "\n").encode("utf-16-le"))
    visits = read_visits(path)
    assert visits["site"].tolist() == ["Zürich"] * 4 and tis_of(visits) == tis_of(reference)


def test_utf16_without_a_byte_order_mark_is_named(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(("\n".join([HEADER, *ROWS]) + "\n").encode("utf-16-le"))
    with pytest.raises(VisitTableError) as caught:
        read_visits(path)
    assert str(caught.value) == (
        "visits.csv: UTF-16 (little-endian) text without a byte-order mark; pass --encoding "
        "utf-16-le or save the table as UTF-8 CSV"
    )
    assert read_visits(path, encoding="utf-16-le")["site"].iloc[0] == "Zürich"


def test_latin1_is_named_and_read_with_the_option(tmp_path, reference):
    path = tmp_path / "visits.csv"
    path.write_bytes(("\n".join([HEADER, *ROWS]) + "\n").encode("latin-1"))
    with pytest.raises(VisitTableError) as caught:
        read_visits(path)
    assert str(caught.value) == (
        "visits.csv: not UTF-8 text: byte 0xFC on line 2 ('Zürich,007,0,5.5,6,3,2.25,60,80,2000,200' if read as "
        "Latin-1/Windows-1252); this looks like a Latin-1 (Windows-1252) export: pass --encoding latin-1, or save "
        "the table as UTF-8 CSV"
    )
    visits = read_visits(path, encoding="latin-1")
    assert visits["site"].iloc[0] == "Zürich" and tis_of(visits) == tis_of(reference)


def test_latin1_beyond_the_first_block_is_named_too(tmp_path):
    filler = [f"A,{i:05d},0,5,6,3,2,60,80,2000,200" for i in range(3000)]  # > 64 KiB of ASCII first
    path = tmp_path / "visits.csv"
    path.write_bytes(("\n".join([HEADER, *filler, ROWS[0]]) + "\n").encode("latin-1"))
    with pytest.raises(VisitTableError, match=r"^visits.csv: not UTF-8 text: byte 0xFC on line 3002 .*Latin-1"):
        read_visits(path)


def test_excel_input_keeps_identifiers_as_text(tmp_path, reference):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    for row in ROWS:
        cells = row.split(",")
        sheet.append(cells[:2] + [float(c) for c in cells[2:]])
    sheet.append([None] * 11)  # a blank row at the end, as spreadsheets have
    workbook.save(tmp_path / "visits.xlsx")
    visits = read_visits(tmp_path / "visits.xlsx")
    assert visits["patient_id"].tolist() == ["007", "007", "012", "012"]
    assert tis_of(visits) == tis_of(reference)


def test_excel_input_errors_are_located_by_sheet_row(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["A", "1", 0, 5, 6, 3, 2, 60, 80, 2000, 200])
    sheet.append(["A", "1", 4, 5, 6, 3, "two", 60, 80, 2000, 200])
    workbook.save(tmp_path / "visits.xlsx")
    with pytest.raises(VisitTableError) as caught:
        read_visits(tmp_path / "visits.xlsx")
    assert str(caught.value) == "visits.xlsx: row 2 (line 3), column 'haq': expected a number, got 'two'"


def test_parquet_integer_identifiers_become_their_digits(tmp_path, reference):
    frame = pd.read_csv(tmp_path / "reference.csv", dtype={"site": str})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "visits.parquet")
    visits = read_visits(tmp_path / "visits.parquet")
    assert visits["patient_id"].tolist() == ["7", "7", "12", "12"]  # an integer id carries no leading zeros
    assert tis_of(visits) == tis_of(reference)


def test_the_example_export_scores_like_the_example_table_through_the_mapping():
    mapping = ColumnMapping.from_yaml(data_path("example_mapping.yaml"))
    export = read_visits(data_path("example_redcap_export.csv"), mapping=mapping)
    kit = read_visits(data_path("example_visits.csv"))
    scored_export = total_improvement_score(export, validate=False)
    scored_kit = total_improvement_score(kit, validate=False)
    assert scored_export["physician_global_percent"].tolist() == scored_kit["physician_global_percent"].tolist()
    pd.testing.assert_series_equal(scored_export["tis"], scored_kit["tis"])
    assert scored_export["site"].tolist() == scored_kit["site"].str.lower().tolist()


def test_a_mapped_column_absent_from_the_file_is_named(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    mapping = ColumnMapping.from_dict({"columns": {"haq_di": "haq"}}, source="m.yaml")
    with pytest.raises(VisitTableError, match=r"^m.yaml: column 'haq_di' \(-> 'haq'\) is not in visits.csv"):
        read_visits(path, mapping=mapping)


def test_mapping_constants_fill_a_missing_scale(tmp_path):
    header = HEADER.replace(",mmt_max", "")
    rows = [",".join(r.split(",")[:8] + r.split(",")[9:]) for r in ROWS[:2]]
    path = tmp_path / "visits.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    visits = read_visits(path, mapping=ColumnMapping.from_dict({"constants": {"mmt_max": 80}}))
    assert visits["mmt_max"].tolist() == [80.0, 80.0]
