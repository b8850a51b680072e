"""Explorers of chapter 06: the activation functions with their derivatives and where
they saturate, and two hidden units learning XOR.

An activation ``f`` *saturates* where its derivative is tiny: a unit whose
pre-activation lands there passes almost no gradient back
(``dL/ds = f'(s) dL/dh``). :func:`activation_explorer` draws ``f`` and ``f'``
and shades where ``|f'(a)| < threshold``; for pre-activations
``s ~ N(0, tau^2)`` it also gives the fraction of units that are saturated,
the Gaussian mass of the shaded set, computed exactly from its end points (not
by sampling). Every ``f`` and ``f'`` is the package's own, from
:mod:`dlnotes.layers`.

:func:`xor_explorer` trains a network with two hidden units on XOR points (the
four corners of the unit square, with noise) by full-batch Adam and shows, at
any training step, the hidden units' lines ``s_i = 0`` in the input plane over
the network's decision regions, and the examples in the plane of the hidden
activations ``(h_1, h_2)``, where the output layer draws one straight line.

``seed`` means what it means everywhere in dlnotes: an int >= 0 gives the same
data and initial weights every time, ``None`` fresh ones.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize, special

from dlnotes import plot
from dlnotes._checks import choice, integer, positive, real, rng
from dlnotes.widgets.core import _start_at, live_panels, mode

#: The activations :func:`activation_explorer` offers, in the order of its static grid
#: (the names of :data:`dlnotes.layers.ACTIVATIONS` without the identity).
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "silu")

#: Thresholds on ``|f'|`` offered by the explorer's menu.
SATURATION_THRESHOLDS = (0.1, 0.01, 0.001, 0.0001)

_SEARCH = 60.0  # beyond |a| = 60 every derivative here has reached its limit to 1e-20
_HIST_SAMPLES = 100_000


def _seed(seed) -> int:
    """``seed`` checked (an int >= 0 or None), with None replaced by a fresh int."""
    return int(rng(None).integers(2**31)) if seed is None else integer(seed, "seed", 0)


def _activation(name: str):
    from dlnotes import layers

    return layers.ACTIVATIONS[choice(name, "name", ACTIVATION_NAMES)]


def _extra(name: str, negative_slope, alpha) -> dict:
    """The keyword arguments of ``f``/``df`` for ``name``: checked, and only those it takes."""
    negative_slope = real(negative_slope, "negative_slope")
    if not 0 <= negative_slope < 1:
        raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope!r}")
    alpha = positive(alpha, "alpha")
    return {"leaky_relu": {"negative_slope": negative_slope},
            "elu": {"alpha": alpha}}.get(name, {})


def _threshold(threshold) -> float:
    t = positive(threshold, "threshold")
    if t >= 1:
        raise ValueError(f"threshold must be in (0, 1) (a bound on |f'|), got {t!r}")
    return t


def _grid() -> np.ndarray:
    """Where |f'| - threshold is sampled: dense near 0, coarser out to +-60."""
    inner = np.linspace(-12.0, 12.0, 120_001)
    outer = np.linspace(12.0, _SEARCH, 3_801)[1:]
    return np.concatenate([-outer[::-1], inner, outer])


def saturated_intervals(name: str, threshold: float = 0.01, *, negative_slope: float = 0.01,
                        alpha: float = 1.0) -> list[tuple[float, float]]:
    """The set where ``|f'(a)| < threshold``, as a sorted list of disjoint intervals
    ``(lo, hi)`` (``-inf`` or ``inf`` at an end that extends forever).

    ``f'`` is ``dlnotes.layers.ACTIVATIONS[name].df``. The end points are the
    roots of ``|f'| - threshold`` (Brent's method, to about 1e-12), found
    between samples 2e-4 apart on [-12, 12] and 0.01 apart out to +-60; each
    zero crossing of ``f'`` (where ``|f'|`` dips to 0, however narrowly) is
    located and kept. An end point within 1e-9 of 0, where the ReLU-like
    activations jump in ``f'``, is 0 itself. ``name``: one of
    :data:`ACTIVATION_NAMES`; ``threshold`` in (0, 1); ``negative_slope`` in
    [0, 1) (leaky ReLU); ``alpha`` > 0 (ELU).
    """
    act = _activation(name)
    kw = _extra(name, negative_slope, alpha)
    thr = _threshold(threshold)
    df = functools.partial(act.df, **kw)
    a = _grid()
    d = np.asarray(df(a))
    # zero crossings of f' itself: |f'| < thr there, even if no sample shows it
    flips = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    roots = [optimize.brentq(lambda x: float(df(np.array([x]))[0]), a[i], a[i + 1], xtol=1e-14)
             for i in flips]
    pts = np.sort(np.concatenate([a, roots]))
    inside = np.abs(np.asarray(df(pts))) - thr < 0
    g = lambda x: float(np.abs(df(np.array([x])))[0]) - thr
    intervals, start = [], (-np.inf if inside[0] else None)
    for i in np.flatnonzero(inside[:-1] != inside[1:]):
        edge = float(optimize.brentq(g, pts[i], pts[i + 1], xtol=1e-13))
        edge = 0.0 if abs(edge) < 1e-9 else edge  # the kink of ReLU-like activations is at 0
        if inside[i]:  # leaving the saturated set
            intervals.append((float(start), edge))
        else:
            start = edge
    if inside[-1]:
        intervals.append((float(start), np.inf))
    return intervals


