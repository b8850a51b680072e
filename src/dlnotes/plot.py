"""One figure style for the whole book.

Figures have an opaque white background and dark ink, so they stay legible on
the site's light and dark themes and in print; colours come from the
Okabe-Ito palette, which colour-blind readers can tell apart. Figures are PNG:
LaTeX (the PDF) takes PNG but not SVG.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

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


def sci(value: float, digits: int = 1) -> str:
    """A number in scientific notation for prose: ``sci(2.53e14) == '2.5 × 10¹⁴'``.

    ``digits`` decimals in the mantissa (``digits=0`` gives ``'6 × 10⁻⁶'``).
    """
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"sci needs a finite number, got {value}")
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 0:
        raise ValueError(f"digits must be a non-negative int, got {digits!r}")
    if value == 0:
        return "0"
    exponent = int(np.floor(np.log10(abs(value))))
    mantissa = value / 10.0**exponent
    if round(abs(mantissa), digits) >= 10:  # 9.96 rounds up to 10.0: carry into the exponent
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits}f} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def subplots(nrows: int = 1, ncols: int = 1, *, panel: tuple[float, float] = (3.4, 2.8),
             **kwargs):
    """``plt.subplots`` with the book style and a figure size of ``ncols x nrows``
    panels of size ``panel`` (inches). Returns ``(fig, axes)``."""
    for name, value in (("nrows", nrows), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    use_style()
    kwargs.setdefault("figsize", (panel[0] * ncols, panel[1] * nrows))
    return plt.subplots(nrows, ncols, **kwargs)


def loss_curves(ax, curves: dict, *, xlabel: str = "iteration", ylabel: str = "loss",
                logy: bool = False):
    """Draw named 1-D sequences (``{"train": [...], "validation": [...]}``) on ``ax``."""
    if not curves:
        raise ValueError("curves must name at least one sequence")
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"curve {label!r} must be 1-D, got shape {values.shape}")
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
    the line (what total least squares measures). ``x``, ``y``: shape (N,).
    """
    if kind not in ("vertical", "perpendicular"):
        raise ValueError(f"kind must be 'vertical' or 'perpendicular', got {kind!r}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal shape, got {x.shape} and {y.shape}")
    r = y - (slope * x + intercept)
    if kind == "vertical":
        fx, fy = x, y - r
    else:  # foot of the perpendicular: move along the unit normal (-a, 1)/sqrt(1 + a^2)
        step = r / (1 + slope**2)
        fx, fy = x + slope * step, y - step
    for xi, yi, ui, vi in zip(x, y, fx, fy):
        ax.plot([xi, ui], [yi, vi], color=color, lw=0.9, alpha=0.8)
    return ax


def fold_layout(ax, n: int, k: int, *, test: int = 0, seed: int = 0,
                highlight: int | None = None):
    """Bars showing which examples train, validate and test in each of k rotations.

    One row per rotation; ``n`` examples are first split into a test set of size
    ``test`` and the rest (see :func:`dlnotes.cv.train_val_test_split`), the rest
    into k folds (:func:`dlnotes.cv.kfold_indices`). Examples are drawn in
    shuffled-then-sorted order so every fold is a contiguous block.
    ``highlight`` (1-based rotation) outlines that row.
    """
    from matplotlib.patches import Patch

    from dlnotes.cv import kfold_indices

    m = n - test
    folds = kfold_indices(m, k, seed=None)  # contiguous blocks, for the picture only
    colors = {"train": PALETTE["blue"], "validation": PALETTE["orange"], "test": PALETTE["black"]}
    for row, (train, val) in enumerate(folds):
        y = k - 1 - row
        ax.barh(y, len(val), left=val[0], color=colors["validation"], height=0.7)
        for block in np.split(train, np.flatnonzero(np.diff(train) > 1) + 1):
            ax.barh(y, len(block), left=block[0], color=colors["train"], height=0.7)
        if test:
            ax.barh(y, test, left=m, color=colors["test"], height=0.7)
    if highlight is not None:
        if isinstance(highlight, bool) or not 1 <= highlight <= k:
            raise ValueError(f"highlight must be a rotation in 1..{k}, got {highlight!r}")
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


def matrix_heatmap(ax, M, *, title: str | None = None, highlight_row: int | None = None,
                   annotate: bool = True, vmax: float | None = None, fmt: str = "{:.2g}"):
    """Draw a matrix ``M (r, c)`` as a heat map with a diverging colour scale
    centred on 0, its entries written in the cells, and its shape in the title.

    ``highlight_row`` outlines one row (0-based). Returns ``ax``.
    """
    M = np.asarray(M.detach().cpu() if hasattr(M, "detach") else M, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"matrix_heatmap needs a 2-D array, got shape {M.shape}")
    if vmax is None:
        vmax = float(np.abs(M).max()) or 1.0
    ax.imshow(M, cmap="PuOr_r", vmin=-vmax, vmax=vmax)
    ax.grid(False)
    r, c = M.shape
    ax.set_xticks(range(c))
    ax.set_yticks(range(r))
    ax.set_xticklabels([str(j + 1) for j in range(c)])
    ax.set_yticklabels([str(i + 1) for i in range(r)])
    ax.tick_params(length=0)
    if annotate and r * c <= 64:
        for i in range(r):
            for j in range(c):
                ink = "white" if abs(M[i, j]) > 0.6 * vmax else "#111111"
                text = fmt.format(M[i, j])
                if float(text) == 0:  # no "-0.0" for tiny negative entries
                    text = fmt.format(0.0)
                ax.text(j, i, text, ha="center", va="center",
                        fontsize=8, color=ink)
    if highlight_row is not None:
        if not 0 <= highlight_row < r:
            raise ValueError(f"highlight_row must be in [0, {r}), got {highlight_row}")
        ax.add_patch(mpl.patches.Rectangle((-0.5, highlight_row - 0.5), c, 1, fill=False,
                                           edgecolor=PALETTE["vermillion"], linewidth=2.5))
    shape = f"shape {r}\u00d7{c}"
    ax.set_title(f"{title}\n{shape}" if title else shape)
    return ax
