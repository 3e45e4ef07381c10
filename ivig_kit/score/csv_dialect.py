"""How a CSV file is written: its encoding, separator and decimal mark, detected from its first bytes.

UTF-8 (with or without BOM) and UTF-16 with a BOM are recognised; Latin-1 and UTF-16 without a BOM
are named as such with the option that reads them; semicolon separators and decimal commas
(European spreadsheet exports) are detected. :mod:`ivig_kit.score.readers` reads the file with them.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable
from pathlib import Path

from ivig_kit.errors import VisitTableError
from ivig_kit.score.columns import KIT_COLUMNS

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
_CONTROL_BYTES = bytes([*range(9), 11, 12, *range(14, 32), 127])


def detect_encoding(name: str, head: bytes, requested: str | None) -> str:
    """The codec of a CSV file from its first bytes (or the one requested); a located error if it is not text."""
    if requested:
        try:
            return codecs.lookup(requested).name
        except LookupError:
            raise VisitTableError(f"unknown encoding {requested!r} (try utf-8, latin-1, cp1252 or utf-16)") from None
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if 0 in head and controls > max(8, len(head) // 100):  # a stray NUL byte in a cell is located later
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            raise VisitTableError(
                f"{name}: UTF-16 (little-endian) text without a byte-order mark; "
                f"pass --encoding utf-16-le or save the table as UTF-8 CSV"
            )
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            raise VisitTableError(
                f"{name}: UTF-16 (big-endian) text without a byte-order mark; "
                f"pass --encoding utf-16-be or save the table as UTF-8 CSV"
            )
        raise VisitTableError(f"{name}: not a CSV table (binary content); expected UTF-8 text with a header row")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not a character cut at the end of the sample
            _raise_not_utf8(name, head, error.start)
    return "utf-8"


def _raise_not_utf8(name: str, data: bytes, position: int):
    line = data.count(b"\n", 0, position) + 1
    start = data.rfind(b"\n", 0, position) + 1
    end = data.find(b"\n", position)
    snippet = data[start : end if end >= 0 else len(data)].decode("cp1252", errors="replace").strip()[:60]
    raise VisitTableError(
        f"{name}: not UTF-8 text: byte 0x{data[position]:02X} on line {line} ({snippet!r} if read as Latin-1/"
        f"Windows-1252); this looks like a Latin-1 (Windows-1252) export: pass --encoding latin-1, "
        f"or save the table as UTF-8 CSV"
    )


def decode_head(head: bytes, encoding: str) -> str:
    """The first bytes as text, a character cut at the end of the sample left out."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def detect_dialect(
    name: str,
    text: str,
    requested_separator: str | None,
    requested_decimal: str | None,
    mapped_columns: Iterable[str] = (),
) -> tuple[str, str, list[str]]:
    """Separator, decimal mark and header fields, from the first lines of the file."""
    lines = text.splitlines()
    header_line = lines[0] if lines else ""
    known = set(KIT_COLUMNS) | set(mapped_columns)

    def fields(separator: str, line: str) -> list[str]:
        return next(csv.reader([line], delimiter=separator), [])

    if requested_separator:
        separator = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(
            requested_separator, requested_separator
        )
        if len(separator) != 1:
            raise VisitTableError(f"separator must be one character (or 'tab'), not {requested_separator!r}")
    else:

        def rank(candidate):
            cells = [c.strip() for c in fields(candidate, header_line)]
            return (sum(c in known for c in cells), len(cells))

        separator = max(SEPARATORS, key=rank)
        if rank(separator)[1] <= 1:
            separator = ","
    header = [c.strip() for c in fields(separator, header_line)]
    if requested_decimal:
        if requested_decimal not in (".", ","):
            raise VisitTableError(f"decimal mark must be '.' or ',', not {requested_decimal!r}")
        decimal = requested_decimal
    elif separator == ",":
        decimal = "."
    else:
        cells = [c.strip() for line in lines[1:200] for c in fields(separator, line)]
        commas = sum(bool(re.fullmatch(r"-?\d+,\d+", c)) for c in cells)
        points = sum(bool(re.fullmatch(r"-?\d+\.\d+", c)) for c in cells)
        decimal = "," if commas > points else "."
        if commas and points:
            raise VisitTableError(
                f"{name}: cannot tell the decimal mark: the first rows have both decimal commas ({commas} cells) "
                f"and decimal points ({points} cells); pass --decimal , or --decimal ."
            )
    return separator, decimal, header


def locate_bad_utf8(path: Path):
    """Raise a located error at the first byte of ``path`` that is not UTF-8 (return if there is none)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        _raise_not_utf8(path.name, data, error.start + (3 if data.startswith(codecs.BOM_UTF8) else 0))
