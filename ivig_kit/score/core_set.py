"""From the case report form to the core set: item-level visit tables -> the kit's visit table.

An item-level table has the kit's identifiers and any totals (VAS, enzymes) plus the canonical item
columns of :mod:`ivig_kit.instruments.items` (``data/item_dictionary.csv``). This module reads it with
the kit's reader (:func:`~ivig_kit.score.readers.read_table`: any CSV dialect, Parquet, Excel, a
``--mapping``), checks every item in one pass with file, row, line, column and expected range, turns
the items into totals under the rules chosen (:class:`ItemRules`), records the rule per measure
(``mmt_rule``, ``haq_rule``, ``myoact_rule``) and validates the result like any visit table
(:func:`~ivig_kit.score.visits.validate_table`), so ``ivig-kit tis`` scores it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ivig_kit.errors import InputError, VisitTableError
from ivig_kit.instruments.checks import item_columns_in, item_problems, items_given
from ivig_kit.instruments.cmas import cmas_total
from ivig_kit.instruments.haq import (
    AID_RULES,
    DENOMINATORS,
    MINIMUM_CATEGORIES,
    disability_index,
)
from ivig_kit.instruments.items import (
    CHAQ_DOMAINS,
    ITEM_COLUMN_NAMES,
    MMT_SCALE_COLUMN,
    MMT_SCALE_MAX,
)
from ivig_kit.instruments.mmt8 import mmt_total
from ivig_kit.instruments.myoact import myoact_score
from ivig_kit.score.problem_report import MAX_PROBLEM_LINES
from ivig_kit.score.readers import RawTable, ReadOptions, read_table
from ivig_kit.score.visits import validate_table

#: The rule columns the core set table gains, one per measure built from items.
RULE_COLUMNS = ("mmt_rule", "haq_rule", "myoact_rule")


@dataclass(frozen=True)
class ItemRules:
    """How items become totals; every choice is named in the output's ``<measure>_rule`` column.

    Attributes
    ----------
    mmt_scale : str
        ``unilateral`` (MMT-8 0-80, IMACS Form 04's default), ``bilateral`` (0-150) or ``total``
        (0-260), for visits whose ``mmt_scale`` column is empty or absent.
    mmt_prorate : bool
        Prorate a total with missing groups (the kit's labelled option; default: missing).
    haq_aid_rule : str
        ``standard`` (aids/help raise 0-1 to 2), ``adi`` (ignored) or ``plus_one``.
    haq_minimum : int
        Fewest categories answered, 6 (default) or 7.
    haq_denominator : str
        ``answered`` (the rule) or ``eight`` (a calculator variant, for comparison).
    """

    mmt_scale: str = "unilateral"
    mmt_prorate: bool = False
    haq_aid_rule: str = "standard"
    haq_minimum: int = 6
    haq_denominator: str = "answered"

    def __post_init__(self):
        problems = []
        if self.mmt_scale not in MMT_SCALE_MAX:
            problems.append(f"MMT scale must be one of {', '.join(MMT_SCALE_MAX)}, not {self.mmt_scale!r}")
        if self.haq_aid_rule not in AID_RULES:
            problems.append(f"HAQ aid rule must be one of {', '.join(AID_RULES)}, not {self.haq_aid_rule!r}")
        if self.haq_minimum not in MINIMUM_CATEGORIES:
            problems.append(f"HAQ minimum categories must be 6 or 7, not {self.haq_minimum!r}")
        if self.haq_denominator not in DENOMINATORS:
            problems.append(f"HAQ denominator must be one of {', '.join(DENOMINATORS)}, not {self.haq_denominator!r}")
        if problems:
            raise InputError("\n".join(problems))


def has_items(columns) -> bool:
    """Whether a table has any canonical item column (then it is scored through :func:`core_set_from_items`)."""
    return bool(item_columns_in(columns))


def core_set_from_items(frame: pd.DataFrame, rules: ItemRules = ItemRules()) -> pd.DataFrame:
    """The kit's visit table from an item-level one whose items are valid numbers (NaN = empty).

    Item columns are replaced by ``mmt`` and ``mmt_max`` (from MMT grades), ``cmas``, ``haq``, ``chaq``
    and ``myoact``, each only if its items are in the table; a total already given on a visit without
    items is kept. ``mmt_rule``, ``haq_rule`` and ``myoact_rule`` name the rule that made each value.
    Every other column passes through unchanged.
    """
    n = len(frame)
    out = frame.drop(columns=[c for c in frame.columns if c in set(ITEM_COLUMN_NAMES) or c == MMT_SCALE_COLUMN])
    out = out.copy() if out is frame else out
    present = set(frame.columns)

    def family(name):
        return items_given(frame, name) if any(c.startswith(name + "_") for c in present) else np.zeros(n, bool)

    def combine(column, score, given, rule_column):
        total = frame[column].to_numpy(dtype=float) if column in frame.columns else np.full(n, np.nan)
        out[column] = np.where(given, score.values, total)
        previous = out[rule_column].array if rule_column in out else None
        out[rule_column] = merged_rules(given, score.rule, ~np.isnan(total), previous)

    mmt_given = family("mmt8") | family("mmt24")
    if mmt_given.any():
        scale = np.full(n, rules.mmt_scale, dtype=object)
        if MMT_SCALE_COLUMN in frame.columns:
            named = frame[MMT_SCALE_COLUMN].astype("string").str.strip().str.lower()
            scale = np.where(
                named.fillna("").to_numpy(dtype=object) != "", named.fillna("").to_numpy(dtype=object), scale
            )
        score = mmt_total(frame, scale, rules.mmt_prorate)
        combine("mmt", score, mmt_given, "mmt_rule")
        if "mmt_max" in frame.columns:
            out["mmt_max"] = np.where(mmt_given, score.maximum, frame["mmt_max"].to_numpy(dtype=float))
        else:
            out["mmt_max"] = score.maximum
    cmas_given = family("cmas")
    if cmas_given.any():
        combine("cmas", cmas_total(frame), cmas_given, "mmt_rule")
    haq_given = family("haq")
    if haq_given.any():
        combine(
            "haq",
            disability_index(frame, rules.haq_aid_rule, rules.haq_minimum, rules.haq_denominator),
            haq_given,
            "haq_rule",
        )
    chaq_given = family("chaq")
    if chaq_given.any():
        combine(
            "chaq",
            disability_index(frame, rules.haq_aid_rule, rules.haq_minimum, rules.haq_denominator, "chaq", CHAQ_DOMAINS),
            chaq_given,
            "haq_rule",
        )
    myoact_given = family("myoact")
    if myoact_given.any():
        combine("myoact", myoact_score(frame), myoact_given, "myoact_rule")
    return out


def merged_rules(given: np.ndarray, rule: pd.Categorical, total_given: np.ndarray, previous=None) -> pd.Categorical:
    """Per visit: the item rule where items were given, "given as a total" where a total was, else ``previous``."""
    labels = list(rule.categories)
    position = {label: i for i, label in enumerate(labels)}

    def code_of(label):
        if label not in position:
            position[label] = len(labels)
            labels.append(label)
        return position[label]

    total_code = code_of("given as a total")
    codes = np.where(given, rule.codes, np.where(total_given, total_code, -1)).astype(np.int16)
    if previous is not None:
        previous = pd.Categorical(previous)
        recode = np.array([code_of(c) for c in previous.categories] + [-1], dtype=np.int16)
        codes = np.where(given | total_given, codes, recode[previous.codes])  # code -1 picks the trailing -1
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels))


def read_core_set(path, options: ReadOptions | None = None, rules: ItemRules = ItemRules()) -> pd.DataFrame:
    """Read a visit table, item-level or not, and return the kit's validated visit table.

    Item-level tables are checked item by item first (every problem, located), turned into totals
    under ``rules`` and then validated like any visit table; problems of both kinds are reported
    together. A table without item columns is read and validated as :func:`~ivig_kit.score.visits.read_visits`
    does.

    Raises
    ------
    VisitTableError
        One located line per kind of problem and column, then the total.
    """
    raw = read_table(path, options or ReadOptions())
    if not has_items(raw.frame.columns):
        return validate_table(raw)
    lines = []
    count = 0
    unparsed_items = {c: v for c, v in raw.unparsed.items() if c in set(ITEM_COLUMN_NAMES)}
    for column, (positions, texts) in unparsed_items.items():
        mask = np.zeros(len(raw.frame), dtype=bool)
        mask[positions] = True
        lines.append(_located(raw, mask, column, "a number", texts[0] if texts else None))
        count += int(mask.sum())
    for problem in item_problems(raw.frame):
        first = int(np.argmax(problem.mask))
        lines.append(_located(raw, problem.mask, problem.column, problem.expected, problem.values.iloc[first]))
        count += int(problem.mask.sum())
        # the rest is scored without the refused cells, so its own problems are reported too
        raw.frame[problem.column] = raw.frame[problem.column].where(~problem.mask)
    raw.unparsed = {c: v for c, v in raw.unparsed.items() if c not in unparsed_items}
    raw.frame = core_set_from_items(raw.frame, rules)
    # the rule names are the kit's own text, not data to parse: they rejoin after validation (rows keep their order)
    rule_names = {c: raw.frame.pop(c).array for c in RULE_COLUMNS if c in raw.frame.columns}
    try:
        visits = validate_table(raw)
        for column, names in rule_names.items():
            visits[column] = names
    except VisitTableError as error:
        if not lines:
            raise
        others = [line for line in str(error).splitlines() if not line.endswith("nothing was scored")]
        lines += others
    if lines:
        shown = lines[:MAX_PROBLEM_LINES]
        if len(lines) > MAX_PROBLEM_LINES:
            shown.append(f"{raw.source}: ... and {len(lines) - MAX_PROBLEM_LINES} more kinds of problem")
        if len(lines) > 1:
            shown.append(
                f"{raw.source}: {len(lines)} problems ({count} item cells, and the rows named above); "
                f"nothing was scored"
            )
        raise VisitTableError("\n".join(shown))
    return visits


def _located(raw: RawTable, mask: np.ndarray, column: str, expected: str, got) -> str:
    """``file: rows 2, 5 and 3 more (lines 3, 6 and 3 more), column 'x': expected ..., got ...`` (as visits.py)."""
    positions = np.flatnonzero(mask)
    shown, rest = [int(p) for p in positions[:3]], len(positions) - 3

    def join(numbers):
        numbers = [str(v) for v in numbers]
        if rest > 0:
            return ", ".join(numbers) + f" and {rest} more"
        return numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]

    plural = "s" if len(positions) > 1 else ""
    where = f"row{plural} {join(p + 1 for p in shown)}"
    line_of_row = raw.line_of_row
    if callable(line_of_row):
        file_lines = line_of_row(shown)
        if all(line is not None for line in file_lines):
            where += f" (line{plural} {join(file_lines)})"
    if got is None or (isinstance(got, float) and np.isnan(got)):
        got_text = "an empty cell"
    elif isinstance(got, (float, np.floating)) and float(got).is_integer():
        got_text = repr(int(got))
    else:
        got_text = repr(got.item() if isinstance(got, np.generic) else got)
    return f"{raw.source}: {where}, column {column!r}: expected {expected}, got {got_text}"


def visit_table_for_output(visits: pd.DataFrame) -> pd.DataFrame:
    """The visit table as ``ivig-kit core-set`` writes it: the kit's columns first, then the rule columns,
    then every other column; measures whose column the input lacked are left out (not written as empty)."""
    from ivig_kit.score.columns import KIT_COLUMNS

    absent = set(visits.attrs.get("absent_measures", []))
    kit = [c for c in KIT_COLUMNS if c in visits.columns and c not in absent]
    no_mmt = "mmt" in absent or "mmt" not in visits.columns or visits["mmt"].isna().all()
    if no_mmt and "mmt_max" in kit and visits["mmt_max"].isna().all():  # CMAS only: no MMT scale to state
        kit.remove("mmt_max")
    rules = [c for c in RULE_COLUMNS if c in visits.columns]
    rest = [c for c in visits.columns if c not in set(kit) | set(rules) | absent and c != "mmt_max"]
    return visits[kit + rules + rest]
