"""Fixtures of the report tests: the tiny two-site registry and its loaded report (also with hostile
names), and a fixture notebook with a three-site registry."""

from __future__ import annotations

import pandas as pd
import pytest

from ivig_kit.reports.content import site as report_site

from .helpers import (
    HOSTILE_SITE,
    TINY_EVENTS,
    TINY_VISITS,
    write_fixture_notebook,
    write_registry,
)


@pytest.fixture
def tiny(tmp_path):
    data, events = tmp_path / "visits.csv", tmp_path / "events.csv"
    pd.DataFrame(TINY_VISITS).to_csv(data, index=False)
    TINY_EVENTS.to_csv(events, index=False)
    return data, events


@pytest.fixture
def report(tiny):
    return report_site.load_site("A b", *tiny, min_cell_size=1)  # both tiny sites are under the default 5


@pytest.fixture
def tiny_report(tmp_path):
    """The hand-checked two-site registry of test_site.py, its site names and free text made hostile."""
    visits = pd.DataFrame(TINY_VISITS)
    visits["site"] = visits["site"].replace({"A b": HOSTILE_SITE})
    visits["data_source"] = "synthetic <img src=x onerror=alert(1)>"
    events = TINY_EVENTS.assign(site=TINY_EVENTS["site"].replace({"A b": HOSTILE_SITE}))
    data, adverse = tmp_path / "visits.csv", tmp_path / "events.csv"
    visits.to_csv(data, index=False)
    events.to_csv(adverse, index=False)
    return report_site.load_site(HOSTILE_SITE, data, adverse)


@pytest.fixture
def tiny_inputs(tmp_path):
    notebook = write_fixture_notebook(tmp_path / "fixture_report.ipynb")
    data = write_registry(tmp_path / "registry.csv", ["North", "South", "East"])
    return notebook, data
