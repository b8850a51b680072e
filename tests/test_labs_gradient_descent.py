"""Self-checking labs of chapter 04: right answers pass, catalogued wrong answers are named,
no answer leaks.

The reference solutions are written independently of the package (NumPy, SciPy, torch,
a power iteration, the spectral radius of I - eta H), so a wrong reference inside a lab
would fail these tests.
"""

import numpy as np
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes._checks import rng
from tools import stub
from tools import lenient  # noqa: F401 (autouse fixtures)
from dlnotes.labs import gradient_descent as gd_labs



# --- independent reference solutions: step sizes ----------------------------------------


def steps_numpy(H):
    lam = np.linalg.eigvalsh(H)
    return 2 / lam[-1], 2 / (lam[0] + lam[-1]), (lam[-1] - lam[0]) / (lam[-1] + lam[0])


def steps_scipy(H):
    lam = scipy.linalg.eigh(H, eigvals_only=True)
    kappa = lam[-1] / lam[0]
    return 2 / lam[-1], 2 / (lam[0] + lam[-1]), (kappa - 1) / (kappa + 1)


def steps_torch(H):
    lam = torch.linalg.eigvalsh(torch.tensor(H))
    lo, hi = lam[0], lam[-1]
    return 2 / hi, 2 / (lo + hi), (hi - lo) / (hi + lo)


def steps_spectral_radius(H):
    """eta_best from the eigenvalues, the rate as the spectral radius of I - eta_best H."""
    lam = np.linalg.eigvals(H).real
    eta = 2 / (lam.min() + lam.max())
    rate = np.abs(np.linalg.eigvals(np.eye(len(H)) - eta * H)).max()
    return 2 / lam.max(), eta, rate


def steps_power_iteration(H):
    """lambda_max by power iteration, lambda_min from the largest eigenvalue of
    lambda_max I - H: no eigensolver for the extremes."""
    def top(A):
        v = np.ones(len(A)) / np.sqrt(len(A)) + np.arange(len(A)) * 1e-3
        for _ in range(5000):
            v = A @ v
            v /= np.linalg.norm(v)
        return v @ A @ v
    hi = top(H / np.abs(H).max()) * np.abs(H).max()
    lo = hi - top(hi * np.eye(len(H)) - H) if len(H) > 1 else hi
    return 2 / hi, 2 / (lo + hi), (hi - lo) / (hi + lo)


# --- independent reference solutions: epoch batches -------------------------------------


def epoch_numpy(n, batch_size):
    order = np.random.default_rng().permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def epoch_torch(n, batch_size):
    return list(torch.randperm(n).split(batch_size))


def epoch_loader(n, batch_size):
    loader = torch.utils.data.DataLoader(range(n), batch_size=batch_size, shuffle=True)
    return [b.numpy() for b in loader]


def epoch_array_split(n, batch_size):
    order = np.random.permutation(n)
    return np.array_split(order, range(batch_size, n, batch_size))


RIGHT = {
    gd_labs.check_step_sizes: [steps_numpy, steps_scipy, steps_torch, steps_spectral_radius,
                               steps_power_iteration],
    gd_labs.check_epoch_batches: [epoch_numpy, epoch_torch, epoch_loader, epoch_array_split],
}


def test_step_size_cases_cover_the_edges():
    cases = gd_labs._step_size_cases(rng(0))
    Hs = [c.args["H"] for c in cases]
    assert any(H.shape == (1, 1) for H in Hs)
    assert any(np.count_nonzero(H - np.diag(np.diag(H))) for H in Hs)  # rotated bowls
    assert any(np.array_equal(H, np.diag(np.diag(H))) and H.shape[0] > 1 for H in Hs)
    kappas = [np.linalg.cond(H) for H in Hs]
    assert max(kappas) > 1e5 and min(kappas) == 1.0
    sizes = [np.abs(H).max() for H in Hs]
    assert max(sizes) > 100 and min(sizes) < 0.1
    for H in Hs:
        np.testing.assert_array_equal(H, H.T)
        assert np.linalg.eigvalsh(H).min() > 0


def test_epoch_cases_cover_the_edges():
    pairs = [(c.args["n"], c.args["batch_size"]) for c in gd_labs._epoch_cases(rng(0))]
    assert any(n % B for n, B in pairs) and any(n % B == 0 and B < n for n, B in pairs)
    assert any(B == 1 for _, B in pairs) and any(B == n for n, B in pairs)
    assert any(B > n for n, B in pairs) and (1797, 64) in pairs
    labels = [c.label for c in gd_labs._epoch_cases(rng(0))]
    i = next(i for i, lab in enumerate(labels) if lab.startswith("the next epoch"))
    assert pairs[i] == pairs[i - 1]  # the reshuffle is judged against the epoch before


def test_fresh_cases_without_a_seed_and_the_same_with_one():
    a, b = gd_labs._step_size_cases(rng(5)), gd_labs._step_size_cases(rng(5))
    assert all(np.array_equal(x.args["H"], y.args["H"]) for x, y in zip(a, b))
    c, d = gd_labs._step_size_cases(rng(None)), gd_labs._step_size_cases(rng(None))
    assert not all(np.array_equal(x.args["H"], y.args["H"]) for x, y in zip(c, d))


