"""Labs of chapter 05: one step of Adam with bias correction, one step of Nesterov
momentum in the stored (look-ahead) form, and gradient clipping by the global norm
of several parameter tensors.

The references are the package's optimizers, which follow ``torch.optim``: each
case runs :class:`dlnotes.optim.Adam` or :class:`dlnotes.optim.SGD` on random
gradients for a while and hands the reader the state it reached, in the book's
notation (Adam's ``m`` and ``s``; the velocity ``v = -lr * b`` of torch's
momentum buffer ``b``), so that the reader's one step is judged against the
next step of the tested implementation.
"""

from __future__ import annotations

import numpy as np

from dlnotes import optim
from dlnotes._checks import callable_, rng
from dlnotes.gradcheck import rel_error
from dlnotes.labs.engine import RTOL, Case, LabResult, Mistake, Output, _judge_tuple, _run

# --- chapter 05: one step of Adam -----------------------------------------------------------


def _adam_case(gen: np.random.Generator, shape: tuple, t: int, lr: float, b1: float, b2: float,
               eps: float, scale: float, label: str) -> Case:
    """Run Adam for t - 1 steps on random gradients of size ``scale``; the case is step t."""
    theta = gen.standard_normal(shape)
    opt = optim.Adam(lr, betas=(b1, b2), eps=eps)
    for _ in range(t - 1):
        opt.step(theta, scale * gen.standard_normal(shape))
    st = opt.state[0] if opt.state and t > 1 else {}
    m, s = (st["exp_avg"].copy(), st["exp_avg_sq"].copy()) if st else \
        (np.zeros(shape), np.zeros(shape))
    g = scale * gen.standard_normal(shape)
    args = {"theta": theta.copy(), "g": g, "m": m, "s": s, "t": t, "lr": lr, "beta1": b1,
            "beta2": b2, "eps": eps}
    opt.step(theta, g)
    new = opt.state[0]
    dims = {"rows": shape[0], "cols": shape[1]} if len(shape) == 2 else {"d": shape[0]}
    return Case(args, (theta, new["exp_avg"], new["exp_avg_sq"]), dims, label)


def _adam_cases(gen: np.random.Generator) -> list[Case]:
    d = int(gen.integers(4, 8))
    rows, cols = int(gen.integers(2, 4)), int(gen.integers(5, 7))
    specs = [((d,), int(gen.integers(5, 9)), 1e-2, 0.9, 0.999, 1e-8, 1.0, "a few steps in"),
             ((d,), 1, 1e-3, 0.9, 0.999, 1e-8, 1.0, "the first step, t = 1, m = s = 0"),
             ((rows, cols), int(gen.integers(3, 6)), 1e-2, 0.5, 0.9, 1e-8, 1.0,
              "other betas (0.5, 0.9), a matrix parameter"),
             ((d,), int(gen.integers(20, 31)), 1e-3, 0.9, 0.999, 1e-8, 1e-6,
              "gradients of size about 1e-06, where eps matters"),
             ((d,), int(gen.integers(3, 6)), 1e-1, 0.9, 0.999, 1e-8, 1e4,
              "gradients of size about 1e+04"),
             ((d,), 1000, 1e-3, 0.9, 0.999, 1e-8, 1.0, "late in training, t = 1000"),
             ((1,), int(gen.integers(3, 6)), 1e-2, 0.9, 0.99, 1e-8, 1.0,
              "a single coordinate")]
    return [_adam_case(gen, *spec) for spec in specs]


def _moments(g, m, s, t, b1, b2):
    return b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g * g


def _adam_theta(corr_m, corr_s, sqrt_inside=False, old=False, numerator="m", sign=-1):
    """A variant of Adam's parameter update, for the catalogue of mistakes."""
    def formula(theta, g, m, s, t, lr, b1, b2, eps):
        m1, s1 = (m, s) if old else _moments(g, m, s, t, b1, b2)
        mh, sh = m1 / corr_m(b1, t), s1 / corr_s(b2, t)
        num = g if numerator == "g" else mh
        den = np.sqrt(sh + eps) if sqrt_inside else np.sqrt(sh) + eps
        return theta + sign * lr * num / den
    return formula


def _right(b, t):
    return 1 - b**t


def _none(b, t):
    return 1.0


