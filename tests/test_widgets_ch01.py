"""Tests of chapter 01's explorers: static small multiples and live ipywidgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]




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


def test_line_fitter_labels_rent_axes_and_marks_vertical_sums_on_tls_panel(static):
    axes = _visible_axes(widgets.line_fitter())
    assert {ax.get_xlabel() for ax in axes} == {"floor area (1000 sq ft)"}
    assert {ax.get_ylabel() for ax in axes} == {"rent ($1000/month)"}
    texts = [ax.texts[0].get_text() for ax in axes]
    assert texts[3].startswith("(vertical residuals)")
    assert not any(t.startswith("(vertical") for t in texts[:3])


def test_line_fitter_with_own_data_uses_generic_labels(static):
    ax = _visible_axes(widgets.line_fitter(np.arange(5.0), np.arange(5.0) ** 1.5))[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")


def test_polynomial_explorer_has_axis_labels_and_one_legend(static):
    axes = _visible_axes(widgets.polynomial_explorer())
    assert all(ax.get_xlabel() == "input x" for ax in axes)
    legends = [ax.get_legend() for ax in axes]
    assert legends[0] is not None and all(lg is None for lg in legends[1:])
    labels = [t.get_text() for t in legends[0].get_texts()]
    assert labels == ["training points", "test points", "truth", "fit"]


def test_outlier_explorer_has_axis_labels(static):
    for ax in _visible_axes(widgets.outlier_explorer()):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("input x", "target y")


def test_polynomial_explorer_reports_largest_coefficient(static):
    texts = [ax.texts[0].get_text() for ax in _visible_axes(widgets.polynomial_explorer())]
    biggest = [float(t.split("max |θ| ")[1]) for t in texts]
    assert biggest[5] > 10 * biggest[3]  # N = 1000: degree 11 vs degree 1 (erratum 3)
