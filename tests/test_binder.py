"""The Binder demo, tested without Docker.

Builds a fresh virtual environment from ``binder/`` alone (what repo2docker's Python buildpack
does: ``pip install -r binder/requirements.txt``, then ``binder/postBuild`` from the repository
root), in a copy of the files a fresh clone has, and executes every notebook the demo offers
inside it. Then asks ``jupyter-repo2docker --no-build`` which image it would build and checks
it is Python 3.11 from ``binder/requirements.txt`` with the postBuild step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
FIRST_NOTEBOOK = "notebooks/01_total_improvement_score.ipynb"
pytestmark = [pytest.mark.binder, pytest.mark.slow]
# The buildpack repo2docker picks for the current directory, detected the way its app does it
# (the dry run does not name it).
DETECT_BUILDPACK = """
from repo2docker.app import Repo2Docker
app = Repo2Docker()
print(next(BP.__name__ for BP in app.buildpacks if BP(base_image=app.base_image).detect()))
"""


def run(command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def binder_pins() -> dict[str, Requirement]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {pin.name.lower(): pin for pin in pins}


def repository_copy(destination: Path) -> Path:
    """The files a fresh clone would have (tracked plus new files not git-ignored), nothing generated."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def demo_notebooks(repo: Path) -> list[str]:
    """The notebook the Binder badge opens, the notebooks the README links to, and every notebook in
    ``notebooks/`` (the demo opens JupyterLab, which shows them all); those present in ``repo``."""
    readme = (repo / "README.md").read_text()
    badge = re.search(r"mybinder\.org/v2/gh/[^)\s]*[?&]labpath=(notebooks/[\w.-]+\.ipynb)", readme)
    assert badge, "the README has no Binder badge opening a notebook (…?labpath=notebooks/<name>.ipynb)"
    assert badge.group(1) == FIRST_NOTEBOOK, "the Binder badge should open the first teaching notebook"
    assert (repo / badge.group(1)).exists(), f"the Binder badge opens {badge.group(1)}, which is missing"
    linked = set(re.findall(r"\((notebooks/[\w.-]+\.ipynb)\)", readme))
    present = {str(p.relative_to(repo)) for p in (repo / "notebooks").glob("*.ipynb")}
    return sorted(n for n in {badge.group(1), *linked, *present} if (repo / n).exists())


def isolated_env(venv: Path) -> dict[str, str]:
    """The environment a Binder user's processes see: the venv first on PATH, nothing of the test venv."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "JUPYTER", "CONDA", "PYTEST", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv),
               JUPYTER_PLATFORM_DIRS="1", MPLBACKEND="Agg")
    return env


@pytest.fixture(scope="module")
def binder_repo(tmp_path_factory) -> Path:
    return repository_copy(tmp_path_factory.mktemp("binder-repo"))


@pytest.fixture(scope="module")
def binder_env(binder_repo, tmp_path_factory):
    """A fresh Python 3.11 venv with binder/requirements.txt installed and binder/postBuild run (pip's cache reused)."""
    venv = tmp_path_factory.mktemp("binder-venv")
    base_python = shutil.which("python3.11") or sys.executable
    run([base_python, "-m", "venv", venv])
    env = isolated_env(venv)
    # --no-compile halves the install time; the modules the notebooks import are compiled on first use.
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt"],
        cwd=binder_repo, env=env)
    postbuild = binder_repo / "binder" / "postBuild"
    assert postbuild.read_text().startswith("#!/bin/bash") and os.access(postbuild, os.X_OK)
    run(["./binder/postBuild"], cwd=binder_repo, env=env)
    return venv, env


def test_binder_pins_every_package_dependency_to_an_allowed_version():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = binder_pins()
    for pin in pins.values():
        assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==", f"not pinned: {pin}"
    for dependency in map(Requirement, project["dependencies"]):
        pin = pins.get(dependency.name.lower())
        assert pin is not None, f"{dependency.name} is a dependency of the kit but not pinned for Binder"
        version = next(iter(pin.specifier)).version
        assert dependency.specifier.contains(version, prereleases=True), f"{pin} does not satisfy {dependency}"
        assert dependency.extras <= pin.extras, f"{pin} lacks the extras of {dependency}"


