"""Published facts about the two trials the kit reanalyses and the follow-on trial it plans (TIME IS
MUSCLE), read from ``data/published_facts.csv``.

Every published number a notebook uses comes from that one file, with its source and location
(section or table), so that a reader can check it and a reanalysis can never silently retype it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from ivig_kit.errors import InputError, UnknownFactError
from ivig_kit.resources import data_path

FACTS_PATH = data_path("published_facts.csv")
FACT_COLUMNS = ("trial", "key", "value", "printed", "unit", "label", "source", "location", "kind")
TRIALS = ("pilot", "proderm", "time_is_muscle")
KINDS = ("published", "derived", "secondary")  # secondary: as a secondary source (news) printed it
TABLE2_MEASURES = ("physician_global", "patient_global", "mmt", "haq", "ck", "extramuscular")


def _validated(frame: pd.DataFrame, source: Path) -> pd.DataFrame:
    missing = [c for c in FACT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {missing}; expected {list(FACT_COLUMNS)}")
    for column, allowed in (("trial", TRIALS), ("kind", KINDS)):
        bad = frame.index[~frame[column].isin(allowed)]
        if len(bad):
            row = bad[0]
            raise InputError(
                f"{source}: row {row + 1} (line {row + 2}), column '{column}': expected one of "
                f"{list(allowed)}, got {frame.at[row, column]!r}"
            )
    values = pd.to_numeric(frame["value"], errors="coerce")
    if values.isna().any():
        row = values.index[values.isna()][0]
        raise InputError(
            f"{source}: row {row + 1} (line {row + 2}), column 'value': expected a number, "
            f"got {frame.at[row, 'value']!r}"
        )
    unsourced = frame.index[frame["source"].isna() | frame["location"].isna()]
    if len(unsourced):
        row = unsourced[0]
        raise InputError(f"{source}: row {row + 1} (line {row + 2}): every fact needs a source and a location")
    duplicated = frame.duplicated(["trial", "key"], keep=False)
    if duplicated.any():
        rows = [str(r + 1) for r in frame.index[duplicated]]
        raise InputError(f"{source}: rows {', '.join(rows)}: the same (trial, key) appears more than once")
    return frame.assign(value=values.astype(float))


def read_published_facts(path: Path | str) -> pd.DataFrame:
    """Read and check a published-facts file (one row per published number, each with its source)."""
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    return _validated(frame, path)


@lru_cache(maxsize=1)
def _bundled_facts() -> pd.DataFrame:
    return read_published_facts(FACTS_PATH)


def published_facts(trial: str | None = None) -> pd.DataFrame:
    """The bundled published facts, optionally of one trial (a copy: callers may change it)."""
    facts = _bundled_facts()
    if trial is not None:
        if trial not in TRIALS:
            raise UnknownFactError(f"unknown trial {trial!r}; expected one of {list(TRIALS)}")
        facts = facts[facts["trial"] == trial]
    return facts.reset_index(drop=True).copy()


def published_fact(trial: str, key: str) -> pd.Series:
    """One published fact: value, printed text, unit, label, source and location."""
    facts = _bundled_facts()
    match = facts[(facts["trial"] == trial) & (facts["key"] == key)]
    if match.empty:
        raise UnknownFactError(f"no published fact {key!r} for trial {trial!r} in {FACTS_PATH.name}")
    return match.iloc[0]


def published_value(trial: str, key: str) -> float:
    """The value of one published fact (a count comes back as a float: compare, don't index)."""
    return float(published_fact(trial, key)["value"])


def published_count(trial: str, key: str) -> int:
    """A published count as an int; raises if the fact is not a whole number."""
    value = published_value(trial, key)
    if not value.is_integer():
        raise InputError(f"published fact {trial}/{key} is {value}, not a count")
    return int(value)


def pilot_table2() -> pd.DataFrame:
    """The pilot's Table 2 for the six core set measures: measure, timepoint, median, q1, q3, p."""
    facts = _bundled_facts().set_index(["trial", "key"])["value"]
    rows = []
    for measure in TABLE2_MEASURES:
        for timepoint in ("baseline", "end", "change"):
            stats = {s: facts[("pilot", f"table2_{measure}_{timepoint}_{s}")] for s in ("median", "q1", "q3")}
            rows.append(
                {"measure": measure, "timepoint": timepoint, **stats, "p": facts[("pilot", f"table2_{measure}_p")]}
            )
    return pd.DataFrame(rows)