# --- the catalogue of wrong answers -----------------------------------------------------


def _lam(H):
    lam = np.linalg.eigvalsh(H)
    return lam[0], lam[-1]


def _diag(H):
    return np.diag(H).min(), np.diag(H).max()


def _steps(eta_max=None, eta_best=None, rate=None):
    """The right answer with some outputs replaced by wrong ones."""
    def fn(H):
        right = steps_numpy(H)
        return tuple(r if f is None else f(H) for r, f in zip(right, (eta_max, eta_best, rate)))
    return fn


WRONG_STEPS = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("1/lmax", _steps(eta_max=lambda H: 1 / _lam(H)[1]),
     r"eta_max is off by a factor of 1/2\. 1 / lambda_max solves.*\(eta_best, rate are right"),
    ("2/lmin", _steps(eta_max=lambda H: 2 / _lam(H)[0]), r"eta_max equals 2 / lambda_min.*EVERY"),
    ("diagonal", lambda H: (2 / _diag(H)[1], 2 / sum(_diag(H)),
                            (_diag(H)[1] - _diag(H)[0]) / sum(_diag(H))),
     r"(?s)eta_max equals 2 / max\(diag H\).*rotated.*\neta_best equals 2 / \(min \+ max of "
     r"diag H\).*\nrate is computed from the diagonal"),
    ("eta_best 1/lmax", _steps(eta_best=lambda H: 1 / _lam(H)[1]),
     r"eta_best equals 1 / lambda_max.*1 - 1/kappa"),
    ("eta_best inverted", _steps(eta_best=lambda H: sum(_lam(H)) / 2),
     r"eta_best equals \(lambda_min \+ lambda_max\) / 2.*reciprocal"),
    ("eta_best 4/", _steps(eta_best=lambda H: 4 / sum(_lam(H))),
     r"eta_best is off by a factor of 2\. Solve 1 - eta lambda_min"),
    ("rate 1 - 1/k", _steps(rate=lambda H: 1 - _lam(H)[0] / _lam(H)[1]),
     r"rate equals 1 - 1/kappa, the rate at eta = 1 / lambda_max"),
    ("rate squared", _steps(rate=lambda H: ((_lam(H)[1] - _lam(H)[0]) / sum(_lam(H))) ** 2),
     r"rate equals \(\(kappa - 1\) / \(kappa \+ 1\)\)\^2.*LOSS"),
    ("rate inverted", _steps(rate=lambda H: sum(_lam(H)) / (_lam(H)[1] - _lam(H)[0])),
     r"rate equals \(kappa \+ 1\) / \(kappa - 1\), the reciprocal"),
    ("rate 1/kappa", _steps(rate=lambda H: _lam(H)[0] / _lam(H)[1]), r"rate equals 1 / kappa"),
    ("sign", lambda H: tuple(-v for v in steps_numpy(H)),
     r"(?s)eta_max has the wrong sign.*\neta_best has the wrong sign.*\nrate has the wrong sign"),
    ("two numbers", lambda H: steps_numpy(H)[:2], r"tuple of 2 items.*tuple of 3 arrays"),
    ("one array", lambda H: np.array(steps_numpy(H)),
     r"returned a NumPy array of shape \(3,\).*tuple of 3 arrays"),
    ("eigenvalues returned", _steps(eta_max=lambda H: np.linalg.eigvalsh(H)),
     r"eta_max has shape \(\d,\) = \(P,\), but should have shape \(\): one number per "
     r"eigenvalue"),
    ("float32", lambda H: tuple(np.float32(v) for v in steps_numpy(H)), r"low precision"),
    ("in place", lambda H: steps_numpy(H.__imul__(2.0) / 2.0),
     r"changed its argument H in place"),
    ("None", _steps(rate=lambda H: None), r"rate is None.*return"),
    ("raises", lambda H: np.linalg.cholesky(H - 2 * np.abs(H).max() * np.eye(len(H))),
     r"raised LinAlgError"),
    ("noise", _steps(eta_best=lambda H: 2 / sum(_lam(H)) * 1.0001 + 1e-9),
     r"eta_best is off by a constant factor: it is about 1\.0001 times"),
]


def _perm(n):
    return np.random.default_rng().permutation(n)


def _cut(order, B):
    return [order[i:i + B] for i in range(0, len(order), B)]


def _batch_shuffled(n, B):
    batches = _cut(np.arange(n), B)
    np.random.default_rng().shuffle(batches)
    return batches


