"""Tests of chapter 07's backprop explorer: the numbers of every step against torch autograd,
the static small multiples, the live controls, and bad input."""

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from dlnotes import widgets
from dlnotes.autodiff import Value, topological_order
from dlnotes.widgets.backprop import (
    BACKPROP_EXAMPLES,
    BackpropStep,
    backprop_explorer,
    backprop_graph,
    backprop_steps,
    draw_backprop,
)
from tools import assert_refused, live_controls, new_ax as _ax, shown_after, visible_panels


def torch_reference(example, inputs):
    """The example built again in torch (float64): every named node's gradient, and f."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    if example == "(x + y) z":
        q = t["x"] + t["y"]
        nodes = dict(q=q, f=q * t["z"])
    elif example.startswith("sigmoid neuron"):
        m0, m1 = t["w0"] * t["x0"], t["w1"] * t["x1"]
        p = m0 + m1
        s = p + t["w2"]
        nodes = dict(m0=m0, m1=m1, p=p, s=s)
        if example.endswith("one node"):
            nodes["f"] = torch.sigmoid(s)
        else:
            c = -s
            d = torch.exp(c)
            a = 1 + d
            nodes.update(c=c, d=d, a=a, f=1 / a)
    else:
        q = t["x"] * t["y"]
        m = torch.maximum(q, t["z"])
        nodes = dict(q=q, m=m, f=m + t["x"])
    for v in nodes.values():
        v.retain_grad()
    nodes["f"].backward()
    grads = {k: v.grad.item() for k, v in {**t, **nodes}.items()}
    return grads, nodes["f"].item()


@st.composite
def examples_and_inputs(draw):
    example = draw(st.sampled_from(list(BACKPROP_EXAMPLES)))
    values = {name: draw(st.floats(-5, 5)) for name in BACKPROP_EXAMPLES[example]}
    return example, values


@given(examples_and_inputs())
@example(("max(x y, z) + x", {"x": 2.0, "y": 0.5, "z": 1.0}))  # a tie: q = z
@example(("sigmoid neuron", {"w0": 5.0, "x0": 5.0, "w1": 5.0, "x1": 5.0, "w2": 5.0}))
def test_every_step_equals_torch_autograd(setting):
    example_name, values = setting
    root = backprop_graph(example_name, values)
    steps = backprop_steps(root)
    grads, f = torch_reference(example_name, values)
    assert root.data == pytest.approx(f, rel=1e-14)
    order = topological_order(root)
    assert len(steps) == len(order) and {id(s.node) for s in steps} == {id(n) for n in order}
    assert steps[0] == BackpropStep(root, 1.0, ())
    done = {}
    for node, grad, terms in steps:
        if node.label:  # unlabelled: the constant 1, which torch does not track
            assert grad == pytest.approx(grads[node.label], rel=1e-12, abs=1e-15)
        for child, local, upstream in terms:
            assert upstream == done[id(child)]  # filled in at an earlier step
            assert any(p is node for p in child.parents)
        assert grad == (1.0 if node is root else pytest.approx(
            sum(local * up for _, local, up in terms), rel=1e-14, abs=1e-300))
        done[id(node)] = grad
    assert all(node.grad == 0.0 for node in order)  # .grad untouched
    root.backward()
    for step in steps:
        assert step.node.grad == pytest.approx(step.grad, rel=1e-13, abs=1e-300)


def test_the_chapters_numbers():
    steps = backprop_steps(backprop_graph("(x + y) z"))
    assert [(s.node.label, s.grad) for s in steps] == [("f", 1.0), ("q", 4.0), ("z", 5.0),
                                                        ("x", 4.0), ("y", 4.0)]
    neuron = {s.node.label: s.grad for s in backprop_steps(backprop_graph("sigmoid neuron"))}
    np.testing.assert_allclose([neuron[k] for k in ("w0", "x0", "w1", "x1", "w2", "a")],
                               [-0.1966119, 0.3932239, -0.3932239, -0.5898358, 0.1966119,
                                -0.5344466], atol=1e-7)
    one = {s.node.label: s.grad
           for s in backprop_steps(backprop_graph("sigmoid neuron, one node"))}
    for k in ("w0", "x0", "w1", "x1", "w2"):
        assert one[k] == pytest.approx(neuron[k], abs=1e-12)
    branch = backprop_steps(backprop_graph("max(x y, z) + x"))
    x = next(s for s in branch if s.node.label == "x")
    assert x.grad == 4.0 and len(x.terms) == 2  # two paths, summed
    assert {s.node.label: s.grad for s in branch}["z"] == 0.0  # max routes past z


def test_steps_of_any_graph_sum_where_paths_branch():
    v = Value(0.7, "v")
    f = v * v
    f.label = "f"
    (step_f, step_v) = backprop_steps(f)
    assert step_v.grad == 1.4 and [t[1] for t in step_v.terms] == [0.7, 0.7]


# --- what the panels show -------------------------------------------------------------------


def shown_grads(ax):
    """{label: the text under its box} for the labelled nodes of a panel."""
    boxes = [t for t in ax.texts if t.get_gid() == "value"]
    grads = [t for t in ax.texts if t.get_gid() == "grad"]
    assert len(boxes) == len(grads)
    return {b.get_text().split("\n")[0]: g.get_text() for b, g in zip(boxes, grads)
            if "\n" in b.get_text()}


def numbers_in(text):
    return [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def test_static_form_shows_forward_halfway_and_complete(static):
    plt.close("all")
    fig = backprop_explorer()
    assert isinstance(fig, plt.Figure) and fig.number not in plt.get_fignums()
    panels = visible_panels(fig)
    assert len(panels) == 3
    titles = [ax.get_title() for ax in panels]
    assert [t.split(":")[0] for t in titles] == ["step 0 of 14", "step 7 of 14", "step 14 of 14"]
    grads, f = torch_reference("sigmoid neuron", BACKPROP_EXAMPLES["sigmoid neuron"])
    assert set(shown_grads(panels[0]).values()) == {"grad ?"}
    assert "f = 0.7311" in titles[0]
    last = shown_grads(panels[2])
    assert len(last) == 13
    for label, text in last.items():
        assert text == f"grad {grads[label]:.4g}"
    assert sum(t != "grad ?" for t in shown_grads(panels[1]).values()) == 7 - 1  # and the 1
    # the last step: x1, whose one use is m1 = w1 x1: local w1 = -3 times upstream 0.1966
    assert titles[2].endswith("= -3 × 0.1966 = -0.5898")
    width, height = fig.get_size_inches()
    assert width <= 10 and height <= 12


@pytest.mark.parametrize("name", list(BACKPROP_EXAMPLES))
def test_every_panel_shows_torchs_numbers(name):
    values = {k: v + 0.25 for k, v in BACKPROP_EXAMPLES[name].items()}
    grads, _ = torch_reference(name, values)
    steps = backprop_steps(backprop_graph(name, values))
    for k in range(len(steps) + 1):
        fig, ax = plt.subplots()
        assert draw_backprop(ax, name, k, values) is ax
        revealed = {s.node.label for s in steps[:k]}
        for label, text in shown_grads(ax).items():
            assert text == (f"grad {grads[label]:.4g}" if label in revealed else "grad ?")
        if k:
            node, grad, terms = steps[k - 1]
            *pairs, total = numbers_in(ax.get_title().split("\n")[1])
            assert total == pytest.approx(grad, rel=1e-3, abs=1e-4)
            expected = [x for _, local, up in terms for x in (local, up)] or [1.0]
            np.testing.assert_allclose(pairs or [total], expected, rtol=1e-3, atol=1e-4)
            outlined = [t for t in ax.texts if t.get_gid() == "value"
                        and t.get_bbox_patch().get_linewidth() > 1]
            assert len(outlined) == 1
        plt.close(fig)


# --- live form ------------------------------------------------------------------------------


def test_live_controls_start_at_the_inputs_and_step_zero(live, monkeypatch):
    import ipywidgets

    panel = widgets.backprop_explorer("(x + y) z", {"y": -1.5})
    assert isinstance(panel, ipywidgets.interactive)
    controls = live_controls(panel)
    assert set(controls) == {"step", "x", "y", "z"}
    step = controls["step"]
    assert isinstance(step, ipywidgets.IntSlider) and (step.min, step.max, step.value) == (0, 5, 0)
    assert [controls[k].value for k in "xyz"] == [2.0, -1.5, 4.0]
    assert (controls["x"].min, controls["x"].max) == (-5.0, 5.0)
    fig = shown_after(panel, monkeypatch, step=2, x=1.0)
    (ax,) = fig.axes
    assert ax.get_title() == "step 2 of 5: ∂f/∂q = ∂f/∂q · ∂f/∂f\n= 4 × 1 = 4"
    assert shown_grads(ax)["q"] == "grad 4" and shown_grads(ax)["x"] == "grad ?"
    plt.close("all")


# --- refusals -------------------------------------------------------------------------------


EXAMPLES = ", ".join(repr(name) for name in BACKPROP_EXAMPLES)

BAD = [
    (backprop_graph, dict(example="nope"), ValueError,
     re.escape(f"example must be one of {EXAMPLES}, got 'nope'")),
    (backprop_graph, dict(example=3), ValueError, "example must be one of"),
    (backprop_graph, dict(values="x"), TypeError,
     "values must be a dict of input name -> number, got str"),
    (backprop_graph, dict(values=[1.0, 2.0]), TypeError, "values must be a dict"),
    (backprop_graph, dict(values={"q": 1.0}), ValueError,
     r"values has unknown input\(s\) \['q'\]: the example '\(x \+ y\) z' has the inputs "
     r"\['x', 'y', 'z'\]"),
    (backprop_graph, dict(values={"x": math.nan}), ValueError, "values\\['x'\\] must be finite"),
    (backprop_graph, dict(values={"x": "2"}), TypeError,
     "values\\['x'\\] must be a real number, got str"),
    (backprop_graph, dict(example="sigmoid neuron", values={"w0": 500.0, "x0": -2.0}),
     ValueError, r"exp\(997\) overflows float64"),
    (backprop_steps, dict(root=3), TypeError, "root must be a dlnotes.autodiff.Value, got int"),
    (backprop_steps, dict(root=None), TypeError, "root must be a dlnotes.autodiff.Value"),
    (draw_backprop, dict(ax="ax"), TypeError, "ax must be a matplotlib Axes"),
    (draw_backprop, dict(ax=_ax, step=6), ValueError, "step must be <= 5, got 6"),
    (draw_backprop, dict(ax=_ax, example="sigmoid neuron", step=15), ValueError,
     "step must be <= 14, got 15"),
    (draw_backprop, dict(ax=_ax, step=-1), ValueError, "step must be >= 0, got -1"),
    (draw_backprop, dict(ax=_ax, step=1.0), TypeError, "step must be an int, got float"),
    (draw_backprop, dict(ax=_ax, step=True), TypeError, "step must be an int, got bool"),
    (draw_backprop, dict(ax=_ax, values={"w0": 1.0}), ValueError, r"unknown input\(s\) \['w0'\]"),
    (backprop_explorer, dict(example="(x + y) z", values={"x": 6.0}), ValueError,
     r"values\['x'\] must lie in \[-5, 5\] \(the sliders' range\), got 6"),
    (backprop_explorer, dict(example="nope"), ValueError, "example must be one of"),
    (backprop_explorer, dict(values=1.0), TypeError, "values must be a dict"),
    (backprop_explorer, dict(values={"x0": math.inf}), ValueError,
     "values\\['x0'\\] must be finite, got inf"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_input_is_refused_in_either_mode(either, fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_refused_step_draws_nothing():
    ax = _ax()
    with pytest.raises(ValueError):
        draw_backprop(ax, step=99)
    assert not ax.texts and not ax.get_title()
    plt.close("all")


def test_readers_natural_arguments_are_accepted():
    ax = _ax()
    draw_backprop(ax, "(x + y) z", np.int64(3), {"x": np.float32(1.5), "y": torch.tensor(2.0)})
    assert ax.get_title().startswith("step 3 of 5")
    plt.close("all")
