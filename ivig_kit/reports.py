"""Batch site reports: run the site-report notebook once per site and build an index page.

For every site of a visit table the notebook runs under papermill in a fresh ``python3``
kernel (parameters as a dict, so ``"007"`` stays a string; absolute paths; the kernel starts in
the notebook's folder without any process-wide ``chdir``). The executed notebook is exported to one
self-contained HTML file (code hidden, images embedded, table of contents), written beside the
executed notebook and the site's JSON summary, and ``index.html`` links them all.

Sites run in parallel on ``jobs`` worker processes, or on a dask.distributed cluster through its
``concurrent.futures`` executor. A failing site is recorded (the failed cell's ``ename``/``evalue``)
and never stops the others; every file is written under a temporary name in the same folder and
renamed into place, so a failure never replaces an earlier good report. A kernel that fails to
start (port race, early death, start-up timeout) is retried once, with a plainly started kernel.

Speed: each worker keeps papermill, nbconvert and a compiled HTML template loaded, and each site's
kernel is forked from a "zygote" process that has imported ipykernel and the notebook's modules
once (see :class:`KernelZygote`), so a site costs its own computation rather than seconds of imports.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import dataclasses
import datetime
import functools
import hashlib
import html
import json
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
import unicodedata
from pathlib import Path

from ivig_kit.errors import InputError
from ivig_kit.files import file_sha256, new_file_mode, write_atomically
from ivig_kit.resources import notebook_path
from ivig_kit.site_report import REPORT_PARAMETERS
from ivig_kit.visits import read_visits

#: The report notebook `ivig-kit reports` runs unless told otherwise.
DEFAULT_NOTEBOOK = notebook_path("site_report.ipynb")
KERNEL_NAME = "python3"
POPULATIONS = ("adult", "juvenile")
KERNEL_START_ATTEMPTS = 2  # a kernel that fails to start is retried once
KERNEL_START_TIMEOUT_S = 60
CELL_TIMEOUT_S = 600
#: Key figures of a site summary shown in the index: (summary key, column heading).
INDEX_FIGURES = (("patients", "patients"), ("visits", "visits"), ("responder_percent", "responders (TIS>=20) %"),
                 ("confirmed_deteriorations", "confirmed deteriorations"), ("adverse_events", "adverse events"))

__all__ = ["REPORT_PARAMETERS", "DEFAULT_NOTEBOOK", "ReportBatch", "SiteTask", "SiteResult", "BatchResult",
           "KernelZygote", "site_slug", "prepare_batch", "run_batch", "run_site_report", "run_reports",
           "export_html", "table_of_contents", "write_index"]


class ReportSetupError(InputError):
    """The batch cannot start (bad data, unknown site, unusable notebook); said in one line per problem."""


# --- Names and files --------------------------------------------------------------------------------------


def site_slug(site: str) -> str:
    """A safe, unique file stem for a site: ASCII letters, digits and ``-`` plus a short hash of the exact name.

    Slashes, ``..``, spaces and accents cannot leave the output folder or clash: ``"Zürich"`` becomes
    ``zurich-<hash>``, and two names that simplify alike (``"A/B"``, ``"A B"``) keep different hashes.
    """
    ascii_name = unicodedata.normalize("NFKD", site).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "site"
    return f"{stem}-{hashlib.sha256(site.encode('utf-8')).hexdigest()[:8]}"


def _partial_path(out_dir: Path, name: str) -> Path:
    """A fresh temporary name in ``out_dir`` for a file that will be renamed to ``name``."""
    stem, extension = os.path.splitext(name)
    handle, partial = tempfile.mkstemp(dir=out_dir, prefix=f".{stem}.", suffix=f".partial{extension}")
    os.fchmod(handle, new_file_mode())
    os.close(handle)
    return Path(partial)


# --- One site ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SiteTask:
    """Everything a worker needs to report on one site (picklable, absolute paths)."""

    site: str
    slug: str
    notebook: str
    out_dir: str
    data_path: str
    adverse_events_path: str = ""
    population: str = "adult"
    cell_timeout_s: float = CELL_TIMEOUT_S

    def parameters(self, summary_path: Path) -> dict:
        values = {"site": self.site, "data_path": self.data_path, "adverse_events_path": self.adverse_events_path,
                  "population": self.population, "summary_path": str(summary_path)}
        return {name: values[name] for name in REPORT_PARAMETERS}

    def files(self) -> dict[str, str]:
        """Output file names (relative to the output folder)."""
        return {"html": f"{self.slug}.html", "notebook": f"{self.slug}.ipynb", "summary": f"{self.slug}.json",
                "failed_notebook": f"{self.slug}.failed.ipynb"}


@dataclasses.dataclass
class SiteResult:
    """How one site went: status ``ok`` or ``failed``, its summary, or the error that stopped it."""

    site: str
    slug: str
    status: str
    seconds: float
    attempts: int
    files: dict
    summary: dict | None = None
    error: dict | None = None  # kind (cell | kernel-start | runner), ename, evalue, cell_index

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def error_line(self) -> str:
        if not self.error:
            return ""
        where = f" (cell {self.error['cell_index']})" if self.error.get("cell_index") is not None else ""
        return f"{self.error['ename']}: {self.error['evalue']}{where}".strip()


class KernelStartError(RuntimeError):
    """The kernel did not start or did not answer in time (ports taken, died early, timed out)."""


def _start_kernel(cwd: str, warm: bool = True, timeout_s: float = KERNEL_START_TIMEOUT_S, notebook: str = ""):
    """Start a fresh ``python3`` kernel whose working folder is ``cwd`` and wait until it answers.

    The kernel talks over IPC sockets (no TCP ports to race for). With ``warm`` it is forked from this
    process's :class:`KernelZygote`, which has already imported ipykernel and the notebook's modules;
    it is still a new process per site with an empty namespace. Any failure here is a kernel-start failure.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    async def start():
        specs = KernelZygote.for_notebook(notebook).kernel_specs() if warm else None
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=_ipc_prefix(),
                                     **({"kernel_spec_manager": specs} if specs else {}))
        await manager.start_kernel(cwd=cwd)
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=timeout_s)
        except BaseException:
            await manager.shutdown_kernel(now=True)
            raise
        finally:
            client.stop_channels()
        return manager

    try:
        return run_sync(start)()
    except Exception as error:  # ZMQError, RuntimeError("Kernel died before replying"), TimeoutError, ...
        raise KernelStartError(f"{type(error).__name__}: {error}") from error


