"""An interactive TIS calculator for JupyterLab and Voilà (ipywidgets).

Every number it shows comes from :func:`ivig_kit.teaching.patients.score_patient` (the engine's
one-pair scorer, :func:`ivig_kit.score.pair.score_pair`) and
:func:`ivig_kit.teaching.next_category.what_would_it_take`. Inputs are number boxes: a value outside its
instrument's range is never clamped, it is named in a visible message and nothing is scored until
it is fixed. The layout wraps, so it fits a 768 px wide window without sideways scrolling.

Key widgets carry stable CSS classes (``tis-total``, ``tis-category``, ``tis-table``,
``tis-what-it-takes``, ``tis-errors``, ``tis-reset``, ``tis-core-set``, ``tis-<measure>-baseline`` /
``-followup``, ...) for browser tests.
"""

from __future__ import annotations

import html
import math
from dataclasses import replace

import ipywidgets as widgets

from ivig_kit.errors import InputError
from ivig_kit.score.core_set_instruments import CORE_SETS, INSTRUMENTS
from ivig_kit.score.measures import CATEGORY_THRESHOLDS, CORE_SET, ULN_MULTIPLIER_MAX, EnzymeNormalisation
from ivig_kit.teaching.breakdown_table import breakdown_html
from ivig_kit.teaching.core_set_choices import (
    CORE_SET_CHOICES,
    NORMALISATIONS,
    POPULATION_OF,
    STARTING_PATIENTS,
    STRENGTH_CHOICES,
)
from ivig_kit.teaching.next_category import what_would_it_take
from ivig_kit.teaching.number_boxes import CALCULATOR_CSS, InvalidMarks
from ivig_kit.teaching.patients import PatientScore, PatientVisits, score_patient
from ivig_kit.teaching.plain_numbers import plain_number, range_text

#: Largest enzyme value or ULN the calculator accepts: a plausibility limit of ours, not a sourced one.
ENZYME_MAX_U_PER_L = 1_000_000.0

_FULL = dict(width="auto", min_width="0", margin="1px 0")


def _wrap() -> widgets.Layout:
    """A row that wraps onto the next line when the window is narrow (a new Layout per box)."""
    return widgets.Layout(
        display="flex", flex_flow="row wrap", align_items="center", width="100%", grid_gap="0.3em 1em"
    )


