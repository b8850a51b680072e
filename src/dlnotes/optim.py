"""Optimizers, learning-rate schedules and gradient clipping, written out.

Every optimizer here is "gradient descent with a different step": it keeps
some state per parameter (a velocity, a running sum or average of squared
gradients, two moments) and turns the gradient ``g`` into a step. All follow
the conventions of ``torch.optim`` exactly, so that a run here and a run of
the matching torch class give the same iterates:

- :class:`SGD`: ``p -= lr * g``. With ``momentum = mu`` it stores the buffer
  ``b = mu * b + g`` and steps ``p -= lr * b`` (torch's form, dampening 0).
  The book's velocity is ``v = -lr * b``; the two forms agree while ``lr`` is
  constant. ``nesterov=True`` steps ``p -= lr * (g + mu * b)``: the iterate
  ``p`` is then the look-ahead point ``theta + mu * v`` of the textbook form.
- :class:`AdaGrad`: ``s += g**2``; ``p -= lr * g / (sqrt(s) + eps)``.
- :class:`RMSProp`: ``s = alpha * s + (1 - alpha) * g**2``;
  ``p -= lr * g / (sqrt(s) + eps)`` (``eps`` outside the square root).
- :class:`Adam`: ``m = b1 m + (1 - b1) g``, ``s = b2 s + (1 - b2) g**2``, the
  bias corrections ``m_hat = m / (1 - b1**t)``, ``s_hat = s / (1 - b2**t)``
  and ``p -= lr * m_hat / (sqrt(s_hat) + eps)``.
- :class:`AdamW`: Adam plus the decoupled decay ``p -= lr * weight_decay * p``.

``weight_decay`` in SGD, AdaGrad, RMSProp and Adam is an L2 penalty: it adds
``weight_decay * p`` to the gradient before anything else, as in torch. Under
Adam that term is then divided by ``sqrt(s_hat)``, so Adam with L2 and AdamW
are different algorithms (equal when ``weight_decay = 0``).

Interface. An optimizer is built with its hyperparameters, validated at once;
``opt.step(params, grads)`` updates ``params`` in place. ``params`` is one
array or a list of arrays: NumPy float arrays, or torch floating tensors
(``nn.Parameter`` included, updated without autograd); ``grads`` has the same
structure, kinds and shapes (for tensors also dtype and device). The state
lives in ``opt.state``, one dict per parameter with torch's key names
(``"step"``, ``"momentum_buffer"``, ``"sum"``, ``"square_avg"``, ``"exp_avg"``,
``"exp_avg_sq"``), so one optimizer serves one fixed list of parameters;
``opt.reset()`` empties it. ``opt.lr`` may be changed between steps (that is
how a schedule is applied) and may then be 0 (the start of a warm-up).

Refused input. A gradient with NaN or infinity is a ValueError, not an update:
one NaN would poison the moments for good, and a run that produces one has
already gone wrong (log the gradient norm, lower ``lr`` or clip). A step whose
result would overflow the dtype is refused the same way, and nothing is
updated: every step is all or nothing. Magnitudes from 1e-150 to 1e150 are
fine in float64 (their squares still fit).

Schedules are small callables ``t -> lr`` for ``t = 0, 1, 2, ...``, built by
:func:`constant`, :func:`step_decay`, :func:`exp_decay`, :func:`inv_time`,
:func:`cosine` and :func:`warmup` (linear warm-up, then any other schedule).
Clipping: :func:`clip_grad_norm` (global norm, as
``torch.nn.utils.clip_grad_norm_``) and :func:`clip_grad_value`, both
returning new arrays. :func:`trajectory` runs an optimizer on a function of a
vector and returns the iterates, for contour plots.

Analysis (chapter 05): :func:`heavy_ball_rate` is the convergence rate of
momentum along one eigendirection of a quadratic (below 1 exactly when
``0 < lr * curvature < 2 (1 + momentum)``), :func:`tuned_heavy_ball` Polyak's
best ``(lr, momentum)`` for a range of curvatures, :func:`effective_step` the
step sizes an optimizer takes for a given gradient sequence (bias correction,
AdaGrad's decay, RMSProp's start-up), and :func:`ema` the exponential moving
average of iterates (parameter averaging, as
``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings

import numpy as np
import torch

from dlnotes._checks import (_describe, all_finite, callable_, float_array, integer, is_torch,
                             nonnegative, positive, real, same_kind, to_numpy)
from dlnotes.linreg import ConvergenceWarning


class _Overflow(ValueError):
    """A step whose result is not finite (caught by :func:`trajectory`)."""


# --- argument checks ---------------------------------------------------------------------


def _flag(x, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {_describe(x)}")
    return bool(x)


def _unit(x, name: str) -> float:
    """A decay rate or momentum in [0, 1)."""
    x = real(x, name)
    if not 0 <= x < 1:
        raise ValueError(f"{name} must be in [0, 1), got {x!r}")
    return x


def _betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {type(betas).__name__} "
                        f"{_describe(betas)}")
    return _unit(betas[0], "betas[0] (beta1)"), _unit(betas[1], "betas[1] (beta2)")


def _structure(params, grads, what: str = "params"):
    """``params`` and ``grads`` as two lists of equal length, and whether they were single."""
    single = not isinstance(params, (list, tuple))
    if single:
        if isinstance(grads, (list, tuple)):
            raise TypeError(f"{what} is a single array, so grads must be one array too, got "
                            f"a {type(grads).__name__} of {len(grads)}")
        return [params], [grads], True
    if not isinstance(grads, (list, tuple)):
        raise TypeError(f"{what} is a {type(params).__name__} of arrays, so grads must be a "
                        f"list of the same length, got {type(grads).__name__}")
    if len(params) == 0:
        raise ValueError(f"{what} must hold at least one array, got an empty "
                         f"{type(params).__name__}")
    if len(grads) != len(params):
        raise ValueError(f"grads must hold one gradient per parameter, {len(params)}, got "
                         f"{len(grads)}")
    return list(params), list(grads), False


def _check_param(p, name: str) -> None:
    torch_kind = is_torch(p)
    if torch_kind:
        if not p.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor (it is updated in place), got "
                            f"dtype {p.dtype}")
    elif isinstance(p, np.ndarray):
        if p.dtype.kind != "f":
            raise TypeError(f"{name} must be a float array (it is updated in place), got dtype "
                            f"{p.dtype}; convert it with .astype(float) first")
        if not p.flags.writeable:
            raise ValueError(f"{name} is read-only; pass a writeable copy (it is updated in "
                             f"place)")
    else:
        raise TypeError(f"{name} must be a NumPy float array or a torch tensor (updated in "
                        f"place), got {type(p).__name__} {_describe(p)}")
    if not _finite(p, torch_kind):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")


def _check_grad(g, p, gname: str, pname: str):
    """``g`` as an array of ``p``'s kind, shape and dtype (NumPy grads are cast)."""
    torch_kind = is_torch(p)
    if torch_kind:
        if not is_torch(g):
            hint = " (did backward() run?)" if g is None else ""
            raise TypeError(f"{gname} must be a torch tensor like {pname}, got "
                            f"{type(g).__name__}{hint}")
        if g.dtype != p.dtype:
            raise TypeError(f"{gname} must have the dtype of {pname}, {p.dtype}, got {g.dtype}")
        if g.device != p.device:
            raise ValueError(f"{gname} must be on the device of {pname}, {p.device}, got "
                             f"{g.device}")
    elif not isinstance(g, np.ndarray):
        raise TypeError(f"{gname} must be a NumPy array like {pname}, got "
                        f"{type(g).__name__} {_describe(g)}")
    elif g.dtype.kind not in "biuf":
        raise TypeError(f"{gname} must hold real numbers, got dtype {g.dtype}")
    if tuple(g.shape) != tuple(p.shape):
        raise ValueError(f"{gname} must have the shape of {pname}, {tuple(p.shape)}, got "
                         f"{tuple(g.shape)}")
    if (torch_kind or g.dtype.kind == "f") and not _finite(g, torch_kind):
        bad = int((~torch.isfinite(g)).sum()) if torch_kind else \
            int(np.count_nonzero(~np.isfinite(g)))
        raise ValueError(f"{gname} must be finite, got {bad} NaN/inf entries; a NaN gradient "
                         f"is refused rather than written into the optimizer state (lower "
                         f"lr, clip the gradients, or look for the bug upstream)")
    if not torch_kind and g.dtype != p.dtype:
        with np.errstate(over="ignore"):
            g = g.astype(p.dtype)
        if not _finite(g, False):
            raise ValueError(f"{gname} overflows {p.dtype}, the dtype of {pname}, when cast to "
                             f"it (max |entry| beyond {np.finfo(p.dtype).max:.1e})")
    return g


