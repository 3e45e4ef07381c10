"""Pilot reanalysis on the reconstructed cohort: published counts, fidelity statuses, sensitivity."""

import pytest

from ivig_kit.trials.pilot import (
    NOT_MODELLED,
    patient_courses,
    pilot_fidelity_table,
    responders_by_subtype,
    sensitivity_table,
    table2,
    wilcoxon_comparison,
)
from ivig_kit.trials.reconstruct import read_reconstructed_cohort

OUTCOME_COUNTS = ["included_n", "analysed_n", "primary_responders", "responders_by_week3", "responders_by_week4",
                  "responders_by_week6", "tis20_by_week9", "transient_minimal", "amended_regimen",
                  "rescue_early_end", "confirmed_deteriorations", "subtype_dm", "subtype_imnm", "subtype_nm_om",
                  "subtype_ass", "analysed_subtype_dm", "analysed_subtype_imnm", "analysed_subtype_nm_om",
                  "analysed_subtype_ass"]


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
    assert row["reconstructed"] == pytest.approx(100 * 8 / 19)
    assert row["gap"] == pytest.approx(100 * 8 / 19 - 42.0)


def test_printed_interval_is_not_the_exact_clopper_pearson_interval(fidelity):
    low, high = fidelity.loc["primary_ci_low_printed"], fidelity.loc["primary_ci_high_printed"]
    assert (low["status"], high["status"]) == ("not reproduced", "not reproduced")
    assert (round(low["reconstructed"], 1), round(high["reconstructed"], 1)) == (20.3, 66.5)
    assert "20.3-66.5" in low["why"]


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
    end = fidelity[fidelity.index.str.contains("_end_")]
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


def test_responders_by_subtype_adds_up_to_eight_of_nineteen(cohort):
    subtypes = responders_by_subtype(patient_courses(cohort))
    assert subtypes["responders"].sum() == 8 and subtypes["patients"].sum() == 19
    assert (subtypes["ci_low"] <= subtypes["percent"]).all() and (subtypes["percent"] <= subtypes["ci_high"]).all()


def test_table2_baseline_medians_match_the_paper(cohort):
    recomputed = table2(cohort).set_index("measure")
    assert recomputed.loc["mmt", "baseline_median"] == 211
    assert recomputed.loc["ck", "baseline_median"] == 1199
    assert recomputed.loc["haq", "change_median"] == pytest.approx(-0.6)


def test_wilcoxon_comparison_has_both_p_values(cohort):
    comparison = wilcoxon_comparison(cohort)
    assert len(comparison) == 6
    assert comparison[["p_spss", "p_scipy_default"]].apply(lambda p: p.between(0, 1)).all().all()
    assert (comparison["n_nonzero"] <= 19).all()
