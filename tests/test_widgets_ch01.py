"""Tests of chapter 01's explorers: static small multiples and live ipywidgets."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import widgets


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


@pytest.mark.parametrize("make, panels", [(widgets.line_fitter, 4),
                                          (widgets.polynomial_explorer, 6),
                                          (widgets.outlier_explorer, 6),
                                          (widgets.kfold_explorer, 2)])
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
    (widgets.kfold_explorer, {"k", "rotation", "peek at test"}),
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
    axes = _visible_axes(widgets.outlier_explorer())
    for ax in axes[:3]:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("input x", "target y")
    for ax in axes[3:]:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("residual r", "NLL (up to a constant)")


def test_outlier_explorer_second_row_shows_both_nll_curves(static):
    axes = _visible_axes(widgets.outlier_explorer())
    assert [ax.get_title() for ax in axes[:3]] == [f"outlier moved {o}σ" for o in (0, 5, 20)]
    for ax in axes[3:]:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Gaussian", "Laplace"]
    # far out, the Gaussian charges the outlier more than the Laplace does
    costs = axes[5].get_title().split("Gaussian ")[1].split(", Laplace ")
    assert float(costs[0]) > 3 * float(costs[1])


def _live_figures(panel, monkeypatch):
    """Run a live panel's update once and return the figures it showed."""
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    panel.update()
    return shown


def test_line_fitter_live_has_contour_panel_with_marker(live, monkeypatch):
    panel = widgets.line_fitter()
    (fig,) = _live_figures(panel, monkeypatch)
    assert len(fig.axes) == 2
    loss = fig.axes[1]
    assert (loss.get_xlabel(), loss.get_ylabel()) == ("slope a", "intercept b")
    assert loss.get_title().startswith("L(a, b)")
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["least squares", "your line"]
    controls = {c.description: c for c in panel.children if hasattr(c, "value")}
    marker = loss.get_lines()[-1]
    assert np.allclose(marker.get_data(), ([controls["a"].value], [controls["b"].value]))


def test_outlier_explorer_live_shows_fit_and_nll(live, monkeypatch):
    (fig,) = _live_figures(widgets.outlier_explorer(), monkeypatch)
    assert [ax.get_xlabel() for ax in fig.axes] == ["input x", "residual r"]


def test_kfold_explorer_static_layout_and_curve(static):
    left, right = _visible_axes(widgets.kfold_explorer())
    assert [t.get_text() for t in left.get_yticklabels()] == [f"rotation {j}" for j in (4, 3, 2, 1)]
    assert left.get_xlabel() == "example (after one shuffle)"
    assert (right.get_xlabel(), right.get_ylabel()) == ("polynomial degree M", "validation MSE")
    assert right.get_title().startswith("4-fold CV: M = 3")
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert labels[:3] == ["range over 4 folds", "one fold", "mean"]


def test_kfold_errors_shapes_and_choice():
    degrees, per_fold, test = widgets.kfold_errors(5, seed=0)
    assert list(degrees) == list(widgets.KFOLD_DEGREES)
    assert per_fold.shape == (len(degrees), 5) and test.shape == (len(degrees),)
    assert np.all(per_fold > 0)
    assert per_fold.mean(axis=1)[2] < per_fold.mean(axis=1)[0]  # cubic beats the line


def test_kfold_explorer_live_rotation_follows_k(live, monkeypatch):
    panel = widgets.kfold_explorer()
    controls = {c.description: c for c in panel.children if hasattr(c, "value")}
    controls["rotation"].value = 4
    controls["k"].value = 2
    assert list(controls["rotation"].options) == [1, 2]
    assert controls["rotation"].value == 2
    controls["k"].value = 7
    assert list(controls["rotation"].options) == list(range(1, 8))
    controls["peek at test"].value = True
    (fig,) = _live_figures(panel, monkeypatch)
    right = fig.axes[1]
    assert right.get_title().startswith("7-fold CV")
    assert "test MSE" in [t.get_text() for t in right.get_legend().get_texts()]


def test_polynomial_explorer_reports_largest_coefficient(static):
    texts = [ax.texts[0].get_text() for ax in _visible_axes(widgets.polynomial_explorer())]
    biggest = [float(t.split("max |θ| ")[1]) for t in texts]
    assert biggest[5] > 10 * biggest[3]  # N = 1000: degree 11 vs degree 1 (erratum 3)


# --- every parameter is checked, the same way in both modes -----------------------------


