"""Published facts: one sourced file, every number traceable to the reference notes."""

import re
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.errors import InputError
from ivig_kit.facts import (
    FACTS_PATH,
    pilot_table2,
    published_count,
    published_fact,
    published_facts,
    published_value,
    read_published_facts,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "trials.md"


def test_every_fact_has_a_source_and_a_location():
    facts = published_facts()
    assert len(facts) > 100
    assert facts["source"].str.len().min() > 10
    assert facts["location"].str.len().min() > 3
    assert not facts.duplicated(["trial", "key"]).any()


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is not beside the repository")
def test_every_printed_number_appears_in_the_reference_notes():
    numbers_in_reference = set(re.findall(r"\d+(?:\.\d+)?", REFERENCE.read_text(encoding="utf-8")))
    facts = published_facts()
    untraceable = [
        (row.trial, row.key, row.printed)
        for row in facts.itertuples()
        for number in re.findall(r"\d+(?:\.\d+)?", row.printed)
        if number not in numbers_in_reference
    ]
    assert not untraceable


def test_headline_numbers():
    assert published_count("pilot", "primary_responders") == 8
    assert published_count("pilot", "analysed_n") == 19
    assert published_fact("pilot", "primary_percent_printed")["printed"] == "42.0%"
    assert (
        published_value("pilot", "primary_ci_low_printed"),
        published_value("pilot", "primary_ci_high_printed"),
    ) == (19.6, 64.6)
    assert (published_count("proderm", "primary_ivig_responders"), published_count("proderm", "primary_ivig_n")) == (
        37,
        47,
    )
    assert (
        published_count("proderm", "primary_placebo_responders"),
        published_count("proderm", "primary_placebo_n"),
    ) == (21, 48)
    assert published_count("proderm", "safety_infusion_cycles") == 664


def test_subtypes_add_up_to_the_cohort():
    included = sum(published_count("pilot", f"subtype_{s}") for s in ("dm", "imnm", "nm_om", "ass"))
    analysed = sum(published_count("pilot", f"analysed_subtype_{s}") for s in ("dm", "imnm", "nm_om", "ass"))
    assert (included, analysed) == (published_count("pilot", "included_n"), published_count("pilot", "analysed_n"))


def test_pilot_table2_has_quartiles_in_order():
    table = pilot_table2()
    assert len(table) == 18
    assert (table["q1"] <= table["median"]).all() and (table["median"] <= table["q3"]).all()
    ck = table.set_index(["measure", "timepoint"]).loc[("ck", "baseline")]
    assert (ck["median"], ck["q1"], ck["q3"]) == (1199, 179, 6500)


def test_unknown_fact_is_a_key_error():
    with pytest.raises(KeyError, match="no published fact"):
        published_value("pilot", "no_such_number")
    with pytest.raises(ValueError, match="not a count"):
        published_count("pilot", "sample_size_width")


def test_a_fact_without_a_number_is_rejected_with_its_row(tmp_path):
    facts = pd.read_csv(FACTS_PATH, dtype=str)
    facts.loc[3, "value"] = "forty-two"
    path = tmp_path / "facts.csv"
    facts.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"facts.csv: row 4 \(line 5\), column 'value': expected a number"):
        read_published_facts(path)


def test_a_fact_without_a_source_is_rejected(tmp_path):
    facts = pd.read_csv(FACTS_PATH, dtype=str)
    facts.loc[0, "source"] = ""
    path = tmp_path / "facts.csv"
    facts.to_csv(path, index=False)
    with pytest.raises(InputError, match="needs a source"):
        read_published_facts(path)


def test_corrected_sources():
    for key in ("cdasi_change_ivig", "cdasi_change_placebo_ci_high"):
        assert "EClinicalMedicine 2023" in published_fact("proderm", key)["source"]
    for key in ("primary_label_p", "primary_label_ci_low", "primary_label_ci_high", "primary_label_difference"):
        source = published_fact("proderm", key)["source"]
        assert "professional" in source and "website" in source and "prescribing information" not in source


def test_table2_printed_as_the_paper_prints_it():
    assert published_fact("pilot", "table2_physician_global_baseline_q3")["printed"] == "4.0"
    assert published_fact("pilot", "table2_mmt_change_q1")["printed"] == "-7.0"
    assert published_fact("pilot", "table2_haq_baseline_median")["printed"] == "2.0"
    facts = published_facts("pilot")
    table2 = facts[facts["key"].str.startswith("table2_") & ~facts["key"].str.endswith("_p")]
    assert (table2["printed"].astype(float) == table2["value"]).all()


def test_the_news_piece_is_stored_as_printed_and_marked_wrong():
    denominator = published_fact("proderm", "news_thromboembolic_denominator")
    assert denominator["printed"] == "six of the 47 IVIG patients" and denominator["kind"] == "secondary"
    assert "WRONG" in denominator["label"] and "95" in denominator["label"]
    assert published_value("proderm", "safety_ivig_exposed_n") == 95


def test_the_follow_on_comparison_is_not_marked_as_published():
    # the protocol's abstract prints the TIS at week 12 as primary outcome, not how the arms are compared
    label = published_fact("time_is_muscle", "primary_week")["label"]
    assert "difference in mean TIS" not in label and "not stored" in label
