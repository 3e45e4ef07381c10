"""What a newcomer meets first: the papermill command from the repository root, --help, a mistyped site."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ivig_kit.cli import build_parser
from ivig_kit.reports.content.parameters import bundled_or_given
from ivig_kit.reports.runner.prepare import closest_site
from ivig_kit.resources import data_path
from ivig_kit.score.readers import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", ["tis", "reports"])
def test_help_lists_every_accepted_input_format(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES, *EXCEL_SUFFIXES):
        assert suffix in text, f"{command} --help does not name {suffix}"


SITES = ["Amsterdam", "Nijmegen UMC", "Zürich", "São Paulo"]


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("Zurich", "Zürich"),
        ("zürich", "Zürich"),
        ("ZURICH", "Zürich"),
        ("nijmegen umc", "Nijmegen UMC"),
        ("Sao Paolo", "São Paulo"),
        ("Amsterdm", "Amsterdam"),
        ("Tokyo", None),
    ],
)
def test_a_mistyped_site_gets_the_closest_name(typed, expected):
    assert closest_site(typed, SITES) == expected


def test_an_unknown_site_on_the_command_line_is_answered_with_a_suggestion(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivig_kit.cli",
            "reports",
            str(data_path("demo_registry.csv")),
            "--out",
            str(tmp_path / "out"),
            "--sites",
            "Zurich",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "'Zurich' -> did you mean 'Zürich'?" in result.stderr


def test_bundled_parameter_values_resolve_against_the_kit_not_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bundled_or_given("bundled:demo_registry.csv") == data_path("demo_registry.csv")
    assert bundled_or_given("mine.csv") == tmp_path / "mine.csv"


@pytest.mark.notebook
@pytest.mark.slow
def test_papermill_cli_runs_the_site_report_from_the_repository_root(tmp_path):
    out = tmp_path / "tokyo.ipynb"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "notebooks/site_report.ipynb",
            str(out),
            "-k",
            "python3",
            "-p",
            "site",
            "Tokyo",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = json.loads(out.read_text(encoding="utf-8"))
    shown = "".join(
        "".join(o.get("data", {}).get("text/html", "")) for c in notebook["cells"] for o in c.get("outputs", [])
    )
    assert "Site report: Tokyo" in shown


def test_progress_bar_only_when_stderr_is_a_terminal(monkeypatch, tmp_path):
    """A log (stderr not a TTY) gets the per-site lines and no carriage-return progress bar."""
    import io
    import types

    from ivig_kit import cli
    from ivig_kit.reports.runner import batch as batch_module
    from ivig_kit.reports.runner import prepare as prepare_module

    seen = []
    from ivig_kit.reports.runner import command as command_module

    fake_batch = types.SimpleNamespace(
        tasks=[], data_path=tmp_path / "r.csv", adverse_events_path=None, notebook=tmp_path / "site_report.ipynb"
    )
    monkeypatch.setattr(prepare_module, "prepare_batch", lambda *a, **k: fake_batch)
    monkeypatch.setattr(command_module, "_start_runners", lambda notebook, jobs: None)  # no processes to start
    monkeypatch.setattr(
        batch_module,
        "run_batch",
        lambda *a, progress, **k: (
            seen.append(progress)
            or types.SimpleNamespace(failed=[], reused=[], results=[], seconds=0.0, index_path="index.html")
        ),
    )
    for tty in (False, True):
        stderr = io.StringIO()
        stderr.isatty = lambda tty=tty: tty
        monkeypatch.setattr(sys, "stderr", stderr)
        assert cli.main(["reports", str(tmp_path / "r.csv"), "--out", str(tmp_path / "out")]) == 0
    assert seen == [False, True]


def make_recipe(target: str) -> list[str]:
    """The command of a one-line Makefile target, with $(BIN) as this interpreter's bin folder."""
    lines = (REPO / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    recipe = lines[start + 1].strip().replace("$(BIN)", str(Path(sys.executable).parent))
    words = shlex.split(recipe.replace("$(CURDIR)", str(REPO)))
    return ["env", *words] if "=" in words[0] else words  # VAR=value before the command, as the shell reads it


def serve_until_url(command: list[str], url: str, env: dict[str, str], log: Path) -> str:
    """Start ``command``, wait until ``url`` is in its output, stop it; return the output."""
    import signal
    import time

    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    try:
        deadline = time.monotonic() + 90
        while url not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()[-2000:]
            time.sleep(0.5)
        assert url in log.read_text(), log.read_text()[-2000:]
        return log.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):  # a server that exited early is already gone
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(
    "target,url", [("lab", "http://127.0.0.1:{port}/lab"), ("calculator", "http://127.0.0.1:{port}/")]
)
def test_make_lab_and_calculator_bind_loopback_open_no_browser_and_print_the_url(target, url, tmp_path):
    from browser import free_port

    command = [part for part in make_recipe(target) if not part.startswith("--port")]
    assert "--no-browser" in command and any("127.0.0.1" in part for part in command), command
    port = free_port()
    command.insert(-1, f"--port={port}")
    env = {
        **os.environ,
        "BROWSER": "false",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }
    serve_until_url(command, url.format(port=port), env, tmp_path / "log")  # as root too: lab has --allow-root