def activation_numbers(name: str, threshold: float = 0.01, tau: float = 3.0, *,
                       negative_slope: float = 0.01, alpha: float = 1.0, lim: float = 6.0,
                       n: int = 601) -> dict:
    """The numbers one panel of :func:`activation_explorer` shows.

    ``a``: ``n`` points on ``[-lim, lim]``; ``f``, ``df``: the activation and
    its derivative there (:mod:`dlnotes.layers`); ``intervals``: where
    ``|f'| < threshold`` (:func:`saturated_intervals`); ``fraction``: the
    probability that ``s ~ N(0, tau^2)`` lies there, the fraction of saturated
    units, ``sum Phi(hi / tau) - Phi(lo / tau)``; ``f0``, ``df0``: ``f(0)`` and
    ``f'(0)`` (at a kink, the left-sided value, as torch). ``tau`` > 0;
    ``lim`` > 0; ``n`` an int >= 2; the other arguments as in
    :func:`saturated_intervals`.
    """
    act = _activation(name)
    kw = _extra(name, negative_slope, alpha)
    tau, lim = positive(tau, "tau"), positive(lim, "lim")
    n = integer(n, "n", 2)
    intervals = saturated_intervals(name, threshold, negative_slope=negative_slope, alpha=alpha)
    fraction = float(sum(special.ndtr(hi / tau) - special.ndtr(lo / tau) for lo, hi in intervals))
    a = np.linspace(-lim, lim, n)
    zero = np.zeros(1)
    return {"a": a, "f": np.asarray(act.f(a, **kw)), "df": np.asarray(act.df(a, **kw)),
            "intervals": intervals, "fraction": fraction,
            "f0": float(act.f(zero, **kw)[0]), "df0": float(act.df(zero, **kw)[0])}


def _label(name: str, kw: dict) -> str:
    extra = ", ".join(f"{k.replace('negative_slope', 'slope')} {v:g}" for k, v in kw.items())
    return name + (f" ({extra})" if extra else "")


def draw_activation(ax, name: str = "tanh", threshold: float = 0.01, tau: float = 3.0, *,
                    negative_slope: float = 0.01, alpha: float = 1.0, lim: float = 6.0):
    """One panel of :func:`activation_explorer`: ``f`` (solid) and ``f'`` (dashed) on
    ``[-lim, lim]``, the saturated set ``|f'| < threshold`` shaded, and a box with
    ``f(0)``, ``f'(0)`` and the saturated fraction under ``N(0, tau^2)``. Arguments
    as in :func:`activation_numbers`. Returns ``ax``."""
    plot._axes(ax)
    nums = activation_numbers(name, threshold, tau, negative_slope=negative_slope, alpha=alpha,
                              lim=lim)
    kw = _extra(name, negative_slope, alpha)
    for lo, hi in nums["intervals"]:
        lo, hi = max(lo, -lim), min(hi, lim)
        if lo < hi:
            ax.axvspan(lo, hi, color="#bbbbbb", alpha=0.45, lw=0)
    ax.plot(nums["a"], nums["f"], color=plot.PALETTE["blue"], label="f(a)")
    ax.plot(nums["a"], nums["df"], "--", color=plot.PALETTE["vermillion"], label="f'(a)")
    ax.axhline(0, color="#555555", lw=0.6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-1.3, 2.5)
    ax.set_xlabel("a")
    ax.set_title(_label(name, kw), fontsize=10)
    ax.text(0.03, 0.97, f"f(0) = {nums['f0']:.3g}, f'(0) = {nums['df0']:.3g}\n"
            f"|f'| < {threshold:g}: {100 * nums['fraction']:.1f}%\nof N(0, {tau:g}²)",
            transform=ax.transAxes, va="top", fontsize=7,
            bbox=dict(facecolor="white", edgecolor="#999999", alpha=0.9))
    return ax


