"""Labs of chapter 05 (one Adam step, one Nesterov step, clipping by the global norm):
right answers pass, catalogued wrong answers are named, no answer leaks.

Every reference solution is written independently of the package: plain NumPy, Python
loops, torch.optim (with its state set by hand) and torch.nn.utils, so a wrong reference
inside a lab would fail these tests.
"""

import math
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes._checks import rng
from tools import assert_mistakes_are_wrong, stub
from tools import lenient  # noqa: F401 (autouse fixtures)
from dlnotes.labs import optimizers as L



# --- independent reference solutions: Adam --------------------------------------------


def adam_numpy(theta, g, m, s, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g * g
    return theta - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps), m, s


def adam_paper_efficient(theta, g, m, s, t, lr, b1, b2, eps):
    """Kingma and Ba's reordering (end of their section 2): alpha_t folds both corrections
    into the rate, and eps_hat = eps sqrt(1 - b2^t) keeps it the same algorithm."""
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g * g
    alpha_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    return theta - alpha_t * m / (np.sqrt(s) + eps * math.sqrt(1 - b2**t)), m, s


def adam_torch(theta, g, m, s, t, lr, b1, b2, eps):
    p = torch.nn.Parameter(torch.tensor(theta))
    opt = torch.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    if t > 1:  # torch counts the steps already taken
        opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": torch.tensor(m),
                        "exp_avg_sq": torch.tensor(s)}
    p.grad = torch.tensor(g)
    opt.step()
    st_ = opt.state[p]
    return p.detach(), st_["exp_avg"], st_["exp_avg_sq"]


def adam_loops(theta, g, m, s, t, lr, b1, b2, eps):
    out = [np.empty_like(theta) for _ in range(3)]
    for j in np.ndindex(theta.shape):
        mj = b1 * float(m[j]) + (1 - b1) * float(g[j])
        sj = b2 * float(s[j]) + (1 - b2) * float(g[j]) ** 2
        step = lr * (mj / (1 - b1**t)) / (math.sqrt(sj / (1 - b2**t)) + eps)
        out[0][j], out[1][j], out[2][j] = float(theta[j]) - step, mj, sj
    return tuple(out)


# --- independent reference solutions: Nesterov ----------------------------------------


def nesterov_numpy(phi, v, g, lr, mu):
    v = mu * v - lr * g
    return phi + mu * v - lr * g, v


def nesterov_lecture(phi, v, g, lr, mu):
    """The CS231n lecture's form: phi += -mu v_prev + (1 + mu) v."""
    v_prev, v = v, mu * v - lr * g
    return phi - mu * v_prev + (1 + mu) * v, v


def nesterov_look_ahead(phi, v, g, lr, mu):
    """Through the look-ahead form: theta = phi - mu v, and g is the gradient at
    theta + mu v = phi."""
    theta = phi - mu * v
    v = mu * v - lr * g
    theta = theta + v
    return theta + mu * v, v


def nesterov_torch(phi, v, g, lr, mu):
    p = torch.nn.Parameter(torch.tensor(phi))
    opt = torch.optim.SGD([p], lr=lr, momentum=mu, nesterov=True)
    opt.state[p] = {"momentum_buffer": torch.tensor(-v / lr)}  # v = -lr * b
    p.grad = torch.tensor(g)
    opt.step()
    return p.detach(), -lr * opt.state[p]["momentum_buffer"]


# --- independent reference solutions: clipping ----------------------------------------


def clip_numpy(gW, gb, c):
    norm = np.sqrt(np.sum(gW**2) + np.sum(gb**2))
    f = min(1.0, c / norm)
    return gW * f, gb * f


def clip_concat(gW, gb, c):
    g = np.concatenate([gW.ravel(), gb])
    g = g * min(1.0, c / np.linalg.norm(g))
    return g[:gW.size].reshape(gW.shape), g[gW.size:]


def clip_torch(gW, gb, c):
    ps = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.float64)) for a in (gW, gb)]
    for p, a in zip(ps, (gW, gb)):
        p.grad = torch.tensor(a)
    torch.nn.utils.clip_grad_norm_(ps, c)  # adds 1e-6 to the norm
    return ps[0].grad, ps[1].grad


