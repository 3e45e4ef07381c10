"""Site and patient identifiers as the kit reads and compares them.

Identifiers are text end to end ("007" stays "007"), stripped and NFKC-normalised so that one
identifier written two ways is one; an invisible or bidirectional control character is flagged.

Both steps are vectorised with pyarrow: a cell of printable ASCII (U+0020-U+007E, what almost every
identifier is) is already NFKC-normal and holds no control character, so only the other cells go through
:mod:`unicodedata` one by one, with exactly the per-cell rules of :func:`normalise_identifier` and
:func:`has_control_characters`.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Any character outside printable ASCII: the cells that need a per-character look.
_BEYOND_PRINTABLE_ASCII = r"[^\x20-\x7e]"


def identifier_text(column: pd.Series) -> pd.Series:
    """Identifiers as stripped text (numbers from Parquet become their digits, never padded); blank is NA."""
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        column = pd.Series(
            [None if v != v else (str(int(v)) if w else repr(float(v))) for v, w in zip(values, whole)],
            index=column.index,
            dtype="str",
        )
    text = column.astype("str")
    beyond = beyond_printable_ascii(text)
    if beyond.any():  # "Zürich" composed or not, "１" and "1": one
        text = text.copy()
        text[beyond] = text[beyond].str.normalize("NFKC")
    text = text.str.strip()
    return text.where(text != "", None).astype("str")


def beyond_printable_ascii(text: pd.Series) -> np.ndarray:
    """Per cell of a text column, whether it holds a character outside printable ASCII (NA: False)."""
    array = pa.array(text.array, type=pa.large_string())
    return pc.fill_null(pc.match_substring_regex(array, _BEYOND_PRINTABLE_ASCII), False).to_numpy(zero_copy_only=False)


def control_character_cells(text: pd.Series) -> np.ndarray:
    """Per cell, :func:`has_control_characters`, vectorised for a text column (NA: False)."""
    if not pd.api.types.is_string_dtype(text) or text.dtype == object:
        return text.map(has_control_characters).to_numpy(dtype=bool)  # not text end to end: cell by cell
    flagged = np.zeros(len(text), dtype=bool)
    positions = np.flatnonzero(beyond_printable_ascii(text))
    if len(positions):
        flagged[positions] = [has_control_characters(v) for v in text.iloc[positions]]
    return flagged


def normalise_identifier(text: str) -> str:
    """A site or patient identifier as the kit compares it: stripped and NFKC-normalised, so that "Zürich"
    composed or decomposed, and full-width "１２" and "12", are one identifier (in the visit table, the
    adverse-event table, ``--sites`` and ``--params`` alike)."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def has_control_characters(text) -> bool:
    """True if ``text`` holds an invisible or bidirectional control character (Unicode category Cc or Cf)."""
    return isinstance(text, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in text)
