"""Interactive explorers with a static counterpart.

An explorer is one drawing function ``draw(ax, **params)`` plus the controls a
reader can move. In a live Jupyter kernel :func:`explorer` returns an
ipywidgets panel whose sliders redraw the figure. On the website and in the
PDF nothing can compute, so the same function is drawn at a few chosen
settings side by side (small multiples). The book build sets
``DLNOTES_WIDGETS=static`` (see ``book/_ext/dlnotes_build.py``); a reader's
kernel does not, so the same cell is live in Jupyter and static in print.

This module holds the pattern; the explorers themselves live beside it, one
module per topic (:mod:`dlnotes.widgets.regression`,
:mod:`dlnotes.widgets.matrix_calculus`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlnotes import plot

ENV_VAR = "DLNOTES_WIDGETS"


def mode() -> str:
    """``"static"`` when ``DLNOTES_WIDGETS=static`` or ipywidgets is missing, else ``"live"``."""
    value = os.environ.get(ENV_VAR, "live").strip().lower()
    if value not in ("live", "static"):
        raise ValueError(f"${ENV_VAR} must be 'live' or 'static', got {value!r}")
    if value == "live":
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return "static"
    return value


def _title(params: Mapping) -> str:
    def fmt(v):
        return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in params.items())


def small_multiples(draw: Callable, settings: Sequence[Mapping], *, ncols: int | None = None,
                    panel: tuple[float, float] = (3.4, 2.8), sharey: bool = False,
                    titles: bool = True):
    """Draw ``draw(ax, **s)`` for every setting ``s`` in a grid of panels.

    Returns the (closed) figure. ``ncols`` defaults to all settings in one row (at most 4).
    A panel is titled with its parameters unless ``titles=False`` or ``draw``
    set a title itself.
    """
    settings = list(settings)
    if not settings:
        raise ValueError("small_multiples needs at least one setting, got none")
    for s in settings:
        if not isinstance(s, Mapping):
            raise TypeError(f"each setting must be a dict of parameters, got {type(s).__name__}")
    ncols = ncols or min(len(settings), 4)
    nrows = -(-len(settings) // ncols)
    fig, axes = plot.subplots(nrows, ncols, panel=panel, sharey=sharey, squeeze=False)
    for ax, s in zip(axes.flat, settings):
        draw(ax, **s)
        if titles and not ax.get_title():
            ax.set_title(_title(s))
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    # Closed, so a notebook shows it once: as the cell's value, not also as an
    # open pyplot figure at the end of the cell.
    plt.close(fig)
    return fig


def explorer(draw: Callable, controls: Mapping, static: Sequence[Mapping], **grid):
    """A live explorer in Jupyter, small multiples everywhere else.

    ``draw(ax, **params)`` draws one panel. ``controls`` maps each parameter to
    an ipywidgets abbreviation (``(lo, hi, step)`` for a slider, a list for a
    dropdown) or a widget. ``static`` lists the settings of the static figure;
    each must give every parameter in ``controls``. ``grid`` goes to
    :func:`small_multiples`.

    Returns the ipywidgets panel (live) or the figure (static).
    """
    missing = [sorted(set(controls) - set(s)) for s in static]
    if any(missing):
        raise ValueError(f"every static setting must give all controls {sorted(controls)}; "
                         f"missing {next(m for m in missing if m)}")
    if mode() == "static":
        return small_multiples(draw, static, **grid)
    return live_panels(lambda axes, **params: draw(axes[0], **params), controls, ncols=1,
                       panel=grid.get("panel", (5.0, 3.4)))


def live_panels(draw: Callable, controls: Mapping, ncols: int = 2,
                panel: tuple[float, float] = (4.2, 3.2)):
    """The live side of an explorer: ``draw(axes, **params)`` on one row of
    ``ncols`` panels, redrawn whenever a control moves. Returns an
    ``ipywidgets.interactive`` (for explorers whose live view needs more than one
    panel; :func:`explorer` uses it with one)."""
    import ipywidgets as w

    def update(**params):
        fig, axes = plot.subplots(1, ncols, panel=panel, squeeze=False)
        draw(axes[0], **params)
        plt.show()

    return w.interactive(update, **controls)
