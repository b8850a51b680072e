"""Interactive explorers with a static counterpart.

An explorer is one drawing function ``draw(ax, **params)`` plus the controls a
reader can move. In a live Jupyter kernel :func:`explorer` returns an
ipywidgets panel whose sliders redraw the figure. On the website and in the
PDF nothing can compute, so the same function is drawn at a few chosen
settings side by side (small multiples). The book build sets
``DLNOTES_WIDGETS=static`` (see ``book/_ext/dlnotes_build.py``); a reader's
kernel does not, so the same cell is live in Jupyter and static in print.
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
    return _live(draw, controls, grid.get("panel", (5.0, 3.4)))


def _live(draw: Callable, controls: Mapping, panel):
    import ipywidgets as w

    def update(**params):
        fig, ax = plot.subplots(panel=panel)
        draw(ax, **params)
        plt.show()

    return w.interactive(update, **controls)


# --- Chapter 01 explorers (linear regression) ---


def _rent_thousands(seed: int = 0):
    """Chapter 01's rent data in thousands of sq ft and thousands of dollars."""
    from dlnotes.data import rent

    x, y = rent(20, seed=seed)
    return x / 1000, y / 1000


def _live_panels(draw: Callable, controls: Mapping, ncols: int = 2,
                 panel: tuple[float, float] = (4.2, 3.2)):
    """Like the live side of :func:`explorer`, for ``draw(axes, **params)`` on one
    row of ``ncols`` panels. Returns an ``ipywidgets.interactive``."""
    import ipywidgets as w

    def update(**params):
        fig, axes = plot.subplots(1, ncols, panel=panel, squeeze=False)
        draw(axes[0], **params)
        plt.show()

    return w.interactive(update, **controls)


def line_fitter(x=None, y=None):
    """Explorer: move a line ``y = a x + b`` and watch three scores of its residuals.

    Controls: slope ``a``, intercept ``b``, residual ``kind`` (vertical or
    perpendicular). Each panel prints sum r, sum |r| and sum r^2 (vertical
    residuals, also on perpendicular panels). Default data: the rent example in
    thousands, with axes labelled accordingly. Live, a second panel shows the
    contours of the loss ``L(a, b) = sum r^2 / (2N)`` over the slider ranges
    with a marker at the current ``(a, b)``. The static form is
    a 2 x 2 grid: least squares, horizontal through the mean, a steep line
    through the centroid, and total least squares (no contour panel).
    """
    from dlnotes.linreg import design_matrix, fit_lstsq, fit_tls

    xlabel, ylabel = "x", "y"
    if x is None or y is None:
        x, y = _rent_thousands()
        xlabel, ylabel = "floor area (1000 sq ft)", "rent ($1000/month)"
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal shape, got {x.shape} and {y.shape}")
    xs = np.linspace(x.min() - 0.1 * np.ptp(x), x.max() + 0.1 * np.ptp(x), 2)
    pad = 0.3 * np.ptp(y)

    def draw(ax, a, b, kind="vertical", label=None):
        r = y - (a * x + b)
        plot.residual_segments(ax, x, y, a, b, kind=kind)
        ax.plot(x, y, "o", color=plot.PALETTE["blue"], zorder=3)
        ax.plot(xs, a * xs + b, color=plot.PALETTE["black"])
        if kind == "perpendicular":  # right angles look right only at equal scales
            ax.set_aspect("equal", adjustable="datalim")
        else:
            ax.set_ylim(y.min() - pad, y.max() + pad)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        total = round(float(r.sum()), 2) + 0.0  # no "-0.00"
        note = "(vertical residuals)\n" if kind == "perpendicular" else ""
        ax.text(0.03, 0.97, f"{note}Σr = {total:+.2f}\nΣ|r| = {np.abs(r).sum():.2f}\n"
                f"Σr² = {(r**2).sum():.2f}", transform=ax.transAxes, va="top", fontsize=8,
                bbox=dict(facecolor="white", edgecolor="#999999", alpha=0.9))
        ax.set_title(label or f"a = {a:.2f}, b = {b:.2f} ({kind})")

    b_ls, a_ls = fit_lstsq(design_matrix(x), y)
    a_tls, b_tls = fit_tls(x, y)
    steep = 4 * a_ls
    static = [
        dict(a=a_ls, b=b_ls, kind="vertical", label="least squares"),
        dict(a=0.0, b=y.mean(), kind="vertical", label="horizontal through the mean"),
        dict(a=steep, b=y.mean() - steep * x.mean(), kind="vertical",
             label="steep, through the centroid"),
        dict(a=a_tls, b=b_tls, kind="perpendicular", label="total least squares"),
    ]
    controls = {"a": (-2 * abs(steep), 2 * abs(steep), 0.01),
                "b": (float(y.min() - np.ptp(y)), float(y.max() + np.ptp(y)), 0.01),
                "kind": ["vertical", "perpendicular"]}
    if mode() == "static":
        return explorer(draw, controls, static, ncols=2, panel=(3.6, 3.0))

    A, B = np.meshgrid(np.linspace(*controls["a"][:2], 201), np.linspace(*controls["b"][:2], 201))
    # L(a, b) = mean((y - a x - b)^2) / 2 from the five moments of the data
    L = 0.5 * (np.mean(y**2) + A**2 * np.mean(x**2) + B**2 - 2 * A * np.mean(x * y)
               - 2 * B * y.mean() + 2 * A * B * x.mean())
    L_min = 0.5 * np.mean((y - a_ls * x - b_ls) ** 2)

    def draw_loss(ax, a, b):
        ax.contour(A, B, L, levels=L_min * np.geomspace(1.5, L.max() / L_min, 12),
                   colors="#888888", linewidths=0.8)
        ax.plot(a_ls, b_ls, "+", color=plot.PALETTE["black"], ms=10, mew=2,
                label="least squares")
        ax.plot(a, b, "o", color=plot.PALETTE["vermillion"], ms=8, label="your line")
        here = 0.5 * np.mean((y - a * x - b) ** 2)
        ax.set_title(f"L(a, b) = Σr²/(2N) = {here:.3g}")
        ax.set_xlabel("slope a")
        ax.set_ylabel("intercept b")
        ax.legend(loc="upper right", fontsize=8)

    def draw_both(axes, a, b, kind):
        draw(axes[0], a, b, kind)
        draw_loss(axes[1], a, b)

    return _live_panels(draw_both, controls, panel=(4.2, 3.4))


