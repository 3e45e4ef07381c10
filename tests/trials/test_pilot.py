"""Pilot reanalysis on the reconstructed cohort: published counts, fidelity statuses, sensitivity."""

import pytest

from ivig_kit.trials.pilot import (
    NOT_MODELLED,
    cumulative_responders,
    patient_courses,
    pilot_fidelity_table,
    responders_by_subtype,
    sensitivity_table,
    table2,
    wilcoxon_comparison,
)
from ivig_kit.trials.reconstruct import DATA_SOURCE, read_reconstructed_cohort

OUTCOME_COUNTS = [
    "amended_early_end",
    "included_n",
    "analysed_n",
    "primary_responders",
    "responders_by_week3",
    "responders_by_week4",
    "responders_by_week6",
    "tis20_by_week9",
    "transient_minimal",
    "amended_regimen",
    "rescue_early_end",
    "confirmed_deteriorations",
    "subtype_dm",
    "subtype_imnm",
    "subtype_nm_om",
    "subtype_ass",
    "analysed_subtype_dm",
    "analysed_subtype_imnm",
    "analysed_subtype_nm_om",
    "analysed_subtype_ass",
]


@pytest.fixture(scope="module")
def cohort():
    return read_reconstructed_cohort()


@pytest.fixture(scope="module")
def fidelity(cohort):
    return pilot_fidelity_table(cohort).set_index("key")


def test_every_published_outcome_count_is_reproduced_exactly(fidelity):
    assert (fidelity.loc[OUTCOME_COUNTS, "status"] == "exact").all()
    assert (fidelity.loc[OUTCOME_COUNTS, "gap"] == 0).all()


def test_printed_percentage_is_close_not_exact(fidelity):
    row = fidelity.loc["primary_percent_printed"]
    assert row["status"] == "close"
    assert row["recomputed_from_published"] == pytest.approx(100 * 8 / 19)
    assert row["gap"] == pytest.approx(100 * 8 / 19 - 42.0)


def test_printed_interval_is_not_the_exact_clopper_pearson_interval(fidelity):
    low, high = fidelity.loc["primary_ci_low_printed"], fidelity.loc["primary_ci_high_printed"]
    assert (low["status"], high["status"]) == ("not reproduced", "not reproduced")
    assert (round(low["recomputed_from_published"], 1), round(high["recomputed_from_published"], 1)) == (20.3, 66.5)
    assert "20.3-66.5" in low["why"]


def test_values_recomputed_from_published_counts_are_not_in_the_reconstructed_column(fidelity):
    recomputed = ["primary_percent_printed", "primary_ci_low_printed", "primary_ci_high_printed"]
    assert fidelity.loc[recomputed, "reconstructed"].isna().all()
    assert fidelity.loc[recomputed, "value_from"].str.startswith("recomputed from the published counts").all()
    others = fidelity.drop(index=recomputed)
    assert others["recomputed_from_published"].isna().all()
    assert others["value_from"].str.contains("synthetic").all()


def test_table2_is_compared_at_the_printed_precision(fidelity):
    # Table 2 prints "3.8 (3.2-4.0)": the upper quartile 4.0 is compared at one decimal, rounded half up
    row = fidelity.loc["table2_physician_global_end_q3"]
    assert row["published"] == "4.0"
    assert row["reconstructed"] == pytest.approx(4.05) and row["status"] == "close"  # 4.05 prints as 4.1
    assert fidelity.loc["table2_mmt_change_q1", "published"] == "-7.0"


@pytest.mark.parametrize(
    "key",
    [
        "haq_values_off_grid",
        "patient2_at_mmt_maximum",
        "patient2_mmt_points_reachable",
        "amendment_rule_exceptions",
        "amended_early_end",
    ],
)
def test_instrument_and_protocol_rows_are_exact(fidelity, key):
    assert fidelity.loc[key, "status"] == "exact"
    assert fidelity.loc[key, "reconstructed"] == {"amended_early_end": 1}.get(key, 0)


def test_sensitivity_55_percent_is_a_documented_gap(fidelity):
    row = fidelity.loc["sensitivity_tis20_incl_2_4_percent"]
    assert row["status"] == "not reproduced"
    assert row["reconstructed"] == pytest.approx(50.0)
    assert "11/20" in row["why"]


def test_baseline_and_change_quartiles_are_exact_by_construction(fidelity):
    keys = [k for k in fidelity.index if k.startswith("table2_") and ("_baseline_" in k or "_change_" in k)]
    assert len(keys) == 36
    assert (fidelity.loc[keys, "status"] == "exact").all()


def test_end_quartiles_are_close_except_the_documented_ones(fidelity):
    end = fidelity[fidelity.index.str.contains("_end_") & fidelity.index.str.startswith("table2_")]
    assert len(end) == 18
    assert set(end["status"]) <= {"exact", "close", "not reproduced"}
    assert (end.loc[end["status"] == "not reproduced", "why"].str.contains("pairing")).all()
    assert (end["status"] != "not reproduced").sum() >= 15
    assert end.loc["table2_ck_end_median", "status"] == "not reproduced"


def test_demographics_are_not_modelled_and_say_so(fidelity):
    for key in ("age_at_onset_median", "females", "dysphagia"):
        assert fidelity.loc[key, "status"] == "not reproduced"
        assert fidelity.loc[key, "why"] == NOT_MODELLED


def test_design_facts_are_left_out(fidelity):
    assert "sample_size_width" not in fidelity.index and "screened" not in fidelity.index


def test_sensitivity_table_counts(cohort):
    table = sensitivity_table(patient_courses(cohort)).set_index("analysis")
    assert table.loc["analysed (19), TIS >= 20", "responders"] == 9
    assert table.loc["analysed (19), TIS >= 20", "patients"] == 19
    assert table.loc["with patients 2 and 4, TIS > 20", "patients"] == 20


def test_responders_by_subtype_adds_up_and_is_labelled_synthetic(cohort):
    subtypes = responders_by_subtype(patient_courses(cohort))
    assert subtypes["responders"].sum() == 8 and subtypes["patients"].sum() == 19
    assert "ci_low" not in subtypes.columns  # nothing to estimate on a synthetic split
    assert (subtypes["data_source"] == DATA_SOURCE).all()


def test_every_table_from_the_cohort_carries_its_synthetic_label(cohort):
    courses = patient_courses(cohort)
    for table in (
        table2(cohort),
        wilcoxon_comparison(cohort),
        sensitivity_table(courses),
        courses,
        cumulative_responders(courses),
    ):
        assert (table["data_source"] == DATA_SOURCE).all()


def test_table2_baseline_medians_match_the_paper(cohort):
    recomputed = table2(cohort).set_index("measure")
    assert recomputed.loc["mmt", "baseline_median"] == 211
    assert recomputed.loc["ck", "baseline_median"] == 1199
    # HAQ lives on its 1/8 grid: the median change -0.625 prints as Table 2's -0.6
    assert recomputed.loc["haq", "change_median"] == -0.625


def test_wilcoxon_comparison_has_both_p_values(cohort):
    comparison = wilcoxon_comparison(cohort)
    assert len(comparison) == 6
    assert comparison[["p_spss", "p_scipy_default"]].apply(lambda p: p.between(0, 1)).all().all()
    assert (comparison["n_nonzero"] <= 19).all()
