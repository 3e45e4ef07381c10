"""Where the time of ``ivig-kit reports`` goes, measured in the benchmark's own process with the kit's public
functions (helper of ``bench/reports_batch.py``).

For the batch: the import of the runner, registry reading, validation and scoring, the rest of
``prepare_batch`` (summaries), the slices and the kernel zygote's start-up. Per site (median over sites run
one after the other with ``worker.run_site_report``): kernel start and stop, papermill's own overhead, each
cell, the HTML export; and the floor: the notebook's code cells exec'd in this warm process, no kernel.

Every part degrades to "n/a" when a function it needs is missing (an older or newer checkout of the kit):
the benchmark is also run against the commit before a change.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib
import inspect
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def kit(dotted: str):
    """``module:attribute.path`` of the kit, or ``None`` when this checkout has no such name."""
    module_name, _, attributes = dotted.partition(":")
    try:
        found = importlib.import_module(module_name)
        for name in filter(None, attributes.split(".")):
            found = getattr(found, name)
    except (ImportError, AttributeError):
        return None
    return found


def show(label: str, seconds: float | None, why: str = "") -> None:
    figure = f"{seconds:.3f} s" if seconds is not None else f"n/a{f' ({why})' if why else ''}"
    print(f"  {label}: {figure}", flush=True)


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def wall(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def batch_parts(data: Path, root: Path) -> None:
    """The batch's own work before and around its sites, each part on its own line."""
    print("where the time goes, batch (in this process, after the batch runs):")
    bare = wall([sys.executable, "-c", "pass"], root)
    runner = wall([sys.executable, "-c", "import ivig_kit.reports.runner.batch"], root)
    show(f"import of the runner (python -c 'import ivig_kit.reports.runner.batch'; bare python {bare:.3f} s)", runner)
    read_visits = kit("ivig_kit.score.visits:read_visits")
    score = kit("ivig_kit.score.engine:total_improvement_score")
    prepare = kit("ivig_kit.reports.runner.prepare:prepare_batch")
    reading = scoring = preparing = None
    if read_visits is not None:
        reading, visits = timed(read_visits, data)
        show("registry reading and validation (read_visits)", reading)
        if score is not None:
            scoring, _ = timed(score, visits)
            show("scoring (total_improvement_score, validated again)", scoring)
        else:
            show("scoring", None, "no ivig_kit.score.engine.total_improvement_score")
    else:
        show("registry reading", None, "no ivig_kit.score.visits.read_visits")
    if prepare is None:
        show("prepare_batch", None, "no ivig_kit.reports.runner.prepare.prepare_batch")
        return
    preparing, prepared = timed(prepare, data, root / "breakdown-prepare")
    show("prepare_batch as a whole", preparing)
    rest = preparing - (reading or 0) - (scoring or 0) if reading is not None and scoring is not None else None
    show("summaries and the rest of prepare_batch (prepare_batch minus reading and scoring)", rest)
    if callable(getattr(prepared, "with_inputs", None)):
        slicing, _ = timed(prepared.with_inputs, list(prepared.tasks))
        show(f"slices (batch.with_inputs, {len(prepared.tasks)} sites)", slicing)
    else:
        show("slices", None, "no ReportBatch.with_inputs: the tasks carry their slices")
    show("zygote start-up to ready", zygote_seconds(prepared.notebook))


def zygote_seconds(notebook) -> float | None:
    """Seconds from ``NotebookKernels(notebook).start_zygote()`` until its socket accepts (the path appears)."""
    kernels_class = kit("ivig_kit.reports.runner.kernels:NotebookKernels")
    if kernels_class is None or not hasattr(kernels_class, "start_zygote"):
        return None
    kernels = kernels_class(notebook)
    try:
        started = time.perf_counter()
        socket_path = kernels.start_zygote()
        deadline = started + 120
        while not os.path.exists(socket_path) and time.perf_counter() < deadline:
            time.sleep(0.005)
        return time.perf_counter() - started if os.path.exists(socket_path) else None
    finally:
        kernels.close()


# --- Per site -------------------------------------------------------------------------------------------------