def clip_loops(gW, gb, c):
    total = sum(float(x) ** 2 for x in gW.ravel()) + sum(float(x) ** 2 for x in gb)
    norm = math.sqrt(total)
    if norm <= c:
        return gW.copy(), gb.copy()
    return gW * (c / norm), gb * (c / norm)


RIGHT = {
    L.check_adam_step: [adam_numpy, adam_paper_efficient, adam_torch, adam_loops],
    L.check_nesterov_step: [nesterov_numpy, nesterov_lecture, nesterov_look_ahead,
                            nesterov_torch],
    L.check_clip_grad_norm: [clip_numpy, clip_concat, clip_torch, clip_loops],
}
CASES = {
    L.check_adam_step: L._adam_cases,
    L.check_nesterov_step: L._nesterov_cases,
    L.check_clip_grad_norm: L._clip_cases,
}


@pytest.mark.parametrize("check", list(RIGHT))
def test_the_cases_hold_the_reference_values(check):
    """Each case's expected output is what an independent reference computes from its
    inputs (so the case generators and the package agree with torch)."""
    ref = {L.check_adam_step: adam_torch, L.check_nesterov_step: nesterov_torch,
           L.check_clip_grad_norm: clip_loops}[check]  # torch's clipping adds 1e-6
    for case in CASES[check](rng(3)):
        got = ref(*case.args.values())
        for a, b in zip(got, case.expected):
            np.testing.assert_allclose(np.asarray(a), b, rtol=1e-12, atol=1e-300)


def test_adam_cases_cover_the_edges():
    cases = L._adam_cases(rng(0))
    ts = [c.args["t"] for c in cases]
    assert 1 in ts and max(ts) >= 1000
    first = next(c for c in cases if c.args["t"] == 1)
    assert not np.any(first.args["m"]) and not np.any(first.args["s"])
    sizes = [np.max(np.abs(c.args["g"])) for c in cases]
    assert max(sizes) > 1e3 and min(sizes) < 1e-5
    assert any(c.args["g"].ndim == 2 for c in cases)
    assert any(c.args["theta"].size == 1 for c in cases)
    assert any(c.args["beta1"] != 0.9 for c in cases)
    # in the small-gradient case the place of eps changes the answer by far more than RTOL
    small = next(c for c in cases if np.max(np.abs(c.args["g"])) < 1e-5)
    inside = L._adam_theta(L._right, L._right, sqrt_inside=True)(*small.args.values())
    assert np.max(np.abs(inside - small.expected[0])) > 1e-3 * np.max(np.abs(small.args["theta"]
                                                                            - small.expected[0]))


def test_nesterov_and_clip_cases_cover_the_edges():
    cases = L._nesterov_cases(rng(0))
    assert any(not np.any(c.args["v"]) for c in cases)
    assert {c.args["mu"] for c in cases} >= {0.5, 0.9, 0.99}
    assert any(c.args["phi"].ndim == 2 for c in cases)
    clips = L._clip_cases(rng(0))
    ratios = [np.sqrt(np.sum(c.args["gW"] ** 2) + np.sum(c.args["gb"] ** 2)) / c.args["c"]
              for c in clips]
    assert min(ratios) < 1 < max(ratios)
    assert any(not np.any(c.args["gb"]) for c in clips)
    sizes = [np.max(np.abs(c.args["gW"])) for c in clips]
    assert max(sizes) > 1e5 and min(sizes) < 1e-5


def test_fresh_cases_without_a_seed_and_the_same_with_one():
    a, b = L._adam_cases(rng(None)), L._adam_cases(rng(None))
    assert not np.array_equal(a[0].args["g"], b[0].args["g"])
    c, d = L._adam_cases(rng(5)), L._adam_cases(rng(5))
    assert all(np.array_equal(x.expected[0], z.expected[0]) for x, z in zip(c, d))


# --- the catalogue of wrong answers ---------------------------------------------------


