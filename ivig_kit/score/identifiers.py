"""Site and patient identifiers as the kit reads and compares them.

Identifiers are text end to end ("007" stays "007"), stripped and NFKC-normalised so that one
identifier written two ways is one; an invisible or bidirectional control character is flagged.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd


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
    text = column.astype("str").str.normalize("NFKC").str.strip()  # "Zürich" composed or not, "１" and "1": one
    return text.where(text != "", None).astype("str")


def normalise_identifier(text: str) -> str:
    """A site or patient identifier as the kit compares it: stripped and NFKC-normalised, so that "Zürich"
    composed or decomposed, and full-width "１２" and "12", are one identifier (in the visit table, the
    adverse-event table, ``--sites`` and ``--params`` alike)."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def has_control_characters(text) -> bool:
    """True if ``text`` holds an invisible or bidirectional control character (Unicode category Cc or Cf)."""
    return isinstance(text, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in text)
