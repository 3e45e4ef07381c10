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
import math
import re
from difflib import get_close_matches
from pathlib import Path

from ivig_kit.config_files import check_regular_file, load_yaml, read_config_text, short
from ivig_kit.errors import ReportSetupError
from ivig_kit.reports.content.parameters import RUNNER_PARAMETERS
from ivig_kit.score.measures import POPULATIONS

DEFAULTS_ROW = "*"
#: Longest value (in characters) accepted for one parameter.
MAX_VALUE_CHARS = 1000
#: At most this many problems are listed (then a count).
MAX_PROBLEM_LINES = 20
_WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")


def read_site_parameters(
    path, declared: dict, sites: list[str], notebook_name: str = "the notebook"
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
    from ivig_kit.score.identifiers import normalise_identifier

    path = check_regular_file(path, "parameters file")
    rows = _read_rows(path)  # [(where, site, {column: (where, text)})]
    problems = []
    settable = [name for name in declared if name not in RUNNER_PARAMETERS]
    values: dict[str, dict] = {}
    seen: dict[str, str] = {}
    for where, site, columns in rows:
        site = normalise_identifier(site) if isinstance(site, str) else site
        if not site:
            problems.append(f"{path.name}: {where}, column 'site': empty; expected a site name or '*' for defaults")
            continue
        if site != DEFAULTS_ROW and site not in sites:
            close = get_close_matches(site, sites, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{path.name}: {where}, column 'site': no site {short(site)} in the visit table{hint}")
            continue
        if site in seen:
            problems.append(f"{path.name}: {where}, column 'site': {short(site)} already has a row ({seen[site]})")
            continue
        seen[site] = where
        row = {}
        for name, (cell, text) in columns.items():
            if name in RUNNER_PARAMETERS:
                problems.append(
                    f"{path.name}: {cell}: {name!r} is set by ivig-kit reports itself and cannot be "
                    f"set per site; settable: {', '.join(settable) or 'none'}"
                )
                continue
            if name not in declared:
                close = get_close_matches(name, settable, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(
                    f"{path.name}: {cell}: {short(name)} is not a parameter of {notebook_name}{hint}; "
                    f"settable: {', '.join(settable) or 'none'}"
                )
                continue
            if text is None or (isinstance(text, str) and not text.strip()):
                continue
            try:
                row[name] = _convert(name, text, declared[name])
            except ValueError as error:
                problems.append(f"{path.name}: {cell}: {error}")
        values[site] = row
    if problems:
        shown = problems[:MAX_PROBLEM_LINES] + (
            [f"{path.name}: ... and {len(problems) - MAX_PROBLEM_LINES} more problems"]
            if len(problems) > MAX_PROBLEM_LINES
            else []
        )
        raise ReportSetupError("\n".join(shown))
    defaults = values.pop(DEFAULTS_ROW, {})
    return {site: {**defaults, **values.get(site, {})} for site in sites if defaults or site in values}


def _read_rows(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = read_config_text(path, "parameters file")
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise ReportSetupError(f"{path.name}: line {line}: a NUL byte; expected UTF-8 text")
        reader = csv.reader(io.StringIO(text))
        header = [h.strip() for h in next(reader, [])]
        if "site" not in header:
            raise ReportSetupError(
                f"{path.name}: line 1: no 'site' column; expected site and one column per "
                f"parameter, with a '*' row for defaults"
            )
        rows = []
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ReportSetupError(f"{path.name}: line {line}: {len(cells)} cells, the header has {len(header)}")
            record = dict(zip(header, cells))
            rows.append(
                (
                    f"line {line}",
                    record.pop("site"),
                    {name: (f"line {line}, column {name!r}", value) for name, value in record.items()},
                )
            )
        return rows
    if suffix in (".yaml", ".yml"):
        data = load_yaml(path, "parameters file")
        if isinstance(data, dict):
            for site in data:
                if not isinstance(site, str):
                    raise ReportSetupError(
                        f"{path.name}: entry {short(site)}: a site name must be quoted text in "
                        f"YAML ('{site}': ...), so that 007 stays 007"
                    )
            items = [(f"entry {short(site)}", site, values) for site, values in data.items()]
        elif isinstance(data, list):
            items = []
            for number, entry in enumerate(data, start=1):
                if not isinstance(entry, dict) or "site" not in entry:
                    raise ReportSetupError(f"{path.name}: item {number}: expected a mapping with a 'site' key")
                entry = dict(entry)
                site = entry.pop("site")
                if not isinstance(site, str):
                    raise ReportSetupError(
                        f"{path.name}: item {number}, key 'site': expected quoted text, got {short(site)}"
                    )
                items.append((f"item {number}", site, entry))
        else:
            raise ReportSetupError(f"{path.name}: expected a mapping of site to parameters, or a list of rows")
        rows = []
        for where, site, values in items:
            if not isinstance(values, dict):
                raise ReportSetupError(f"{path.name}: {where}: expected a mapping of parameter names to values")
            rows.append((where, site, {str(k): (f"{where}, key {short(str(k))}", v) for k, v in values.items()}))
        return rows
    raise ReportSetupError(f"{path.name}: expected a .csv, .yaml or .yml parameters file")


def _convert(name: str, value, default):
    """``value`` as the type of the notebook's default: a whole number stays exact (never through ``float``), a
    number must be finite, a list or mapping is refused, text is capped at :data:`MAX_VALUE_CHARS`; a
    population is checked against the known ones."""
    if isinstance(value, (list, dict, tuple, set)):
        raise ValueError(f"expected a single value, got a {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise ValueError(f"a value of {len(value):,} characters; at most {MAX_VALUE_CHARS:,} are accepted")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"expected true or false, got {short(value)}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        text = str(value).strip()
        if isinstance(value, str) and _WHOLE.fullmatch(text) and len(text) <= 100:
            return int(text.split(".")[0])
        raise ValueError(f"expected a whole number, got {short(value)}")
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {short(value)}")
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {short(value)}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {short(value)}")
        return number
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"expected text, got {short(value)} ({type(value).__name__})")
    text = normalise_text(str(value))
    if name == "population" and text not in POPULATIONS:
        raise ValueError(f"population must be one of {', '.join(POPULATIONS)}, got {short(text)}")
    return text


def normalise_text(text: str) -> str:
    """Text as a parameter: stripped and NFC-composed (a site name goes through
    :func:`ivig_kit.score.identifiers.normalise_identifier` instead)."""
    import unicodedata

    return unicodedata.normalize("NFC", text.strip())


def notebook_defaults(source: str) -> dict:
    """The names and literal default values a ``parameters`` cell assigns (``None`` for a non-literal)."""
    names = {}
    for statement in ast.parse(source).body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    value = getattr(statement, "value", None)  # Assign and AnnAssign (whose value may be absent)
                    names[target.id] = ast.literal_eval(value) if value is not None else None
                except ValueError:
                    names[target.id] = None
    return names
