"""One figure style for the whole book.

Figures have an opaque white background and dark ink, so they stay legible on
the site's light and dark themes and in print; colours come from the
Okabe-Ito palette, which colour-blind readers can tell apart. Figures are PNG:
LaTeX (the PDF) takes PNG but not SVG.

Every function checks its arguments and raises TypeError (wrong kind) or
ValueError (wrong value) naming the argument; numbers may be Python or NumPy
scalars, 0-d arrays or tensors, arrays may be lists, NumPy arrays or tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from dlnotes._checks import choice, float_array, integer, is_torch, positive, real

#: Okabe & Ito (2008) colour-blind-safe palette, in the order the book uses it.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORS = list(PALETTE.values())

STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#111111",
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "font.size": 10,
    "figure.constrained_layout.use": True,
    "image.cmap": "viridis",
    "svg.hashsalt": "dlnotes",  # deterministic output if someone saves SVG
}


def use_style() -> None:
    """Apply the book's figure style; in a Jupyter kernel also select inline PNG
    figures, whatever ``MPLBACKEND`` the kernel inherited (call once per chapter)."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return  # plain Python or a terminal IPython: keep the user's backend
    shell.run_line_magic("matplotlib", "inline")
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# matplotlib cannot render a figure side beyond 2**16 pixels (about 600 inches at our dpi)
_MAX_INCHES = 500.0


def _axes(ax, name: str = "ax"):
    """``ax`` if it is a matplotlib Axes."""
    if not isinstance(ax, Axes):
        raise TypeError(f"{name} must be a matplotlib Axes (e.g. from dlnotes.plot.subplots), "
                        f"got {type(ax).__name__}")
    return ax


def _flag(value, name: str) -> bool:
    """``value`` if it is a bool (NumPy bools too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _text(value, name: str, optional: bool = False):
    if optional and value is None:
        return None
    if not isinstance(value, str):
        want = "a str or None" if optional else "a str"
        raise TypeError(f"{name} must be {want}, got {type(value).__name__} {value!r}")
    return value


def _panel(panel) -> tuple[float, float]:
    """``panel`` as a pair ``(width, height)`` of positive finite inches."""
    if isinstance(panel, (str, bytes)) or not isinstance(panel, Sequence) or len(panel) != 2:
        raise TypeError(f"panel must be a pair (width, height) in inches, got "
                        f"{type(panel).__name__} {panel!r}")
    return positive(panel[0], "panel[0] (width)"), positive(panel[1], "panel[1] (height)")


def sci(value: float, digits: int = 1) -> str:
    """A number in scientific notation for prose: ``sci(2.53e14) == '2.5 × 10¹⁴'``.

    ``value``: a finite real number (Python, NumPy, 0-d array or tensor);
    ``digits >= 0`` decimals in the mantissa (``digits=0`` gives ``'6 × 10⁻⁶'``),
    correctly rounded, carrying into the exponent (``sci(9.96, 1) == '1.0 × 10¹'``).
    Zero is ``'0'``.
    """
    value = real(value, "value")
    digits = integer(digits, "digits", 0)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def glue(name: str, value, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue:text}`` roles.

    In the book build this is myst-nb's ``glue``. In a kernel without myst-nb (a
    chapter notebook downloaded and run elsewhere) nothing is recorded, and the
    value is shown if ``display`` is true, so the chapter still runs. A NumPy
    scalar, a 0-d array or a one-element torch tensor is stored as the Python
    number it holds, so that a format such as ``:.3f`` applies to it.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {type(name).__name__} {name!r}")
    if not isinstance(display, bool):
        raise TypeError(f"display must be True or False, got {type(display).__name__}")
    value = _plain_scalar(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def _plain_scalar(value):
    """The Python number inside a NumPy scalar, 0-d array or 0-d torch tensor; else ``value``."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if is_torch(value) and value.ndim == 0:
        return value.item()
    return value


def subplots(nrows: int = 1, ncols: int = 1, *, panel: tuple[float, float] = (3.4, 2.8),
             **kwargs):
    """``plt.subplots`` with the book style and a figure size of ``ncols x nrows``
    panels of size ``panel`` (width, height in inches, positive). ``nrows`` and
    ``ncols`` are ints >= 1. Other keywords go to ``plt.subplots`` (a
    ``figsize`` there wins over ``panel``). Returns ``(fig, axes)``."""
    nrows, ncols = integer(nrows, "nrows", 1), integer(ncols, "ncols", 1)
    width, height = _panel(panel)
    size = (width * ncols, height * nrows)
    if max(size) > _MAX_INCHES:
        raise ValueError(f"the figure would be {size[0]:g} x {size[1]:g} inches (panel "
                         f"{(width, height)} times {ncols} x {nrows}); matplotlib cannot draw "
                         f"more than about {_MAX_INCHES:g} inches a side: shrink panel, nrows or "
                         f"ncols")
    use_style()
    kwargs.setdefault("figsize", size)
    return plt.subplots(nrows, ncols, **kwargs)


