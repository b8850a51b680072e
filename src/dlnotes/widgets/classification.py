"""Explorer of chapter 03: the softmax, its loss and gradient, and its overflow.

The softmax of logits ``z`` at temperature ``T`` is ``p = softmax(u)`` with
``u = z / T``; the loss of the true class ``y`` is ``-log p_y = LSE(u) - u_y``
and its gradient with respect to ``u`` is ``p - e_y``. Moving every logit by
the same ``shift`` changes nothing mathematically (shift invariance), but the
*naive* formula ``exp(u) / sum exp(u)`` overflows once ``u`` passes about 88.7
in float32 (709.8 in float64) and then returns NaN, while the *stable* one of
:mod:`dlnotes.losses` (subtract the maximum first) is unaffected. The panels
show what each computation actually returns, NaN included.
"""

from __future__ import annotations

import numpy as np

from dlnotes import plot
from dlnotes._checks import choice, float_array, integer, positive, real
from dlnotes.widgets.core import _start_at, explorer

#: The computations :func:`draw_softmax` can show.
SOFTMAX_METHODS = ("stable", "naive", "naive vs stable")

# Slider ranges of :func:`softmax_explorer`.
_LOGIT_RANGE = (-10.0, 10.0)
_SHIFT_RANGE = (-1000.0, 1000.0)
_T_RANGE = (0.1, 10.0)


def softmax_numbers(logits, temperature: float = 1.0, true_class: int = 0, shift: float = 0.0,
                    method: str = "stable", float32: bool = False) -> dict:
    """The numbers one panel of :func:`softmax_explorer` shows.

    ``u = (logits + shift) / temperature`` in float32 or float64 (``float32``);
    ``method="stable"`` uses :func:`dlnotes.losses.softmax`,
    :func:`~dlnotes.losses.cross_entropy`, :func:`~dlnotes.losses.cross_entropy_grad`
    and :func:`~dlnotes.losses.logsumexp`; ``"naive"`` computes
    ``exp(u) / sum exp(u)``, ``-log p_y`` and ``log sum exp(u)`` as written,
    so they may be NaN or inf (no warning is emitted).

    ``logits``: finite, 1-D, ``K >= 2`` entries (list, array or tensor);
    ``temperature`` > 0; ``true_class`` an int in ``[0, K)``; ``shift`` a finite
    real; ``method`` ``"stable"`` or ``"naive"``; ``float32`` a bool.
    Returns a dict of NumPy values in the chosen dtype: ``u (K,)``,
    ``p (K,)``, ``loss`` (``-log p_y``), ``grad (K,)`` (``p - e_y``, the gradient
    of the loss with respect to ``u``), ``lse`` and ``max`` (of ``u``).
    """
    u, y, method = _tempered(logits, temperature, true_class, shift, method, float32,
                             ("stable", "naive"))
    if method == "stable":
        from dlnotes.losses import cross_entropy, cross_entropy_grad, logsumexp, softmax

        p = softmax(u)
        loss, grad, lse = cross_entropy(u, np.int64(y)), cross_entropy_grad(u, np.int64(y)), \
            logsumexp(u)
    else:
        with np.errstate(all="ignore"):  # the overflow is the lesson, shown as NaN / inf
            e = np.exp(u)
            total = e.sum()
            p = e / total
            loss, lse = -np.log(p[y]), np.log(total)
            grad = p - np.eye(u.size, dtype=u.dtype)[y]
    return {"u": u, "p": p, "loss": u.dtype.type(loss), "grad": grad,
            "lse": u.dtype.type(lse), "max": u.max()}


def _tempered(logits, temperature, true_class, shift, method, float32, methods):
    """Checked arguments and ``u = (logits + shift) / temperature`` in the chosen dtype."""
    z = float_array(logits, "logits", ndim=(1,))
    if z.size < 2:
        raise ValueError(f"logits must hold at least 2 classes, got {z.size}")
    T = positive(temperature, "temperature")
    y = integer(true_class, "true_class", 0, z.size - 1)
    shift = real(shift, "shift")
    method = choice(method, "method", methods)
    dtype = np.float32 if plot._flag(float32, "float32") else np.float64
    with np.errstate(all="ignore"):
        u = (z.astype(dtype) + dtype(shift)) / dtype(T)
    if not np.all(np.isfinite(u)):
        raise ValueError(f"(logits + shift) / temperature overflows {np.dtype(dtype).name} "
                         f"(max |logit| {np.abs(z).max():.3g}, shift {shift:g}, temperature "
                         f"{T:g}); choose smaller logits or shift, or a larger temperature")
    return u, y, method


def _fmt(v) -> str:
    return "NaN" if np.isnan(v) else f"{float(v):.4g}"


