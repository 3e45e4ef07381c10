"""What a site's run needs and returns: safe file names, the injected parameters, the ledger row."""

from __future__ import annotations

import re

import pytest

from ivig_kit.reports.runner import tasks


@pytest.mark.parametrize(
    "site, expected_stem",
    [
        ("Amsterdam", "amsterdam"),
        ("Nijmegen UMC", "nijmegen-umc"),
        ("Zürich", "zurich"),
        ("a/b", "a-b"),
        ("../up", "up"),
        ("..", "site"),
        ("007", "007"),
        ("東京", "site"),
        ("C:\\x\\y", "c-x-y"),
    ],
)
def test_site_slug_is_safe_ascii_with_a_hash(site, expected_stem):
    slug = tasks.site_slug(site)
    stem, digest = slug.rsplit("-", 1)
    assert stem == expected_stem
    assert re.fullmatch(r"[0-9a-f]{8}", digest)
    assert re.fullmatch(r"[a-z0-9-]+", slug) and ".." not in slug and "/" not in slug


def test_sites_that_simplify_alike_get_different_names():
    names = ["a/b", "a b", "A B", "a_b", "a-b", "Zürich", "Zurich", "zurich"]
    slugs = {tasks.site_slug(name) for name in names}
    assert len(slugs) == len(names)
    assert tasks.site_slug("a/b") == tasks.site_slug("a/b")  # stable from run to run


def task(**changes) -> tasks.SiteTask:
    fields = dict(
        site="Zürich 007",
        slug=tasks.site_slug("Zürich 007"),
        notebook_name="report.ipynb",
        notebook=b"{}",
        visits_slice=b"v",
        events_slice=b"",
        pooled_summary=b"{}",
        extra_parameters=(("colour", "red"),),
        input_hash="abc",
    )
    return tasks.SiteTask(**{**fields, **changes})


def test_the_injected_parameters_are_file_names_in_the_kernels_folder_and_the_kits_defaults():
    from ivig_kit.reports.content.parameters import MIN_CELL_SIZE, REPORT_PARAMETERS

    values = task().parameters("out.json")
    assert list(values)[: len(REPORT_PARAMETERS)] == [
        "site",
        "data_path",
        "adverse_events_path",
        "pooled_summary_path",
        "population",
        "min_cell_size",
        "summary_path",
    ]
    assert set(REPORT_PARAMETERS) <= set(values)
    assert values["adverse_events_path"] == ""  # no events table: none injected
    assert "/" not in values["data_path"] and values["summary_path"] == "out.json"
    assert values["min_cell_size"] == MIN_CELL_SIZE and values["colour"] == "red"
    assert task(events_slice=b"e").parameters("s.json")["adverse_events_path"].endswith(".adverse_events.parquet")
    assert task().cell_timeout_s == tasks.CELL_TIMEOUT_S


def test_output_files_are_named_after_the_slug():
    slug = task().slug
    assert task().files() == {
        "html": f"{slug}.html",
        "notebook": f"{slug}.ipynb",
        "summary": f"{slug}.json",
        "failed_notebook": f"{slug}.failed.ipynb",
    }
    assert task().made_with() == {
        "population": "adult",
        "min_cell_size": 5,
        "parameters": {"colour": "red"},
        "input_hash": "abc",
    }


def test_a_result_becomes_a_ledger_row_without_its_bytes_and_comes_back():
    result = tasks.SiteResult(
        site="A",
        slug="a-1",
        status="failed",
        seconds=1.5,
        attempts=2,
        files={"html": "a.html"},
        error={"kind": "cell", "ename": "ValueError", "evalue": "bad", "cell_index": 3},
        outputs={"html": b"<p>"},
    )
    row = result.record()
    assert "outputs" not in row and row["error"]["cell_index"] == 3
    back = tasks.SiteResult.from_record({**row, "not_a_field": 1})
    assert back.outputs is None and back.error == result.error and back.attempts == 2
    assert back.error_line() == "ValueError: bad (cell 3)" and not back.ok
    assert tasks.SiteResult(site="B", slug="b", status="ok", seconds=0, attempts=1, files={}).error_line() == ""


def test_a_batch_result_lists_the_failed_and_the_reused():
    ok = tasks.SiteResult(site="A", slug="a", status="ok", seconds=1, attempts=1, files={}, reused=True)
    failed = tasks.SiteResult(site="B", slug="b", status="interrupted", seconds=0, attempts=0, files={})
    batch = tasks.BatchResult(results=[ok, failed], index_path=None, seconds=1.0)
    assert (batch.failed, batch.reused, batch.interrupted) == ([failed], [ok], 0)
