"""Hostile .xlsx files built fast: a sheet of gigabytes of XML that deflates to a few MB, written by hand as
repeated fully-flushed deflate blocks (no need to compress gigabytes in the test)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

SHEET = "xl/worksheets/sheet1.xml"
ROW = b'<row><c t="inlineStr"><is><t>A</t></is></c><c t="inlineStr"><is><t>1</t></is></c><c><v>0</v></c></row>'


def small_workbook(rows=(("site", "patient_id", "week"), ("A", "1", 0))) -> dict[str, bytes]:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    archive = zipfile.ZipFile(buffer)
    return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, deflated bytes, crc32, uncompressed size), written by hand (sizes < 4 GB)."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, data, crc, size in members:
        offset = out.tell()
        encoded = name.encode("utf-8")
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0))
        out.write(encoded + data)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start, directory = out.tell(), central.getvalue()
    out.write(directory)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), start, 0))
    return out.getvalue()


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def xlsx_bomb(path: Path, sheet_mb: int = 2048, dimension: str = "A1:XFD1048576") -> Path:
    """A valid workbook whose first sheet is about ``sheet_mb`` MB of XML (rows of site A, patient 1, week 0)."""
    members = small_workbook()
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><dimension ref="' + dimension.encode() + b'"/><sheetData>'
    )
    tail = b"</sheetData></worksheet>"
    chunk = ROW * (1024 * 1024 // len(ROW))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(sheet_mb):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(chunk) * sheet_mb + len(tail)
    entries = []
    for name, data in members.items():
        if name == SHEET:
            entries.append((name, first + block * sheet_mb + last, crc & 0xFFFFFFFF, size))
        else:
            entries.append((name, _deflate(data), zlib.crc32(data) & 0xFFFFFFFF, len(data)))
    path.write_bytes(_zip(entries))
    return path


def sparse_dimension_workbook(path: Path, empty_rows: int = 200_000) -> Path:
    """Two visits, then ``empty_rows`` empty ``<row>`` elements, under a declared dimension of A1:XFD1048576."""
    import openpyxl

    rows = [
        ("site", "patient_id", "week", "physician_global", "patient_global", "extramuscular", "haq", "mmt", "mmt_max"),
        ("A", "001", 0, 6, 7, 3, 1.8, 110, 150),
        ("A", "001", 4, 4, 5, 2, 1.5, 121, 150),
    ]
    members = small_workbook(rows)
    sheet = members[SHEET]
    sheet = re.sub(rb'<dimension ref="[A-Z0-9:]+" ?/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    filler = b"".join(b'<row r="%d"/>' % n for n in range(4, 4 + empty_rows))
    sheet = sheet.replace(b"</sheetData>", filler + b"</sheetData>")
    assert b"XFD1048576" in sheet
    members[SHEET] = sheet
    entries = [(name, _deflate(data), zlib.crc32(data) & 0xFFFFFFFF, len(data)) for name, data in members.items()]
    path.write_bytes(_zip(entries))
    assert openpyxl  # the workbook is read by openpyxl in the tests
    return path
