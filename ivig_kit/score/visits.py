"""The visit table: the kit's one input format, how it is read and how it is validated.

One row per patient visit. ``site`` and ``patient_id`` are strings end to end ("007" stays
"007"); the earliest ``week`` of a patient is the baseline. See ``data/README.md``.

Every problem becomes a :class:`VisitTableError` whose lines each name the file, the
row(s), the column(s) and what was expected, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ivig_kit.errors import VisitTableError
from ivig_kit.score.measures import ENZYME_ULN, ENZYMES

ID_COLUMNS = ("site", "patient_id")
VAS_COLUMNS = ("physician_global", "patient_global", "extramuscular")
REQUIRED_COLUMNS = ("site", "patient_id", "week", *VAS_COLUMNS, "haq", "mmt", "mmt_max")

#: What each numeric column must hold: (lower, upper, description). ``None`` is unbounded.
NUMERIC_RULES: dict[str, tuple[float | None, float | None, str]] = {
    "week": (0, None, "a week >= 0"),
    **{c: (0, 10, "a VAS value in 0-10 cm") for c in VAS_COLUMNS},
    "haq": (0, 3, "a HAQ score in 0-3"),
    "mmt": (0, None, "an MMT score >= 0"),
    "mmt_max": (1, None, "the MMT scale maximum (e.g. 80, 150, 260), >= 1"),
    **{e: (0, None, f"a {e.upper()} value >= 0") for e in ENZYMES},
    **{u: (0, None, "an upper limit of normal > 0") for u in ENZYME_ULN.values()},
}
#: Columns that may be empty on a visit (a missing CSM is reported, never scored as 0).
NULLABLE = set(NUMERIC_RULES) - {"week", "mmt_max"}

MISSING_TOKENS = {"", "na", "nan", "null", "none", "n/a"}


def read_visits(path) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM) or Parquet visit table and validate it."""
    path = Path(path)
    raw = _read_raw(path)
    return validate_visits(raw, source=path.name, line_offset=2 if _is_csv(path) else None)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() not in (".parquet", ".pq")


