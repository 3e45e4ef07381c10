"""Relative links in the README, data/README.md and notebook Markdown resolve to files in the repository."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
# [text](target) and ![alt](target), and <a href="target"> / <img src="target"> in Markdown cells.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=\"([^\"]+)\"")
EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#|//)", flags=re.IGNORECASE)


def documents():
    for path in (REPO / "README.md", REPO / "data" / "README.md"):
        yield path, path.read_text()
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        yield path, "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def relative_links(text: str) -> list[str]:
    """Link targets that point into the repository (no scheme, not a same-page anchor), without anchors."""
    targets = [a or b for a, b in LINK.findall(text)]
    return [unquote(t.split("#")[0].split("?")[0]) for t in targets if not EXTERNAL.match(t)]


def test_link_extraction():
    text = (
        '[a](notebooks/x.ipynb) ![b](img%20one.png "t") [c](https://x.org/y) [d](#top) '
        '[e](data/README.md#format) <img src="fig.png"> [f](mailto:a@b.c)'
    )
    assert relative_links(text) == ["notebooks/x.ipynb", "img one.png", "data/README.md", "fig.png"]


@pytest.mark.parametrize(
    "document, text", list(documents()), ids=lambda d: str(d.relative_to(REPO)) if isinstance(d, Path) else ""
)
def test_relative_links_resolve(document, text):
    broken = []
    for target in filter(None, relative_links(text)):
        resolved = (document.parent / target).resolve()
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(target)
    assert not broken, f"{document.relative_to(REPO)} links to files missing from the repository: {broken}"


def test_the_readme_links_to_the_notebooks_and_data_docs():
    links = relative_links((REPO / "README.md").read_text())
    assert "data/README.md" in links
    assert any(link.startswith("notebooks/") and link.endswith(".ipynb") for link in links)
