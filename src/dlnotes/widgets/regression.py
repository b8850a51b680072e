"""Explorers of chapter 01: fitting a line, polynomial degree and sample size,
outliers under two noise models, and k-fold cross-validation.

``seed`` means what it means everywhere in dlnotes: an int >= 0 draws the same
data every time, ``None`` fresh data.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from dlnotes import plot
from dlnotes._checks import float_array, integer, rng
from dlnotes.widgets.core import explorer, live_panels, mode


def _seed(seed) -> int | None:
    """``seed`` checked: None or an int >= 0."""
    return None if seed is None else integer(seed, "seed", 0)


def _fresh_if_none(seed) -> int:
    """An int seed: ``seed`` itself, or a fresh one for ``None`` (so that every panel
    of one explorer shows the same fresh data)."""
    seed = _seed(seed)
    return int(rng(None).integers(2**31)) if seed is None else seed


def _step(lo: float, hi: float) -> float:
    """A round slider step, about a thousandth of the range (0.01 for a range of 10)."""
    return 10.0 ** math.floor(math.log10((hi - lo) / 1000))


def _rent_thousands(seed: int = 0):
    """Chapter 01's rent data in thousands of sq ft and thousands of dollars."""
    from dlnotes.data import rent

    x, y = rent(20, seed=seed)
    return x / 1000, y / 1000


