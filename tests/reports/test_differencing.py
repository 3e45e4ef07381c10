"""Small cells across runs: a suppressed site cannot be recovered by subtracting two published pooled figures.

The registry of issue 25: one large site, a 2-patient site ("Tiny": 2 scored patients, 0 responders, 1
adverse event, 1 early stop) merged with three 4-patient sites. Before the fix, the large site's report and
JSON summary from two runs, with and without Tiny, gave Tiny's figures exactly by subtraction. Here both runs
go through the batch's preparation into one output folder (so the second run knows the merged group the first
one showed), and everything the large site's kernel receives and its report shows is compared.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from ivig_kit.reports.content import summary as summaries
from ivig_kit.reports.content import tables
from ivig_kit.reports.content.parameters import validate_report_parameters
from ivig_kit.reports.content.site import load_site
from ivig_kit.reports.runner.prepare import prepare_batch
from ivig_kit.reports.runner.registry_run import append_history

MIN_CELL = 5
BASE = {"physician_global": 6.0, "patient_global": 6.0, "extramuscular": 4.0, "haq": 1.5, "mmt": 100, "ck": 1000}
BETTER = {"physician_global": 3.0, "patient_global": 3.0, "extramuscular": 2.0, "haq": 0.9, "mmt": 130, "ck": 500}
#: Tiny's true figures, as the issue recovered them
TINY = {"patients": 2, "patients_scored": 2, "responders": 0, "adverse_events": 1, "stopped_early": 1}


def visit(site, patient, week, values):
    return {
        "site": site,
        "patient_id": patient,
        "week": week,
        **values,
        "mmt_max": 150,
        "ck_uln": 200,
        "arm": "IVIg",
        "subtype": "DM",
        "visit_date": f"2023-01-{1 + week:02d}",
        "data_source": "synthetic test registry",
    }


def issue_registry() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Large (40 patients, every other one a responder), Tiny (2 non-responders, one stopping early), and
    three 4-patient sites; adverse events at every site."""
    rows, events = [], []
    for i in range(40):
        rows += [visit("Large", f"L{i:02d}", w, BASE if w == 0 or i % 2 else BETTER) for w in (0, 4, 8, 12)]
    rows += [visit("Tiny", "T1", w, BASE) for w in (0, 4, 8, 12)] + [visit("Tiny", "T2", w, BASE) for w in (0, 4)]
    for site in ("B", "C", "D"):
        for i in range(4):
            rows += [visit(site, f"{site}{i}", w, BETTER if w and i < 2 else BASE) for w in (0, 4, 8, 12)]
    events = [("Large", f"L{i:02d}", 4, "headache", "no", "no") for i in range(0, 40, 5)]
    events += [
        ("Tiny", "T1", 8, "rash", "no", "no"),
        ("B", "B0", 4, "rash", "no", "no"),
        ("C", "C1", 8, "fever", "no", "no"),
    ]
    return pd.DataFrame(rows), pd.DataFrame(
        events, columns=["site", "patient_id", "week", "event", "serious", "related"]
    )


def published_to_large(root, name: str, with_tiny: bool, out, record: bool = True) -> dict:
    """Everything the large site's kernel receives and its report shows, as {label: number}; the run is then
    recorded in the output folder's history (as ``ivig-kit reports`` does after the sites)."""
    visits, events = issue_registry()
    if not with_tiny:
        visits, events = visits[visits["site"] != "Tiny"], events[events["site"] != "Tiny"]
    folder = root / name
    folder.mkdir()
    visits.to_csv(folder / "registry.csv", index=False)
    events.to_csv(folder / "events.csv", index=False)
    batch = prepare_batch(
        folder / "registry.csv",
        out,
        sites=["Large"],
        adverse_events_path=folder / "events.csv",
        min_cell_size=MIN_CELL,
        registry=True,
    )
    task = batch.with_inputs(batch.tasks)[0]
    names = task.input_files()
    (folder / names["visits"]).write_bytes(task.visits_slice)
    (folder / names["events"]).write_bytes(task.events_slice)
    (folder / names["pooled"]).write_bytes(task.pooled_summary)
    report = load_site(
        validate_report_parameters(
            "Large",
            str(folder / names["visits"]),
            str(folder / names["events"]),
            "adult",
            "",
            str(folder / names["pooled"]),
            MIN_CELL,
        )
    )
    numbers = flatten("pooled summary", json.loads(task.pooled_summary))
    numbers.update(flatten("site summary", summaries.site_summary(report)))
    for caption, table in (
        ("site against pooled", tables.site_against_pooled(report)),
        ("provenance", summaries.provenance(report)),
    ):
        for row, values in table.iterrows():
            for column, text in values.items():
                for k, number in enumerate(re.findall(r"-?\d+(?:\.\d+)?", str(text))):
                    numbers[f"{caption} / {row} / {column if caption != 'site against pooled' else ''} / {k}"] = float(
                        number
                    )
    if record:
        out.mkdir(exist_ok=True)
        append_history(batch, [])
    return numbers


