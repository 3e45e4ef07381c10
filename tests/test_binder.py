"""The Binder demo, tested without Docker.

Builds a fresh virtual environment from ``binder/`` alone, runs ``binder/postBuild`` in a
copy of the repository as repo2docker would, and executes every notebook the README links
to for the demo inside it. Then asks ``jupyter-repo2docker --no-build`` which image it would
build and checks it is Python 3.11 from ``binder/requirements.txt`` with the postBuild step.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.binder, pytest.mark.slow]


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def repository_copy(destination: Path) -> Path:
    """The files a fresh clone would have (tracked plus not-ignored new files), nothing generated."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def demo_notebooks() -> list[str]:
    """Notebooks the README links to (the Binder badge opens the first)."""
    readme = (REPO / "README.md").read_text()
    linked = re.findall(r"\((notebooks/[\w.-]+\.ipynb)\)", readme)
    badge = re.search(r"labpath=(notebooks/[\w.-]+\.ipynb)", readme)
    assert badge, "the README has no Binder badge opening a notebook"
    return sorted({badge.group(1), *linked})


@pytest.fixture(scope="module")
def binder_repo(tmp_path_factory) -> Path:
    return repository_copy(tmp_path_factory.mktemp("binder-repo"))


@pytest.fixture(scope="module")
def binder_env(binder_repo, tmp_path_factory):
    venv = tmp_path_factory.mktemp("binder-venv")
    run([sys.executable, "-m", "venv", str(venv)])
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=binder_repo, env=env)
    run(["bash", "binder/postBuild"], cwd=binder_repo, env=env)
    return venv, env


def test_postbuild_installs_the_kit_into_the_binder_environment(binder_env, binder_repo):
    venv, env = binder_env
    result = run([str(venv / "bin" / "python"), "-c", "import ivig_kit, sys; print(ivig_kit.__file__)"],
                 env=env, cwd="/")
    assert result.stdout.strip().startswith(str(venv))


def test_every_demo_notebook_runs_in_the_binder_environment(binder_env, binder_repo, tmp_path):
    venv, env = binder_env
    notebooks = demo_notebooks()
    assert "notebooks/01_total_improvement_score.ipynb" in notebooks
    for notebook in notebooks:
        output = tmp_path / Path(notebook).name
        run([str(venv / "bin" / "python"), "-m", "papermill", notebook, str(output), "--kernel", "python3",
             "--cwd", "notebooks", "--no-progress-bar"], cwd=binder_repo, env=env)
        assert output.exists()


def test_repo2docker_would_build_python_311_with_requirements_and_postbuild(binder_repo, tmp_path):
    venv = tmp_path / "r2d"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "jupyter-repo2docker"])
    result = run([str(venv / "bin" / "jupyter-repo2docker"), "--no-build", "--debug", "."], cwd=binder_repo)
    dockerfile = result.stdout
    assert "Building conda environment for python=3.11" in result.stderr + result.stdout
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile


def test_binder_pins_cover_the_package_dependencies():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    pinned = {}
    for line in (REPO / "binder" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[re.split(r"\[", name)[0].lower()] = version
    assert required <= set(pinned), f"not pinned for Binder: {sorted(required - set(pinned))}"
    from importlib.metadata import version
    mismatched = {n: (v, version(n)) for n, v in pinned.items() if version(n) != v}
    assert not mismatched, f"binder pins differ from the tested environment: {mismatched}"