def _line_data(x, y):
    """line_fitter's data: both None (the rent example) or both 1-D, equal, N >= 2."""
    if (x is None) != (y is None):
        missing = "y" if y is None else "x"
        raise ValueError(f"give both x and y, or neither (the rent example); {missing} is None")
    if x is None:
        x, y = _rent_thousands()
        return x, y, "floor area (1000 sq ft)", "rent ($1000/month)"
    x, y = float_array(x, "x", ndim=(1,)), float_array(y, "y", ndim=(1,))
    if x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of equal shape, got {x.shape} and {y.shape}")
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError(f"x must hold at least two different values to fit a line, got "
                         f"{x.size} values spanning {np.ptp(x) if x.size else 0:g}")
    return x, y, "x", "y"


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

    ``x``, ``y``: both None, or both finite 1-D of equal length with at least
    two different ``x`` (lists, arrays, tensors); the slider ranges cover the
    four static lines. Data whose squares overflow or underflow float64
    (magnitudes far outside 1e-150 to 1e150) are a ValueError.
    """
    from dlnotes.linreg import design_matrix, fit_lstsq, fit_tls

    x, y, xlabel, ylabel = _line_data(x, y)
    xs = np.linspace(x.min() - 0.1 * np.ptp(x), x.max() + 0.1 * np.ptp(x), 2)
    spread = np.ptp(y) or max(float(np.abs(y).max()), 1.0)  # constant y: still a window
    pad = 0.3 * spread

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
    steep = 4 * a_ls if a_ls != 0 else 2 * spread / np.ptp(x)
    static = [
        dict(a=a_ls, b=b_ls, kind="vertical", label="least squares"),
        dict(a=0.0, b=y.mean(), kind="vertical", label="horizontal through the mean"),
        dict(a=steep, b=y.mean() - steep * x.mean(), kind="vertical",
             label="steep, through the centroid"),
        dict(a=a_tls, b=b_tls, kind="perpendicular", label="total least squares"),
    ]
    # slider ranges: as before, widened where a static line lies outside
    a_lo = float(min(-2 * abs(steep), *(s["a"] for s in static)))
    a_hi = float(max(2 * abs(steep), *(s["a"] for s in static)))
    b_lo = float(min(y.min() - spread, *(s["b"] for s in static)))
    b_hi = float(max(y.max() + spread, *(s["b"] for s in static)))
    controls = {"a": (a_lo, a_hi, _step(a_lo, a_hi)), "b": (b_lo, b_hi, _step(b_lo, b_hi)),
                "kind": ["vertical", "perpendicular"]}
    A, B = np.meshgrid(np.linspace(a_lo, a_hi, 201), np.linspace(b_lo, b_hi, 201))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # L(a, b) = mean((y - a x - b)^2) / 2 from the five moments of the data
        L = 0.5 * (np.mean(y**2) + A**2 * np.mean(x**2) + B**2 - 2 * A * np.mean(x * y)
                   - 2 * B * y.mean() + 2 * A * B * x.mean())
        L_min = 0.5 * np.mean((y - a_ls * x - b_ls) ** 2)
    if not (np.all(np.isfinite(L)) and np.isfinite(L_min) and L.max() > 1e-300):
        raise ValueError(f"x and y are too large or too small for line_fitter (max |x| = "
                         f"{np.abs(x).max():.1e}, max |y| = {np.abs(y).max():.1e}): the loss "
                         f"squares them; rescale them (e.g. change units) first")
    # contour levels above the minimum; data exactly on a line have L_min = 0
    base = L_min if L_min > 1e-9 * L.max() else 1e-6 * L.max()
    levels = base * np.geomspace(1.5, L.max() / base, 12)
    if mode() == "static":
        return explorer(draw, controls, static, ncols=2, panel=(3.6, 3.0))

    def draw_loss(ax, a, b):
        ax.contour(A, B, L, levels=levels, colors="#888888", linewidths=0.8)
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

    return live_panels(draw_both, controls, panel=(4.2, 3.4))


def polynomial_explorer(seed: int = 0, coefficients=(0.0, 1.0)):
    """Explorer: polynomial degree ``M``, sample size ``n`` and noise level.

    Fits a degree-M polynomial by least squares to n noisy points of the
    polynomial ``coefficients`` (default the line y = x) on [-1, 1], and shows
    the fit with training points (dots) and fresh test points (crosses), and the
    training and test MSE (test on 5,000 fresh points) and the largest
    coefficient magnitude max |theta_m|. Static form: a 2 x 3
    grid, rows n = 12 and 1000, columns M = 1, 3, 11, noise 0.3, with a legend
    on the first panel (``legend=True``; the live panel always has one).
    ``seed``: int >= 0 or None (fresh data, the same in every panel);
    ``coefficients``: a non-empty 1-D sequence of finite reals, lowest degree first.
    """
    from dlnotes.data import polynomial
    from dlnotes.linreg import fit_lstsq, polynomial_features

    seed = _fresh_if_none(seed)
    coefficients = tuple(float(c) for c in float_array(coefficients, "coefficients", ndim=(1,)))
    grid = np.linspace(-1, 1, 400)
    with np.errstate(over="ignore", invalid="ignore"):
        truth = np.polynomial.polynomial.polyval(grid, coefficients)
    if not np.all(np.isfinite(truth)):
        raise ValueError("coefficients are too large: the polynomial overflows float64 on "
                         "[-1, 1]; rescale them")

    def draw(ax, degree, n, noise, legend=True):
        x, y = polynomial(n, coefficients, noise, seed=seed)
        xt, yt = polynomial(5000, coefficients, noise, seed=seed + 1000)  # as in experiment E8 of chapter 01
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
    live, the two panels side by side. ``seed``: int >= 0 or None (fresh data).
    """
    from dlnotes.data import polynomial
    from dlnotes.linreg import design_matrix, fit_lad, fit_lstsq

    seed = _fresh_if_none(seed)
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

    return live_panels(draw_both, {"offset": (0.0, 25.0, 0.5)}, panel=(4.2, 3.2))


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
    ``k``: an int in 2..40; ``seed``: int >= 0 or None (fresh data, split and folds).
    """
    from dlnotes.cv import cross_validate, kfold_indices, mse, train_val_test_split
    from dlnotes.data import polynomial
    from dlnotes.linreg import fit_lstsq, polynomial_features

    k, seed = integer(k, "k", 2, 40), _seed(seed)
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
    ``seed``: int >= 0 or None (fresh data, split and folds, drawn once).
    """
    seed = _fresh_if_none(seed)
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
