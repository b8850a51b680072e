"""Programming labs that check themselves.

A lab is a stub that the reader fills in and a check that runs the reader's
function on fresh random inputs of several shapes (a typical batch, a batch of
one, more features than examples, non-square matrices, small and large
entries), compares each result with the package's tested reference, and says
in words what is wrong: not written yet, an exception, the wrong type, the
wrong shape, a transpose, a wrong sign, a factor such as the batch size N, a
result that is right for N > 1 but wrong for a batch of one, NaN or inf, or
plainly wrong values. A check never prints the reference's values.

Each check returns a :class:`LabResult` and prints its message. With the
environment variable ``DLNOTES_LABS=strict`` (the book build sets it) a failed
check raises ``AssertionError`` instead, so that a wrong solution cannot slip
into the book; unset, empty or ``DLNOTES_LABS=print`` only print, so that a
student notebook runs from top to bottom. ``seed`` means what it means
everywhere in dlnotes: an int >= 0 draws the same cases every time, ``None``
(the default) fresh ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlnotes import linreg, matcalc
from dlnotes._checks import callable_, integer, is_torch, rng, to_numpy
from dlnotes.gradcheck import rel_error

ENV_VAR = "DLNOTES_LABS"
RTOL = 1e-8  # a right answer: relative error (2-norm) below this, in float64
MATCH = 1e-6  # a recognised mistake: within this of one of the catalogued wrong answers


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabResult:
    """The verdict of a lab check.

    ``passed``: whether every case passed; ``message``: what the reader reads;
    ``cases``: how many cases were run, the failing one included.
    """

    passed: bool
    message: str
    cases: int

    def __post_init__(self):
        if not isinstance(self.passed, (bool, np.bool_)):
            raise TypeError(f"passed must be True or False, got {type(self.passed).__name__}")
        if not isinstance(self.message, str):
            raise TypeError(f"message must be a str, got {type(self.message).__name__}")
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "cases", integer(self.cases, "cases", 0))

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:  # short: the message itself has been printed already
        return f"LabResult(passed={self.passed}, cases={self.cases})"


def _strict() -> bool:
    """Whether ``$DLNOTES_LABS`` asks failed checks to raise (``strict``) or to print."""
    raw = os.environ.get(ENV_VAR, "")
    value = raw.strip().lower()
    if value not in ("", "print", "strict"):
        raise ValueError(f"${ENV_VAR} must be 'strict' or 'print' (unset or empty means "
                         f"'print'), got {raw!r}")
    return value == "strict"


def _report(result: LabResult, strict: bool) -> LabResult:
    """Print the message, or raise it in strict mode when the check failed."""
    if not result.passed and strict:
        raise AssertionError(result.message)
    print(result.message)
    return result


# --- cases and outputs ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input for the reader's function.

    ``args``: argument name -> value, in call order (arrays or ints);
    ``expected``: the reference output; ``dims``: named sizes such as
    ``{"N": 7, "p": 3}``, used to name shapes; ``label``: what the case tests.
    """

    args: dict
    expected: Any
    dims: dict
    label: str

    @property
    def N(self) -> int | None:
        """The batch size, if the case has one."""
        return self.dims.get("N")

    def inputs(self) -> str:
        """The inputs by shape (never by value): ``theta (3,), Phi (7, 3), y (7,)``."""
        return ", ".join(f"{k} {v.shape}" if isinstance(v, np.ndarray) else f"{k} = {v}"
                         for k, v in self.args.items())


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer: ``formula(*args)`` and what to tell a reader who gave it."""

    formula: Callable
    message: str


@dataclass(frozen=True)
class Output:
    """How to judge one array that the reader returns.

    ``name`` starts the sentences ("Your gradient", "dW"); ``variable`` is the
    variable whose shape a gradient must have (None when the output is not a
    gradient); ``mistakes`` are checked in order; ``shape_hints`` map a shape
    written with the case's size names, e.g. ``("N",)``, to advice;
    ``factor_hints`` override the advice for a factor such as ``"N"``.
    """

    name: str
    variable: str | None = None
    mistakes: tuple = ()
    shape_hints: dict = field(default_factory=dict)
    factor_hints: dict = field(default_factory=dict)
    sign_hint: str = ""


# --- the engine -------------------------------------------------------------------------


_PRECISION = "low precision"  # float32 may pass or fail by luck: no note about N = 1 then


class _NotWritten(Exception):
    """The reader's function still raises NotImplementedError."""


