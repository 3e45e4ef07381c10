"""The site-report notebook run as a notebook (papermill), outside the batch."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import papermill
import pytest

from .helpers import DEMO_ADVERSE_EVENTS, DEMO_REGISTRY, SITE_REPORT


def run_alone(site: str, output, folder, **parameters) -> None:
    """The site-report notebook run by papermill on its own, on the whole demo registry, working in ``folder``."""
    papermill.execute_notebook(
        str(SITE_REPORT),
        str(output),
        kernel_name="python3",
        cwd=str(folder),
        progress_bar=False,
        parameters={
            "site": site,
            "data_path": str(DEMO_REGISTRY),
            "adverse_events_path": str(DEMO_ADVERSE_EVENTS),
            "population": "adult",
            **parameters,
        },
    )


@pytest.mark.notebook
@pytest.mark.slow
def test_executed_reports_hold_only_their_own_sites_patients(tmp_path):
    """Run the notebook for two sites (absolute paths, from another folder) and search every output."""
    registry = pd.read_csv(DEMO_REGISTRY, dtype=str, keep_default_na=False)
    ids = registry.groupby("site")["patient_id"].apply(set)
    for site in ("Nijmegen UMC", "Zürich"):
        output, summary_path = tmp_path / f"{site}.ipynb", tmp_path / f"{site}.json"
        run_alone(site, output, tmp_path, summary_path=str(summary_path))
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
        assert figures.count('<img src="data:image/svg+xml;base64,') == 4
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


def _report_tables(notebook_path) -> dict[str, str]:
    """Every captioned table of an executed site report, by caption number (the HTML as shown)."""
    import re

    executed = nbformat.read(notebook_path, as_version=4)
    html = "".join(
        output.get("data", {}).get("text/html", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    tables = re.findall(r"<table\b.*?</table>", html, flags=re.S)
    return {re.search(r"Table (\d+)\.", t).group(1): t for t in tables if re.search(r"Table (\d+)\.", t)}


@pytest.mark.notebook
@pytest.mark.slow
def test_the_batch_shows_the_tables_the_notebook_shows_on_its_own(tmp_path):
    """The batch's shortcuts (the site's slice, the parent's pooled summary, a kernel forked from a warm zygote)
    change no table: the same site run alone on the whole registry shows the same tables, but for the
    provenance (input files) and the comparison with an earlier report (there is none)."""
    from ivig_kit.cli import main

    site = "Zürich"
    out = tmp_path / "out"
    assert main(["reports", str(DEMO_REGISTRY), "--out", str(out), "--sites", site, "--quiet"]) == 0
    batch_notebook = next(out.glob("zurich-*.ipynb"))
    alone = tmp_path / "alone.ipynb"
    run_alone(site, alone, tmp_path)
    in_batch, on_its_own = _report_tables(batch_notebook), _report_tables(alone)
    compared = sorted(set(on_its_own) - {"11"}, key=int)
    assert compared == [str(n) for n in range(1, 11)]
    for number in compared:
        assert in_batch[number] == on_its_own[number], f"Table {number} differs between the batch and the notebook"
    assert in_batch["11"] != on_its_own["11"]  # provenance names the slice, not the registry file
