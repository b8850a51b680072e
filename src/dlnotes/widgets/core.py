"""Interactive explorers with a static counterpart.

An explorer is one drawing function ``draw(ax, **params)`` plus the controls a
reader can move. In a live Jupyter kernel :func:`explorer` returns an
ipywidgets panel whose sliders redraw the figure. On the website and in the
PDF nothing can compute, so the same function is drawn at a few chosen
settings side by side (small multiples). The book build sets
``DLNOTES_WIDGETS=static`` (see ``book/_ext/dlnotes_build.py``); a reader's
kernel does not, so the same cell is live in Jupyter and static in print.

Controls are ipywidgets abbreviations: ``(lo, hi)`` or ``(lo, hi, step)`` for
a slider (an int slider when all three are ints), a non-empty list for a
dropdown, a bool for a checkbox, a str for a text box, or an ipywidgets
widget. Every argument is checked the same way in both modes, before anything
is drawn, so a cell that works in print works live and vice versa.

This module holds the pattern; the explorers themselves live beside it, one
module per topic (:mod:`dlnotes.widgets.regression`,
:mod:`dlnotes.widgets.matrix_calculus`, :mod:`dlnotes.widgets.classification`,
:mod:`dlnotes.widgets.optimization`).
"""

from __future__ import annotations

import inspect
import numbers
import os
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlnotes import plot
from dlnotes._checks import callable_, integer, real

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


# --- argument checks ------------------------------------------------------------------


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_widget(spec) -> bool:
    return type(spec).__module__.split(".", 1)[0] == "ipywidgets" and hasattr(spec, "value")


def _check_spec(name: str, spec) -> None:
    """One control: a slider tuple, a dropdown list, a bool, a str or a widget."""
    where = f"controls[{name!r}]"
    if isinstance(spec, tuple):
        if len(spec) not in (2, 3) or not all(_is_real(v) for v in spec):
            raise TypeError(f"{where} must be a slider (lo, hi) or (lo, hi, step) of real "
                            f"numbers, got {spec!r}")
        lo, hi = real(spec[0], f"{where} lo"), real(spec[1], f"{where} hi")
        if not lo < hi:
            raise ValueError(f"{where} must have lo < hi, got {spec!r}")
        if len(spec) == 3 and not 0 < real(spec[2], f"{where} step") <= hi - lo:
            raise ValueError(f"{where} must have a step in (0, hi - lo], got {spec!r}")
    elif isinstance(spec, list):
        if not spec:
            raise ValueError(f"{where} must offer at least one option, got []")
    elif not (isinstance(spec, (bool, str)) or _is_widget(spec)):
        raise TypeError(f"{where} must be a slider tuple, a list of options, a bool, a str or "
                        f"an ipywidgets widget, got {type(spec).__name__} {spec!r}")


def _check_controls(controls) -> dict:
    if not isinstance(controls, Mapping):
        raise TypeError(f"controls must be a mapping of parameter name -> control, got "
                        f"{type(controls).__name__}")
    if not controls:
        raise ValueError("controls must name at least one parameter, got none")
    for name, spec in controls.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"controls must be keyed by parameter names, got {name!r}")
        _check_spec(name, spec)
    return dict(controls)