def _call(fn, case: Case):
    """``fn(*args)`` on copies of the inputs; returns ``(result, problem)``."""
    copies = [v.copy() if isinstance(v, np.ndarray) else v for v in case.args.values()]
    try:
        with np.errstate(all="ignore"):  # NaN and inf are reported, not warned about
            got = fn(*copies)
    except NotImplementedError:
        raise _NotWritten from None
    except Exception as err:  # noqa: BLE001 - any error of the reader's code is reported
        return None, _exception(err)
    for name, before, after in zip(case.args, case.args.values(), copies):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after):
            return None, (f"Your function changed its argument {name} in place (with -=, += "
                          f"or an assignment into it). The caller's {name} must not change: "
                          f"work on a copy ({name} = {name}.copy()) or build new arrays.")
    return got, None


def _exception(err: Exception) -> str:
    """The reader's exception by name and message, with a hint for shape errors."""
    text = str(err).strip().replace("\n", " ").rstrip(".")
    text = text if len(text) <= 300 else text[:297] + "..."
    hint = ""
    if any(w in text.lower() for w in ("shape", "dimension", "mismatch", "align", "broadcast")):
        hint = " Compare the shapes you multiply or add with the input shapes above."
    if "must be square" in text:
        hint = (" np.linalg.inv and np.linalg.solve need a square matrix, and a design matrix "
                "is N x p.")
    return f"Your function raised {type(err).__name__}{': ' + text if text else ''}.{hint}"


def _run(check: str, fn, cases: list[Case], judge: Callable, batch: bool = True) -> LabResult:
    """Run ``fn`` on ``cases`` in order; diagnose the first failure with ``judge``.
    ``batch``: whether the size N of the cases is a batch size, so that a failure
    only for N = 1 (or only for N > 1) deserves a note."""
    strict = _strict()  # a bad $DLNOTES_LABS is refused before the reader's code runs
    name = getattr(fn, "__name__", "fn")
    head = f"{check}({name})"
    for i, case in enumerate(cases):
        try:
            problem = _problem(fn, case, judge)
        except _NotWritten:
            return _report(LabResult(False, _not_written(head), i + 1), strict)
        if problem is None:
            continue
        note = _batch_note(fn, cases, i, judge) if batch and _PRECISION not in problem else ""
        message = (f"{head}: case {i + 1} of {len(cases)} FAILED ({case.label}; inputs "
                   f"{case.inputs()}).\n{problem}{note}")
        return _report(LabResult(False, message, i + 1), strict)
    labels = "; ".join(dict.fromkeys(c.label for c in cases))
    return _report(LabResult(True, f"{head}: passed all {len(cases)} cases ({labels}).",
                             len(cases)), strict)


def _problem(fn, case: Case, judge: Callable) -> str | None:
    got, problem = _call(fn, case)
    return problem if problem is not None else judge(got, case)


def _not_written(head: str) -> str:
    return (f"{head}: not written yet. Your function raises NotImplementedError: replace the "
            f"`raise NotImplementedError` line of the stub with your code, run that cell, "
            f"then run this check again.")


def _batch_note(fn, cases: list[Case], failed: int, judge: Callable) -> str:
    """What the batch-of-one cases say about a failure: right for N > 1 but wrong for
    N = 1, or the reverse. Empty when the cases have no batch size."""
    case = cases[failed]
    if case.N is None:
        return ""
    if case.N == 1:
        if any(c.N is not None and c.N > 1 for c in cases[:failed]):
            return ("\nIt is right for the earlier cases, batches of N > 1, but wrong for a "
                    "batch of one (N = 1): look for a squeeze(), an index [0] or a branch on "
                    "the shape that treats one example differently.")
        return ""
    ones = [c for c in cases if c.N == 1]
    try:
        if ones and all(_problem(fn, c, judge) is None for c in ones):
            return ("\nIt is right for a batch of one (N = 1) but wrong for batches of N > 1: "
                    "look for what matters only when N > 1, such as a 1/N or a sum over "
                    "the batch.")
    except _NotWritten:
        pass
    return ""


# --- judging one array ------------------------------------------------------------------


