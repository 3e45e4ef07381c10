"""The output folder's history: one run appended per batch, bounded, checked before it is written and on read;
a broken history stops a batch before anything runs (unless --force starts a new one)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from ivig_kit.cli import main
from ivig_kit.reports.content import trends
from ivig_kit.reports.runner import history
from ivig_kit.reports.runner.tasks import ReportBatch, SiteResult

REPO = Path(__file__).resolve().parents[3]


def batch(out: Path) -> ReportBatch:
    return ReportBatch(
        data_path=Path("/somewhere/registry.csv"),
        out_dir=out,
        notebook=Path("site_report.ipynb"),
        tasks=[],
        all_sites=["A", "B"],
        adverse_events_path=None,
        population="adult",
        data_sha256="b" * 64,
    )


def result(site: str, **summary) -> SiteResult:
    figures = {
        "patients": 9,
        "patients_scored": 8,
        "responders": 4,
        "responder_percent": 50.0,
        "confirmed_deteriorations": 1,
        "adverse_events": 3,
        "missing_csm_visits": 2,
        "pooled_responder_percent": 47,
        **summary,
    }
    return SiteResult(
        site=site,
        slug=site.lower(),
        status="ok",
        seconds=1.0,
        attempts=1,
        files={},
        summary=figures,
        made_at="2026-03-01T09:00:00+01:00",
    )


def test_a_run_holds_every_site_with_a_report_and_no_folder(tmp_path):
    failed = SiteResult(site="C", slug="c", status="failed", seconds=0, attempts=1, files={})
    at = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    entry = history.run_entry(
        batch(tmp_path),
        [result("A"), result("B", responder_percent=None), failed],
        at,
        {"S": 2, "T": 4},
        {"patients_scored": 16, "responders": 8, "responder_percent": 50.0},
    )
    assert list(entry["sites"]) == ["A", "B"] and entry["data_file"] == "registry.csv"
    assert entry["sites"]["A"]["made_at"] == "2026-03-01T09:00:00+01:00" and entry["run_at"].startswith("2026-03-02")
    assert entry["sites"]["B"]["responder_percent"] is None
    path = history.append_run(tmp_path, entry)
    assert "/somewhere" not in path.read_text(encoding="utf-8")
    assert trends.read_history(path)["runs"][0]["merged_group"] == {"S": 2, "T": 4}


def test_the_oldest_runs_are_dropped_beyond_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "MAX_RUNS", 3)
    for day in range(1, 6):
        at = datetime.datetime(2026, 3, day, tzinfo=datetime.UTC)
        history.append_run(tmp_path, history.run_entry(batch(tmp_path), [result("A")], at, {}, {}))
    runs = trends.read_history(tmp_path / "history.json")["runs"]
    assert [r["run_at"][:10] for r in runs] == ["2026-03-03", "2026-03-04", "2026-03-05"]


def test_the_file_never_grows_past_what_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "MAX_HISTORY_BYTES", 3_000)
    for day in range(1, 20):
        at = datetime.datetime(2026, 3, day, tzinfo=datetime.UTC)
        history.append_run(tmp_path, history.run_entry(batch(tmp_path), [result("A"), result("B")], at, {}, {}))
    path = tmp_path / "history.json"
    assert path.stat().st_size <= 3_000
    runs = trends.read_history(path)["runs"]
    assert runs[-1]["run_at"].startswith("2026-03-19") and len(runs) < 19


def test_an_entry_that_breaks_the_schema_is_not_written(tmp_path):
    entry = history.run_entry(batch(tmp_path), [result("A", patients=-3)], datetime.datetime.now().astimezone(), {}, {})
    with pytest.raises(trends.HistoryError):
        history.append_run(tmp_path, entry)
    assert not (tmp_path / "history.json").exists()


def test_a_broken_history_stops_the_batch_before_anything_runs_and_force_starts_again(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "history.json").write_text(json.dumps({"kind": "not ours"}), encoding="utf-8")
    code = main(["reports", str(REPO / "data" / "example_visits.csv"), "--out", str(out), "--quiet"])
    error = capsys.readouterr().err
    assert code == 2 and "history.json" in error and "Traceback" not in error
    assert history.load_history(out, force=True) == trends.empty_history()