def draw_activation_histogram(ax, name: str = "tanh", threshold: float = 0.01,
                              tau: float = 3.0, *, negative_slope: float = 0.01,
                              alpha: float = 1.0, seed: int = 0):
    """Histogram of ``f(s)`` for 100,000 draws ``s ~ N(0, tau^2)`` (80 bins; ``seed`` an
    int >= 0 or None), the live explorer's second panel; the title gives the exact saturated
    fraction. Returns ``ax``."""
    plot._axes(ax)
    act = _activation(name)
    kw = _extra(name, negative_slope, alpha)
    nums = activation_numbers(name, threshold, tau, negative_slope=negative_slope, alpha=alpha)
    s = tau * np.random.default_rng(_seed(seed)).standard_normal(_HIST_SAMPLES)
    ax.hist(np.asarray(act.f(s, **kw)), bins=80, color=plot.PALETTE["sky"])
    ax.set_xlabel("f(s), s ~ N(0, τ²)")
    ax.set_title(f"τ = {tau:g}: {100 * nums['fraction']:.1f}% with |f'(s)| < {threshold:g}",
                 fontsize=9)
    return ax


def activation_explorer(name: str = "tanh", threshold: float = 0.01, tau: float = 3.0):
    """Explorer: an activation, its derivative, and where it saturates.

    Live: a menu of :data:`ACTIVATION_NAMES`, a menu of thresholds
    (:data:`SATURATION_THRESHOLDS`), sliders for ``tau`` (the spread of the
    pre-activations, [0.5, 10]), the leaky ReLU's ``negative_slope`` ([0, 0.3])
    and the ELU's ``alpha`` ([0.1, 2]); left, :func:`draw_activation`; right,
    :func:`draw_activation_histogram`. Static form: the whole family side by
    side, a 2 x 4 grid of :func:`draw_activation` panels at ``threshold`` and
    ``tau`` (default parameters). ``name``: where the live menu starts (one of
    :data:`ACTIVATION_NAMES`); ``threshold``: one of
    :data:`SATURATION_THRESHOLDS`; ``tau`` in [0.5, 10].
    """
    name = choice(name, "name", ACTIVATION_NAMES)
    threshold = _threshold(threshold)
    if threshold not in SATURATION_THRESHOLDS:
        raise ValueError(f"threshold must be one of the menu's {SATURATION_THRESHOLDS}, got "
                         f"{threshold!r}")
    tau = positive(tau, "tau")
    if not 0.5 <= tau <= 10:
        raise ValueError(f"tau must be in [0.5, 10] (the slider's range), got {tau!r}")
    if mode() == "static":
        fig, axes = plot.subplots(2, 4, panel=(2.4, 2.2), sharey=True)
        try:
            for ax, act in zip(axes.flat, ACTIVATION_NAMES):
                draw_activation(ax, act, threshold, tau)
            axes[0, 2].legend(loc="lower right", fontsize=7)
        finally:
            plt.close(fig)
        return fig

    def draw_both(axes, name, threshold, tau, negative_slope, alpha):
        draw_activation(axes[0], name, threshold, tau, negative_slope=negative_slope,
                        alpha=alpha)
        axes[0].legend(loc="lower right", fontsize=7)
        draw_activation_histogram(axes[1], name, threshold, tau, negative_slope=negative_slope,
                                  alpha=alpha)

    controls = {"name": list(ACTIVATION_NAMES), "threshold": list(SATURATION_THRESHOLDS),
                "tau": (0.5, 10.0, 0.1), "negative_slope": (0.0, 0.3, 0.01),
                "alpha": (0.1, 2.0, 0.05)}
    start = dict(name=name, threshold=threshold, tau=tau, negative_slope=0.01, alpha=1.0)
    return live_panels(draw_both, _start_at(controls, start), ncols=2, panel=(4.2, 3.2))


# --- XOR: two hidden units learning a representation ------------------------------------------

#: Activations :func:`xor_explorer` offers.
XOR_ACTIVATIONS = ("tanh", "relu", "sigmoid")
#: The training steps shown side by side in the static form.
XOR_STATIC_STEPS = (0, 40, 100, 300)
#: The number of training steps of :func:`xor_training`.
XOR_STEPS = 300
_XOR_N, _XOR_NOISE, _XOR_LR = 80, 0.12, 0.05