_ipc_folder = None


def _at_exit(cleanup) -> None:
    """Run ``cleanup`` when this process ends, also in a pool worker (which skips ``atexit``)."""
    from multiprocessing import util

    atexit.register(cleanup)
    util.Finalize(None, cleanup, exitpriority=10)


def _ipc_prefix() -> str:
    """A unique absolute prefix for one kernel's IPC sockets, in a private folder of this process
    (jupyter_client's default, ``kernel-ipc``, is relative and the same for every kernel)."""
    global _ipc_folder
    import shutil
    import uuid

    with KernelZygote._lock:
        if _ipc_folder is None or not os.path.isdir(_ipc_folder):
            _ipc_folder = tempfile.mkdtemp(prefix="ivig-kit-kernels-")
            _at_exit(functools.partial(shutil.rmtree, _ipc_folder, ignore_errors=True))
    return os.path.join(_ipc_folder, uuid.uuid4().hex[:12])


def _stop_kernel(manager) -> None:
    from jupyter_core.utils import run_sync

    async def stop():
        try:
            if await manager.is_alive():
                await manager.shutdown_kernel(now=True)
        finally:
            await manager.cleanup_resources()

    with contextlib.suppress(Exception):
        run_sync(stop)()


def _execute(task: SiteTask, notebook_partial: Path, summary_partial: Path, warm: bool = True):
    """Run the notebook for one site in a fresh kernel; return the executed notebook node."""
    import papermill

    manager = _start_kernel(cwd=str(Path(task.notebook).parent), warm=warm, notebook=task.notebook)
    try:
        return papermill.execute_notebook(
            task.notebook, str(notebook_partial), parameters=task.parameters(summary_partial),
            kernel_name=KERNEL_NAME, progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=task.cell_timeout_s, km=manager)
    finally:
        _stop_kernel(manager)