def _kind(x) -> str:
    """What ``x`` is, in words, for a message (never its values)."""
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    if isinstance(x, np.ndarray) or is_torch(x):
        return f"a {'NumPy array' if isinstance(x, np.ndarray) else 'torch tensor'} of shape " \
               f"{tuple(x.shape)}"
    name = type(x).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _as_array(got, out: Output, want: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The reader's result as a float64 array, or a message about its type."""
    if got is None:
        return None, f"{out.name} is None: did you forget to `return` it?"
    if is_torch(got):
        got = to_numpy(got)
    if isinstance(got, (list, tuple)):
        first = got[0] if len(got) else None
        hint = ""
        if isinstance(first, np.ndarray) and first.shape == want.shape:
            hint = (" Its first item has the right shape: return that item alone "
                    "(np.linalg.lstsq, for one, returns (solution, residuals, rank, "
                    "singular values)).")
        return None, (f"{out.name} is {_kind(got)}, but should be a NumPy array of shape "
                      f"{want.shape}.{hint}")
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (np.ndarray, np.generic,
                                                                 int, float)):
        return None, f"{out.name} is {_kind(got)}, but should be a NumPy array of shape " \
                     f"{want.shape}."
    arr = np.asarray(got)
    if arr.dtype.kind not in "iuf":
        return None, (f"{out.name} holds entries of dtype {arr.dtype}, but should hold real "
                      f"numbers (float64).")
    return arr.astype(np.float64), None


def _dtype(got) -> str:
    return str(getattr(got, "dtype", type(got).__name__)).replace("torch.", "")


def _low_precision(got) -> bool:
    """Whether the reader's array is a float type with fewer digits than float64."""
    return _dtype(got) in ("float32", "float16", "bfloat16")


def _names(shape: tuple, dims: dict) -> tuple:
    """``shape`` with each size replaced by its name in ``dims`` when that name is unique."""
    named = []
    for n in shape:
        hits = [k for k, v in dims.items() if v == n]
        named.append(hits[0] if len(hits) == 1 else str(n))
    return tuple(named)


def _shape_text(shape: tuple, dims: dict) -> str:
    named = _names(shape, dims)
    if all(a == str(n) for a, n in zip(named, shape)):
        return str(shape)
    return f"{shape} = ({', '.join(named)}{',' if len(named) == 1 else ''})"


def _shape_problem(got: tuple, want: tuple, case: Case, out: Output) -> str:
    head = (f"{out.name} has shape {_shape_text(got, case.dims)}, but should have shape "
            f"{_shape_text(want, case.dims)}")
    rule = (f" In denominator layout a gradient has the shape of its variable, here "
            f"{out.variable}." if out.variable else "")
    hint = out.shape_hints.get(_names(got, case.dims))
    if hint:
        return f"{head}: {hint}"
    if len(got) == 2 and got == want[::-1]:
        return f"{head}, the transpose.{rule}"
    if np.prod(got) == np.prod(want) and tuple(n for n in got if n != 1) == tuple(
            n for n in want if n != 1):
        if len(got) > len(want):
            return (f"{head}: the right number of entries with an extra axis of length 1 (a "
                    f"column or row vector? reshape, keepdims or [:, None]?).{rule}")
        return (f"{head}: the right number of entries, but an axis of length 1 is missing "
                f"(did a squeeze() or an index [0] drop it?).{rule}")
    return f"{head}.{rule}"