USER = "nobody"


def as_user(*command: str) -> list[str]:
    import pwd

    user = pwd.getpwnam(USER)
    # Through env: setpriv itself still holds root's capabilities while it starts its command, so a path only
    # root may search (a Python under /root) would start; env is the user's first process, as a shell would be.
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "/usr/bin/env", *command]


def python_the_user_can_run(env: dict[str, str]) -> list[str]:
    """The start of a command that runs JupyterLab of this environment as ``USER``: this interpreter's
    ``jupyter``, or, when ``USER`` cannot reach it (a Python under /root), the system Python of the same
    version on this environment's packages. Skips when neither can import jupyterlab as that user."""
    import sysconfig

    probe = "import jupyterlab; open('notebooks/01_total_improvement_score.ipynb').read()"
    bin_folder = Path(sys.executable).parent
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    paths = sysconfig.get_paths()
    candidates = [
        ([str(bin_folder / "python")], {}, [str(bin_folder / "jupyter"), "lab"]),
        (
            [str(system)],
            {
                "PYTHONPATH": os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]])),
                "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
                "JUPYTERLAB_DIR": str(Path(sys.prefix) / "share" / "jupyter" / "lab"),
            },
            [str(system), "-m", "jupyterlab"],
        ),
    ]
    failures = []
    for python, extra, start in candidates:
        result = subprocess.run(
            as_user(*python, "-c", probe), cwd=REPO, env={**env, **extra}, capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            env.update(extra)
            return start
        said = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        failures.append(f"{python[0]}: {said[-1]}")
    pytest.skip(f"user {USER} cannot run JupyterLab of this environment: " + "; ".join(failures))


@pytest.mark.slow
def test_make_lab_works_as_a_user_too(tmp_path):
    """``make lab`` passes --allow-root so that it starts as root; as a user that flag changes nothing and the
    same command line starts JupyterLab, reachable at the URL it prints (run as ``nobody`` through setpriv)."""
    import pwd
    import shutil
    import tempfile

    from browser import free_port

    if os.geteuid() != 0:
        pytest.skip("not root: the test above already runs `make lab` as a user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot switch to another user")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"no user {USER!r} on this machine")
    home = Path(tempfile.mkdtemp(prefix="lab-user-"))  # pytest's tmp_path is readable by root only
    try:
        home.chmod(0o777)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "BROWSER": "false",
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
        }
        start = python_the_user_can_run(env)
        recipe = make_recipe("lab")
        assert recipe[:2] == [str(Path(sys.executable).parent / "jupyter"), "lab"], recipe
        port = free_port()
        command = as_user(*start, *recipe[2:-1], f"--port={port}", recipe[-1])
        output = serve_until_url(command, f"http://127.0.0.1:{port}/lab", env, tmp_path / "log")
        assert "Running as root" not in output
    finally:
        shutil.rmtree(home, ignore_errors=True)
