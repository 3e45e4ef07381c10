"""The adverse-event table: site, patient_id, week, event, [serious], [related], validated as strictly as the
visit table (identifiers NFKC-normalised and free of hidden characters, weeks within the visit table's
bounds, a non-empty event) with every problem located at once, and events of patients who are not in the
visit table named rather than silently dropped."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.errors import AdverseEventTableError
from ivig_kit.score.identifiers import has_control_characters, normalise_identifier
from ivig_kit.score.measures import WEEK_MAX

ADVERSE_EVENT_REQUIRED = ("site", "patient_id", "week", "event")
THROMBOEMBOLIC_PATTERN = re.compile(r"thromb|embol|stroke|infarct", flags=re.IGNORECASE)
#: At most this many rows are named per problem (then a count).
SHOWN_ROWS = 3
FLAGS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}


def _rows(mask: np.ndarray) -> str:
    """``row 2``, ``rows 2, 5 and 9``, ``rows 2, 5, 9 and 4 more`` (1-based data rows)."""
    positions = [int(p) + 1 for p in np.flatnonzero(mask)]
    shown, rest = positions[:SHOWN_ROWS], len(positions) - SHOWN_ROWS
    text = ", ".join(map(str, shown))
    if rest > 0:
        text += f" and {rest} more"
    elif len(shown) > 1:
        text = ", ".join(map(str, shown[:-1])) + f" and {shown[-1]}"
    return f"row{'s' if len(positions) > 1 else ''} {text}"


def read_adverse_events(path) -> pd.DataFrame:
    """Read an adverse-event table (CSV or Parquet): site, patient_id, week, event, [serious], [related].

    Identifiers stay text (NFKC-normalised like the visit table's); ``week`` must be a number in
    0-``WEEK_MAX``; ``event`` must not be empty; ``serious`` and ``related`` become booleans (yes/no,
    true/false, 1/0; empty is unknown).

    Raises
    ------
    AdverseEventTableError
        Every problem at once, one located line each (file, rows, column, what was expected).
    """
    from ivig_kit.errors import VisitTableError
    from ivig_kit.score.spreadsheets import ReadLimits, check_parquet, check_rows_read, check_text_size, nested_type

    path, limits = Path(path), ReadLimits.from_environment()
    try:  # within the visit table's caps (ReadLimits), checked before the data is read
        if path.suffix.lower() in (".parquet", ".pq"):
            schema = check_parquet(path, limits)  # its metadata, and no nested column
            nested = [f.name for f in schema if nested_type(f.type)]
            if nested:
                raise AdverseEventTableError(
                    f"{path.name}: column {nested[0]!r} is a nested Parquet type "
                    f"({schema.field(nested[0]).type}); expected one value per cell"
                )
            raw = pd.read_parquet(path)
        else:  # its size, then at most one row more than allowed
            check_text_size(path, limits)
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=limits.max_rows + 1)
            check_rows_read(path.name, len(raw), len(raw.columns), limits)
    except AdverseEventTableError:
        raise
    except VisitTableError as error:  # a cap or a broken Parquet file, located by the readers' own words
        raise AdverseEventTableError(str(error)) from None
    except Exception as error:
        raise AdverseEventTableError(f"{path.name}: not a readable adverse-event table ({str(error)[:200]})") from None
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [c for c in ADVERSE_EVENT_REQUIRED if c not in raw.columns]
    if missing:
        raise AdverseEventTableError(
            f"{path.name}: missing column(s) {', '.join(map(repr, missing))}; expected "
            f"{', '.join(ADVERSE_EVENT_REQUIRED)} and optionally serious, related"
        )
    events = raw.copy()
    problems = []

    def problem(mask, column: str, expected: str, values: pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            first = values[mask].iloc[0]
            problems.append(f"{path.name}: {_rows(mask)}, column {column!r}: expected {expected}, got {first!r}")

    for column in ("site", "patient_id"):
        events[column] = events[column].map(lambda v: "" if v is None or v is pd.NA else normalise_identifier(v))
        problem(
            events[column].map(has_control_characters).astype(bool),
            column,
            "an identifier without invisible or bidirectional control characters (Unicode Cc/Cf, e.g. U+202E)",
            events[column],
        )
        problem(events[column] == "", column, "a non-empty identifier", raw[column])
    events["event"] = events["event"].map(
        lambda v: "" if v is None or v is pd.NA else unicodedata.normalize("NFC", str(v).strip())
    )
    problem(events["event"] == "", "event", "the event's description (not empty)", raw["event"])
    week = pd.to_numeric(events["week"], errors="coerce").astype(float)
    problem(week.isna(), "week", "a number", raw["week"])
    with np.errstate(invalid="ignore"):
        problem(week.notna() & ~((week >= 0) & (week <= WEEK_MAX)), "week", f"a week in 0-{WEEK_MAX:g}", raw["week"])
    events["week"] = week
    for column in ("serious", "related"):
        if column not in events:
            events[column] = pd.NA
            continue
        text = events[column].map(lambda v: "" if v is None or v is pd.NA else str(v).strip().lower())
        problem(~text.isin([*FLAGS, "", "na", "nan"]), column, "yes or no", raw[column])
        events[column] = text.map(FLAGS).astype("boolean")
    if problems:
        if len(problems) > 1:
            problems.append(f"{path.name}: {len(problems)} problems; nothing was run")
        raise AdverseEventTableError("\n".join(problems))
    events["thromboembolic"] = events["event"].str.contains(THROMBOEMBOLIC_PATTERN)
    return events


def check_event_patients(events: pd.DataFrame, visits: pd.DataFrame, events_name: str, visits_name: str) -> None:
    """Raise :class:`AdverseEventTableError` naming the rows of events whose patient (site and patient_id) is
    not in the visit table: such an event would otherwise be dropped from every report without a word."""
    known = pd.MultiIndex.from_frame(visits[["site", "patient_id"]].drop_duplicates())
    unknown = ~pd.MultiIndex.from_frame(events[["site", "patient_id"]]).isin(known)
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise AdverseEventTableError(
            f"{events_name}: {_rows(unknown)}, columns 'site', 'patient_id': patient "
            f"{events['patient_id'].iloc[first]!r} of site {events['site'].iloc[first]!r} is not in the visit table "
            f"{visits_name}; expected events of the registry's patients only (check the identifiers)"
        )


def empty_adverse_events() -> pd.DataFrame:
    """An adverse-event table without rows, with the columns and types :func:`read_adverse_events` gives."""
    return pd.DataFrame(
        {
            "site": pd.Series(dtype=object),
            "patient_id": pd.Series(dtype=object),
            "week": pd.Series(dtype=float),
            "event": pd.Series(dtype=object),
            "serious": pd.Series(dtype="boolean"),
            "related": pd.Series(dtype="boolean"),
            "thromboembolic": pd.Series(dtype=bool),
        }
    )
