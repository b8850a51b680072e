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
    """Apply the book's figure style and PNG inline output (call once per chapter)."""
    mpl.rcParams.update(STYLE)
    try:  # only inside IPython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # noqa: BLE001 - outside a kernel there is nothing to set
        pass


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


# --- Chapter 01 figures (linear regression) ---


# --- Chapter 02 figures (matrix derivatives) ---
