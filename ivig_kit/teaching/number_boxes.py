"""The calculator's number boxes for screen readers and sighted readers alike: labels only screen readers
read, a marked box for each value the message names (a thick border and a sign, not colour alone), and
``aria-invalid`` tied to the message."""

from __future__ import annotations

import anywidget
import traitlets


class InvalidMarks(anywidget.AnyWidget):
    """An invisible helper that sets ``aria-invalid`` on the number boxes named in ``invalid`` (their CSS
    classes) and ties them to the message (``aria-describedby``), which ipywidgets cannot do from Python.

    It looks only inside its own calculator (the nearest ``.tis-calculator``); its script is inline, so the
    page fetches nothing from another host."""

    _esm = """
    function render({ model, el }) {
      el.style.display = "none";
      const apply = () => {
        const root = el.closest(".tis-calculator");
        if (!root) return;
        const invalid = new Set(model.get("invalid"));
        const message = root.querySelector(".tis-errors .tis-error");
        if (message && !message.id) message.id = "tis-error-" + Math.random().toString(36).slice(2);
        for (const box of root.querySelectorAll(".tis-number")) {
          const input = box.querySelector("input");
          if (!input) continue;
          const bad = [...box.classList].some(name => invalid.has(name));
          input.setAttribute("aria-invalid", bad ? "true" : "false");
          if (bad && message) input.setAttribute("aria-describedby", message.id);
          else input.removeAttribute("aria-describedby");
        }
      };
      model.on("change:invalid", () => requestAnimationFrame(apply));
      requestAnimationFrame(apply);
    }
    export default { render };
    """
    invalid = traitlets.List(traitlets.Unicode()).tag(sync=True)


#: Box labels exist for screen readers only (clipped, not hidden: axe and assistive technology read them);
#: a box the message names gets a thick red border and a warning sign, not colour alone.
CALCULATOR_CSS = (
    ".tis-number .widget-label{position:absolute!important;width:1px!important;height:1px;"
    "overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;margin:0;padding:0}"
    ".tis-invalid input{border:3px solid #b00020!important;background:#fff0f0}"
    ".tis-invalid::after{content:'\\26A0';color:#b00020;font-weight:bold;margin-left:0.2em}"
    ".tis-error{color:#b00020;border-left:4px solid #b00020;padding-left:0.5em}"
)