def _read_raw(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise VisitTableError(f"{path}: file not found")
    if path.is_dir():
        raise VisitTableError(f"{path}: is a folder, expected a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise VisitTableError(f"{path.name}: the file is empty; expected a header row and one row per visit")
    if not _is_csv(path):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise VisitTableError(f"{path.name}: not a readable Parquet table ({type(exc).__name__}: {exc})") from None
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PAR1"):
        raise VisitTableError(f"{path.name}: this is a Parquet file; name it *.parquet")
    if b"\x00" in head:
        raise VisitTableError(f"{path.name}: not a CSV table (binary content); expected UTF-8 text with a header row")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VisitTableError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the table as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise VisitTableError(f"{path.name}: the file is empty; expected a header row and one row per visit") from None
    except pd.errors.ParserError as exc:
        raise VisitTableError(f"{path.name}: not a well-formed CSV table ({str(exc).strip()})") from None


def validate_visits(frame: pd.DataFrame, source: str = "<visits>", line_offset: int | None = None) -> pd.DataFrame:
    """Check a raw visit table and return a typed copy (ids as strings, measures as floats).

    ``line_offset`` maps a 0-based row to a file line (2 for a CSV with one header line),
    so messages can say ``row 5 (line 6)``.
    """
    locate = _Locator(source, line_offset)
    if len(frame.columns) == 0 or len(frame) == 0:
        raise VisitTableError(f"{source}: no visits; expected a header row and at least one row per visit")
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if len(missing) == len(REQUIRED_COLUMNS):
        found = ", ".join(repr(c) for c in list(frame.columns)[:4])
        raise VisitTableError(f"{source}: not a visit table: its header ({found}) has none of the expected columns "
                              f"{', '.join(REQUIRED_COLUMNS)}")
    if missing:
        raise VisitTableError(
            f"{source}: missing required column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} and enzymes with their ULN")
    enzymes = [e for e in ENZYMES if e in frame.columns]
    problems = [f"{source}: column {e!r} has no {ENZYME_ULN[e]!r} column; each enzyme needs its upper limit of normal"
                for e in enzymes if ENZYME_ULN[e] not in frame.columns]
    if not enzymes:
        problems.append(f"{source}: no muscle enzyme column; expected at least one of "
                        f"{', '.join(ENZYMES)} with its _uln column")
    if problems:
        raise VisitTableError("\n".join(problems))

    typed = frame.reset_index(drop=True).copy()
    for column in ID_COLUMNS:
        typed[column] = _as_identifier(typed[column])
        blank = typed[column].isna()
        if blank.any():
            problems.append(locate.rows(blank, column, "a non-empty identifier", typed[column]))
        hidden = typed[column].map(has_control_characters).astype(bool)
        if hidden.any():
            problems.append(locate.rows(hidden, column, "an identifier without invisible or bidirectional "
                                        "control characters (Unicode Cc/Cf, e.g. U+202E)", typed[column]))
    numeric_columns = [c for c in NUMERIC_RULES if c in typed.columns]
    for column in numeric_columns:
        values, bad = _as_number(typed[column])
        if bad.any():
            problems.append(locate.rows(bad, column, "a number", typed[column]))
        typed[column] = values
    if problems:
        raise VisitTableError("\n".join(problems))

    problems += _range_problems(typed, numeric_columns, locate)
    problems += _cross_row_problems(typed, enzymes, locate)
    if problems:
        raise VisitTableError("\n".join(problems))
    for column in typed.columns.difference([*ID_COLUMNS, *numeric_columns]):
        typed[column] = _passthrough(typed[column])
    return typed


def has_control_characters(text) -> bool:
    """True if ``text`` holds an invisible or bidirectional control character (Unicode category Cc or Cf)."""
    return isinstance(text, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def _as_identifier(column: pd.Series) -> pd.Series:
    """Identifiers as stripped, NFC-normalised strings ("Zürich" typed composed or decomposed is one site);
    numbers from Parquet become their text, never padded."""
    def text(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        value = unicodedata.normalize("NFC", str(value).strip())
        return value or None
    return column.map(text).astype(object)


def _as_number(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float), pd.Series(False, index=column.index)
    text = column.astype(object).map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    blank = text.isna() | text.str.lower().isin(MISSING_TOKENS)
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    bad = values.isna() & ~blank
    return values, bad


def _passthrough(column: pd.Series) -> pd.Series:
    """Optional columns pass through; text that is entirely numeric becomes numbers."""
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return column
    values, bad = _as_number(column)
    return values if not bad.any() else column


def _range_problems(typed: pd.DataFrame, numeric_columns, locate) -> list[str]:
    """Range and MMT <= mmt_max checks, run through a pandera schema."""
    columns = {}
    for column in numeric_columns:
        low, high, _ = NUMERIC_RULES[column]
        checks = []
        if column.endswith("_uln") or column == "mmt_max":
            checks.append(pa.Check.gt(0) if column.endswith("_uln") else pa.Check.ge(low))
        elif high is None:
            checks.append(pa.Check.ge(low))
        else:
            checks.append(pa.Check.in_range(low, high))
        columns[column] = pa.Column(float, checks=checks, nullable=column in NULLABLE)
    schema = pa.DataFrameSchema(
        columns,
        checks=[pa.Check(lambda df: df["mmt"].isna() | (df["mmt"] <= df["mmt_max"]), name="mmt_within_mmt_max")],
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return _describe_failures(errors.failure_cases, typed, locate)
    return []


def _describe_failures(failures: pd.DataFrame, typed: pd.DataFrame, locate) -> list[str]:
    problems = []
    seen_frame_checks = set()
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        if check == "mmt_within_mmt_max":
            if check in seen_frame_checks:
                continue
            seen_frame_checks.add(check)
            group = failures[failures["check"] == check]
        rows = group["index"].dropna().astype(int).drop_duplicates()
        mask = typed.index.isin(rows)
        if check == "mmt_within_mmt_max":
            problems.append(locate.rows(pd.Series(mask, index=typed.index), "mmt",
                                        "an MMT score <= mmt_max", typed["mmt"], extra=typed["mmt_max"], extra_name="mmt_max"))
        elif column in NUMERIC_RULES and len(rows):
            expected = NUMERIC_RULES[column][2]
            if group["check"].iloc[0] == "not_nullable":
                expected = f"{expected} (required on every visit)"
            problems.append(locate.rows(pd.Series(mask, index=typed.index), column, expected, typed[column]))
        else:
            problems.append(f"{locate.source}: column {column!r}: failed check {check}")
    return problems


def _cross_row_problems(typed: pd.DataFrame, enzymes, locate) -> list[str]:
    problems = []
    key = ["site", "patient_id", "week"]
    duplicated = typed.duplicated(key, keep=False)
    if duplicated.any():
        first_key = typed.loc[duplicated, key].iloc[0]
        same = (typed[key] == first_key.values).all(axis=1)
        rows = locate.row_list(same)
        more = int(duplicated.sum() - same.sum())
        problems.append(
            f"{locate.source}: {rows}, columns 'site', 'patient_id', 'week': duplicate visit "
            f"(site {first_key['site']!r}, patient {first_key['patient_id']!r}, week {first_key['week']:g}); "
            f"expected one row per patient and week" + (f" (and {more} more duplicated rows)" if more else ""))
    spread = typed.groupby(["site", "patient_id"], sort=False)["mmt_max"].transform("nunique")
    changing = spread > 1
    if changing.any():
        first = typed.loc[changing].iloc[0]
        same = (typed["site"] == first["site"]) & (typed["patient_id"] == first["patient_id"])
        values = ", ".join(f"{v:g}" for v in typed.loc[same, "mmt_max"].unique())
        problems.append(
            f"{locate.source}: {locate.row_list(same)}, column 'mmt_max': changes within patient "
            f"{first['patient_id']!r} of site {first['site']!r} ({values}); expected one MMT scale per patient")
    for enzyme in enzymes:
        no_uln = typed[enzyme].notna() & typed[ENZYME_ULN[enzyme]].isna()
        if no_uln.any():
            problems.append(locate.rows(no_uln, ENZYME_ULN[enzyme], f"the ULN of the {enzyme!r} value on the same row",
                                        typed[ENZYME_ULN[enzyme]]))
    return problems


class _Locator:
    """Turns boolean row masks into ``file: row 5 (line 6), column 'x': expected ..., got ...``."""

    def __init__(self, source: str, line_offset: int | None):
        self.source, self.line_offset = source, line_offset

    def row_list(self, mask: pd.Series, limit: int = 3) -> str:
        """``row 2 (line 3)``, ``rows 2 and 4 (lines 3 and 5)``, ``rows 2, 3, 4 and 3 more (lines 3, 4, 5, ...)``."""
        positions = [int(p) for p in np.flatnonzero(np.asarray(mask))]
        shown, rest = positions[:limit], len(positions) - limit

        def join(numbers):
            numbers = [str(n) for n in numbers]
            if rest > 0:
                return ", ".join(numbers) + f" and {rest} more"
            return numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]

        plural = "s" if len(positions) > 1 else ""
        text = f"row{plural} {join(p + 1 for p in shown)}"
        if self.line_offset is not None:
            text += f" (line{plural} {join(p + self.line_offset for p in shown)})"
        return text

    def rows(self, mask, column, expected, values, extra=None, extra_name=None) -> str:
        mask = pd.Series(np.asarray(mask), index=values.index)
        first = int(np.flatnonzero(mask.to_numpy())[0])
        got = values.iloc[first]
        got_text = "an empty cell" if got is None or (isinstance(got, float) and np.isnan(got)) else repr(_plain(got))
        if extra is not None:
            got_text += f" with {extra_name} {_plain(extra.iloc[first])!r}"
        return f"{self.source}: {self.row_list(mask)}, column {column!r}: expected {expected}, got {got_text}"


def _plain(value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
