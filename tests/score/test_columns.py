"""The column vocabulary (ivig_kit.score.columns): every instrument's column is read as a number, nothing is
named twice, and the missing-value tokens and VAS units are the ones the data README documents."""

import pandas as pd

from ivig_kit.resources import data_path
from ivig_kit.score.columns import (
    ID_COLUMNS,
    INSTRUMENT_COLUMNS,
    KIT_COLUMNS,
    MISSING_TOKENS,
    NUMERIC_COLUMNS,
    VAS_COLUMNS,
    VAS_UNITS,
)
from ivig_kit.score.core_set_instruments import INSTRUMENTS, RANGE_COLUMNS
from ivig_kit.score.measures import ENZYME_ULN, ENZYMES


def test_every_column_is_named_once_and_identifiers_are_not_numbers():
    assert len(set(KIT_COLUMNS)) == len(KIT_COLUMNS)
    assert (*ID_COLUMNS, *NUMERIC_COLUMNS) == KIT_COLUMNS
    assert not set(ID_COLUMNS) & set(NUMERIC_COLUMNS)


def test_every_instrument_value_and_range_column_is_read_as_a_number():
    instrument_columns = {i.column for i in INSTRUMENTS.values() if i.column}
    assert instrument_columns | set(RANGE_COLUMNS) <= set(NUMERIC_COLUMNS)
    assert {*ENZYMES, *ENZYME_ULN.values(), "week", "mmt_max"} <= set(NUMERIC_COLUMNS)
    assert {"cmas", "chaq", "das", "chq_phs", "chq_phs_min", "chq_phs_max"} <= set(INSTRUMENT_COLUMNS)
    assert not set(INSTRUMENT_COLUMNS) & {"week", *VAS_COLUMNS, "haq", "mmt"}  # the adult columns come first


def test_missing_tokens_are_lower_case_and_vas_units_convert_to_cm():
    assert all(token == token.lower().strip() for token in MISSING_TOKENS) and "" in MISSING_TOKENS
    assert VAS_UNITS == {"cm": 1.0, "mm": 0.1}
    assert set(VAS_COLUMNS) == {"physician_global", "patient_global", "extramuscular"}


def test_the_data_readme_documents_every_kit_column():
    readme = data_path("README.md").read_text(encoding="utf-8")
    assert all(uln == f"{enzyme}_uln" for enzyme, uln in ENZYME_ULN.items()) and "`<name>_uln`" in readme
    # the case report form's item columns are documented one per row in the data dictionary
    dictionary = set(pd.read_csv(data_path("item_dictionary.csv"))["column"])
    undocumented = [
        column
        for column in KIT_COLUMNS
        if f"`{column}`" not in readme and column not in ENZYME_ULN.values() and column not in dictionary
    ]
    assert not undocumented
