"""Reading a notebook file without running it: cells as plain JSON, cell sources, and the modules its code
imports (what the kernel zygote preloads). Error paths use the tiny notebooks of tests/reports/notebooks."""

from __future__ import annotations

import pytest

from ivig_kit.reports.runner import notebook_file

from ..helpers import FIXTURES, SITE_REPORT


def test_cells_are_read_as_plain_json():
    cells = notebook_file.notebook_cells(FIXTURES / "imports.ipynb")
    assert [c["cell_type"] for c in cells] == ["code", "code", "markdown", "code"]
    assert cells[0]["metadata"]["tags"] == ["parameters"]


@pytest.mark.parametrize(
    "name, error", [("not_json.ipynb", ValueError), ("cells_not_a_list.ipynb", TypeError), ("no_such.ipynb", OSError)]
)
def test_an_unreadable_notebook_raises_what_the_caller_reports(name, error):
    with pytest.raises(error):
        notebook_file.notebook_cells(FIXTURES / name)


@pytest.mark.parametrize("source, text", [(["a = 1\n", "b = 2"], "a = 1\nb = 2"), ("a = 1", "a = 1"), (None, "")])
def test_a_cell_source_is_one_string_whether_stored_as_lines_or_text(source, text):
    cell = {"cell_type": "code"} if source is None else {"cell_type": "code", "source": source}
    assert notebook_file.cell_source(cell) == text


def test_imports_in_names_every_module_and_resolves_relative_imports():
    source = (
        "import os, json as j\nfrom a.b import c, d\nfrom . import sibling\nfrom ..up import x\n"
        "from e import *\n"
        "def f():\n    import lazy.module\n"
    )
    assert notebook_file.imports_in(source, package="pkg.sub") == [
        "os",
        "json",
        "a.b",
        "a.b.c",
        "a.b.d",
        "pkg.sub",
        "pkg.sub.sibling",
        "pkg.up",
        "pkg.up.x",
        "e",
        "lazy.module",
    ]
    assert notebook_file.imports_in("from . import x") == []  # no package to resolve against: left out
    assert notebook_file.imports_in("def broken(:") == []
    assert notebook_file.imports_in(None) == []


def test_a_notebooks_imports_skip_magics_markdown_and_broken_cells_and_follow_the_kits_modules():
    modules = notebook_file.notebook_imports(FIXTURES / "imports.ipynb")
    assert modules[:5] == ["json", "ivig_kit.reports.content", "ivig_kit.reports.content.figures", "numpy", "os.path"]
    assert "not_code" not in modules and "xml.dom.minidom" not in modules  # Markdown, and a cell that does not parse
    # followed into the kit: figures imports site, which imports the scoring engine (also inside functions)
    assert {"ivig_kit.reports.content.site", "ivig_kit.score.engine", "matplotlib.figure"} <= set(modules)
    assert len(modules) == len(set(modules))
    assert not [m for m in modules if m.startswith("ivig_kit.reports.runner")]  # report content never needs the runner


def test_the_site_reports_imports_are_what_its_kernel_needs():
    modules = notebook_file.notebook_imports(SITE_REPORT)
    assert {"ivig_kit.reports.content.display", "pandas", "matplotlib.figure"} <= set(modules)
    assert not [m for m in modules if m.startswith("ivig_kit.reports.runner")]


def test_module_source_of_a_missing_or_compiled_module_is_none():
    assert notebook_file.module_source("no.such.module") is None
    assert notebook_file.module_source("math") is None  # built in: no .py source
    assert "def cell_source" in notebook_file.module_source("ivig_kit.reports.runner.notebook_file")


def test_imports_are_found_in_every_kind_of_block():
    source = """
import a
def f():
    import b
    class C:
        def g(self):
            from c import d
    if x:
        import e
    else:
        import f2
    try:
        import h
    except ImportError:
        import i
    finally:
        import j
    with k:
        for _ in y:
            import m
        else:
            import n
    while z:
        import o
    match w:
        case 1:
            import p
text = "import not_an_import"
"""
    found = notebook_file.imports_in(source)
    assert found == ["a", "b", "c", "c.d", "e", "f2", "h", "i", "j", "m", "n", "o", "p"]