def flatten(prefix: str, value) -> dict:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(f"{prefix} / {key}", item).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flatten(f"{prefix} / {i}", item).items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {prefix: float(value)}
    return {}


#: Labels that count patients (a difference of 1 to MIN_CELL - 1 between runs would describe too few patients).
PATIENT_COUNT = re.compile(
    r"/ (patients|patients_pooled|patients_scored|data_patients)$|"
    r"sites / patients pooled / value / 1$|/ n$"
)


def revealing_pairs(first: dict, second: dict) -> list[tuple[str, float]]:
    """Pairs of same-labelled numbers whose difference describes 1 to MIN_CELL - 1 patients."""
    return [
        (label, first[label] - second[label])
        for label in first.keys() & second.keys()
        if PATIENT_COUNT.search(label) and 0 < abs(first[label] - second[label]) < MIN_CELL
    ]


def recovered(first: dict, second: dict) -> dict:
    """The issue's attack: the pooled figures of the first run minus those of the second."""
    keys = {
        "patients": "patients",
        "patients_scored": "patients_scored",
        "responders": "responders",
        "adverse_events": "adverse_events",
        "stopped_early": "stopped_early",
    }
    pooled = "pooled summary / pooled_metrics / "
    return {name: first.get(pooled + key, 0) - second.get(pooled + key, 0) for name, key in keys.items()}


@pytest.mark.parametrize("order", ["with, then without", "without, then with"])
def test_two_runs_into_one_folder_do_not_reveal_the_small_site(tmp_path, order):
    out = tmp_path / "out"
    first_with = order.startswith("with")
    first = published_to_large(tmp_path, "first", first_with, out)
    second = published_to_large(tmp_path, "second", not first_with, out)
    assert not revealing_pairs(first, second)
    with_tiny, without = (first, second) if first_with else (second, first)
    assert recovered(with_tiny, without) != TINY
    # the whole merged group (12 or 14 patients) is held back in the second run, never Tiny alone
    assert (
        abs(
            with_tiny["pooled summary / registry / patients_pooled"]
            - without["pooled summary / registry / patients_pooled"]
        )
        >= MIN_CELL
    )
    assert second["pooled summary / registry / sites_merged"] == 0
    assert second["pooled summary / registry / sites_left_out"] >= 3


def test_without_the_history_the_same_two_runs_do_reveal_it(tmp_path):
    """The check can fail: two runs into fresh folders (no history to compare with) give Tiny away exactly."""
    first = published_to_large(tmp_path, "first", True, tmp_path / "out-1", record=False)
    second = published_to_large(tmp_path, "second", False, tmp_path / "out-2", record=False)
    assert revealing_pairs(first, second)
    assert recovered(first, second) == TINY


def test_a_third_run_like_the_first_shows_the_merged_group_again(tmp_path):
    out = tmp_path / "out"
    first = published_to_large(tmp_path, "first", True, out)
    second = published_to_large(tmp_path, "second", False, out)
    third = published_to_large(tmp_path, "third", True, out)
    assert third["pooled summary / registry / sites_merged"] == 4  # the group shown in the first run, unchanged
    for earlier in (first, second):
        assert not revealing_pairs(earlier, third) and not revealing_pairs(third, earlier)


def test_within_one_run_the_pooled_figures_hide_no_small_site(tmp_path):
    numbers = published_to_large(tmp_path, "only", True, tmp_path / "out", record=False)
    pooled = numbers["pooled summary / pooled_metrics / patients"]
    rows = [v for k, v in numbers.items() if re.match(r"pooled summary / other_sites / \d+ / 0$", k)]
    assert pooled - 40 - sum(rows) == 0  # the large site, plus the rows it sees, is the whole pool
    assert rows == [14.0]  # one merged row of four sites, never Tiny on its own


def test_what_sites_see_of_the_pool_is_rounded(tmp_path):
    numbers = published_to_large(tmp_path, "only", True, tmp_path / "out", record=False)
    assert numbers["site summary / pooled_responder_percent"].is_integer()
    percents = {
        k: v for k, v in numbers.items() if k.startswith("pooled summary / pooled_metrics") and k.endswith("_percent")
    }
    assert percents and all(v.is_integer() for v in percents.values())