def _layout(p, torch_kind: bool) -> tuple:
    return (torch_kind, tuple(p.shape), p.dtype, p.device if torch_kind else None)


def _finite(a, torch_kind: bool) -> bool:
    """No NaN or inf in a floating array (the fast path of the per-step checks)."""
    return bool(torch.isfinite(a).all()) if torch_kind else bool(np.isfinite(a).all())


def _ns(a):
    return torch if is_torch(a) else np


def _max_abs(a) -> float:
    """The largest ``|entry|`` of ``a``; 0 for an empty array."""
    if is_torch(a):
        return float(a.detach().abs().max()) if a.numel() else 0.0
    return float(np.max(np.abs(a))) if a.size else 0.0


def _copy(a):
    return a.detach().clone() if is_torch(a) else a.copy()


# --- optimizers --------------------------------------------------------------------------


class Optimizer:
    """Base class: ``lr``, the L2 ``weight_decay``, per-parameter state and the
    checked, all-or-nothing in-place :meth:`step`. Subclasses write
    :meth:`_update`, the formula for one parameter."""

    def __init__(self, lr: float, weight_decay: float = 0.0):
        if type(self) is Optimizer:
            raise TypeError("Optimizer is the base class, with no update rule: use SGD, "
                            "AdaGrad, RMSProp, Adam or AdamW")
        self.lr = positive(lr, "lr")
        self.weight_decay = nonnegative(weight_decay, "weight_decay")
        self.reset()

    @property
    def lr(self) -> float:
        """The learning rate of the next step: >= 0 and finite (0 during a warm-up)."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = nonnegative(value, "lr")

    def reset(self) -> None:
        """Forget all state (step counts, moments): the next step is a first step."""
        self.state: list[dict] = []
        self._layouts: list[tuple] | None = None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({args})"

    def _hyper(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def step(self, params, grads) -> None:
        """Update ``params`` in place by one step with gradients ``grads``.

        ``params``: one array or a list of arrays (NumPy float arrays or torch
        floating tensors, all of one kind), any shapes. ``grads``: the same
        structure, each of its parameter's shape (and dtype and device for
        tensors; NumPy gradients are cast to the parameter's dtype). Raises
        before changing anything when an input is bad or a result overflows.
        """
        ps, gs, single = _structure(params, grads)
        pn = ["params"] if single else [f"params[{i}]" for i in range(len(ps))]
        gn = ["grads"] if single else [f"grads[{i}]" for i in range(len(gs))]
        for p, name in zip(ps, pn):
            _check_param(p, name)
        if len({is_torch(p) for p in ps}) > 1:
            raise TypeError("params must be all NumPy arrays or all torch tensors, got a mix: "
                            + ", ".join(f"{n} {type(p).__name__}" for n, p in zip(pn, ps)))
        gs = [_check_grad(g, p, gname, pname) for g, p, gname, pname in zip(gs, ps, gn, pn)]
        torch_kind = is_torch(ps[0])
        layouts = [_layout(p, torch_kind) for p in ps]
        if self._layouts is None:
            self.state = [{"step": 0} for _ in ps]
        elif layouts != self._layouts:
            raise ValueError(f"params must be the {len(self._layouts)} arrays of the earlier "
                             f"steps (same shapes, dtypes and devices: {self._describe()}), got "
                             f"{len(ps)} of shapes {[tuple(p.shape) for p in ps]}; one optimizer "
                             f"serves one list of parameters (call reset() to start over)")
        no_grad = torch.no_grad() if torch_kind else contextlib.nullcontext()
        with no_grad, np.errstate(over="ignore", invalid="ignore", under="ignore"):
            results = []
            for p, g, st, name in zip(ps, gs, self.state, pn):
                new_p, new_st = self._update(p, g, st, st["step"] + 1)
                for what, a in [(name, new_p)] + [(f"its {k}", v) for k, v in new_st.items()
                                                  if k != "step"]:
                    if not _finite(a, torch_kind):
                        raise _Overflow(
                            f"{type(self).__name__}.step overflows {str(p.dtype)} at step "
                            f"{st['step'] + 1} in {what} (max |grad| = {_max_abs(g):.1e}, "
                            f"max |param| = {_max_abs(p):.1e}); nothing was updated: rescale "
                            f"the problem, lower lr or compute in float64")
                results.append((new_p, new_st))
            for p, (new_p, new_st), st in zip(ps, results, self.state):
                if torch_kind:
                    p.copy_(new_p)
                else:
                    p[...] = new_p
                st.update(new_st, step=st["step"] + 1)
        self._layouts = layouts

    def _describe(self) -> str:
        return ", ".join(f"{shape} {str(dtype).replace('torch.', '')}"
                         for _, shape, dtype, _ in self._layouts)

    def _l2(self, p, g):
        """The gradient of ``loss + weight_decay / 2 * ||p||^2``."""
        return g + self.weight_decay * p if self.weight_decay else g

    def _update(self, p, g, state: dict, t: int):
        """``(new_p, new_state)`` for one parameter at step ``t`` (1, 2, ...), without
        writing into ``p`` or ``state``."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and Nesterov momentum.

    ``lr`` > 0; ``momentum`` in [0, 1); ``nesterov`` needs ``momentum`` > 0;
    ``weight_decay`` >= 0 (an L2 penalty). Torch's form with dampening 0:
    ``b = momentum * b + g`` (``b = g`` at the first step),
    ``p -= lr * b``, or ``p -= lr * (g + momentum * b)`` with ``nesterov``.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = _unit(momentum, "momentum")
        self.nesterov = _flag(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum = 0.0")

    def _hyper(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _update(self, p, g, state, t):
        g = self._l2(p, g)
        if not self.momentum:
            return p - self.lr * g, {}
        b = _copy(g) if t == 1 else self.momentum * state["momentum_buffer"] + g
        d = g + self.momentum * b if self.nesterov else b
        return p - self.lr * d, {"momentum_buffer": b}


class AdaGrad(Optimizer):
    """AdaGrad: ``s += g**2``; ``p -= lr * g / (sqrt(s) + eps)``.

    ``lr`` > 0, ``eps`` > 0 (torch's default 1e-10), ``weight_decay`` >= 0 (L2).
    Under a constant gradient the step is ``lr / sqrt(t)``: the decay is built in.
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.eps = positive(eps, "eps")

    def _hyper(self) -> dict:
        return {"lr": self.lr, "eps": self.eps, "weight_decay": self.weight_decay}

    def _update(self, p, g, state, t):
        g = self._l2(p, g)
        s = g * g if t == 1 else state["sum"] + g * g
        return p - self.lr * g / (_ns(p).sqrt(s) + self.eps), {"sum": s}


class RMSProp(Optimizer):
    """RMSProp: ``s = alpha * s + (1 - alpha) * g**2``; ``p -= lr * g / (sqrt(s) + eps)``.

    ``lr`` > 0, ``alpha`` in [0, 1) (torch's name for the book's rho, default
    0.99), ``eps`` > 0, ``weight_decay`` >= 0 (L2). Starting from ``s = 0``, the
    first step is ``lr / sqrt(1 - alpha)`` per coordinate: 10 lr at 0.99.
    """

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.alpha = _unit(alpha, "alpha")
        self.eps = positive(eps, "eps")

    def _hyper(self) -> dict:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay}

    def _update(self, p, g, state, t):
        g = self._l2(p, g)
        s = (1 - self.alpha) * g * g if t == 1 else \
            self.alpha * state["square_avg"] + (1 - self.alpha) * g * g
        return p - self.lr * g / (_ns(p).sqrt(s) + self.eps), {"square_avg": s}


class Adam(Optimizer):
    """Adam with bias correction and, through ``weight_decay``, an L2 penalty.

    ``lr`` > 0; ``betas = (beta1, beta2)``, each in [0, 1); ``eps`` > 0 (added
    outside the square root, as in torch); ``weight_decay`` >= 0 is added to
    the gradient (``g + weight_decay * p``) and so enters both moments;
    ``bias_correction=False`` drops the division by ``1 - beta**t`` (to show
    what it does: Adam with beta1 = 0 and no correction is RMSProp).
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, bias_correction: bool = True):
        super().__init__(lr, weight_decay)
        self.betas = _betas(betas)
        self.eps = positive(eps, "eps")
        self.bias_correction = _flag(bias_correction, "bias_correction")

    def _hyper(self) -> dict:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay, "bias_correction": self.bias_correction}

    def _gradient(self, p, g):
        return self._l2(p, g)

    def _update(self, p, g, state, t):
        b1, b2 = self.betas
        g = self._gradient(p, g)
        if t == 1:
            m, s = (1 - b1) * g, (1 - b2) * g * g
        else:
            m = b1 * state["exp_avg"] + (1 - b1) * g
            s = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
        m_hat, s_hat = (m / (1 - b1**t), s / (1 - b2**t)) if self.bias_correction else (m, s)
        new_p = p - self.lr * m_hat / (_ns(p).sqrt(s_hat) + self.eps)
        return new_p, {"exp_avg": m, "exp_avg_sq": s}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), torch's form.

    As :class:`Adam`, but ``weight_decay`` (default 0.01, as in torch) is not
    added to the gradient; instead each step also shrinks the weights,
    ``p -= lr * weight_decay * p``, using ``p`` before the step. Equal to
    :class:`Adam` when ``weight_decay = 0``.
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, bias_correction: bool = True):
        super().__init__(lr, betas, eps, weight_decay, bias_correction)

    def _gradient(self, p, g):
        return g

    def _update(self, p, g, state, t):
        new_p, new_state = super()._update(p, g, state, t)
        return new_p - self.lr * self.weight_decay * p, new_state


