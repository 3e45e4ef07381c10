"""The site report: parameters, hand-checked tables on a tiny two-site registry, the JSON summary, and
privacy (a site's report never contains another site's patient identifier)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from ivig_kit import errors
from ivig_kit.errors import InputError
from ivig_kit.reports.content import display, parameters, tables
from ivig_kit.reports.content import site as report_site
from ivig_kit.reports.content import summary as report_summary

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "site_report.ipynb"
REGISTRY = REPO / "data" / "demo_registry.csv"
ADVERSE_EVENTS = REPO / "data" / "demo_adverse_events.csv"

# --- A tiny registry whose numbers can be checked by hand -------------------------------------------------------
#
# Baseline of everyone: physician 6, patient 6, extramuscular 4 cm, HAQ 1.5, MMT 100/150, CK 1000 (ULN 200).
# "better": physician 3 (30% of 10 cm: 17.5), patient 3 (30%: 7.5), extramuscular 2 (20%: 12.5), HAQ 0.9
# (0.6/3 = 20%: 7.5), MMT 130 (30/150 = 20% exactly, right-closed band 10-20%: 20), CK 500 (50% relative: 7.5)
# -> TIS 72.5. "worse": extramuscular 6.5 (2.5 cm worse: a deterioration criterion), nothing else changes -> TIS 0.
BASE = dict(physician_global=6.0, patient_global=6.0, extramuscular=4.0, haq=1.5, mmt=100, ck=1000)
BETTER = dict(physician_global=3.0, patient_global=3.0, extramuscular=2.0, haq=0.9, mmt=130, ck=500)
WORSE = dict(BASE, extramuscular=6.5)
BETTER_POINTS = {"physician_global": 17.5, "patient_global": 7.5, "mmt": 20.0, "haq": 7.5, "enzyme": 7.5,
                 "extramuscular": 12.5}


def visit(site, patient, week, values, arm, **changes):
    return {"site": site, "patient_id": patient, "week": week, **values, **changes, "mmt_max": 150, "ck_uln": 200,
            "arm": arm, "subtype": "DM", "visit_date": f"2023-01-{1 + week:02d}",
            "data_source": "synthetic test registry"}


TINY_VISITS = [
    # site "A b": A-01 responder who missed week 8 and had an unscheduled week 6
    visit("A b", "A-01", 0, BASE, "IVIg"), visit("A b", "A-01", 4, BETTER, "IVIg"),
    visit("A b", "A-01", 6, BETTER, "IVIg"), visit("A b", "A-01", 12, BETTER, "IVIg"),
    # A-02 unchanged, HAQ missing at week 8: last complete TIS is week 12 (0)
    visit("A b", "A-02", 0, BASE, "placebo"), visit("A b", "A-02", 4, BASE, "placebo"),
    visit("A b", "A-02", 8, BASE, "placebo", haq=None), visit("A b", "A-02", 12, BASE, "placebo"),
    # A-03 worse at weeks 4 and 8 (confirmed at 8), then stopped
    visit("A b", "A-03", 0, BASE, "placebo"), visit("A b", "A-03", 4, WORSE, "placebo"),
    visit("A b", "A-03", 8, WORSE, "placebo"),
    # site "Zürich": two responders
    *[visit("Zürich", p, w, BASE if w == 0 else BETTER, "IVIg") for p in ("Z-01", "Z-02") for w in (0, 4, 8, 12)],
]
TINY_EVENTS = pd.DataFrame([
    ("A b", "A-01", 4, "headache", "no", "yes"),
    ("A b", "A-03", 8, "pulmonary embolism", "yes", "yes"),
    ("Zürich", "Z-01", 4, "deep vein thrombosis", "yes", "yes"),
    ("Zürich", "Z-02", 12, "rash", "no", ""),
], columns=["site", "patient_id", "week", "event", "serious", "related"])


@pytest.fixture
def tiny(tmp_path):
    data, events = tmp_path / "visits.csv", tmp_path / "events.csv"
    pd.DataFrame(TINY_VISITS).to_csv(data, index=False)
    TINY_EVENTS.to_csv(events, index=False)
    return data, events


@pytest.fixture
def report(tiny):
    return report_site.load_site("A b", *tiny, min_cell_size=1)  # both tiny sites are under the default 5


# --- Parameters ---------------------------------------------------------------------------------------------


def test_report_parameters_are_the_notebooks_and_the_contracts():
    assert parameters.REPORT_PARAMETERS == ("site", "data_path", "adverse_events_path", "pooled_summary_path",
                                             "population", "min_cell_size", "summary_path")
    declared = papermill.inspect_notebook(str(NOTEBOOK))
    assert list(declared) == list(parameters.REPORT_PARAMETERS)
    defaults = {name: declared[name]["default"] for name in declared}
    assert defaults == {"site": '"Amsterdam"', "data_path": '"../data/demo_registry.csv"',
                        "adverse_events_path": '"../data/demo_adverse_events.csv"', "pooled_summary_path": '""',
                        "population": '"adult"', "min_cell_size": "5", "summary_path": '""'}


def test_valid_parameters_come_back_resolved(tiny, tmp_path):
    checked = parameters.validate_report_parameters("Zürich", str(tiny[0]), "", "juvenile",
                                                     str(tmp_path / "s.json"))
    assert checked.site == "Zürich" and checked.data_path == tiny[0].resolve()
    assert checked.adverse_events_path is None and checked.population == "juvenile"
    assert checked.summary_path == (tmp_path / "s.json").resolve()
    assert checked.as_dict()["adverse_events_path"] == ""


@pytest.mark.parametrize("arguments, message", [
    ((7, "DATA"), r"site must be text, got int 7.*'007' does not become 7"),
    (("", "DATA"), "site is empty"),
    (("Zurich", "DATA"),
     r"site 'Zurich' is not in visits.csv \(did you mean 'Zürich'\?\); its sites are: 'A b', 'Zürich'"),
    (("A b", "DATA", "", "children"), "population must be one of adult, juvenile, not 'children'"),
    (("A b", "nowhere.csv"), "data_path: file not found: 'nowhere.csv'"),
    (("A b", "DATA", "no_events.csv"), "adverse_events_path: file not found: 'no_events.csv'"),
    (("A b", "DATA", "", "adult", "/no/such/folder/s.json"), "summary_path '/no/such/folder/s.json': folder"),
    (("A b", "DATA", "", "adult", "FOLDER"), "is a folder"),
])
def test_bad_parameters_get_a_clear_message(tiny, tmp_path, arguments, message):
    arguments = [str(tiny[0]) if a == "DATA" else str(tmp_path) if a == "FOLDER" else a for a in arguments]
    with pytest.raises(errors.ReportParameterError, match=message) as raised:
        parameters.validate_report_parameters(*arguments)
    assert isinstance(raised.value, InputError)


def test_all_problems_are_reported_at_once(tiny):
    with pytest.raises(errors.ReportParameterError) as raised:
        parameters.validate_report_parameters(7, "missing.csv", "", "kids")
    assert len(str(raised.value).splitlines()) == 3


def test_a_broken_visit_table_gets_the_located_validation_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("patient,score\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a visit table"):
        parameters.validate_report_parameters("A", str(path))


# --- Hand-checked numbers -------------------------------------------------------------------------------------


def test_visit_pattern_is_the_weeks_most_patients_attended(report):
    # weeks 0 and 4: 5 of 5 patients; 8 and 12: 4 of 5; week 6: 1 of 5 (< 25%)
    assert report.visit_pattern == (0.0, 4.0, 8.0, 12.0)


def test_site_metrics_by_hand(report):
    m = report.site_metrics
    assert (m["patients"], m["visits"], m["last_week"]) == (3, 11, 12)
    assert (m["patients_scored"], m["responders"]) == (3, 1)  # A-01 72.5; A-02 0 (week 12); A-03 0 (week 8)
    assert m["responder_percent"] == pytest.approx(100 / 3)
    assert m["mean_last_tis"] == pytest.approx(72.5 / 3)
    assert m["confirmed_deteriorations"] == 1
    assert (m["missing_csm_visits"], m["missed_visits"], m["out_of_pattern_visits"], m["stopped_early"]) == (1, 1, 1, 1)
    assert (m["adverse_events"], m["serious_adverse_events"], m["thromboembolic_events"]) == (2, 1, 1)
    assert m["data_cutoff"] == "2023-01-13"


def test_pooled_metrics_and_other_sites_are_aggregates(report):
    assert report.pooled_metrics["patients"] == 5
    assert report.pooled_metrics["responders"] == 3 and report.pooled_metrics["responder_percent"] == 60
    assert report.pooled_metrics["thromboembolic_events"] == 2
    assert len(report.other_sites) == 1 and "site" not in report.other_sites.columns
    assert report.other_sites.loc[0, "responder_percent"] == 100
    pooled_week_4 = report.pooled_by_week.set_index("week").loc[4.0]
    assert (pooled_week_4["n"], pooled_week_4["responders"]) == (5, 3)


def test_patient_rows(report):
    patients = report.patients.set_index("patient_id")
    assert list(patients["last_tis"]) == [72.5, 0.0, 0.0]
    assert list(patients["last_scored_week"]) == [12.0, 12.0, 8.0]
    assert patients.loc["A-03", "confirmed_deterioration_week"] == 8
    assert math.isnan(patients.loc["A-01", "confirmed_deterioration_week"])


def test_responders_by_visit_with_clopper_pearson_intervals(report):
    table = tables.responders_by_visit(report).set_index(["week", "arm"])
    assert table.loc[(4.0, "IVIg"), ["n", "responders", "percent"]].tolist() == [1, 1, 100]
    assert table.loc[(4.0, "placebo"), ["n", "responders", "percent"]].tolist() == [2, 0, 0]
    assert (8.0, "IVIg") not in table.index  # A-01 missed week 8; week 6 is out of the pattern
    assert table.loc[(8.0, "placebo"), "n"] == 1  # A-02's week 8 has no complete TIS
    # exact intervals: 1/1 -> [0.025^(1/1)... ] i.e. lower = 0.025; 0/2 -> upper = 1 - 0.025^(1/2)
    assert table.loc[(4.0, "IVIg"), "ci_low"] == pytest.approx(2.5)
    assert table.loc[(4.0, "placebo"), "ci_high"] == pytest.approx(100 * (1 - 0.025 ** 0.5))


def test_responder_interval_one_of_three():
    low, high = report_site.responder_interval(1, 3)
    assert low == pytest.approx(1 - 0.975 ** (1 / 3))
    # upper limit p solves P(X <= 1 | n=3, p) = 0.025: (1-p)^3 + 3p(1-p)^2 = 0.025
    assert (1 - high) ** 3 + 3 * high * (1 - high) ** 2 == pytest.approx(0.025)
    assert all(math.isnan(v) for v in report_site.responder_interval(0, 0))


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (17, 36), (37, 47)])
def test_responder_interval_matches_statsmodels_clopper_pearson(k, n):
    from statsmodels.stats.proportion import proportion_confint

    assert report_site.responder_interval(k, n) == pytest.approx(proportion_confint(k, n, method="beta"), abs=1e-12)


def test_csm_contributions_are_mean_points_at_the_last_complete_tis(report):
    table = tables.csm_contributions(report)
    ivig = table["mean points, IVIg (n=1)"]
    assert list(ivig) == list(BETTER_POINTS.values())
    assert list(table["mean points, placebo (n=2)"]) == [0.0] * 6
    assert list(table["mean points, All (n=3)"]) == pytest.approx([p / 3 for p in BETTER_POINTS.values()])
    assert table["share of the mean TIS, All, %"].sum() == pytest.approx(100)
    assert table.loc["Manual muscle testing (MMT)", "share of the mean TIS, All, %"] == pytest.approx(20 / 72.5 * 100)


def test_confirmed_deterioration_listing(report):
    table = tables.confirmed_deteriorations(report)
    assert table.to_dict("records") == [{"patient_id": "A-03", "arm": "placebo", "subtype": "DM",
                                         "confirmed at week": 8.0, "criteria met at weeks": "4, 8",
                                         "TIS at confirmation": 0.0, "last visit week": 8.0}]


def test_enrolment_table(report):
    table = tables.enrolment_table(report)
    assert list(table.columns) == ["IVIg", "placebo", "All"]
    assert table.loc["Patients, n"].tolist() == ["1", "2", "3"]
    assert table.loc["Baseline CK, x ULN, median (IQR)", "All"] == "5.0 (5.0–5.0)"
    assert table.loc["Baseline manual muscle testing, % of scale, median (IQR)", "All"] == "67 (67–67)"
    assert table.loc["Followed to the last scheduled week, n (%)"].tolist() == ["1 (100.0%)", "1 (50.0%)", "2 (66.7%)"]


def test_adverse_event_tables(report):
    table = tables.adverse_event_table(report)
    assert table.loc["pulmonary embolism", "placebo: events (patients)"] == "1 (1)"
    assert table.loc["pulmonary embolism", "placebo: serious"] == 1
    assert table.loc["headache", "IVIg: serious"] == 0 and table.loc["headache", "related (all arms)"] == 1
    notable = tables.notable_adverse_events(report)
    assert notable[["patient_id", "event", "thromboembolic"]].to_numpy().tolist() == [
        ["A-03", "pulmonary embolism", "yes"]]


def test_data_quality(report):
    summary = tables.data_quality_summary(report)["count"]
    assert summary["Visits with at least one missing CSM value"] == 1
    assert summary["Follow-up visits without a complete TIS"] == 1
    assert summary["Missed scheduled visits"] == 1 and summary["Out-of-pattern visits"] == 1
    listing = tables.data_quality_listing(report)
    assert listing[["patient_id", "week", "problem"]].to_numpy().tolist() == [
        ["A-01", 6.0, "out-of-pattern visit"], ["A-01", 8.0, "missed scheduled visit"],
        ["A-02", 8.0, "missing CSM"], ["A-03", 8.0, "last visit before the last scheduled week"]]
    assert listing.loc[2, "detail"] == "haq"


def test_tis_by_patient_keeps_scheduled_weeks(report):
    table = tables.tis_by_patient(report)
    assert list(table.columns) == ["week 4", "week 8", "week 12"]
    assert table.loc["A-01"].tolist()[::2] == [72.5, 72.5] and math.isnan(table.loc["A-01", "week 8"])


def test_site_against_pooled(report):
    table = tables.site_against_pooled(report)
    assert list(table.columns) == ["A b", "all 2 sites pooled", "range over the 1 other sites"]
    assert table.loc["Patients"].tolist() == ["3", "5", "2 to 2"]
    assert table.loc["Responders at the last complete TIS", "A b"].startswith("33.3% (95% CI 0.8–90.6)")


def test_missing_enzyme_everywhere_counts_as_a_missing_csm():
    visits = pd.DataFrame({"physician_global": [1.0], "patient_global": [1.0], "extramuscular": [1.0],
                           "haq": [1.0], "mmt": [1.0], "ck": [np.nan], "aldolase": [np.nan]})
    assert report_site.missing_csm_counts(visits).loc[0].to_dict() == {
        "physician_global": False, "patient_global": False, "extramuscular": False, "haq": False, "mmt": False,
        "enzyme": True}


# --- Header, summary, provenance --------------------------------------------------------------------------------


def test_header_has_the_synthetic_banner_only_for_synthetic_data(report, tiny, tmp_path):
    header = display.header_html(report)
    assert "SYNTHETIC DATA" in header and "A b" in header and "2023-01-13" in header
    real = pd.DataFrame(TINY_VISITS).drop(columns=["data_source", "visit_date"])
    real.to_csv(tmp_path / "real.csv", index=False)
    plain = report_site.load_site("A b", tmp_path / "real.csv", min_cell_size=1)
    assert not plain.synthetic and "SYNTHETIC" not in display.header_html(plain)
    summary = report_summary.site_summary(plain)
    assert summary["adverse_events"] is None and summary["data_cutoff"] is None
    assert type(summary["patients"]) is int and type(summary["responders"]) is int  # counts stay integers


def test_summary_has_the_contract_keys_and_is_json(report, tiny):
    summary = report_summary.site_summary(report)
    for key in ("site", "patients", "visits", "last_week", "responders", "responder_percent",
                "confirmed_deteriorations", "adverse_events", "missing_csm_visits", "synthetic", "data_sha256"):
        assert key in summary
    assert summary["site"] == "A b" and summary["synthetic"] is True
    assert (summary["responders"], summary["adverse_events"], summary["missing_csm_visits"]) == (1, 2, 1)
    import hashlib
    assert summary["data_sha256"] == hashlib.sha256(tiny[0].read_bytes()).hexdigest()
    json.dumps(summary, allow_nan=False)


def test_write_site_summary_is_atomic(tmp_path):
    path = tmp_path / "site.json"
    report_summary.write_site_summary(path, {"site": "Zürich", "n": 1})
    assert json.loads(path.read_text(encoding="utf-8")) == {"site": "Zürich", "n": 1}
    assert "Zürich" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    with pytest.raises(ValueError):
        report_summary.write_site_summary(path, {"site": "Zürich", "n": float("nan")})
    assert json.loads(path.read_text(encoding="utf-8")) == {"site": "Zürich", "n": 1}  # the good file survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.json"]  # no temporary file left behind


def test_provenance_names_files_checksums_parameters_and_versions(report, tiny):
    table = report_summary.provenance(report)["value"]
    assert table["visit table"] == "visits.csv"  # the file's name, never a local folder
    assert not any(str(tiny[0].parent) in str(value) for value in table)
    assert table["parameter data_path"] == "'visits.csv'"
    assert len(table["visit table SHA-256"]) == 64
    assert table["visit table rows (pooled sites)"] == str(len(TINY_VISITS))
    assert table["parameter site"] == "'A b'"
    assert table["version of pandas"] == pd.__version__
    assert table["git commit of ivig-kit"] != ""


def test_git_commit_outside_a_checkout_is_unknown(tmp_path):
    assert report_summary.git_commit(tmp_path) == "unknown"


def test_adverse_event_table_errors(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("site,patient_id,event\nA,1,rash\n", encoding="utf-8")
    with pytest.raises(errors.AdverseEventTableError, match=r"missing column.*'week'"):
        report_site.read_adverse_events(path)
    path.write_text("site,patient_id,week,event,serious\nA,001,4,rash,maybe\n", encoding="utf-8")
    with pytest.raises(errors.AdverseEventTableError, match="row 1, column 'serious': expected yes or no"):
        report_site.read_adverse_events(path)
    path.write_text("site,patient_id,week,event\nA,001,4,Deep vein thrombosis\n", encoding="utf-8")
    events = report_site.read_adverse_events(path)
    assert events.loc[0, "patient_id"] == "001" and bool(events.loc[0, "thromboembolic"])


# --- Privacy -----------------------------------------------------------------------------------------------------


def test_loaded_report_and_its_tables_hold_no_other_sites_patient(report):
    texts = [report.visits.to_csv(), report.scores.to_csv(), report.patients.to_csv(),
             report.adverse_events.to_csv(), report.other_sites.to_csv(), report.pooled_by_week.to_csv(),
             repr(report.pooled_metrics), repr(report.site_metrics), json.dumps(report_summary.site_summary(report)),
             display.header_html(report), display.key_findings(report)]
    for table in (tables.enrolment_table, tables.tis_by_patient, tables.responders_by_visit,
                  tables.csm_contributions, tables.confirmed_deteriorations,
                  tables.adverse_event_table, tables.notable_adverse_events,
                  tables.data_quality_summary, tables.data_quality_listing,
                  tables.site_against_pooled, report_summary.provenance):
        texts.append(table(report).to_csv())
    text = "\n".join(texts)
    assert "A-01" in text  # the check can see identifiers
    assert "Z-01" not in text and "Z-02" not in text


@pytest.mark.notebook
@pytest.mark.slow
def test_executed_reports_hold_only_their_own_sites_patients(tmp_path):
    """Run the notebook for two sites (absolute paths, from another folder) and search every output."""
    registry = pd.read_csv(REGISTRY, dtype=str, keep_default_na=False)
    ids = registry.groupby("site")["patient_id"].apply(set)
    for site in ("Nijmegen UMC", "Zürich"):
        output, summary_path = tmp_path / f"{site}.ipynb", tmp_path / f"{site}.json"
        papermill.execute_notebook(
            str(NOTEBOOK), str(output), kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
            parameters={"site": site, "data_path": str(REGISTRY), "adverse_events_path": str(ADVERSE_EVENTS),
                        "population": "adult", "summary_path": str(summary_path)})
        notebook_text = output.read_text(encoding="utf-8")
        summary_text = summary_path.read_text(encoding="utf-8")
        others = set().union(*(ids[s] for s in ids.index if s != site))
        leaked = sorted(i for i in others if i in notebook_text or i in summary_text)
        assert not leaked, f"{site}'s report names other sites' patients: {leaked[:5]}"
        assert sum(i in notebook_text for i in ids[site]) >= len(ids[site]) // 2  # its own patients are there
        summary = json.loads(summary_text)
        assert summary["site"] == site and summary["synthetic"] is True
        assert summary["patients"] == len(ids[site])
        executed = nbformat.read(output, as_version=4)
        outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        figures = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
        assert figures.count('<img src="data:image/png;base64,') == 4
        assert not [o for o in outputs if "text/markdown" in o.get("data", {})]  # data never goes through Markdown
        assert "SYNTHETIC DATA" in notebook_text


@pytest.mark.notebook
@pytest.mark.slow
def test_an_unknown_site_stops_the_notebook_with_a_clear_error(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match=r"site 'Zurich' is not in demo_registry\.csv"):
        papermill.execute_notebook(
            str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
            parameters={"site": "Zurich", "data_path": str(REGISTRY), "adverse_events_path": "",
                        "population": "adult", "summary_path": ""})


def test_adverse_event_table_with_an_arm_that_had_no_event(tiny):
    """Found on a 200-site registry: a site whose placebo patients had no adverse event failed its report."""
    data, events = tiny
    TINY_EVENTS[TINY_EVENTS["patient_id"] != "A-03"].to_csv(events, index=False)  # A-03 is the placebo patient
    report = report_site.load_site("A b", data, events, min_cell_size=1)
    table = tables.adverse_event_table(report)
    assert table.loc["headache"].tolist() == ["1 (1)", 0, "0 (0)", 0, "1 (1)", 0, 1]
    assert list(table.columns) == ["IVIg: events (patients)", "IVIg: serious", "placebo: events (patients)",
                                   "placebo: serious", "All: events (patients)", "All: serious", "related (all arms)"]