def loss_curves(ax, curves: dict, *, xlabel: str = "iteration", ylabel: str = "loss",
                logy: bool = False):
    """Draw named 1-D sequences (``{"train": [...], "validation": [...]}``) on ``ax``.

    ``curves`` maps a label to a non-empty 1-D sequence of real numbers (list,
    NumPy array or tensor), drawn against its index. A diverging run may hold
    NaN or infinity: those entries are left out of the line (a gap) and the
    legend says how many, e.g. ``"train (3 non-finite not drawn)"``. With
    ``logy=True`` every finite value must be > 0. Returns ``ax``.
    """
    _axes(ax)
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a mapping of label -> sequence, got "
                        f"{type(curves).__name__}")
    if not curves:
        raise ValueError("curves must name at least one sequence, got an empty mapping")
    xlabel, ylabel, logy = _text(xlabel, "xlabel"), _text(ylabel, "ylabel"), _flag(logy, "logy")
    lines = {}
    for label, values in curves.items():
        values = float_array(values, f"curves[{label!r}]", ndim=(1,), finite=False)
        bad = ~np.isfinite(values)
        if logy and np.any(values[~bad] <= 0):
            i = int(np.flatnonzero(~bad & (values <= 0))[0])
            raise ValueError(f"logy=True needs positive values, but curves[{label!r}] holds "
                             f"{float(values[i])!r} at index {i}; plot with logy=False")
        if bad.any():
            label = f"{label} ({int(bad.sum())} non-finite not drawn)"
        lines[str(label)] = np.where(bad, np.nan, values)
    for label, values in lines.items():
        ax.plot(np.arange(len(values)), values, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


# Figures for linear regression (chapter 01)


def residual_segments(ax, x, y, slope: float, intercept: float, *, kind: str = "vertical",
                      color: str = PALETTE["vermillion"]):
    """Draw the residual of every point ``(x_i, y_i)`` to the line ``y = slope x + intercept``.

    ``kind="vertical"``: the segment to ``(x_i, slope x_i + intercept)`` (what least
    squares measures); ``kind="perpendicular"``: the segment to the nearest point of
    the line (what total least squares measures). ``x``, ``y``: finite, shape (N,),
    N >= 1; ``slope``, ``intercept``: finite reals; ``color``: a matplotlib colour.
    Raises ValueError if a residual overflows float64. Returns ``ax``.
    """
    _axes(ax)
    x = float_array(x, "x", ndim=(1,))
    y = float_array(y, "y", ndim=(1,))
    if x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of equal shape, got {x.shape} and {y.shape}")
    a, b = real(slope, "slope"), real(intercept, "intercept")
    kind = choice(kind, "kind", ("vertical", "perpendicular"))
    if not mpl.colors.is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour (a name or '#rrggbb'), got "
                         f"{color!r}")
    with np.errstate(over="ignore", invalid="ignore"):
        r = y - (a * x + b)
        if kind == "vertical":
            fx, fy = x, y - r
        elif abs(a) <= 1:  # foot of the perpendicular: r / (1 + a^2) along the normal (-a, 1)
            step = r / (1 + a * a)
            fx, fy = x + a * step, y - step
        else:  # the same with 1/a, so a^2 cannot overflow
            inv = 1 / a
            step = r / (a + inv)
            fx, fy = x + step, y - step * inv
    if not (np.all(np.isfinite(fx)) and np.all(np.isfinite(fy))):
        raise ValueError(f"residuals overflow float64: the line y = {a:.3g} x + {b:.3g} is too "
                         f"far from the points (max |x| = {np.abs(x).max():.1e}, max |y| = "
                         f"{np.abs(y).max():.1e}); rescale the data")
    for xi, yi, ui, vi in zip(x, y, fx, fy):
        ax.plot([xi, ui], [yi, vi], color=color, lw=0.9, alpha=0.8)
    return ax