def polynomial_explorer(seed: int = 0, coefficients=(0.0, 1.0)):
    """Explorer: polynomial degree ``M``, sample size ``n`` and noise level.

    Fits a degree-M polynomial by least squares to n noisy points of the
    polynomial ``coefficients`` (default the line y = x) on [-1, 1], and shows
    the fit with training points (dots) and fresh test points (crosses), and the
    training and test MSE (test on 5,000 fresh points) and the largest
    coefficient magnitude max |theta_m|. Static form: a 2 x 3
    grid, rows n = 12 and 1000, columns M = 1, 3, 11, noise 0.3, with a legend
    on the first panel (``legend=True``; the live panel always has one).
    """
    from dlnotes.data import polynomial
    from dlnotes.linreg import fit_lstsq, polynomial_features

    grid = np.linspace(-1, 1, 400)
    truth = np.polynomial.polynomial.polyval(grid, coefficients)

    def draw(ax, degree, n, noise, legend=True):
        x, y = polynomial(n, coefficients, noise, seed=seed)
        xt, yt = polynomial(5000, coefficients, noise, seed=seed + 1000)  # as in E7
        theta = fit_lstsq(polynomial_features(x, degree), y)
        train = np.mean((y - polynomial_features(x, degree) @ theta) ** 2)
        test = np.mean((yt - polynomial_features(xt, degree) @ theta) ** 2)
        alpha = 1.0 if n <= 50 else 0.25
        ax.plot(x, y, "o", ms=4 if n <= 50 else 2, alpha=alpha, color=plot.PALETTE["blue"],
                label="training points")
        ax.plot(xt[:40], yt[:40], "x", ms=4, color=plot.PALETTE["vermillion"],
                label="test points")
        ax.plot(grid, truth, "--", color="#777777", lw=1, label="truth")
        ax.plot(grid, polynomial_features(grid, degree) @ theta, color=plot.PALETTE["black"],
                label="fit")
        ax.set_ylim(truth.min() - 1.5, truth.max() + 1.5)
        ax.set_title(f"N = {n}, M = {degree}")
        ax.set_xlabel("input x")
        ax.set_ylabel("target y")
        ax.text(0.03, 0.97, f"train MSE {train:.3g}\ntest MSE {test:.3g}\n"
                f"max |θ| {np.abs(theta).max():.3g}",
                transform=ax.transAxes, va="top", fontsize=8,
                bbox=dict(facecolor="white", edgecolor="#999999", alpha=0.9))
        if legend:
            ax.legend(loc="lower right", fontsize=7)

    static = [dict(degree=m, n=n, noise=0.3, legend=(n, m) == (12, 1))
              for n in (12, 1000) for m in (1, 3, 11)]
    controls = {"degree": (0, 15, 1), "n": (5, 1000, 1), "noise": (0.0, 1.0, 0.05)}
    return explorer(draw, controls, static, ncols=3, panel=(3.2, 2.6), sharey=True)


