"""Tests of dlnotes.autodiff: gradients of random expression graphs against torch autograd,
the chapter's worked examples, accumulation, the topological order, deep graphs, extreme
inputs, drawing, and bad input."""

import functools
import math
import operator
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from dlnotes import plot
from dlnotes.autodiff import MAX_DRAWN, Value, draw_graph, topological_order, zero_grad
from tools import assert_refused

# --- random expression graphs, built twice: with Values and with torch tensors -------------

UNARY = ("neg", "exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "pow")
BINARY = ("+", "-", "*", "/", "max")
EXPONENTS = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@st.composite
def programs(draw):
    """``(leaves, steps)``: leaf values, then steps ``(op, i, arg)`` that each apply ``op``
    to node ``i`` of the pool (leaves, then the results of earlier steps) and add the result
    to the pool. ``arg``: the exponent of "pow", None for other unary ops, and for binary
    ops ``("node", j)`` (another pool node, possibly ``i`` itself) or ``("left", c)`` /
    ``("right", c)`` (a Python number on that side). Pool nodes are drawn uniformly, so
    leaves are reused and intermediate results shared: a DAG, not a tree."""
    leaves = draw(st.lists(st.floats(-2, 2), min_size=1, max_size=4))
    steps, n = [], len(leaves)
    for _ in range(draw(st.integers(1, 14))):
        op, i = draw(st.sampled_from(UNARY + BINARY)), draw(st.integers(0, n - 1))
        if op == "pow":
            arg = draw(st.sampled_from(EXPONENTS))
        elif op in BINARY:
            side = draw(st.sampled_from(("node", "left", "right")))
            arg = (side, draw(st.integers(0, n - 1)) if side == "node" else draw(st.floats(-3, 3)))
        else:
            arg = None
        steps.append((op, i, arg))
        n += 1
    return leaves, steps


#: Every operation, with numbers on both sides, a shared subexpression and x used twice.
EVERY_OP = ([0.7, -1.3, 2.0], [
    ("+", 0, ("node", 1)), ("-", 3, ("right", 0.5)), ("*", 4, ("node", 4)), ("/", 2, ("node", 3)),
    ("max", 0, ("node", 1)), ("neg", 3, None), ("exp", 1, None), ("log", 2, None),
    ("tanh", 5, None), ("sigmoid", 6, None), ("relu", 7, None), ("sin", 0, None),
    ("cos", 4, None), ("pow", 2, 1.5), ("pow", 1, -1.0), ("+", 0, ("left", 2.5)),
    ("-", 1, ("left", 1.0)), ("*", 3, ("left", -2.0)), ("/", 2, ("left", 3.0)),
    ("max", 9, ("right", 0.1)), ("max", 0, ("node", 0))])


def _agree(pair) -> bool:
    """The two engines computed the same number (to 1e-12 relative): a well-conditioned step."""
    v, t = pair
    return math.isclose(v.data, t.item(), rel_tol=1e-12, abs_tol=1e-300)


def _tame(pair):
    """Operands stay within +-1e3, so no chain of steps overflows."""
    v, t = pair
    return (v.tanh(), t.tanh()) if abs(v.data) > 1e3 else pair


def _unary(op, pair, p):
    """``op`` applied to ``pair`` after moving its argument into the op's domain."""
    v, t = pair
    x = v.data
    if op in ("tanh", "sigmoid") and abs(x) > 3:  # keep 1 - t^2 and s (1 - s) well-conditioned
        v, t = v * (3 / abs(x)), t * (3 / abs(x))
    if op == "exp" and x > 20 or op in ("log", "pow") and x < 0:
        v, t = -v, -t
    if op in ("log", "pow") and abs(v.data) < 1e-3 and (op == "log" or p < 1):
        v, t = v + 1, t + 1  # log of 0, 0 ** -1, 0 ** 0.5 (infinite slope) stay out
    if op == "pow":
        return v**p, t**p
    if op == "neg":
        return -v, -t
    return getattr(v, op)(), getattr(torch, op)(t)


def _binary(op, a, arg, pool):
    """``op`` of ``a`` and a pool node or a number, in the order ``arg`` gives."""
    side, other = arg
    b = _tame(pool[other]) if side == "node" else (other, other)
    (va, ta), (vb, tb) = (b, a) if side == "left" else (a, b)
    if op == "/" and abs(vb if isinstance(vb, float) else vb.data) < 1e-3:
        op = "*"
    if op == "max":
        va, vb = (Value(x) if isinstance(x, float) else x for x in (va, vb))
        ta, tb = (torch.tensor(x, dtype=torch.float64) if isinstance(x, float) else x
                  for x in (ta, tb))
        if np.sign(va.data - vb.data) != np.sign((ta - tb).item()):
            op = "+"  # rounding would decide which input the gradient goes to
        else:
            return va.max(vb), torch.maximum(ta, tb)
    return ARITHMETIC[op](va, vb), ARITHMETIC[op](ta, tb)


def build(program):
    """The program's graph as Values and as torch tensors (float64).

    Returns ``(leaves, tensors, pool, root)``: the leaf Values and leaf tensors, every pool
    entry as a pair (Value, tensor), and the root pair: the sum of the pool entries that no
    step used (so every step reaches the root)."""
    xs, steps = program
    leaves = [Value(x, f"x{k}") for k, x in enumerate(xs)]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    pool, used = list(zip(leaves, tensors)), set()
    for op, i, arg in steps:
        a = _tame(pool[i])
        new = _unary(op, a, arg) if op in UNARY else _binary(op, a, arg, pool)
        if op == "relu" and np.sign(a[0].data) != np.sign(a[1].item()) or not _agree(new):
            new = (a[0] * 0.5, a[1] * 0.5)  # an ill-conditioned step: replaced
        pool.append(new)
        used |= {i} | ({arg[1]} if op in BINARY and arg[0] == "node" else set())
    sinks = [pool[k] for k in range(len(pool)) if k not in used]
    root = (functools.reduce(operator.add, (v for v, _ in sinks)),
            functools.reduce(operator.add, (t for _, t in sinks)))
    return leaves, tensors, pool, root


def torch_grad(t) -> float:
    return 0.0 if t.grad is None else t.grad.item()


def gradient_scale(root) -> dict:
    """For every node, the sum over paths to ``root`` of the product of |local derivatives|:
    the size of the gradient before paths cancel, which sets the rounding error of a
    gradient that is a near-cancelling sum."""
    scale = {root: 1.0}
    for node in reversed(topological_order(root)):
        for parent, local in zip(node.parents, node.local):
            scale[parent] = scale.get(parent, 0.0) + abs(local) * scale[node]
    return scale


def assert_grads_equal(values, tensors, scale):
    ours = np.array([v.grad for v in values])
    theirs = np.array([torch_grad(t) for t in tensors])
    atol = 1e-13 * np.array([scale.get(v, 0.0) for v in values])
    np.testing.assert_array_less(np.abs(ours - theirs), 1e-10 * np.abs(theirs) + atol + 1e-300)


@given(programs())
@example(EVERY_OP)
def test_leaf_gradients_equal_torch_autograd(program):
    leaves, tensors, pool, (root, root_t) = build(program)
    assert math.isclose(root.data, root_t.item(), rel_tol=1e-12, abs_tol=1e-300)
    root.backward()
    root_t.backward()
    assert_grads_equal(leaves, tensors, gradient_scale(root))


def test_every_operation_is_exercised():
    ops = {v.op for v, _ in build(EVERY_OP)[2]}
    assert ops >= {"+", "*", "neg", "**", "exp", "log", "tanh", "sigmoid", "relu", "sin",
                   "cos", "max"}


@given(programs())
@example(EVERY_OP)
def test_backward_twice_accumulates_like_torch_in_every_node(program):
    leaves, tensors, pool, (root, root_t) = build(program)
    for _, t in pool:
        if not t.is_leaf:
            t.retain_grad()
    root_t.retain_grad()
    for _ in range(2):
        root.backward()
        root_t.backward(retain_graph=True)
    assert root.grad == root_t.grad.item() == 2.0
    scale = gradient_scale(root)
    assert_grads_equal([v for v, _ in pool], [t for _, t in pool],
                       {k: 2 * s for k, s in scale.items()})


@given(programs())
def test_zero_grad_resets_every_node_and_a_fresh_pass_matches_one_pass(program):
    leaves, tensors, pool, (root, root_t) = build(program)
    root.backward()
    root.backward()
    zero_grad(root)
    assert all(node.grad == 0.0 for node in topological_order(root))
    root.backward()
    root_t.backward()
    assert_grads_equal(leaves, tensors, gradient_scale(root))


@given(programs())
@example(EVERY_OP)
def test_topological_order_lists_every_ancestor_once_parents_first(program):
    *_, (root, _) = build(program)
    order = topological_order(root)
    position = {id(node): k for k, node in enumerate(order)}
    assert len(position) == len(order)  # each node once
    assert order[-1] is root
    for k, node in enumerate(order):
        assert all(position[id(p)] < k for p in node.parents)
    reachable, stack = {id(root)}, [root]  # every ancestor of root, found breadth-first
    while stack:
        for p in stack.pop().parents:
            if id(p) not in reachable:
                reachable.add(id(p))
                stack.append(p)
    assert reachable == set(position)


# --- the chapter's worked examples --------------------------------------------------------


def test_sum_times_product_is_exact():
    x, y, z = Value(2, "x"), Value(3, "y"), Value(4, "z")
    f = (x + y) * z
    f.backward()
    assert (f.data, x.grad, y.grad, z.grad) == (20.0, 4.0, 4.0, 5.0)
    assert [n.op for n in topological_order(f)] == ["", "", "+", "", "*"]
    assert f.parents[0].local == (1.0, 1.0) and f.local == (4.0, 5.0)


def neuron(collapsed):
    w0, x0, w1, x1, w2 = (Value(v, n) for v, n in zip((2, -1, -3, -2, -3),
                                                        ("w0", "x0", "w1", "x1", "w2")))
    s = w0 * x0 + w1 * x1 + w2
    if collapsed:
        return s.sigmoid(), None, (w0, x0, w1, x1, w2)
    a = 1 + (-s).exp()
    return a**-1, a, (w0, x0, w1, x1, w2)


def test_sigmoid_neuron_gate_by_gate_and_collapsed():
    f, a, inputs = neuron(collapsed=False)
    f.backward()
    assert f.data == pytest.approx(0.7310586, abs=1e-7)
    grads = [v.grad for v in inputs]
    np.testing.assert_allclose(grads, [-0.1966119, 0.3932239, -0.3932239, -0.5898358, 0.1966119],
                               atol=1e-7)
    assert a.grad == pytest.approx(-0.5344466, abs=1e-7)
    g, _, inputs = neuron(collapsed=True)
    g.backward()
    np.testing.assert_allclose([v.grad for v in inputs], grads, rtol=0, atol=1e-12)
    assert g.data == pytest.approx(f.data, abs=1e-12)


def test_branches_add():
    v = Value(0.7)
    (v * v).backward()
    assert v.grad == 2 * 0.7  # one multiply node, both inputs the same wire
    v = Value(0.7)
    (v.sin() * v**2).backward()
    assert v.grad == pytest.approx(math.cos(0.7) * 0.49 + math.sin(0.7) * 1.4, abs=1e-12)
    assert v.grad == pytest.approx(1.2766774, abs=1e-7)
    x, y, z = Value(2.0), Value(3.0), Value(1.0)  # exercise 1: max routes, two paths add
    ((x * y).max(z) + x).backward()
    assert (x.grad, y.grad, z.grad) == (4.0, 2.0, 0.0)


@pytest.mark.parametrize("a, b", [(1.5, 1.5), (2.0, -1.0), (-1.0, 2.0)])
def test_max_routes_and_splits_a_tie_like_torch_maximum(a, b):
    u, v = Value(a), Value(b)
    (3 * u.max(v)).backward()
    ta, tb = (torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in (a, b))
    (3 * torch.maximum(ta, tb)).backward()
    assert (u.grad, v.grad) == (ta.grad.item(), tb.grad.item())


def test_relu_has_derivative_zero_at_zero_like_torch():
    x, t = Value(0.0), torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    x.relu().backward()
    torch.relu(t).backward()
    assert x.grad == t.grad.item() == 0.0


def test_numbers_on_either_side_become_constant_leaves():
    x = Value(2.0, "x")
    for f in (3 - x, x - 3, 3 / x, x / 3, np.float64(3) * x, x * np.float32(3),
              x + torch.tensor(3.0), Value(torch.tensor(2.0)) * x):
        assert isinstance(f, Value)
    f = 1 / x
    assert f.data == 0.5 and [n.op for n in topological_order(f)] == ["", "", "**", "*"]
    x.grad = 0.0
    (np.float64(3) * x).backward()
    assert x.grad == 3.0


# --- depth and extreme inputs -------------------------------------------------------------


def test_a_chain_of_10000_nodes_needs_no_recursion():
    assert sys.getrecursionlimit() < 10_000
    x, t = Value(0.3), torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    v, u = x, t
    for _ in range(9_999):
        v, u = v.sin(), torch.sin(u)
    order = topological_order(v)
    assert len(order) == 10_000 and order[0] is x and order[-1] is v
    v.backward()
    u.backward()
    assert x.grad == pytest.approx(t.grad.item(), rel=1e-10)
    zero_grad(v)
    assert x.grad == 0.0
    w = Value(1.0)  # 10,000 multiplications by a constant: (1.0001)^10000 ~ e
    y = w
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert w.grad == pytest.approx(1.0001**10_000, rel=1e-10)


@pytest.fixture
def quiet():
    """Any warning is an error."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("x", [1e4, -1e4, 800.0, -800.0, 0.0])
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_are_exact_at_extreme_inputs(op, x, quiet):
    v, t = Value(x), torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = getattr(v, op)()
    getattr(torch, op)(t).backward()
    out.backward()
    assert out.data == getattr(torch, op)(t.detach()).item()
    assert v.grad == t.grad.item()


@given(st.floats(-1e4, 1e4))
def test_sigmoid_equals_torch_everywhere(x):
    v, t = Value(x), torch.tensor(x, dtype=torch.float64, requires_grad=True)
    s = v.sigmoid()
    s.backward()
    torch.sigmoid(t).backward()
    assert math.isclose(s.data, torch.sigmoid(t.detach()).item(), rel_tol=1e-15, abs_tol=1e-320)
    assert math.isclose(v.grad, t.grad.item(), rel_tol=1e-12, abs_tol=1e-15)


def test_exp_overflow_is_an_error_not_inf(quiet):
    assert Value(709.78).exp().data == pytest.approx(1.7928e308, rel=1e-4)
    with pytest.raises(ValueError, match=r"exp\(709\.8\) overflows float64"):
        Value(709.8).exp()
    assert Value(-800.0).exp().data == 0.0  # underflow is just zero


def test_gradient_overflow_is_an_error_and_changes_no_grad():
    w, c = Value(1e200, "w"), Value(1e-200, "c")
    u = w * c  # 1, with local derivatives 1e-200 and 1e200
    f = u * 1e200  # upstream of c: 1e200 * 1e200
    with pytest.raises(ValueError, match="the gradient overflows float64 at"):
        f.backward()
    assert all(node.grad == 0.0 for node in topological_order(f))


# --- drawing ------------------------------------------------------------------------------


def _ax():
    return plt.figure().add_subplot()


def texts(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


def test_draw_graph_draws_one_box_per_value_with_label_data_and_grad():
    f, _, inputs = neuron(collapsed=False)
    f.label = "f"
    f.backward()
    fig, ax = plot.subplots()
    before = plt.get_fignums()
    assert draw_graph(f, ax) is ax
    assert plt.get_fignums() == before and plt.fignum_exists(fig.number)
    order = topological_order(f)
    boxes, grads = texts(ax, "value"), texts(ax, "grad")
    assert len(boxes) == len(grads) == len(order) == 14
    assert len(texts(ax, "op")) == sum(1 for n in order if n.parents)
    shown = {t.get_text() for t in boxes}
    assert {"w0\n2", "x1\n-2", "f\n0.7311"} <= shown
    assert sorted(t.get_text() for t in grads) == sorted(f"grad {n.grad:.4g}" for n in order)
    assert "**-1" in {t.get_text() for t in texts(ax, "op")}
    plt.close(fig)


def test_draw_graph_without_axes_opens_one_figure_and_closes_none():
    plt.close("all")
    mine = plt.figure()
    f = Value(2.0, "x").exp()
    ax = draw_graph(f)
    assert plt.get_fignums() == [mine.number, ax.figure.number]
    assert len(texts(ax, "value")) == 2
    plt.close("all")


# --- bad input ----------------------------------------------------------------------------


x2 = Value(2.0, "x")
chain = Value(0.5)
for _ in range(MAX_DRAWN):
    chain = chain.tanh()

BAD = [
    (Value, dict(data=math.nan), ValueError, "data must be finite, got nan"),
    (Value, dict(data=-math.inf), ValueError, "data must be finite, got -inf"),
    (Value, dict(data=10**400), ValueError, "data must be finite"),
    (Value, dict(data="2"), TypeError, "data must be a real number, got str"),
    (Value, dict(data=1j), TypeError, "data must be a real number, got complex"),
    (Value, dict(data=True), TypeError, "data must be a real number, got bool"),
    (Value, dict(data=x2), TypeError, "data must be a real number, got Value"),
    (Value, dict(data=np.ones(2)), TypeError, "data must be a real number, got ndarray"),
    (Value, dict(data=1.0, label=3), TypeError, "label must be a str, got int"),
    (lambda other: x2 + other, dict(other="a"), TypeError,
     r"other \(operand of \+\) must be a Value or a real number, got str"),
    (lambda other: other * x2, dict(other=[1.0]), TypeError,
     r"other \(operand of \*\) must be a Value or a real number, got list"),
    (lambda other: x2 - other, dict(other=math.nan), ValueError,
     r"other \(operand of -\) must be finite, got nan"),
    (lambda other: x2.max(other), dict(other=None), TypeError, r"other \(operand of max\)"),
    (lambda other: x2 / other, dict(other=0), ValueError, r"division by zero: the divisor \(0\)"),
    (lambda other: other / Value(0.0, "z"), dict(other=1), ValueError,
     r"division by zero: the divisor \(z = 0\) is 0"),
    (lambda exponent: x2**exponent, dict(exponent="2"), TypeError,
     "exponent must be a real number, got str"),
    (lambda exponent: x2**exponent, dict(exponent=Value(2.0)), TypeError,
     "exponent must be a real number, got a Value"),
    (lambda base: base**x2, dict(base=2), TypeError, "exponent must be a real number, got a Value"),
    (lambda exponent: x2**exponent, dict(exponent=math.inf), ValueError,
     "exponent must be finite, got inf"),
    (lambda exponent: x2**exponent, dict(exponent=1j), TypeError,
     "exponent must be a real number, got complex"),
    (lambda exponent: Value(0.0) ** exponent, dict(exponent=-1), ValueError,
     r"0 \*\* -1 divides by zero"),
    (lambda exponent: Value(-8.0, "b") ** exponent, dict(exponent=1 / 3), ValueError,
     r"a negative base \(b = -8\) needs an integer exponent, got exponent 0.333333"),
    (lambda exponent: Value(0.0) ** exponent, dict(exponent=0.5), ValueError,
     r"the derivative of \*\*\(0\) is infinite"),
    (lambda x: x.log(), dict(x=Value(0.0)), ValueError, "log needs a positive number, got 0"),
    (lambda x: x.log(), dict(x=Value(-1.0, "x")), ValueError,
     "log needs a positive number, got x = -1"),
    (lambda x: x.log(), dict(x=Value(5e-324)), ValueError,
     r"the derivative of log\(4.94066e-324\)"),
    (lambda x: x * 1e200, dict(x=Value(1e200)), ValueError,
     r"\*\(1e\+200, 1e\+200\) overflows float64"),
    (lambda x: x**-1, dict(x=Value(1e-155)), ValueError, r"the derivative of \*\*\(1e-155\)"),
    (lambda x: x**3, dict(x=Value(1e103)), ValueError, r"\*\*\(1e\+103\) overflows"),
    (topological_order, dict(root=3), TypeError,
     "root must be a dlnotes.autodiff.Value, got int 3"),
    (zero_grad, dict(root=None), TypeError, "root must be a dlnotes.autodiff.Value, got NoneType"),
    (draw_graph, dict(root="f"), TypeError, "root must be a dlnotes.autodiff.Value, got str"),
    (draw_graph, dict(root=x2, ax="ax"), TypeError, "ax must be a matplotlib Axes"),
    (draw_graph, dict(root=chain, ax=_ax), ValueError,
     f"root's graph has {MAX_DRAWN + 1} Values; draw_graph draws at most {MAX_DRAWN}"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_refused_drawing_draws_nothing():
    ax = _ax()
    with pytest.raises(ValueError):
        draw_graph(chain, ax)
    assert not ax.texts and not ax.patches
    plt.close("all")
