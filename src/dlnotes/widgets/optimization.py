"""Explorers of chapters 04 and 05: gradient descent on a bowl, and an optimizer race.

Gradient descent on the quadratic bowl ``1/2 (x - 0)^T A x`` with eigenvalues
``1`` and ``kappa`` multiplies the coordinate along each eigenvector by
``1 - lr * lambda_i`` per step, so it converges from every start exactly when
``lr < 2 / lambda_max``; at ``lr = 1 / lambda_max`` the steep direction is gone
after one step, and between the two thresholds it zig-zags
(:func:`descent_explorer`). The race (:func:`optimizer_race`) runs GD,
momentum, Nesterov, AdaGrad, RMSProp and Adam from :mod:`dlnotes.optim` on the
surfaces of :mod:`dlnotes.landscapes`. Rotating the bowl leaves GD and the
momentum methods (nearly) unchanged but slows the per-coordinate methods down:
they fix ill-conditioning along the axes, not ill-conditioning in general.

Every run is :func:`dlnotes.optim.trajectory` of a :mod:`dlnotes.optim`
optimizer; a run that overflows is reported as diverged (no warning reaches
the output). Nothing here is random, so no explorer takes a ``seed``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from dlnotes import optim, plot
from dlnotes._checks import choice, float_array, integer, positive, real
from dlnotes.landscapes import Landscape, beale, quadratic, rosenbrock, saddle
from dlnotes.linreg import ConvergenceWarning
from dlnotes.widgets.core import _start_at, live_panels, mode


class Run(NamedTuple):
    """One optimizer run (returned by :func:`descent_run` and :func:`race_runs`).

    ``lr``: the learning rate used. ``path``: the iterates ``(n + 1, 2)``,
    start first; rows after an overflow are NaN. ``values``: ``f`` at each
    iterate ``(n + 1,)``, NaN where the iterate is NaN or ``f`` overflows.
    ``steps``: the number of updates until the goal (e.g. ``f < tol``) was
    first met, None if never. ``diverged``: the goal was not met and the run
    overflowed or ended above its starting value.
    """

    lr: float
    path: np.ndarray
    values: np.ndarray
    steps: int | None
    diverged: bool


# --- running an optimizer on a landscape ---------------------------------------------------


def _safe_grad(L: Landscape) -> Callable:
    """``L.grad``, but NaN where it overflows, so that :func:`optim.trajectory` reports
    the divergence (a landscape raises ValueError there)."""

    def grad(x):
        try:
            return L.grad(x)
        except ValueError:
            return np.full_like(x, np.nan)

    return grad


def _values(L: Landscape, path: np.ndarray) -> np.ndarray:
    """``f`` at every row of ``path``; NaN for NaN rows and where ``f`` overflows."""
    out = np.full(len(path), np.nan)
    ok = np.all(np.isfinite(path), axis=1)
    try:
        out[ok] = L.value(path[ok])
    except ValueError:  # some iterate lies so far out that f overflows: row by row
        for i in np.flatnonzero(ok):
            try:
                out[i] = L.value(path[i])
            except ValueError:
                pass
    return out


def _run(opt: optim.Optimizer, L: Landscape, start, n_steps: int, goal: Callable) -> Run:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as diverged instead
        path = optim.trajectory(opt, _safe_grad(L), np.asarray(start, dtype=float), n_steps)
    values = _values(L, path)
    with np.errstate(invalid="ignore"):
        met = np.flatnonzero(goal(values))
    steps = int(met[0]) if met.size else None
    finite = values[np.isfinite(values)]
    diverged = steps is None and (finite.size < values.size or finite[-1] > values[0])
    return Run(float(opt.lr), path, values, steps, bool(diverged))


def _start(start) -> np.ndarray:
    s = float_array(start, "start", ndim=(1,))
    if s.shape != (2,):
        raise ValueError(f"start must be a point (x, y), shape (2,), got shape {s.shape}")
    return s.copy()


def _num(x: float) -> str:
    """``1e-06`` written ``1e-6``."""
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


def _outcome(run: Run, goal: str, short: bool = False) -> str:
    if run.steps is not None:
        return f"{run.steps}" if short else f"{run.steps} steps to {goal}"
    if run.diverged:
        return "diverged" if short else "diverges"
    if short:
        return f">{len(run.values) - 1}"
    return f"L = {run.values[-1]:.2g} after {len(run.values) - 1} steps"


# --- drawing --------------------------------------------------------------------------------


def _contours(ax, L: Landscape, window, f_min: float | None) -> None:
    """Contours of ``L`` over ``window = ((x0, x1), (y0, y1))``: log-spaced above
    the minimum ``f_min``, evenly spaced for a surface without one (a saddle)."""
    (x0, x1), (y0, y1) = window
    X, Y = np.meshgrid(np.linspace(x0, x1, 161), np.linspace(y0, y1, 161))
    F = _values(L, np.stack([X, Y], -1).reshape(-1, 2)).reshape(X.shape)
    if f_min is None:
        levels = np.linspace(np.nanmin(F), np.nanmax(F), 15)[1:-1]
    else:
        top = float(np.nanmax(F) - f_min)
        levels = f_min + top * np.geomspace(1e-5, 1.0, 16)[:-1]
    ax.contour(X, Y, F, levels=levels, colors="#999999", linewidths=0.7)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def _path(ax, run: Run, color: str, label: str | None, every: int = 1) -> None:
    P = run.path[np.all(np.isfinite(run.path), axis=1)]
    shown = np.vstack([P[::every], P[-1:]]) if every > 1 else P
    ax.plot(shown[:, 0], shown[:, 1], "o-", color=color, lw=1.0, ms=2.0, label=label)


def _loss_curves(ax, runs: dict, goal_value: float, log: bool) -> None:
    """Each run's ``f`` per step, up to the goal or until it grows a millionfold."""
    for label, (run, color) in runs.items():
        v = run.values.copy()
        if run.steps is not None:
            v[run.steps + 1:] = np.nan
        if log:
            with np.errstate(invalid="ignore"):
                big = np.flatnonzero(~(v <= 1e6 * max(v[0], 1e-300)))
            if big.size:
                v[big[0]:] = np.nan
        ax.plot(np.arange(len(v)), v, color=color, label=label)
    ax.axhline(goal_value, color="#555555", lw=0.8, ls="--")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step t")


