"""The engine of the self-checking labs: results, cases, the catalogue of mistakes
and the judge that names them. The checks themselves live beside it, one module
per topic; see :mod:`dlnotes.labs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlnotes._checks import integer, is_torch, to_numpy
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
_OVERFLOW = "overflows to inf"  # a stability problem of large inputs, not of the batch size


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
        note = (_batch_note(fn, cases, i, judge)
                if batch and _PRECISION not in problem and _OVERFLOW not in problem else "")
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


def _labels_for(gen: np.random.Generator, N: int, K: int) -> np.ndarray:
    """N class indices in range(K), with at least two classes present when N > 1."""
    y = gen.integers(0, K, N)
    if N > 1 and np.unique(y).size == 1:
        y[0] = (y[0] + 1) % K
    return y


def _overflow_hint(judge: Callable, label: str, logits: str) -> Callable:
    """``judge``, with advice on stability when the result is NaN or inf in the case
    ``label``, whose ``logits`` (a phrase) overflow exp."""
    def wrapped(got, case: Case) -> str | None:
        problem = judge(got, case)
        if problem and "NaN or inf" in problem and case.label == label:
            problem += (f" The logits here are {logits} {_OVERFLOW}: subtract each row's "
                        "largest logit before exponentiating (the softmax does not change "
                        "when a row moves by a constant).")
        return problem
    return wrapped
