"""Column mappings: how an export's columns (e.g. a REDCap-style case report form) become the kit's.

A mapping is a small YAML file (``data/example_mapping.yaml``): source column -> kit column, a unit
per VAS column (``mm`` or ``cm``), and constants (e.g. ``mmt_max: 80`` for a whole study). It is
checked against the kit's columns when it is read, so a typo names itself before any data is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ivig_kit.errors import VisitTableError
from ivig_kit.score.columns import KIT_COLUMNS, NUMERIC_COLUMNS, VAS_COLUMNS, VAS_UNITS


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
    constants: dict[str, object] = field(default_factory=dict)
    source: str = "<mapping>"

    @classmethod
    def from_yaml(cls, path) -> ColumnMapping:
        """Read and check a mapping file; every problem is reported at once."""
        import yaml

        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise VisitTableError(f"{path}: cannot read the mapping file ({error.strerror})") from None
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            reason = " ".join(str(error).split())
            raise VisitTableError(f"{path.name}: not a readable YAML mapping ({reason})") from None
        return cls.from_dict(document, source=path.name)

    @classmethod
    def from_dict(cls, document, source: str = "<mapping>") -> ColumnMapping:
        problems = []
        if not isinstance(document, dict) or not set(document) <= {"columns", "constants"}:
            raise VisitTableError(f"{source}: expected a mapping with the keys 'columns' (source column: kit column) "
                                  f"and optionally 'constants' (kit column: value)")
        columns, units, targets = {}, {}, Counter()
        for source_column, target in (document.get("columns") or {}).items():
            unit = None
            if isinstance(target, dict):
                unit, target = target.get("unit"), target.get("column")
            if target not in KIT_COLUMNS:
                problems.append(f"{source}: column {source_column!r}: maps to {target!r}, which is not a kit column; "
                                f"expected one of {', '.join(KIT_COLUMNS)}")
                continue
            if unit is not None:
                if target not in VAS_COLUMNS or unit not in VAS_UNITS:
                    problems.append(f"{source}: column {source_column!r}: unit {unit!r} is not supported for "
                                    f"{target!r}; units: {', '.join(VAS_UNITS)} for the VAS columns "
                                    f"{', '.join(VAS_COLUMNS)}")
                    continue
                units[target] = unit
            columns[str(source_column)] = target
            targets[target] += 1
        problems += [f"{source}: {n} source columns map to {target!r}; expected one"
                     for target, n in targets.items() if n > 1]
        constants = {}
        for target, value in (document.get("constants") or {}).items():
            if target not in NUMERIC_COLUMNS or isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{source}: constant {target!r}: expected a kit numeric column with a number, "
                                f"got {value!r}")
            elif target in targets:
                problems.append(f"{source}: {target!r} is both mapped from a column and given as a constant")
            else:
                constants[target] = float(value)
        if problems:
            raise VisitTableError("\n".join(problems))
        return cls(columns, units, constants, source)
