"""An interactive TIS calculator for JupyterLab (ipywidgets).

Every number it shows comes from :func:`ivig_kit.teaching.patients.score_patient` and
:func:`ivig_kit.teaching.patients.what_would_it_take`, i.e. from the engine in :mod:`ivig_kit.score`.
Key widgets carry stable CSS classes (``tis-total``, ``tis-category``, ``tis-table``,
``tis-what-it-takes``, ``tis-<measure>-baseline`` / ``-followup``, ...) for browser tests.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ivig_kit.errors import InputError
from ivig_kit.score.measures import (
    CATEGORY_THRESHOLDS,
    CORE_SET,
    MMT_SCALES,
    POPULATION_LABELS,
    POPULATIONS,
    SCALE_RANGE,
    EnzymeNormalisation,
)
from ivig_kit.teaching.patients import (
    MEDIAN_PATIENT,
    PatientScore,
    PatientVisits,
    score_patient,
    what_would_it_take,
)

#: Slider bounds and steps per instrument; the MMT maximum follows the chosen scale.
SLIDER_STEPS = {"physician_global": 0.1, "patient_global": 0.1, "extramuscular": 0.1, "haq": 0.025, "mmt": 0.1}
READOUT = {"physician_global": ".1f", "patient_global": ".1f", "extramuscular": ".1f", "haq": ".3f", "mmt": ".1f"}
SLIDER_MAX = dict(SCALE_RANGE)
ENZYME_MAX_U_PER_L = 1_000_000.0
POPULATION_CHOICES = [(POPULATION_LABELS[population], population) for population in POPULATIONS]
NORMALISATIONS = [("relative to baseline", "relative"), ("range of k x ULN", "uln_range")]


class TISCalculator:
    """Baseline and follow-up of the six CSMs in, percent change, points, total and category out.

    Display it as the last expression of a cell. ``patient()`` and ``result()`` give the
    current inputs and the engine's score; the output widgets hold what the learner sees.
    """

    def __init__(self, patient: PatientVisits = MEDIAN_PATIENT, population: str = "adult",
                 enzyme_normalisation: EnzymeNormalisation | str = "relative"):
        normalisation = (EnzymeNormalisation(enzyme_normalisation) if isinstance(enzyme_normalisation, str)
                         else enzyme_normalisation)
        self._enzyme_name = patient.enzyme
        self._label = patient.label
        self._holding = False
        scales = [(label, float(maximum)) for label, maximum in MMT_SCALES.items()]
        if float(patient.mmt_max) not in dict(scales).values():
            scales.append((f"other (0-{patient.mmt_max:g})", float(patient.mmt_max)))
        self.mmt_scale = widgets.Dropdown(options=scales, value=float(patient.mmt_max), description="MMT scale")
        self.population = widgets.ToggleButtons(options=POPULATION_CHOICES, value=population, description="Population")
        self.enzyme_normalisation = widgets.Dropdown(options=NORMALISATIONS, value=normalisation.method,
                                                     description="Enzyme %")
        self.uln_multiplier = widgets.BoundedFloatText(value=normalisation.uln_multiplier, min=0.5, max=1000,
                                                       step=0.5, description="k")
        self.enzyme_uln = widgets.BoundedFloatText(value=patient.enzyme_uln, min=0.001, max=ENZYME_MAX_U_PER_L,
                                                   description="ULN (U/l)")
        self.baseline = {m: self._input(m, patient.baseline[m], "baseline") for m in CORE_SET}
        self.followup = {m: self._input(m, patient.followup[m], "follow-up") for m in CORE_SET}
        self.target_measure = widgets.Dropdown(options=[(spec.label, name) for name, spec in CORE_SET.items()],
                                               value="physician_global", description="Improve")
        self.table = widgets.HTML()
        self.total = widgets.HTML()
        self.category = widgets.HTML()
        self.what_it_takes = widgets.HTML()
        for widget, css in ((self.mmt_scale, "tis-mmt-scale"), (self.population, "tis-population"),
                            (self.enzyme_normalisation, "tis-enzyme-normalisation"),
                            (self.uln_multiplier, "tis-uln-multiplier"), (self.enzyme_uln, "tis-enzyme-uln"),
                            (self.target_measure, "tis-target-measure"), (self.table, "tis-table"),
                            (self.total, "tis-total"), (self.category, "tis-category"),
                            (self.what_it_takes, "tis-what-it-takes")):
            widget.add_class(css)
        for name in CORE_SET:
            self.baseline[name].add_class(f"tis-{name}-baseline")
            self.followup[name].add_class(f"tis-{name}-followup")
        self.mmt_scale.observe(self._on_mmt_scale, names="value")
        for widget in (self.population, self.enzyme_normalisation, self.uln_multiplier, self.enzyme_uln,
                       self.target_measure, *self.baseline.values(), *self.followup.values()):
            widget.observe(self.update, names="value")
        self.ui = self._layout()
        self.update()

    def _input(self, measure: str, value: float, description: str):
        """A slider over the instrument's range, or a number box for the open-ended enzyme."""
        if measure == "enzyme":
            return widgets.BoundedFloatText(value=value, min=0, max=ENZYME_MAX_U_PER_L, step=1,
                                            description=description)
        maximum = self.mmt_scale.value if measure == "mmt" else SLIDER_MAX[measure]
        return widgets.FloatSlider(value=value, min=0, max=maximum, step=SLIDER_STEPS[measure],
                                   readout_format=READOUT[measure], continuous_update=False,
                                   description=description)

    def _layout(self) -> widgets.VBox:
        """Options on top, one row per CSM (baseline, follow-up), then the results."""
        rows = []
        for name, spec in CORE_SET.items():
            label = spec.label if name != "enzyme" else f"{spec.label} ({self._enzyme_name.upper()}, U/l)"
            rows += [widgets.HTML(f"<b>{html.escape(label)}</b>"), self.baseline[name], self.followup[name]]
        inputs = widgets.GridBox(rows, layout=widgets.Layout(grid_template_columns="minmax(14em, 1fr) 1fr 1fr"))
        options = widgets.HBox([self.mmt_scale, self.population])
        enzyme = widgets.HBox([self.enzyme_uln, self.enzyme_normalisation, self.uln_multiplier])
        note = widgets.HTML(f"<i>Starting values: {html.escape(self._label)}. All computation by "
                            "<code>ivig_kit.score</code>.</i>")
        what = widgets.VBox([widgets.HTML("<b>What would it take?</b> The smallest further improvement of one "
                                          "CSM that reaches the next category:"),
                             self.target_measure, self.what_it_takes])
        ui = widgets.VBox([note, options, enzyme, inputs, self.total, self.category, self.table, what])
        ui.add_class("tis-calculator")
        return ui

    def _on_mmt_scale(self, change) -> None:
        """Move the MMT values to the new scale, keeping their fraction of the maximum (to 0.1)."""
        old, new = change["old"], change["new"]
        self._holding = True
        try:
            for slider in (self.baseline["mmt"], self.followup["mmt"]):
                rescaled = min(round(slider.value * new / old, 1), new)
                if new > old:
                    slider.max = new
                    slider.value = rescaled
                else:
                    slider.value = rescaled
                    slider.max = new
        finally:
            self._holding = False
        self.update()

    # --- what the calculator computes -------------------------------------------------

    def normalisation(self) -> EnzymeNormalisation:
        """The enzyme option currently chosen."""
        return EnzymeNormalisation(self.enzyme_normalisation.value, self.uln_multiplier.value)

    def patient(self) -> PatientVisits:
        """The patient currently entered."""
        return PatientVisits(baseline={m: w.value for m, w in self.baseline.items()},
                             followup={m: w.value for m, w in self.followup.items()},
                             mmt_max=self.mmt_scale.value, enzyme=self._enzyme_name,
                             enzyme_uln=self.enzyme_uln.value, label=self._label)

    def result(self) -> PatientScore:
        """The engine's score of the patient currently entered."""
        return score_patient(self.patient(), self.population.value, self.normalisation())

    def update(self, change=None) -> None:
        """Recompute everything shown from the current inputs."""
        if self._holding:
            return
        self.uln_multiplier.disabled = self.enzyme_normalisation.value == "relative"
        try:
            score = self.result()
            answer = what_would_it_take(self.patient(), self.target_measure.value, self.population.value,
                                        self.normalisation())
        except (InputError, ValueError) as error:
            message = html.escape(str(error))
            self.total.value = f'<div class="tis-error">Cannot score these values: {message}</div>'
            self.category.value = self.table.value = self.what_it_takes.value = ""
            return
        self.table.value = breakdown_html(score)
        self.total.value = (f'<div style="font-size:1.3em">Total Improvement Score: '
                            f'<b class="tis-total-value">{score.tis:g}</b> / 100</div>')
        thresholds = CATEGORY_THRESHOLDS[score.population]
        self.category.value = (f'<div>Category: <b class="tis-category-value">{score.category}</b> '
                               f'({score.population} thresholds: minimal &ge; {thresholds[0]:g}, moderate &ge; '
                               f'{thresholds[1]:g}, major &ge; {thresholds[2]:g})</div>')
        self.what_it_takes.value = f'<div class="tis-what-it-takes-text">{html.escape(answer.message)}</div>'

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)


