"""The registry report of a batch: appended history, then the registry notebook run once, after the sites.

After every site has a result (run now or re-used), :func:`run_registry_report` appends the run to the
output folder's ``history.json`` (:mod:`.history`), runs ``notebooks/registry_report.ipynb`` once under
papermill on copies of its inputs (the visit and adverse-event tables and the history, under their own names,
so the executed notebook shows no local folder) — in one of the batch's workers, in a kernel forked from
its warm zygote (:mod:`.registry_task`), or, for a dask batch, in a papermill process of its own — and
writes ``registry.html``, ``registry.ipynb`` and ``registry.json`` into the output folder, each atomically
(with ``--pdf``, also ``registry.pdf``). A failure of the registry report does not fail the sites: it is
printed, and an earlier registry report stays in place.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ivig_kit.files import write_atomically
from ivig_kit.reports.runner.kernels import KERNEL_NAME
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.pages import export_html
from ivig_kit.reports.runner.registry_task import RegistryOutcome, RegistryTask, run_registry_notebook
from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S
from ivig_kit.resources import notebook_path

#: The registry report notebook `ivig-kit reports` runs after the sites.
REGISTRY_NOTEBOOK = notebook_path("registry_report.ipynb")
#: Its output files in the output folder.
REGISTRY_FILES = {
    "html": "registry.html",
    "notebook": "registry.ipynb",
    "summary": "registry.json",
    "pdf": "registry.pdf",
}


@dataclasses.dataclass(frozen=True)
class RegistryResult:
    """How the registry report went: ``ok`` or ``failed`` (with a one-line error), its files, seconds."""

    status: str
    files: tuple[str, ...]
    seconds: float
    error: str = ""


def registry_parameters(batch, names: dict) -> dict:
    """The values papermill injects into the registry notebook (file names in its working folder)."""
    return {
        "data_path": names["data"],
        "adverse_events_path": names.get("events", ""),
        "population": batch.population,
        "min_cell_size": batch.min_cell_size,
        "history_path": names["history"],
        "widen_for_overdispersion": False,
        "summary_path": REGISTRY_FILES["summary"],
    }


def append_history(batch, rows, run_at: datetime.datetime | None = None) -> Path | None:
    """Append this batch's run to ``history.json``: every site with a report, the merged group shown, the
    registry's pooled responders. Nothing when the batch was not prepared by :func:`prepare_batch`."""
    from ivig_kit.reports.content.small_cells import merged_group
    from ivig_kit.reports.runner.history import append_run, run_entry

    aggregates = batch.registry_state.get("aggregates")
    if aggregates is None:
        return None
    metrics = aggregates.metrics
    scored, responders = int(metrics["patients_scored"].sum()), int(metrics["responders"].sum())
    pooled = {
        "patients_scored": scored,
        "responders": responders,
        "responder_percent": 100 * responders / scored if scored else None,
    }
    entry = run_entry(batch, rows, run_at or datetime.datetime.now().astimezone(), merged_group(aggregates), pooled)
    return append_run(batch.out_dir, entry, force=batch.force)


