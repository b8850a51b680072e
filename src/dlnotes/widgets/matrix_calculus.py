"""Explorers of chapter 02: derivative layouts, the slices of a third-order
tensor, the dimension-matching quiz, and the first-order approximation."""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlnotes import plot
from dlnotes._checks import choice, integer, positive, real
from dlnotes.widgets.core import explorer, mode


#: Maps offered by :func:`layout_explorer` (name shown in the dropdown).
DERIVATIVE_MAPS = ("W x", "tanh(A x)", "ReLU(x)", "softmax(z)", "z^T A x by A")


def derivative_of(name: str, m: int, n: int, layout: str = "numerator", seed: int = 0):
    """The derivative that :func:`layout_explorer` draws, from torch autograd.

    ``name`` is one of :data:`DERIVATIVE_MAPS`; ``W``/``A`` are ``(m, n)`` and
    inputs have length ``n`` (elementwise maps and softmax use ``n`` only).
    Returns a float64 NumPy matrix: the Jacobian (``layout="numerator"``, as
    ``torch.autograd.functional.jacobian`` returns it) or its transpose
    (``"denominator"``). For the scalar ``z^T A x`` the denominator layout is
    the gradient, shape of ``A``. ``m``, ``n``: ints >= 1; ``seed``: int >= 0
    (the same matrices every time) or None (fresh ones).
    """
    import torch
    from torch.autograd.functional import jacobian

    name = choice(name, "name", DERIVATIVE_MAPS)
    layout = choice(layout, "layout", ("numerator", "denominator"))
    m, n = integer(m, "m", 1), integer(n, "n", 1)
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(integer(seed, "seed", 0))
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
    plot._axes(ax)
    map = choice(map, "map", DERIVATIVE_MAPS)  # noqa: A001
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

    plot._axes(ax)
    W, x, z = _slice_example()
    k = integer(k, "k", 1, W.shape[0])
    view = choice(view, "view", ("slice", "sum"))
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


_CANDIDATE = re.compile(r"[GXW](\^T)? [GXW](\^T)?")


def _nonempty_list(value, name: str, expected: str) -> tuple:
    """``value`` as a non-empty tuple; a single string counts as a list of one."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{name} must be {expected}, got an empty one")
    return tuple(value)


def _candidates(candidates) -> tuple[str, ...]:
    """A non-empty list of products like ``"G^T X"`` (two of G, X, W, each maybe ^T)."""
    candidates = _nonempty_list(candidates, "candidates",
                                "a non-empty list of products like 'G^T X'")
    for c in candidates:
        if not isinstance(c, str) or not _CANDIDATE.fullmatch(c):
            raise ValueError(f"candidates must be products of two of G, X, W (each maybe "
                             f"followed by ^T), like 'G^T X', got {c!r}")
    return tuple(candidates)


def quiz_table(target: str, layout: str, square: bool, candidates=QUIZ_CANDIDATES):
    """Rows ``(candidate, result shape or None, shape_ok, rel_error or None, correct)``.

    ``target`` is ``"dL/dW"`` or ``"dL/dX"``; ``layout`` is ``"rows"``
    (``Z = X W^T``) or ``"columns"`` (``Z = W X``); ``square`` (a bool)
    chooses square shapes, where every candidate fits; ``candidates`` are
    products like ``"G^T X"``. The reference gradient is
    computed with :func:`dlnotes.gradcheck.numerical_grad` of ``L = <G, Z>``,
    whose upstream gradient is exactly ``G``. A candidate is correct when its
    shape fits and its relative error is below 1e-6.
    """
    from dlnotes.gradcheck import numerical_grad, rel_error

    target = choice(target, "target", ("dL/dW", "dL/dX"))
    layout = choice(layout, "layout", ("rows", "columns"))
    square = plot._flag(square, "square")
    candidates = _candidates(candidates)
    X, W, G, loss = _quiz_arrays(layout, square)
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
    ``targets``: one of ``"dL/dW"``, ``"dL/dX"`` or a non-empty list of them;
    ``layout``: ``"rows"`` or ``"columns"``.
    """
    targets = _nonempty_list(targets, "targets", "'dL/dW', 'dL/dX' or a non-empty list of them")
    targets = [choice(t, "targets", ("dL/dW", "dL/dX")) for t in targets]
    layout = choice(layout, "layout", ("rows", "columns"))

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
    ``t > 0`` and ``angle`` are finite reals; a ``t`` so large that ``f`` overflows
    is a ValueError.
    """
    plot._axes(ax)
    t, angle = positive(t, "t"), real(angle, "angle")
    x0 = np.array([0.5, 0.5])
    grad = np.array([2 * np.cos(2 * x0[0]) + 0.5 * x0[1], 2 * x0[1] + 0.5 * x0[0]])
    d = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    s = np.linspace(-0.25 * t, 1.25 * t, 201)
    f0 = _bowl(*x0)
    with np.errstate(over="ignore", invalid="ignore"):
        curve = _bowl(*(x0[:, None] + d[:, None] * s))
        exact, approx = _bowl(*(x0 + t * d)), f0 + t * (grad @ d)
    if not (np.all(np.isfinite(curve)) and np.isfinite(exact - approx)):
        raise ValueError(f"t = {t:g} is too large: f overflows float64 along the direction")
    ax.plot(s, curve, color=plot.PALETTE["blue"], label="f")
    ax.plot(s, f0 + s * (grad @ d), "--", color=plot.PALETTE["vermillion"],
            label="first-order")
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
