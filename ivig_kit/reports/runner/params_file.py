"""Per-site parameters for a batch: ``ivig-kit reports --params FILE``.

The file is CSV or YAML with one row per site; its columns are named after the report notebook's
parameters, and a row whose site is ``*`` holds defaults for every site. It is checked against the
parameters the notebook declares before anything runs, and every problem is reported at once with its
file, line and column:

.. code-block:: text

    site,population
    *,adult
    Leiden,juvenile

.. code-block:: yaml

    "*": {population: adult}
    Leiden: {population: juvenile}

(A YAML list of mappings with a ``site`` key works too.) Values are converted to the type of the
notebook's default (a whole number stays a whole number); an empty cell means "not set here".
"""

from __future__ import annotations

import ast
import csv
import io
import unicodedata
from difflib import get_close_matches
from pathlib import Path

from ivig_kit.errors import ReportSetupError
from ivig_kit.reports.content.parameters import RUNNER_PARAMETERS
from ivig_kit.score.measures import POPULATIONS

DEFAULTS_ROW = "*"


def read_site_parameters(path, declared: dict, sites: list[str], notebook_name: str = "the notebook"
                         ) -> dict[str, dict]:
    """Read and check a parameters file; return ``{site: {parameter: value}}`` with the ``*`` defaults applied.

    Parameters
    ----------
    path : path
        CSV (``.csv``) or YAML (``.yaml``/``.yml``) file.
    declared : dict
        The notebook's parameters and their default values (:func:`notebook_defaults`).
    sites : list of str
        The sites of the registry (a row for another site is an error).
    notebook_name : str
        Named in messages.

    Returns
    -------
    dict
        Every site of ``sites`` that has a value set (by its row or by ``*``), with its values.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportSetupError(f"{path}: parameters file not found")
    rows = _read_rows(path)  # [(where, site, {column: (where, text)})]
    problems = []
    settable = [name for name in declared if name not in RUNNER_PARAMETERS]
    values: dict[str, dict] = {}
    seen: dict[str, str] = {}
    for where, site, columns in rows:
        site = unicodedata.normalize("NFC", site.strip()) if isinstance(site, str) else site
        if not site:
            problems.append(f"{path.name}: {where}, column 'site': empty; expected a site name or '*' for defaults")
            continue
        if site != DEFAULTS_ROW and site not in sites:
            close = get_close_matches(site, sites, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{path.name}: {where}, column 'site': no site {site!r} in the visit table{hint}")
            continue
        if site in seen:
            problems.append(f"{path.name}: {where}, column 'site': {site!r} already has a row ({seen[site]})")
            continue
        seen[site] = where
        row = {}
        for name, (cell, text) in columns.items():
            if name in RUNNER_PARAMETERS:
                problems.append(f"{path.name}: {cell}: {name!r} is set by ivig-kit reports itself and cannot be "
                                f"set per site; settable: {', '.join(settable) or 'none'}")
                continue
            if name not in declared:
                close = get_close_matches(name, settable, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{path.name}: {cell}: {name!r} is not a parameter of {notebook_name}{hint}; "
                                f"settable: {', '.join(settable) or 'none'}")
                continue
            if text is None or (isinstance(text, str) and not text.strip()):
                continue
            try:
                row[name] = _convert(name, text, declared[name])
            except ValueError as error:
                problems.append(f"{path.name}: {cell}: {error}")
        values[site] = row
    if problems:
        raise ReportSetupError("\n".join(problems))
    defaults = values.pop(DEFAULTS_ROW, {})
    return {site: {**defaults, **values.get(site, {})} for site in sites if defaults or site in values}


def _read_rows(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise ReportSetupError(f"{path.name}: not UTF-8 text (byte {error.start})") from None
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        if "site" not in header:
            raise ReportSetupError(f"{path.name}: line 1: no 'site' column; expected site and one column per "
                                   f"parameter, with a '*' row for defaults")
        rows = []
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ReportSetupError(f"{path.name}: line {line}: {len(cells)} cells, the header has {len(header)}")
            record = dict(zip(header, cells))
            rows.append((f"line {line}", record.pop("site"),
                         {name: (f"line {line}, column {name!r}", value) for name, value in record.items()}))
        return rows
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ReportSetupError(f"{path.name}: not readable YAML ({str(error).splitlines()[0]})") from None
        if isinstance(data, dict):
            items = [(f"entry {str(site)!r}", str(site), values) for site, values in data.items()]
        elif isinstance(data, list):
            items = []
            for number, entry in enumerate(data, start=1):
                if not isinstance(entry, dict) or "site" not in entry:
                    raise ReportSetupError(f"{path.name}: item {number}: expected a mapping with a 'site' key")
                entry = dict(entry)
                items.append((f"item {number}", str(entry.pop("site")), entry))
        else:
            raise ReportSetupError(f"{path.name}: expected a mapping of site to parameters, or a list of rows")
        rows = []
        for where, site, values in items:
            if not isinstance(values, dict):
                raise ReportSetupError(f"{path.name}: {where}: expected a mapping of parameter names to values")
            rows.append((where, site, {str(k): (f"{where}, key {str(k)!r}", v) for k, v in values.items()}))
        return rows
    raise ReportSetupError(f"{path.name}: expected a .csv, .yaml or .yml parameters file")


def _convert(name: str, value, default):
    """``value`` as the type of the notebook's default; a population is checked against the known ones."""
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(number)
    if isinstance(default, float):
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    text = unicodedata.normalize("NFC", str(value).strip())
    if name == "population" and text not in POPULATIONS:
        raise ValueError(f"population must be one of {', '.join(POPULATIONS)}, got {text!r}")
    return text


def notebook_defaults(source: str) -> dict:
    """The names and literal default values a ``parameters`` cell assigns (``None`` for a non-literal)."""
    names = {}
    for statement in ast.parse(source).body:
        targets = (statement.targets if isinstance(statement, ast.Assign)
                   else [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    names[target.id] = ast.literal_eval(statement.value) if statement.value is not None else None
                except ValueError:
                    names[target.id] = None
    return names
