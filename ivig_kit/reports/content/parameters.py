"""The report notebook's contract: the parameters papermill injects, and their validation.

The notebook's ``parameters`` cell is literal-only; the next cell calls
:func:`validate_report_parameters`, so a bad value stops the report with one located message.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from ivig_kit.errors import ReportParameterError
from ivig_kit.score.measures import POPULATIONS

#: The names of the notebook's literal-only ``parameters`` cell, in order (the batch runner injects them).
REPORT_PARAMETERS = (
    "site",
    "data_path",
    "adverse_events_path",
    "pooled_summary_path",
    "population",
    "min_cell_size",
    "summary_path",
)
#: The parameters the batch runner sets itself (a ``--params`` file may set the others).
RUNNER_PARAMETERS = ("site", "data_path", "adverse_events_path", "pooled_summary_path", "min_cell_size", "summary_path")
#: Sites with fewer patients are never shown with their own figures in another site's report (the default of
#: ``ivig-kit reports --min-cell-size`` and of the notebook's ``min_cell_size``).
MIN_CELL_SIZE = 5


def min_cell_size_problem(value) -> str | None:
    """What is wrong with ``value`` as a minimum cell size (a whole number >= 1), or ``None``.

    >>> min_cell_size_problem(5) is None, min_cell_size_problem(0)
    (True, 'min_cell_size must be a whole number >= 1, got 0')
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"min_cell_size must be a whole number >= 1, got {value!r}"
    return None


# --- Parameters ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportParameters:
    """The validated parameters: the site as text, existing input files, optional outputs as ``None``."""

    site: str
    data_path: Path
    adverse_events_path: Path | None
    population: str
    summary_path: Path | None
    pooled_summary_path: Path | None = None
    min_cell_size: int = MIN_CELL_SIZE

    def as_dict(self) -> dict:
        return {
            name: ""
            if getattr(self, name) is None
            else getattr(self, name)
            if isinstance(getattr(self, name), int)
            else str(getattr(self, name))
            for name in REPORT_PARAMETERS
        }


def validate_report_parameters(
    site,
    data_path,
    adverse_events_path="",
    population="adult",
    summary_path="",
    pooled_summary_path="",
    min_cell_size=MIN_CELL_SIZE,
) -> ReportParameters:
    """Check injected parameters and say clearly what is wrong (unknown site, bad population, missing file)."""
    problems = []
    if isinstance(site, str):
        site = unicodedata.normalize("NFC", site)
    if not isinstance(site, str):
        problems.append(
            f"site must be text, got {type(site).__name__} {site!r}: pass identifiers as strings "
            f"(papermill -r site 007, or a parameters dict), so '007' does not become 7"
        )
    elif not site.strip():
        problems.append("site is empty; expected a site name from the visit table")
    if population not in POPULATIONS:
        problems.append(f"population must be one of {', '.join(POPULATIONS)}, not {population!r}")
    data = _existing_file("data_path", data_path, problems)
    events = None
    if adverse_events_path not in ("", None):
        events = _existing_file("adverse_events_path", adverse_events_path, problems)
    pooled = None
    if pooled_summary_path not in ("", None):
        pooled = _existing_file("pooled_summary_path", pooled_summary_path, problems)
    if (problem := min_cell_size_problem(min_cell_size)) is not None:
        problems.append(problem)
    summary = None
    if summary_path not in ("", None):
        summary = Path(summary_path).expanduser().resolve()
        if summary.is_dir():
            problems.append(f"summary_path {str(summary_path)!r} is a folder; expected a file name such as site.json")
        elif not summary.parent.is_dir():
            problems.append(f"summary_path {str(summary_path)!r}: folder {str(summary.parent)!r} does not exist")
    if data is not None and isinstance(site, str) and site.strip():
        sites = registry_sites(data)
        if site not in sites:
            close = get_close_matches(site, sites, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"site {site!r} is not in {data.name}{hint}; its sites are: " + ", ".join(repr(s) for s in sites)
            )
    if problems:
        raise ReportParameterError("\n".join(problems))
    return ReportParameters(site, data, events, population, summary, pooled, min_cell_size)


#: A parameter value starting with this names a file bundled with the kit (``bundled:demo_registry.csv``), so
#: the notebook's defaults work from any working directory (papermill from the repository root, or elsewhere).
BUNDLED = "bundled:"


def bundled_or_given(value) -> Path:
    """The absolute path of a file parameter: ``bundled:NAME`` is the kit's bundled data file NAME."""
    from ivig_kit.resources import data_path

    text = str(value)
    if text.startswith(BUNDLED):
        return data_path(text[len(BUNDLED) :])
    return Path(value).expanduser().resolve()


def _existing_file(name: str, value, problems: list[str]) -> Path | None:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        problems.append(f"{name} must be the path of a file, got {value!r}")
        return None
    path = bundled_or_given(value)
    if not path.exists():
        problems.append(f"{name}: file not found: {str(value)!r} (looked in {str(path)!r})")
    elif not path.is_file():
        problems.append(f"{name}: {str(value)!r} is not a file")
    else:
        return path
    return None


def registry_sites(path: Path | str) -> list[str]:
    """The site names of a visit table in order of appearance, read cheaply (only the ``site`` column)."""
    import pandas as pd

    from ivig_kit.score.visits import read_visits

    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            column = pd.read_parquet(path, columns=["site"])["site"]
        else:
            column = pd.read_csv(path, usecols=["site"], dtype=str, keep_default_na=False, encoding="utf-8-sig")["site"]
    except Exception:
        read_visits(path)  # raises the located error of an unusable table
        raise
    return list(dict.fromkeys(unicodedata.normalize("NFC", str(s).strip()) for s in column if str(s).strip()))
