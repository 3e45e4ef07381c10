"""No import circle between the kit's modules.

import-linter (`lint-imports`, run by CI and pre-commit) holds the contracts of pyproject.toml: layers,
report content never importing the runner, no circle between subpackages. This test holds the finest
grain in the suite itself: no module of the kit imports, directly or through others, a module that
imports it back (imports inside functions count: they run too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp


def test_no_module_of_the_kit_is_in_an_import_circle():
    graph = grimp.build_graph("ivig_kit", cache_dir=None)
    circles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                circles.add(" -> ".join((importer, *back)))
    assert graph.find_modules_directly_imported_by("ivig_kit.cli"), "the import graph is empty"
    assert not circles, "import circles:\n" + "\n".join(sorted(circles))


KIT = Path(__file__).resolve().parents[1] / "ivig_kit"


def private_imports(source: str) -> list[str]:
    """The private names (``_x``, not dunders) a module imports from the kit."""
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ivig_kit")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_private_name_is_imported_across_the_kits_modules():
    found = {str(p.relative_to(KIT)): names for p in KIT.rglob("*.py") if (names := private_imports(p.read_text()))}
    assert found == {}


def test_the_private_import_check_finds_one():
    assert private_imports("from ivig_kit.score.engine import _score, total_improvement_score") == [
        "ivig_kit.score.engine._score"
    ]


def test_no_module_of_the_kit_is_over_500_lines():
    long = {str(p.relative_to(KIT)): n for p in KIT.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}