def fold_layout(ax, n: int, k: int, *, test: int = 0, highlight: int | None = None):
    """Bars showing which examples train, validate and test in each of k rotations.

    One row per rotation; ``n`` examples are first split into a test set of size
    ``test`` and the rest (see :func:`dlnotes.cv.train_val_test_split`), the rest
    into k folds (:func:`dlnotes.cv.kfold_indices`). Examples are drawn in
    shuffled-then-sorted order so every fold is a contiguous block: the picture
    is the same for every shuffle, so there is no ``seed``.
    ``n``, ``k``, ``test`` are ints with ``k >= 2``, ``test >= 0`` and
    ``k <= n - test`` (no empty fold); ``highlight`` (1-based rotation in
    ``1..k``, or None) outlines that row. Returns ``ax``.
    """
    from matplotlib.patches import Patch

    from dlnotes.cv import kfold_indices

    _axes(ax)
    n, k, test = integer(n, "n", 2), integer(k, "k", 2), integer(test, "test", 0)
    m = n - test
    if k > m:
        raise ValueError(f"k must be <= n - test = {m} so that no fold is empty, got k = {k} "
                         f"(n = {n}, test = {test})")
    if highlight is not None:
        highlight = integer(highlight, "highlight", 1, k)
    folds = kfold_indices(m, k, shuffle=False)  # contiguous blocks, for the picture only
    colors = {"train": PALETTE["blue"], "validation": PALETTE["orange"], "test": PALETTE["black"]}
    for row, (train, val) in enumerate(folds):
        y = k - 1 - row
        ax.barh(y, len(val), left=val[0], color=colors["validation"], height=0.7)
        for block in np.split(train, np.flatnonzero(np.diff(train) > 1) + 1):
            ax.barh(y, len(block), left=block[0], color=colors["train"], height=0.7)
        if test:
            ax.barh(y, test, left=m, color=colors["test"], height=0.7)
    if highlight is not None:
        ax.add_patch(mpl.patches.Rectangle((0, k - highlight - 0.45), n, 0.9, fill=False,
                                           edgecolor=PALETTE["vermillion"], linewidth=2.5,
                                           zorder=5))
    ax.set_yticks(range(k), [f"rotation {k - i}" for i in range(k)])
    ax.set_xlabel("example (after one shuffle)")
    ax.set_xlim(0, n)
    ax.grid(False)
    ax.legend(handles=[Patch(color=c, label=lab) for lab, c in colors.items()
                       if lab != "test" or test], loc="upper center",
              bbox_to_anchor=(0.5, -0.25), ncol=3)
    return ax


# Figures for matrix derivatives (chapter 02)


def _number_format(fmt) -> str:
    """``fmt`` if it formats one float (``fmt.format(x)``), e.g. ``"{:.2g}"``."""
    _text(fmt, "fmt")
    try:
        fmt.format(-1.5)
    except (IndexError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"fmt must be a format string for one number, like '{{:.2g}}', got "
                         f"{fmt!r} ({type(err).__name__}: {err})") from None
    return fmt


def matrix_heatmap(ax, M, *, title: str | None = None, highlight_row: int | None = None,
                   annotate: bool = True, vmax: float | None = None, fmt: str = "{:.2g}"):
    """Draw a matrix ``M (r, c)`` as a heat map with a diverging colour scale
    centred on 0, its entries written in the cells, and its shape in the title.

    ``M``: finite, 2-D, not empty (list, NumPy array or tensor, also one that
    requires grad). ``highlight_row`` outlines one row (an int in ``[0, r)``);
    ``vmax`` (> 0) fixes the colour scale, default ``max |M|``; ``annotate``
    writes the entries (at most 64 cells) with the format string ``fmt``;
    ``title`` (a str or None) goes above the shape. Returns ``ax``.
    """
    _axes(ax)
    M = float_array(M, "M", ndim=(2,))
    r, c = M.shape
    title = _text(title, "title", optional=True)
    if highlight_row is not None:
        highlight_row = integer(highlight_row, "highlight_row", 0, r - 1)
    annotate, fmt = _flag(annotate, "annotate"), _number_format(fmt)
    vmax = (float(np.abs(M).max()) or 1.0) if vmax is None else positive(vmax, "vmax")
    # matplotlib computes vmax - vmin, which overflows near the float64 limit: draw a
    # power-of-two scaled copy there (same colours; the entries are written unscaled)
    scale = 2.0 ** -math.frexp(vmax)[1] if vmax > 1e300 else 1.0
    ax.imshow(M * scale, cmap="PuOr_r", vmin=-vmax * scale, vmax=vmax * scale)
    ax.grid(False)
    ax.set_xticks(range(c))
    ax.set_yticks(range(r))
    ax.set_xticklabels([str(j + 1) for j in range(c)])
    ax.set_yticklabels([str(i + 1) for i in range(r)])
    ax.tick_params(length=0)
    if annotate and r * c <= 64:
        negative_zero = fmt.format(-0.0)
        for i in range(r):
            for j in range(c):
                ink = "white" if abs(M[i, j]) > 0.6 * vmax else "#111111"
                text = fmt.format(M[i, j])
                if text == negative_zero:  # no "-0.0" for tiny negative entries
                    text = fmt.format(0.0)
                ax.text(j, i, text, ha="center", va="center",
                        fontsize=8, color=ink)
    if highlight_row is not None:
        ax.add_patch(mpl.patches.Rectangle((-0.5, highlight_row - 0.5), c, 1, fill=False,
                                           edgecolor=PALETTE["vermillion"], linewidth=2.5))
    shape = f"shape {r}\u00d7{c}"
    ax.set_title(f"{title}\n{shape}" if title else shape)
    return ax
