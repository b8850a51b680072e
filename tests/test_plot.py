"""Tests of dlnotes.plot: the figure style, every drawing helper, and bad input
for every parameter."""

import decimal
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dlnotes import plot  # noqa: E402
from tools import assert_refused  # noqa: E402


def _ax():
    return plt.figure().add_subplot()


@pytest.fixture
def ax():
    fig, ax = plot.subplots()
    yield ax
    plt.close(fig)


def test_style_is_opaque_white_and_colour_blind_safe():
    fig, ax = plot.subplots(1, 2)
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][:3] == [
        "#0072B2", "#E69F00", "#009E73"]
    assert np.allclose(fig.get_size_inches(), (6.8, 2.8))
    plt.close(fig)


def test_subplots_takes_numpy_ints_and_a_panel_size():
    fig, axes = plot.subplots(np.int64(2), np.array(3), panel=(np.float32(1.5), 2))
    assert axes.shape == (2, 3) and np.allclose(fig.get_size_inches(), (4.5, 4.0))
    plt.close(fig)


def test_loss_curves_draws_each_sequence(ax):
    plot.loss_curves(ax, {"train": [3, 2, 1], "validation": [3, 2.5, 2.4]}, logy=True)
    assert [line.get_label() for line in ax.lines] == ["train", "validation"]
    assert ax.get_yscale() == "log"


def test_loss_curves_takes_tensors_that_require_grad_and_non_str_labels(ax):
    losses = torch.tensor([2.0, 1.0], requires_grad=True) * 1
    plot.loss_curves(ax, {0.1: losses, np.int64(3): np.array([1, 2])})
    assert [line.get_label() for line in ax.lines] == ["0.1", "3"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 1.0])


@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       bad=st.floats(0, 1), logy=st.booleans(), e=st.integers(-150, 150))
def test_loss_curves_draws_finite_values_and_leaves_gaps_where_a_run_diverged(n, seed, bad,
                                                                               logy, e):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.1, 10, n) * 10.0**e
    holes = rng.random(n) < bad
    values[holes] = rng.choice([np.nan, np.inf, -np.inf], holes.sum())
    ax = _ax()
    plot.loss_curves(ax, {"run": values}, logy=logy)
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), np.arange(n))
    np.testing.assert_array_equal(line.get_ydata(), np.where(holes, np.nan, values))
    k = int(holes.sum())
    assert line.get_label() == (f"run ({k} non-finite not drawn)" if k else "run")
    plt.close(ax.figure)


# sci: numbers for prose


@pytest.mark.parametrize("value, digits, text", [
    (2.53e14, 1, "2.5 × 10¹⁴"), (6.1e-6, 0, "6 × 10⁻⁶"), (9.96e3, 1, "1.0 × 10⁴"),
    (9.96, 1, "1.0 × 10¹"), (-3.2e-10, 1, "-3.2 × 10⁻¹⁰"), (1.0, 2, "1.00 × 10⁰"),
    (0.0, 1, "0"), (-0.0, 3, "0"), (1e-300, 1, "1.0 × 10⁻³⁰⁰"), (1e300, 0, "1 × 10³⁰⁰"),
    (5e-324, 1, "4.9 × 10⁻³²⁴"), (-1.7976931348623157e308, 3, "-1.798 × 10³⁰⁸"),
    (np.float32(0.1), 2, "1.00 × 10⁻¹"), (np.array(2.0e5), 1, "2.0 × 10⁵"),
    (torch.tensor(3.0, requires_grad=True), 1, "3.0 × 10⁰"), (np.int64(-12), np.int8(1),
                                                               "-1.2 × 10¹")])
def test_sci_formats_numbers_for_prose(value, digits, text):
    assert plot.sci(value, digits) == text


_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


@given(value=(st.floats(allow_nan=False, allow_infinity=False)
              | st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-300, 300))
              ).filter(lambda v: v != 0),
       digits=st.integers(0, 17))
def test_sci_round_trips_to_the_stated_digits(value, digits):
    text = plot.sci(value, digits)
    mantissa, power = text.split(" × 10")
    exponent = int(power.translate(_DIGITS))
    assert re.fullmatch(r"-?[1-9]" + (rf"\.\d{{{digits}}}" if digits else ""), mantissa)
    with decimal.localcontext() as ctx:
        ctx.prec = 2000
        m = decimal.Decimal(mantissa)
        assert 1 <= abs(m) < 10
        error = abs(m * decimal.Decimal(10) ** exponent - decimal.Decimal(value))
        # correctly rounded: off by at most half a unit in the last stated digit
        assert error <= decimal.Decimal(10) ** (exponent - digits) / 2
    assert (float(mantissa) < 0) == (value < 0)