def _matches(got: np.ndarray, formula: Callable, case: Case) -> bool:
    """Whether ``got`` equals ``formula(*case.args)`` (a catalogued mistake)."""
    try:
        with np.errstate(all="ignore"):
            cand = np.asarray(formula(*case.args.values()), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a mistake that cannot be formed here does not match
        return False
    return (cand.shape == got.shape and bool(np.all(np.isfinite(cand)))
            and rel_error(got, cand) <= MATCH)


def _best_factor(got: np.ndarray, want: np.ndarray) -> float:
    """The number c that makes ``c * want`` closest to ``got`` (least squares, scaled so
    that nothing overflows)."""
    sg, sw = np.max(np.abs(got)), np.max(np.abs(want))
    g, w = got / sg, want / sw
    return float(np.vdot(g, w) / np.vdot(w, w)) * (sg / sw)


def _named_factors(N: int | None) -> list[tuple[str, float, str]]:
    """Factors a reader plausibly picks up, with default advice: ``(name, value, hint)``."""
    named = [("2", 2.0, ""), ("1/2", 0.5, "")]
    if N is not None and N > 1:
        named += [
            ("N", N, "N is the batch size: did you forget the 1/N of the mean loss?"),
            ("1/N", 1 / N, "Did you divide by the batch size N once too often?"),
            ("2N", 2 * N, "Did you forget both the 1/2 and the 1/N of the loss?"),
            ("1/(2N)", 1 / (2 * N), ""),
            ("N/(N-1)", N / (N - 1), "Did you divide by N - 1 where N belongs?"),
        ]
    return named


def _factor_problem(got: np.ndarray, want: np.ndarray, case: Case, out: Output) -> str | None:
    """A message when ``got`` is a constant multiple (other than 1) of ``want``."""
    if not np.any(want):
        return None
    c = _best_factor(got, want)
    if c == 0 or rel_error(got, c * want) > MATCH:
        return None
    size, sign = abs(c), c < 0
    flip = " and has the wrong sign" if sign else ""
    if abs(size - 1) <= MATCH:  # a factor 1 + tiny is a precision problem, not a factor
        return (f"{out.name} has the wrong sign (a factor of -1). {out.sign_hint}".strip()
                if sign else None)
    for name, value, hint in _named_factors(case.N):
        if abs(size - value) <= MATCH * value:
            hint = out.factor_hints.get(name, hint)
            what = {"N": f"N = {case.N}"}.get(name, f"{name} (N = {case.N})" if "N" in name
                                              else name)
            return f"{out.name} is off by a factor of {what}{flip}. {hint}".strip()
    digits = 3 if abs(float(f"{size:.3g}") - 1) > 0 else 6  # never "about 1 times"
    return (f"{out.name} is off by a constant factor{flip}: it is about {size:.{digits}g} "
            f"times the right value.")


def _diagnose(got, want: np.ndarray, case: Case, out: Output) -> str | None:
    """None when ``got`` is right; else the most specific message about it."""
    arr, problem = _as_array(got, out, want)
    if problem:
        return problem
    if arr.shape != want.shape:
        for m in out.mistakes:
            if _matches(arr, m.formula, case):
                return m.message
        return _shape_problem(arr.shape, want.shape, case, out)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        return f"{out.name} contains NaN or inf ({bad} of {arr.size} entries)."
    err = rel_error(arr, want)
    if err <= RTOL:
        return None
    if err < 1e-3 and _low_precision(got):
        return (f"{out.name} is computed in {_PRECISION} ({_dtype(got)}; relative error "
                f"{err:.2g}): compute in float64 so that the check can tell right from wrong.")
    for m in out.mistakes:
        if _matches(arr, m.formula, case):
            return m.message
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and rel_error(arr.T, want) <= MATCH:
        return (f"{out.name} is the transpose of the right answer (the matrices are square "
                f"here, so the shape could not tell).")
    if not np.any(arr):
        return f"{out.name} is all zeros."
    return _factor_problem(arr, want, case, out) or (
        f"{out.name} has the right shape but wrong values: relative error {err:.2g} (the "
        f"check needs below {RTOL:.0e}).")


def _judge_array(out: Output) -> Callable:
    """A judge for a function that returns one array."""
    return lambda got, case: _diagnose(got, case.expected, case, out)


def _judge_tuple(outs: tuple[Output, ...]) -> Callable:
    """A judge for a function that returns a tuple of arrays, one :class:`Output` each;
    it names every wrong one."""
    names = ", ".join(o.name for o in outs)

    def judge(got, case: Case) -> str | None:
        if is_torch(got) or not isinstance(got, (tuple, list)) or len(got) != len(outs):
            return (f"Your function returned {_kind(got)}, but should return a tuple of "
                    f"{len(outs)} arrays ({names}).")
        order = _order_problem(got, case, outs)
        if order:
            return order
        problems = [_diagnose(g, w, case, o) for g, w, o in zip(got, case.expected, outs)]
        wrong = [p for p in problems if p]
        if not wrong:
            return None
        right = [o.name for o, p in zip(outs, problems) if not p]
        if right:
            wrong.append(f"({', '.join(right)} {'is' if len(right) == 1 else 'are'} right.)")
        return "\n".join(wrong)

    return judge


def _order_problem(got, case: Case, outs) -> str | None:
    """A message when the arrays have the expected shapes, but in another order."""
    shapes = [np.shape(to_numpy(g)) if isinstance(g, np.ndarray) or is_torch(g) else None
              for g in got]
    want = [w.shape for w in case.expected]
    if None in shapes or shapes == want or len(set(want)) < len(want):
        return None
    if sorted(shapes) == sorted(want):
        given = ", ".join(_shape_text(s, case.dims) for s in shapes)
        return (f"Your function returned arrays of the right shapes in the wrong order ({given})"
                f": return ({', '.join(o.name for o in outs)}) in that order.")
    return None


# --- random inputs ----------------------------------------------------------------------


def _well_conditioned(gen: np.random.Generator, N: int, p: int) -> np.ndarray:
    """A random (N, p) matrix, N >= p, with singular values in [1, 3]."""
    U, _ = np.linalg.qr(gen.standard_normal((N, p)))
    V, _ = np.linalg.qr(gen.standard_normal((p, p)))
    return (U * gen.uniform(1, 3, p)) @ V.T


def _sizes(gen: np.random.Generator, *ranges: tuple[int, int]) -> list[int]:
    """One size from each inclusive range, all different (each range must allow it)."""
    while True:
        sizes = [int(gen.integers(lo, hi + 1)) for lo, hi in ranges]
        if len(set(sizes)) == len(sizes):
            return sizes


# --- chapter 01: the least-squares gradient ---------------------------------------------


def _lsq_gradient_cases(gen: np.random.Generator) -> list[Case]:
    N, p = _sizes(gen, (6, 12), (3, 5))
    shapes = [(N, p, 1.0, "a typical batch, N > p"),
              (*_sizes(gen, (3, 4), (6, 8)), 1.0, "more features than examples, p > N"),
              (4, 4, 1.0, "N = p"),
              (*_sizes(gen, (5, 9), (1, 1)), 1.0, "one feature, p = 1"),
              (N, p, 1e3, "entries of size about 1e+03"),
              (N, p, 1e-3, "entries of size about 1e-03"),
              (1, int(gen.integers(2, 5)), 1.0, "a batch of one, N = 1")]
    cases = []
    for N, p, s, label in shapes:
        Phi, theta = s * gen.standard_normal((N, p)), s * gen.standard_normal(p)
        y = s * s * gen.standard_normal(N)
        cases.append(Case({"theta": theta, "Phi": Phi, "y": y},
                          linreg.lsq_grad(theta, Phi, y), {"N": N, "p": p}, label))
    return cases


_LSQ_GRADIENT = Output(
    "Your gradient", "theta",
    mistakes=(
        Mistake(lambda theta, Phi, y: Phi.T @ Phi @ theta / len(y),
                "Your gradient equals (1/N) Phi^T Phi theta: the term that comes from y is "
                "missing."),
    ),
    shape_hints={
        ("N",): "one entry per example. The gradient has one entry per parameter, the shape "
                "of theta: by the chain rule the residuals are multiplied by Phi^T.",
        ("N", "p"): "one row per example, like per-example gradients stacked. The gradient of "
                    "the mean loss is the mean of those over the batch, one entry per "
                    "parameter.",
    },
    factor_hints={"2": "The 1/2 in the loss cancels the 2 from differentiating the square."},
    sign_hint="Check the sign: the derivative of y - Phi theta with respect to theta is -Phi, "
              "and that minus sign must survive.",
)


def check_lsq_gradient(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(theta, Phi, y)``, the gradient of ``L = 1/(2N) ||y - Phi theta||^2``.

    Shapes: ``theta (p,)``, ``Phi (N, p)``, ``y (N,)``; the gradient has shape
    (p,). Compared with :func:`dlnotes.linreg.lsq_grad` on fresh random inputs
    (a batch of one, p > N, N = p, p = 1, entries of size 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _lsq_gradient_cases(rng(seed))
    return _run("check_lsq_gradient", fn, cases, _judge_array(_LSQ_GRADIENT))


# --- chapter 01: the normal equations ---------------------------------------------------


def _normal_equations_cases(gen: np.random.Generator) -> list[Case]:
    N, p = _sizes(gen, (7, 12), (3, 5))
    shapes = [(N, p, 1.0, 1.0, "a typical design, N > p"),
              (*[int(gen.integers(3, 6))] * 2, 1.0, 1.0, "a square design, N = p"),
              (*_sizes(gen, (4, 8), (1, 1)), 1.0, 1.0, "one feature, p = 1"),
              (p + 1, p, 1.0, 1.0, "one more example than features, N = p + 1"),
              (N, p, 1e3, 1e-3, "Phi of size about 1e+03, y about 1e-03"),
              (N, p, 1e-3, 1e3, "Phi of size about 1e-03, y about 1e+03"),
              (1, 1, 1.0, 1.0, "one example and one feature, N = p = 1")]
    cases = []
    for N, p, s, t, label in shapes:
        Phi, y = s * _well_conditioned(gen, N, p), t * gen.standard_normal(N)
        cases.append(Case({"Phi": Phi, "y": y}, linreg.fit_lstsq(Phi, y),
                          {"N": N, "p": p}, label))
    return cases


_NORMAL_EQUATIONS = Output(
    "Your theta", None,
    mistakes=(
        Mistake(lambda Phi, y: Phi.T @ y,
                "Your theta equals Phi^T y, the right-hand side of the normal equations. "
                "theta is the solution of Phi^T Phi theta = Phi^T y: solve that linear system "
                "(np.linalg.solve)."),
        Mistake(lambda Phi, y: Phi.T @ Phi @ Phi.T @ y,
                "Your theta equals Phi^T Phi Phi^T y: you multiplied by Phi^T Phi where the "
                "normal equations need its inverse (solve the system instead)."),
        Mistake(lambda Phi, y: np.linalg.solve(Phi @ Phi.T, y),
                "Your theta equals (Phi Phi^T)^-1 y: the matrix of the normal equations is "
                "Phi^T Phi (p x p), not Phi Phi^T (N x N)."),
    ),
    shape_hints={
        ("N",): "one entry per example, but theta has one entry per feature. Did you use "
                "Phi Phi^T (N x N) where the normal equations have Phi^T Phi (p x p)?",
    },
)


def check_normal_equations(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(Phi, y)``, the least-squares theta of a full-column-rank design.

    Shapes: ``Phi (N, p)`` with N >= p, ``y (N,)``; theta has shape (p,).
    Compared with :func:`dlnotes.linreg.fit_lstsq` on fresh, well-conditioned
    random designs (N = p, p = 1, N = p = 1, sizes from 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _normal_equations_cases(rng(seed))
    return _run("check_normal_equations", fn, cases, _judge_array(_NORMAL_EQUATIONS),
                batch=False)


# --- chapter 01: k-fold indices ---------------------------------------------------------


def _kfold_cases(gen: np.random.Generator) -> list[Case]:
    k = int(gen.integers(3, 6))
    pairs = [(k * int(gen.integers(3, 7)) + int(gen.integers(1, k)), k,
              "n not divisible by k"),
             (k * int(gen.integers(3, 7)), k, "n divisible by k"),
             (2 * int(gen.integers(2, 7)) + 1, 2, "k = 2, n odd"),
             (k, k, "n = k, one row per fold"),
             (k + 1, k, "n = k + 1"),
             (int(gen.integers(50, 121)), 10, "k = 10, larger n")]
    return [Case({"n": n, "k": k}, None, {}, label) for n, k, label in pairs]


def _index_set(a, what: str, n: int) -> tuple[np.ndarray | None, str | None]:
    """``a`` as a 1-D int array of distinct indices into range(n), or a message."""
    if a is None or isinstance(a, (str, bytes, dict, set)):
        return None, f"{what} is {_kind(a)}, but should be an array of integer indices."
    arr = np.asarray(to_numpy(a))
    if arr.dtype == bool:
        return None, (f"{what} is a boolean mask; return integer indices instead "
                      f"(np.flatnonzero turns a mask into indices).")
    if arr.dtype.kind not in "iu" and arr.size:
        return None, f"{what} has dtype {arr.dtype}, but indices must be integers."
    if arr.ndim != 1:
        return None, f"{what} has shape {arr.shape}, but should be 1-D."
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        return None, (f"{what} holds the index {bad[0]}, outside range(n) = 0 .. {n - 1} "
                      f"(rows are counted from 0).")
    if np.unique(arr).size < arr.size:
        return None, f"{what} lists some rows more than once."
    return arr, None


def _fold_sets(got, n: int, k: int) -> tuple[list | None, str | None]:
    """The pairs as ``[(train, val), ...]`` of index arrays, or a message about their form."""
    if isinstance(got, np.ndarray) or is_torch(got) or not isinstance(got, (list, tuple)):
        hint = " (wrap it in list(...))" if hasattr(got, "__next__") else ""
        return None, (f"Your function returned {_kind(got)}{hint}, but should return a list "
                      f"of k = {k} pairs (train_idx, val_idx).")
    if len(got) != k:
        return None, (f"Your function returned {len(got)} pairs for k = {k}: there must be "
                      f"one (train_idx, val_idx) pair per fold.")
    folds = []
    for j, pair in enumerate(got):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            return None, (f"folds[{j}] is {_kind(pair)}, but each item must be a pair "
                          f"(train_idx, val_idx).")
        train, problem = _index_set(pair[0], f"folds[{j}] train_idx", n)
        if problem:
            return None, problem
        val, problem = _index_set(pair[1], f"folds[{j}] val_idx", n)
        if problem:
            return None, problem
        folds.append((train, val))
    return folds, None


def _fold_problem(j: int, train: np.ndarray, val: np.ndarray, n: int) -> str | None:
    """What is wrong with pair ``j`` on its own: empty, leaking or incomplete."""
    if val.size == 0:
        return f"folds[{j}] val_idx is empty: every fold must validate at least one row."
    both = np.intersect1d(train, val).size
    if both:
        return (f"folds[{j}]: {both} row(s) are in both train_idx and val_idx. That is "
                f"leakage: the model would be validated on rows it was trained on, so the "
                f"validation error would look too good. Train on every row NOT in the "
                f"validation fold.")
    missing = n - train.size - val.size
    if missing:
        return (f"folds[{j}]: {missing} row(s) are in neither train_idx nor val_idx, so they "
                f"are missing from training. The training set of a fold is every row that is "
                f"not in its validation fold.")
    return None


def _partition_problem(folds: list, n: int, k: int) -> str | None:
    """What is wrong with the validation folds together: overlap, gaps, uneven sizes."""
    trained = np.bincount(np.concatenate([t for t, _ in folds]), minlength=n)
    validated = np.bincount(np.concatenate([v for _, v in folds]), minlength=n)
    if np.all(trained == 1) and k > 2:
        return ("The training sets partition the rows and the validation sets overlap: are "
                "train_idx and val_idx swapped? Each pair is (train_idx, val_idx).")
    twice, never = int(np.count_nonzero(validated > 1)), int(np.count_nonzero(validated == 0))
    if twice:
        return (f"{twice} row(s) are validated in more than one fold. The validation folds "
                f"must partition range(n): every row is validated exactly once.")
    if never:
        return (f"{never} row(s) are never validated. The validation folds must partition "
                f"range(n): every row is validated exactly once.")
    sizes = [v.size for _, v in folds]
    if max(sizes) - min(sizes) > 1:
        return (f"The validation folds have sizes from {min(sizes)} to {max(sizes)}; with "
                f"n = {n} and k = {k} their sizes must differ by at most 1 (each holds "
                f"n // k = {n // k} or n // k + 1 = {n // k + 1} rows).")
    return None


def _judge_folds(got, case: Case) -> str | None:
    n, k = case.args["n"], case.args["k"]
    folds, problem = _fold_sets(got, n, k)
    if problem:
        return problem
    for j, (train, val) in enumerate(folds):
        problem = _fold_problem(j, train, val, n)
        if problem:
            return problem
    return _partition_problem(folds, n, k)


def check_kfold(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(n, k)``, k-fold splits of ``range(n)`` as a list of k pairs
    ``(train_idx, val_idx)`` of integer index arrays.

    Checked by properties, since any shuffle is allowed (compare
    :func:`dlnotes.cv.kfold_indices`): k pairs; every validation fold non-empty;
    the validation folds partition range(n); each training set is the
    complement of its validation fold (no leakage, no row left out); fold sizes
    differ by at most 1. Cases include n = k and n not divisible by k.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _kfold_cases(rng(seed))
    return _run("check_kfold", fn, cases, _judge_folds)


# --- chapter 02: the gradient of a quadratic form ---------------------------------------


def _quadratic_form_cases(gen: np.random.Generator) -> list[Case]:
    n = int(gen.integers(3, 7))
    specs = [(n, False, 1.0, "a non-symmetric A"),
             (int(gen.integers(20, 31)), False, 1.0, "a larger non-symmetric A"),
             (n, False, 1e3, "entries of size about 1e+03"),
             (n, False, 1e-3, "entries of size about 1e-03"),
             (n, True, 1.0, "a symmetric A"),
             (1, False, 1.0, "n = 1, a 1 x 1 matrix")]
    cases = []
    for n, symmetric, s, label in specs:
        A, x = s * gen.standard_normal((n, n)), s * gen.standard_normal(n)
        if symmetric:
            A = A + A.T
        cases.append(Case({"A": A, "x": x}, (A + A.T) @ x, {"n": n}, label))
    return cases


_TWICE = "x appears twice in x^T A x, and each appearance contributes its own term"
_ONE_TERM = (f"only one of the two terms: {_TWICE}. (Even for a symmetric A, where the two "
             f"terms are equal, it is only half the gradient.)")
_ONLY_SYMMETRIC = f"which is right only when A is symmetric, and this A is not: {_TWICE}."

_QUADRATIC_FORM = Output(
    "Your gradient", "x",
    mistakes=(
        Mistake(lambda A, x: A @ x, f"Your gradient equals A x, {_ONE_TERM}"),
        Mistake(lambda A, x: A.T @ x, f"Your gradient equals A^T x, {_ONE_TERM}"),
        Mistake(lambda A, x: 2 * A @ x, f"Your gradient equals 2 A x, {_ONLY_SYMMETRIC}"),
        Mistake(lambda A, x: 2 * A.T @ x, f"Your gradient equals 2 A^T x, {_ONLY_SYMMETRIC}"),
    ),
    shape_hints={
        ("n", "n"): "a matrix, but x^T A x is a number and its gradient has the shape of x. "
                    "Did you forget to multiply by x?",
    },
)


def check_quadratic_form_gradient(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(A, x)``, the gradient of ``x^T A x`` with respect to x.

    Shapes: ``A (n, n)``, not symmetric in general; ``x (n,)``; the gradient
    has shape (n,). Compared with ``(A + A^T) x`` on fresh random inputs
    (a symmetric A, n = 1, entries of size 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _quadratic_form_cases(rng(seed))
    return _run("check_quadratic_form_gradient", fn, cases, _judge_array(_QUADRATIC_FORM))


# --- chapter 02: the backward pass of a linear layer ------------------------------------


def _linear_layer_cases(gen: np.random.Generator) -> list[Case]:
    N, d_in, d_out = _sizes(gen, (6, 9), (4, 5), (2, 3))
    d = int(gen.integers(3, 5))
    specs = [(N, d_in, d_out, 1.0, "a typical batch"),
             (3, int(gen.integers(6, 9)), 2, 1.0, "more inputs than examples, d_in > N"),
             (N, d, d, 1.0, "a square W, d_in = d_out"),
             (N, 3, 1, 1.0, "one output, d_out = 1"),
             (N, d_in, d_out, 1e3, "entries of size about 1e+03"),
             (N, d_in, d_out, 1e-3, "entries of size about 1e-03"),
             (1, d_in, d_out, 1.0, "a batch of one, N = 1")]
    cases = []
    for N, d_in, d_out, s, label in specs:
        X, W = s * gen.standard_normal((N, d_in)), s * gen.standard_normal((d_out, d_in))
        G = s * gen.standard_normal((N, d_out))
        cases.append(Case({"X": X, "W": W, "G": G}, tuple(matcalc.linear_rows_grads(X, W, G)),
                          {"N": N, "d_in": d_in, "d_out": d_out}, label))
    return cases


_NO_MEAN = ("G already holds the gradient of the loss for each example, with any 1/N of a mean "
            "loss inside it: do not average over the batch again.")

_LINEAR_LAYER = (
    Output("dW", "W",
           mistakes=(Mistake(lambda X, W, G: X.T @ G,
                             "dW equals X^T G, the transpose of the gradient: in denominator "
                             "layout a gradient has the shape of its variable, so dW must have "
                             "the shape of W, (d_out, d_in)."),),
           factor_hints={"1/N": _NO_MEAN}),
    Output("dX", "X",
           mistakes=(Mistake(lambda X, W, G: G @ W.T,
                             "dX equals G W^T: the forward pass multiplies X by W^T, so the "
                             "backward pass multiplies G by W itself (check the shapes)."),),
           factor_hints={"1/N": _NO_MEAN}),
    Output("db", "b",
           shape_hints={
               ("N", "d_out"): "one row per example. b is added to every row of Z, so its "
                               "gradient sums G over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the outputs (axis 1). b is "
                       "added to every row of Z, so sum G over the batch (axis 0).",
               (): "a single number, but b has d_out entries: sum G over the batch axis "
                   "(axis 0) only.",
           },
           factor_hints={"1/N": "b is added to every row of Z, so its gradient SUMS G over "
                                "the batch rather than averaging it. " + _NO_MEAN}),
)


def check_linear_layer_backward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, W, G) -> (dW, dX, db)``, the backward pass of ``Z = X W^T + 1 b^T``.

    Shapes: ``X (N, d_in)``, ``W (d_out, d_in)``, ``G = dL/dZ (N, d_out)``;
    in denominator layout ``dW (d_out, d_in)``, ``dX (N, d_in)``, ``db (d_out,)``.
    Compared with :func:`dlnotes.matcalc.linear_rows_grads` on fresh random
    inputs (a batch of one, d_in > N, a square W, d_out = 1, entries of size
    1e-3 to 1e3); every wrong output is named.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _linear_layer_cases(rng(seed))
    return _run("check_linear_layer_backward", fn, cases, _judge_tuple(_LINEAR_LAYER))


__all__ = ["LabResult", "check_kfold", "check_linear_layer_backward", "check_lsq_gradient",
           "check_normal_equations", "check_quadratic_form_gradient"]