# --- Warm kernels -----------------------------------------------------------------------------------------
# Starting a kernel and importing pandas, matplotlib, seaborn and the kit costs seconds of CPU per site,
# more than running the report itself. A zygote process imports all that once; each site's kernel is a
# fork of it. The kernel manager launches a tiny stdlib-only trampoline (its "kernel process"), which asks
# the zygote for a fork and stays connected to it: signals sent to the trampoline are passed on to the
# kernel, and each side exits when the other goes away.

_TRAMPOLINE = """\
import os, signal, socket, sys
link = socket.socket(socket.AF_UNIX)
link.connect(sys.argv[1])
link.sendall((sys.argv[2] + "\\0" + os.getcwd() + "\\n").encode())
def forward(signum, frame):
    link.sendall(b"%d\\n" % signum)
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(signum, forward)
while link.recv(64):
    pass
"""


class KernelZygote:
    """A process that has imported ipykernel and a notebook's modules and forks a kernel on request."""

    _by_notebook: dict[str, KernelZygote] = {}
    _lock = threading.Lock()

    def __init__(self, modules: list[str]):
        import subprocess

        self.folder = tempfile.mkdtemp(prefix="ivig-kit-zygote-")
        self.owned = True
        self.socket_path = os.path.join(self.folder, "zygote.sock")
        code = "import sys; from ivig_kit.reports import _zygote_main; _zygote_main(sys.argv[1], sys.argv[2:])"
        # stdin stays open: the zygote exits when this process (its only writer) goes away.
        self.process = subprocess.Popen([sys.executable, "-c", code, self.socket_path, *modules],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    @classmethod
    def shared(cls, notebook: str, socket_path: str) -> KernelZygote:
        """Use the zygote another process started (the batch's parent) for ``notebook`` in this process."""
        zygote = cls.__new__(cls)
        zygote.folder, zygote.socket_path, zygote.process, zygote.owned = None, socket_path, None, False
        with cls._lock:
            cls._by_notebook[notebook] = zygote
        return zygote

    def alive(self) -> bool:
        return self.process.poll() is None if self.owned else os.path.exists(self.socket_path)

    def wait_until_ready(self, timeout_s: float = KERNEL_START_TIMEOUT_S) -> None:
        """Block until the zygote accepts requests (it imports in the background meanwhile)."""
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.socket_path):
            if not self.owned or self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                status = self.process.poll() if self.owned else "unknown"
                raise KernelStartError(f"the kernel zygote did not start (exit status {status})")
            time.sleep(0.02)

    @classmethod
    def for_notebook(cls, notebook: str) -> KernelZygote:
        """This process's zygote for ``notebook`` (started on first use, stopped at exit)."""
        with cls._lock:
            zygote = cls._by_notebook.get(notebook)
            if zygote is None or not zygote.alive():
                zygote = cls._by_notebook[notebook] = cls(notebook_imports(notebook))
                _at_exit(zygote.close)
            return zygote

    def kernel_specs(self):
        """A kernel-spec manager whose ``python3`` spec launches the trampoline to this zygote."""
        from jupyter_client.kernelspec import KernelSpecManager

        self.wait_until_ready()
        trampoline = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, self.socket_path, "{connection_file}"]

        class ZygoteKernelSpecs(KernelSpecManager):
            def get_kernel_spec(self, kernel_name):
                spec = super().get_kernel_spec(kernel_name)
                spec.argv = trampoline
                return spec

        return ZygoteKernelSpecs()

    def close(self) -> None:
        import shutil

        if not self.owned:
            return
        if self.process.poll() is None:
            self.process.stdin.close()
            with contextlib.suppress(Exception):
                self.process.wait(timeout=5)
            if self.process.poll() is None:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def notebook_cells(notebook) -> list[dict]:
    """The cells of a notebook file, read as plain JSON (cheaper than importing nbformat in every process)."""
    with open(notebook, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]
    if not isinstance(cells, list):
        raise TypeError("'cells' is not a list")
    return cells


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_imports(notebook: str) -> list[str]:
    """The modules a notebook's code cells import, and those the kit's own modules they use import
    (also inside functions: a report module often imports matplotlib or statsmodels lazily)."""
    modules = []
    for cell in notebook_cells(notebook):
        if cell.get("cell_type") == "code":
            modules += _imports_in("\n".join(line for line in _source(cell).splitlines()
                                             if not line.lstrip().startswith(("%", "!"))))
    seen, todo = [], list(modules)
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        seen.append(module)
        if module.split(".")[0] == __name__.split(".")[0]:
            source = _module_source(module)
            todo += _imports_in(source, package=module if source and _is_package(module) else
                                module.rpartition(".")[0])
    return seen


