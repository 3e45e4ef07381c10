"""The reports package's face and its two folders' rules: report content never imports the runner, the runner
never imports pyplot, and no private name crosses a module boundary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ivig_kit.reports

PACKAGE = Path(ivig_kit.reports.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_report_content_loads_no_runner_and_the_package_face_loads_nothing():
    content = [f"ivig_kit.reports.content.{p.stem}" for p in (PACKAGE / "content").glob("*.py") if p.stem != "__init__"]
    loaded = imported_modules("\n".join(f"import {m}" for m in content))
    assert not [m for m in loaded if m.startswith("ivig_kit.reports.runner")]
    assert not [m for m in imported_modules("import ivig_kit.reports") if m.startswith("ivig_kit.reports.")]


def test_the_runner_never_imports_pyplot():
    runner = [
        f"ivig_kit.reports.runner.{p.stem}"
        for p in (PACKAGE / "runner").glob("*.py")
        if p.stem not in ("__init__", "_die_with_parent")
    ]
    assert "matplotlib.pyplot" not in imported_modules("\n".join(f"import {m}" for m in runner))
    for path in (PACKAGE / "runner").glob("*.py"):  # not even inside a function
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            assert not [n for n in [module, *names] if "pyplot" in n], path.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_imported_from_another_module(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ivig_kit"):
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.endswith("__")]
            assert not private, f"{path.name} imports {private} from {node.module}"


def test_the_face_offers_prepare_batch_run_batch_and_load_site_lazily():
    from ivig_kit.reports.content.site import load_site
    from ivig_kit.reports.runner.batch import run_batch
    from ivig_kit.reports.runner.prepare import prepare_batch

    assert (ivig_kit.reports.prepare_batch, ivig_kit.reports.run_batch, ivig_kit.reports.load_site) == (
        prepare_batch,
        run_batch,
        load_site,
    )
    assert set(ivig_kit.reports.__all__) == {"prepare_batch", "run_batch", "load_site"}
    with pytest.raises(AttributeError):
        ivig_kit.reports.no_such_name


def test_no_module_is_over_500_lines():
    assert not [p.name for p in MODULES if len(p.read_text(encoding="utf-8").splitlines()) > 500]
