"""Shared material of the report tests: repository paths, a tiny fixture report notebook and registry for
the runner, a tiny two-site registry whose numbers can be checked by hand, and an HTML table reader."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd

from ivig_kit.reports.content import display
from ivig_kit.reports.runner import prepare, tasks

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "example_visits.csv"
SITE_REPORT = REPO / "notebooks" / "site_report.ipynb"
DEMO_REGISTRY = REPO / "data" / "demo_registry.csv"
DEMO_ADVERSE_EVENTS = REPO / "data" / "demo_adverse_events.csv"
#: Tiny notebooks for the error paths of the runner (as papermill's own tests keep theirs).
FIXTURES = Path(__file__).resolve().parent / "notebooks"


# --- The fixture report notebook and registry of the runner tests ----------------------------------------

# Site names a file system would not take as they are, an identifier with leading zeros, and a site the
# fixture notebook fails on when told to (its own parameter ``fail``, set per site with --params).
AWKWARD_SITES = ["a/b", "../up", "Nijmegen UMC", "Zürich", "007", "Broken"]


FIXTURE_SOURCE = {
    "parameters": 'site = "AMS"\ndata_path = "../data/example_visits.csv"\nadverse_events_path = ""\n'
    'pooled_summary_path = ""\npopulation = "adult"\nmin_cell_size = 5\nsummary_path = ""\n'
    "fail = False\nsleep_s = 0",
    "run": (
        "import json, time\nfrom pathlib import Path\nimport matplotlib.pyplot as plt\n"
        "from ivig_kit.score.visits import read_visits\n"
        "time.sleep(sleep_s)\n"
        "if fail:\n"
        "    raise ValueError(f'cannot report on {site}')\n"
        "visits = read_visits(data_path)\n"
        "assert set(visits['site']) == {site}, 'the kernel got other sites\\' rows'\n"
        "mine = visits[visits['site'] == site]\n"
        "print(f'site={site!r} type={type(site).__name__} patients={sorted(mine.patient_id.unique())}')\n"
        "summary = {'site': site, 'patients': int(mine.patient_id.nunique()), 'visits': len(mine),\n"
        "           'responder_percent': 50.0, 'confirmed_deteriorations': 0, 'adverse_events': 1,\n"
        "           'synthetic': True}\n"
        "if summary_path:\n"
        "    Path(summary_path).write_text(json.dumps(summary), encoding='utf-8')"
    ),
    "figure": "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot(mine['week'], mine['mmt'], 'o')\nax.set_title('MMT')",
}


def write_fixture_notebook(path: Path) -> Path:
    """A small report notebook with the contract's parameters, a figure, headings and a JSON summary."""
    parameters = nbformat.v4.new_code_cell(FIXTURE_SOURCE["parameters"])
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Fixture site report"),
            parameters,
            nbformat.v4.new_markdown_cell("## Patients"),
            nbformat.v4.new_code_cell(FIXTURE_SOURCE["run"]),
            nbformat.v4.new_markdown_cell("## Figure\n### MMT by week"),
            nbformat.v4.new_code_cell(FIXTURE_SOURCE["figure"]),
        ]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def write_registry(path: Path, sites: list[str]) -> Path:
    """The example table's first patient copied to each site, with patient ids unique across sites."""
    example = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    first = example[example["patient_id"] == "001"]
    frames = []
    for number, site in enumerate(sites):
        rows = first.copy()
        rows["site"] = site
        rows["patient_id"] = "007" if site == "007" else f"P{number:02d}X"
        frames.append(rows)
    pd.concat(frames).to_csv(path, index=False)
    return path


def run_reports_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ivig_kit.cli", "reports", *map(str, args), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def visible_text(page: str) -> str:
    """An HTML page without its embedded images (base64 could contain any short string by chance)."""
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "", page)


def one_site_task(tmp_path, site="AMS") -> tasks.SiteTask:
    notebook = write_fixture_notebook(tmp_path / "fixture_report.ipynb")
    data = write_registry(tmp_path / "registry.csv", [site])
    prepared = prepare.prepare_batch(data, tmp_path / "out", notebook=notebook)
    return prepared.with_inputs(prepared.tasks)[0]


# --- A tiny registry whose numbers can be checked by hand ----------------------------------------------------
#
# Baseline of everyone: physician 6, patient 6, extramuscular 4 cm, HAQ 1.5, MMT 100/150, CK 1000 (ULN 200).
# "better": physician 3 (30% of 10 cm: 17.5), patient 3 (30%: 7.5), extramuscular 2 (20%: 12.5), HAQ 0.9
# (0.6/3 = 20%: 7.5), MMT 130 (30/150 = 20% exactly, right-closed band 10-20%: 20), CK 500 (50% relative: 7.5)
# -> TIS 72.5. "worse": extramuscular 6.5 (2.5 cm worse: a deterioration criterion), nothing else changes -> TIS 0.
BASE = dict(physician_global=6.0, patient_global=6.0, extramuscular=4.0, haq=1.5, mmt=100, ck=1000)