@functools.lru_cache(maxsize=16)
def _xor_run(activation: str, seed: int) -> dict:
    from dlnotes import layers, optim
    from dlnotes.data import xor

    X0, y = xor(_XOR_N, noise=0.0, seed=seed)             # the class and quadrant of each point
    X = (np.sign(X0) + 1) / 2 + _XOR_NOISE * np.random.default_rng(seed).standard_normal(X0.shape)
    model = layers.mlp([2, 2, 2], activation, seed=seed,
                       init="he" if activation == "relu" else "xavier")
    loss_fn, opt = layers.SoftmaxCrossEntropy(), optim.Adam(_XOR_LR)
    params, losses_, accs = [], [], []
    for step in range(XOR_STEPS + 1):
        params.append([p.copy() for p in model.parameters()])
        Z = model(X)
        losses_.append(float(loss_fn(Z, y)))
        accs.append(float(np.mean(Z.argmax(axis=1) == y)))
        if step < XOR_STEPS:
            model.backward(loss_fn.backward())
            opt.step(model.parameters(), model.gradients())
    act = layers.ACTIVATIONS[activation]
    hidden = [np.asarray(act.f(X @ W1.T + b1)) for W1, b1, _, _ in params]
    return {"X": X, "y": y, "steps": np.arange(XOR_STEPS + 1), "params": params,
            "loss": np.array(losses_), "accuracy": np.array(accs), "hidden": hidden}


def xor_training(activation: str = "tanh", seed: int = 0) -> dict:
    """The training run behind :func:`xor_explorer`.

    80 XOR points: the corners of the unit square, 20 at each, class 1 at (0, 1)
    and (1, 0) (the quadrants of :func:`dlnotes.data.xor` moved to the corners),
    plus N(0, 0.12^2) noise per coordinate. The network
    ``layers.mlp([2, 2, 2], activation)`` (He initialisation for ReLU, Xavier
    otherwise; ``seed`` for both data and weights), trained by full-batch
    :class:`dlnotes.optim.Adam` (lr 0.05) on the mean softmax cross-entropy
    for :data:`XOR_STEPS` steps. Returns a dict: ``X (80, 2)``, ``y (80,)``;
    for every step ``t = 0, ..., XOR_STEPS`` (before the update of step t):
    ``steps``, ``params`` (copies ``[W1 (2, 2), b1 (2,), W2 (2, 2), b2 (2,)]``),
    ``loss`` and ``accuracy`` on the 80 points, and ``hidden``, the hidden
    activations ``f(X W1^T + b1)`` (80, 2). ``activation``: one of
    :data:`XOR_ACTIVATIONS`; ``seed``: an int >= 0, or None for fresh data and
    weights. The arrays are fresh copies: changing them changes nothing else.
    """
    activation = choice(activation, "activation", XOR_ACTIVATIONS)
    run = _xor_run(activation, _seed(seed))
    return {"X": run["X"].copy(), "y": run["y"].copy(), "steps": run["steps"].copy(),
            "params": [[p.copy() for p in ps] for ps in run["params"]],
            "loss": run["loss"].copy(), "accuracy": run["accuracy"].copy(),
            "hidden": [h.copy() for h in run["hidden"]]}


_UNIT_COLORS = ("green", "purple")
_HIDDEN_RANGE = {"tanh": (-1.15, 1.15), "sigmoid": (-0.1, 1.1)}
_LO, _HI = -0.75, 1.75


