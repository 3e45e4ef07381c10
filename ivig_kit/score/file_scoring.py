"""Files in, files out, as the command line does it: ``ivig-kit tis`` scores a visit table into a scores file
(or a summary on the console), ``ivig-kit core-set`` turns an item-level table into a visit table. Each checks
the output path before reading, writes atomically, prints its notes to stderr and returns the exit status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ivig_kit.errors import InputError
from ivig_kit.files import atomic_output, check_output_path

if TYPE_CHECKING:
    from ivig_kit.score.core_set import ItemRules
    from ivig_kit.score.measures import EnzymeNormalisation, Population
    from ivig_kit.score.readers import ReadOptions

# The kit's functions are looked up when called (imported in the function, as the command line did), so that a
# test can replace one on its module.

#: The columns ``ivig-kit tis`` prints when no ``--out`` is given.
SUMMARY_COLUMNS = [
    "site",
    "patient_id",
    "week",
    "tis",
    "category",
    "physician_global_points",
    "patient_global_points",
    "mmt_points",
    "haq_points",
    "enzyme_points",
    "extramuscular_points",
]


def _read_options(mapping: Path | None, **fields) -> ReadOptions:
    from ivig_kit.score.mapping import ColumnMapping
    from ivig_kit.score.readers import ReadOptions

    return ReadOptions(**fields, mapping=ColumnMapping.from_yaml(mapping) if mapping else None)


def score_file(
    path: Path,
    out: Path | None = None,
    *,
    population: Population = "adult",
    enzyme_normalisation: EnzymeNormalisation | str = "relative",
    item_rules: ItemRules | None = None,
    deterioration_reading: str = "range",
    deterioration_confirmation: str = "any",
    separator: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    vas_unit: str = "cm",
    mapping: Path | None = None,
    sheet: str | None = None,
) -> int:
    """Score every follow-up visit of the visit table ``path`` (item-level or not) into ``out`` (its format
    from the suffix), or print a summary when there is no ``out``, as ``ivig-kit tis`` does; return its exit
    status: 0 scored, 1 the output could not be written. Unusable input raises
    :class:`~ivig_kit.errors.InputError`."""
    from ivig_kit.score.core_set import ItemRules, read_core_set
    from ivig_kit.score.engine import total_improvement_score
    from ivig_kit.score.outputs import output_format

    if out:
        check_output_path(out, inputs=[p for p in (path, mapping) if p])
        output_format(out)
    options = _read_options(
        mapping, separator=separator, decimal=decimal, encoding=encoding, vas_unit=vas_unit, sheet=sheet
    )
    visits = read_core_set(path, options, item_rules or ItemRules())  # a visit table, item-level or not
    if out and output_format(out) == "Excel":  # before scoring: Excel cannot hold more rows
        _refuse_over_excel_rows(out, path, visits)
    for note in visits.attrs.get("read_notes", []):
        print(f"note: {note}", file=sys.stderr)
    for measure in visits.attrs.get("absent_measures", []):
        print(
            f"note: {path.name} has no {measure!r} column: that measure is missing on every visit "
            f"(flagged in {measure}_missing), so no visit has a complete TIS",
            file=sys.stderr,
        )
    scores = total_improvement_score(
        visits,
        population=population,
        enzyme_normalisation=enzyme_normalisation,
        validate=False,
        deterioration_reading=deterioration_reading,
        deterioration_confirmation=deterioration_confirmation,
    )
    if out:
        if not _written(scores, out):
            return 1
        patients = visits.attrs.get("n_patients")
        if patients is None:
            patients = visits.groupby(["site", "patient_id"]).ngroups
        print(f"scored {len(scores)} follow-up visits of {patients} patients -> {out}")
    else:
        print(scores[SUMMARY_COLUMNS].to_string(index=False))
    incomplete = int(scores["tis"].isna().sum())
    if incomplete:
        print(
            f"note: {incomplete} visit(s) have a missing core set measure; their tis is empty "
            f"(see the *_missing columns and points_of_scored_measures)",
            file=sys.stderr,
        )
    return 0


def core_set_file(
    path: Path,
    out: Path,
    *,
    item_rules: ItemRules | None = None,
    separator: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    vas_unit: str = "cm",
    mapping: Path | None = None,
    sheet: str | None = None,
) -> int:
    """Turn the item-level table ``path`` into the kit's visit table ``out`` (totals with the rule that made
    each), as ``ivig-kit core-set`` does; return its exit status: 0 written, 1 the output could not be
    written. Unusable input raises :class:`~ivig_kit.errors.InputError`."""
    from ivig_kit.score.core_set import ItemRules, read_core_set, visit_table_for_output
    from ivig_kit.score.outputs import output_format

    check_output_path(out, inputs=[p for p in (path, mapping) if p])
    output_format(out)
    options = _read_options(
        mapping, separator=separator, decimal=decimal, encoding=encoding, vas_unit=vas_unit, sheet=sheet
    )
    visits = visit_table_for_output(read_core_set(path, options, item_rules or ItemRules()))
    if not _written(visits, out):
        return 1
    print(f"wrote {len(visits)} visits -> {out}")
    return 0


def _written(table, out: Path) -> bool:
    """Write ``table`` to ``out`` under a temporary name renamed into place; on an I/O error say so in one line
    (nothing is written) and return False."""
    from ivig_kit.score.outputs import write_scores

    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(out) as partial:
            write_scores(table, partial)
    except OSError as error:
        print(
            f"ivig-kit: error: could not write {out}: {error.strerror or error}; nothing was written", file=sys.stderr
        )
        return False
    return True


def _refuse_over_excel_rows(out: Path, source: Path, visits) -> None:
    """An InputError naming the user's .xlsx when the follow-up visits (one row of scores each) cannot fit."""
    from ivig_kit.score.outputs import EXCEL_MAX_ROWS

    patients = visits.attrs.get("n_patients")
    if patients is None:
        patients = visits.groupby(["site", "patient_id"]).ngroups
    follow_ups = len(visits) - patients
    if follow_ups > EXCEL_MAX_ROWS:
        raise InputError(
            f"{out}: an Excel sheet holds {EXCEL_MAX_ROWS:,} rows of scores under its header, and "
            f"{source.name} has {follow_ups:,} follow-up visits; write .csv or .parquet instead"
        )