def _adam(theta=None, m=None, s=None):
    """The right Adam step with some outputs replaced by wrong ones."""
    def fn(*args):
        right = adam_numpy(*args)
        return tuple(r if f is None else f(*args) for r, f in zip(right, (theta, m, s)))
    return fn


def _step(corr_m=lambda b, t: 1 - b**t, corr_s=lambda b, t: 1 - b**t, inside=False,
          sign=-1.0, numerator="m", old=False, power=0.5):
    """theta after an Adam step written with one deliberate change."""
    def theta(th, g, m, s, t, lr, b1, b2, eps):
        m1, s1 = (m, s) if old else (b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g * g)
        mh, sh = m1 / corr_m(b1, t), s1 / corr_s(b2, t)
        den = (sh + eps) ** 0.5 if inside else sh**power + eps
        return th + sign * lr * (g if numerator == "g" else mh) / den
    return theta


def adam_in_place(theta, g, m, s, t, lr, b1, b2, eps):
    m *= b1
    m += (1 - b1) * g
    s *= b2
    s += (1 - b2) * g * g
    return theta - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps), m, s


def nesterov_in_place(phi, v, g, lr, mu):
    v *= mu
    v -= lr * g
    phi += mu * v - lr * g
    return phi, v


def clip_in_place(gW, gb, c):
    f = min(1.0, c / np.sqrt(np.sum(gW**2) + np.sum(gb**2)))
    gW *= f
    gb *= f
    return gW, gb


IN_PLACE = {"adam_in_place": adam_in_place, "nesterov_in_place": nesterov_in_place,
            "clip_in_place": clip_in_place}


WRONG_ADAM = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("no correction", _adam(theta=_step(lambda b, t: 1, lambda b, t: 1)),
     r"without bias correction.*\(m, s are right"),
    ("m only", _adam(theta=_step(corr_s=lambda b, t: 1)), r"corrected m but an uncorrected s"),
    ("s only", _adam(theta=_step(corr_m=lambda b, t: 1)), r"corrected s but an uncorrected m"),
    ("eps inside", _adam(theta=_step(inside=True)), r"eps inside the square root"),
    ("t - 1", _adam(theta=_step(lambda b, t: 1 - b ** (t - 1), lambda b, t: 1 - b ** (t - 1))),
     r"beta\*\*\(t - 1\): t counts steps from 1"),
    ("t + 1", _adam(theta=_step(lambda b, t: 1 - b ** (t + 1), lambda b, t: 1 - b ** (t + 1))),
     r"beta\*\*\(t \+ 1\)"),
    ("old moments", _adam(theta=_step(old=True)), r"old moments m and s"),
    ("RMSProp numerator", _adam(theta=_step(numerator="g")), r"RMSProp with bias correction"),
    ("uphill", _adam(theta=_step(sign=1.0)), r"moves uphill"),
    ("no sqrt", _adam(theta=_step(power=1.0)), r"not by sqrt\(s_hat\) \+ eps"),
    ("swapped m", _adam(m=lambda th, g, m, s, t, lr, b1, b2, eps: (1 - b1) * m + b1 * g),
     r"m mixes the old value.*weights swapped.*\(theta, s are right"),
    ("stored m_hat", lambda *a: (adam_numpy(*a)[0], adam_numpy(*a)[1] / (1 - a[6] ** a[4]),
                                 adam_numpy(*a)[2]), r"m is returned bias-corrected"),
    ("sgd buffer", _adam(m=lambda th, g, m, s, t, lr, b1, b2, eps: b1 * m + g),
     r"momentum buffer of SGD"),
    ("|g| in s", _adam(s=lambda th, g, m, s, t, lr, b1, b2, eps: b2 * s + (1 - b2) * abs(g)),
     r"s averages \|g\| instead of g\*\*2"),
    ("stored s_hat", lambda *a: (*adam_numpy(*a)[:2], adam_numpy(*a)[2] / (1 - a[7] ** a[4])),
     r"s is returned bias-corrected"),
    ("s unchanged", _adam(s=lambda th, g, m, s, t, lr, b1, b2, eps: s),
     r"s is returned unchanged"),
    ("in place", "adam_in_place", r"changed its argument m in place"),
    ("two outputs", lambda *a: adam_numpy(*a)[:2], r"tuple of 2 items.*3 arrays"),
    ("float32", lambda *a: tuple(x.astype(np.float32) for x in adam_numpy(*a)),
     r"low precision \(float32"),
]

