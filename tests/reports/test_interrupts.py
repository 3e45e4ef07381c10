"""Stopping a batch: Ctrl-C (SIGINT) and SIGTERM at several moments, and SIGKILL.

Every process of a batch under test carries a marker in its environment (inherited by the worker processes,
the fork server, the kernel zygote, the trampolines and the forked kernels alike), so the test can find
any survivor in ``/proc`` even after it was re-parented. The batch's temporary folders go into a private
``TMPDIR``, so the test can see that none is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from test_batch import write_fixture_notebook, write_registry

from ivig_kit.reports.runner import ledger

pytestmark = pytest.mark.slow
SITES = ["Fast", "Slow1", "Slow2", "Slow3"]


def marked_processes(mark: str) -> list[int]:
    """Live processes whose environment holds ``mark`` (zombies have no environment left)."""
    needle = f"IVIG_KIT_TEST_BATCH={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_until_none(mark: str, timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (alive := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


class Batch:
    """``ivig-kit reports`` in a subprocess, its output read line by line."""

    def __init__(self, root: Path, out: Path):
        notebook = write_fixture_notebook(root / "fixture_report.ipynb")
        data = write_registry(root / "registry.csv", SITES)
        (root / "params.csv").write_text("site,sleep_s\n*,60\nFast,0\n", encoding="utf-8")
        # short: the kernels' Unix sockets live there (at most 107 bytes of path)
        self.mark, self.tmp = uuid.uuid4().hex, Path(tempfile.mkdtemp(prefix="ivt-", dir="/tmp"))
        env = dict(os.environ, IVIG_KIT_TEST_BATCH=self.mark, TMPDIR=str(self.tmp))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ivig_kit.cli", "reports", str(data), "--out", str(out), "--notebook",
             str(notebook), "--jobs", "2", "--quiet", "--params", str(root / "params.csv")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def close(self) -> None:
        """Close the pipes once every process of the batch is gone (the reader has seen stdout end)."""
        self.reader.join(timeout=10)
        if not self.reader.is_alive():
            self.process.stdout.close()
        self.process.stderr.close()

    def wait_for(self, text: str, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, f"the batch ended early: {self.lines} {self.process.stderr.read()}"
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)


MOMENTS = {
    "early": lambda batch: time.sleep(0.3),  # still importing and reading the registry
    "starting": lambda batch: batch.wait_for("site(s) of registry.csv"),  # workers and zygote starting
    "running": lambda batch: batch.wait_for("ok      'Fast'"),  # two kernels busy in a cell
}


@pytest.mark.parametrize("signame, moment", [("SIGINT", "early"), ("SIGINT", "starting"), ("SIGINT", "running"),
                                             ("SIGTERM", "early"), ("SIGTERM", "running")])
def test_a_signal_stops_the_batch_cleanly(tmp_path, signame, moment):
    out = tmp_path / "out"
    batch = Batch(tmp_path, out)
    try:
        MOMENTS[moment](batch)
        sent = time.monotonic()
        batch.process.send_signal(getattr(signal, signame))
        code = batch.process.wait(timeout=30)
        took = time.monotonic() - sent
        stderr = batch.process.stderr.read()
        survivors = wait_until_none(batch.mark, 5)
    finally:
        if batch.process.poll() is None:
            batch.process.kill()
        for pid in marked_processes(batch.mark):
            os.kill(pid, signal.SIGKILL)
        batch.close()
    assert took < 10, f"took {took:.1f} s to stop"
    assert not survivors, f"processes of the batch survived: {survivors}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    # "early" is while pandas is still importing: the command line handles signals from its first moment
    assert code == 128 + getattr(signal, signame), stderr
    assert len(lines) == 1 and lines[0].startswith(f"ivig-kit: stopped by {signame}"), stderr
    assert not list(batch.tmp.iterdir()), f"temporary folders left: {list(batch.tmp.iterdir())}"
    if out.exists():
        assert not ledger.partial_files(out)
    if moment == "running":
        record = json.loads((out / "index.json").read_text(encoding="utf-8"))
        statuses = {row["site"]: row["status"] for row in record["sites"]}
        assert statuses == {"Fast": "ok", "Slow1": "interrupted", "Slow2": "interrupted", "Slow3": "interrupted"}
        assert "did not finish" in (out / "index.html").read_text(encoding="utf-8")


def test_kernels_die_with_a_killed_batch_and_the_next_run_cleans_up(tmp_path):
    out = tmp_path / "out"
    batch = Batch(tmp_path, out)
    try:
        batch.wait_for("ok      'Fast'")
        assert len(marked_processes(batch.mark)) >= 5  # batch, fork server, workers, zygote, kernels
        batch.process.kill()
        batch.process.wait(timeout=10)
        survivors = wait_until_none(batch.mark, 10)
    finally:
        for pid in marked_processes(batch.mark):
            os.kill(pid, signal.SIGKILL)
        batch.close()
    assert not survivors, f"processes of the killed batch survived: {survivors}"
    left = sorted(p.name for p in batch.tmp.iterdir() if p.name.startswith("ivig-kit-"))
    assert left, "a SIGKILLed batch cannot clean up: its temporary folders should be there for the next run"
    (out / ".slow1-0123abcd.zz9k2xq1.partial.html").write_text("half", encoding="utf-8")  # as if cut mid-write
    again = subprocess.run([sys.executable, "-m", "ivig_kit.cli", "reports", str(tmp_path / "registry.csv"),
                            "--out", str(out), "--notebook", str(tmp_path / "fixture_report.ipynb"), "--sites",
                            "Fast", "--quiet", "--params", str(tmp_path / "params.csv")],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TMPDIR=str(batch.tmp)))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "re-used 'Fast'" in again.stdout  # the killed batch's finished site is in its ledger
    assert not ledger.partial_files(out)
    # the killed batch's folders are gone, multiprocessing's among them (kept in a folder of the kit's own)
    assert not [p for p in batch.tmp.iterdir() if p.name in left], "stale temporary folders were kept"
    assert not list(batch.tmp.iterdir()), f"temporary files left: {list(batch.tmp.iterdir())}"
