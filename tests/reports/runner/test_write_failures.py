"""Write failures are reported, not crashed into: a full disk mid-batch, an output folder that cannot be made,
and what a killed batch (or a killed ``tis``) leaves behind."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ivig_kit import files
from ivig_kit.cli import main
from ivig_kit.reports.runner import worker

from .trust_fixtures import REPO, tiny_notebook, tiny_registry


def test_a_sites_files_are_written_all_or_none(tmp_path, monkeypatch):
    (tmp_path / "a.html").write_text("earlier", encoding="utf-8")
    real_fsync, calls = os.fsync, []

    def full_on_third(handle):
        calls.append(handle)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(handle)

    monkeypatch.setattr(files.os, "fsync", full_on_third)
    with pytest.raises(OSError, match="No space left"):
        files.write_all_or_none(tmp_path, {"a.json": b"{}", "a.ipynb": b"{}", "a.html": b"new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html"]  # nothing replaced, no partial file left
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == "earlier"


def test_a_full_disk_mid_batch_gives_one_line_and_an_index_marking_the_rest(tmp_path, monkeypatch, capsys):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South", "East"])
    real, stored = worker.write_all_or_none, []

    def full_after_one(folder, contents):
        if stored:
            raise OSError(errno.ENOSPC, "No space left on device")
        stored.append(contents)
        real(folder, contents)

    monkeypatch.setattr(worker, "write_all_or_none", full_after_one)
    out = tmp_path / "out"
    code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"ivig-kit: error: could not write to {out}: No space left on device; "
        f"1 of 3 site(s) finished, the index marks the others"
    )
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    statuses = {r["site"]: r["status"] for r in record["sites"]}
    assert sorted(statuses.values()) == ["failed", "failed", "ok"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('data-status="failed"') == 2 and "not written: No space left on device" in page
    for row in record["sites"]:  # each site: its three files, or none of them
        present = [(out / row["files"][k]).exists() for k in ("html", "notebook", "summary")]
        assert present == [row["status"] == "ok"] * 3
    assert not [p for p in out.iterdir() if ".partial" in p.name]


def test_an_output_folder_that_cannot_be_made_is_reported_before_the_registry_is_read(tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code = main(["reports", str(tmp_path / "no-such-registry.csv"), "--out", str(tmp_path / "file" / "out")])
    err = capsys.readouterr().err
    assert (
        code == 2
        and f"{tmp_path / 'file' / 'out'}: cannot create the output folder: {tmp_path / 'file'} is a file, not a folder"
        in err
        and "no-such-registry" not in err
    )


def test_a_stale_partial_file_of_tis_is_removed_and_a_live_ones_kept(tmp_path):
    stale = tmp_path / ".scores.k2j3h4g5.partial.csv"
    stale.write_bytes(b"")  # what a SIGKILLed tis left
    live = tmp_path / ".scores.a1b2c3d4.partial.csv"
    live.write_bytes(b"")
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another tis is writing it right now
    try:
        assert main(["tis", str(REPO / "data" / "example_visits.csv"), "--out", str(tmp_path / "scores.csv")]) == 0
        assert not stale.exists() and live.exists() and (tmp_path / "scores.csv").stat().st_size > 0
    finally:
        os.close(holder)


@pytest.mark.slow
def test_after_a_sigkill_the_next_run_rebuilds_the_index_and_cleans_up(tmp_path):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South"])
    (tmp_path / "p.csv").write_text("site,sleep_s\n*,60\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "ivig_kit.cli",
        "reports",
        str(data),
        "--out",
        str(out),
        "--notebook",
        str(notebook),
        "--quiet",
        "--jobs",
        "2",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    batch = subprocess.Popen(
        [*command, "--params", str(tmp_path / "p.csv")],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "index.html").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        (out / ".north-1234abcd.k2j3h4g5.partial.html").write_text("half", encoding="utf-8")
    finally:
        os.killpg(batch.pid, signal.SIGKILL)
        batch.wait()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('data-status="interrupted"') == 2 and "if no batch runs now, it was killed" in page
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in record["sites"]] == ["ok", "ok"]
    assert not [p for p in out.iterdir() if ".partial" in p.name]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 700 kB tmpfs (about two sites of the tiny notebook), or a skip where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()[:80]})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.slow
def test_a_really_full_disk_gives_one_line_and_an_index(tmp_path, tiny_disk, capsys):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South", "East", "West"])
    out = tiny_disk / "out"
    code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet", "--jobs", "1"])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert last.startswith(f"ivig-kit: error: could not write to {out}: No space left on device; ")
    finished = int(last.split("; ")[1].split(" of ")[0])
    assert 1 <= finished < 4 and last.endswith("of 4 site(s) finished, the index marks the others")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('data-status="ok"') == finished and "not written: No space left on device" in page
    record = json.loads((out / "index.json").read_text(encoding="utf-8"))
    for row in record["sites"]:  # each site: its three files, or none of them
        present = [(out / row["files"][k]).exists() for k in ("html", "notebook", "summary")]
        assert present == [row["status"] == "ok"] * 3
    assert not [p for p in out.iterdir() if ".partial" in p.name]


def test_an_output_folder_on_a_read_only_file_system_is_reported_before_the_registry_is_read(tmp_path, capsys):
    disk = tmp_path / "ro"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()[:80]})")
    try:
        code = main(["reports", str(tmp_path / "no-such-registry.csv"), "--out", str(disk / "out")])
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    err = capsys.readouterr().err
    assert (
        code == 2
        and f"{disk / 'out'}: cannot create the output folder: {disk} is not writable (read-only or "
        "no permission); choose another --out"
        in err
        and "no-such-registry" not in err
    )
