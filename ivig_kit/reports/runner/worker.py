"""One site of the batch, in a worker process (local or on a dask worker).

The task carries everything the site needs (its own rows, its adverse events, the pooled summary and
the notebook, as bytes), so a worker needs no shared filesystem: it writes them into a private
temporary folder, runs the notebook there under papermill in a warm kernel (retried once with a
plain kernel if the kernel will not start), exports the HTML and sends every output back as bytes.
Only the parent writes into the output folder (:func:`store_outputs`).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from ivig_kit.errors import KernelStartError, SummaryError
from ivig_kit.files import write_all_or_none, write_atomically
from ivig_kit.reports.runner.kernels import KERNEL_NAME, NotebookKernels, kernels_for
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.pages import export_html
from ivig_kit.reports.runner.processes import remove_at_exit
from ivig_kit.reports.runner.tasks import SiteResult, SiteTask

KERNEL_START_ATTEMPTS = 2  # a kernel that fails to start is retried once


#: The report notebook written once per worker process: notebook hash -> path of the copy.
_notebook_copies: dict[str, str] = {}


def notebook_kernels(task: SiteTask) -> NotebookKernels:
    """This worker's kernels for the task's notebook (a copy of the notebook written once per worker, which
    its own zygote, if it needs one, reads for the modules to preload)."""
    key = hashlib.sha256(task.notebook).hexdigest()
    path = _notebook_copies.get(key)
    if path is None or not os.path.exists(path):
        folder = owned_tempdir("notebook")
        remove_at_exit(folder)
        path = os.path.join(folder, task.notebook_name)
        Path(path).write_bytes(task.notebook)
        _notebook_copies[key] = path
    return kernels_for(key, notebook=path)


def execute_in_kernel(
    kernels: NotebookKernels, notebook: Path, executed: Path, parameters: dict, timeout_s: float, warm: bool = True
):
    """Run ``notebook`` under papermill with ``parameters`` in a fresh kernel of ``kernels`` working in the
    notebook's folder (the executed notebook written to ``executed`` at the end); the kernel is stopped
    whatever happens. Returns the executed notebook."""
    import papermill

    manager = kernels.start(cwd=str(notebook.parent), warm=warm)
    try:
        return papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            request_save_on_cell_execute=False,
            execution_timeout=timeout_s,
            km=manager,
        )
    finally:
        kernels.stop(manager)


def _execute(task: SiteTask, folder: Path, executed: Path, summary: Path, warm: bool = True):
    """Run the notebook for one site in a fresh kernel whose working folder is ``folder``."""
    return execute_in_kernel(
        notebook_kernels(task),
        folder / task.notebook_name,
        executed,
        task.parameters(summary.name),
        task.cell_timeout_s,
        warm=warm,
    )


def run_site_report(task: SiteTask) -> SiteResult:
    """Report on one site in a private temporary folder; return the outputs as bytes in the result.

    Never raises for a site's own failure: the result says ``failed`` with the error (and carries the
    failed notebook for inspection). The folder is removed whatever happens.
    """
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    files = task.files()
    made_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    def result(status, attempts, summary=None, error=None, outputs=None):
        return SiteResult(
            site=task.site,
            slug=task.slug,
            status=status,
            seconds=time.perf_counter() - started,
            attempts=attempts,
            files=files,
            summary=summary,
            error=error,
            outputs=outputs,
            made_with=task.made_with(),
            made_at=made_at,
        )

    folder = Path(owned_tempdir("site"))
    attempt = 0
    try:
        (folder / task.notebook_name).write_bytes(task.notebook)
        names = task.input_files()
        (folder / names["visits"]).write_bytes(task.visits_slice)
        (folder / names["pooled"]).write_bytes(task.pooled_summary)
        if task.events_slice:
            (folder / names["events"]).write_bytes(task.events_slice)
        executed, summary_path = folder / files["notebook"], folder / files["summary"]
        while True:
            attempt += 1
            with contextlib.suppress(FileNotFoundError):
                summary_path.unlink()
            try:
                node = _execute(task, folder, executed, summary_path, warm=attempt == 1)
                break
            except KernelStartError as error:
                if attempt >= KERNEL_START_ATTEMPTS:
                    return result(
                        "failed",
                        attempt,
                        error={
                            "kind": "kernel-start",
                            "ename": type(error.__cause__ or error).__name__,
                            "evalue": str(error.__cause__ or error),
                            "cell_index": None,
                        },
                    )
            except PapermillExecutionError as error:
                failed = _failed_outputs(executed, task)
                return result(
                    "failed",
                    attempt,
                    outputs=failed,
                    error={
                        "kind": "cell",
                        "ename": error.ename,
                        "evalue": error.evalue,
                        "cell_index": error.cell_index,
                        "exec_count": error.exec_count,
                    },
                )
            except CellTimeoutError:
                failed = _failed_outputs(executed, task)
                return result(
                    "failed",
                    attempt,
                    outputs=failed,
                    error={
                        "kind": "timeout",
                        "ename": "CellTimeoutError",
                        "evalue": f"a cell ran longer than the cell time-out of {task.cell_timeout_s:g} s "
                        f"(--cell-timeout)",
                        "cell_index": None,
                    },
                )

        summary = _read_summary(summary_path, task.site)
        _forget_folders(node, task)
        page = export_html(node, title=f"Site report: {task.site}")
        outputs = {
            "summary": summary_path.read_bytes(),
            "notebook": _notebook_bytes(node),
            "html": page.encode("utf-8"),
        }
        return result("ok", attempt, summary=summary, outputs=outputs)
    except Exception as error:  # a dead kernel, a broken summary, an export error
        return result(
            "failed",
            attempt,
            error={"kind": "runner", "ename": type(error).__name__, "evalue": str(error), "cell_index": None},
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _forget_folders(node, task: SiteTask) -> None:
    """Papermill records the absolute input and output paths: keep only the file names (no temporary folder)."""
    record = node.metadata.get("papermill", {})
    if "input_path" in record:
        record["input_path"] = task.notebook_name
    if "output_path" in record:
        record["output_path"] = task.files()["notebook"]


def _failed_outputs(executed: Path, task: SiteTask) -> dict:
    import nbformat

    if not executed.exists() or not executed.stat().st_size:
        return {}
    node = nbformat.read(executed, as_version=4)
    _forget_folders(node, task)
    return {"failed_notebook": _notebook_bytes(node)}


def _notebook_bytes(node) -> bytes:
    import nbformat

    return nbformat.writes(node).encode("utf-8")


def _read_summary(path: Path, site: str) -> dict:
    if not path.exists():
        raise SummaryError(f"the notebook wrote no summary to summary_path ({path.name})")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(summary, dict) or summary.get("site") != site:
        found = summary.get("site") if isinstance(summary, dict) else summary
        raise SummaryError(f"the summary is for site {found!r}, expected {site!r}")
    return summary


def store_outputs(result: SiteResult, out_dir: Path) -> SiteResult:
    """Write a worker's outputs into the output folder (summary and notebook first, the HTML people open
    last), each atomically; a failed site keeps its earlier report."""
    outputs, result.outputs = result.outputs or {}, None
    files = result.files
    if result.ok:
        write_all_or_none(out_dir, {files[key]: outputs[key] for key in ("summary", "notebook", "html")})
        with contextlib.suppress(FileNotFoundError):
            (out_dir / files["failed_notebook"]).unlink()
    elif "failed_notebook" in outputs:
        write_atomically(out_dir / files["failed_notebook"], outputs["failed_notebook"])
    return result
