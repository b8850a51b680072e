"""Tests of the chapter 02 explorers: static small multiples and live widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets
from dlnotes.widgets.matrix_calculus import _slice_example




def visible_panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_layout_explorer_static(static):
    fig = widgets.layout_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 4
    shapes = [ax.images[0].get_array().shape for ax in panels]
    assert shapes == [(3, 5), (5, 3), (5, 5), (5, 5)]
    assert "(3\u00d75)" in panels[0].get_title()


def test_tensor_slice_explorer_static(static):
    fig = widgets.tensor_slice_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 4
    W, x, z = _slice_example()
    last = np.asarray(panels[-1].images[0].get_array())
    np.testing.assert_array_equal(last, -np.outer(z, x))
    first = np.asarray(panels[0].images[0].get_array())
    np.testing.assert_array_equal(first[0], -x)
    np.testing.assert_array_equal(first[1:], 0)


def test_explorers_live(live):
    import ipywidgets

    for make, names in ((widgets.layout_explorer, {"map", "m", "n", "layout"}),
                        (widgets.tensor_slice_explorer, {"k", "view"})):
        panel = make()
        assert isinstance(panel, ipywidgets.interactive)
        controls = {c.description: c for c in panel.children if hasattr(c, "value")
                    and c.description}
        assert names <= set(controls)
    panel = widgets.tensor_slice_explorer()
    slider = next(c for c in panel.children if getattr(c, "description", "") == "k")
    assert isinstance(slider, ipywidgets.IntSlider)
    assert (slider.min, slider.max) == (1, 3)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("name", widgets.DERIVATIVE_MAPS)
def test_derivative_of_shapes(name, layout):
    D = widgets.derivative_of(name, 3, 5, layout)
    if name in ("ReLU(x)", "softmax(z)"):
        expected = (5, 5)
    elif name == "z^T A x by A":
        expected = (3, 5) if layout == "denominator" else (5, 3)
    else:
        expected = (3, 5) if layout == "numerator" else (5, 3)
    assert D.shape == expected


def test_derivative_of_values():
    D = widgets.derivative_of("ReLU(x)", 3, 5)
    np.testing.assert_array_equal(D, np.diag(np.diag(D)))
    assert set(np.diag(D)) <= {0.0, 1.0}
    S = widgets.derivative_of("softmax(z)", 3, 5)
    np.testing.assert_allclose(S, S.T, atol=1e-15)
    np.testing.assert_allclose(S.sum(axis=0), 0, atol=1e-15)


def test_bad_input():
    with pytest.raises(ValueError, match="name must be one of .* got 'cube'"):
        widgets.derivative_of("cube", 3, 5)
    with pytest.raises(ValueError, match="'numerator' or 'denominator', got 'rows'"):
        widgets.derivative_of("W x", 3, 5, "rows")
    with pytest.raises(ValueError, match="m must be a positive int, got 0"):
        widgets.derivative_of("W x", 0, 5)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"k must be an int in 1..3, got 4"):
        widgets.draw_tensor_slice(ax, k=4)
    with pytest.raises(ValueError, match="'slice' or 'sum', got 'all'"):
        widgets.draw_tensor_slice(ax, view="all")
    plt.close(fig)


def test_layout_explorer_labels(static):
    fig = widgets.layout_explorer()
    jac, den, soft, _ = visible_panels(fig)
    assert jac.get_title() == "Jacobian J = W (3\u00d75)"
    assert den.get_title() == "denominator W\u1d40 (5\u00d73)"
    assert (jac.get_ylabel(), jac.get_xlabel()) == ("output i", "input j")
    assert (den.get_ylabel(), den.get_xlabel()) == ("input j", "output i")
    # softmax off-diagonals are small but must not print as 0.0
    texts = [t.get_text() for t in soft.texts]
    assert all(t not in ("0.0", "-0.0") for t in texts)


def test_tensor_slice_explorer_shows_x_and_z(static):
    fig = widgets.tensor_slice_explorer()
    title = fig._suptitle.get_text()
    assert "x = (2, \u22122, 2, \u22122)" in title and "(\u22124, \u22121, 1)" in title


@pytest.mark.parametrize("layout", ["rows", "columns"])
@pytest.mark.parametrize("target", ["dL/dW", "dL/dX"])
def test_quiz_table(target, layout):
    right = {("dL/dW", "rows"): "G^T X", ("dL/dX", "rows"): "G W",
             ("dL/dW", "columns"): "G X^T", ("dL/dX", "columns"): "W^T G"}[(target, layout)]
    rect = widgets.quiz_table(target, layout, square=False)
    sq = widgets.quiz_table(target, layout, square=True)
    assert [r[0] for r in rect] == list(widgets.QUIZ_CANDIDATES)
    # non-square: the shape test alone leaves only the right formula
    assert [r[0] for r in rect if r[2]] == [right]
    # square: every candidate has the right shape, only one passes the check
    assert all(r[2] for r in sq)
    assert [r[0] for r in sq if r[4]] == [right]
    assert all(r[3] > 0.1 for r in sq if r[0] != right)


def test_format_quiz_table_and_static_quiz(static, capsys):
    text = widgets.format_quiz_table()
    assert "shape OK?" in text and "correct?" in text
    assert text.count("NO, error") == 14  # 7 wrong square candidates per target
    assert widgets.dimension_quiz() is None
    assert capsys.readouterr().out.strip() == text


def test_quiz_bad_input():
    with pytest.raises(ValueError, match="target must be 'dL/dW' or 'dL/dX', got 'dL/db'"):
        widgets.quiz_table("dL/db", "rows", square=False)
    with pytest.raises(ValueError, match="layout must be 'rows' or 'columns', got 'cols'"):
        widgets.quiz_table("dL/dW", "cols", square=False)


def test_first_order_explorer_static(static):
    fig = widgets.first_order_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 3
    errors = [float(ax.get_title().split("error ")[1]) for ax in panels]
    # t = 0.5, 0.1, 0.01: the error shrinks roughly like t**2
    assert 10 < errors[0] / errors[1] < 50 and 50 < errors[1] / errors[2] < 200
    fig2, ax = plt.subplots()
    with pytest.raises(ValueError, match="t must be a positive number, got 0"):
        widgets.draw_first_order(ax, t=0)
    plt.close(fig2)


def test_new_explorers_live(live):
    import ipywidgets

    quiz = widgets.dimension_quiz()
    assert isinstance(quiz, ipywidgets.interactive)
    names = {c.description for c in quiz.children if hasattr(c, "value") and c.description}
    assert {"target", "layout", "candidate", "shapes"} <= names
    panel = widgets.first_order_explorer()
    assert isinstance(panel, ipywidgets.interactive)
    names = {c.description for c in panel.children if hasattr(c, "value") and c.description}
    assert {"t", "angle"} <= names