def _in_range(name: str, spec, value, where: str) -> None:
    """``value`` must be one the control ``spec`` can take."""
    what = f"{where}[{name!r}]"
    if isinstance(spec, tuple):
        lo, hi = spec[0], spec[1]
        if all(_is_int(v) for v in spec):
            value = integer(value, what)
        elif not _is_real(value) or not np.isfinite(value):
            raise TypeError(f"{what} must be a finite real number for the slider {spec!r}, "
                            f"got {type(value).__name__} {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"{what} = {value!r} is outside the control's range [{lo}, {hi}]")
    elif isinstance(spec, list):
        options = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in spec]
        if not any(_same_option(value, o) for o in options):
            raise ValueError(f"{what} must be one of the control's options {options!r}, "
                             f"got {value!r}")
    elif isinstance(spec, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{what} must be True or False (a checkbox), got {value!r}")
    elif isinstance(spec, str):
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str (a text box), got {value!r}")
    else:  # a widget: check what it declares
        lo, hi = getattr(spec, "min", None), getattr(spec, "max", None)
        if lo is not None and hi is not None and not (_is_real(value) and lo <= value <= hi):
            raise ValueError(f"{what} = {value!r} is outside the widget's range [{lo}, {hi}]")
        options = getattr(spec, "options", None)
        if options is not None and value not in [getattr(spec, "value", None), *options]:
            raise ValueError(f"{what} must be one of the widget's options, got {value!r}")


def _same_option(value, option) -> bool:
    """``value == option``, with numbers equal across types but never a bool for a number."""
    if value is option:
        return True
    if _is_real(value) != _is_real(option) or isinstance(value, (bool, np.bool_)) != \
            isinstance(option, (bool, np.bool_)):
        return False
    try:
        return bool(value == option)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return False


def _check_settings(settings, name: str) -> list[dict]:
    """A non-empty list (or tuple) of dicts of parameters."""
    if isinstance(settings, (Mapping, str, bytes)) or not isinstance(settings, Sequence):
        hint = "; wrap a single setting in a list" if isinstance(settings, Mapping) else ""
        raise TypeError(f"{name} must be a list of dicts of parameters, got "
                        f"{type(settings).__name__}{hint}")
    if not settings:
        raise ValueError(f"{name} must hold at least one setting, got none")
    for i, s in enumerate(settings):
        if not isinstance(s, Mapping):
            raise TypeError(f"{name}[{i}] must be a dict of parameters, got {type(s).__name__}")
        bad = [k for k in s if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{name}[{i}] must be keyed by parameter names, got {bad[0]!r}")
    return [dict(s) for s in settings]


def _check_call(draw: Callable, first: str, params, where: str) -> None:
    """``draw(first, **params)`` must match draw's signature (when it has one)."""
    try:
        signature = inspect.signature(draw)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    try:
        signature.bind(first, **params)
    except TypeError as err:
        raise TypeError(f"{where} does not fit draw{signature}: {err}") from None


def _check_grid(grid: Mapping) -> dict:
    """The keywords :func:`explorer` passes on to :func:`small_multiples`."""
    allowed = ("ncols", "panel", "sharey", "titles")
    unknown = sorted(set(grid) - set(allowed))
    if unknown:
        raise TypeError(f"explorer got unknown keyword(s) {unknown}; it passes only "
                        f"{', '.join(allowed)} to small_multiples")
    if grid.get("ncols") is not None:
        integer(grid["ncols"], "ncols", 1)
    if "panel" in grid:
        plot._panel(grid["panel"])
    for name in ("sharey", "titles"):
        if name in grid:
            plot._flag(grid[name], name)
    return dict(grid)


# --- the pattern ------------------------------------------------------------------------


def _title(params: Mapping) -> str:
    def fmt(v):
        return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in params.items())


def small_multiples(draw: Callable, settings: Sequence[Mapping], *, ncols: int | None = None,
                    panel: tuple[float, float] = (3.4, 2.8), sharey: bool = False,
                    titles: bool = True):
    """Draw ``draw(ax, **s)`` for every setting ``s`` in a grid of panels.

    ``settings`` is a non-empty list of dicts of ``draw``'s parameters.
    Returns the (closed) figure. ``ncols`` (int >= 1) defaults to all settings
    in one row (at most 4); ``panel`` is one panel's (width, height) in inches.
    A panel is titled with its parameters unless ``titles=False`` or ``draw``
    set a title itself.
    """
    callable_(draw, "draw")
    settings = _check_settings(settings, "settings")
    for i, s in enumerate(settings):
        _check_call(draw, None, s, f"settings[{i}]")
    ncols = min(len(settings), 4) if ncols is None else integer(ncols, "ncols", 1)
    sharey, titles = plot._flag(sharey, "sharey"), plot._flag(titles, "titles")
    nrows = -(-len(settings) // ncols)
    fig, axes = plot.subplots(nrows, ncols, panel=panel, sharey=sharey, squeeze=False)
    try:
        for ax, s in zip(axes.flat, settings):
            draw(ax, **s)
            if titles and not ax.get_title():
                ax.set_title(_title(s))
    finally:
        # Closed, so a notebook shows it once: as the cell's value, not also as an
        # open pyplot figure at the end of the cell (and not left open on an error).
        plt.close(fig)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    return fig


def explorer(draw: Callable, controls: Mapping, static: Sequence[Mapping], **grid):
    """A live explorer in Jupyter, small multiples everywhere else.

    ``draw(ax, **params)`` draws one panel. ``controls`` maps each parameter to
    a control (see the module docstring). ``static`` lists the settings of the
    static figure: each gives every parameter in ``controls``, with a value the
    control can take, and may add other parameters of ``draw``. ``grid``
    (``ncols``, ``panel``, ``sharey``, ``titles``) goes to :func:`small_multiples`.
    Everything is checked in both modes.

    Returns the ipywidgets panel (live) or the figure (static).
    """
    callable_(draw, "draw")
    controls = _check_controls(controls)
    static = _check_settings(static, "static")
    for i, s in enumerate(static):
        missing = sorted(set(controls) - set(s))
        if missing:
            raise ValueError(f"every static setting must give all controls {sorted(controls)}; "
                             f"static[{i}] is missing {missing}")
        for name, spec in controls.items():
            _in_range(name, spec, s[name], f"static[{i}]")
        _check_call(draw, None, s, f"static[{i}]")
    _check_call(draw, None, {name: None for name in controls}, "controls")
    grid = _check_grid(grid)
    if mode() == "static":
        return small_multiples(draw, static, **grid)
    return live_panels(lambda axes, **params: draw(axes[0], **params), controls, ncols=1,
                       panel=grid.get("panel", (5.0, 3.4)))


def live_panels(draw: Callable, controls: Mapping, ncols: int = 2,
                panel: tuple[float, float] = (4.2, 3.2)):
    """The live side of an explorer: ``draw(axes, **params)`` on one row of
    ``ncols`` panels (int >= 1, each ``panel`` inches), redrawn whenever a
    control moves. Returns an ``ipywidgets.interactive`` (for explorers whose
    live view needs more than one panel; :func:`explorer` uses it with one).
    Needs ipywidgets."""
    callable_(draw, "draw")
    controls = _check_controls(controls)
    _check_call(draw, None, {name: None for name in controls}, "controls")
    ncols = integer(ncols, "ncols", 1)
    panel = plot._panel(panel)
    try:
        import ipywidgets as w
    except ImportError:
        raise ImportError("live_panels needs ipywidgets (pip install ipywidgets), or set "
                          f"{ENV_VAR}=static for the static figures") from None

    def update(**params):
        fig, axes = plot.subplots(1, ncols, panel=panel, squeeze=False)
        draw(axes[0], **params)
        plt.show()

    return w.interactive(update, **controls)


def _start_at(controls: dict, values: dict) -> dict:
    """Live: the controls as ipywidgets that start at ``values`` (an abbreviation such as
    ``(lo, hi, step)`` starts in the middle of its range). Static: ``controls`` as given."""
    if mode() != "live":
        return controls
    import ipywidgets as w

    return {name: bool(values[name]) if isinstance(spec, bool) else
            w.interactive.widget_from_abbrev(spec, values[name])
            for name, spec in controls.items()}
