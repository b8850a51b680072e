"""Explorer of chapter 07: the backward pass through a small graph, one node at a time.

The graphs are the chapter's worked examples, built with :mod:`dlnotes.autodiff`
(:data:`BACKPROP_EXAMPLES`). Step 0 shows the forward pass: every node's value,
no gradient. Each later step fills in one node's gradient, in reverse
topological order, starting with ``∂f/∂f = 1``: a node ``v`` used by the nodes
``u`` gets ``∂f/∂v = Σ_u (∂u/∂v) (∂f/∂u)``, local derivative times upstream
gradient, summed where the paths branch. Every ``∂f/∂u`` it needs was filled in
at an earlier step.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple

from dlnotes import plot
from dlnotes._checks import choice, integer, real
from dlnotes.autodiff import Value, _draw, _extent, _layout, _value, topological_order
from dlnotes.widgets.core import _start_at, explorer

#: The example graphs: name -> the inputs and their default values (the chapter's numbers).
BACKPROP_EXAMPLES = {
    "(x + y) z": {"x": 2.0, "y": 3.0, "z": 4.0},
    "sigmoid neuron": {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
    "sigmoid neuron, one node": {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
    "max(x y, z) + x": {"x": 2.0, "y": 3.0, "z": 1.0},
}

#: The explorer's input sliders span [-INPUT_RANGE, INPUT_RANGE].
INPUT_RANGE = 5.0


class BackpropStep(NamedTuple):
    """One step of the backward pass (returned by :func:`backprop_steps`).

    ``node``: the Value whose gradient this step fills in. ``grad``: that
    gradient, ``∂f/∂node``. ``terms``: one ``(child, local, upstream)`` per use
    of ``node``, with ``local = ∂child/∂node`` and ``upstream = ∂f/∂child``;
    ``grad`` is the sum of ``local * upstream`` over them (empty for the root,
    whose gradient is 1).
    """

    node: Value
    grad: float
    terms: tuple


def _labelled(v: Value, label: str) -> Value:
    v.label = label
    return v


def _sum_product(x, y, z):
    q = _labelled(x + y, "q")
    return _labelled(q * z, "f")


def _weighted_sum(w0, x0, w1, x1, w2):
    m0, m1 = _labelled(w0 * x0, "m0"), _labelled(w1 * x1, "m1")
    return _labelled(_labelled(m0 + m1, "p") + w2, "s")


def _neuron(w0, x0, w1, x1, w2):
    """σ(s) gate by gate: c = -s, d = e^c, a = 1 + d, f = 1/a."""
    c = _labelled(-_weighted_sum(w0, x0, w1, x1, w2), "c")
    a = _labelled(1 + _labelled(c.exp(), "d"), "a")
    return _labelled(a**-1, "f")


def _neuron_one_node(w0, x0, w1, x1, w2):
    return _labelled(_weighted_sum(w0, x0, w1, x1, w2).sigmoid(), "f")


def _max_plus(x, y, z):
    m = _labelled(_labelled(x * y, "q").max(z), "m")
    return _labelled(m + x, "f")


_BUILDERS = {"(x + y) z": _sum_product, "sigmoid neuron": _neuron,
             "sigmoid neuron, one node": _neuron_one_node, "max(x y, z) + x": _max_plus}


def _inputs(example, values, limit: float | None = None) -> tuple[str, dict]:
    """The checked example name and its inputs: the defaults, updated by ``values``."""
    example = choice(example, "example", tuple(BACKPROP_EXAMPLES))
    inputs = dict(BACKPROP_EXAMPLES[example])
    if values is None:
        return example, inputs
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a dict of input name -> number, got "
                        f"{type(values).__name__} {values!r:.60}")
    unknown = [k for k in values if k not in inputs]
    if unknown:
        raise ValueError(f"values has unknown input(s) {unknown}: the example {example!r} has "
                         f"the inputs {list(inputs)}")
    for name, v in values.items():
        inputs[name] = real(v, f"values[{name!r}]")
        if limit is not None and abs(inputs[name]) > limit:
            raise ValueError(f"values[{name!r}] must lie in [{-limit:g}, {limit:g}] (the "
                             f"sliders' range), got {inputs[name]:g}")
    return example, inputs


def backprop_graph(example: str = "(x + y) z", values=None) -> Value:
    """The graph of ``example`` (a key of :data:`BACKPROP_EXAMPLES`), forward pass done.

    ``values``: None for the chapter's inputs, or a dict giving some or all
    inputs of the example as finite real numbers. Every node is labelled
    (``f`` is the output); returns ``f``, with all gradients 0.
    """
    example, inputs = _inputs(example, values)
    leaves = [Value(v, name) for name, v in inputs.items()]
    return _BUILDERS[example](*leaves)


def backprop_steps(root: Value) -> list[BackpropStep]:
    """The backward pass of ``root`` (a :class:`~dlnotes.autodiff.Value`), one node a step.

    One :class:`BackpropStep` per node of the graph, in reverse topological
    order, breadth first from ``root``: a node comes as soon as every node that
    uses it is done, and pulls its gradient from them,
    ``∂f/∂v = Σ_u local(u, v) × ∂f/∂u``. Leaves ``.grad`` untouched.
    """
    order = topological_order(_value(root, "root"))
    users = {node: [] for node in order}
    for child in order:
        for parent, local in zip(child.parents, child.local):
            users[parent].append((child, local))
    waiting = {node: len(users[node]) for node in order}  # users not yet filled in
    ready, grad, steps = deque([root]), {}, []
    while ready:
        node = ready.popleft()
        terms = tuple((child, local, grad[child]) for child, local in users[node])
        grad[node] = 1.0 if node is root else math.fsum(local * up for _, local, up in terms)
        if not math.isfinite(grad[node]):
            raise ValueError(f"the gradient overflows float64 at {node!r}: rescale the inputs")
        steps.append(BackpropStep(node, grad[node], terms))
        for parent in node.parents:
            waiting[parent] -= 1
            if waiting[parent] == 0:
                ready.append(parent)
    return steps


def _name(v: Value) -> str:
    return v.label or f"({v.data:g})"


def _caption(root: Value, steps: list, step: int) -> str:
    """Two lines: which step, and the chain rule with its numbers."""
    f, n = _name(root), len(steps)
    if step == 0:
        return (f"step 0 of {n}: the forward pass, {f} = {root.data:.4g}\n"
                f"no gradient yet")
    node, grad, terms = steps[step - 1]
    v = _name(node)
    if not terms:
        return f"step {step} of {n}: start at the output\n∂{f}/∂{f} = 1"
    rule = " + ".join(f"∂{_name(c)}/∂{v} · ∂{f}/∂{_name(c)}" for c, _, _ in terms)
    numbers = " + ".join(f"{local:.4g} × {up:.4g}" for _, local, up in terms)
    return f"step {step} of {n}: ∂{f}/∂{v} = {rule}\n= {numbers} = {grad:.4g}"


def draw_backprop(ax, example: str = "(x + y) z", step: int = 0, values=None):
    """One panel of :func:`backprop_explorer`: the graph of ``example`` after ``step`` steps.

    Boxes show every node's value; the gradients of the first ``step`` nodes
    of :func:`backprop_steps` are shown below their boxes in red (the others
    read ``grad ?``), the node of this step is outlined, and the title gives
    its chain rule, local × upstream, with the numbers. ``example`` and
    ``values`` as in :func:`backprop_graph`; ``step`` an int from 0 (the
    forward pass only) to the number of nodes (every gradient). Returns ``ax``.
    """
    plot._axes(ax)
    root = backprop_graph(example, values)
    steps = backprop_steps(root)
    step = integer(step, "step", 0, len(steps))
    shown = {s.node: s.grad for s in steps[:step]}
    current = steps[step - 1].node if step else None
    _draw(ax, topological_order(root), shown, current)
    ax.set_title(_caption(root, steps, step), fontsize=9)
    return ax


def backprop_explorer(example: str = "sigmoid neuron", values=None):
    """Explorer: step through the backward pass of one of :data:`BACKPROP_EXAMPLES`.

    Live: a ``step`` slider (0 = the forward pass, then one node's gradient
    per step, see :func:`draw_backprop`) and one slider per input in
    [-5, 5]. Static form: three panels, one above the other: the forward
    pass only, halfway through the backward pass, and complete.
    ``example``: a key of :data:`BACKPROP_EXAMPLES`; ``values``: None or a dict
    of some of its inputs (finite, in [-5, 5]) where the sliders start.
    """
    example, inputs = _inputs(example, values, INPUT_RANGE)
    root = backprop_graph(example, inputs)
    n = len(topological_order(root))
    cols, rows = _extent(_layout(topological_order(root)))

    def draw(ax, step, **xs):
        draw_backprop(ax, example, step, xs)

    controls = {"step": (0, n, 1)}
    controls.update({name: (-INPUT_RANGE, INPUT_RANGE, 0.1) for name in inputs})
    static = [dict(inputs, step=k) for k in (0, n // 2, n)]
    panel = (max(4.5, 1.15 * cols + 0.5), max(2.6, 0.7 * rows + 1.0))
    return explorer(draw, _start_at(controls, dict(inputs, step=0)), static, ncols=1,
                    panel=panel)
