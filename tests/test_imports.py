"""No import circle between the kit's modules.

import-linter (`lint-imports`, run by CI and pre-commit) holds the contracts of pyproject.toml: layers,
report content never importing the runner, no circle between subpackages. This test holds the finest
grain in the suite itself: no module of the kit imports, directly or through others, a module that
imports it back (imports inside functions count: they run too).
"""

from __future__ import annotations

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
