"""Identifiers, vectorised: the same text and the same control-character flags as the per-cell rules."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from ivig_kit.score.identifiers import (
    control_character_cells,
    has_control_characters,
    identifier_text,
    normalise_identifier,
)

#: ASCII, controls, format characters (bidi, zero width), composed and decomposed letters, full width, blanks.
ALPHABET = ["a", "Z", "0", "7", " ", "-", "\t", "\x07", "\x7f", "\x85", "\u00a0", "\u00e9", "e\u0301", "\u202e",
            "\u200b", "\ufeff", "\uff11", "\u2003", "\U0001f600", "\u00ad"]  # fmt: skip


def per_cell_text(values) -> list:
    """The rule before vectorisation: NFKC, then strip; blank is missing."""
    out = []
    for v in values:
        text = None if v is None or v != v else normalise_identifier(v)
        out.append(text or None)
    return out


def random_identifiers(seed: int, n: int = 400) -> list:
    rng = np.random.default_rng(seed)
    cells = ["".join(rng.choice(ALPHABET, size=rng.integers(0, 6))) for _ in range(n)]
    cells[::17] = [None] * len(cells[::17])
    return cells


@pytest.mark.parametrize("seed", range(5))
def test_identifier_text_is_the_per_cell_rule(seed):
    cells = random_identifiers(seed)
    text = identifier_text(pd.Series(cells, dtype=object))
    assert [None if v != v else v for v in text.tolist()] == per_cell_text(cells)


@pytest.mark.parametrize("seed", range(5))
def test_control_character_cells_is_the_per_cell_rule(seed):
    text = identifier_text(pd.Series(random_identifiers(seed), dtype=object))
    expected = [has_control_characters(v) for v in text]
    assert control_character_cells(text).tolist() == expected
    assert any(expected) and not all(expected)  # the draw has both kinds


def test_control_characters_found_and_ascii_passes():
    text = identifier_text(pd.Series(["P-001", "P\u202e100", "S\u200b1", "Zu\u0308rich", "x\x07", None], dtype=object))
    assert text.tolist()[3] == unicodedata.normalize("NFKC", "Zu\u0308rich")
    assert control_character_cells(text).tolist() == [False, True, True, False, True, False]


def test_control_character_cells_of_a_column_that_is_not_text():
    assert control_character_cells(pd.Series(["a\u202e", 5, None], dtype=object)).tolist() == [True, False, False]
