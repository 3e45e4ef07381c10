"""The files the kit reads and writes, by suffix: one home for the names the readers, the writers and the command
line's help share (a module without pandas or pyarrow, so that ``ivig-kit --help`` and the start of
``ivig-kit reports`` do not wait for them)."""

from __future__ import annotations

#: Visit tables read as CSV (separator and encoding detected).
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
#: Visit tables read as Parquet.
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Visit tables read as Excel workbooks.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Score tables written, by suffix.
OUTPUT_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel"}