WRONG_EPOCH = [
    ("stub", stub, r"not written yet"),
    ("stored order", lambda n, B: _cut(np.arange(n), B), r"stored order: nothing was shuffled"),
    ("fixed seed", lambda n, B: _cut(np.random.default_rng(0).permutation(n), B),
     r"case 2 of \d+ FAILED \(the next epoch.*same order.*default_rng\(0\)"),
    ("with replacement", lambda n, B: [np.random.default_rng().integers(0, n, min(B, n - i))
                                       for i in range(0, n, B)],
     r"appear more than once and \d+ never appear.*without replacement"),
    ("drop last", lambda n, B: _cut(_perm(n), B)[:n // B] if n % B else _cut(_perm(n), B),
     r"full batches and dropped the last \d+ example\(s\).*drop_last=True"),
    ("array_split", lambda n, B: np.array_split(_perm(n), -(-n // B)),
     r"The batches hold .*np\.array_split makes batches of nearly equal size"),
    ("batches shuffled", _batch_shuffled, r"shuffled the order of the batches, not the examples"),
    ("2-D array", lambda n, B: _perm(n).reshape(-1, B),
     r"raised ValueError|returned a NumPy array"),
    ("generator", lambda n, B: (b for b in _cut(_perm(n), B)), r"generator \(wrap it in list"),
    ("masks", lambda n, B: [np.isin(np.arange(n), b) for b in _cut(_perm(n), B)],
     r"batches\[0\] is a boolean mask.*np\.flatnonzero"),
    ("floats", lambda n, B: [b.astype(float) for b in _cut(_perm(n), B)],
     r"batches\[0\] has dtype float64, but indices must be integers"),
    ("1-based", lambda n, B: [b + 1 for b in _cut(_perm(n), B)],
     r"holds the index \d+, outside range\(n\).*counted from 0"),
    ("too many", lambda n, B: _cut(_perm(n), max(B - 1, 1)),
     r"returned \d+ batches, but n = \d+ examples in batches of \d+ make"),
    ("padded", lambda n, B: _cut(np.concatenate([_perm(n), _perm(n)[:(-n) % B]]), B),
     r"appear more than once"),
    ("one array", lambda n, B: _perm(n), r"returned a NumPy array of shape.*list of 1-D index"),
    ("None", lambda n, B: None, r"returned a NoneType"),
    ("empty batch", lambda n, B: [np.array([], dtype=int)] + _cut(_perm(n), B),
     r"batches\[0\] is empty"),
]

WRONG = ([(gd_labs.check_step_sizes, *w) for w in WRONG_STEPS]
         + [(gd_labs.check_epoch_batches, *w) for w in WRONG_EPOCH])


def test_a_rotated_bowl_is_what_catches_the_diagonal_shortcut():
    def diagonal(H):
        d = np.diag(H)
        return 2 / d.max(), 2 / (d.min() + d.max()), (d.max() - d.min()) / (d.max() + d.min())

    result = gd_labs.check_step_sizes(diagonal, seed=0)
    assert result.cases == 2 and "rotated" in result.message  # case 1 is diagonal: it passes


def test_a_fixed_seed_fails_only_on_the_second_epoch():
    result = gd_labs.check_epoch_batches(lambda n, B: _cut(np.random.default_rng(5)
                                                           .permutation(n), B), seed=0)
    assert result.cases == 2


def test_small_epochs_are_not_judged_on_their_order():
    """With n < 20 the identity order is a plausible random draw: not called unshuffled."""
    judge = gd_labs._epoch_judge()
    case = next(c for c in gd_labs._epoch_cases(rng(0)) if c.args["n"] == 3)
    assert judge([np.array([0, 1]), np.array([2])], case) is None


# --- properties -----------------------------------------------------------------------

FACTORS = st.floats(-1e6, 1e6).filter(lambda c: abs(c) > 1e-6 and abs(c - 1) > 1e-3)


@given(c=FACTORS, which=st.integers(0, 1), seed=st.integers(0, 2**32))
def test_any_constant_factor_on_a_step_size_is_detected(c, which, seed):
    def scaled(H):
        out = list(steps_numpy(H))
        out[which] = c * out[which]
        return tuple(out)

    result = gd_labs.check_step_sizes(scaled, seed=seed)
    assert not result.passed
    assert "factor" in result.message and "wrong values" not in result.message
    assert ("wrong sign" in result.message) == (c < 0)


@given(seed=st.integers(0, 2**32), which=st.integers(0, 2), rel=st.floats(1e-7, 1e3))
def test_one_slightly_wrong_number_never_passes(seed, which, rel):
    def off(H):
        out = list(steps_numpy(H))
        out[which] = out[which] + rel * max(abs(out[which]), 1e-3)
        return tuple(out)

    assert not gd_labs.check_step_sizes(off, seed=seed).passed


@given(seed=st.integers(0, 2**32), extra=st.integers(1, 3))
def test_any_repeated_example_is_detected(seed, extra):
    """Replacing a few examples of the last batch by repeats is always caught."""
    def repeats(n, B):
        batches = epoch_numpy(n, B)
        last = batches[-1].copy()
        k = min(extra, last.size)
        if len(batches) > 1:
            last[:k] = batches[0][:k]
        else:
            last[:k] = last[-1]
            if last.size == 1:
                last = np.concatenate([last, last])
        batches[-1] = last
        return batches

    result = gd_labs.check_epoch_batches(repeats, seed=seed)
    assert not result.passed and "more than once" in result.message
