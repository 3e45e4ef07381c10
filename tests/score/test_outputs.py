"""The score table's writers: the CSV shortcuts write exactly the numbers pyarrow would."""

import numpy as np
import pandas as pd
import pytest

from ivig_kit.errors import InputError
from ivig_kit.score import outputs


@pytest.fixture
def scores():
    rng = np.random.default_rng(13)
    n = 3000
    points = rng.choice([0.0, 2.5, 7.5, 32.5, np.nan], n)
    return pd.DataFrame(
        {
            "site": rng.choice(["A", "B,with comma", 'say "x"'], n),
            "patient_id": [f"{i:04d}" for i in range(n)],
            "week": rng.integers(0, 2601, n).astype(float),
            "tis": points * 2,
            "haq_points": points,
            "haq_percent": np.round(rng.uniform(-100, 100, n), 6),
            "enzyme_percent": rng.uniform(-5000, 100, n),
            "haq_missing": rng.random(n) < 0.5,
            "category": pd.Categorical(rng.choice(["none", "major"], n)),
            "odd": rng.normal(0, 1e6, n),
        }
    )


def test_csv_shortcuts_write_the_same_numbers_as_plain_formatting(tmp_path, scores, monkeypatch):
    outputs.write_scores(scores, tmp_path / "fast.csv")
    monkeypatch.setattr(outputs, "_as_words", lambda column: None)
    outputs.write_scores(scores, tmp_path / "plain.csv")
    fast, plain = (pd.read_csv(tmp_path / name, dtype={"patient_id": str}) for name in ("fast.csv", "plain.csv"))
    pd.testing.assert_frame_equal(fast, plain)
    assert fast["haq_percent"].equals(scores["haq_percent"].round(2))  # rounded for reading, 2 decimals
    assert fast["site"].tolist() == scores["site"].tolist()  # quotes where a value needs them
    assert fast["haq_missing"].tolist() == scores["haq_missing"].tolist()


def test_number_text_matches_pyarrow(tmp_path):
    assert [outputs._number_text(v) for v in (15.0, 7.5, -13.33, 0.0, 1234.56)] == [
        "15",
        "7.5",
        "-13.33",
        "0",
        "1234.56",
    ]


def test_unknown_output_suffix_is_an_input_error():
    with pytest.raises(InputError, match=r"name it \*.csv, \*.parquet or \*.xlsx"):
        outputs.output_format("scores.txt")


def test_excel_refuses_more_rows_than_a_sheet_holds(tmp_path, monkeypatch, scores):
    monkeypatch.setattr(outputs, "EXCEL_MAX_ROWS", 100)
    with pytest.raises(InputError, match="3,000 rows do not fit in an Excel sheet"):
        outputs.write_scores(scores, tmp_path / "scores.xlsx")
