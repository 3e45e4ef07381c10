"""Shared by the score tests: visit tables written out by hand."""

import pandas as pd

#: The columns of a hand-written visit table, in the order of its tuples.
VISIT_COLUMNS = [
    "site",
    "patient_id",
    "week",
    "physician_global",
    "patient_global",
    "extramuscular",
    "haq",
    "mmt",
    "mmt_max",
    "ck",
    "ck_uln",
]


def visit_table(rows) -> pd.DataFrame:
    """A visit table from (site, patient, week, phys, pat, extra, haq, mmt, mmt_max, ck, ck_uln) tuples."""
    return pd.DataFrame(rows, columns=VISIT_COLUMNS)