WRONG_NESTEROV = [
    ("stub", stub, r"not written yet"),
    ("heavy ball", lambda phi, v, g, lr, mu: (phi + mu * v - lr * g, mu * v - lr * g),
     r"classical momentum.*\(v is right"),
    ("no -mu v", lambda phi, v, g, lr, mu: (phi + (1 + mu) * (mu * v - lr * g), mu * v - lr * g),
     r"the term -mu \* v \(the old velocity\) is missing"),
    ("no gradient", lambda phi, v, g, lr, mu: (phi + mu * (mu * v - lr * g), mu * v - lr * g),
     r"the gradient step -lr \* g is missing"),
    ("returns theta", lambda phi, v, g, lr, mu: (phi - mu * v + (mu * v - lr * g),
                                                 mu * v - lr * g),
     r"without the look-ahead"),
    ("uphill", lambda phi, v, g, lr, mu: (phi + mu * (mu * v + lr * g) + lr * g, mu * v + lr * g),
     r"(?s)phi moves uphill.*\nv has the wrong sign"),
    ("torch buffer", lambda phi, v, g, lr, mu: (nesterov_numpy(phi, v, g, lr, mu)[0], mu * v + g),
     r"torch's momentum buffer b.*\(phi is right"),
    ("adam average", lambda phi, v, g, lr, mu: (nesterov_numpy(phi, v, g, lr, mu)[0],
                                                mu * v - (1 - mu) * g),
     r"weights mu and 1 - mu"),
    ("dampening", lambda phi, v, g, lr, mu: (nesterov_numpy(phi, v, g, lr, mu)[0],
                                             mu * v - (1 - mu) * lr * g),
     r"dampening"),
    ("v unchanged", lambda phi, v, g, lr, mu: (nesterov_numpy(phi, v, g, lr, mu)[0], v),
     r"v is returned unchanged"),
    ("in place", "nesterov_in_place", r"changed its argument phi in place"),
    ("wrong order", lambda *a: nesterov_numpy(*a)[::-1], r"(?s)phi .*\nv "),
    ("one array", lambda *a: nesterov_numpy(*a)[0], r"returned a NumPy array.*tuple of 2"),
]


def _clip(fW=None, fb=None):
    def fn(gW, gb, c):
        right = clip_numpy(gW, gb, c)
        return (right[0] if fW is None else fW(gW, gb, c),
                right[1] if fb is None else fb(gW, gb, c))
    return fn


WRONG_CLIP = [
    ("stub", stub, r"not written yet"),
    ("per tensor", lambda gW, gb, c: (L._per_tensor(gW, c), L._per_tensor(gb, c)),
     r"(?s)gW is clipped by its own norm.*\ngb is clipped by its own norm"),
    ("by value", lambda gW, gb, c: (np.clip(gW, -c, c), np.clip(gb, -c, c)),
     r"clipped by value.*changes the\s+direction"),
    ("always rescale", lambda gW, gb, c: L._rescaled(gW, gb, c), r"always rescaled to norm c"),
    ("max", lambda gW, gb, c: L._inverted(gW, gb, c), r"max\(1, c / \|\|g\|\|\)"),
    ("squared norm", _clip(lambda gW, gb, c: gW * min(1, c / (np.sum(gW**2) + np.sum(gb**2))),
                           lambda gW, gb, c: gb * min(1, c / (np.sum(gW**2) + np.sum(gb**2)))),
     r"squared global norm|wrong values|factor"),
    ("gW only norm", _clip(fb=lambda gW, gb, c: gb * min(1, c / np.linalg.norm(gW))),
     r"gb has the right shape but wrong values|gb is off by a constant factor"),
    ("bias not clipped", _clip(fb=lambda gW, gb, c: gb.copy()),
     r"gb .*(factor|wrong values).*\(gW is right"),
    ("in place", "clip_in_place", r"changed its argument gW in place"),
    ("swapped", lambda gW, gb, c: clip_numpy(gW, gb, c)[::-1], r"wrong order|shape of gb"),
    ("concatenated", lambda gW, gb, c: clip_concat(gW, gb, c)[0],
     r"returned a NumPy array.*tuple of 2"),
    ("list of one", lambda gW, gb, c: [clip_numpy(gW, gb, c)[0]], r"list of 1 items"),
]