def _imports_in(source: str | None, package: str = "") -> list[str]:
    """Absolute names of every module ``source`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    import ast
    import importlib.util

    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                except (ImportError, ValueError):
                    continue
            if base:
                found += [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return found


def _module_source(module: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def _is_package(module: str) -> bool:
    import importlib.util

    spec = importlib.util.find_spec(module)
    return bool(spec and spec.submodule_search_locations is not None)


def _zygote_main(socket_path: str, modules: list[str]) -> None:
    """The zygote: import once, then fork one kernel per trampoline that connects."""
    import importlib
    import select
    import signal
    import socket

    if sys.path and sys.path[0] == "":
        del sys.path[0]  # like ipykernel_launcher; the kernel's shell puts its own folder back
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    import ipykernel.kernelapp  # noqa: F401

    for module in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    if threading.active_count() > 1:
        sys.exit("ivig-kit: a preloaded module started a thread; forking kernels would not be safe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped automatically
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path + ".binding")
    listener.listen(64)
    os.rename(socket_path + ".binding", socket_path)  # the path appears only once it accepts connections
    while True:
        ready, _, _ = select.select([listener, 0], [], [])
        if 0 in ready and not os.read(0, 4096):
            return  # the worker that started us has gone
        if listener in ready:
            link, _ = listener.accept()
            request = b""
            while not request.endswith(b"\n"):
                chunk = link.recv(4096)
                if not chunk:
                    break
                request += chunk
            if not request.endswith(b"\n"):
                link.close()
                continue
            connection_file, cwd = request[:-1].decode().split("\0")
            if os.fork() == 0:
                listener.close()
                _forked_kernel(link, connection_file, cwd)
            link.close()


def _forked_kernel(link, connection_file: str, cwd: str) -> None:
    """In the forked child: become an ordinary ipykernel process for ``connection_file``; never returns."""
    import signal

    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.chdir(cwd)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # a fork would otherwise share the zygote's random state

        def follow_trampoline():
            buffer = b""
            while True:
                chunk = link.recv(64)
                if not chunk:
                    os._exit(1)  # the kernel manager killed the trampoline: the kernel goes too
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    os.kill(os.getpid(), int(line))

        threading.Thread(target=follow_trampoline, daemon=True, name="trampoline").start()
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = ["ipykernel_launcher", "-f", connection_file]
        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file])
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        if inline is not None:  # imported before the shell existed: hook it to the shell now
            inline._enable_matplotlib_integration()
        app.start()
    finally:
        os._exit(0)


def run_site_report(task: SiteTask) -> SiteResult:
    """Report on one site: execute, export, then rename the HTML, notebook and summary into place.

    Never raises for a site's own failure: the result says ``failed`` with the error. The files of an
    earlier good run stay untouched when this one fails; the failed notebook is kept as
    ``<slug>.failed.ipynb`` for inspection.
    """
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    out_dir = Path(task.out_dir)
    files = task.files()
    partials = []

    def result(status, attempts, summary=None, error=None):
        return SiteResult(site=task.site, slug=task.slug, status=status, seconds=time.perf_counter() - started,
                          attempts=attempts, files=files, summary=summary, error=error)

    attempt = 0
    try:
        while True:
            attempt += 1
            notebook_partial = _partial_path(out_dir, files["notebook"])
            summary_partial = _partial_path(out_dir, files["summary"])
            partials += [notebook_partial, summary_partial]
            summary_partial.unlink()  # the notebook must write it; an empty file would hide that it did not
            try:
                executed = _execute(task, notebook_partial, summary_partial, warm=attempt == 1)
                break
            except KernelStartError as error:
                if attempt >= KERNEL_START_ATTEMPTS:
                    return result("failed", attempt, error={
                        "kind": "kernel-start", "ename": type(error.__cause__ or error).__name__,
                        "evalue": str(error.__cause__ or error), "cell_index": None})
            except PapermillExecutionError as error:
                if notebook_partial.exists() and notebook_partial.stat().st_size:
                    os.replace(notebook_partial, out_dir / files["failed_notebook"])
                return result("failed", attempt, error={
                    "kind": "cell", "ename": error.ename, "evalue": error.evalue, "cell_index": error.cell_index,
                    "exec_count": error.exec_count})

        summary = _read_summary(summary_partial, task.site)
        page = export_html(executed, title=f"Site report: {task.site}")
        # Summary and notebook first, HTML last: the HTML is what people open.
        os.replace(summary_partial, out_dir / files["summary"])
        os.replace(notebook_partial, out_dir / files["notebook"])
        write_atomically(out_dir / files["html"], page)
        with contextlib.suppress(FileNotFoundError):
            (out_dir / files["failed_notebook"]).unlink()
        return result("ok", attempt, summary=summary)
    except Exception as error:  # a dead kernel, a timeout, a broken summary, an export error
        return result("failed", attempt, error={"kind": "runner", "ename": type(error).__name__,
                                                "evalue": str(error), "cell_index": None})
    finally:
        for partial in partials:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()


class SummaryError(RuntimeError):
    """The notebook ran but its JSON summary is missing or is not about the site it was run for."""


def _read_summary(path: Path, site: str) -> dict:
    if not path.exists():
        raise SummaryError(f"the notebook wrote no summary to summary_path ({path.name})")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(summary, dict) or summary.get("site") != site:
        found = summary.get("site") if isinstance(summary, dict) else summary
        raise SummaryError(f"the summary is for site {found!r}, expected {site!r}")
    return summary


# --- HTML export ------------------------------------------------------------------------------------------

_TOC_MARK = "<!--ivig-kit:table-of-contents-->"
# The lab template without anything fetched from the network (no require.js, MathJax or mermaid from a CDN),
# a mark where the table of contents goes, and a little CSS for it and for a printed page.
_REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
nav.ivig-toc { margin: 1em 24px 1.5em; padding: 0.6em 1.2em; max-width: 60em; border: 1px solid #d0d7de;
  border-radius: 6px; background: #f6f8fa; font-family: var(--jp-content-font-family, sans-serif); }
nav.ivig-toc .ivig-toc-title { font-weight: 600; margin: 0.2em 0 0.4em; }
nav.ivig-toc ol { margin: 0; padding-left: 1.2em; }
nav.ivig-toc ol ol { list-style: lower-alpha; }
@media print { nav.ivig-toc { display: none; } }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}
""" + _TOC_MARK + """
{%- endblock body_header -%}
"""
_HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_exporter = None  # one per process: building it loads and compiles the templates


