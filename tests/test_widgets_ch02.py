"""Tests of the chapter 02 explorers: static small multiples and live widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets
from dlnotes.widgets.matrix_calculus import _slice_example
from tools import assert_refused, new_ax as _ax, visible_panels


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
    with pytest.raises(ValueError, match="'numerator', 'denominator', got 'rows'"):
        widgets.derivative_of("W x", 3, 5, "rows")
    with pytest.raises(ValueError, match="m must be >= 1, got 0"):
        widgets.derivative_of("W x", 0, 5)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"k must be <= 3, got 4"):
        widgets.draw_tensor_slice(ax, k=4)
    with pytest.raises(ValueError, match="view must be one of 'slice', 'sum', got 'all'"):
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
    with pytest.raises(ValueError, match="target must be one of 'dL/dW', 'dL/dX', got 'dL/db'"):
        widgets.quiz_table("dL/db", "rows", square=False)
    with pytest.raises(ValueError, match="layout must be one of 'rows', 'columns', got 'cols'"):
        widgets.quiz_table("dL/dW", "cols", square=False)


def test_first_order_explorer_static(static):
    fig = widgets.first_order_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 3
    errors = [float(ax.get_title().split("error ")[1]) for ax in panels]
    # t = 0.5, 0.1, 0.01: the error shrinks roughly like t**2
    assert 10 < errors[0] / errors[1] < 50 and 50 < errors[1] / errors[2] < 200
    fig2, ax = plt.subplots()
    with pytest.raises(ValueError, match="t must be > 0, got 0"):
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


# --- every parameter is checked, the same way in both modes -----------------------------


BAD = [
    (widgets.derivative_of, dict(name="W x", m=3, n=2.0), TypeError, "n must be an int, got float"),
    (widgets.derivative_of, dict(name="W x", m=True, n=2), TypeError, "m must be an int, got bool"),
    (widgets.derivative_of, dict(name=3, m=3, n=2), ValueError, "name must be one of"),
    (widgets.derivative_of, dict(name="W x", m=3, n=2, seed=-1), ValueError,
     "seed must be >= 0, got -1"),
    (widgets.derivative_of, dict(name="W x", m=3, n=2, seed="0"), TypeError,
     "seed must be an int, got str"),
    (widgets.draw_derivative, dict(ax=_ax, map="cube"), ValueError,
     "map must be one of 'W x', .* got 'cube'"),
    (widgets.draw_derivative, dict(ax=_ax, m=0), ValueError, "m must be >= 1, got 0"),
    (widgets.draw_derivative, dict(ax=_ax, layout="rows"), ValueError, "layout must be one of"),
    (widgets.draw_derivative, dict(ax=None), TypeError, "ax must be a matplotlib Axes"),
    (widgets.draw_tensor_slice, dict(ax=_ax, k=0), ValueError, "k must be >= 1, got 0"),
    (widgets.draw_tensor_slice, dict(ax=_ax, k=1.0), TypeError, "k must be an int, got float"),
    (widgets.draw_tensor_slice, dict(ax=_ax, view=None), ValueError, "view must be one of"),
    (widgets.draw_tensor_slice, dict(ax="ax"), TypeError, "ax must be a matplotlib Axes"),
    (widgets.quiz_table, dict(target="dL/dW", layout="rows", square="yes"), TypeError,
     "square must be True or False, got str"),
    (widgets.quiz_table, dict(target="dL/dW", layout="rows", square=1), TypeError,
     "square must be True or False, got int"),
    (widgets.quiz_table, dict(target="dL/dW", layout="rows", square=False, candidates=[]),
     ValueError, r"candidates must be a non-empty list of products like 'G\^T X', got an "
                 "empty one"),
    (widgets.quiz_table, dict(target="dL/dW", layout="rows", square=False,
                              candidates=["G^T Y"]), ValueError,
     r"candidates must be products of two of G, X, W .* got 'G\^T Y'"),
    (widgets.quiz_table, dict(target="dL/dW", layout="rows", square=False, candidates=[3]),
     ValueError, "candidates must be products of two of G, X, W"),
    (widgets.format_quiz_table, dict(targets=()), ValueError,
     "targets must be 'dL/dW', 'dL/dX' or a non-empty list of them, got an empty one"),
    (widgets.format_quiz_table, dict(targets=("dL/dW", "dL/db")), ValueError,
     "targets must be one of 'dL/dW', 'dL/dX', got 'dL/db'"),
    (widgets.format_quiz_table, dict(targets=None), TypeError, "targets must be"),
    (widgets.format_quiz_table, dict(layout="cols"), ValueError, "layout must be one of"),
    (widgets.draw_first_order, dict(ax=_ax, t=-1.0), ValueError, "t must be > 0, got -1.0"),
    (widgets.draw_first_order, dict(ax=_ax, t=np.inf), ValueError, "t must be finite"),
    (widgets.draw_first_order, dict(ax=_ax, t="1"), TypeError, "t must be a real number"),
    (widgets.draw_first_order, dict(ax=_ax, angle=np.nan), ValueError,
     "angle must be finite, got nan"),
    (widgets.draw_first_order, dict(ax=_ax, angle=1j), TypeError,
     "angle must be a real number, got complex"),
    (widgets.draw_first_order, dict(ax=_ax, t=1e200), ValueError,
     "t = 1e[+]200 is too large: f overflows float64"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_parameters_are_refused_in_either_mode(either, fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_readers_natural_arguments_are_accepted(either):
    D = widgets.derivative_of("W x", np.int64(2), np.array(3), seed=None)
    assert D.shape == (2, 3)
    np.testing.assert_array_equal(widgets.derivative_of("W x", 2, 3, seed=np.int32(5)),
                                  widgets.derivative_of("W x", 2, 3, seed=5))
    ax = _ax()
    widgets.draw_tensor_slice(ax, k=np.int64(2))
    widgets.draw_first_order(ax, t=np.float32(0.25), angle=np.array(45.0))
    assert widgets.quiz_table("dL/dW", "rows", np.bool_(True), candidates="G^T X")[0][4]
    text = widgets.format_quiz_table("dL/dX", "columns")
    assert text.startswith("dL/dX, examples as columns") and "dL/dW" not in text
    plt.close("all")
