"""What a newcomer meets first: the papermill command from the repository root, --help, a mistyped site."""

from __future__ import annotations

import json
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
    fake_batch = types.SimpleNamespace(tasks=[], data_path=tmp_path / "r.csv", adverse_events_path=None)
    monkeypatch.setattr(prepare_module, "prepare_batch", lambda *a, **k: fake_batch)
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "target,url", [("lab", "http://127.0.0.1:{port}/lab"), ("calculator", "http://127.0.0.1:{port}/")]
)
def test_make_lab_and_calculator_bind_loopback_open_no_browser_and_print_the_url(target, url, tmp_path):
    import os
    import signal
    import time

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
    log = tmp_path / "log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    try:
        deadline = time.monotonic() + 90
        while url.format(port=port) not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()[-2000:]  # as root too: lab has --allow-root
            time.sleep(0.5)
        assert url.format(port=port) in log.read_text(), log.read_text()[-2000:]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
