"""Spreadsheets and columnar files read with a bounded cost; NUL bytes located; identifiers NFKC-normalised."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ivig_kit.errors import VisitTableError
from ivig_kit.score.readers import ReadOptions
from ivig_kit.score.spreadsheets import ReadLimits
from ivig_kit.score.visits import read_visits

from .xlsx_bombs import small_workbook, sparse_dimension_workbook, xlsx_bomb

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "example_visits.csv"


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A 2 GB sheet of XML in a few MB of .xlsx."""
    return xlsx_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", sheet_mb=2048)


def measured(path: Path, env: dict | None = None) -> dict:
    """Read ``path`` in a fresh process; the message, seconds and the peak memory the reading added (MB)."""
    script = textwrap.dedent(f"""
        import json, re, time
        from ivig_kit.score.visits import read_visits
        def peak():
            return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
        def rss():
            return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
        import openpyxl, pyarrow.parquet
        before = rss()
        started = time.perf_counter()
        try:
            read_visits({str(path)!r})
            message = ""
        except Exception as error:
            message = type(error).__name__ + ": " + str(error)
        print(json.dumps({{"seconds": time.perf_counter() - started, "added_mb": peak() - before,
                          "message": message}}))
    """)
    import os

    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_xlsx_bomb_is_refused_in_under_2_s_and_200_mb_naming_the_cap(bomb):
    assert bomb.stat().st_size < 20_000_000
    result = measured(bomb)
    assert result["seconds"] < 2 and result["added_mb"] < 200
    assert result["message"].startswith(
        "VisitTableError: bomb.xlsx: the workbook is 2,147 MB once uncompressed, "
        "over the cap of 256 MB; if the file is genuine, raise it with "
        "IVIG_KIT_MAX_UNCOMPRESSED_MB=2048"
    )


def test_a_compression_ratio_over_the_cap_is_refused_before_parsing(bomb):
    result = measured(bomb, {"IVIG_KIT_MAX_UNCOMPRESSED_MB": "4096"})
    assert result["seconds"] < 2 and result["added_mb"] < 200
    assert "xl/worksheets/sheet1.xml is compressed" in result["message"]
    assert "over the cap of 100 to 1" in result["message"] and "IVIG_KIT_MAX_XLSX_RATIO=" in result["message"]


def test_a_bogus_declared_dimension_costs_nothing(tmp_path):
    path = sparse_dimension_workbook(tmp_path / "sparse.xlsx", empty_rows=200_000)
    result = measured(path)
    assert result["message"] == "" and result["seconds"] < 5 and result["added_mb"] < 200  # was 62 s
    visits = read_visits(path)
    assert list(visits["week"]) == [0.0, 4.0]


