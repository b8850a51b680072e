"""Tests of chapter 01's explorers: static small multiples and live ipywidgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


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


@pytest.mark.parametrize("make, panels", [(widgets.line_fitter, 4),
                                          (widgets.polynomial_explorer, 6),
                                          (widgets.outlier_explorer, 3)])
def test_static_form_has_one_panel_per_preset(static, make, panels):
    fig = make()
    assert isinstance(fig, plt.Figure)
    assert len(_visible_axes(fig)) == panels


def test_line_fitter_static_panels_are_the_four_named_lines(static):
    titles = [ax.get_title() for ax in _visible_axes(widgets.line_fitter())]
    assert titles == ["least squares", "horizontal through the mean",
                      "steep, through the centroid", "total least squares"]


def test_line_fitter_least_squares_panel_has_smallest_squared_sum(static):
    texts = [ax.texts[0].get_text() for ax in _visible_axes(widgets.line_fitter())]
    sq = [float(t.split("Σr² = ")[1]) for t in texts]
    assert sq[0] == min(sq)
    sums = [float(t.split("Σr = ")[1].split("\n")[0]) for t in texts[:3]]
    assert np.allclose(sums, 0, atol=0.01)  # all three go through the centroid


@pytest.mark.parametrize("make, names", [
    (widgets.line_fitter, {"a", "b", "kind"}),
    (widgets.polynomial_explorer, {"degree", "n", "noise"}),
    (widgets.outlier_explorer, {"offset"}),
])
def test_live_form_is_interactive_with_expected_controls(live, make, names):
    import ipywidgets

    panel = make()
    assert isinstance(panel, ipywidgets.interactive)
    controls = {c.description for c in panel.children if hasattr(c, "value")
                and not isinstance(c, ipywidgets.Output)}
    assert controls == names


def test_line_fitter_rejects_mismatched_data(static):
    with pytest.raises(ValueError, match=r"equal shape, got \(3,\) and \(2,\)"):
        widgets.line_fitter(np.ones(3), np.ones(2))
