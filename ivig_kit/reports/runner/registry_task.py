"""The registry report as a task for one of the batch's local workers: its notebook run in a kernel forked
from the batch's warm zygote (as a site's is), instead of a new Python process, papermill and a cold kernel
(seconds of imports) after the last site.

Like a :class:`~ivig_kit.reports.runner.tasks.SiteTask`, the task carries its inputs as bytes; the worker
writes them into a private temporary folder under their own names (so the executed notebook shows no local
folder), runs the notebook there and returns the outputs as bytes. Only the parent writes into ``--out``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

from ivig_kit.reports.runner.kernels import kernels_for
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.pages import export_html
from ivig_kit.reports.runner.worker import execute_in_kernel


@dataclasses.dataclass(frozen=True)
class RegistryTask:
    """What a worker needs to run the registry notebook.

    ``inputs``: file name -> content, written into the worker's folder; ``parameters``: what papermill
    injects (file names in that folder); ``outputs``: the names of the executed notebook and the summary.
    """

    notebook_name: str
    notebook: bytes
    inputs: dict[str, bytes]
    parameters: dict
    outputs: dict[str, str]
    zygote_socket: str | None
    cell_timeout_s: float


@dataclasses.dataclass(frozen=True)
class RegistryOutcome:
    """The worker's answer: ``error`` empty when the report was made, else one line saying why."""

    error: str = ""
    notebook: bytes = b""
    summary: bytes = b""
    html: bytes = b""


def run_registry_notebook(task: RegistryTask) -> RegistryOutcome:
    """In a worker: run the registry notebook for ``task`` in a warm kernel and export its page."""
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    folder = Path(owned_tempdir("registry"))
    try:
        (folder / task.notebook_name).write_bytes(task.notebook)
        for name, content in task.inputs.items():
            (folder / name).write_bytes(content)
        kernels = kernels_for(
            hashlib.sha256(task.notebook).hexdigest(),
            notebook=folder / task.notebook_name,
            zygote_socket=task.zygote_socket,
        )
        node = execute_in_kernel(
            kernels,
            folder / task.notebook_name,
            folder / task.outputs["notebook"],
            task.parameters,
            task.cell_timeout_s,
        )
        record = node.metadata.get("papermill", {})
        record.update({"input_path": task.notebook_name, "output_path": task.outputs["notebook"]})
        return RegistryOutcome(
            notebook=nbformat.writes(node).encode("utf-8"),
            summary=(folder / task.outputs["summary"]).read_bytes(),
            html=export_html(node, title="Registry report").encode("utf-8"),
        )
    except PapermillExecutionError as error:
        return RegistryOutcome(error=f"{error.ename}: {error.evalue}")
    except Exception as error:  # a kernel that would not start, a missing summary, an export error
        return RegistryOutcome(error=f"{type(error).__name__}: {error}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
