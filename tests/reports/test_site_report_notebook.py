"""The site-report notebook run as a notebook (papermill), outside the batch."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import papermill
import pytest

from .helpers import DEMO_ADVERSE_EVENTS, DEMO_REGISTRY, SITE_REPORT


@pytest.mark.notebook
@pytest.mark.slow
def test_executed_reports_hold_only_their_own_sites_patients(tmp_path):
    """Run the notebook for two sites (absolute paths, from another folder) and search every output."""
    registry = pd.read_csv(DEMO_REGISTRY, dtype=str, keep_default_na=False)
    ids = registry.groupby("site")["patient_id"].apply(set)
    for site in ("Nijmegen UMC", "Zürich"):
        output, summary_path = tmp_path / f"{site}.ipynb", tmp_path / f"{site}.json"
        papermill.execute_notebook(
            str(SITE_REPORT),
            str(output),
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
            parameters={
                "site": site,
                "data_path": str(DEMO_REGISTRY),
                "adverse_events_path": str(DEMO_ADVERSE_EVENTS),
                "population": "adult",
                "summary_path": str(summary_path),
            },
        )
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
    with pytest.raises(papermill.PapermillExecutionError, match=r"site 'Zurich' is not in demo_registry.csv"):
        papermill.execute_notebook(
            str(SITE_REPORT),
            str(tmp_path / "out.ipynb"),
            kernel_name="python3",
            progress_bar=False,
            parameters={
                "site": "Zurich",
                "data_path": str(DEMO_REGISTRY),
                "adverse_events_path": "",
                "population": "adult",
                "summary_path": "",
            },
        )