def test_data_after_a_long_gap_of_empty_rows_is_still_read(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    header = [
        "site",
        "patient_id",
        "week",
        "physician_global",
        "patient_global",
        "extramuscular",
        "haq",
        "mmt",
        "mmt_max",
    ]
    sheet.append(header)
    sheet.append(["A", "001", 0, 6, 7, 3, 1.8, 110, 150])
    for column, value in enumerate(["A", "001", 4, 4, 5, 2, 1.5, 121, 150], start=1):
        sheet.cell(row=5000, column=column, value=value)
    workbook.save(tmp_path / "gap.xlsx")
    visits = read_visits(tmp_path / "gap.xlsx")
    assert list(visits["week"]) == [0.0, 4.0]


def test_row_and_column_caps_name_themselves(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["site", "patient_id", "week"])
    sheet.append(["A", "1", 0])
    sheet.cell(row=3, column=2000, value="far")
    workbook.save(tmp_path / "wide.xlsx")
    with pytest.raises(
        VisitTableError,
        match=r"row 3: a cell in column 2,000, over the cap of 1,000 columns; .*"
        r"IVIG_KIT_MAX_COLUMNS=2000",
    ):
        read_visits(tmp_path / "wide.xlsx")
    with pytest.raises(VisitTableError, match="more than 2 rows, over the cap of 2 rows"):
        read_visits(tmp_path / "wide.xlsx", ReadOptions(limits=ReadLimits(max_rows=2)))


def test_parquet_metadata_is_checked_before_the_data(tmp_path):
    frame = pd.read_csv(EXAMPLE, dtype={"site": str, "patient_id": str})
    frame.to_parquet(tmp_path / "v.parquet", index=False)
    with pytest.raises(VisitTableError, match=r"v.parquet: \d+ rows, over the cap of 3 rows; .*IVIG_KIT_MAX_ROWS="):
        read_visits(tmp_path / "v.parquet", ReadOptions(limits=ReadLimits(max_rows=3)))


def test_a_nested_parquet_column_gets_a_located_message(tmp_path):
    frame = pd.read_csv(EXAMPLE, dtype={"site": str, "patient_id": str})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    nested = table.set_column(table.schema.get_field_index("haq"), "haq", pa.array([{"value": 1.0}] * len(frame)))
    pq.write_table(nested, tmp_path / "struct.parquet")
    with pytest.raises(
        VisitTableError,
        match=r"^struct.parquet: column 'haq' \(position 7\) is a nested Parquet "
        r"type \(struct<value: double>\); expected one number or text per cell",
    ):
        read_visits(tmp_path / "struct.parquet")
    extra = table.append_column("notes", pa.array([[1, 2]] * len(frame)))
    pq.write_table(extra, tmp_path / "list.parquet")
    visits = read_visits(tmp_path / "list.parquet")
    assert "notes" not in visits.columns
    assert visits.attrs["read_notes"] == [
        "list.parquet: column 'notes' is a nested Parquet type (list<element: int64>); not a kit column, left out"
    ]
    binary = table.set_column(0, "site", pa.array([b"\xff\xfe"] * len(frame), pa.binary()))
    pq.write_table(binary, tmp_path / "binary.parquet")
    with pytest.raises(VisitTableError, match=r"^binary.parquet: column 'site' \(type binary\) cannot be read"):
        read_visits(tmp_path / "binary.parquet")


def csv_with(tmp_path, line: int, column: str, value: str) -> Path:
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = value
    path = tmp_path / "v.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_nul_byte_in_free_text_affects_that_cell_only(tmp_path):
    visits = read_visits(csv_with(tmp_path, 5, "subtype", "D\x00M"))
    assert visits.attrs["read_notes"] == [
        "v.csv: row 4 (line 5), column 'subtype': a NUL byte, replaced by U+FFFD in that cell only"
    ]
    assert visits["subtype"].iloc[3] == "D\ufffdM" and visits["subtype"].iloc[2] == "DM"


@pytest.mark.parametrize(
    "column, expected",
    [
        ("patient_id", "row 4 (line 5), column 'patient_id': expected an identifier without invisible"),
        ("haq", "row 4 (line 5), column 'haq': expected a number, got '1\\x005'"),
    ],
)
def test_a_nul_byte_in_a_kit_column_is_located(tmp_path, column, expected):
    with pytest.raises(VisitTableError) as caught:
        read_visits(csv_with(tmp_path, 5, column, "1\x005"))
    assert expected in str(caught.value)


def test_full_width_digits_are_the_same_patient(tmp_path):
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    first = frame[frame["patient_id"] == "001"].copy()
    first.loc[first.index[1:], "patient_id"] = "\uff10\uff10\uff11"  # "００１"
    first.to_csv(tmp_path / "v.csv", index=False)
    visits = read_visits(tmp_path / "v.csv")
    assert set(visits["patient_id"]) == {"001"} and visits.attrs["n_patients"] == 1


def test_the_workbook_helpers_build_what_openpyxl_reads(tmp_path):
    members = small_workbook()
    assert "xl/worksheets/sheet1.xml" in members
