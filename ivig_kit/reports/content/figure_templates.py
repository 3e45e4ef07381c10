"""Empty report figures made ahead, for :mod:`ivig_kit.reports.content.figures` to draw on.

A process that forks report kernels (a batch's zygote) makes one empty figure of each shape a site report draws,
with its ticks (:func:`~ivig_kit.reports.content.figures.make_figure_templates`): building axes and ticks is
about a third of the time a report's figures take. Each kernel is a fork, so it draws on its own copy, and the
templates hold no data: nothing passes between sites. A template is taken once, and only under the rcParams it
was made with (a notebook that sets its own style gets a figure made on the spot, in that style).
"""

from __future__ import annotations

#: rcParams that say how a figure is shown, not how it is drawn: a kernel sets them after its fork.
NOT_STYLE = ("backend", "backend_fallback", "interactive")

#: shape -> the figures made ahead for it: (figure, its axes, the style they were made with)
_pool: dict[tuple, list[tuple[object, list, dict]]] = {}


def style() -> dict:
    """The rcParams in force that change how a figure is drawn (all but :data:`NOT_STYLE`)."""
    import matplotlib

    return {key: value for key, value in matplotlib.rcParams.items() if key not in NOT_STYLE}


def keep(shape: tuple, figure, axes: list) -> None:
    """Keep an empty ``figure`` (and its ``axes``) of ``shape``, made under the rcParams in force now."""
    _pool.setdefault(shape, []).append((figure, axes, style()))


def take(shape: tuple) -> tuple | None:
    """A kept (figure, axes) of ``shape`` made under the rcParams in force now, no longer kept; else ``None``."""
    made = _pool.get(shape)
    if not made or made[-1][2] != style():
        return None
    figure, axes, _ = made.pop()
    return figure, axes