class Timers:
    """Seconds per label of the site being run, and per-cell durations of the notebooks papermill returned."""

    def __init__(self):
        self.current: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.sites: list[dict[str, float]] = []
        self.cells: list[list[tuple[str, float]]] = []

    def patch(self, stack: contextlib.ExitStack, owner, name: str, label: str, returned=None) -> bool:
        """Time every call of ``owner.name`` (function, method, staticmethod or classmethod) under ``label``."""
        try:
            raw = inspect.getattr_static(owner, name)
        except AttributeError:
            print(f"  note: {getattr(owner, '__name__', owner)}.{name} not found: {label} is n/a", flush=True)
            return False
        wrapper_type = type(raw) if isinstance(raw, (staticmethod, classmethod)) else None
        function = raw.__func__ if wrapper_type else raw

        @functools.wraps(function)
        def measured(*args, **kwargs):
            started = time.perf_counter()
            try:
                value = function(*args, **kwargs)
            finally:
                self.current[label] += time.perf_counter() - started
            if returned is not None:
                returned(value)
            return value

        setattr(owner, name, wrapper_type(measured) if wrapper_type else measured)
        stack.callback(setattr, owner, name, raw)
        return True

    def executed(self, node) -> None:
        cells = []
        for index, cell in enumerate(node.cells):
            duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
            if cell.cell_type == "code" and duration is not None:
                first = (cell.source.strip().splitlines() or [""])[0]
                cells.append((f"[{index}] {first[:40].rstrip()}", float(duration)))
        self.cells.append(cells)
        self.current["cells"] += sum(seconds for _, seconds in cells)


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def site_tasks(data: Path, root: Path, count: int) -> list:
    prepared = kit("ivig_kit.reports.runner.prepare:prepare_batch")(data, root / "breakdown-sites")
    chosen = list(prepared.tasks)[: count + 1]  # one more: the first warms this process's zygote, untimed
    return prepared.with_inputs(chosen) if callable(getattr(prepared, "with_inputs", None)) else chosen


def per_site_parts(data: Path, root: Path, count: int, jobs: int = 2) -> dict:
    """Run ``count`` sites one after the other in this process; print the median of each part."""
    print(f"where the time goes, per site (median of {count} sites run one after the other in this process):")
    run_site_report = kit("ivig_kit.reports.runner.worker:run_site_report")
    if run_site_report is None or kit("ivig_kit.reports.runner.prepare:prepare_batch") is None:
        show("worker", None, "no worker.run_site_report or prepare.prepare_batch")
        return {}
    tasks = site_tasks(data, root, count)
    worker = importlib.import_module("ivig_kit.reports.runner.worker")
    kernels_class = kit("ivig_kit.reports.runner.kernels:NotebookKernels")
    papermill = importlib.import_module("papermill")
    timers = Timers()
    with contextlib.ExitStack() as stack:
        if kernels_class is not None:
            timers.patch(stack, kernels_class, "start", "kernel start")
            timers.patch(stack, kernels_class, "stop", "kernel stop")
        else:
            print("  note: kernels.NotebookKernels not found: kernel start and stop are n/a")
        timers.patch(stack, papermill, "execute_notebook", "papermill", returned=timers.executed)
        if "execute_notebook" in vars(worker):  # an older worker imported the name itself
            timers.patch(stack, worker, "execute_notebook", "papermill", returned=timers.executed)
        timers.patch(stack, worker, "export_html", "HTML export")
        for number, task in enumerate(tasks):
            timers.current = collections.defaultdict(float)
            seconds, result = timed(run_site_report, task)
            if getattr(result, "status", "ok") != "ok":
                raise SystemExit(f"the breakdown's site {task.site!r} failed: {getattr(result, 'error', result)}")
            timers.current["worker"] = seconds
            if number:  # the first site started this process's zygote: not counted
                timers.sites.append(dict(timers.current))
            elif timers.cells:
                timers.cells.pop()
    parts = {
        label: median(site.get(label) for site in timers.sites)
        for label in ("worker", "kernel start", "kernel stop", "HTML export", "cells")
    }
    overhead = [s["papermill"] - s["cells"] for s in timers.sites if "papermill" in s and "cells" in s]
    parts["papermill overhead"] = median(overhead)
    known = [parts[k] for k in ("kernel start", "kernel stop", "HTML export", "papermill overhead", "cells")]
    parts["rest"] = parts["worker"] - sum(known) if all(v is not None for v in known) else None
    for label in ("worker", "kernel start", "kernel stop", "papermill overhead", "cells", "HTML export", "rest"):
        show(
            f"{label} per site" if label != "rest" else "rest of the worker (slices written, summary, bytes)",
            parts[label],
        )
    by_cell: dict[str, list[float]] = collections.defaultdict(list)
    for cells in timers.cells:
        for label, seconds in cells:
            by_cell[label].append(seconds)
    print("  cells (median s): " + " | ".join(f"{label}: {median(s):.3f}" for label, s in by_cell.items()), flush=True)
    parts["floor"] = floor_seconds(tasks[1:])
    show("floor per site (the code cells in this warm process, no kernel; 2nd pass)", parts["floor"])
    parts["floor side by side"] = side_by_side_floor_seconds(tasks[1:], jobs)
    slower = (
        f"each process {jobs * parts['floor side by side'] / parts['floor']:.2f}x slower than alone"
        if parts["floor"] and parts["floor side by side"]
        else ""
    )
    show(f"floor of the machine per site ({jobs} such processes at once; {slower})", parts["floor side by side"])
    return parts