WRONG = [(check, name, IN_PLACE.get(fn, fn) if isinstance(fn, str) else fn, pattern)
         for check, table in [(L.check_adam_step, WRONG_ADAM),
                              (L.check_nesterov_step, WRONG_NESTEROV),
                              (L.check_clip_grad_norm, WRONG_CLIP)]
         for name, fn, pattern in table]


def test_a_zero_based_counter_at_the_first_step_gets_a_hint():
    """Where 1 - beta**(t - 1) = 0 the result is NaN or inf, and the message says why."""
    case = next(c for c in L._adam_cases(rng(0)) if c.args["t"] == 1)
    zero_based = _adam(theta=_step(lambda b, t: 1 - b ** (t - 1), lambda b, t: 1 - b ** (t - 1)))
    judge = L._nan_at_first_step(L._judge_tuple((L._ADAM_THETA, L._ADAM_M, L._ADAM_S)))
    with np.errstate(all="ignore"):
        message = judge(zero_based(*case.args.values()), case)
    assert "NaN or inf" in message and "At t = 1, 1 - beta**(t - 1) = 0" in message
    assert judge(adam_numpy(*case.args.values()), case) is None


def test_the_catalogued_mistakes_differ_from_the_right_answer():
    """Each formula in the catalogues is wrong on some case (else it could never be
    named), and none is matched by a right answer."""
    for check, outs in [(L.check_adam_step, (L._ADAM_THETA, L._ADAM_M, L._ADAM_S)),
                        (L.check_nesterov_step, (L._NESTEROV_PHI, L._NESTEROV_V)),
                        (L.check_clip_grad_norm, L._CLIP)]:
        assert_mistakes_are_wrong(outs, CASES[check](rng(0)))


# --- properties -----------------------------------------------------------------------

FACTORS = st.floats(-1e3, 1e3).filter(lambda c: abs(c - 1) > 1e-4)


@given(c=FACTORS, seed=st.integers(0, 2**32))
def test_any_wrong_step_size_is_caught(c, seed):
    """An Adam step of c times the right size, or a Nesterov step whose gradient term is
    scaled by c, never passes."""
    def adam_scaled(theta, *rest):
        new, m, s = adam_numpy(theta, *rest)
        return theta + c * (new - theta), m, s

    def nesterov_scaled(phi, v, g, lr, mu):
        return nesterov_numpy(phi, v, c * g, lr, mu)

    assert not L.check_adam_step(adam_scaled, seed=seed).passed
    assert not L.check_nesterov_step(nesterov_scaled, seed=seed).passed


@given(f=st.floats(0.0, 10.0).filter(lambda f: abs(f - 1) > 1e-4), seed=st.integers(0, 2**32))
def test_any_wrong_clip_factor_is_caught(f, seed):
    def scaled(gW, gb, c):
        a, b = clip_numpy(gW, gb, c)
        return f * a, f * b

    assert not L.check_clip_grad_norm(scaled, seed=seed).passed


@given(seed=st.integers(0, 2**32), i=st.integers(0, 100), delta=st.floats(1e-6, 1e3))
def test_one_wrong_entry_is_detected(seed, i, delta):
    def one_off(*args):
        theta, m, s = adam_numpy(*args)
        theta = theta.copy()
        theta.flat[i % theta.size] += delta * np.linalg.norm(theta)
        return theta, m, s

    assert not L.check_adam_step(one_off, seed=seed).passed
