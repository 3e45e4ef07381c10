"""Processes are owned: Ctrl-C (SIGINT) and SIGTERM at several moments, and SIGKILL, stop a batch
and everything it started.

Every process of a batch under test carries a marker in its environment (inherited by the worker processes,
the fork server, the kernel zygote and the forked kernels alike), so the test can find any survivor in
``/proc`` even after it was re-parented. The batch's temporary folders go into a private ``TMPDIR``, so the
test can see that none is left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from ivig_kit.reports.runner import ledger, processes

from ..helpers import write_fixture_notebook, write_registry

# --- The parts, one by one ------------------------------------------------------------------------------------


def sleeper(seconds: float = 60) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_only_processes_started_after_the_snapshot_are_killed():
    before_one = sleeper()
    try:
        before = processes.started_processes()
        assert before_one.pid in {pid for pid, _ in before}
        started = [sleeper(), sleeper()]
        assert processes.kill_started_processes(before) == 2
        assert not [p.pid for p in started if psutil.pid_exists(p.pid)]  # killed and reaped
        assert before_one.poll() is None  # there before the snapshot: left alone
        assert processes.kill_started_processes(before) == 0
        for process in started:
            process.wait()  # the Popen objects learn their processes are gone (no ResourceWarning)
    finally:
        before_one.kill()
        before_one.wait()


def test_the_resource_tracker_is_there_before_the_snapshot_and_so_never_killed():
    from multiprocessing import resource_tracker

    processes.keep_resource_tracker()
    before = processes.started_processes()
    tracker = resource_tracker._resource_tracker  # read only, to find its pid in the test
    assert (tracker._pid, psutil.Process(tracker._pid).create_time()) in before
    assert processes.kill_started_processes(before) == 0


@pytest.mark.parametrize(
    "start, earlier",
    [
        ("keep_resource_tracker()", None),
        ("keep_resource_tracker()", "default::DeprecationWarning"),
        ("resource_tracker.ensure_running()", None),  # the control: the warning this is about
    ],
)
def test_the_resource_tracker_cleans_up_after_a_killed_process_and_says_nothing(start, earlier):
    """A process starts the tracker, makes a shared-memory block and is SIGKILLed: the tracker removes the
    block and, started by keep_resource_tracker, says nothing (the environment is left as it was)."""
    code = (
        "import os, signal\nfrom multiprocessing import resource_tracker, shared_memory\n"
        "from ivig_kit.reports.runner.processes import keep_resource_tracker\n"
        f"{start}\n"
        "memory = shared_memory.SharedMemory(create=True, size=1)\n"
        "print(memory.name, os.environ.get('PYTHONWARNINGS'), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | (
        {"PYTHONWARNINGS": earlier} if earlier else {}
    )
    # the tracker holds stderr until it has cleaned up: run() returns after that
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    name, environment = result.stdout.split()
    assert result.returncode == -signal.SIGKILL and environment == str(earlier)
    assert not Path("/dev/shm", name).exists()  # removed by the tracker
    if start.startswith("keep"):
        assert result.stderr == ""
    else:
        assert "resource_tracker: There appear to be 1 leaked shared_memory objects" in result.stderr


def test_a_process_that_asked_dies_with_its_parent(tmp_path):
    """A parent starts a child that calls die_with_parent, then is SIGKILLed: the child goes too."""
    pid_file = tmp_path / "child.pid"
    child = (
        f"from ivig_kit.reports.runner.processes import die_with_parent; import os, time; die_with_parent(); "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)",
        ]
    )
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    assert psutil.pid_exists(child_pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while (
        psutil.pid_exists(child_pid)
        and psutil.Process(child_pid).status() != psutil.STATUS_ZOMBIE
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not psutil.pid_exists(child_pid) or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE


def test_at_exit_runs_also_in_a_process_that_skips_atexit(tmp_path):
    """A pool worker ends through os._exit after multiprocessing's finalizers: at_exit must still run."""
    marker = tmp_path / "cleaned"
    code = (
        f"import concurrent.futures, multiprocessing as mp\n"
        f"from ivig_kit.reports.runner.processes import remove_at_exit\n"
        f"with concurrent.futures.ProcessPoolExecutor(1, mp_context=mp.get_context('fork')) as pool:\n"
        f"    print(pool.submit(remove_at_exit, {str(marker)!r}).result())\n"
    )
    marker.mkdir()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_only_the_fork_server_is_told_to_die_with_the_batch_on_import():
    assert not processes.in_fork_server()
    code = "import ivig_kit.reports.runner._die_with_parent, os; print(os.getpid())"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_multiprocessing_keeps_its_files_in_our_folder(tmp_path):
    code = (
        "from multiprocessing import util\nimport os, tempfile\n"
        "from ivig_kit.reports.runner.processes import keep_multiprocessing_files_in\n"
        f"keep_multiprocessing_files_in(lambda: tempfile.mkdtemp(dir={str(tmp_path)!r}))\n"
        "print(util.get_temp_dir())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).parent == tmp_path
    assert not list(tmp_path.iterdir())  # removed when the process ended


# --- A whole batch stopped ------------------------------------------------------------------------------------


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
            [
                sys.executable,
                "-m",
                "ivig_kit.cli",
                "reports",
                str(data),
                "--out",
                str(out),
                "--notebook",
                str(notebook),
                "--jobs",
                "2",
                "--quiet",
                "--params",
                str(root / "params.csv"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def close(self) -> None:
        """Close the pipes once every process of the batch is gone (the reader has seen stdout end)."""
        self.reader.join(timeout=10)
        if not self.reader.is_alive():
            self.process.stdout.close()
        self.process.stderr.close()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

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


@pytest.mark.slow
@pytest.mark.parametrize(
    "signame, moment",
    [("SIGINT", "early"), ("SIGINT", "starting"), ("SIGINT", "running"), ("SIGTERM", "early"), ("SIGTERM", "running")],
)
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


@pytest.mark.slow
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
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivig_kit.cli",
            "reports",
            str(tmp_path / "registry.csv"),
            "--out",
            str(out),
            "--notebook",
            str(tmp_path / "fixture_report.ipynb"),
            "--sites",
            "Fast",
            "--quiet",
            "--params",
            str(tmp_path / "params.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TMPDIR=str(batch.tmp)),
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "re-used 'Fast'" in again.stdout  # the killed batch's finished site is in its ledger
    assert not ledger.partial_files(out)
    # the killed batch's folders are gone, multiprocessing's among them (kept in a folder of the kit's own)
    assert not [p for p in batch.tmp.iterdir() if p.name in left], "stale temporary folders were kept"
    assert not list(batch.tmp.iterdir()), f"temporary files left: {list(batch.tmp.iterdir())}"


class StderrAfter:
    """Everything a batch writes to stderr, each chunk with the time it came; read until every process holding
    the pipe (the batch and all it started, multiprocessing's resource tracker among them) has let go."""

    def __init__(self, batch: Batch):
        self.chunks: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, args=(batch.process.stderr,), daemon=True)
        self.reader.start()

    def _read(self, stream):
        while chunk := stream.readline():
            self.chunks.append((time.monotonic(), chunk))

    def since(self, moment: float, eof_within_s: float) -> str:
        """What came after ``moment``; an assertion error if the pipe is still held after ``eof_within_s``."""
        self.reader.join(timeout=eof_within_s)
        assert not self.reader.is_alive(), f"stderr still held open {eof_within_s} s after the kill: a survivor"
        return "".join(chunk for at, chunk in self.chunks if at >= moment)


@pytest.mark.slow
def test_a_killed_batch_prints_nothing_after_it_is_gone(tmp_path):
    """SIGKILL the batch alone (as ``kill -9`` does) mid-batch: what it started dies with it, silently.

    The shell shows its prompt when the batch dies; anything written to the terminal after that (the resource
    tracker's "leaked semaphore objects" warning, a worker's traceback about its lost parent) lands after the
    prompt. So stderr is read to its end, and must hold nothing written after the kill."""
    out = tmp_path / "out"
    batch = Batch(tmp_path, out)
    stderr = StderrAfter(batch)
    try:
        batch.wait_for("ok      'Fast'")  # the other sites are running: workers, zygote, kernels, tracker
        time.sleep(0.5)
        killed = time.monotonic()
        batch.process.kill()
        batch.process.wait(timeout=10)
        after = stderr.since(killed, eof_within_s=15)
        survivors = wait_until_none(batch.mark, 3)  # a few seconds for a straggler that let go of stderr
    finally:
        for pid in marked_processes(batch.mark):
            os.kill(pid, signal.SIGKILL)
        stderr.reader.join(timeout=10)
        batch.close()
        shutil.rmtree(batch.tmp, ignore_errors=True)  # the killed batch's folders (the next run's job, tested above)
    assert not survivors, f"processes of the killed batch survived: {survivors}"
    for word in ("resource_tracker", "leaked", "Traceback"):
        assert word not in after, f"printed after the batch was killed:\n{after}"
    assert after == "", f"printed after the batch was killed:\n{after}"