def draw_softmax(ax, logits=(2.0, 1.0, 0.1), temperature: float = 1.0, true_class: int = 0,
                 shift: float = 0.0, method: str = "stable", float32: bool = False):
    """One panel of :func:`softmax_explorer`: bars per class, numbers in a box.

    ``method="stable"`` or ``"naive"``: the probabilities ``p`` and the
    gradient ``p - e_y`` as two bars per class; the box gives ``-log p_y``,
    ``LSE(u)`` and ``max u``. ``method="naive vs stable"``: the naive and the
    stable ``p`` side by side (a NaN bar is drawn empty and labelled NaN) with
    both losses. The title names the temperature, shift and dtype, and says
    when the naive computation returned NaN. Arguments as in
    :func:`softmax_numbers` (``method`` may also be ``"naive vs stable"``).
    Returns ``ax``.
    """
    plot._axes(ax)
    u, y, method = _tempered(logits, temperature, true_class, shift, method, float32,
                             SOFTMAX_METHODS)
    args = dict(logits=logits, temperature=temperature, true_class=y, shift=shift,
                float32=float32)
    K, k = u.size, np.arange(u.size)
    dtype = "float32" if float32 else "float64"
    setting = f"T = {temperature:g}" + (f", shift {shift:g}" if shift else "") + f" ({dtype})"
    if method == "naive vs stable":
        naive = softmax_numbers(method="naive", **args)
        stable = softmax_numbers(method="stable", **args)
        _bars(ax, k - 0.2, naive["p"], "naive p", plot.PALETTE["orange"], hatch="//")
        _bars(ax, k + 0.2, stable["p"], "stable p", plot.PALETTE["blue"])
        box = (f"−log p_y: naive {_fmt(naive['loss'])}, stable {_fmt(stable['loss'])}\n"
               f"LSE(u) = {_fmt(stable['lse'])}, max u = {_fmt(stable['max'])}")
        if np.isnan(naive["p"]).any():
            verdict = "naive p is NaN"
        else:
            gap = float(np.abs(naive["p"] - stable["p"]).max())
            ok = gap <= 8 * np.finfo(u.dtype).eps
            verdict = "naive = stable" if ok else f"naive off by {gap:.1e}"
        title = f"shift {shift:g} ({dtype}): {verdict}"
    else:
        n = softmax_numbers(method=method, **args)
        _bars(ax, k - 0.2, n["p"], "p", plot.PALETTE["blue"])
        _bars(ax, k + 0.2, n["grad"], "p − e_y", plot.PALETTE["vermillion"])
        box = (f"−log p_y = {_fmt(n['loss'])}\n"
               f"LSE(u) = {_fmt(n['lse'])}, max u = {_fmt(n['max'])}")
        broken = np.isnan(n["p"]).any()
        title = f"{method}, {setting}" + (": p is NaN" if broken else "")
    ax.axhline(0, color="#555555", lw=0.8)
    ax.set_ylim(-1.1, 1.75)
    ax.set_xlim(-0.6, K - 0.4)  # NaN bars do not count for autoscaling
    ax.set_xticks(k, [f"{j}" + (" (y)" if j == y else "") for j in range(K)])
    ax.set_xlabel("class")
    ax.text(0.02, 0.97, box, transform=ax.transAxes, va="top", fontsize=7.5,
            bbox=dict(facecolor="white", edgecolor="#999999", alpha=0.9))
    ax.legend(loc="upper right", fontsize=7, bbox_to_anchor=(1.0, 0.8))
    ax.set_title(title, fontsize=9.5)
    return ax


def _bars(ax, x, heights, label, color, hatch=None):
    """Bars of ``heights``; a NaN bar stays NaN (nothing drawn) and is labelled."""
    ax.bar(x, heights, width=0.38, label=label, color=color if hatch is None else "white",
           edgecolor=color, hatch=hatch, lw=1.2)
    for xi, h in zip(x, heights):
        if np.isnan(h):
            ax.text(xi, 0.05, "NaN", rotation=90, ha="center", va="bottom", fontsize=8,
                    color=plot.PALETTE["vermillion"])


def softmax_explorer(logits=(2.0, 1.0, 0.1), true_class: int = 0):
    """Explorer: logits, a shift of all of them, temperature and the true class.

    Live: one slider per logit ``z0, z1, ...`` (3 to 5 of them, in [-10, 10]),
    ``shift`` (added to every logit, [-1000, 1000]), ``temperature``
    ([0.1, 10]), a ``true_class`` menu, the ``method`` (stable, naive, or the
    two side by side) and a ``float32`` switch; see :func:`draw_softmax`.
    Static form, 2 x 3: ``logits`` at T = 0.5, 1, 5 (stable, top) and shifted
    by 0, 100, 1000 with naive float32 against stable (bottom).

    ``logits``: 3 to 5 finite numbers in [-10, 10] (the sliders' start and the
    static form's logits); ``true_class``: an int in ``[0, K)``.
    """
    z = float_array(logits, "logits", ndim=(1,))
    if not 3 <= z.size <= 5:
        raise ValueError(f"logits must hold 3 to 5 numbers (one slider each), got {z.size}")
    lo, hi = _LOGIT_RANGE
    if np.any((z < lo) | (z > hi)):
        raise ValueError(f"logits must lie in [{lo:g}, {hi:g}] (the sliders' range; use "
                         f"shift to move them all), got values from {z.min():g} to {z.max():g}")
    K = z.size
    y = integer(true_class, "true_class", 0, K - 1)
    names = [f"z{k}" for k in range(K)]

    def draw(ax, shift, temperature, true_class, method, float32, **zs):
        draw_softmax(ax, [zs[n] for n in names], temperature, true_class, shift, method,
                     float32)

    controls = {n: (lo, hi, 0.1) for n in names}
    controls.update(shift=(*_SHIFT_RANGE, 1.0), temperature=(*_T_RANGE, 0.1),
                    true_class=list(range(K)), method=list(SOFTMAX_METHODS), float32=False)
    start = {n: float(v) for n, v in zip(names, z)}
    static = [dict(start, shift=0.0, temperature=T, true_class=y, method="stable",
                   float32=False) for T in (0.5, 1.0, 5.0)]
    static += [dict(start, shift=s, temperature=1.0, true_class=y, method="naive vs stable",
                    float32=True) for s in (0.0, 100.0, 1000.0)]
    first = dict(start, shift=0.0, temperature=1.0, true_class=y, method="stable",
                 float32=False)
    return explorer(draw, _start_at(controls, first), static, ncols=3, panel=(3.2, 2.7))