def run_registry_report(batch, rows, printer=None, notebook: Path | None = None, runners=None) -> RegistryResult | None:
    """Append the history, then run the registry notebook once and store its outputs in ``batch.out_dir``.

    ``rows``: every site's result in the folder (this run's and those kept). ``printer``: the batch's
    :class:`~ivig_kit.reports.runner.pdf.SitePdfs` when it prints PDFs (``registry.pdf`` too). ``runners``: the batch's
    :class:`~ivig_kit.reports.runner.pool.LocalRunners`, whose worker runs the notebook in a kernel forked
    from the warm zygote; without them (a dask batch) a papermill process of its own runs it. Returns
    ``None`` when the batch has no registry state (not made by
    :func:`~ivig_kit.reports.runner.prepare.prepare_batch`).
    """
    from ivig_kit.reports.content.trends import HISTORY_NAME

    if append_history(batch, rows) is None:
        return None
    started = time.perf_counter()
    out = batch.out_dir
    notebook = Path(notebook or REGISTRY_NOTEBOOK)
    inputs = {batch.data_path.name: batch.data_path, HISTORY_NAME: out / HISTORY_NAME}
    names = {"data": batch.data_path.name, "history": HISTORY_NAME}
    if batch.adverse_events_path:
        names["events"] = batch.adverse_events_path.name
        inputs[names["events"]] = batch.adverse_events_path
    try:
        if runners is not None:
            outcome = _in_warm_worker(batch, runners, notebook, inputs, names)
        else:
            outcome = _in_papermill_process(batch, notebook, inputs, names)
        if outcome.error:
            return _failed(started, outcome.error)
        write_atomically(out / REGISTRY_FILES["summary"], outcome.summary)
        write_atomically(out / REGISTRY_FILES["notebook"], outcome.notebook)
        write_atomically(out / REGISTRY_FILES["html"], outcome.html)
        files = [REGISTRY_FILES[k] for k in ("html", "notebook", "summary")]
        if printer is not None:
            printer.add_page(out / REGISTRY_FILES["html"], out / REGISTRY_FILES["pdf"]).result()
            files.append(REGISTRY_FILES["pdf"])
        result = RegistryResult("ok", tuple(files), time.perf_counter() - started)
        print(f"ok      registry report -> {REGISTRY_FILES['html']} ({result.seconds:.1f} s)", flush=True)
        return result
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as error:  # input, summary, Chromium
        return _failed(started, f"{type(error).__name__}: {error}")


def _in_warm_worker(batch, runners, notebook: Path, inputs: dict, names: dict) -> RegistryOutcome:
    """Run the registry notebook in one of the batch's workers, in a kernel forked from its zygote."""
    task = RegistryTask(
        notebook_name=notebook.name,
        notebook=notebook.read_bytes(),
        inputs={name: Path(path).read_bytes() for name, path in inputs.items()},
        parameters=registry_parameters(batch, names),
        outputs={"notebook": REGISTRY_FILES["notebook"], "summary": REGISTRY_FILES["summary"]},
        zygote_socket=runners.zygote_socket,
        cell_timeout_s=CELL_TIMEOUT_S,
    )
    return runners.executor.submit(run_registry_notebook, task).result()


def _in_papermill_process(batch, notebook: Path, inputs: dict, names: dict) -> RegistryOutcome:
    """Run the registry notebook under papermill in a process of its own, in a private temporary folder."""
    import nbformat

    folder = Path(owned_tempdir("registry"))
    try:
        for name, path in inputs.items():
            shutil.copyfile(path, folder / name)
        shutil.copyfile(notebook, folder / notebook.name)
        executed = folder / REGISTRY_FILES["notebook"]
        # papermill in a child process working in the private folder: its kernel's start-up chatter is kept
        # from the terminal, and on Ctrl-C the batch kills it at once (nbclient, run here, would take SIGINT
        # over for a graceful shutdown of its kernel)
        parameters = folder / "registry.parameters.json"
        parameters.write_text(json.dumps(registry_parameters(batch, names)), encoding="utf-8")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "papermill",
                notebook.name,
                executed.name,
                "-f",
                parameters.name,
                "-k",
                KERNEL_NAME,
                "--no-progress-bar",
                "--no-request-save-on-cell-execute",
            ],
            cwd=str(folder),
            capture_output=True,
            text=True,
            timeout=CELL_TIMEOUT_S * 10,
            check=False,
        )
        if run.returncode != 0:
            return RegistryOutcome(error=_papermill_error(executed, run.stderr))
        node = nbformat.read(executed, as_version=4)
        record = node.metadata.get("papermill", {})
        record.update({"input_path": notebook.name, "output_path": REGISTRY_FILES["notebook"]})
        return RegistryOutcome(
            notebook=nbformat.writes(node).encode("utf-8"),
            summary=(folder / REGISTRY_FILES["summary"]).read_bytes(),
            html=export_html(node, title="Registry report").encode("utf-8"),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _papermill_error(executed: Path, stderr: str) -> str:
    """The error of a failed run: the executed notebook's error output, else papermill's last line."""
    import nbformat

    if executed.is_file():
        for cell in nbformat.read(executed, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output['ename']}: {output['evalue']}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "papermill failed without a message"


def _failed(started: float, error: str) -> RegistryResult:
    line = error.strip().splitlines()[0] if error.strip() else "no message"
    print(f"FAILED  registry report: {line}", flush=True)
    return RegistryResult("failed", (), time.perf_counter() - started, line)
