"""Reading a notebook file without running it: its cells as plain JSON, a cell's source, and the modules its
code imports (read with :mod:`ast`, so the kernel zygote can import them once before any site runs).

Plain JSON is cheaper than importing nbformat in every process, and enough for what the runner reads.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
from pathlib import Path

#: The kit's top-level package: modules under it are followed into their own imports.
KIT_PACKAGE = __name__.split(".")[0]


def notebook_cells(notebook) -> list[dict]:
    """The cells of a notebook file, read as plain JSON.

    Raises ``OSError`` (unreadable), ``ValueError`` (not JSON), ``KeyError`` (no ``cells``) or ``TypeError``
    (``cells`` is not a list).
    """
    with open(notebook, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]
    if not isinstance(cells, list):
        raise TypeError("'cells' is not a list")
    return cells


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_imports(notebook) -> list[str]:
    """The modules a notebook's code cells import, and those that the kit's own modules they use import
    (also inside functions: a report module often imports matplotlib or statsmodels lazily), in the order
    first met. Lines of IPython magics (``%``) and shell commands (``!``) are left out."""
    modules = []
    for cell in notebook_cells(notebook):
        if cell.get("cell_type") == "code":
            modules += imports_in(
                "\n".join(line for line in cell_source(cell).splitlines() if not line.lstrip().startswith(("%", "!")))
            )
    seen, todo = [], list(modules)
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        seen.append(module)
        if module.split(".")[0] == KIT_PACKAGE:
            todo += _kit_module_imports(module)
    return seen


@functools.cache
def _kit_module_imports(module: str) -> list[str]:
    """What one of the kit's modules imports, read once per process (both report notebooks use most of them)."""
    source = module_source(module)
    return imports_in(source, package=module if source and _is_package(module) else module.rpartition(".")[0])


def imports_in(source: str | None, package: str = "") -> list[str]:
    """Absolute names of every module ``source`` imports (``from a import b`` gives ``a`` and ``a.b``);
    relative imports are resolved against ``package``; a source that does not parse imports nothing."""
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return []
    found = []
    for node in _import_statements(tree.body):
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


def _import_statements(body):
    """The import statements of a block and of every block nested in it (functions, classes, ``if``, ``try``,
    ``with``, loops, ``match``); expressions, where no import statement can be, are not walked (ast.walk over
    every node took most of the zygote's reading of the kit's sources)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for field in ("body", "handlers", "orelse", "finalbody", "cases"):  # in the order of the source
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _import_statements(inner)


def module_source(module: str) -> str | None:
    """The Python source of an installed module (found, not imported), or ``None`` (no such module, or
    not a ``.py`` file)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return bool(spec and spec.submodule_search_locations is not None)