def _html_exporter():
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        _exporter = HTMLExporter(template_name="lab", template_file="ivig_site_report.html.j2",
                                 extra_loaders=[DictLoader({"ivig_site_report.html.j2": _REPORT_TEMPLATE})],
                                 exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                 embed_images=True)
    return _exporter


def export_html(notebook, title: str) -> str:
    """One self-contained HTML page of an executed notebook: code hidden, images embedded, a table of
    contents built from its headings, nothing loaded from the network."""
    body, _ = _html_exporter().from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body.replace(_TOC_MARK, table_of_contents(body), 1)


def table_of_contents(page: str) -> str:
    """A ``<nav>`` linking the sections (H2, with their H3s nested) of an exported page by the ids nbconvert
    gives its headings; the H1 title is left out unless there is nothing else."""
    headings = []
    for level, anchor, inner in _HEADING.findall(page):
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("\u00b6", "").strip()
        if text:
            headings.append((int(level), anchor, text))
    if any(level > 1 for level, _, _ in headings):
        headings = [h for h in headings if h[0] > 1]
    top = min((level for level, _, _ in headings), default=1)
    items, open_sublist = [], False
    for level, anchor, text in headings:
        link = f'<a href="#{anchor}">{html.escape(text)}</a>'  # the id is attribute text already
        if level == top:
            if open_sublist:
                items.append("</ol></li>")
            elif items:
                items.append("</li>")
            items.append(f"<li>{link}")
            open_sublist = False
        else:
            if not items:
                items.append("<li>")
            if not open_sublist:
                items.append("<ol>")
                open_sublist = True
            items.append(f"<li>{link}</li>")
    if items:
        items.append("</ol></li>" if open_sublist else "</li>")
    return ('<nav class="ivig-toc" id="table-of-contents" aria-label="Table of contents">'
            '<p class="ivig-toc-title">Contents</p><ol>' + "".join(items) + "</ol></nav>")


