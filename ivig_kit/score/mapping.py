"""Column mappings: how an export's columns (e.g. a REDCap-style case report form) become the kit's.

A mapping is a small YAML file (``data/example_mapping.yaml``): source column -> kit column, a unit
per VAS column (``mm`` or ``cm``), and constants (e.g. ``mmt_max: 80`` for a whole study). It is
checked against the kit's columns when it is read, so a typo names itself before any data is read.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ivig_kit.errors import VisitTableError
from ivig_kit.score.columns import ITEM_COLUMNS, KIT_COLUMNS, NUMERIC_COLUMNS, VAS_COLUMNS, VAS_UNITS


@dataclass(frozen=True)
class ColumnMapping:
    """Source column -> kit column (and unit), plus constants, e.g. from a REDCap-style export.

    YAML form (see ``data/example_mapping.yaml``)::

        columns:
          record_id: patient_id
          md_global_vas: {column: physician_global, unit: mm}
        constants:
          mmt_max: 80
    """

    columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # kit column -> unit
    constants: dict[str, float] = field(default_factory=dict)
    source: str = "<mapping>"

    @classmethod
    def from_yaml(cls, path) -> ColumnMapping:
        """Read and check a mapping file (YAML within :data:`ivig_kit.config_files.DEFAULT_BUDGET`: no anchors or
        aliases, no duplicate keys); every problem is reported at once, naming the file and key."""
        from ivig_kit.config_files import load_yaml

        path = Path(path)
        return cls.from_dict(load_yaml(path, "mapping file"), source=path.name)

    @classmethod
    def from_dict(cls, document, source: str = "<mapping>") -> ColumnMapping:
        """Check a parsed mapping: its structure (a list where a mapping is expected is named), its kit columns,
        units and constants (finite numbers within the column's bounds); every problem at once."""
        from ivig_kit.config_files import short

        problems = []
        if not isinstance(document, dict) or not set(document) <= {"columns", "constants"}:
            raise VisitTableError(
                f"{source}: expected a mapping with the keys 'columns' (source column: kit column) "
                f"and optionally 'constants' (kit column: value)"
            )
        for key in ("columns", "constants"):
            if document.get(key) is not None and not isinstance(document[key], dict):
                pair = "source column: kit column" if key == "columns" else "kit column: value"
                raise VisitTableError(
                    f"{source}: key {key!r}: expected a mapping ({pair}, one per line), got a "
                    f"{type(document[key]).__name__}"
                )
        columns: dict[str, str] = {}
        units: dict[str, str] = {}
        targets: Counter[str] = Counter()
        for source_column, target in (document.get("columns") or {}).items():
            unit = None
            if isinstance(target, dict):
                extra = set(target) - {"column", "unit"}
                if extra:
                    problems.append(
                        f"{source}: column {short(source_column)}: unknown key(s) "
                        f"{', '.join(short(k) for k in sorted(map(str, extra)))}; expected column and unit"
                    )
                    continue
                unit, target = target.get("unit"), target.get("column")
            if not isinstance(target, str) or target not in KIT_COLUMNS:
                problems.append(
                    f"{source}: column {short(source_column)}: maps to {short(target)}, which is not a kit "
                    f"column; expected one of {', '.join(c for c in KIT_COLUMNS if c not in ITEM_COLUMNS)}, "
                    f"or an item column of data/item_dictionary.csv"
                )
                continue
            if unit is not None:
                if target not in VAS_COLUMNS or not isinstance(unit, str) or unit not in VAS_UNITS:
                    problems.append(
                        f"{source}: column {short(source_column)}: unit {short(unit)} is not supported "
                        f"for {target!r}; units: {', '.join(VAS_UNITS)} for the VAS columns "
                        f"{', '.join(VAS_COLUMNS)}"
                    )
                    continue
                units[target] = unit
            columns[str(source_column)] = target
            targets[target] += 1
        problems += [
            f"{source}: {n} source columns map to {target!r}; expected one" for target, n in targets.items() if n > 1
        ]
        constants: dict[str, float] = {}
        for target, value in (document.get("constants") or {}).items():
            if target not in NUMERIC_COLUMNS or isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(
                    f"{source}: constant {short(target)}: expected a kit numeric column with a number, "
                    f"got {short(value)}"
                )
            elif not math.isfinite(value) or abs(value) > 1e15:
                problems.append(f"{source}: constant {target!r}: expected a finite number, got {short(value)}")
            elif target in targets:
                problems.append(f"{source}: {target!r} is both mapped from a column and given as a constant")
            else:
                constants[target] = float(value)
        if problems:
            raise VisitTableError("\n".join(problems[:20]))
        return cls(columns, units, constants, source)
