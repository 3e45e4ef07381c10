"""The kit's own file names in a folder of reports (``<slug>-<hash>.<ext>``): the last guard before a name read
from the ledger becomes a link or a path."""

from __future__ import annotations

import re


def is_own_file_name(name) -> bool:
    """True for a plain file name of the output folder as the kit writes them (``<slug>-<hash>.<ext>``): no
    folder, no ``..``, no scheme, nothing hidden. Rows of the ledger are checked by :mod:`.ledger_schema`;
    this is the last guard before a name becomes a link or a path."""
    return isinstance(name, str) and _OWN_NAME.fullmatch(name) is not None


_OWN_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8}\.(?:html|ipynb|json|failed\.ipynb|pdf)")
