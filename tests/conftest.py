"""Shared fixtures: repository paths, artifacts, headless Chromium and token-less JupyterLab servers."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS
from browser import jupyter_lab as start_jupyter_lab

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and other artifacts a person may want to look at after a run (``artifacts/``, git-ignored)."""
    path = REPO / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; a missing browser skips locally but fails in CI, where .ci/run installs it."""
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run should have installed Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory):
    """A Playwright browser context on headless Chromium with a fresh profile; call ``browser.new_page()``.

    Module-scoped so that Playwright's event loop never outlives the module using it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(chromium_path),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.fixture
def jupyter_lab(tmp_path):
    """Factory: ``url = jupyter_lab([notebook, ...])`` starts a token-less JupyterLab on a temporary copy
    of those notebooks and returns its base URL; every server is stopped (with its kernels) at teardown."""
    started = []
    with contextlib.ExitStack() as servers:

        def start(notebooks, root: Path | None = None) -> str:
            started.append(root or tmp_path / f"lab{len(started)}")
            return servers.enter_context(start_jupyter_lab(started[-1], [Path(n) for n in notebooks]))

        yield start


@pytest.fixture(scope="session")
def course_site(tmp_path_factory):
    """The course site (:mod:`ivig_kit.teaching.site`) built once per run: the teaching notebooks executed."""
    from ivig_kit.teaching.site import build_course_site

    return build_course_site(tmp_path_factory.mktemp("course") / "site")


def pytest_sessionfinish(session, exitstatus):
    """Stop whatever the tests' batches left running (a worker of a process pool that one of them broke): at
    exit, concurrent.futures joins every pool's thread, which would wait for such a worker for ever and hang the
    run after its summary (seen once in CI). Said on stderr, so a leak is not silent."""
    import sys

    import psutil

    workers = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "multiprocessing.forkserver" in " ".join(process.cmdline()):  # fork servers and their workers
                process.kill()
                workers.append(process)
        except psutil.Error:  # gone meanwhile, or a zombie
            continue
    if workers:
        print(f"\nconftest: stopped {len(workers)} process(es) the tests left running", file=sys.stderr)
