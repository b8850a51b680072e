"""A scalar reverse-mode autodiff that fits in one sitting.

A :class:`Value` holds a number (``data``) and, once :meth:`Value.backward` has
run, the gradient of the output with respect to it (``grad``). Every operation
on Values returns a new Value that remembers its ``parents``, its ``op`` and,
computed right beside the forward result, its *local* derivatives
``local[k] = ∂self/∂parents[k]``. The expression is thereby recorded as a
computational graph. ``backward`` walks that graph from the output back to the
inputs in reverse topological order: each node hands ``local × upstream`` to
each parent, and a parent reached along several paths sums what it receives
(chapter 07, §§2.3-2.5)::

    >>> x, y, z = Value(2.0, "x"), Value(3.0, "y"), Value(4.0, "z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (20.0, 4.0, 4.0, 5.0)

Operations: ``+ - * /`` with Values or real numbers on either side (a number
becomes a constant leaf), unary ``-``, ``**`` with a real-number exponent, and
the methods ``exp log tanh sigmoid relu sin cos`` and ``max(other)``.
Conventions, as in PyTorch: ``.grad`` accumulates over ``backward`` calls
(:func:`zero_grad` resets it); ``relu`` has derivative 0 at 0; at a tie,
``a.max(b)`` gives each input half of the upstream gradient (``torch.maximum``).

Range. Data, operands and exponents must be finite real numbers (Python or
NumPy scalars, 0-d arrays or tensors). An operation whose result or local
derivative is not a finite float is refused with a ValueError where it happens,
never an inf or NaN later: log of a number <= 0, division by 0, ``0 ** p`` with
``p < 0`` and ``x ** p`` at 0 with ``0 < p < 1`` (infinite slope), a negative
number to a non-integer power (complex), and overflow (``exp(710)``,
``1e200 * 1e200``). ``sigmoid`` and ``tanh`` are stable at any input (at 1e4
they give 1, at -1e4 0 and -1, with derivative 0, and no overflow on the way).
"""

from __future__ import annotations

import math
import sys

from dlnotes._checks import real

#: :func:`draw_graph` refuses larger graphs: more boxes than fit a figure.
MAX_DRAWN = 120