def _zero_based(b, t):
    return 1 - b ** (t - 1)


def _one_late(b, t):
    return 1 - b ** (t + 1)


_ADAM_THETA = Output(
    "theta",
    mistakes=(
        Mistake(_adam_theta(_none, _none),
                "theta is updated without bias correction: divide m by 1 - beta1**t and s by "
                "1 - beta2**t before the step (both start at 0, so early on they are too "
                "small, s much more so than m)."),
        Mistake(_adam_theta(_right, _none),
                "theta uses a corrected m but an uncorrected s: s must be divided by "
                "1 - beta2**t too."),
        Mistake(_adam_theta(_none, _right),
                "theta uses a corrected s but an uncorrected m: m must be divided by "
                "1 - beta1**t too."),
        Mistake(_adam_theta(_right, _right, sqrt_inside=True),
                "theta puts eps inside the square root, sqrt(s_hat + eps). In the Adam paper "
                "and in torch eps is added after it: sqrt(s_hat) + eps (the two differ when "
                "gradients are small)."),
        Mistake(_adam_theta(_zero_based, _zero_based),
                "theta's bias correction uses beta**(t - 1): t counts steps from 1, and the "
                "correction of step t is 1 - beta**t."),
        Mistake(_adam_theta(_one_late, _one_late),
                "theta's bias correction uses beta**(t + 1): t is already the number of this "
                "step (1 for the first), so the correction is 1 - beta**t."),
        Mistake(_adam_theta(_right, _right, old=True),
                "theta is stepped with the old moments m and s passed in: update m and s with "
                "the new gradient g first, then take the step with them."),
        Mistake(_adam_theta(_right, _right, numerator="g"),
                "theta divides the raw gradient g by sqrt(s_hat): that is RMSProp with bias "
                "correction. Adam's numerator is the first moment m_hat."),
        Mistake(_adam_theta(_right, _right, sign=+1),
                "theta moves uphill: the step is theta - lr * m_hat / (sqrt(s_hat) + eps)."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: theta - lr * (
            _moments(g, m, s, t, b1, b2)[0] / _right(b1, t))
            / (_moments(g, m, s, t, b1, b2)[1] / _right(b2, t) + eps),
            "theta divides by s_hat + eps, not by sqrt(s_hat) + eps: s estimates the "
            "squared gradient, so its square root has the gradient's units."),
    ),
)

_SWAPPED = ("{name} mixes the old value and the new gradient with the weights swapped: the "
            "running average keeps beta of the old value, {name} = beta * {name} + (1 - beta) "
            "* {what}.")

_ADAM_M = Output(
    "m",
    mistakes=(
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: (1 - b1) * m + b1 * g,
                _SWAPPED.format(name="m", what="g")),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps:
                _moments(g, m, s, t, b1, b2)[0] / (1 - b1**t),
                "m is returned bias-corrected (m_hat). Keep the raw running average m in the "
                "state and correct it only to take the step; otherwise the correction is "
                "applied again at every later step."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: b1 * m + g,
                "m is updated as beta1 * m + g, the momentum buffer of SGD. Adam's first "
                "moment is an average: beta1 * m + (1 - beta1) * g."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: m,
                "m is returned unchanged: return the updated first moment."),
    ),
)

_ADAM_S = Output(
    "s",
    mistakes=(
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: (1 - b2) * s + b2 * g * g,
                _SWAPPED.format(name="s", what="g**2")),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: b2 * s + (1 - b2) * np.abs(g),
                "s averages |g| instead of g**2: the second moment is the running average of "
                "the squared gradient."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps:
                _moments(g, m, s, t, b1, b2)[1] / (1 - b2**t),
                "s is returned bias-corrected (s_hat). Keep the raw running average s in the "
                "state and correct it only to take the step."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: b2 * s + (1 - b2) * g,
                "s averages g instead of g**2: the second moment is the running average of "
                "the squared gradient."),
        Mistake(lambda theta, g, m, s, t, lr, b1, b2, eps: s,
                "s is returned unchanged: return the updated second moment."),
    ),
)