def breakdown_html(score: PatientScore) -> str:
    """Per-CSM table with a bar of points earned out of the maximum."""
    rows = []
    for name, row in score.breakdown.iterrows():
        width = 100 * row["points"] / row["max_points"]
        bar = (f'<div style="background:#ddd;width:10em;height:0.9em"><div style="background:#1f77b4;'
               f'width:{width:.0f}%;height:100%"></div></div>')
        flag = " (baseline at floor/ceiling)" if row["at_limit"] else ""
        percent = "n/a" if row["percent"] != row["percent"] else f"{row['percent']:.2f}%"
        rows.append(f'<tr data-measure="{name}"><td>{html.escape(row["label"])}{flag}</td>'
                    f'<td>{row["baseline"]:g}</td><td>{row["followup"]:g}</td><td>{row["change"]:g}</td>'
                    f'<td>{row["scale_range"]:g}</td><td class="tis-percent">{percent}</td>'
                    f'<td class="tis-points">{row["points"]:g}</td><td>/ {row["max_points"]:g}</td>'
                    f"<td>{bar}</td></tr>")
    header = ("<tr><th>core set measure</th><th>baseline</th><th>follow-up</th><th>improvement</th>"
              "<th>range</th><th>absolute %</th><th>points</th><th>max</th><th></th></tr>")
    return f'<table class="tis-breakdown">{header}{"".join(rows)}</table>'