def _floor_cells(tasks) -> list[str]:
    """The notebook's code cells but its ``parameters`` cell."""
    import nbformat

    node = nbformat.reads(tasks[0].notebook.decode("utf-8"), as_version=4)
    return [
        c.source
        for c in node.cells
        if c.cell_type == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])
    ]


def _floor_site(task, sources: list[str]) -> float:
    """Seconds of one site's code cells exec'd in this process (its inputs in a temporary folder)."""
    import matplotlib.pyplot as plt

    with tempfile.TemporaryDirectory(prefix="ivig-kit-floor-") as folder:
        names = task.input_files()
        Path(folder, names["visits"]).write_bytes(task.visits_slice)
        Path(folder, names["pooled"]).write_bytes(task.pooled_summary)
        if task.events_slice:
            Path(folder, names["events"]).write_bytes(task.events_slice)
        namespace = dict(task.parameters(f"{task.slug}.json"))
        here = os.getcwd()
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                for index, source in enumerate(sources):
                    exec(compile(source, f"<cell {index}>", "exec"), namespace)
                plt.close("all")
                return time.perf_counter() - started
        finally:
            os.chdir(here)


def floor_seconds(tasks) -> float | None:
    """Median seconds per site of the notebook's code cells (not the ``parameters`` cell) exec'd here with the
    agg backend and stdout suppressed, on the second of two passes."""
    import matplotlib

    matplotlib.use("agg")
    try:
        sources = _floor_cells(tasks)
        seconds = []
        for second_pass in (False, True):
            for task in tasks:
                took = _floor_site(task, sources)
                if second_pass:
                    seconds.append(took)
        return median(seconds)
    except (AttributeError, TypeError, SyntaxError, NameError) as error:
        print(f"  note: floor not measured ({type(error).__name__}: {error})")
        return None


def side_by_side_floor_seconds(tasks, jobs: int) -> float | None:
    """Wall seconds per site of the machine when ``jobs`` processes forked from this warm one each run the
    floor of every task at the same time: on cores that slow each other down (shared caches, memory
    bandwidth, a hypervisor's siblings) this, not the floor alone, bounds what ``jobs`` workers can do."""
    try:
        sources = _floor_cells(tasks)
        _floor_site(tasks[0], sources)  # warm, as the floor's second pass is
    except (AttributeError, TypeError, SyntaxError, NameError):
        return None
    children = []
    for _ in range(jobs):
        reading, writing = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run every site, report its wall seconds, leave without cleanup handlers
            os.close(reading)
            took = 0.0
            try:
                took = sum(_floor_site(task, sources) for task in tasks)
            finally:
                os.write(writing, repr(took).encode("ascii"))
                os._exit(0)
        os.close(writing)
        children.append((pid, reading))
    walls = []
    for pid, reading in children:
        with os.fdopen(reading, "rb") as pipe:
            walls.append(float(pipe.read() or 0))
        os.waitpid(pid, 0)
    return max(walls) / (len(tasks) * jobs) if all(walls) else None
