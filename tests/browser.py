"""Browser-test harness: headless Debian Chromium through Playwright, and a token-less JupyterLab.

Playwright cannot download its own browsers here, so it drives ``/usr/bin/chromium``
with the flags a closed network needs (see ``shared/reference/jupyter-practice.md``).
JupyterLab is started the way Galata starts it: no token, no password, no XSRF check,
and ``window.jupyterapp`` exposed so a test can run commands and read the notebook model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# JupyterLab settings that keep a test run off the network (news and update checks).
QUIET_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False}
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendant_pids(pid: int) -> list[int]:
    """PIDs of every live descendant of ``pid`` (the server's kernels), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_process_tree(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server by PID: SIGTERM (the server shuts its kernels down), then SIGKILL what is left."""
    kernels = descendant_pids(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    for pid in kernels:  # kernels run in sessions of their own, so killpg above does not reach them
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for_status(url: str, server: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early; log:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                json.load(response)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"jupyter lab did not answer on {url} within {timeout} s; log:\n{log_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.3)


@contextlib.contextmanager
def jupyter_lab(root: Path, notebooks: list[Path] = (), timeout: float = 90):
    """Copy ``notebooks`` (and nothing else) into ``root``, start JupyterLab there token-less on a free
    loopback port, yield its base URL; stop the server and its kernels by PID on exit."""
    root.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        shutil.copy(notebook, root / Path(notebook).name)
    private = root.parent / f"{root.name}-jupyter"  # settings, workspaces, runtime files: outside the tree shown
    for name, values in QUIET_LAB_SETTINGS.items():
        (private / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (private / "settings" / name).write_text(json.dumps(values))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={private / 'workspaces'}",
        "--ServerApp.open_browser=False",
        "--ServerApp.port_retries=0",
        "--allow-root",
    ]
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(private / "settings"),
        "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
    }
    log_path = private / "jupyter-lab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_status(url, server, log_path, timeout)
            yield url
        finally:
            stop_process_tree(server)


# The open notebook's progress after "run all": "done", "error: ..." or "" while still running.
RUN_ALL_PROGRESS = """(name) => {
    const panel = window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.context || panel.context.path !== name || !panel.model) return "";
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = Array.from({length: panel.model.cells.length}, (_, i) => panel.model.cells.get(i))
        .filter(c => c.type === "code");
    for (const cell of cells) {
        for (const output of cell.outputs.toJSON()) {
            if (output.output_type === "error") return `error: ${output.ename}: ${output.evalue}`;
        }
    }
    const ran = cells.filter(c => c.sharedModel.getSource().trim())
        .every(c => c.executionCount !== null && c.executionState !== "running");
    return ran && kernel && kernel.status === "idle" ? "done" : "";
}"""


def open_notebook_and_run_all(page, base_url: str, notebook_name: str, timeout_ms: int = 120_000) -> None:
    """Open a notebook in JupyterLab, run all cells and wait until every code cell has run and the kernel
    is idle again; raise AssertionError with the first error output if a cell fails."""
    page.goto(f"{base_url}/lab/tree/{notebook_name}", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
    page.evaluate("() => window.jupyterapp.started")
    page.wait_for_function(
        """(name) => {
            const panel = window.jupyterapp.shell.currentWidget;
            const session = panel && panel.sessionContext;
            return panel && panel.context && panel.context.path === name && panel.context.isReady
                && session && session.session && session.session.kernel
                && session.session.kernel.status === "idle";
        }""",
        arg=notebook_name,
        timeout=timeout_ms,
    )
    # Start "run all" without awaiting its promise: a stuck kernel must end in the timed wait below,
    # never in an evaluate() that has no timeout of its own.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
    handle = page.wait_for_function(RUN_ALL_PROGRESS, arg=notebook_name, timeout=timeout_ms, polling=250)
    progress = handle.json_value()
    assert progress == "done", f"{notebook_name} failed in JupyterLab: {progress}"


@contextlib.contextmanager
def voila_server(root: Path, notebook: Path, timeout: float = 120):
    """Serve a copy of ``notebook`` with Voilà on a free loopback port; stop it (and its kernel) by PID."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, root / notebook.name)
    port = free_port()
    private = root.parent / f"{root.name}-jupyter"
    private.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "voila"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        notebook.name,
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(private / "runtime")}
    log_path = private / "voila.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
            env=env,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"voila exited early; log:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"voila did not listen within {timeout} s; log:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process_tree(server)


# --- axe-core ---------------------------------------------------------------------------

#: The WCAG 2.0/2.1 level A and AA rules: what "accessible by default" means in this kit.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> str:
    """axe-core's ``axe.min.js`` as shipped inside the ``axe-playwright-python`` wheel (no network needed)."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page, tags: list[str] = WCAG_TAGS) -> list[str]:
    """Run axe-core on the page under the WCAG A/AA tags; one line per violated rule (impact, id, nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", tags
    )
    return [
        f"{v['impact']} {v['id']} ({len(v['nodes'])} nodes): {v['help']}; e.g. "
        + "; ".join(f"{' '.join(map(str, n['target']))} -> {n['failureSummary'][:160]!r}" for n in v["nodes"][:3])
        for v in results["violations"]
    ]