BAD = [
    (widgets.line_fitter, dict(x=np.arange(3.0)), ValueError,
     "give both x and y, or neither .* y is None"),
    (widgets.line_fitter, dict(y=np.arange(3.0)), ValueError, "x is None"),
    (widgets.line_fitter, dict(x=np.ones(3), y=np.ones(2)), ValueError,
     r"x and y must be 1-D of equal shape, got \(3,\) and \(2,\)"),
    (widgets.line_fitter, dict(x=np.ones((2, 2)), y=np.ones((2, 2))), ValueError,
     r"x must be 1-D, got shape \(2, 2\)"),
    (widgets.line_fitter, dict(x=[1.0, np.nan], y=[1.0, 2.0]), ValueError, "x must be finite"),
    (widgets.line_fitter, dict(x=[1.0, 2.0], y=[1.0, np.inf]), ValueError, "y must be finite"),
    (widgets.line_fitter, dict(x="abc", y=[1.0]), TypeError, "x must be an array of numbers"),
    (widgets.line_fitter, dict(x=[2.0, 2.0, 2.0], y=[1.0, 2.0, 3.0]), ValueError,
     "x must hold at least two different values to fit a line, got 3 values spanning 0"),
    (widgets.line_fitter, dict(x=[1.0], y=[1.0]), ValueError, "at least two different values"),
    (widgets.line_fitter, dict(x=[1e200, 2e200, 3e200], y=[1e200, 3e200, 2e200]), ValueError,
     "x and y are too large or too small for line_fitter"),
    (widgets.polynomial_explorer, dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
    (widgets.polynomial_explorer, dict(seed=1.5), TypeError, "seed must be an int, got float"),
    (widgets.polynomial_explorer, dict(seed=True), TypeError, "seed must be an int, got bool"),
    (widgets.polynomial_explorer, dict(coefficients="abc"), TypeError,
     "coefficients must be an array of numbers, got str"),
    (widgets.polynomial_explorer, dict(coefficients=()), ValueError,
     "coefficients must not be empty"),
    (widgets.polynomial_explorer, dict(coefficients=(0.0, np.nan)), ValueError,
     "coefficients must be finite"),
    (widgets.polynomial_explorer, dict(coefficients=[[1.0]]), ValueError,
     "coefficients must be 1-D"),
    (widgets.polynomial_explorer, dict(coefficients=(1e308, 1e308)), ValueError,
     "coefficients are too large: the polynomial overflows float64"),
    (widgets.outlier_explorer, dict(seed="0"), TypeError, "seed must be an int, got str"),
    (widgets.outlier_explorer, dict(seed=-2), ValueError, "seed must be >= 0"),
    (widgets.kfold_explorer, dict(seed=np.nan), TypeError, "seed must be an int"),
    (widgets.kfold_errors, dict(k=1), ValueError, "k must be >= 2, got 1"),
    (widgets.kfold_errors, dict(k=41), ValueError, "k must be <= 40, got 41"),
    (widgets.kfold_errors, dict(k=4.0), TypeError, "k must be an int, got float"),
    (widgets.kfold_errors, dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
]


@pytest.mark.parametrize("make, kwargs, error, match", BAD)
def test_bad_parameters_are_refused_in_either_mode(either, make, kwargs, error, match):
    with pytest.raises(error, match=match):
        make(**kwargs)


@pytest.mark.parametrize("make", [widgets.polynomial_explorer, widgets.outlier_explorer,
                                  widgets.kfold_explorer])
def test_seed_none_means_fresh_data(either, make):
    out = make(seed=None)
    assert out is not None


def test_seed_none_gives_every_static_panel_the_same_fresh_data(static):
    fig = widgets.polynomial_explorer(seed=None)
    points = [ax.lines[0].get_xydata() for ax in _visible_axes(fig)]
    for first, other in zip(points[:3], points[1:3]):  # the three N = 12 panels
        np.testing.assert_array_equal(first, other)
    again = widgets.polynomial_explorer(seed=None)
    assert not np.array_equal(points[0], _visible_axes(again)[0].lines[0].get_xydata())


def test_kfold_errors_with_fresh_seed_and_numpy_ints():
    degrees, per_fold, test = widgets.kfold_errors(np.int64(3), seed=None)
    assert per_fold.shape == (len(degrees), 3) and np.all(np.isfinite(test))


@pytest.mark.parametrize("x, y", [
    (np.arange(5.0), 2 * np.arange(5.0) + 1),  # exactly on a line: the loss minimum is 0
    (np.arange(5.0), np.full(5, 3.0)),  # constant targets: slope 0
    ([0, 1, 2, 3], [1, 0, 1, 0]),  # ints in lists
])
def test_line_fitter_draws_degenerate_data_in_either_mode(either, x, y, monkeypatch):
    out = widgets.line_fitter(x, y)
    if either == "live":
        (fig,) = _live_figures(out, monkeypatch)
        assert fig.axes[1].collections  # the contours were drawn
    else:
        assert len(_visible_axes(out)) == 4


def test_line_fitter_sliders_reach_every_static_line(live, monkeypatch):
    panel = widgets.line_fitter()
    controls = {c.description: c for c in panel.children if hasattr(c, "value")}
    monkeypatch.setenv("DLNOTES_WIDGETS", "static")
    for ax in _visible_axes(widgets.line_fitter()):
        slope, intercept = np.polyfit(*ax.lines[-1].get_data(), 1)  # the drawn line
        assert controls["a"].min <= slope <= controls["a"].max
        assert controls["b"].min <= intercept <= controls["b"].max