class Value:
    """A scalar node of a computational graph.

    ``Value(data, label="")``: ``data`` a finite real number (stored as float),
    ``label`` a str shown by :func:`draw_graph`. Attributes: ``data``, ``grad``
    (float, 0.0 at creation), ``parents`` (tuple of Value; empty for a leaf),
    ``op`` (``""`` for a leaf, else ``"+"``, ``"*"``, ``"neg"``, ``"**"``,
    ``"exp"``, ``"log"``, ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"sin"``,
    ``"cos"``, ``"max"``), ``local`` (tuple of floats ``∂data/∂parent``, one per
    parent) and ``label``. ``a - b`` is recorded as ``a + (-b)`` and ``a / b``
    as ``a * b ** -1``.
    """

    __array_ufunc__ = None  # a NumPy scalar on the left defers to Value's operators

    def __init__(self, data, label: str = ""):
        self.data = real(data, "data")
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__} {label!r:.60}")
        self.label = label
        self.grad = 0.0
        self.parents: tuple[Value, ...] = ()
        self.op = ""
        self.local: tuple[float, ...] = ()

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}, op={self.op!r}{label})"

    # --- operations: forward value, local derivatives -----------------------------------

    def __add__(self, other) -> Value:
        other = _operand(other, "+")
        return _result(self.data + other.data, "+", (self, other), (1.0, 1.0))

    def __mul__(self, other) -> Value:
        other = _operand(other, "*")
        return _result(self.data * other.data, "*", (self, other), (other.data, self.data))

    def __neg__(self) -> Value:
        return _result(-self.data, "neg", (self,), (-1.0,))

    def __pow__(self, exponent) -> Value:
        p, x = _exponent(exponent), self.data
        if x == 0 and p < 0:
            raise ValueError(f"0 ** {p:g} divides by zero: the base ({_show(self)}) is 0 and "
                             f"the exponent negative")
        if x < 0 and p != int(p):
            raise ValueError(f"a negative base ({_show(self)}) needs an integer exponent, got "
                             f"exponent {p:g}: the power would be a complex number")
        slope = 0.0 if p == 0 else p * _pow(x, p - 1)  # d x^p / dx = p x^(p-1)
        out = _result(_pow(x, p), "**", (self,), (slope,))
        out._exponent = p  # for draw_graph
        return out

    def exp(self) -> Value:
        e = _exp(self.data)
        return _result(e, "exp", (self,), (e,))  # d e^x / dx = e^x

    def log(self) -> Value:
        x = self.data
        if x <= 0:
            raise ValueError(f"log needs a positive number, got {_show(self)}")
        return _result(math.log(x), "log", (self,), (1 / x,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _result(t, "tanh", (self,), (1 - t * t,))  # from the cached output

    def sigmoid(self) -> Value:
        s = _sigmoid(self.data)
        return _result(s, "sigmoid", (self,), (s * (1 - s),))  # from the cached output

    def relu(self) -> Value:
        x = self.data
        return _result(x if x > 0 else 0.0, "relu", (self,), (1.0 if x > 0 else 0.0,))

    def sin(self) -> Value:
        return _result(math.sin(self.data), "sin", (self,), (math.cos(self.data),))

    def cos(self) -> Value:
        return _result(math.cos(self.data), "cos", (self,), (-math.sin(self.data),))

    def max(self, other) -> Value:
        """``max(self, other)``: routes the gradient to the larger input; halves it at a tie."""
        other = _operand(other, "max")
        a, b = self.data, other.data
        local = (1.0, 0.0) if a > b else (0.0, 1.0) if b > a else (0.5, 0.5)
        return _result(max(a, b), "max", (self, other), local)

    # --- the rest, written with the operations above ------------------------------------

    def __sub__(self, other) -> Value:
        return self + -_operand(other, "-")

    def __truediv__(self, other) -> Value:
        other = _operand(other, "/")
        if other.data == 0:
            raise ValueError(f"division by zero: the divisor ({_show(other)}) is 0")
        return self * other**-1

    def __radd__(self, other) -> Value:
        return _operand(other, "+") + self

    def __rsub__(self, other) -> Value:
        return _operand(other, "-") - self

    def __rmul__(self, other) -> Value:
        return _operand(other, "*") * self

    def __rtruediv__(self, other) -> Value:
        return _operand(other, "/") / self

    def __rpow__(self, base):
        raise TypeError(f"exponent must be a real number, got a Value: write base ** x as "
                        f"(x * math.log(base)).exp() (base = {base!r:.40})")

    # --- the backward pass ----------------------------------------------------------------

    def backward(self) -> None:
        """Add the gradient of ``self`` to the ``.grad`` of every node of its graph.

        Starts from ``∂self/∂self = 1`` and visits the nodes in reverse
        topological order: by the time a node is reached, every path from it to
        ``self`` has delivered its ``local × upstream``, so its gradient is
        complete and it can pass its own share on to its parents.
        Accumulates, like torch: ``.grad`` of every node grows by this pass's
        gradient (call :func:`zero_grad` between passes to start afresh).
        """
        order = topological_order(self)
        adjoint = {self: 1.0}  # ∂self/∂node in this pass; a branch adds to it
        for node in reversed(order):
            upstream = adjoint[node]
            if not math.isfinite(upstream):
                raise ValueError(f"the gradient overflows float64 at {node!r}: rescale the "
                                 f"inputs (no .grad was changed)")
            for parent, local in zip(node.parents, node.local):
                adjoint[parent] = adjoint.get(parent, 0.0) + local * upstream
        # Only now into .grad: a second call must not pass the first call's gradients on.
        for node in order:
            node.grad += adjoint[node]


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, ``root`` last: parents before children, each once.

    Depth-first, with an explicit stack instead of recursion, so a chain of
    100,000 nodes is as fine as one of ten.
    """
    _value(root, "root")
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # all its parents are in ``order`` already
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents))
    return order


def zero_grad(root: Value) -> None:
    """Set ``.grad`` of ``root`` and of every node it depends on to 0.0."""
    for node in topological_order(root):
        node.grad = 0.0


def draw_graph(root: Value, ax=None):
    """Draw the graph of ``root`` (at most :data:`MAX_DRAWN` Values) with matplotlib.

    One box per Value (label, data) with its gradient below it in red, and a
    circle with the operation in front of every computed Value; inputs on the
    left, ``root`` on the right. ``ax``: a matplotlib Axes to draw on, or None
    for a new figure sized to the graph (left open, so pyplot shows it; close it
    with ``plt.close(ax.figure)``). No figure is closed. Returns the Axes.
    """
    from dlnotes import plot

    order = topological_order(root)
    if ax is not None:
        plot._axes(ax)
    _check_size(order)
    if ax is None:
        cols, rows = _extent(_layout(order))
        _, ax = plot.subplots(panel=(max(3.0, 1.25 * cols), max(2.0, 0.9 * rows)))
    return _draw(ax, order, {node: node.grad for node in order})


# --- helpers ----------------------------------------------------------------------------


def _operand(other, op: str) -> Value:
    """``other`` as a Value: a Value as it is, a real number as a constant leaf."""
    if isinstance(other, Value):
        return other
    try:
        return Value(real(other, f"other (operand of {op})"))
    except TypeError:
        raise TypeError(f"other (operand of {op}) must be a Value or a real number, got "
                        f"{type(other).__name__} {other!r:.60}") from None


def _exponent(p) -> float:
    if isinstance(p, Value):
        raise TypeError("exponent must be a real number, got a Value: x ** y is supported for "
                        "a number y; for a Value y write (y * x.log()).exp()")
    return real(p, "exponent")


def _value(v, name: str) -> Value:
    if not isinstance(v, Value):
        raise TypeError(f"{name} must be a dlnotes.autodiff.Value, got {type(v).__name__} "
                        f"{v!r:.60}")
    return v


def _show(v: Value) -> str:
    """``"x = 2"`` for a Value labelled x, else ``"2"``."""
    return f"{v.label} = {v.data:.6g}" if v.label else f"{v.data:.6g}"


def _result(data: float, op: str, parents: tuple, local: tuple) -> Value:
    """The Value ``op(parents) = data`` with local derivatives ``local``, all finite."""
    args = ", ".join(f"{p.data:.6g}" for p in parents)
    if not math.isfinite(data):
        raise ValueError(f"{op}({args}) overflows float64 (largest {sys.float_info.max:.3g}): "
                         f"rescale the inputs")
    if not all(math.isfinite(d) for d in local):
        raise ValueError(f"the derivative of {op}({args}) is infinite or overflows float64: "
                         f"this point is outside the domain where {op} is differentiable")
    out = Value(data)
    out.parents, out.op, out.local = parents, op, local
    return out


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:  # reported by _result
        return math.inf


def _pow(x: float, p: float) -> float:
    try:
        return x**p
    except (OverflowError, ZeroDivisionError):  # 0 ** negative only in a derivative here
        return math.inf


def _sigmoid(x: float) -> float:
    """1 / (1 + e^-x), with exp of a non-positive number only (no overflow at any x)."""
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def _check_size(order: list) -> None:
    if len(order) > MAX_DRAWN:
        raise ValueError(f"root's graph has {len(order)} Values; draw_graph draws at most "
                         f"{MAX_DRAWN} (more boxes do not fit a figure)")


def _layout(order: list) -> dict:
    """``{node: (column, row)}``: a computed node one column right of its latest parent,
    a leaf one column left of its first use, rows near the child that uses them."""
    children = {node: [] for node in order}
    col = {}
    for node in order:
        col[node] = 1 + max(col[p] for p in node.parents) if node.parents else 0
        for p in node.parents:
            children[p].append(node)
    for node in order:
        if not node.parents and children[node]:
            col[node] = min(col[c] for c in children[node]) - 1
    row = {order[-1]: 0.0}
    for node in reversed(order):  # children before parents: spread the parents around it
        new = [p for p in dict.fromkeys(node.parents) if p not in row]
        for k, p in enumerate(new):
            row[p] = row[node] + k - (len(new) - 1) / 2
    for c in set(col.values()):  # push apart nodes that landed on top of each other
        nodes = sorted((n for n in order if col[n] == c), key=row.get)
        wanted = sum(row[n] for n in nodes) / len(nodes)
        for prev, n in zip(nodes, nodes[1:]):
            row[n] = max(row[n], row[prev] + 1)
        shift = wanted - sum(row[n] for n in nodes) / len(nodes)
        for n in nodes:
            row[n] += shift
    return {node: (float(col[node]), -row[node]) for node in order}


def _extent(pos: dict) -> tuple[float, float]:
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def _op_text(node: Value) -> str:
    if node.op == "**":
        return f"**{node._exponent:g}"
    return {"*": "×", "neg": "−", "+": "+"}.get(node.op, node.op)


def _draw(ax, order: list, grads: dict, current: Value | None = None, fontsize: float = 7.5):
    """Draw ``order`` on ``ax``: boxes (gid "value"), gradients below them (gid "grad"; a
    node missing from ``grads`` shows "grad ?"), op circles (gid "op"); ``current`` is
    outlined in vermillion. Returns ``ax``."""
    from dlnotes.plot import PALETTE

    pos = _layout(order)
    box = {}
    for node in order:
        x, y = pos[node]
        text = (f"{node.label}\n" if node.label else "") + f"{node.data:.4g}"
        edge = PALETTE["vermillion"] if node is current else "#555555"
        box[node] = ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, gid="value",
                            bbox=dict(boxstyle="round,pad=0.3", fc="#f4f4f4", ec=edge,
                                      lw=2.0 if node is current else 0.8))
        grad = f"grad {grads[node]:.4g}" if node in grads else "grad ?"
        ax.annotate(grad, (0.5, 0), xycoords=box[node], xytext=(0, -5),
                    textcoords="offset points", ha="center", va="top", fontsize=fontsize,
                    gid="grad", color=PALETTE["vermillion"] if node in grads else "#999999")
    arrow = dict(arrowstyle="-|>", color="#777777", lw=0.8, shrinkA=3, shrinkB=3)
    for node in order:
        if not node.parents:
            continue
        x, y = pos[node]
        op = ax.text(x - 0.5, y, _op_text(node), ha="center", va="center", fontsize=fontsize,
                     gid="op", bbox=dict(boxstyle="circle,pad=0.2", fc="white", ec="#555555",
                                         lw=0.8))
        ax.annotate("", xy=(0, 0.5), xycoords=box[node], xytext=(1, 0.5), textcoords=op,
                    arrowprops=arrow)
        for p in dict.fromkeys(node.parents):
            ax.annotate("", xy=(0, 0.5), xycoords=op, xytext=(1, 0.5), textcoords=box[p],
                        arrowprops=arrow)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.75, max(ys) + 0.5)
    ax.set_axis_off()
    return ax
