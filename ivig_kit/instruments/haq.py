"""HAQ-DI, HAQ-ADI and CHAQ from their items, aids/devices and help.

Stanford HAQ: 20 items in 8 categories, each 0 (without any difficulty) to 3 (unable); a
category's score is its highest item. The standard HAQ-DI raises a category scored 0 or 1 to 2
when an aid or device, or help from another person, is used for it (2 and 3 stay); HAQ-ADI (the
"alternative" index) ignores aids and help; a textbook variant adds 1 point instead (0 -> 1,
at most 3). The index is the sum of the category scores divided by the number of categories
answered, given when at least 6 are (LOINC 75874-8, the usual Stanford/ARAMIS convention; 7 as
an option, as the awell-score library requires). Some web calculators always divide by 8, which
is wrong when a category is unanswered: offered only to show the difference (``denominator="eight"``).
CHAQ (Singh 1994, NINDS common data elements): 30 items in the same 8 domains, scored the same way;
a "not applicable" answer is entered as an empty cell (or ``n/a``) and counts as not answered, so a
domain with only such answers is left out of the denominator, as the NINDS rule says.

An aid or help ticked for a category with no item answered does not make the category answered.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ivig_kit.errors import InputError
from ivig_kit.instruments.items import (
    CHAQ_DOMAINS,
    HAQ_CATEGORIES,
    HAQ_ITEM_MAX,
    aid_column,
    help_column,
    questionnaire_columns,
)
from ivig_kit.instruments.result import (
    InstrumentScore,
    column_values,
    labelled,
    row_count,
)

AidRule = Literal["standard", "adi", "plus_one"]
AID_RULES = {
    "standard": "aids/help raise a category's 0 or 1 to 2",
    "adi": "aids and help ignored",
    "plus_one": "aids/help add 1 to a category (at most 3; textbook variant)",
}
DENOMINATORS = {"answered": "divided by the categories answered", "eight": "divided by 8 (calculator variant)"}
MINIMUM_CATEGORIES = (6, 7)


def category_scores(
    items, prefix: str = "haq", categories: dict[str, int] = HAQ_CATEGORIES, aid_rule: AidRule | str = "standard"
) -> dict[str, np.ndarray]:
    """Each category's score per visit (NaN where none of its items is answered), after the aid rule."""
    if aid_rule not in AID_RULES:
        raise InputError(f"HAQ aid rule must be one of {', '.join(AID_RULES)}, not {aid_rule!r}")
    n = row_count(items)
    scores = {}
    for category, columns in questionnaire_columns(prefix, categories).items():
        score = np.full(n, np.nan)
        for column in columns:
            score = np.fmax(score, column_values(items, column, n))  # fmax ignores an empty answer
        answered = ~np.isnan(score)
        aid = aid_column(prefix, category)
        used = column_values(items, help_column(prefix, category), n) == 1
        if aid:
            used |= column_values(items, aid, n) == 1
        used &= answered
        if aid_rule == "standard":
            score = np.where(used & (score < 2), 2.0, score)
        elif aid_rule == "plus_one":
            score = np.where(used, np.minimum(score + 1, HAQ_ITEM_MAX), score)
        scores[category] = score
    return scores


def disability_index(
    items,
    aid_rule: AidRule | str = "standard",
    minimum_categories: int = 6,
    denominator: str = "answered",
    prefix: str = "haq",
    categories: dict[str, int] = HAQ_CATEGORIES,
) -> InstrumentScore:
    """HAQ-DI (or CHAQ, with ``prefix="chaq"``, ``categories=CHAQ_DOMAINS``) per visit, 0-3.

    Parameters
    ----------
    items : pandas.DataFrame or mapping
        ``haq_<category>_<n>`` answers 0-3, ``haq_<category>_aid`` and ``haq_<category>_help`` (0/1).
    aid_rule : {"standard", "adi", "plus_one"}
        How aids/devices and help count (module docstring); the kit's default is the standard rule.
    minimum_categories : {6, 7}
        Fewest categories answered for an index; fewer leave it missing.
    denominator : {"answered", "eight"}
        Divide by the categories answered (the rule) or always by 8 (a calculator variant).

    Returns
    -------
    InstrumentScore
        ``values`` 0-3 (NaN when missing), ``maximum`` 3, ``rule`` naming all three choices,
        ``answered`` categories.

    Examples
    --------
    >>> import numpy as np
    >>> answers = {"haq_walking_1": np.array([1.0]), "haq_walking_aid": np.array([1.0])}
    >>> answers |= {
    ...     f"haq_{c}_1": np.array([0.0])
    ...     for c in ("dressing", "arising", "eating", "hygiene", "reach", "grip", "activities")
    ... }
    >>> float(disability_index(answers).values[0]), float(disability_index(answers, "adi").values[0])
    (0.25, 0.125)
    """
    if minimum_categories not in MINIMUM_CATEGORIES:
        raise InputError(f"minimum categories answered must be 6 or 7, not {minimum_categories!r}")
    if denominator not in DENOMINATORS:
        raise InputError(f"HAQ denominator must be one of {', '.join(DENOMINATORS)}, not {denominator!r}")
    scores = category_scores(items, prefix, categories, aid_rule).values()
    n = row_count(items)
    answered, total = np.zeros(n, dtype=np.int64), np.zeros(n)
    for score in scores:
        known = ~np.isnan(score)
        answered += known
        total += np.where(known, score, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = total / (answered if denominator == "answered" else len(categories))
    index = np.where(answered >= minimum_categories, index, np.nan)
    name = "CHAQ" if prefix == "chaq" else ("HAQ-ADI" if aid_rule == "adi" else "HAQ-DI")
    rule = (
        f"{name}: {AID_RULES[aid_rule]}; {DENOMINATORS[denominator]}; "
        f">= {minimum_categories} of {len(categories)} answered"
    )
    return InstrumentScore(
        prefix, index, np.full(len(index), float(HAQ_ITEM_MAX)), labelled(rule, answered > 0), answered
    )


def childhood_disability_index(
    items, aid_rule: AidRule | str = "standard", minimum_categories: int = 6, denominator: str = "answered"
) -> InstrumentScore:
    """CHAQ per visit from ``chaq_<domain>_<n>`` (30 items), aids and help: :func:`disability_index` on the
    CHAQ's domains. The minimum of domains answered follows the HAQ's option (6 by default): the kit's choice,
    no CHAQ-specific minimum was found."""
    return disability_index(items, aid_rule, minimum_categories, denominator, "chaq", CHAQ_DOMAINS)