# --- The batch --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReportBatch:
    """A validated batch: what to run, where, and on which data."""

    data_path: Path
    out_dir: Path
    notebook: Path
    tasks: list[SiteTask]
    all_sites: list[str]
    adverse_events_path: Path | None
    population: str
    data_sha256: str


@dataclasses.dataclass
class BatchResult:
    results: list[SiteResult]
    index_path: Path
    seconds: float

    @property
    def failed(self) -> list[SiteResult]:
        return [r for r in self.results if not r.ok]


def default_adverse_events(data_path: Path) -> Path | None:
    """The adverse-event table that goes with a visit table, if there is one beside it:
    ``demo_registry.csv`` -> ``demo_adverse_events.csv`` (also ``*_visits`` -> ``*_adverse_events``)."""
    for word in ("registry", "visits"):
        if word in data_path.stem:
            candidate = data_path.with_name(data_path.stem.replace(word, "adverse_events") + ".csv")
            if candidate.is_file():
                return candidate
    return None


def prepare_batch(data_path, out_dir, sites=None, notebook=None, population: str = "adult",
                  adverse_events_path="auto") -> ReportBatch:
    """Read and validate everything once, before any kernel starts; raise :class:`InputError` on bad input.

    ``adverse_events_path``: a path, ``""``/``None`` for none, or ``"auto"`` for the table beside the data
    (:func:`default_adverse_events`).
    """
    data_path = Path(data_path).resolve()
    visits = read_visits(data_path)  # VisitTableError (an InputError) names file, row and column
    known = list(dict.fromkeys(visits["site"]))
    if sites:
        sites = [str(s) for s in sites]
        unknown = [s for s in sites if s not in known]
        if unknown:
            shown = ", ".join(repr(s) for s in known[:20]) + (" ..." if len(known) > 20 else "")
            raise ReportSetupError(f"{data_path.name}: no site {', '.join(repr(s) for s in unknown)}; "
                                   f"the sites are {shown}")
        sites = list(dict.fromkeys(sites))
    else:
        sites = known
    if population not in POPULATIONS:
        raise ReportSetupError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")

    if adverse_events_path == "auto":
        adverse_events = default_adverse_events(data_path)
    elif adverse_events_path:
        adverse_events = Path(adverse_events_path).resolve()
        if not adverse_events.is_file():
            raise ReportSetupError(f"{adverse_events_path}: adverse-event table not found")
    else:
        adverse_events = None

    notebook = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not notebook.is_file():
        raise ReportSetupError(f"{notebook}: report notebook not found")
    declared = declared_parameters(notebook)
    missing = [name for name in REPORT_PARAMETERS if name not in declared]
    if missing:
        raise ReportSetupError(f"{notebook.name}: its 'parameters' cell lacks {', '.join(missing)}; a report "
                               f"notebook declares {', '.join(REPORT_PARAMETERS)}")

    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportSetupError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [SiteTask(site=site, slug=site_slug(site), notebook=str(notebook), out_dir=str(out_dir),
                      data_path=str(data_path), adverse_events_path=str(adverse_events or ""), population=population)
             for site in sites]
    return ReportBatch(data_path=data_path, out_dir=out_dir, notebook=notebook, tasks=tasks, all_sites=known,
                       adverse_events_path=adverse_events, population=population,
                       data_sha256=file_sha256(data_path))