BETTER = dict(physician_global=3.0, patient_global=3.0, extramuscular=2.0, haq=0.9, mmt=130, ck=500)


WORSE = dict(BASE, extramuscular=6.5)


BETTER_POINTS = {
    "physician_global": 17.5,
    "patient_global": 7.5,
    "mmt": 20.0,
    "haq": 7.5,
    "enzyme": 7.5,
    "extramuscular": 12.5,
}


def visit(site, patient, week, values, arm, **changes):
    return {
        "site": site,
        "patient_id": patient,
        "week": week,
        **values,
        **changes,
        "mmt_max": 150,
        "ck_uln": 200,
        "arm": arm,
        "subtype": "DM",
        "visit_date": f"2023-01-{1 + week:02d}",
        "data_source": "synthetic test registry",
    }


TINY_VISITS = [
    # site "A b": A-01 responder who missed week 8 and had an unscheduled week 6
    visit("A b", "A-01", 0, BASE, "IVIg"),
    visit("A b", "A-01", 4, BETTER, "IVIg"),
    visit("A b", "A-01", 6, BETTER, "IVIg"),
    visit("A b", "A-01", 12, BETTER, "IVIg"),
    # A-02 unchanged, HAQ missing at week 8: last complete TIS is week 12 (0)
    visit("A b", "A-02", 0, BASE, "placebo"),
    visit("A b", "A-02", 4, BASE, "placebo"),
    visit("A b", "A-02", 8, BASE, "placebo", haq=None),
    visit("A b", "A-02", 12, BASE, "placebo"),
    # A-03 worse at weeks 4 and 8 (confirmed at 8), then stopped
    visit("A b", "A-03", 0, BASE, "placebo"),
    visit("A b", "A-03", 4, WORSE, "placebo"),
    visit("A b", "A-03", 8, WORSE, "placebo"),
    # site "Zürich": two responders
    *[visit("Zürich", p, w, BASE if w == 0 else BETTER, "IVIg") for p in ("Z-01", "Z-02") for w in (0, 4, 8, 12)],
]


TINY_EVENTS = pd.DataFrame(
    [
        ("A b", "A-01", 4, "headache", "no", "yes"),
        ("A b", "A-03", 8, "pulmonary embolism", "yes", "yes"),
        ("Zürich", "Z-01", 4, "deep vein thrombosis", "yes", "yes"),
        ("Zürich", "Z-02", 12, "rash", "no", ""),
    ],
    columns=["site", "patient_id", "week", "event", "serious", "related"],
)


# --- Reading rendered tables ---------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[x](javascript:alert(1))",
    "![x](http://127.0.0.1:9/x.png)",
    "a & b < c",
]


class Cells(HTMLParser):
    """The text of every cell of every table, with the cell's data-kind, and every tag met."""

    def __init__(self, page: str):
        super().__init__()
        self.cells, self.tags, self.captions, self._cell, self._caption = [], [], [], None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._cell = [tag, dict(attrs).get("data-kind"), ""]
        if tag == "caption":
            self._caption = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell:
            self.cells.append(tuple(self._cell))
            self._cell = None
        if tag == "caption":
            self.captions.append(self._caption)
            self._caption = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data
        if self._caption is not None:
            self._caption += data


ALLOWED = {
    "count": re.compile(r"-?\d+"),
    "percent": re.compile(r"-?\d+\.\d"),
    "score": re.compile(r"-?\d+\.\d"),
    "rate": re.compile(r"-?\d+\.\d\d"),
    "week": re.compile(r"-?\d+(\.\d{1,2})?"),
    "p": re.compile(r"<0\.001|0\.0*[1-9]\d|1\.0"),
}


def check_rendered_tables(page: str) -> int:
    """Every cell of every table: no nan/None, numbers by kind with their decimals, text numbers <= 2 decimals;
    returns the number of numeric cells checked."""
    checked = 0
    for _tag, kind, text in Cells(page).cells:
        text = text.strip()
        assert text.lower() not in ("nan", "none", "<na>", "nat"), f"{text!r} in a table"
        assert not re.search(r"\b(nan|None|NaN)\b", text), f"{text!r} in a table"
        if kind and text not in ("", display.MISSING):
            assert ALLOWED[kind].fullmatch(text), f"{kind} cell {text!r}"
            checked += 1
        else:
            assert not re.search(r"\d\.\d{3,}", text), f"too many decimals in {text!r}"
    return checked


HOSTILE_SITE = r"A <script>alert(1)</script> $\nocommand$"  # and mathtext matplotlib would fail on