def test_binder_asks_for_python_311():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_postbuild_installs_the_kit_into_the_binder_environment(binder_env):
    venv, env = binder_env
    result = run([venv / "bin" / "python", "-c", "import ivig_kit, sys; print(sys.version_info[:2], ivig_kit.__file__)"],
                 env=env, cwd="/")
    assert result.stdout.startswith("(3, 11)")
    assert Path(result.stdout.split()[-1]).is_relative_to(venv), "ivig_kit is not installed in the Binder venv"
    installed = json.loads(run([venv / "bin" / "python", "-m", "pip", "list", "--format=json"], env=env).stdout)
    versions = {p["name"].lower(): p["version"] for p in installed}
    assert {name: versions.get(name) for name in binder_pins()} == \
        {name: next(iter(pin.specifier)).version for name, pin in binder_pins().items()}


def test_binder_environment_runs_python3_kernels_and_renders_widgets(binder_env):
    venv, env = binder_env
    spec = json.loads(run([venv / "bin" / "python", "-c",
                           "import json; from jupyter_client.kernelspec import KernelSpecManager as K; "
                           "s = K().get_kernel_spec('python3'); print(json.dumps([s.resource_dir, s.argv[0]]))"],
                          env=env, cwd="/").stdout)
    resource_dir, executable = Path(spec[0]), spec[1]
    assert resource_dir.is_relative_to(venv), f"the python3 kernel spec comes from {resource_dir}, not the venv"
    # jupyter_client runs a bare "python" as the interpreter that starts the kernel: the venv's.
    assert executable in {"python", "python3", "python3.11"} or Path(executable).is_relative_to(venv), executable
    extensions = run([venv / "bin" / "jupyter", "labextension", "list"], env=env, cwd="/")
    listing = re.sub(r"\x1b\[[0-9;]*m", "", extensions.stdout + extensions.stderr)  # drop colours
    assert re.search(r"@jupyter-widgets/jupyterlab-manager v\S+ enabled\s+OK", listing), \
        "JupyterLab in the Binder environment cannot render ipywidgets (the calculator)"


def test_every_demo_notebook_runs_in_the_binder_environment(binder_env, binder_repo, tmp_path):
    venv, env = binder_env
    notebooks = demo_notebooks(binder_repo)

    def execute(notebook: str) -> Path:
        output = tmp_path / Path(notebook).name
        run([venv / "bin" / "papermill", notebook, output, "--kernel", "python3", "--cwd", "notebooks",
             "--no-progress-bar"], cwd=binder_repo, env=env)
        return output

    with ThreadPoolExecutor(max_workers=2) as pool:  # separate papermill processes: no shared cwd
        executed = list(pool.map(execute, notebooks))
    assert [p.name for p in executed] == [Path(n).name for n in notebooks]
    assert all(p.stat().st_size > 0 for p in executed)


def test_repo2docker_would_build_python_311_with_requirements_and_postbuild(binder_repo, tmp_path):
    venv = tmp_path / "repo2docker"
    run([shutil.which("python3.11") or sys.executable, "-m", "venv", venv])
    install = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "jupyter-repo2docker"],
                             capture_output=True, text=True)
    if install.returncode != 0:
        message = f"jupyter-repo2docker is not pip-installable here:\n{install.stderr[-2000:]}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    env = isolated_env(venv)
    picked = run([venv / "bin" / "python", "-c", DETECT_BUILDPACK], cwd=binder_repo, env=env).stdout.strip()
    assert picked == "PythonBuildPack", f"repo2docker would use {picked}, not the pip (requirements.txt) buildpack"
    result = run([venv / "bin" / "jupyter-repo2docker", "--no-build", "--debug", "."], cwd=binder_repo, env=env)
    log, dockerfile = result.stderr, result.stdout
    assert "Building conda environment for python=3.11" in log, log[-2000:]
    assert re.search(r'pip install --no-cache-dir -r "?binder/requirements.txt"?', dockerfile)
    assert "RUN ./binder/postBuild" in dockerfile
    assert dockerfile.index("binder/requirements.txt") < dockerfile.index("RUN ./binder/postBuild")
