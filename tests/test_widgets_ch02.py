"""Tests of the chapter 02 explorers: static small multiples and live widgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets


@pytest.fixture
def static(monkeypatch):
    monkeypatch.setenv("DLNOTES_WIDGETS", "static")
    yield
    plt.close("all")


@pytest.fixture
def live(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("DLNOTES_WIDGETS", "live")
    yield
    plt.close("all")


def visible_panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_layout_explorer_static(static):
    fig = widgets.layout_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 4
    shapes = [ax.images[0].get_array().shape for ax in panels]
    assert shapes == [(3, 5), (5, 3), (5, 5), (5, 5)]
    assert "shape 3\u00d75" in panels[0].get_title()


def test_tensor_slice_explorer_static(static):
    fig = widgets.tensor_slice_explorer()
    panels = visible_panels(fig)
    assert len(panels) == 4
    W, x, z = widgets._slice_example()
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
