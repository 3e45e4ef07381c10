"""Widgets to try the instruments by hand (notebook 05): grade the 8 MMT-8 groups, answer the 20 HAQ items.

Every number shown comes from :mod:`ivig_kit.instruments` (the same scorers ``ivig-kit core-set`` uses).
Key widgets carry stable CSS classes (``mmt8-grader``, ``mmt8-total``, ``haq-form``, ``haq-index``,
``haq-<category>-<n>``, ``haq-<category>-aid``, ...) for browser tests.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from ivig_kit.instruments.haq import AID_RULES, category_scores, disability_index
from ivig_kit.instruments.items import (
    HAQ_AIDS,
    HAQ_CATEGORIES,
    KENDALL_MAX,
    MMT8_GROUPS,
    MMT_SCALE_MAX,
    aid_column,
    help_column,
    mmt8_column,
    questionnaire_columns,
)
from ivig_kit.instruments.mmt8 import mmt_total

HAQ_ANSWERS = [
    ("not answered", None),
    ("0 without any difficulty", 0),
    ("1 with some difficulty", 1),
    ("2 with much difficulty", 2),
    ("3 unable to do", 3),
]


class MMT8Grader:
    """Eight sliders (Kendall 0-10, right side) and the MMT-8 they make, with what one grade is worth.

    Display it as the last expression of a cell; ``grades()`` gives the current grades (canonical
    columns), ``total()`` the MMT-8 of :func:`ivig_kit.instruments.mmt8.mmt_total`.
    """

    def __init__(self, grade: int = 8):
        self.sliders = {}
        for group in MMT8_GROUPS:
            slider = widgets.IntSlider(
                value=grade,
                min=0,
                max=KENDALL_MAX,
                description=group.replace("_", " "),
                style={"description_width": "10em"},
                continuous_update=False,
            )
            slider.add_class(f"mmt8-{group.replace('_', '-')}")
            slider.observe(self._update, names="value")
            self.sliders[group] = slider
        self.shown = widgets.HTML()
        self.shown.add_class("mmt8-total")
        self.box = widgets.VBox([*self.sliders.values(), self.shown])
        self.box.add_class("mmt8-grader")
        self._update()

    def grades(self) -> pd.DataFrame:
        """One visit's grades in the canonical columns (the right side; neck flexors once)."""
        return pd.DataFrame(
            [
                {
                    mmt8_column(g) if g == "neck_flexors" else mmt8_column(g, "right"): float(s.value)
                    for g, s in self.sliders.items()
                }
            ]
        )

    def total(self) -> float:
        return float(mmt_total(self.grades(), "unilateral").values[0])

    def _update(self, *_):
        total = self.total()
        top = MMT_SCALE_MAX["unilateral"]
        self.shown.value = (
            f"<b>MMT-8 (one side): {total:g} / {top}</b> ({100 * total / top:.1f}% of the range). "
            f"One grade is {100 / top:g}% of this range: MMT earns its first TIS points above 2%, "
            f"so a change of 2 grades already scores."
        )

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class HAQForm:
    """The 20 HAQ questions with aids and help per category, and the index under each aid rule.

    ``answers()`` gives the visit in canonical columns; ``index(rule)`` the HAQ-DI of
    :func:`ivig_kit.instruments.haq.disability_index`; ``table()`` each category's score per rule.
    """

    def __init__(self):
        self.items, self.aids, self.helps = {}, {}, {}
        rows = []
        for category, columns in questionnaire_columns("haq", HAQ_CATEGORIES).items():
            cells = [widgets.HTML(f"<b>{html.escape(category)}</b>", layout=widgets.Layout(width="7em"))]
            for number, column in enumerate(columns, 1):
                item = widgets.Dropdown(
                    options=HAQ_ANSWERS,
                    value=0,
                    layout=widgets.Layout(width="13em"),
                    description=f"{number}",
                    style={"description_width": "1.5em"},
                )
                item.add_class(f"haq-{category}-{number}")
                item.observe(self._update, names="value")
                self.items[column] = item
                cells.append(item)
            if aid_column("haq", category):
                aid = widgets.Checkbox(
                    value=False,
                    description="aid",
                    indent=False,
                    tooltip=", ".join(HAQ_AIDS[category]),
                    layout=widgets.Layout(width="5em"),
                )
                aid.add_class(f"haq-{category}-aid")
                aid.observe(self._update, names="value")
                self.aids[aid_column("haq", category)] = aid
                cells.append(aid)
            helper = widgets.Checkbox(value=False, description="help", indent=False, layout=widgets.Layout(width="5em"))
            helper.add_class(f"haq-{category}-help")
            helper.observe(self._update, names="value")
            self.helps[help_column("haq", category)] = helper
            cells.append(helper)
            rows.append(widgets.HBox(cells, layout=widgets.Layout(flex_flow="row wrap")))
        self.shown = widgets.HTML()
        self.shown.add_class("haq-index")
        self.box = widgets.VBox([*rows, self.shown])
        self.box.add_class("haq-form")
        self._update()

    def answers(self) -> pd.DataFrame:
        row = {c: (float("nan") if w.value is None else float(w.value)) for c, w in self.items.items()}
        row.update({c: float(w.value) for c, w in {**self.aids, **self.helps}.items()})
        return pd.DataFrame([row])

    def index(self, rule: str = "standard") -> float:
        return float(disability_index(self.answers(), rule).values[0])

    def table(self) -> pd.DataFrame:
        visit = self.answers()
        return pd.DataFrame(
            {rule: {c: v[0] for c, v in category_scores(visit, aid_rule=rule).items()} for rule in AID_RULES}
        )

    def _update(self, *_):
        visit = self.answers()
        scores = {rule: disability_index(visit, rule) for rule in AID_RULES}
        answered = int(scores["standard"].answered[0])
        parts = [
            f"{name}: {'missing' if v.values[0] != v.values[0] else f'{v.values[0]:.3f}'}"
            for name, v in (
                ("HAQ-DI (standard)", scores["standard"]),
                ("HAQ-ADI", scores["adi"]),
                ("'+1' variant", scores["plus_one"]),
            )
        ]
        grid = "on the 1/8 grid" if answered == 8 else f"in steps of 1/{answered}" if answered else "no answers"
        self.shown.value = (
            f"<b>{html.escape('; '.join(parts))}</b><br>{answered} of 8 categories answered "
            f"({html.escape(grid)}); at least 6 are needed."
        )

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)
