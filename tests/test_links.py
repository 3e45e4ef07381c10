"""Relative links in the README, data/README.md and notebook Markdown resolve to files in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents():
    yield REPO / "README.md", (REPO / "README.md").read_text()
    yield REPO / "data" / "README.md", (REPO / "data" / "README.md").read_text()
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        yield path, "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def relative_links(text):
    for target in LINK.findall(text):
        if not re.match(r"^(https?:|mailto:|#|data:)", target):
            yield target.split("#")[0]


@pytest.mark.parametrize("document, text", list(documents()), ids=lambda d: getattr(d, "name", ""))
def test_relative_links_resolve(document, text):
    broken = [t for t in relative_links(text) if t and not (document.parent / t).exists()]
    assert not broken, f"{document.relative_to(REPO)} links to missing files: {broken}"


def test_the_readme_has_links_to_check():
    assert len(list(relative_links((REPO / "README.md").read_text()))) >= 4
