"""Where the kit's bundled files are.

In a checkout or an editable install they are the repository's ``data/`` and ``notebooks/``;
an installed wheel (Binder's ``pip install .``) carries copies inside the package. Either way,
code asks here rather than assuming the repository's layout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_path(folder: str, name: str) -> Path:
    """The bundled file ``folder/name`` (``folder`` is ``data`` or ``notebooks``), checkout first."""
    candidates = (PACKAGE_DIR.parent / folder / name, PACKAGE_DIR / folder / name)
    return next((path for path in candidates if path.exists()), candidates[0])


def data_path(name: str) -> Path:
    """A bundled data file, e.g. ``data_path("published_facts.csv")``."""
    return bundled_path("data", name)


def notebook_path(name: str) -> Path:
    """A bundled notebook, e.g. ``notebook_path("site_report.ipynb")``."""
    return bundled_path("notebooks", name)