def _nan_at_first_step(judge):
    """``judge``, with a hint when the result is NaN or inf at t = 1 (a zero-based t)."""
    def wrapped(got, case: Case) -> str | None:
        problem = judge(got, case)
        if problem and "NaN or inf" in problem and case.args.get("t") == 1:
            problem += (" At t = 1, 1 - beta**(t - 1) = 0: t counts steps from 1, and the "
                        "first step divides by 1 - beta**1.")
        return problem
    return wrapped


def check_adam_step(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(theta, g, m, s, t, lr, beta1, beta2, eps) -> (theta, m, s)``, one step
    of Adam with bias correction.

    ``theta``, ``g``, ``m``, ``s``: arrays of one shape (the parameter, its
    gradient, the first and second moments before the step); ``t``: the number
    of this step, 1 for the first (when ``m = s = 0``); ``lr``, ``beta1``,
    ``beta2``, ``eps``: floats. Returns the new parameter and the new raw
    (uncorrected) moments. Compared with :class:`dlnotes.optim.Adam` (which
    follows ``torch.optim.Adam``) on fresh random states: the first step, a few
    steps in, other betas and a matrix parameter, gradients of size 1e-6 (where
    the place of eps matters) and 1e4, t = 1000, one coordinate. The reader's
    function must not change its arguments in place.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _adam_cases(rng(seed))
    judge = _nan_at_first_step(_judge_tuple((_ADAM_THETA, _ADAM_M, _ADAM_S)))
    return _run("check_adam_step", fn, cases, judge, batch=False)


# --- chapter 05: one step of Nesterov momentum, stored form ----------------------------------


def _nesterov_case(gen: np.random.Generator, shape: tuple, steps: int, lr: float, mu: float,
                   label: str) -> Case:
    """Run torch-style Nesterov SGD for ``steps`` steps; the case is the next one."""
    phi = gen.standard_normal(shape)
    opt = optim.SGD(lr, momentum=mu, nesterov=True)
    for _ in range(steps):
        opt.step(phi, gen.standard_normal(shape))
    v = -lr * opt.state[0]["momentum_buffer"] if steps else np.zeros(shape)
    g = gen.standard_normal(shape)
    args = {"phi": phi.copy(), "v": v, "g": g, "lr": lr, "mu": mu}
    opt.step(phi, g)
    dims = {"rows": shape[0], "cols": shape[1]} if len(shape) == 2 else {"d": shape[0]}
    return Case(args, (phi, -lr * opt.state[0]["momentum_buffer"]), dims, label)


def _nesterov_cases(gen: np.random.Generator) -> list[Case]:
    d = int(gen.integers(4, 8))
    rows, cols = int(gen.integers(2, 4)), int(gen.integers(5, 7))
    specs = [((d,), int(gen.integers(3, 8)), 0.1, 0.9, "a few steps in, mu = 0.9"),
             ((d,), 0, 0.1, 0.9, "the first step, v = 0"),
             ((rows, cols), int(gen.integers(3, 8)), 0.05, 0.5, "a matrix parameter, mu = 0.5"),
             ((d,), int(gen.integers(10, 20)), 0.01, 0.99, "mu = 0.99, a small lr"),
             ((d,), int(gen.integers(3, 8)), 2.0, 0.8, "a large lr"),
             ((1,), int(gen.integers(3, 8)), 0.1, 0.9, "a single coordinate")]
    return [_nesterov_case(gen, *spec) for spec in specs]


def _v_new(phi, v, g, lr, mu):
    return mu * v - lr * g


_NESTEROV_PHI = Output(
    "phi",
    mistakes=(
        Mistake(lambda phi, v, g, lr, mu: phi + _v_new(phi, v, g, lr, mu),
                "phi is updated as phi + v_new: that is classical momentum (the heavy ball). "
                "The stored Nesterov form adds mu * v_new - lr * g."),
        Mistake(lambda phi, v, g, lr, mu: phi + (1 + mu) * _v_new(phi, v, g, lr, mu),
                "phi is updated as phi + (1 + mu) * v_new: the term -mu * v (the old "
                "velocity) is missing; phi_new = phi - mu * v + (1 + mu) * v_new."),
        Mistake(lambda phi, v, g, lr, mu: phi + mu * _v_new(phi, v, g, lr, mu),
                "phi is updated as phi + mu * v_new: the gradient step -lr * g is missing."),
        Mistake(lambda phi, v, g, lr, mu: phi + mu * v - lr * g,
                "phi is updated with the old velocity, phi + mu * v - lr * g: use the new one, "
                "phi + mu * v_new - lr * g."),
        Mistake(lambda phi, v, g, lr, mu: phi + mu * (mu * v + lr * g) + lr * g,
                "phi moves uphill: the velocity update is v_new = mu * v - lr * g (minus the "
                "gradient)."),
        Mistake(lambda phi, v, g, lr, mu: phi - mu * v + _v_new(phi, v, g, lr, mu),
                "phi is the look-ahead form's theta_new = theta + v_new with theta = phi - "
                "mu * v, i.e. the point without the look-ahead. Return the stored variable "
                "phi_new = theta_new + mu * v_new."),
    ),
)

_NESTEROV_V = Output(
    "v",
    mistakes=(
        Mistake(lambda phi, v, g, lr, mu: mu * v + lr * g,
                "v has the wrong sign of the gradient term: v_new = mu * v - lr * g, so that "
                "the velocity points downhill."),
        Mistake(lambda phi, v, g, lr, mu: mu * v + g,
                "v is updated as mu * v + g: that is torch's momentum buffer b, without the "
                "learning rate. The book's velocity is v = -lr * b: v_new = mu * v - lr * g."),
        Mistake(lambda phi, v, g, lr, mu: mu * v - (1 - mu) * g,
                "v is an average with weights mu and 1 - mu (as Adam's first moment): momentum "
                "adds the full step, v_new = mu * v - lr * g."),
        Mistake(lambda phi, v, g, lr, mu: mu * v - (1 - mu) * lr * g,
                "v damps the gradient by 1 - mu (torch's dampening): the book's momentum has "
                "none, v_new = mu * v - lr * g."),
        Mistake(lambda phi, v, g, lr, mu: v,
                "v is returned unchanged: return the new velocity v_new = mu * v - lr * g."),
    ),
)


def check_nesterov_step(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(phi, v, g, lr, mu) -> (phi, v)``, one step of Nesterov momentum in the
    stored form ``v_new = mu v - lr g``, ``phi_new = phi + mu v_new - lr g``.

    ``phi``: the stored parameters (the look-ahead point ``theta + mu v``);
    ``v``: the velocity; ``g``: the gradient at ``phi``, all of one shape;
    ``lr`` > 0 and ``mu`` in [0, 1) floats. Compared with
    :class:`dlnotes.optim.SGD` with ``nesterov=True`` (torch's form, whose
    buffer ``b`` is ``-v / lr``) on fresh random states: a few steps in, the
    first step (v = 0), a matrix parameter, mu = 0.5 and 0.99, a large lr, one
    coordinate. ``seed``: int >= 0 (the same cases every time) or None.
    """
    callable_(fn, "fn")
    cases = _nesterov_cases(rng(seed))
    return _run("check_nesterov_step", fn, cases, _judge_tuple((_NESTEROV_PHI, _NESTEROV_V)),
                batch=False)


# --- chapter 05: clipping by the global norm ------------------------------------------------


def _global(gW, gb):
    return np.sqrt(np.sum(gW * gW) + np.sum(gb * gb))


def _clip_cases(gen: np.random.Generator) -> list[Case]:
    K, d = int(gen.integers(2, 4)), int(gen.integers(4, 7))
    k = int(gen.integers(3, 5))
    specs = [((K, d), 1.0, 0.2, "a spike: the global norm is 5 times c"),
             ((K, d), 1.0, 3.0, "a small gradient: the global norm is below c"),
             ((k, k), 1.0, 0.5, "a square W, the norm is twice c"),
             ((K, d), 1e6, 1e-6, "an exploding gradient, entries of size 1e+06"),
             ((K, d), 1e-6, 0.5, "entries of size 1e-06, clipped"),
             ((K, d), 1.0, None, "a zero bias gradient, W's alone above c"),
             ((1, d), 1.0, 0.3, "one output, W of shape (1, d)")]
    cases = []
    for (rows, cols), scale, frac, label in specs:
        gW = scale * gen.standard_normal((rows, cols))
        gb = scale * gen.standard_normal(rows) if frac is not None else np.zeros(rows)
        norm = _global(gW, gb)
        c = float(f"{(frac if frac is not None else 0.25) * norm:.2g}")
        clipped, _ = optim.clip_grad_norm([gW, gb], c, eps=0.0)
        cases.append(Case({"gW": gW, "gb": gb, "c": c}, tuple(clipped),
                          {"K": rows, "d": cols}, label))
    return cases


def _per_tensor(g, c):
    return g * min(1.0, c / np.linalg.norm(g)) if np.any(g) else g


def _rescaled(gW, gb, c):
    f = c / _global(gW, gb)
    return gW * f, gb * f


def _inverted(gW, gb, c):
    f = max(1.0, c / _global(gW, gb))
    return gW * f, gb * f


def _torch_eps(gW, gb, c):
    f = min(1.0, c / (_global(gW, gb) + 1e-6))
    return gW * f, gb * f


def _clip_output(name: str, i: int) -> Output:
    other = "gb" if name == "gW" else "gW"
    return Output(
        name, None,
        mistakes=(
            Mistake(lambda gW, gb, c: _per_tensor(gW if i == 0 else gb, c),
                    f"{name} is clipped by its own norm (per-tensor clipping). Clipping by the "
                    f"global norm uses one norm for all the gradients together, "
                    f"sqrt(||gW||^2 + ||gb||^2), and scales {name} and {other} by the same "
                    f"factor, so that the direction of the whole gradient is kept."),
            Mistake(lambda gW, gb, c: np.clip(gW if i == 0 else gb, -c, c),
                    f"{name} is clipped by value (every entry into [-c, c]), which changes the "
                    f"direction of the gradient. Rescale the whole gradient instead: "
                    f"g * min(1, c / ||g||)."),
            Mistake(lambda gW, gb, c: _rescaled(gW, gb, c)[i],
                    f"{name} is always rescaled to norm c, also when the gradient is already "
                    f"shorter than c. Clipping only ever shrinks: the factor is "
                    f"min(1, c / ||g||)."),
            Mistake(lambda gW, gb, c: _inverted(gW, gb, c)[i],
                    f"{name} is scaled by max(1, c / ||g||): that enlarges small gradients and "
                    f"leaves large ones alone. The factor is min(1, c / ||g||)."),
            Mistake(lambda gW, gb, c: (gW if i == 0 else gb) * c / _global(gW, gb) ** 2,
                    f"{name} is divided by the squared global norm: divide by the norm "
                    f"itself, sqrt(||gW||^2 + ||gb||^2)."),
        ),
        shape_hints={("d",): "the gradient of one row of W. Return each gradient in the "
                             "shape it came in.",
                     ("K",): f"the shape of gb, not of {name}: return (gW, gb) in that order."},
    )


_CLIP = (_clip_output("gW", 0), _clip_output("gb", 1))


def _accepting_torch_eps(judge):
    """``judge``, but torch's convention (1e-6 added to the norm) passes as well."""
    def wrapped(got, case: Case) -> str | None:
        problem = judge(got, case)
        if problem is None or not isinstance(got, (tuple, list)) or len(got) != 2:
            return problem
        try:
            alt = _torch_eps(*case.args.values())
            ok = all(np.shape(a) == b.shape and rel_error(np.asarray(a, dtype=float), b) <= RTOL
                     for a, b in zip(got, alt))
        except (TypeError, ValueError):
            return problem
        return None if ok else problem
    return wrapped


def check_clip_grad_norm(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(gW, gb, c) -> (gW, gb)``, clipping the gradients of a weight matrix and
    a bias by their global norm.

    ``gW (K, d)`` and ``gb (K,)``: the gradients of one layer's parameters;
    ``c > 0``: the threshold. Both are scaled by ``min(1, c / ||g||)`` with
    ``||g|| = sqrt(||gW||^2 + ||gb||^2)``; torch's ``clip_grad_norm_``, which
    adds 1e-6 to the norm, passes too. Compared with
    :func:`dlnotes.optim.clip_grad_norm` on fresh random gradients: a spike, a
    gradient below c (returned unchanged), a square W, entries of size 1e6 and
    1e-6, a zero bias gradient, one output. The reader's function must not
    change its arguments in place.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _clip_cases(rng(seed))
    return _run("check_clip_grad_norm", fn, cases, _accepting_torch_eps(_judge_tuple(_CLIP)),
                batch=False)