class TISCalculator:
    """Baseline and follow-up of the six CSMs in, percent change, points, total and category out.

    Display it as the last expression of a cell. ``patient()`` and ``result()`` give the current
    inputs and the engine's score; ``problems()`` lists what is wrong with the inputs (empty when
    they can be scored); the output widgets hold what the learner sees.

    Parameters
    ----------
    core_set : {"adult", "imacs_jdm", "printo_jdm"}
        Which instruments and thresholds to start with; switching it loads that core set's
        synthetic starting patient.
    patient : PatientVisits, optional
        Starting values instead of the core set's synthetic patient.
    enzyme_normalisation : EnzymeNormalisation or str
        How the enzyme's percent change is normalised at the start.
    """

    def __init__(
        self,
        core_set: str = "adult",
        patient: PatientVisits | None = None,
        enzyme_normalisation: EnzymeNormalisation | str = "relative",
    ):
        if core_set not in CORE_SETS:
            raise InputError(f"core_set must be one of {sorted(CORE_SETS)}, not {core_set!r}")
        normalisation = (
            EnzymeNormalisation(enzyme_normalisation) if isinstance(enzyme_normalisation, str) else enzyme_normalisation
        )
        self._start = {
            "core_set": core_set,
            "patient": patient or STARTING_PATIENTS[core_set],
            "normalisation": normalisation,
        }
        self._holding = False
        self._patient = self._start["patient"]

        def wide():
            return {
                "style": {"description_width": "initial"},
                "layout": widgets.Layout(width="auto", max_width="calc(100% - 8px)"),
            }

        self.core_set = widgets.Dropdown(options=CORE_SET_CHOICES, value=core_set, description="Core set", **wide())
        self.strength = widgets.Dropdown(
            options=STRENGTH_CHOICES, value=STRENGTH_CHOICES[0][1], description="Strength", **wide()
        )
        self.enzyme_normalisation = widgets.Dropdown(
            options=NORMALISATIONS, value=normalisation.method, description="Enzyme % change", **wide()
        )
        number = {"style": {"description_width": "initial"}, "layout": widgets.Layout(width="11em")}
        self.uln_multiplier = widgets.FloatText(value=normalisation.uln_multiplier, description="k", **number)
        self.enzyme_uln = widgets.FloatText(value=0.0, description="ULN (U/l)", **number)
        self.chq_min = widgets.FloatText(value=0.0, description="CHQ PhS min", **number)
        self.chq_max = widgets.FloatText(value=0.0, description="CHQ PhS max", **number)
        # Each box is named by a label screen readers read ("MMT-8 baseline") and sighted readers do not
        # need (the row and column headings say it): see CALCULATOR_CSS.
        self.baseline, self.followup = (
            {
                m: widgets.FloatText(
                    value=0.0, description=f"{CORE_SET[m].label} {visit}", layout=widgets.Layout(**_FULL)
                )
                for m in CORE_SET
            }
            for visit in ("baseline", "follow-up")
        )
        self.row_labels = {m: widgets.HTML() for m in CORE_SET}
        self.target_measure = widgets.Dropdown(
            options=[(spec.label, name) for name, spec in CORE_SET.items()],
            value="physician_global",
            description="Improve",
            **wide(),
        )
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the starting patient")
        self.errors, self.table, self.total, self.category, self.what_it_takes, self.note = (
            widgets.HTML(layout=widgets.Layout(width="calc(100% - 8px)")) for _ in range(6)
        )
        for widget, css in (
            (self.core_set, "tis-core-set"),
            (self.strength, "tis-mmt-scale"),
            (self.enzyme_normalisation, "tis-enzyme-normalisation"),
            (self.uln_multiplier, "tis-uln-multiplier"),
            (self.enzyme_uln, "tis-enzyme-uln"),
            (self.chq_min, "tis-chq-min"),
            (self.chq_max, "tis-chq-max"),
            (self.target_measure, "tis-target-measure"),
            (self.reset_button, "tis-reset"),
            (self.errors, "tis-errors"),
            (self.table, "tis-table"),
            (self.total, "tis-total"),
            (self.category, "tis-category"),
            (self.what_it_takes, "tis-what-it-takes"),
        ):
            widget.add_class(css)
        for name in CORE_SET:
            for widget, visit in ((self.baseline[name], "baseline"), (self.followup[name], "followup")):
                widget.add_class(f"tis-{name}-{visit}")
                widget.add_class("tis-number")
        self.invalid_marks = InvalidMarks()
        self.ui = self._layout()
        self.load(self._start["patient"], core_set, normalisation)
        self.core_set.observe(self._on_core_set, names="value")
        for widget in (
            self.strength,
            self.enzyme_normalisation,
            self.uln_multiplier,
            self.enzyme_uln,
            self.chq_min,
            self.chq_max,
            self.target_measure,
            *self.baseline.values(),
            *self.followup.values(),
        ):
            widget.observe(self.update, names="value")
        self.reset_button.on_click(lambda _: self.reset())

    # --- layout -------------------------------------------------------------------------

    def _layout(self) -> widgets.VBox:
        """Options (wrapping), one row per CSM (label, baseline, follow-up), then the results."""
        header = [widgets.HTML(f"<b>{text}</b>") for text in ("core set measure", "baseline", "follow-up")]
        rows = list(header)
        for name in CORE_SET:
            rows += [self.row_labels[name], self.baseline[name], self.followup[name]]
        inputs = widgets.GridBox(
            rows,
            layout=widgets.Layout(
                grid_template_columns="minmax(8em, 2fr) minmax(5em, 1fr) minmax(5em, 1fr)",
                grid_gap="0.2em 0.6em",
                width="100%",
            ),
        )
        self.enzyme_options = widgets.Box(
            [self.enzyme_uln, self.enzyme_normalisation, self.uln_multiplier], layout=_wrap()
        )
        self.chq_options = widgets.Box([self.chq_min, self.chq_max], layout=_wrap())
        what = widgets.VBox(
            [
                widgets.HTML(
                    "<b>What would it take?</b> The smallest further improvement of one "
                    "measure, the other five unchanged, that reaches the next category:"
                ),
                self.target_measure,
                self.what_it_takes,
            ],
            layout=widgets.Layout(width="100%"),
        )
        # The message sits right above the grid, so a value typed in any row is named where the eye is.
        ui = widgets.VBox(
            [
                widgets.HTML(f"<style>{CALCULATOR_CSS}</style>"),
                self.note,
                widgets.Box([self.core_set, self.reset_button], layout=_wrap()),
                widgets.Box([self.strength], layout=_wrap()),
                self.enzyme_options,
                self.chq_options,
                self.errors,
                inputs,
                self.invalid_marks,
                self.total,
                self.category,
                self.table,
                what,
            ],
            layout=widgets.Layout(width="100%", max_width="60em", overflow="hidden"),
        )
        ui.add_class("tis-calculator")
        return ui

    # --- loading, reset and switching ---------------------------------------------------

    def load(
        self, patient: PatientVisits, core_set: str | None = None, normalisation: EnzymeNormalisation | None = None
    ) -> None:
        """Show ``patient`` (and optionally switch core set and enzyme option), then rescore once."""
        self._holding = True
        try:
            self._patient = patient
            if core_set is not None:
                self.core_set.value = core_set
            strength = patient.instrument("mmt").name
            self.strength.value = "cmas" if strength == "cmas" else self._mmt_choice(patient.mmt_max)
            if normalisation is not None:
                self.enzyme_normalisation.value = normalisation.method
                self.uln_multiplier.value = normalisation.uln_multiplier
            self.enzyme_uln.value = float(patient.enzyme_uln)
            if patient.chq_phs_range is not None:
                self.chq_min.value, self.chq_max.value = (float(v) for v in patient.chq_phs_range)
            for name in CORE_SET:
                self.baseline[name].value = float(patient.baseline[name])
                self.followup[name].value = float(patient.followup[name])
        finally:
            self._holding = False
        self.target_measure.value = self._useful_target()
        self.update()

    def _mmt_choice(self, mmt_max: float) -> str:
        key = f"mmt:{float(mmt_max):g}"
        if key not in dict((v, k) for k, v in self.strength.options):
            self.strength.options = [*self.strength.options, (f"MMT, other scale (0-{mmt_max:g})", key)]
        return key

    def reset(self) -> None:
        """Back to the starting patient, core set and enzyme option."""
        self.load(self._start["patient"], self._start["core_set"], self._start["normalisation"])

    def _on_core_set(self, change) -> None:
        """A new core set loads its synthetic starting patient (its instruments have other ranges)."""
        if not self._holding:
            self.load(STARTING_PATIENTS[change["new"]], change["new"])

    def _useful_target(self) -> str:
        """The first measure whose "what would it take" answer is reachable (else the physician's global)."""
        try:
            patient = self.patient()
            for name in CORE_SET:
                if what_would_it_take(patient, name, self.population, self.normalisation()).reachable:
                    return name
        except (InputError, ValueError):
            pass
        return "physician_global"

    # --- what the calculator computes -------------------------------------------------

    @property
    def population(self) -> str:
        """The thresholds in use: ``adult`` or ``juvenile``."""
        return POPULATION_OF[self.core_set.value]

    def instruments(self) -> dict[str, str]:
        """The instrument in each CSM's row: the core set's, with the strength choice for MMT."""
        chosen = dict(CORE_SETS[self.core_set.value])
        chosen["mmt"] = "cmas" if self.strength.value == "cmas" else "mmt"
        return chosen

    def normalisation(self) -> EnzymeNormalisation:
        """The enzyme option currently chosen."""
        return EnzymeNormalisation(
            self.enzyme_normalisation.value, self.uln_multiplier.value if self.uln_multiplier.value > 0 else 1.0
        )

    def patient(self) -> PatientVisits:
        """The patient currently entered."""
        mmt_max = (
            INSTRUMENTS["cmas"].fixed_range
            if self.strength.value == "cmas"
            else float(self.strength.value.split(":")[1])
        )
        chq = (self.chq_min.value, self.chq_max.value) if self.instruments()["enzyme"] == "chq_phs" else None
        return replace(
            self._patient,
            baseline={m: w.value for m, w in self.baseline.items()},
            followup={m: w.value for m, w in self.followup.items()},
            mmt_max=mmt_max,
            enzyme_uln=self.enzyme_uln.value,
            instruments=self.instruments(),
            chq_phs_range=chq,
        )

    def problems(self) -> list[str]:
        """Every input that cannot be scored as typed, one message each (empty when all is well)."""
        found = []
        instruments = self.instruments()
        if instruments["enzyme"] == "chq_phs" and not self.chq_max.value > self.chq_min.value:
            found.append(
                f"CHQ PhS range: the maximum ({plain_number(self.chq_max.value)}) must be above the "
                f"minimum ({plain_number(self.chq_min.value)})."
            )
            return found
        patient = self.patient()
        for name in CORE_SET:
            instrument = INSTRUMENTS[instruments[name]]
            low, high = patient.limits(name)
            unit = f" {instrument.unit}" if instrument.unit else ""
            short = self._enzyme_name() if instrument.name == "enzyme" else instrument.short
            for visit, widget in (("baseline", self.baseline[name]), ("follow-up", self.followup[name])):
                value = widget.value
                if not math.isfinite(value):
                    found.append(f"{short} {visit}: enter a number.")
                elif instrument.name == "enzyme":
                    if not 0 < value <= ENZYME_MAX_U_PER_L:
                        found.append(
                            f"{short} {visit}: {plain_number(value)} U/l is not a measured "
                            f"level; enter a value above 0 and up to {plain_number(ENZYME_MAX_U_PER_L)} U/l."
                        )
                elif not low <= value <= high:
                    found.append(
                        f"{short} {visit}: {plain_number(value)}{unit} is outside "
                        f"{range_text(low, high, instrument.unit)}."
                    )
        if instruments["enzyme"] == "enzyme":
            if not 0 < self.enzyme_uln.value <= ENZYME_MAX_U_PER_L:
                found.append(
                    f"ULN: {plain_number(self.enzyme_uln.value)} U/l; enter a value above 0 and up to "
                    f"{plain_number(ENZYME_MAX_U_PER_L)} U/l."
                )
            if (
                self.enzyme_normalisation.value == "uln_range"
                and not 0 < self.uln_multiplier.value <= ULN_MULTIPLIER_MAX
            ):
                found.append(
                    f"k: {plain_number(self.uln_multiplier.value)}; enter a multiplier above 0 and up to "
                    f"{plain_number(ULN_MULTIPLIER_MAX)}."
                )
        return found

    def result(self) -> PatientScore:
        """The engine's score of the patient currently entered."""
        return score_patient(self.patient(), self.population, self.normalisation())

    def _enzyme_name(self) -> str:
        return self._patient.enzyme.upper() if self._patient.enzyme == "ck" else self._patient.enzyme

    def update(self, change=None) -> None:
        """Validate the inputs, then recompute everything shown (or show what is wrong, and nothing else)."""
        if self._holding:
            return
        self._show_instruments()
        problems = self.problems()
        if problems:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            self.errors.value = (
                f'<div class="tis-error" role="alert" aria-live="assertive">Cannot score these '
                f"values:<ul>{items}</ul></div>"
            )
            self._mark_invalid(problems)  # after the message: the boxes point to it (aria-describedby)
            self.total.value = self.category.value = self.table.value = self.what_it_takes.value = ""
            return
        try:
            score = self.result()
            answer = what_would_it_take(
                self.patient(), self.target_measure.value, self.population, self.normalisation()
            )
        except (InputError, ValueError) as error:
            self.errors.value = (
                f'<div class="tis-error" role="alert" aria-live="assertive">Cannot score: '
                f"{html.escape(str(error))}</div>"
            )
            self._mark_invalid([])
            self.total.value = self.category.value = self.table.value = self.what_it_takes.value = ""
            return
        self.errors.value = ""
        self._mark_invalid([])
        self.table.value = breakdown_html(score)
        self.total.value = (
            f'<div style="font-size:1.3em" role="status">Total Improvement Score: '
            f'<b class="tis-total-value">{score.tis:g}</b> / 100</div>'
        )
        thresholds = CATEGORY_THRESHOLDS[score.population]
        self.category.value = (
            f'<div>Category: <b class="tis-category-value">{score.category}</b> '
            f"({score.population} thresholds: minimal &ge; {thresholds[0]:g}, moderate &ge; "
            f"{thresholds[1]:g}, major &ge; {thresholds[2]:g})</div>"
        )
        self.what_it_takes.value = f'<div class="tis-what-it-takes-text">{html.escape(answer.message)}</div>'

    def _mark_invalid(self, problems: list[str]) -> None:
        """Mark every box a problem names (its accessible name starts the message) with ``tis-invalid``."""
        marked = []
        for name in CORE_SET:
            for widget, visit in ((self.baseline[name], "baseline"), (self.followup[name], "followup")):
                invalid = any(problem.startswith(f"{widget.description}:") for problem in problems)
                (widget.add_class if invalid else widget.remove_class)("tis-invalid")
                if invalid:
                    marked.append(f"tis-{name}-{visit}")
        self.invalid_marks.invalid = marked

    def _show_instruments(self) -> None:
        """Row labels, option boxes and the target list follow the instruments in use."""
        instruments = self.instruments()
        patient_range = (
            self.patient() if instruments["enzyme"] != "chq_phs" or self.chq_max.value > self.chq_min.value else None
        )
        for name in CORE_SET:
            instrument = INSTRUMENTS[instruments[name]]
            if instrument.name == "enzyme":
                text = f"{self._enzyme_name()} (U/l), the most abnormal enzyme at baseline"
            elif patient_range is not None:
                low, high = patient_range.limits(name)
                better = "higher" if instrument.improves_by == "increase" else "lower"
                text = f"{instrument.short} ({range_text(low, high, instrument.unit)}, {better} is better)"
            else:
                text = instrument.short
            self.row_labels[name].value = f"<span>{html.escape(text)}</span>"
            short = self._enzyme_name() if instrument.name == "enzyme" else instrument.short
            self.baseline[name].description = f"{short} baseline"
            self.followup[name].description = f"{short} follow-up"
        uses_enzyme = instruments["enzyme"] == "enzyme"
        self.enzyme_options.layout.display = "flex" if uses_enzyme else "none"
        self.chq_options.layout.display = "none" if uses_enzyme else "flex"
        self.uln_multiplier.disabled = self.enzyme_normalisation.value == "relative"
        labels = [(INSTRUMENTS[instruments[name]].short, name) for name in CORE_SET]
        if list(self.target_measure.options) != labels:
            current = self.target_measure.value
            self._holding = True
            try:
                self.target_measure.options = labels
                self.target_measure.value = current
            finally:
                self._holding = False
        instrument_names = ", ".join(INSTRUMENTS[instruments[m]].short for m in CORE_SET)
        label = self._patient.label if "synthetic" in self._patient.label else f"{self._patient.label} (synthetic)"
        self.note.value = (
            f"<i>Starting values: {html.escape(label)}. Instruments: "
            f"{html.escape(instrument_names)}. All computation by <code>ivig_kit.score</code>.</i>"
        )

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)
