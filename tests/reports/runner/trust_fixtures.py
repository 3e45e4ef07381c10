"""A tiny report notebook and registry for the trust tests (self-contained: the shared fixtures of the
batch tests are being moved)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "example_visits.csv"
PARAMETERS = (
    'site = "AMS"\ndata_path = ""\nadverse_events_path = ""\npooled_summary_path = ""\n'
    'population = "adult"\nmin_cell_size = 5\nsummary_path = ""\nsleep_s = 0'
)
RUN = (
    "import json, time\nfrom pathlib import Path\nimport pandas as pd\n"
    "time.sleep(sleep_s)\n"
    "visits = pd.read_parquet(data_path)\n"
    "summary = {'site': site, 'patients': int(visits.patient_id.nunique()), 'visits': len(visits)}\n"
    "Path(summary_path).write_text(json.dumps(summary), encoding='utf-8')"
)


def tiny_notebook(path: Path) -> Path:
    """A report notebook with the contract's parameters (and ``sleep_s``) that writes its summary."""
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Tiny report"),
            parameters,
            nbformat.v4.new_markdown_cell("## Patients"),
            nbformat.v4.new_code_cell(RUN),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def tiny_registry(path: Path, sites: list[str]) -> Path:
    """The example table's first patient copied to each site."""
    example = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    first = example[example["patient_id"] == "001"]
    frames = []
    for number, site in enumerate(sites):
        rows = first.copy()
        rows["site"], rows["patient_id"] = site, f"P{number:02d}"
        frames.append(rows)
    pd.concat(frames).to_csv(path, index=False)
    return path