# residual segments


def test_residual_segments_vertical_and_perpendicular(ax):
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.0, 3.0])
    plot.residual_segments(ax, x, y, 1.0, 0.0)
    assert [tuple(line.get_xdata()) for line in ax.lines] == [(0, 0), (1, 1), (2, 2)]
    assert [tuple(line.get_ydata()) for line in ax.lines] == [(1, 0), (0, 1), (3, 2)]


@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e3, 1e3), e=st.integers(-100, 100),
       n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_perpendicular_feet_are_the_orthogonal_projections(a, b, e, n, seed):
    rng = np.random.default_rng(seed)
    scale = 10.0**e
    x, y = rng.uniform(-5, 5, n) * scale, rng.uniform(-5, 5, n) * scale
    b = b * scale
    ax = _ax()
    plot.residual_segments(ax, list(x), torch.tensor(y), a, np.float64(b), kind="perpendicular")
    # reference: project p - p0 onto the unit direction u of the line through p0 = (0, b)
    u = np.array([1.0, a]) / math.hypot(1.0, a)
    p = np.stack([x, y - b], axis=1)
    feet = (p @ u)[:, None] * u + [0.0, b]
    for line, (fx, fy), xi, yi in zip(ax.lines, feet, x, y):
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        assert (x0, y0) == (xi, yi)
        size = scale * (1 + abs(a)) * 10
        assert abs(x1 - fx) <= 1e-12 * size and abs(y1 - fy) <= 1e-12 * size
    plt.close(ax.figure)


# fold layout


def _bars(ax):
    """{row: [(left, width, colour)]} of the bar chart."""
    rows = {}
    for r in ax.patches:
        if r.get_fill():
            y = round(r.get_y() + r.get_height() / 2)
            rows.setdefault(y, []).append((r.get_x(), r.get_width(),
                                           matplotlib.colors.to_hex(r.get_facecolor())))
    return rows


@pytest.mark.parametrize("n, k, test", [(20, 4, 4), (7, 7, 0), (50, 3, 10), (11, 2, 8)])
def test_fold_layout_rows_partition_the_examples(ax, n, k, test):
    plot.fold_layout(ax, n, k, test=test, highlight=k)
    rows = _bars(ax)
    assert sorted(rows) == list(range(k))
    m = n - test
    sizes = []
    for y, bars in rows.items():
        assert sum(w for _, w, _ in bars) == n
        val = [(left, w) for left, w, c in bars if c == plot.PALETTE["orange"].lower()]
        assert len(val) == 1
        sizes.append(val[0][1])
        assert [(left, w) for left, w, c in bars if c == "#000000"] == ([(m, test)] if test
                                                                       else [])
    assert sum(sizes) == m and max(sizes) - min(sizes) <= 1  # the k folds cover the rest
    outline = [r for r in ax.patches if not r.get_fill()]
    assert len(outline) == 1 and outline[0].get_y() == pytest.approx(-0.45)


# matrix heat map


@given(r=st.integers(1, 4), c=st.integers(1, 4), e=st.integers(-300, 300),
       seed=st.integers(0, 2**32 - 1))
def test_matrix_heatmap_writes_every_entry_and_its_shape(r, c, e, seed):
    M = np.random.default_rng(seed).uniform(-1, 1, (r, c)) * 10.0**e
    ax = _ax()
    plot.matrix_heatmap(ax, torch.tensor(M, requires_grad=True), fmt="{:.3e}",
                        highlight_row=np.int64(r - 1), title="M")
    written = np.array([float(t.get_text()) for t in ax.texts]).reshape(r, c)
    np.testing.assert_allclose(written, M, rtol=6e-4)
    assert ax.get_title() == f"M\nshape {r}\u00d7{c}"
    np.testing.assert_array_equal(ax.images[0].get_array(), M)
    plt.close(ax.figure)


def test_matrix_heatmap_has_no_negative_zero_and_any_format_works(ax):
    plot.matrix_heatmap(ax, [[-1e-9, 0.5]], fmt="{:.1f} %")
    assert [t.get_text() for t in ax.texts] == ["0.0 %", "0.5 %"]