# --- running an optimizer on a function of a vector ----------------------------------------


def trajectory(optimizer, grad_fn, x0, n_steps: int):
    """Iterates of ``optimizer`` on a function with gradient ``grad_fn``, for contour plots.

    ``optimizer``: a :class:`Optimizer` (its hyperparameters are used on a fresh
    copy: the object passed in is neither stepped nor reset); ``grad_fn``: the
    gradient, ``x (d,) -> (d,)``; ``x0``: the start, ``(d,)`` (NumPy or a
    floating torch tensor; not modified); ``n_steps`` >= 0. Returns the
    ``(n_steps + 1, d)`` iterates ``x0, x1, ...`` as ``x0``'s kind, dtype and
    device. If the run diverges (a gradient or an iterate overflows), a
    :class:`~dlnotes.linreg.ConvergenceWarning` says at which step, and the
    rows from there on are NaN, which plots leave out.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a dlnotes.optim optimizer (SGD, AdaGrad, RMSProp, "
                        f"Adam, AdamW), got {type(optimizer).__name__} {_describe(optimizer)}")
    callable_(grad_fn, "grad_fn")
    x = _start(x0)
    n_steps = integer(n_steps, "n_steps", 0)
    opt = copy.copy(optimizer)
    opt.reset()
    xp = _ns(x)
    if xp is np:
        out = np.full((n_steps + 1, x.shape[0]), np.nan, dtype=x.dtype)
    else:
        out = torch.full((n_steps + 1, x.shape[0]), math.nan, dtype=x.dtype, device=x.device)
    out[0] = x
    for t in range(n_steps):
        g = _gradient_at(grad_fn, x)
        try:
            if not all_finite(g):
                raise _Overflow(f"grad_fn returned NaN or inf at x = {_describe(to_numpy(x))}")
            opt.step(x, g)
        except _Overflow as err:
            warnings.warn(f"trajectory diverged at step {t + 1} of {n_steps}: {err}; the rows "
                          f"from {t + 1} on are NaN", ConvergenceWarning, stacklevel=2)
            break
        out[t + 1] = x
    return out


def _start(x0):
    if is_torch(x0):
        (x,) = same_kind("x0", x0)
        if x.ndim != 1 or x.shape[0] == 0:
            raise ValueError(f"x0 must be a non-empty 1-D vector (d,), got shape "
                             f"{tuple(x.shape)}")
        return x.detach().clone()
    x = float_array(x0, "x0", (1,))
    keep = isinstance(x0, np.ndarray) and x0.dtype.kind == "f"  # float32 stays float32
    return x0.copy() if keep else x.copy()


def _gradient_at(grad_fn, x):
    """``grad_fn(x)`` checked: x's kind and shape (NumPy results are converted). NumPy's
    overflow warnings inside it are silenced: a diverging run is reported once, by
    :func:`trajectory`."""
    with np.errstate(over="ignore", invalid="ignore"):
        g = grad_fn(x.clone() if is_torch(x) else x.copy())
    if is_torch(x):
        if not is_torch(g):
            raise TypeError(f"grad_fn must return a torch tensor for a tensor x0, got "
                            f"{type(g).__name__}")
        g = g.detach().to(dtype=x.dtype, device=x.device)
    else:
        if is_torch(g):
            raise TypeError("grad_fn must return a NumPy array for a NumPy x0, got a tensor")
        try:
            g = np.asarray(g)
        except (TypeError, ValueError) as err:  # ragged lists
            raise TypeError(f"grad_fn must return an array of numbers: {err}") from None
        if g.dtype.kind not in "biuf":
            raise TypeError(f"grad_fn must return real numbers, got dtype {g.dtype}")
        g = g.astype(x.dtype, copy=False)
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"grad_fn must return the gradient with the shape of x, "
                         f"{tuple(x.shape)}, got shape {tuple(g.shape)}")
    return g


# --- learning-rate schedules -------------------------------------------------------------


class _Schedule:
    """A learning rate as a function of the step ``t = 0, 1, 2, ...``."""

    def __init__(self, formula, text: str):
        self._formula, self._text = formula, text

    def __call__(self, t: int) -> float:
        return float(self._formula(integer(t, "t", 0)))

    def __repr__(self) -> str:
        return self._text


def _gamma(gamma) -> float:
    gamma = positive(gamma, "gamma")
    if gamma > 1:
        raise ValueError(f"gamma must be in (0, 1] (a decay factor), got {gamma!r}")
    return gamma


def constant(lr: float) -> _Schedule:
    """The schedule ``t -> lr`` (``lr`` > 0), e.g. to follow a :func:`warmup`."""
    lr = positive(lr, "lr")
    return _Schedule(lambda t: lr, f"constant(lr={lr!r})")


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> _Schedule:
    """``t -> lr * gamma ** (t // step_size)``: multiply by ``gamma`` every
    ``step_size`` steps (``torch.optim.lr_scheduler.StepLR``). ``lr`` > 0,
    ``step_size`` >= 1, ``gamma`` in (0, 1]."""
    lr, step_size = positive(lr, "lr"), integer(step_size, "step_size", 1)
    gamma = _gamma(gamma)
    return _Schedule(lambda t: lr * gamma ** (t // step_size),
                     f"step_decay(lr={lr!r}, step_size={step_size}, gamma={gamma!r})")


def exp_decay(lr: float, gamma: float) -> _Schedule:
    """``t -> lr * gamma ** t`` (``ExponentialLR``), i.e. ``lr * exp(-k t)`` with
    ``k = -ln(gamma)``. ``lr`` > 0, ``gamma`` in (0, 1]."""
    lr, gamma = positive(lr, "lr"), _gamma(gamma)
    return _Schedule(lambda t: lr * gamma**t, f"exp_decay(lr={lr!r}, gamma={gamma!r})")


def inv_time(lr: float, k: float) -> _Schedule:
    """``t -> lr / (1 + k t)``, which meets Robbins and Monro's conditions
    (sum of rates infinite, sum of squares finite). ``lr`` > 0, ``k`` > 0."""
    lr, k = positive(lr, "lr"), positive(k, "k")
    return _Schedule(lambda t: lr / (1 + k * t), f"inv_time(lr={lr!r}, k={k!r})")


def cosine(lr: float, T: int, lr_min: float = 0.0) -> _Schedule:
    """Cosine annealing from ``lr`` at ``t = 0`` to ``lr_min`` at ``t = T``:
    ``lr_min + (lr - lr_min) * (1 + cos(pi t / T)) / 2``, then ``lr_min``.

    As ``CosineAnnealingLR(T_max=T, eta_min=lr_min)`` for ``t <= T`` (torch's
    curve rises again after ``T``; this one stays at ``lr_min``). ``lr`` > 0,
    ``T`` >= 1, ``0 <= lr_min <= lr``.
    """
    lr, T, lr_min = positive(lr, "lr"), integer(T, "T", 1), nonnegative(lr_min, "lr_min")
    if lr_min > lr:
        raise ValueError(f"lr_min must be <= lr = {lr!r}, got {lr_min!r}")

    def formula(t):
        return lr_min + (lr - lr_min) * (1 + math.cos(math.pi * t / T)) / 2 if t < T else lr_min

    return _Schedule(formula, f"cosine(lr={lr!r}, T={T}, lr_min={lr_min!r})")


def warmup(after, warmup_steps: int, start: float = 0.0) -> _Schedule:
    """Linear warm-up to ``after(0)`` over ``warmup_steps`` steps, then ``after``.

    ``t -> after(0) * (start + (1 - start) * t / warmup_steps)`` for
    ``t < warmup_steps``, and ``after(t - warmup_steps)`` from then on (so the
    rate reaches ``after(0)`` at ``t = warmup_steps``). ``after``: a schedule
    (e.g. :func:`constant` or :func:`cosine`); ``warmup_steps`` >= 1;
    ``start`` in [0, 1), the first rate as a fraction of ``after(0)``. Equal to
    torch's ``SequentialLR([LinearLR(start, 1.0, warmup_steps), ...],
    milestones=[warmup_steps])``.
    """
    callable_(after, "after")
    warmup_steps = integer(warmup_steps, "warmup_steps", 1)
    start = _unit(start, "start")
    top = after(0)
    try:
        top = positive(top, "after(0)")
    except (TypeError, ValueError) as err:
        raise type(err)(f"after must be a schedule whose rate at t = 0 is > 0: {err}") from None

    def formula(t):
        if t < warmup_steps:
            return top * (start + (1 - start) * t / warmup_steps)
        return after(t - warmup_steps)

    return _Schedule(formula, f"warmup({after!r}, warmup_steps={warmup_steps}, "
                              f"start={start!r})")


# --- gradient clipping -------------------------------------------------------------------


def _grad_list(grads):
    """``grads`` (one array or a list) as a list of arrays of one kind, and whether
    it was a single array. NumPy integer arrays become float64."""
    single = not isinstance(grads, (list, tuple))
    gs = [grads] if single else list(grads)
    if not gs:
        raise ValueError(f"grads must hold at least one array, got an empty "
                         f"{type(grads).__name__}")
    names = ["grads"] if single else [f"grads[{i}]" for i in range(len(gs))]
    out = []
    for g, name in zip(gs, names):
        if not (is_torch(g) or isinstance(g, np.ndarray)):
            raise TypeError(f"{name} must be a NumPy array or a torch tensor, got "
                            f"{type(g).__name__} {_describe(g)}")
        if isinstance(g, np.ndarray) and g.dtype.kind != "f":
            if g.dtype.kind not in "biu":
                raise TypeError(f"{name} must hold real numbers, got dtype {g.dtype}")
            g = g.astype(np.float64)
        if is_torch(g) and not g.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor, got dtype {g.dtype}")
        out.append(g)
    if len({is_torch(g) for g in out}) > 1:
        raise TypeError("grads must be all NumPy arrays or all torch tensors, got a mix")
    for g, name in zip(out, names):
        if not all_finite(g):
            raise ValueError(f"{name} must be finite, got NaN or inf entries")
    return out, single


def _global_norm(gs) -> float:
    """``sqrt(sum of all squared entries)``, scaled by the largest entry so that
    magnitudes near the ends of the float range neither overflow nor underflow."""
    top = max(_max_abs(g) for g in gs)
    if top == 0:
        return 0.0
    total = 0.0
    for g in gs:
        scaled = (g.detach() if is_torch(g) else g) / top
        total += float((scaled * scaled).sum())
    return top * math.sqrt(total)


def clip_grad_norm(grads, max_norm: float, eps: float = 1e-6):
    """Rescale gradients so that their global norm is at most about ``max_norm``.

    ``grads``: one array or a list of arrays (NumPy or torch, any shapes) whose
    entries together form the vector ``g``; ``max_norm`` > 0; ``eps`` >= 0.
    Returns ``(clipped, norm)``: new arrays of the same structure, kinds and
    dtypes, ``g * min(1, max_norm / (||g|| + eps))``, and ``||g||`` before
    clipping as a float. The default ``eps = 1e-6`` is torch's
    (``clip_grad_norm_`` gives the same numbers); with ``eps = 0`` the clipped
    norm is exactly ``min(||g||, max_norm)``. The direction never changes.
    """
    gs, single = _grad_list(grads)
    max_norm, eps = positive(max_norm, "max_norm"), nonnegative(eps, "eps")
    norm = _global_norm(gs)
    coef = min(1.0, max_norm / (norm + eps)) if norm + eps > 0 else 1.0
    out = [(g.detach() if is_torch(g) else g) * coef for g in gs] if coef < 1 else \
        [_copy(g) for g in gs]
    return (out[0] if single else out), norm


def clip_grad_value(grads, clip_value: float):
    """Clamp every gradient entry to ``[-clip_value, clip_value]``.

    ``grads``: one array or a list of arrays (NumPy or torch); ``clip_value`` > 0.
    Returns new arrays of the same structure, kinds and dtypes, as
    ``torch.nn.utils.clip_grad_value_`` would leave them. Unlike norm clipping
    this changes the direction of ``g`` whenever some entries are clamped.
    """
    gs, single = _grad_list(grads)
    c = positive(clip_value, "clip_value")
    out = [g.detach().clamp(-c, c) if is_torch(g) else np.clip(g, -c, c) for g in gs]
    return out[0] if single else out


# --- analysis of optimizers (chapter 05) ---------------------------------------------------


def _unit_array(a, name: str):
    """``a`` (number, list, NumPy array or tensor) with every entry in [0, 1)."""
    if is_torch(a):
        (a,) = same_kind(name, a)
        bad = bool(((a < 0) | (a >= 1)).any())
    else:
        a = float_array(a, name, allow_empty=True)
        bad = bool(np.any((a < 0) | (a >= 1)))
    if bad:
        raise ValueError(f"{name} must be in [0, 1) (every entry), got values from "
                         f"{float(a.min())!r} to {float(a.max())!r}")
    return a


def heavy_ball_rate(lr_curvature, momentum):
    """The convergence rate of momentum (the heavy ball) along one eigendirection
    of a quadratic: the largest ``|r|`` over the roots of
    ``r^2 - (1 + mu - eta lambda) r + mu = 0``.

    ``lr_curvature``: ``eta * lambda``, the learning rate times the curvature
    (a Hessian eigenvalue), any finite real number or array; ``momentum``:
    ``mu`` in [0, 1), a number or an array broadcastable with it. The error in
    that direction shrinks like ``rate ** t``: the rate is below 1 exactly when
    ``0 < eta lambda < 2 (1 + mu)``; it equals ``sqrt(mu)`` where the roots are
    complex, ``(1 - sqrt(mu))^2 < eta lambda < (1 + sqrt(mu))^2``; with
    ``mu = 0`` it is gradient descent's ``|1 - eta lambda|``. Returns a float
    for scalar input, else an array of the broadcast shape: NumPy (float64) for
    NumPy input, a tensor of the input's dtype and device for tensors (both
    arguments tensors, or one a Python number). Computed without forming
    ``(eta lambda)^2``, so it stays finite for every finite input.
    """
    torch_kind = is_torch(lr_curvature) or is_torch(momentum)
    if torch_kind:
        ref = lr_curvature if is_torch(lr_curvature) else momentum
        if not ref.is_floating_point():
            ref = ref.to(torch.float64)
        lr_curvature, momentum = (x if is_torch(x) else
                                  _tensor_like(x, ref, n) for x, n in
                                  ((lr_curvature, "lr_curvature"), (momentum, "momentum")))
        a, mu = same_kind("lr_curvature, momentum", lr_curvature, momentum)
        mu = _unit_array(mu, "momentum")
        xp = torch
    else:
        scalar = np.ndim(lr_curvature) == 0 and np.ndim(momentum) == 0
        a = float_array(lr_curvature, "lr_curvature", allow_empty=True)
        mu = _unit_array(momentum, "momentum")
        xp = np
    try:
        a, mu = xp.broadcast_tensors(a, mu) if xp is torch else np.broadcast_arrays(a, mu)
    except (RuntimeError, ValueError):
        raise ValueError(f"lr_curvature and momentum must broadcast together, got shapes "
                         f"{tuple(a.shape)} and {tuple(mu.shape)}") from None
    b = xp.abs((1 - a) + mu)  # |1 + mu - eta lambda|: the sum of the two roots, in size
    root_mu = xp.sqrt(mu)
    # real roots where b >= 2 sqrt(mu): the larger in size is b/2 (1 + sqrt(1 - 4 mu / b^2));
    # 4 mu / b^2 is formed as (2 sqrt(mu) / b)^2, which cannot overflow
    ratio = xp.where(b > 0, 2 * root_mu / xp.where(b > 0, b, 1), 0 * b)
    real_root = b / 2 * (1 + xp.sqrt(xp.clip(1 - ratio * ratio, 0, None)))
    rate = xp.where(b >= 2 * root_mu, real_root, root_mu)
    if xp is np:
        return float(rate) if scalar else rate
    return rate


def _tensor_like(x, ref, name: str):
    value = float_array(x, name, allow_empty=True)
    return torch.as_tensor(value, dtype=ref.dtype, device=ref.device)


def tuned_heavy_ball(lam_min: float, lam_max: float) -> tuple[float, float]:
    """Polyak's tuned heavy ball for curvatures in ``[lam_min, lam_max]``.

    ``0 < lam_min <= lam_max``, finite. Returns ``(lr, momentum)`` with
    ``lr = 4 / (sqrt(lam_max) + sqrt(lam_min))^2`` and
    ``momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``,
    ``kappa = lam_max / lam_min``: the choice that puts both extreme
    eigenvalues on the edge of the complex-root region, so that every
    direction converges at the rate ``sqrt(momentum)``, against gradient
    descent's best ``(kappa - 1) / (kappa + 1)``. For ``kappa`` beyond about
    1e32 the momentum rounds to 1.0 (a rate of 1: no convergence in float64).
    """
    lo, hi = positive(lam_min, "lam_min"), positive(lam_max, "lam_max")
    if lo > hi:
        raise ValueError(f"lam_min must be <= lam_max = {hi!r}, got {lo!r}")
    a, b = math.sqrt(lo), math.sqrt(hi)
    lr = (2 / (a + b)) ** 2  # not 4 / (a + b)^2, which overflows near the float64 maximum
    momentum = ((b - a) / (b + a)) ** 2
    return lr, momentum


def effective_step(optimizer, grads):
    """Step sizes ``|delta theta_t| / lr`` of ``optimizer`` for a given gradient sequence.

    ``optimizer``: a :class:`Optimizer` (a fresh copy with its hyperparameters
    is stepped; the object passed in is untouched); ``grads``: the gradients
    ``g_1, ..., g_T`` in order, shape ``(T,)`` for one coordinate or ``(T, d)``
    (NumPy or a floating torch tensor, finite, T >= 1). The parameter is held
    at 0 before every step, so the result shows what the optimizer's state
    does to the gradient (bias correction, AdaGrad's decay, RMSProp's start-up)
    and not where the parameter is; a weight decay therefore contributes
    nothing. Returns the ratios, shape of ``grads``, in its kind, dtype and
    device: 1 everywhere for plain SGD with ``|g| = 1``.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a dlnotes.optim optimizer (SGD, AdaGrad, RMSProp, "
                        f"Adam, AdamW), got {type(optimizer).__name__} {_describe(optimizer)}")
    if is_torch(grads):
        if not grads.is_floating_point():
            raise TypeError(f"grads must be a floating tensor, got dtype {grads.dtype}")
        gs = grads.detach()
        if not _finite(gs, True):
            raise ValueError("grads must be finite, got NaN or inf entries")
    else:
        keep = isinstance(grads, np.ndarray) and grads.dtype.kind == "f"  # float32 stays
        gs = float_array(grads, "grads", allow_empty=True)
        gs = grads if keep else gs
    if gs.ndim not in (1, 2) or 0 in tuple(gs.shape):
        raise ValueError(f"grads must be a non-empty (T,) or (T, d) sequence of gradients, got "
                         f"shape {tuple(gs.shape)}")
    opt = copy.copy(optimizer)
    opt.reset()
    if opt.lr <= 0:
        raise ValueError(f"optimizer.lr must be > 0 to measure steps in units of it, got "
                         f"{opt.lr!r}")
    rows = gs.reshape(gs.shape[0], -1)  # (T, d); one coordinate becomes d = 1
    out = rows.clone() if is_torch(rows) else np.empty_like(rows)
    p = torch.zeros_like(rows[0]) if is_torch(rows) else np.zeros_like(rows[0])
    for t in range(rows.shape[0]):
        p[...] = 0
        opt.step(p, rows[t])
        out[t] = p.abs() / opt.lr if is_torch(p) else np.abs(p) / opt.lr
    return out.reshape(gs.shape)