def declared_parameters(notebook: Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns (read with ``ast``: papermill's own reader
    gives up on a line whose comment holds a quote, although injection works)."""
    import ast

    try:
        cells = notebook_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReportSetupError(f"{notebook.name}: not a readable notebook ({type(error).__name__}: {error})") from None
    tagged = [c for c in cells
              if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ReportSetupError(f"{notebook.name}: no code cell is tagged 'parameters'; a report notebook declares "
                               f"{', '.join(REPORT_PARAMETERS)} there")
    try:
        tree = ast.parse(_source(tagged[0]))
    except SyntaxError as error:
        raise ReportSetupError(f"{notebook.name}: the 'parameters' cell is not valid Python ({error.msg}, "
                               f"line {error.lineno})") from None
    names = []
    for statement in tree.body:
        targets = (statement.targets if isinstance(statement, ast.Assign)
                   else [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def _preload_worker(notebook: str, zygote_socket: str | None) -> None:
    """Use the batch's kernel zygote (or start one), and import what every site needs once per worker."""
    if zygote_socket:
        KernelZygote.shared(notebook, zygote_socket)
    else:
        KernelZygote.for_notebook(notebook)
    import papermill  # noqa: F401

    _html_exporter()


#: Imported once by the fork server the local worker processes are forked from.
WORKER_PRELOAD = ("ivig_kit.reports", "papermill", "nbconvert", "jupyter_client", "tqdm")


def _executor(jobs: int, scheduler: str | None, notebook: str, zygote: KernelZygote | None):
    """A ``concurrent.futures`` executor: local worker processes sharing one kernel zygote, forked from a
    server that has imported the runner once; or a dask.distributed cluster's (each worker its own zygote)."""
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as error:
            raise ReportSetupError(f"cannot use the dask scheduler at {scheduler!r}: {error}") from None
        executor = client.get_executor(pure=False)
        return executor, client
    context = multiprocessing.get_context("forkserver")  # workers from a clean process, whatever our threads
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_preload_worker,
        initargs=(notebook, zygote.socket_path if zygote else None)), None


def run_batch(batch: ReportBatch, jobs: int = 2, scheduler: str | None = None, progress: bool = True
              ) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, then write ``index.html``."""
    from tqdm.auto import tqdm

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    results = []
    with contextlib.ExitStack() as cleanup:
        zygote = None
        if not scheduler:  # local workers share one zygote, started first so its imports overlap theirs
            zygote = KernelZygote(notebook_imports(str(batch.notebook)))
            cleanup.callback(zygote.close)
        executor, client = _executor(max(1, jobs), scheduler, str(batch.notebook), zygote)
        if client is not None:
            cleanup.callback(client.close)
        if client is None:  # on an interrupt, sites not yet started are dropped rather than waited for
            cleanup.callback(executor.shutdown, wait=True, cancel_futures=True)
        else:
            cleanup.callback(executor.shutdown, wait=True)
        futures = {executor.submit(run_site_report, task): task for task in batch.tasks}
        bar = cleanup.enter_context(tqdm(total=len(futures), unit="site", desc="site reports", disable=not progress,
                                         file=sys.stderr))
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # the worker itself died (killed, out of memory, lost by dask)
                outcome = SiteResult(site=task.site, slug=task.slug, status="failed", seconds=0.0, attempts=1,
                                     files=task.files(), error={"kind": "runner", "ename": type(error).__name__,
                                                                "evalue": str(error), "cell_index": None})
            results.append(outcome)
            bar.update()
            if progress:
                bar.write(_log_line(outcome), file=sys.stdout)
            else:
                print(_log_line(outcome), flush=True)
    order = {task.site: i for i, task in enumerate(batch.tasks)}
    results.sort(key=lambda r: order[r.site])
    seconds = time.perf_counter() - started
    index = write_index(batch, results, started_at=started_at, seconds=seconds,
                        runner=f"dask scheduler {scheduler}" if scheduler else f"{jobs} local process(es)")
    return BatchResult(results=results, index_path=index, seconds=seconds)


def _log_line(result: SiteResult) -> str:
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.ok:
        return f"ok      {result.site!r} -> {result.files['html']} ({result.seconds:.1f} s{retried})"
    return f"FAILED  {result.site!r}: {result.error_line()} ({result.seconds:.1f} s{retried})"


def run_reports(data_path, out_dir, sites=None, jobs: int = 2, scheduler: str | None = None, notebook=None,
                population: str = "adult", adverse_events_path="auto", progress: bool = True) -> BatchResult:
    """Validate the inputs, report on every site and write ``out_dir/index.html`` (see the module docstring)."""
    batch = prepare_batch(data_path, out_dir, sites=sites, notebook=notebook, population=population,
                          adverse_events_path=adverse_events_path)
    return run_batch(batch, jobs=jobs, scheduler=scheduler, progress=progress)


# --- The index page ---------------------------------------------------------------------------------------

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
  padding: 0 1em; color: #1f2328; }
.banner { padding: 0.7em 1em; border-radius: 6px; margin: 1em 0; }
.synthetic { background: #fff8c5; border: 1px solid #d4a72c; }
.failures { background: #ffebe9; border: 1px solid #cf222e; }
table { border-collapse: collapse; width: 100%; font-size: 0.95em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status-ok { color: #1a7f37; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
.error { font-family: ui-monospace, monospace; font-size: 0.9em; white-space: pre-wrap; color: #82071e; }
.meta { color: #57606a; font-size: 0.9em; }
"""