def test_matrix_heatmap_near_the_float_limit_keeps_its_colours(ax):
    M = np.array([[1.7e308, -1.7e308]])
    plot.matrix_heatmap(ax, M)
    image = ax.images[0]
    colours = image.cmap(image.norm(image.get_array()))
    np.testing.assert_allclose(colours, image.cmap([[1.0, 0.0]]), atol=1e-12)
    assert [t.get_text() for t in ax.texts] == ["1.7e+308", "-1.7e+308"]


# bad input: every parameter


BAD = [
    (plot.sci, dict(value=float("nan")), ValueError, "value must be finite, got nan"),
    (plot.sci, dict(value=float("-inf")), ValueError, "value must be finite, got -inf"),
    (plot.sci, dict(value="1e3"), TypeError, "value must be a real number, got str"),
    (plot.sci, dict(value=True), TypeError, "value must be a real number, got bool"),
    (plot.sci, dict(value=1j), TypeError, "value must be a real number, got complex"),
    (plot.sci, dict(value=np.ones(2)), TypeError, "value must be a real number, got ndarray"),
    (plot.sci, dict(value=1.0, digits=-1), ValueError, "digits must be >= 0, got -1"),
    (plot.sci, dict(value=1.0, digits=1.5), TypeError, "digits must be an int, got float"),
    (plot.sci, dict(value=1.0, digits=True), TypeError, "digits must be an int, got bool"),
    (plot.subplots, dict(nrows=0), ValueError, "nrows must be >= 1, got 0"),
    (plot.subplots, dict(ncols=2.0), TypeError, "ncols must be an int, got float"),
    (plot.subplots, dict(nrows=True), TypeError, "nrows must be an int, got bool"),
    (plot.subplots, dict(panel=3), TypeError, r"panel must be a pair \(width, height\)"),
    (plot.subplots, dict(panel=(1, 2, 3)), TypeError, r"panel must be a pair"),
    (plot.subplots, dict(panel="ab"), TypeError, r"panel must be a pair"),
    (plot.subplots, dict(panel=(0, 2)), ValueError, r"panel\[0\] \(width\) must be > 0, got 0"),
    (plot.subplots, dict(panel=(2, np.nan)), ValueError, r"panel\[1\] \(height\) must be "
                                                         r"finite"),
    (plot.subplots, dict(ncols=300, panel=(3, 2)), ValueError,
     "the figure would be 900 x 2 inches"),
    (plot.loss_curves, dict(ax=_ax, curves={}), ValueError, "curves must name at least one"),
    (plot.loss_curves, dict(ax=_ax, curves=[1.0, 2.0]), TypeError,
     "curves must be a mapping of label -> sequence, got list"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": np.zeros((2, 2))}), ValueError,
     r"curves\['a'\] must be 1-D, got shape \(2, 2\)"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": []}), ValueError,
     r"curves\['a'\] must not be empty"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": ["x"]}), TypeError,
     r"curves\['a'\] must hold real numbers"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": [1.0, 0.0]}, logy=True), ValueError,
     r"logy=True needs positive values, but curves\['a'\] holds 0.0 at index 1"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": [1.0]}, logy="yes"), TypeError,
     "logy must be True or False, got str"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": [1.0]}, xlabel=3), TypeError,
     "xlabel must be a str, got int"),
    (plot.loss_curves, dict(ax=_ax, curves={"a": [1.0]}, ylabel=None), TypeError,
     "ylabel must be a str, got NoneType"),
    (plot.loss_curves, dict(ax=None, curves={"a": [1.0]}), TypeError,
     "ax must be a matplotlib Axes"),
    (plot.residual_segments, dict(ax=_ax, x=[1, 2], y=[1], slope=1, intercept=0), ValueError,
     r"x and y must be 1-D of equal shape, got \(2,\) and \(1,\)"),
    (plot.residual_segments, dict(ax=_ax, x=[[1, 2]], y=[1, 2], slope=1, intercept=0),
     ValueError, r"x must be 1-D, got shape \(1, 2\)"),
    (plot.residual_segments, dict(ax=_ax, x=[1, np.nan], y=[1, 2], slope=1, intercept=0),
     ValueError, "x must be finite"),
    (plot.residual_segments, dict(ax=_ax, x=[], y=[], slope=1, intercept=0), ValueError,
     "x must not be empty"),
    (plot.residual_segments, dict(ax=_ax, x=[1], y=[1], slope=np.inf, intercept=0), ValueError,
     "slope must be finite"),
    (plot.residual_segments, dict(ax=_ax, x=[1], y=[1], slope=1, intercept="0"), TypeError,
     "intercept must be a real number, got str"),
    (plot.residual_segments, dict(ax=_ax, x=[1], y=[1], slope=1, intercept=0, kind="normal"),
     ValueError, "kind must be one of 'vertical', 'perpendicular', got 'normal'"),
    (plot.residual_segments, dict(ax=_ax, x=[1], y=[1], slope=1, intercept=0, color="nope"),
     ValueError, "color must be a matplotlib colour"),
    (plot.residual_segments, dict(ax=_ax, x=[1e300], y=[0], slope=1e300, intercept=0),
     ValueError, "residuals overflow float64"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=1), ValueError, "k must be >= 2, got 1"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=4, test=7), ValueError,
     r"k must be <= n - test = 3 so that no fold is empty, got k = 4 \(n = 10, test = 7\)"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=2, test=-1), ValueError, "test must be >= 0"),
    (plot.fold_layout, dict(ax=_ax, n=10.0, k=2), TypeError, "n must be an int, got float"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=2, highlight=3), ValueError,
     "highlight must be <= 2, got 3"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=2, highlight=0), ValueError,
     "highlight must be >= 1, got 0"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=2, highlight=True), TypeError,
     "highlight must be an int, got bool"),
    (plot.fold_layout, dict(ax=_ax, n=10, k=2, seed=0), TypeError, "seed"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones(3)), ValueError, r"M must be 2-D, got shape"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((0, 2))), ValueError, "M must not be empty"),
    (plot.matrix_heatmap, dict(ax=_ax, M=[[1, np.nan]]), ValueError, "M must be finite"),
    (plot.matrix_heatmap, dict(ax=_ax, M="M"), TypeError, "M must be an array of numbers"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), highlight_row=2), ValueError,
     "highlight_row must be <= 1, got 2"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), highlight_row=-1), ValueError,
     "highlight_row must be >= 0, got -1"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), highlight_row=False), TypeError,
     "highlight_row must be an int, got bool"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), vmax=0), ValueError,
     "vmax must be > 0, got 0"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), vmax=np.inf), ValueError,
     "vmax must be finite"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), fmt="{:d}"), ValueError,
     r"fmt must be a format string for one number, like '\{:.2g\}', got '\{:d\}'"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), fmt="{x}"), ValueError,
     "fmt must be a format string"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), fmt=3), TypeError,
     "fmt must be a str, got int"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), annotate=1), TypeError,
     "annotate must be True or False, got int"),
    (plot.matrix_heatmap, dict(ax=_ax, M=np.ones((2, 2)), title=3), TypeError,
     "title must be a str or None, got int"),
    (plot.matrix_heatmap, dict(ax="ax", M=np.ones((2, 2))), TypeError,
     "ax must be a matplotlib Axes .* got str"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_bad_input_draws_nothing():
    ax = _ax()
    with pytest.raises(ValueError):
        plot.matrix_heatmap(ax, np.ones((2, 2)), highlight_row=5)
    with pytest.raises(ValueError):
        plot.residual_segments(ax, [1, 2], [1, 2], 1, 0, kind="diagonal")
    assert not ax.images and not ax.lines and not ax.texts
    plt.close("all")


@pytest.mark.parametrize("value, want", [
    (np.float64(0.0399898), 0.0399898), (np.float32(2.5), 2.5), (np.int64(7), 7),
    (np.array(1.25), 1.25), (np.bool_(True), True), (torch.tensor(3.5), 3.5),
    (torch.tensor(4), 4), (1.5, 1.5), ("text", "text")])
def test_glue_stores_numpy_and_torch_scalars_as_python_numbers(monkeypatch, value, want):
    """myst-nb formats a glued number from its text/plain repr; numpy 2 writes
    'np.float64(0.04)' there, which no format such as :.2f can parse."""
    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display=True: seen.update({name: v}))
    plot.glue("x", value, display=False)
    assert type(seen["x"]) is type(want) and seen["x"] == want
    if isinstance(want, float):
        assert float(repr(seen["x"])) == want


def test_glue_keeps_arrays_as_they_are(monkeypatch):
    import myst_nb

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display=True: seen.update({name: v}))
    a = np.arange(3.0)
    plot.glue("a", a, display=False)
    assert seen["a"] is a