def draw_xor(ax_input, ax_hidden, activation: str = "tanh", step: int = XOR_STEPS,
             seed: int = 0):
    """One column of :func:`xor_explorer` at training step ``step`` (0 to
    :data:`XOR_STEPS`): ``ax_input`` gets the decision regions on
    [-0.75, 1.75]^2, the points, and each hidden unit's line ``s_i = 0`` with an
    arrow of length 0.4 along ``w_i`` (towards ``s_i > 0``) from the line's
    point nearest the origin; ``ax_hidden`` the points at their hidden
    activations ``(h_1, h_2)`` and the output layer's boundary
    ``(w_1 - w_0)^T h + b_1 - b_0 = 0``. Titles give the step, loss and
    accuracy. ``seed`` as in :func:`xor_training`. Returns the two axes."""
    plot._axes(ax_input, "ax_input")
    plot._axes(ax_hidden, "ax_hidden")
    activation = choice(activation, "activation", XOR_ACTIVATIONS)
    step = integer(step, "step", 0, XOR_STEPS)
    run = _xor_run(activation, _seed(seed))
    X, y = run["X"], run["y"]
    W1, b1, W2, b2 = run["params"][step]
    H = run["hidden"][step]
    colors = np.array([plot.PALETTE["blue"], plot.PALETTE["vermillion"]])
    from dlnotes import layers

    f = layers.ACTIVATIONS[activation].f
    g = np.linspace(_LO, _HI, 121)
    G1, G2 = np.meshgrid(g, g)
    grid = np.column_stack([G1.ravel(), G2.ravel()])
    pred = (np.asarray(f(grid @ W1.T + b1)) @ W2.T + b2).argmax(axis=1).reshape(G1.shape)
    ax_input.contourf(G1, G2, pred, levels=[-0.5, 0.5, 1.5],
                      colors=[plot.PALETTE["sky"], plot.PALETTE["orange"]], alpha=0.35)
    ax_input.scatter(X[:, 0], X[:, 1], s=9, c=colors[y], zorder=3)
    for i, cname in enumerate(_UNIT_COLORS):
        w, b = W1[i], b1[i]
        c = plot.PALETTE[cname]
        ax_input.contour(G1, G2, G1 * w[0] + G2 * w[1] + b, levels=[0], colors=[c],
                         linewidths=1.6)
        foot = -b * w / float(w @ w)
        if np.all((foot > _LO) & (foot < _HI)):
            arrow = 0.4 * w / np.linalg.norm(w)
            ax_input.annotate("", xy=tuple(foot + arrow), xytext=tuple(foot),
                              arrowprops=dict(arrowstyle="->", color=c, lw=1.4))
    ax_input.set_xlim(_LO, _HI)
    ax_input.set_ylim(_LO, _HI)
    ax_input.set_aspect("equal")
    ax_input.set_xlabel("x1")
    ax_input.set_ylabel("x2")
    ax_input.set_title(f"step {step}: loss {run['loss'][step]:.3f}, "
                       f"{100 * run['accuracy'][step]:.0f}%", fontsize=9)
    ax_hidden.scatter(H[:, 0], H[:, 1], s=9, c=colors[y], zorder=3)
    if activation == "relu":  # unbounded: follow the points
        lo = np.minimum(H.min(axis=0), 0.0) - 0.15
        hi = np.maximum(H.max(axis=0), 1.0) + 0.15
    else:  # the activation's range, the same at every step
        lo, hi = np.full(2, _HIDDEN_RANGE[activation][0]), np.full(2, _HIDDEN_RANGE[activation][1])
    h1, h2 = np.meshgrid(np.linspace(lo[0], hi[0], 121), np.linspace(lo[1], hi[1], 121))
    dw, db = W2[1] - W2[0], b2[1] - b2[0]
    ax_hidden.contour(h1, h2, dw[0] * h1 + dw[1] * h2 + db, levels=[0],
                      colors=[plot.PALETTE["black"]], linewidths=1.2)
    ax_hidden.set_xlim(lo[0], hi[0])
    ax_hidden.set_ylim(lo[1], hi[1])
    ax_hidden.set_xlabel("h1")
    ax_hidden.set_ylabel("h2")
    ax_hidden.set_title(f"hidden plane ({activation})", fontsize=9)
    return ax_input, ax_hidden


def xor_explorer(activation: str = "tanh", seed: int = 0):
    """Explorer: two hidden units learning XOR, step by step.

    Live: a slider for the training step (0 to :data:`XOR_STEPS`) and a menu
    of :data:`XOR_ACTIVATIONS`; left, the input plane, right, the hidden
    plane (:func:`draw_xor`); the hidden plane spans the activation's range
    (tanh, sigmoid) or follows the points (ReLU). Static form: the steps
    :data:`XOR_STATIC_STEPS` side by side, input plane on top and hidden plane
    below (2 x 4 panels). ``activation``: the static form's and the menu's
    start; ``seed``: an int >= 0 or None (data and initial weights,
    :func:`xor_training`).
    """
    activation = choice(activation, "activation", XOR_ACTIVATIONS)
    seed = _seed(seed)  # None: one fresh seed for every panel and every redraw
    if mode() == "static":
        fig, axes = plot.subplots(2, len(XOR_STATIC_STEPS), panel=(2.4, 2.4))
        try:
            for col, step in enumerate(XOR_STATIC_STEPS):
                draw_xor(axes[0, col], axes[1, col], activation, step, seed)
        finally:
            plt.close(fig)
        return fig

    def draw_both(axes, step, activation):
        draw_xor(axes[0], axes[1], activation, step, seed)

    controls = {"step": (0, XOR_STEPS, 1), "activation": list(XOR_ACTIVATIONS)}
    start = dict(step=XOR_STATIC_STEPS[1], activation=activation)
    return live_panels(draw_both, _start_at(controls, start), ncols=2, panel=(3.6, 3.4))
