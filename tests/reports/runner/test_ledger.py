"""The output folder: one batch at a time, the ledger (index.json), incremental re-runs, and the
clean-up of what a killed batch left. One module-scoped folder is reused by the re-run tests, in order."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ivig_kit.cli import main
from ivig_kit.reports.runner import ledger

from ..helpers import write_fixture_notebook, write_registry


def test_a_folder_with_an_index_the_kit_did_not_write_is_refused(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<h1>Our team's wiki</h1>", encoding="utf-8")
    code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "holds an index.html that ivig-kit did not write" in err and "--force" in err
    assert (out / "index.html").read_text(encoding="utf-8") == "<h1>Our team's wiki</h1>"
    assert ledger.read_ledger(out, force=True) == {"sites": {}}


def test_a_second_batch_into_a_locked_folder_fails_at_once(tiny_inputs, tmp_path, capsys):
    notebook, data = tiny_inputs
    out = tmp_path / "out"
    out.mkdir()
    with ledger.batch_lock(out):
        code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet"])
    printed = capsys.readouterr()
    err = printed.err
    assert code == 2 and "site(s) of" not in printed.out  # refused before the registry was read
    assert "another ivig-kit reports batch (process " in err and "is writing to this folder" in err
    assert sorted(p.name for p in out.iterdir()) == [".ivig-kit.lock"]  # nothing run, nothing written


def test_stale_partial_files_and_temporary_folders_of_dead_batches_are_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".north-1234abcd.k2j3h4g5.partial.html"
    stale.write_text("half", encoding="utf-8")
    keep = out / "notes.partial.txt"  # not the kit's pattern
    keep.write_text("mine", encoding="utf-8")
    dead = tmp_path / "ivig-kit-site-dead"
    dead.mkdir()
    (dead / ledger.OWNER_FILE).write_text("999999999 1\n", encoding="ascii")  # no such process
    alive = tmp_path / "ivig-kit-site-alive"
    alive.mkdir()
    pid = __import__("os").getpid()
    (alive / ledger.OWNER_FILE).write_text(f"{pid} {ledger._start_time(pid)}\n")
    foreign = tmp_path / "ivig-kit-site-foreign"  # no owner file: not provably ours
    foreign.mkdir()
    assert ledger.sweep_partial_files(out) == [stale]
    assert ledger.sweep_stale_tempdirs(str(tmp_path)) == [dead]
    assert keep.exists() and alive.exists() and foreign.exists()


@pytest.fixture(scope="module")
def ledger_runs(tmp_path_factory):
    """Five runs into one folder: all sites; all again; all after North's data changed; --sites North with
    --params; --sites South --force."""
    root = tmp_path_factory.mktemp("ledger")
    notebook = write_fixture_notebook(root / "fixture_report.ipynb")
    data = write_registry(root / "registry.csv", ["North", "South", "East"])
    out = root / "out"

    def run(*extra):
        code = main(
            [
                "reports",
                str(data),
                "--out",
                str(out),
                "--notebook",
                str(notebook),
                "--quiet",
                "--jobs",
                "2",
                *map(str, extra),
            ]
        )
        return code, json.loads((out / "index.json").read_text(encoding="utf-8"))

    runs = {"first": run()}
    html = {
        s: (out / r["files"]["html"]).stat().st_mtime_ns for s, r in ((r["site"], r) for r in runs["first"][1]["sites"])
    }
    runs["again"] = run("--jobs", "1000")
    again_index = (out / "index.html").read_text(encoding="utf-8")
    visits = pd.read_csv(data, dtype=str, keep_default_na=False)
    visits.loc[(visits["site"] == "North") & (visits["week"] == "4"), "haq"] = "0.1"
    visits.to_csv(data, index=False)
    (root / "p.csv").write_text("site,population\nNorth,juvenile\n", encoding="utf-8")
    runs["changed"] = run()
    runs["north"] = run("--sites", "North", "--params", root / "p.csv")
    runs["force"] = run("--sites", "South", "--force")
    return {"runs": runs, "out": out, "html_mtime": html, "again_index": again_index}


def rows(record):
    return {r["site"]: r for r in record["sites"]}


@pytest.mark.slow
def test_an_unchanged_rerun_reuses_every_report(ledger_runs):
    code, record = ledger_runs["runs"]["again"]
    assert code == 0
    assert {s: (r["status"], r["reused"]) for s, r in rows(record).items()} == {
        "North": ("ok", True),
        "South": ("ok", True),
        "East": ("ok", True),
    }
    first = rows(ledger_runs["runs"]["first"][1])
    assert all(
        r["made_with"] == first[s]["made_with"] and r["made_at"] == first[s]["made_at"] for s, r in rows(record).items()
    )
    # the index says so on each row, and no time was spent on it in this run
    index = ledger_runs["again_index"]
    assert index.count("(re-used: inputs unchanged)") == 3
    assert index.count('<td class="number" data-label="seconds">&ndash;</td>') == 3


@pytest.mark.slow
def test_only_the_site_whose_data_changed_runs_again(ledger_runs):
    code, record = ledger_runs["runs"]["changed"]
    assert code == 0
    assert {s: r["reused"] for s, r in rows(record).items()} == {"North": False, "South": True, "East": True}
    first = rows(ledger_runs["runs"]["first"][1])
    assert rows(record)["North"]["made_with"]["input_hash"] != first["North"]["made_with"]["input_hash"]


@pytest.mark.slow
def test_a_sites_run_updates_its_rows_and_keeps_the_others(ledger_runs):
    code, record = ledger_runs["runs"]["north"]
    assert code == 0
    by_site = rows(record)
    assert list(by_site) == ["North", "South", "East"]  # every site still listed, in registry order
    assert by_site["North"]["reused"] is False and by_site["North"]["made_with"]["population"] == "juvenile"
    executed = json.loads((ledger_runs["out"] / by_site["North"]["files"]["notebook"]).read_text(encoding="utf-8"))
    assert executed["metadata"]["papermill"]["parameters"]["population"] == "juvenile"
    assert by_site["South"]["made_with"]["population"] == "adult"  # kept as it was made
    assert record["latest_run"]["sites_run"] == ["North"]
    index = (ledger_runs["out"] / "index.html").read_text(encoding="utf-8")
    assert index.count('class="site-row"') == 3


@pytest.mark.slow
def test_force_runs_an_unchanged_site_again(ledger_runs):
    code, record = ledger_runs["runs"]["force"]
    assert code == 0 and rows(record)["South"]["reused"] is False
    assert rows(record)["South"]["made_at"] >= rows(ledger_runs["runs"]["first"][1])["South"]["made_at"]


@pytest.mark.slow
def test_the_index_and_its_ledger_show_no_local_folder(ledger_runs):
    out = ledger_runs["out"]
    for name in ("index.html", "index.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert str(out.parent) not in text and "/tmp" not in text and "ivig-kit-site-" not in text