def outlier_explorer(seed: int = 0):
    """Explorer: one outlier moves; squared loss (Gaussian) vs absolute loss (Laplace).

    20 points from ``y = x + N(0, 0.3^2)`` on [-1, 1]; the point nearest x = 0.8
    is moved up by ``offset`` noise standard deviations. Top: the least-squares
    and the least-absolute-deviations lines. Bottom: the two negative
    log-likelihoods as functions of the residual, Gaussian ``r^2 / (2 sigma^2)``
    and Laplace ``|r| / beta`` with the same variance (``beta = sigma / sqrt 2``),
    constants dropped, with every point's residual under its own fit marked
    (the outlier as a square). Static form: offsets 0, 5, 20 as a 2 x 3 grid;
    live, the two panels side by side.
    """
    from dlnotes.data import polynomial
    from dlnotes.linreg import design_matrix, fit_lad, fit_lstsq

    sigma = 0.3
    beta = sigma / np.sqrt(2)  # Laplace scale with variance sigma^2
    x0, y0 = polynomial(20, (0.0, 1.0), sigma, seed=seed)
    j = int(np.argmin(np.abs(x0 - 0.8)))
    grid = np.array([-1.0, 1.0])
    P = design_matrix(x0)
    models = (("squared (Gaussian)", "vermillion", fit_lstsq, lambda r: r**2 / (2 * sigma**2)),
              ("absolute (Laplace)", "green", fit_lad, lambda r: np.abs(r) / beta))

    def targets(offset):
        y = y0.copy()
        y[j] += offset * sigma
        return y

    def draw_fit(ax, offset):
        y = targets(offset)
        for name, color, fit, _ in models:
            theta = fit(P, y)
            ax.plot(grid, theta[0] + theta[1] * grid, color=plot.PALETTE[color],
                    label=f"{name}: slope {theta[1]:.2f}")
        ax.plot(np.delete(x0, j), np.delete(y, j), "o", color=plot.PALETTE["blue"], ms=4)
        ax.plot(x0[j], y[j], "s", color=plot.PALETTE["black"], ms=6)
        ax.set_ylim(-2, 7.5)
        ax.set_xlabel("input x")
        ax.set_ylabel("target y")
        ax.set_title(f"outlier moved {offset:g}σ")
        ax.legend(loc="upper left", fontsize=7)

    rs = np.linspace(-2.5, 8.0, 400)

    def draw_nll(ax, offset):
        y = targets(offset)
        costs = []
        for name, color, fit, nll in models:
            r = y - P @ fit(P, y)
            c = plot.PALETTE[color]
            ax.plot(rs, nll(rs), color=c, label=name.split()[1].strip("()"))
            ax.plot(np.delete(r, j), nll(np.delete(r, j)), "o", color=c, ms=3, alpha=0.7)
            ax.plot(r[j], nll(r[j]), "s", color=c, mec=plot.PALETTE["black"], ms=7, zorder=4)
            costs.append(float(nll(r[j])))
        ax.set_ylim(0, 180)
        ax.set_xlabel("residual r")
        ax.set_ylabel("NLL (up to a constant)")
        ax.set_title(f"NLL of the outlier\nGaussian {costs[0]:.3g}, Laplace {costs[1]:.3g}",
                     fontsize=10)
        ax.legend(loc="upper left", fontsize=7)

    if mode() == "static":
        offsets = (0.0, 5.0, 20.0)
        fig, axes = plot.subplots(2, len(offsets), panel=(3.4, 2.8))
        for col, offset in enumerate(offsets):
            draw_fit(axes[0, col], offset)
            draw_nll(axes[1, col], offset)
        plt.close(fig)
        return fig

    def draw_both(axes, offset):
        draw_fit(axes[0], offset)
        draw_nll(axes[1], offset)

    return _live_panels(draw_both, {"offset": (0.0, 25.0, 0.5)}, panel=(4.2, 3.2))


