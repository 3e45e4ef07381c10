"""The registry report's content: per-site data quality by its stated definitions, the funnel table and its
flags, the 2004 hook, registry.json and its schema, escaping, and the history's checks and trend tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ivig_kit.errors import InputError, ReportParameterError
from ivig_kit.inference import funnel_limits
from ivig_kit.reports.content import registry, registry_funnel, registry_json, registry_quality, trends
from ivig_kit.reports.content.display import table_html

BASE = {"physician_global": 6.0, "patient_global": 6.0, "extramuscular": 4.0, "haq": 1.5, "mmt": 100, "ck": 1000}
BETTER = {"physician_global": 3.0, "patient_global": 3.0, "extramuscular": 2.0, "haq": 0.9, "mmt": 130, "ck": 500}
HOSTILE = "<script>alert('x')</script> & Co"


def visit(site, patient, week, values, **changes):
    return {
        "site": site,
        "patient_id": patient,
        "week": week,
        **values,
        **changes,
        "mmt_max": 150,
        "ck_uln": 200,
        "arm": "IVIg",
        "data_source": "synthetic test registry",
    }


def small_registry(tmp_path) -> registry.RegistryReport:
    """Site A: 6 patients on the pattern 0/4/8 (A5 seen only at baseline; A4 misses week 4 and comes at week 6:
    late; A0 has a VAS at 0 and an MMT at its maximum). Site HOSTILE: 6 patients, all responders."""
    rows = []
    for i in range(6):
        if i == 5:
            rows.append(visit("A", f"A{i}", 0, BASE))
            continue
        weeks = (0, 6, 8) if i == 4 else (0, 4, 8)
        for week in weeks:
            values = BASE if week == 0 else (BETTER if i % 2 else BASE)
            changes = {"patient_global": 0.0, "mmt": 150} if (i == 0 and week == 8) else {}
            rows.append(visit("A", f"A{i}", week, values, **changes))
    for i in range(6):
        rows += [visit(HOSTILE, f"H{i}", week, BASE if week == 0 else BETTER) for week in (0, 4, 8)]
    path = tmp_path / "registry.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return registry.load_registry(registry.validate_registry_parameters(str(path), "", "adult", 5, "", False, ""))


def test_data_quality_by_its_stated_definitions(tmp_path):
    report = small_registry(tmp_path)
    a = report.sites.loc["A"]
    assert a["patients"] == 6 and a["baseline_only"] == 1
    assert a["late_visits"] == 1  # A4 at week 6 after missing week 4; week 6 is outside the pattern 0, 4, 8
    measured = 5 * 3 * 5 + 1 * 5 - 0  # 16 visits x (3 VAS + HAQ + MMT) values, none missing
    assert a["floor_ceiling_percent"] == pytest.approx(100 * 2 / measured)
    weeks = 8 * 5  # five followed patients, weeks 0 to 8
    assert a["patient_years"] == pytest.approx(weeks / registry_quality.WEEKS_PER_YEAR)
    assert report.sites.loc[HOSTILE, "baseline_only"] == 0 and report.sites.loc[HOSTILE, "late_visits"] == 0


def test_the_funnel_table_keeps_registry_order_and_flags_by_the_policy():
    events = pd.Series([20, 1, 10], index=["First", "Second", "Third"])
    n = pd.Series([50, 50, 50], index=events.index)
    table = registry_funnel.funnel_table(events, n, 0.2)
    assert list(table.index) == ["First", "Second", "Third"]  # not ranked
    assert dict(table["flag"]) == {"First": "alarm", "Second": "alarm", "Third": ""}
    assert dict(table["direction"]) == {"First": "above", "Second": "below", "Third": ""}
    assert table.loc["Third", "lower_99.8"] == pytest.approx(100 * 1.739 / 50, abs=1e-3)
    assert table.loc["Third", "upper_95"] == pytest.approx(100 * funnel_limits(0.2, 50).upper)
    assert list(registry_funnel.flagged_sites(table).index) == ["First", "Second"]


def test_a_site_without_a_scored_patient_gets_no_limits():
    table = registry_funnel.funnel_table(
        pd.Series([0, 5], index=["Empty", "Full"]), pd.Series([0, 10], index=["Empty", "Full"]), 0.5
    )
    assert table.loc["Empty", "flag"] == "" and math.isnan(table.loc["Empty", "lower_95"])


def test_the_2004_definition_appears_when_the_scored_table_has_it(tmp_path, monkeypatch):
    assert small_registry(tmp_path).funnel_2004 is not None  # the engine scores the 2004 definition
    original = registry.total_improvement_score

    def without_2004(visits, **kwargs):
        return original(visits, **kwargs).drop(columns=["imacs_2004_improved"])

    monkeypatch.setattr(registry, "total_improvement_score", without_2004)
    assert small_registry(tmp_path).funnel_2004 is None  # a table scored without it: the note, not a stub

    def with_2004(visits, **kwargs):
        scores = original(visits, **kwargs)
        return scores.assign(imacs_2004_improved=scores["tis"].ge(20).where(scores["tis"].notna()))

    monkeypatch.setattr(registry, "total_improvement_score", with_2004)
    report = small_registry(tmp_path)
    assert report.funnel_2004 is not None
    assert report.funnel_2004.loc[HOSTILE, "responders"] == 6
    summary = registry_json.registry_summary(report)
    registry_json.check_registry_summary(summary)
    assert summary["definition_2004"]["sites"][1]["improved"] == 6


def test_registry_json_follows_its_schema_and_a_broken_one_is_refused(tmp_path):
    report = small_registry(tmp_path)
    summary = registry_json.registry_summary(report)
    path = registry_json.write_registry_summary(tmp_path / "registry.json", summary)
    assert registry_json.read_registry_summary(path)["sites"][1]["site"] == HOSTILE
    assert summary["target"]["proportion"] == pytest.approx(
        summary["target"]["responders"] / summary["target"]["patients_scored"], abs=1e-6
    )
    broken = json.loads(path.read_text(encoding="utf-8"))
    broken["sites"][0]["proportion"] = 1.5
    with pytest.raises(ValueError, match="sites/0/proportion"):
        registry_json.check_registry_summary(broken)


def test_every_site_name_is_escaped(tmp_path):
    report = small_registry(tmp_path)
    for page in (
        registry.header_html(report),
        registry.key_findings_html(report),
        table_html(registry.data_quality_table(report), "Table 2. Data quality."),
        table_html(registry.safety_table(report), "Table 3. Safety."),
    ):
        assert "<script>" not in page
    assert "&lt;script&gt;" in table_html(registry.data_quality_table(report), "Table 2. Data quality.")


def test_parameters_report_every_problem_at_once(tmp_path):
    with pytest.raises(ReportParameterError) as error:
        registry.validate_registry_parameters(str(tmp_path / "missing.csv"), "", "child", 0, "", "yes", "")
    lines = str(error.value).splitlines()
    assert len(lines) == 4 and "data_path" in lines[0]
    defaults = registry.validate_registry_parameters()
    assert defaults.data_path.name == "demo_registry.csv" and defaults.adverse_events_path is not None


# --- The history ---------------------------------------------------------------------------------------------


def run(at: str, sites: dict, merged: dict | None = None) -> dict:
    return {
        "run_at": at,
        "data_file": "r.csv",
        "data_sha256": "a" * 64,
        "population": "adult",
        "min_cell_size": 5,
        "merged_group": merged or {},
        "pooled": {"patients_scored": 20, "responders": 10, "responder_percent": 50.0},
        "sites": {
            name: {
                "made_at": at,
                "reused": False,
                "patients": figures[0],
                "patients_scored": figures[0],
                "responders": figures[1],
                "responder_percent": 100 * figures[1] / figures[0],
                "confirmed_deteriorations": 0,
                "adverse_events": None,
                "missing_csm_visits": 1,
                "pooled_responder_percent": 50,
            }
            for name, figures in sites.items()
        },
    }


def write(tmp_path, record) -> object:
    path = tmp_path / "history.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_history_round_trip_trend_table_and_previous_entry(tmp_path):
    history = {
        **trends.empty_history(),
        "runs": [
            run("2026-01-05T10:00:00+00:00", {"B": (10, 5), "A": (8, 2)}, {"S": 2, "T": 4}),
            run("2026-02-05T10:00:00+00:00", {"B": (12, 7)}),
        ],
    }
    read = trends.read_history(write(tmp_path, history))
    table = trends.trend_table(read)
    assert list(table.index) == ["B", "A"]  # registry order, never ranked
    assert table.loc["B"].tolist() == ["5/10 (50%)", "7/12 (58%)"]
    assert table.loc["A"].tolist() == ["2/8 (25%)", ""]
    assert trends.previous_entry(read, "A")["run_at"].startswith("2026-01-05")
    assert trends.previous_entry(read, "Nobody") is None
    assert trends.published_groups(read) == [{"S": 2, "T": 4}]


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda h: h.update(kind="something else"), "kind"),
        (lambda h: h["runs"][0]["sites"]["A"].update(patients=-1), "patients"),
        (lambda h: h["runs"][0].update(extra=1), "Additional properties"),
        (lambda h: h["runs"][0].update(data_sha256="../etc"), "data_sha256"),
    ],
)
def test_a_broken_history_is_refused_with_a_located_message(tmp_path, change, words):
    history = {**trends.empty_history(), "runs": [run("2026-01-05T10:00:00+00:00", {"A": (8, 2)})]}
    change(history)
    with pytest.raises(trends.HistoryError, match=words) as error:
        trends.read_history(write(tmp_path, history))
    assert isinstance(error.value, InputError) and "--force" in str(error.value)


def test_history_reading_is_bounded(tmp_path, monkeypatch):
    path = write(tmp_path, trends.empty_history())
    monkeypatch.setattr(trends, "MAX_HISTORY_BYTES", 10)
    with pytest.raises(trends.HistoryError, match="larger than"):
        trends.read_history(path)
    monkeypatch.undo()
    path.write_text('{"kind": NaN}', encoding="utf-8")
    with pytest.raises(trends.HistoryError, match="not UTF-8 JSON"):
        trends.read_history(path)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    with pytest.raises(trends.HistoryError, match="regular file"):
        trends.read_history(link)
    assert trends.read_history(tmp_path / "none.json") == trends.empty_history()


def test_since_last_report_rounds_the_pooled_figure_and_signs_changes():
    previous = run("2026-01-05T10:00:00+00:00", {"A": (8, 2)})["sites"]["A"]
    current = dict(
        previous, patients=10, patients_scored=10, responders=5, responder_percent=50.0, pooled_responder_percent=52.6
    )
    table = trends.since_last_report(current, previous)
    assert table.loc["Responders", "change"] == "+3"
    assert table.loc["Responders (%)"].tolist() == ["25.0", "50.0", "+25.0"]
    assert table.loc["All sites pooled: responders (%, whole numbers)"].tolist() == ["50", "53", "+3"]
    assert trends.since_last_report(current, None).empty
    assert np.all(
        table.index
        == [
            "Patients",
            "Patients with a complete TIS",
            "Responders",
            "Responders (%)",
            "Confirmed deteriorations",
            "Adverse events",
            "Visits with a missing CSM value",
            "All sites pooled: responders (%, whole numbers)",
        ]
    )