def _figure(summary: dict | None, key: str) -> str:
    value = (summary or {}).get(key)
    if value is None or (isinstance(value, float) and value != value):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.1f}" if key.endswith("percent") else f"{value:g}"
    return html.escape(str(value))


def write_index(batch: ReportBatch, results: list[SiteResult], started_at: datetime.datetime, seconds: float,
                runner: str = "") -> Path:
    """Write ``index.html`` (and ``index.json``, the same facts for programs) listing every site of this run."""
    out = batch.out_dir
    failed = [r for r in results if not r.ok]
    synthetic = any((r.summary or {}).get("synthetic") for r in results)
    rows = []
    for result in results:
        files = result.files
        if result.ok:
            links = (f'<a href="{html.escape(files["html"])}">report</a> &middot; '
                     f'<a href="{html.escape(files["notebook"])}">notebook</a> &middot; '
                     f'<a href="{html.escape(files["summary"])}">summary</a>')
            note = ""
        else:
            links = []
            if (out / files["failed_notebook"]).exists():
                links.append(f'<a href="{html.escape(files["failed_notebook"])}">failed notebook</a>')
            if (out / files["html"]).exists():
                links.append(f'<a href="{html.escape(files["html"])}">earlier report</a>')
            links = " &middot; ".join(links) or "&ndash;"
            note = f'<div class="error">{html.escape(result.error_line())}</div>'
        figures = "".join(f'<td class="number">{_figure(result.summary, key)}</td>' for key, _ in INDEX_FIGURES)
        rows.append(f'<tr class="site-row" data-status="{result.status}"><td class="site">{html.escape(result.site)}'
                    f'{note}</td><td class="status-{result.status}">{result.status}</td>{figures}'
                    f'<td>{links}</td><td class="number">{result.seconds:.1f}</td></tr>')
    heading = "".join(f"<th>{html.escape(label)}</th>" for _, label in INDEX_FIGURES)
    banner = ('<div class="banner synthetic" id="synthetic-banner"><strong>Synthetic data.</strong> These reports '
              'are generated from a synthetic registry; no real patient is described.</div>') if synthetic else ""
    failures = (f'<div class="banner failures" id="failures"><strong>{len(failed)} of {len(results)} site '
                f'report(s) failed.</strong> Their error is shown below; an earlier report of a failed site is '
                f'left in place.</div>') if failed else ""
    adverse = batch.adverse_events_path.name if batch.adverse_events_path else "none"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Site reports: {html.escape(batch.data_path.name)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>Site reports</h1>
{banner}
<p class="meta">Data <code>{html.escape(batch.data_path.name)}</code> (SHA-256 {batch.data_sha256[:12]}&hellip;),
adverse events <code>{html.escape(adverse)}</code>, population {html.escape(batch.population)},
notebook <code>{html.escape(batch.notebook.name)}</code>.<br>
Run {started_at:%Y-%m-%d %H:%M:%S %Z} on {html.escape(runner)}: {len(results) - len(failed)} ok,
{len(failed)} failed, {seconds:.1f} s.</p>
{failures}
<table id="sites">
<thead><tr><th>site</th><th>status</th>{heading}<th>files</th><th>seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    record = {"data": str(batch.data_path), "data_sha256": batch.data_sha256, "notebook": str(batch.notebook),
              "population": batch.population, "started_at": started_at.isoformat(), "seconds": seconds,
              "runner": runner, "sites": [dataclasses.asdict(r) for r in results]}
    write_atomically(out / "index.json", json.dumps(record, indent=1, default=str, ensure_ascii=False))
    write_atomically(out / "index.html", page)
    return out / "index.html"