#: Degrees compared by :func:`kfold_explorer`.
KFOLD_DEGREES = tuple(range(1, 9))


def kfold_errors(k: int = 4, seed: int = 0):
    """The numbers behind :func:`kfold_explorer`.

    50 noisy points of the cubic ``y = -x + 2 x^3`` (noise 0.3) on [-1, 1];
    10 are set aside as a test set, the other 40 are shuffled once and cut into
    ``k`` folds (:func:`dlnotes.cv.kfold_indices`, same ``seed``). Every degree
    in :data:`KFOLD_DEGREES` is cross-validated on the same folds.
    Returns ``(degrees, per_fold, test)``: ``per_fold`` has shape
    ``(len(degrees), k)`` (validation MSE of each degree on each fold) and
    ``test`` the test MSE of each degree refitted on all 40 examples.
    """
    from dlnotes.cv import cross_validate, kfold_indices, mse, train_val_test_split
    from dlnotes.data import polynomial
    from dlnotes.linreg import fit_lstsq, polynomial_features

    x, y = polynomial(50, (0.0, -1.0, 0.0, 2.0), 0.3, seed=seed)
    rest, _, test = train_val_test_split(50, test=10, seed=seed)
    folds = kfold_indices(len(rest), k, seed=seed)
    per_fold, test_err = [], []
    for M in KFOLD_DEGREES:
        fit = lambda x_, y_, M=M: fit_lstsq(polynomial_features(x_, M), y_)  # noqa: E731
        predict = lambda th, x_, M=M: polynomial_features(x_, M) @ th  # noqa: E731
        per_fold.append(cross_validate(fit, predict, x[rest], y[rest], folds=folds))
        test_err.append(mse(y[test], predict(fit(x[rest], y[rest]), x[test])))
    return np.array(KFOLD_DEGREES), np.array(per_fold), np.array(test_err)


def _draw_cv_curve(ax, degrees, per_fold, test=None, rotation=None):
    """Mean validation MSE per degree with its fold-to-fold range; optionally one
    rotation's curve (1-based) and the test MSE of the refitted models."""
    k = per_fold.shape[1]
    mean = per_fold.mean(axis=1)
    ax.fill_between(degrees, per_fold.min(axis=1), per_fold.max(axis=1),
                    color=plot.PALETTE["sky"], alpha=0.35, lw=0, label=f"range over {k} folds")
    for j in range(k):
        ax.plot(degrees, per_fold[:, j], color=plot.PALETTE["blue"], lw=0.8, alpha=0.5,
                label="one fold" if j == 0 else None)
    if rotation is not None:
        ax.plot(degrees, per_fold[:, rotation - 1], "o-", color=plot.PALETTE["orange"], ms=3,
                lw=1.5, label=f"rotation {rotation}")
    ax.plot(degrees, mean, "o-", color=plot.PALETTE["black"], lw=2, ms=4, label="mean")
    best = int(np.argmin(mean))
    ax.plot(degrees[best], mean[best], "*", color=plot.PALETTE["vermillion"], ms=14, zorder=5,
            label=f"chosen: M = {degrees[best]}")
    title = f"{k}-fold CV: M = {degrees[best]}, mean val. MSE {mean[best]:.3f}"
    if test is not None:
        ax.plot(degrees, test, "s--", color=plot.PALETTE["purple"], ms=4, label="test MSE")
        title += f"\ntest MSE of the choice {test[best]:.3f}"
    ax.set_yscale("log")
    ax.set_xticks(degrees)
    ax.set_xlabel("polynomial degree M")
    ax.set_ylabel("validation MSE")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def kfold_explorer(seed: int = 0):
    """Explorer: k-fold cross-validation of the polynomial degree (data: :func:`kfold_errors`).

    Live: a slider for ``k`` (2-10), a dropdown for the rotation (which fold
    validates) and a "peek at test" checkbox. Left, the fold layout
    (train / validation / test bars, the chosen rotation outlined); right, the
    validation MSE per degree for every fold, their mean and range, the degree
    chosen, and (peeking) the test MSE; a table of the per-fold errors prints
    below. Static form: one closed figure, the layout for k = 4 next to the
    mean-validation-error curve with its fold-to-fold range.
    """
    if mode() == "static":
        degrees, per_fold, _ = kfold_errors(4, seed)
        fig, axes = plot.subplots(1, 2, panel=(4.2, 3.4), gridspec_kw={"width_ratios": [1.1, 1]})
        plot.fold_layout(axes[0], 50, 4, test=10)
        axes[0].set_title("4 folds of the 40 non-test examples")
        _draw_cv_curve(axes[1], degrees, per_fold)
        plt.close(fig)
        return fig

    import ipywidgets as w

    k_slider = w.IntSlider(value=4, min=2, max=10, description="k")
    rotation = w.Dropdown(options=list(range(1, 5)), value=1, description="rotation")
    peek = w.Checkbox(value=False, description="peek at test")

    def new_k(change):
        keep = min(rotation.value or 1, change["new"])  # setting options resets the value
        rotation.options = list(range(1, change["new"] + 1))
        rotation.value = keep

    k_slider.observe(new_k, names="value")

    def update(k, rotation, peek):
        rotation = min(rotation or 1, k)
        degrees, per_fold, test = kfold_errors(k, seed)
        fig, axes = plot.subplots(1, 2, panel=(4.6, 3.4), gridspec_kw={"width_ratios": [1.1, 1]})
        plot.fold_layout(axes[0], 50, k, test=10, highlight=rotation)
        axes[0].set_title(f"{k} folds of the 40 non-test examples")
        _draw_cv_curve(axes[1], degrees, per_fold, test if peek else None, rotation)
        plt.show()
        head = "  M  " + "".join(f"fold {j + 1:<4d}" for j in range(k)) + "  mean"
        print(head)
        for M, row in zip(degrees, per_fold):
            print(f"{M:3d}  " + "".join(f"{e:<9.3f}" for e in row) + f"{row.mean():.3f}")

    return w.interactive(update, k=k_slider, rotation=rotation, peek=peek)