def ema(iterates, beta: float):
    """The exponential moving average of a sequence of iterates.

    ``iterates``: shape ``(T, ...)``, the iterates ``theta_0, ..., theta_{T-1}``
    along the first axis (NumPy or a floating torch tensor, finite, T >= 1);
    ``beta`` in [0, 1), the weight kept by the average (0.99 to 0.9999 in
    practice; 0 returns the iterates themselves). Returns the averages
    ``avg_0 = theta_0``, ``avg_t = beta avg_{t-1} + (1 - beta) theta_t``, of the
    shape, kind, dtype and device of ``iterates``: the same numbers as
    ``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn(beta)``,
    updated once per iterate. Starting at ``theta_0`` (not at 0) needs no bias
    correction.
    """
    beta = _unit(beta, "beta")
    if is_torch(iterates):
        if not iterates.is_floating_point():
            raise TypeError(f"iterates must be a floating tensor, got dtype {iterates.dtype}")
        xs = iterates.detach()
        if not _finite(xs, True):
            raise ValueError("iterates must be finite, got NaN or inf entries")
        out = xs.clone()
    else:
        keep = isinstance(iterates, np.ndarray) and iterates.dtype.kind == "f"
        xs = iterates if keep else float_array(iterates, "iterates")
        if keep and not _finite(xs, False):
            raise ValueError("iterates must be finite, got NaN or inf entries")
        out = xs.copy()
    if xs.ndim == 0 or xs.shape[0] == 0:
        raise ValueError(f"iterates must be a non-empty sequence (T, ...) with the iterates "
                         f"along the first axis, got shape {tuple(xs.shape)}")
    for t in range(1, xs.shape[0]):
        out[t] = beta * out[t - 1] + (1 - beta) * xs[t]
    return out