# --- chapter 04: gradient descent on a quadratic bowl ---------------------------------------


def descent_run(lr: float, kappa: float = 10.0, angle: float = 0.0, start=(1.0, 1.0),
                tol: float = 1e-10, max_steps: int = 1500) -> Run:
    """Gradient descent (:class:`dlnotes.optim.SGD`) on ``quadratic(kappa, angle)``.

    The bowl ``1/2 x^T A x`` has eigenvalues 1 and ``kappa`` (so
    ``lambda_max = kappa``), its shallow eigenvector at ``angle`` degrees.
    ``lr`` > 0; ``kappa`` >= 1; ``angle`` a real; ``start`` the point
    ``(x, y)``; ``tol`` > 0, the goal is ``L < tol``; ``max_steps`` an int in
    [1, 100000]. Returns a :class:`Run` of ``max_steps`` updates.
    """
    lr, tol = positive(lr, "lr"), positive(tol, "tol")
    kappa = real(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1 (lambda_max / lambda_min), got {kappa!r}")
    L = quadratic(kappa, real(angle, "angle"))
    start = _start(start)
    max_steps = integer(max_steps, "max_steps", 1, 100_000)
    if not np.isfinite(_values(L, start[None])[0]):
        raise ValueError(f"start = {tuple(start.tolist())} lies so far out that L overflows "
                         f"float64 there; start closer to the minimum (0, 0)")
    return _run(optim.SGD(lr), L, start, max_steps, lambda v: v < tol)


def _window(start: np.ndarray) -> tuple:
    """A square window around the minimum holding ``start`` and the level f = 2 (kappa = 1)."""
    h = max(2.0, 1.15 * float(np.abs(start).max()))
    return (-h, h), (-h, h)


def _draw_descent(ax, L: Landscape, run: Run, start, arrows: bool, tol: float):
    window = _window(start)
    _contours(ax, L, window, 0.0)
    _path(ax, run, plot.PALETTE["blue"], None)
    if arrows:  # the downhill direction at the first iterates: across the contours
        P = run.path[np.all(np.isfinite(run.path), axis=1)][:10]
        P = P[np.all(np.abs(P) <= window[0][1], axis=1)]
        G = -np.array([_safe_grad(L)(p) for p in P])
        G *= 0.25 * window[0][1] / np.maximum(np.linalg.norm(G, axis=1, keepdims=True), 1e-300)
        ax.quiver(P[:, 0], P[:, 1], G[:, 0], G[:, 1], angles="xy", scale_units="xy", scale=1,
                  color=plot.PALETTE["vermillion"], width=0.006)
    ax.plot(*start, "s", color=plot.PALETTE["black"], ms=5)
    ax.plot(0, 0, "*", color=plot.PALETTE["black"], ms=9)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    goal = f"L < {_num(tol)}"
    ax.set_title(f"η = {run.lr:.3g}\n{_outcome(run, goal)}", fontsize=9)


def draw_descent(ax, lr: float = 0.1, kappa: float = 10.0, angle: float = 0.0,
                 start=(1.0, 1.0), arrows: bool = False, tol: float = 1e-10,
                 max_steps: int = 1500):
    """One panel of :func:`descent_explorer`: contours of the bowl and the GD path.

    The start is a square, the minimum a star; ``arrows`` (a bool) adds the
    downhill direction ``-grad L`` at the first 10 iterates (normalised).
    The title gives ``lr`` and the outcome: the steps to ``L < tol``,
    "diverges", or the loss after ``max_steps``. Other arguments as in
    :func:`descent_run`. Returns ``ax``.
    """
    plot._axes(ax)
    arrows = plot._flag(arrows, "arrows")
    run = descent_run(lr, kappa, angle, start, tol, max_steps)
    _draw_descent(ax, quadratic(kappa, angle), run, _start(start), arrows, tol)
    return ax


def _descent_losses(ax, runs: Sequence[Run], tol: float, kappa: float) -> None:
    colors = [plot.PALETTE[c] for c in ("blue", "green", "orange", "vermillion", "purple")]
    curves = {f"η = {r.lr:.3g}" + (" (diverges)" if r.diverged else ""):
              (r, colors[i % len(colors)]) for i, r in enumerate(runs)}
    _loss_curves(ax, curves, tol, log=True)
    ax.set_ylabel("loss L")
    ax.set_title(f"1/λmax = {1 / kappa:.3g}, 2/λmax = {2 / kappa:.3g}", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper right")


def draw_descent_losses(ax, lrs=(0.01, 0.1, 0.19, 0.21), kappa: float = 10.0,
                        angle: float = 0.0, start=(1.0, 1.0), tol: float = 1e-10,
                        max_steps: int = 1500):
    """The loss curves of :func:`descent_explorer`: ``L`` per step (log scale) for
    every learning rate in ``lrs`` (a non-empty sequence of numbers > 0), each
    until it meets ``L < tol`` (dashed line) or grows a millionfold; the title
    gives the thresholds ``1/lambda_max`` and ``2/lambda_max``. Other
    arguments as in :func:`descent_run`. Returns ``ax``.
    """
    plot._axes(ax)
    lrs = float_array(lrs, "lrs", ndim=(1,))
    if np.any(lrs <= 0):
        raise ValueError(f"lrs must all be > 0, got smallest {float(lrs.min())!r}")
    runs = [descent_run(lr, kappa, angle, start, tol, max_steps) for lr in lrs]
    _descent_losses(ax, runs, positive(tol, "tol"), real(kappa, "kappa"))
    return ax


#: The learning rates of :func:`descent_explorer`'s static form (on diag(1, 10)).
DESCENT_LRS = (0.01, 0.1, 0.19, 0.21)


def descent_explorer(tol: float = 1e-10, max_steps: int = 1500):
    """Explorer: gradient descent on a quadratic bowl (chapter 04).

    Live: sliders for ``log10_lr`` (-3 to 0.5), the condition number ``kappa``
    (1 to 100), the rotation ``angle`` of the bowl (degrees), the start
    ``x0``, ``y0``, and an ``arrows`` checkbox; left the contours and the path
    (:func:`draw_descent`), right the loss curve with the thresholds
    ``1/lambda_max`` and ``2/lambda_max`` in its title. Static form, 1 x 5:
    diag(1, 10) from (1, 1) at ``lr = 0.01, 0.1, 0.19, 0.21``, then their
    loss curves. ``tol`` > 0: the goal ``L < tol`` whose step count the titles
    give; ``max_steps``: an int in [1, 100000], the length of every run.
    """
    tol = positive(tol, "tol")
    max_steps = integer(max_steps, "max_steps", 1, 100_000)
    if mode() == "static":
        L, start = quadratic(10.0), np.array([1.0, 1.0])
        runs = [descent_run(lr, 10.0, 0.0, start, tol, max_steps) for lr in DESCENT_LRS]
        fig, axes = plot.subplots(1, 5, panel=(2.4, 2.6))
        for ax, run in zip(axes[:4], runs):
            _draw_descent(ax, L, run, start, False, tol)
        _descent_losses(axes[4], runs, tol, 10.0)
        fig.suptitle("gradient descent on L = ½(x² + 10 y²) from (1, 1)", fontsize=10)
        plt.close(fig)
        return fig

    def draw_both(axes, log10_lr, kappa, angle, x0, y0, arrows):
        lr, start = 10.0**log10_lr, np.array([x0, y0])
        run = descent_run(lr, kappa, angle, start, tol, max_steps)
        _draw_descent(axes[0], quadratic(kappa, angle), run, start, arrows, tol)
        _descent_losses(axes[1], [run], tol, kappa)
        side = "<" if lr < 2 / kappa else ">" if lr > 2 / kappa else "="
        axes[1].set_title(f"η = {lr:.3g} {side} 2/λmax = {2 / kappa:.3g}  (1/λmax = "
                          f"{1 / kappa:.3g})", fontsize=9)

    controls = {"log10_lr": (-3.0, 0.5, 0.01), "kappa": (1.0, 100.0, 1.0),
                "angle": (-90.0, 90.0, 5.0), "x0": (-2.0, 2.0, 0.1), "y0": (-2.0, 2.0, 0.1),
                "arrows": False}
    first = dict(log10_lr=-1.0, kappa=10.0, angle=0.0, x0=1.0, y0=1.0, arrows=False)
    return live_panels(draw_both, _start_at(controls, first), ncols=2, panel=(4.2, 3.6))


# --- chapter 05: the optimizer race ------------------------------------------------------------


#: The optimizers of :func:`optimizer_race`, in drawing order.
RACE_OPTIMIZERS = ("GD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam")
#: The surfaces of :func:`optimizer_race`.
RACE_SURFACES = ("bowl", "Beale", "saddle", "Rosenbrock")
#: The condition number of the race's bowl, chapter 05's ``1/2 (x^2 + 50 y^2)``.
RACE_KAPPA = 50.0

_COLORS = dict(zip(RACE_OPTIMIZERS, (plot.PALETTE[c] for c in (
    "black", "blue", "sky", "green", "orange", "vermillion"))))

# Start point and tuned learning rates (scale 1) per surface, in RACE_OPTIMIZERS order.
# Bowl: chapter 05's E1 (GD, momentum, Nesterov 1/50, AdaGrad 5, Adam 0.3) and the best
# RMSProp rate on a grid. Beale and Rosenbrock: the best of a grid per optimizer. Saddle:
# one rate for all, so the escape times compare the methods, not the rates.
_RACE = {
    "bowl": ((-10.0, 1.0), (0.02, 0.02, 0.02, 5.0, 0.1, 0.3)),
    "Beale": ((1.0, 1.5), (0.03, 0.003, 0.003, 1.0, 0.01, 0.3)),
    "saddle": ((1.0, 1e-3), (0.03,) * 6),
    "Rosenbrock": ((-1.2, 1.0), (0.002, 0.002, 0.001, 0.3, 0.01, 0.3)),
}


def _surface(surface: str, angle: float) -> tuple[Landscape, str]:
    if surface == "bowl":
        return quadratic(RACE_KAPPA, angle), f"bowl ½(x² + 50 y²) rotated {angle:g}°"
    if surface == "Beale":
        return beale(), "Beale"
    if surface == "saddle":
        return saddle("quadratic"), "saddle ½(x² − y²)"
    return rosenbrock(), "Rosenbrock"


def _goal(surface: str, tol: float):
    """(predicate on f, its text, the line drawn in the loss panel)."""
    if surface == "saddle":
        return (lambda v: v < -1.0), "f < −1 (escaped)", -1.0
    return (lambda v: v < tol), f"f < {_num(tol)}", tol


def _unit(x, name: str) -> float:
    x = real(x, name)
    if not 0 <= x < 1:
        raise ValueError(f"{name} must be in [0, 1), got {x!r}")
    return x


def _names(optimizers) -> tuple[str, ...]:
    if isinstance(optimizers, str):
        optimizers = (optimizers,)
    if not isinstance(optimizers, Sequence):
        raise TypeError(f"optimizers must be a sequence of names from {RACE_OPTIMIZERS}, got "
                        f"{type(optimizers).__name__}")
    names = tuple(choice(o, "optimizers", RACE_OPTIMIZERS) for o in optimizers)
    return tuple(o for o in RACE_OPTIMIZERS if o in names)


def _optimizer(name: str, lr: float, mu: float, rho: float, beta1: float, beta2: float,
               bias_correction: bool) -> optim.Optimizer:
    if name == "GD" or (name in ("momentum", "Nesterov") and mu == 0):  # mu = 0 is GD
        return optim.SGD(lr)
    if name == "momentum":
        return optim.SGD(lr, momentum=mu)
    if name == "Nesterov":
        return optim.SGD(lr, momentum=mu, nesterov=True)
    if name == "AdaGrad":
        return optim.AdaGrad(lr)
    if name == "RMSProp":
        return optim.RMSProp(lr, alpha=rho)
    return optim.Adam(lr, betas=(beta1, beta2), bias_correction=bias_correction)


def race_runs(surface: str = "bowl", angle: float = 0.0, optimizers=RACE_OPTIMIZERS,
              lr_scale: float = 1.0, mu: float = 0.9, rho: float = 0.99, beta1: float = 0.9,
              beta2: float = 0.999, bias_correction: bool = True, steps: int = 1000,
              tol: float = 1e-6) -> dict:
    """Run the chosen optimizers of the race on one surface; ``{name: Run}``.

    ``surface``: one of :data:`RACE_SURFACES` (the bowl has ``kappa = 50``
    and its shallow eigenvector at ``angle`` degrees, which the other
    surfaces ignore). ``optimizers``: names from :data:`RACE_OPTIMIZERS` (a
    sequence, possibly empty, or one name). Each optimizer starts from the
    surface's start point at its tuned learning rate times ``lr_scale`` (> 0):
    GD is ``SGD(lr)``, momentum and Nesterov ``SGD(lr, momentum=mu)`` (with
    ``nesterov=True``; ``mu = 0`` makes both GD), AdaGrad ``AdaGrad(lr)``,
    RMSProp ``RMSProp(lr, alpha=rho)``, Adam ``Adam(lr, betas=(beta1, beta2),
    bias_correction=bias_correction)``; ``mu``, ``rho``, ``beta1``, ``beta2``
    in [0, 1). ``steps``: an int in [1, 20000], the updates of every run. The
    goal is ``f < tol`` (``tol`` > 0; all minima are 0), on the saddle
    ``f < -1`` (escaped).
    """
    surface = choice(surface, "surface", RACE_SURFACES)
    angle = real(angle, "angle")
    names = _names(optimizers)
    lr_scale = positive(lr_scale, "lr_scale")
    mu, rho = _unit(mu, "mu"), _unit(rho, "rho")
    beta1, beta2 = _unit(beta1, "beta1"), _unit(beta2, "beta2")
    bias_correction = plot._flag(bias_correction, "bias_correction")
    steps = integer(steps, "steps", 1, 20_000)
    tol = positive(tol, "tol")
    L, _ = _surface(surface, angle)
    start, lrs = _RACE[surface]
    goal = _goal(surface, tol)[0]
    tuned = dict(zip(RACE_OPTIMIZERS, lrs))
    return {n: _run(_optimizer(n, tuned[n] * lr_scale, mu, rho, beta1, beta2,
                               bias_correction), L, start, steps, goal) for n in names}


def _race_window(L: Landscape, surface: str, runs: dict) -> tuple:
    """The surface's window, widened to the start and to the iterates that stay near it."""
    start = np.array(_RACE[surface][0])
    box = np.array(L.bounds) if surface != "bowl" else np.array([[-2.0, 2.0], [-2.0, 2.0]])
    box = np.column_stack([np.minimum(box[:, 0], start), np.maximum(box[:, 1], start)])
    center, half = box.mean(axis=1), (box[:, 1] - box[:, 0]) / 2
    lo, hi = box[:, 0].copy(), box[:, 1].copy()
    for run in runs.values():
        P = run.path[np.all(np.abs(run.path - center) <= 3 * half, axis=1)]
        if len(P):
            lo, hi = np.minimum(lo, P.min(axis=0)), np.maximum(hi, P.max(axis=0))
    pad = 0.05 * (hi - lo)
    return tuple(zip(lo - pad, hi + pad))


def _draw_race_paths(ax, L: Landscape, surface: str, runs: dict, every: int, legend: bool,
                     goal: str) -> None:
    _contours(ax, L, _race_window(L, surface, runs), None if surface == "saddle" else 0.0)
    for name, run in runs.items():
        _path(ax, run, _COLORS[name], f"{name} (η {run.lr:.3g}): {_outcome(run, goal, True)}",
              every)
    ax.plot(*_RACE[surface][0], "s", color=plot.PALETTE["black"], ms=5)
    for m in L.minimizers:
        ax.plot(*m, "*", color=plot.PALETTE["black"], ms=10)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if legend and runs:
        ax.legend(fontsize=6.5, loc="best")


def _draw_race_losses(ax, surface: str, runs: dict, goal_value: float) -> None:
    curves = {name: (run, _COLORS[name]) for name, run in runs.items()}
    if curves:
        _loss_curves(ax, curves, goal_value, log=surface != "saddle")
    if surface == "saddle":
        ax.set_ylim(-3.0, 1.0)
    ax.set_ylabel("f")


def _race_title(runs: dict, goal: str) -> str:
    if len(runs) > 2:
        return f"updates until {goal}: see legend"
    return " · ".join(f"{n} {_outcome(r, goal, True)}" for n, r in runs.items())


def draw_race(ax, surface: str = "bowl", angle: float = 0.0, optimizers=RACE_OPTIMIZERS,
              lr_scale: float = 1.0, mu: float = 0.9, rho: float = 0.99, beta1: float = 0.9,
              beta2: float = 0.999, bias_correction: bool = True, steps: int = 1000,
              every: int = 1, tol: float = 1e-6, legend: bool = True):
    """One race panel: contours of the surface and every optimizer's path.

    Arguments as in :func:`race_runs`; ``every`` (an int >= 1) draws every
    ``every``-th iterate; ``legend`` (a bool) adds a legend with each
    optimizer's learning rate and its updates until the goal (">n": not met,
    "diverged"). With one or two optimizers the title gives the same counts,
    e.g. ``"GD 439 · AdaGrad 16"``. Returns ``ax``.
    """
    plot._axes(ax)
    every = integer(every, "every", 1)
    legend = plot._flag(legend, "legend")
    runs = race_runs(surface, angle, optimizers, lr_scale, mu, rho, beta1, beta2,
                     bias_correction, steps, tol)
    L, _ = _surface(surface, real(angle, "angle"))
    goal = _goal(surface, tol)[1]
    _draw_race_paths(ax, L, surface, runs, every, legend, goal)
    ax.set_title(_race_title(runs, goal), fontsize=9)
    return ax


#: The pairs of :func:`optimizer_race`'s static columns: a rotation-invariant method
#: above a per-coordinate one.
RACE_PAIRS = (("GD", "AdaGrad"), ("momentum", "Adam"), ("Nesterov", "RMSProp"))


def optimizer_race(tol: float = 1e-6, steps: int = 1000):
    """Explorer: GD, momentum, Nesterov, AdaGrad, RMSProp and Adam race (chapter 05).

    Live: a ``surface`` menu (:data:`RACE_SURFACES`), the bowl's ``angle``, a
    checkbox per optimizer, ``log10_lr_scale`` (0: every optimizer at its
    tuned rate; 1: ten times it), ``mu``, ``rho``, ``beta1``, ``beta2``,
    ``bias_correction``, ``steps`` and ``every`` (plot every k-th iterate);
    left the paths (:func:`draw_race`), right ``f`` per step. Static form,
    2 x 3: on the bowl ``1/2 (x^2 + 50 y^2)`` from (-10, 1), axis-aligned (top)
    and rotated by 45 degrees (bottom), each column a pair of
    :data:`RACE_PAIRS` at the same tuned rates in both rows, the updates
    until ``f < tol`` in the titles. ``tol`` > 0; ``steps``: an int in
    [1, 20000], the length of every run (the live slider's start).
    """
    tol = positive(tol, "tol")
    steps = integer(steps, "steps", 1, 20_000)
    if mode() == "static":
        goal = _goal("bowl", tol)[1]
        fig, axes = plot.subplots(2, 3, panel=(3.2, 2.7))
        for row, angle in enumerate((0.0, 45.0)):
            L, _ = _surface("bowl", angle)
            for col, pair in enumerate(RACE_PAIRS):
                ax = axes[row, col]
                runs = race_runs("bowl", angle, pair, steps=steps, tol=tol)
                _draw_race_paths(ax, L, "bowl", runs, 1, False, goal)
                ax.set_title(_race_title(runs, goal), fontsize=9)
                ax.set_ylabel(("axis-aligned" if angle == 0 else f"rotated {angle:g}°") + ": y")
        handles = [plt.Line2D([], [], color=_COLORS[n], marker="o", ms=3, label=n)
                   for n in RACE_OPTIMIZERS]
        fig.legend(handles=handles, loc="outside lower center", ncol=6, fontsize=8)
        fig.suptitle(f"½(x² + 50 y²) from (−10, 1): updates until {goal}, the same η per "
                     f"optimizer in both rows", fontsize=10)
        plt.close(fig)
        return fig

    def draw_both(axes, surface, angle, GD, momentum, Nesterov, AdaGrad, RMSProp, Adam,
                  log10_lr_scale, mu, rho, beta1, beta2, bias_correction, steps, every):
        ticked = dict(GD=GD, momentum=momentum, Nesterov=Nesterov, AdaGrad=AdaGrad,
                      RMSProp=RMSProp, Adam=Adam)
        names = [n for n in RACE_OPTIMIZERS if ticked[n]]
        runs = race_runs(surface, angle, names, 10.0**log10_lr_scale, mu, rho, beta1, beta2,
                         bias_correction, steps, tol)
        L, label = _surface(surface, angle)
        _, goal, line = _goal(surface, tol)
        _draw_race_paths(axes[0], L, surface, runs, every, True, goal)
        axes[0].set_title(label if runs else f"{label}: tick an optimizer", fontsize=9)
        _draw_race_losses(axes[1], surface, runs, line)
        axes[1].set_title(f"updates until {goal} (legend)", fontsize=9)

    controls = {"surface": list(RACE_SURFACES), "angle": (-90.0, 90.0, 5.0),
                **{n: True for n in RACE_OPTIMIZERS},
                "log10_lr_scale": (-2.0, 1.0, 0.1), "mu": (0.0, 0.99, 0.01),
                "rho": (0.0, 0.999, 0.001), "beta1": (0.0, 0.99, 0.01),
                "beta2": (0.9, 0.9999, 0.0001), "bias_correction": True,
                "steps": (1, max(3000, steps), 1), "every": (1, 20, 1)}
    first = dict(surface="bowl", angle=0.0, **{n: True for n in RACE_OPTIMIZERS},
                 log10_lr_scale=0.0, mu=0.9, rho=0.99, beta1=0.9, beta2=0.999,
                 bias_correction=True, steps=steps, every=1)
    controls = _start_at(controls, first)
    for name, fmt in (("rho", ".3f"), ("beta2", ".4f")):
        controls[name].readout_format = fmt
    return live_panels(draw_both, controls, ncols=2, panel=(4.6, 3.6))