# --- Chapter 02 explorers (matrix derivatives) ---


#: Maps offered by :func:`layout_explorer` (name shown in the dropdown).
DERIVATIVE_MAPS = ("W x", "tanh(A x)", "ReLU(x)", "softmax(z)", "z^T A x by A")


def derivative_of(name: str, m: int, n: int, layout: str = "numerator", seed: int = 0):
    """The derivative that :func:`layout_explorer` draws, from torch autograd.

    ``name`` is one of :data:`DERIVATIVE_MAPS`; ``W``/``A`` are ``(m, n)`` and
    inputs have length ``n`` (elementwise maps and softmax use ``n`` only).
    Returns a float64 NumPy matrix: the Jacobian (``layout="numerator"``, as
    ``torch.autograd.functional.jacobian`` returns it) or its transpose
    (``"denominator"``). For the scalar ``z^T A x`` the denominator layout is
    the gradient, shape of ``A``.
    """
    import torch
    from torch.autograd.functional import jacobian

    if name not in DERIVATIVE_MAPS:
        raise ValueError(f"name must be one of {DERIVATIVE_MAPS}, got {name!r}")
    if layout not in ("numerator", "denominator"):
        raise ValueError(f"layout must be 'numerator' or 'denominator', got {layout!r}")
    for label, v in (("m", m), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{label} must be a positive int, got {v!r}")
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(m, n, generator=gen, dtype=torch.float64).round(decimals=1)
    x = torch.randn(n, generator=gen, dtype=torch.float64).round(decimals=1)
    if name == "W x":
        J = jacobian(lambda v: A @ v, x)
    elif name == "tanh(A x)":
        J = jacobian(lambda v: torch.tanh(A @ v), x)
    elif name == "ReLU(x)":
        J = jacobian(torch.relu, x)
    elif name == "softmax(z)":
        J = jacobian(lambda v: torch.softmax(v, dim=0), x)
    else:  # scalar by matrix: numerator layout is the transposed gradient
        z = torch.randn(m, generator=gen, dtype=torch.float64).round(decimals=1)
        J = jacobian(lambda M: z @ M @ x, A).T
    J = J.numpy()
    return J if layout == "numerator" else J.T


def _derivative_title(name: str, layout: str, r: int, c: int) -> str:
    shape = f"({r}\u00d7{c})"
    if name == "W x":
        return f"Jacobian J = W {shape}" if layout == "numerator" else f"denominator W\u1d40 {shape}"
    if name == "z^T A x by A":
        return (f"gradient, like A {shape}" if layout == "denominator"
                else f"numerator (gradient)\u1d40 {shape}")
    return f"{name}: {'Jacobian' if layout == 'numerator' else 'denominator'} {shape}"


def draw_derivative(ax, map: str = "W x", m: int = 3, n: int = 5,  # noqa: A002
                    layout: str = "numerator"):
    """One panel of :func:`layout_explorer`: the derivative as a heat map.

    Rows and columns are labelled by what they index: in numerator layout
    (the Jacobian) rows are outputs and columns inputs; in denominator layout
    the other way round. The title names the matrix and its shape.
    """
    D = derivative_of(map, m, n, layout)
    fmt = "{:.2f}" if map in ("softmax(z)", "tanh(A x)") else "{:.1f}"
    plot.matrix_heatmap(ax, D, fmt=fmt)
    ax.set_title(_derivative_title(map, layout, *D.shape))
    if map == "z^T A x by A":
        rows, cols = ("row i of A", "column j of A") if layout == "denominator" else \
            ("column j of A", "row i of A")
    else:
        rows, cols = ("output i", "input j") if layout == "numerator" else ("input j", "output i")
    ax.set_ylabel(rows)
    ax.set_xlabel(cols)
    return ax


def layout_explorer():
    """Explore the shape of a derivative in numerator vs denominator layout.

    Static form: ``W x`` with ``(m, n) = (3, 5)`` in both layouts, the softmax
    Jacobian and the ReLU diagonal (2 x 2 panels).
    """
    controls = {"map": list(DERIVATIVE_MAPS), "m": (1, 6, 1), "n": (1, 6, 1),
                "layout": ["numerator", "denominator"]}
    static = [{"map": "W x", "m": 3, "n": 5, "layout": "numerator"},
              {"map": "W x", "m": 3, "n": 5, "layout": "denominator"},
              {"map": "softmax(z)", "m": 3, "n": 5, "layout": "numerator"},
              {"map": "ReLU(x)", "m": 3, "n": 5, "layout": "numerator"}]
    return explorer(draw_derivative, controls, static, ncols=2, panel=(4.2, 3.4))


def _slice_example(seed: int = 2):
    rng = np.random.default_rng(seed)
    W = rng.integers(-2, 3, size=(3, 4)).astype(float)
    x = rng.integers(-2, 3, size=4).astype(float)
    y = rng.integers(-2, 3, size=3).astype(float)
    return W, x, y - W @ x


def draw_tensor_slice(ax, k: int = 1, view: str = "slice"):
    """One panel of :func:`tensor_slice_explorer` for ``z = y - W x`` (m = 3, n = 4).

    ``view="slice"`` shows ``dz_k/dW = -e_k x^T`` (row ``k`` outlined);
    ``view="sum"`` shows the running contraction ``sum_{k' <= k} z_k' (-e_k' x^T)``,
    which reaches ``dL/dW = -z x^T`` at ``k = 3`` for ``L = ||z||^2 / 2``.
    """
    from dlnotes.matcalc import dz_dW_tensor

    W, x, z = _slice_example()
    m = W.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= m:
        raise ValueError(f"k must be an int in 1..{m}, got {k!r}")
    if view not in ("slice", "sum"):
        raise ValueError(f"view must be 'slice' or 'sum', got {view!r}")
    T = dz_dW_tensor(W, x)
    vmax = np.abs(z[:, None] * x).max()
    if view == "slice":
        title = rf"slice $k={k}$: $\partial z_{k}/\partial \mathbf{{W}}$"
        plot.matrix_heatmap(ax, T[:, :, k - 1], title=title, highlight_row=k - 1, vmax=vmax,
                            fmt="{:.0f}")
    else:
        partial = np.einsum("ipk,k->ip", T[:, :, :k], z[:k])
        title = rf"sum of $z_{{k'}}\,\partial z_{{k'}}/\partial \mathbf{{W}}$, $k' \leq {k}$"
        plot.matrix_heatmap(ax, partial, title=title, vmax=vmax, fmt="{:.0f}")
    return ax


def tensor_slice_explorer():
    """Walk through the slices of the third-order tensor ``dz/dW``.

    Static form: the three slices side by side, then the full contraction.
    """
    controls = {"k": (1, 3, 1), "view": ["slice", "sum"]}
    static = [{"k": 1, "view": "slice"}, {"k": 2, "view": "slice"},
              {"k": 3, "view": "slice"}, {"k": 3, "view": "sum"}]
    out = explorer(draw_tensor_slice, controls, static, panel=(3.0, 2.6))
    if isinstance(out, plt.Figure):
        _, x, z = _slice_example()
        out.suptitle(f"x = {_vec(x)},   z = y \u2212 W x = {_vec(z)}")
    return out


def _vec(v) -> str:
    return "(" + ", ".join(f"{float(a):g}".replace("-", "\u2212") for a in v) + ")"


# Candidates offered by :func:`dimension_quiz`, as the formulas for a layer
# with examples as rows, Z = X W^T (G = dL/dZ). The "columns" layout uses
# Z_c = W X_c with X_c = X^T and G_c = G^T; the same strings then name
# products of the column-layout arrays.
QUIZ_CANDIDATES = ("G X^T", "X^T G", "G^T X", "X G^T", "W^T G", "G W", "W G", "G^T W")


def _quiz_arrays(layout: str, square: bool, seed: int = 0):
    """Arrays X, W, G (in the given data ``layout``) and L(X, W) = <G, Z>."""
    rng = np.random.default_rng(seed)
    N, d_in, d_out = (4, 4, 4) if square else (5, 3, 2)
    X = rng.standard_normal((N, d_in))
    W = rng.standard_normal((d_out, d_in))
    G = rng.standard_normal((N, d_out))
    if layout == "rows":
        return X, W, G, (lambda X_, W_: np.sum(G * (X_ @ W_.T)))
    Xc, Gc = X.T.copy(), G.T.copy()
    return Xc, W, Gc, (lambda X_, W_: np.sum(Gc * (W_ @ X_)))


def _evaluate(expr: str, X, W, G):
    left, right = expr.split(" ")
    arrays = {"G": G, "X": X, "W": W}

    def get(tok):
        base = arrays[tok[0]]
        return base.T if tok.endswith("^T") else base

    A, B = get(left), get(right)
    if A.shape[1] != B.shape[0]:
        return None
    return A @ B


def quiz_table(target: str, layout: str, square: bool, candidates=QUIZ_CANDIDATES):
    """Rows ``(candidate, result shape or None, shape_ok, rel_error or None, correct)``.

    ``target`` is ``"dL/dW"`` or ``"dL/dX"``; ``layout`` is ``"rows"``
    (``Z = X W^T``) or ``"columns"`` (``Z = W X``). The reference gradient is
    computed with :func:`dlnotes.gradcheck.numerical_grad` of ``L = <G, Z>``,
    whose upstream gradient is exactly ``G``. A candidate is correct when its
    shape fits and its relative error is below 1e-6.
    """
    from dlnotes.gradcheck import numerical_grad, rel_error

    if target not in ("dL/dW", "dL/dX"):
        raise ValueError(f"target must be 'dL/dW' or 'dL/dX', got {target!r}")
    if layout not in ("rows", "columns"):
        raise ValueError(f"layout must be 'rows' or 'columns', got {layout!r}")
    X, W, G, loss = _quiz_arrays(layout, bool(square))
    if target == "dL/dW":
        ref = numerical_grad(lambda M: loss(X, M), W)
    else:
        ref = numerical_grad(lambda M: loss(M, W), X)
    rows = []
    for expr in candidates:
        val = _evaluate(expr, X, W, G)
        if val is None:
            rows.append((expr, None, False, None, False))
            continue
        ok = val.shape == ref.shape
        err = rel_error(val, ref) if ok else None
        rows.append((expr, val.shape, ok, err, bool(ok and err < 1e-6)))
    return rows


def format_quiz_table(targets=("dL/dW", "dL/dX"), layout: str = "rows") -> str:
    """The static dimension-matching quiz: every candidate for every target,
    with "shape OK?" and "correct?" for non-square and square shapes.

    "shape OK?" is "no: (r, c)" for a product of the wrong shape and
    "no: undefined" when the factors do not multiply; "correct?" gives the
    relative error against finite differences for a wrong formula that fits.
    """
    def cells(shape, ok, err, good):
        if shape is None:
            return "no: undefined", "-"
        if not ok:
            return f"no: {shape}", "-"
        return "yes", ("yes" if good else f"NO, error {err:.1f}")

    lines = []
    for target in targets:
        lines.append(f"{target}, examples as {layout}; non-square (N, d_in, d_out) = (5, 3, 2), "
                     "square (4, 4, 4)")
        lines.append(f"  {'candidate':<10s}| {'non-square':<29s}| square")
        lines.append(f"  {'':<10s}| {'shape OK?':<15s}{'correct?':<14s}| {'shape OK?':<15s}correct?")
        rect = quiz_table(target, layout, square=False)
        sq = quiz_table(target, layout, square=True)
        for r1, r2 in zip(rect, sq):
            a, b = cells(*r1[1:])
            c, d = cells(*r2[1:])
            lines.append(f"  {r1[0]:<10s}| {a:<15s}{b:<14s}| {c:<15s}{d}")
        lines.append("")
    return "\n".join(lines).rstrip()


def dimension_quiz():
    """Quiz: pick a target gradient, a data layout and a candidate formula.

    Live: dropdowns; the output reports whether the shapes fit and the
    gradient-check error. Static: the table of :func:`format_quiz_table`
    for examples as rows, printed.
    """
    if mode() == "static":
        print(format_quiz_table())
        return None
    import ipywidgets as w

    def update(target, layout, candidate, shapes):
        rows = quiz_table(target, layout, shapes == "square", candidates=(candidate,))
        expr, shp, ok, err, good = rows[0]
        if shp is None:
            print(f"{expr}: the factors do not multiply (inner dimensions differ)")
        elif not ok:
            print(f"{expr}: shape {shp}, but the gradient must have the variable's shape")
        else:
            print(f"{expr}: shape {shp} fits; relative error vs finite differences {err:.1e}"
                  f" -> {'correct' if good else 'WRONG'}")

    return w.interactive(update, target=["dL/dW", "dL/dX"], layout=["rows", "columns"],
                         candidate=list(QUIZ_CANDIDATES), shapes=["non-square", "square"])


def _bowl(x1, x2):
    return np.sin(2 * x1) + x2 ** 2 + 0.5 * x1 * x2


def draw_first_order(ax, t: float = 0.5, angle: float = 30.0):
    """One panel of :func:`first_order_explorer`.

    ``f(x) = sin 2x1 + x2^2 + 0.5 x1 x2`` at ``x0 = (0.5, 0.5)``, walked a
    distance ``t`` along the unit direction at ``angle`` degrees: the curve
    ``f(x0 + s d)`` and its tangent line ``f(x0) + s grad^T d`` (the section
    of the tangent plane), with the gap at ``s = t`` marked and printed.
    """
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"t must be a positive number, got {t!r}")
    x0 = np.array([0.5, 0.5])
    grad = np.array([2 * np.cos(2 * x0[0]) + 0.5 * x0[1], 2 * x0[1] + 0.5 * x0[0]])
    d = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    s = np.linspace(-0.25 * t, 1.25 * t, 201)
    f0 = _bowl(*x0)
    ax.plot(s, _bowl(*(x0[:, None] + d[:, None] * s)), color=plot.PALETTE["blue"], label="f")
    ax.plot(s, f0 + s * (grad @ d), "--", color=plot.PALETTE["vermillion"],
            label="first-order")
    exact, approx = _bowl(*(x0 + t * d)), f0 + t * (grad @ d)
    ax.plot([t, t], [approx, exact], color=plot.PALETTE["black"], lw=2.5, label="error at s = t")
    ax.plot([t], [f0 + t * (grad @ d)], "o", color=plot.PALETTE["black"], ms=3)
    ax.locator_params(axis="x", nbins=4)
    ax.set_xlabel("distance s along d")
    ax.set_title(f"t = {t:g}: error {abs(exact - approx):.1e}")
    ax.legend(loc="upper left", fontsize=7)
    return ax


def first_order_explorer():
    """Explore the first-order approximation along a direction.

    Live: sliders for the step length ``t`` and the direction angle. Static:
    three panels, ``t = 0.5, 0.1, 0.01`` (each zooms in tenfold or fivefold;
    the error shrinks like ``t**2``).
    """
    controls = {"t": (0.01, 1.0, 0.01), "angle": (0.0, 360.0, 15.0)}
    static = [{"t": 0.5, "angle": 30.0}, {"t": 0.1, "angle": 30.0},
              {"t": 0.01, "angle": 30.0}]
    return explorer(draw_first_order, controls, static, panel=(3.2, 2.7))
