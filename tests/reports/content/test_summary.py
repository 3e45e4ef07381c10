"""The site's JSON summary (what the batch reads back) and the report's provenance."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ivig_kit.reports.content import summary as report_summary

from ..helpers import TINY_VISITS


def test_summary_has_the_contract_keys_and_is_json(report, tiny):
    summary = report_summary.site_summary(report)
    for key in (
        "site",
        "patients",
        "visits",
        "last_week",
        "responders",
        "responder_percent",
        "confirmed_deteriorations",
        "adverse_events",
        "missing_csm_visits",
        "synthetic",
        "data_sha256",
    ):
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


def test_package_versions_looked_up_once_are_those_of_the_metadata():
    import importlib.metadata
    import platform

    report_summary.warm_kernel_caches()
    cached = report_summary.package_versions()
    assert dict(report_summary._package_versions.__wrapped__(report_summary.PACKAGES)) == cached
    assert cached["python"] == platform.python_version()
    assert cached["pandas"] == importlib.metadata.version("pandas")
    cached["pandas"] = "changed by a caller"  # each call gets its own dict
    assert report_summary.package_versions()["pandas"] == importlib.metadata.version("pandas")
    assert report_summary.package_versions(["no-such-package-ivig"]) == {
        "python": platform.python_version(),
        "no-such-package-ivig": "not installed",
    }


def test_the_kits_git_commit_asked_once_is_the_uncached_one():
    import threading
    from pathlib import Path

    threads = threading.active_count()
    report_summary.warm_kernel_caches()
    assert threading.active_count() == threads  # a zygote that calls it may still fork safely
    checkout = Path(report_summary.__file__).resolve().parents[1]
    assert report_summary.git_commit() == report_summary._git_commit(checkout)


def test_the_registry_files_are_named_with_their_checksums_and_an_absent_table_is_empty(tiny):
    from ivig_kit.files import file_sha256
    from ivig_kit.reports.content import site

    data, events = tiny
    assert site.registry_files(data, events) == {
        "data_file": "visits.csv",
        "data_sha256": file_sha256(data),
        "adverse_events_file": "events.csv",
        "adverse_events_sha256": file_sha256(events),
    }
    assert site.registry_files(data)["adverse_events_file"] == site.registry_files(data)["adverse_events_sha256"] == ""


def test_a_stand_alone_report_records_the_same_registry_files_as_the_batch(report, tiny):
    """One provenance builder: load_site (no pooled summary) and the batch both use registry_files."""
    from ivig_kit.reports.content import site

    expected = site.registry_files(*tiny)
    assert {
        k: report.source[k] for k in ("data_file", "data_sha256", "adverse_events_file", "adverse_events_sha256")
    } == expected
